#include "cli/client.h"
#include "config/settings.h"
#include "base/log.h"
#include "base/process.h"

#include <grp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

struct Client {
        int fd;
        char *socket_path;
        FrameReader in;
        int64_t next_id;
        int timeout_ms;
        ProtoErrorKind last_kind;
        int event_fd;   /* fd of the event being handled, until taken */
};

int client_socket_path(const Cli *cli, char **ret, Error *err)
{
        if (cli->socket_path && cli->socket_path[0]) {
                *ret = strdup(cli->socket_path);
                return *ret ? 0 : error_set(err, ENOMEM, "out of memory");
        }
        Settings s = {};
        int r = settings_load(cli->config_path, &s, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s.socket_path);
        settings_done(&s);
        return 0;
}

Client *client_free(Client *c)
{
        if (!c)
                return NULL;
        safe_close(c->fd);
        frame_reader_done(&c->in);
        free(c->socket_path);
        free(c);
        return NULL;
}

void client_set_timeout(Client *c, int timeout_ms)
{
        c->timeout_ms = timeout_ms;
}

ProtoErrorKind client_error_kind(const Client *c)
{
        return c ? c->last_kind : _PROTO_ERR_INVALID;
}

static bool socket_group_is_enclave(const struct stat *st)
{
        struct group grp, *res = NULL;
        char buf[4096];
        return getgrgid_r(st->st_gid, &grp, buf, sizeof buf, &res) == 0 && res && streq(res->gr_name, "enclave");
}

/* Only a root-owned socket is trusted: anybody could have created a
 * socket at a path the configuration names, and we are about to send
 * it requests (and maybe fds). */
static int check_socket_file(const char *path, struct stat *ret, Error *err)
{
        if (lstat(path, ret) < 0) {
                if (errno == ENOENT || errno == ENOTDIR)
                        return error_set(err, ENOENT,
                                         "the enclave daemon is not running (no socket at %s); "
                                         "start it with 'enclave daemon start' as root", path);
                if (errno == EACCES)
                        return error_set(err, EACCES,
                                         "permission denied reaching the daemon socket %s: only root and members "
                                         "of group 'enclave' may use Enclave", path);
                return error_setc(err, errno, "checking daemon socket %s", path);
        }
        if (!S_ISSOCK(ret->st_mode))
                return error_set(err, ENOTSOCK, "%s is not a socket; check the 'socket' setting", path);
        if (ret->st_uid != 0)
                return error_set(err, EPERM,
                                 "refusing to talk to %s: the socket is owned by uid %u, not root, so it is not "
                                 "an enclave daemon's", path, (unsigned) ret->st_uid);
        return 0;
}

static int connect_error(const char *path, const struct stat *st, int e, Error *err)
{
        switch (e) {
        case ECONNREFUSED:
                return error_set(err, ECONNREFUSED,
                                 "the enclave daemon is not running (nothing listens on %s); "
                                 "start it with 'enclave daemon start' as root", path);
        case ENOENT:
                return error_set(err, ENOENT, "the enclave daemon is not running (no socket at %s); "
                                 "start it with 'enclave daemon start' as root", path);
        case EACCES:
        case EPERM:
                return error_set(err, EACCES, "permission denied connecting to the daemon at %s: only root%s may "
                                 "use Enclave", path,
                                 socket_group_is_enclave(st) ? " and members of group 'enclave'" : "");
        case EAGAIN:
                return error_set(err, EAGAIN, "the enclave daemon at %s is too busy to accept a connection; "
                                 "retry shortly", path);
        default:
                return error_setc(err, e, "connecting to the daemon at %s", path);
        }
}

int client_connect(const char *socket_path, Client **ret, Error *err)
{
        struct stat st;
        int r = check_socket_file(socket_path, &st, err);
        if (r < 0)
                return r;

        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        size_t n = strlen(socket_path);
        if (n >= sizeof sa.sun_path)
                return error_set(err, ENAMETOOLONG, "socket path %s is too long", socket_path);
        memcpy(sa.sun_path, socket_path, n);

        _cleanup_close_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return error_setc(err, errno, "creating socket");
        if (connect(fd, (struct sockaddr *) &sa, (socklen_t) (offsetof(struct sockaddr_un, sun_path) + n + 1)) < 0)
                return connect_error(socket_path, &st, errno, err);

        /* The file could have been swapped after the check; the peer's
         * credentials cannot. */
        struct ucred cred;
        socklen_t sl = sizeof cred;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &sl) < 0)
                return error_setc(err, errno, "reading the daemon's credentials");
        if (cred.uid != 0)
                return error_set(err, EPERM, "refusing to talk to %s: the process listening there runs as uid %u, "
                                 "not root", socket_path, (unsigned) cred.uid);

        Client *c = calloc(1, sizeof *c);
        if (!c)
                return error_set(err, ENOMEM, "out of memory");
        c->fd = TAKE_FD(fd);
        c->event_fd = -EBADF;
        c->socket_path = strdup(socket_path);
        c->timeout_ms = -1;
        c->last_kind = _PROTO_ERR_INVALID;
        frame_reader_init(&c->in, PROTOCOL_MAX_MESSAGE);
        if (!c->socket_path) {
                client_free(c);
                return error_set(err, ENOMEM, "out of memory");
        }
        *ret = c;
        return 0;
}

/* `enclave [--config C] [--socket S] daemon start -q`, waited for. Its
 * own errors (with the daemon log's tail) go to our stderr. */
static int autostart_daemon(Cli *cli, const char *socket_path, Error *err)
{
        const char *argv[12];
        size_t n = 0;
        argv[n++] = "enclave";
        if (cli->config_path) {
                argv[n++] = "--config";
                argv[n++] = cli->config_path;
        }
        argv[n++] = "--socket";
        argv[n++] = socket_path;
        argv[n++] = "-q";
        argv[n++] = "daemon";
        argv[n++] = "start";
        argv[n] = NULL;

        if (!cli->quiet)
                fprintf(stderr, "enclave: the daemon is not running; starting it\n");
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return error_setc(err, errno, "starting the daemon");
        if (pid == 0) {
                execv("/proc/self/exe", (char *const *) argv);
                _exit(127);
        }
        int status = wait_for_exit(pid);
        if (status != 0)
                return error_set(err, ECONNREFUSED, "the daemon did not start (see the messages above)");
        return 0;
}

int client_open(Cli *cli, Client **ret, Error *err)
{
        _cleanup_free_ char *path = NULL;
        int r = client_socket_path(cli, &path, err);
        if (r < 0)
                return r;
        r = client_connect(path, ret, err);
        if (r >= 0 || !client_error_not_running(r) || geteuid() != 0)
                return r;
        _cleanup_error_ Error start_err = ERROR_INIT;
        if (autostart_daemon(cli, path, &start_err) < 0) {
                error_move(err, &start_err);
                return -err->code;
        }
        error_clear(err);
        return client_connect(path, ret, err);
}

/* Wait for and return the next message. */
static int client_receive(Client *c, json_t **ret, Error *err)
{
        for (;;) {
                _cleanup_free_ char *body = NULL;
                size_t len;
                int r = frame_reader_next(&c->in, &body, &len);
                if (r < 0)
                        return error_set(err, EPROTO, "invalid message from the daemon");
                if (r > 0) {
                        json_error_t jerr;
                        /* Log data is the workspace's output, NUL bytes included. */
                        json_t *msg = json_loadb(body, len, JSON_ALLOW_NUL, &jerr);
                        if (!msg)
                                return error_set(err, EPROTO, "malformed message from the daemon: %s", jerr.text);
                        *ret = msg;
                        return 0;
                }
                struct pollfd p = { .fd = c->fd, .events = POLLIN };
                int k = poll(&p, 1, c->timeout_ms);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return error_setc(err, errno, "waiting for the daemon");
                if (k == 0)
                        return error_set(err, ETIMEDOUT, "the daemon did not answer within %d ms", c->timeout_ms);
                ssize_t n = frame_reader_fill(&c->in, c->fd);
                if (n == -EAGAIN)
                        continue;
                if (n == 0 || n == -ECONNRESET)
                        return error_set(err, ECONNRESET, "the daemon closed the connection before replying "
                                         "(it may have stopped or crashed; see 'enclave daemon status')");
                if (n < 0)
                        return error_setc(err, (int) -n, "reading from the daemon");
        }
}

static int remote_error(Client *c, json_t *e, Error *err)
{
        json_t *code = json_object_get(e, "code");
        const char *kind = json_string_value(json_object_get(e, "kind"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        int ec = json_is_integer(code) && json_integer_value(code) > 0 ? (int) json_integer_value(code) : EIO;
        c->last_kind = proto_error_kind_from_string(kind);
        if (c->last_kind < 0)
                c->last_kind = PROTO_ERR_FAILED;
        return error_set(err, ec, "%s", msg ? msg : strerror(ec));
}

static int send_request(Client *c, const char *action, json_t *params, const int *fds, size_t n_fds, Error *err)
{
        json_t *id = json_integer(++c->next_id);
        json_t *msg = message_request(id, action, params, n_fds);
        json_decref(id);
        if (!msg)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_free_ char *frame = NULL;
        size_t len;
        int r = frame_encode(msg, PROTOCOL_MAX_REQUEST, &frame, &len);
        json_decref(msg);
        if (r == -EMSGSIZE)
                return error_set(err, EMSGSIZE, "request too large (the daemon accepts at most %u bytes)",
                                 PROTOCOL_MAX_REQUEST);
        if (r < 0)
                return error_setc(err, -r, "encoding request");
        r = frame_send_all(c->fd, frame, len, fds, n_fds);
        if (r < 0)
                return error_setc(err, -r, "sending the request to the daemon");
        return 0;
}

/* The daemon may have refused the connection (busy) and closed it
 * before our request went out: its reason is waiting to be read. */
static int pending_refusal(Client *c, Error *err)
{
        json_t *msg = NULL;
        _cleanup_error_ Error rerr = ERROR_INIT;
        int saved = c->timeout_ms;
        c->timeout_ms = 200;
        int r = client_receive(c, &msg, &rerr);
        c->timeout_ms = saved;
        if (r < 0)
                return 0;
        MessageType type;
        json_t *payload;
        if (message_classify(msg, &type, &payload, &rerr) >= 0 && type == MESSAGE_ERROR) {
                r = remote_error(c, payload, err);
                json_decref(msg);
                return r;
        }
        json_decref(msg);
        return 0;
}

/* An fd announced by a reply arrived with its first byte. */
static int take_reply_fd(Client *c, json_t *msg, int *ret_fd, Error *err)
{
        json_t *nf = json_object_get(msg, "fds");
        if (!json_is_integer(nf) || json_integer_value(nf) <= 0)
                return 0;
        int fd;
        if (json_integer_value(nf) != 1 || frame_reader_take_fds(&c->in, 1, &fd) < 0)
                return error_set(err, EPROTO, "the daemon announced a file descriptor that did not arrive");
        if (ret_fd)
                *ret_fd = fd;
        else
                safe_close(fd);
        return 0;
}

int client_take_event_fd(Client *c)
{
        return TAKE_FD(c->event_fd);
}

int client_fd(const Client *c)
{
        return c->fd;
}

int client_call(Client *c, const char *action, json_t *params, const int *fds, size_t n_fds,
                ClientEventFn on_event, void *userdata, json_t **ret_result, int *ret_fd, Error *err)
{
        c->last_kind = _PROTO_ERR_INVALID;
        if (ret_fd)
                *ret_fd = -EBADF;
        int r = send_request(c, action, params, fds, n_fds, err);
        if (r == -EPIPE || r == -ECONNRESET) {
                int q = pending_refusal(c, err);
                return q < 0 ? q : r;
        }
        if (r < 0)
                return r;
        for (;;) {
                json_t *msg = NULL;
                r = client_receive(c, &msg, err);
                if (r < 0)
                        return r;
                MessageType type;
                json_t *payload;
                r = message_classify(msg, &type, &payload, err);
                if (r < 0) {
                        json_decref(msg);
                        return r;
                }
                if (type == MESSAGE_EVENT) {
                        c->event_fd = -EBADF;
                        r = take_reply_fd(c, msg, &c->event_fd, err);
                        if (r < 0) {
                                json_decref(msg);
                                return r;
                        }
                        r = on_event ? on_event(payload, userdata) : 0;
                        c->event_fd = safe_close(c->event_fd);
                        json_decref(msg);
                        if (r < 0)
                                return error_setc(err, -r, "handling progress from the daemon");
                        continue;
                }
                if (type == MESSAGE_ERROR) {
                        r = remote_error(c, payload, err);
                        json_decref(msg);
                        return r;
                }
                r = take_reply_fd(c, msg, ret_fd, err);
                if (r >= 0 && ret_result)
                        *ret_result = json_incref(payload);
                json_decref(msg);
                return r;
        }
}

int cli_call(Cli *cli, const char *action, json_t *params, json_t **ret_result, Error *err)
{
        _cleanup_client_ Client *c = NULL;
        int r = client_open(cli, &c, err);
        if (r < 0) {
                json_decref(params);
                return r;
        }
        return client_call(c, action, params, NULL, 0, NULL, NULL, ret_result, NULL, err);
}

int cli_call_with_progress(Cli *cli, const char *action, json_t *params, int fd, Progress *progress,
                           ClientEventFn on_event, void *userdata, json_t **ret_result)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_client_ Client *c = NULL;
        if (client_open(cli, &c, &err) < 0) {
                json_decref(params);
                return cli_fail_error(cli, &err);
        }
        int r = client_call(c, action, params, fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0, on_event, userdata,
                            ret_result, NULL, &err);
        progress_done(progress);
        if (r < 0)
                return cli_fail_error(cli, &err);
        return EXIT_OK;
}
