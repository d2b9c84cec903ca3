/* Hard-link bookkeeping for tree walks: the first path seen for each
 * (device, inode) with a link count above one, so later names of the
 * same inode become links to it instead of copies. */
#pragma once

#include "base/macro.h"

#include <sys/types.h>

typedef struct InodeMapEntry {
        dev_t dev;
        ino_t ino;
        char *path; /* relative to the tree root */
} InodeMapEntry;

typedef struct InodeMap {
        InodeMapEntry *slots;
        size_t n_slots; /* power of two */
        size_t n_used;
} InodeMap;

#define INODE_MAP_INIT { NULL, 0, 0 }

/* The recorded path for (dev, ino), or NULL. */
const char *inode_map_get(const InodeMap *m, dev_t dev, ino_t ino);

/* Record path (copied) for (dev, ino); -EEXIST when already present. */
int inode_map_put(InodeMap *m, dev_t dev, ino_t ino, const char *path);

void inode_map_done(InodeMap *m);
#define _cleanup_inode_map_ _cleanup_(inode_map_done)
