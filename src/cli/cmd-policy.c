#include "cli/cli.h"

const Command policy_commands[] = {
        { "show", "", "show the policy", cli_not_built },
        { "default", "allow|deny", "set the default decision", cli_not_built },
        { "allow", "[--uid U] PATTERN", "allow actions matching PATTERN", cli_not_built },
        { "deny", "[--uid U] PATTERN", "deny actions matching PATTERN", cli_not_built },
        { "clear", "[--uid U]", "remove rules", cli_not_built },
        {},
};
