/* Reading typed values out of a parsed TOML document while collecting
 * every problem as a diagnostic (shared by the Enclavefile and
 * config.toml loaders). Messages follow one pattern: they name the key,
 * say what was expected and what was found, and what to do. */
#pragma once

#include "config/diagnostics.h"
#include "config/toml.h"

typedef struct ConfigReader {
        const char *file;   /* display name used in diagnostics */
        Diagnostics *diag;
        size_t problems;    /* added by this reader */
        bool oom;
} ConfigReader;

/* Record a problem at pos (1:1 when the position is unknown). */
void reader_problem(ConfigReader *r, TomlPos pos, const char *key, const char *fmt, ...) _printf_(4, 5);

/* Parse a document; syntax errors become diagnostics. Returns 0 or a
 * negative errno. */
int reader_parse(ConfigReader *r, const char *data, size_t len, TomlValue **ret);

/* Check a value's type; on mismatch record "'key' must be <expected>,
 * got <type>" and return false. path is the dotted key for the record. */
bool reader_expect(ConfigReader *r, const TomlValue *v, TomlType type, const char *key, const char *path);

/* A string without NUL bytes of at most max bytes; *ret is replaced
 * (the old value freed). */
bool reader_string(ConfigReader *r, const TomlValue *v, const char *key, const char *path, size_t max,
                   char **ret);

/* An integer in min..max; what describes the unit for the message
 * ("MiB", "percent of the whole machine"), may be NULL. */
bool reader_int(ConfigReader *r, const TomlValue *v, const char *key, const char *path, int64_t min,
                int64_t max, const char *what, int64_t *ret);

/* A string from the NULL-terminated list choices; otherwise "unknown
 * <key> 'x'; did you mean 'y'?" or the list of choices. */
bool reader_choice(ConfigReader *r, const TomlValue *v, const char *key, const char *path,
                   const char *const *choices, char **ret);

/* "unknown key 'k' in <where>; did you mean 'x'?" or a list of valid keys. */
void reader_unknown_key(ConfigReader *r, const char *key, TomlPos pos, const char *where, const char *path,
                        const char *const *candidates);

/* "a.b" with TOML quoting of parts that are not bare keys; NULL on OOM. */
char *reader_key_path(const char *table, const char *key);

/* A user-supplied string made safe and short for a message: control
 * characters escaped, long values cut with "...". Returns buf. */
#define PRINTABLE_MAX 100
const char *printable(const char *s, char buf[static PRINTABLE_MAX]);

/* ", "-joined NULL-terminated list, into buf (truncated to fit). */
const char *join_list(const char *const *list, char *buf, size_t size);
