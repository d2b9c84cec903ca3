#include "cli/output.h"
#include "base/fs.h"
#include "test.h"

static char *capture_table(const Table *t, bool json)
{
        Cli cli = { .json = json };
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        table_print(t, &cli, f);
        fclose(f);
        return buf;
}

TEST(table_aligns_columns)
{
        _cleanup_table_ Table *t = table_new((const char *[]) { "NAME", "STATE", NULL });
        ASSERT_NOT_NULL(t);
        ASSERT_OK(table_add_row(t, (const char *[]) { "api", "running" }));
        ASSERT_OK(table_add_row(t, (const char *[]) { "long-name", NULL }));
        _cleanup_free_ char *s = capture_table(t, false);
        ASSERT_STREQ(s, "NAME       STATE\n"
                        "api        running\n"
                        "long-name  -\n");
}

TEST(table_as_json)
{
        _cleanup_table_ Table *t = table_new((const char *[]) { "NAME", "HOST PORT", NULL });
        ASSERT_OK(table_add_row(t, (const char *[]) { "api", "3001" }));
        _cleanup_free_ char *s = capture_table(t, true);
        json_error_t e;
        json_t *v = json_loads(s, 0, &e);
        ASSERT_NOT_NULL(v);
        ASSERT_TRUE(json_is_array(v));
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(v, 0), "host_port")), "3001");
        json_decref(v);
}

TEST(utf8_width)
{
        _cleanup_table_ Table *t = table_new((const char *[]) { "OK", "CHECK", NULL });
        ASSERT_OK(table_add_row(t, (const char *[]) { "\xe2\x9c\x93", "x" }));
        _cleanup_free_ char *s = capture_table(t, false);
        ASSERT_STREQ(s, "OK  CHECK\n\xe2\x9c\x93   x\n");
}

/* ---- progress ---- */

static uint64_t fake_now;
static uint64_t fake_clock(void)
{
        return fake_now;
}

static size_t count_lines(const char *s, const char *needle)
{
        size_t n = 0;
        for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (!needle || strncmp(l, needle, strlen(needle)) == 0)
                        n++;
        return n;
}

TEST(progress_off_a_terminal_does_not_repeat)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        Progress p = { .out = f, .columns = 80, .clock_ms = fake_clock };
        fake_now = 1000;
        /* 200 events of one stage over 20 s: "copying files" used to
         * print one line per event. */
        for (int i = 1; i <= 200; i++) {
                progress_counter(&p, "copying", "copying files", (uint64_t) i * 25, 5000, (uint64_t) i << 20,
                                 200ull << 20);
                fake_now += 100;
        }
        progress_done(&p);
        fclose(f);
        /* One line when it begins, one per 5 s, one summary. */
        ASSERT_EQ(count_lines(buf, "copying files"), 5);
        ASSERT_TRUE(strstr(buf, "copying files: done, 5000/5000, 200.0/200.0 MiB, 10.0 MiB/s in 20s\n") != NULL);
        ASSERT_TRUE(strchr(buf, '\r') == NULL);
        free(buf);
}

TEST(progress_one_line_per_stage_and_a_summary)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        Progress p = { .out = f, .columns = 80, .clock_ms = fake_clock };
        fake_now = 0;
        for (int i = 1; i <= 30; i++, fake_now += 10)
                progress_counter(&p, "retrieving", "Retrieving libc6", (uint64_t) i, 30, 0, 0);
        for (int i = 1; i <= 30; i++, fake_now += 10)
                progress_counter(&p, "unpacking", "Unpacking libc6", (uint64_t) i, 30, 0, 0);
        progress_done(&p);
        fclose(f);
        ASSERT_STREQ(buf, "Retrieving libc6: 1/30\n"
                          "Retrieving libc6: done, 30/30 in 0.3s\n"
                          "Unpacking libc6: 1/30\n"
                          "Unpacking libc6: done, 30/30 in 0.3s\n");
        free(buf);
}

TEST(progress_on_a_terminal_is_a_live_bar)
{
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        Progress p = { .out = f, .tty = true, .columns = 100, .clock_ms = fake_clock };
        fake_now = 0;
        progress_counter(&p, "copying", "copying files", 0, 1000, 0, 100ull << 20);
        fake_now = 2000;
        progress_counter(&p, "copying", "copying files", 500, 1000, 50ull << 20, 100ull << 20);
        fflush(f);
        const char *last = strrchr(buf, '\r');
        ASSERT_NOT_NULL(last);
        ASSERT_STREQ(last, "\r\033[Kcopying files [##########----------]  50%  500/1000, 50.0/100.0 MiB, "
                           "25.0 MiB/s, ETA 2.0s");
        progress_done(&p);
        fclose(f);
        ASSERT_TRUE(strstr(buf, "copying files: done, 500/1000") != NULL);
        free(buf);
}

TEST(text_printable_escapes_what_a_terminal_would_obey)
{
        static const struct {
                const char *in, *out;
        } cases[] = {
                { "sleep 1000", "sleep 1000" },
                { "a\x1b]0;pwned\x07" "b", "a\\e]0;pwned\\x07b" },
                { "x\x1b[2J\x1b[Hy", "x\\e[2J\\e[Hy" },
                { "line\nnext\ttab\rcr", "line\\nnext\\ttab\\rcr" },
                { "del\x7f", "del\\x7f" },
                { "c1 \xc2\x9b" "31m", "c1 \\u009b31m" },
                { "raw \x9b" "31m", "raw \\x9b31m" },
                { "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x98\x80" },
                { "nbsp\xc2\xa0ok", "nbsp\xc2\xa0ok" },
                { "trunc\xe2\x9c", "trunc\\xe2\\x9c" },
                { "overlong\xc0\xaf", "overlong\\xc0\\xaf" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = text_printable(cases[i].in);
                ASSERT_NOT_NULL(got);
                ASSERT_STREQ(got, cases[i].out);
        }
}
