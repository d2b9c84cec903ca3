/* Per-process resource limits of workspace processes (setrlimit).
 *
 * They complement the cgroup limits: rlimits work on every host and
 * bound a single process; the cgroup bounds the whole workspace.
 *
 * RLIMIT_NPROC semantics: the kernel counts processes per user (per
 * user namespace and uid, via ucounts, since Linux 5.14), and checks
 * the limit of the forking process against the count of its real uid.
 * Each workspace has its own host id range, so max_procs bounds the
 * processes of one uid inside one workspace; processes of other uids in
 * the same workspace are counted separately. The cgroup pids limit is
 * the cap for the workspace as a whole. Workspace root does not bypass
 * it (only CAP_SYS_RESOURCE/CAP_SYS_ADMIN in the initial namespace do).
 *
 * memory_mb sets no RLIMIT_AS: address space is not memory. V8 reserves
 * a large code range, the JVM and Go reserve heap arenas, glibc gives
 * every thread a 64 MiB malloc arena; under an address-space limit of
 * the workspace's memory size npm aborts, Node workers fail and Python
 * cannot start 16 threads while using a fraction of it. The cgroup
 * memory limit bounds what is really used. */
#pragma once

#include "spec/limits.h"

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* CPU seconds between SIGXCPU (soft limit, the program may clean up)
 * and SIGKILL (hard limit). */
#define RLIMITS_CPU_GRACE_SECONDS 5

/* CPU affinity from cpu_percent. The quota bounds CPU time, but nproc,
 * Go's GOMAXPROCS, Node's availableParallelism(), the JVM and make -j
 * size their thread pools from the CPUs a process may run on. A
 * workspace with cpu_percent therefore runs on ceil(percent * n / 100)
 * of the n CPUs it inherited (all of them: no change when that is n),
 * consecutive from cpu_seed % n, so workspaces spread over the machine.
 * This does not lower what the quota allows (percent of the machine =
 * that many CPUs at full use); it only trades bursts across more CPUs
 * for pools of the right size. It is a default, not a bound: programs
 * may widen their own affinity again. rlimits_cpu_pick() returns the
 * number of CPUs in *ret, or 0 when the workspace keeps all of them.
 * cpu_seed is any number of the workspace's own (its id block). */
size_t rlimits_cpu_pick(const cpu_set_t *allowed, unsigned percent, unsigned seed, cpu_set_t *ret);
/* "0-1,3\n" (the form of /sys/devices/system/cpu/online); no allocation. */
void rlimits_cpu_list(const cpu_set_t *set, char *buf, size_t size);

/* Child side, no allocation: RLIMIT_CPU (soft = cpu_seconds, hard =
 * cpu_seconds + grace), RLIMIT_NPROC = max_procs,
 * RLIMIT_NOFILE = max_open_files (soft = hard), then the CPU affinity
 * above. A workspace cannot raise
 * a hard limit again (that needs CAP_SYS_RESOURCE in the initial user
 * namespace). Unset fields leave the inherited limit.
 * Returns 0 or a negative errno; *ret_what (if not NULL) names the
 * limit that failed. */
int rlimits_apply(const Limits *l, unsigned cpu_seed);
int rlimits_apply_full(const Limits *l, unsigned cpu_seed, const char **ret_what);

/* The OOM killer's view of a workspace process. The daemon may run
 * shielded (systemd's OOMScoreAdjust= lowers it, -1000 means never
 * killed) and a child inherits that, so every process Enclave starts
 * for a workspace (init, exec and setup commands, the copy of
 * `workspace cp`) gets RLIMITS_OOM_SCORE_ADJ, the kernel's default,
 * instead. The writer must hold CAP_SYS_RESOURCE in the initial user
 * namespace (the daemon for init, which it cloned into a new user
 * namespace; the exec helper and the copy before they join one): only
 * then does the kernel also make that value the floor, so the workspace
 * cannot lower itself back below it. Without that capability (a
 * confined root) the kernel refuses only a value below the floor some
 * privileged writer set, i.e. when the process is above 0 already and so
 * not shielded: that is left as it is. pid 0: the caller. No
 * allocation. Returns 0 or a negative errno. */
#define RLIMITS_OOM_SCORE_ADJ 0
int rlimits_oom_score_reset(pid_t pid);
