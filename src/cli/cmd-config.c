#include "cli/cli.h"

const Command config_commands[] = {
        { "init", "", "write a commented Enclavefile scaffold here", cli_not_built },
        { "validate", "[FILE]", "check an Enclavefile and print the resolved configuration", cli_not_built },
        {},
};
