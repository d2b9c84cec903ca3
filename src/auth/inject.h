/* What a workspace receives from the token store (SPEC §7).
 *
 * Only declared providers reach a workspace:
 *   - a provider listed in `auth` gets its token variables
 *     (enclave: ENCLAVE_TOKEN; github: GITHUB_TOKEN, GH_TOKEN; npm:
 *     NPM_TOKEN) and the file /run/enclave/auth/<provider>.token; github
 *     also gets non-interactive HTTPS git auth: a credential helper for
 *     https://github.com set through GIT_CONFIG_COUNT/_KEY_n/_VALUE_n
 *     that reads the token file at run time (the token is never part of
 *     a git config value), plus GIT_TERMINAL_PROMPT=0;
 *   - a variable listed in `env_tokens` gets the token of the provider
 *     that defines it, as that variable and as the file
 *     /run/enclave/env/<NAME>, even when the provider is not in `auth`.
 * A declared provider without a usable token is a warning, never a
 * failure. Files are mode 0400 and owned by whoever writes them: the
 * workspace runtime calls auth_files_write() inside the workspace (as
 * its root) on a tmpfs at /run/enclave that only that workspace sees.
 *
 * The plan holds token copies; auth_plan_free() wipes every one. */
#pragma once

#include "auth/token-store.h"
#include "base/error.h"

#define AUTH_RUN_DIR "/run/enclave"          /* the tmpfs the runtime mounts */
#define AUTH_FILES_AUTH_DIR "auth"           /* /run/enclave/auth/<provider>.token */
#define AUTH_FILES_ENV_DIR "env"             /* /run/enclave/env/<NAME> */
#define AUTH_FILE_MODE 0400
#define AUTH_FILES_DIR_MODE 0755
#define AUTH_GITHUB_TOKEN_FILE AUTH_RUN_DIR "/" AUTH_FILES_AUTH_DIR "/github.token"
/* Git only asks the helper for this host: the GitHub token is never
 * offered to any other server. */
#define AUTH_GITHUB_CREDENTIAL_KEY "credential.https://github.com.helper"

/* Upper bounds for three providers and four token variables. */
#define AUTH_PLAN_ENV_MAX 16
#define AUTH_PLAN_FILES_MAX 8
#define AUTH_PLAN_PROVIDERS_MAX 4
#define AUTH_FILE_NAME_MAX 64

typedef struct AuthFile {
        const char *dir;                 /* AUTH_FILES_AUTH_DIR or AUTH_FILES_ENV_DIR */
        char name[AUTH_FILE_NAME_MAX];   /* "github.token", "GH_TOKEN" */
        char *data;                      /* the token (no newline); wiped on free */
        size_t size;
} AuthFile;

typedef struct AuthPlan {
        char *env[AUTH_PLAN_ENV_MAX + 1];    /* "NAME=value", NULL-terminated */
        size_t n_env;
        AuthFile files[AUTH_PLAN_FILES_MAX];
        size_t n_files;
        /* Providers whose token reaches the workspace, in the order of
         * auth_providers[] (static strings). */
        const char *providers[AUTH_PLAN_PROVIDERS_MAX];
        size_t n_providers;
        char **warnings;                     /* NULL-terminated, never NULL */
} AuthPlan;

/* Load the tokens a workspace declared (auth: provider names,
 * env_tokens: token variable names; either may be NULL) from the store
 * of its owner (token-store.h: never another uid's) and build its plan. A provider with no token, or
 * with a file the store refuses, becomes a warning. Fails only for an
 * unknown provider or variable name, or an I/O error. */
int auth_plan_build(const char *state_dir, uid_t owner, char *const *auth, char *const *env_tokens, AuthPlan **ret,
                    Error *err);

/* Wipe every token copy and free; returns NULL. */
AuthPlan *auth_plan_free(AuthPlan *p);
DEFINE_CLEANUP_FUNC(AuthPlan, auth_plan_free);
#define _cleanup_auth_plan_ _cleanup_(auth_plan_freep)

/* The value of variable name in plan->env, or NULL. */
const char *auth_plan_getenv(const AuthPlan *plan, const char *name);

/* Write plan's files below dirfd (the workspace's /run/enclave):
 * auth/ and env/ (0755) with files of mode 0400, replacing existing
 * ones and never following symlinks. Allocates nothing and uses only
 * async-signal-safe calls, so it may run in the workspace child between
 * clone and exec. Returns 0 or a negative errno. */
int auth_files_write(int dirfd, const AuthPlan *plan);
