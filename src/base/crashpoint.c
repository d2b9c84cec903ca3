#include "base/crashpoint.h"

#include "base/str.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

CrashPoint crash_point_armed = _CRASH_POINT_NONE;
static atomic_uint hits_left;

static const char *const names[_CRASH_POINT_MAX] = {
#define CRASH_POINT_NAME(id, name) [CRASH_POINT_##id] = name,
        CRASH_POINTS(CRASH_POINT_NAME)
#undef CRASH_POINT_NAME
};

const char *crash_point_name(CrashPoint p)
{
        return p >= 0 && p < _CRASH_POINT_MAX ? names[p] : NULL;
}

int crash_point_arm(const char *spec, Error *err)
{
        crash_point_armed = _CRASH_POINT_NONE;
        if (!spec || !*spec)
                return 0;
        const char *colon = strchr(spec, ':');
        size_t len = colon ? (size_t) (colon - spec) : strlen(spec);
        int64_t n = 1;
        if (colon && parse_int64(colon + 1, 1, 1000000, &n) < 0)
                return error_set(err, EINVAL, "%s=%s: the count after ':' must be 1 or more", CRASH_POINT_ENV, spec);
        for (CrashPoint p = 0; p < _CRASH_POINT_MAX; p++)
                if (strlen(names[p]) == len && strncmp(names[p], spec, len) == 0) {
                        atomic_store(&hits_left, (unsigned) n);
                        crash_point_armed = p;
                        return 0;
                }
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (CrashPoint p = 0; p < _CRASH_POINT_MAX; p++)
                strbuf_printf(&b, "%s%s", p ? ", " : "", names[p]);
        return error_set(err, EINVAL, "%s=%s: no such crash point; known: %s", CRASH_POINT_ENV, spec,
                         b.data ? b.data : "");
}

_noreturn_ void crash_point_die(CrashPoint p)
{
        /* Straight to the kernel: no buffers flushed, no atexit, no
         * destructors, as after a kill -9. */
        char msg[128];
        int len = snprintf(msg, sizeof msg, "enclave: crash point %s reached: dying now\n", crash_point_name(p));
        if (len > 0)
                (void) !write(STDERR_FILENO, msg, (size_t) len);
        _exit(CRASH_POINT_STATUS);
}

void crash_point_reached(CrashPoint p)
{
        if (atomic_fetch_sub(&hits_left, 1) == 1)
                crash_point_die(p);
}
