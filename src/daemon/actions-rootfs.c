/* rootfs.export, rootfs.import, rootfs.fetch: the cached root
 * filesystems <state>/sandboxes/rootfs-cache/<suite|base>/ (SPEC §2, §4;
 * src/storage/rootfs-cache.h).
 *
 * Archives are files of the user: the CLI opens (import) or creates
 * (export) them with the user's own rights and passes the fd, so the
 * daemon never opens a user's path as root. */
#include "daemon/action.h"
#include "daemon/actions-storage.h"
#include "daemon/call.h"
#include "daemon/daemon.h"
#include "spec/values.h"
#include "storage/layout.h"
#include "storage/rootfs-cache.h"
#include "base/log.h"
#include "base/str.h"

#include <fcntl.h>
#include <sys/stat.h>

/* Exactly one of "suite": S or "base": true. */
static int param_cache(Call *c, const char **ret, Error *err)
{
        const char *suite;
        bool base;
        int r = call_param_string(c, "suite", false, &suite, err);
        if (r >= 0)
                r = call_param_bool(c, "base", false, &base, err);
        if (r < 0)
                return r;
        if (!!suite == base)
                return error_set(err, EINVAL, "name exactly one cache: a suite (--suite S) or the generic one (--base)");
        if (base) {
                *ret = LAYOUT_CACHE_BASE;
                return 0;
        }
        r = debian_suite_check(suite, NULL, err);
        if (r < 0)
                return r;
        *ret = suite;
        return 0;
}

static int reply_stats(Call *c, const char *cache, const TarballStats *st, Error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = layout_rootfs_cache_dir(call_daemon(c)->engine.settings.state_dir, cache, &dir, err);
        if (r < 0)
                return r;
        if (st->skipped_devices > 0)
                log_info("rootfs: left %llu device node(s) out of the %s cache", (unsigned long long) st->skipped_devices,
                         cache);
        return call_reply(c, json_pack("{s:s, s:s, s:I, s:I, s:I}", "cache", cache, "path", dir, "entries",
                                       (json_int_t) st->entries, "bytes", (json_int_t) st->bytes, "skipped_devices",
                                       (json_int_t) st->skipped_devices),
                          -EBADF);
}

static int action_rootfs_export(Call *c, Error *err)
{
        const char *cache;
        TarballCompression comp = TARBALL_NONE;
        _cleanup_client_stream_ ClientStream *out = NULL;
        int r = param_cache(c, &cache, err);
        if (r >= 0)
                r = call_param_compression(c, &comp, err);
        /* Only a regular file or a pipe, never a device or a socket the
         * client had lying around (client-fd.h). */
        if (r >= 0)
                r = call_take_archive(c, "rootfs.export", true, &out, err);
        if (r < 0)
                return r;
        int fd = client_stream_fd(out);
        StorageMonitor mon = call_storage_monitor(c);
        TarballStats stats = {};
        r = rootfs_cache_export_fd(call_daemon(c)->engine.settings.state_dir, cache, fd, comp, &mon, &stats, err);
        if (r < 0)
                return r;
        r = call_archive_finish(&out, err);
        if (r < 0)
                return r;
        log_info("rootfs: exported the %s cache (%llu entries, by uid %u)", cache,
                 (unsigned long long) stats.entries, (unsigned) call_uid(c));
        return reply_stats(c, cache, &stats, err);
}

static int action_rootfs_import(Call *c, Error *err)
{
        const char *cache;
        bool replace;
        _cleanup_client_stream_ ClientStream *in = NULL;
        int r = param_cache(c, &cache, err);
        if (r >= 0)
                r = call_param_bool(c, "replace", false, &replace, err);
        if (r >= 0)
                r = call_take_archive(c, "rootfs.import", false, &in, err);
        if (r < 0)
                return r;
        StorageMonitor mon = call_storage_monitor(c);
        TarballStats stats = {};
        r = rootfs_cache_import_fd(call_daemon(c)->engine.settings.state_dir, cache, client_stream_fd(in), replace, &mon,
                                   &stats, err);
        if (r < 0)
                return r;
        log_info("rootfs: imported the %s cache (%llu entries, by uid %u)", cache,
                 (unsigned long long) stats.entries, (unsigned) call_uid(c));
        return reply_stats(c, cache, &stats, err);
}

static int action_rootfs_fetch(Call *c, Error *err)
{
        const char *cache, *url;
        bool replace;
        int r = param_cache(c, &cache, err);
        if (r >= 0)
                r = call_param_string(c, "url", true, &url, err);
        if (r >= 0)
                r = call_param_bool(c, "replace", false, &replace, err);
        if (r < 0)
                return r;
        /* Root's config.toml decides how much may come down and which
         * special destinations are fine (checked when it was loaded). */
        const Settings *s = &call_daemon(c)->engine.settings;
        FetchCidr allow[FETCH_CIDR_MAX];
        size_t n_allow = 0;
        STRV_FOREACH(a, s->fetch_allow)
                if (n_allow < ELEMENTSOF(allow) && fetch_cidr_parse(*a, &allow[n_allow], NULL) >= 0)
                        n_allow++;
        StorageMonitor mon = call_storage_monitor(c);
        TarballStats stats = {};
        FetchOptions o = { .max_bytes = s->fetch_max_bytes, .allow = allow, .n_allow = n_allow };
        r = rootfs_cache_fetch(call_daemon(c)->engine.settings.state_dir, cache, url, replace, &o, &mon, &stats, err);
        if (r < 0)
                return r;
        log_info("rootfs: fetched the %s cache (%llu entries, by uid %u)", cache, (unsigned long long) stats.entries,
                 (unsigned) call_uid(c));
        return reply_stats(c, cache, &stats, err);
}

/* The caches are shared: root's sandboxes are built from them, so only
 * root fills or replaces them. Anyone may read one out (what a sandbox
 * made from it would show its owner anyway). */
const Action rootfs_actions[] = {
        { PROTO_ACTION_ROOTFS_EXPORT, action_rootfs_export, ACTION_LONG },
        { PROTO_ACTION_ROOTFS_IMPORT, action_rootfs_import, ACTION_LONG | ACTION_MUTATES | ACTION_ROOT_ONLY },
        { PROTO_ACTION_ROOTFS_FETCH, action_rootfs_fetch, ACTION_LONG | ACTION_MUTATES | ACTION_ROOT_ONLY },
        {},
};
