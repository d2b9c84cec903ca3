/* The daemon's listening socket (SPEC §4): its directory is created
 * 0755 root, the socket is 0660 root:enclave when the group `enclave`
 * exists and 0600 otherwise. A socket file left by a dead daemon is
 * removed only after checking that nothing answers on it. */
#pragma once

#include "base/error.h"

#include <sys/types.h>

/* Identity of the socket file we bound, so we never remove a socket
 * another daemon has bound at the same path since. */
typedef struct SocketId {
        dev_t dev;
        ino_t ino;
} SocketId;

#define DAEMON_SOCKET_GROUP "enclave"

/* Returns a non-blocking listening fd or a negative errno. */
int daemon_socket_open(const char *path, SocketId *ret_id, Error *err);
void daemon_socket_remove(const char *path, const SocketId *id);
