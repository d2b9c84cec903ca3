/* A workspace's port on the bridge: the names, interface group and MAC
 * that the links and the firewall derive from the bridge and the
 * leased address, so they agree without storing anything. Pure logic,
 * no kernel calls. Addresses, subnets and the address pool are values
 * (spec/address.h). */
#pragma once

#include "base/error.h"
#include "spec/address.h"

#include <net/if.h>

/* The host end of a workspace's veth: "ve" + 12 base32 characters of a
 * 64-bit hash of bridge and workspace id (14 chars, fits IFNAMSIZ).
 * Including the bridge keeps two daemons with equal workspace ids apart;
 * 60 bits make a collision among 1000 workspaces ~1e-12 likely. The same
 * inputs always give the same name, so a restarted daemon finds its
 * links again. */
int net_veth_name(const char *bridge, const char *workspace_id, char ret[static IFNAMSIZ]);

/* The interface group (IFLA_GROUP) of every workspace port of this
 * bridge: the bridge-layer firewall recognises "a port of this
 * instance" by it, so a port that lost its lease is dropped rather than
 * ignored. High bit set, the rest a hash of the bridge name: never the
 * default group 0, and two bridges share one with odds of 2^-31. */
uint32_t net_port_group(const char *bridge);

/* A locally administered unicast MAC derived from the address
 * (02:ec:a.b.c.d), so the bridge's static neighbour and fdb entries and
 * the firewall's port binding agree without storing anything. */
void net_mac_from_addr(uint32_t addr, uint8_t ret[static 6]);
/* "02:ec:0a:c8:00:02"; buf must hold 18 bytes. */
const char *net_mac_format(const uint8_t mac[static 6], char buf[static 18]);

/* Linux interface name rules: 1..15 bytes, no '/', ':', whitespace,
 * not "." or "..". */
bool net_ifname_is_valid(const char *s);
