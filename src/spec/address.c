#include "spec/address.h"

#include "base/str.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Ipam {
        NetSubnet subnet;
        size_t nbits;   /* host offsets 0 .. 2^(32-prefix)-1 */
        size_t used;
        size_t hint;    /* no free offset below this one */
        uint64_t bits[];
};

int net_addr_parse(const char *s, uint32_t *ret)
{
        struct in_addr a;

        /* inet_pton accepts only the strict dotted-quad form. */
        if (!s || inet_pton(AF_INET, s, &a) != 1)
                return -EINVAL;
        *ret = ntohl(a.s_addr);
        return 0;
}

const char *net_addr_format(uint32_t addr, char buf[static NET_ADDR_STRLEN])
{
        snprintf(buf, NET_ADDR_STRLEN, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xff,
                 (addr >> 8) & 0xff, addr & 0xff);
        return buf;
}

static uint32_t prefix_mask(unsigned prefix)
{
        return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

/* One or two digits, nothing else: no sign, space or leading zeros
 * beyond two digits. */
static bool prefix_is_valid(const char *s)
{
        size_t n = strlen(s);
        return n >= 1 && n <= 2 && isdigit((unsigned char) s[0]) && (n == 1 || isdigit((unsigned char) s[1]));
}

int net_cidr_parse(const char *s, unsigned max_prefix, NetSubnet *ret, Error *err)
{
        const char *slash = strchr(s, '/');
        if (!slash)
                return error_set(err, EINVAL, "must be IPv4 CIDR notation like 10.200.0.0/16");
        char addr[NET_ADDR_STRLEN];
        size_t alen = (size_t) (slash - s);
        if (alen >= sizeof addr)
                return error_set(err, EINVAL, "has an invalid IPv4 address");
        memcpy(addr, s, alen);
        addr[alen] = 0;
        uint32_t a;
        if (net_addr_parse(addr, &a) < 0)
                return error_set(err, EINVAL, "has an invalid IPv4 address '%s'", addr);
        if (!prefix_is_valid(slash + 1))
                return error_set(err, EINVAL, "has an invalid prefix length '%s'", slash + 1);
        unsigned prefix = (unsigned) atoi(slash + 1);
        if (prefix < NET_SUBNET_PREFIX_MIN || prefix > max_prefix)
                return error_set(err, ERANGE,
                                 "has prefix /%u; use /%u to /%u (room for the bridge and workspaces, not more than a /8)",
                                 prefix, NET_SUBNET_PREFIX_MIN, max_prefix);
        uint32_t mask = prefix_mask(prefix);
        if (a & ~mask) {
                char net[NET_ADDR_STRLEN];
                return error_set(err, EINVAL, "is not a network address (host bits set); did you mean %s/%u?",
                                 net_addr_format(a & mask, net), prefix);
        }
        *ret = (NetSubnet) { .network = a, .prefix = (uint8_t) prefix };
        return 0;
}

/* 0/8, loopback, link-local, multicast and above. */
static bool subnet_is_reserved(const NetSubnet *n)
{
        unsigned first = n->network >> 24;
        return first == 0 || first == 127 || (n->network & 0xffff0000u) == 0xa9fe0000u || first >= 224;
}

int net_subnet_parse(const char *s, NetSubnet *ret, Error *err)
{
        _cleanup_error_ Error e = ERROR_INIT;
        NetSubnet n;
        if (!s)
                s = "";
        if (net_cidr_parse(s, NET_SUBNET_PREFIX_MAX, &n, &e) < 0)
                return error_set(err, EINVAL, "invalid subnet \"%s\": it %s", s, error_msg(&e));
        if (subnet_is_reserved(&n))
                return error_set(err, EINVAL,
                                 "invalid subnet \"%s\": reserved range (this-network, loopback, link-local or "
                                 "multicast); use a private range such as 10.200.0.0/16",
                                 s);
        *ret = n;
        return 0;
}

const char *net_subnet_format(const NetSubnet *s, char buf[static NET_SUBNET_STRLEN])
{
        char a[NET_ADDR_STRLEN];
        snprintf(buf, NET_SUBNET_STRLEN, "%s/%u", net_addr_format(s->network, a), (unsigned) s->prefix);
        return buf;
}

uint32_t net_subnet_mask(const NetSubnet *s)
{
        return prefix_mask(s->prefix);
}

uint32_t net_subnet_gateway(const NetSubnet *s)
{
        return s->network + 1;
}

uint32_t net_subnet_broadcast(const NetSubnet *s)
{
        return s->network | ~net_subnet_mask(s);
}

size_t net_subnet_capacity(const NetSubnet *s)
{
        /* minus network, gateway and broadcast */
        return ((size_t) 1 << (32 - s->prefix)) - 3;
}

bool net_subnet_contains(const NetSubnet *s, uint32_t addr)
{
        return (addr & net_subnet_mask(s)) == s->network;
}

bool net_subnets_overlap(const NetSubnet *a, const NetSubnet *b)
{
        uint32_t mask = prefix_mask(a->prefix < b->prefix ? a->prefix : b->prefix);
        return (a->network & mask) == (b->network & mask);
}

bool net_subnet_is_leasable(const NetSubnet *s, uint32_t addr)
{
        return net_subnet_contains(s, addr) && addr != s->network && addr != net_subnet_gateway(s) &&
               addr != net_subnet_broadcast(s);
}

int ipam_new(const NetSubnet *s, Ipam **ret)
{
        if (s->prefix < NET_SUBNET_PREFIX_MIN || s->prefix > NET_SUBNET_PREFIX_MAX)
                return -EINVAL;
        size_t nbits = (size_t) 1 << (32 - s->prefix);
        size_t words = (nbits + 63) / 64;
        Ipam *p = calloc(1, sizeof(Ipam) + words * sizeof(uint64_t));
        if (!p)
                return -ENOMEM;
        p->subnet = *s;
        p->nbits = nbits;
        /* Offsets 0 (network), 1 (gateway) and the last (broadcast) are
         * never free; marking them keeps allocate a plain bit scan. */
        p->bits[0] |= 3;
        p->bits[(nbits - 1) / 64] |= (uint64_t) 1 << ((nbits - 1) % 64);
        p->hint = 2;
        *ret = p;
        return 0;
}

Ipam *ipam_free(Ipam *p)
{
        free(p);
        return NULL;
}

static bool bit_get(const Ipam *p, size_t i)
{
        return p->bits[i / 64] & ((uint64_t) 1 << (i % 64));
}

static void bit_put(Ipam *p, size_t i, bool on)
{
        if (on)
                p->bits[i / 64] |= (uint64_t) 1 << (i % 64);
        else
                p->bits[i / 64] &= ~((uint64_t) 1 << (i % 64));
}

int ipam_mark_used(Ipam *p, uint32_t addr)
{
        if (!net_subnet_is_leasable(&p->subnet, addr))
                return -ERANGE;
        size_t i = addr - p->subnet.network;
        if (bit_get(p, i))
                return -EEXIST;
        bit_put(p, i, true);
        p->used++;
        return 0;
}

int ipam_allocate(Ipam *p, uint32_t *ret)
{
        for (size_t w = p->hint / 64; w < (p->nbits + 63) / 64; w++) {
                uint64_t free_bits = ~p->bits[w];
                if (w == p->hint / 64)
                        free_bits &= UINT64_MAX << (p->hint % 64);
                if (!free_bits)
                        continue;
                size_t i = w * 64 + (size_t) __builtin_ctzll(free_bits);
                if (i >= p->nbits)
                        break;
                bit_put(p, i, true);
                p->used++;
                p->hint = i + 1;
                *ret = p->subnet.network + (uint32_t) i;
                return 0;
        }
        p->hint = p->nbits;
        return -ENOSPC;
}

int ipam_release(Ipam *p, uint32_t addr)
{
        if (!net_subnet_is_leasable(&p->subnet, addr))
                return -ERANGE;
        size_t i = addr - p->subnet.network;
        if (!bit_get(p, i))
                return -ENOENT;
        bit_put(p, i, false);
        p->used--;
        if (i < p->hint)
                p->hint = i;
        return 0;
}

bool ipam_is_used(const Ipam *p, uint32_t addr)
{
        return net_subnet_contains(&p->subnet, addr) && bit_get(p, addr - p->subnet.network);
}

size_t ipam_used_count(const Ipam *p)
{
        return p->used;
}

int ipam_lowest_free(const NetSubnet *s, const uint32_t *used, size_t n_used, uint32_t *ret)
{
        _cleanup_ipam_ Ipam *p = NULL;
        int r = ipam_new(s, &p);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n_used; i++)
                (void) ipam_mark_used(p, used[i]);
        return ipam_allocate(p, ret);
}
