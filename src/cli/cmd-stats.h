/* enclave stats [--no-stream] [--json]: resource usage of every running
 * workspace (SPEC §5) from the daemon's `daemon.stats`. On a terminal
 * the table is redrawn in place once a second until Ctrl-C; otherwise
 * (or with --no-stream / --json) one sample is printed. */
#pragma once

#include "cli/cli.h"

int cmd_stats(Cli *cli, int argc, char **argv);
