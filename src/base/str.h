/* String helpers: NULL-terminated string vectors, a growable buffer,
 * number parsing, name validation and "did you mean" suggestions. */
#pragma once

#include "base/macro.h"

#include <stdarg.h>
#include <string.h>

/* A formatted string, or NULL when out of memory. */
char *str_vprintf(const char *fmt, va_list ap) _printf_(1, 0);

/* ---- string vectors (char **, NULL-terminated) ---- */
size_t strv_length(char *const *v);
char **strv_free(char **v);
/* Append a copy of s; returns 0 or -ENOMEM. *v may be NULL. */
int strv_push(char ***v, const char *s);
/* Append s itself (takes ownership, even on failure). */
int strv_consume(char ***v, char *s);
/* Append a formatted string; returns 0 or -ENOMEM. */
int strv_printf(char ***v, const char *fmt, ...) _printf_(2, 3);
int strv_vprintf(char ***v, const char *fmt, va_list ap) _printf_(2, 0);
char **strv_copy(char *const *v);
bool strv_contains(char *const *v, const char *s);
/* In strcmp() order. */
void strv_sort(char **v);
static inline void strv_freep(char ***v)
{
        strv_free(*v);
}
#define _cleanup_strv_free_ _cleanup_(strv_freep)
#define STRV_FOREACH(s, v) for (char *const *s = (v); s && *s; s++)

/* ---- prefixes ---- */
/* Returns a pointer past the prefix, or NULL. */
const char *startswith(const char *s, const char *prefix);
bool endswith(const char *s, const char *suffix);

/* ---- growable buffer ---- */
typedef struct StrBuf {
        char *data; /* always NUL-terminated once anything was added */
        size_t len;
        size_t cap;
        bool oom;   /* sticky allocation failure */
} StrBuf;

#define STRBUF_INIT { NULL, 0, 0, false }
int strbuf_append(StrBuf *b, const char *s, size_t n);
int strbuf_puts(StrBuf *b, const char *s);
int strbuf_printf(StrBuf *b, const char *fmt, ...) _printf_(2, 3);
int strbuf_putc(StrBuf *b, char c);
/* Returns the string (caller frees) and resets the buffer; NULL on OOM. */
char *strbuf_steal(StrBuf *b);
void strbuf_done(StrBuf *b);
#define _cleanup_strbuf_ _cleanup_(strbuf_done)

/* ---- parsing ---- */
/* Strict decimal parse into [min, max]; -EINVAL for junk, -ERANGE out of range. */
int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret);
int parse_uint16(const char *s, uint16_t *ret);

/* ---- names ---- */
/* Sandbox, workspace and snapshot names: 1-63 chars of
 * [A-Za-z0-9][A-Za-z0-9_-]*. Safe as a single path component. */
bool name_is_valid(const char *s);
/* Environment variable names: [A-Za-z_][A-Za-z0-9_]*. */
bool env_name_is_valid(const char *s);

/* ---- suggestions ---- */
/* Optimal-string-alignment edit distance (adjacent swaps count 1). */
size_t string_distance(const char *a, const char *b);
/* Closest candidate within a sensible distance, or NULL. */
const char *closest_match(const char *word, const char *const *candidates, size_t n);

/* Overwrite memory in a way the compiler may not drop (secrets). */
void explicit_wipe(void *p, size_t n);
