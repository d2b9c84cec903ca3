/* Sandbox and workspace specs: ownership and the rules between values
 * (spec.h). */
#include "spec/spec.h"
#include "base/str.h"

#include <limits.h>
#include <string.h>

void sandbox_spec_done(SandboxSpec *s)
{
        free(s->name);
        free(s->suite);
        free(s->bootstrap_method);
        free(s->mirror);
        strv_free(s->setup);
        *s = (SandboxSpec) {};
}

void workspace_spec_done(WorkspaceSpec *s)
{
        free(s->name);
        free(s->run);
        free(s->workspace_dir);
        strv_free(s->auth);
        strv_free(s->env_tokens);
        free(s->ports);
        strv_free(s->env);
        *s = (WorkspaceSpec) {};
}

static int check_env(char *const *env, Error *err)
{
        if (strv_length(env) > SPEC_MAX_LIST)
                return error_set(err, E2BIG, "more than %u environment variables", SPEC_MAX_LIST);
        STRV_FOREACH(e, env) {
                const char *eq = strchr(*e, '=');
                _cleanup_free_ char *name = eq ? strndup(*e, (size_t) (eq - *e)) : NULL;
                /* The value is never quoted: it may be a secret typed by mistake. */
                if (!eq)
                        return error_set(err, EINVAL, "invalid environment entry (no '='): expected NAME=VALUE");
                if (!name || !env_name_is_valid(name))
                        return error_set(err, EINVAL, "invalid environment variable name '%s': letters, digits and "
                                         "'_', not starting with a digit", name ? name : "");
                if (auth_token_provider(name))
                        return error_set(err, EINVAL, "%s is a token variable and cannot be set with env (a secret "
                                         "must not live in the configuration); store the token with 'enclave auth "
                                         "login %s' and list %s in env_tokens", name, auth_token_provider(name), name);
                if (startswith(name, "ENCLAVE_"))
                        return error_set(err, EINVAL, "environment variable %s: names starting with ENCLAVE_ are "
                                         "reserved for Enclave", name);
                if (strlen(eq + 1) > SPEC_MAX_STRING)
                        return error_set(err, E2BIG, "the value of %s is longer than %u bytes", name,
                                         SPEC_MAX_STRING);
        }
        return 0;
}

static int check_auth(char *const *auth, char *const *env_tokens, Error *err)
{
        STRV_FOREACH(p, auth)
                if (auth_provider_check(*p, err) < 0)
                        return -EINVAL;
        STRV_FOREACH(t, env_tokens)
                if (!auth_token_provider(*t))
                        return error_set(err, EINVAL, "unknown token variable '%s' in env_tokens; known: %s", *t,
                                         auth_token_names_list());
        return 0;
}

static int check_ports(const PortSpec *ports, size_t n, Error *err)
{
        if (n > SPEC_MAX_LIST)
                return error_set(err, E2BIG, "more than %u ports", SPEC_MAX_LIST);
        for (size_t i = 0; i < n; i++)
                for (size_t k = 0; k < i; k++)
                        if (ports[i].host_port == ports[k].host_port)
                                return error_set(err, EINVAL, "host port %u is published twice", ports[i].host_port);
        return 0;
}

int workspace_spec_check(const WorkspaceSpec *s, Error *err)
{
        if (!s->name || !name_is_valid(s->name))
                return error_set(err, EINVAL, "invalid workspace name '%s': 1-63 characters of letters, digits, '_' "
                                 "and '-', starting with a letter or digit", s->name ? s->name : "");
        int r = limits_check(&s->limits, LIMIT_WORKSPACE, err);
        if (r >= 0)
                r = check_env(s->env, err);
        if (r >= 0)
                r = check_auth(s->auth, s->env_tokens, err);
        if (r >= 0)
                r = check_ports(s->ports, s->n_ports, err);
        if (r < 0)
                return r;
        if (s->workspace_dir && s->workspace_dir[0] != '/')
                return error_set(err, EINVAL, "workspace_dir must be an absolute path, got '%s'", s->workspace_dir);
        if (s->workspace_dir && s->limits.disk_mb > 0)
                return error_set(err, EINVAL, "disk_mb applies to the managed /home only and cannot be combined "
                                 "with workspace_dir");
        if (!run_restart_to_string(s->restart))
                return error_set(err, EINVAL, "invalid restart policy: no, on-failure or always");
        if (s->run && strlen(s->run) > SPEC_MAX_STRING)
                return error_set(err, E2BIG, "the run command is longer than %u bytes", SPEC_MAX_STRING);
        return 0;
}

int sandbox_spec_check(const SandboxSpec *s, Error *err)
{
        if (!s->name || !name_is_valid(s->name))
                return error_set(err, EINVAL, "invalid sandbox name '%s': use 1-63 characters, letters, digits, '_' "
                                 "and '-', starting with a letter or digit", s->name ? s->name : "");
        if (s->suite && debian_suite_check(s->suite, NULL, err) < 0)
                return -EINVAL;
        if (s->bootstrap_method && !bootstrap_method_is_known(s->bootstrap_method))
                return error_set(err, EINVAL, "invalid bootstrap method '%s': use 'debootstrap' or 'cached_rootfs'",
                                 s->bootstrap_method);
        if (s->mirror && mirror_url_check(s->mirror, err) < 0)
                return error_wrap(err, "invalid mirror '%s'", s->mirror);
        int r = limits_check(&s->caps, LIMIT_SANDBOX, err);
        if (r < 0)
                return r;
        if (strv_length(s->setup) > SPEC_MAX_LIST)
                return error_set(err, E2BIG, "too many setup commands (at most %u)", SPEC_MAX_LIST);
        size_t i = 0;
        STRV_FOREACH(c, s->setup) {
                i++;
                if (!**c || strlen(*c) > SPEC_MAX_STRING)
                        return error_set(err, EINVAL, "setup command %zu must be a non-empty string of at most %u "
                                         "bytes", i, SPEC_MAX_STRING);
        }
        return 0;
}

void spec_setup_digest(char *const *setup, char out[static SHA256_HEX_SIZE])
{
        static const char domain[] = "enclave-setup-v1";
        uint8_t d[SHA256_DIGEST_SIZE];
        Sha256 s;

        /* Each command is length-prefixed, so ["a b"] and ["a", "b"]
         * (or a moved boundary) never hash alike. */
        sha256_init(&s);
        sha256_update(&s, domain, sizeof domain);
        STRV_FOREACH(cmd, setup) {
                uint64_t n = strlen(*cmd);
                uint8_t len[8];
                for (unsigned i = 0; i < 8; i++)
                        len[i] = (uint8_t) (n >> (56 - 8 * i));
                sha256_update(&s, len, sizeof len);
                sha256_update(&s, *cmd, n);
        }
        sha256_final(&s, d);
        digest_to_hex(d, sizeof d, out);
}
