#include "config/diagnostics.h"
#include "base/str.h"

#include <stdarg.h>
#include <string.h>

int diagnostics_add(Diagnostics *d, const char *file, unsigned line, unsigned col, const char *key,
                    const char *fmt, ...)
{
        if (d->n >= DIAGNOSTICS_MAX) {
                d->dropped++;
                return 0;
        }
        if (d->n == d->cap) {
                size_t cap = d->cap ? d->cap * 2 : 8;
                Diagnostic *items = reallocarray(d->items, cap, sizeof *items);
                if (!items)
                        goto oom;
                d->items = items;
                d->cap = cap;
        }

        Diagnostic item = { .line = line, .col = col };
        va_list ap;
        va_start(ap, fmt);
        int r = vasprintf(&item.message, fmt, ap);
        va_end(ap);
        if (r < 0) {
                item.message = NULL;
                goto oom;
        }
        item.file = strdup(file ? file : "");
        item.key = key ? strdup(key) : NULL;
        if (!item.file || (key && !item.key)) {
                free(item.file);
                free(item.key);
                free(item.message);
                goto oom;
        }
        d->items[d->n++] = item;
        return 0;
oom:
        d->oom = true;
        return -ENOMEM;
}

size_t diagnostics_count(const Diagnostics *d)
{
        return d->n + d->dropped;
}

static bool diagnostic_before(const Diagnostic *a, const Diagnostic *b)
{
        return a->line < b->line || (a->line == b->line && a->col < b->col);
}

void diagnostics_sort(Diagnostics *d, size_t start)
{
        /* Insertion sort: stable, and the list is short and nearly sorted. */
        for (size_t i = start + 1; i < d->n; i++) {
                Diagnostic item = d->items[i];
                size_t j = i;
                for (; j > start && diagnostic_before(&item, &d->items[j - 1]); j--)
                        d->items[j] = d->items[j - 1];
                d->items[j] = item;
        }
}

static int diagnostic_append(StrBuf *b, const Diagnostic *item)
{
        if (item->line == 0)
                return strbuf_printf(b, "%s: %s", item->file, item->message);
        if (item->col == 0)
                return strbuf_printf(b, "%s:%u: %s", item->file, item->line, item->message);
        return strbuf_printf(b, "%s:%u:%u: %s", item->file, item->line, item->col, item->message);
}

char *diagnostic_format(const Diagnostic *item)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        if (diagnostic_append(&b, item) < 0)
                return NULL;
        return strbuf_steal(&b);
}

char *diagnostics_format(const Diagnostics *d)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (size_t i = 0; i < d->n; i++) {
                if (i > 0)
                        (void) strbuf_putc(&b, '\n');
                (void) diagnostic_append(&b, &d->items[i]);
        }
        if (d->dropped > 0)
                (void) strbuf_printf(&b, "%s... and %zu more problems", d->n > 0 ? "\n" : "", d->dropped);
        if (d->oom)
                (void) strbuf_printf(&b, "%s(some problems could not be recorded: out of memory)",
                                     b.len > 0 ? "\n" : "");
        if (b.oom)
                return NULL;
        return strbuf_steal(&b);
}

int diagnostics_to_error(const Diagnostics *d, int code, Error *err)
{
        _cleanup_free_ char *s = diagnostics_format(d);
        if (!s)
                return error_set(err, ENOMEM, "out of memory while reporting configuration problems");
        return error_set(err, code, "%s", s);
}

void diagnostics_done(Diagnostics *d)
{
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].key);
                free(d->items[i].message);
        }
        free(d->items);
        *d = (Diagnostics) DIAGNOSTICS_INIT;
}
