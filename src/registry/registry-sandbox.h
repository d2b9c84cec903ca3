/* Typed access to the sandboxes table (registry-schema.c) and the
 * lifecycle states of a sandbox row.
 *
 * States:
 *   creating    the row exists while the rootfs is made; nothing may use it
 *   ready       usable: workspaces may be created and started in it
 *   stopped     `enclave stop`: its workspaces are stopped; start makes it ready
 *   setting-up  setup commands run in its rootfs; workspaces must not start
 *   destroying  its workspaces, cgroup and files are being removed
 *
 * A daemon that dies during creating or destroying leaves the row in
 * that state; sandbox_recover_interrupted() (engine/sandbox.h) finishes the job at the next
 * start (the row and its files go). One that dies during setting-up
 * leaves a rootfs with half a setup: the row goes back to ready with no
 * setup digest, so the next `up` runs setup again.
 *
 * Every function that changes a row is one transaction. Rows are
 * changed from one state to another only from the states a change
 * allows (a conditional UPDATE), so two requests racing for the same
 * sandbox never both win. */
#pragma once

#include "base/error.h"
#include "registry/registry.h"
#include "spec/spec.h"

#include <jansson.h>
#include <sys/types.h>

#define SANDBOX_STATE_CREATING "creating"
#define SANDBOX_STATE_READY "ready"
#define SANDBOX_STATE_STOPPED "stopped"
#define SANDBOX_STATE_SETTING_UP "setting-up"
#define SANDBOX_STATE_DESTROYING "destroying"

typedef struct SandboxRow {
        int64_t id;
        uid_t owner_uid;          /* who made it; only root and the owner see it */
        char *name;
        char *suite;
        char *mirror;
        char *bootstrap_method;
        char *state;
        char *setup_digest;       /* NULL until setup succeeded once */
        Limits caps;              /* aggregate caps (spec/limits.h); 0 = none */
        int64_t created_at;
        int64_t updated_at;
        int64_t n_workspaces;     /* filled by get/list */
        int64_t n_running;        /* workspaces in running/starting/stopping */
} SandboxRow;

void sandbox_row_done(SandboxRow *row);
void sandbox_rows_free(SandboxRow *rows, size_t n);

/* Insert a new row in state creating from owner_uid, name, suite,
 * mirror, bootstrap_method and the caps of row; *ret_id gets its id.
 * -EEXIST with "sandbox X already exists" when the name is taken;
 * -EDQUOT when a non-root owner already has max_per_owner sandboxes
 * (< 0: no cap). The count and the insert are one transaction. */
int registry_sandbox_insert(Registry *r, const SandboxRow *row, int64_t max_per_owner, int64_t *ret_id, Error *err);

/* One row by name; -ENOENT with "no sandbox X" and a hint when absent. */
int registry_sandbox_get(Registry *r, const char *name, SandboxRow *ret, Error *err);

/* Every row, ordered by name. */
int registry_sandbox_list(Registry *r, SandboxRow **ret, size_t *ret_n, Error *err);
/* The rows of one owner (owner >= 0), or every row (owner < 0). */
int registry_sandbox_list_owned(Registry *r, int64_t owner, SandboxRow **ret, size_t *ret_n, Error *err);

/* Move row id from one of the states in from (NULL-terminated) to
 * state to. Returns 1 when it moved, 0 when the row was in another
 * state (or gone). */
int registry_sandbox_transition(Registry *r, int64_t id, const char *const *from, const char *to, Error *err);

/* Like registry_sandbox_transition(), but refused (returns 0) while the
 * sandbox has workspaces (any_workspace) or running workspaces (not
 * any_workspace): the count and the state change are one transaction,
 * so a workspace cannot slip in between. *ret_count gets the count
 * that refused it. */
int registry_sandbox_transition_if_idle(Registry *r, int64_t id, const char *const *from, const char *to,
                                        bool any_workspace, int64_t *ret_count, Error *err);

/* Store the digest of the setup list that last ran to completion. */
int registry_sandbox_set_setup_digest(Registry *r, int64_t id, const char *digest, Error *err);

/* Delete the row (its workspaces must be gone: -EBUSY otherwise). */
int registry_sandbox_delete(Registry *r, int64_t id, Error *err);

/* Names of the workspaces of a sandbox, comma-separated (for
 * messages); "" when none. */
int registry_sandbox_workspace_names(Registry *r, int64_t id, char **ret, Error *err);

/* The row as the JSON of sandbox.status / sandbox.list: every cap, null
 * when not set. */
json_t *sandbox_row_to_json(const SandboxRow *row);
/* Caps as the caps column keeps them: the set ones. NULL on OOM. */
json_t *sandbox_caps_json(const Limits *caps);

