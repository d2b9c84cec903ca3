#include "storage/setup.h"

#include "base/fs.h"
#include "base/str.h"
#include "runtime/exec.h"
#include "storage/line-pump.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>

/* How long output is still read after a command ended, for what a
 * background process it started keeps writing (it is killed then). */
#define SETUP_DRAIN_MS 200

static char *const setup_env[] = {
        (char *) "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        (char *) "HOME=/root",
        (char *) "USER=root",
        (char *) "LOGNAME=root",
        (char *) "LANG=C.UTF-8",
        (char *) "DEBIAN_FRONTEND=noninteractive",
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

/* One command in a namespace of its own; *ret_status is its exit status. */
static int run_one(const SetupTarget *t, const char *cmd, SetupLineCtx *ctx, int *ret_status, Error *err)
{
        WorkspaceSpawnConfig cfg = t->spawn;
        cfg.sandbox_setup = true;
        cfg.run = NULL;
        cfg.home_dir = NULL;
        cfg.home_dir_id = NULL;
        cfg.attach_disk = NULL;
        if (!cfg.name)
                cfg.name = "enclave-setup";
        /* The command enters the setup's cgroup like init (it does not
         * inherit init's: it starts from the daemon's). */
        _cleanup_(cgroup_entry_done) CgroupEntry xcg = CGROUP_ENTRY_NULL;
        int r = cgroup_entry_open(cfg.cgroup, true, &xcg, err);
        if (r < 0)
                return r;
        int pipefd[2];
        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating the output pipe");
        _cleanup_close_ int out_r = pipefd[0], out_w = pipefd[1];

        _cleanup_(workspace_process_done) WorkspaceProcess ns = WORKSPACE_PROCESS_NULL;
        r = workspace_spawn(&cfg, &ns, err);
        if (r < 0) {
                if (t->done)
                        t->done(t->done_userdata);
                return r;
        }
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) cmd, NULL };
        ExecConfig ec;
        exec_config_init(&ec, ns.pidfd, argv);
        ec.env = setup_env;
        ec.cwd_root = true;
        ec.stdio[1] = ec.stdio[2] = out_w;
        ec.cgroup_dir_fd = xcg.dir_fd;
        ec.cgroup_join_fds = xcg.fds;
        ec.n_cgroup_join_fds = xcg.n;
        ec.hardening = cfg.hardening;
        ec.limits = cfg.limits;
        _cleanup_exec_process_ ExecProcess ep = EXEC_PROCESS_NULL;
        r = workspace_exec(&ec, &ep, NULL, err);
        out_w = safe_close(out_w);
        if (r >= 0) {
                r = line_pump(out_r, ep.pidfd, SETUP_DRAIN_MS, on_line, ctx, ctx->mon, NULL);
                if (r == -ECANCELED)
                        error_set(err, ECANCELED, "setup cancelled");
                else if (r < 0)
                        error_setc(err, -r, "reading the output");
        }
        /* Whatever the command left behind ends with its namespace. The
         * command is our child: reap it before waiting for init, which
         * can finish dying only once every process of its namespace is
         * reaped. */
        (void) workspace_signal(&ns, SIGKILL);
        if (ep.pidfd >= 0) {
                int status = exec_process_wait(&ep);
                if (r >= 0 && status < 0)
                        r = error_setc(err, -status, "waiting for the command");
                *ret_status = status;
        }
        (void) workspace_wait(&ns, -1, NULL);
        if (t->done)
                t->done(t->done_userdata);
        return r;
}

int setup_run(const SetupTarget *t, char *const *commands, const StorageMonitor *mon, SetupResult *ret, Error *err)
{
        SetupResult res = { 0 };
        size_t n = strv_length(commands);
        if (ret)
                *ret = res;
        if (!t->spawn.rootfs || t->spawn.rootfs[0] != '/')
                return error_set(err, EINVAL, "setup needs an absolute rootfs path");
        for (size_t i = 0; i < n; i++) {
                const char *cmd = commands[i];
                int r = announce(mon, cmd, i, n);
                if (r < 0)
                        return r == -ECANCELED ? error_set(err, ECANCELED, "setup cancelled")
                                               : error_setc(err, -r, "running setup");
                SetupLineCtx ctx = { .mon = mon, .command = cmd, .index = i, .count = n };
                int status = 0;
                res.commands_run = i + 1;
                if (ret)
                        *ret = res;
                r = run_one(t, cmd, &ctx, &status, err);
                if (r == -ECANCELED)
                        return r;
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
