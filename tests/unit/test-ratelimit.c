/* Token buckets per uid and global: legitimate use never hits them
 * (SPEC §9), floods do, and the answer says when to retry. */
#include "test.h"
#include "daemon/ratelimit.h"

#define MS 1000000ull
#define SEC 1000000000ull

TEST(bucket_burst_then_rate)
{
        TokenBucket b;
        token_bucket_init(&b, 10, 5, 0);
        for (int i = 0; i < 5; i++)
                ASSERT_TRUE(token_bucket_take(&b, 0, NULL));
        uint64_t wait = 0;
        ASSERT_FALSE(token_bucket_take(&b, 0, &wait));
        ASSERT_TRUE(wait > 99 * MS && wait <= 101 * MS);
        ASSERT_FALSE(token_bucket_take(&b, 50 * MS, NULL));
        ASSERT_TRUE(token_bucket_take(&b, 100 * MS, NULL));
        /* Refill never exceeds the burst. */
        for (int i = 0; i < 5; i++)
                ASSERT_TRUE(token_bucket_take(&b, 100 * SEC, NULL));
        ASSERT_FALSE(token_bucket_take(&b, 100 * SEC, NULL));
}

TEST(bucket_ignores_a_clock_going_back)
{
        TokenBucket b;
        token_bucket_init(&b, 1, 1, 10 * SEC);
        ASSERT_TRUE(token_bucket_take(&b, 10 * SEC, NULL));
        ASSERT_FALSE(token_bucket_take(&b, 5 * SEC, NULL));
        ASSERT_TRUE(token_bucket_take(&b, 6 * SEC + SEC, NULL));
}

TEST(defaults_let_legitimate_bursts_through)
{
        RateLimiter rl;
        RateLimitConfig c = RATELIMIT_CONFIG_DEFAULT;
        ASSERT_OK(ratelimiter_init(&rl, &c, 0));
        /* `up` of 100 workspaces: several requests each, back to back. */
        for (int i = 0; i < 100 * 5; i++)
                ASSERT_EQ(ratelimiter_take(&rl, 1000, 0, NULL), RATELIMIT_OK);
        /* A tight exec loop: one exec every 2.5 ms (faster than an exec
         * can complete) for 20 seconds. */
        uint64_t t = 0;
        for (int i = 0; i < 8000; i++, t += 2500000ull)
                ASSERT_EQ(ratelimiter_take(&rl, 1000, t, NULL), RATELIMIT_OK);
        ratelimiter_done(&rl);
}

TEST(flood_is_limited_per_uid)
{
        RateLimiter rl;
        RateLimitConfig c = { .uid_rate = 100, .uid_burst = 10, .global_rate = 1e6, .global_burst = 1e6 };
        ASSERT_OK(ratelimiter_init(&rl, &c, 0));
        for (int i = 0; i < 10; i++)
                ASSERT_EQ(ratelimiter_take(&rl, 1000, 0, NULL), RATELIMIT_OK);
        uint64_t wait = 0;
        ASSERT_EQ(ratelimiter_take(&rl, 1000, 0, &wait), RATELIMIT_UID);
        ASSERT_TRUE(wait > 0 && wait <= 10 * MS + 1);
        /* Another uid is unaffected. */
        ASSERT_EQ(ratelimiter_take(&rl, 1001, 0, NULL), RATELIMIT_OK);
        /* Refilled after the wait. */
        ASSERT_EQ(ratelimiter_take(&rl, 1000, wait, NULL), RATELIMIT_OK);
        ratelimiter_done(&rl);
}

TEST(global_bucket)
{
        RateLimiter rl;
        RateLimitConfig c = { .uid_rate = 1e6, .uid_burst = 1e6, .global_rate = 10, .global_burst = 20 };
        ASSERT_OK(ratelimiter_init(&rl, &c, 0));
        for (int i = 0; i < 20; i++)
                ASSERT_EQ(ratelimiter_take(&rl, (uid_t) (1000 + i), 0, NULL), RATELIMIT_OK);
        uint64_t wait = 0;
        ASSERT_EQ(ratelimiter_take(&rl, 5, 0, &wait), RATELIMIT_GLOBAL);
        ASSERT_TRUE(wait > 0);
        ratelimiter_done(&rl);
}

TEST(refused_requests_do_not_drain_the_global_bucket)
{
        RateLimiter rl;
        RateLimitConfig c = { .uid_rate = 1, .uid_burst = 1, .global_rate = 1, .global_burst = 3 };
        ASSERT_OK(ratelimiter_init(&rl, &c, 0));
        ASSERT_EQ(ratelimiter_take(&rl, 1000, 0, NULL), RATELIMIT_OK);
        for (int i = 0; i < 100; i++)
                ASSERT_EQ(ratelimiter_take(&rl, 1000, 0, NULL), RATELIMIT_UID);
        /* Two global tokens are left for others. */
        ASSERT_EQ(ratelimiter_take(&rl, 1, 0, NULL), RATELIMIT_OK);
        ASSERT_EQ(ratelimiter_take(&rl, 2, 0, NULL), RATELIMIT_OK);
        ASSERT_EQ(ratelimiter_take(&rl, 3, 0, NULL), RATELIMIT_GLOBAL);
        ratelimiter_done(&rl);
}

TEST(many_uids_forget_full_buckets)
{
        RateLimiter rl;
        RateLimitConfig c = { .uid_rate = 10, .uid_burst = 2, .global_rate = 1e9, .global_burst = 1e9 };
        ASSERT_OK(ratelimiter_init(&rl, &c, 0));
        /* Fill the table with uids that each used one token. */
        for (uid_t u = 0; u < RATELIMIT_MAX_UIDS; u++)
                ASSERT_EQ(ratelimiter_take(&rl, u, 0, NULL), RATELIMIT_OK);
        ASSERT_EQ(rl.n_uids, RATELIMIT_MAX_UIDS);
        /* Uid 0 drains its bucket now; a second later the others are full again. */
        ASSERT_EQ(ratelimiter_take(&rl, 0, 0, NULL), RATELIMIT_OK);
        ASSERT_EQ(ratelimiter_take(&rl, 0, 0, NULL), RATELIMIT_UID);
        ASSERT_EQ(ratelimiter_take(&rl, 99999, SEC, NULL), RATELIMIT_OK);
        ASSERT_TRUE(rl.n_uids < RATELIMIT_MAX_UIDS);
        /* A newcomer past the table still works (global bucket only). */
        ratelimiter_done(&rl);
}
