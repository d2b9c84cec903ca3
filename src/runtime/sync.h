/* The one child-error protocol, and the parent/child synchronisation
 * channel that carries it.
 *
 * A child started in namespaces (runtime/nsclone.h) that fails before
 * it executes its program describes the failure in a SyncMsg: the step
 * it was at, the errno, and what it was doing ("mounting /proc").
 * sync_msg_error() is the one reader that turns it into an Error. The
 * message travels over a SOCK_SEQPACKET socketpair (workspace start,
 * debootstrap's namespaces), or stays in memory the child shares with
 * its parent (exec's vfork-style helpers).
 *
 * On the socket, fixed-size messages: the parent announces numbered
 * steps (optionally passing file descriptors with SCM_RIGHTS); the
 * child either reports the step it reached or a failure, and a clean
 * EOF (the socket is O_CLOEXEC) means it executed its program.
 *
 * Every function here is async-signal-safe (no malloc, no stdio, no
 * locks): the child side runs in a process cloned from a possibly
 * multi-threaded daemon. */
#pragma once

#include "base/error.h"

#include <stdint.h>

#include <limits.h>

/* What was done and to which path, whole. */
#define SYNC_TEXT_MAX (PATH_MAX + 256)
#define SYNC_MAX_FDS 8

typedef struct SyncMsg {
        uint32_t step;
        int32_t error;  /* 0: step reached; > 0: failed with this errno */
        uint32_t whole; /* text is a whole message (an Error's): nothing is appended */
        char text[SYNC_TEXT_MAX];
} SyncMsg;

/* Record a failure in *m: text is "what" followed by " " and "arg" when
 * arg is given (truncated to fit); an errnum <= 0 becomes EIO. */
void sync_msg_set_failure(SyncMsg *m, uint32_t step, int errnum, const char *what, const char *arg);

/* Record a failure as an Error the child already has (a child that runs
 * library code, like the copy of `workspace cp`): its code and whole
 * message. */
void sync_msg_set_error(SyncMsg *m, uint32_t step, const Error *err);

/* The one reader: a failure becomes an Error "<text>: <strerror>" (or
 * "<text>" when whole) and its negative errno. */
int sync_msg_error(const SyncMsg *m, Error *err);

/* socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC). */
int sync_pair(int fds[2]);

/* Send "step reached", with n_fds descriptors attached. */
int sync_send_step(int sock, uint32_t step, const int *fds, size_t n_fds);

/* Send "step reached" with a text: what a child that never executes
 * made of its work (where a copy went); truncated to fit. */
int sync_send_text(int sock, uint32_t step, const char *text);

/* Send a failure: text is "what" followed by " " and "arg" when arg is
 * given (truncated to fit). Errors while sending are ignored: the
 * caller exits right after and the parent then sees EOF. */
void sync_send_failure(int sock, uint32_t step, int errnum, const char *what, const char *arg);

/* Send a failure recorded with sync_msg_set_failure(); errors ignored
 * as above. */
void sync_send_msg(int sock, const SyncMsg *m);

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
