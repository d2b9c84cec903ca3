/* Carrying out the plan of `enclave up` (SPEC §3, docs/lifecycle.md):
 * the daemon's project.up adapter decodes the request, checks what the
 * caller may do, and hands the Enclavefile to project_up(), which reads
 * the current state (project-current.h), builds the plan (project.h)
 * and runs it step by step, reporting through a ProjectReporter (the
 * adapter turns its callbacks into "plan", "note", "step", "warning"
 * and "progress" events).
 *
 * Every step is idempotent and leaves a consistent registry, so when one
 * fails the next up carries on from there: the error names the step, the
 * workspace and the cause. Workspace steps go on after one workspace
 * fails (the others still come up); sandbox steps stop the run. */
#pragma once

#include "base/error.h"
#include "config/enclavefile.h"
#include "engine/engine.h"
#include "engine/project.h"
#include "storage/progress.h"

#include <jansson.h>
#include <sys/types.h>

/* How the run reports. The callbacks may be called from several threads
 * at once (workspaces start in parallel); any of them may be NULL. */
typedef struct ProjectReporter {
        void *userdata;
        /* The plan, once, before any step. */
        void (*plan)(void *userdata, const ProjectPlan *plan);
        /* What up leaves as is and why (the plan's notes). */
        void (*note)(void *userdata, const char *message);
        /* One step: step ("sandbox.create", "workspace.start", ...),
         * workspace (NULL for sandbox steps), status ("begin", "done",
         * "failed") and a line for people. */
        void (*step)(void *userdata, const char *step, const char *workspace, const char *status,
                     const char *message);
        void (*warning)(void *userdata, const char *message);
        /* True once the run should stop at the next step. */
        bool (*cancelled)(void *userdata);
        /* Progress and cancellation of bootstrap and setup. */
        StorageMonitor monitor;
} ProjectReporter;

/* Who asks: the new sandbox's owner, who may hold at most max_sandboxes
 * (< 0: no cap). */
typedef struct ProjectCaller {
        uid_t uid;
        int64_t max_sandboxes;
} ProjectCaller;

/* Bring the sandbox of ef (valid: project_config_from_json) to what it
 * declares. On success *ret is the result:
 *   {"sandbox", "project", "created", "rebuilt", "setup": {"ran",
 *    "commands"}, "workspaces": [{"name", "action", "changed",
 *    "restarted", "started", "ok", "pid"?}], "orphans",
 *    "removed_orphans", "warnings", "notes"}
 * A failed sandbox step returns its error; failed workspace steps give
 * -EIO naming each; a cancelled run -ECANCELED. */
int project_up(Engine *eng, Registry *reg, const Enclavefile *ef, const ProjectOptions *opts,
               const ProjectCaller *caller, const ProjectReporter *rep, json_t **ret, Error *err);

/* ---- for the parts of the run (project-up*.c) ---- */

void project_report_step(const ProjectReporter *rep, const char *step, const char *workspace, const char *status,
                         const char *fmt, ...) _printf_(5, 6);
bool project_report_cancelled(const ProjectReporter *rep);
