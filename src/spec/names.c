/* Names that become path components (names.h). */
#include "spec/names.h"
#include "spec/values.h"

#include "base/str.h"

#include <stdio.h>
#include <time.h>

bool layout_sandbox_name_is_valid(const char *name)
{
        return name_is_valid(name) && !streq(name, LAYOUT_ROOTFS_CACHE);
}

bool layout_cache_name_is_valid(const char *name)
{
        return name && (streq(name, LAYOUT_CACHE_BASE) || debian_suite_is_known(name));
}

bool snapshot_name_is_valid(const char *name)
{
        return name && name_is_valid(name);
}

int snapshot_check_name(const char *name, Error *err)
{
        if (snapshot_name_is_valid(name))
                return 0;
        return error_set(err, EINVAL,
                         "invalid snapshot name \"%s\": use 1-%d letters, digits, '-' or '_', starting with a letter or digit",
                         name ? name : "", SNAPSHOT_NAME_MAX);
}

int snapshot_name_from_time(time_t t, unsigned seq, char *buf, size_t size)
{
        struct tm tm;
        if (!gmtime_r(&t, &tm))
                return -EINVAL;
        char stamp[32];
        if (strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm) == 0)
                return -EINVAL;
        int n = seq > 1 ? snprintf(buf, size, "%s-%u", stamp, seq) : snprintf(buf, size, "%s", stamp);
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}
