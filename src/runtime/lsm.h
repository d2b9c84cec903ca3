/* AppArmor / SELinux exec labels for workspace processes.
 *
 * Resolution (trusted side) checks that the configured profile or label
 * exists on this host; applying (child side) writes the exec label into
 * /proc/thread-self/attr/... so that the kernel switches the label at
 * the next execve(). */
#pragma once

#include "base/error.h"

#include <stddef.h>

typedef enum LsmKind {
        LSM_NONE,
        LSM_APPARMOR,
        LSM_SELINUX,
} LsmKind;

typedef struct LsmExec {
        LsmKind kind;
        char *attr_path; /* file to write, e.g. /proc/thread-self/attr/exec */
        char *value;     /* what to write, e.g. "exec myprofile" */
        size_t value_len;
} LsmExec;

#define LSM_EXEC_INIT { LSM_NONE, NULL, NULL, 0 }

/* Both set is an error (one LSM drives exec labels). A configured
 * profile/label that the host does not have, or an LSM that is not
 * enabled, is an error naming the cause. NULL/"" means unset. */
int lsm_exec_resolve(const char *apparmor_profile, const char *selinux_label, LsmExec *ret, Error *err);

/* Like lsm_exec_resolve() with a different root for /sys and /proc
 * (tests). */
int lsm_exec_resolve_at(const char *sysroot, const char *apparmor_profile, const char *selinux_label,
                        LsmExec *ret, Error *err);

void lsm_exec_done(LsmExec *l);
#define _cleanup_lsm_exec_ _cleanup_(lsm_exec_done)

/* Child side, no allocation. LSM_NONE: nothing to do. */
int lsm_exec_apply(const LsmExec *l);
