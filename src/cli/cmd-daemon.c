#include "cli/cli.h"

const Command daemon_commands[] = {
        { "run", "[--state-dir D] [--pid-file F] [...]", "run the daemon in the foreground", cli_not_built },
        { "start", "[--wait-secs N] [...]", "start the daemon in the background", cli_not_built },
        { "stop", "", "stop the daemon", cli_not_built },
        { "status", "", "show whether the daemon runs", cli_not_built },
        {},
};
