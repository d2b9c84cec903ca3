/* enclave doctor [--json]: the daemon's checklist of the host and the
 * state (docs/doctor.md). Exits 1 when something needs fixing. */
#pragma once

#include "cli/cli.h"

int cmd_doctor(Cli *cli, int argc, char **argv);
