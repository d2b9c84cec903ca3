/* The injection plan of a workspace (see inject.h). */
#include "auth/inject.h"
#include "spec/values.h"
#include "base/str.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

/* Runs as `sh -c '<helper> "$@"' <helper> get|store|erase`. It answers
 * only "get", reads the token file at that moment (falling back to
 * GITHUB_TOKEN for a user who cannot read the root-only file) and
 * prints nothing when there is no token, so git fails instead of
 * prompting. */
static const char github_credential_helper[] =
        "!f() { test \"$1\" = get || return 0; "
        "t=$(cat " AUTH_GITHUB_TOKEN_FILE " 2>/dev/null) || t=${GITHUB_TOKEN:-}; "
        "test -n \"$t\" || return 0; "
        "echo username=x-access-token; echo \"password=$t\"; }; f";

static void wipe_free(char *s, size_t n)
{
        if (!s)
                return;
        explicit_wipe(s, n);
        free(s);
}

AuthPlan *auth_plan_free(AuthPlan *p)
{
        if (!p)
                return NULL;
        for (size_t i = 0; i < p->n_env; i++)
                wipe_free(p->env[i], strlen(p->env[i]));
        for (size_t i = 0; i < p->n_files; i++)
                wipe_free(p->files[i].data, p->files[i].size);
        strv_free(p->warnings);
        explicit_wipe(p, sizeof *p);
        free(p);
        return NULL;
}

const char *auth_plan_getenv(const AuthPlan *plan, const char *name)
{
        size_t n = strlen(name);
        for (size_t i = 0; i < plan->n_env; i++)
                if (strneq(plan->env[i], name, n) && plan->env[i][n] == '=')
                        return plan->env[i] + n + 1;
        return NULL;
}

/* ---- building ---- */

static int add_env(AuthPlan *p, const char *name, const char *value, size_t value_len, Error *err)
{
        if (auth_plan_getenv(p, name))
                return 0;
        if (p->n_env >= AUTH_PLAN_ENV_MAX)
                return error_set(err, E2BIG, "too many auth variables");
        size_t n = strlen(name);
        char *e = malloc(n + 1 + value_len + 1);
        if (!e)
                return error_set(err, ENOMEM, "out of memory");
        memcpy(e, name, n);
        e[n] = '=';
        memcpy(e + n + 1, value, value_len);
        e[n + 1 + value_len] = 0;
        p->env[p->n_env++] = e;
        p->env[p->n_env] = NULL;
        return 0;
}

static int add_file(AuthPlan *p, const char *dir, const char *name, const AuthToken *t, Error *err)
{
        for (size_t i = 0; i < p->n_files; i++)
                if (streq(p->files[i].dir, dir) && streq(p->files[i].name, name))
                        return 0;
        if (p->n_files >= AUTH_PLAN_FILES_MAX)
                return error_set(err, E2BIG, "too many auth files");
        AuthFile *f = &p->files[p->n_files];
        if ((size_t) snprintf(f->name, sizeof f->name, "%s", name) >= sizeof f->name)
                return error_set(err, ENAMETOOLONG, "auth file name '%s' is too long", name);
        f->data = malloc(t->len);
        if (!f->data)
                return error_set(err, ENOMEM, "out of memory");
        memcpy(f->data, t->data, t->len);
        f->size = t->len;
        f->dir = dir;
        p->n_files++;
        return 0;
}

static int add_git_auth(AuthPlan *p, Error *err)
{
        /* The empty value first clears helpers configured elsewhere for
         * github.com (a cache, a host-style helper), so ours answers. */
        static const char *const entries[][2] = {
                { "GIT_CONFIG_COUNT", "2" },
                { "GIT_CONFIG_KEY_0", AUTH_GITHUB_CREDENTIAL_KEY },
                { "GIT_CONFIG_VALUE_0", "" },
                { "GIT_CONFIG_KEY_1", AUTH_GITHUB_CREDENTIAL_KEY },
                { "GIT_CONFIG_VALUE_1", github_credential_helper },
                { "GIT_TERMINAL_PROMPT", "0" },
        };
        for (size_t i = 0; i < ELEMENTSOF(entries); i++) {
                int r = add_env(p, entries[i][0], entries[i][1], strlen(entries[i][1]), err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int add_warning(AuthPlan *p, Error *err, const char *fmt, ...) _printf_(3, 4);
static int add_warning(AuthPlan *p, Error *err, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int k = strv_vprintf(&p->warnings, fmt, ap);
        va_end(ap);
        if (k < 0)
                return error_set(err, ENOMEM, "out of memory");
        return 0;
}

/* Which providers a workspace declared, and how. */
typedef struct Wanted {
        bool full;          /* listed in auth */
        char *const *names; /* env_tokens (filtered per provider when used) */
        bool by_name;       /* some env_tokens variable belongs to it */
} Wanted;

static int collect(char *const *auth, char *const *env_tokens, Wanted wanted[], size_t n_providers, Error *err)
{
        STRV_FOREACH(a, auth) {
                int r = auth_provider_check(*a, err);
                if (r < 0)
                        return error_wrap(err, "in 'auth'");
                for (size_t i = 0; i < n_providers; i++)
                        if (streq(auth_providers[i], *a))
                                wanted[i].full = true;
        }
        STRV_FOREACH(n, env_tokens) {
                const char *prov = auth_token_provider(*n);
                if (!prov)
                        return error_set(err, EINVAL, "unknown token variable '%s' in 'env_tokens'; the providers "
                                         "define: %s", *n, auth_token_names_list());
                for (size_t i = 0; i < n_providers; i++)
                        if (streq(auth_providers[i], prov)) {
                                wanted[i].by_name = true;
                                wanted[i].names = env_tokens;
                        }
        }
        return 0;
}

static int apply_token(AuthPlan *p, const char *provider, const Wanted *w, const AuthToken *t, Error *err)
{
        int r;
        if (w->full) {
                const char *const *names = auth_provider_token_names(provider);
                for (size_t i = 0; names && names[i]; i++)
                        if ((r = add_env(p, names[i], t->data, t->len, err)) < 0)
                                return r;
                char file[AUTH_FILE_NAME_MAX];
                snprintf(file, sizeof file, "%s.token", provider);
                if ((r = add_file(p, AUTH_FILES_AUTH_DIR, file, t, err)) < 0)
                        return r;
                if (streq(provider, "github") && (r = add_git_auth(p, err)) < 0)
                        return r;
        }
        STRV_FOREACH(n, w->names) {
                const char *owner = auth_token_provider(*n);
                if (!owner || !streq(owner, provider))
                        continue;
                if ((r = add_env(p, *n, t->data, t->len, err)) < 0 ||
                    (r = add_file(p, AUTH_FILES_ENV_DIR, *n, t, err)) < 0)
                        return r;
        }
        if (p->n_providers < AUTH_PLAN_PROVIDERS_MAX)
                p->providers[p->n_providers++] = provider;
        return 0;
}

static int warn_unusable(AuthPlan *p, const char *provider, const Wanted *w, int r, const Error *why, Error *err)
{
        const char *how = w->full ? "is listed in 'auth'" : "defines a variable listed in 'env_tokens'";
        if (r == -ENOENT)
                return add_warning(p, err,
                                   "auth provider '%s' %s but no %s token is stored; the workspace starts without "
                                   "it (store one with 'enclave auth login %s')",
                                   provider, how, provider, provider);
        return add_warning(p, err, "auth provider '%s' %s but its token cannot be used; the workspace starts "
                           "without it: %s", provider, how, error_msg(why));
}

int auth_plan_build(const char *state_dir, uid_t owner, char *const *auth, char *const *env_tokens, AuthPlan **ret,
                    Error *err)
{
        size_t n_providers = 0;
        while (auth_providers[n_providers])
                n_providers++;
        Wanted wanted[AUTH_PLAN_PROVIDERS_MAX] = {};
        if (n_providers > ELEMENTSOF(wanted))
                return error_set(err, E2BIG, "too many auth providers");
        int r = collect(auth, env_tokens, wanted, n_providers, err);
        if (r < 0)
                return r;

        _cleanup_auth_plan_ AuthPlan *p = calloc(1, sizeof *p);
        if (!p || !(p->warnings = calloc(1, sizeof(char *))))
                return error_set(err, ENOMEM, "out of memory");

        for (size_t i = 0; i < n_providers; i++) {
                const Wanted *w = &wanted[i];
                if (!w->full && !w->by_name)
                        continue; /* undeclared: never even read */
                _cleanup_auth_token_ AuthToken t = {};
                _cleanup_error_ Error why = ERROR_INIT;
                r = auth_store_load(state_dir, owner, auth_providers[i], &t, &why);
                if (r == -ENOENT || r == -EPERM || r == -EBADMSG) {
                        if ((r = warn_unusable(p, auth_providers[i], w, r, &why, err)) < 0)
                                return r;
                        continue;
                }
                if (r < 0) {
                        error_move(err, &why);
                        return error_wrap(err, "loading the %s token", auth_providers[i]);
                }
                if ((r = apply_token(p, auth_providers[i], w, &t, err)) < 0)
                        return r;
        }
        *ret = TAKE_PTR(p);
        return 0;
}

/* ---- writing into the workspace ---- */

static int write_all(int fd, const char *data, size_t size)
{
        while (size > 0) {
                ssize_t n = write(fd, data, size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                data += n;
                size -= (size_t) n;
        }
        return 0;
}

static int create_file(int dfd, const char *name)
{
        for (int attempt = 0; attempt < 2; attempt++) {
                int fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, AUTH_FILE_MODE);
                if (fd >= 0 || errno != EEXIST)
                        return fd >= 0 ? fd : -errno;
                /* Replace whatever is there (a file, a symlink) by ours. */
                if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
                        return -errno;
        }
        return -EEXIST;
}

static int write_one(int dirfd, const AuthFile *f)
{
        if (mkdirat(dirfd, f->dir, AUTH_FILES_DIR_MODE) < 0 && errno != EEXIST)
                return -errno;
        int dfd = openat(dirfd, f->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        /* Whatever the caller's umask. */
        if (fchmod(dfd, AUTH_FILES_DIR_MODE) < 0) {
                int e = -errno;
                safe_close(dfd);
                return e;
        }
        int fd = create_file(dfd, f->name);
        int r = fd < 0 ? fd : 0;
        if (r >= 0 && fchmod(fd, AUTH_FILE_MODE) < 0)
                r = -errno;
        if (r >= 0)
                r = write_all(fd, f->data, f->size);
        safe_close(fd);
        safe_close(dfd);
        return r;
}

int auth_files_write(int dirfd, const AuthPlan *plan)
{
        if (!plan)
                return 0;
        for (size_t i = 0; i < plan->n_files; i++) {
                int r = write_one(dirfd, &plan->files[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}
