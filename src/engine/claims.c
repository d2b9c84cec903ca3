/* The claims on workspaces (claims.h). */
#include "engine/claims.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

/* Long enough for any flush; a wait that ends unsatisfied fails (or,
 * for destroy, goes ahead) rather than hanging a worker for ever. */
#define SETTLE_WAIT_SEC 120

typedef struct Claim {
        int64_t id;
        ClaimKind kind;
        bool settling; /* CLAIM_SNAPSHOT only */
} Claim;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER; /* broadcast on every release */
static Claim *claims;                                     /* under lock */
static size_t n_claims;

static Claim *find(int64_t id, ClaimKind kind)
{
        for (size_t i = 0; i < n_claims; i++)
                if (claims[i].id == id && claims[i].kind == kind)
                        return &claims[i];
        return NULL;
}

/* With lock held: wait while id's snapshot claim settles; the claim of
 * kind, if any, after. */
static Claim *wait_settled(int64_t id, ClaimKind kind)
{
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += SETTLE_WAIT_SEC;
        Claim *c;
        while ((c = find(id, CLAIM_SNAPSHOT)) && c->settling)
                if (pthread_cond_timedwait(&changed, &lock, &deadline) == ETIMEDOUT)
                        break;
        return find(id, kind);
}

static int busy(ClaimKind kind, const char *sandbox, const char *name, Error *err)
{
        if (kind == CLAIM_SNAPSHOT)
                return error_set(err, EBUSY, "another snapshot operation of workspace %s/%s is in progress; "
                                 "try again when it is done", sandbox, name);
        return error_set(err, EBUSY, "another request is starting, stopping or destroying workspace %s/%s right "
                         "now; try again once it finished", sandbox, name);
}

int claim_take(int64_t id, ClaimKind kind, const char *sandbox, const char *name, Error *err)
{
        pthread_mutex_lock(&lock);
        /* Only a snapshot operation waits for the flush of the one before. */
        if (kind == CLAIM_SNAPSHOT ? wait_settled(id, kind) != NULL : find(id, kind) != NULL) {
                pthread_mutex_unlock(&lock);
                return busy(kind, sandbox, name, err);
        }
        Claim *n = realloc(claims, (n_claims + 1) * sizeof *n);
        if (n) {
                claims = n;
                claims[n_claims++] = (Claim) { .id = id, .kind = kind };
        }
        pthread_mutex_unlock(&lock);
        return n ? 0 : error_set(err, ENOMEM, "out of memory");
}

void claim_release(int64_t id, ClaimKind kind)
{
        pthread_mutex_lock(&lock);
        Claim *c = find(id, kind);
        if (c)
                *c = claims[--n_claims];
        pthread_cond_broadcast(&changed);
        pthread_mutex_unlock(&lock);
}

bool claim_held(int64_t id, ClaimKind kind)
{
        pthread_mutex_lock(&lock);
        bool held = find(id, kind) != NULL;
        pthread_mutex_unlock(&lock);
        return held;
}

void claim_settling(int64_t id)
{
        pthread_mutex_lock(&lock);
        Claim *c = find(id, CLAIM_SNAPSHOT);
        if (c)
                c->settling = true;
        pthread_mutex_unlock(&lock);
}

void claim_wait_settled(int64_t id)
{
        pthread_mutex_lock(&lock);
        (void) wait_settled(id, CLAIM_SNAPSHOT);
        pthread_mutex_unlock(&lock);
}
