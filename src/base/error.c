#include "base/error.h"

#include <stdarg.h>
#include <string.h>

_printf_(1, 0) static char *vformat(const char *fmt, va_list ap)
{
        char *s = NULL;
        if (vasprintf(&s, fmt, ap) < 0)
                return NULL;
        return s;
}

_printf_(4, 0) static int error_setv(Error *err, int code, bool with_cause, const char *fmt, va_list ap)
{
        if (code <= 0)
                code = EINVAL;
        if (!err)
                return -code;

        error_clear(err);
        err->code = code;

        _cleanup_free_ char *head = vformat(fmt, ap);
        if (!head)
                return -code;
        if (with_cause) {
                if (asprintf(&err->msg, "%s: %s", head, strerror(code)) < 0)
                        err->msg = NULL;
        } else
                err->msg = TAKE_PTR(head);
        return -code;
}

int error_set(Error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = error_setv(err, code, false, fmt, ap);
        va_end(ap);
        return r;
}

int error_setc(Error *err, int code, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = error_setv(err, code, true, fmt, ap);
        va_end(ap);
        return r;
}

int error_wrap(Error *err, const char *fmt, ...)
{
        if (!err)
                return -EIO;
        if (err->code == 0)
                err->code = EIO;

        va_list ap;
        va_start(ap, fmt);
        _cleanup_free_ char *ctx = vformat(fmt, ap);
        va_end(ap);
        if (!ctx)
                return -err->code;

        char *joined = NULL;
        if (asprintf(&joined, "%s: %s", ctx, err->msg ? err->msg : strerror(err->code)) < 0)
                return -err->code;
        free(err->msg);
        err->msg = joined;
        return -err->code;
}

void error_clear(Error *err)
{
        if (!err)
                return;
        free(err->msg);
        err->msg = NULL;
        err->code = 0;
}

void error_move(Error *dst, Error *src)
{
        error_clear(dst);
        *dst = *src;
        src->code = 0;
        src->msg = NULL;
}
