/* One request in flight: the accessors of action.h and how results
 * travel back (directly on the loop thread, posted from a worker). */
#include "daemon/call.h"
#include "engine/engine.h"
#include "registry/registry.h"
#include "base/log.h"

#include <string.h>
#include <sys/eventfd.h>

Call *call_new(const CallHost *host, uint64_t conn_id, const Action *a, json_t *id, json_t *params,
               const struct ucred *cred, const int *fds, unsigned n_fds)
{
        Call *c = calloc(1, sizeof *c);
        if (!c) {
                for (unsigned i = 0; i < n_fds; i++)
                        safe_close(fds[i]);
                return NULL;
        }
        atomic_init(&c->n_ref, 1);
        atomic_init(&c->cancel_fd, -EBADF);
        c->host = host;
        c->conn_id = conn_id;
        c->action = a;
        c->id = json_incref(id);
        c->params = json_incref(params);
        c->cred = *cred;
        for (unsigned i = 0; i < n_fds && i < PROTOCOL_MAX_FDS; i++)
                c->fds[c->n_fds++] = fds[i];
        return c;
}

Call *call_ref(Call *c)
{
        if (c)
                atomic_fetch_add(&c->n_ref, 1);
        return c;
}

Call *call_unref(Call *c)
{
        if (!c || atomic_fetch_sub(&c->n_ref, 1) > 1)
                return NULL;
        for (unsigned i = 0; i < c->n_fds; i++)
                safe_close(c->fds[i]);
        registry_close(c->worker_registry);
        safe_close(atomic_load(&c->cancel_fd));
        json_decref(c->id);
        json_decref(c->params);
        free(c);
        return NULL;
}

void call_cancel(Call *c)
{
        atomic_store(&c->cancelled, true);
        int fd = atomic_load(&c->cancel_fd);
        if (fd >= 0)
                (void) eventfd_write(fd, 1);
}

int call_cancel_fd(Call *c)
{
        int fd = atomic_load(&c->cancel_fd);
        if (fd >= 0)
                return fd;
        int nfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (nfd < 0)
                return -errno;
        int expected = -EBADF;
        if (!atomic_compare_exchange_strong(&c->cancel_fd, &expected, nfd)) {
                safe_close(nfd);
                return expected;
        }
        /* call_cancel() may have run before the fd existed. */
        if (call_cancelled(c))
                (void) eventfd_write(nfd, 1);
        return nfd;
}

json_t *call_params(Call *c)
{
        return c->params;
}

uid_t call_uid(Call *c)
{
        return c->cred.uid;
}

pid_t call_pid(Call *c)
{
        return c->cred.pid;
}

struct Daemon *call_daemon(Call *c)
{
        return c->host->daemon;
}

struct Engine *call_engine(Call *c)
{
        return c->host->engine;
}

struct Registry *call_registry(Call *c, Error *err)
{
        if (!c->on_worker)
                return c->host->engine->registry;
        if (!c->worker_registry && registry_open(c->host->engine->registry_path, &c->worker_registry, err) < 0)
                return NULL;
        return c->worker_registry;
}

unsigned call_n_fds(Call *c)
{
        return c->n_fds;
}

int call_take_fd(Call *c, unsigned idx)
{
        if (idx >= c->n_fds || c->fds[idx] < 0)
                return -EBADF;
        return TAKE_FD(c->fds[idx]);
}

bool call_cancelled(Call *c)
{
        return atomic_load(&c->cancelled) || c->host->stopping(c->host->loop);
}

/* Encode msg (stolen) and hand it to the connection; fd is owned. */
static int call_emit(Call *c, json_t *msg, int fd, bool final)
{
        char *frame = NULL;
        size_t len = 0;
        int r = msg ? frame_encode(msg, PROTOCOL_MAX_MESSAGE, &frame, &len) : -ENOMEM;
        json_decref(msg);
        if (r < 0) {
                safe_close(fd);
                return r;
        }
        if (!c->on_worker)
                return c->host->send(c->host->loop, c->conn_id, frame, len, fd);
        return c->host->post(c->host->loop, c->conn_id, frame, len, fd, final ? call_ref(c) : NULL);
}

int call_event_fd(Call *c, json_t *event, int fd)
{
        if (atomic_load(&c->replied) || atomic_load(&c->cancelled)) {
                json_decref(event);
                safe_close(fd);
                return atomic_load(&c->replied) ? -EALREADY : -ECONNRESET;
        }
        json_t *msg = message_event(c->id, event);
        if (msg && json_object_set_new(msg, "fds", json_integer(1)) < 0)
                msg = (json_decref(msg), NULL);
        return call_emit(c, msg, fd, false);
}

int call_event(Call *c, json_t *event)
{
        if (atomic_load(&c->replied)) {
                json_decref(event);
                return -EALREADY;
        }
        if (atomic_load(&c->cancelled)) {
                json_decref(event);
                return -ECONNRESET;
        }
        return call_emit(c, message_event(c->id, event), -EBADF, false);
}

static int call_reply_error(Call *c, int code, ProtoErrorKind kind, const char *message)
{
        if (atomic_exchange(&c->replied, true))
                return -EALREADY;
        return call_emit(c, message_error(c->id, code, kind, message), -EBADF, true);
}

int call_reply(Call *c, json_t *result, int fd)
{
        if (atomic_exchange(&c->replied, true)) {
                json_decref(result);
                safe_close(fd);
                return -EALREADY;
        }
        int r = call_emit(c, message_reply(c->id, result, fd >= 0 ? 1 : 0), fd, true);
        if (r == -EMSGSIZE) {
                /* The client still gets an answer, not silence. */
                atomic_store(&c->replied, false);
                return call_reply_error(c, EMSGSIZE, PROTO_ERR_FAILED, "result too large to send");
        }
        return r;
}

void call_finish(Call *c, int r, Error *err)
{
        if (atomic_load(&c->replied)) {
                if (r < 0)
                        log_debug("%s: failed after replying: %s", c->action->name, error_msg(err));
                return;
        }
        if (r < 0) {
                int code = err && err->code > 0 ? err->code : -r;
                const char *msg = err && err->msg ? err->msg : strerror(code);
                log_debug("%s for uid %u failed: %s", c->action->name, (unsigned) c->cred.uid, msg);
                (void) call_reply_error(c, code, PROTO_ERR_FAILED, msg);
        } else
                (void) call_reply(c, NULL, -EBADF);
}

void call_run_inline(Call *c)
{
        _cleanup_error_ Error err = ERROR_INIT;
        int r = c->action->fn(c, &err);
        call_finish(c, r, &err);
}

int call_param_string(Call *c, const char *key, bool required, const char **ret, Error *err)
{
        json_t *v = json_object_get(c->params, key);
        if (!v || json_is_null(v)) {
                *ret = NULL;
                return required ? error_set(err, EINVAL, "missing parameter '%s'", key) : 0;
        }
        if (!json_is_string(v))
                return error_set(err, EINVAL, "parameter '%s' must be a string", key);
        *ret = json_string_value(v);
        return 0;
}

int call_param_int(Call *c, const char *key, bool required, int64_t min, int64_t max, int64_t def,
                   int64_t *ret, Error *err)
{
        json_t *v = json_object_get(c->params, key);
        if (!v || json_is_null(v)) {
                *ret = def;
                return required ? error_set(err, EINVAL, "missing parameter '%s'", key) : 0;
        }
        if (!json_is_integer(v))
                return error_set(err, EINVAL, "parameter '%s' must be an integer", key);
        json_int_t n = json_integer_value(v);
        if (n < min || n > max)
                return error_set(err, ERANGE, "parameter '%s' must be between %lld and %lld", key,
                                 (long long) min, (long long) max);
        *ret = n;
        return 0;
}

int call_param_bool(Call *c, const char *key, bool def, bool *ret, Error *err)
{
        json_t *v = json_object_get(c->params, key);
        if (!v || json_is_null(v)) {
                *ret = def;
                return 0;
        }
        if (!json_is_boolean(v))
                return error_set(err, EINVAL, "parameter '%s' must be true or false", key);
        *ret = json_is_true(v);
        return 0;
}
