#include "storage/nsexec.h"

#include "base/process.h"
#include "runtime/nsclone.h"
#include "runtime/sync.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* Where a failure happened (runtime/sync.h). */
enum {
        NSEXEC_STEP_NAMESPACE = 1, /* the namespace's first process */
        NSEXEC_STEP_PROGRAM = 2,   /* the program before it executes */
};

/* What both processes of the namespace work on (copies of it). */
typedef struct NsExecChild {
        const NsExecSpec *spec;
        int outfd;
        int errfd;                /* the child end of the sync socket */
        const sigset_t *caller_mask;
} NsExecChild;

_noreturn_ static void child_fail(int errfd, uint32_t step, const char *what, const char *arg, int code)
{
        sync_send_failure(errfd, step, errno, what, arg);
        _exit(code);
}

#define CHECK(expr, what)                                                       \
        do {                                                                    \
                if ((expr) < 0)                                                 \
                        child_fail(c->errfd, NSEXEC_STEP_NAMESPACE, what, NULL, 125); \
        } while (0)

static int exec_program(void *arg)
{
        const NsExecChild *c = arg;
        const NsExecSpec *s = c->spec;
        (void) sigprocmask(SIG_SETMASK, c->caller_mask, NULL);
        int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(c->outfd, 1) < 0 || dup2(c->outfd, 2) < 0)
                child_fail(c->errfd, NSEXEC_STEP_PROGRAM, "setting up standard input and output", NULL, 125);
        (void) setsid();
        if (s->cwd && chdir(s->cwd) < 0)
                child_fail(c->errfd, NSEXEC_STEP_PROGRAM, "changing to the working directory", NULL, 125);
        execve(s->argv[0], (char *const *) s->argv, (char *const *) s->envp);
        child_fail(c->errfd, NSEXEC_STEP_PROGRAM, "executing the program", s->argv[0], errno == ENOENT ? 127 : 126);
}

/* The first process of the new PID namespace. */
static int namespace_init(void *arg)
{
        NsExecChild *c = arg;
        (void) sigprocmask(SIG_SETMASK, c->caller_mask, NULL);
        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void) prctl(PR_SET_NAME, "enclave-nsinit");
        /* Before any mount: nothing below may propagate to the host. */
        CHECK(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL), "making mounts private");
        CHECK(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL), "mounting /proc");

        NsClone a = { .cgroup_fd = -EBADF };
        pid_t main_pid = ns_clone(&a, exec_program, c);
        if (main_pid < 0)
                child_fail(c->errfd, NSEXEC_STEP_NAMESPACE, "starting the program", NULL, 125);
        close(c->outfd);
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
        int out[2], pair[2];
        if (pipe2(out, O_CLOEXEC) < 0)
                return error_setc(err, errno, "creating output pipe");
        _cleanup_close_ int out_r = out[0], out_w = out[1];
        int r = sync_pair(pair);
        if (r < 0)
                return error_setc(err, -r, "creating status socket");
        _cleanup_close_ int err_r = pair[0], err_w = pair[1];

        int pidfd_raw = -1;
        NsClone a = { .flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_PIDFD, .cgroup_fd = -EBADF,
                      .ret_pidfd = &pidfd_raw };
        NsExecChild child = { .spec = spec, .outfd = out_w, .errfd = err_w, .caller_mask = &a.caller_mask };
        _cleanup_pid_ pid_t pid = ns_clone(&a, namespace_init, &child);
        if (pid < 0)
                return error_setc(err, errno, "creating namespaces");
        _cleanup_close_ int pidfd = pidfd_raw;
        out_w = safe_close(out_w);
        err_w = safe_close(err_w);

        r = line_pump(out_r, pidfd, -1, on_line, userdata, mon, NULL);
        if (r == -ECANCELED)
                return error_set(err, ECANCELED, "cancelled");
        if (r < 0)
                return error_setc(err, -r, "reading program output");

        int status = wait_for_exit(pid);
        pid = 0;
        if (status < 0)
                return error_setc(err, -status, "waiting for the program");

        /* Every writer has exited: a failure message, or EOF. */
        SyncMsg m;
        r = sync_recv(err_r, &m, NULL, 0);
        if (r > 0)
                return sync_msg_error(&m, err);
        *ret_status = status;
        return 0;
}
