/* What the actions that run storage work (rootfs.*, snapshot.*) share:
 * the work's progress streamed to the client as events and stopped by
 * the call's cancel flag, and the archive compression parameter. */
#pragma once

#include "daemon/action.h"
#include "storage/archive.h"
#include "storage/progress.h"

/* Progress as {"type": "progress", "stage", "message", "current",
 * "total", "bytes", "bytes_total"} events; cancelled when the client
 * goes away or the daemon stops. Lives as long as the call. */
StorageMonitor call_storage_monitor(Call *c);

/* "compression": "none" | "gzip" | "zstd" (optional; none when absent). */
int call_param_compression(Call *c, TarballCompression *ret, Error *err);
