/* Driver for the storage benchmarks (bench/rootfs-*.sh): runs one
 * library operation so hyperfine can time it beside cp -a and tar.
 *
 *   enclave-bench-storage copy SRC DST
 *   enclave-bench-storage export SRC ARCHIVE    (.tar, .tar.gz, .tar.zst)
 *   enclave-bench-storage import ARCHIVE DEST
 *
 * Prints one summary line on stderr. */
#include "base/error.h"
#include "storage/archive.h"
#include "storage/copy.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int usage(void)
{
        fprintf(stderr, "usage: enclave-bench-storage copy SRC DST | export SRC ARCHIVE | import ARCHIVE DEST\n");
        return 2;
}

int main(int argc, char **argv)
{
        if (argc != 4)
                return usage();
        _cleanup_error_ Error err = ERROR_INIT;
        int r;
        if (streq(argv[1], "copy")) {
                CopyStats s;
                r = tree_copy(argv[2], argv[3], NULL, &s, &err);
                if (r >= 0)
                        fprintf(stderr, "copied %" PRIu64 " entries, %" PRIu64 " bytes (%" PRIu64 " files reflinked)\n",
                                s.entries, s.bytes, s.reflinked);
        } else if (streq(argv[1], "export") || streq(argv[1], "import")) {
                TarballStats s;
                r = streq(argv[1], "export") ? tarball_export(argv[2], argv[3], false, NULL, &s, &err)
                                             : tarball_import(argv[2], argv[3], NULL, false, NULL, &s, &err);
                if (r >= 0)
                        fprintf(stderr, "%sed %" PRIu64 " entries, %" PRIu64 " bytes\n", argv[1], s.entries, s.bytes);
        } else
                return usage();
        if (r < 0) {
                fprintf(stderr, "enclave-bench-storage: %s\n", error_msg(&err));
                return 1;
        }
        return 0;
}
