/* User-namespace id maps.
 *
 * A workspace's user namespace maps its ids 0..65535 onto the host
 * block uid_base..uid_base+65535 ("0 <base> 65536"). Idmapped mounts
 * need a user namespace that only describes a mapping: for a host
 * directory owned by uid 1000 that should appear as root inside, a
 * namespace with "1000 <base> 1" turns on-disk 1000 into the
 * workspace's root and back. idmap_userns_open() makes such a
 * namespace with a short-lived helper process and returns its fd. */
#pragma once

#include "base/error.h"

#include <stdint.h>
#include <sys/types.h>

typedef struct IdMapLine {
        uint32_t inside;  /* first id inside the namespace */
        uint32_t outside; /* first id in the parent (host) namespace */
        uint32_t count;
} IdMapLine;

/* Write one-line uid_map and gid_map of pid (a child in a fresh user
 * namespace, not yet mapped). */
int idmap_write(pid_t pid, const IdMapLine *uid, const IdMapLine *gid, Error *err);

/* A new user namespace with the given one-line maps, as an O_CLOEXEC fd
 * usable as mount_attr.userns_fd. */
int idmap_userns_open(const IdMapLine *uid, const IdMapLine *gid, Error *err);
