/* The text layer of the TOML parser: whole-document encoding checks,
 * line/column positions, error messages and the string scratch buffer. */
#include <string.h>

#include "config/toml-internal.h"

static bool is_continuation(uint8_t c)
{
        return (c & 0xC0) == 0x80;
}

TomlPos toml_pos_at(TomlParser *P, const char *at)
{
        /* Every caller asks about a point on the current line; the cache
         * is restarted when the line changed or the point lies behind. */
        if (P->col_ptr < P->line_start || P->col_ptr > at) {
                P->col_ptr = P->line_start;
                P->col = 1;
        }
        for (const char *s = P->col_ptr; s < at; s++)
                if (!is_continuation((uint8_t) *s))
                        P->col++;
        P->col_ptr = at;
        return (TomlPos) { P->line, P->col };
}

static void set_message(TomlError *err, const char *fmt, va_list ap) _printf_(2, 0);
static void set_message(TomlError *err, const char *fmt, va_list ap)
{
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
}

int toml_error_at(TomlParser *P, const char *at, const char *fmt, ...)
{
        va_list ap;

        P->err->pos = toml_pos_at(P, at);
        va_start(ap, fmt);
        set_message(P->err, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

int toml_error_pos(TomlParser *P, TomlPos pos, int code, const char *fmt, ...)
{
        va_list ap;

        P->err->pos = pos;
        va_start(ap, fmt);
        set_message(P->err, fmt, ap);
        va_end(ap);
        return -code;
}

int toml_error_oom(TomlParser *P)
{
        P->err->pos = toml_pos_here(P);
        snprintf(P->err->msg, sizeof P->err->msg, "out of memory");
        return -ENOMEM;
}

const char *toml_describe_char(TomlParser *P, const char *p, char buf[static 32])
{
        if (p >= P->end)
                return "end of file";
        uint8_t c = (uint8_t) *p;
        if (c == '\n' || c == '\r')
                return "end of line";
        if (c == '\'')
                return "\"'\"";
        if (c >= 0x20 && c < 0x7f) {
                snprintf(buf, 32, "'%c'", c);
                return buf;
        }
        /* The text was validated up front: a lead byte starts a complete
         * sequence. */
        uint32_t cp;
        if (c < 0x80)
                cp = c;
        else if (c < 0xE0)
                cp = (c & 0x1Fu) << 6 | (p[1] & 0x3Fu);
        else if (c < 0xF0)
                cp = (c & 0x0Fu) << 12 | (p[1] & 0x3Fu) << 6 | (p[2] & 0x3Fu);
        else
                cp = (c & 0x07u) << 18 | (p[1] & 0x3Fu) << 12 | (p[2] & 0x3Fu) << 6 | (p[3] & 0x3Fu);
        snprintf(buf, 32, "character U+%04X", (unsigned) cp);
        return buf;
}

const char *toml_excerpt(const char *s, size_t n, char *buf, size_t size)
{
        size_t o = 0;

        for (size_t i = 0; i < n && o + 8 < size; i++) {
                uint8_t c = (uint8_t) s[i];
                if (c < 0x20 || c == 0x7f)
                        o += (size_t) snprintf(buf + o, size - o, "\\x%02x", c);
                else
                        buf[o++] = (char) c;
        }
        if (o + 8 >= size) {
                /* Cut back to a character boundary before the ellipsis. */
                while (o > 0 && is_continuation((uint8_t) buf[o - 1]))
                        o--;
                if (o > 0 && (uint8_t) buf[o - 1] >= 0xC0)
                        o--;
                memcpy(buf + o, "...", 3);
                o += 3;
        }
        buf[o] = '\0';
        return buf;
}

size_t toml_utf8_encode(uint32_t cp, char out[static 4])
{
        if (cp < 0x80) {
                out[0] = (char) cp;
                return 1;
        }
        if (cp < 0x800) {
                out[0] = (char) (0xC0 | cp >> 6);
                out[1] = (char) (0x80 | (cp & 0x3F));
                return 2;
        }
        if (cp < 0x10000) {
                out[0] = (char) (0xE0 | cp >> 12);
                out[1] = (char) (0x80 | (cp >> 6 & 0x3F));
                out[2] = (char) (0x80 | (cp & 0x3F));
                return 3;
        }
        out[0] = (char) (0xF0 | cp >> 18);
        out[1] = (char) (0x80 | (cp >> 12 & 0x3F));
        out[2] = (char) (0x80 | (cp >> 6 & 0x3F));
        out[3] = (char) (0x80 | (cp & 0x3F));
        return 4;
}

static int text_error(TomlError *err, unsigned line, unsigned col, const char *fmt, ...) _printf_(4, 5);
static int text_error(TomlError *err, unsigned line, unsigned col, const char *fmt, ...)
{
        va_list ap;

        err->pos = (TomlPos) { line, col };
        va_start(ap, fmt);
        set_message(err, fmt, ap);
        va_end(ap);
        return -EINVAL;
}

/* Length of the valid UTF-8 sequence at s, or a negative value with
 * *why describing the defect. Overlong forms, UTF-16 surrogates and
 * code points beyond U+10FFFF are all invalid. */
static int utf8_sequence_length(const uint8_t *s, const uint8_t *end, const char **why)
{
        uint8_t c = s[0];
        size_t n;
        uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */

        if (c < 0x80)
                return 1;
        if (c < 0xC0) {
                *why = "unexpected UTF-8 continuation byte";
                return -1;
        }
        if (c < 0xC2) {
                *why = "overlong UTF-8 encoding";
                return -1;
        }
        if (c < 0xE0)
                n = 2;
        else if (c < 0xF0) {
                n = 3;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c < 0xF5) {
                n = 4;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else {
                *why = "invalid UTF-8 byte";
                return -1;
        }
        if ((size_t) (end - s) < n) {
                *why = "truncated UTF-8 sequence";
                return -1;
        }
        if (s[1] < lo || s[1] > hi) {
                if (c == 0xED && is_continuation(s[1]))
                        *why = "UTF-16 surrogate encoded in UTF-8";
                else if (c == 0xF4 && is_continuation(s[1]))
                        *why = "code point beyond U+10FFFF";
                else if (is_continuation(s[1]))
                        *why = "overlong UTF-8 encoding";
                else
                        *why = "truncated UTF-8 sequence";
                return -1;
        }
        for (size_t i = 2; i < n; i++)
                if (!is_continuation(s[i])) {
                        *why = "truncated UTF-8 sequence";
                        return -1;
                }
        return (int) n;
}

int toml_check_text(const char *data, size_t len, TomlError *err)
{
        const uint8_t *s = (const uint8_t *) data, *end = s + len;
        unsigned line = 1, col = 1;

        while (s < end) {
                uint8_t c = *s;

                if (_likely_((c >= 0x20 && c < 0x7f) || c == '\t')) {
                        s++;
                        col++;
                } else if (c == '\n') {
                        s++;
                        line++;
                        col = 1;
                } else if (c == '\r') {
                        if (s + 1 >= end || s[1] != '\n')
                                return text_error(err, line, col,
                                                  "carriage return not followed by a line feed "
                                                  "(a bare CR is not a line ending in TOML)");
                        s += 2;
                        line++;
                        col = 1;
                } else if (c < 0x80) {
                        return text_error(err, line, col,
                                          "control character U+%04X is not allowed "
                                          "(inside basic strings write it as \\u%04X)", c, c);
                } else {
                        const char *why = NULL;
                        int n = utf8_sequence_length(s, end, &why);
                        if (n < 0)
                                return text_error(err, line, col, "%s (byte 0x%02X); TOML documents must be UTF-8",
                                                  why, c);
                        s += n;
                        col++;
                }
        }
        return 0;
}

int toml_buf_append(TomlParser *P, const char *s, size_t n)
{
        if (n > P->buf_cap - P->buf_len) {
                size_t cap = P->buf_cap ? P->buf_cap : 256;
                while (cap - P->buf_len < n)
                        cap *= 2;
                char *b = realloc(P->buf, cap);
                if (!b)
                        return toml_error_oom(P);
                P->buf = b;
                P->buf_cap = cap;
        }
        if (n > 0)
                memcpy(P->buf + P->buf_len, s, n);
        P->buf_len += n;
        return 0;
}

char *toml_buf_steal(TomlParser *P)
{
        char *s = malloc(P->buf_len + 1);
        if (!s)
                return NULL;
        if (P->buf_len > 0)
                memcpy(s, P->buf, P->buf_len);
        s[P->buf_len] = '\0';
        P->buf_len = 0;
        return s;
}
