#include "proto/message.h"
#include "base/str.h"

#include <string.h>

static const char *const error_kind_names[_PROTO_ERR_MAX] = {
        [PROTO_ERR_INVALID] = "invalid",
        [PROTO_ERR_VERSION] = "version",
        [PROTO_ERR_TOO_LARGE] = "too_large",
        [PROTO_ERR_UNKNOWN_ACTION] = "unknown_action",
        [PROTO_ERR_NOT_BUILT] = "not_built",
        [PROTO_ERR_DENIED] = "denied",
        [PROTO_ERR_RATE_LIMITED] = "rate_limited",
        [PROTO_ERR_BUSY] = "busy",
        [PROTO_ERR_TIMEOUT] = "timeout",
        [PROTO_ERR_FAILED] = "failed",
        [PROTO_ERR_SHUTDOWN] = "shutdown",
};

const char *proto_error_kind_to_string(ProtoErrorKind k)
{
        if (k < 0 || k >= _PROTO_ERR_MAX)
                return "failed";
        return error_kind_names[k];
}

ProtoErrorKind proto_error_kind_from_string(const char *s)
{
        for (int i = 0; s && i < _PROTO_ERR_MAX; i++)
                if (streq(error_kind_names[i], s))
                        return (ProtoErrorKind) i;
        return _PROTO_ERR_INVALID;
}

void request_done(Request *req)
{
        json_decref(req->root);
        *req = (Request) {};
}

static int request_check_id(json_t *id, Error *err)
{
        if (json_is_integer(id))
                return 0;
        if (json_is_string(id) && json_string_length(id) <= 128)
                return 0;
        return error_set(err, EINVAL, "request \"id\" must be an integer or a short string");
}

static int request_check_version(json_t *root, ProtoErrorKind *ret_kind, Error *err)
{
        json_t *v = json_object_get(root, "v");
        *ret_kind = PROTO_ERR_VERSION;
        if (!v)
                return error_set(err, EPROTO, "request has no protocol version \"v\" (this daemon speaks version %d)",
                                 PROTOCOL_VERSION);
        if (!json_is_integer(v) || json_integer_value(v) != PROTOCOL_VERSION)
                return error_set(err, EPROTO,
                                 "unsupported protocol version %s%lld (this daemon speaks version %d); "
                                 "use an enclave CLI of the same version as the daemon",
                                 json_is_integer(v) ? "" : "(not a number) ",
                                 json_is_integer(v) ? (long long) json_integer_value(v) : 0LL, PROTOCOL_VERSION);
        return 0;
}

int request_parse(const char *body, size_t len, Request *req, ProtoErrorKind *ret_kind, Error *err)
{
        json_error_t jerr;
        *req = (Request) {};
        *ret_kind = PROTO_ERR_INVALID;

        json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
                return error_set(err, EINVAL, "malformed JSON request at line %d column %d: %s",
                                 jerr.line, jerr.column, jerr.text);
        req->root = root;
        if (!json_is_object(root))
                return error_set(err, EINVAL, "request must be a JSON object");

        json_t *id = json_object_get(root, "id");
        if (id) {
                if (request_check_id(id, err) < 0)
                        return -EINVAL;
                req->id = id;
        }
        int r = request_check_version(root, ret_kind, err);
        if (r < 0)
                return r;
        *ret_kind = PROTO_ERR_INVALID;

        json_t *action = json_object_get(root, "action");
        if (!json_is_string(action))
                return error_set(err, EINVAL, "request has no \"action\" string");
        if (!action_name_is_valid(json_string_value(action)))
                return error_set(err, EINVAL, "invalid action name (expected e.g. \"daemon.ping\")");
        req->action = json_string_value(action);

        json_t *params = json_object_get(root, "params");
        if (params && !json_is_object(params))
                return error_set(err, EINVAL, "request \"params\" must be an object");
        if (!params) {
                params = json_object();
                if (!params || json_object_set_new(root, "params", params) < 0)
                        return error_set(err, ENOMEM, "out of memory");
        }
        req->params = params;

        json_t *fds = json_object_get(root, "fds");
        if (fds) {
                if (!json_is_integer(fds) || json_integer_value(fds) < 0 ||
                    json_integer_value(fds) > (json_int_t) PROTOCOL_MAX_FDS)
                        return error_set(err, EINVAL, "request \"fds\" must be 0..%u", PROTOCOL_MAX_FDS);
                req->n_fds = (size_t) json_integer_value(fds);
        }
        return 0;
}

static json_t *message_new(json_t *id)
{
        json_t *m = json_object();
        if (!m)
                return NULL;
        if (json_object_set_new(m, "v", json_integer(PROTOCOL_VERSION)) < 0 ||
            (id && json_object_set(m, "id", id) < 0)) {
                json_decref(m);
                return NULL;
        }
        return m;
}

json_t *message_request(json_t *id, const char *action, json_t *params, size_t n_fds)
{
        json_t *m = message_new(id);
        if (!m) {
                json_decref(params);
                return NULL;
        }
        if (json_object_set_new(m, "action", json_string(action)) < 0 ||
            json_object_set_new(m, "params", params ? params : json_object()) < 0 ||
            (n_fds > 0 && json_object_set_new(m, "fds", json_integer((json_int_t) n_fds)) < 0)) {
                json_decref(m);
                return NULL;
        }
        return m;
}

json_t *message_reply(json_t *id, json_t *result, size_t n_fds)
{
        json_t *m = message_new(id);
        if (!m) {
                json_decref(result);
                return NULL;
        }
        if (json_object_set_new(m, "result", result ? result : json_object()) < 0 ||
            (n_fds > 0 && json_object_set_new(m, "fds", json_integer((json_int_t) n_fds)) < 0)) {
                json_decref(m);
                return NULL;
        }
        return m;
}

json_t *message_event(json_t *id, json_t *event)
{
        json_t *m = message_new(id);
        if (!m) {
                json_decref(event);
                return NULL;
        }
        if (json_object_set_new(m, "event", event ? event : json_object()) < 0) {
                json_decref(m);
                return NULL;
        }
        return m;
}

json_t *message_error(json_t *id, int code, ProtoErrorKind kind, const char *message)
{
        json_t *m = message_new(id);
        if (!m)
                return NULL;
        json_t *e = json_pack("{s:i, s:s, s:s}", "code", code > 0 ? code : EIO, "kind",
                              proto_error_kind_to_string(kind), "message", message ? message : "error");
        if (!e || json_object_set_new(m, "error", e) < 0) {
                json_decref(m);
                return NULL;
        }
        return m;
}

int message_classify(json_t *msg, MessageType *ret_type, json_t **ret_payload, Error *err)
{
        if (!json_is_object(msg))
                return error_set(err, EPROTO, "daemon sent a message that is not a JSON object");
        json_t *v = json_object_get(msg, "v");
        if (!json_is_integer(v) || json_integer_value(v) != PROTOCOL_VERSION)
                return error_set(err, EPROTO, "daemon speaks protocol version %lld, this CLI speaks %d; "
                                 "restart the daemon after upgrading",
                                 json_is_integer(v) ? (long long) json_integer_value(v) : -1LL, PROTOCOL_VERSION);
        json_t *p;
        if ((p = json_object_get(msg, "result"))) {
                *ret_type = MESSAGE_REPLY;
        } else if ((p = json_object_get(msg, "event"))) {
                *ret_type = MESSAGE_EVENT;
        } else if ((p = json_object_get(msg, "error")) && json_is_object(p)) {
                *ret_type = MESSAGE_ERROR;
        } else
                return error_set(err, EPROTO, "daemon sent a message with no result, event or error");
        *ret_payload = p;
        return 0;
}

bool action_name_is_valid(const char *s)
{
        size_t n = strlen(s);
        if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '.') {
                        if (s[i + 1] == '.')
                                return false;
                } else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
                        return false;
        }
        return true;
}
