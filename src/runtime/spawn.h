/* Starting a workspace: one clone3() into new user, PID, mount, network,
 * UTS and IPC namespaces, then enclave-init as its pid 1.
 *
 * The parent (trusted, host root) writes the id maps, prepares every
 * host-path mount as a detached mount fd (idmapped rootfs under an
 * overlay, /home), runs the caller's prepare hook (veth move, ...)
 * while the child waits, then hands the mounts over with SCM_RIGHTS.
 * The child (root of its user namespace only) joins its cgroup,
 * attaches the mounts in its own mount namespace, pivots, builds /proc
 * /sys /dev /tmp /run, and executes init from a sealed memfd.
 * docs/runtime.md has the step-by-step sequence.
 *
 * workspace_spawn() may be called from a multi-threaded process: the
 * child only uses async-signal-safe calls until exec. */
#pragma once

#include "base/error.h"
#include "runtime/cgroup.h"
#include "runtime/hardening.h"
#include "runtime/hostdir.h"
#include "runtime/newroot.h"
#include "runtime/rlimits.h"
#include "runtime/run-state.h"
#include "runtime/workspace-process.h"

#include <stdint.h>
#include <sys/types.h>

/* Runs in the parent after the id maps are written and before the
 * child continues. pid/pidfd are the child's (the future init). A
 * negative return aborts the spawn (the child is killed). */
typedef int (*WorkspacePrepareFn)(pid_t pid, int pidfd, void *userdata, Error *err);

/* Attaches the storage of a workspace whose /home, /tmp and writable
 * layer live on a file system of their own (a disk quota): detached
 * mounts of its home/ and tmp/, and of its root, whose upper/ and work/
 * become the overlay's (closed once the overlay holds them). The
 * caller's storage layer provides it (storage/disk-quota.h:
 * disk_quota_attach), so the runtime never depends on storage. */
typedef int (*WorkspaceAttachDiskFn)(const char *ws_dir, int *ret_home, int *ret_tmp, int *ret_layers, Error *err);

typedef struct WorkspaceSpawnConfig {
        const char *name;           /* hostname; a valid workspace name */
        const char *rootfs;         /* sandbox rootfs: the lower layer, never written */
        const char *ws_dir;         /* workspace dir: upper/ work/ home/ logs/ */
        const char *home_dir;       /* host dir for /home (workspace_dir); NULL: <ws_dir>/home. Opened
                                     * without following symlinks (runtime/hostdir.h) */
        const HostDirId *home_dir_id; /* what home_dir must still be (recorded at create); NULL: not checked */
        WorkspaceAttachDiskFn attach_disk; /* /home, /tmp and the writable layer from it instead of
                                     * <ws_dir>/home, a tmpfs and <ws_dir>/upper; NULL: those;
                                     * not with home_dir */
        uint32_t uid_base;          /* host uid of the workspace's root; 65536 ids from here */
        uint32_t gid_base;          /* same for gids */
        int init_fd;                /* sealed enclave-init from workspace_init_open() */
        const char *run;            /* run command (/bin/sh -c); NULL: idle */
        RunRestart restart;         /* when init starts run again (run-state.h); state in <ws_dir>/run-state */
        char *const *env;           /* environment of init and run; NULL: default PATH and HOME */
        uint64_t log_max_bytes;     /* size cap of each log half; 0: 8 MiB */
        uint64_t tmp_size_bytes;    /* size of the /tmp tmpfs; 0: kernel default */
        const WorkspaceFile *files; /* written inside before init starts */
        size_t n_files;
        /* The workspace's cgroup (may be NULL): init is cloned into its
         * unified directory (CLONE_INTO_CGROUP) and joins the v1 ones
         * itself right after the prepare hook, before it makes its cgroup
         * namespace; much cheaper than cgroup_attach() from the hook. */
        const Cgroup *cgroup;
        WorkspacePrepareFn prepare; /* may be NULL */
        void *prepare_userdata;
        /* Final privilege drop (capabilities, no_new_privs, seccomp, LSM
         * label) of init and everything it starts. NULL skips only that
         * drop (library tests); the daemon always passes its plan. The
         * kernel-path masks are applied in every case. */
        const HardeningPlan *hardening;
        const Limits *limits;          /* rlimits of init and run; NULL: inherited */
        unsigned cpu_seed;             /* where its CPU set starts (rlimits_cpu_pick()) */
        /* A sandbox's setup (storage/setup.h) rather than a workspace: the
         * root is the rootfs itself, idmapped read-write (on-disk ids
         * 0-65535 are the setup's own, so its files stay owned by real
         * root), with no overlay and no separate /home; `files` are bound
         * read-only over their paths from /run instead of written into
         * the rootfs, /etc/hostname and /etc/hosts are left alone; init
         * gets SIGKILL when the spawning thread ends, so a setup never
         * outlives its daemon. Everything else is as for a workspace:
         * namespaces, hardening, masks, cgroup, network hook. */
        bool sandbox_setup;
} WorkspaceSpawnConfig;

/* Load the enclave-init binary at path into a sealed memfd
 * (F_SEAL_WRITE|GROW|SHRINK|SEAL): workspaces exec it from there, so no
 * host path is needed inside and nothing inside can modify it. Open it
 * once and pass it in every WorkspaceSpawnConfig. */
int workspace_init_open(const char *path, Error *err);

/* Start the workspace. On success *ret holds init's pid, pidfd and
 * start time, and init is running (exec succeeded). On failure nothing
 * of the attempt remains (no process, no mount). */
int workspace_spawn(const WorkspaceSpawnConfig *c, WorkspaceProcess *ret, Error *err);
