#include "cli/cli.h"

const Command sandbox_top_commands[] = {
        { "create", "<name> [--suite S] [--mirror URL] [--bootstrap-method M] [--memory-mb N] [--cpu-percent N] [--max-procs N]", "create a sandbox", cli_not_built },
        { "start", "<sandbox>", "start a sandbox", cli_not_built },
        { "stop", "<sandbox>", "stop a sandbox and its workspaces", cli_not_built },
        { "destroy", "<sandbox>", "destroy a sandbox and everything in it", cli_not_built },
        { "status", "<sandbox>", "show a sandbox", cli_not_built },
        { "remove", "<sandbox>", "remove a sandbox", cli_not_built },
        { "list", "", "list sandboxes", cli_not_built },
        { "wipe", "[--yes]", "destroy every sandbox", cli_not_built },
        {},
};
