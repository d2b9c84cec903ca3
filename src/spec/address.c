#include "spec/address.h"

#include "base/str.h"

#include <arpa/inet.h>
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

int net_subnet_parse(const char *s, NetSubnet *ret, Error *err)
{
        char addr[NET_ADDR_STRLEN];
        uint32_t a;
        int64_t prefix;

        const char *slash = s ? strchr(s, '/') : NULL;
        if (!slash || (size_t) (slash - s) >= sizeof addr)
                return error_set(err, EINVAL, "invalid subnet \"%s\": expected ADDRESS/PREFIX, e.g. 10.200.0.0/16",
                                 s ? s : "");
        memcpy(addr, s, (size_t) (slash - s));
        addr[slash - s] = 0;
        if (net_addr_parse(addr, &a) < 0)
                return error_set(err, EINVAL, "invalid subnet \"%s\": \"%s\" is not an IPv4 address", s, addr);
        if (parse_int64(slash + 1, 0, 32, &prefix) < 0)
                return error_set(err, EINVAL, "invalid subnet \"%s\": prefix must be a number 0-32", s);
        if (prefix < NET_SUBNET_PREFIX_MIN || prefix > NET_SUBNET_PREFIX_MAX)
                return error_set(err, EINVAL, "invalid subnet \"%s\": prefix must be /%d to /%d", s,
                                 NET_SUBNET_PREFIX_MIN, NET_SUBNET_PREFIX_MAX);
        uint32_t mask = prefix_mask((unsigned) prefix);
        if (a & ~mask) {
                char net[NET_ADDR_STRLEN];
                return error_set(err, EINVAL, "invalid subnet \"%s\": host bits are set; did you mean %s/%d?", s,
                                 net_addr_format(a & mask, net), (int) prefix);
        }
        unsigned first = a >> 24;
        if (first == 0 || first == 127 || (a & 0xffff0000u) == 0xa9fe0000u || first >= 224)
                return error_set(err, EINVAL,
                                 "invalid subnet \"%s\": reserved range (this-network, loopback, link-local or "
                                 "multicast); use a private range such as 10.200.0.0/16",
                                 s);
        *ret = (NetSubnet) { .network = a, .prefix = (uint8_t) prefix };
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
