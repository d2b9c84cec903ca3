/* Messages of the wire protocol between the CLI and the daemon
 * (docs/protocol.md), carried in frames (proto/frame.h). Every message
 * carries the protocol version "v".
 *
 *   request  {"v":1, "id":7, "action":"daemon.ping", "params":{...}, "fds":0}
 *   event    {"v":1, "id":7, "event":{...}}
 *   reply    {"v":1, "id":7, "result":{...}, "fds":0}
 *   error    {"v":1, "id":7, "error":{"code":13, "kind":"denied", "message":"..."}}
 *
 * Pure message logic, shared by the daemon, the CLI client and the
 * tests. */
#pragma once

#include "base/error.h"
#include "proto/frame.h"

#include <jansson.h>

#define PROTOCOL_VERSION 1

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
