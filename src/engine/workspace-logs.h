/* A workspace's log as the engine sends it for `enclave logs`: read
 * (runtime/logs.h: init writes the log, the daemon only reads it) and cut
 * into "log" events for the caller's sink.
 *
 * Plain: the text, in chunks of up to 1 MiB: {"type": "log", "data"}.
 * With records (`logs --json`): one event per line, with its stream and
 * the time init's writer stamped on it ("stream", "time_usec"). A line of
 * an older log has no stamp: it gets the time it was read while
 * following, and none otherwise. Data is always valid UTF-8 (invalid
 * bytes become U+FFFD). */
#pragma once

#include "base/error.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct LogSink {
        void *userdata;
        /* Takes the event; < 0 stops the sending (-ECONNRESET: the
         * client has gone). */
        int (*event)(void *userdata, json_t *event);
        /* For following: an fd that becomes readable once the caller
         * cancels, and the check (both needed by workspace_logs_follow()). */
        int (*cancel_fd)(void *userdata);
        bool (*cancelled)(void *userdata);
} LogSink;

/* The last tail lines (LOG_TAIL_ALL: all) of the log in ws_dir. A client
 * that went away is no error. */
int workspace_logs_send(const char *ws_dir, size_t tail, bool records, const LogSink *sink, Error *err);

/* The same, then what is written next, until cancelled (0) or until the
 * workspace is destroyed (1: its log is gone). */
int workspace_logs_follow(const char *ws_dir, size_t tail, bool records, const LogSink *sink, Error *err);
