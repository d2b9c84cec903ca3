/* Making a sandbox root filesystem (SPEC §1, §2 `create`, §4):
 *
 *   debootstrap    runs debootstrap --variant=minbase SUITE TARGET MIRROR
 *                  into <state>/tmp/debootstrap-<sb>-XXXXXX/rootfs, then
 *                  renames it to <state>/sandboxes/<sb>/rootfs and refreshes
 *                  <state>/sandboxes/rootfs-cache/<suite>/ with a copy.
 *   cached_rootfs  copies rootfs-cache/<suite>/, else rootfs-cache/base/,
 *                  the same way (copy into tmp/, rename into place).
 *
 * minbase: only Essential packages and apt. It is the smallest tree
 * that still runs apt, so bootstrap is fastest and setup commands add
 * exactly what the Enclavefile asks for.
 *
 * A failed or cancelled bootstrap leaves nothing: no sandbox rootfs and
 * no staging dir. debootstrap runs in its own mount and PID namespaces,
 * so the /proc and /sys it mounts in the target never reach the host
 * and cancelling kills every process it started. */
#pragma once

#include "base/error.h"
#include "storage/progress.h"

#define BOOTSTRAP_DEFAULT_MIRROR "http://deb.debian.org/debian"
#define BOOTSTRAP_DEFAULT_SUITE "bookworm"
#define BOOTSTRAP_DEBOOTSTRAP_VARIANT "minbase"

typedef enum BootstrapMethod {
        BOOTSTRAP_DEBOOTSTRAP,
        BOOTSTRAP_CACHED_ROOTFS,
        _BOOTSTRAP_METHOD_MAX,
        _BOOTSTRAP_METHOD_INVALID = -EINVAL,
} BootstrapMethod;

BootstrapMethod bootstrap_method_from_string(const char *s);

/* http:// or https:// with a host, no spaces, quotes or control
 * characters. */
int bootstrap_check_mirror(const char *mirror, Error *err);

typedef struct BootstrapOptions {
        const char *state_dir;
        const char *sandbox;
        const char *suite;              /* NULL: bookworm */
        const char *mirror;             /* NULL: BOOTSTRAP_DEFAULT_MIRROR (debootstrap only) */
        const char *debootstrap_binary; /* NULL: "debootstrap", looked up in PATH */
        bool skip_cache_fill;           /* debootstrap: leave rootfs-cache/<suite> alone */
} BootstrapOptions;

/* Events: debootstrap's stages (see debootstrap-progress.h), copying,
 * and a warning when the cache could not be refreshed (the sandbox is
 * still made). A sandbox that already has a rootfs is refused with
 * -EEXIST. */
int bootstrap_debootstrap(const BootstrapOptions *o, const StorageMonitor *mon, Error *err);
int bootstrap_cached_rootfs(const BootstrapOptions *o, const StorageMonitor *mon, Error *err);
int bootstrap_rootfs(BootstrapMethod m, const BootstrapOptions *o, const StorageMonitor *mon, Error *err);

/* Replace rootfs-cache/<cache_name>/ with a copy of the tree at src
 * (copy into tmp/, then an atomic exchange). */
int bootstrap_fill_cache(const char *state_dir, const char *cache_name, const char *src,
                         const StorageMonitor *mon, Error *err);
