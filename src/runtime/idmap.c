#include "runtime/idmap.h"

#include "base/fs.h"
#include "base/process.h"
#include "runtime/syscalls.h"

#include <sched.h>
#include <stdio.h>

static int write_map(pid_t pid, const char *file, const IdMapLine *m, Error *err)
{
        char path[64], line[64];
        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
        int n = snprintf(line, sizeof line, "%u %u %u\n", m->inside, m->outside, m->count);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "opening %s", path);
        if (write(fd, line, (size_t) n) != n)
                return error_setc(err, errno, "writing \"%u %u %u\" to %s", m->inside, m->outside,
                                  m->count, path);
        return 0;
}

int idmap_write(pid_t pid, const IdMapLine *uid, const IdMapLine *gid, Error *err)
{
        int r = write_map(pid, "uid_map", uid, err);
        if (r < 0)
                return r;
        return write_map(pid, "gid_map", gid, err);
}

int idmap_userns_open(const IdMapLine *uid, const IdMapLine *gid, Error *err)
{
        CloneArgs args = { .flags = CLONE_NEWUSER, .exit_signal = SIGCHLD };
        _cleanup_pid_ pid_t pid = sys_clone3(&args);
        if (pid < 0)
                return error_setc(err, errno, "creating a user namespace for an idmapped mount");
        if (pid == 0) {
                /* Only exists to own the namespace until the parent has
                 * opened it; killed right after. */
                for (;;)
                        pause();
        }
        int r = idmap_write(pid, uid, gid, err);
        if (r < 0)
                return error_wrap(err, "mapping the idmapped-mount user namespace");
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "opening %s", path);
        return fd;
}
