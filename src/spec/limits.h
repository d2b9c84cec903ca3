/* Resource limits of sandboxes and workspaces: one table.
 *
 * SPEC_LIMITS is the only place a limit is described. Everything else is
 * made from it: the Limits struct, the Enclavefile keys (config/
 * enclavefile.c), the command-line flags of `enclave create` and
 * `enclave workspace create` (cli/limit-options.h), the JSON of the
 * protocol and the registry (spec-json.c), the range checks of all of
 * them, and docs/limits.md (`enclave __gen limits`). Adding a limit is
 * one row here plus the code that applies it (cgroup*.c, rlimits.c).
 *
 * A row: X(field, flag, metavar, kind, min, max, unit, symbol,
 *          sandbox, sandbox_help, workspace, workspace_help, applied, when)
 *   field      the Enclavefile key, JSON member and struct field
 *   flag       the command-line option, without "--"
 *   kind       INTEGER, or DECIMAL (three decimal places, kept x1000)
 *   min, max   the range, inclusive, in the kept unit (x1000 for DECIMAL)
 *   unit       what a value counts, for messages ("MiB")
 *   symbol     a short unit for listings ("MiB", "%"), or ""
 *   sandbox    yes: also a cap of a whole sandbox (over all its
 *              workspaces together); no: workspaces only
 *   workspace  yes / no: a limit of one workspace
 *   *_help     the flag's help for that scope (NULL for "no")
 *   applied    how it is enforced, for docs/limits.md
 *   when       START: applied at every start (a change restarts the
 *              workspace); CREATE: made at create, fixed afterwards
 *
 * 0 means "not set" for every limit; set values are always >= min >= 1. */
#pragma once

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPEC_LIMITS(X)                                                                                              \
        X(cpu_seconds, "cpu-seconds", "N", INTEGER, 1, 315360000, "seconds of CPU time", "s",                       \
          no, NULL,                                                                                                 \
          yes, "CPU time limit in seconds (RLIMIT_CPU)",                                                            \
          "RLIMIT_CPU of every process: soft n (SIGXCPU, so the program can clean up), hard n + 5 (SIGKILL)",       \
          START)                                                                                                    \
        X(cpu_percent, "cpu-percent", "N", INTEGER, 1, 100, "percent of the whole machine", "%",                    \
          yes, "CPU cap of all its workspaces together, percent of the machine (1-100)",                            \
          yes, "CPU quota, percent of the whole machine",                                                           \
          "cgroup CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`) as a share of all CPUs; a workspace also runs "  \
          "on ceil(percent x CPUs / 100) CPUs, so `nproc` and thread pools match it",                               \
          START)                                                                                                    \
        X(cpus, "cpus", "N", DECIMAL, 10, 1024000, "CPUs", "CPUs",                                                  \
          yes, "CPU cap of all its workspaces together, in CPUs (1.5: one and a half)",                             \
          yes, "CPU quota in CPUs (1.5: one and a half)",                                                           \
          "cgroup CPU quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`) of that many CPUs' time per period; with "       \
          "`cpu_percent` too, the smaller quota applies",                                                           \
          START)                                                                                                    \
        X(memory_mb, "memory-mb", "N", INTEGER, 16, 16777216, "MiB", "MiB",                                         \
          yes, "memory cap of all its workspaces together, MiB",                                                    \
          yes, "memory limit in MiB (cgroup)",                                                                      \
          "cgroup memory limit (v2 `memory.max` with `memory.swap.max` 0, v1 `memory.limit_in_bytes` and "        \
          "`memory.memsw.limit_in_bytes`); no `RLIMIT_AS`, which breaks V8, the JVM, Go and threaded Python",      \
          START)                                                                                                    \
        X(max_procs, "max-procs", "N", INTEGER, 1, 4194304, "processes", "",                                        \
          yes, "process cap of all its workspaces together",                                                        \
          yes, "process limit (cgroup pids + RLIMIT_NPROC)",                                                        \
          "cgroup `pids.max`; for a workspace also RLIMIT_NPROC of every uid inside it",                            \
          START)                                                                                                    \
        X(max_open_files, "max-open-files", "N", INTEGER, 16, 1048576, "open files", "",                            \
          no, NULL,                                                                                                 \
          yes, "open file limit (RLIMIT_NOFILE)",                                                                   \
          "RLIMIT_NOFILE of every process (soft = hard)",                                                           \
          START)                                                                                                    \
        X(disk_mb, "disk-mb", "N", INTEGER, 16, 16777216, "MiB", "MiB",                                             \
          no, NULL,                                                                                                 \
          yes, "quota of the managed /home and /tmp in MiB; not with --workspace-dir",                              \
          "an ext4 file system of that size for the managed `/home` and `/tmp` (docs/disk-quota.md); not with "    \
          "`workspace_dir`",                                                                                        \
          CREATE)

typedef struct Limits {
#define LIMIT_FIELD_(field, ...) int64_t field;
        SPEC_LIMITS(LIMIT_FIELD_)
#undef LIMIT_FIELD_
} Limits;

typedef enum LimitKind {
        LIMIT_INTEGER,
        LIMIT_DECIMAL, /* kept x1000: 1.5 is 1500 */
} LimitKind;

#define LIMIT_DECIMAL_SCALE 1000

enum {
        LIMIT_SANDBOX = 1u << 0,
        LIMIT_WORKSPACE = 1u << 1,
};

typedef enum LimitWhen {
        LIMIT_AT_START,
        LIMIT_AT_CREATE,
} LimitWhen;

typedef struct LimitDef {
        const char *key;
        const char *flag;
        const char *metavar;
        LimitKind kind;
        int64_t min, max;
        const char *unit;
        const char *symbol;
        unsigned scopes;            /* LIMIT_SANDBOX | LIMIT_WORKSPACE */
        const char *sandbox_help;
        const char *workspace_help;
        const char *applied;
        LimitWhen when;
        size_t offset;              /* of the field in Limits */
} LimitDef;

#define LIMIT_COUNT_(...) +1
enum { N_LIMITS = 0 SPEC_LIMITS(LIMIT_COUNT_) };
#undef LIMIT_COUNT_

/* The rows of SPEC_LIMITS, in its order. */
extern const LimitDef limit_defs[N_LIMITS];

#define LIMIT_FOREACH(d) for (const LimitDef *d = limit_defs; d < limit_defs + N_LIMITS; d++)

/* The row of an Enclavefile key / JSON member, or NULL. */
const LimitDef *limit_find(const char *key);

static inline int64_t limit_get(const Limits *l, const LimitDef *d)
{
        return *(const int64_t *) ((const char *) l + d->offset);
}

static inline void limit_set(Limits *l, const LimitDef *d, int64_t v)
{
        *(int64_t *) ((char *) l + d->offset) = v;
}

/* Is v (0 = not set) allowed? Else -ERANGE with "KEY must be between MIN
 * and MAX (UNIT), got V". */
int limit_check(const LimitDef *d, int64_t v, Error *err);
/* Every set limit of l in range, and only limits of scope (LIMIT_SANDBOX
 * or LIMIT_WORKSPACE) set. */
int limits_check(const Limits *l, unsigned scope, Error *err);

/* A value as a person writes it: "2048", "1.5". */
#define LIMIT_TEXT_MAX 32
const char *limit_format(const LimitDef *d, int64_t v, char buf[static LIMIT_TEXT_MAX]);
/* The same as the range of messages: "16 and 16777216", "0.01 and 1024". */
const char *limit_range_text(const LimitDef *d, char buf[static 2 * LIMIT_TEXT_MAX]);
/* Parse what limit_format() writes (a command-line value): a whole
 * number, or for DECIMAL up to three decimal places. -EINVAL when it is
 * not one, -ERANGE when it is outside min..max; 0 is never accepted. */
int limit_parse(const LimitDef *d, const char *s, int64_t *ret);
/* A number (double) as read from TOML or JSON, for DECIMAL rows: -EINVAL
 * when it has more than three decimal places, -ERANGE outside min..max. */
int limit_from_double(const LimitDef *d, double v, int64_t *ret);

bool limits_equal(const Limits *a, const Limits *b);
