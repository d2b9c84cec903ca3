/* What the actions that run storage work (rootfs.*, snapshot.*) share:
 * the work's progress streamed to the client as events and stopped by
 * the call's cancel flag, the archive compression parameter, and the
 * archive fd the client sent. */
#pragma once

#include "daemon/action.h"
#include "daemon/client-fd.h"
#include "storage/archive.h"
#include "storage/progress.h"

/* Progress as {"type": "progress", "stage", "message", "current",
 * "total", "bytes", "bytes_total"} events; cancelled when the client
 * goes away or the daemon stops. Lives as long as the call. */
StorageMonitor call_storage_monitor(Call *c);
/* The same with the "item" member (package, file or command) where the
 * work names one: bootstrap and setup (sandbox.*, project.up). */
StorageMonitor call_storage_monitor_items(Call *c);

/* "compression": "none" | "gzip" | "zstd" (optional; none when absent). */
int call_param_compression(Call *c, TarballCompression *ret, Error *err);

/* The one fd of the request, the archive the client opened (import) or
 * created (export), used only through that fd (client-fd.h); action
 * ("rootfs.export", ...) names the request in errors. */
int call_take_archive(Call *c, const char *action, bool for_writing, ClientStream **ret, Error *err);

/* An archive written to the end: on disk (unless relayed), then closed
 * with its relay done (*out is NULL after that; after a failed fsync it
 * stays for the caller's cleanup). */
int call_archive_finish(ClientStream **out, Error *err);
