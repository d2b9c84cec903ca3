#include "base/str.h"

#include <ctype.h>
#include <limits.h>

size_t strv_length(char *const *v)
{
        size_t n = 0;
        while (v && v[n])
                n++;
        return n;
}

char **strv_free(char **v)
{
        if (!v)
                return NULL;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
        return NULL;
}

int strv_consume(char ***v, char *s)
{
        if (!s)
                return -ENOMEM;
        size_t n = strv_length(*v);
        char **nv = realloc(*v, (n + 2) * sizeof(char *));
        if (!nv) {
                free(s);
                return -ENOMEM;
        }
        nv[n] = s;
        nv[n + 1] = NULL;
        *v = nv;
        return 0;
}

int strv_push(char ***v, const char *s)
{
        return strv_consume(v, strdup(s));
}

char *str_vprintf(const char *fmt, va_list ap)
{
        char *s = NULL;
        return vasprintf(&s, fmt, ap) < 0 ? NULL : s;
}

int strv_vprintf(char ***v, const char *fmt, va_list ap)
{
        return strv_consume(v, str_vprintf(fmt, ap));
}

int strv_printf(char ***v, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int r = strv_vprintf(v, fmt, ap);
        va_end(ap);
        return r;
}

char **strv_copy(char *const *v)
{
        char **r = calloc(1, sizeof(char *));
        if (!r)
                return NULL;
        STRV_FOREACH(s, v)
                if (strv_push(&r, *s) < 0)
                        return strv_free(r);
        return r;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort(char **v)
{
        if (v)
                qsort(v, strv_length(v), sizeof *v, cmp_str);
}

bool strv_contains(char *const *v, const char *s)
{
        STRV_FOREACH(p, v)
                if (streq(*p, s))
                        return true;
        return false;
}

const char *startswith(const char *s, const char *prefix)
{
        size_t n = strlen(prefix);
        return strncmp(s, prefix, n) == 0 ? s + n : NULL;
}

bool endswith(const char *s, const char *suffix)
{
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static int strbuf_reserve(StrBuf *b, size_t extra)
{
        if (b->oom)
                return -ENOMEM;
        if (b->len + extra + 1 <= b->cap)
                return 0;
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + extra + 1) {
                if (cap > SIZE_MAX / 2) {
                        b->oom = true;
                        return -ENOMEM;
                }
                cap *= 2;
        }
        char *d = realloc(b->data, cap);
        if (!d) {
                b->oom = true;
                return -ENOMEM;
        }
        b->data = d;
        b->cap = cap;
        return 0;
}

int strbuf_append(StrBuf *b, const char *s, size_t n)
{
        if (strbuf_reserve(b, n) < 0)
                return -ENOMEM;
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = 0;
        return 0;
}

int strbuf_puts(StrBuf *b, const char *s)
{
        return strbuf_append(b, s, strlen(s));
}

int strbuf_putc(StrBuf *b, char c)
{
        return strbuf_append(b, &c, 1);
}

int strbuf_printf(StrBuf *b, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return -EINVAL;
        if (strbuf_reserve(b, (size_t) n) < 0)
                return -ENOMEM;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t) n;
        return 0;
}

char *strbuf_steal(StrBuf *b)
{
        char *s = NULL;
        if (!b->oom)
                s = b->data ? b->data : strdup("");
        else
                free(b->data);
        *b = (StrBuf) STRBUF_INIT;
        return s;
}

void strbuf_done(StrBuf *b)
{
        free(b->data);
        *b = (StrBuf) STRBUF_INIT;
}

int parse_int64(const char *s, int64_t min, int64_t max, int64_t *ret)
{
        if (!s || !*s || isspace((unsigned char) *s))
                return -EINVAL;
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (*end)
                return -EINVAL;
        if (errno == ERANGE || v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int parse_uint16(const char *s, uint16_t *ret)
{
        int64_t v;
        int r = parse_int64(s, 0, UINT16_MAX, &v);
        if (r < 0)
                return r;
        *ret = (uint16_t) v;
        return 0;
}

bool name_is_valid(const char *s)
{
        if (!s || !isalnum((unsigned char) s[0]) || !isascii((unsigned char) s[0]))
                return false;
        size_t n = 0;
        for (const char *p = s; *p; p++, n++) {
                unsigned char c = (unsigned char) *p;
                if (!(isascii(c) && (isalnum(c) || c == '_' || c == '-')))
                        return false;
        }
        return n >= 1 && n <= 63;
}

bool env_name_is_valid(const char *s)
{
        if (!s || !*s || isdigit((unsigned char) *s))
                return false;
        for (const char *p = s; *p; p++) {
                unsigned char c = (unsigned char) *p;
                if (!(isascii(c) && (isalnum(c) || c == '_')))
                        return false;
        }
        return strlen(s) <= 255;
}

size_t string_distance(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);
        if (la > 64 || lb > 64)
                return SIZE_MAX;
        size_t d[65][65];
        for (size_t i = 0; i <= la; i++)
                d[i][0] = i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
                        size_t best = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < best)
                                best = d[i][j - 1] + 1;
                        if (d[i - 1][j - 1] + cost < best)
                                best = d[i - 1][j - 1] + cost;
                        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                            d[i - 2][j - 2] + 1 < best)
                                best = d[i - 2][j - 2] + 1;
                        d[i][j] = best;
                }
        return d[la][lb];
}

const char *closest_match(const char *word, const char *const *candidates, size_t n)
{
        const char *best = NULL;
        size_t best_d = SIZE_MAX;
        size_t limit = strlen(word) <= 3 ? 1 : strlen(word) <= 6 ? 2 : 3;
        for (size_t i = 0; i < n; i++) {
                if (!candidates[i])
                        continue;
                size_t d = string_distance(word, candidates[i]);
                if (d < best_d) {
                        best_d = d;
                        best = candidates[i];
                }
        }
        return best_d <= limit ? best : NULL;
}

void explicit_wipe(void *p, size_t n)
{
        if (p && n)
                explicit_bzero(p, n);
}
