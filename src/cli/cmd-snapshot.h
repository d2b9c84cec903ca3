/* Snapshot commands, also reachable under their legacy names in
 * workspace_commands: `workspace snapshot` (create), `workspace
 * snapshot-list` (list), `workspace restore` (restore) and `workspace
 * snapshot-gc`. */
#pragma once

#include "cli/cli.h"

int cmd_snapshot_create(Cli *cli, int argc, char **argv);
int cmd_snapshot_list(Cli *cli, int argc, char **argv);
int cmd_snapshot_restore(Cli *cli, int argc, char **argv);
int cmd_snapshot_gc(Cli *cli, int argc, char **argv);
