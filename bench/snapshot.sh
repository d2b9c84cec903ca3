#!/usr/bin/env bash
# Snapshot create and restore of a workspace holding 10,000 small files
# (512 B - 4 KiB, owned by a high host id range, with /home) and 200 MB
# of larger files (20 x 10 MB), through the library (src/storage/
# snapshot.c), side by side with `cp -a` of the same upper layer.
#
#   sudo bench/snapshot.sh [RUNS]       (default 10; needs hyperfine, make)
#
# The workspace lives under /var/tmp (ENCLAVE_BENCH_DIR to change it),
# which is on the same file system as the default state dir. Page cache
# warm. The daemon publishes a snapshot (or a restore) before flushing
# it and settles (syncfs, removal of the replaced state) right after its
# reply; both that and the fully flushed variant are timed.
set -eu
cd "$(dirname "$0")/.."
runs=${1:-10}
[ "$(id -u)" -eq 0 ] || { echo "run as root (ownership and trusted.* xattrs are copied)" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "hyperfine is required" >&2; exit 1; }
make -s build/libenclave.a

dir=$(mktemp -d "${ENCLAVE_BENCH_DIR:-/var/tmp}/enclave-bench-snapshot.XXXXXX")
trap 'rm -rf "$dir"' EXIT

# A small driver over the library (kept here rather than in tools/).
cat >"$dir/driver.c" <<'EOF'
#include "base/fs.h"
#include "storage/snapshot.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define BASE 3000000000u

static int populate(const char *ws, int nfiles, int big_mb)
{
        char p[4096];
        static char buf[10 << 20];
        uint64_t x = 88172645463325252ULL;
        for (size_t i = 0; i < sizeof buf; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                buf[i] = (char) x;
        }
        const char *dirs[] = { "upper", "work", "home", "upper/big" };
        for (size_t i = 0; i < 4; i++) {
                snprintf(p, sizeof p, "%s/%s", ws, dirs[i]);
                if (mkdir_p(p, 0755) < 0 || chown(p, BASE, BASE) < 0)
                        return 1;
        }
        for (int i = 0; i < nfiles; i++) {
                const char *top = i % 10 == 0 ? "home" : "upper";
                for (size_t t = 0; i % 100 == 0 && t < 2; t++) {
                        snprintf(p, sizeof p, "%s/%s/d%03d", ws, t ? "home" : "upper", i / 100);
                        if (mkdir(p, 0755) < 0 || chown(p, BASE + 1000, BASE + 1000) < 0)
                                return 1;
                }
                snprintf(p, sizeof p, "%s/%s/d%03d/f%05d", ws, top, i / 100, i);
                int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                size_t n = 512 + (size_t) (i * 7919) % 3585;
                if (fd < 0 || write(fd, buf + i * 97, n) != (ssize_t) n || fchown(fd, BASE + 1000, BASE + 1000) < 0)
                        return 1;
                close(fd);
        }
        for (int i = 0; i < big_mb / 10; i++) {
                snprintf(p, sizeof p, "%s/upper/big/blob%02d", ws, i);
                int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
                buf[0] = (char) i; /* distinct contents */
                if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t) sizeof buf)
                        return 1;
                close(fd);
        }
        return 0;
}

int main(int argc, char **argv)
{
        Error err = ERROR_INIT;
        int r = -EINVAL;
        if (argc == 5 && strcmp(argv[1], "populate") == 0)
                return populate(argv[2], atoi(argv[3]), atoi(argv[4]));
        /* "defer": publish first and flush in snapshot_settle(), as the
         * daemon does after its reply. */
        bool defer = argc == 5 && strcmp(argv[4], "defer") == 0;
        if (argc == 3 && strcmp(argv[1], "settle") == 0)
                r = snapshot_settle(argv[2], &err);
        else if (argc < 4 || argc > 5)
                return 2;
        else if (strcmp(argv[1], "create") == 0) {
                SnapshotCreateOptions o = { .name = argv[3], .with_home = true, .uid_base = BASE, .gid_base = BASE,
                                            .defer_sync = defer };
                r = snapshot_create(argv[2], &o, NULL, &err);
        } else if (strcmp(argv[1], "restore") == 0) {
                SnapshotRestoreOptions o = { .defer_sync = defer };
                r = snapshot_restore(argv[2], argv[3], &o, &err);
        } else if (strcmp(argv[1], "delete") == 0)
                r = snapshot_delete(argv[2], argv[3], &err);
        if (r < 0)
                fprintf(stderr, "%s\n", error_msg(&err));
        return r < 0 ? 1 : 0;
}
EOF
# shellcheck disable=SC2046
cc -std=gnu17 -O2 -D_GNU_SOURCE -Isrc -o "$dir/driver" "$dir/driver.c" build/libenclave.a \
        $(pkg-config --cflags --libs sqlite3 jansson libseccomp libmnl libnftables libarchive libcurl) -lpthread
D=$dir/driver
ws=$dir/ws
"$D" populate "$ws" 10000 200
"$D" create "$ws" base
echo "workspace: $(find "$ws/upper" "$ws/home" | wc -l) entries, $(du -sh --apparent-size "$ws/upper" "$ws/home" | cut -f1 | paste -sd+), file system $(stat -f -c %T "$dir"), $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg)"

reset="$D settle $ws; $D delete $ws bench >/dev/null 2>&1 || true; rm -rf $dir/cp; sync"
hyperfine --warmup 1 --runs "$runs" \
        --prepare "$reset" -n "create, deferred flush (what the CLI waits for)" "$D create $ws bench defer" \
        --prepare "$reset" -n "create + settle (syncfs after the reply)" "$D create $ws bench defer && $D settle $ws" \
        --prepare "$reset" -n "create, flushed before publishing" "$D create $ws bench" \
        --prepare "$reset" -n "restore, deferred flush (what the CLI waits for)" "$D restore $ws base defer" \
        --prepare "$reset" -n "restore + settle (syncfs, old state removed)" "$D restore $ws base defer && $D settle $ws" \
        --prepare "$reset" -n "restore, flushed before publishing" "$D restore $ws base" \
        --prepare "$reset" -n "cp -a upper + home (no sync)" "mkdir $dir/cp && cp -a $ws/upper $ws/home $dir/cp/" \
        --prepare "$reset" -n "cp -a upper + home + sync" "mkdir $dir/cp && cp -a $ws/upper $ws/home $dir/cp/ && sync -f $dir/cp"
