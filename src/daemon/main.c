/* enclave-daemon: the daemon program behind `enclave daemon run`. It
 * is the same command line as enclave, with the daemon linked in. */
#include "cli/cli.h"
#include "daemon/daemon.h"


int main(int argc, char **argv)
{
        cli_daemon_run = daemon_run;
        return cli_main(argc, argv);
}
