/* enclave-daemon: what `enclave daemon run` executes. It is the whole
 * enclave command line with the heavier parts linked in, which the
 * light `enclave` program leaves out so that every command starts
 * fast: the daemon itself (`daemon run`), and the host side of
 * `workspace cp`, which writes and extracts tar streams with
 * libarchive (the CLI hands a cp with a host path to this program, run
 * as the caller). The CLI knows these only as the hooks of cli/cli.h;
 * this file, above both, fills them in. */
#include "cli/cli.h"
#include "daemon/daemon.h"
#include "storage/tar-tree.h"

int main(int argc, char **argv)
{
        cli_daemon_run = daemon_run;
        cli_tar_write = tar_tree_write;
        cli_tar_extract = tar_tree_extract;
        return cli_main(argc, argv);
}
