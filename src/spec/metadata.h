/* Cloud metadata services: the destinations a workspace may not reach
 * by default (SPEC §6), and the allow list of config.toml
 * (`metadata_allow`) that reopens single addresses or ranges inside
 * them. Pure logic: the firewall backends turn these into rules.
 *
 * Blocked: 169.254.0.0/16 (link-local, where AWS, GCP, Azure, OpenStack,
 * Oracle and the ECS/EKS credential endpoints live) and 100.100.100.200
 * (Alibaba Cloud). */
#pragma once

#include "base/error.h"
#include "spec/address.h"

/* The blocked ranges, as "A.B.C.D/P" strings for rules and messages. */
extern const char *const net_metadata_blocked[];
#define NET_METADATA_BLOCKED_N 2

/* An allow-list entry: "A.B.C.D" or "A.B.C.D/P" (host bits zero) lying
 * inside a blocked range; anything else is refused with a message that
 * says why (an address outside them needs no allowing). */
int net_metadata_allow_parse(const char *s, NetSubnet *ret, Error *err);
/* Entries are formatted with net_subnet_format() ("A.B.C.D/32" for one
 * address). */
