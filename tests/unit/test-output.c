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
