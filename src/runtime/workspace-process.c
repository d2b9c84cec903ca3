#include "runtime/workspace-process.h"

#include "base/process.h"
#include "base/syscalls.h"

#include <poll.h>
#include <sys/wait.h>
#include <time.h>

void workspace_process_done(WorkspaceProcess *w)
{
        w->pidfd = safe_close(w->pidfd);
}

int workspace_adopt(pid_t pid, uint64_t start_time, WorkspaceProcess *ret, Error *err)
{
        if (pid <= 1)
                return error_set(err, EINVAL, "invalid workspace pid %d", (int) pid);
        _cleanup_close_ int fd = sys_pidfd_open(pid, 0);
        if (fd < 0)
                return error_setc(err, errno == ESRCH ? ESRCH : errno, "opening pid %d", (int) pid);
        /* The pidfd pins the process; checking the start time after
         * opening it rules out a recycled pid. */
        if (!pid_is_same_process(pid, start_time))
                return error_set(err, ESRCH, "workspace init (pid %d) is gone; the pid now belongs to another process",
                                 (int) pid);
        *ret = (WorkspaceProcess) { .pid = pid, .pidfd = TAKE_FD(fd), .start_time = start_time, .is_child = false };
        return 0;
}

int workspace_signal(const WorkspaceProcess *w, int sig)
{
        if (w->pidfd < 0)
                return -EBADF;
        return RET_NERRNO(sys_pidfd_send_signal(w->pidfd, sig));
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int reap(WorkspaceProcess *w, int *ret_status)
{
        int status = -1;
        siginfo_t si = { 0 };
        if (waitid((idtype_t) P_PIDFD, (id_t) w->pidfd, &si, WEXITED | WNOHANG) == 0 && si.si_pid > 0)
                status = si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
        w->pid = 0;
        if (ret_status)
                *ret_status = status;
        return 1;
}

int workspace_wait(WorkspaceProcess *w, int timeout_ms, int *ret_status)
{
        if (w->pidfd < 0)
                return -EBADF;
        int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
        for (;;) {
                int left = -1;
                if (deadline >= 0) {
                        int64_t d = deadline - now_ms();
                        left = d < 0 ? 0 : (int) d;
                }
                struct pollfd p = { .fd = w->pidfd, .events = POLLIN };
                int r = poll(&p, 1, left);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (r == 0)
                        return 0;
                return reap(w, ret_status);
        }
}

int workspace_stop(WorkspaceProcess *w, unsigned grace_ms, bool *ret_killed, Error *err)
{
        if (ret_killed)
                *ret_killed = false;
        if (w->pidfd < 0)
                return error_set(err, EBADF, "workspace has no process handle");
        int r = workspace_signal(w, SIGTERM);
        if (r < 0 && r != -ESRCH)
                return error_setc(err, -r, "sending SIGTERM to workspace init (pid %d)", (int) w->pid);
        if (r == 0) {
                r = workspace_wait(w, (int) (grace_ms > INT32_MAX ? INT32_MAX : grace_ms), NULL);
                if (r < 0)
                        return error_setc(err, -r, "waiting for workspace init (pid %d)", (int) w->pid);
                if (r > 0)
                        return 0;
                if (ret_killed)
                        *ret_killed = true;
                r = workspace_signal(w, SIGKILL);
                if (r < 0 && r != -ESRCH)
                        return error_setc(err, -r, "sending SIGKILL to workspace init (pid %d)", (int) w->pid);
        }
        r = workspace_wait(w, -1, NULL);
        if (r < 0)
                return error_setc(err, -r, "waiting for workspace init (pid %d)", (int) w->pid);
        return 0;
}
