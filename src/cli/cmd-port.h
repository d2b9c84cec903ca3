/* enclave workspace port publish|unpublish|list (cmd-port.c); the
 * table port_commands in cmd-workspace.c points at these. */
#pragma once

#include "cli/cli.h"

/* publish <sb> <ws> 127.0.0.1:HOST:WS[/tcp] */
int cmd_port_publish(Cli *cli, int argc, char **argv);
/* unpublish <sb> <ws> 127.0.0.1:HOST[/tcp] */
int cmd_port_unpublish(Cli *cli, int argc, char **argv);
/* list <sb> <ws>: declared and active mappings */
int cmd_port_list(Cli *cli, int argc, char **argv);
