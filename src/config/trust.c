/* What root may execute or read as configuration (trust.h). */
#include "config/trust.h"
#include "base/fs.h"
#include "base/str.h"

#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int refuse(const char *what, const char *path, const char *component, const struct stat *st,
                  const char *why, Error *err)
{
        return error_set(err, EPERM,
                         "refusing %s %s: %s %s (owner uid %u, mode %04o). Root runs and reads only what nobody "
                         "else can change: make it and every directory above it root's and not group- or "
                         "world-writable (chown root: … && chmod go-w …)%s",
                         what, path, component, why, (unsigned) st->st_uid, (unsigned) (st->st_mode & 07777),
                         strstr(what, "binary") || strstr(what, "program")
                                 ? ", or set its path in root's config.toml"
                                 : "");
}

/* One component of a real path: root's, and not writable by others
 * unless a sticky directory. */
static int check_component(const char *what, const char *path, const char *component, bool last_is_file,
                           Error *err)
{
        struct stat st;
        if (lstat(component, &st) < 0)
                return error_setc(err, errno, "checking %s", component);
        if (st.st_uid != 0)
                return refuse(what, path, component, &st, "is not owned by root", err);
        bool sticky_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX);
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(sticky_dir && !last_is_file))
                return refuse(what, path, component, &st, "is writable by group or others", err);
        return 0;
}

static int check_real(const char *what, const char *path, const char *real, bool is_file, Error *err)
{
        struct stat st;
        if (lstat(real, &st) < 0)
                return error_setc(err, errno, "%s %s", what, path);
        if (is_file && !S_ISREG(st.st_mode))
                return error_set(err, EINVAL, "refusing %s %s: it is not a regular file", what, path);
        if (!is_file && !S_ISDIR(st.st_mode))
                return error_set(err, ENOTDIR, "refusing %s %s: it is not a directory", what, path);
        _cleanup_free_ char *buf = strdup(real);
        if (!buf)
                return error_set(err, ENOMEM, "out of memory");
        /* "/", then every prefix up to the full path. */
        int r = check_component(what, path, "/", false, err);
        for (char *p = buf + 1; r >= 0 && *p; p++) {
                if (*p != '/')
                        continue;
                *p = 0;
                r = check_component(what, path, buf, false, err);
                *p = '/';
        }
        if (r >= 0 && real[1])
                r = check_component(what, path, real, is_file, err);
        return r;
}

static int resolve(const char *path, const char *what, char **ret, Error *err)
{
        if (!path || path[0] != '/')
                return error_set(err, EINVAL, "%s must be an absolute path, got '%s'", what, path ? path : "");
        char buf[PATH_MAX];
        if (!realpath(path, buf))
                return error_setc(err, errno, "%s %s", what, path);
        *ret = strdup(buf);
        return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
}

int trust_check_file(const char *path, const char *what, char **ret_real, Error *err)
{
        _cleanup_free_ char *real = NULL;
        int r = resolve(path, what, &real, err);
        if (r >= 0)
                r = check_real(what, path, real, true, err);
        if (r < 0)
                return r;
        if (ret_real)
                *ret_real = TAKE_PTR(real);
        return 0;
}

int trust_check_dir(const char *path, const char *what, Error *err)
{
        _cleanup_free_ char *real = NULL;
        int r = resolve(path, what, &real, err);
        return r < 0 ? r : check_real(what, path, real, false, err);
}

/* The directory of this process's own binary, or NULL. */
static char *self_dir(void)
{
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
                return NULL;
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (!slash)
                return NULL;
        *slash = 0;
        return strdup(self[0] ? self : "/");
}

int trust_find_program(const char *configured, const char *name, char **ret, Error *err)
{
        _cleanup_free_ char *what = NULL, *dir = NULL, *beside = NULL, *installed = NULL;
        if (asprintf(&what, "the program %s", name) < 0)
                return error_set(err, ENOMEM, "out of memory");
        if (configured)
                return trust_check_file(configured, what, ret, err);
        if ((dir = self_dir()))
                beside = path_join(dir, name);
        installed = path_join(ENCLAVE_LIBEXECDIR, name);
        const char *candidates[] = { beside, installed };
        for (size_t i = 0; i < ELEMENTSOF(candidates); i++)
                if (candidates[i] && access(candidates[i], F_OK) == 0)
                        return trust_check_file(candidates[i], what, ret, err);
        return error_set(err, ENOENT, "cannot find %s (looked beside %s and in %s); install Enclave completely or set "
                         "its path in config.toml", name, dir ? dir : "the enclave binary", ENCLAVE_LIBEXECDIR);
}

bool trust_env_ignored(const char *name)
{
        const char *v = getenv(name);
        return geteuid() == 0 && v && *v;
}

char **trust_daemon_environment(void)
{
        static const char *const kept[] = {
                /* ENCLAVE_CRASH_POINT: honoured only by a daemon started with
                 * --enable-test-actions (base/crashpoint.h). */
                "ENCLAVE_LOG", "ENCLAVE_CRASH_POINT", "NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LANG", "LC_ALL", "TZ",
                "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
        };
        char **env = calloc(1, sizeof *env);
        if (!env || strv_push(&env, "PATH=" TRUST_ROOT_PATH) < 0)
                return strv_free(env);
        struct passwd *pw = getpwuid(0);
        char *home = NULL;
        if (asprintf(&home, "HOME=%s", pw && pw->pw_dir ? pw->pw_dir : "/root") < 0 || strv_consume(&env, home) < 0)
                return strv_free(env);
        for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                const char *v = getenv(kept[i]);
                char *kv = NULL;
                if (v && (asprintf(&kv, "%s=%s", kept[i], v) < 0 || strv_consume(&env, kv) < 0))
                        return strv_free(env);
        }
        return env;
}
