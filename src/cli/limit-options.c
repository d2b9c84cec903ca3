/* Limit options of the command line (limit-options.h). */
#include "cli/limit-options.h"
#include "base/str.h"

int cli_limits(Cli *cli, const CliArgs *a, unsigned scope, Limits *ret)
{
        *ret = (Limits) {};
        LIMIT_FOREACH(d) {
                const char *v = d->scopes & scope ? cli_arg_value(a, d->flag) : NULL;
                char lo[LIMIT_TEXT_MAX], hi[LIMIT_TEXT_MAX];
                int64_t n;
                if (!v)
                        continue;
                if (limit_parse(d, v, &n) < 0)
                        return cli_usage_error(cli, "--%s wants a %s from %s to %s, got '%s'", d->flag,
                                               d->kind == LIMIT_INTEGER ? "whole number"
                                                                        : "number (up to three decimal places)",
                                               limit_format(d, d->min, lo), limit_format(d, d->max, hi), v);
                limit_set(ret, d, n);
        }
        return 0;
}

char *cli_limits_text(json_t *o, unsigned scope)
{
        Limits l;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        if (limits_from_json(o, scope, &l, NULL) < 0)
                return strdup("?");
        LIMIT_FOREACH(d) {
                char text[LIMIT_TEXT_MAX];
                if ((d->scopes & scope) && limit_get(&l, d) > 0)
                        strbuf_printf(&b, "%s%s=%s", b.len ? " " : "", d->key, limit_format(d, limit_get(&l, d), text));
        }
        return b.len ? strbuf_steal(&b) : strdup("");
}
