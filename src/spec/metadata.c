#include "spec/metadata.h"

#include "base/str.h"

#include <string.h>

const char *const net_metadata_blocked[NET_METADATA_BLOCKED_N + 1] = {
        "169.254.0.0/16",
        "100.100.100.200/32",
        NULL,
};

static const NetSubnet blocked[NET_METADATA_BLOCKED_N] = {
        { 0xa9fe0000u, 16 },
        { 0x646464c8u, 32 },
};

static uint32_t mask_of(unsigned prefix)
{
        return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

int net_metadata_allow_parse(const char *s, NetSubnet *ret, Error *err)
{
        char addr[NET_ADDR_STRLEN];
        int64_t prefix = 32;
        const char *slash = s ? strchr(s, '/') : NULL;
        size_t len = slash ? (size_t) (slash - s) : (s ? strlen(s) : 0);
        uint32_t a;
        if (!s || len >= sizeof addr)
                return error_set(err, EINVAL, "invalid address \"%s\": expected A.B.C.D or A.B.C.D/PREFIX",
                                 s ? s : "");
        memcpy(addr, s, len);
        addr[len] = 0;
        if (net_addr_parse(addr, &a) < 0)
                return error_set(err, EINVAL, "invalid address \"%s\": \"%s\" is not an IPv4 address", s, addr);
        if (slash && parse_int64(slash + 1, 0, 32, &prefix) < 0)
                return error_set(err, EINVAL, "invalid address \"%s\": the prefix must be a number 0-32", s);
        uint32_t mask = mask_of((unsigned) prefix);
        if (a & ~mask) {
                char net[NET_ADDR_STRLEN];
                return error_set(err, EINVAL, "invalid range \"%s\": host bits are set; did you mean %s/%d?", s,
                                 net_addr_format(a & mask, net), (int) prefix);
        }
        for (size_t i = 0; i < NET_METADATA_BLOCKED_N; i++)
                if (prefix >= blocked[i].prefix && (a & mask_of(blocked[i].prefix)) == blocked[i].network) {
                        *ret = (NetSubnet) { .network = a, .prefix = (uint8_t) prefix };
                        return 0;
                }
        return error_set(err, EINVAL, "\"%s\" is not inside a blocked metadata range (169.254.0.0/16, "
                         "100.100.100.200): workspaces reach it already, it needs no allowing", s);
}
