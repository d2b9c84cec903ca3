/* Bare TOML values: booleans, integers, floats and the four date-time
 * types. The value is first cut out as a token (the characters that
 * can appear in one), then the token is checked against the grammar,
 * so every message can quote what the user wrote. */
#include <math.h>
#include <string.h>

#include "config/toml-internal.h"

typedef struct Token {
        const char *s;
        size_t n;
        TomlPos pos;
} Token;

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

static bool is_token_char(char c)
{
        return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               c == '_' || c == '-' || c == '+' || c == '.' || c == ':';
}

static bool token_is(const Token *t, const char *s)
{
        return t->n == strlen(s) && memcmp(t->s, s, t->n) == 0;
}

static const char *quote(const Token *t, char *buf, size_t size)
{
        return toml_excerpt(t->s, t->n, buf, size);
}

static int token_error(TomlParser *P, const Token *t, const char *what, const char *why)
{
        char ex[96];
        return toml_error_pos(P, t->pos, EINVAL, "invalid %s '%s': %s", what, quote(t, ex, sizeof ex), why);
}

/* ---- integers and floats ---- */

static bool is_base_digit(char c, int base)
{
        switch (base) {
        case 2: return c == '0' || c == '1';
        case 8: return c >= '0' && c <= '7';
        case 16: return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        default: return is_digit(c);
        }
}

/* Digits of one base with single underscores between them. Returns the
 * number of digits, or -1 for a misplaced underscore. */
static ssize_t scan_digits(const Token *t, size_t *i, int base)
{
        ssize_t digits = 0;

        while (*i < t->n) {
                char c = t->s[*i];
                if (is_base_digit(c, base)) {
                        digits++;
                        (*i)++;
                } else if (c == '_') {
                        if (digits == 0 || !is_base_digit(t->s[*i - 1], base) || *i + 1 >= t->n ||
                            !is_base_digit(t->s[*i + 1], base))
                                return -1;
                        (*i)++;
                } else
                        break;
        }
        return digits;
}

static int prefixed_integer(TomlParser *P, const Token *t, TomlValue *v)
{
        static const char *const names[] = { [2] = "binary", [8] = "octal", [16] = "hexadecimal" };
        int base = t->s[1] == 'x' ? 16 : t->s[1] == 'o' ? 8 : 2;
        size_t i = 2;
        uint64_t value = 0;
        char why[96];

        ssize_t digits = scan_digits(t, &i, base);
        if (digits < 0)
                return token_error(P, t, "integer", "'_' must be between two digits");
        if (digits == 0 || i != t->n) {
                snprintf(why, sizeof why, "expected %s digits after '0%c'", names[base], t->s[1]);
                return token_error(P, t, "integer", why);
        }
        for (size_t k = 2; k < t->n; k++) {
                if (t->s[k] == '_')
                        continue;
                int d = t->s[k] <= '9' ? t->s[k] - '0' : (t->s[k] | 0x20) - 'a' + 10;
                if (value > (UINT64_C(0x7fffffffffffffff) - (uint64_t) d) / (uint64_t) base) {
                        char ex[96];
                        return toml_error_pos(P, t->pos, EINVAL, "integer %s does not fit in 64 bits",
                                              quote(t, ex, sizeof ex));
                }
                value = value * (uint64_t) base + (uint64_t) d;
        }
        v->type = TOML_INTEGER;
        v->integer = (int64_t) value;
        return 0;
}

static int decimal_integer(TomlParser *P, const Token *t, TomlValue *v)
{
        bool negative = t->s[0] == '-';
        uint64_t limit = negative ? UINT64_C(0x8000000000000000) : UINT64_C(0x7fffffffffffffff);
        uint64_t value = 0;

        for (size_t k = 0; k < t->n; k++) {
                if (!is_digit(t->s[k]))
                        continue;
                uint64_t d = (uint64_t) (t->s[k] - '0');
                if (value > (limit - d) / 10) {
                        char ex[96];
                        return toml_error_pos(P, t->pos, EINVAL, "integer %s does not fit in 64 bits",
                                              quote(t, ex, sizeof ex));
                }
                value = value * 10 + d;
        }
        v->type = TOML_INTEGER;
        v->integer = negative ? (int64_t) (0 - value) : (int64_t) value;
        return 0;
}

static int float_value(TomlParser *P, const Token *t, TomlValue *v)
{
        char small[128], *copy = small;
        _cleanup_free_ char *big = NULL;

        if (t->n >= sizeof small) {
                copy = big = malloc(t->n + 1);
                if (!big)
                        return toml_error_oom(P);
        }
        size_t o = 0;
        for (size_t k = 0; k < t->n; k++)
                if (t->s[k] != '_')
                        copy[o++] = t->s[k];
        copy[o] = '\0';

        /* strtod follows LC_NUMERIC; TOML's decimal point is always '.'. */
        if (P->c_locale == (locale_t) 0) {
                P->c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t) 0);
                if (P->c_locale == (locale_t) 0)
                        return toml_error_oom(P);
        }
        double d = strtod_l(copy, NULL, P->c_locale);
        if (isinf(d)) {
                char ex[96];
                return toml_error_pos(P, t->pos, EINVAL, "float %s is out of range for a 64-bit float",
                                      quote(t, ex, sizeof ex));
        }
        v->type = TOML_FLOAT;
        v->flt = d;
        return 0;
}

static int number(TomlParser *P, const Token *t, TomlValue *v)
{
        size_t i = 0;
        bool sign = t->s[0] == '+' || t->s[0] == '-';
        const Token rest = { t->s + sign, t->n - sign, t->pos };

        if (token_is(&rest, "inf") || token_is(&rest, "nan")) {
                v->type = TOML_FLOAT;
                v->flt = rest.s[0] == 'i' ? (t->s[0] == '-' ? -INFINITY : INFINITY)
                                          : (t->s[0] == '-' ? -NAN : NAN);
                return 0;
        }
        if (rest.n >= 2 && rest.s[0] == '0' && (rest.s[1] == 'x' || rest.s[1] == 'o' || rest.s[1] == 'b')) {
                if (sign)
                        return token_error(P, t, "integer", "hexadecimal, octal and binary integers cannot have a sign");
                return prefixed_integer(P, t, v);
        }
        if (rest.n == 0 || !is_digit(rest.s[0])) {
                if (rest.n > 0 && (rest.s[0] == '.' || rest.s[0] == '_'))
                        return token_error(P, t, "number", rest.s[0] == '.' ? "a digit must come before '.'"
                                                                              : "'_' must be between two digits");
                if (rest.n > 0 && ((rest.s[0] >= 'a' && rest.s[0] <= 'z') || (rest.s[0] >= 'A' && rest.s[0] <= 'Z')))
                        return token_error(P, t, "value", "strings must be quoted; booleans are true/false");
                return token_error(P, t, "number", "expected a digit");
        }

        i = sign;
        size_t int_start = i;
        ssize_t digits = scan_digits(t, &i, 10);
        if (digits < 0)
                return token_error(P, t, "number", "'_' must be between two digits");
        if (digits > 1 && t->s[int_start] == '0')
                return token_error(P, t, "number", "leading zeros are not allowed");

        bool is_float = false;
        if (i < t->n && t->s[i] == '.') {
                is_float = true;
                i++;
                if (i >= t->n || !is_digit(t->s[i]))
                        return token_error(P, t, "float", "expected a digit after '.'");
                if (scan_digits(t, &i, 10) < 0)
                        return token_error(P, t, "float", "'_' must be between two digits");
        }
        if (i < t->n && (t->s[i] == 'e' || t->s[i] == 'E')) {
                is_float = true;
                i++;
                if (i < t->n && (t->s[i] == '+' || t->s[i] == '-'))
                        i++;
                if (i >= t->n || !is_digit(t->s[i]))
                        return token_error(P, t, "float", "expected a digit in the exponent");
                if (scan_digits(t, &i, 10) < 0)
                        return token_error(P, t, "float", "'_' must be between two digits");
        }
        if (i != t->n) {
                char why[64];
                if (t->s[i] == '_')
                        return token_error(P, t, "number", "'_' must be between two digits");
                snprintf(why, sizeof why, "unexpected '%c'", t->s[i]);
                return token_error(P, t, "number", why);
        }
        return is_float ? float_value(P, t, v) : decimal_integer(P, t, v);
}

/* ---- dates and times ---- */

static bool digits_at(const Token *t, size_t at, size_t n, int *ret)
{
        int value = 0;

        if (at + n > t->n)
                return false;
        for (size_t k = at; k < at + n; k++) {
                if (!is_digit(t->s[k]))
                        return false;
                value = value * 10 + (t->s[k] - '0');
        }
        *ret = value;
        return true;
}

static bool char_at(const Token *t, size_t at, char c)
{
        return at < t->n && t->s[at] == c;
}

static int days_in_month(int year, int month)
{
        static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        return month == 2 && leap ? 29 : days[month - 1];
}

static const char *const month_names[] = {
        "January", "February", "March", "April", "May", "June", "July",
        "August", "September", "October", "November", "December",
};

static int date_part(TomlParser *P, const Token *t, TomlDatetime *dt, const char *what)
{
        char why[96];

        if (!digits_at(t, 0, 4, &dt->year) || !char_at(t, 4, '-') || !digits_at(t, 5, 2, &dt->month) ||
            !char_at(t, 7, '-') || !digits_at(t, 8, 2, &dt->day))
                return token_error(P, t, what, "expected YYYY-MM-DD with four-digit year and two-digit month and day");
        if (dt->month < 1 || dt->month > 12)
                return token_error(P, t, what, "month must be 01-12");
        if (dt->day < 1 || dt->day > days_in_month(dt->year, dt->month)) {
                snprintf(why, sizeof why, "day must be 01-%02d in %s %04d", days_in_month(dt->year, dt->month),
                         month_names[dt->month - 1], dt->year);
                return token_error(P, t, what, why);
        }
        return 0;
}

/* HH:MM:SS[.fraction] at offset at; sets *end past it. */
static int time_part(TomlParser *P, const Token *t, size_t at, TomlDatetime *dt, const char *what, size_t *end)
{
        if (!digits_at(t, at, 2, &dt->hour) || !char_at(t, at + 2, ':') || !digits_at(t, at + 3, 2, &dt->minute))
                return token_error(P, t, what, "expected HH:MM:SS with two digits each");
        if (!char_at(t, at + 5, ':') || !digits_at(t, at + 6, 2, &dt->second))
                return token_error(P, t, what, "seconds are required (HH:MM:SS)");
        if (dt->hour > 23)
                return token_error(P, t, what, "hour must be 00-23");
        if (dt->minute > 59)
                return token_error(P, t, what, "minute must be 00-59");
        /* 60 is a leap second, which RFC 3339 allows. */
        if (dt->second > 60)
                return token_error(P, t, what, "second must be 00-59 (60 for a leap second)");
        size_t i = at + 8;
        if (char_at(t, i, '.')) {
                i++;
                if (i >= t->n || !is_digit(t->s[i]))
                        return token_error(P, t, what, "expected digits after '.' in the seconds");
                while (i < t->n && is_digit(t->s[i])) {
                        /* Precision beyond nanoseconds is kept as a digit
                         * count only; the value is truncated. */
                        if (dt->frac_digits < 9)
                                dt->nanosecond = dt->nanosecond * 10 + (unsigned) (t->s[i] - '0');
                        dt->frac_digits++;
                        i++;
                }
                for (unsigned k = dt->frac_digits; k < 9; k++)
                        dt->nanosecond *= 10;
        }
        *end = i;
        return 0;
}

static int offset_part(TomlParser *P, const Token *t, size_t at, TomlDatetime *dt)
{
        int h, m;

        if (at == t->n)
                return 0;
        if ((t->s[at] == 'Z' || t->s[at] == 'z') && at + 1 == t->n) {
                dt->offset_z = true;
                return 1;
        }
        if (t->s[at] != '+' && t->s[at] != '-')
                return token_error(P, t, "date-time", "expected Z or an offset like +02:00 after the time");
        if (!digits_at(t, at + 1, 2, &h) || !char_at(t, at + 3, ':') || !digits_at(t, at + 4, 2, &m) ||
            at + 6 != t->n)
                return token_error(P, t, "date-time", "the offset must look like +HH:MM or -HH:MM");
        if (h > 23 || m > 59)
                return token_error(P, t, "date-time", "offset hours must be 00-23 and minutes 00-59");
        dt->offset_minutes = (t->s[at] == '-' ? -1 : 1) * (h * 60 + m);
        return 1;
}

static int datetime(TomlParser *P, const Token *t, TomlValue *v)
{
        TomlDatetime dt = {};
        size_t end;
        int r;

        r = date_part(P, t, &dt, t->n > 10 ? "date-time" : "date");
        if (r < 0)
                return r;
        if (t->n == 10) {
                v->type = TOML_LOCAL_DATE;
                v->dt = dt;
                return 0;
        }
        if (t->s[10] != 'T' && t->s[10] != 't' && t->s[10] != ' ')
                return token_error(P, t, "date-time", "expected 'T' or a space between date and time");
        r = time_part(P, t, 11, &dt, "date-time", &end);
        if (r < 0)
                return r;
        r = offset_part(P, t, end, &dt);
        if (r < 0)
                return r;
        v->type = r > 0 ? TOML_OFFSET_DATETIME : TOML_LOCAL_DATETIME;
        v->dt = dt;
        return 0;
}

static int local_time(TomlParser *P, const Token *t, TomlValue *v)
{
        TomlDatetime dt = {};
        size_t end;

        int r = time_part(P, t, 0, &dt, "time", &end);
        if (r < 0)
                return r;
        if (end != t->n)
                return token_error(P, t, "time", "unexpected characters after the time (a local time has no offset)");
        v->type = TOML_LOCAL_TIME;
        v->dt = dt;
        return 0;
}

/* Leading digits then '-' or ':' can only be meant as a date or a
 * time; checking them as such gives the better message. */
static char date_or_time(const Token *t)
{
        size_t i = 0;
        while (i < t->n && is_digit(t->s[i]))
                i++;
        return i > 0 && i < t->n && (t->s[i] == '-' || t->s[i] == ':') ? t->s[i] : 0;
}

static bool looks_like_date(const Token *t)
{
        return date_or_time(t) == '-';
}

static bool looks_like_time(const Token *t)
{
        return date_or_time(t) == ':';
}

int toml_lex_scalar(TomlParser *P, TomlValue *v)
{
        Token t = { P->p, 0, toml_pos_here(P) };
        const char *p = P->p;

        while (p < P->end && is_token_char(*p))
                p++;
        t.n = (size_t) (p - t.s);
        /* "1979-05-27 07:32:00": a space may separate date and time. */
        if (t.n == 10 && looks_like_date(&t) && P->end - p >= 4 && p[0] == ' ' && is_digit(p[1]) &&
            is_digit(p[2]) && p[3] == ':') {
                p++;
                while (p < P->end && is_token_char(*p))
                        p++;
                t.n = (size_t) (p - t.s);
        }
        if (t.n == 0) {
                char buf[32];
                return toml_error_at(P, P->p, "expected a value, found %s", toml_describe_char(P, P->p, buf));
        }

        int r;
        if (token_is(&t, "true") || token_is(&t, "false")) {
                v->type = TOML_BOOLEAN;
                v->boolean = t.s[0] == 't';
                r = 0;
        } else if (looks_like_date(&t))
                r = datetime(P, &t, v);
        else if (looks_like_time(&t))
                r = local_time(P, &t, v);
        else
                r = number(P, &t, v);
        if (r < 0)
                return r;
        P->p = p;
        return 0;
}

int toml_datetime_format(const TomlValue *v, char *buf, size_t size)
{
        const TomlDatetime *dt;
        char date[16] = "", time[48] = "", offset[8] = "";
        const char *sep = "";

        if (!v || v->type < TOML_OFFSET_DATETIME || v->type > TOML_LOCAL_TIME)
                return -EINVAL;
        dt = &v->dt;
        if (v->type != TOML_LOCAL_TIME)
                snprintf(date, sizeof date, "%04d-%02d-%02d", dt->year, dt->month, dt->day);
        if (v->type != TOML_LOCAL_DATE) {
                int n = snprintf(time, sizeof time, "%02d:%02d:%02d", dt->hour, dt->minute, dt->second);
                if (dt->frac_digits > 0) {
                        unsigned digits = dt->frac_digits < 9 ? dt->frac_digits : 9;
                        unsigned frac = dt->nanosecond;
                        for (unsigned k = digits; k < 9; k++)
                                frac /= 10;
                        snprintf(time + n, sizeof time - (size_t) n, ".%0*u", (int) digits, frac);
                }
        }
        if (v->type == TOML_OFFSET_DATETIME || v->type == TOML_LOCAL_DATETIME)
                sep = "T";
        if (v->type == TOML_OFFSET_DATETIME) {
                if (dt->offset_z)
                        snprintf(offset, sizeof offset, "Z");
                else {
                        int m = dt->offset_minutes < 0 ? -dt->offset_minutes : dt->offset_minutes;
                        snprintf(offset, sizeof offset, "%c%02d:%02d", dt->offset_minutes < 0 ? '-' : '+',
                                 m / 60 % 100, m % 60);
                }
        }
        return snprintf(buf, size, "%s%s%s%s", date, sep, time, offset);
}
