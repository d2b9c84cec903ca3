/* User-namespace id maps.
 *
 * A workspace's user namespace maps its ids 0..65535 onto the host
 * block uid_base..uid_base+65535 ("0 <base> 65536"). Idmapped mounts
 * need a user namespace that only describes a mapping: for a host
 * directory owned by uid 1000 that should appear as root inside, a
 * namespace with "1000 <base> 1" and "<base+1> <base+1> 65535" turns
 * on-disk 1000 into the workspace's root and back, and every other id
 * of the workspace into its own host id. idmap_userns_open() makes such
 * a namespace with a short-lived helper process and returns its fd. */
#pragma once

#include "base/error.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct IdMapLine {
        uint32_t inside;  /* first id inside the namespace */
        uint32_t outside; /* first id in the parent (host) namespace */
        uint32_t count;
} IdMapLine;

/* A map of a few lines (the kernel takes up to 340; nothing here needs
 * more than two). */
#define IDMAP_LINES_MAX 4
typedef struct IdMap {
        IdMapLine line[IDMAP_LINES_MAX];
        size_t n;
} IdMap;

/* Write uid_map and gid_map of pid (a child in a fresh user namespace,
 * not yet mapped): one line each, or whole maps. */
int idmap_write(pid_t pid, const IdMapLine *uid, const IdMapLine *gid, Error *err);
int idmap_write_maps(pid_t pid, const IdMap *uid, const IdMap *gid, Error *err);

/* A new user namespace with the given maps, as an O_CLOEXEC fd usable
 * as mount_attr.userns_fd. */
int idmap_userns_open(const IdMapLine *uid, const IdMapLine *gid, Error *err);
int idmap_userns_open_maps(const IdMap *uid, const IdMap *gid, Error *err);
