#include "runtime/idmap.h"

#include "base/fs.h"
#include "base/process.h"
#include "runtime/nsclone.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <unistd.h>

/* The whole map in one write, as the kernel requires. */
static int write_map(pid_t pid, const char *file, const IdMap *m, Error *err)
{
        char path[64], text[IDMAP_LINES_MAX * 36];
        size_t len = 0;
        if (m->n == 0 || m->n > IDMAP_LINES_MAX)
                return error_set(err, EINVAL, "an id map needs 1 to %d lines", IDMAP_LINES_MAX);
        for (size_t i = 0; i < m->n; i++)
                len += (size_t) snprintf(text + len, sizeof text - len, "%u %u %u\n", m->line[i].inside,
                                         m->line[i].outside, m->line[i].count);
        snprintf(path, sizeof path, "/proc/%d/%s", (int) pid, file);
        _cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "opening %s", path);
        if (write(fd, text, len) != (ssize_t) len) {
                if (len > 0 && text[len - 1] == '\n')
                        text[len - 1] = 0;
                return error_setc(err, errno, "writing \"%s\" to %s", text, path);
        }
        return 0;
}

int idmap_write_maps(pid_t pid, const IdMap *uid, const IdMap *gid, Error *err)
{
        int r = write_map(pid, "uid_map", uid, err);
        if (r < 0)
                return r;
        return write_map(pid, "gid_map", gid, err);
}

int idmap_write(pid_t pid, const IdMapLine *uid, const IdMapLine *gid, Error *err)
{
        IdMap u = { .line = { *uid }, .n = 1 }, g = { .line = { *gid }, .n = 1 };
        return idmap_write_maps(pid, &u, &g, err);
}

/* Only exists to own the namespace until the parent has opened it;
 * killed right after. */
static int hold_namespace(void *arg)
{
        for (;;)
                pause();
        return 0; /* not reached */
}

int idmap_userns_open_maps(const IdMap *uid, const IdMap *gid, Error *err)
{
        NsClone args = { .flags = CLONE_NEWUSER, .cgroup_fd = -EBADF };
        _cleanup_pid_ pid_t pid = ns_clone(&args, hold_namespace, NULL);
        if (pid < 0)
                return error_setc(err, errno, "creating a user namespace for an idmapped mount");
        int r = idmap_write_maps(pid, uid, gid, err);
        if (r < 0)
                return error_wrap(err, "mapping the idmapped-mount user namespace");
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/ns/user", (int) pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "opening %s", path);
        return fd;
}

int idmap_userns_open(const IdMapLine *uid, const IdMapLine *gid, Error *err)
{
        IdMap u = { .line = { *uid }, .n = 1 }, g = { .line = { *gid }, .n = 1 };
        return idmap_userns_open_maps(&u, &g, err);
}
