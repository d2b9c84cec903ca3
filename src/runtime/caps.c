/* Capability reduction in the workspace child. Raw capget/capset (no
 * libcap): nothing here may allocate. */
#include "runtime/caps.h"

#include "base/syscalls.h"

#include <errno.h>
#include <linux/capability.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <unistd.h>

uint64_t caps_default_set(void)
{
        /* Docker's default set. Each is scoped to what the workspace's
         * user namespace owns: its files (via the id mapping), its
         * processes, its network namespace. */
        return CAPS_BIT(CAP_CHOWN) | CAPS_BIT(CAP_DAC_OVERRIDE) | CAPS_BIT(CAP_FOWNER) |
               CAPS_BIT(CAP_FSETID) | CAPS_BIT(CAP_KILL) | CAPS_BIT(CAP_SETGID) | CAPS_BIT(CAP_SETUID) |
               CAPS_BIT(CAP_SETPCAP) | CAPS_BIT(CAP_NET_BIND_SERVICE) | CAPS_BIT(CAP_NET_RAW) |
               CAPS_BIT(CAP_SYS_CHROOT) | CAPS_BIT(CAP_MKNOD) | CAPS_BIT(CAP_AUDIT_WRITE) |
               CAPS_BIT(CAP_SETFCAP);
}

int caps_last_cap(void)
{
        /* PR_CAPBSET_READ fails with EINVAL past the last capability the
         * kernel knows; cheaper than /proc and works before /proc exists. */
        int last = 0;
        for (int c = 0; c < 64; c++) {
                if (prctl(PR_CAPBSET_READ, (unsigned long) c, 0, 0, 0) < 0)
                        break;
                last = c;
        }
        return last;
}

static int drop_bounding(uint64_t keep, int last)
{
        for (int c = 0; c <= last; c++) {
                if (keep & CAPS_BIT(c))
                        continue;
                if (prctl(PR_CAPBSET_DROP, (unsigned long) c, 0, 0, 0) < 0 && errno != EINVAL)
                        return -errno;
        }
        return 0;
}

static int clear_ambient(void)
{
        /* EINVAL: a kernel before ambient capabilities (4.3), nothing to clear. */
        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
                return -errno;
        return 0;
}

static int reduce_sets(uint64_t keep)
{
        struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
        struct __user_cap_data_struct data[2];

        if (sys_capget(&hdr, data) < 0)
                return -errno;
        for (int i = 0; i < 2; i++) {
                uint32_t k = (uint32_t) (keep >> (32 * i));
                data[i].permitted &= k;
                data[i].effective = data[i].permitted;
                data[i].inheritable = 0;
        }
        if (sys_capset(&hdr, data) < 0)
                return -errno;
        return 0;
}

int caps_reduce(uint64_t keep, const char **ret_what)
{
        const char *what;
        int r;

        /* The bounding set first: dropping from it needs CAP_SETPCAP,
         * which must still be effective. */
        what = "dropping capabilities from the bounding set";
        r = drop_bounding(keep, caps_last_cap());
        if (r == 0) {
                what = "clearing ambient capabilities";
                r = clear_ambient();
        }
        if (r == 0) {
                what = "reducing capability sets";
                r = reduce_sets(keep);
        }
        if (r < 0 && ret_what)
                *ret_what = what;
        return r;
}
