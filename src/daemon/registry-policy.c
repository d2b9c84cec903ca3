/* Typed registry access for the policy engine: the pattern other areas
 * follow for their own tables (one file per concern, every change one
 * transaction, the database's message kept in the error). */
#include "daemon/policy.h"

static int load_default(Registry *r, Policy *p, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int k = registry_prepare(r, "SELECT decision FROM policy_default WHERE id = 1", &s, err);
        if (k < 0)
                return k;
        k = registry_step(r, s, err);
        if (k < 0)
                return k;
        p->default_effect = POLICY_ALLOW;
        if (k > 0) {
                PolicyEffect e = policy_effect_from_string((const char *) sqlite3_column_text(s, 0));
                if (e < 0)
                        return error_set(err, EUCLEAN, "registry: invalid default policy decision");
                p->default_effect = e;
        }
        return 0;
}

int registry_policy_load(Registry *r, Policy *ret, Error *err)
{
        _cleanup_policy_ Policy p = POLICY_INIT;
        int k = load_default(r, &p, err);
        if (k < 0)
                return k;

        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        k = registry_prepare(r, "SELECT uid, pattern, effect FROM policy_rules ORDER BY id", &s, err);
        if (k < 0)
                return k;
        while ((k = registry_step(r, s, err)) > 0) {
                const char *pattern = (const char *) sqlite3_column_text(s, 1);
                PolicyEffect e = policy_effect_from_string((const char *) sqlite3_column_text(s, 2));
                int q = e < 0 ? -EINVAL : policy_set_rule(&p, sqlite3_column_int64(s, 0), pattern ? pattern : "", e);
                if (q == -ENOMEM)
                        return error_set(err, ENOMEM, "out of memory");
                if (q < 0)
                        return error_set(err, EUCLEAN, "registry: invalid policy rule '%s'",
                                         pattern ? pattern : "");
        }
        if (k < 0)
                return k;
        *ret = p;
        p = (Policy) POLICY_INIT;
        return 0;
}

int registry_policy_set_rule(Registry *r, int64_t uid, const char *pattern, PolicyEffect effect, Error *err)
{
        if (!policy_pattern_is_valid(pattern))
                return error_set(err, EINVAL, "invalid policy pattern");
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        k = registry_run(r, err,
                         "INSERT INTO policy_rules (uid, pattern, effect) VALUES (?, ?, ?) "
                         "ON CONFLICT (uid, pattern) DO UPDATE SET effect = excluded.effect, "
                         "created_at = unixepoch()",
                         "itt", uid, pattern, policy_effect_to_string(effect));
        if (k < 0)
                return k;
        return registry_txn_commit(&txn, err);
}

int registry_policy_set_default(Registry *r, PolicyEffect effect, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        k = registry_run(r, err,
                         "INSERT INTO policy_default (id, decision) VALUES (1, ?) "
                         "ON CONFLICT (id) DO UPDATE SET decision = excluded.decision",
                         "t", policy_effect_to_string(effect));
        if (k < 0)
                return k;
        return registry_txn_commit(&txn, err);
}

int registry_policy_clear(Registry *r, bool all_scopes, int64_t uid, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int k = registry_txn_begin(r, &txn, err);
        if (k < 0)
                return k;
        int removed;
        if (all_scopes) {
                removed = registry_run(r, err, "DELETE FROM policy_rules", "");
                if (removed >= 0)
                        k = registry_run(r, err, "UPDATE policy_default SET decision = 'allow' WHERE id = 1", "");
        } else
                removed = registry_run(r, err, "DELETE FROM policy_rules WHERE uid = ?", "i", uid);
        if (removed < 0)
                return removed;
        if (k < 0)
                return k;
        k = registry_txn_commit(&txn, err);
        return k < 0 ? k : removed;
}
