#include "base/process.h"
#include "base/fs.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>

void pid_kill_and_reapp(pid_t *pid)
{
        if (*pid <= 0)
                return;
        (void) kill(*pid, SIGKILL);
        (void) wait_for_exit(*pid);
        *pid = 0;
}

int wait_for_exit(pid_t pid)
{
        int status;
        for (;;) {
                if (waitpid(pid, &status, 0) >= 0)
                        break;
                if (errno != EINTR)
                        return -errno;
        }
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return -EIO;
}

int pid_start_time(pid_t pid, uint64_t *ret)
{
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
        _cleanup_free_ char *buf = NULL;
        int r = read_full_file(path, 4096, &buf, NULL);
        if (r < 0)
                return r;
        /* The command name may contain spaces and parentheses: skip to the last ')'. */
        char *p = strrchr(buf, ')');
        if (!p)
                return -EIO;
        p++;
        /* After ")" come fields 3..; start time is field 22. */
        for (int field = 3; field < 22; field++) {
                p = strchr(p + 1, ' ');
                if (!p)
                        return -EIO;
        }
        unsigned long long v;
        if (sscanf(p, " %llu", &v) != 1)
                return -EIO;
        *ret = v;
        return 0;
}

bool pid_is_same_process(pid_t pid, uint64_t start_time)
{
        uint64_t t;
        if (pid <= 0 || pid_start_time(pid, &t) < 0)
                return false;
        return t == start_time;
}

int pidfd_open_fd(pid_t pid)
{
        long fd = syscall(SYS_pidfd_open, pid, 0);
        return fd < 0 ? -errno : (int) fd;
}
