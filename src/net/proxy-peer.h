/* Who made a connection to a published port (net/proxy.h).
 *
 * Any user of the host may connect to 127.0.0.1:HOST, so the proxy
 * shares its relay slots per local user. Both ends of such a
 * connection are on this host's loopback: the kernel knows the client
 * socket and its owner, and sock_diag (NETLINK_SOCK_DIAG, an exact
 * lookup by the connection's addresses and ports) tells the uid. */
#pragma once

#include <netinet/in.h>
#include <sys/types.h>

/* The sock_diag socket (O_CLOEXEC), or a negative errno. */
int proxy_peer_open(void);

/* The uid owning the client's socket of the connection from client to
 * listener (the accepted socket's peer and local addresses). -ENOENT
 * when the client socket is gone already. */
int proxy_peer_uid(int diag_fd, const struct sockaddr_in *client, const struct sockaddr_in *listener, uid_t *ret);
