/* One snapshot operation per workspace (snapshot-claim.h). */
#include "daemon/snapshot-claim.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* Long enough for any flush; a wait that ends unsatisfied fails (or,
 * for destroy, goes ahead) rather than hanging a worker for ever. */
#define SETTLE_WAIT_SEC 120

typedef struct Claim {
        int64_t id;
        bool settling;
} Claim;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static Claim *claims; /* under lock */
static size_t n_claims;

static Claim *find(int64_t id)
{
        for (size_t i = 0; i < n_claims; i++)
                if (claims[i].id == id)
                        return &claims[i];
        return NULL;
}

/* With lock held: wait while id is settling; the claim, if any, after. */
static Claim *wait_settled(int64_t id)
{
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += SETTLE_WAIT_SEC;
        Claim *c;
        while ((c = find(id)) && c->settling)
                if (pthread_cond_timedwait(&changed, &lock, &deadline) == ETIMEDOUT)
                        break;
        return c;
}

int snapshot_claim(int64_t id, const char *sandbox, const char *name, Error *err)
{
        pthread_mutex_lock(&lock);
        if (wait_settled(id)) {
                pthread_mutex_unlock(&lock);
                return error_set(err, EBUSY, "another snapshot operation of workspace %s/%s is in progress; "
                                 "try again when it is done", sandbox, name);
        }
        Claim *n = realloc(claims, (n_claims + 1) * sizeof *n);
        if (n) {
                claims = n;
                claims[n_claims++] = (Claim) { .id = id };
        }
        pthread_mutex_unlock(&lock);
        return n ? 0 : error_set(err, ENOMEM, "out of memory");
}

void snapshot_claim_settling(int64_t id)
{
        pthread_mutex_lock(&lock);
        Claim *c = find(id);
        if (c)
                c->settling = true;
        pthread_mutex_unlock(&lock);
}

bool snapshot_claimed(int64_t id)
{
        pthread_mutex_lock(&lock);
        bool held = find(id) != NULL;
        pthread_mutex_unlock(&lock);
        return held;
}

void snapshot_release(int64_t id)
{
        pthread_mutex_lock(&lock);
        Claim *c = find(id);
        if (c)
                *c = claims[--n_claims];
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
}

void snapshot_wait_settled(int64_t id)
{
        pthread_mutex_lock(&lock);
        (void) wait_settled(id);
        pthread_mutex_unlock(&lock);
}
