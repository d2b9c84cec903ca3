#include "cli/cli.h"

const Command port_commands[] = {
        { "publish", "<sb> <ws> 127.0.0.1:HOST:WS[/tcp]", "publish a workspace port on host loopback", cli_not_built },
        { "unpublish", "<sb> <ws> 127.0.0.1:HOST[/tcp]", "stop publishing a port", cli_not_built },
        { "list", "<sb> <ws>", "declared and active port mappings", cli_not_built },
        {},
};

const Command workspace_commands[] = {
        { "create", "<sb> <name> [limits] [--workspace-dir P] [--run CMD] [--env K=V] [--port M]", "create a workspace", cli_not_built },
        { "start", "<sb> <ws>", "start a workspace", cli_not_built },
        { "stop", "<sb> <ws>", "stop a workspace", cli_not_built },
        { "destroy", "<sb> <ws>", "destroy a workspace and its files", cli_not_built },
        { "status", "<sb> <ws>", "show a workspace", cli_not_built },
        { "remove", "<sb> <ws>", "remove a workspace", cli_not_built },
        { "list", "[--sandbox-id SB]", "list workspaces", cli_not_built },
        { "wipe", "[--yes]", "destroy every workspace", cli_not_built },
        { "enter", "<sb> <ws> [--cwd DIR] [--shell SH]", "open a shell in a workspace", cli_not_built },
        { "exec", "<sb> <ws> [--cwd DIR] [-t] [-i] [-e K=V]... -- CMD...", "run a command in a workspace", cli_not_built },
        { "run", "<sb> <ws> [...] -- CMD...", "same as exec", cli_not_built },
        { "port", "publish|unpublish|list", "loopback port publishing", NULL, port_commands },
        { "logs", "[<sb>] <ws> [--tail N] [--follow]", "show a workspace's log", cli_not_built },
        { "stats", "[<sb>] <ws>", "resource usage of a workspace", cli_not_built },
        { "snapshot-gc", "<sb> <ws> [--keep N]", "delete old snapshots", cli_not_built },
        { "snapshot", "<sb> <ws> [--name N]", "alias of 'snapshot create'", cli_not_built, NULL, true },
        { "snapshot-list", "<sb> <ws>", "alias of 'snapshot list'", cli_not_built, NULL, true },
        { "restore", "<sb> <ws> <name>", "alias of 'snapshot restore'", cli_not_built, NULL, true },
        {},
};
