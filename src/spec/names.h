/* Names that become path components of the state dir (sandboxes, cached
 * root file systems, snapshots): pure checks, so the CLI refuses a bad
 * name before sending it, with the daemon's words. */
#pragma once

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define LAYOUT_ROOTFS_CACHE "rootfs-cache" /* reserved sandbox name */
#define LAYOUT_CACHE_BASE "base"          /* generic cached rootfs */

/* name_is_valid() and not the reserved "rootfs-cache". */
bool layout_sandbox_name_is_valid(const char *name);

/* A suite (spec/values.h debian_suites) or "base". */
bool layout_cache_name_is_valid(const char *name);

#define SNAPSHOT_NAME_MAX 63
#define SNAPSHOT_GC_KEEP_DEFAULT 5

bool snapshot_name_is_valid(const char *name);
/* An Error explaining the rules unless name is valid. */
int snapshot_check_name(const char *name, Error *err);

/* "YYYYMMDD-HHMMSS" in UTC, with "-<seq>" appended when seq > 1. */
int snapshot_name_from_time(time_t t, unsigned seq, char *buf, size_t size);
