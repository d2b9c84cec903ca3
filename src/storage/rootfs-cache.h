/* The rootfs cache: <state>/sandboxes/rootfs-cache/<suite>/ and .../base/
 * (SPEC §2 `rootfs export|import|fetch`, §4). cache_name is a suite or
 * "base". Imports stage under <state>/tmp/ and swap into place
 * atomically; an existing cache is replaced only with replace set, and
 * that is checked before anything is read or downloaded. */
#pragma once

#include "base/error.h"
#include "storage/archive.h"
#include "storage/fetch.h"
#include "storage/progress.h"

bool rootfs_cache_exists(const char *state_dir, const char *cache_name);

/* Export to a file (format from its name; an existing file is refused
 * unless replace) or to an fd the caller opened (e.g. one the client
 * passed over the socket, so the daemon never opens user paths). */
int rootfs_cache_export(const char *state_dir, const char *cache_name, const char *output, bool replace,
                        const StorageMonitor *mon, TarballStats *ret_stats, Error *err);
int rootfs_cache_export_fd(const char *state_dir, const char *cache_name, int out_fd, TarballCompression c,
                           const StorageMonitor *mon, TarballStats *ret_stats, Error *err);

int rootfs_cache_import(const char *state_dir, const char *cache_name, const char *archive, bool replace,
                        const StorageMonitor *mon, TarballStats *ret_stats, Error *err);
int rootfs_cache_import_fd(const char *state_dir, const char *cache_name, int in_fd, bool replace,
                           const StorageMonitor *mon, TarballStats *ret_stats, Error *err);

/* Download url (fetch.h) into <state>/tmp/, then import it. */
int rootfs_cache_fetch(const char *state_dir, const char *cache_name, const char *url, bool replace,
                       const FetchOptions *o, const StorageMonitor *mon, TarballStats *ret_stats, Error *err);
