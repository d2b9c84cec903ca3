/* AppArmor / SELinux exec labels for workspace processes.
 *
 * Resolution (trusted side) checks that the configured profile or label
 * exists on this host; applying (child side) writes the exec label into
 * /proc/thread-self/attr/... so that the kernel switches the label at
 * the next execve(). */
#pragma once

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>

/* The profile Enclave ships (data/apparmor/enclave-workspace) and gives
 * workspaces by default where AppArmor is enabled. */
#define LSM_APPARMOR_DEFAULT_PROFILE "enclave-workspace"

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

/* AppArmor enabled in the running kernel. */
bool lsm_apparmor_enabled(void);
/* The kernel has a profile of that name loaded. */
bool lsm_apparmor_profile_loaded(const char *profile);
/* `apparmor_parser --replace file`, then check that `profile` is loaded;
 * the error carries what the parser said. */
int lsm_apparmor_load(const char *file, const char *profile, Error *err);

/* The default where nothing is configured: with AppArmor enabled, make
 * sure LSM_APPARMOR_DEFAULT_PROFILE is loaded, from the first readable
 * file of files[] (NULL-terminated) when the kernel lacks it
 * (*ret_loaded then true). 1: use that profile; 0: AppArmor is off, no
 * profile; negative errno: it cannot be loaded (the caller warns). */
int lsm_apparmor_default(const char *const *files, bool *ret_loaded, Error *err);

/* Child side, no allocation. LSM_NONE: nothing to do. */
int lsm_exec_apply(const LsmExec *l);
