/* A small rtnetlink client on top of libmnl.
 *
 * Requests are built into an NlBatch: one buffer holding several
 * messages, each with its own sequence number and a short description.
 * Every builder call is bounds-checked; an overflow is sticky and makes
 * nl_batch_send() fail with -E2BIG, so callers build without checking
 * each step. A batch goes to the kernel in one sendto(), and every
 * message is acknowledged; the first failure becomes an Error naming
 * the message ("adding address 10.200.0.1/16 to enclave0: File exists")
 * and carrying the kernel's own explanation (extended ack) when it gave
 * one. The kernel runs the messages of a batch in order and keeps going
 * after a failure, so a later message may depend on an earlier one but
 * the caller must undo partial work when the batch fails. */
#pragma once

#include "base/error.h"

#include <linux/netlink.h>

typedef struct NlSock NlSock;

/* A NETLINK_ROUTE socket in the caller's network namespace, with
 * extended acks, capped acks and strict dump checking enabled. */
int nl_open(NlSock **ret, Error *err);

/* Write an IPv6 sysctl of the socket's namespace, name relative to
 * /proc/sys/net/ipv6/conf ("eth0/disable_ipv6", "all/..."). A kernel
 * without IPv6 has nothing to write: 0. */
int nl_ipv6_sysctl_write(NlSock *s, const char *name, const char *value);
NlSock *nl_free(NlSock *s);
DEFINE_CLEANUP_FUNC(NlSock, nl_free);
#define _cleanup_nl_ _cleanup_(nl_freep)

#define NL_BATCH_SIZE 8192
#define NL_BATCH_MAX_MSGS 16

typedef struct NlBatch {
        size_t len;      /* bytes of finished messages */
        size_t n;        /* messages, including the open one */
        bool overflow;   /* sticky: a builder call did not fit */
        struct nlmsghdr *cur;
        const char *what[NL_BATCH_MAX_MSGS];
        _Alignas(NLMSG_ALIGNTO) char buf[NL_BATCH_SIZE];
} NlBatch;

void nl_batch_init(NlBatch *b);
/* Start a message; NLM_F_REQUEST|NLM_F_ACK are added to flags. what
 * describes it for error messages and must outlive the send. */
struct nlmsghdr *nl_msg_begin(NlBatch *b, uint16_t type, uint16_t flags, const char *what);
/* The family header (struct ifinfomsg, ifaddrmsg, ...), zeroed. Returns a
 * scratch area on overflow so callers may write to it unconditionally. */
void *nl_msg_put_header(NlBatch *b, size_t size);
void nl_put(NlBatch *b, uint16_t type, const void *data, size_t len);
void nl_put_u8(NlBatch *b, uint16_t type, uint8_t v);
void nl_put_u32(NlBatch *b, uint16_t type, uint32_t v);
void nl_put_str(NlBatch *b, uint16_t type, const char *s);
/* Nested attributes (NLA_F_NESTED set); end with nl_nest_end(). */
struct nlattr *nl_nest_begin(NlBatch *b, uint16_t type);
void nl_nest_end(NlBatch *b, struct nlattr *nest);

/* Send every message of the batch in one go and wait for all acks. */
int nl_batch_send(NlSock *s, NlBatch *b, Error *err);

/* Like nl_batch_send(), and replies other than acks (the answer to an
 * RTM_GET* request for one object) go to cb. */
typedef int (*NlReplyFn)(const struct nlmsghdr *nlh, void *userdata);
int nl_batch_call(NlSock *s, NlBatch *b, NlReplyFn cb, void *userdata, Error *err);

/* Send the batch's single request with NLM_F_DUMP and call cb for each
 * reply until the dump is done. cb returns < 0 to stop with that error. */
int nl_dump(NlSock *s, NlBatch *b, NlReplyFn cb, void *userdata, Error *err);

/* Enter the network namespace netns_fd with the calling thread only;
 * *ret_orig receives an fd for the namespace to return to. */
int netns_enter(int netns_fd, int *ret_orig);
/* Return the calling thread to orig and close it. A failure here would
 * leave the thread (and every socket it creates later) in the wrong
 * namespace, so it aborts instead of returning. */
void netns_leave(int orig);

/* Write value to a sysctl file (path below /proc/sys) of the calling
 * thread's network namespace. */
int net_sysctl_write(const char *path, const char *value);
/* The same, path relative to dir_fd. */
int net_sysctl_write_at(int dir_fd, const char *path, const char *value);
int net_sysctl_read_int(const char *path, int *ret);
