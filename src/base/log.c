#include "base/log.h"

#include <stdarg.h>
#include <string.h>
#include <time.h>

static LogLevel log_level = LOG_LEVEL_WARN;
static bool log_timestamps;
static int log_fd = STDERR_FILENO;

static const char *const level_names[_LOG_LEVEL_MAX] = {
        [LOG_LEVEL_ERROR] = "error",
        [LOG_LEVEL_WARN] = "warn",
        [LOG_LEVEL_INFO] = "info",
        [LOG_LEVEL_DEBUG] = "debug",
};

LogLevel log_level_from_string(const char *s)
{
        if (!s)
                return _LOG_LEVEL_INVALID;
        for (int i = 0; i < _LOG_LEVEL_MAX; i++)
                if (streq(s, level_names[i]))
                        return (LogLevel) i;
        if (streq(s, "warning"))
                return LOG_LEVEL_WARN;
        return _LOG_LEVEL_INVALID;
}

const char *log_level_to_string(LogLevel l)
{
        if (l < 0 || l >= _LOG_LEVEL_MAX)
                return "invalid";
        return level_names[l];
}

void log_setup(LogLevel default_level)
{
        log_level = default_level;
        LogLevel env = log_level_from_string(getenv("ENCLAVE_LOG"));
        if (env >= 0)
                log_level = env;
}

void log_set_level(LogLevel l)
{
        if (l >= 0 && l < _LOG_LEVEL_MAX)
                log_level = l;
}

LogLevel log_get_level(void)
{
        return log_level;
}

void log_set_timestamps(bool on)
{
        log_timestamps = on;
}

void log_set_fd(int fd)
{
        log_fd = fd;
}

void log_write(LogLevel l, const char *fmt, ...)
{
        if (l > log_level)
                return;

        int saved_errno = errno;
        char line[4096];
        size_t n = 0;

        if (log_timestamps) {
                struct timespec ts;
                struct tm tm;
                clock_gettime(CLOCK_REALTIME, &ts);
                gmtime_r(&ts.tv_sec, &tm);
                n += strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
                n += (size_t) snprintf(line + n, sizeof line - n, ".%03ldZ [%d] ",
                                       ts.tv_nsec / 1000000, (int) getpid());
        }
        n += (size_t) snprintf(line + n, sizeof line - n, "%s: ", log_level_to_string(l));

        va_list ap;
        va_start(ap, fmt);
        errno = saved_errno;
        int w = vsnprintf(line + n, sizeof line - n, fmt, ap);
        va_end(ap);
        if (w > 0)
                n += (size_t) w;
        if (n >= sizeof line - 1)
                n = sizeof line - 2;
        line[n++] = '\n';

        /* One write per line so concurrent writers do not interleave. */
        (void) !write(log_fd, line, n);
        errno = saved_errno;
}
