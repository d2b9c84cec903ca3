/* The daemon's event loop and socket server (internal to src/daemon).
 *
 * One epoll loop serves every connection: non-blocking sockets, a
 * bounded input buffer (one request of at most PROTOCOL_MAX_REQUEST),
 * a bounded output queue (a client that does not read its replies is
 * dropped, never waited for), a deadline for half-sent requests and for
 * stalled writes, and caps on connections in total and per UID. Long
 * actions run on worker threads and hand their events back to the loop
 * through a locked queue and an eventfd. */
#pragma once

#include "daemon/call.h"
#include "daemon/policy.h"
#include "daemon/ratelimit.h"

#include <sys/types.h>

#define SERVER_MAX_CONNECTIONS 1024
#define SERVER_MAX_CONNECTIONS_PER_UID 64    /* not applied to root; config max_connections_per_user */
#define SERVER_MAX_WORKERS 128               /* long actions in flight */
#define SERVER_MAX_WORKERS_PER_UID 32        /* not applied to root; config max_long_actions_per_user */
/* Kept for root whatever other uids hold, so root can always look and
 * repair: all non-root uids together get the rest. */
#define SERVER_ROOT_RESERVED_CONNECTIONS 64
#define SERVER_ROOT_RESERVED_WORKERS 16
#define SERVER_MAX_OUT_BYTES (32u * 1024u * 1024u)
#define SERVER_REQUEST_TIMEOUT_MS 10000      /* a started request must complete */
#define SERVER_IDLE_TIMEOUT_MS 600000        /* an idle connection is closed */
#define SERVER_WRITE_TIMEOUT_MS 30000        /* queued output must make progress */

typedef struct ServerLimits {
        unsigned max_connections;
        unsigned max_connections_per_uid;
        unsigned max_workers;
        size_t max_out_bytes;
        unsigned request_timeout_ms;
        unsigned idle_timeout_ms;
        unsigned write_timeout_ms;
        unsigned max_workers_per_uid;
} ServerLimits;

#define SERVER_LIMITS_DEFAULT                                                                         \
        { SERVER_MAX_CONNECTIONS, SERVER_MAX_CONNECTIONS_PER_UID, SERVER_MAX_WORKERS, SERVER_MAX_OUT_BYTES, \
          SERVER_REQUEST_TIMEOUT_MS, SERVER_IDLE_TIMEOUT_MS, SERVER_WRITE_TIMEOUT_MS, SERVER_MAX_WORKERS_PER_UID }

typedef struct Server Server;

/* What the server serves, handed in by the daemon (daemon.c): the
 * server knows the actions only through find_action and
 * action_is_reserved, and hands daemon and engine on to every call
 * (call.h). Everything here outlives the server. */
typedef struct ServerContext {
        struct Daemon *daemon;
        struct Engine *engine;
        Policy *policy;          /* event-loop thread only */
        RateLimiter *ratelimit;  /* event-loop thread only */
        bool enable_test_actions;
        const Action *(*find_action)(const char *name, bool test_actions);
        bool (*action_is_reserved)(const char *name);
} ServerContext;

/* Takes ownership of listen_fd (non-blocking, listening). */
int server_new(const ServerContext *ctx, int listen_fd, const ServerLimits *limits, Server **ret);
Server *server_free(Server *s);

/* Extra fds served by the loop (the signalfd, ...). */
typedef void (*ServerFdFn)(void *userdata, uint32_t events);
int server_watch_fd(Server *s, int fd, ServerFdFn fn, void *userdata);

/* Serve until server_stop() and the grace period are over. */
int server_run(Server *s);
void server_stop(Server *s);
bool server_stopping(const Server *s);

size_t server_n_connections(const Server *s);
size_t server_n_workers(const Server *s);
