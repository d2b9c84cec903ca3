#include "net/port.h"

#include "base/str.h"

#include <ctype.h>
#include <string.h>

bool net_ifname_is_valid(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n == 0 || n >= IFNAMSIZ || streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *c = s; *c; c++)
                if (*c == '/' || *c == ':' || isspace((unsigned char) *c) || !isprint((unsigned char) *c))
                        return false;
        return true;
}

static uint64_t fnv1a64(uint64_t h, const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                h ^= (unsigned char) s[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

int net_veth_name(const char *bridge, const char *workspace_id, char ret[static IFNAMSIZ])
{
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

        if (!bridge || !workspace_id || !*workspace_id)
                return -EINVAL;
        /* The NUL separator keeps ("ab","c") and ("a","bc") apart. */
        uint64_t h = fnv1a64(0xcbf29ce484222325ULL, bridge, strlen(bridge) + 1);
        h = fnv1a64(h, workspace_id, strlen(workspace_id));
        /* FNV's low bits mix poorly for short inputs; fold in a finaliser. */
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        ret[0] = 'v';
        ret[1] = 'e';
        for (int i = 0; i < 12; i++)
                ret[2 + i] = alphabet[(h >> (5 * i)) & 31];
        ret[14] = 0;
        return 0;
}

uint32_t net_port_group(const char *bridge)
{
        uint64_t h = fnv1a64(0xcbf29ce484222325ULL, bridge, strlen(bridge));
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        return 0x80000000u | (uint32_t) (h & 0x7fffffff);
}

void net_mac_from_addr(uint32_t addr, uint8_t ret[static 6])
{
        ret[0] = 0x02; /* locally administered, unicast */
        ret[1] = 0xec;
        ret[2] = (uint8_t) (addr >> 24);
        ret[3] = (uint8_t) (addr >> 16);
        ret[4] = (uint8_t) (addr >> 8);
        ret[5] = (uint8_t) addr;
}

const char *net_mac_format(const uint8_t mac[static 6], char buf[static 18])
{
        snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
        return buf;
}
