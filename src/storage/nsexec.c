#include "storage/nsexec.h"

#include "base/process.h"
#include "base/syscalls.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* fork()-like clone3 without glibc's atfork handlers: the caller may be
 * multi-threaded, and the child only makes syscalls before execve. */
static pid_t raw_clone(uint64_t flags, int *ret_pidfd)
{
        CloneArgs a = {
                .flags = flags | (ret_pidfd ? CLONE_PIDFD : 0),
                .pidfd = (uint64_t) (uintptr_t) ret_pidfd,
                .exit_signal = SIGCHLD,
        };
        return sys_clone3(&a);
}

/* What the namespace's first process reports when a step fails. */
typedef struct ChildError {
        int error;
        char step[120];
} ChildError;

_noreturn_ static void child_fail(int errfd, const char *step, int code)
{
        ChildError e = { .error = errno };
        size_t i = 0;
        for (; step[i] && i < sizeof e.step - 1; i++)
                e.step[i] = step[i];
        e.step[i] = 0;
        (void) !write(errfd, &e, sizeof e);
        _exit(code);
}

#define CHECK(expr, step)                               \
        do {                                            \
                if ((expr) < 0)                         \
                        child_fail(errfd, step, 125);   \
        } while (0)

_noreturn_ static void exec_program(const NsExecSpec *s, int outfd, int errfd)
{
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(outfd, 1) < 0 || dup2(outfd, 2) < 0)
                child_fail(errfd, "setting up standard input and output", 125);
        (void) setsid();
        const char *cwd = s->cwd;
        if (cwd && chdir(cwd) < 0)
                child_fail(errfd, "changing to the working directory", 125);
        execve(s->argv[0], (char *const *) s->argv, (char *const *) s->envp);
        child_fail(errfd, "executing the program", errno == ENOENT ? 127 : 126);
}

/* The first process of the new PID namespace. */
_noreturn_ static void namespace_init(const NsExecSpec *s, int outfd, int errfd)
{
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) prctl(PR_SET_NAME, "enclave-nsinit");
        /* Before any mount: nothing below may propagate to the host. */
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "making mounts private");
        CHECK(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mounting /proc");

        pid_t main_pid = raw_clone(0, NULL);
        if (main_pid < 0)
                child_fail(errfd, "starting the program", 125);
        if (main_pid == 0)
                exec_program(s, outfd, errfd);
        close(outfd);
        for (;;) {
                int status;
                pid_t p = waitpid(-1, &status, 0);
                if (p < 0 && errno == EINTR)
                        continue;
                if (p < 0)
                        _exit(125);
                if (p != main_pid)
                        continue;
                /* Leaving kills the rest of the namespace. */
                if (WIFEXITED(status))
                        _exit(WEXITSTATUS(status));
                _exit(128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0));
        }
}

int nsexec_run(const NsExecSpec *spec, LineFn on_line, void *userdata, const StorageMonitor *mon, int *ret_status,
               Error *err)
{
        if (!spec->argv || !spec->argv[0] || spec->argv[0][0] != '/')
                return error_set(err, EINVAL, "program path must be absolute");
        int out[2], errp[2];
        if (pipe2(out, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating output pipe");
        _cleanup_close_ int out_r = out[0], out_w = out[1];
        if (pipe2(errp, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating status pipe");
        _cleanup_close_ int err_r = errp[0], err_w = errp[1];

        int pidfd_raw = -1;
        _cleanup_pid_ pid_t pid = raw_clone(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC, &pidfd_raw);
        if (pid < 0)
                return error_setc(err, errno, "creating namespaces");
        if (pid == 0) {
                close(out_r);
                close(err_r);
                namespace_init(spec, out_w, err_w);
        }
        _cleanup_close_ int pidfd = pidfd_raw;
        out_w = safe_close(out_w);
        err_w = safe_close(err_w);

        int r = line_pump(out_r, pidfd, -1, on_line, userdata, mon, NULL);
        if (r == -ECANCELED)
                return error_set(err, ECANCELED, "cancelled");
        if (r < 0)
                return error_setc(err, -r, "reading program output");

        int status = wait_for_exit(pid);
        pid = 0;
        if (status < 0)
                return error_setc(err, -status, "waiting for the program");

        ChildError ce;
        ssize_t n = read(err_r, &ce, sizeof ce);
        if (n == (ssize_t) sizeof ce) {
                ce.step[sizeof ce.step - 1] = 0;
                return error_setc(err, ce.error ? ce.error : EIO, "%s%s%s", ce.step,
                                  streq(ce.step, "executing the program") ? " " : "",
                                  streq(ce.step, "executing the program") ? spec->argv[0] : "");
        }
        *ret_status = status;
        return 0;
}
