/* A complete TOML 1.0 parser.
 *
 * toml_parse() turns a document into a tree of TomlValue nodes; the
 * root is always a table. Every node remembers where it started
 * (line and column, 1-based) so that higher layers can point at the
 * exact spot of a problem. Input is bounded (size, nesting depth, key
 * count) and parsing is iterative where a file could otherwise drive
 * recursion. */
#pragma once

#include "base/macro.h"

#define TOML_MAX_INPUT (16u * 1024 * 1024) /* bytes */
#define TOML_MAX_DEPTH 128u                /* nested arrays / inline tables */
#define TOML_MAX_TABLE_KEYS 1000000u       /* keys in one table */

typedef enum TomlType {
        TOML_STRING,
        TOML_INTEGER,
        TOML_FLOAT,
        TOML_BOOLEAN,
        TOML_OFFSET_DATETIME,
        TOML_LOCAL_DATETIME,
        TOML_LOCAL_DATE,
        TOML_LOCAL_TIME,
        TOML_ARRAY,
        TOML_TABLE,
        _TOML_TYPE_MAX,
} TomlType;

typedef struct TomlPos {
        unsigned line; /* 1-based */
        unsigned col;  /* 1-based, in characters (UTF-8 code points) */
} TomlPos;

typedef struct TomlDatetime {
        int year, month, day;          /* when a date part is present */
        int hour, minute, second;      /* when a time part is present */
        unsigned nanosecond;
        unsigned frac_digits;          /* digits of fractional seconds as written (0 = none) */
        int offset_minutes;            /* for TOML_OFFSET_DATETIME; 0 with 'Z' */
        bool offset_z;                 /* offset written as Z/z */
} TomlDatetime;

typedef struct TomlValue TomlValue;
typedef struct TomlTable TomlTable;

struct TomlValue {
        TomlType type;
        TomlPos pos;
        union {
                struct {
                        char *s;    /* NUL-terminated UTF-8; may contain NUL via \u0000 */
                        size_t len;
                } str;
                int64_t integer;
                double flt;
                bool boolean;
                TomlDatetime dt;
                struct {
                        TomlValue **items;
                        size_t n;
                } array;
                TomlTable *table;
        };
};

typedef struct TomlError {
        TomlPos pos;
        char msg[256];
} TomlError;

/* Parse len bytes of data. On success *ret is a TOML_TABLE the caller
 * frees with toml_free(). On failure returns a negative errno (-EINVAL
 * for bad TOML, -E2BIG for limits, -ENOMEM) and fills *err. */
int toml_parse(const char *data, size_t len, TomlValue **ret, TomlError *err);

TomlValue *toml_free(TomlValue *v);
DEFINE_CLEANUP_FUNC(TomlValue, toml_free);
#define _cleanup_toml_ _cleanup_(toml_freep)

/* Tables keep keys in document order. */
size_t toml_table_size(const TomlValue *table);
const char *toml_table_key(const TomlValue *table, size_t i, TomlPos *ret_key_pos);
TomlValue *toml_table_value(const TomlValue *table, size_t i);
TomlValue *toml_table_get(const TomlValue *table, const char *key);

size_t toml_array_size(const TomlValue *array);
TomlValue *toml_array_get(const TomlValue *array, size_t i);

const char *toml_type_name(TomlType t); /* "string", "integer", ... */

/* Length of key i: keys may contain NUL through "\u0000". */
size_t toml_table_key_length(const TomlValue *table, size_t i);

/* RFC 3339 text of a date-time value ("1979-05-27T07:32:00.5-07:00",
 * "1979-05-27", "07:32:00"), with fractional seconds as written (at
 * most 9 digits). Returns the length (like snprintf) or -EINVAL when v
 * is not a date-time. */
int toml_datetime_format(const TomlValue *v, char *buf, size_t size);
