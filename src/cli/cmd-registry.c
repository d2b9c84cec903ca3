#include "cli/cli.h"

const Command registry_commands[] = {
        { "repair", "[--strict]", "fix registry rows and on-disk state that disagree", cli_not_built },
        {},
};
