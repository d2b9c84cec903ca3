/* Shared by the files of the workspace engine (workspace-engine.c,
 * workspace-lifecycle.c, workspace-exec.c); not for other areas. */
#pragma once

#include "engine/workspace-engine.h"
#include "engine/workspace-watch.h"
#include "runtime/hardening.h"

#include <jansson.h>
#include <pthread.h>

struct WorkspaceEngine {
        Engine *eng;
        pthread_mutex_t lock;
        pthread_cond_t changed;      /* CLOCK_MONOTONIC; broadcast when a workspace ended */
        RunningWorkspace **running;  /* under lock */
        size_t n_running;
        HardeningPlan *plan;
        int init_fd;
        WorkspaceWatch *watch;
        Registry *watch_registry;    /* the watch thread's own connection */
        RunningWorkspace **ended;    /* watch thread: ended in this wakeup, not yet recorded */
        size_t n_ended;
        RunningWorkspace *ended_oom; /* one that could not be listed (out of memory) */
        unsigned ncpus;
};

uint64_t engine_now_us(void);

/* A new RunningWorkspace (one reference); takes spec, proc and cg. */
RunningWorkspace *running_new(int64_t id, const char *sandbox, const char *name, WorkspaceSpec *spec,
                              uint32_t uid_base, WorkspaceProcess *proc, Cgroup **cg);

/* Put it in the table (which takes a reference) and watch its pidfd. */
int engine_track(WorkspaceEngine *e, RunningWorkspace *rw, Error *err);

/* Wait until rw's init is gone and cleaned up: 1, or 0 after timeout_ms. */
int engine_wait_gone(WorkspaceEngine *e, RunningWorkspace *rw, unsigned timeout_ms);

/* Remove a workspace's cgroup (killing what is left in it first). */
int engine_cgroup_remove(const Cgroup *cg, Error *err);

/* Env: PATH and HOME defaults, then each list in order; a later NAME=
 * replaces an earlier one. */
int engine_env_build(char ***ret, char *const *first, char *const *second, char *const *third);
