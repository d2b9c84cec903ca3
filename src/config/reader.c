#include "config/reader.h"
#include "base/str.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

void reader_problem(ConfigReader *r, TomlPos pos, const char *key, const char *fmt, ...)
{
        _cleanup_free_ char *msg = NULL;
        va_list ap;
        va_start(ap, fmt);
        int k = vasprintf(&msg, fmt, ap);
        va_end(ap);
        r->problems++;
        if (k < 0) {
                msg = NULL;
                r->oom = true;
                r->diag->oom = true;
                return;
        }
        if (pos.line == 0)
                pos = (TomlPos) { 1, 1 };
        if (diagnostics_add(r->diag, r->file, pos.line, pos.col, key, "%s", msg) < 0)
                r->oom = true;
}

int reader_parse(ConfigReader *r, const char *data, size_t len, TomlValue **ret)
{
        TomlError terr = {};
        int k = toml_parse(data, len, ret, &terr);
        if (k == -ENOMEM) {
                r->oom = true;
                r->diag->oom = true;
                return k;
        }
        if (k < 0) {
                terr.msg[sizeof terr.msg - 1] = 0;
                reader_problem(r, terr.pos, NULL, "%s", terr.msg[0] ? terr.msg : "invalid TOML");
        }
        return k;
}

static const char *type_with_article(TomlType t)
{
        switch (t) {
        case TOML_STRING: return "a string";
        case TOML_INTEGER: return "an integer";
        case TOML_FLOAT: return "a float";
        case TOML_BOOLEAN: return "a boolean";
        case TOML_ARRAY: return "an array";
        case TOML_TABLE: return "a table";
        default: return "a date/time";
        }
}

bool reader_expect(ConfigReader *r, const TomlValue *v, TomlType type, const char *key, const char *path)
{
        if (v->type == type)
                return true;
        const char *hint = "";
        if (type == TOML_INTEGER && v->type == TOML_STRING)
                hint = "; write the number without quotes";
        else if (type == TOML_STRING && (v->type == TOML_INTEGER || v->type == TOML_FLOAT || v->type == TOML_BOOLEAN))
                hint = "; put the value in quotes";
        else if (type == TOML_ARRAY && v->type == TOML_STRING)
                hint = "; write [\"...\"]";
        reader_problem(r, v->pos, path, "'%s' must be %s, got %s%s", key, type_with_article(type),
                       toml_type_name(v->type), hint);
        return false;
}

bool reader_string(ConfigReader *r, const TomlValue *v, const char *key, const char *path, size_t max,
                   char **ret)
{
        if (!reader_expect(r, v, TOML_STRING, key, path))
                return false;
        if (strlen(v->str.s) != v->str.len) {
                reader_problem(r, v->pos, path, "'%s' must not contain NUL characters", key);
                return false;
        }
        if (v->str.len > max) {
                reader_problem(r, v->pos, path, "'%s' is too long (%zu bytes; at most %zu)", key, v->str.len, max);
                return false;
        }
        char *s = strdup(v->str.s);
        if (!s) {
                r->oom = r->diag->oom = true;
                return false;
        }
        free(*ret);
        *ret = s;
        return true;
}

bool reader_int(ConfigReader *r, const TomlValue *v, const char *key, const char *path, int64_t min,
                int64_t max, const char *what, int64_t *ret)
{
        if (!reader_expect(r, v, TOML_INTEGER, key, path))
                return false;
        if (v->integer < min || v->integer > max) {
                reader_problem(r, v->pos, path, "'%s' must be between %" PRId64 " and %" PRId64 "%s%s%s, got %" PRId64,
                               key, min, max, what ? " (" : "", what ? what : "", what ? ")" : "", v->integer);
                return false;
        }
        *ret = v->integer;
        return true;
}

const char *join_list(const char *const *list, char *buf, size_t size)
{
        size_t off = 0;
        buf[0] = 0;
        for (; *list && off < size; list++) {
                int k = snprintf(buf + off, size - off, "%s%s", off ? ", " : "", *list);
                if (k < 0)
                        break;
                off += (size_t) k;
        }
        return buf;
}

void reader_unknown_key(ConfigReader *r, const char *key, TomlPos pos, const char *where, const char *path,
                        const char *const *candidates)
{
        char shown[PRINTABLE_MAX];
        size_t n = 0;
        while (candidates[n])
                n++;
        const char *best = closest_match(key, candidates, n);
        if (best) {
                reader_problem(r, pos, path, "unknown key '%s' in %s; did you mean '%s'?", printable(key, shown),
                               where, best);
                return;
        }
        char list[512];
        reader_problem(r, pos, path, "unknown key '%s' in %s; valid keys are: %s", printable(key, shown), where,
                       join_list(candidates, list, sizeof list));
}

bool reader_choice(ConfigReader *r, const TomlValue *v, const char *key, const char *path,
                   const char *const *choices, char **ret)
{
        _cleanup_free_ char *s = NULL;
        if (!reader_string(r, v, key, path, 64, &s))
                return false;
        size_t n = 0;
        for (; choices[n]; n++)
                if (streq(choices[n], s)) {
                        free(*ret);
                        *ret = TAKE_PTR(s);
                        return true;
                }
        char shown[PRINTABLE_MAX], list[256];
        const char *best = closest_match(s, choices, n);
        if (best)
                reader_problem(r, v->pos, path, "unknown %s '%s'; did you mean '%s'?", key, printable(s, shown), best);
        else
                reader_problem(r, v->pos, path, "unknown %s '%s'; use one of: %s", key, printable(s, shown),
                               join_list(choices, list, sizeof list));
        return false;
}

static bool is_bare_key(const char *s)
{
        if (!*s)
                return false;
        for (; *s; s++)
                if (!isascii((unsigned char) *s) || !(isalnum((unsigned char) *s) || *s == '_' || *s == '-'))
                        return false;
        return true;
}

static void append_key(StrBuf *b, const char *key)
{
        if (is_bare_key(key)) {
                strbuf_puts(b, key);
                return;
        }
        strbuf_putc(b, '"');
        for (const char *p = key; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (c == '"' || c == '\\')
                        strbuf_printf(b, "\\%c", c);
                else if (c < 0x20 || c == 0x7f)
                        strbuf_printf(b, "\\u%04x", c);
                else
                        strbuf_putc(b, (char) c);
        }
        strbuf_putc(b, '"');
}

char *reader_key_path(const char *table, const char *key)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        if (table) {
                strbuf_puts(&b, table);
                if (key)
                        strbuf_putc(&b, '.');
        }
        if (key)
                append_key(&b, key);
        return strbuf_steal(&b);
}

const char *printable(const char *s, char buf[static PRINTABLE_MAX])
{
        size_t o = 0;
        const size_t limit = PRINTABLE_MAX - 8; /* room for an escape and "..." */
        for (const char *p = s ? s : ""; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (o >= limit) {
                        /* Do not cut a UTF-8 sequence in half. */
                        while (o > 0 && ((unsigned char) buf[o - 1] & 0xc0) == 0x80)
                                o--;
                        if (o > 0 && ((unsigned char) buf[o - 1] & 0xc0) == 0xc0)
                                o--;
                        memcpy(buf + o, "...", 4);
                        return buf;
                }
                if (c < 0x20 || c == 0x7f)
                        o += (size_t) snprintf(buf + o, PRINTABLE_MAX - o, "\\x%02x", c);
                else
                        buf[o++] = (char) c;
        }
        buf[o] = 0;
        return buf;
}
