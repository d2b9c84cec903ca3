/* The daemon's own actions: daemon.ping, daemon.health, daemon.stop and
 * the policy.* family. */
#include "daemon/action.h"
#include "daemon/daemon.h"
#include "daemon/owner.h"
#include "daemon/server.h"
#include "base/log.h"

static int action_ping(Call *c, Error *err)
{
        Daemon *d = call_daemon(c);
        return call_reply(c, json_pack("{s:b, s:i, s:s}", "pong", 1, "pid", (int) d->pid, "version",
                                       ENCLAVE_VERSION), -EBADF);
}

/* A user counts only its own objects. */
static json_t *health_counts(Daemon *d, int64_t owner)
{
        _cleanup_error_ Error err = ERROR_INIT;
        RegistryCounts n;
        if (registry_counts_owned(d->engine.registry, owner, &n, &err) < 0) {
                log_warn("health: %s", error_msg(&err));
                return json_null();
        }
        return json_pack("{s:I, s:I, s:I}", "sandboxes", (json_int_t) n.sandboxes, "workspaces",
                         (json_int_t) n.workspaces, "workspaces_running", (json_int_t) n.workspaces_running);
}

static int action_health(Call *c, Error *err)
{
        Daemon *d = call_daemon(c);
        const Settings *s = &d->engine.settings;
        int version = 0;
        _cleanup_error_ Error verr = ERROR_INIT;
        (void) registry_schema_version(d->engine.registry, &version, &verr);

        json_t *result = json_pack(
                "{s:s, s:i, s:I, s:I, s:s, s:s, s:s, s:s?, s:{s:s, s:i}, s:o, s:s, s:s, s:s, s:s, "
                "s:{s:I, s:I}, s:b}",
                "version", ENCLAVE_VERSION,
                "pid", (int) d->pid,
                "started_at", (json_int_t) d->started_at,
                "uptime_secs", (json_int_t) daemon_uptime_secs(d),
                "state_dir", s->state_dir,
                "socket", s->socket_path,
                "pid_file", s->pid_file,
                "config", s->path,
                "registry", "path", d->engine.registry_path, "schema_version", version,
                "counts", health_counts(d, call_owner_filter(c)),
                "cgroup", daemon_cgroup_mode(),
                "firewall", firewall_backend_to_string(s->firewall) ?: "auto",
                "bridge", s->bridge,
                "subnet", s->subnet,
                "server", "connections", (json_int_t) server_n_connections(d->server), "long_actions",
                (json_int_t) server_n_workers(d->server),
                "test_actions", d->enable_test_actions);
        if (!result)
                return error_set(err, ENOMEM, "building health report");
        return call_reply(c, result, -EBADF);
}

static int action_stop(Call *c, Error *err)
{
        Daemon *d = call_daemon(c);
        log_info("stop requested by uid %u (pid %d)", (unsigned) call_uid(c), (int) call_pid(c));
        int r = call_reply(c, json_pack("{s:i}", "pid", (int) d->pid), -EBADF);
        daemon_request_stop(d);
        return r;
}

/* ---- policy ---- */

/* The rules that concern owner (< 0: all): a user sees the rules for
 * every uid and its own, never those of other uids. */
static json_t *policy_to_json(const Policy *p, int64_t owner)
{
        json_t *rules = json_array();
        if (!rules)
                return NULL;
        for (size_t i = 0; i < p->n_rules; i++) {
                const PolicyRule *r = &p->rules[i];
                if (owner >= 0 && r->uid != POLICY_UID_ALL && r->uid != owner)
                        continue;
                char text[POLICY_PATTERN_MAX + 64];
                json_t *uid = r->uid == POLICY_UID_ALL ? json_null() : json_integer((json_int_t) r->uid);
                if (json_array_append_new(rules, json_pack("{s:o, s:s, s:s, s:s}", "uid", uid, "pattern", r->pattern,
                                                           "effect", policy_effect_to_string(r->effect), "rule",
                                                           policy_rule_to_string(r, text, sizeof text))) < 0) {
                        json_decref(rules);
                        return NULL;
                }
        }
        return json_pack("{s:s, s:o}", "default", policy_effect_to_string(p->default_effect), "rules", rules);
}

/* After a change in the registry: the in-memory policy follows it, so
 * what is enforced is always what is stored. */
static int policy_reload(Daemon *d, Error *err)
{
        Policy p = POLICY_INIT;
        int r = registry_policy_load(d->engine.registry, &p, err);
        if (r < 0)
                return error_wrap(err, "reloading the policy");
        policy_done(&d->policy);
        d->policy = p;
        return 0;
}

static int reply_policy(Call *c, Error *err)
{
        json_t *j = policy_to_json(&call_daemon(c)->policy, call_owner_filter(c));
        if (!j)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, j, -EBADF);
}

static int action_policy_show(Call *c, Error *err)
{
        return reply_policy(c, err);
}

static int action_policy_set_default(Call *c, Error *err)
{
        const char *decision;
        int r = call_param_string(c, "decision", true, &decision, err);
        if (r < 0)
                return r;
        PolicyEffect e = policy_effect_from_string(decision);
        if (e < 0)
                return error_set(err, EINVAL, "invalid default decision '%s': use 'allow' or 'deny'", decision);
        r = registry_policy_set_default(call_daemon(c)->engine.registry, e, err);
        if (r < 0 || (r = policy_reload(call_daemon(c), err)) < 0)
                return r;
        log_info("policy: default %s (by uid %u)", decision, (unsigned) call_uid(c));
        return reply_policy(c, err);
}

/* "uid" absent or null = every UID. */
static int param_scope(Call *c, int64_t *ret, Error *err)
{
        json_t *v = json_object_get(call_params(c), "uid");
        if (!v || json_is_null(v)) {
                *ret = POLICY_UID_ALL;
                return 0;
        }
        return call_param_int(c, "uid", true, 0, (int64_t) UINT32_MAX - 1, 0, ret, err);
}

static int policy_add(Call *c, PolicyEffect effect, Error *err)
{
        const char *pattern;
        int64_t uid;
        int r = call_param_string(c, "pattern", true, &pattern, err);
        if (r < 0 || (r = param_scope(c, &uid, err)) < 0)
                return r;
        if (!policy_pattern_is_valid(pattern))
                return error_set(err, EINVAL,
                                 "invalid pattern '%s': use an action name or a glob such as 'workspace.*' or '*' "
                                 "(lower-case letters, digits, '_', '.', '-', '*', '?', '[...]'; at most %d chars)",
                                 pattern, POLICY_PATTERN_MAX);
        if (call_daemon(c)->policy.n_rules >= POLICY_MAX_RULES)
                return error_set(err, E2BIG, "too many policy rules (at most %d)", POLICY_MAX_RULES);
        r = registry_policy_set_rule(call_daemon(c)->engine.registry, uid, pattern, effect, err);
        if (r < 0 || (r = policy_reload(call_daemon(c), err)) < 0)
                return r;
        char text[POLICY_PATTERN_MAX + 64];
        PolicyRule rule = { .uid = uid, .pattern = (char *) pattern, .effect = effect };
        log_info("policy: %s (by uid %u)", policy_rule_to_string(&rule, text, sizeof text), (unsigned) call_uid(c));
        return reply_policy(c, err);
}

static int action_policy_allow(Call *c, Error *err)
{
        return policy_add(c, POLICY_ALLOW, err);
}

static int action_policy_deny(Call *c, Error *err)
{
        return policy_add(c, POLICY_DENY, err);
}

static int action_policy_clear(Call *c, Error *err)
{
        int64_t uid;
        int r = param_scope(c, &uid, err);
        if (r < 0)
                return r;
        bool all = uid == POLICY_UID_ALL;
        int removed = registry_policy_clear(call_daemon(c)->engine.registry, all, uid, err);
        if (removed < 0)
                return removed;
        r = policy_reload(call_daemon(c), err);
        if (r < 0)
                return r;
        log_info("policy: cleared %d rule(s) %s (by uid %u)", removed, all ? "and reset the default" : "of one uid",
                 (unsigned) call_uid(c));
        json_t *j = policy_to_json(&call_daemon(c)->policy, -1);
        if (!j || json_object_set_new(j, "removed", json_integer(removed)) < 0) {
                json_decref(j);
                return error_set(err, ENOMEM, "out of memory");
        }
        return call_reply(c, j, -EBADF);
}

const Action core_actions[] = {
        { PROTO_ACTION_DAEMON_PING, action_ping, 0 },
        { PROTO_ACTION_DAEMON_HEALTH, action_health, 0 },
        { PROTO_ACTION_DAEMON_STOP, action_stop, ACTION_ROOT_ONLY | ACTION_MUTATES },
        { PROTO_ACTION_POLICY_SHOW, action_policy_show, 0 },
        { PROTO_ACTION_POLICY_SET_DEFAULT, action_policy_set_default, ACTION_ROOT_ONLY | ACTION_MUTATES },
        { PROTO_ACTION_POLICY_ALLOW, action_policy_allow, ACTION_ROOT_ONLY | ACTION_MUTATES },
        { PROTO_ACTION_POLICY_DENY, action_policy_deny, ACTION_ROOT_ONLY | ACTION_MUTATES },
        { PROTO_ACTION_POLICY_CLEAR, action_policy_clear, ACTION_ROOT_ONLY | ACTION_MUTATES },
        {},
};
