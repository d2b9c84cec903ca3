/* Host feature probes for `enclave doctor` (docs/doctor.md).
 *
 * Each probe tries the real operation once, the way the runtime uses
 * it, and undoes it: a kernel option being compiled in says less than
 * the call working here (a sysctl, a seccomp filter of a container the
 * daemon runs in, or a file system without idmapping support can each
 * refuse it). A probe returns 0 when the feature works, else a
 * negative errno with the kernel's reason in err. Probes fork short
 * helpers and wait for them: call them from a thread that may block.
 * Everything they create (detached mounts, scratch directories,
 * children) is gone when they return. */
#pragma once

#include "base/error.h"
#include "runtime/rootfs.h"

/* A child in a new user namespace (clone3 with CLONE_NEWUSER) that
 * gets an id map written by us. */
int probe_user_namespaces(Error *err);

/* An idmapped clone (open_tree + mount_setattr(MOUNT_ATTR_IDMAP)) of
 * dir, an existing directory on the file system to check. */
int probe_idmapped_mount(const char *dir, Error *err);

/* A detached overlay whose lower layer is an idmapped mount, with
 * upper and work dirs, all made inside scratch_dir (an existing empty
 * directory on the file system to check; left empty again). *ret_mode
 * (may be NULL): the way the kernel took the lower layer. */
int probe_overlay_on_idmapped(const char *scratch_dir, OverlayLowerMode *ret_mode, Error *err);

/* pidfd_open(2) on ourselves. */
int probe_pidfd(Error *err);

/* clone3(2): a plain child that exits at once. */
int probe_clone3(Error *err);

/* /dev/loop-control can be opened (disk_mb quotas need loop devices). */
int probe_loop_control(Error *err);

/* The executable name resolves to: name itself when it holds a '/',
 * else the first executable match in $PATH (or the default path).
 * -ENOENT when there is none. */
int probe_find_executable(const char *name, char **ret_path);

/* Which LSMs the kernel runs: "apparmor", "selinux" (from
 * /sys/kernel/security/lsm, else the module switches). */
bool probe_lsm_enabled(const char *lsm);
