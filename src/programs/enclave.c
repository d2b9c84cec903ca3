/* enclave: the command line, linked with only what its commands use
 * (the daemon and libarchive stay in enclave-daemon.c's program). */
#include "cli/cli.h"

int main(int argc, char **argv)
{
        return cli_main(argc, argv);
}
