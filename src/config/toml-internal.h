/* Shared by the files of the TOML parser only (toml*.c): the parser
 * state, position tracking, error reporting, the table store and the
 * scalar lexers. Nothing outside src/config/toml*.c includes this. */
#pragma once

#include <locale.h>
#include <stdarg.h>

#include "config/toml.h"

/* How a table came to exist. The TOML redefinition rules are all
 * decisions on this state (see toml.c). */
typedef enum TomlTableKind {
        TOML_TABLE_IMPLICIT, /* created as a parent of [a.b.c], not yet defined */
        TOML_TABLE_HEADER,   /* defined by [header] or [[header]] (or the root) */
        TOML_TABLE_DOTTED,   /* defined by dotted keys: a.b = 1 */
        TOML_TABLE_INLINE,   /* an inline table { ... }: immutable */
} TomlTableKind;

typedef struct TomlEntry {
        char *key;
        size_t key_len;
        uint64_t hash;
        TomlPos key_pos;
        TomlValue *value;
        bool array_of_tables; /* array created by [[header]]; may be appended to */
} TomlEntry;

struct TomlTable {
        TomlEntry *entries; /* document order */
        size_t n, cap;
        uint32_t *index;    /* open addressing: entry index + 1, 0 = empty */
        size_t index_cap;   /* 0 until the table outgrows a linear scan */
        uint64_t seed;
        TomlTableKind kind;
};

#define TOML_MAX_KEY_PARTS TOML_MAX_DEPTH

typedef struct TomlParser {
        const char *data, *p, *end;
        unsigned line;
        const char *line_start;
        /* Column cache: positions are asked for left to right, so
         * counting characters from the last answer keeps long lines
         * linear. */
        const char *col_ptr;
        unsigned col;
        TomlError *err;
        uint64_t seed;
        locale_t c_locale;
        /* Scratch space for building strings with escapes. */
        char *buf;
        size_t buf_len, buf_cap;
} TomlParser;

/* ---- positions and errors (toml-text.c) ---- */
TomlPos toml_pos_at(TomlParser *P, const char *at);
static inline TomlPos toml_pos_here(TomlParser *P)
{
        return toml_pos_at(P, P->p);
}
/* Record that a line ended; next_line points just past the '\n'. */
static inline void toml_newline(TomlParser *P, const char *next_line)
{
        P->line++;
        P->line_start = next_line;
}
int toml_error_at(TomlParser *P, const char *at, const char *fmt, ...) _printf_(3, 4);
int toml_error_pos(TomlParser *P, TomlPos pos, int code, const char *fmt, ...) _printf_(4, 5);
int toml_error_oom(TomlParser *P);
/* Describe the character at p for a message: 'x', end of file, newline, U+FEFF. */
const char *toml_describe_char(TomlParser *P, const char *p, char buf[static 32]);
/* Copy up to max bytes of s into buf for a message, cutting on a
 * character boundary and escaping what would be unreadable. */
const char *toml_excerpt(const char *s, size_t n, char *buf, size_t size);

/* The document must be UTF-8 without control characters other than
 * tab and newline: checked once, up front, for the whole input. */
int toml_check_text(const char *data, size_t len, TomlError *err);
size_t toml_utf8_encode(uint32_t cp, char out[static 4]);

/* ---- scratch buffer (toml-text.c) ---- */
int toml_buf_append(TomlParser *P, const char *s, size_t n);
static inline int toml_buf_putc(TomlParser *P, char c)
{
        if (_likely_(P->buf_len < P->buf_cap)) {
                P->buf[P->buf_len++] = c;
                return 0;
        }
        return toml_buf_append(P, &c, 1);
}
char *toml_buf_steal(TomlParser *P); /* copy of the buffer, NUL-terminated; resets it */

/* ---- strings (toml-string.c) ---- */
/* Parse the string starting at P->p (a quote). Keys may only use the
 * single-line forms. */
int toml_lex_string(TomlParser *P, bool is_key, char **ret, size_t *ret_len);

/* ---- numbers, booleans and date-times (toml-scalar.c) ---- */
/* Parse a bare value (number, bool, inf/nan, date-time) at P->p. */
int toml_lex_scalar(TomlParser *P, TomlValue *v);

/* ---- tables (toml-table.c) ---- */
TomlValue *toml_value_new(TomlType type, TomlPos pos);
TomlValue *toml_table_new(TomlPos pos, TomlTableKind kind, uint64_t seed);
TomlEntry *toml_table_find(TomlTable *t, const char *key, size_t len);
/* Append a new key; takes ownership of key and value on success only.
 * -E2BIG beyond TOML_MAX_TABLE_KEYS. */
int toml_table_add(TomlTable *t, char *key, size_t len, TomlPos key_pos, TomlValue *value, TomlEntry **ret);
int toml_array_push(TomlValue *array, TomlValue *item);
