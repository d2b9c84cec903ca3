/* Framing of the wire protocol between the CLI and the daemon
 * (docs/protocol.md); messages are in proto/message.h.
 *
 * A Unix stream socket carries frames: a 4-byte big-endian length, then
 * that many bytes of one JSON object. File descriptors travel with
 * SCM_RIGHTS attached to the first byte of the frame they belong to;
 * the frame's "fds" member says how many. Shared by the daemon, the CLI
 * client and the tests. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define PROTOCOL_HEADER_SIZE 4u
/* Largest request the daemon accepts. */
#define PROTOCOL_MAX_REQUEST (1024u * 1024u)
/* Largest event or reply a client accepts. */
#define PROTOCOL_MAX_MESSAGE (16u * 1024u * 1024u)
/* File descriptors per message, and queued unclaimed per connection. */
#define PROTOCOL_MAX_FDS 8u

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
