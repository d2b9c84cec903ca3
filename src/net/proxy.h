/* The port proxy behind published ports (SPEC §6): 127.0.0.1:HOST on the
 * host relays each TCP connection to WS_IP:PORT inside a workspace.
 *
 * One Proxy runs one thread with one epoll loop; every call below is
 * thread-safe and is carried out by that thread (a command queue woken
 * through an eventfd), returning once it is done. Bytes move with
 * splice(2) through one pipe per direction, so they never enter user
 * space and each connection holds at most two pipes' worth (a bounded
 * buffer); no thread per connection. When one side finishes sending, the
 * other side's write half is shut down (half-close), and the connection
 * is closed when both directions are done or either side fails. */
#pragma once

#include "base/error.h"

typedef struct Proxy Proxy;

typedef struct ProxyMapping {
        uint16_t host_port;   /* on 127.0.0.1 */
        uint32_t ws_addr;     /* host order */
        uint16_t ws_port;
        char *tag;            /* the owner given to proxy_publish() */
        unsigned connections; /* open now */
        uint64_t accepted;    /* since publish */
} ProxyMapping;

/* Start the proxy thread. The proxy connects to workspaces from the
 * network namespace of the calling thread. */
int proxy_new(Proxy **ret, Error *err);
/* Stop the thread and close every listener and connection. */
Proxy *proxy_free(Proxy *p);
DEFINE_CLEANUP_FUNC(Proxy, proxy_free);
#define _cleanup_proxy_ _cleanup_(proxy_freep)

/* Listen on 127.0.0.1:host_port (only there) and relay to
 * ws_addr:ws_port. A port that is taken is an error naming it. tag names
 * the owner (e.g. the workspace) for proxy_unpublish_tag(). */
int proxy_publish(Proxy *p, uint16_t host_port, uint32_t ws_addr, uint16_t ws_port, const char *tag, Error *err);
/* Close the listener and all of its connections; -ENOENT when the port
 * is not published here. */
int proxy_unpublish(Proxy *p, uint16_t host_port, Error *err);
/* Unpublish every mapping with this tag; returns how many. */
int proxy_unpublish_tag(Proxy *p, const char *tag);
/* The active mappings, ordered by host port. */
int proxy_list(Proxy *p, ProxyMapping **ret, size_t *ret_n, Error *err);
void proxy_mappings_free(ProxyMapping *m, size_t n);
