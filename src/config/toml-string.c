/* The four TOML string forms: "basic", 'literal', """multi-line
 * basic""" and '''multi-line literal'''. Control characters were
 * rejected for the whole document already (toml_check_text), so only
 * newlines need care here. */
#include <string.h>

#include "config/toml-internal.h"

static int hex_value(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static bool at_newline(const TomlParser *P, const char *p)
{
        return p < P->end && (*p == '\n' || *p == '\r');
}

/* Step over "\n" or "\r\n" at p (the text check guarantees CR is
 * followed by LF) and account for the new line. */
static const char *skip_newline(TomlParser *P, const char *p)
{
        p += *p == '\r' ? 2 : 1;
        toml_newline(P, p);
        return p;
}

static int unicode_escape(TomlParser *P, const char *bs, unsigned digits, const char **ret_next)
{
        const char *p = bs + 2;
        uint32_t cp = 0;
        char ex[64];

        for (unsigned i = 0; i < digits; i++) {
                int h = p + i < P->end ? hex_value(p[i]) : -1;
                if (h < 0) {
                        size_t n = 0;
                        while (bs + n < P->end && n < 2 + digits && !at_newline(P, bs + n))
                                n++;
                        return toml_error_at(P, bs, "invalid escape '%s': \\%c needs exactly %u hex digits",
                                             toml_excerpt(bs, n, ex, sizeof ex), bs[1], digits);
                }
                cp = cp << 4 | (uint32_t) h;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                return toml_error_at(P, bs, "invalid escape '%s': not a Unicode scalar value",
                                     toml_excerpt(bs, 2 + digits, ex, sizeof ex));
        char out[4];
        int r = toml_buf_append(P, out, toml_utf8_encode(cp, out));
        if (r < 0)
                return r;
        *ret_next = p + digits;
        return 0;
}

/* A backslash at the end of a line in a multi-line basic string eats
 * the newline and all whitespace up to the next visible character. */
static bool line_ending_backslash(TomlParser *P, const char **pp)
{
        const char *p = *pp + 1;

        while (p < P->end && (*p == ' ' || *p == '\t'))
                p++;
        if (!at_newline(P, p))
                return false;
        while (p < P->end) {
                if (*p == ' ' || *p == '\t')
                        p++;
                else if (at_newline(P, p))
                        p = skip_newline(P, p);
                else
                        break;
        }
        *pp = p;
        return true;
}

static int escape(TomlParser *P, const char **pp, bool multiline)
{
        const char *bs = *pp;
        const char *p = bs + 1;
        char c, buf[32];

        if (p >= P->end)
                return toml_error_at(P, bs, "unterminated string: end of file after '\\'");
        switch (*p) {
        case 'b': c = '\b'; break;
        case 't': c = '\t'; break;
        case 'n': c = '\n'; break;
        case 'f': c = '\f'; break;
        case 'r': c = '\r'; break;
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        case 'u':
                return unicode_escape(P, bs, 4, pp);
        case 'U':
                return unicode_escape(P, bs, 8, pp);
        default:
                if (multiline && line_ending_backslash(P, pp))
                        return 0;
                if (at_newline(P, p))
                        return toml_error_at(P, bs, "invalid escape: '\\' at the end of a line "
                                                    "(only allowed in multi-line strings)");
                if (*p == ' ' || *p == '\t')
                        return toml_error_at(P, bs, "invalid escape '\\%c' in string "
                                                    "(a line-ending backslash must be the last thing on its line)",
                                             *p);
                if ((uint8_t) *p >= 0x20 && (uint8_t) *p < 0x7f)
                        return toml_error_at(P, bs, "invalid escape '\\%c' in string "
                                                    "(valid: \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX)",
                                             *p);
                return toml_error_at(P, bs, "invalid escape: '\\' followed by %s",
                                     toml_describe_char(P, p, buf));
        }
        *pp = p + 1;
        return toml_buf_putc(P, c);
}

static int finish(TomlParser *P, char **ret, size_t *ret_len)
{
        size_t len = P->buf_len;
        char *s = toml_buf_steal(P);
        if (!s)
                return toml_error_oom(P);
        *ret = s;
        *ret_len = len;
        return 0;
}

static int basic_string(TomlParser *P, char **ret, size_t *ret_len)
{
        const char *open = P->p, *p = P->p + 1;
        int r;

        P->buf_len = 0;
        for (;;) {
                const char *start = p;
                while (p < P->end && *p != '"' && *p != '\\' && *p != '\n' && *p != '\r')
                        p++;
                r = toml_buf_append(P, start, (size_t) (p - start));
                if (r < 0)
                        return r;
                if (p >= P->end || *p == '\n' || *p == '\r')
                        return toml_error_at(P, open, "unterminated string: missing closing '\"' before %s%s",
                                             p >= P->end ? "end of file" : "end of line",
                                             p >= P->end ? "" : " (use \"\"\" for multi-line strings)");
                if (*p == '"')
                        break;
                r = escape(P, &p, false);
                if (r < 0)
                        return r;
        }
        P->p = p + 1;
        return finish(P, ret, ret_len);
}

static int literal_string(TomlParser *P, char **ret, size_t *ret_len)
{
        const char *open = P->p, *p = P->p + 1;

        while (p < P->end && *p != '\'' && *p != '\n' && *p != '\r')
                p++;
        if (p >= P->end || *p != '\'')
                return toml_error_at(P, open, "unterminated literal string: missing closing \"'\" before %s",
                                     p >= P->end ? "end of file" : "end of line");
        P->buf_len = 0;
        int r = toml_buf_append(P, open + 1, (size_t) (p - open - 1));
        if (r < 0)
                return r;
        P->p = p + 1;
        return finish(P, ret, ret_len);
}

/* At a run of quote characters inside a multi-line string: up to two
 * quotes may be content, three end the string. Returns true at the end. */
static int closing_quotes(TomlParser *P, const char **pp, char q, bool *ret_done)
{
        const char *p = *pp;
        size_t n = 0;

        while (p + n < P->end && p[n] == q)
                n++;
        if (n < 3) {
                *ret_done = false;
                *pp = p + n;
                return toml_buf_append(P, p, n);
        }
        if (n > 5)
                return toml_error_at(P, p + 5, "too many quotes: at most two %s may precede the closing %s",
                                     q == '"' ? "'\"'" : "\"'\"", q == '"' ? "'\"\"\"'" : "\"'''\"");
        *ret_done = true;
        *pp = p + n;
        return toml_buf_append(P, p, n - 3);
}

static int multiline_string(TomlParser *P, char q, char **ret, size_t *ret_len)
{
        const char *open = P->p, *p = P->p + 3;
        TomlPos open_pos = toml_pos_at(P, open);
        bool done = false;
        int r;

        P->buf_len = 0;
        /* A newline right after the opening delimiter is trimmed. */
        if (at_newline(P, p))
                p = skip_newline(P, p);
        while (!done) {
                const char *start = p;
                while (p < P->end && *p != q && *p != '\n' && *p != '\r' && !(q == '"' && *p == '\\'))
                        p++;
                r = toml_buf_append(P, start, (size_t) (p - start));
                if (r < 0)
                        return r;
                if (p >= P->end)
                        return toml_error_pos(P, open_pos, EINVAL,
                                              "unterminated multi-line string: missing closing %s",
                                              q == '"' ? "'\"\"\"'" : "\"'''\"");
                if (*p == q)
                        r = closing_quotes(P, &p, q, &done);
                else if (*p == '\\')
                        r = escape(P, &p, true);
                else {
                        /* CRLF is stored as LF, so content does not
                         * depend on the editor that wrote the file. */
                        p = skip_newline(P, p);
                        r = toml_buf_putc(P, '\n');
                }
                if (r < 0)
                        return r;
        }
        P->p = p;
        return finish(P, ret, ret_len);
}

static bool triple(const TomlParser *P, char q)
{
        return P->end - P->p >= 3 && P->p[0] == q && P->p[1] == q && P->p[2] == q;
}

int toml_lex_string(TomlParser *P, bool is_key, char **ret, size_t *ret_len)
{
        char q = *P->p;

        if (triple(P, q)) {
                if (is_key)
                        return toml_error_at(P, P->p, "multi-line strings cannot be used as keys");
                return multiline_string(P, q, ret, ret_len);
        }
        return q == '"' ? basic_string(P, ret, ret_len) : literal_string(P, ret, ret_len);
}
