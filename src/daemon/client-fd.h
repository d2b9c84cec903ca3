/* Files a client hands over (SCM_RIGHTS) for data: an archive to
 * import, a file or pipe to export into (docs/security.md "Client file
 * descriptors and quotas").
 *
 * The daemon uses such an fd only as it was given: it reads or writes
 * through it, never reopens it by path (a reopen through /proc would be
 * a fresh open as root, turning an O_PATH fd to a root-only file into
 * its contents), and refuses an O_PATH fd, one not open for the
 * direction needed, anything but a regular file or a pipe, and a
 * regular file on FUSE (whose reads the client's own process answers,
 * or never does).
 *
 * A pipe can block any read or write for as long as its other end
 * likes. So the worker never touches it: a relay thread moves the data
 * between the client's pipe and a pipe of the daemon's own, only ever
 * reading what poll() says is there and writing what fits, and stops
 * when the call is cancelled (the client went away, the daemon stops),
 * which ends the worker's input or output. Nothing a client hands over
 * can hold a worker (or what the worker holds, such as a workspace's
 * snapshot claim) beyond its own connection. */
#pragma once

#include "base/error.h"
#include "daemon/action.h"

typedef struct ClientStream ClientStream;

/* Take ownership of fd for reading (import) or writing (export). On
 * failure fd is closed and err says what the client must change. */
int client_stream_open(Call *c, int fd, bool for_writing, ClientStream **ret, Error *err);

/* The fd the work reads from or writes to: the client's own regular
 * file, or the daemon's end of the relay. Owned by the stream. */
int client_stream_fd(const ClientStream *s);

/* True when the data goes through the relay (the client sent a pipe). */
bool client_stream_relayed(const ClientStream *s);

/* End the stream and free it. A writer first hands everything written
 * to the client (until the call is cancelled); a reader stops reading.
 * Returns 0, or a negative errno with err set when a writer could not
 * deliver everything (cancelled: -ECANCELED; the reader went away:
 * -EPIPE). Always frees s. */
int client_stream_close(ClientStream *s, Error *err);

static inline void client_stream_closep(ClientStream **s)
{
        if (*s)
                (void) client_stream_close(*s, NULL);
}
#define _cleanup_client_stream_ _cleanup_(client_stream_closep)
