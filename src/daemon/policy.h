/* The policy engine: who may run which action (SPEC §4).
 *
 * A rule has a scope (one UID, or every UID), a glob pattern over
 * dotted action names ("workspace.*", "*", "sandbox.[cd]*"; fnmatch
 * syntax, '*' also matches dots) and an effect. Deciding for (uid,
 * action):
 *   1. uid 0 may always run policy.* (root can always repair a policy);
 *   2. the rules of the uid's own scope that match: any deny denies,
 *      else any allow allows;
 *   3. otherwise the same over the wildcard scope;
 *   4. otherwise root is allowed and everyone else gets the default.
 * The engine is pure; the daemon keeps the rules in the registry. */
#pragma once

#include "base/macro.h"
#include "registry/registry.h"

#include <sys/types.h>

typedef enum PolicyEffect {
        POLICY_ALLOW,
        POLICY_DENY,
        _POLICY_EFFECT_MAX,
        _POLICY_EFFECT_INVALID = -EINVAL,
} PolicyEffect;

/* Scope of a rule that applies to every UID. */
#define POLICY_UID_ALL ((int64_t) -1)
#define POLICY_PATTERN_MAX 128
#define POLICY_MAX_RULES 4096

typedef struct PolicyRule {
        int64_t uid;     /* POLICY_UID_ALL or a uid */
        char *pattern;
        PolicyEffect effect;
} PolicyRule;

typedef struct Policy {
        PolicyRule *rules;
        size_t n_rules;
        PolicyEffect default_effect;
} Policy;

#define POLICY_INIT { NULL, 0, POLICY_ALLOW }

const char *policy_effect_to_string(PolicyEffect e);
PolicyEffect policy_effect_from_string(const char *s);

void policy_done(Policy *p);
#define _cleanup_policy_ _cleanup_(policy_done)

/* Patterns: 1..POLICY_PATTERN_MAX chars of [a-z0-9_.*?[]!-]. */
bool policy_pattern_is_valid(const char *pattern);

/* Add a rule; a rule with the same scope and pattern is replaced (the
 * latest statement about a pattern wins). -EINVAL for a bad pattern,
 * -E2BIG past POLICY_MAX_RULES. */
int policy_set_rule(Policy *p, int64_t uid, const char *pattern, PolicyEffect effect);

/* Remove the rules of one scope (all_scopes=false) or every rule;
 * returns how many were removed. */
size_t policy_clear(Policy *p, bool all_scopes, int64_t uid);

/* "deny uid 1000 workspace.*" or "allow all *"; returns buf. */
const char *policy_rule_to_string(const PolicyRule *r, char *buf, size_t size);

typedef struct PolicyDecision {
        PolicyEffect effect;
        const PolicyRule *rule; /* the deciding rule; NULL for default/root */
} PolicyDecision;

PolicyDecision policy_decide(const Policy *p, uid_t uid, const char *action);

/* Decide, and on a denial return a message naming the rule:
 * "denied: rule 'deny uid 1000 workspace.*' matches 'workspace.exec'".
 * Returns true when allowed; *ret_reason is set only on denial (caller
 * frees; NULL on OOM). */
bool policy_check(const Policy *p, uid_t uid, const char *action, char **ret_reason);

int policy_copy(const Policy *src, Policy *ret);

/* ---- kept in the registry (registry-policy.c) ---- */

int registry_policy_load(Registry *r, Policy *ret, Error *err);
/* Upsert one rule (same scope + pattern replaced). */
int registry_policy_set_rule(Registry *r, int64_t uid, const char *pattern, PolicyEffect effect, Error *err);
int registry_policy_set_default(Registry *r, PolicyEffect effect, Error *err);
/* Remove the rules of one scope, or every rule and reset the default
 * to allow (all_scopes). Returns the number of rules removed. */
int registry_policy_clear(Registry *r, bool all_scopes, int64_t uid, Error *err);
