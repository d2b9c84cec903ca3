/* Typed access to the workspaces and id_ranges tables (registry-schema.c).
 *
 * States of a workspace row:
 *   created   made by workspace.create, never started
 *   running   init runs (pid + pid_start_time identify it)
 *   stopped   init ended because it was asked to, or exited with 0
 *   failed    init ended on its own with a non-zero status or a signal
 * ("starting"/"stopping" are never written: an operation in flight is
 * kept in the daemon's memory, so a crash never leaves a half state.)
 *
 * The config column holds the workspace's spec (spec/spec.h) in its
 * SPEC_JSON_REGISTRY form: run, restart, env (["K=V", ...]), limits
 * {the set ones of spec/limits.h}, workspace_dir, auth (provider NAMES)
 * and env_tokens (variable NAMES) — never a token — plus the engine's
 * workspace_dir_id. Ports live in the ports table (network.h). */
#pragma once

#include "base/error.h"
#include "registry/registry.h"
#include "spec/spec.h"

#include <jansson.h>
#include <sys/types.h>

#define WORKSPACE_STATE_CREATED "created"
#define WORKSPACE_STATE_RUNNING "running"
#define WORKSPACE_STATE_STOPPED "stopped"
#define WORKSPACE_STATE_FAILED "failed"

typedef struct WorkspaceRow {
        int64_t id;
        int64_t sandbox_id;
        uid_t owner_uid;     /* the owner of its sandbox */
        char *sandbox;       /* sandbox name */
        char *sandbox_state;
        char *name;
        char *state;
        json_t *config;      /* never NULL once loaded */
        pid_t pid;           /* 0 when none */
        uint64_t pid_start_time;
        uint32_t uid_base;
        uint32_t gid_base;
        char *ip;            /* NULL when none */
        int64_t created_at;
        int64_t started_at;  /* 0 when never */
        int64_t stopped_at;  /* 0 when never */
        int64_t exit_status; /* -1 when none */
        int64_t oom_kills;
} WorkspaceRow;

void workspace_row_done(WorkspaceRow *row);
void workspace_rows_free(WorkspaceRow *rows, size_t n);
#define _cleanup_workspace_row_ _cleanup_(workspace_row_done)

/* -ENOENT saying which is missing: the sandbox, or the workspace in it. */
int registry_workspace_not_found(Registry *r, const char *sandbox, const char *name, Error *err);

/* One row by sandbox and name. -ENOENT with "no workspace X in sandbox
 * Y" (and a hint) when absent; also when the sandbox is absent. */
int registry_workspace_get(Registry *r, const char *sandbox, const char *name, WorkspaceRow *ret, Error *err);

/* The row named name in whichever sandbox holds it: -ENOENT when none,
 * -ENOTUNIQ naming the sandboxes when several do. Only the rows of
 * owner count (owner < 0: every row), so a user never learns the
 * sandboxes of another from the message. */
int registry_workspace_find_owned(Registry *r, int64_t owner, const char *name, WorkspaceRow *ret, Error *err);

/* Rows of one sandbox (sandbox_id >= 0) or of all (sandbox_id < 0),
 * ordered by sandbox name then workspace name. */
int registry_workspace_list(Registry *r, int64_t sandbox_id, WorkspaceRow **ret, size_t *ret_n, Error *err);
/* The same, only the rows of owner (owner >= 0). */
int registry_workspace_list_owned(Registry *r, int64_t owner, int64_t sandbox_id, WorkspaceRow **ret, size_t *ret_n,
                                  Error *err);

/* Every id base handed out (the id_ranges table). */
int registry_id_bases(Registry *r, uint32_t **ret, size_t *ret_n, Error *err);

/* Insert a workspace of owner (who must own the sandbox: a trigger
 * refuses anything else) in state created with its config and its id
 * block, inside the caller's transaction. -EEXIST with a message when
 * the name is taken in the sandbox or the block is in use; -EDQUOT
 * when a non-root owner has max_per_owner workspaces already (< 0: no
 * cap). */
int registry_workspace_insert(Registry *r, int64_t sandbox_id, uid_t owner, const char *name, json_t *config,
                              uint32_t id_base, int64_t max_per_owner, int64_t *ret_id, Error *err);

/* One transaction: state running with pid, start time, started_at. */
int registry_workspace_set_running(Registry *r, int64_t id, pid_t pid, uint64_t start_time, Error *err);

/* One transaction: state (stopped/failed), no pid, exit status (< 0:
 * NULL), oom_kills increased by oom_add, stopped_at. */
int registry_workspace_set_ended(Registry *r, int64_t id, const char *state, int exit_status, uint64_t oom_add,
                                 Error *err);
/* The same inside the caller's transaction (several ends, one commit). */
int registry_workspace_record_end(Registry *r, int64_t id, const char *state, int exit_status, uint64_t oom_add,
                                  Error *err);

/* Delete the row (id range, lease and ports go with it: ON DELETE
 * CASCADE). Returns 1 when a row was deleted. */
int registry_workspace_delete(Registry *r, int64_t id, Error *err);

/* The row as the JSON of workspace.status / workspace.list. */
json_t *workspace_row_to_json(const WorkspaceRow *row);

/* The row's spec, decoded from its config (the name is the row's). */
int workspace_config_spec(const WorkspaceRow *row, WorkspaceSpec *ret, Error *err);
/* The restart policy stored in a config ("no" when none). */
RunRestart workspace_config_restart(json_t *config);
