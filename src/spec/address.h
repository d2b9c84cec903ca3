/* IPv4 addresses and subnets as values: parse, format, and the
 * arithmetic of a workspace subnet (network, gateway, broadcast, what
 * can be leased). Pure logic: config.toml validation, the registry, the
 * firewall and the address pool (net/port.h) share it. Addresses are
 * uint32_t in host byte order throughout, so they compare and sort as
 * numbers. */
#pragma once

#include "base/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_ADDR_STRLEN 16 /* "255.255.255.255" + NUL */
#define NET_SUBNET_STRLEN 20 /* "255.255.255.255/255" + NUL, the widest a uint8_t prefix formats */

typedef struct NetSubnet {
        uint32_t network; /* host order, host bits zero */
        uint8_t prefix;   /* NET_SUBNET_PREFIX_MIN..NET_SUBNET_PREFIX_MAX */
} NetSubnet;

/* /8 keeps the allocation bitmap at 2 MiB; /29 leaves 5 workspaces. */
#define NET_SUBNET_PREFIX_MIN 8
#define NET_SUBNET_PREFIX_MAX 29
/* config.toml's `subnet` keeps room for 13 workspaces. */
#define CONFIG_SUBNET_PREFIX_MAX 28

/* Dotted quad to host order; -EINVAL for anything else. */
int net_addr_parse(const char *s, uint32_t *ret);
/* Host order to dotted quad; returns buf. */
const char *net_addr_format(uint32_t addr, char buf[static NET_ADDR_STRLEN]);

/* The one parser of IPv4 subnets: "A.B.C.D/N", a dotted quad, a prefix
 * of one or two digits from NET_SUBNET_PREFIX_MIN to max_prefix, no
 * host bits set. Its errors go on from the subnet ("... has prefix /30;
 * use /8 to /29 ..."); -ERANGE for a prefix out of range, else -EINVAL.
 * Callers add their own rules. */
int net_cidr_parse(const char *s, unsigned max_prefix, NetSubnet *ret, Error *err);
/* A workspace subnet: net_cidr_parse() up to NET_SUBNET_PREFIX_MAX, and
 * not a range that cannot carry workspace traffic (0/8, loopback,
 * link-local, multicast and above). -EINVAL for every error. */
int net_subnet_parse(const char *s, NetSubnet *ret, Error *err);
const char *net_subnet_format(const NetSubnet *s, char buf[static NET_SUBNET_STRLEN]);

uint32_t net_subnet_mask(const NetSubnet *s);
/* First host address: the bridge's own address, the workspaces' gateway. */
uint32_t net_subnet_gateway(const NetSubnet *s);
uint32_t net_subnet_broadcast(const NetSubnet *s);
/* Addresses a workspace can lease (all hosts minus the gateway). */
size_t net_subnet_capacity(const NetSubnet *s);
bool net_subnet_contains(const NetSubnet *s, uint32_t addr);
bool net_subnets_overlap(const NetSubnet *a, const NetSubnet *b);
/* True for an address a workspace may lease: inside, not network,
 * gateway or broadcast. */
bool net_subnet_is_leasable(const NetSubnet *s, uint32_t addr);

/* Stateless allocation: the lowest leasable address not in used[] (any
 * order, duplicates and foreign addresses ignored); -ENOSPC when full. */
int ipam_lowest_free(const NetSubnet *s, const uint32_t *used, size_t n_used, uint32_t *ret);

/* A compact in-memory pool: one bit per host address (8 KiB for a /16).
 * Build it from the registry's leases with ipam_mark_used(), then
 * allocate and release as workspaces come and go. */
typedef struct Ipam Ipam;

int ipam_new(const NetSubnet *s, Ipam **ret);
Ipam *ipam_free(Ipam *p);
DEFINE_CLEANUP_FUNC(Ipam, ipam_free);
#define _cleanup_ipam_ _cleanup_(ipam_freep)

/* -ERANGE when addr is not leasable, -EEXIST when already in use. */
int ipam_mark_used(Ipam *p, uint32_t addr);
/* Take the lowest free address; -ENOSPC when none is left. */
int ipam_allocate(Ipam *p, uint32_t *ret);
/* -ERANGE when not leasable, -ENOENT when it was not in use. */
int ipam_release(Ipam *p, uint32_t addr);
bool ipam_is_used(const Ipam *p, uint32_t addr);
size_t ipam_used_count(const Ipam *p);
