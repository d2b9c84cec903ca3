/* A tiny TAP unit-test harness. Each tests/unit/test-*.c is one program:
 *
 *     TEST(parse_ok) { ASSERT_EQ(parse(...), 0); }
 *
 * Tests run in definition order; a failed ASSERT ends that test only.
 * Output is TAP, read by tests/run.sh. */
#pragma once

#include <inttypes.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void (*test_fn)(void);
struct test_case {
        const char *name;
        test_fn fn;
};

static struct test_case test_cases[512];
static size_t test_count;
static jmp_buf test_jmp;
static int test_failed;
static const char *test_skip_reason;

static inline void test_register(const char *name, test_fn fn)
{
        if (test_count < sizeof test_cases / sizeof test_cases[0])
                test_cases[test_count++] = (struct test_case) { name, fn };
}

#define TEST(name)                                                             \
        static void test_##name(void);                                         \
        __attribute__((constructor)) static void test_register_##name(void)   \
        {                                                                      \
                test_register(#name, test_##name);                             \
        }                                                                      \
        static void test_##name(void)

#define TEST_FAIL(...)                                                  \
        do {                                                            \
                printf("# %s:%d: ", __FILE__, __LINE__);                \
                printf(__VA_ARGS__);                                    \
                printf("\n");                                           \
                test_failed = 1;                                        \
                longjmp(test_jmp, 1);                                   \
        } while (0)

#define SKIP(reason)                            \
        do {                                    \
                test_skip_reason = (reason);    \
                longjmp(test_jmp, 1);           \
        } while (0)

#define ASSERT_TRUE(x)                                                  \
        do {                                                            \
                if (!(x))                                               \
                        TEST_FAIL("expected true: %s", #x);             \
        } while (0)
#define ASSERT_FALSE(x) ASSERT_TRUE(!(x))
#define ASSERT_NULL(x) ASSERT_TRUE((x) == NULL)
#define ASSERT_NOT_NULL(x) ASSERT_TRUE((x) != NULL)

#define ASSERT_EQ(a, b)                                                          \
        do {                                                                     \
                intmax_t _a = (intmax_t) (a), _b = (intmax_t) (b);               \
                if (_a != _b)                                                    \
                        TEST_FAIL("%s == %s: %jd != %jd", #a, #b, _a, _b);       \
        } while (0)
#define ASSERT_NE(a, b)                                                          \
        do {                                                                     \
                intmax_t _a = (intmax_t) (a), _b = (intmax_t) (b);               \
                if (_a == _b)                                                    \
                        TEST_FAIL("%s != %s: both %jd", #a, #b, _a);             \
        } while (0)
#define ASSERT_OK(x)                                                             \
        do {                                                                     \
                intmax_t _r = (intmax_t) (x);                                    \
                if (_r < 0)                                                      \
                        TEST_FAIL("%s failed: %jd (%s)", #x, _r, strerror((int) -_r)); \
        } while (0)
#define ASSERT_STREQ(a, b)                                                       \
        do {                                                                     \
                const char *_a = (a), *_b = (b);                                 \
                if (!_a || !_b || strcmp(_a, _b) != 0)                           \
                        TEST_FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b,         \
                                  _a ? _a : "(null)", _b ? _b : "(null)");       \
        } while (0)
#define ASSERT_CONTAINS(hay, needle)                                             \
        do {                                                                     \
                const char *_h = (hay), *_n = (needle);                          \
                if (!_h || !strstr(_h, _n))                                      \
                        TEST_FAIL("%s contains \"%s\": got \"%s\"", #hay, _n,   \
                                  _h ? _h : "(null)");                           \
        } while (0)

int main(void)
{
        static int failures;
        setvbuf(stdout, NULL, _IOLBF, 0);
        printf("1..%zu\n", test_count);
        for (size_t i = 0; i < test_count; i++) {
                test_failed = 0;
                test_skip_reason = NULL;
                if (setjmp(test_jmp) == 0)
                        test_cases[i].fn();
                if (test_skip_reason)
                        printf("ok %zu - %s # SKIP %s\n", i + 1, test_cases[i].name, test_skip_reason);
                else if (test_failed) {
                        printf("not ok %zu - %s\n", i + 1, test_cases[i].name);
                        failures++;
                } else
                        printf("ok %zu - %s\n", i + 1, test_cases[i].name);
        }
        return failures ? 1 : 0;
}
