/* Which URLs a fetch takes, and where it may connect (docs/security.md "Client file
 * descriptors and quotas"). The daemon downloads from the host's own
 * network namespace, so a URL must not become a way to reach what only
 * the host can: loopback, link-local (cloud metadata), private and
 * other special-purpose addresses are refused unless root's
 * config.toml lists them in fetch_allow. The check runs on the address
 * each connection actually uses (after DNS, for every redirect), never
 * on the name in the URL. No libcurl here: config.toml validation and
 * the CLI use the parser too. */
#pragma once

#include "base/error.h"

#include <stdint.h>
#include <sys/socket.h>

#define FETCH_CIDR_MAX 64     /* entries of fetch_allow */

/* http:// or https:// with a host; no spaces or control characters. */
int fetch_check_url(const char *url, Error *err);

typedef struct FetchCidr {
        int family;           /* AF_INET or AF_INET6 */
        uint8_t addr[16];     /* network, in network byte order */
        unsigned prefix;
} FetchCidr;

/* "10.1.2.0/24", "127.0.0.1" (a /32), "fd00::/8", "::1". */
int fetch_cidr_parse(const char *s, FetchCidr *ret, Error *err);

/* Does the address (AF_INET or AF_INET6 sockaddr) lie in cidr? An
 * IPv4-mapped IPv6 address matches IPv4 entries. */
bool fetch_cidr_contains(const FetchCidr *cidr, const struct sockaddr *sa);

/* The special range sa lies in ("loopback", "link-local", "private",
 * ...), or NULL for a public unicast address. IPv4-mapped, NAT64 and
 * 6to4 IPv6 addresses are judged by the IPv4 address they carry. */
const char *fetch_dest_special(const struct sockaddr *sa);

/* Whether a connection to sa is allowed: public, or in one of the
 * allow entries (n of them). */
bool fetch_dest_allowed(const struct sockaddr *sa, const FetchCidr *allow, size_t n);
