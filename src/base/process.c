#include "base/process.h"
#include "base/fs.h"
#include "base/syscalls.h"

#include <limits.h>
#include <spawn.h>
#include <sys/mman.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
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
        int fd = sys_pidfd_open(pid, 0);
        return fd < 0 ? -errno : fd;
}

static const char *const tool_dirs[] = { "/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/bin" };

int process_find_tool(const char *name, char ret[static PATH_MAX])
{
        for (size_t i = 0; i < ELEMENTSOF(tool_dirs); i++) {
                snprintf(ret, PATH_MAX, "%s/%s", tool_dirs[i], name);
                if (access(ret, X_OK) == 0)
                        return 0;
        }
        return -ENOENT;
}

static int memfd_with(const char *name, const char *data, int *ret)
{
        _cleanup_close_ int fd = memfd_create(name, MFD_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (data) {
                int r = loop_write(fd, data, strlen(data));
                if (r < 0)
                        return r;
                if (lseek(fd, 0, SEEK_SET) < 0)
                        return -errno;
        }
        *ret = TAKE_FD(fd);
        return 0;
}

int process_run_capture(const char *path, char *const argv[], const char *input, size_t max_output,
                        char **ret_output)
{
        _cleanup_close_ int in = -EBADF, out = -EBADF;
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int r;

        r = memfd_with("tool-in", input ? input : "", &in);
        if (r < 0)
                return r;
        r = memfd_with("tool-out", NULL, &out);
        if (r < 0)
                return r;
        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        /* dup2 clears close-on-exec on the targets. */
        posix_spawn_file_actions_adddup2(&fa, in, 0);
        posix_spawn_file_actions_adddup2(&fa, out, 1);
        posix_spawn_file_actions_adddup2(&fa, out, 2);
        char *const envp[] = { (char *) "PATH=/usr/sbin:/usr/bin:/sbin:/bin", (char *) "LC_ALL=C", NULL };
        r = posix_spawn(&pid, path, &fa, NULL, argv, envp);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return -r;
        int status = wait_for_exit(pid);
        if (status < 0)
                return status;
        if (ret_output) {
                if (lseek(out, 0, SEEK_SET) < 0)
                        return -errno;
                r = read_full_fd(out, max_output, ret_output, NULL);
                if (r < 0)
                        return r;
        }
        return status;
}
