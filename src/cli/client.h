/* The CLI side of the daemon protocol (docs/protocol.md).
 *
 * Connecting checks that the socket belongs to root (a socket anyone
 * else could have put there is never talked to) and tells apart "daemon
 * not running", "permission denied" and "daemon busy". A call sends one
 * request (optionally with fds), hands every streamed event to a
 * callback and returns the final result (optionally with an fd). A
 * refused request keeps its kind: rate limited, denied, not built, ...
 * so callers and users never mistake one for another. */
#pragma once

#include "cli/cli.h"
#include "cli/output.h"
#include "proto/message.h"

#include <jansson.h>

typedef struct Client Client;

/* Called for each event; a negative return aborts the call with it. */
typedef int (*ClientEventFn)(json_t *event, void *userdata);

/* The socket the CLI talks to: --socket / ENCLAVE_SOCKET, else the
 * configuration (config.toml), else the default. */
int client_socket_path(const Cli *cli, char **ret, Error *err);

/* Connect to a running daemon. Errors: -ENOENT / -ECONNREFUSED when no
 * daemon runs there, -EACCES when the caller may not use the socket,
 * -EPERM when the socket or its peer is not root's. */
int client_connect(const char *socket_path, Client **ret, Error *err);

/* Connect; when no daemon runs and the caller is root, start one
 * (`enclave [--config C] [--socket S] daemon start`) and connect again. */
int client_open(Cli *cli, Client **ret, Error *err);

Client *client_free(Client *c);
DEFINE_CLEANUP_FUNC(Client, client_free);
#define _cleanup_client_ _cleanup_(client_freep)

/* Give up on a reply after timeout_ms without any message (default:
 * wait forever; long actions stream events). */
void client_set_timeout(Client *c, int timeout_ms);

/* Send a request and wait for its reply. params is stolen (NULL = {}).
 * fds are sent with the request (still owned by the caller). When the
 * reply carries an fd it is returned in *ret_fd (else -EBADF); pass
 * ret_fd NULL to have it closed. On an error reply, returns -code with
 * the daemon's message in err; client_error_kind() says which kind. */
int client_call(Client *c, const char *action, json_t *params, const int *fds, size_t n_fds,
                ClientEventFn on_event, void *userdata, json_t **ret_result, int *ret_fd, Error *err);

/* Inside an event callback: the fd that came with the event ("fds":
 * 1), now owned by the caller; -EBADF when none. Not taken, it is
 * closed after the callback. */
int client_take_event_fd(Client *c);

/* The connected socket, to poll() for the daemon's next message while
 * doing other work in an event callback (e.g. relaying a pty). */
int client_fd(const Client *c);

/* Kind of the last error reply, or _PROTO_ERR_INVALID when the last
 * failure was local (connection, protocol). */
ProtoErrorKind client_error_kind(const Client *c);

/* True for the errors client_connect() uses for "no daemon runs". */
static inline bool client_error_not_running(int r)
{
        return r == -ENOENT || r == -ECONNREFUSED;
}

/* One request on a fresh connection (auto-starting the daemon as
 * client_open() does). */
int cli_call(Cli *cli, const char *action, json_t *params, json_t **ret_result, Error *err);

/* A long request on a fresh connection whose events on_event draws on
 * *progress (initialised by the caller; cleared here when the call
 * ends). fd, when >= 0, goes with the request. params is stolen (NULL =
 * {}). Returns EXIT_OK, or the exit code of a failure already reported
 * on stderr. */
int cli_call_with_progress(Cli *cli, const char *action, json_t *params, int fd, Progress *progress,
                           ClientEventFn on_event, void *userdata, json_t **ret_result);
