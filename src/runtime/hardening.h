/* Workspace hardening: what a workspace process may no longer do.
 *
 * Split in two halves on purpose:
 *
 * - The trusted side (the daemon, before clone) prepares a HardeningPlan:
 *   it builds the seccomp deny list with libseccomp and exports it as raw
 *   BPF (cached on disk, keyed by a hash of the policy, so it is built
 *   once per host and policy), and resolves the configured AppArmor
 *   profile or SELinux label (a configured one the host does not have is
 *   an error here, at start, not a surprise inside the workspace).
 *
 * - The workspace side applies the plan in the cloned child (and in
 *   every process `exec`/`enter` starts in the workspace). That code
 *   runs in a child of a possibly multi-threaded daemon, so it never
 *   allocates, never takes locks and never calls libseccomp: it only
 *   issues system calls with data the plan already holds.
 *
 * Order in the child: namespaces, mounts, pivot_root, /proc and /sys
 * (runtime), then hardening_apply_masks(), then rlimits_apply(), then
 * hardening_apply_final() as the very last step before execve().
 * docs/hardening.md lists every denied call and masked path and why. */
#pragma once

#include "base/error.h"

#include <stddef.h>
#include <stdint.h>

struct sock_filter;

typedef struct HardeningConfig {
        const char *apparmor_profile; /* NULL or "": none */
        const char *selinux_label;    /* NULL or "": none */
        const char *cache_dir;        /* where exported BPF is cached; NULL: build in memory only */
} HardeningConfig;

typedef struct HardeningPlan HardeningPlan;

/* Build or load the seccomp program and resolve the LSM label. Errors
 * name what is wrong ("AppArmor profile 'x' is not loaded on this host:
 * AppArmor is not enabled"). */
int hardening_plan_new(const HardeningConfig *cfg, HardeningPlan **ret, Error *err);
HardeningPlan *hardening_plan_free(HardeningPlan *p);
DEFINE_CLEANUP_FUNC(HardeningPlan, hardening_plan_free);
#define _cleanup_hardening_plan_ _cleanup_(hardening_plan_freep)

/* The raw BPF the plan will load (for tests and `doctor`). */
const struct sock_filter *hardening_plan_bpf(const HardeningPlan *p, size_t *ret_n_insns);
/* True when the BPF came from the on-disk cache rather than libseccomp. */
bool hardening_plan_bpf_from_cache(const HardeningPlan *p);
/* Capabilities kept in the workspace (bit n = capability n). */
uint64_t hardening_plan_caps(const HardeningPlan *p);

/* Workspace child, after pivot_root with /proc and /sys mounted: hide
 * kernel-information paths (/dev/null over files, an empty read-only
 * tmpfs over directories) and make /proc/sys, /proc/sysrq-trigger,
 * /proc/irq, /proc/bus and /sys read-only. Missing paths are skipped.
 * No allocation. Returns 0 or a negative errno; on failure *ret_path
 * (if not NULL) names the path that failed. */
int hardening_apply_masks(void);
int hardening_apply_masks_full(const char **ret_path);

/* Workspace child (and exec'd processes), last step before execve():
 * bounding set reduced to the kept capabilities, ambient and
 * inheritable cleared, effective/permitted reduced, no_new_privs set,
 * LSM exec label written, then the seccomp BPF loaded. No allocation,
 * no libseccomp. Returns 0 or a negative errno; on failure *ret_what
 * (if not NULL) is a static description of the step that failed. */
int hardening_apply_final(const HardeningPlan *p);
int hardening_apply_final_full(const HardeningPlan *p, const char **ret_what);

/* The same for a process that runs the daemon's own code in a workspace
 * and never execs (workspace cp): without the LSM exec label, which
 * only takes effect at an exec. Its procfs path would not even resolve
 * there: such a process joins the workspace's mount namespace, whose
 * /proc belongs to a PID namespace it is not in (no /proc/thread-self). */
int hardening_apply_no_exec(const HardeningPlan *p, const char **ret_what);
