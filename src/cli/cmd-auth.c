#include "cli/cli.h"

const Command auth_commands[] = {
        { "login", "<provider>", "store a provider token (enclave, github, npm)", cli_not_built },
        { "list", "", "show which providers have a token", cli_not_built },
        { "logout", "<provider>", "remove a provider token", cli_not_built },
        {},
};
