/* enclave-bench-runtime: drives the workspace runtime library directly,
 * without the daemon, for bench/workspace-*.sh.
 *
 *   enclave-bench-runtime start ROOTFS WS_DIR NAME ID_BASE   prints "PID START_TIME"
 *   enclave-bench-runtime exec PID START_TIME CMD [ARG]...   exits with CMD's status
 *   enclave-bench-runtime loop-exec PID START_TIME N         N execs of /bin/true in one process
 *   enclave-bench-runtime stop PID START_TIME [GRACE_MS]
 *   enclave-bench-runtime startstop ROOTFS WS_DIR NAME ID_BASE
 *
 * The workspace's init is loaded from $ENCLAVE_INIT, else from
 * enclave-init beside this binary. Workspaces started here have no
 * network, cgroup or hardening plan: it measures the runtime alone. */
#include "base/str.h"
#include "runtime/exec.h"
#include "runtime/spawn.h"

#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int init_open(Error *err)
{
        const char *e = getenv("ENCLAVE_INIT");
        if (e && *e)
                return workspace_init_open(e, err);
        char p[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", p, sizeof p - 16);
        if (n < 0)
                return error_setc(err, errno, "locating enclave-init");
        p[n] = 0;
        char *s = strrchr(p, '/');
        strcpy(s ? s + 1 : p, "enclave-init");
        return workspace_init_open(p, err);
}

static int parse_u32(const char *s, uint32_t *ret)
{
        int64_t v;
        int r = parse_int64(s, 1, UINT32_MAX, &v);
        if (r < 0)
                return r;
        *ret = (uint32_t) v;
        return 0;
}

static int start(char **argv, WorkspaceProcess *ret, Error *err)
{
        uint32_t base;
        if (parse_u32(argv[3], &base) < 0)
                return error_set(err, EINVAL, "invalid id base %s", argv[3]);
        _cleanup_close_ int init_fd = init_open(err);
        if (init_fd < 0)
                return init_fd;
        WorkspaceSpawnConfig c = {
                .name = argv[2], .rootfs = argv[0], .ws_dir = argv[1],
                .uid_base = base, .gid_base = base, .init_fd = init_fd,
        };
        return workspace_spawn(&c, ret, err);
}

static int adopt(char **argv, WorkspaceProcess *ret, Error *err)
{
        int64_t pid, st;
        if (parse_int64(argv[0], 2, INT_MAX, &pid) < 0 || parse_int64(argv[1], 0, INT64_MAX, &st) < 0)
                return error_set(err, EINVAL, "expected PID START_TIME");
        return workspace_adopt((pid_t) pid, (uint64_t) st, ret, err);
}

static int run_exec(int pidfd, char **cmd, Error *err)
{
        ExecConfig c;
        exec_config_init(&c, pidfd, cmd);
        c.stdio[0] = 0;
        c.stdio[1] = 1;
        c.stdio[2] = 2;
        ExecProcess p = EXEC_PROCESS_NULL;
        int status;
        int r = workspace_exec(&c, &p, &status, err);
        if (r < 0)
                return status;
        r = exec_process_wait(&p);
        exec_process_done(&p);
        return r;
}

static int cmd_loop(int pidfd, long n, Error *err)
{
        char *argv[] = { "/bin/true", NULL };
        double best = 1e9, sum = 0;
        for (long i = 0; i < n; i++) {
                double t0 = now_ms();
                int r = run_exec(pidfd, argv, err);
                double d = now_ms() - t0;
                if (r != 0) {
                        fprintf(stderr, "exec failed (%d): %s\n", r, error_msg(err));
                        return 1;
                }
                sum += d;
                if (d < best)
                        best = d;
        }
        printf("in-process exec of /bin/true: mean %.3f ms, best %.3f ms over %ld runs\n", sum / (double) n, best, n);
        return 0;
}

int main(int argc, char **argv)
{
        _cleanup_error_ Error err = ERROR_INIT;
        WorkspaceProcess w = WORKSPACE_PROCESS_NULL;
        const char *verb = argc > 1 ? argv[1] : "";
        int r;
        if (streq(verb, "start") && argc == 6) {
                r = start(argv + 2, &w, &err);
                if (r >= 0)
                        printf("%d %" PRIu64 "\n", (int) w.pid, w.start_time);
        } else if (streq(verb, "startstop") && argc == 6) {
                r = start(argv + 2, &w, &err);
                if (r >= 0)
                        r = workspace_stop(&w, WORKSPACE_STOP_GRACE_MS_DEFAULT, NULL, &err);
        } else if (streq(verb, "exec") && argc >= 5) {
                r = adopt(argv + 2, &w, &err);
                if (r >= 0) {
                        r = run_exec(w.pidfd, argv + 4, &err);
                        if (r > 0 && err.msg)
                                fprintf(stderr, "enclave-bench-runtime: %s\n", error_msg(&err));
                        workspace_process_done(&w);
                        return r < 0 ? 125 : r;
                }
        } else if (streq(verb, "loop-exec") && argc == 5) {
                r = adopt(argv + 2, &w, &err);
                if (r >= 0) {
                        r = cmd_loop(w.pidfd, strtol(argv[4], NULL, 10), &err);
                        workspace_process_done(&w);
                        return r;
                }
        } else if (streq(verb, "stop") && (argc == 4 || argc == 5)) {
                r = adopt(argv + 2, &w, &err);
                if (r >= 0)
                        r = workspace_stop(&w, argc == 5 ? (unsigned) strtoul(argv[4], NULL, 10)
                                                         : WORKSPACE_STOP_GRACE_MS_DEFAULT,
                                           NULL, &err);
        } else {
                fprintf(stderr, "usage: enclave-bench-runtime start|startstop ROOTFS WS_DIR NAME ID_BASE\n"
                                "       enclave-bench-runtime exec PID START_TIME CMD [ARG]...\n"
                                "       enclave-bench-runtime loop-exec PID START_TIME N\n"
                                "       enclave-bench-runtime stop PID START_TIME [GRACE_MS]\n");
                return 2;
        }
        workspace_process_done(&w);
        if (r < 0) {
                fprintf(stderr, "enclave-bench-runtime: %s\n", error_msg(&err));
                return 1;
        }
        return 0;
}
