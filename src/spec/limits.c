/* The table of limits and the value rules every reader of them shares
 * (limits.h). */
#include "spec/limits.h"
#include "base/str.h"

#include <inttypes.h>
#include <math.h>

#define LIMIT_SCOPE_yes(bit) (bit)
#define LIMIT_SCOPE_no(bit) 0u

const LimitDef limit_defs[N_LIMITS] = {
#define LIMIT_DEF_(field, flag, metavar, kind, min, max, unit, symbol, sandbox, sandbox_help, workspace,           \
                   workspace_help, applied, when)                                                                   \
        {                                                                                                           \
                #field, flag, metavar, LIMIT_##kind, min, max, unit, symbol,                                        \
                LIMIT_SCOPE_##sandbox(LIMIT_SANDBOX) | LIMIT_SCOPE_##workspace(LIMIT_WORKSPACE), sandbox_help,      \
                workspace_help, applied, LIMIT_AT_##when, offsetof(Limits, field),                                  \
        },
        SPEC_LIMITS(LIMIT_DEF_)
#undef LIMIT_DEF_
};

const LimitDef *limit_find(const char *key)
{
        LIMIT_FOREACH(d)
                if (streq(d->key, key))
                        return d;
        return NULL;
}

const char *limit_format(const LimitDef *d, int64_t v, char buf[static LIMIT_TEXT_MAX])
{
        if (d->kind == LIMIT_INTEGER) {
                snprintf(buf, LIMIT_TEXT_MAX, "%" PRId64, v);
                return buf;
        }
        int64_t whole = v / LIMIT_DECIMAL_SCALE, frac = v % LIMIT_DECIMAL_SCALE;
        if (frac == 0)
                snprintf(buf, LIMIT_TEXT_MAX, "%" PRId64, whole);
        else if (frac % 100 == 0)
                snprintf(buf, LIMIT_TEXT_MAX, "%" PRId64 ".%" PRId64, whole, frac / 100);
        else if (frac % 10 == 0)
                snprintf(buf, LIMIT_TEXT_MAX, "%" PRId64 ".%02" PRId64, whole, frac / 10);
        else
                snprintf(buf, LIMIT_TEXT_MAX, "%" PRId64 ".%03" PRId64, whole, frac);
        return buf;
}

const char *limit_range_text(const LimitDef *d, char buf[static 2 * LIMIT_TEXT_MAX])
{
        char lo[LIMIT_TEXT_MAX], hi[LIMIT_TEXT_MAX];
        snprintf(buf, 2 * LIMIT_TEXT_MAX, "%s and %s", limit_format(d, d->min, lo), limit_format(d, d->max, hi));
        return buf;
}

int limit_check(const LimitDef *d, int64_t v, Error *err)
{
        if (v == 0 || (v >= d->min && v <= d->max))
                return 0;
        char range[2 * LIMIT_TEXT_MAX], got[LIMIT_TEXT_MAX];
        return error_set(err, ERANGE, "%s must be between %s (%s), got %s", d->key, limit_range_text(d, range), d->unit,
                         limit_format(d, v, got));
}

int limits_check(const Limits *l, unsigned scope, Error *err)
{
        LIMIT_FOREACH(d) {
                int64_t v = limit_get(l, d);
                if (v != 0 && !(d->scopes & scope))
                        return error_set(err, EINVAL, "%s is a limit of %s only", d->key,
                                         scope == LIMIT_SANDBOX ? "workspaces" : "sandboxes");
                int r = limit_check(d, v, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* "12", "1.5", "0.25": digits, then for DECIMAL up to three decimals. */
static int parse_decimal(const char *s, int64_t *ret)
{
        int64_t v = 0;
        const char *p = s;
        if (*p < '0' || *p > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > (INT64_MAX / LIMIT_DECIMAL_SCALE - 9) / 10)
                        return -ERANGE;
                v = v * 10 + (*p - '0');
        }
        v *= LIMIT_DECIMAL_SCALE;
        if (*p == '.') {
                int64_t scale = LIMIT_DECIMAL_SCALE / 10;
                if (p[1] < '0' || p[1] > '9')
                        return -EINVAL;
                for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10) {
                        if (scale == 0)
                                return -EINVAL; /* more than three decimal places */
                        v += (*p - '0') * scale;
                }
        }
        if (*p)
                return -EINVAL;
        *ret = v;
        return 0;
}

int limit_parse(const LimitDef *d, const char *s, int64_t *ret)
{
        int64_t v;
        int r = d->kind == LIMIT_INTEGER ? parse_int64(s, INT64_MIN, INT64_MAX, &v) : parse_decimal(s, &v);
        if (r < 0)
                return r;
        if (v < d->min || v > d->max)
                return -ERANGE;
        *ret = v;
        return 0;
}

int limit_from_double(const LimitDef *d, double v, int64_t *ret)
{
        double scaled = v * (d->kind == LIMIT_DECIMAL ? LIMIT_DECIMAL_SCALE : 1);
        if (!(scaled >= (double) d->min - 0.5 && scaled <= (double) d->max + 0.5))
                return isnan(scaled) ? -EINVAL : -ERANGE;
        int64_t rounded = (int64_t) (scaled + 0.5);
        double off = scaled - (double) rounded;
        if (off > 1e-6 * scaled || off < -1e-6 * scaled)
                return -EINVAL; /* finer than the kept unit */
        if (rounded < d->min || rounded > d->max)
                return -ERANGE;
        *ret = rounded;
        return 0;
}

bool limits_equal(const Limits *a, const Limits *b)
{
        LIMIT_FOREACH(d)
                if (limit_get(a, d) != limit_get(b, d))
                        return false;
        return true;
}
