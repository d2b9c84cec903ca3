#include "cli/cli.h"

const Command project_commands[] = {
        { "up", "[--rebuild] [--remove-orphans]", "create and start everything the Enclavefile declares", cli_not_built },
        { "down", "", "stop the Enclavefile's workspaces, then its sandbox", cli_not_built },
        { "restart", "[--rebuild]", "down, then up", cli_not_built },
        { "ps", "[--local|--project]", "list workspace processes", cli_not_built },
        {},
};
