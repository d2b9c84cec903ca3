#include "storage/staging.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/str.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

/* A staging directory is made under this hidden name, locked, then
 * renamed to its real one: a sweep while the daemon runs skips these
 * names, so it never sees a directory between mkdtemp() and flock(). */
#define NEW_PREFIX ".new-"

/* The staging directories this process holds: path and locked fd. */
typedef struct Held {
        char *path;
        int fd;
} Held;

static pthread_mutex_t held_mutex = PTHREAD_MUTEX_INITIALIZER;
static Held *held;
static size_t n_held;

static int held_add(char *path, int fd)
{
        pthread_mutex_lock(&held_mutex);
        Held *n = realloc(held, (n_held + 1) * sizeof *n);
        if (n) {
                held = n;
                held[n_held++] = (Held) { path, fd };
        }
        pthread_mutex_unlock(&held_mutex);
        return n ? 0 : -ENOMEM;
}

static void held_drop(const char *path)
{
        pthread_mutex_lock(&held_mutex);
        for (size_t i = 0; i < n_held; i++)
                if (streq(held[i].path, path)) {
                        free(held[i].path);
                        safe_close(held[i].fd);
                        held[i] = held[--n_held];
                        break;
                }
        pthread_mutex_unlock(&held_mutex);
}

static int create_locked(const char *tmp_dir, const char *prefix, char **ret_path, int *ret_fd, Error *err)
{
        _cleanup_free_ char *hidden = NULL, *p = NULL;
        if (asprintf(&hidden, "%s/" NEW_PREFIX "%s-XXXXXX", tmp_dir, prefix) < 0)
                return error_set(err, ENOMEM, "out of memory");
        if (!mkdtemp(hidden))
                return error_setc(err, errno, "creating a staging directory in %s", tmp_dir);
        _cleanup_close_ int fd = open(hidden, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = 0;
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                r = error_setc(err, errno, "locking %s", hidden);
        else if (asprintf(&p, "%s/%s-%s", tmp_dir, prefix, strrchr(hidden, '-') + 1) < 0)
                r = error_set(err, ENOMEM, "out of memory");
        else if (renameat2(AT_FDCWD, hidden, AT_FDCWD, p, RENAME_NOREPLACE) < 0)
                r = errno == EEXIST ? -EEXIST : error_setc(err, errno, "renaming %s", hidden);
        if (r < 0) {
                (void) rmdir(hidden);
                return r;
        }
        *ret_path = TAKE_PTR(p);
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int staging_create(const char *tmp_dir, const char *prefix, char **ret, Error *err)
{
        int r = mkdir_p(tmp_dir, 0700);
        if (r < 0)
                return error_setc(err, -r, "creating %s", tmp_dir);
        _cleanup_free_ char *p = NULL;
        int fd = -EBADF;
        /* EEXIST: a leftover of the same random name; draw another. */
        for (int i = 0; i < 16 && (r = create_locked(tmp_dir, prefix, &p, &fd, err)) == -EEXIST; i++)
                ;
        if (r == -EEXIST)
                return error_set(err, EEXIST, "no free staging name in %s", tmp_dir);
        if (r < 0)
                return r;
        _cleanup_free_ char *copy = strdup(p);
        if (!copy || held_add(copy, fd) < 0) {
                safe_close(fd);
                (void) rmdir(p);
                return error_set(err, ENOMEM, "out of memory");
        }
        copy = NULL;
        *ret = TAKE_PTR(p);
        return 0;
}

int staging_remove(const char *path)
{
        int r = 0;
        for (int i = 0; i < 20; i++) {
                r = rm_rf(path);
                if (r != -EBUSY)
                        break;
                nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
        /* Gone (or not removable): either way this process is done with it. */
        held_drop(path);
        return r;
}

/* Whether tmp_fd/name is held by a live process; entries that cannot
 * be locked (symlinks, sockets) are never held. */
static bool entry_is_held(int tmp_fd, const char *name)
{
        _cleanup_close_ int fd = openat(tmp_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return false;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0)
                return errno == EWOULDBLOCK;
        return false; /* our lock goes with fd */
}

static int walk(const char *tmp_dir, bool remove, bool all, char ***ret_list, char ***ret_left, Error *err)
{
        _cleanup_close_ int tfd = open(tmp_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tfd < 0 && errno == ENOENT)
                return 0; /* no tmp/: nothing there */
        if (tfd < 0)
                return error_setc(err, errno, "opening %s", tmp_dir);
        int dfd = dup(tfd);
        _cleanup_closedir_ DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
        if (!dir) {
                safe_close(dfd);
                return error_setc(err, errno, "reading %s", tmp_dir);
        }
        struct dirent *de;
        while ((de = readdir(dir))) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") || (!all && startswith(de->d_name, NEW_PREFIX)))
                        continue;
                if (entry_is_held(tfd, de->d_name))
                        continue;
                _cleanup_free_ char *p = path_join(tmp_dir, de->d_name);
                if (!p)
                        return error_set(err, ENOMEM, "out of memory");
                if (!remove) {
                        if (strv_push(ret_list, p) < 0)
                                return error_set(err, ENOMEM, "out of memory");
                        continue;
                }
                int r = rm_rf_at(tfd, de->d_name);
                if (r >= 0) {
                        log_info("removed %s (left in tmp/ by an operation that did not finish)", p);
                        if (ret_list && strv_push(ret_list, p) < 0)
                                return error_set(err, ENOMEM, "out of memory");
                        continue;
                }
                _cleanup_free_ char *why = NULL;
                if (asprintf(&why, "%s: %s", p, r == -EBUSY ? "something is mounted below it" : strerror(-r)) < 0 ||
                    (ret_left && strv_consume(ret_left, TAKE_PTR(why)) < 0))
                        return error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

int staging_list_stale(const char *tmp_dir, char ***ret, Error *err)
{
        *ret = NULL;
        int r = walk(tmp_dir, false, false, ret, NULL, err);
        if (r < 0)
                *ret = strv_free(*ret);
        return r;
}

int staging_sweep(const char *tmp_dir, bool all, char ***ret_removed, char ***ret_left, Error *err)
{
        return walk(tmp_dir, true, all, ret_removed, ret_left, err);
}

int staging_install(const char *staged, const char *dest, bool replace, Error *err)
{
        if (renameat2(AT_FDCWD, staged, AT_FDCWD, dest, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno != EEXIST)
                return error_setc(err, errno, "moving %s into place at %s", staged, dest);
        if (!replace)
                return error_set(err, EEXIST, "%s already exists", dest);
        if (renameat2(AT_FDCWD, staged, AT_FDCWD, dest, RENAME_EXCHANGE) < 0)
                return error_setc(err, errno, "replacing %s", dest);
        /* staged now holds the old tree. The new one is in place, so a
         * failure here only leaves scratch in tmp/ (removed later). */
        int r = staging_remove(staged);
        if (r < 0)
                log_debug("removing replaced tree %s: %s", staged, strerror(-r));
        return 0;
}
