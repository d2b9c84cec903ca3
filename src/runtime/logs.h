/* Reading a workspace's run-command log (format: runtime/log-files.h).
 *
 * enclave-init writes the log itself, so the daemon is never in the
 * path: a restarted daemon loses nothing. The daemon only reads:
 * workspace_log_read() for `logs --tail N`, and a LogFollow for
 * `logs --follow`, which is driven by inotify (never by polling) and
 * fits in an event loop: poll log_follow_fd() for POLLIN, then call
 * log_follow_read(). */
#pragma once

#include "base/error.h"
#include "base/str.h"
#include "runtime/log-record.h"

#include <sys/types.h>

#define LOG_TAIL_ALL SIZE_MAX

/* Open (creating, 0640) <ws>/logs/{0.log,1.log,active} for init:
 * ret_fds[0..1] write-only append, ret_fds[2] read-write. O_CLOEXEC. */
int workspace_log_open_for_init(const char *ws_dir, int ret_fds[3], Error *err);

/* The last tail_n lines of the log (LOG_TAIL_ALL: everything), oldest
 * first, across both halves. Missing files read as empty. *ret is
 * NUL-terminated. */
int workspace_log_read(const char *ws_dir, size_t tail_n, char **ret, size_t *ret_len, Error *err);

typedef struct LogFollow LogFollow;

/* Start following: *ret_initial gets the last tail_n lines (may be
 * NULL when not wanted); later log_follow_read() returns only what was
 * written after them. */
int log_follow_open(const char *ws_dir, size_t tail_n, LogFollow **ret, char **ret_initial,
                    size_t *ret_initial_len, Error *err);

/* The inotify fd to wait on (POLLIN). */
int log_follow_fd(const LogFollow *f);

/* Consume pending inotify events and append every new byte of the log
 * to out. Returns the number of bytes appended (0: nothing new), or
 * -ENOENT once the log directory was removed (the workspace was
 * destroyed), or another negative errno. Never blocks. */
int log_follow_read(LogFollow *f, StrBuf *out, Error *err);

LogFollow *log_follow_free(LogFollow *f);
DEFINE_CLEANUP_FUNC(LogFollow, log_follow_free);
#define _cleanup_log_follow_ _cleanup_(log_follow_freep)

/* Calls fn for each line of data[0..n) as a record (runtime/log-record.h).
 * A last line without its newline is left for the next call (its rest
 * is still being written), unless final. Returns the bytes consumed, or
 * fn's negative result. */
typedef int (*LogRecordFn)(const LogRecord *rec, void *userdata);
ssize_t log_records_each(const char *data, size_t n, bool final, LogRecordFn fn, void *userdata);
