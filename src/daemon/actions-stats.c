/* daemon.stats: one usage sample of every running workspace, the data
 * of `enclave stats` (SPEC §5, docs/actions.md).
 *
 *   daemon.stats {} -> {"workspaces": [{sandbox, workspace, pid, <usage of workspace.stats> | error}],
 *                       "elapsed_ms"}
 *
 * CPU % needs two samples. The daemon keeps the previous one per
 * running workspace (workspace_engine_stats(); the entries are
 * workspace_sample_json() of engine/workspace-status.h), so every request gets
 * the CPU use since the last sample anyone took (or since the start):
 * one request is enough, and a refreshing client sees the last interval.
 *
 * It runs on a worker (ACTION_LONG) although it never waits: each
 * workspace costs about a dozen cgroup and /proc file reads, ~0.13 ms on
 * the dev machine, so tens of workspaces take a few ms but a thousand
 * would hold the event loop for over 100 ms on every refresh of every
 * `enclave stats`. The worker adds ~0.3 ms (thread, registry
 * connection); bench/stats.sh measures both sides. */
#include "daemon/action.h"
#include "daemon/owner.h"
#include "registry/registry-workspace.h"
#include "engine/workspace-engine.h"
#include "engine/workspace-status.h"
#include "base/str.h"

#include <time.h>

static uint64_t now_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int action_daemon_stats(Call *c, Error *err)
{
        uint64_t t0 = now_ns();
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        WorkspaceRow *rows = NULL;
        size_t n = 0;
        int r = registry_workspace_list_owned(reg, call_owner_filter(c), -1, &rows, &n, err);
        if (r < 0)
                return error_wrap(err, "listing the workspaces");
        json_t *a = json_array();
        for (size_t i = 0; a && i < n; i++) {
                if (!streq(rows[i].state, WORKSPACE_STATE_RUNNING))
                        continue;
                json_t *o = workspace_sample_json(call_engine(c), &rows[i]);
                if (o)
                        json_array_append_new(a, o);
        }
        workspace_rows_free(rows, n);
        if (!a)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c,
                          json_pack("{s:o, s:f}", "workspaces", a, "elapsed_ms", (double) (now_ns() - t0) / 1e6),
                          -EBADF);
}

const Action stats_actions[] = {
        { PROTO_ACTION_DAEMON_STATS, action_daemon_stats, ACTION_LONG },
        {},
};
