/* Unit tests of the TOML parser API (src/config/toml.h): values and
 * their positions, error messages and positions, limits, hostile
 * input, CRLF, UTF-8 validation. Conformance with the full toml-test
 * corpus lives in tests/conformance/test-toml.sh. */
#include <math.h>

#include "config/toml.h"
#include "test.h"

static TomlValue *parse_ok(const char *s)
{
        TomlValue *v = NULL;
        TomlError err;
        int r = toml_parse(s, strlen(s), &v, &err);
        if (r < 0) {
                printf("# unexpected error %d at %u:%u: %s\n", r, err.pos.line, err.pos.col, err.msg);
                return NULL;
        }
        return v;
}

/* Parse input that must fail; returns the error code and fills *err. */
static int parse_fail_n(const char *s, size_t n, TomlError *err)
{
        TomlValue *v = (TomlValue *) 1;
        int r = toml_parse(s, n, &v, err);
        if (r >= 0)
                toml_free(v);
        else if (v != NULL)
                return -EFAULT; /* *ret must be NULL on failure */
        return r;
}

static int parse_fail(const char *s, TomlError *err)
{
        return parse_fail_n(s, strlen(s), err);
}

#define ASSERT_ERROR(input, eline, ecol, needle)                                         \
        do {                                                                           \
                TomlError _e;                                                          \
                int _r = parse_fail((input), &_e);                                     \
                if (_r >= 0)                                                           \
                        TEST_FAIL("accepted: %s", (input));                            \
                ASSERT_EQ(_r, -EINVAL);                                                \
                if (_e.pos.line != (eline) || _e.pos.col != (ecol))                    \
                        TEST_FAIL("%s: error at %u:%u, expected %u:%u (%s)", #input,   \
                                  _e.pos.line, _e.pos.col, (unsigned) (eline),         \
                                  (unsigned) (ecol), _e.msg);                          \
                ASSERT_CONTAINS(_e.msg, (needle));                                     \
        } while (0)

TEST(scalar_types)
{
        _cleanup_toml_ TomlValue *v = parse_ok(
                "s = \"hi\"\n"
                "i = -42\n"
                "f = 6.25e-1\n"
                "b = true\n"
                "odt = 1979-05-27T07:32:00Z\n"
                "ldt = 1979-05-27T07:32:00\n"
                "ld = 1979-05-27\n"
                "lt = 07:32:00\n"
                "a = [1, \"two\", 3.0]\n"
                "t = { x = 1 }\n");
        ASSERT_NOT_NULL(v);
        ASSERT_EQ(v->type, TOML_TABLE);
        static const TomlType want[] = { TOML_STRING, TOML_INTEGER, TOML_FLOAT, TOML_BOOLEAN,
                                         TOML_OFFSET_DATETIME, TOML_LOCAL_DATETIME, TOML_LOCAL_DATE,
                                         TOML_LOCAL_TIME, TOML_ARRAY, TOML_TABLE };
        ASSERT_EQ(toml_table_size(v), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                ASSERT_EQ(toml_table_value(v, i)->type, want[i]);
        ASSERT_STREQ(toml_table_get(v, "s")->str.s, "hi");
        ASSERT_EQ(toml_table_get(v, "s")->str.len, 2);
        ASSERT_EQ(toml_table_get(v, "i")->integer, -42);
        ASSERT_TRUE(toml_table_get(v, "f")->flt == 0.625);
        ASSERT_TRUE(toml_table_get(v, "b")->boolean);
        ASSERT_EQ(toml_array_size(toml_table_get(v, "a")), 3);
        ASSERT_STREQ(toml_array_get(toml_table_get(v, "a"), 1)->str.s, "two");
        ASSERT_NULL(toml_array_get(toml_table_get(v, "a"), 3));
        ASSERT_EQ(toml_table_get(toml_table_get(v, "t"), "x")->integer, 1);
        ASSERT_STREQ(toml_type_name(TOML_LOCAL_DATE), "local date");
        ASSERT_STREQ(toml_type_name(TOML_TABLE), "table");
        ASSERT_STREQ(toml_type_name(_TOML_TYPE_MAX), "unknown");
}

TEST(accessors_on_wrong_types)
{
        _cleanup_toml_ TomlValue *v = parse_ok("a = 1\n");
        ASSERT_NOT_NULL(v);
        TomlValue *a = toml_table_get(v, "a");
        ASSERT_EQ(toml_table_size(a), 0);
        ASSERT_NULL(toml_table_get(a, "x"));
        ASSERT_NULL(toml_table_key(a, 0, NULL));
        ASSERT_EQ(toml_array_size(v), 0);
        ASSERT_NULL(toml_array_get(v, 0));
        ASSERT_NULL(toml_table_get(v, "missing"));
        ASSERT_NULL(toml_table_key(v, 1, NULL));
        ASSERT_NULL(toml_table_value(v, 1));
        ASSERT_NULL(toml_table_get(NULL, "a"));
        ASSERT_NULL(toml_free(NULL));
        char buf[8];
        ASSERT_EQ(toml_datetime_format(a, buf, sizeof buf), -EINVAL);
}

TEST(positions_of_values_and_keys)
{
        _cleanup_toml_ TomlValue *v = parse_ok(
                "# comment\n"
                "name = \"x\"\n"
                "[server.\"häst\"]\n"
                "  port   =   8080\n"
                "\"ä\" = 'ö'   # after\n"
                "list = [\n"
                "  1,\n"
                "    { k = 2 },\n"
                "]\n");
        ASSERT_NOT_NULL(v);
        TomlPos kp;

        ASSERT_STREQ(toml_table_key(v, 0, &kp), "name");
        ASSERT_EQ(kp.line, 2);
        ASSERT_EQ(kp.col, 1);
        ASSERT_EQ(toml_table_get(v, "name")->pos.line, 2);
        ASSERT_EQ(toml_table_get(v, "name")->pos.col, 8);

        TomlValue *server = toml_table_get(v, "server");
        ASSERT_NOT_NULL(server);
        TomlValue *hast = toml_table_get(server, "häst");
        ASSERT_NOT_NULL(hast);
        /* The table starts at its header key; columns count characters. */
        ASSERT_EQ(hast->pos.line, 3);
        ASSERT_EQ(hast->pos.col, 9);
        ASSERT_STREQ(toml_table_key(hast, 0, &kp), "port");
        ASSERT_EQ(kp.line, 4);
        ASSERT_EQ(kp.col, 3);
        ASSERT_EQ(toml_table_get(hast, "port")->pos.col, 14);
        ASSERT_STREQ(toml_table_key(hast, 1, &kp), "ä");
        ASSERT_EQ(kp.line, 5);
        ASSERT_EQ(kp.col, 1);
        ASSERT_EQ(toml_table_get(hast, "ä")->pos.col, 7);

        TomlValue *list = toml_table_get(hast, "list");
        ASSERT_EQ(list->pos.line, 6);
        ASSERT_EQ(list->pos.col, 8);
        ASSERT_EQ(toml_array_get(list, 0)->pos.line, 7);
        ASSERT_EQ(toml_array_get(list, 0)->pos.col, 3);
        TomlValue *it = toml_array_get(list, 1);
        ASSERT_EQ(it->pos.line, 8);
        ASSERT_EQ(it->pos.col, 5);
        ASSERT_EQ(toml_table_get(it, "k")->pos.col, 11);
}

TEST(positions_after_multiline_strings_and_crlf)
{
        /* Line and column after strings that span CRLF lines. */
        ASSERT_ERROR("a = \"\"\"\r\none\r\ntwo\"\"\"\r\nb = '''x\r\ny'''  ;\r\n", 5, 7,
                     "expected end of line after value");

        _cleanup_toml_ TomlValue *w = parse_ok("a = \"\"\"\r\none\r\ntwo\"\"\"\r\nb = 2\r\n");
        ASSERT_NOT_NULL(w);
        ASSERT_STREQ(toml_table_get(w, "a")->str.s, "one\ntwo");
        ASSERT_EQ(toml_table_get(w, "b")->pos.line, 4);
        ASSERT_EQ(toml_table_get(w, "b")->pos.col, 5);
}

TEST(crlf_documents)
{
        _cleanup_toml_ TomlValue *v = parse_ok("[t]\r\nk = 'v' # c\r\n\r\narr = [\r\n 1,\r\n]\r\n"
                                               "s = \"\"\"a \\\r\n   b\"\"\"\r\n");
        ASSERT_NOT_NULL(v);
        TomlValue *t = toml_table_get(v, "t");
        ASSERT_STREQ(toml_table_get(t, "k")->str.s, "v");
        ASSERT_EQ(toml_array_size(toml_table_get(t, "arr")), 1);
        ASSERT_STREQ(toml_table_get(t, "s")->str.s, "a b");
        ASSERT_EQ(toml_table_get(t, "s")->pos.line, 7);

        /* A CR that does not start CRLF is not a line ending anywhere. */
        ASSERT_ERROR("a = 1\rb = 2\n", 1, 6, "carriage return");
        ASSERT_ERROR("a = 1 # x\r\n# y\rz\n", 2, 4, "carriage return");
        ASSERT_ERROR("a = '''x\ry'''\n", 1, 9, "carriage return");
}

TEST(error_messages_and_positions)
{
        ASSERT_ERROR("[workspace.api]\nmemory_mb 512\n", 2, 11, "expected '=' after key 'memory_mb'");
        ASSERT_ERROR("\n\nname = 'a'\nother = 1\nname = 'b'\n", 5, 1,
                     "duplicate key 'name' (first defined at line 3)");
        ASSERT_ERROR("s = \"bad \\q escape\"\n", 1, 10, "invalid escape '\\q' in string");
        ASSERT_ERROR("n = 9223372036854775808\n", 1, 5, "integer 9223372036854775808 does not fit in 64 bits");
        ASSERT_ERROR("n = -9_223_372_036_854_775_809\n", 1, 5, "does not fit in 64 bits");
        ASSERT_ERROR("n = 0x8000000000000000\n", 1, 5, "does not fit in 64 bits");
        ASSERT_ERROR("\n\n\n\n\n\n\n\n\n\n\n[workspace.api]\n\n[workspace.api]\n", 14, 12,
                     "table [workspace.api] defined twice (first at line 12)");
        ASSERT_ERROR("a = \"open\n", 1, 5, "unterminated string");
        ASSERT_ERROR("a = '''open\n\n", 1, 5, "unterminated multi-line string");
        ASSERT_ERROR("a = [1, 2\n", 1, 5, "unterminated array");
        ASSERT_ERROR("a = [1 2]\n", 1, 8, "expected ',' or ']'");
        ASSERT_ERROR("a = {x = 1,}\n", 1, 12, "trailing comma");
        ASSERT_ERROR("a = {x = 1,\ny = 2}\n", 1, 12, "one line");
        ASSERT_ERROR("a = 1 b = 2\n", 1, 7, "expected end of line after value");
        ASSERT_ERROR("a =\n", 1, 4, "missing value for key 'a'");
        ASSERT_ERROR("= 1\n", 1, 1, "the key is missing");
        ASSERT_ERROR("a b = 1\n", 1, 3, "expected '=' after key 'a'");
        ASSERT_ERROR("k = yes\n", 1, 5, "strings must be quoted");
        ASSERT_ERROR("d = 2023-02-29\n", 1, 5, "day must be 01-28 in February 2023");
        ASSERT_ERROR("d = 2023-13-01\n", 1, 5, "month must be 01-12");
        ASSERT_ERROR("t = 24:00:00\n", 1, 5, "hour must be 00-23");
        ASSERT_ERROR("t = 12:30\n", 1, 5, "seconds are required");
        ASSERT_ERROR("d = 2023-01-01T10:00:00+2:00\n", 1, 5, "offset");
        ASSERT_ERROR("x = 012\n", 1, 5, "leading zeros");
        ASSERT_ERROR("x = 1__2\n", 1, 5, "'_' must be between two digits");
        ASSERT_ERROR("x = 1.\n", 1, 5, "expected a digit after '.'");
        ASSERT_ERROR("x = -0x10\n", 1, 5, "cannot have a sign");
        ASSERT_ERROR("x = 1e400\n", 1, 5, "out of range");
        ASSERT_ERROR("[a]\nb = 1\n[a.b]\n", 3, 4, "cannot define table [a.b]: key 'a.b' is already an integer (line 2)");
        ASSERT_ERROR("a = [1]\n[[a]]\n", 2, 3, "cannot append to static array 'a' (line 1)");
        ASSERT_ERROR("[[a]]\n[a]\n", 2, 2, "already an array of tables");
        ASSERT_ERROR("a = {b = 1}\na.c = 2\n", 2, 1, "cannot add keys to inline table 'a' (line 1)");
        ASSERT_ERROR("a = {b = 1}\n[a.c]\n", 2, 2, "cannot add tables to inline table 'a'");
        ASSERT_ERROR("[x.y]\nz = 1\n[x]\ny.w = 2\n", 4, 1, "cannot add keys to table [x.y] with dotted keys");
        ASSERT_ERROR("a.b = 1\n[a]\n", 2, 2, "table [a] was already defined by dotted keys at line 1");
        ASSERT_ERROR("a = 1\na.b = 2\n", 2, 1, "cannot use 'a' as a table: it is already an integer (line 1)");
        ASSERT_ERROR("\"\"\"k\"\"\" = 1\n", 1, 1, "multi-line strings cannot be used as keys");
        ASSERT_ERROR("[a\n", 1, 3, "expected ']' to close table header [a");
        ASSERT_ERROR("s = \"\\uD800\"\n", 1, 6, "not a Unicode scalar value");
        ASSERT_ERROR("s = \"\\u12\"\n", 1, 6, "needs exactly 4 hex digits");
        ASSERT_ERROR("s = \"\"\"a\\  b\"\"\"\n", 1, 9, "invalid escape '\\ '");
        ASSERT_ERROR("s = 'a\tb\x01'\n", 1, 9, "control character U+0001");
        ASSERT_ERROR("# \x7f\n", 1, 3, "control character U+007F");
        ASSERT_ERROR("s = \"\"\"a\"\"\"\"\"\"\n", 1, 14, "too many quotes");
}

TEST(error_columns_count_characters)
{
        /* Three two-byte and one four-byte character before the error. */
        ASSERT_ERROR("k = 'äöü😀' x\n", 1, 12, "expected end of line");
        ASSERT_ERROR("ä.ö = 1\n", 1, 1, "expected a key");
}

TEST(null_error_pointer_is_allowed)
{
        TomlValue *v = NULL;
        ASSERT_EQ(toml_parse("a = ", 4, &v, NULL), -EINVAL);
        ASSERT_NULL(v);
        ASSERT_OK(toml_parse("a = 1", 5, &v, NULL));
        v = toml_free(v);
        ASSERT_NULL(v);
        ASSERT_OK(toml_parse(NULL, 0, &v, NULL));
        ASSERT_EQ(toml_table_size(v), 0);
        toml_free(v);
}

static char *nested(const char *prefix, char open, size_t n, char close)
{
        size_t pl = strlen(prefix);
        char *s = malloc(pl + 2 * n + 2);
        memcpy(s, prefix, pl);
        memset(s + pl, open, n);
        memset(s + pl + n, close, n);
        s[pl + 2 * n] = '\n';
        s[pl + 2 * n + 1] = '\0';
        return s;
}

TEST(depth_limit)
{
        TomlError err;
        _cleanup_free_ char *ok = nested("a = ", '[', TOML_MAX_DEPTH, ']');
        _cleanup_toml_ TomlValue *v = parse_ok(ok);
        ASSERT_NOT_NULL(v);

        _cleanup_free_ char *deep = nested("a = ", '[', TOML_MAX_DEPTH + 1, ']');
        ASSERT_EQ(parse_fail(deep, &err), -E2BIG);
        ASSERT_CONTAINS(err.msg, "nesting too deep");
        ASSERT_EQ(err.pos.line, 1);
        ASSERT_EQ(err.pos.col, 5 + TOML_MAX_DEPTH);

        /* Tables from headers and dotted keys count too. */
        char buf[4 * TOML_MAX_DEPTH + 16] = "[";
        for (unsigned i = 0; i < TOML_MAX_DEPTH + 1; i++)
                strcat(buf, i ? ".a" : "a");
        strcat(buf, "]\n");
        ASSERT_EQ(parse_fail(buf, &err), -E2BIG);
        buf[0] = '\0';
        for (unsigned i = 0; i < TOML_MAX_DEPTH; i++)
                strcat(buf, i ? ".a" : "a");
        strcat(buf, " = [[1]]\n");
        ASSERT_EQ(parse_fail(buf, &err), -E2BIG);
}

TEST(hostile_nesting_fails_cleanly)
{
        TomlError err;
        size_t n = 100000;
        _cleanup_free_ char *s = malloc(n + 8);

        memset(s, '[', n);
        ASSERT_EQ(parse_fail_n(s, n, &err), -EINVAL);
        ASSERT_EQ(err.pos.line, 1);

        memcpy(s, "a = ", 4);
        ASSERT_EQ(parse_fail_n(s, n, &err), -E2BIG);
        ASSERT_CONTAINS(err.msg, "nesting too deep");

        for (size_t i = 4; i + 3 < n; i += 3)
                memcpy(s + i, "{a=", 3);
        ASSERT_EQ(parse_fail_n(s, n - (n - 4) % 3, &err), -E2BIG);

        for (size_t i = 0; i < n; i += 2)
                memcpy(s + i, "a.", 2);
        ASSERT_EQ(parse_fail_n(s, n, &err), -E2BIG);
        ASSERT_CONTAINS(err.msg, "too many dotted parts");
}

TEST(input_size_limit)
{
        TomlError err;
        size_t n = TOML_MAX_INPUT + 1;
        _cleanup_free_ char *s = malloc(n);

        ASSERT_NOT_NULL(s);
        memset(s, '\n', n);
        ASSERT_EQ(parse_fail_n(s, n, &err), -E2BIG);
        ASSERT_CONTAINS(err.msg, "too large");

        /* Exactly at the limit is still parsed. */
        TomlValue *v = NULL;
        ASSERT_OK(toml_parse(s, TOML_MAX_INPUT, &v, &err));
        toml_free(v);
}

TEST(key_order_preserved)
{
        _cleanup_toml_ TomlValue *v = parse_ok("z = 1\ny = 2\n\"x\" = 3\nw.v = 4\n[m]\n[b]\nq = 1\n[a]\n"
                                               "k20=1\nk3=1\nk11=1\nk1=1\nk9=1\nk8=1\nk7=1\nk6=1\nk5=1\n"
                                               "k4=1\nk19=1\nk2=1\nk10=1\n");
        ASSERT_NOT_NULL(v);
        static const char *const top[] = { "z", "y", "x", "w", "m", "b", "a" };
        ASSERT_EQ(toml_table_size(v), ELEMENTSOF(top));
        for (size_t i = 0; i < ELEMENTSOF(top); i++)
                ASSERT_STREQ(toml_table_key(v, i, NULL), top[i]);
        /* Beyond eight keys the table is hashed; order must not change. */
        static const char *const inner[] = { "k20", "k3", "k11", "k1", "k9", "k8", "k7",
                                             "k6", "k5", "k4", "k19", "k2", "k10" };
        TomlValue *a = toml_table_get(v, "a");
        ASSERT_EQ(toml_table_size(a), ELEMENTSOF(inner));
        for (size_t i = 0; i < ELEMENTSOF(inner); i++) {
                ASSERT_STREQ(toml_table_key(a, i, NULL), inner[i]);
                ASSERT_TRUE(toml_table_get(a, inner[i]) == toml_table_value(a, i));
        }
}

static char *many_keys(size_t n, size_t *ret_len)
{
        char *s = malloc(n * 16 + 8);
        size_t o = 0;
        for (size_t i = 0; i < n; i++)
                o += (size_t) sprintf(s + o, "k%zx = %zu\n", i, i);
        *ret_len = o;
        return s;
}

TEST(many_keys_in_one_table)
{
        size_t n = 200000, len;
        _cleanup_free_ char *s = many_keys(n, &len);
        _cleanup_toml_ TomlValue *v = NULL;
        TomlError err;

        /* With a linear lookup this takes minutes; hashed it is instant. */
        ASSERT_OK(toml_parse(s, len, &v, &err));
        ASSERT_EQ(toml_table_size(v), n);
        char key[32];
        for (size_t i = 0; i < n; i += 997) {
                snprintf(key, sizeof key, "k%zx", i);
                TomlValue *x = toml_table_get(v, key);
                ASSERT_NOT_NULL(x);
                ASSERT_EQ(x->integer, (int64_t) i);
                ASSERT_STREQ(toml_table_key(v, i, NULL), key);
        }
        ASSERT_NULL(toml_table_get(v, "k"));

        /* A duplicate at the very end is still found. */
        strcpy(s + len, "k0 = 1\n");
        TomlError e2;
        ASSERT_EQ(parse_fail(s, &e2), -EINVAL);
        ASSERT_EQ(e2.pos.line, n + 1);
        ASSERT_CONTAINS(e2.msg, "duplicate key 'k0' (first defined at line 1)");
}

TEST(key_count_limit)
{
        size_t n = TOML_MAX_TABLE_KEYS + 1, len;
        _cleanup_free_ char *s = many_keys(n, &len);
        TomlError err;

        ASSERT_TRUE(len <= TOML_MAX_INPUT);
        ASSERT_EQ(parse_fail_n(s, len, &err), -E2BIG);
        ASSERT_EQ(err.pos.line, n);
        ASSERT_CONTAINS(err.msg, "too many keys");
}

TEST(utf8_validation)
{
        static const struct {
                const char *doc;
                unsigned col;
                const char *why;
        } bad[] = {
                { "s = \"\xC0\xAF\"\n", 6, "overlong" },
                { "s = \"\xE0\x80\xAF\"\n", 6, "overlong" },
                { "s = \"\xF0\x80\x80\xAF\"\n", 6, "overlong" },
                { "s = \"\xED\xA0\x80\"\n", 6, "surrogate" },
                { "s = \"\xED\xBF\xBF\"\n", 6, "surrogate" },
                { "s = \"\xF4\x90\x80\x80\"\n", 6, "beyond U+10FFFF" },
                { "s = \"\xF5\x80\x80\x80\"\n", 6, "invalid UTF-8 byte" },
                { "s = \"\xFF\"\n", 6, "invalid UTF-8 byte" },
                { "s = \"\x80\"\n", 6, "continuation" },
                { "s = \"\xC3\"\n", 6, "truncated" },
                { "s = \"\xE2\x82\"\n", 6, "truncated" },
                { "# ok ä then bad \xC3\x28\n", 17, "truncated" },
                { "k = 1 # \xFE\n", 9, "invalid UTF-8 byte" },
                { "\xC3\xA4\xC3", 2, "truncated" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                TomlError err;
                ASSERT_EQ(parse_fail(bad[i].doc, &err), -EINVAL);
                ASSERT_EQ(err.pos.line, 1);
                ASSERT_EQ(err.pos.col, bad[i].col);
                ASSERT_CONTAINS(err.msg, bad[i].why);
        }

        /* The edges of the valid ranges are accepted. */
        _cleanup_toml_ TomlValue *v = parse_ok("s = \"\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                                               "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\"\n");
        ASSERT_NOT_NULL(v);
        ASSERT_EQ(toml_table_get(v, "s")->str.len, 2 + 2 + 3 + 3 + 3 + 4 + 4);
}

TEST(nul_in_strings)
{
        _cleanup_toml_ TomlValue *v = parse_ok("s = \"a\\u0000b\"\n\"k\\u0000\" = 1\n");
        ASSERT_NOT_NULL(v);
        TomlValue *s = toml_table_get(v, "s");
        ASSERT_EQ(s->str.len, 3);
        ASSERT_TRUE(memcmp(s->str.s, "a\0b", 4) == 0);
        ASSERT_EQ(toml_table_key_length(v, 1), 2);
        ASSERT_TRUE(memcmp(toml_table_key(v, 1, NULL), "k\0", 3) == 0);

        /* A raw NUL byte is never allowed. */
        TomlError err;
        ASSERT_EQ(parse_fail_n("s = \"a\0b\"\n", 10, &err), -EINVAL);
        ASSERT_EQ(err.pos.col, 7);
}

TEST(string_forms)
{
        _cleanup_toml_ TomlValue *v = parse_ok(
                "basic = \"tab\\there \\\"q\\\" \\\\ \\u00e9 \\U0001F600 \\b\\f\\r\\n\"\n"
                "literal = 'C:\\Users\\no\\escapes'\n"
                "ml = \"\"\"\nline1\n  line2 \\\n     joined\"\"\"\n"
                "mll = '''\n'quoted' \\n stays\n'''\n"
                "quotes = \"\"\"\"\"two\"\"\"\"\"\n"
                "empty = \"\"\n"
                "tab = \"a\tb\"\n");
        ASSERT_NOT_NULL(v);
        ASSERT_STREQ(toml_table_get(v, "basic")->str.s, "tab\there \"q\" \\ \xC3\xA9 \xF0\x9F\x98\x80 \b\f\r\n");
        ASSERT_STREQ(toml_table_get(v, "literal")->str.s, "C:\\Users\\no\\escapes");
        ASSERT_STREQ(toml_table_get(v, "ml")->str.s, "line1\n  line2 joined");
        ASSERT_STREQ(toml_table_get(v, "mll")->str.s, "'quoted' \\n stays\n");
        ASSERT_STREQ(toml_table_get(v, "quotes")->str.s, "\"\"two\"\"");
        ASSERT_EQ(toml_table_get(v, "empty")->str.len, 0);
        ASSERT_STREQ(toml_table_get(v, "tab")->str.s, "a\tb");
}

TEST(integers_and_floats)
{
        _cleanup_toml_ TomlValue *v = parse_ok(
                "max = 9_223_372_036_854_775_807\n"
                "min = -9223372036854775808\n"
                "hex = 0xDEAD_beef\n"
                "hexmax = 0x7fffffffffffffff\n"
                "oct = 0o755\n"
                "bin = 0b1101\n"
                "pz = +0\n"
                "f1 = -1_000.000_5e-0_3\n"
                "f2 = 5e+22\n"
                "ninf = -inf\n"
                "pnan = +nan\n"
                "nz = -0.0\n");
        ASSERT_NOT_NULL(v);
        ASSERT_EQ(toml_table_get(v, "max")->integer, INT64_MAX);
        ASSERT_EQ(toml_table_get(v, "min")->integer, INT64_MIN);
        ASSERT_EQ(toml_table_get(v, "hex")->integer, 0xDEADBEEF);
        ASSERT_EQ(toml_table_get(v, "hexmax")->integer, INT64_MAX);
        ASSERT_EQ(toml_table_get(v, "oct")->integer, 0755);
        ASSERT_EQ(toml_table_get(v, "bin")->integer, 13);
        ASSERT_EQ(toml_table_get(v, "pz")->integer, 0);
        ASSERT_TRUE(toml_table_get(v, "f1")->flt == -1000.0005e-3);
        ASSERT_TRUE(toml_table_get(v, "f2")->flt == 5e22);
        ASSERT_TRUE(isinf(toml_table_get(v, "ninf")->flt) && toml_table_get(v, "ninf")->flt < 0);
        ASSERT_TRUE(isnan(toml_table_get(v, "pnan")->flt));
        ASSERT_TRUE(signbit(toml_table_get(v, "nz")->flt));
}

TEST(datetimes)
{
        _cleanup_toml_ TomlValue *v = parse_ok(
                "a = 1979-05-27T00:32:00.999999-07:30\n"
                "b = 1979-05-27 07:32:00.123456789123z\n"
                "c = 2000-02-29t23:59:60\n"
                "d = 2024-02-29\n"
                "e = 00:00:00.5\n");
        ASSERT_NOT_NULL(v);
        TomlValue *a = toml_table_get(v, "a");
        ASSERT_EQ(a->type, TOML_OFFSET_DATETIME);
        ASSERT_EQ(a->dt.year, 1979);
        ASSERT_EQ(a->dt.month, 5);
        ASSERT_EQ(a->dt.day, 27);
        ASSERT_EQ(a->dt.minute, 32);
        ASSERT_EQ(a->dt.nanosecond, 999999000);
        ASSERT_EQ(a->dt.frac_digits, 6);
        ASSERT_EQ(a->dt.offset_minutes, -450);
        ASSERT_FALSE(a->dt.offset_z);
        TomlValue *b = toml_table_get(v, "b");
        ASSERT_EQ(b->dt.nanosecond, 123456789);
        ASSERT_EQ(b->dt.frac_digits, 12);
        ASSERT_TRUE(b->dt.offset_z);
        ASSERT_EQ(toml_table_get(v, "c")->type, TOML_LOCAL_DATETIME);
        ASSERT_EQ(toml_table_get(v, "c")->dt.second, 60);
        ASSERT_EQ(toml_table_get(v, "d")->type, TOML_LOCAL_DATE);
        ASSERT_EQ(toml_table_get(v, "e")->type, TOML_LOCAL_TIME);
        ASSERT_EQ(toml_table_get(v, "e")->dt.nanosecond, 500000000);

        char buf[64];
        ASSERT_EQ(toml_datetime_format(a, buf, sizeof buf), (int) strlen("1979-05-27T00:32:00.999999-07:30"));
        ASSERT_STREQ(buf, "1979-05-27T00:32:00.999999-07:30");
        toml_datetime_format(b, buf, sizeof buf);
        ASSERT_STREQ(buf, "1979-05-27T07:32:00.123456789Z");
        toml_datetime_format(toml_table_get(v, "c"), buf, sizeof buf);
        ASSERT_STREQ(buf, "2000-02-29T23:59:60");
        toml_datetime_format(toml_table_get(v, "d"), buf, sizeof buf);
        ASSERT_STREQ(buf, "2024-02-29");
        toml_datetime_format(toml_table_get(v, "e"), buf, sizeof buf);
        ASSERT_STREQ(buf, "00:00:00.5");

        ASSERT_ERROR("d = 1900-02-29\n", 1, 5, "01-28 in February 1900");
        ASSERT_ERROR("d = 2023-04-31\n", 1, 5, "01-30 in April 2023");
        ASSERT_ERROR("d = 2023-04-01T10:00:61\n", 1, 5, "second");
        ASSERT_ERROR("t = 10:00:00Z\n", 1, 5, "no offset");
}

TEST(tables_and_redefinition_rules)
{
        static const char *const valid[] = {
                "[a.b.c]\n[a]\nx = 1\n",                          /* define an implicit parent later */
                "[fruit]\napple.color = 'red'\napple.taste.sweet = true\n[fruit.apple.texture]\nsmooth = true\n",
                "a.b.c = 1\na.b.d = 2\na.e = 3\n",
                "[[p]]\nx = 1\n[p.q]\ny = 2\n[[p]]\nx = 2\n[p.q]\ny = 3\n",
                "[[a.b]]\n[a]\nc = 1\n",
                "t = {a.b = 1, a.c = 2}\n",
                "a = [ # comment\n 1, # more\n\n 'x', {y = []},\n]\n",
                "[\"quoted.key\".'lit']\n\"\" = 1\n",
                "[ a . b ]\n",
        };
        static const char *const invalid[] = {
                "[a]\n[a]\n",
                "[a.b]\n[a.b]\n",
                "a.b = 1\n[a.b]\n",
                "a.b.c = 1\n[a.b]\n",
                "[a.b]\n[a]\nb.c = 1\n",
                "a = {}\n[a]\n",
                "a = {}\na.b = 1\n",
                "a = {b = {}}\n[a.b.c]\n",
                "a = []\n[[a]]\n",
                "[[a]]\n[a]\n",
                "[a]\n[[a]]\n",
                "a = 1\n[a]\n",
                "a = 1\n[a.b]\n",
                "a = 1\na = 2\n",
                "t = {a = 1, a = 2}\n",
                "t = {a = {b = 1}, a.c = 2}\n",
                "[t]\nx = 1\n[t]\ny = 2\n",
        };
        for (size_t i = 0; i < ELEMENTSOF(valid); i++) {
                TomlValue *v = parse_ok(valid[i]);
                if (!v)
                        TEST_FAIL("rejected valid document %zu: %s", i, valid[i]);
                toml_free(v);
        }
        for (size_t i = 0; i < ELEMENTSOF(invalid); i++) {
                TomlError err;
                if (parse_fail(invalid[i], &err) != -EINVAL)
                        TEST_FAIL("accepted invalid document %zu: %s", i, invalid[i]);
                ASSERT_TRUE(err.pos.line >= 1 && err.pos.col >= 1 && err.msg[0]);
        }

        _cleanup_toml_ TomlValue *v = parse_ok("[[p]]\nx = 1\n[p.q]\ny = 2\n[[p]]\nx = 2\n");
        ASSERT_NOT_NULL(v);
        TomlValue *p = toml_table_get(v, "p");
        ASSERT_EQ(p->type, TOML_ARRAY);
        ASSERT_EQ(toml_array_size(p), 2);
        ASSERT_EQ(toml_table_get(toml_table_get(toml_array_get(p, 0), "q"), "y")->integer, 2);
        ASSERT_EQ(toml_table_get(toml_array_get(p, 1), "x")->integer, 2);
        ASSERT_EQ(toml_array_get(p, 1)->pos.line, 5);
}

TEST(byte_order_mark)
{
        _cleanup_toml_ TomlValue *v = parse_ok("\xEF\xBB\xBF" "a = 1\n");
        ASSERT_NOT_NULL(v);
        ASSERT_EQ(toml_table_get(v, "a")->pos.col, 5);
        ASSERT_ERROR("a = 1\n\xEF\xBB\xBF" "b = 2\n", 2, 1, "U+FEFF");
        ASSERT_ERROR("\xEF\xBB\xBF\xEF\xBB\xBF" "a = 1\n", 1, 1, "U+FEFF");
}
