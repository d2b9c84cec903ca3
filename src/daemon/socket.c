#include "daemon/socket.h"
#include "config/trust.h"
#include "base/fs.h"
#include "base/log.h"

#include <grp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

static int make_address(const char *path, struct sockaddr_un *ret, socklen_t *ret_len, Error *err)
{
        size_t n = strlen(path);
        *ret = (struct sockaddr_un) { .sun_family = AF_UNIX };
        if (n == 0 || n >= sizeof ret->sun_path)
                return error_set(err, ENAMETOOLONG, "socket path %s is too long (at most %zu bytes)", path,
                                 sizeof ret->sun_path - 1);
        memcpy(ret->sun_path, path, n);
        *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1);
        return 0;
}

/* The socket's directory, created when missing, must be one only root
 * can change: the socket is chowned and chmodded by path, and a user who
 * could swap it for a symlink meanwhile would get those on any file. */
static int ensure_socket_dir(const char *path, Error *err)
{
        _cleanup_free_ char *dir = strdup(path);
        if (!dir)
                return error_set(err, ENOMEM, "out of memory");
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return 0;
        *slash = 0;
        if (!is_dir(dir)) {
                int r = mkdir_p(dir, 0755);
                if (r < 0)
                        return error_setc(err, -r, "creating socket directory %s", dir);
        }
        return trust_check_dir(dir, "the socket directory", err);
}

/* A socket file already at path: remove it if it is stale, refuse if a
 * daemon answers on it or it is not a socket at all. */
static int clear_stale_socket(const char *path, const struct sockaddr_un *sa, socklen_t sa_len, Error *err)
{
        struct stat st;
        if (lstat(path, &st) < 0) {
                if (errno == ENOENT)
                        return 0;
                return error_setc(err, errno, "checking %s", path);
        }
        if (!S_ISSOCK(st.st_mode))
                return error_set(err, EEXIST, "%s exists and is not a socket; refusing to replace it", path);
        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return error_setc(err, errno, "creating socket");
        if (connect(fd, (const struct sockaddr *) sa, sa_len) == 0 || errno == EAGAIN)
                return error_set(err, EADDRINUSE,
                                 "another enclave daemon is already listening on %s (with a different state dir); "
                                 "stop it or configure another socket", path);
        if (errno != ECONNREFUSED)
                return error_setc(err, errno, "checking whether a daemon listens on %s", path);
        log_info("removing stale socket %s", path);
        if (unlink(path) < 0 && errno != ENOENT)
                return error_setc(err, errno, "removing stale socket %s", path);
        return 0;
}

static int set_socket_access(const char *path, Error *err)
{
        struct group grp, *res = NULL;
        char buf[4096];
        if (getgrnam_r(DAEMON_SOCKET_GROUP, &grp, buf, sizeof buf, &res) == 0 && res) {
                if (chown(path, 0, res->gr_gid) < 0 || chmod(path, 0660) < 0)
                        return error_setc(err, errno, "setting owner and mode of %s", path);
                return 0;
        }
        if (chown(path, 0, 0) < 0 || chmod(path, 0600) < 0)
                return error_setc(err, errno, "setting owner and mode of %s", path);
        return 0;
}

int daemon_socket_open(const char *path, SocketId *ret_id, Error *err)
{
        struct sockaddr_un sa;
        socklen_t sa_len = 0;
        int r = make_address(path, &sa, &sa_len, err);
        if (r < 0 || (r = ensure_socket_dir(path, err)) < 0 || (r = clear_stale_socket(path, &sa, sa_len, err)) < 0)
                return r;

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return error_setc(err, errno, "creating socket");
        /* Born 0600: no window in which others could connect before the
         * access below is set. */
        mode_t old = umask(0177);
        r = bind(fd, (const struct sockaddr *) &sa, sa_len) < 0 ? -errno : 0;
        umask(old);
        if (r < 0)
                return error_setc(err, -r, "binding %s", path);
        struct stat st;
        if (stat(path, &st) < 0 || (r = set_socket_access(path, err)) < 0) {
                if (r == 0)
                        r = error_setc(err, errno, "checking %s", path);
                (void) unlink(path);
                return r;
        }
        if (listen(fd, SOMAXCONN) < 0) {
                r = error_setc(err, errno, "listening on %s", path);
                (void) unlink(path);
                return r;
        }
        *ret_id = (SocketId) { .dev = st.st_dev, .ino = st.st_ino };
        return TAKE_FD(fd);
}

void daemon_socket_remove(const char *path, const SocketId *id)
{
        struct stat st;
        if (lstat(path, &st) == 0 && st.st_dev == id->dev && st.st_ino == id->ino)
                (void) unlink(path);
}
