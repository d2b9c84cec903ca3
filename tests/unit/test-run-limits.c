/* The pure parts of issue 16: CPUs from cpu_percent (rlimits.h) and the
 * restart policy's back-off and state line (run-state.h). */
#include "base/macro.h"
#include "runtime/rlimits.h"
#include "runtime/run-state.h"
#include "test.h"

static cpu_set_t cpus(int first, int n)
{
        cpu_set_t s;
        CPU_ZERO(&s);
        for (int i = first; i < first + n; i++)
                CPU_SET(i, &s);
        return s;
}

static const char *list_of(const cpu_set_t *s)
{
        static char buf[256];
        rlimits_cpu_list(s, buf, sizeof buf);
        return buf;
}

TEST(cpu_pick_is_ceil_of_the_share)
{
        cpu_set_t all = cpus(0, 4), pick;
        ASSERT_EQ(rlimits_cpu_pick(&all, 25, 0, &pick), 1);
        ASSERT_STREQ(list_of(&pick), "0\n");
        ASSERT_EQ(rlimits_cpu_pick(&all, 26, 0, &pick), 2); /* 1.04 CPUs round up */
        ASSERT_EQ(rlimits_cpu_pick(&all, 50, 0, &pick), 2);
        ASSERT_EQ(rlimits_cpu_pick(&all, 75, 0, &pick), 3);
        /* All of them, or no limit: nothing to pin. */
        ASSERT_EQ(rlimits_cpu_pick(&all, 76, 0, &pick), 0);
        ASSERT_EQ(rlimits_cpu_pick(&all, 100, 0, &pick), 0);
        ASSERT_EQ(rlimits_cpu_pick(&all, 0, 0, &pick), 0);
        cpu_set_t one = cpus(3, 1);
        ASSERT_EQ(rlimits_cpu_pick(&one, 10, 0, &pick), 0);
}

TEST(cpu_pick_spreads_by_seed_and_wraps)
{
        cpu_set_t all = cpus(0, 4), pick;
        ASSERT_EQ(rlimits_cpu_pick(&all, 50, 1, &pick), 2);
        ASSERT_STREQ(list_of(&pick), "1-2\n");
        ASSERT_EQ(rlimits_cpu_pick(&all, 50, 3, &pick), 2);
        ASSERT_STREQ(list_of(&pick), "0,3\n");
        ASSERT_EQ(rlimits_cpu_pick(&all, 50, 7, &pick), 2); /* 7 % 4 = 3 */
        ASSERT_STREQ(list_of(&pick), "0,3\n");
}

TEST(cpu_pick_uses_only_allowed_cpus)
{
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        CPU_SET(2, &allowed);
        CPU_SET(5, &allowed);
        CPU_SET(9, &allowed);
        CPU_SET(10, &allowed);
        cpu_set_t pick;
        ASSERT_EQ(rlimits_cpu_pick(&allowed, 50, 1, &pick), 2);
        ASSERT_STREQ(list_of(&pick), "5,9\n");
        ASSERT_EQ(rlimits_cpu_pick(&allowed, 50, 3, &pick), 2);
        ASSERT_STREQ(list_of(&pick), "2,10\n");
}

TEST(restart_policy_names)
{
        ASSERT_EQ(run_restart_from_string("no"), RUN_RESTART_NO);
        ASSERT_EQ(run_restart_from_string("on-failure"), RUN_RESTART_ON_FAILURE);
        ASSERT_EQ(run_restart_from_string("always"), RUN_RESTART_ALWAYS);
        ASSERT_EQ(run_restart_from_string("On-Failure"), _RUN_RESTART_INVALID);
        ASSERT_EQ(run_restart_from_string(""), _RUN_RESTART_INVALID);
        ASSERT_EQ(run_restart_from_string(NULL), _RUN_RESTART_INVALID);
        ASSERT_TRUE(run_restart_wanted(RUN_RESTART_ON_FAILURE, 3));
        ASSERT_TRUE(run_restart_wanted(RUN_RESTART_ON_FAILURE, 137));
        ASSERT_FALSE(run_restart_wanted(RUN_RESTART_ON_FAILURE, 0));
        ASSERT_TRUE(run_restart_wanted(RUN_RESTART_ALWAYS, 0));
        ASSERT_FALSE(run_restart_wanted(RUN_RESTART_NO, 1));
}

TEST(restart_backoff_doubles_caps_and_resets)
{
        uint64_t d = run_restart_delay(0, 0);
        ASSERT_EQ(d, RUN_RESTART_DELAY_FIRST_MS);
        d = run_restart_delay(d, 50);
        ASSERT_EQ(d, 200);
        for (int i = 0; i < 20; i++)
                d = run_restart_delay(d, 50);
        ASSERT_EQ(d, RUN_RESTART_DELAY_MAX_MS);
        /* A run that lasted long enough starts over. */
        ASSERT_EQ(run_restart_delay(d, RUN_RESTART_RESET_MS), RUN_RESTART_DELAY_FIRST_MS);
}

TEST(run_state_line_round_trips_and_rejects_garbage)
{
        char buf[80];
        RunState s = { .restarts = 12, .next_ms = 1796670818123ULL, .last_status = 3 }, t;
        size_t n = run_state_format(&s, buf);
        buf[n] = 0;
        ASSERT_STREQ(buf, "12 1796670818123 3\n");
        ASSERT_OK(run_state_parse(buf, n, &t));
        ASSERT_EQ(t.restarts, 12);
        ASSERT_EQ(t.next_ms, 1796670818123ULL);
        ASSERT_EQ(t.last_status, 3);
        s = (RunState) { .restarts = 0, .next_ms = 0, .last_status = -1 };
        n = run_state_format(&s, buf);
        ASSERT_OK(run_state_parse(buf, n, &t));
        ASSERT_EQ(t.last_status, -1);
        /* Written through init by the workspace: anything may be there. */
        const char *bad[] = { "", "1 2\n", "1 2 3", "a 2 3\n", "1 2 -2\n", "1  2 3\n", "-1 2 3\n",
                              "99999999999999999999999 0 0\n", "1 2 3 4\n" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                ASSERT_EQ(run_state_parse(bad[i], strlen(bad[i]), &t), -1);
        ASSERT_OK(run_state_parse("1 2 999\n", 8, &t));
        ASSERT_EQ(t.last_status, 255);
}
