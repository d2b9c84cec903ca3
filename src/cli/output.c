#include "cli/output.h"
#include "base/str.h"

#include <ctype.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

struct Table {
        size_t ncols;
        char **headers;
        char ***rows; /* rows[i][j] */
        size_t nrows;
        size_t cap;
};

Table *table_new(const char *const *headers)
{
        Table *t = calloc(1, sizeof *t);
        if (!t)
                return NULL;
        while (headers[t->ncols])
                t->ncols++;
        t->headers = calloc(t->ncols, sizeof(char *));
        if (!t->headers)
                return table_free(t);
        for (size_t i = 0; i < t->ncols; i++)
                if (!(t->headers[i] = strdup(headers[i])))
                        return table_free(t);
        return t;
}

static void free_row(char **row, size_t n)
{
        if (!row)
                return;
        for (size_t j = 0; j < n; j++)
                free(row[j]);
        free(row);
}

Table *table_free(Table *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->nrows; i++)
                free_row(t->rows[i], t->ncols);
        free(t->rows);
        if (t->headers)
                for (size_t i = 0; i < t->ncols; i++)
                        free(t->headers[i]);
        free(t->headers);
        free(t);
        return NULL;
}

int table_add_row(Table *t, const char *const *cells)
{
        if (t->nrows == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 16;
                char ***r = realloc(t->rows, cap * sizeof(char **));
                if (!r)
                        return -ENOMEM;
                t->rows = r;
                t->cap = cap;
        }
        char **row = calloc(t->ncols, sizeof(char *));
        if (!row)
                return -ENOMEM;
        for (size_t j = 0; j < t->ncols; j++)
                if (!(row[j] = strdup(cells[j] ? cells[j] : "-"))) {
                        free_row(row, t->ncols);
                        return -ENOMEM;
                }
        t->rows[t->nrows++] = row;
        return 0;
}

size_t table_rows(const Table *t)
{
        return t->nrows;
}

static char *json_key(const char *header)
{
        char *k = strdup(header);
        if (!k)
                return NULL;
        for (char *p = k; *p; p++)
                *p = *p == ' ' || *p == '-' ? '_' : (char) tolower((unsigned char) *p);
        return k;
}

static int table_print_json(const Table *t, FILE *out)
{
        json_t *arr = json_array();
        if (!arr)
                return -ENOMEM;
        for (size_t i = 0; i < t->nrows; i++) {
                json_t *o = json_object();
                for (size_t j = 0; o && j < t->ncols; j++) {
                        _cleanup_free_ char *k = json_key(t->headers[j]);
                        if (k)
                                json_object_set_new(o, k, json_string(t->rows[i][j]));
                }
                json_array_append_new(arr, o);
        }
        int r = json_print(arr, out);
        json_decref(arr);
        return r;
}

/* Display width: count UTF-8 lead bytes, so "✓" is one column. */
static size_t display_width(const char *s)
{
        size_t w = 0;
        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        w++;
        return w;
}

int table_print(const Table *t, const Cli *cli, FILE *out)
{
        if (cli && cli->json)
                return table_print_json(t, out);

        _cleanup_free_ size_t *width = calloc(t->ncols, sizeof(size_t));
        if (!width)
                return -ENOMEM;
        for (size_t j = 0; j < t->ncols; j++) {
                width[j] = display_width(t->headers[j]);
                for (size_t i = 0; i < t->nrows; i++) {
                        size_t w = display_width(t->rows[i][j]);
                        if (w > width[j])
                                width[j] = w;
                }
        }
        for (size_t i = 0; i <= t->nrows; i++) {
                char **row = i == 0 ? t->headers : t->rows[i - 1];
                for (size_t j = 0; j < t->ncols; j++) {
                        bool last = j + 1 == t->ncols;
                        fputs(row[j], out);
                        if (!last)
                                for (size_t pad = display_width(row[j]); pad < width[j] + 2; pad++)
                                        fputc(' ', out);
                }
                fputc('\n', out);
        }
        return 0;
}

int json_print(json_t *v, FILE *out)
{
        if (json_dumpf(v, out, JSON_INDENT(2)) < 0)
                return -EIO;
        fputc('\n', out);
        return 0;
}

void progress_init(Progress *p, const Cli *cli)
{
        *p = (Progress) {
                .out = stderr,
                .tty = isatty(STDERR_FILENO) && !(cli && cli->json),
                .quiet = cli && cli->quiet,
                .columns = 80,
        };
        struct winsize w = {};
        if (p->tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &w) == 0 && w.ws_col > 0)
                p->columns = w.ws_col;
}

static uint64_t progress_now(const Progress *p)
{
        if (p->clock_ms)
                return p->clock_ms();
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void progress_clear(Progress *p)
{
        if (p->active) {
                fputs("\r\033[K", p->out);
                p->active = false;
        }
}

void progress_update(Progress *p, const char *fmt, ...)
{
        if (p->quiet)
                return;
        va_list ap;
        va_start(ap, fmt);
        if (p->tty) {
                progress_clear(p);
                vfprintf(p->out, fmt, ap);
                p->active = true;
        } else {
                vfprintf(p->out, fmt, ap);
                fputc('\n', p->out);
        }
        va_end(ap);
        fflush(p->out);
}

void progress_line(Progress *p, const char *fmt, ...)
{
        if (p->quiet)
                return;
        progress_clear(p);
        va_list ap;
        va_start(ap, fmt);
        vfprintf(p->out, fmt, ap);
        va_end(ap);
        fputc('\n', p->out);
        fflush(p->out);
}

static void mib(uint64_t bytes, char *buf, size_t size)
{
        snprintf(buf, size, "%.1f MiB", (double) bytes / (1024.0 * 1024.0));
}

static void duration(uint64_t ms, char *buf, size_t size)
{
        uint64_t s = (ms + 500) / 1000;
        if (ms < 10000)
                snprintf(buf, size, "%.1fs", (double) ms / 1000.0);
        else if (s < 60)
                snprintf(buf, size, "%llus", (unsigned long long) s);
        else if (s < 3600)
                snprintf(buf, size, "%llum%02llus", (unsigned long long) s / 60, (unsigned long long) s % 60);
        else
                snprintf(buf, size, "%lluh%02llum", (unsigned long long) s / 3600, (unsigned long long) s % 3600 / 60);
}

/* "1234/5000, 120.0/250.0 MiB, 40.1 MiB/s" and, with ETA, "ETA 3s". */
static void counts(const Progress *p, uint64_t elapsed_ms, bool eta, char *buf, size_t size)
{
        StrBuf b = STRBUF_INIT;
        char x[32], y[32];
        if (p->total)
                strbuf_printf(&b, "%llu/%llu", (unsigned long long) p->current, (unsigned long long) p->total);
        else if (p->current)
                strbuf_printf(&b, "%llu", (unsigned long long) p->current);
        if (p->bytes_total) {
                mib(p->bytes, x, sizeof x);
                mib(p->bytes_total, y, sizeof y);
                strbuf_printf(&b, "%s%.*s/%s", b.len ? ", " : "", (int) (strlen(x) - 4), x, y);
        } else if (p->bytes) {
                mib(p->bytes, x, sizeof x);
                strbuf_printf(&b, "%s%s", b.len ? ", " : "", x);
        }
        double secs = (double) elapsed_ms / 1000.0;
        if (p->bytes && secs >= 0.5) {
                mib((uint64_t) ((double) p->bytes / secs), x, sizeof x);
                strbuf_printf(&b, ", %s/s", x);
        }
        /* What is left, at the pace so far: by bytes when known, else by items. */
        double done = p->bytes_total ? (double) p->bytes / (double) p->bytes_total
                      : p->total     ? (double) p->current / (double) p->total
                                     : 0;
        uint64_t left_ms = done > 0.01 && done < 1 ? (uint64_t) (secs * (1 - done) / done * 1000) : 0;
        if (eta && secs >= 1 && left_ms >= 1000) {
                duration(left_ms, x, sizeof x);
                strbuf_printf(&b, ", ETA %s", x);
        }
        snprintf(buf, size, "%s", b.data ? b.data : "");
        strbuf_done(&b);
}

static void draw_bar(Progress *p, uint64_t now)
{
        char line[512], c[160];
        counts(p, now - p->started_ms, true, c, sizeof c);
        int n;
        double frac = p->bytes_total ? (double) p->bytes / (double) p->bytes_total
                      : p->total     ? (double) p->current / (double) p->total
                                     : -1;
        if (frac >= 0) {
                char bar[21];
                int full = (int) (frac * 20 + 0.5);
                for (int i = 0; i < 20; i++)
                        bar[i] = i < full ? '#' : '-';
                bar[20] = 0;
                n = snprintf(line, sizeof line, "%s [%s] %3d%%  %s", p->label, bar, (int) (frac * 100), c);
        } else
                n = snprintf(line, sizeof line, "%s  %s", p->label, c);
        /* One terminal line: a wrapped one could not be redrawn. */
        size_t max = p->columns > 1 ? p->columns - 1 : 79;
        if (n > 0 && (size_t) n > max)
                line[max] = 0;
        progress_clear(p);
        fputs(line, p->out);
        p->active = true;
}

/* The stage shown so far ends: one permanent summary line. */
static void end_stage(Progress *p)
{
        if (!p->stage[0])
                return;
        char c[160], d[32];
        uint64_t elapsed = progress_now(p) - p->started_ms;
        counts(p, elapsed, false, c, sizeof c);
        duration(elapsed, d, sizeof d);
        if (!p->quiet)
                progress_line(p, "%s: done%s%s in %s", p->label, c[0] ? ", " : "", c, d);
        p->stage[0] = 0;
}

static void make_label(Progress *p, const char *stage, const char *message)
{
        size_t n = strlen(stage);
        if (!message[0])
                snprintf(p->label, sizeof p->label, "%s", stage);
        else if (strncasecmp(message, stage, n) == 0)
                snprintf(p->label, sizeof p->label, "%s", message);
        else
                snprintf(p->label, sizeof p->label, "%s: %s", stage, message);
}

void progress_counter(Progress *p, const char *stage, const char *message, uint64_t current, uint64_t total,
                      uint64_t bytes, uint64_t bytes_total)
{
        uint64_t now = progress_now(p);
        bool begins = !streq(p->stage, stage);
        if (begins) {
                end_stage(p);
                snprintf(p->stage, sizeof p->stage, "%s", stage);
                p->started_ms = now;
        }
        make_label(p, stage, message);
        p->current = current;
        p->total = total;
        p->bytes = bytes;
        p->bytes_total = bytes_total;
        if (p->quiet)
                return;
        if (p->tty) {
                draw_bar(p, now);
                fflush(p->out);
                return;
        }
        if (!begins && now - p->printed_ms < PROGRESS_PLAIN_INTERVAL_MS)
                return;
        char c[160];
        counts(p, now - p->started_ms, !begins, c, sizeof c);
        progress_line(p, "%s%s%s", p->label, c[0] ? ": " : "", c);
        p->printed_ms = now;
}

static uint64_t member_u64(json_t *o, const char *key)
{
        json_int_t v = json_integer_value(json_object_get(o, key));
        return v > 0 ? (uint64_t) v : 0;
}

void progress_event(Progress *p, json_t *ev)
{
        const char *type = json_string_value(json_object_get(ev, "type")) ?: "";
        const char *stage = json_string_value(json_object_get(ev, "stage")) ?: "";
        const char *message = json_string_value(json_object_get(ev, "message")) ?: "";
        if (streq(type, "warning") || streq(stage, "warning"))
                progress_line(p, "warning: %s", message);
        else if (streq(type, "note"))
                progress_line(p, "note: %s", message);
        else if (!streq(type, "progress") || streq(stage, "info") || streq(stage, "error")) {
                if (message[0])
                        progress_line(p, "%s", message);
        } else if (streq(stage, "output")) {
                progress_clear(p);
                fflush(p->out);
                if (!p->quiet)
                        printf("%s\n", message);
                fflush(stdout);
        } else
                progress_counter(p, stage, message, member_u64(ev, "current"), member_u64(ev, "total"),
                                 member_u64(ev, "bytes"), member_u64(ev, "bytes_total"));
}

void progress_done(Progress *p)
{
        end_stage(p);
        progress_clear(p);
        fflush(p->out);
}

void format_bytes(json_t *v, char *buf, size_t size)
{
        if (!json_is_integer(v)) {
                snprintf(buf, size, "-");
                return;
        }
        double b = (double) json_integer_value(v);
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
        size_t u = 0;
        while (b >= 1024 && u + 1 < ELEMENTSOF(units)) {
                b /= 1024;
                u++;
        }
        snprintf(buf, size, u == 0 ? "%.0f%s" : "%.1f%s", b, units[u]);
}

const char *color_state(const Cli *cli, const char *state, char *buf, size_t size)
{
        if (!cli || !cli->color)
                return state;
        const char *code = streq(state, "running") ? "32" :
                           streq(state, "stopped") ? "33" :
                           streq(state, "failed") || streq(state, "dead") ? "31" : NULL;
        if (!code)
                return state;
        snprintf(buf, size, "\033[%sm%s\033[0m", code, state);
        return buf;
}

void line_buf_feed(LineBuf *b, const char *data, size_t n, LineFn fn, void *userdata)
{
        while (n > 0) {
                const char *nl = memchr(data, '\n', n);
                size_t take = nl ? (size_t) (nl - data) : n;
                if (b->len + take > b->cap) {
                        size_t cap = b->cap ? b->cap : 256;
                        while (cap < b->len + take)
                                cap *= 2;
                        char *p = realloc(b->data, cap);
                        if (!p)
                                return;
                        b->data = p;
                        b->cap = cap;
                }
                memcpy(b->data + b->len, data, take);
                b->len += take;
                if (!nl)
                        return;
                fn(b->data ? b->data : "", b->len, userdata);
                b->len = 0;
                data = nl + 1;
                n -= take + 1;
        }
}

void line_buf_flush(LineBuf *b, LineFn fn, void *userdata)
{
        if (b->len > 0)
                fn(b->data, b->len, userdata);
        b->len = 0;
}

void line_buf_done(LineBuf *b)
{
        free(b->data);
        *b = (LineBuf) {};
}

void log_event_stream(json_t *event, char out[8])
{
        const char *s = json_string_value(json_object_get(event, "stream"));
        snprintf(out, 8, "%s", s && (strcmp(s, "stdout") == 0 || strcmp(s, "stderr") == 0) ? s : "output");
}

void print_log_json_line(FILE *out, const char *workspace, int64_t time_usec, const char *stream, const char *line,
                         size_t len)
{
        json_t *time = json_null();
        if (time_usec >= 0) {
                char buf[64], stamp[40];
                time_t t = (time_t) (time_usec / 1000000);
                struct tm tm;
                if (gmtime_r(&t, &tm) && strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm) > 0) {
                        snprintf(buf, sizeof buf, "%s.%06lldZ", stamp, (long long) (time_usec % 1000000));
                        time = json_string(buf);
                }
        }
        json_t *o = json_pack("{s:o, s:s, s:s%}", "time", time, "stream", stream, "line", line, len);
        if (o && workspace)
                json_object_set_new(o, "workspace", json_string(workspace));
        if (o && json_dumpf(o, out, JSON_COMPACT) >= 0)
                fputc('\n', out);
        json_decref(o);
}

/* Length of the valid UTF-8 sequence at s (1-4), 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s)
{
        size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
        if (s[0] >= 0xf8)
                n = 0;
        for (size_t i = 1; i < n; i++)
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
        /* Overlong, surrogate and out-of-range forms. */
        if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0) || (n == 3 && s[0] == 0xed && s[1] >= 0xa0) ||
            (n == 4 && s[0] == 0xf0 && s[1] < 0x90) || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90))
                return 0;
        return n;
}

char *text_printable(const char *s)
{
        size_t len = strlen(s);
        char *out = malloc(len * 6 + 1), *o = out;
        if (!out)
                return NULL;
        const unsigned char *p = (const unsigned char *) s;
        while (*p) {
                size_t n = *p >= 0x80 ? utf8_seq(p) : 1;
                if (*p >= 0x20 && *p != 0x7f && n == 1) {
                        *o++ = (char) *p++;
                } else if (n >= 2 && !(n == 2 && p[0] == 0xc2 && p[1] < 0xa0)) {
                        memcpy(o, p, n); /* printable UTF-8 */
                        o += n;
                        p += n;
                } else if (n == 2) {
                        o += sprintf(o, "\\u%04x", (unsigned) p[1]); /* a C1 control, U+0080..U+009F */
                        p += 2;
                } else {
                        const char *named = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == '\r' ? "\\r"
                                            : *p == 0x1b ? "\\e" : NULL;
                        o += named ? sprintf(o, "%s", named) : sprintf(o, "\\x%02x", (unsigned) *p);
                        p++;
                }
        }
        *o = 0;
        return out;
}
