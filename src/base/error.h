/* The one error convention of Enclave.
 *
 * A function that can fail returns a negative errno value and, when the
 * caller passes an Error, fills it with a message. On the way up each
 * layer may prepend context with error_wrap(), so the final message
 * reads "creating workspace api: mounting overlay: Permission denied"
 * and keeps the full cause chain. Library code never prints errors; the
 * CLI and the daemon decide what to show. */
#pragma once

#include "base/macro.h"

typedef struct Error {
        int code;  /* positive errno value, 0 when unset */
        char *msg; /* full message including context, NULL when unset */
} Error;

#define ERROR_INIT { 0, NULL }

/* Record an error (if err is not NULL) and return -code.
 * A code <= 0 is treated as EINVAL. "%m" is expanded for code. */
int error_set(Error *err, int code, const char *fmt, ...) _printf_(3, 4);

/* Like error_set() but appends ": <strerror(code)>". */
int error_setc(Error *err, int code, const char *fmt, ...) _printf_(3, 4);

/* Prepend "context: " to an existing error; returns -err->code
 * (or -EIO when nothing was recorded). */
int error_wrap(Error *err, const char *fmt, ...) _printf_(2, 3);

/* Forget the error so the Error can be reused. */
void error_clear(Error *err);

/* Move src into dst (dst is cleared first). */
void error_move(Error *dst, Error *src);

static inline const char *error_msg(const Error *err)
{
        return err && err->msg ? err->msg : "unknown error";
}

#define _cleanup_error_ _cleanup_(error_clear)
