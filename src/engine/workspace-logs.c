/* Sending a workspace's log (workspace-logs.h). */
#include "engine/workspace-logs.h"
#include "base/str.h"
#include "runtime/logs.h"

#include <poll.h>
#include <string.h>
#include <time.h>

#define LOG_CHUNK (1024u * 1024u)

/* JSON strings must be valid UTF-8: invalid bytes become U+FFFD. */
static json_t *utf8_string(const char *s, size_t n)
{
        json_t *j = json_stringn(s, n);
        if (j)
                return j;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (size_t i = 0; i < n;) {
                unsigned char ch = (unsigned char) s[i];
                size_t len = ch < 0x80 ? 1 : (ch >> 5) == 6 ? 2 : (ch >> 4) == 14 ? 3 : (ch >> 3) == 30 ? 4 : 0;
                bool ok = len > 0 && i + len <= n && ch != 0;
                for (size_t k = 1; ok && k < len; k++)
                        ok = ((unsigned char) s[i + k] >> 6) == 2;
                if (ok) {
                        json_t *t = json_stringn(s + i, len);
                        ok = t != NULL;
                        json_decref(t);
                }
                if (ok)
                        strbuf_append(&b, s + i, len);
                else
                        strbuf_puts(&b, "\xef\xbf\xbd");
                i += ok ? len : 1;
        }
        return json_stringn(b.data ? b.data : "", b.len);
}

typedef struct LogSender {
        const LogSink *sink;
        bool records;
        bool live;
        StrBuf text;  /* plain text not yet sent */
        StrBuf carry; /* the start of a line whose end is still being written */
} LogSender;

static void log_sender_done(LogSender *s)
{
        strbuf_done(&s->text);
        strbuf_done(&s->carry);
}

static int log_send_text(LogSender *s)
{
        if (s->text.len == 0)
                return 0;
        json_t *ev = json_pack("{s:s, s:o}", "type", "log", "data", utf8_string(s->text.data, s->text.len));
        s->text.len = 0;
        return s->sink->event(s->sink->userdata, ev);
}

static int64_t record_time(const LogSender *s, const LogRecord *rec)
{
        if (rec->time_usec >= 0 || !s->live)
                return rec->time_usec;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int log_send_record(const LogRecord *rec, void *userdata)
{
        LogSender *s = userdata;
        if (!s->records) {
                if (strbuf_append(&s->text, rec->text, rec->len) < 0 ||
                    (!rec->partial && strbuf_append(&s->text, "\n", 1) < 0))
                        return -ENOMEM;
                return s->text.len >= LOG_CHUNK ? log_send_text(s) : 0;
        }
        _cleanup_strbuf_ StrBuf line = STRBUF_INIT;
        if (strbuf_append(&line, rec->text, rec->len) < 0 || (!rec->partial && strbuf_append(&line, "\n", 1) < 0))
                return -ENOMEM;
        json_t *ev = json_pack("{s:s, s:o, s:s}", "type", "log", "data", utf8_string(line.data ? line.data : "", line.len),
                               "stream", log_stream_name(rec->stream));
        int64_t t = record_time(s, rec);
        if (ev && t >= 0)
                json_object_set_new(ev, "time_usec", json_integer((json_int_t) t));
        return s->sink->event(s->sink->userdata, ev);
}

/* Send the whole lines of data (with what was carried over before it);
 * keep an incomplete last one for later, unless final. */
static int log_send(LogSender *s, const char *data, size_t n, bool final)
{
        if (strbuf_append(&s->carry, data, n) < 0)
                return -ENOMEM;
        ssize_t used = log_records_each(s->carry.data ? s->carry.data : "", s->carry.len, final, log_send_record, s);
        if (used < 0)
                return (int) used;
        memmove(s->carry.data, s->carry.data + used, s->carry.len - (size_t) used);
        s->carry.len -= (size_t) used;
        return log_send_text(s);
}

int workspace_logs_send(const char *ws_dir, size_t tail, bool records, const LogSink *sink, Error *err)
{
        _cleanup_(log_sender_done) LogSender s = { .sink = sink, .records = records };
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = workspace_log_read(ws_dir, tail, &text, &len, err);
        if (r < 0)
                return r;
        r = log_send(&s, text, len, true);
        return r == -ECONNRESET ? 0 : r;
}

/* Wait until the log grows or the caller cancels. */
static int follow_wait(LogFollow *f, int cancel, Error *err)
{
        for (;;) {
                struct pollfd p[2] = { { log_follow_fd(f), POLLIN, 0 }, { cancel, POLLIN, 0 } };
                if (poll(p, 2, -1) >= 0)
                        return 0;
                if (errno != EINTR)
                        return error_setc(err, errno, "following the log");
        }
}

static int follow_loop(LogSender *s, LogFollow *f, Error *err)
{
        const LogSink *sink = s->sink;
        int cancel = sink->cancel_fd(sink->userdata);
        if (cancel < 0)
                return error_setc(err, -cancel, "following the log");
        int r = 0;
        while (r >= 0 && !sink->cancelled(sink->userdata)) {
                r = follow_wait(f, cancel, err);
                if (r < 0)
                        return r;
                _cleanup_strbuf_ StrBuf buf = STRBUF_INIT;
                r = log_follow_read(f, &buf, err);
                if (r == -ENOENT) {
                        error_clear(err);
                        (void) log_send(s, "", 0, true);
                        return 1;
                }
                if (r > 0)
                        r = log_send(s, buf.data, buf.len, false);
        }
        return r;
}

int workspace_logs_follow(const char *ws_dir, size_t tail, bool records, const LogSink *sink, Error *err)
{
        _cleanup_(log_sender_done) LogSender s = { .sink = sink, .records = records };
        _cleanup_log_follow_ LogFollow *f = NULL;
        _cleanup_free_ char *initial = NULL;
        size_t initial_len = 0;
        int r = log_follow_open(ws_dir, tail, &f, &initial, &initial_len, err);
        if (r < 0)
                return r;
        r = log_send(&s, initial, initial_len, false);
        s.live = true;
        if (r >= 0)
                r = follow_loop(&s, f, err);
        return r == -ECONNRESET ? 0 : r;
}
