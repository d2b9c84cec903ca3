/* The wire protocol between the CLI and the daemon (docs/protocol.md).
 *
 * A Unix stream socket carries frames: a 4-byte big-endian length, then
 * that many bytes of one JSON object. File descriptors travel with
 * SCM_RIGHTS attached to the first byte of the frame they belong to;
 * the frame's "fds" member says how many. Every message carries the
 * protocol version "v".
 *
 *   request  {"v":1, "id":7, "action":"daemon.ping", "params":{...}, "fds":0}
 *   event    {"v":1, "id":7, "event":{...}}
 *   reply    {"v":1, "id":7, "result":{...}, "fds":0}
 *   error    {"v":1, "id":7, "error":{"code":13, "kind":"denied", "message":"..."}}
 *
 * This file is pure framing and message logic; it is shared by the
 * daemon, the CLI client and the tests. */
#pragma once

#include "base/error.h"

#include <jansson.h>
#include <sys/types.h>

#define PROTOCOL_VERSION 1
#define PROTOCOL_HEADER_SIZE 4u
/* Largest request the daemon accepts. */
#define PROTOCOL_MAX_REQUEST (1024u * 1024u)
/* Largest event or reply a client accepts. */
#define PROTOCOL_MAX_MESSAGE (16u * 1024u * 1024u)
/* File descriptors per message, and queued unclaimed per connection. */
#define PROTOCOL_MAX_FDS 8u

/* The "kind" of an error reply: lets a client tell a rate-limited or
 * denied request apart from a failed action without parsing text. */
typedef enum ProtoErrorKind {
        PROTO_ERR_INVALID,        /* malformed request */
        PROTO_ERR_VERSION,        /* unsupported protocol version */
        PROTO_ERR_TOO_LARGE,      /* request above PROTOCOL_MAX_REQUEST */
        PROTO_ERR_UNKNOWN_ACTION, /* no such action */
        PROTO_ERR_NOT_BUILT,      /* a reserved action not built in this version */
        PROTO_ERR_DENIED,         /* policy or root-only */
        PROTO_ERR_RATE_LIMITED,   /* token bucket empty; retry later */
        PROTO_ERR_BUSY,           /* connection or worker limit reached */
        PROTO_ERR_TIMEOUT,        /* request not completed in time */
        PROTO_ERR_FAILED,         /* the action ran and failed */
        PROTO_ERR_SHUTDOWN,       /* daemon is stopping */
        _PROTO_ERR_MAX,
        _PROTO_ERR_INVALID = -EINVAL,
} ProtoErrorKind;

const char *proto_error_kind_to_string(ProtoErrorKind k);
ProtoErrorKind proto_error_kind_from_string(const char *s);

/* ---- framing ---- */

/* Incremental frame reader for a non-blocking or blocking socket: it
 * owns a buffer of received bytes and the fds received with them. */
typedef struct FrameReader {
        char *buf;
        size_t len;
        size_t cap;
        size_t max_body;             /* frames announcing more are an error */
        int fds[PROTOCOL_MAX_FDS];   /* received, not yet claimed, in order */
        size_t n_fds;
} FrameReader;

void frame_reader_init(FrameReader *r, size_t max_body);
void frame_reader_done(FrameReader *r);

/* One recvmsg() into the buffer; fds received are queued (with
 * MSG_CMSG_CLOEXEC). Returns bytes read, 0 on end of stream, -EAGAIN,
 * -ENOBUFS when the buffer is full of complete frames not yet popped,
 * -EMSGSIZE when the queued data cannot be a valid frame,
 * -ETOOMANYREFS when too many fds arrived, or another negative errno. */
ssize_t frame_reader_fill(FrameReader *r, int sockfd);

/* Pop the next complete frame. Returns 1 with a NUL-terminated copy of
 * the body in *ret (caller frees), 0 when no complete frame is
 * buffered, -EMSGSIZE when the next frame announces a body above
 * max_body, -EBADMSG for an empty frame. */
int frame_reader_next(FrameReader *r, char **ret, size_t *ret_len);

/* True when any bytes are buffered. */
bool frame_reader_partial(const FrameReader *r);
/* True when frame_reader_next() has something to return (a complete
 * frame, or an invalid header to report). */
bool frame_reader_has_frame(const FrameReader *r);

/* Move the first n queued fds into ret (owned by the caller); -EBADMSG
 * when fewer than n were received. */
int frame_reader_take_fds(FrameReader *r, size_t n, int *ret);

/* Serialize msg into a frame (header + compact JSON). -EMSGSIZE above
 * max_body. */
int frame_encode(json_t *msg, size_t max_body, char **ret, size_t *ret_len);

/* sendmsg() all of buf on a blocking socket, attaching fds to the first
 * byte; MSG_NOSIGNAL, retries EINTR and short writes. */
int frame_send_all(int sockfd, const char *buf, size_t len, const int *fds, size_t n_fds);

/* ---- messages ---- */

typedef struct Request {
        json_t *id;        /* borrowed from the root, may be NULL */
        const char *action;
        json_t *params;    /* borrowed, always an object */
        size_t n_fds;
        json_t *root;      /* owned */
} Request;

void request_done(Request *req);

/* Parse and validate one request body. On failure *ret_kind says what
 * kind of error to reply, err says why, and req->id holds the request
 * id when one could be read (so the error can echo it). */
int request_parse(const char *body, size_t len, Request *req, ProtoErrorKind *ret_kind, Error *err);

/* Builders; each returns a new reference or NULL on OOM. id may be NULL
 * and is not stolen; result/event are stolen (NULL result means {}). */
json_t *message_request(json_t *id, const char *action, json_t *params, size_t n_fds);
json_t *message_reply(json_t *id, json_t *result, size_t n_fds);
json_t *message_event(json_t *id, json_t *event);
json_t *message_error(json_t *id, int code, ProtoErrorKind kind, const char *message);

/* What a client received. */
typedef enum MessageType {
        MESSAGE_REPLY,
        MESSAGE_EVENT,
        MESSAGE_ERROR,
} MessageType;

/* Classify a message received by a client and check its version.
 * *ret_payload is borrowed ("result", "event" or "error" member). */
int message_classify(json_t *msg, MessageType *ret_type, json_t **ret_payload, Error *err);

/* Action names: 1-64 chars of [a-z0-9_] separated by single dots. */
bool action_name_is_valid(const char *s);
