#include "cli/cli.h"

static int cmd_version(Cli *cli, int argc, char **argv)
{
        printf("enclave %s\n", ENCLAVE_VERSION);
        return EXIT_OK;
}

const Command info_commands[] = {
        { "ping", "", "check that the daemon answers", cli_not_built },
        { "health", "", "show daemon health and host capabilities", cli_not_built },
        { "doctor", "", "check the host and the state for problems", cli_not_built },
        { "version", "", "print the version", cmd_version },
        { "stats", "[--no-stream]", "live resource usage of all workspaces", cli_not_built },
        {},
};
