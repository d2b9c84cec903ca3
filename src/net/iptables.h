/* Running iptables-restore and iptables-save, the one way Enclave changes
 * iptables rules (the iptables backend, and the FORWARD accept rules next
 * to a Docker DROP policy). Both flavours are supported: "nft" (the
 * iptables-nft compatibility layer over nf_tables) and "legacy" (the old
 * x_tables); the host's own `iptables` command decides which one counts.
 * Input goes in through a memfd and output comes back through one, so a
 * large ruleset can never deadlock on a pipe. */
#pragma once

#include "base/error.h"

typedef enum IptFlavour {
        IPT_FLAVOUR_NFT,
        IPT_FLAVOUR_LEGACY,
        _IPT_FLAVOUR_MAX,
        _IPT_FLAVOUR_INVALID = -EINVAL,
} IptFlavour;

const char *ipt_flavour_to_string(IptFlavour f);

/* The flavour of the host's `iptables` (from what the command resolves
 * to: xtables-nft-multi, iptables-legacy, ...); -ENOENT when iptables is
 * not installed. */
int ipt_detect_flavour(IptFlavour *ret);

/* Whether restore and save binaries of that flavour are installed. */
bool ipt_flavour_available(IptFlavour f);

/* True when the flavour's table (e.g. "filter") exists in this network
 * namespace. Checked without touching iptables, which would create it. */
bool ipt_table_present(IptFlavour f, const char *table);

/* `iptables-restore --noflush --wait` with input on stdin. The error
 * carries what the tool printed. */
int ipt_restore(IptFlavour f, const char *input, Error *err);

/* `iptables-save -t table`, the output in *ret. */
int ipt_save(IptFlavour f, const char *table, char **ret, Error *err);

/* `modprobe MODULE`, for a kernel module the iptables backend needs and
 * a stock kernel does not load by itself (br_netfilter on Debian 12). */
int ipt_modprobe(const char *module, Error *err);
