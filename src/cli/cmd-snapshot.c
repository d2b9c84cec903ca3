#include "cli/cli.h"

const Command snapshot_commands[] = {
        { "create", "<sb> <ws> [--name N]", "snapshot a workspace", cli_not_built },
        { "list", "<sb> <ws>", "list snapshots", cli_not_built },
        { "restore", "<sb> <ws> <name>", "roll a workspace back to a snapshot", cli_not_built },
        { "export", "<sb> <ws> <name> --output ARCHIVE", "write a snapshot to an archive", cli_not_built },
        { "import", "<sb> <ws> [--name N] [--replace] ARCHIVE", "read a snapshot from an archive", cli_not_built },
        {},
};
