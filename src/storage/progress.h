/* Progress and cancellation for long storage work (debootstrap, tree
 * copies, archive import/export, downloads, setup commands).
 *
 * The caller passes a StorageMonitor. Its callback runs synchronously
 * on the calling thread; returning a negative value asks the operation
 * to stop. The cancel flag may be set from any thread (or a signal
 * handler); operations check it between files, entries and reads, and
 * a running child process is killed with its whole PID namespace. A
 * cancelled operation returns -ECANCELED and leaves nothing behind. */
#pragma once

#include "base/macro.h"

#include <stdatomic.h>

typedef enum ProgressStage {
        PROGRESS_STAGE_INFO,        /* a plain message (debootstrap "I:" line without counts) */
        PROGRESS_STAGE_WARNING,     /* debootstrap "W:" line, or a non-fatal problem of ours */
        PROGRESS_STAGE_ERROR,       /* debootstrap "E:" line (the failure follows as an Error) */
        PROGRESS_STAGE_RETRIEVING,  /* debootstrap downloads a package or index */
        PROGRESS_STAGE_VALIDATING,  /* debootstrap checks a package or index */
        PROGRESS_STAGE_EXTRACTING,  /* debootstrap extracts the required packages */
        PROGRESS_STAGE_UNPACKING,   /* dpkg --unpack inside the new rootfs */
        PROGRESS_STAGE_CONFIGURING, /* dpkg --configure inside the new rootfs */
        PROGRESS_STAGE_COPYING,     /* tree copy: done/total files, bytes/bytes_total */
        PROGRESS_STAGE_EXPORTING,   /* writing an archive */
        PROGRESS_STAGE_IMPORTING,   /* reading and checking an archive */
        PROGRESS_STAGE_DOWNLOADING, /* fetching a URL */
        PROGRESS_STAGE_OUTPUT,      /* one line of a setup command's output */
        _PROGRESS_STAGE_MAX,
        _PROGRESS_STAGE_INVALID = -EINVAL,
} ProgressStage;

typedef struct StorageProgress {
        ProgressStage stage;
        const char *item;     /* package name, file path or command; may be NULL */
        const char *message;  /* human-readable line; never NULL */
        uint64_t done;        /* items finished in this stage */
        uint64_t total;       /* items expected, 0 when unknown */
        uint64_t bytes;       /* bytes finished */
        uint64_t bytes_total; /* bytes expected, 0 when unknown */
} StorageProgress;

/* Return a negative value to cancel the operation. */
typedef int (*StorageProgressFn)(const StorageProgress *p, void *userdata);

typedef struct StorageMonitor {
        StorageProgressFn progress;  /* may be NULL */
        void *userdata;
        const atomic_bool *cancel;   /* may be NULL */
        unsigned interval_ms;        /* minimum gap between counter events, 0 = 100 ms */
} StorageMonitor;

/* "retrieving", "copying", ... (stable: the daemon sends these). */
const char *progress_stage_to_string(ProgressStage s);
ProgressStage progress_stage_from_string(const char *s);

/* True when the caller asked to stop (mon may be NULL). */
bool storage_monitor_cancelled(const StorageMonitor *mon);

/* Deliver an event. Counter events (copying, importing, ...) are
 * throttled to one per interval unless force is set; message events
 * should pass force. Returns -ECANCELED when the callback or the flag
 * asks to stop, 0 otherwise. *last_ms keeps the throttle state (start
 * it at 0). */
int storage_monitor_report(const StorageMonitor *mon, const StorageProgress *p, bool force,
                           uint64_t *last_ms);
