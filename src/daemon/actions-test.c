/* Actions that exist only for the test suite, when the daemon runs with
 * the hidden option --enable-test-actions. */
#include "daemon/action.h"
#include "registry/registry.h"
#include "daemon/owner.h"
#include "registry/registry-workspace.h"
#include "engine/workspace-engine.h"
#include "engine/claims.h"

#include <time.h>

/* Sleep in short slices so cancellation is noticed quickly. */
static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L };
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

/* debug.sleep {"seconds": N, "hold_transaction": bool}: a long action
 * that streams one event per second. With hold_transaction it keeps an
 * uncommitted write open the whole time, so a kill -9 in the middle
 * shows that the registry comes back without it. */
static int action_debug_sleep(Call *c, Error *err)
{
        int64_t seconds;
        bool hold;
        int r = call_param_int(c, "seconds", false, 0, 3600, 10, &seconds, err);
        if (r < 0 || (r = call_param_bool(c, "hold_transaction", false, &hold, err)) < 0)
                return r;

        _cleanup_txn_ RegistryTxn txn = {};
        if (hold) {
                Registry *reg = call_registry(c, err);
                if (!reg)
                        return -err->code;
                r = registry_txn_begin(reg, &txn, err);
                if (r < 0)
                        return r;
                r = registry_run(reg, err, "INSERT INTO policy_rules (uid, pattern, effect) VALUES (?, ?, 'deny')",
                                 "it", (int64_t) 4294967294LL, "debug.uncommitted");
                if (r < 0)
                        return r;
        }
        for (int64_t i = 1; i <= seconds; i++) {
                for (int slice = 0; slice < 10; slice++) {
                        if (call_cancelled(c))
                                return error_set(err, ECANCELED, "debug.sleep cancelled after %lld s", (long long) i - 1);
                        sleep_ms(100);
                }
                r = call_event(c, json_pack("{s:s, s:I, s:I}", "type", "tick", "second", (json_int_t) i, "of",
                                            (json_int_t) seconds));
                if (r < 0)
                        return error_set(err, -r, "debug.sleep: client gone");
        }
        /* The held write is never meant to be kept. */
        return call_reply(c, json_pack("{s:I, s:b}", "slept", (json_int_t) seconds, "held_transaction", hold), -EBADF);
}

typedef struct Hold {
        int64_t id; /* -1 once released */
} Hold;

static void hold_release(Hold *h)
{
        if (h->id >= 0)
                claim_release(h->id, CLAIM_LIFECYCLE);
        h->id = -1;
}

/* Wait up to seconds; false when cancelled first. */
static bool wait_uncancelled(Call *c, int64_t seconds)
{
        for (int64_t slice = 0; slice < seconds * 10; slice++) {
                if (call_cancelled(c))
                        return false;
                sleep_ms(100);
        }
        return !call_cancelled(c);
}

/* debug.hold_workspace {"sandbox", "workspace", "seconds"}: hold the
 * workspace's claim, the one start, stop, destroy and snapshot restore
 * take, for up to seconds, so that a test can show deterministically
 * what another request does meanwhile. Streams {"type": "held"} once
 * the claim is held; the claim is released before the reply
 * {"held_seconds"}, and at once when the call is cancelled. */
static int action_debug_hold_workspace(Call *c, Error *err)
{
        const char *sandbox, *name;
        int64_t seconds;
        int r = call_param_string(c, "sandbox", true, &sandbox, err);
        if (r >= 0)
                r = call_param_string(c, "workspace", true, &name, err);
        if (r >= 0)
                r = call_param_int(c, "seconds", false, 0, 3600, 10, &seconds, err);
        if (r < 0)
                return r;
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -err->code;
        _cleanup_workspace_row_ WorkspaceRow row = {};
        r = owner_check_workspace(c, reg, sandbox, name, err);
        if (r >= 0)
                r = registry_workspace_get(reg, sandbox, name, &row, err);
        if (r < 0)
                return r;
        r = claim_take(row.id, CLAIM_LIFECYCLE, row.sandbox, row.name, err);
        if (r < 0)
                return r;
        _cleanup_(hold_release) Hold hold = { row.id };
        r = call_event(c, json_pack("{s:s, s:s, s:s, s:I}", "type", "held", "sandbox", row.sandbox, "workspace",
                                    row.name, "seconds", (json_int_t) seconds));
        if (r < 0)
                return error_set(err, -r, "debug.hold_workspace: client gone");
        if (!wait_uncancelled(c, seconds))
                return error_set(err, ECANCELED, "debug.hold_workspace cancelled");
        hold_release(&hold);
        return call_reply(c, json_pack("{s:I}", "held_seconds", (json_int_t) seconds), -EBADF);
}

const Action test_actions[] = {
        { PROTO_ACTION_DEBUG_SLEEP, action_debug_sleep, ACTION_LONG | ACTION_TEST },
        { PROTO_ACTION_DEBUG_HOLD_WORKSPACE, action_debug_hold_workspace, ACTION_LONG | ACTION_TEST },
        {},
};
