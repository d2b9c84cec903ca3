/* Setup commands of a sandbox (SPEC §3 `setup`): shell commands run in
 * order as root inside the sandbox rootfs, each as `/bin/sh -c CMD`,
 * confined like a workspace (docs/security.md, "Setup commands"):
 *
 *   - its own user namespace on a host id block of the setup's own; the
 *     root is the rootfs itself through an idmapped mount, read-write,
 *     so on-disk ids 0-65535 are the setup's and files stay owned by real
 *     root on disk (apt and dpkg chown freely), while root inside is an
 *     unprivileged host id: no host sysctls, devices, mounts or modules;
 *   - its own PID, mount, network, UTS, IPC and cgroup namespaces: the
 *     network is the caller's (the daemon puts it on the bridge, behind
 *     the same NAT and firewall as workspaces);
 *   - the workspace hardening: reduced capabilities, no_new_privs, the
 *     seccomp deny list, masked and read-only kernel paths; nodev.
 *
 * It reuses the workspace runtime: each command gets a fresh namespace
 * from workspace_spawn() (WorkspaceSpawnConfig.sandbox_setup: the idle
 * enclave-init as pid 1) and runs in it through workspace_exec(), with
 * its output on a pipe; the namespace is stopped when the command ends,
 * so nothing a command left running survives it.
 *
 * Environment (nothing else is inherited):
 *   PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
 *   HOME=/root  USER=root  LOGNAME=root  LANG=C.UTF-8
 *   DEBIAN_FRONTEND=noninteractive
 * stdin is /dev/null, the working directory is /. */
#pragma once

#include "base/error.h"
#include "runtime/spawn.h"
#include "storage/progress.h"

typedef struct SetupResult {
        size_t commands_run;  /* commands started, the failed one included */
        size_t failed_index;  /* 0-based index of the failed command (when one failed) */
        int exit_status;      /* its exit status (128+N for signal N) */
} SetupResult;

/* What the commands run in. spawn describes each command's namespace:
 * name (also the hostname; "enclave-setup" when NULL), rootfs, a scratch
 * ws_dir of the setup's own, uid_base/gid_base (a host id block nothing
 * else uses meanwhile), init_fd, hardening, limits, cgroup, files
 * (resolv.conf) and the prepare hook (network); setup_run() sets
 * sandbox_setup and clears run, home_dir and attach_disk. done (may be
 * NULL) runs after each command's namespace is gone, to release what
 * the prepare hook made. */
typedef struct SetupTarget {
        WorkspaceSpawnConfig spawn;
        void (*done)(void *userdata);
        void *done_userdata;
} SetupTarget;

/* Run commands (NULL-terminated). Events through mon:
 * PROGRESS_STAGE_INFO before each command ("running setup command
 * 2/3: CMD"), then PROGRESS_STAGE_OUTPUT for each line it prints (item =
 * the command, done = its 1-based number, total = the count). The first
 * failure stops the list: returns -EIO with "setup command 2/3 failed
 * with exit status 3: CMD" (ret may be NULL; a command killed by signal
 * N shows as 128+N, as in the shell). Cancellation (mon) kills the
 * running command's namespace and returns -ECANCELED. */
int setup_run(const SetupTarget *t, char *const *commands, const StorageMonitor *mon, SetupResult *ret, Error *err);
