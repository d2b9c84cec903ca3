#include "cli/cli.h"

const Command rootfs_commands[] = {
        { "export", "(--suite S|--base) --output ARCHIVE", "write a cached rootfs to an archive", cli_not_built },
        { "import", "(--suite S|--base) [--replace] ARCHIVE", "fill a rootfs cache from an archive", cli_not_built },
        { "fetch", "(--suite S|--base) [--replace] URL", "download and import a rootfs archive", cli_not_built },
        {},
};
