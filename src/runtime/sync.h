/* The parent/child synchronisation channel of a workspace spawn.
 *
 * A SOCK_SEQPACKET socketpair carries fixed-size messages: a step
 * number, an errno and a short text. The parent announces numbered
 * steps (optionally passing file descriptors with SCM_RIGHTS); the
 * child either reports the step it reached or a failure (step, errno,
 * what it was doing), which the parent turns into a precise Error.
 *
 * Every function here is async-signal-safe (no malloc, no stdio, no
 * locks): the child side runs in a process cloned from a possibly
 * multi-threaded daemon. */
#pragma once

#include "base/error.h"

#include <stdint.h>

#define SYNC_TEXT_MAX 240
#define SYNC_MAX_FDS 8

typedef struct SyncMsg {
        uint32_t step;
        int32_t error;  /* 0: step reached; > 0: failed with this errno */
        char text[SYNC_TEXT_MAX];
} SyncMsg;

/* socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC). */
int sync_pair(int fds[2]);

/* Send "step reached", with n_fds descriptors attached. */
int sync_send_step(int sock, uint32_t step, const int *fds, size_t n_fds);

/* Send a failure: text is "what" followed by " " and "arg" when arg is
 * given (truncated to fit). Errors while sending are ignored: the
 * caller exits right after and the parent then sees EOF. */
void sync_send_failure(int sock, uint32_t step, int errnum, const char *what, const char *arg);

/* Receive one message. Returns 1 with *ret filled (and up to n_fds
 * received descriptors in fds[], the rest set to -EBADF), 0 on EOF, or
 * a negative errno. Received fds are O_CLOEXEC. */
int sync_recv(int sock, SyncMsg *ret, int *fds, size_t n_fds);

/* Parent side: wait for `step`. A failure message becomes an Error
 * ("<text>: <strerror>"), EOF becomes -EPIPE "child exited during
 * <what>". */
int sync_expect(int sock, uint32_t step, const char *what, int *fds, size_t n_fds, Error *err);

/* Async-signal-safe string helpers for child code. */
size_t sync_strlcpy(char *dst, const char *src, size_t size);
size_t sync_strlcat(char *dst, const char *src, size_t size);
/* Decimal rendering of v into buf (>= 21 bytes); returns buf. */
char *sync_utoa(uint64_t v, char *buf);
