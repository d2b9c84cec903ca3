/* Projects: what `enclave up` has to do to turn the current registry
 * state into what an Enclavefile declares (SPEC §3, docs/lifecycle.md).
 *
 * The CLI loads and validates the Enclavefile and sends the resolved
 * configuration (enclavefile_to_json()) in one project.up request. The
 * daemon rebuilds the model from that JSON with project_config_from_json()
 * — the spec codec checks every value again, because a request is not a
 * parsed file — and compares it with the registry: project_plan_build()
 * is a pure function from (desired, current, options) to the ordered
 * steps, so the decisions "create", "run setup again", "restart only the
 * changed workspace" are unit-tested without a daemon
 * (tests/unit/test-project-plan.c).
 *
 * A workspace's *definition* is everything of its spec that decides how
 * it runs: run, restart, workspace_dir, the limits, auth, env_tokens,
 * ports and env (not its name or table key). Definitions are compared as
 * their SPEC_JSON_DEFINITION objects (spec/spec.h), built from the
 * decoded spec on both sides, so a reordered port list or env table is
 * no change and the way the registry stores a spec does not matter. */
#pragma once

#include "base/error.h"
#include "config/enclavefile.h"

#include <jansson.h>

/* ---- the desired state ---- */

/* Rebuild an Enclavefile model (without tables) from the JSON of
 * enclavefile_to_json() (with "path" the project identity), checking
 * every spec (sandbox_spec_check(), workspace_spec_check()) and that
 * names and host ports are unique. Unknown members are ignored (newer
 * CLIs). err names the place ("workspaces[2]: memory_mb must be ..."). */
int project_config_from_json(json_t *config, Enclavefile **ret, Error *err);

/* ---- the current state ---- */

typedef struct ProjectCurrentWorkspace {
        const char *name;
        const char *state;   /* workspaces.state: created, running, stopped, ... */
        json_t *definition;  /* SPEC_JSON_DEFINITION of its stored spec (borrowed); NULL when unknown */
} ProjectCurrentWorkspace;

typedef struct ProjectCurrent {
        bool sandbox_exists;
        const char *sandbox_state; /* registry-sandbox.h states */
        const char *setup_digest;  /* NULL: setup never completed */
        const char *suite;
        const char *mirror;
        const char *bootstrap_method;
        Limits caps;               /* aggregate caps, 0 = none */
        const ProjectCurrentWorkspace *workspaces;
        size_t n_workspaces;
} ProjectCurrent;

typedef struct ProjectOptions {
        bool rebuild;        /* destroy and recreate the sandbox */
        bool remove_orphans; /* destroy workspaces the file no longer declares */
} ProjectOptions;

/* ---- the plan ---- */

typedef enum ProjectWorkspaceAction {
        PROJECT_WS_UNCHANGED, /* exists with the same definition */
        PROJECT_WS_CREATE,    /* missing (or the sandbox is new) */
        PROJECT_WS_UPDATE,    /* definition changed: store it */
        _PROJECT_WS_ACTION_MAX,
        _PROJECT_WS_ACTION_INVALID = -EINVAL,
} ProjectWorkspaceAction;

typedef struct ProjectWorkspaceStep {
        const WorkspaceSpec *ws; /* borrowed from the desired Enclavefile */
        ProjectWorkspaceAction action;
        char **changed;   /* changed definition keys (UPDATE), NULL-terminated, never NULL */
        bool running;     /* running now (before the plan) */
        bool restart;     /* running and changed beyond its ports: stop, then start */
        bool republish;   /* running and only its ports changed: republish without a restart */
        bool start;       /* not running now: start it */
} ProjectWorkspaceStep;

typedef struct ProjectPlan {
        bool destroy_sandbox;   /* --rebuild of an existing sandbox */
        bool create_sandbox;
        bool start_sandbox;     /* stopped by `down`: make it ready again */
        bool update_caps;       /* aggregate caps changed */
        bool run_setup;         /* new sandbox, changed setup list, or setup never completed */
        char **notes;           /* what up leaves as is and why (NULL-terminated, never NULL) */
        ProjectWorkspaceStep *workspaces; /* in document order */
        size_t n_workspaces;
        char **orphans;         /* registry workspaces the file does not declare (sorted) */
        bool remove_orphans;
} ProjectPlan;

/* Decide the steps. desired must be valid (project_config_from_json or
 * enclavefile_load); the plan borrows its workspaces. A sandbox in a
 * transient state (creating, destroying, setting-up) is -EBUSY with a
 * message saying what to do. */
int project_plan_build(const Enclavefile *desired, const ProjectCurrent *current, const ProjectOptions *opts,
                       ProjectPlan **ret, Error *err);

ProjectPlan *project_plan_free(ProjectPlan *p);
DEFINE_CLEANUP_FUNC(ProjectPlan, project_plan_free);
#define _cleanup_project_plan_ _cleanup_(project_plan_freep)

/* True when the plan changes nothing (an unchanged re-up of a running
 * project). */
bool project_plan_is_noop(const ProjectPlan *p);

/* "created", "updated", "unchanged" */
const char *project_workspace_action_to_string(ProjectWorkspaceAction a);

/* The plan as JSON, for events and tests:
 * {"sandbox": {"destroy", "create", "start", "update_caps", "setup"},
 *  "workspaces": [{"name", "action", "changed", "restart", "republish", "start"}],
 *  "orphans": [...], "remove_orphans", "notes": [...]} */
json_t *project_plan_to_json(const ProjectPlan *p);
