/* Capabilities of workspace processes.
 *
 * Workspace root is root only inside its own user namespace; its
 * capabilities never reach host resources. Still, the kept set is
 * Docker's default set, so what a program may do inside a workspace
 * matches what users know from containers, and every capability that
 * is about the kernel or the machine (SYS_ADMIN, SYS_MODULE, SYS_RAWIO,
 * SYS_TIME, SYS_BOOT, MAC_ADMIN, SYSLOG, SYS_PTRACE, BPF, PERFMON, ...)
 * is gone from the effective, permitted, inheritable, ambient and
 * bounding sets. docs/hardening.md explains each choice. */
#pragma once

#include <stdint.h>

#define CAPS_BIT(c) (UINT64_C(1) << (c))

/* CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, SETGID, SETUID, SETPCAP,
 * NET_BIND_SERVICE, NET_RAW, SYS_CHROOT, MKNOD, AUDIT_WRITE, SETFCAP. */
uint64_t caps_default_set(void);

/* Child side, no allocation: drop every capability not in keep from the
 * bounding set, clear the ambient set, then set effective = permitted =
 * keep & current permitted and inheritable = 0. Returns 0 or a negative
 * errno; *ret_what names the failing step. */
int caps_reduce(uint64_t keep, const char **ret_what);

/* Highest capability number the running kernel knows. */
int caps_last_cap(void);
