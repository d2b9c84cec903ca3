/* The command-line options of the limits, made from their table
 * (spec/limits.h) at compile time, and reading them into a spec: one
 * flag per limit of the command's scope, with the table's range.
 *
 *   static const CliOption create_options[] = {
 *           CLI_WORKSPACE_LIMIT_OPTIONS
 *           { "run", ... },
 *           {},
 *   };
 */
#pragma once

#include "cli/cli.h"
#include "spec/spec.h"

#define CLI_LIMIT_IF_yes(...) __VA_ARGS__
#define CLI_LIMIT_IF_no(...)

#define CLI_SANDBOX_LIMIT_(field, flag, metavar, kind, min, max, unit, symbol, sandbox, sandbox_help, workspace,   \
                           workspace_help, applied, when)                                                           \
        CLI_LIMIT_IF_##sandbox({ flag, 0, metavar, sandbox_help },)
#define CLI_WORKSPACE_LIMIT_(field, flag, metavar, kind, min, max, unit, symbol, sandbox, sandbox_help, workspace, \
                             workspace_help, applied, when)                                                         \
        CLI_LIMIT_IF_##workspace({ flag, 0, metavar, workspace_help },)

#define CLI_SANDBOX_LIMIT_OPTIONS SPEC_LIMITS(CLI_SANDBOX_LIMIT_)
#define CLI_WORKSPACE_LIMIT_OPTIONS SPEC_LIMITS(CLI_WORKSPACE_LIMIT_)

/* The limits of scope (LIMIT_SANDBOX or LIMIT_WORKSPACE) given on the
 * line, each parsed and range-checked by its row; a bad one is a usage
 * error (EXIT_USAGE returned, message printed), else 0. */
int cli_limits(Cli *cli, const CliArgs *a, unsigned scope, Limits *ret);

/* The set limits of scope in o (flat, or under "limits" as a workspace's
 * config keeps them) as "memory_mb=256 cpus=1.5"; "" when none. NULL on
 * OOM. */
char *cli_limits_text(json_t *o, unsigned scope);
