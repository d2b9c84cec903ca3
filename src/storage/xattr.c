#include "storage/xattr.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

void xattr_list_done(XattrList *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].name);
                free(l->items[i].value);
        }
        free(l->items);
        l->items = NULL;
        l->n = 0;
}

static int proc_path(char *buf, size_t size, int dirfd, const char *name)
{
        int n = snprintf(buf, size, "/proc/self/fd/%d/%s", dirfd, name);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

static ssize_t do_list(int fd, const char *path, char *buf, size_t size)
{
        return fd >= 0 ? flistxattr(fd, buf, size) : llistxattr(path, buf, size);
}

static ssize_t do_get(int fd, const char *path, const char *key, void *buf, size_t size)
{
        return fd >= 0 ? fgetxattr(fd, key, buf, size) : lgetxattr(path, key, buf, size);
}

static bool no_xattr_support(int e)
{
        return e == ENOTSUP || e == ENOSYS;
}

/* The whole list of names; retries when it grows between calls. */
static int read_names(int fd, const char *path, char **ret, size_t *ret_len)
{
        for (int attempt = 0; attempt < 8; attempt++) {
                ssize_t n = do_list(fd, path, NULL, 0);
                if (n < 0)
                        return no_xattr_support(errno) ? 0 : -errno;
                if (n == 0)
                        return 0;
                _cleanup_free_ char *buf = malloc((size_t) n);
                if (!buf)
                        return -ENOMEM;
                ssize_t m = do_list(fd, path, buf, (size_t) n);
                if (m < 0) {
                        if (errno == ERANGE)
                                continue;
                        return -errno;
                }
                *ret = TAKE_PTR(buf);
                *ret_len = (size_t) m;
                return 0;
        }
        return -EAGAIN;
}

static int read_value(int fd, const char *path, const char *key, Xattr *x)
{
        for (int attempt = 0; attempt < 8; attempt++) {
                ssize_t n = do_get(fd, path, key, NULL, 0);
                if (n < 0)
                        return -errno;
                _cleanup_free_ void *buf = malloc(n > 0 ? (size_t) n : 1);
                if (!buf)
                        return -ENOMEM;
                ssize_t m = do_get(fd, path, key, buf, (size_t) n);
                if (m < 0) {
                        if (errno == ERANGE)
                                continue;
                        return -errno;
                }
                x->value = TAKE_PTR(buf);
                x->size = (size_t) m;
                return 0;
        }
        return -EAGAIN;
}

int xattr_list_read(int fd, int dirfd, const char *name, XattrList *ret)
{
        char path[PATH_MAX];
        if (fd < 0) {
                int r = proc_path(path, sizeof path, dirfd, name);
                if (r < 0)
                        return r;
        }
        xattr_list_done(ret);
        _cleanup_free_ char *names = NULL;
        size_t len = 0;
        int r = read_names(fd, fd >= 0 ? NULL : path, &names, &len);
        if (r < 0 || len == 0)
                return r;
        size_t count = 0;
        for (size_t i = 0; i < len; i += strlen(names + i) + 1)
                count++;
        ret->items = calloc(count, sizeof(Xattr));
        if (!ret->items)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += strlen(names + i) + 1) {
                Xattr x = { .name = strdup(names + i) };
                if (!x.name)
                        return -ENOMEM;
                r = read_value(fd, fd >= 0 ? NULL : path, x.name, &x);
                if (r == -ENODATA) { /* removed meanwhile */
                        free(x.name);
                        continue;
                }
                if (r < 0) {
                        free(x.name);
                        return r;
                }
                ret->items[ret->n++] = x;
        }
        return 0;
}

int xattr_set(int fd, int dirfd, const char *name, const char *key, const void *value, size_t size)
{
        if (fd >= 0)
                return RET_NERRNO(fsetxattr(fd, key, value, size, 0));
        char path[PATH_MAX];
        int r = proc_path(path, sizeof path, dirfd, name);
        if (r < 0)
                return r;
        return RET_NERRNO(lsetxattr(path, key, value, size, 0));
}

int xattr_remove(int fd, int dirfd, const char *name, const char *key)
{
        int r;
        if (fd >= 0)
                r = RET_NERRNO(fremovexattr(fd, key));
        else {
                char path[PATH_MAX];
                r = proc_path(path, sizeof path, dirfd, name);
                if (r < 0)
                        return r;
                r = RET_NERRNO(lremovexattr(path, key));
        }
        return r == -ENODATA ? 0 : r;
}

int xattr_copy(int src_fd, int src_dirfd, const char *src_name, int dst_fd, int dst_dirfd,
               const char *dst_name, const char **ret_key, XattrList *scratch)
{
        int r = xattr_list_read(src_fd, src_dirfd, src_name, scratch);
        if (r < 0)
                return r;
        for (size_t i = 0; i < scratch->n; i++) {
                const Xattr *x = &scratch->items[i];
                r = xattr_set(dst_fd, dst_dirfd, dst_name, x->name, x->value, x->size);
                if (r < 0) {
                        if (ret_key)
                                *ret_key = x->name;
                        return r;
                }
        }
        return 0;
}
