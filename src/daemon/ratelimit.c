#include "daemon/ratelimit.h"

#include <string.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000.0

void token_bucket_init(TokenBucket *b, double rate, double burst, uint64_t now_ns)
{
        *b = (TokenBucket) { .tokens = burst, .rate = rate, .burst = burst, .last_ns = now_ns };
}

static void bucket_refill(TokenBucket *b, uint64_t now_ns)
{
        /* A clock that went backwards (it cannot, but be safe) adds nothing. */
        if (now_ns > b->last_ns) {
                b->tokens += (double) (now_ns - b->last_ns) / NSEC_PER_SEC * b->rate;
                if (b->tokens > b->burst)
                        b->tokens = b->burst;
        }
        b->last_ns = now_ns;
}

static uint64_t bucket_wait_ns(const TokenBucket *b)
{
        if (b->tokens >= 1.0 || b->rate <= 0)
                return 0;
        return (uint64_t) ((1.0 - b->tokens) / b->rate * NSEC_PER_SEC) + 1;
}

bool token_bucket_take(TokenBucket *b, uint64_t now_ns, uint64_t *ret_wait_ns)
{
        bucket_refill(b, now_ns);
        if (b->tokens >= 1.0) {
                b->tokens -= 1.0;
                return true;
        }
        if (ret_wait_ns)
                *ret_wait_ns = bucket_wait_ns(b);
        return false;
}

int ratelimiter_init(RateLimiter *rl, const RateLimitConfig *config, uint64_t now_ns)
{
        *rl = (RateLimiter) { .config = *config };
        token_bucket_init(&rl->global, config->global_rate, config->global_burst, now_ns);
        rl->uids = calloc(RATELIMIT_MAX_UIDS, sizeof *rl->uids);
        return rl->uids ? 0 : -ENOMEM;
}

void ratelimiter_done(RateLimiter *rl)
{
        free(rl->uids);
        rl->uids = NULL;
        rl->n_uids = 0;
}

/* A bucket that has refilled completely is indistinguishable from a
 * new one, so forgetting it loses nothing. */
static void forget_full_buckets(RateLimiter *rl, uint64_t now_ns)
{
        size_t kept = 0;
        for (size_t i = 0; i < rl->n_uids; i++) {
                bucket_refill(&rl->uids[i].bucket, now_ns);
                if (rl->uids[i].bucket.tokens < rl->uids[i].bucket.burst)
                        rl->uids[kept++] = rl->uids[i];
        }
        rl->n_uids = kept;
}

static TokenBucket *uid_bucket(RateLimiter *rl, uid_t uid, uint64_t now_ns)
{
        for (size_t i = 0; i < rl->n_uids; i++)
                if (rl->uids[i].uid == uid)
                        return &rl->uids[i].bucket;
        if (rl->n_uids >= RATELIMIT_MAX_UIDS)
                forget_full_buckets(rl, now_ns);
        if (rl->n_uids >= RATELIMIT_MAX_UIDS)
                return NULL;
        UidBucket *u = &rl->uids[rl->n_uids++];
        u->uid = uid;
        token_bucket_init(&u->bucket, rl->config.uid_rate, rl->config.uid_burst, now_ns);
        return &u->bucket;
}

RateLimitResult ratelimiter_take(RateLimiter *rl, uid_t uid, uint64_t now_ns, uint64_t *ret_wait_ns)
{
        uint64_t wait = 0;
        TokenBucket *b = uid_bucket(rl, uid, now_ns);
        /* More than RATELIMIT_MAX_UIDS busy UIDs at once: only the
         * global bucket applies to the newcomers. */
        if (b) {
                bucket_refill(b, now_ns);
                if (b->tokens < 1.0) {
                        if (ret_wait_ns)
                                *ret_wait_ns = bucket_wait_ns(b);
                        return RATELIMIT_UID;
                }
        }
        if (!token_bucket_take(&rl->global, now_ns, &wait)) {
                if (ret_wait_ns)
                        *ret_wait_ns = wait;
                return RATELIMIT_GLOBAL;
        }
        if (b)
                b->tokens -= 1.0;
        if (ret_wait_ns)
                *ret_wait_ns = 0;
        return RATELIMIT_OK;
}
