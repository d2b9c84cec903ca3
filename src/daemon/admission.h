/* Admitting a request (internal to src/daemon): from one complete frame
 * of a connection to a started call, or to an error reply. In order:
 * parse, the daemon is not stopping, rate limits, the action exists,
 * root-only actions and the policy, then the call runs inline (plain
 * actions) or on a worker within the worker slots (ACTION_LONG). */
#pragma once

#include "daemon/conn.h"
#include "daemon/policy.h"
#include "daemon/ratelimit.h"
#include "daemon/worker-slots.h"

/* What admission decides with; filled in by the server, all of it
 * outlives every request. */
typedef struct Admission {
        Policy *policy;             /* event-loop thread only */
        RateLimiter *ratelimit;     /* event-loop thread only */
        bool enable_test_actions;
        const Action *(*find_action)(const char *name, bool test_actions);
        bool (*action_is_reserved)(const char *name);
        const CallHost *call_host;  /* of every call started; its stopping() refuses requests */
        ConnTable *conns;
        WorkerSlots *workers;
} Admission;

/* Handle the request in body (len bytes) that arrived on c. Loop thread. */
void admission_handle(const Admission *a, Conn *c, const char *body, size_t len);
