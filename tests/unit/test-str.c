#include "base/str.h"
#include "test.h"

TEST(strv_push_and_contains)
{
        _cleanup_strv_free_ char **v = NULL;
        ASSERT_OK(strv_push(&v, "a"));
        ASSERT_OK(strv_push(&v, "b"));
        ASSERT_EQ(strv_length(v), 2);
        ASSERT_TRUE(strv_contains(v, "b"));
        ASSERT_FALSE(strv_contains(v, "c"));
        _cleanup_strv_free_ char **c = strv_copy(v);
        ASSERT_EQ(strv_length(c), 2);
        ASSERT_STREQ(c[1], "b");
}

TEST(strv_printf_appends_formatted)
{
        _cleanup_strv_free_ char **v = NULL;
        ASSERT_OK(strv_printf(&v, "%s=%d", "a", 1));
        ASSERT_OK(strv_printf(&v, "%05.1f", 2.5));
        ASSERT_EQ(strv_length(v), 2);
        ASSERT_STREQ(v[0], "a=1");
        ASSERT_STREQ(v[1], "002.5");
        ASSERT_NULL(v[2]);
}

TEST(prefix_suffix)
{
        ASSERT_STREQ(startswith("workspace.start", "workspace."), "start");
        ASSERT_NULL(startswith("work", "workspace"));
        ASSERT_TRUE(endswith("a.tar.gz", ".tar.gz"));
        ASSERT_FALSE(endswith("gz", ".tar.gz"));
}

TEST(strbuf_grows)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (int i = 0; i < 1000; i++)
                ASSERT_OK(strbuf_printf(&b, "%d,", i));
        ASSERT_TRUE(b.len > 3000);
        ASSERT_TRUE(startswith(b.data, "0,1,2,") != NULL);
        _cleanup_free_ char *s = strbuf_steal(&b);
        ASSERT_NOT_NULL(s);
        ASSERT_EQ(b.len, 0);
}

TEST(strbuf_steal_empty_gives_empty_string)
{
        StrBuf b = STRBUF_INIT;
        _cleanup_free_ char *s = strbuf_steal(&b);
        ASSERT_STREQ(s, "");
}

TEST(parse_int64_strict)
{
        int64_t v;
        ASSERT_OK(parse_int64("42", 0, 100, &v));
        ASSERT_EQ(v, 42);
        ASSERT_EQ(parse_int64("42x", 0, 100, &v), -EINVAL);
        ASSERT_EQ(parse_int64(" 4", 0, 100, &v), -EINVAL);
        ASSERT_EQ(parse_int64("", 0, 100, &v), -EINVAL);
        ASSERT_EQ(parse_int64("101", 0, 100, &v), -ERANGE);
        ASSERT_EQ(parse_int64("99999999999999999999", 0, INT64_MAX, &v), -ERANGE);
        uint16_t p;
        ASSERT_OK(parse_uint16("65535", &p));
        ASSERT_EQ(parse_uint16("65536", &p), -ERANGE);
}

TEST(names)
{
        ASSERT_TRUE(name_is_valid("api"));
        ASSERT_TRUE(name_is_valid("A1_b-c"));
        ASSERT_FALSE(name_is_valid(""));
        ASSERT_FALSE(name_is_valid("-x"));
        ASSERT_FALSE(name_is_valid("_x"));
        ASSERT_FALSE(name_is_valid("a/b"));
        ASSERT_FALSE(name_is_valid(".."));
        ASSERT_FALSE(name_is_valid("a b"));
        ASSERT_FALSE(name_is_valid("caf\xc3\xa9"));
        char long_name[65];
        memset(long_name, 'a', 64);
        long_name[64] = 0;
        ASSERT_FALSE(name_is_valid(long_name));
        long_name[63] = 0;
        ASSERT_TRUE(name_is_valid(long_name));
}

TEST(env_names)
{
        ASSERT_TRUE(env_name_is_valid("NODE_ENV"));
        ASSERT_TRUE(env_name_is_valid("_x1"));
        ASSERT_FALSE(env_name_is_valid("1X"));
        ASSERT_FALSE(env_name_is_valid("A=B"));
        ASSERT_FALSE(env_name_is_valid(""));
}

TEST(distance_and_suggestion)
{
        ASSERT_EQ(string_distance("memroy_mb", "memory_mb"), 1);
        ASSERT_EQ(string_distance("abc", "abc"), 0);
        ASSERT_EQ(string_distance("", "abc"), 3);
        const char *keys[] = { "memory_mb", "max_procs", "cpu_percent" };
        ASSERT_STREQ(closest_match("memroy_mb", keys, 3), "memory_mb");
        ASSERT_STREQ(closest_match("cpu_precent", keys, 3), "cpu_percent");
        ASSERT_NULL(closest_match("zzzzzz", keys, 3));
}
