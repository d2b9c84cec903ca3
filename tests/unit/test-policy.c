/* The policy engine: scopes, globs, deny-wins, uid-over-wildcard,
 * defaults and root's standing right to change the policy. */
#include "test.h"
#include "daemon/policy.h"

static bool allowed(const Policy *p, uid_t uid, const char *action)
{
        return policy_decide(p, uid, action).effect == POLICY_ALLOW;
}

TEST(default_allows_everyone)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_TRUE(allowed(&p, 1000, "workspace.exec"));
        ASSERT_TRUE(allowed(&p, 0, "daemon.stop"));
        ASSERT_NULL(policy_decide(&p, 1000, "workspace.exec").rule);
}

TEST(default_deny_spares_root)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        p.default_effect = POLICY_DENY;
        ASSERT_FALSE(allowed(&p, 1000, "daemon.ping"));
        ASSERT_TRUE(allowed(&p, 0, "daemon.ping"));
        char *why = NULL;
        ASSERT_FALSE(policy_check(&p, 1000, "daemon.ping", &why));
        ASSERT_CONTAINS(why, "no rule matches 'daemon.ping' for uid 1000");
        ASSERT_CONTAINS(why, "default policy is 'deny'");
        free(why);
}

TEST(uid_rule_with_glob)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_OK(policy_set_rule(&p, 1000, "workspace.*", POLICY_DENY));
        ASSERT_FALSE(allowed(&p, 1000, "workspace.exec"));
        ASSERT_FALSE(allowed(&p, 1000, "workspace.port.publish")); /* '*' crosses dots */
        ASSERT_TRUE(allowed(&p, 1000, "workspaces.list"));
        ASSERT_TRUE(allowed(&p, 1000, "sandbox.create"));
        ASSERT_TRUE(allowed(&p, 1001, "workspace.exec"));
        char *why = NULL;
        ASSERT_FALSE(policy_check(&p, 1000, "workspace.exec", &why));
        ASSERT_STREQ(why, "denied: rule 'deny uid 1000 workspace.*' matches 'workspace.exec'");
        free(why);
}

TEST(deny_wins_within_a_scope)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_OK(policy_set_rule(&p, 1000, "workspace.exec", POLICY_ALLOW));
        ASSERT_OK(policy_set_rule(&p, 1000, "workspace.*", POLICY_DENY));
        ASSERT_FALSE(allowed(&p, 1000, "workspace.exec"));
        /* Order does not matter. */
        _cleanup_policy_ Policy q = POLICY_INIT;
        ASSERT_OK(policy_set_rule(&q, POLICY_UID_ALL, "*", POLICY_DENY));
        ASSERT_OK(policy_set_rule(&q, POLICY_UID_ALL, "daemon.ping", POLICY_ALLOW));
        ASSERT_FALSE(allowed(&q, 1000, "daemon.ping"));
        PolicyDecision d = policy_decide(&q, 1000, "daemon.ping");
        ASSERT_NOT_NULL(d.rule);
        ASSERT_STREQ(d.rule->pattern, "*");
}

TEST(uid_rules_override_wildcard_rules)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_OK(policy_set_rule(&p, POLICY_UID_ALL, "*", POLICY_DENY));
        ASSERT_OK(policy_set_rule(&p, 1000, "daemon.*", POLICY_ALLOW));
        ASSERT_TRUE(allowed(&p, 1000, "daemon.ping"));
        ASSERT_FALSE(allowed(&p, 1000, "workspace.exec")); /* no uid rule matches: wildcard decides */
        ASSERT_FALSE(allowed(&p, 1001, "daemon.ping"));
        /* And the other way round: a uid deny beats a wildcard allow. */
        _cleanup_policy_ Policy q = POLICY_INIT;
        q.default_effect = POLICY_DENY;
        ASSERT_OK(policy_set_rule(&q, POLICY_UID_ALL, "sandbox.*", POLICY_ALLOW));
        ASSERT_OK(policy_set_rule(&q, 1001, "sandbox.create", POLICY_DENY));
        ASSERT_FALSE(allowed(&q, 1001, "sandbox.create"));
        ASSERT_TRUE(allowed(&q, 1001, "sandbox.destroy"));
        ASSERT_TRUE(allowed(&q, 1002, "sandbox.create"));
}

TEST(wildcard_rules_beat_the_default)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        p.default_effect = POLICY_DENY;
        ASSERT_OK(policy_set_rule(&p, POLICY_UID_ALL, "daemon.ping", POLICY_ALLOW));
        ASSERT_TRUE(allowed(&p, 1000, "daemon.ping"));
        ASSERT_FALSE(allowed(&p, 1000, "daemon.health"));
}

TEST(root_can_always_change_the_policy)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        p.default_effect = POLICY_DENY;
        ASSERT_OK(policy_set_rule(&p, POLICY_UID_ALL, "*", POLICY_DENY));
        ASSERT_OK(policy_set_rule(&p, 0, "policy.*", POLICY_DENY));
        ASSERT_TRUE(allowed(&p, 0, "policy.clear"));
        ASSERT_TRUE(allowed(&p, 0, "policy.set_default"));
        /* Other actions of root follow the rules. */
        ASSERT_FALSE(allowed(&p, 0, "daemon.ping"));
        /* Nobody else gets that exemption. */
        ASSERT_FALSE(allowed(&p, 1000, "policy.show"));
}

TEST(glob_syntax)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_OK(policy_set_rule(&p, 7, "sandbox.[cd]*", POLICY_DENY));
        ASSERT_OK(policy_set_rule(&p, 7, "rootfs.?mport", POLICY_DENY));
        ASSERT_FALSE(allowed(&p, 7, "sandbox.create"));
        ASSERT_FALSE(allowed(&p, 7, "sandbox.destroy"));
        ASSERT_TRUE(allowed(&p, 7, "sandbox.start"));
        ASSERT_FALSE(allowed(&p, 7, "rootfs.import"));
        ASSERT_TRUE(allowed(&p, 7, "rootfs.export"));
}

TEST(same_scope_and_pattern_is_replaced)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_OK(policy_set_rule(&p, 5, "workspace.*", POLICY_DENY));
        ASSERT_OK(policy_set_rule(&p, 5, "workspace.*", POLICY_ALLOW));
        ASSERT_EQ(p.n_rules, 1);
        ASSERT_TRUE(allowed(&p, 5, "workspace.exec"));
        ASSERT_OK(policy_set_rule(&p, POLICY_UID_ALL, "workspace.*", POLICY_DENY));
        ASSERT_EQ(p.n_rules, 2);
}

TEST(clear)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_OK(policy_set_rule(&p, 5, "a.*", POLICY_DENY));
        ASSERT_OK(policy_set_rule(&p, 5, "b.*", POLICY_DENY));
        ASSERT_OK(policy_set_rule(&p, 6, "a.*", POLICY_DENY));
        ASSERT_OK(policy_set_rule(&p, POLICY_UID_ALL, "c.*", POLICY_DENY));
        ASSERT_EQ(policy_clear(&p, false, 5), 2);
        ASSERT_EQ(p.n_rules, 2);
        ASSERT_TRUE(allowed(&p, 5, "a.x"));
        ASSERT_FALSE(allowed(&p, 6, "a.x"));
        ASSERT_EQ(policy_clear(&p, true, 0), 2);
        ASSERT_EQ(p.n_rules, 0);
}

TEST(pattern_validation)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        ASSERT_TRUE(policy_pattern_is_valid("*"));
        ASSERT_TRUE(policy_pattern_is_valid("workspace.port.*"));
        ASSERT_TRUE(policy_pattern_is_valid("sandbox.[!c]*"));
        ASSERT_FALSE(policy_pattern_is_valid(""));
        ASSERT_FALSE(policy_pattern_is_valid("Workspace.*"));
        ASSERT_FALSE(policy_pattern_is_valid("a/b"));
        ASSERT_FALSE(policy_pattern_is_valid("a b"));
        char longp[POLICY_PATTERN_MAX + 2];
        memset(longp, 'a', sizeof longp - 1);
        longp[sizeof longp - 1] = 0;
        ASSERT_FALSE(policy_pattern_is_valid(longp));
        ASSERT_EQ(policy_set_rule(&p, 1, "bad pattern", POLICY_DENY), -EINVAL);
        ASSERT_EQ(policy_set_rule(&p, -2, "a", POLICY_DENY), -EINVAL);
        ASSERT_EQ(policy_set_rule(&p, 1, "a", (PolicyEffect) 7), -EINVAL);
}

TEST(rule_strings_and_names)
{
        PolicyRule r = { .uid = POLICY_UID_ALL, .pattern = (char *) "*", .effect = POLICY_ALLOW };
        char buf[64];
        ASSERT_STREQ(policy_rule_to_string(&r, buf, sizeof buf), "allow all *");
        r.uid = 42;
        r.effect = POLICY_DENY;
        ASSERT_STREQ(policy_rule_to_string(&r, buf, sizeof buf), "deny uid 42 *");
        ASSERT_EQ(policy_effect_from_string("deny"), POLICY_DENY);
        ASSERT_EQ(policy_effect_from_string("allow"), POLICY_ALLOW);
        ASSERT_EQ(policy_effect_from_string("maybe"), _POLICY_EFFECT_INVALID);
}

TEST(copy)
{
        _cleanup_policy_ Policy p = POLICY_INIT, q = POLICY_INIT;
        p.default_effect = POLICY_DENY;
        ASSERT_OK(policy_set_rule(&p, 3, "x.*", POLICY_ALLOW));
        ASSERT_OK(policy_copy(&p, &q));
        ASSERT_EQ(q.default_effect, POLICY_DENY);
        ASSERT_EQ(q.n_rules, 1);
        ASSERT_STREQ(q.rules[0].pattern, "x.*");
        ASSERT_TRUE(q.rules[0].pattern != p.rules[0].pattern);
}
