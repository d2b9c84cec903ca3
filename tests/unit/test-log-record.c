/* The stamped lines of a workspace log (runtime/log-record.h) and the
 * reader's cut into records (log_records_each in runtime/logs.c). */
#include "runtime/log-record.h"
#include "runtime/logs.h"
#include "base/str.h"
#include "test.h"

static LogRecord parse(const char *line)
{
        LogRecord r;
        log_record_parse(line, strlen(line), &r);
        return r;
}

TEST(header_round_trips_time_stream_and_partial)
{
        char buf[LOG_RECORD_HEADER_MAX + 16];
        size_t n = log_record_header(buf, 1765000000123456ULL, LOG_STREAM_STDERR, false);
        memcpy(buf + n, "hello", 6);
        ASSERT_STREQ(buf, "1765000000.123456 e hello");
        LogRecord r = parse(buf);
        ASSERT_EQ(r.time_usec, 1765000000123456LL);
        ASSERT_EQ(r.stream, LOG_STREAM_STDERR);
        ASSERT_FALSE(r.partial);
        ASSERT_EQ(r.len, 5u);
        ASSERT_TRUE(memcmp(r.text, "hello", 5) == 0);

        n = log_record_header(buf, 7, LOG_STREAM_STDOUT, true);
        buf[n] = 0;
        ASSERT_STREQ(buf, "0.000007 O ");
        r = parse(buf);
        ASSERT_EQ(r.time_usec, 7);
        ASSERT_EQ(r.stream, LOG_STREAM_STDOUT);
        ASSERT_TRUE(r.partial);
        ASSERT_EQ(r.len, 0u);
}

TEST(lines_that_are_not_records_are_bare_text)
{
        const char *bare[] = { "", "hello", "12 o x", "12.12345 o x", "12.123456 x hi", "12.123456 o", "12.123456o hi",
                               "a2.123456 o hi", "123456789012345.000000 o too many digits" };
        for (size_t i = 0; i < ELEMENTSOF(bare); i++) {
                LogRecord r = parse(bare[i]);
                ASSERT_EQ(r.stream, LOG_STREAM_UNKNOWN);
                ASSERT_EQ(r.time_usec, -1);
                ASSERT_EQ(r.len, strlen(bare[i]));
        }
        /* The text of a record may itself look like a record. */
        LogRecord r = parse("1.000000 o 2.000000 e x");
        ASSERT_EQ(r.stream, LOG_STREAM_STDOUT);
        ASSERT_EQ(r.len, 12u);
}

typedef struct Seen {
        StrBuf out;
        int n;
} Seen;

static int collect(const LogRecord *r, void *userdata)
{
        Seen *s = userdata;
        s->n++;
        strbuf_printf(&s->out, "[%s%s %lld %.*s]", log_stream_name(r->stream), r->partial ? "+" : "",
                      (long long) r->time_usec, (int) r->len, r->text);
        return 0;
}

TEST(records_each_keeps_an_unfinished_line_unless_final)
{
        const char *log = "1.000001 o one\nbare\n2.000000 E par\n2.500000 e tial\n3.000000 o cut";
        Seen s = { STRBUF_INIT, 0 };
        ssize_t used = log_records_each(log, strlen(log), false, collect, &s);
        ASSERT_EQ(used, (ssize_t) (strstr(log, "3.000000") - log));
        ASSERT_EQ(s.n, 4);
        ASSERT_STREQ(s.out.data, "[stdout 1000001 one][output -1 bare][stderr+ 2000000 par][stderr 2500000 tial]");
        strbuf_done(&s.out);

        s = (Seen) { STRBUF_INIT, 0 };
        used = log_records_each(log, strlen(log), true, collect, &s);
        ASSERT_EQ(used, (ssize_t) strlen(log));
        ASSERT_EQ(s.n, 5);
        ASSERT_CONTAINS(s.out.data, "[stdout 3000000 cut]");
        strbuf_done(&s.out);

        /* A bare last line without its newline is marked as such. */
        s = (Seen) { STRBUF_INIT, 0 };
        ASSERT_EQ(log_records_each("x\ny", 3, true, collect, &s), 3);
        ASSERT_STREQ(s.out.data, "[output -1 x][output+ -1 y]");
        strbuf_done(&s.out);
}
