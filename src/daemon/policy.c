#include "daemon/policy.h"
#include "base/str.h"

#include <fnmatch.h>
#include <string.h>

static const char *const effect_names[_POLICY_EFFECT_MAX] = {
        [POLICY_ALLOW] = "allow",
        [POLICY_DENY] = "deny",
};

const char *policy_effect_to_string(PolicyEffect e)
{
        if (e < 0 || e >= _POLICY_EFFECT_MAX)
                return "invalid";
        return effect_names[e];
}

PolicyEffect policy_effect_from_string(const char *s)
{
        for (int i = 0; s && i < _POLICY_EFFECT_MAX; i++)
                if (streq(effect_names[i], s))
                        return (PolicyEffect) i;
        return _POLICY_EFFECT_INVALID;
}

void policy_done(Policy *p)
{
        for (size_t i = 0; i < p->n_rules; i++)
                free(p->rules[i].pattern);
        free(p->rules);
        p->rules = NULL;
        p->n_rules = 0;
}

bool policy_pattern_is_valid(const char *pattern)
{
        size_t n = pattern ? strlen(pattern) : 0;
        if (n == 0 || n > POLICY_PATTERN_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = pattern[i];
                if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("_.*?[]!-", c)))
                        return false;
        }
        return true;
}

int policy_set_rule(Policy *p, int64_t uid, const char *pattern, PolicyEffect effect)
{
        if (!policy_pattern_is_valid(pattern) || effect < 0 || effect >= _POLICY_EFFECT_MAX ||
            (uid < 0 && uid != POLICY_UID_ALL) || uid > UINT32_MAX)
                return -EINVAL;
        for (size_t i = 0; i < p->n_rules; i++)
                if (p->rules[i].uid == uid && streq(p->rules[i].pattern, pattern)) {
                        p->rules[i].effect = effect;
                        return 0;
                }
        if (p->n_rules >= POLICY_MAX_RULES)
                return -E2BIG;
        char *copy = strdup(pattern);
        if (!copy)
                return -ENOMEM;
        PolicyRule *nr = realloc(p->rules, (p->n_rules + 1) * sizeof *nr);
        if (!nr) {
                free(copy);
                return -ENOMEM;
        }
        p->rules = nr;
        p->rules[p->n_rules++] = (PolicyRule) { .uid = uid, .pattern = copy, .effect = effect };
        return 0;
}

size_t policy_clear(Policy *p, bool all_scopes, int64_t uid)
{
        size_t kept = 0, removed = 0;
        for (size_t i = 0; i < p->n_rules; i++) {
                if (all_scopes || p->rules[i].uid == uid) {
                        free(p->rules[i].pattern);
                        removed++;
                } else
                        p->rules[kept++] = p->rules[i];
        }
        p->n_rules = kept;
        return removed;
}

const char *policy_rule_to_string(const PolicyRule *r, char *buf, size_t size)
{
        if (r->uid == POLICY_UID_ALL)
                snprintf(buf, size, "%s all %s", policy_effect_to_string(r->effect), r->pattern);
        else
                snprintf(buf, size, "%s uid %lld %s", policy_effect_to_string(r->effect), (long long) r->uid,
                         r->pattern);
        return buf;
}

/* Within one scope a matching deny beats any matching allow. */
static const PolicyRule *decide_scope(const Policy *p, int64_t scope, const char *action)
{
        const PolicyRule *allow = NULL;
        for (size_t i = 0; i < p->n_rules; i++) {
                const PolicyRule *r = &p->rules[i];
                if (r->uid != scope || fnmatch(r->pattern, action, 0) != 0)
                        continue;
                if (r->effect == POLICY_DENY)
                        return r;
                if (!allow)
                        allow = r;
        }
        return allow;
}

PolicyDecision policy_decide(const Policy *p, uid_t uid, const char *action)
{
        if (uid == 0 && startswith(action, "policy."))
                return (PolicyDecision) { POLICY_ALLOW, NULL };
        const PolicyRule *r = decide_scope(p, (int64_t) uid, action);
        if (!r)
                r = decide_scope(p, POLICY_UID_ALL, action);
        if (r)
                return (PolicyDecision) { r->effect, r };
        if (uid == 0)
                return (PolicyDecision) { POLICY_ALLOW, NULL };
        return (PolicyDecision) { p->default_effect, NULL };
}

bool policy_check(const Policy *p, uid_t uid, const char *action, char **ret_reason)
{
        PolicyDecision d = policy_decide(p, uid, action);
        if (d.effect == POLICY_ALLOW)
                return true;
        char *msg = NULL;
        if (d.rule) {
                char rule[POLICY_PATTERN_MAX + 64];
                if (asprintf(&msg, "denied: rule '%s' matches '%s'",
                             policy_rule_to_string(d.rule, rule, sizeof rule), action) < 0)
                        msg = NULL;
        } else if (asprintf(&msg, "denied: no rule matches '%s' for uid %u and the default policy is 'deny'",
                            action, (unsigned) uid) < 0)
                msg = NULL;
        *ret_reason = msg;
        return false;
}

int policy_copy(const Policy *src, Policy *ret)
{
        Policy p = POLICY_INIT;
        p.default_effect = src->default_effect;
        for (size_t i = 0; i < src->n_rules; i++) {
                int r = policy_set_rule(&p, src->rules[i].uid, src->rules[i].pattern, src->rules[i].effect);
                if (r < 0) {
                        policy_done(&p);
                        return r;
                }
        }
        *ret = p;
        return 0;
}
