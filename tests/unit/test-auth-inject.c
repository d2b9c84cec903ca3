/* The injection plan: which variables and files each declared provider
 * gives a workspace, that undeclared ones give nothing, warnings for
 * missing tokens, and that git really authenticates to github.com (and
 * only there) with the plan's environment. */
#include "auth/inject.h"
#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"
#include "test.h"
#include "scratch.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define GH "ghp_test-github-token-123"
#define NPM "npm_test-npm-token-456"

static char *new_state_dir(void)
{
        return scratch_subdir("auth-inject", "state");
}

/* github and npm stored, enclave not. */
static char *state_with_tokens(void)
{
        if (geteuid() != 0)
                return NULL;
        char *s = new_state_dir();
        if (!s || auth_store_save(s, 0, "github", GH, strlen(GH), NULL) < 0 ||
            auth_store_save(s, 0, "npm", NPM "\n", strlen(NPM) + 1, NULL) < 0) {
                free(s);
                return NULL;
        }
        return s;
}

static AuthPlan *plan(const char *state, char *const *auth, char *const *env_tokens)
{
        AuthPlan *p = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        if (auth_plan_build(state, 0, auth, env_tokens, &p, &err) < 0) {
                printf("# auth_plan_build: %s\n", error_msg(&err));
                return NULL;
        }
        return p;
}

static const AuthFile *find_file(const AuthPlan *p, const char *dir, const char *name)
{
        for (size_t i = 0; i < p->n_files; i++)
                if (streq(p->files[i].dir, dir) && streq(p->files[i].name, name))
                        return &p->files[i];
        return NULL;
}

static size_t count_env(const AuthPlan *p, const char *name)
{
        size_t n = 0, len = strlen(name);
        for (size_t i = 0; i < p->n_env; i++)
                if (strneq(p->env[i], name, len) && p->env[i][len] == '=')
                        n++;
        return n;
}

#define NEED_STATE(s)                                                   \
        _cleanup_free_ char *s = state_with_tokens();                   \
        if (!s)                                                         \
                SKIP("needs root: the token store is root's")

TEST(github_gets_both_variables_git_auth_and_its_file)
{
        NEED_STATE(state);
        char *auth[] = { "github", NULL };
        _cleanup_auth_plan_ AuthPlan *p = plan(state, auth, NULL);
        ASSERT_NOT_NULL(p);
        ASSERT_STREQ(auth_plan_getenv(p, "GITHUB_TOKEN"), GH);
        ASSERT_STREQ(auth_plan_getenv(p, "GH_TOKEN"), GH);
        ASSERT_STREQ(auth_plan_getenv(p, "GIT_CONFIG_COUNT"), "2");
        ASSERT_STREQ(auth_plan_getenv(p, "GIT_CONFIG_KEY_0"), "credential.https://github.com.helper");
        ASSERT_STREQ(auth_plan_getenv(p, "GIT_CONFIG_VALUE_0"), "");
        ASSERT_STREQ(auth_plan_getenv(p, "GIT_CONFIG_KEY_1"), "credential.https://github.com.helper");
        const char *helper = auth_plan_getenv(p, "GIT_CONFIG_VALUE_1");
        ASSERT_NOT_NULL(helper);
        ASSERT_TRUE(helper[0] == '!');
        ASSERT_CONTAINS(helper, "/run/enclave/auth/github.token");
        /* The token is read at run time, never part of git's config. */
        ASSERT_FALSE(strstr(helper, GH));
        ASSERT_STREQ(auth_plan_getenv(p, "GIT_TERMINAL_PROMPT"), "0");
        ASSERT_NULL(auth_plan_getenv(p, "NPM_TOKEN"));
        ASSERT_NULL(auth_plan_getenv(p, "ENCLAVE_TOKEN"));
        ASSERT_NULL(p->env[p->n_env]);

        ASSERT_EQ(p->n_files, 1);
        const AuthFile *f = find_file(p, "auth", "github.token");
        ASSERT_NOT_NULL(f);
        ASSERT_EQ(f->size, strlen(GH));
        ASSERT_TRUE(memcmp(f->data, GH, f->size) == 0);
        ASSERT_EQ(strv_length(p->warnings), 0);
        ASSERT_EQ(p->n_providers, 1);
        ASSERT_STREQ(p->providers[0], "github");
}

TEST(npm_gets_npm_token_only)
{
        NEED_STATE(state);
        char *auth[] = { "npm", NULL };
        _cleanup_auth_plan_ AuthPlan *p = plan(state, auth, NULL);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(p->n_env, 1);
        ASSERT_STREQ(auth_plan_getenv(p, "NPM_TOKEN"), NPM);
        ASSERT_NULL(auth_plan_getenv(p, "GIT_CONFIG_COUNT"));
        ASSERT_NULL(auth_plan_getenv(p, "GIT_TERMINAL_PROMPT"));
        ASSERT_EQ(p->n_files, 1);
        ASSERT_NOT_NULL(find_file(p, "auth", "npm.token"));
}

TEST(undeclared_providers_never_reach_the_workspace)
{
        NEED_STATE(state);
        char *none[] = { NULL };
        _cleanup_auth_plan_ AuthPlan *p = plan(state, none, none);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(p->n_env, 0);
        ASSERT_EQ(p->n_files, 0);
        ASSERT_EQ(p->n_providers, 0);
        ASSERT_EQ(strv_length(p->warnings), 0);
        _cleanup_auth_plan_ AuthPlan *q = plan(state, NULL, NULL);
        ASSERT_NOT_NULL(q);
        ASSERT_EQ(q->n_env, 0);
}

TEST(missing_token_is_a_warning_not_a_failure)
{
        NEED_STATE(state);
        char *auth[] = { "enclave", "npm", NULL };
        _cleanup_auth_plan_ AuthPlan *p = plan(state, auth, NULL);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(strv_length(p->warnings), 1);
        ASSERT_CONTAINS(p->warnings[0], "'enclave'");
        ASSERT_CONTAINS(p->warnings[0], "enclave auth login enclave");
        ASSERT_NULL(auth_plan_getenv(p, "ENCLAVE_TOKEN"));
        ASSERT_STREQ(auth_plan_getenv(p, "NPM_TOKEN"), NPM);
}

TEST(refused_token_file_is_a_warning_with_the_fix)
{
        NEED_STATE(state);
        _cleanup_free_ char *f = NULL;
        ASSERT_TRUE(asprintf(&f, "%s/auth/npm.token", state) > 0);
        ASSERT_OK(RET_NERRNO(chmod(f, 0644)));
        char *auth[] = { "npm", NULL };
        _cleanup_auth_plan_ AuthPlan *p = plan(state, auth, NULL);
        ASSERT_NOT_NULL(p);
        ASSERT_NULL(auth_plan_getenv(p, "NPM_TOKEN"));
        ASSERT_EQ(p->n_files, 0);
        ASSERT_EQ(strv_length(p->warnings), 1);
        ASSERT_CONTAINS(p->warnings[0], "chmod 600");
        ASSERT_FALSE(strstr(p->warnings[0], NPM));
}

TEST(env_tokens_map_to_their_provider)
{
        NEED_STATE(state);
        /* Only the named variable and its env file; the provider's
         * other variables, its auth file and git auth need `auth`. */
        char *names[] = { "GH_TOKEN", NULL };
        _cleanup_auth_plan_ AuthPlan *p = plan(state, NULL, names);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(p->n_env, 1);
        ASSERT_STREQ(auth_plan_getenv(p, "GH_TOKEN"), GH);
        ASSERT_NULL(auth_plan_getenv(p, "GITHUB_TOKEN"));
        ASSERT_NULL(auth_plan_getenv(p, "GIT_CONFIG_COUNT"));
        ASSERT_EQ(p->n_files, 1);
        const AuthFile *f = find_file(p, "env", "GH_TOKEN");
        ASSERT_NOT_NULL(f);
        ASSERT_TRUE(f->size == strlen(GH) && memcmp(f->data, GH, f->size) == 0);
        ASSERT_NULL(find_file(p, "auth", "github.token"));
}

TEST(auth_and_env_tokens_together)
{
        NEED_STATE(state);
        char *auth[] = { "github", "npm", NULL };
        char *names[] = { "ENCLAVE_TOKEN", "GH_TOKEN", NULL };
        _cleanup_auth_plan_ AuthPlan *p = plan(state, auth, names);
        ASSERT_NOT_NULL(p);
        ASSERT_EQ(count_env(p, "GH_TOKEN"), 1);
        ASSERT_EQ(count_env(p, "GITHUB_TOKEN"), 1);
        ASSERT_STREQ(auth_plan_getenv(p, "NPM_TOKEN"), NPM);
        ASSERT_NOT_NULL(find_file(p, "auth", "github.token"));
        ASSERT_NOT_NULL(find_file(p, "auth", "npm.token"));
        ASSERT_NOT_NULL(find_file(p, "env", "GH_TOKEN"));
        ASSERT_EQ(p->n_files, 3);
        /* No enclave token stored: one warning naming env_tokens. */
        ASSERT_EQ(strv_length(p->warnings), 1);
        ASSERT_CONTAINS(p->warnings[0], "env_tokens");
        ASSERT_CONTAINS(p->warnings[0], "enclave auth login enclave");
        ASSERT_EQ(p->n_providers, 2);
}

TEST(unknown_names_are_errors)
{
        NEED_STATE(state);
        AuthPlan *p = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        char *auth[] = { "gitlab", NULL };
        ASSERT_EQ(auth_plan_build(state, 0, auth, NULL, &p, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "unknown auth provider 'gitlab'");
        error_clear(&err);
        char *names[] = { "AWS_SECRET", NULL };
        ASSERT_EQ(auth_plan_build(state, 0, NULL, names, &p, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "AWS_SECRET");
        ASSERT_NULL(p);
}

/* ---- git really uses the helper ---- */

/* `git credential fill` for host with exactly env (plus a PATH and an
 * empty HOME); returns its exit status and its stdout in out. */
static int git_fill(char *const *env, const char *host, char *out, size_t out_size)
{
        int in[2], o[2];
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(o, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(o[1], 1);
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 2);
                char *argv[] = { "git", "credential", "fill", NULL };
                execve("/usr/bin/git", argv, env);
                _exit(127);
        }
        close(in[0]);
        close(o[1]);
        char req[128];
        int n = snprintf(req, sizeof req, "protocol=https\nhost=%s\n\n", host);
        (void) loop_write(in[1], req, (size_t) n);
        close(in[1]);
        size_t len = 0;
        ssize_t k;
        while (len + 1 < out_size && (k = read(o[0], out + len, out_size - 1 - len)) > 0)
                len += (size_t) k;
        out[len] = 0;
        close(o[0]);
        return wait_for_exit(pid);
}

static char **git_env(const AuthPlan *p, const char *home, bool with_github_var)
{
        char **env = NULL;
        char *h = NULL;
        if (asprintf(&h, "HOME=%s", home) < 0)
                return NULL;
        strv_consume(&env, h);
        strv_push(&env, "PATH=/usr/bin:/bin");
        /* Nothing from the host's git configuration. */
        strv_push(&env, "GIT_CONFIG_NOSYSTEM=1");
        strv_push(&env, "GIT_CONFIG_GLOBAL=/dev/null");
        for (size_t i = 0; i < p->n_env; i++)
                if (with_github_var || !startswith(p->env[i], "GITHUB_TOKEN="))
                        strv_push(&env, p->env[i]);
        return env;
}

TEST(git_authenticates_to_github_only)
{
        NEED_STATE(state);
        if (access("/usr/bin/git", X_OK) < 0)
                SKIP("git is not installed");
        char *auth[] = { "github", NULL };
        _cleanup_auth_plan_ AuthPlan *p = plan(state, auth, NULL);
        ASSERT_NOT_NULL(p);
        /* On the host there is no /run/enclave/auth/github.token (the
         * workspace test in test-auth-files uses the file); the helper
         * falls back to GITHUB_TOKEN. */
        if (access(AUTH_GITHUB_TOKEN_FILE, F_OK) == 0)
                SKIP("this host has " AUTH_GITHUB_TOKEN_FILE);
        _cleanup_strv_free_ char **env = git_env(p, state, true);
        ASSERT_NOT_NULL(env);
        char out[1024];
        ASSERT_EQ(git_fill(env, "github.com", out, sizeof out), 0);
        ASSERT_CONTAINS(out, "username=x-access-token\n");
        ASSERT_CONTAINS(out, "password=" GH "\n");

        /* Another host never gets the token, and git does not prompt. */
        ASSERT_NE(git_fill(env, "example.com", out, sizeof out), 0);
        ASSERT_FALSE(strstr(out, GH));

        /* Without any token git fails instead of prompting. */
        _cleanup_strv_free_ char **bare = git_env(p, state, false);
        ASSERT_NE(git_fill(bare, "github.com", out, sizeof out), 0);
        ASSERT_FALSE(strstr(out, "password="));
}
