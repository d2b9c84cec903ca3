#include "daemon/daemon.h"
#include "engine/reconcile.h"
#include "config/trust.h"
#include "engine/doctor.h"
#include "engine/sandbox-cgroup.h"
#include "engine/snapshots.h"
#include "daemon/server.h"
#include "daemon/socket.h"
#include "engine/workspace-engine.h"
#include "engine/workspace-ids.h"
#include "engine/leftovers.h"
#include "engine/network.h"
#include "registry/registry-sandbox.h"
#include "engine/sandbox.h"
#include "base/crashpoint.h"
#include "base/fs.h"
#include "base/log.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <linux/magic.h>

uint64_t daemon_uptime_secs(const Daemon *d)
{
        return (now_monotonic_ns() - d->started_ns) / 1000000000ull;
}

const char *daemon_cgroup_mode(void)
{
        struct statfs fs;
        if (statfs("/sys/fs/cgroup", &fs) < 0)
                return "unknown";
        if ((unsigned long) fs.f_type == CGROUP2_SUPER_MAGIC)
                return "v2";
        if ((unsigned long) fs.f_type != TMPFS_MAGIC)
                return "unknown";
        if (statfs("/sys/fs/cgroup/unified", &fs) == 0 && (unsigned long) fs.f_type == CGROUP2_SUPER_MAGIC)
                return "hybrid";
        return "v1";
}

void daemon_request_stop(Daemon *d)
{
        if (d->stopping)
                return;
        d->stopping = true;
        log_info("stopping");
        server_stop(d->server);
}

/* ---- locks ---- */

/* flock() a file and write our pid into it. The kernel releases the
 * lock when the process dies however it dies, so a stale file never
 * blocks a restart. */
static int lock_file(const char *path, const char *what, int *ret_fd, Error *err)
{
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0644);
        if (fd < 0)
                return error_setc(err, errno, "opening %s %s", what, path);
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno != EWOULDBLOCK)
                        return error_setc(err, errno, "locking %s %s", what, path);
                char buf[32] = "";
                ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
                long pid = n > 0 ? strtol(buf, NULL, 10) : 0;
                if (pid > 0)
                        return error_set(err, EBUSY, "another enclave daemon (pid %ld) is already running with %s %s",
                                         pid, what, path);
                return error_set(err, EBUSY, "another enclave daemon is already running with %s %s", what, path);
        }
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%d\n", (int) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t) len, 0) != len)
                return error_setc(err, errno, "writing %s %s", what, path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int parent_dir(const char *path, char **ret)
{
        const char *slash = strrchr(path, '/');
        if (!slash)
                return -EINVAL;
        *ret = slash == path ? strdup("/") : strndup(path, (size_t) (slash - path));
        return *ret ? 0 : -ENOMEM;
}

static int daemon_lock(Daemon *d, Error *err)
{
        const Settings *s = &d->engine.settings;
        /* 0711: the state is root's; workspace dirs below are reached by
         * path with their own ownership. */
        int r = mkdir_p(s->state_dir, 0711);
        if (r < 0)
                return error_setc(err, -r, "creating state dir %s", s->state_dir);
        /* Root writes below it by path: nobody else may be able to
         * rename anything on the way (config/trust.h). */
        r = trust_check_dir(s->state_dir, "the state dir", err);
        if (r < 0)
                return r;
        _cleanup_free_ char *lock = path_join(s->state_dir, DAEMON_LOCK_FILE);
        _cleanup_free_ char *piddir = NULL;
        if (!lock || parent_dir(s->pid_file, &piddir) < 0)
                return error_set(err, ENOMEM, "out of memory");
        r = lock_file(lock, "state dir lock", &d->state_lock_fd, err);
        if (r < 0)
                return error_wrap(err, "state dir %s is in use", s->state_dir);
        r = mkdir_p(piddir, 0755);
        if (r < 0)
                return error_setc(err, -r, "creating %s", piddir);
        r = trust_check_dir(piddir, "the pid file's directory", err);
        if (r < 0)
                return r;
        return lock_file(s->pid_file, "pid file", &d->pid_fd, err);
}

/* ---- signals and children ---- */

static void reap_children(void)
{
        /* __WNOTHREAD: only children of the loop thread and orphans
         * handed to us as subreaper (they go to the thread group leader).
         * Children a worker thread forked stay its own to wait for. */
        for (;;) {
                int status;
                pid_t pid = waitpid(-1, &status, WNOHANG | __WNOTHREAD);
                if (pid <= 0)
                        return;
                log_debug("reaped process %d (status 0x%x)", (int) pid, (unsigned) status);
        }
}

static void on_signal(void *userdata, uint32_t events)
{
        Daemon *d = userdata;
        struct signalfd_siginfo si;
        while (read(d->signal_fd, &si, sizeof si) == (ssize_t) sizeof si) {
                switch (si.ssi_signo) {
                case SIGTERM:
                case SIGINT:
                        log_info("received %s", strsignal((int) si.ssi_signo));
                        daemon_request_stop(d);
                        break;
                case SIGCHLD:
                        reap_children();
                        break;
                default:
                        break;
                }
        }
}

static int daemon_setup_signals(Daemon *d, Error *err)
{
        sigset_t mask;
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return error_setc(err, errno, "blocking signals");
        (void) signal(SIGPIPE, SIG_IGN);
        d->signal_fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
        if (d->signal_fd < 0)
                return error_setc(err, errno, "creating signalfd");
        /* Orphans of our children (e.g. a workspace's double-forked
         * helpers) come to us and are reaped at once (SPEC §9). */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
                return error_setc(err, errno, "becoming child subreaper");
        return 0;
}

static void raise_fd_limit(void)
{
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

/* ---- state ---- */

static int daemon_open_state(Daemon *d, Error *err)
{
        d->engine.registry_path = path_join(d->engine.settings.state_dir, REGISTRY_FILE);
        if (!d->engine.registry_path)
                return error_set(err, ENOMEM, "out of memory");
        int r = registry_open(d->engine.registry_path, &d->engine.registry, err);
        if (r < 0)
                return r;
        r = registry_integrity_check(d->engine.registry, err);
        if (r < 0)
                return error_wrap(err, "refusing to start on a damaged registry (keep a copy of %s and run "
                                       "'sqlite3 %s .recover')", d->engine.registry_path, d->engine.registry_path);
        r = registry_policy_load(d->engine.registry, &d->policy, err);
        if (r < 0)
                return error_wrap(err, "loading the policy");
        /* Before reconciling: adopting a running workspace needs them. */
        r = sandbox_cgroup_init(&d->engine);
        if (r < 0)
                return r;
        r = workspace_engine_init(&d->engine, err);
        if (r < 0)
                return r;
        r = reconcile_workspaces(&d->engine, err);
        if (r < 0)
                return r;
        if (r > 0)
                log_info("reconciled %d workspace(s) whose processes were gone", r);
        if ((r = sandbox_recover_interrupted(&d->engine, err)) < 0)
                return r;
        (void) snapshot_recover_all(&d->engine); /* interrupted restores, half-built snapshots */
        reconcile_leftovers(&d->engine); /* frozen or untracked cgroups, tmp/, loop devices */
        /* Last: recovery above may have removed rows, and the blocks of
         * rows that are gone are only free once their files are. */
        _cleanup_error_ Error ierr = ERROR_INIT;
        if (workspace_ids_reconcile(&d->engine, &ierr) < 0)
                log_warn("host id leases: %s", error_msg(&ierr));
        RateLimitConfig rl = RATELIMIT_CONFIG_DEFAULT;
        if (ratelimiter_init(&d->ratelimit, &rl, now_monotonic_ns()) < 0)
                return error_set(err, ENOMEM, "out of memory");
        return 0;
}

static void daemon_done(Daemon *d)
{
        if (d->server && server_n_workers(d->server) > 0) {
                /* A worker that ignored cancellation still runs and may
                 * touch the daemon: leave everything to process exit. */
                log_warn("%zu long action(s) did not finish in time; exiting anyway",
                         server_n_workers(d->server));
                return;
        }
        d->server = server_free(d->server);
        /* Workspaces keep running; only the engine's thread ends. */
        workspace_engine_shutdown(&d->engine);
        network_shutdown(&d->engine);
        sandbox_cgroup_done(&d->engine);
        d->engine.registry = registry_close(d->engine.registry);
        policy_done(&d->policy);
        ratelimiter_done(&d->ratelimit);
        free(d->engine.registry_path);
        safe_close(d->signal_fd);
        if (d->pid_fd >= 0) {
                /* Still locked: nobody else can have written it. */
                (void) unlink(d->engine.settings.pid_file);
                safe_close(d->pid_fd);
        }
        safe_close(d->state_lock_fd);
        settings_done(&d->engine.settings);
}

static int daemon_serve(Daemon *d, const DaemonOptions *opts, Error *err)
{
        SocketId sock_id;
        int listen_fd = daemon_socket_open(d->engine.settings.socket_path, &sock_id, err);
        if (listen_fd < 0)
                return listen_fd;
        ServerLimits limits = SERVER_LIMITS_DEFAULT;
        limits.max_connections_per_uid = (unsigned) d->engine.settings.max_connections_per_user;
        limits.max_workers_per_uid = (unsigned) d->engine.settings.max_long_actions_per_user;
        if (opts->request_timeout_ms > 0)
                limits.request_timeout_ms = opts->request_timeout_ms;
        ServerContext ctx = {
                .daemon = d,
                .engine = &d->engine,
                .policy = &d->policy,
                .ratelimit = &d->ratelimit,
                .enable_test_actions = d->enable_test_actions,
                .find_action = actions_find,
                .action_is_reserved = action_is_reserved,
        };
        int r = server_new(&ctx, listen_fd, &limits, &d->server);
        if (r >= 0)
                r = server_watch_fd(d->server, d->signal_fd, on_signal, d);
        if (r < 0) {
                daemon_socket_remove(d->engine.settings.socket_path, &sock_id);
                return error_setc(err, -r, "setting up the event loop");
        }
        log_info("enclave %s daemon ready (pid %d) on %s, state %s%s", ENCLAVE_VERSION, (int) d->pid,
                 d->engine.settings.socket_path, d->engine.settings.state_dir,
                 d->enable_test_actions ? ", test actions enabled" : "");
        r = server_run(d->server);
        daemon_socket_remove(d->engine.settings.socket_path, &sock_id);
        if (r < 0)
                return error_setc(err, -r, "event loop failed");
        log_info("stopped");
        return 0;
}

int daemon_run(const DaemonOptions *opts, Error *err)
{
        if (geteuid() != 0)
                return error_set(err, EPERM, "the enclave daemon must run as root");
        Daemon d = {
                .pid = getpid(),
                .started_at = time(NULL),
                .started_ns = now_monotonic_ns(),
                .enable_test_actions = opts->enable_test_actions,
                .state_lock_fd = -EBADF,
                .pid_fd = -EBADF,
                .signal_fd = -EBADF,
                .policy = POLICY_INIT,
        };
        umask(0022);
        raise_fd_limit();
        int r = 0;
        /* Crash points are for test daemons only: a production daemon
         * never dies because of its environment. */
        if (opts->enable_test_actions)
                r = crash_point_arm(getenv(CRASH_POINT_ENV), err);
        else if (getenv(CRASH_POINT_ENV))
                log_warn("ignoring %s: crash points need --enable-test-actions", CRASH_POINT_ENV);
        if (r >= 0)
                r = daemon_resolve_settings(opts, &d.engine.settings, err);
        if (r >= 0)
                r = daemon_lock(&d, err);
        if (r >= 0)
                r = doctor_require_kernel(&d.engine, err);
        if (r >= 0)
                r = daemon_setup_signals(&d, err);
        if (r >= 0)
                r = daemon_open_state(&d, err);
        if (r >= 0)
                r = network_init(&d.engine, err);
        if (r >= 0) {
                /* Workspaces still run without it; they are reported. */
                _cleanup_error_ Error nerr = ERROR_INIT;
                if (network_reconcile(&d.engine, &nerr) < 0)
                        log_warn("network: %s", error_msg(&nerr));
                else
                        reconcile_network_ends(&d.engine);
        }
        if (r >= 0)
                r = daemon_serve(&d, opts, err);
        daemon_done(&d);
        return r < 0 ? r : 0;
}
