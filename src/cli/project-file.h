/* ./Enclavefile for the commands that act on a project (up, down, ps,
 * logs and the short forms exec, enter and cp): loaded and validated
 * here, before the daemon is asked anything. */
#pragma once

#include "cli/cli.h"
#include "config/enclavefile.h"

/* Load ./Enclavefile. 0, or an exit code after printing every problem
 * as FILE:LINE:COL (or that there is none, and how to make one). */
int cli_load_enclavefile(Cli *cli, Enclavefile **ret);

/* The workspace the Enclavefile declares under name (its name or its
 * table key). 0, or an exit code after naming the declared ones. */
int cli_project_workspace(Cli *cli, const Enclavefile *ef, const char *name, const WorkspaceSpec **ret);
