/* What a URL fetch may fetch and where it may connect (fetch-dest.h). */
#include "spec/fetch-dest.h"
#include "base/str.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

int fetch_check_url(const char *url, Error *err)
{
        const char *rest = url ? (startswith(url, "http://") ?: startswith(url, "https://")) : NULL;
        if (!rest)
                return error_set(err, EINVAL, "only http:// and https:// URLs can be fetched");
        if (*rest == 0 || *rest == '/' || *rest == '@')
                return error_set(err, EINVAL, "URL has no host");
        for (const char *p = url; *p; p++)
                if (*p <= ' ' || *p == 0x7f)
                        return error_set(err, EINVAL, "URL contains a space or control character");
        if (strlen(url) > 8192)
                return error_set(err, EINVAL, "URL is too long");
        return 0;
}

typedef struct Range {
        uint8_t addr[16];
        unsigned prefix;
        const char *what;
} Range;

#define V4(a, b, c, d) { a, b, c, d }

/* Special-purpose IPv4 blocks (RFC 6890 and successors). */
static const Range ranges4[] = {
        { V4(0, 0, 0, 0), 8, "'this network'" },
        { V4(10, 0, 0, 0), 8, "private" },
        { V4(100, 64, 0, 0), 10, "shared (carrier-grade NAT, cloud metadata)" },
        { V4(127, 0, 0, 0), 8, "loopback" },
        { V4(169, 254, 0, 0), 16, "link-local (cloud metadata)" },
        { V4(172, 16, 0, 0), 12, "private" },
        { V4(192, 0, 0, 0), 24, "IETF protocol assignment" },
        { V4(192, 0, 2, 0), 24, "documentation" },
        { V4(192, 88, 99, 0), 24, "6to4 relay" },
        { V4(192, 168, 0, 0), 16, "private" },
        { V4(198, 18, 0, 0), 15, "benchmarking" },
        { V4(198, 51, 100, 0), 24, "documentation" },
        { V4(203, 0, 113, 0), 24, "documentation" },
        { V4(224, 0, 0, 0), 4, "multicast" },
        { V4(240, 0, 0, 0), 4, "reserved" },
};

/* Special-purpose IPv6 blocks; those that carry an IPv4 address
 * (mapped, NAT64, 6to4) are judged by it before these. */
static const Range ranges6[] = {
        { { 0 }, 128, "unspecified" },
        { { [15] = 1 }, 128, "loopback" },
        { { 0 }, 8, "reserved" },
        { { 0x00, 0x64, 0xff, 0x9b, 0x00, 0x01 }, 48, "local NAT64" },
        { { 0x01, 0x00 }, 64, "discard" },
        { { 0x20, 0x01, 0x00, 0x00 }, 23, "IETF protocol assignment (Teredo, ...)" },
        { { 0x20, 0x01, 0x0d, 0xb8 }, 32, "documentation" },
        { { 0x3f, 0xff }, 20, "documentation" },
        { { 0xfc }, 7, "private (unique local)" },
        { { 0xfe, 0x80 }, 10, "link-local" },
        { { 0xfe, 0xc0 }, 10, "site-local" },
        { { 0xff }, 8, "multicast" },
};

static bool prefix_match(const uint8_t *a, const uint8_t *net, unsigned prefix)
{
        unsigned full = prefix / 8, rest = prefix % 8;
        if (memcmp(a, net, full) != 0)
                return false;
        if (rest == 0)
                return true;
        uint8_t mask = (uint8_t) (0xff << (8 - rest));
        return (a[full] & mask) == (net[full] & mask);
}

/* The IPv4 address an IPv6 one carries (mapped, NAT64 64:ff9b::/96,
 * 6to4 2002::/16), if any. */
static bool embedded_v4(const uint8_t *a6, uint8_t ret[4])
{
        static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
        static const uint8_t nat64[12] = { 0x00, 0x64, 0xff, 0x9b };
        if (memcmp(a6, mapped, 12) == 0 || memcmp(a6, nat64, 12) == 0) {
                memcpy(ret, a6 + 12, 4);
                return true;
        }
        if (a6[0] == 0x20 && a6[1] == 0x02) {
                memcpy(ret, a6 + 2, 4);
                return true;
        }
        return false;
}

static const char *special4(const uint8_t *a)
{
        for (size_t i = 0; i < ELEMENTSOF(ranges4); i++)
                if (prefix_match(a, ranges4[i].addr, ranges4[i].prefix))
                        return ranges4[i].what;
        return NULL;
}

/* The address bytes of sa: 4 for AF_INET, 16 for AF_INET6, else 0. */
static size_t sockaddr_bytes(const struct sockaddr *sa, const uint8_t **ret)
{
        if (sa->sa_family == AF_INET) {
                *ret = (const uint8_t *) &((const struct sockaddr_in *) sa)->sin_addr;
                return 4;
        }
        if (sa->sa_family == AF_INET6) {
                *ret = (const uint8_t *) &((const struct sockaddr_in6 *) sa)->sin6_addr;
                return 16;
        }
        return 0;
}

const char *fetch_dest_special(const struct sockaddr *sa)
{
        const uint8_t *a;
        size_t n = sockaddr_bytes(sa, &a);
        if (n == 4)
                return special4(a);
        if (n != 16)
                return "not an internet address";
        uint8_t v4[4];
        if (embedded_v4(a, v4))
                return special4(v4); /* where the packets really go */
        for (size_t i = 0; i < ELEMENTSOF(ranges6); i++)
                if (prefix_match(a, ranges6[i].addr, ranges6[i].prefix))
                        return ranges6[i].what;
        return NULL;
}

bool fetch_cidr_contains(const FetchCidr *cidr, const struct sockaddr *sa)
{
        const uint8_t *a;
        size_t n = sockaddr_bytes(sa, &a);
        uint8_t v4[4];
        if (n == 16 && cidr->family == AF_INET) {
                static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };
                if (memcmp(a, mapped, 12) != 0)
                        return false;
                memcpy(v4, a + 12, 4);
                a = v4;
                n = 4;
        }
        if ((n == 4 && cidr->family != AF_INET) || (n == 16 && cidr->family != AF_INET6) || n == 0)
                return false;
        return prefix_match(a, cidr->addr, cidr->prefix);
}

bool fetch_dest_allowed(const struct sockaddr *sa, const FetchCidr *allow, size_t n)
{
        if (!fetch_dest_special(sa))
                return sa->sa_family == AF_INET || sa->sa_family == AF_INET6;
        for (size_t i = 0; i < n; i++)
                if (fetch_cidr_contains(&allow[i], sa))
                        return true;
        return false;
}

int fetch_cidr_parse(const char *s, FetchCidr *ret, Error *err)
{
        if (!s || !*s || strlen(s) > 64)
                return error_set(err, EINVAL, "'%s' is not an address or network (e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8)",
                                 s ? s : "");
        char buf[65];
        snprintf(buf, sizeof buf, "%s", s);
        char *slash = strchr(buf, '/');
        if (slash)
                *slash = 0;
        FetchCidr c = {};
        unsigned max;
        if (inet_pton(AF_INET, buf, c.addr) == 1) {
                c.family = AF_INET;
                max = 32;
        } else if (inet_pton(AF_INET6, buf, c.addr) == 1) {
                c.family = AF_INET6;
                max = 128;
        } else
                return error_set(err, EINVAL, "'%s' is not an address or network (e.g. 127.0.0.1, 10.0.0.0/8, fd00::/8)",
                                 s);
        c.prefix = max;
        if (slash) {
                char *end = NULL;
                errno = 0;
                unsigned long p = strtoul(slash + 1, &end, 10);
                if (!slash[1] || *end || errno || p > max || !(slash[1] >= '0' && slash[1] <= '9'))
                        return error_set(err, EINVAL, "'%s' has an invalid prefix length (0-%u)", s, max);
                c.prefix = (unsigned) p;
        }
        /* Host bits must be clear: "10.1.2.3/8" is probably a typo. */
        FetchCidr probe = c;
        for (unsigned bit = c.prefix; bit < max; bit++)
                probe.addr[bit / 8] &= (uint8_t) ~(0x80 >> (bit % 8));
        if (memcmp(probe.addr, c.addr, sizeof c.addr) != 0)
                return error_set(err, EINVAL, "'%s' has host bits set after the /%u prefix", s, c.prefix);
        *ret = c;
        return 0;
}
