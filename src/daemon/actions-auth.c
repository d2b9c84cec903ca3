/* auth.login, auth.list and auth.logout: the daemon's side of the token
 * store (SPEC §7, src/auth/token-store.h), each on the caller's own
 * store.
 *
 * auth.login carries the token in its "token" parameter. The daemon
 * never logs request parameters (only the action name), and this file
 * never puts the token into a message or a log line; the parameter's
 * bytes are wiped in place once the action is done with them. */
#include "daemon/action.h"
#include "daemon/daemon.h"
#include "auth/token-store.h"
#include "spec/values.h"
#include "base/log.h"
#include "base/str.h"

#include <string.h>

/* Overwrite the string value of params[key] in place: the request
 * object lives on until the call ends, the token must not. */
static void wipe_param(json_t *params, const char *key)
{
        json_t *v = json_object_get(params, key);
        if (json_is_string(v))
                explicit_wipe((char *) json_string_value(v), json_string_length(v));
}

typedef struct TokenParam {
        json_t *params;
} TokenParam;

static void token_param_wipe(TokenParam *t)
{
        if (t->params)
                wipe_param(t->params, "token");
}

static json_t *token_names_json(const char *provider)
{
        json_t *a = json_array();
        const char *const *names = auth_provider_token_names(provider);
        for (size_t i = 0; a && names && names[i]; i++)
                if (json_array_append_new(a, json_string(names[i])) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

static int param_provider(Call *c, const char **ret, Error *err)
{
        int r = call_param_string(c, "provider", true, ret, err);
        if (r < 0)
                return r;
        return auth_provider_check(*ret, err);
}

static int action_auth_login(Call *c, Error *err)
{
        _unused_ _cleanup_(token_param_wipe) TokenParam wipe = { call_params(c) };
        const char *provider, *token;
        int r = param_provider(c, &provider, err);
        if (r < 0)
                return r;
        r = call_param_string(c, "token", true, &token, err);
        if (r < 0)
                return r;
        size_t len = json_string_length(json_object_get(call_params(c), "token"));
        r = auth_store_save(call_daemon(c)->engine.settings.state_dir, call_uid(c), provider, token, len, err);
        if (r < 0)
                return error_wrap(err, "storing the %s token", provider);
        log_info("auth: stored the %s token (by uid %u)", provider, (unsigned) call_uid(c));
        json_t *env = token_names_json(provider);
        json_t *res = env ? json_pack("{s:s, s:b, s:o}", "provider", provider, "configured", 1, "env", env) : NULL;
        if (!res)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, res, -EBADF);
}

static json_t *provider_status_json(const char *state_dir, uid_t owner, const char *provider, Error *err)
{
        AuthStatus st;
        if (auth_store_status(state_dir, owner, provider, &st, err) < 0)
                return NULL;
        json_t *env = token_names_json(provider);
        json_t *updated = st.state == AUTH_STATE_MISSING ? json_null() : json_integer((json_int_t) st.mtime);
        json_t *problem = st.problem ? json_string(st.problem) : json_null();
        json_t *j = NULL;
        if (env && updated && problem)
                j = json_pack("{s:s, s:b, s:s, s:o, s:o, s:o}", "provider", provider, "configured",
                              st.state == AUTH_STATE_CONFIGURED, "state", auth_state_to_string(st.state), "env",
                              env, "updated", updated, "problem", problem);
        else {
                json_decref(env);
                json_decref(updated);
                json_decref(problem);
        }
        auth_status_done(&st);
        if (!j)
                error_set(err, ENOMEM, "out of memory");
        return j;
}

static int action_auth_list(Call *c, Error *err)
{
        const char *state_dir = call_daemon(c)->engine.settings.state_dir;
        json_t *list = json_array();
        if (!list)
                return error_set(err, ENOMEM, "out of memory");
        for (size_t i = 0; auth_providers[i]; i++) {
                json_t *j = provider_status_json(state_dir, call_uid(c), auth_providers[i], err);
                if (!j || json_array_append_new(list, j) < 0) {
                        json_decref(list);
                        return j ? error_set(err, ENOMEM, "out of memory")
                                 : error_wrap(err, "checking the %s token", auth_providers[i]);
                }
        }
        return call_reply(c, json_pack("{s:o}", "providers", list), -EBADF);
}

static int action_auth_logout(Call *c, Error *err)
{
        const char *provider;
        int r = param_provider(c, &provider, err);
        if (r < 0)
                return r;
        r = auth_store_remove(call_daemon(c)->engine.settings.state_dir, call_uid(c), provider, err);
        if (r < 0)
                return error_wrap(err, "removing the %s token", provider);
        if (r > 0)
                log_info("auth: removed the %s token (by uid %u)", provider, (unsigned) call_uid(c));
        return call_reply(c, json_pack("{s:s, s:b}", "provider", provider, "removed", r > 0), -EBADF);
}

/* Every uid has a store of its own (token-store.h): login, list and
 * logout act on the caller's, and its tokens reach only its own
 * workspaces. */
const Action auth_actions[] = {
        { PROTO_ACTION_AUTH_LOGIN, action_auth_login, ACTION_MUTATES },
        { PROTO_ACTION_AUTH_LIST, action_auth_list, 0 },
        { PROTO_ACTION_AUTH_LOGOUT, action_auth_logout, ACTION_MUTATES },
        {},
};
