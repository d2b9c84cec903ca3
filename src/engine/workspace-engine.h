/* The daemon's workspace engine: create, start, stop, destroy, exec,
 * adopt and reconcile workspaces on top of the runtime library.
 *
 * What it keeps in memory: one RunningWorkspace per workspace whose
 * init runs (started by this daemon or adopted from a previous one),
 * with its pidfd, cgroup, limits and environment, so `exec` and `stats`
 * need no registry round trip. The registry holds the durable truth
 * (state, pid + start time, config); every change of it is one
 * transaction, and a change in flight (start, stop, destroy of one
 * workspace) is guarded by its claim (engine/claims.h), so two requests
 * for the same workspace never interleave and a crash never leaves a
 * half state.
 *
 * Init processes are spawned on the watch thread (workspace-watch.h),
 * which also learns of every init's exit and then cleans up: reads the
 * OOM counter, removes the cgroup, releases the network, records the
 * end (stopped/failed, exit status, OOM kills) and wakes whoever waits.
 *
 * Threads: every function here may be called from the loop or from a
 * worker; those that wait (start, stop, destroy) belong on workers.
 * The Registry passed in must be the calling thread's own. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "runtime/cgroup.h"
#include "runtime/exec.h"
#include "runtime/hardening.h"
#include "runtime/run-state.h"
#include "runtime/stats.h"
#include "runtime/workspace-process.h"
#include "spec/spec.h"

#include <jansson.h>
#include <stdatomic.h>

#define WORKSPACE_EXEC_DEFAULT_CWD "/home"

typedef struct WorkspaceEngine WorkspaceEngine;

/* A workspace whose init runs. Fields after "immutable" never change
 * while a reference is held; use workspace_running_unref(). */
typedef struct RunningWorkspace {
        atomic_int n_ref;
        /* immutable */
        int64_t id;
        uid_t owner_uid;         /* its sandbox's owner: whose tokens it gets, who may exec */
        char *sandbox;
        char *name;
        WorkspaceProcess proc;
        Cgroup *cgroup;          /* NULL when its cgroup could not be opened (adopted) */
        WorkspaceSpec spec;      /* as stored when it started: limits, env, auth, env_tokens for exec */
        uint32_t uid_base;
        unsigned cpu_seed;       /* from its id block: exec'd commands get init's CPUs */
        int64_t started_at;      /* wall clock */
        /* under the engine's lock */
        bool stop_requested;
        bool gone;               /* init exited and the cleanup ran */
        int exit_status;         /* once gone; -1 unknown */
        uint64_t oom_kills;      /* once gone */
        uint64_t sample_cpu_ns;  /* last stats sample (CPU %) */
        uint64_t sample_ns;
} RunningWorkspace;

void workspace_running_unref(RunningWorkspace *rw);
static inline void workspace_running_unrefp(RunningWorkspace **rw)
{
        if (*rw)
                workspace_running_unref(*rw);
}
#define _cleanup_running_ _cleanup_(workspace_running_unrefp)

/* ---- daemon lifetime ---- */

/* Daemon start, before reconcile_workspaces(): make sure root has
 * subordinate ids, load enclave-init into a sealed memfd ($ENCLAVE_INIT,
 * next to /proc/self/exe, ENCLAVE_LIBEXECDIR), build the hardening plan
 * (a configured LSM profile/label the host lacks is an error), start
 * the watch thread. */
int workspace_engine_init(Engine *eng, Error *err);

/* What a sandbox's setup needs to run confined like a workspace
 * (engine/sandbox-setup.c): the sealed init and the hardening plan.
 * -ENOTCONN before workspace_engine_init(). */
int workspace_engine_setup_basics(Engine *eng, int *ret_init_fd, const HardeningPlan **ret_plan);
/* Daemon stop: the watch thread ends; workspaces keep running. */
void workspace_engine_shutdown(Engine *eng);

/* ---- reconciliation (reconcile.c) ---- */

/* A workspace the registry says runs and whose pid + start time still
 * match: reopen it (pidfd, cgroup) and watch it again. */
int workspace_engine_adopt(Engine *eng, const ReconcileWorkspace *ws, Error *err);
/* A workspace whose init is gone while the daemon was down: read its
 * OOM counter and remove its cgroup (ReconcileFn). */
int workspace_engine_cleanup_dead(Engine *eng, const ReconcileWorkspace *ws, Error *err);

/* ---- operations ---- */

/* Validate (workspace_spec_check()), allocate an id block, record the
 * row (its config: the spec's SPEC_JSON_REGISTRY form; its ports) and
 * create the workspace's directories, all or nothing. The sandbox must
 * belong to owner (the caller), and a workspace_dir of a non-root owner
 * must be that owner's (it becomes root's /home inside). */
int workspace_engine_create(Engine *eng, Registry *reg, uid_t owner, const char *sandbox, const WorkspaceSpec *spec,
                            int64_t *ret_id, Error *err);

typedef struct WorkspaceStartInfo {
        bool already_running;
        pid_t pid;
        char ip[16];          /* "" without a lease */
        char **warnings;      /* NULL-terminated; shown once to the user */
        uint64_t elapsed_us;
} WorkspaceStartInfo;

void workspace_start_info_done(WorkspaceStartInfo *i);

int workspace_engine_start(Engine *eng, Registry *reg, const char *sandbox, const char *name, WorkspaceStartInfo *ret,
                           Error *err);

typedef struct WorkspaceStopInfo {
        bool was_running;
        bool killed;          /* SIGKILL was needed after the grace period */
        uint64_t elapsed_us;
} WorkspaceStopInfo;

/* SIGTERM, up to grace_ms, then SIGKILL; returns once init is gone and
 * cleaned up (no process, cgroup, veth of it left). */
int workspace_engine_stop(Engine *eng, Registry *reg, const char *sandbox, const char *name, unsigned grace_ms,
                          WorkspaceStopInfo *ret, Error *err);

/* Stop if running, then remove directories, id block, rows, cgroup. */
int workspace_engine_destroy(Engine *eng, Registry *reg, const char *sandbox, const char *name, unsigned grace_ms,
                             Error *err);

/* For the sandbox area (stop/destroy of a sandbox). Return the number
 * of workspaces stopped / destroyed. */
int workspaces_stop_all_in_sandbox(Engine *eng, Registry *r, int64_t sandbox_id, Error *err);
int workspaces_destroy_all_in_sandbox(Engine *eng, Registry *r, int64_t sandbox_id, Error *err);

/* Destroy every workspace of owner's sandboxes (< 0: of every sandbox),
 * for workspace.wipe. Returns the number destroyed. */
int workspaces_wipe(Engine *eng, Registry *r, int64_t owner, Error *err);

/* The running workspace (a new reference) or NULL when it does not run. */
RunningWorkspace *workspace_engine_get(Engine *eng, const char *sandbox, const char *name);
RunningWorkspace *workspace_engine_get_by_id(Engine *eng, int64_t id);

typedef struct WorkspaceExecSpec {
        char *const *argv;
        char *const *env;        /* extra "K=V" (-e), may be NULL */
        const char *cwd;         /* NULL: /home */
        const char *term;        /* TERM for a pty, may be NULL */
        bool pty;
        unsigned short rows, cols;
        int stdio[3];            /* without pty; < 0: /dev/null inside */
} WorkspaceExecSpec;

/* Start a command in the running workspace. On failure *ret_status is
 * the exit status `exec` reports (126, 127, 125). */
int workspace_engine_exec(Engine *eng, RunningWorkspace *rw, const WorkspaceExecSpec *spec, ExecProcess *ret,
                          int *ret_status, Error *err);

/* The login shell of the workspace's root from its /etc/passwd (read
 * inside the workspace, never through a host path), else /bin/sh. */
char *workspace_engine_shell(RunningWorkspace *rw);

/* The run command's restart state of a running workspace, as its init
 * last wrote it (run-state.h); -ENOENT when there is none. */
int workspace_engine_run_state(Engine *eng, const char *sandbox, const char *name, RunState *ret);

/* One sample of the workspace's usage; *ret_cpu_percent is the CPU use
 * since the previous sample (or since start), % of the whole machine. */
int workspace_engine_stats(Engine *eng, RunningWorkspace *rw, WorkspaceStats *ret, double *ret_cpu_percent,
                           Error *err);

