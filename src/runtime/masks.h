/* Kernel-information paths hidden from workspaces, and kernel
 * interfaces made read-only. The lists are static data so that the
 * workspace child applies them without allocating. */
#pragma once

#include <stddef.h>

typedef enum MaskKind {
        MASK_HIDE,     /* file: /dev/null bound over it; dir: empty read-only tmpfs */
        MASK_READONLY, /* bind-remounted read-only (recursively) */
} MaskKind;

typedef struct MaskEntry {
        const char *path;
        MaskKind kind;
} MaskEntry;


/* Child side, after pivot_root with /proc and /sys mounted. Missing
 * paths are skipped. Returns 0 or a negative errno with *ret_path set
 * to the failing path. No allocation. */
int masks_apply(const char **ret_path);
