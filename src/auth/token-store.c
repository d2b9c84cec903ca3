/* The token store: <state_dir>/auth/[users/<uid>/]<provider>.token
 * (see token-store.h). */
#include "auth/token-store.h"
#include "spec/values.h"
#include "base/fs.h"
#include "base/str.h"

#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#define AUTH_SUBDIR "auth"
#define AUTH_USERS_SUBDIR "users"   /* auth/users/<uid>/: the stores of other uids */
#define TOKEN_SUFFIX ".token"
/* "<provider>.token" and ".<provider>.token.<hex>" both fit. */
#define TOKEN_NAME_MAX 64

void auth_token_wipe(AuthToken *t)
{
        if (t)
                explicit_wipe(t, sizeof *t);
}

int auth_token_check(const char *token, size_t len, size_t *ret_len, Error *err)
{
        size_t n = len;
        if (n > 0 && token[n - 1] == '\n') {
                n--;
                if (n > 0 && token[n - 1] == '\r')
                        n--;
        }
        if (n == 0)
                return error_set(err, EINVAL, "the token is empty");
        if (n > AUTH_TOKEN_MAX)
                return error_set(err, EINVAL, "the token is %zu bytes long; at most %u bytes are accepted", n,
                                 AUTH_TOKEN_MAX);
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) token[i];
                if (c == 0)
                        return error_set(err, EINVAL, "the token contains a NUL byte (at byte %zu)", i + 1);
                if (c == '\n' || c == '\r')
                        return error_set(err, EINVAL,
                                         "the token contains a line break (at byte %zu); give exactly one token on "
                                         "one line", i + 1);
                if (c < 0x20 || c == 0x7f)
                        return error_set(err, EINVAL, "the token contains a control character (at byte %zu)", i + 1);
                if (c >= 0x80)
                        return error_set(err, EINVAL, "the token contains a non-ASCII byte (at byte %zu)", i + 1);
        }
        if (ret_len)
                *ret_len = n;
        return 0;
}

const char *auth_state_to_string(AuthState s)
{
        static const char *const names[_AUTH_STATE_MAX] = {
                [AUTH_STATE_MISSING] = "missing",
                [AUTH_STATE_CONFIGURED] = "configured",
                [AUTH_STATE_REFUSED] = "refused",
        };
        return s >= 0 && s < _AUTH_STATE_MAX ? names[s] : NULL;
}

void auth_status_done(AuthStatus *s)
{
        if (!s)
                return;
        free(s->problem);
        *s = (AuthStatus) { AUTH_STATE_MISSING, 0, NULL };
}

static int token_name(const char *provider, char buf[static TOKEN_NAME_MAX], Error *err)
{
        int r = auth_provider_check(provider, err);
        if (r < 0)
                return r;
        snprintf(buf, TOKEN_NAME_MAX, "%s" TOKEN_SUFFIX, provider);
        return 0;
}

/* ---- the directory ---- */

/* The auth directory must be a real directory that only root can
 * change: otherwise someone else could swap a token file under us. */
static int check_auth_dir(int fd, const char *path, Error *err)
{
        struct stat st;
        if (fstat(fd, &st) < 0)
                return error_setc(err, errno, "checking %s", path);
        if (st.st_uid != 0)
                return error_set(err, EPERM,
                                 "refusing the token directory %s: it is owned by uid %u, not root. Fix it with "
                                 "'chown root:root %s && chmod 700 %s'",
                                 path, (unsigned) st.st_uid, path, path);
        if (st.st_mode & 022)
                return error_set(err, EPERM,
                                 "refusing the token directory %s: its mode %04o lets others change it. Fix it with "
                                 "'chmod 700 %s'",
                                 path, (unsigned) (st.st_mode & 07777), path);
        return 0;
}

/* Open the directory name below pfd (whose path is parent) without
 * following a symlink; create it (0700) when create is set. -ENOENT
 * (err untouched) when it is missing and create is not set. */
static int open_store_dir(int pfd, const char *parent, const char *name, bool create, char **ret_path, Error *err)
{
        _cleanup_free_ char *path = path_join(parent, name);
        if (!path)
                return error_set(err, ENOMEM, "out of memory");
        if (create && mkdirat(pfd, name, AUTH_DIR_MODE) < 0 && errno != EEXIST)
                return error_setc(err, errno, "creating %s", path);
        _cleanup_close_ int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT && !create)
                        return -ENOENT;
                if (errno == ELOOP || errno == ENOTDIR)
                        return error_set(err, EPERM,
                                         "refusing the token directory %s: it is not a directory (a symlink?). "
                                         "Remove it; 'enclave auth login' creates it again", path);
                return error_setc(err, errno, "opening %s", path);
        }
        int r = check_auth_dir(fd, path, err);
        if (r < 0)
                return r;
        /* Ours and safe, but looser than it should be: tighten it. */
        if (create && fchmod(fd, AUTH_DIR_MODE) < 0)
                return error_setc(err, errno, "setting the mode of %s", path);
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return TAKE_FD(fd);
}

/* Open the store of owner: <state_dir>/auth for root,
 * <state_dir>/auth/users/<uid> for any other uid; each level root's,
 * 0700, never through a symlink. -ENOENT (err untouched) when missing
 * and create is not set. */
static int open_auth_dir(const char *state_dir, uid_t owner, bool create, char **ret_path, Error *err)
{
        _cleanup_close_ int sfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (sfd < 0) {
                if (errno == ENOENT && !create)
                        return -ENOENT;
                return error_setc(err, errno, "opening the state directory %s", state_dir);
        }
        _cleanup_free_ char *path = NULL;
        _cleanup_close_ int fd = open_store_dir(sfd, state_dir, AUTH_SUBDIR, create, &path, err);
        if (fd < 0 || owner == 0) {
                if (fd >= 0 && ret_path)
                        *ret_path = TAKE_PTR(path);
                return fd >= 0 ? TAKE_FD(fd) : fd;
        }
        char uid[16];
        snprintf(uid, sizeof uid, "%u", (unsigned) owner);
        _cleanup_free_ char *users_path = NULL;
        _cleanup_close_ int ufd = open_store_dir(fd, path, AUTH_USERS_SUBDIR, create, &users_path, err);
        if (ufd < 0)
                return ufd;
        return open_store_dir(ufd, users_path, uid, create, ret_path, err);
}

/* ---- reading ---- */

static int refuse_file(const char *path, const char *provider, const struct stat *st, Error *err)
{
        if (!S_ISREG(st->st_mode))
                return error_set(err, EPERM,
                                 "refusing the token file %s: it is not a regular file. Remove it with 'enclave auth "
                                 "logout %s' and run 'enclave auth login %s' again",
                                 path, provider, provider);
        if (st->st_uid != 0)
                return error_set(err, EPERM,
                                 "refusing the token file %s: it is owned by uid %u, not root. Fix it with "
                                 "'chown root:root %s && chmod 600 %s' or run 'enclave auth login %s' again",
                                 path, (unsigned) st->st_uid, path, path, provider);
        return error_set(err, EPERM,
                         "refusing the token file %s: its mode is %04o, not 0600. Fix it with 'chown root:root %s && "
                         "chmod 600 %s' or run 'enclave auth login %s' again",
                         path, (unsigned) (st->st_mode & 07777), path, path, provider);
}

static bool file_is_acceptable(const struct stat *st)
{
        return S_ISREG(st->st_mode) && st->st_uid == 0 && (st->st_mode & 07777) == AUTH_TOKEN_MODE;
}

/* Read and check the token file of provider below the auth dir. */
static int load_at(int afd, const char *dir_path, const char *provider, AuthToken *t, struct stat *ret_st,
                   Error *err)
{
        char name[TOKEN_NAME_MAX];
        int r = token_name(provider, name, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *path = path_join(dir_path, name);
        if (!path)
                return error_set(err, ENOMEM, "out of memory");

        /* O_NONBLOCK: a FIFO planted here must not hang the daemon; it
         * is refused below as not a regular file. */
        _cleanup_close_ int fd = openat(afd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return error_set(err, ENOENT, "no %s token is stored; store one with 'enclave auth login %s'",
                                         provider, provider);
                if (errno == ELOOP)
                        return error_set(err, EPERM,
                                         "refusing the token file %s: it is a symlink. Remove it with 'enclave auth "
                                         "logout %s' and run 'enclave auth login %s' again",
                                         path, provider, provider);
                return error_setc(err, errno, "opening %s", path);
        }
        struct stat st;
        if (fstat(fd, &st) < 0)
                return error_setc(err, errno, "checking %s", path);
        if (!file_is_acceptable(&st))
                return refuse_file(path, provider, &st, err);

        size_t n = 0;
        for (;;) {
                ssize_t k = read(fd, t->data + n, sizeof t->data - 1 - n);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return error_setc(err, errno, "reading %s", path);
                if (k == 0)
                        break;
                n += (size_t) k;
                if (n == sizeof t->data - 1)
                        return error_set(err, EBADMSG,
                                         "the token file %s is too large for a token (at most %u bytes); run "
                                         "'enclave auth login %s' again",
                                         path, AUTH_TOKEN_MAX, provider);
        }
        _cleanup_error_ Error why = ERROR_INIT;
        size_t len;
        if (auth_token_check(t->data, n, &len, &why) < 0)
                return error_set(err, EBADMSG, "the token file %s does not hold a valid token (%s); run 'enclave "
                                 "auth login %s' again", path, error_msg(&why), provider);
        /* Only the token itself stays: the trimmed line end goes too. */
        explicit_wipe(t->data + len, sizeof t->data - len);
        t->len = len;
        if (ret_st)
                *ret_st = st;
        return 0;
}

int auth_store_load(const char *state_dir, uid_t owner, const char *provider, AuthToken *ret, Error *err)
{
        auth_token_wipe(ret);
        int r = auth_provider_check(provider, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int afd = open_auth_dir(state_dir, owner, false, &dir, err);
        if (afd == -ENOENT)
                return error_set(err, ENOENT, "no %s token is stored; store one with 'enclave auth login %s'",
                                 provider, provider);
        if (afd < 0)
                return afd;
        r = load_at(afd, dir, provider, ret, NULL, err);
        if (r < 0)
                auth_token_wipe(ret);
        return r;
}

int auth_store_status(const char *state_dir, uid_t owner, const char *provider, AuthStatus *ret, Error *err)
{
        *ret = (AuthStatus) { AUTH_STATE_MISSING, 0, NULL };
        int r = auth_provider_check(provider, err);
        if (r < 0)
                return r;
        _cleanup_error_ Error why = ERROR_INIT;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int afd = open_auth_dir(state_dir, owner, false, &dir, &why);
        if (afd == -ENOENT)
                return 0;
        if (afd >= 0) {
                _cleanup_auth_token_ AuthToken t = {};
                struct stat st;
                r = load_at(afd, dir, provider, &t, &st, &why);
                if (r >= 0) {
                        *ret = (AuthStatus) { AUTH_STATE_CONFIGURED, st.st_mtime, NULL };
                        return 0;
                }
                if (r == -ENOENT)
                        return 0;
        } else
                r = afd;
        if (r != -EPERM && r != -EBADMSG) {
                error_move(err, &why);
                return r;
        }
        ret->state = AUTH_STATE_REFUSED;
        ret->problem = TAKE_PTR(why.msg);
        return 0;
}

/* ---- writing ---- */

static void temp_name(const char *provider, char buf[static TOKEN_NAME_MAX])
{
        uint32_t rnd;
        if (getrandom(&rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd)
                rnd = (uint32_t) getpid() ^ (uint32_t) time(NULL);
        snprintf(buf, TOKEN_NAME_MAX, ".%s" TOKEN_SUFFIX ".%08x", provider, (unsigned) rnd);
}

/* Write the token into a new file below afd and rename it over name. */
static int write_token_at(int afd, const char *dir_path, const char *name, const char *provider, const char *token,
                          size_t len, Error *err)
{
        char tmp[TOKEN_NAME_MAX];
        int fd = -EBADF;
        for (int attempt = 0; attempt < 8 && fd < 0; attempt++) {
                temp_name(provider, tmp);
                fd = openat(afd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, AUTH_TOKEN_MODE);
                if (fd < 0 && errno != EEXIST)
                        return error_setc(err, errno, "creating a token file in %s", dir_path);
        }
        if (fd < 0)
                return error_set(err, EEXIST, "cannot find a free temporary name in %s", dir_path);

        const char *step = NULL;
        int r = 0;
        if (fchown(fd, 0, 0) < 0)
                step = "setting the owner of";
        else if (fchmod(fd, AUTH_TOKEN_MODE) < 0)
                step = "setting the mode of";
        else if ((r = loop_write(fd, token, len)) < 0)
                step = "writing";
        else if (fsync(fd) < 0)
                step = "syncing";
        if (step && r == 0)
                r = -errno;
        safe_close(fd);
        if (!step && renameat(afd, tmp, afd, name) < 0) {
                step = "renaming into place";
                r = -errno;
        }
        if (step) {
                (void) unlinkat(afd, tmp, 0);
                return error_setc(err, -r, "%s the %s token file in %s", step, provider, dir_path);
        }
        /* The rename itself must survive a crash. */
        if (fsync(afd) < 0)
                return error_setc(err, errno, "syncing %s", dir_path);
        return 0;
}

int auth_store_save(const char *state_dir, uid_t owner, const char *provider, const char *token, size_t len,
                    Error *err)
{
        char name[TOKEN_NAME_MAX];
        int r = token_name(provider, name, err);
        if (r < 0)
                return r;
        size_t n;
        r = auth_token_check(token, len, &n, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int afd = open_auth_dir(state_dir, owner, true, &dir, err);
        if (afd < 0)
                return afd;
        return write_token_at(afd, dir, name, provider, token, n, err);
}

int auth_store_remove(const char *state_dir, uid_t owner, const char *provider, Error *err)
{
        char name[TOKEN_NAME_MAX];
        int r = token_name(provider, name, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int afd = open_auth_dir(state_dir, owner, false, &dir, err);
        if (afd == -ENOENT)
                return 0;
        if (afd < 0)
                return afd;
        if (unlinkat(afd, name, 0) < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == EISDIR)
                        return error_set(err, EISDIR, "cannot remove %s/%s: it is a directory; remove it by hand",
                                         dir, name);
                return error_setc(err, errno, "removing %s/%s", dir, name);
        }
        if (fsync(afd) < 0)
                return error_setc(err, errno, "syncing %s", dir);
        return 1;
}
