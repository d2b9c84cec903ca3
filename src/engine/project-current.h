/* The current state of a project as the `up` planner compares it
 * (project.h ProjectCurrent): the sandbox row, its workspace rows and
 * each one's stored definition, read from the registry. */
#pragma once

#include "base/error.h"
#include "engine/project.h"
#include "registry/registry-sandbox.h"
#include "registry/registry-workspace.h"

typedef struct ProjectState {
        SandboxRow sandbox;
        bool exists;
        WorkspaceRow *rows;
        size_t n_rows;
        ProjectCurrentWorkspace *workspaces;
        json_t **definitions;
} ProjectState;

void project_state_done(ProjectState *s);

/* Read sandbox and its workspaces; a missing sandbox is no error
 * (exists stays false). */
int project_state_load(Registry *reg, const char *sandbox, ProjectState *ret, Error *err);

/* The planner's view (borrows from s). */
ProjectCurrent project_state_view(const ProjectState *s);

/* The row of workspace name, or NULL. */
const WorkspaceRow *project_state_row(const ProjectState *s, const char *name);
