#include "storage/setup.h"

#include "base/str.h"
#include "storage/nsexec.h"

#include <string.h>

static const char *const setup_env[] = {
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME=/root",
        "USER=root",
        "LOGNAME=root",
        "LANG=C.UTF-8",
        "DEBIAN_FRONTEND=noninteractive",
        NULL,
};

typedef struct SetupLineCtx {
        const StorageMonitor *mon;
        const char *command;
        size_t index, count;
} SetupLineCtx;

static int on_line(const char *line, void *userdata)
{
        SetupLineCtx *c = userdata;
        StorageProgress p = {
                .stage = PROGRESS_STAGE_OUTPUT,
                .item = c->command,
                .message = line,
                .done = c->index + 1,
                .total = c->count,
        };
        return storage_monitor_report(c->mon, &p, true, NULL);
}

static int announce(const StorageMonitor *mon, const char *cmd, size_t i, size_t n)
{
        _cleanup_free_ char *msg = NULL;
        if (asprintf(&msg, "running setup command %zu/%zu: %s", i + 1, n, cmd) < 0)
                return -ENOMEM;
        StorageProgress p = {
                .stage = PROGRESS_STAGE_INFO,
                .item = cmd,
                .message = msg,
                .done = i,
                .total = n,
        };
        return storage_monitor_report(mon, &p, true, NULL);
}

int setup_run(const char *rootfs, char *const *commands, const char *hostname,
              const StorageMonitor *mon, SetupResult *ret, Error *err)
{
        SetupResult res = { 0 };
        size_t n = strv_length(commands);
        if (ret)
                *ret = res;
        if (!rootfs || rootfs[0] != '/')
                return error_set(err, EINVAL, "setup needs an absolute rootfs path");
        for (size_t i = 0; i < n; i++) {
                const char *cmd = commands[i];
                int r = announce(mon, cmd, i, n);
                if (r < 0)
                        return r == -ECANCELED ? error_set(err, ECANCELED, "setup cancelled")
                                               : error_setc(err, -r, "running setup");
                const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
                NsExecSpec spec = {
                        .argv = argv,
                        .envp = setup_env,
                        .rootfs = rootfs,
                        .hostname = hostname ? hostname : "enclave-setup",
                        .user_ns = true,
                };
                SetupLineCtx ctx = { .mon = mon, .command = cmd, .index = i, .count = n };
                int status = 0;
                res.commands_run = i + 1;
                if (ret)
                        *ret = res;
                r = nsexec_run(&spec, on_line, &ctx, mon, &status, err);
                if (r < 0)
                        return error_wrap(err, "setup command %zu/%zu (%s)", i + 1, n, cmd);
                if (status != 0) {
                        res.failed_index = i;
                        res.exit_status = status;
                        if (ret)
                                *ret = res;
                        return error_set(err, EIO, "setup command %zu/%zu failed with exit status %d: %s",
                                         i + 1, n, status, cmd);
                }
        }
        return 0;
}
