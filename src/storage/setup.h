/* Setup commands of a sandbox (SPEC §3 `setup`): shell commands run in
 * order as root inside the sandbox rootfs, each as `/bin/sh -c CMD` in
 * its own mount, PID, IPC and UTS namespaces with the host's network (so
 * apt works), a private /proc, /sys (read-only), /dev and the host's
 * /etc/resolv.conf (read-only). Nothing stays mounted on the host.
 *
 * The namespaces belong to an identity-mapped user namespace (nsexec.h):
 * files keep their real owners, so the rootfs stays owned by real root
 * and apt/dpkg can chown freely, but "root" in a setup command has no
 * power over the host: it cannot make device nodes, mount host disks,
 * load modules, or change host sysctls or network settings. An
 * Enclavefile's setup list is therefore not a way to root the host.
 *
 * Environment (nothing else is inherited):
 *   PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
 *   HOME=/root  USER=root  LOGNAME=root  LANG=C.UTF-8
 *   DEBIAN_FRONTEND=noninteractive
 * stdin is /dev/null, the working directory is /. */
#pragma once

#include "base/error.h"
#include "storage/progress.h"

typedef struct SetupResult {
        size_t commands_run;  /* commands started, the failed one included */
        size_t failed_index;  /* 0-based index of the failed command (when one failed) */
        int exit_status;      /* its exit status (128+N for signal N) */
} SetupResult;

/* Run commands (NULL-terminated) in rootfs. Events through mon:
 * PROGRESS_STAGE_INFO before each command ("running setup command
 * 2/3"), then PROGRESS_STAGE_OUTPUT for each line it prints (item = the
 * command, done = its 1-based number, total = the count). The first
 * failure stops the list: returns -EIO with "setup command 2/3 failed
 * with exit status 3: CMD" (ret may be NULL;
 * a command killed by signal N shows as 128+N, as in the shell). hostname NULL means
 * "enclave-setup". */
int setup_run(const char *rootfs, char *const *commands, const char *hostname,
              const StorageMonitor *mon, SetupResult *ret, Error *err);
