/* What workspace.status, workspace.list and the stats actions show of a
 * workspace: its registry row plus what only the running engine knows
 * (uptime, restart state, ports, a usage sample). */
#pragma once

#include "engine/engine.h"
#include "registry/registry-workspace.h"
#include "runtime/stats.h"

#include <jansson.h>

/* The row's JSON (workspace_row_to_json()) with "uptime_secs", "restart"
 * and, while it runs, "restarts", "next_restart_in_ms" and
 * "last_run_status"; with_usage (status) also "ports" and, while it runs,
 * "usage" (a listing skips those: one query, not one per workspace). */
json_t *workspace_status_json(Engine *eng, Registry *reg, const WorkspaceRow *row, bool with_usage);

/* A sample as the JSON of workspace.stats and daemon.stats (cpu_percent,
 * memory_used/limit, pids, processes, threads, block_read/write,
 * oom_kills, pids_limit, net_rx/tx; null = no limit / no network). */
json_t *workspace_usage_json(const WorkspaceStats *st, double cpu_percent);

/* One running workspace's entry of daemon.stats: the usage JSON with
 * "sandbox", "workspace" and "pid"; NULL when it stopped since the
 * registry said it runs (it is then simply not listed, also when it
 * stops while being read). A sample that cannot be read otherwise (e.g.
 * adopted without a cgroup) is {"error": reason, ...}. */
json_t *workspace_sample_json(Engine *eng, const WorkspaceRow *row);
