/* A client's connection to the server (internal to src/daemon): its
 * input buffer, its bounded queue of outgoing frames (each may carry an
 * fd), its epoll interest, and the table of all open connections. A
 * closed connection stays allocated until the end of the loop's current
 * batch, since a later event of that batch may still point at it. */
#pragma once

#include "daemon/call.h"
#include "proto/message.h"

#include <sys/socket.h>

/* One queued outgoing frame; fd (if any) rides on its first byte. */
typedef struct OutMsg {
        struct OutMsg *next;
        char *data;
        size_t len;
        size_t off;
        int fd;
} OutMsg;

typedef struct Conn {
        struct Conn *next, *prev;
        uint64_t id;
        int fd;
        struct ucred cred;
        FrameReader in;
        OutMsg *out_head, *out_tail;
        size_t out_bytes;
        Call *call;               /* request in flight (one reference) */
        uint64_t partial_since;   /* when an incomplete request started, 0 = none */
        uint64_t last_activity;
        uint64_t out_stalled_since;
        uint32_t events;          /* registered epoll mask */
        bool read_closed;         /* read end of stream: no more requests */
        bool rdhup_seen;          /* peer shut down its sending side (maybe data left) */
        bool backlog;             /* complete requests wait for their next turn */
        bool closing;             /* close once the output is flushed */
        bool dead;                /* closed; freed by conns_reap() */
} Conn;

/* The open connections of one server (loop thread only). */
typedef struct ConnTable {
        int epoll_fd;             /* the loop's, not owned */
        size_t max_out_bytes;     /* unread output that gets a client dropped */
        Conn *conns;
        Conn *dead;               /* closed, freed by conns_reap() */
        size_t n_conns;
        size_t n_user_conns;      /* of non-root uids */
        uint64_t next_id;
} ConnTable;

/* A new connection on fd (non-blocking), registered for input; on
 * failure (-ENOMEM, or the errno of epoll_ctl) fd is still the caller's. */
int conn_add(ConnTable *t, int fd, const struct ucred *cred, Conn **ret);
/* The open connection with this id, or NULL. */
Conn *conn_find(ConnTable *t, uint64_t id);
size_t conns_of_uid(const ConnTable *t, uid_t uid);

/* Register the epoll events c wants now (closes c if that fails). */
void conn_update_events(ConnTable *t, Conn *c);
/* Write as much as the socket takes now. 0 or a negative errno for a
 * broken connection. */
int conn_flush(Conn *c, uint64_t now);
/* Queue a frame (and fd), both owned. A client whose unread output
 * would exceed the bound is dropped: -ECONNRESET. */
int conn_queue(ConnTable *t, Conn *c, char *frame, size_t len, int fd);
/* Encode and queue an error reply; -ECONNRESET when c is closed. */
int conn_send_error(ConnTable *t, Conn *c, json_t *id, int code, ProtoErrorKind kind, const char *message);
/* Reply with an error, then close once it is flushed. */
void conn_fail(ConnTable *t, Conn *c, json_t *id, int code, ProtoErrorKind kind, const char *message);
/* Close now (why is logged, may be NULL); cancels the call in flight. */
void conn_close(ConnTable *t, Conn *c, const char *why);
/* Free the connections closed since the last time. */
void conns_reap(ConnTable *t);
