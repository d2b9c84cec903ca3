/* Hard links in a tree copy shared by several threads: the first
 * thread to meet an inode with several names copies it, every later
 * name becomes a link to that copy. A thread meeting the inode while
 * its first copy is still being written waits for it to finish, so no
 * link ever points at a half-written file and no inode is copied twice.
 * The wait is safe: the thread copying a file never waits for anything
 * else. */
#pragma once

#include "storage/inode-map.h"

#include <pthread.h>

typedef struct CopyLinkKey {
        dev_t dev;
        ino_t ino;
} CopyLinkKey;

typedef struct CopyLinks {
        pthread_mutex_t lock;
        pthread_cond_t settled;
        InodeMap first;       /* where each inode's first name was copied */
        CopyLinkKey *copying; /* first copies being written: one per thread at most */
        size_t n_copying, max_copying;
        bool failed;          /* a first copy failed: the whole copy is failing */
} CopyLinks;

int copy_links_init(CopyLinks *l, size_t threads);
void copy_links_done(CopyLinks *l);

enum {
        COPY_LINK_FIRST = 0, /* copy the inode, then copy_links_settle() */
        COPY_LINK_EXISTS = 1, /* link to *ret_path (valid until copy_links_done) */
};

/* Look (dev, ino) up for the name at path (relative to the copy's
 * root). Returns COPY_LINK_FIRST, COPY_LINK_EXISTS, -ENOMEM, or
 * -ECANCELED when a first copy failed (that failure is the error to
 * report). */
int copy_links_claim(CopyLinks *l, dev_t dev, ino_t ino, const char *path, const char **ret_path);

/* The first copy of (dev, ino) claimed by this thread is complete (ok)
 * or failed. */
void copy_links_settle(CopyLinks *l, dev_t dev, ino_t ino, bool ok);
