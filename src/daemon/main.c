/* enclave-daemon: the daemon program behind `enclave daemon run`. It
 * is the same command line as enclave, with the daemon linked in. */
#include "cli/cli.h"
#include "daemon/daemon.h"
#include "storage/tar-tree.h"


int main(int argc, char **argv)
{
        cli_daemon_run = daemon_run;
        cli_tar_write = tar_tree_write;
        cli_tar_extract = tar_tree_extract;
        return cli_main(argc, argv);
}
