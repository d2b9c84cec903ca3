/* The child (untrusted-side) half of a workspace's filesystem.
 *
 * Runs in the freshly cloned child, already root of its own user
 * namespace, inside its own mount namespace, before exec of init. It
 * attaches the detached mounts the parent prepared (overlay root,
 * /home), pivots into the new root, detaches the host root, and builds
 * /proc, /sys (read-only), a minimal /dev, /tmp and /run.
 *
 * Everything here is async-signal-safe: no allocation, no stdio. A
 * failure is reported as a negative errno plus what failed (and on
 * which path) in the child-error message of runtime/sync.h. */
#pragma once

#include "runtime/sync.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A file written into the workspace at start, e.g. tokens below
 * /run/enclave (a tmpfs private to the workspace) or /etc/resolv.conf
 * (lands in the upper layer). An existing file or symlink at path is
 * replaced; missing parent directories are created (0755). */
typedef struct WorkspaceFile {
        const char *path; /* absolute path inside the workspace */
        const void *data;
        size_t size;
        mode_t mode;
} WorkspaceFile;

/* A read-only clone of one of the workspace's own cgroup directories
 * (made by the parent), shown below /sys/fs/cgroup: at name ("memory",
 * "cpu,cpuacct", "unified", ...) on a tmpfs, or as /sys/fs/cgroup itself
 * when name is "" (a pure cgroup v2 host). */
typedef struct NewRootCgroupView {
        int fd;
        const char *name;
} NewRootCgroupView;

typedef struct NewRootSpec {
        const char *hostname;
        int root_fd;             /* detached overlay mount (from the parent) */
        int home_fd;             /* detached /home mount, or < 0 for none */
        int tmp_fd;              /* detached /tmp mount (disk quota), or < 0 for a tmpfs */
        uint64_t tmp_size_bytes; /* size of the /tmp tmpfs; 0: kernel default */
        uint64_t shm_size_bytes; /* size of /dev/shm; 0: kernel default */
        uint64_t run_size_bytes; /* size of /run; 0: kernel default */
        const WorkspaceFile *files;
        size_t n_files;
        const NewRootCgroupView *cgroup_views;
        size_t n_cgroup_views;
        /* When the workspace runs on fewer CPUs than the machine has
         * (cpu_percent, rlimits.h): their list ("0-1\n"), shown as
         * /sys/devices/system/cpu/online so sysconf() and os.cpu_count()
         * agree with sched_getaffinity(); NULL otherwise. */
        const char *cpus_online;
        /* A sandbox's setup: root_fd is the rootfs itself (no /home of its
         * own); files are bound read-only over their paths instead of
         * written, and /etc/hostname and /etc/hosts are left alone. */
        bool sandbox_setup;
} NewRootSpec;

/* Sizes of the memory-backed tmpfs mounts. A tmpfs without a size may
 * grow to half the host's RAM, each one: a workspace could fill the
 * host's memory through /dev/shm, /run or /tmp with no memory_mb to stop
 * it, and with memory_mb set would be OOM-killed where a full file
 * system (ENOSPC) is the answer a program expects. With memory_mb (MiB,
 * 0 = none): /dev/shm half of it but at least NEWROOT_SHM_DEFAULT (never
 * more than memory_mb), /tmp all of it, /run a quarter up to
 * NEWROOT_RUN_DEFAULT; without: the defaults below. tmpfs pages are
 * charged to the workspace's memory cgroup as well, so together they can
 * never hold more than memory_mb. */
#define NEWROOT_SHM_DEFAULT (64ULL << 20)   /* Docker's and Podman's /dev/shm */
#define NEWROOT_RUN_DEFAULT (32ULL << 20)   /* runtime state and tokens only */
#define NEWROOT_TMP_DEFAULT (1024ULL << 20) /* /tmp when there is no disk_mb */

typedef struct NewRootTmpfsSizes {
        uint64_t shm, run, tmp; /* bytes */
} NewRootTmpfsSizes;

NewRootTmpfsSizes newroot_tmpfs_sizes(uint64_t memory_mb);

/* Mount /proc and /sys need the host's instances still reachable (the
 * kernel refuses a new procfs in a namespace that cannot see a full
 * one), so they are mounted after pivot_root but before the old root
 * is detached. Returns 0 or a negative errno with the failure recorded
 * in *fail (its step left to the caller). */
int newroot_setup(const NewRootSpec *s, SyncMsg *fail);
