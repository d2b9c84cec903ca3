/* The start phase of `enclave up` (project-up.h): the declared
 * workspaces start on a few threads at once. Most of a start is the
 * engine's own work (cgroups, veth, registry commit), which overlaps
 * well; each thread has its own registry connection. */
#pragma once

#include "base/error.h"
#include "engine/engine.h"
#include "engine/project-up.h"

typedef struct ProjectStartSlot {
        const char *name;
        bool wanted;   /* start this one */
        int r;         /* < 0 with err when its start failed */
        pid_t pid;
        char **warnings;
        Error err;
} ProjectStartSlot;

/* Start the wanted workspaces of sandbox (reg: the caller's connection,
 * used by the calling thread), reporting a "workspace.start" step for
 * each one started. Each slot gets its own outcome. */
void project_start_all(Engine *eng, Registry *reg, const char *sandbox, const ProjectReporter *rep,
                       ProjectStartSlot *slots, size_t n);

void project_start_slots_free(ProjectStartSlot *slots, size_t n);
