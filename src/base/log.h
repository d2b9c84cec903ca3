/* Logging for the daemon and the CLI. The level comes from ENCLAVE_LOG
 * (error|warn|info|debug, default warn for the CLI, info for the
 * daemon). Library code only logs at debug level; everything else is
 * reported to the caller through Error. */
#pragma once

#include "base/macro.h"

typedef enum LogLevel {
        LOG_LEVEL_ERROR,
        LOG_LEVEL_WARN,
        LOG_LEVEL_INFO,
        LOG_LEVEL_DEBUG,
        _LOG_LEVEL_MAX,
        _LOG_LEVEL_INVALID = -EINVAL,
} LogLevel;

/* Parse "error", "warn", "info", "debug"; returns _LOG_LEVEL_INVALID otherwise. */
LogLevel log_level_from_string(const char *s);
const char *log_level_to_string(LogLevel l);

/* Set the threshold; ENCLAVE_LOG overrides the given default when set and valid. */
void log_setup(LogLevel default_level);
void log_set_level(LogLevel l);
LogLevel log_get_level(void);
/* Prefix each line with a timestamp and pid (daemon mode). */
void log_set_timestamps(bool on);
/* Redirect log output to fd (default 2). */
void log_set_fd(int fd);

void log_write(LogLevel l, const char *fmt, ...) _printf_(2, 3);

#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...)                                          \
        do {                                                    \
                if (log_get_level() >= LOG_LEVEL_DEBUG)         \
                        log_write(LOG_LEVEL_DEBUG, __VA_ARGS__); \
        } while (0)
