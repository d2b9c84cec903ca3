/* Startup reconciliation: after a crash (or a reboot) the registry may
 * say a workspace runs whose processes are gone. Each such workspace is
 * handed to the cleanup hooks of the areas that own its resources, then
 * marked stopped. A workspace whose pid 1 still runs with the recorded
 * start time is left alone: workspaces outlive a daemon restart. */
#include "engine/engine.h"
#include "engine/reconcile.h"
#include "engine/workspace-engine.h"
#include "engine/network.h"
#include "registry/registry-network.h"
#include "base/log.h"
#include "base/process.h"

#include <string.h>

/* The cleanup hooks, run in order for every dead workspace. An area
 * that owns per-workspace resources (mounts, veths and addresses,
 * cgroups, firewall entries, port proxies) adds its function here. */
static const ReconcileFn reconcile_hooks[] = {
        NULL, /* keeps the array non-empty; skipped */
        workspace_engine_cleanup_dead, /* workspace-engine.c: cgroup (and its OOM count) */
};

typedef struct Row {
        ReconcileWorkspace ws;
        char *sandbox;
        char *name;
        char *ip;
} Row;

static void rows_free(Row *rows, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(rows[i].sandbox);
                free(rows[i].name);
                free(rows[i].ip);
        }
        free(rows);
}

/* Read the candidates first: hooks may use the registry themselves. */
static int load_candidates(Registry *reg, Row **ret, size_t *ret_n, Error *err)
{
        _cleanup_stmt_ sqlite3_stmt *s = NULL;
        int r = registry_prepare(reg,
                                 "SELECT w.id, s.name, w.name, w.pid, w.pid_start_time, w.ip, w.uid_base "
                                 "FROM workspaces w JOIN sandboxes s ON s.id = w.sandbox_id "
                                 "WHERE w.state IN ('running', 'starting', 'stopping') ORDER BY w.id",
                                 &s, err);
        if (r < 0)
                return r;
        Row *rows = NULL;
        size_t n = 0;
        while ((r = registry_step(reg, s, err)) > 0) {
                Row *nr = realloc(rows, (n + 1) * sizeof *nr);
                if (!nr) {
                        r = error_set(err, ENOMEM, "out of memory");
                        break;
                }
                rows = nr;
                Row *row = &rows[n++];
                *row = (Row) {};
                row->ws.id = sqlite3_column_int64(s, 0);
                row->ws.pid = (pid_t) sqlite3_column_int64(s, 3);
                row->ws.pid_start_time = (uint64_t) sqlite3_column_int64(s, 4);
                row->ws.uid_base = sqlite3_column_int64(s, 6);
                if (registry_column_strdup(s, 1, &row->sandbox) < 0 || registry_column_strdup(s, 2, &row->name) < 0 ||
                    registry_column_strdup(s, 5, &row->ip) < 0) {
                        r = error_set(err, ENOMEM, "out of memory");
                        break;
                }
                row->ws.sandbox = row->sandbox;
                row->ws.name = row->name;
                row->ws.ip = row->ip;
        }
        if (r < 0) {
                rows_free(rows, n);
                return r;
        }
        *ret = rows;
        *ret_n = n;
        return 0;
}

static int mark_stopped(Registry *reg, int64_t id, Error *err)
{
        _cleanup_txn_ RegistryTxn txn = {};
        int r = registry_txn_begin(reg, &txn, err);
        if (r < 0)
                return r;
        r = registry_run(reg, err,
                         "UPDATE workspaces SET state = 'stopped', pid = NULL, pid_start_time = NULL, "
                         "stopped_at = unixepoch(), updated_at = unixepoch() WHERE id = ?",
                         "i", id);
        if (r < 0)
                return r;
        return registry_txn_commit(&txn, err);
}

int reconcile_workspaces(Engine *eng, Error *err)
{
        Row *rows = NULL;
        size_t n = 0;
        int r = load_candidates(eng->registry, &rows, &n, err);
        if (r < 0)
                return error_wrap(err, "reconciling workspaces");

        int stopped = 0;
        for (size_t i = 0; i < n; i++) {
                const ReconcileWorkspace *ws = &rows[i].ws;
                if (ws->pid > 0 && pid_is_same_process(ws->pid, ws->pid_start_time)) {
                        log_info("workspace %s/%s still runs (pid %d)", ws->sandbox, ws->name, (int) ws->pid);
                        /* Watch it again; one that died just now is cleaned up below. */
                        _cleanup_error_ Error aerr = ERROR_INIT;
                        int a = workspace_engine_adopt(eng, ws, &aerr);
                        if (a >= 0)
                                continue;
                        log_warn("workspace %s/%s: cannot adopt it: %s", ws->sandbox, ws->name, error_msg(&aerr));
                        if (a != -ESRCH)
                                continue;
                }
                log_info("workspace %s/%s: its process %d is gone; cleaning up and marking it stopped", ws->sandbox,
                         ws->name, (int) ws->pid);
                for (size_t h = 0; h < ELEMENTSOF(reconcile_hooks); h++) {
                        if (!reconcile_hooks[h])
                                continue;
                        _cleanup_error_ Error herr = ERROR_INIT;
                        if (reconcile_hooks[h](eng, ws, &herr) < 0)
                                log_warn("workspace %s/%s: cleanup: %s", ws->sandbox, ws->name, error_msg(&herr));
                }
                _cleanup_error_ Error merr = ERROR_INIT;
                if (mark_stopped(eng->registry, ws->id, &merr) < 0)
                        log_warn("workspace %s/%s: %s", ws->sandbox, ws->name, error_msg(&merr));
                else
                        stopped++;
        }
        rows_free(rows, n);
        return stopped;
}

/* An adopted init that ends before the network is set up (between
 * reconcile_workspaces() and network_init()) has its end handled while
 * there is no network to release its address from, and
 * network_reconcile() may still have read its row as running. Once the
 * network is up, an address whose workspace's init is not alive goes. */
void reconcile_network_ends(Engine *eng)
{
        _cleanup_free_ NetLease *leases = NULL;
        size_t n = 0;
        _cleanup_error_ Error err = ERROR_INIT;
        if (registry_leases_list(eng->registry, &leases, &n, &err) < 0) {
                log_warn("network: checking address leases: %s", error_msg(&err));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                _cleanup_running_ RunningWorkspace *rw = workspace_engine_get_by_id(eng, leases[i].workspace_id);
                if (rw && pid_is_same_process(rw->proc.pid, rw->proc.start_time))
                        continue;
                if (!rw) {
                        _cleanup_stmt_ sqlite3_stmt *s = NULL;
                        bool alive = false;
                        if (registry_prepare(eng->registry, "SELECT pid, pid_start_time FROM workspaces WHERE id = ? AND "
                                             "state = 'running'", &s, NULL) >= 0 &&
                            registry_bind(eng->registry, s, NULL, "i", leases[i].workspace_id) >= 0 &&
                            registry_step(eng->registry, s, NULL) > 0)
                                alive = pid_is_same_process((pid_t) sqlite3_column_int64(s, 0),
                                                            (uint64_t) sqlite3_column_int64(s, 1));
                        if (alive)
                                continue; /* runs, though not adopted: doctor's state.untracked */
                }
                log_info("network: workspace %lld ended while the daemon started; releasing its address",
                         (long long) leases[i].workspace_id);
                network_release_workspace(eng, leases[i].workspace_id);
        }
}
