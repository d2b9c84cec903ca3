#include "storage/rootfs-cache.h"

#include "base/fs.h"
#include "storage/layout.h"

#include <fcntl.h>
#include <sys/stat.h>

bool rootfs_cache_exists(const char *state_dir, const char *cache_name)
{
        _cleanup_free_ char *dir = NULL;
        return layout_rootfs_cache_dir(state_dir, cache_name, &dir, NULL) >= 0 && is_dir(dir);
}

static int open_cache(const char *state_dir, const char *cache_name, char **ret_dir, int *ret_fd, Error *err)
{
        _cleanup_free_ char *dir = NULL;
        int r = layout_rootfs_cache_dir(state_dir, cache_name, &dir, err);
        if (r < 0)
                return r;
        int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
                if (errno == ENOENT)
                        return error_set(err, ENOENT, "there is no cached rootfs %s (%s); fill it with 'enclave "
                                         "rootfs import' or 'rootfs fetch', or a debootstrap of that suite", cache_name,
                                         dir);
                return error_setc(err, errno, "opening %s", dir);
        }
        *ret_fd = fd;
        if (ret_dir)
                *ret_dir = TAKE_PTR(dir);
        return 0;
}

int rootfs_cache_export_fd(const char *state_dir, const char *cache_name, int out_fd, TarballCompression c,
                           const StorageMonitor *mon, TarballStats *ret_stats, Error *err)
{
        _cleanup_close_ int fd = -EBADF;
        int r = open_cache(state_dir, cache_name, NULL, &fd, err);
        if (r < 0)
                return r;
        r = tarball_export_fd(fd, out_fd, c, mon, ret_stats, err);
        if (r < 0 && r != -ECANCELED)
                return error_wrap(err, "exporting the cached rootfs %s", cache_name);
        return r;
}

int rootfs_cache_export(const char *state_dir, const char *cache_name, const char *output, bool replace,
                        const StorageMonitor *mon, TarballStats *ret_stats, Error *err)
{
        _cleanup_free_ char *dir = NULL;
        _cleanup_close_ int fd = -EBADF;
        int r = open_cache(state_dir, cache_name, &dir, &fd, err);
        if (r < 0)
                return r;
        return tarball_export(dir, output, replace, mon, ret_stats, err);
}

/* Paths for an import; refuses an existing cache without replace. */
static int prepare_import(const char *state_dir, const char *cache_name, bool replace, char **ret_dest,
                          char **ret_tmp, Error *err)
{
        _cleanup_free_ char *dest = NULL, *root = NULL, *tmp = NULL;
        int r = layout_rootfs_cache_dir(state_dir, cache_name, &dest, err);
        if (r >= 0)
                r = layout_rootfs_cache_root(state_dir, &root, err);
        if (r >= 0)
                r = layout_tmp_dir(state_dir, &tmp, err);
        if (r < 0)
                return r;
        struct stat st;
        if (!replace && lstat(dest, &st) == 0)
                return error_set(err, EEXIST,
                                 "the cached rootfs %s already exists at %s; add --replace to replace it",
                                 cache_name, dest);
        r = layout_state_dir_create(state_dir, err);
        if (r < 0)
                return r;
        if (mkdir(root, 0755) < 0 && errno != EEXIST)
                return error_setc(err, errno, "creating %s", root);
        *ret_dest = TAKE_PTR(dest);
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

int rootfs_cache_import_fd(const char *state_dir, const char *cache_name, int in_fd, bool replace,
                           const StorageMonitor *mon, TarballStats *ret_stats, Error *err)
{
        _cleanup_free_ char *dest = NULL, *tmp = NULL;
        int r = prepare_import(state_dir, cache_name, replace, &dest, &tmp, err);
        if (r < 0)
                return r;
        r = tarball_import_fd(in_fd, dest, tmp, replace, mon, ret_stats, err);
        if (r < 0 && r != -ECANCELED)
                return error_wrap(err, "importing the cached rootfs %s", cache_name);
        return r;
}

int rootfs_cache_import(const char *state_dir, const char *cache_name, const char *archive, bool replace,
                        const StorageMonitor *mon, TarballStats *ret_stats, Error *err)
{
        _cleanup_free_ char *dest = NULL, *tmp = NULL;
        int r = prepare_import(state_dir, cache_name, replace, &dest, &tmp, err);
        if (r < 0)
                return r;
        r = tarball_import(archive, dest, tmp, replace, mon, ret_stats, err);
        if (r < 0 && r != -ECANCELED)
                return error_wrap(err, "importing the cached rootfs %s", cache_name);
        return r;
}

int rootfs_cache_fetch(const char *state_dir, const char *cache_name, const char *url, bool replace,
                       const FetchOptions *o, const StorageMonitor *mon, TarballStats *ret_stats, Error *err)
{
        _cleanup_free_ char *dest = NULL, *tmp = NULL;
        int r = fetch_check_url(url, err);
        if (r >= 0)
                r = prepare_import(state_dir, cache_name, replace, &dest, &tmp, err);
        if (r < 0)
                return r;
        _cleanup_close_ int fd = -EBADF;
        r = fetch_to_tmpfile(url, tmp, o, mon, &fd, err);
        if (r >= 0)
                r = tarball_import_fd(fd, dest, tmp, replace, mon, ret_stats, err);
        if (r < 0 && r != -ECANCELED)
                return error_wrap(err, "fetching the cached rootfs %s", cache_name);
        return r;
}
