/* Framing, fds over SCM_RIGHTS, request validation and message shapes. */
#include "test.h"
#include "proto/message.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

static void pair(int sv[2])
{
        if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
                TEST_FAIL("socketpair: %m");
}

static void put_header(char *p, uint32_t n)
{
        p[0] = (char) (n >> 24);
        p[1] = (char) (n >> 16);
        p[2] = (char) (n >> 8);
        p[3] = (char) n;
}

TEST(encode_and_read_back)
{
        int sv[2];
        pair(sv);
        json_t *m = message_request(NULL, "daemon.ping", NULL, 0);
        char *frame;
        size_t len;
        ASSERT_OK(frame_encode(m, PROTOCOL_MAX_REQUEST, &frame, &len));
        json_decref(m);
        ASSERT_OK(frame_send_all(sv[0], frame, len, NULL, 0));
        ASSERT_OK(frame_send_all(sv[0], frame, len, NULL, 0)); /* two pipelined frames */
        free(frame);

        FrameReader r;
        frame_reader_init(&r, PROTOCOL_MAX_REQUEST);
        ASSERT_TRUE(frame_reader_fill(&r, sv[1]) > 0);
        for (int i = 0; i < 2; i++) {
                char *body = NULL;
                size_t blen;
                if (frame_reader_next(&r, &body, &blen) == 0) {
                        ASSERT_TRUE(frame_reader_fill(&r, sv[1]) > 0);
                        ASSERT_EQ(frame_reader_next(&r, &body, &blen), 1);
                }
                ASSERT_NOT_NULL(body);
                ASSERT_CONTAINS(body, "\"action\":\"daemon.ping\"");
                ASSERT_EQ(strlen(body), blen);
                free(body);
        }
        char *body = NULL;
        ASSERT_EQ(frame_reader_next(&r, &body, NULL), 0);
        ASSERT_FALSE(frame_reader_partial(&r));
        frame_reader_done(&r);
        close(sv[0]);
        ASSERT_EQ(frame_reader_fill(&r, sv[1]), 0); /* end of stream */
        frame_reader_done(&r);
        close(sv[1]);
}

TEST(partial_frames_assemble)
{
        int sv[2];
        pair(sv);
        const char body[] = "{\"v\":1,\"action\":\"daemon.ping\"}";
        char buf[64];
        put_header(buf, (uint32_t) strlen(body));
        memcpy(buf + 4, body, strlen(body));
        size_t total = 4 + strlen(body);

        FrameReader r;
        frame_reader_init(&r, PROTOCOL_MAX_REQUEST);
        char *out = NULL;
        for (size_t i = 0; i < total; i++) {
                ASSERT_EQ(write(sv[0], buf + i, 1), 1);
                ASSERT_EQ(frame_reader_fill(&r, sv[1]), 1);
                int k = frame_reader_next(&r, &out, NULL);
                if (i + 1 < total) {
                        ASSERT_EQ(k, 0);
                        ASSERT_TRUE(frame_reader_partial(&r));
                } else
                        ASSERT_EQ(k, 1);
        }
        ASSERT_STREQ(out, body);
        free(out);
        frame_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
}

TEST(oversized_and_empty_frames)
{
        int sv[2];
        pair(sv);
        FrameReader r;
        frame_reader_init(&r, 100);
        char hdr[4];
        put_header(hdr, 101);
        ASSERT_EQ(write(sv[0], hdr, 4), 4);
        /* Rejected from the header alone, before any body is buffered. */
        ASSERT_EQ(frame_reader_fill(&r, sv[1]), -EMSGSIZE);
        char *out = NULL;
        ASSERT_EQ(frame_reader_next(&r, &out, NULL), -EMSGSIZE);
        frame_reader_done(&r);

        frame_reader_init(&r, 100);
        ASSERT_EQ(write(sv[0], "GET / HTTP/1.1\r\n", 16), 16);
        ASSERT_EQ(frame_reader_fill(&r, sv[1]), -EMSGSIZE);
        frame_reader_done(&r);

        frame_reader_init(&r, 100);
        put_header(hdr, 0);
        ASSERT_EQ(write(sv[0], hdr, 4), 4);
        ASSERT_EQ(frame_reader_fill(&r, sv[1]), 4);
        ASSERT_EQ(frame_reader_next(&r, &out, NULL), -EBADMSG);
        frame_reader_done(&r);

        json_t *big = json_pack("{s:s}", "x", "0123456789012345678901234567890123456789");
        char *frame;
        size_t len;
        ASSERT_EQ(frame_encode(big, 16, &frame, &len), -EMSGSIZE);
        json_decref(big);
        close(sv[0]);
        close(sv[1]);
}

TEST(fds_travel_with_the_frame)
{
        int sv[2];
        pair(sv);
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        json_t *m = message_request(NULL, "workspace.exec", json_object(), 1);
        char *frame;
        size_t len;
        ASSERT_OK(frame_encode(m, PROTOCOL_MAX_REQUEST, &frame, &len));
        json_decref(m);
        ASSERT_OK(frame_send_all(sv[0], frame, len, &fd, 1));
        free(frame);
        close(fd);

        FrameReader r;
        frame_reader_init(&r, PROTOCOL_MAX_REQUEST);
        ASSERT_TRUE(frame_reader_fill(&r, sv[1]) > 0);
        ASSERT_EQ(r.n_fds, 1);
        char *body = NULL;
        size_t blen;
        ASSERT_EQ(frame_reader_next(&r, &body, &blen), 1);
        Request req;
        ProtoErrorKind kind;
        Error err = ERROR_INIT;
        ASSERT_OK(request_parse(body, blen, &req, &kind, &err));
        ASSERT_EQ(req.n_fds, 1);
        int got[2];
        ASSERT_EQ(frame_reader_take_fds(&r, 2, got), -EBADMSG);
        ASSERT_OK(frame_reader_take_fds(&r, 1, got));
        struct stat st;
        ASSERT_OK(fstat(got[0], &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_EQ(fcntl(got[0], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(got[0]);
        request_done(&req);
        free(body);
        frame_reader_done(&r);
        close(sv[0]);
        close(sv[1]);
}

TEST(too_many_fds_are_refused_and_closed)
{
        int sv[2];
        pair(sv);
        int fds[PROTOCOL_MAX_FDS + 1];
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        char hdr[8];
        put_header(hdr, 2);
        memcpy(hdr + 4, "{}", 2);
        /* frame_send_all refuses more than the limit itself. */
        ASSERT_EQ(frame_send_all(sv[0], hdr, 6, fds, ELEMENTSOF(fds)), -ETOOMANYREFS);
        /* Send them by hand, twice the limit's worth in two messages. */
        ASSERT_OK(frame_send_all(sv[0], hdr, 6, fds, PROTOCOL_MAX_FDS));
        ASSERT_OK(frame_send_all(sv[0], hdr, 6, fds, 1));
        FrameReader r;
        frame_reader_init(&r, 100);
        ssize_t n = frame_reader_fill(&r, sv[1]);
        if (n > 0)
                n = frame_reader_fill(&r, sv[1]);
        ASSERT_EQ(n, -ETOOMANYREFS);
        ASSERT_EQ(r.n_fds, PROTOCOL_MAX_FDS);
        frame_reader_done(&r);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                close(fds[i]);
        close(sv[0]);
        close(sv[1]);
}

static int parse(const char *s, Request *req, ProtoErrorKind *kind, Error *err)
{
        error_clear(err);
        return request_parse(s, strlen(s), req, kind, err);
}

TEST(request_validation)
{
        Request req;
        ProtoErrorKind kind;
        _cleanup_error_ Error err = ERROR_INIT;

        ASSERT_OK(parse("{\"v\":1,\"id\":7,\"action\":\"daemon.ping\"}", &req, &kind, &err));
        ASSERT_STREQ(req.action, "daemon.ping");
        ASSERT_EQ(json_integer_value(req.id), 7);
        ASSERT_TRUE(json_is_object(req.params));
        request_done(&req);

        ASSERT_EQ(parse("{\"v\":1,\"action\":", &req, &kind, &err), -EINVAL);
        ASSERT_EQ(kind, PROTO_ERR_INVALID);
        ASSERT_CONTAINS(err.msg, "malformed JSON request at line 1");
        request_done(&req);

        ASSERT_EQ(parse("[1]", &req, &kind, &err), -EINVAL);
        ASSERT_CONTAINS(err.msg, "must be a JSON object");
        request_done(&req);

        ASSERT_TRUE(parse("{\"id\":\"x\",\"action\":\"daemon.ping\"}", &req, &kind, &err) < 0);
        ASSERT_EQ(kind, PROTO_ERR_VERSION);
        ASSERT_STREQ(json_string_value(req.id), "x"); /* echoed in the error */
        request_done(&req);

        ASSERT_TRUE(parse("{\"v\":2,\"action\":\"daemon.ping\"}", &req, &kind, &err) < 0);
        ASSERT_EQ(kind, PROTO_ERR_VERSION);
        ASSERT_CONTAINS(err.msg, "unsupported protocol version 2");
        request_done(&req);

        ASSERT_TRUE(parse("{\"v\":1,\"action\":\"Daemon Ping\"}", &req, &kind, &err) < 0);
        ASSERT_EQ(kind, PROTO_ERR_INVALID);
        request_done(&req);

        ASSERT_TRUE(parse("{\"v\":1,\"action\":\"daemon.ping\",\"params\":3}", &req, &kind, &err) < 0);
        request_done(&req);
        ASSERT_TRUE(parse("{\"v\":1,\"action\":\"daemon.ping\",\"fds\":99}", &req, &kind, &err) < 0);
        request_done(&req);
        ASSERT_TRUE(parse("{\"v\":1,\"id\":[1],\"action\":\"daemon.ping\"}", &req, &kind, &err) < 0);
        request_done(&req);
        /* Duplicate keys are ambiguous: rejected. */
        ASSERT_TRUE(parse("{\"v\":1,\"action\":\"daemon.ping\",\"action\":\"daemon.stop\"}", &req, &kind, &err) < 0);
        request_done(&req);
        /* NUL inside a string is refused rather than truncating names. */
        ASSERT_TRUE(parse("{\"v\":1,\"action\":\"daemon.ping\\u0000x\"}", &req, &kind, &err) < 0);
        request_done(&req);
}

TEST(messages)
{
        json_t *id = json_integer(3);
        json_t *m = message_reply(id, json_pack("{s:i}", "a", 1), 1);
        MessageType t;
        json_t *payload;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(message_classify(m, &t, &payload, &err));
        ASSERT_EQ(t, MESSAGE_REPLY);
        ASSERT_EQ(json_integer_value(json_object_get(payload, "a")), 1);
        ASSERT_EQ(json_integer_value(json_object_get(m, "fds")), 1);
        ASSERT_EQ(json_integer_value(json_object_get(m, "id")), 3);
        json_decref(m);

        m = message_event(id, json_pack("{s:s}", "type", "tick"));
        ASSERT_OK(message_classify(m, &t, &payload, &err));
        ASSERT_EQ(t, MESSAGE_EVENT);
        json_decref(m);

        m = message_error(id, EAGAIN, PROTO_ERR_RATE_LIMITED, "rate limited: slow down");
        ASSERT_OK(message_classify(m, &t, &payload, &err));
        ASSERT_EQ(t, MESSAGE_ERROR);
        ASSERT_STREQ(json_string_value(json_object_get(payload, "kind")), "rate_limited");
        ASSERT_EQ(json_integer_value(json_object_get(payload, "code")), EAGAIN);
        json_decref(m);

        m = json_pack("{s:i, s:{}}", "v", 2, "result");
        ASSERT_TRUE(message_classify(m, &t, &payload, &err) < 0);
        ASSERT_CONTAINS(err.msg, "protocol version 2");
        json_decref(m);
        json_decref(id);

        for (int k = 0; k < _PROTO_ERR_MAX; k++)
                ASSERT_EQ(proto_error_kind_from_string(proto_error_kind_to_string((ProtoErrorKind) k)), k);
}

TEST(action_names)
{
        ASSERT_TRUE(action_name_is_valid("daemon.ping"));
        ASSERT_TRUE(action_name_is_valid("workspace.port.publish"));
        ASSERT_TRUE(action_name_is_valid("policy.set_default"));
        ASSERT_FALSE(action_name_is_valid(""));
        ASSERT_FALSE(action_name_is_valid(".ping"));
        ASSERT_FALSE(action_name_is_valid("ping."));
        ASSERT_FALSE(action_name_is_valid("a..b"));
        ASSERT_FALSE(action_name_is_valid("Daemon.ping"));
        ASSERT_FALSE(action_name_is_valid("daemon ping"));
        ASSERT_FALSE(action_name_is_valid("daemon.*"));
}
