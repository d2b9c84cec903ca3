#include "daemon/admission.h"
#include "daemon/worker.h"
#include "base/log.h"
#include "base/str.h"

static bool request_policy_allows(const Admission *ad, Conn *c, const Request *req, const struct ucred *cred)
{
        _cleanup_free_ char *reason = NULL;
        if (policy_check(ad->policy, cred->uid, req->action, &reason))
                return true;
        log_info("uid %u: %s", (unsigned) cred->uid, reason ? reason : "denied");
        (void) conn_send_error(ad->conns, c, req->id, EACCES, PROTO_ERR_DENIED, reason ? reason : "denied");
        return false;
}

static bool request_allowed(const Admission *ad, Conn *c, const Request *req, const Action *a,
                            const struct ucred *cred)
{
        if ((a->flags & ACTION_ROOT_ONLY) && cred->uid != 0) {
                _cleanup_free_ char *m = NULL;
                if (asprintf(&m, "denied: '%s' may only be run by root", a->name) < 0)
                        m = NULL;
                (void) conn_send_error(ad->conns, c, req->id, EPERM, PROTO_ERR_DENIED, m ? m : "denied");
                return false;
        }
        return request_policy_allows(ad, c, req, cred);
}

static bool request_within_rate(const Admission *ad, Conn *c, const Request *req, const struct ucred *cred)
{
        uint64_t wait_ns = 0;
        RateLimitResult rl = ratelimiter_take(ad->ratelimit, cred->uid, now_monotonic_ns(), &wait_ns);
        if (rl == RATELIMIT_OK)
                return true;
        unsigned long long wait_ms = (wait_ns + 999999) / 1000000;
        _cleanup_free_ char *m = NULL;
        if (rl == RATELIMIT_UID) {
                if (asprintf(&m, "rate limited: uid %u sent more than %.0f requests in a burst (%.0f/s sustained); "
                             "retry in %llu ms", (unsigned) cred->uid, ad->ratelimit->config.uid_burst,
                             ad->ratelimit->config.uid_rate, wait_ms) < 0)
                        m = NULL;
        } else if (asprintf(&m, "rate limited: the daemon is receiving more than %.0f requests/s from all users; "
                            "retry in %llu ms", ad->ratelimit->config.global_rate, wait_ms) < 0)
                m = NULL;
        log_info("%s", m ? m : "rate limited");
        (void) conn_send_error(ad->conns, c, req->id, EAGAIN, PROTO_ERR_RATE_LIMITED, m ? m : "rate limited");
        return false;
}

static const Action *request_action(const Admission *ad, Conn *c, const Request *req, const struct ucred *cred)
{
        const Action *a = ad->find_action(req->action, ad->enable_test_actions);
        if (a)
                return a;
        _cleanup_free_ char *m = NULL;
        if (ad->action_is_reserved(req->action)) {
                /* A denied user learns it is denied, not what is built. */
                if (!request_policy_allows(ad, c, req, cred))
                        return NULL;
                if (asprintf(&m, "action '%s' is not built yet in enclave %s", req->action, ENCLAVE_VERSION) < 0)
                        m = NULL;
                (void) conn_send_error(ad->conns, c, req->id, ENOSYS, PROTO_ERR_NOT_BUILT, m ? m : "not built");
        } else {
                if (asprintf(&m, "unknown action '%s'", req->action) < 0)
                        m = NULL;
                (void) conn_send_error(ad->conns, c, req->id, EOPNOTSUPP, PROTO_ERR_UNKNOWN_ACTION,
                                       m ? m : "unknown action");
        }
        return NULL;
}

/* A long action on its own thread, within the worker slots. */
static int request_start_worker(const Admission *ad, Call *call)
{
        uid_t uid = call_uid(call);
        int r = worker_slot_acquire(ad->workers, uid);
        if (r < 0)
                return r;
        r = worker_start(call, worker_slot_release, ad->workers);
        if (r < 0)
                worker_slot_release(ad->workers, uid);
        return r;
}

static void request_start(const Admission *ad, Conn *c, const Request *req, const Action *a,
                          const struct ucred *cred)
{
        int fds[PROTOCOL_MAX_FDS];
        if (frame_reader_take_fds(&c->in, req->n_fds, fds) < 0) {
                conn_fail(ad->conns, c, req->id, EBADMSG, PROTO_ERR_INVALID,
                          "request announced more file descriptors than were sent");
                return;
        }
        Call *call = call_new(ad->call_host, c->id, a, req->id, req->params, cred, fds, (unsigned) req->n_fds);
        if (!call) {
                (void) conn_send_error(ad->conns, c, req->id, ENOMEM, PROTO_ERR_FAILED, "out of memory");
                return;
        }
        c->call = call_ref(call);
        if (a->flags & ACTION_LONG) {
                int r = request_start_worker(ad, call);
                if (r < 0) {
                        c->call = call_unref(c->call);
                        _cleanup_free_ char *m = NULL;
                        if (r == -EUSERS && asprintf(&m, "daemon busy: uid %u already runs %u long operations, the "
                                                     "most one user may (max_long_actions_per_user); retry when "
                                                     "one has finished", (unsigned) cred->uid,
                                                     ad->workers->max_per_uid) < 0)
                                m = NULL;
                        (void) conn_send_error(ad->conns, c, req->id, EAGAIN, PROTO_ERR_BUSY,
                                               m ? m : "daemon busy: too many long operations in flight; retry "
                                                       "shortly");
                }
                /* else c->call stays until the worker's final message. */
        } else {
                call_run_inline(call);
                if (!c->dead && c->call == call)
                        c->call = call_unref(c->call);
        }
        call_unref(call);
}

/* Drop the fds that came with a refused request. */
static void request_drop_fds(Conn *c, const Request *req)
{
        if (req->n_fds == 0 || c->dead)
                return;
        int fds[PROTOCOL_MAX_FDS];
        if (frame_reader_take_fds(&c->in, req->n_fds, fds) >= 0)
                for (size_t i = 0; i < req->n_fds; i++)
                        safe_close(fds[i]);
}

void admission_handle(const Admission *ad, Conn *c, const char *body, size_t len)
{
        _cleanup_error_ Error err = ERROR_INIT;
        Request req;
        ProtoErrorKind kind;

        /* Identity as of now, for every request. */
        struct ucred cred;
        socklen_t sl = sizeof cred;
        if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0) {
                conn_close(ad->conns, c, "SO_PEERCRED failed");
                return;
        }
        if (request_parse(body, len, &req, &kind, &err) < 0) {
                (void) conn_send_error(ad->conns, c, req.id, err.code, kind, error_msg(&err));
                request_done(&req);
                return;
        }
        if (ad->call_host->stopping(ad->call_host->loop)) {
                (void) conn_send_error(ad->conns, c, req.id, ESHUTDOWN, PROTO_ERR_SHUTDOWN, "daemon is stopping");
                request_done(&req);
                return;
        }
        log_debug("uid %u pid %d: %s", (unsigned) cred.uid, (int) cred.pid, req.action);
        const Action *a = NULL;
        if (request_within_rate(ad, c, &req, &cred) && (a = request_action(ad, c, &req, &cred)) &&
            request_allowed(ad, c, &req, a, &cred))
                request_start(ad, c, &req, a, &cred);
        else
                request_drop_fds(c, &req);
        request_done(&req);
}
