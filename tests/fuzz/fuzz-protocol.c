/* Fuzz the daemon's request path: bytes arriving on a socket are split
 * into frames by the FrameReader, and each frame is parsed as a
 * request. Neither may crash, leak or read out of bounds, whatever a
 * client sends. */
#include "proto/message.h"

#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_body(const char *body, size_t len)
{
        Request req = { 0 };
        ProtoErrorKind kind;
        Error err = ERROR_INIT;
        (void) request_parse(body, len, &req, &kind, &err);
        request_done(&req);
        error_clear(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        /* The first byte chooses the path: a raw body, or a byte stream
         * through a socketpair into the frame reader. */
        if (size < 1)
                return 0;
        if (data[0] & 1) {
                parse_body((const char *) data + 1, size - 1);
                return 0;
        }

        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                return 0;
        size_t len = size - 1 > 65536 ? 65536 : size - 1;
        if (len > 0 && write(sv[0], data + 1, len) < 0)
                len = 0;
        close(sv[0]);

        FrameReader r;
        frame_reader_init(&r, 4096);
        for (;;) {
                ssize_t n = frame_reader_fill(&r, sv[1]);
                char *body = NULL;
                size_t body_len = 0;
                int k;
                while ((k = frame_reader_next(&r, &body, &body_len)) > 0) {
                        parse_body(body, body_len);
                        free(body);
                        body = NULL;
                }
                if (n <= 0 || k < 0)
                        break;
        }
        frame_reader_done(&r);
        close(sv[1]);
        return 0;
}
