/* Request rate limits: token buckets per UID and one global bucket.
 *
 * Sized so legitimate use never hits them (SPEC §9): an `up` of 100
 * workspaces or a tight `exec` loop stays far below a per-UID rate of
 * 500 requests/s with a burst of 2000; they exist to keep one runaway
 * or hostile client from monopolising the daemon. The clock is passed
 * in (nanoseconds, monotonic) so the logic is testable. */
#pragma once

#include "base/clock.h"
#include "base/macro.h"

#include <sys/types.h>

#define RATELIMIT_UID_RATE 500.0
#define RATELIMIT_UID_BURST 2000.0
#define RATELIMIT_GLOBAL_RATE 5000.0
#define RATELIMIT_GLOBAL_BURST 20000.0
/* Distinct UIDs tracked at once; full buckets are forgotten first. */
#define RATELIMIT_MAX_UIDS 1024

typedef struct TokenBucket {
        double tokens;
        double rate;      /* tokens per second */
        double burst;     /* capacity */
        uint64_t last_ns;
} TokenBucket;

void token_bucket_init(TokenBucket *b, double rate, double burst, uint64_t now_ns);
/* Take one token; false (and *ret_wait_ns = time until one is there)
 * when empty. */
bool token_bucket_take(TokenBucket *b, uint64_t now_ns, uint64_t *ret_wait_ns);

typedef struct RateLimitConfig {
        double uid_rate, uid_burst;
        double global_rate, global_burst;
} RateLimitConfig;

#define RATELIMIT_CONFIG_DEFAULT \
        { RATELIMIT_UID_RATE, RATELIMIT_UID_BURST, RATELIMIT_GLOBAL_RATE, RATELIMIT_GLOBAL_BURST }

typedef struct UidBucket {
        uid_t uid;
        TokenBucket bucket;
} UidBucket;

typedef struct RateLimiter {
        RateLimitConfig config;
        TokenBucket global;
        UidBucket *uids;
        size_t n_uids;
} RateLimiter;

typedef enum RateLimitResult {
        RATELIMIT_OK,
        RATELIMIT_UID,     /* this UID's bucket is empty */
        RATELIMIT_GLOBAL,  /* the global bucket is empty */
} RateLimitResult;

int ratelimiter_init(RateLimiter *rl, const RateLimitConfig *config, uint64_t now_ns);
void ratelimiter_done(RateLimiter *rl);

/* Account one request of uid. A request refused by its UID bucket does
 * not consume a global token. *ret_wait_ns says when to retry. */
RateLimitResult ratelimiter_take(RateLimiter *rl, uid_t uid, uint64_t now_ns, uint64_t *ret_wait_ns);
