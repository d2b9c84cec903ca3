#include "storage/snapshot.h"

#include "base/crashpoint.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/str.h"
#include "runtime/cgroup.h"
#include "storage/archive.h"
#include "storage/archive-validate.h"
#include "storage/copy.h"
#include "storage/inode-map.h"
#include "storage/staging.h"
#include "storage/xattr.h"

#include <fcntl.h>
#include <endian.h>
#include <jansson.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#define SNAPSHOTS_DIR "snapshots"
#define JOURNAL "journal"
/* snapshots/.unsettled-<name>: that snapshot's files may not be on
 * disk yet; holds the boot id of when it was written. */
#define UNSETTLED_PREFIX ".unsettled-"
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define BOOT_ID_MAX 64
#define METADATA_MAX (64 * 1024)
#define WALK_MAX_DEPTH 256
#define NAME_SEQ_MAX 1000

/* The directories a restore replaces, in swap order. */
typedef enum RestorePart {
        PART_UPPER,
        PART_HOME,
        PART_WORK,
        _PART_MAX,
} RestorePart;

static const char *const part_names[_PART_MAX] = {
        [PART_UPPER] = "upper",
        [PART_HOME] = "home",
        [PART_WORK] = "work",
};

/* ---- info, ordering ---- */

void snapshot_info_done(SnapshotInfo *info)
{
        if (!info)
                return;
        free(info->name);
        *info = (SnapshotInfo) { 0 };
}

void snapshot_info_array_free(SnapshotInfo *a, size_t n)
{
        for (size_t i = 0; i < n; i++)
                snapshot_info_done(&a[i]);
        free(a);
}

static int cmp_oldest_first(const void *pa, const void *pb)
{
        const SnapshotInfo *a = pa, *b = pb;
        if (a->created_usec != b->created_usec)
                return a->created_usec < b->created_usec ? -1 : 1;
        return strcmp(a->name ? a->name : "", b->name ? b->name : "");
}

static int cmp_newest_first(const void *pa, const void *pb)
{
        return cmp_oldest_first(pb, pa);
}

void snapshot_sort_oldest_first(SnapshotInfo *a, size_t n)
{
        if (n > 1)
                qsort(a, n, sizeof *a, cmp_oldest_first);
}

size_t snapshot_gc_select(SnapshotInfo *a, size_t n, size_t keep)
{
        if (n > 1)
                qsort(a, n, sizeof *a, cmp_newest_first);
        return keep < n ? keep : n;
}

/* ---- metadata (snapshot.json) ---- */

int snapshot_info_to_json(const SnapshotInfo *info, char **ret)
{
        json_t *o = json_pack("{s:i, s:s, s:I, s:I, s:I, s:b, s:I, s:I}", "format", 1, "name",
                              info->name ? info->name : "", "created_usec", (json_int_t) info->created_usec,
                              "bytes", (json_int_t) info->bytes, "entries", (json_int_t) info->entries,
                              "has_home", info->has_home, "uid_base", (json_int_t) info->uid_base, "gid_base",
                              (json_int_t) info->gid_base);
        if (!o)
                return -ENOMEM;
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int json_u64(json_t *o, const char *key, uint64_t max, uint64_t *ret)
{
        json_t *v = json_object_get(o, key);
        if (!json_is_integer(v) || json_integer_value(v) < 0 || (uint64_t) json_integer_value(v) > max)
                return -EINVAL;
        *ret = (uint64_t) json_integer_value(v);
        return 0;
}

int snapshot_info_from_json(const char *text, SnapshotInfo *ret, Error *err)
{
        json_error_t jerr;
        json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!o)
                return error_set(err, EINVAL, "snapshot metadata is not JSON: %s (line %d)", jerr.text, jerr.line);
        SnapshotInfo info = { 0 };
        uint64_t format = 0, created = 0, uid = 0, gid = 0;
        json_t *name = json_object_get(o, "name"), *home = json_object_get(o, "has_home");
        int r = 0;
        if (!json_is_object(o) || json_u64(o, "format", 1, &format) < 0 || format != 1)
                r = error_set(err, EINVAL, "snapshot metadata has an unknown format");
        else if (!json_is_string(name) || !snapshot_name_is_valid(json_string_value(name)))
                r = error_set(err, EINVAL, "snapshot metadata has no valid name");
        else if (json_u64(o, "created_usec", INT64_MAX, &created) < 0 || json_u64(o, "bytes", INT64_MAX, &info.bytes) < 0 ||
                 json_u64(o, "entries", INT64_MAX, &info.entries) < 0 || !json_is_boolean(home) ||
                 json_u64(o, "uid_base", UINT32_MAX, &uid) < 0 || json_u64(o, "gid_base", UINT32_MAX, &gid) < 0)
                r = error_set(err, EINVAL, "snapshot metadata is incomplete or out of range");
        if (r >= 0) {
                info.name = strdup(json_string_value(name));
                if (!info.name)
                        r = error_set(err, ENOMEM, "out of memory");
        }
        json_decref(o);
        if (r < 0)
                return r;
        info.created_usec = (int64_t) created;
        info.has_home = json_is_true(home);
        info.uid_base = (uint32_t) uid;
        info.gid_base = (uint32_t) gid;
        *ret = info;
        return 0;
}

static int metadata_write(int dfd, const SnapshotInfo *info, Error *err)
{
        _cleanup_free_ char *text = NULL;
        if (snapshot_info_to_json(info, &text) < 0)
                return error_set(err, ENOMEM, "out of memory");
        /* Relative to a directory fd: write_file_atomic wants a path. */
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d/" SNAPSHOT_METADATA, dfd);
        int r = write_file_atomic(path, text, strlen(text), 0600);
        return r < 0 ? error_setc(err, -r, "writing the snapshot metadata") : 0;
}

static int metadata_read(int dfd, SnapshotInfo *ret, Error *err)
{
        _cleanup_close_ int fd = openat(dfd, SNAPSHOT_METADATA, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return error_setc(err, errno, "opening the snapshot metadata");
        _cleanup_free_ char *text = NULL;
        int r = read_full_fd(fd, METADATA_MAX, &text, NULL);
        if (r < 0)
                return error_setc(err, -r, "reading the snapshot metadata");
        return snapshot_info_from_json(text, ret, err);
}

/* ---- directories ---- */

static int open_dir(int dfd, const char *name)
{
        int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

static bool exists_at(int dfd, const char *name)
{
        struct stat st;
        return fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int open_ws(const char *ws_dir, Error *err)
{
        int fd = open(ws_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        return fd < 0 ? error_setc(err, errno, "opening workspace directory %s", ws_dir) : fd;
}

/* <ws>/snapshots, created (0700, root) when create is set. */
static int open_snapshots(int ws_fd, bool create, Error *err)
{
        if (create && mkdirat(ws_fd, SNAPSHOTS_DIR, 0700) < 0 && errno != EEXIST)
                return error_setc(err, errno, "creating the snapshots directory");
        int fd = open_dir(ws_fd, SNAPSHOTS_DIR);
        if (fd == -ENOENT)
                return -ENOENT;
        return fd < 0 ? error_setc(err, -fd, "opening the snapshots directory") : fd;
}

/* <ws>/snapshots for work on the existing snapshot name (its name
 * checked first); the workspace's own fd in *ret_ws_fd when asked for. */
static int open_for_snapshot(const char *ws_dir, const char *name, int *ret_ws_fd, Error *err)
{
        int r = snapshot_check_name(name, err);
        if (r < 0)
                return r;
        _cleanup_close_ int ws_fd = open_ws(ws_dir, err);
        if (ws_fd < 0)
                return ws_fd;
        int snaps_fd = open_snapshots(ws_fd, false, err);
        if (snaps_fd == -ENOENT)
                return error_set(err, ENOENT, "there is no snapshot %s", name);
        if (snaps_fd < 0)
                return snaps_fd;
        if (ret_ws_fd)
                *ret_ws_fd = TAKE_FD(ws_fd);
        return snaps_fd;
}

/* A hidden scratch directory below dfd: "<prefix>-XXXXXX". The
 * template is filled in place (mkdtemp semantics, relative to dfd). */
static int make_scratch_at(int dfd, const char *prefix, char **ret, Error *err)
{
        static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t seed = (uint64_t) ts.tv_nsec ^ ((uint64_t) getpid() << 32);
        for (int attempt = 0; attempt < 100; attempt++) {
                char suffix[7];
                for (size_t i = 0; i < 6; i++) {
                        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                        suffix[i] = chars[(seed >> 33) % (sizeof chars - 1)];
                }
                suffix[6] = 0;
                char *name = NULL;
                if (asprintf(&name, "%s-%s", prefix, suffix) < 0)
                        return error_set(err, ENOMEM, "out of memory");
                if (mkdirat(dfd, name, 0700) == 0) {
                        *ret = name;
                        return 0;
                }
                int e = errno;
                free(name);
                if (e != EEXIST)
                        return error_setc(err, e, "creating a scratch directory");
        }
        return error_set(err, EEXIST, "creating a scratch directory: no free name");
}

static void remove_at(int dfd, const char *name)
{
        int r = rm_rf_at(dfd, name);
        if (r < 0)
                log_debug("snapshot: removing %s: %s", name, strerror(-r));
}

static int64_t now_usec(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Data first, then the rename that publishes it: after a crash a
 * snapshot (or a restored upper) is complete or absent, never a tree
 * of empty files. */
static int sync_fs(int fd, const char *what, Error *err)
{
        return syncfs(fd) < 0 ? error_setc(err, errno, "flushing %s to disk", what) : 0;
}

/* ---- deferred durability ----
 *
 * A deferred create or restore publishes its copy before the copy is
 * on disk, and notes that with the boot id. Until snapshot_settle()
 * flushes the file system, the page cache holds the data: if the
 * daemon dies, the same boot still has it, so recovery settles
 * forward; if the host went down, the data may be lost, so recovery
 * drops the snapshot or rolls the restore back. */

static int boot_id(char buf[static BOOT_ID_MAX])
{
        _cleanup_close_ int fd = open(BOOT_ID_PATH, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        ssize_t n = read(fd, buf, BOOT_ID_MAX - 1);
        if (n <= 0)
                return n < 0 ? -errno : -EIO;
        buf[n] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static bool is_this_boot(const char *id)
{
        char now[BOOT_ID_MAX];
        return boot_id(now) >= 0 && id && streq(id, now);
}

static char *unsettled_name(const char *name)
{
        char *s = NULL;
        return asprintf(&s, UNSETTLED_PREFIX "%s", name) < 0 ? NULL : s;
}

static int unsettled_mark(int snaps_fd, const char *name, Error *err)
{
        char id[BOOT_ID_MAX];
        _cleanup_free_ char *marker = unsettled_name(name);
        if (!marker)
                return error_set(err, ENOMEM, "out of memory");
        int r = boot_id(id);
        if (r < 0)
                return error_setc(err, -r, "reading %s", BOOT_ID_PATH);
        _cleanup_close_ int fd = openat(snaps_fd, marker, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, id, strlen(id)) != (ssize_t) strlen(id))
                return error_setc(err, fd < 0 ? errno : EIO, "noting snapshot %s as not yet on disk", name);
        return 0;
}

static void unsettled_clear(int snaps_fd, const char *name)
{
        _cleanup_free_ char *marker = unsettled_name(name);
        if (marker && unlinkat(snaps_fd, marker, 0) < 0 && errno != ENOENT)
                log_debug("snapshot: removing %s: %s", marker, strerror(errno));
}

/* The names of the snapshots noted as unsettled, with the boot ids. */
static int unsettled_list(int snaps_fd, char ***ret_names, char ***ret_boots)
{
        int fd = openat(snaps_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return -errno;
        }
        _cleanup_strv_free_ char **names = NULL, **boots = NULL;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *name = startswith(de->d_name, UNSETTLED_PREFIX);
                if (!name)
                        continue;
                _cleanup_close_ int mfd = openat(snaps_fd, de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
                _cleanup_free_ char *text = NULL;
                if (mfd < 0 || read_full_fd(mfd, BOOT_ID_MAX, &text, NULL) < 0)
                        text = strdup("");
                if (!text || strv_push(&names, name) < 0 || strv_consume(&boots, TAKE_PTR(text)) < 0)
                        return -ENOMEM;
        }
        *ret_names = TAKE_PTR(names);
        *ret_boots = TAKE_PTR(boots);
        return 0;
}

/* ---- freezer ---- */

static int cgroup_freeze_cb(void *userdata, Error *err)
{
        return cgroup_freeze(userdata, err);
}

static int cgroup_thaw_cb(void *userdata, Error *err)
{
        return cgroup_thaw(userdata, err);
}

SnapshotFreezer snapshot_freezer_for_cgroup(const Cgroup *cg)
{
        return (SnapshotFreezer) {
                .freeze = cgroup_freeze_cb,
                .thaw = cgroup_thaw_cb,
                .userdata = (void *) cg,
        };
}

/* ---- create ---- */

static int pick_name(int snaps_fd, const char *wanted, char *buf, size_t size, Error *err)
{
        if (wanted) {
                int r = snapshot_check_name(wanted, err);
                if (r < 0)
                        return r;
                if (exists_at(snaps_fd, wanted))
                        return error_set(err, EEXIST, "snapshot %s already exists", wanted);
                snprintf(buf, size, "%s", wanted);
                return 0;
        }
        time_t t = time(NULL);
        for (unsigned seq = 1; seq <= NAME_SEQ_MAX; seq++) {
                if (snapshot_name_from_time(t, seq, buf, size) < 0)
                        return error_set(err, EINVAL, "cannot name a snapshot after the current time");
                if (!exists_at(snaps_fd, buf))
                        return 0;
        }
        return error_set(err, EEXIST, "too many snapshots named after this second");
}

/* The copy that runs while the workspace is frozen. */
static int capture(int ws_fd, int stage_fd, const SnapshotCreateOptions *opts, CopyStats *total, Error *err)
{
        for (RestorePart p = PART_UPPER; p <= PART_HOME; p++) {
                if (p == PART_HOME && !opts->with_home)
                        continue;
                _cleanup_close_ int src = open_dir(ws_fd, part_names[p]);
                if (src < 0)
                        return error_setc(err, -src, "opening the workspace's %s directory", part_names[p]);
                CopyStats st = { 0 };
                int r = tree_copy_fd(src, stage_fd, part_names[p], opts->mon, &st, err);
                if (r < 0)
                        return r == -ECANCELED ? r : error_wrap(err, "copying the workspace's %s directory", part_names[p]);
                total->entries += st.entries;
                total->bytes += st.bytes;
        }
        return 0;
}

static int capture_frozen(int ws_fd, int stage_fd, const SnapshotCreateOptions *opts, SnapshotInfo *info, Error *err)
{
        const SnapshotFreezer *f = opts->freezer;
        if (f && f->freeze) {
                int r = f->freeze(f->userdata, err);
                if (r < 0)
                        return error_wrap(err, "freezing the workspace");
        }
        crash_point(CRASH_POINT_SNAPSHOT_CREATE_FROZEN);
        info->created_usec = now_usec();
        CopyStats total = { 0 };
        int r = capture(ws_fd, stage_fd, opts, &total, err);
        crash_point(CRASH_POINT_SNAPSHOT_CREATE_COPIED);
        if (f && f->freeze && f->thaw) {
                /* Thaw even when the copy failed; the copy's error wins. */
                Error terr = ERROR_INIT;
                int t = f->thaw(f->userdata, r < 0 ? &terr : err);
                error_clear(&terr);
                if (t < 0 && r >= 0)
                        r = error_wrap(err, "thawing the workspace after copying it");
        }
        info->entries = total.entries;
        info->bytes = total.bytes;
        return r;
}

int snapshot_create(const char *ws_dir, const SnapshotCreateOptions *opts, SnapshotInfo *ret, Error *err)
{
        _cleanup_close_ int ws_fd = open_ws(ws_dir, err);
        if (ws_fd < 0)
                return ws_fd;
        /* Refuse a bad name before the snapshots directory is made. */
        if (opts->name) {
                int r = snapshot_check_name(opts->name, err);
                if (r < 0)
                        return r;
        }
        _cleanup_close_ int snaps_fd = open_snapshots(ws_fd, true, err);
        if (snaps_fd < 0)
                return snaps_fd;
        char name[SNAPSHOT_NAME_MAX + 1];
        int r = pick_name(snaps_fd, opts->name, name, sizeof name, err);
        if (r < 0)
                return r;

        _cleanup_free_ char *stage = NULL;
        r = make_scratch_at(snaps_fd, ".create", &stage, err);
        if (r < 0)
                return r;
        _cleanup_close_ int stage_fd = open_dir(snaps_fd, stage);
        _cleanup_close_ int layers_fd = opts->layers_dir ? open_ws(opts->layers_dir, err) : -EBADF;
        if (opts->layers_dir && layers_fd < 0) {
                stage_fd = safe_close(stage_fd);
                remove_at(snaps_fd, stage);
                return layers_fd;
        }
        SnapshotInfo info = {
                .name = name,
                .has_home = opts->with_home,
                .uid_base = opts->uid_base,
                .gid_base = opts->gid_base,
        };
        if (stage_fd < 0)
                r = error_setc(err, -stage_fd, "opening the snapshot scratch directory");
        if (r >= 0)
                r = capture_frozen(layers_fd >= 0 ? layers_fd : ws_fd, stage_fd, opts, &info, err);
        if (r >= 0)
                r = metadata_write(stage_fd, &info, err);
        if (r >= 0)
                r = opts->defer_sync ? unsettled_mark(snaps_fd, name, err) : sync_fs(stage_fd, "the snapshot", err);
        if (r >= 0 && renameat2(snaps_fd, stage, snaps_fd, name, RENAME_NOREPLACE) < 0)
                r = errno == EEXIST ? error_set(err, EEXIST, "snapshot %s already exists", name)
                                    : error_setc(err, errno, "moving the snapshot into place");
        if (r < 0) {
                if (opts->defer_sync && r != -EEXIST)
                        unsettled_clear(snaps_fd, name);
                stage_fd = safe_close(stage_fd);
                remove_at(snaps_fd, stage);
                return r == -ECANCELED ? r : error_wrap(err, "creating snapshot %s", name);
        }
        if (ret) {
                *ret = info;
                ret->name = strdup(name);
                if (!ret->name)
                        return error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}

/* ---- list, read, delete, gc ---- */

static int read_info_at(int snaps_fd, const char *name, SnapshotInfo *ret, Error *err)
{
        _cleanup_close_ int fd = open_dir(snaps_fd, name);
        if (fd == -ENOENT || fd == -ENOTDIR)
                return error_set(err, ENOENT, "there is no snapshot %s", name);
        if (fd < 0)
                return error_setc(err, -fd, "opening snapshot %s", name);
        SnapshotInfo info = { 0 };
        int r = metadata_read(fd, &info, err);
        if (r < 0)
                return error_wrap(err, "snapshot %s", name);
        /* The directory name is what users address it by. */
        if (!streq(info.name, name)) {
                free(info.name);
                info.name = strdup(name);
                if (!info.name)
                        return error_set(err, ENOMEM, "out of memory");
        }
        *ret = info;
        return 0;
}

int snapshot_read_info(const char *ws_dir, const char *name, SnapshotInfo *ret, Error *err)
{
        _cleanup_close_ int snaps_fd = open_for_snapshot(ws_dir, name, NULL, err);
        if (snaps_fd < 0)
                return snaps_fd;
        return read_info_at(snaps_fd, name, ret, err);
}

static int list_at(int snaps_fd, SnapshotInfo **ret, size_t *ret_n, Error *err)
{
        int fd = openat(snaps_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return error_setc(err, errno, "reading the snapshots directory");
        }
        SnapshotInfo *a = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                /* Scratch directories start with '.', which no name may. */
                if (!snapshot_name_is_valid(de->d_name))
                        continue;
                SnapshotInfo info = { 0 };
                Error ierr = ERROR_INIT;
                int r = read_info_at(snaps_fd, de->d_name, &info, &ierr);
                if (r < 0) {
                        log_debug("snapshot list: skipping %s: %s", de->d_name, error_msg(&ierr));
                        error_clear(&ierr);
                        continue;
                }
                SnapshotInfo *na = realloc(a, (n + 1) * sizeof *a);
                if (!na) {
                        snapshot_info_done(&info);
                        snapshot_info_array_free(a, n);
                        return error_set(err, ENOMEM, "out of memory");
                }
                a = na;
                a[n++] = info;
        }
        snapshot_sort_oldest_first(a, n);
        *ret = a;
        *ret_n = n;
        return 0;
}

int snapshot_list(const char *ws_dir, SnapshotInfo **ret, size_t *ret_n, Error *err)
{
        *ret = NULL;
        *ret_n = 0;
        _cleanup_close_ int ws_fd = open_ws(ws_dir, err);
        if (ws_fd < 0)
                return ws_fd;
        _cleanup_close_ int snaps_fd = open_snapshots(ws_fd, false, err);
        if (snaps_fd == -ENOENT)
                return 0;
        if (snaps_fd < 0)
                return snaps_fd;
        return list_at(snaps_fd, ret, ret_n, err);
}

/* Rename aside first, so a half-removed snapshot never shows up. */
static int delete_at(int snaps_fd, const char *name, Error *err)
{
        _cleanup_free_ char *aside = NULL;
        if (asprintf(&aside, ".delete-%s", name) < 0)
                return error_set(err, ENOMEM, "out of memory");
        remove_at(snaps_fd, aside);
        if (renameat2(snaps_fd, name, snaps_fd, aside, RENAME_NOREPLACE) < 0)
                return errno == ENOENT ? error_set(err, ENOENT, "there is no snapshot %s", name)
                                       : error_setc(err, errno, "deleting snapshot %s", name);
        unsettled_clear(snaps_fd, name);
        int r = rm_rf_at(snaps_fd, aside);
        if (r < 0)
                return error_setc(err, -r, "removing the files of snapshot %s", name);
        return 0;
}

int snapshot_delete(const char *ws_dir, const char *name, Error *err)
{
        _cleanup_close_ int snaps_fd = open_for_snapshot(ws_dir, name, NULL, err);
        if (snaps_fd < 0)
                return snaps_fd;
        return delete_at(snaps_fd, name, err);
}

int snapshot_gc(const char *ws_dir, size_t keep, char ***ret_deleted, Error *err)
{
        if (ret_deleted)
                *ret_deleted = NULL;
        _cleanup_close_ int ws_fd = open_ws(ws_dir, err);
        if (ws_fd < 0)
                return ws_fd;
        _cleanup_close_ int snaps_fd = open_snapshots(ws_fd, false, err);
        if (snaps_fd == -ENOENT)
                return 0;
        if (snaps_fd < 0)
                return snaps_fd;
        SnapshotInfo *a = NULL;
        size_t n = 0;
        int r = list_at(snaps_fd, &a, &n, err);
        if (r < 0)
                return r;
        _cleanup_strv_free_ char **deleted = NULL;
        for (size_t i = snapshot_gc_select(a, n, keep); i < n && r >= 0; i++) {
                r = delete_at(snaps_fd, a[i].name, err);
                if (r >= 0 && strv_push(&deleted, a[i].name) < 0)
                        r = error_set(err, ENOMEM, "out of memory");
        }
        snapshot_info_array_free(a, n);
        if (r < 0)
                return error_wrap(err, "removing old snapshots");
        if (ret_deleted)
                *ret_deleted = TAKE_PTR(deleted);
        return 0;
}

/* ---- restore ---- */

typedef struct SwapEntry {
        bool active;     /* this part is replaced */
        bool had_old;    /* the workspace has it now: exchange, else plain rename */
        bool swapped;
        ino_t new_ino;   /* the staged directory, to recognize it after a crash */
} SwapEntry;

/* An empty overlay work dir owned like the current one (stale work
 * dirs make overlay mounts fail). */
static int make_work_dir(int ws_fd, int tmp_fd, int snap_upper_fd, Error *err)
{
        struct stat st;
        if (fstatat(ws_fd, part_names[PART_WORK], &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode)) {
                if (fstat(snap_upper_fd, &st) < 0)
                        return error_setc(err, errno, "inspecting the snapshot's upper directory");
                st.st_mode = S_IFDIR | 0755;
        }
        if (mkdirat(tmp_fd, part_names[PART_WORK], 0700) < 0)
                return error_setc(err, errno, "creating a new overlay work directory");
        _cleanup_close_ int fd = open_dir(tmp_fd, part_names[PART_WORK]);
        if (fd < 0 || fchown(fd, st.st_uid, st.st_gid) < 0 || fchmod(fd, st.st_mode & 07777) < 0)
                return error_setc(err, fd < 0 ? -fd : errno, "setting up the new overlay work directory");
        return 0;
}

static int stage_restore(int ws_fd, int snap_fd, int tmp_fd, bool has_home, const StorageMonitor *mon, Error *err)
{
        for (RestorePart p = PART_UPPER; p <= PART_HOME; p++) {
                if (p == PART_HOME && !has_home)
                        continue;
                _cleanup_close_ int src = open_dir(snap_fd, part_names[p]);
                if (src < 0)
                        return error_setc(err, -src, "opening the snapshot's %s directory", part_names[p]);
                int r = tree_copy_fd(src, tmp_fd, part_names[p], mon, NULL, err);
                if (r < 0)
                        return r == -ECANCELED ? r : error_wrap(err, "copying the snapshot's %s directory", part_names[p]);
        }
        _cleanup_close_ int upper = open_dir(snap_fd, part_names[PART_UPPER]);
        if (upper < 0)
                return error_setc(err, -upper, "opening the snapshot's upper directory");
        return make_work_dir(ws_fd, tmp_fd, upper, err);
}

static int journal_write(int tmp_fd, const SwapEntry e[_PART_MAX], const char *boot, Error *err)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (RestorePart p = 0; p < _PART_MAX; p++)
                if (e[p].active)
                        strbuf_printf(&b, "%s %d %ju\n", part_names[p], e[p].had_old, (uintmax_t) e[p].new_ino);
        if (boot)
                strbuf_printf(&b, "boot %s\n", boot);
        if (b.oom)
                return error_set(err, ENOMEM, "out of memory");
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d/" JOURNAL, tmp_fd);
        int r = write_file_atomic(path, b.data, b.len, 0600);
        if (r >= 0 && fsync(tmp_fd) < 0)
                r = -errno;
        return r < 0 ? error_setc(err, -r, "writing the restore journal") : 0;
}

typedef struct Journal {
        SwapEntry e[_PART_MAX];
        char boot[BOOT_ID_MAX]; /* set when the restore deferred its flush */
} Journal;

static void journal_parse(const char *text, Journal *j)
{
        *j = (Journal) {};
        for (const char *line = text; line && *line;) {
                char part[16], boot[BOOT_ID_MAX];
                int had_old;
                uintmax_t ino;
                if (sscanf(line, "boot %63s", boot) == 1)
                        snprintf(j->boot, sizeof j->boot, "%s", boot);
                else if (sscanf(line, "%15s %d %ju", part, &had_old, &ino) == 3)
                        for (RestorePart p = 0; p < _PART_MAX; p++)
                                if (streq(part, part_names[p]))
                                        j->e[p] = (SwapEntry) { .active = true, .had_old = had_old != 0,
                                                                .new_ino = (ino_t) ino };
                line = strchr(line, '\n');
                if (line)
                        line++;
        }
}

/* Whether the new directory of part p is the one in the workspace. */
static bool journal_swapped(int ws_fd, const Journal *j, RestorePart p)
{
        struct stat st;
        return j->e[p].active && fstatat(ws_fd, part_names[p], &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               st.st_ino == j->e[p].new_ino;
}

static int swap_part(int ws_fd, int tmp_fd, RestorePart p, bool had_old)
{
        const char *n = part_names[p];
        return RET_NERRNO(renameat2(tmp_fd, n, ws_fd, n, had_old ? RENAME_EXCHANGE : RENAME_NOREPLACE));
}

static int unswap_part(int ws_fd, int tmp_fd, RestorePart p, bool had_old)
{
        const char *n = part_names[p];
        return RET_NERRNO(renameat2(ws_fd, n, tmp_fd, n, had_old ? RENAME_EXCHANGE : RENAME_NOREPLACE));
}

/* False when some part could not be put back: then .restore-tmp
 * holds part of the previous state and must be kept for
 * snapshot_recover(). */
static bool rollback(int ws_fd, int tmp_fd, SwapEntry e[_PART_MAX])
{
        bool ok = true;
        for (RestorePart p = _PART_MAX; p-- > 0;) {
                if (!e[p].swapped)
                        continue;
                int r = unswap_part(ws_fd, tmp_fd, p, e[p].had_old);
                if (r < 0) {
                        log_debug("snapshot restore: rolling back %s: %s", part_names[p], strerror(-r));
                        ok = false;
                } else
                        e[p].swapped = false;
        }
        return ok;
}

static int swap_all(int ws_fd, int tmp_fd, SwapEntry e[_PART_MAX], bool *ret_stuck, Error *err)
{
        for (RestorePart p = 0; p < _PART_MAX; p++) {
                if (!e[p].active)
                        continue;
                int r = swap_part(ws_fd, tmp_fd, p, e[p].had_old);
                if (r < 0) {
                        *ret_stuck = !rollback(ws_fd, tmp_fd, e);
                        return error_setc(err, -r, "moving the restored %s directory into place%s", part_names[p],
                                          r == -EBUSY ? " (is something mounted there?)" : "");
                }
                e[p].swapped = true;
        }
        return 0;
}

static int prepare_swap(int ws_fd, int tmp_fd, bool has_home, SwapEntry e[_PART_MAX], Error *err)
{
        for (RestorePart p = 0; p < _PART_MAX; p++) {
                e[p] = (SwapEntry) { .active = p != PART_HOME || has_home };
                if (!e[p].active)
                        continue;
                struct stat st;
                if (fstatat(tmp_fd, part_names[p], &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return error_setc(err, errno, "inspecting the restored %s directory", part_names[p]);
                e[p].new_ino = st.st_ino;
                if (fstatat(ws_fd, part_names[p], &st, AT_SYMLINK_NOFOLLOW) == 0)
                        e[p].had_old = true;
                else if (errno != ENOENT)
                        return error_setc(err, errno, "inspecting the workspace's %s directory", part_names[p]);
        }
        return 0;
}

/* Swap the staged parts in; the journal makes a crash in between
 * recoverable (snapshot_recover), and unlinking it is the commit. A
 * deferred restore leaves the journal, with the boot id, for
 * snapshot_settle() to commit once the data is on disk. */
static int install_restore(int ws_fd, int tmp_fd, bool has_home, bool defer, bool *ret_stuck, Error *err)
{
        SwapEntry e[_PART_MAX];
        char boot[BOOT_ID_MAX];
        int r = prepare_swap(ws_fd, tmp_fd, has_home, e, err);
        if (r < 0)
                return r;
        if (defer && (r = boot_id(boot)) < 0)
                return error_setc(err, -r, "reading %s", BOOT_ID_PATH);
        if (!defer && (r = sync_fs(tmp_fd, "the restored state", err)) < 0)
                return r;
        crash_point(CRASH_POINT_SNAPSHOT_RESTORE_COPIED);
        r = journal_write(tmp_fd, e, defer ? boot : NULL, err);
        if (r < 0)
                return r;
        r = swap_all(ws_fd, tmp_fd, e, ret_stuck, err);
        if (r >= 0)
                crash_point(CRASH_POINT_SNAPSHOT_RESTORE_SWAPPED);
        if (r < 0 || defer)
                return r;
        if (unlinkat(tmp_fd, JOURNAL, 0) < 0) {
                r = error_setc(err, errno, "committing the restore");
                *ret_stuck = !rollback(ws_fd, tmp_fd, e);
                return r;
        }
        (void) fsync(tmp_fd);
        (void) fsync(ws_fd);
        return 0;
}

/* Undo the swaps a journal lists whose new directory is in place. */
static int journal_replay(int ws_fd, int tmp_fd, const Journal *j)
{
        int ret = 0;
        for (RestorePart p = 0; p < _PART_MAX; p++) {
                if (!journal_swapped(ws_fd, j, p))
                        continue;
                int r = unswap_part(ws_fd, tmp_fd, p, j->e[p].had_old);
                if (r < 0 && ret == 0)
                        ret = r;
        }
        return ret;
}

/* A restore whose every part is in place and whose data is still in
 * this boot's page cache only needs flushing to be complete. */
static bool journal_can_commit(int ws_fd, const Journal *j)
{
        if (!is_this_boot(j->boot))
                return false;
        for (RestorePart p = 0; p < _PART_MAX; p++)
                if (j->e[p].active && !journal_swapped(ws_fd, j, p))
                        return false;
        return true;
}

/* Settle what an earlier restore left in .restore-tmp: commit a
 * deferred one (synced is set once the file system was flushed), roll
 * back an interrupted one, then remove the directory. */
static int settle_restore(int ws_fd, bool *synced, Error *err)
{
        _cleanup_close_ int tmp_fd = open_dir(ws_fd, SNAPSHOT_RESTORE_TMP);
        if (tmp_fd == -ENOENT)
                return 0;
        if (tmp_fd < 0)
                return error_setc(err, -tmp_fd, "opening %s", SNAPSHOT_RESTORE_TMP);
        _cleanup_close_ int jfd = openat(tmp_fd, JOURNAL, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (jfd >= 0) {
                _cleanup_free_ char *text = NULL;
                Journal j;
                int r = read_full_fd(jfd, METADATA_MAX, &text, NULL);
                if (r < 0)
                        return error_setc(err, -r, "reading the restore journal");
                journal_parse(text, &j);
                if (journal_can_commit(ws_fd, &j)) {
                        if (!*synced && (r = sync_fs(ws_fd, "the restored state", err)) < 0)
                                return r;
                        *synced = true;
                        if (unlinkat(tmp_fd, JOURNAL, 0) < 0)
                                return error_setc(err, errno, "committing the restore");
                        (void) fsync(tmp_fd);
                        (void) fsync(ws_fd);
                } else {
                        r = journal_replay(ws_fd, tmp_fd, &j);
                        if (r < 0)
                                return error_setc(err, -r, "rolling back an interrupted restore");
                        log_debug("snapshot: rolled back an interrupted restore");
                }
        }
        tmp_fd = safe_close(tmp_fd);
        int r = rm_rf_at(ws_fd, SNAPSHOT_RESTORE_TMP);
        return r < 0 ? error_setc(err, -r, "removing %s", SNAPSHOT_RESTORE_TMP) : 0;
}

/* Flush the snapshots a deferred create left unsettled; those written
 * before the host went down may have lost data and are removed. */
static int settle_creates(int ws_fd, bool *synced, Error *err)
{
        _cleanup_close_ int snaps_fd = open_dir(ws_fd, SNAPSHOTS_DIR);
        if (snaps_fd == -ENOENT)
                return 0;
        if (snaps_fd < 0)
                return error_setc(err, -snaps_fd, "opening the snapshots directory");
        /* Listed before the flush: only these are known to be covered. */
        _cleanup_strv_free_ char **names = NULL, **boots = NULL;
        int r = unsettled_list(snaps_fd, &names, &boots);
        if (r < 0)
                return error_setc(err, -r, "reading the snapshots directory");
        if (!names)
                return 0;
        if (!*synced && (r = sync_fs(ws_fd, "the snapshots", err)) < 0)
                return r;
        *synced = true;
        for (size_t i = 0; names[i]; i++) {
                if (!is_this_boot(boots[i]) && snapshot_name_is_valid(names[i])) {
                        Error derr = ERROR_INIT;
                        if (delete_at(snaps_fd, names[i], &derr) < 0 && derr.code != ENOENT)
                                log_warn("snapshot %s: %s", names[i], error_msg(&derr));
                        else
                                log_warn("snapshot %s was not yet on disk when the host went down; it was removed",
                                         names[i]);
                        error_clear(&derr);
                }
                unsettled_clear(snaps_fd, names[i]);
        }
        (void) fsync(snaps_fd);
        return 0;
}

static int settle_at(int ws_fd, Error *err)
{
        bool synced = false;
        int r = settle_restore(ws_fd, &synced, err);
        if (r >= 0)
                r = settle_creates(ws_fd, &synced, err);
        return r;
}

int snapshot_settle(const char *ws_dir, Error *err)
{
        _cleanup_close_ int ws_fd = open_ws(ws_dir, err);
        if (ws_fd < 0)
                return ws_fd;
        int r = settle_at(ws_fd, err);
        return r < 0 ? error_wrap(err, "settling the snapshots of %s", ws_dir) : 0;
}

/* Leftovers of interrupted creates, imports and deletes. */
static void remove_scratch(int ws_fd)
{
        _cleanup_close_ int snaps_fd = open_dir(ws_fd, SNAPSHOTS_DIR);
        if (snaps_fd < 0)
                return;
        int fd = openat(snaps_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return;
        }
        struct dirent *de;
        while ((de = readdir(d)))
                if (startswith(de->d_name, ".create-") || startswith(de->d_name, ".import-") ||
                    startswith(de->d_name, ".delete-"))
                        remove_at(snaps_fd, de->d_name);
}

int snapshot_recover(const char *ws_dir, Error *err)
{
        _cleanup_close_ int ws_fd = open_ws(ws_dir, err);
        if (ws_fd < 0)
                return ws_fd;
        remove_scratch(ws_fd);
        int r = settle_at(ws_fd, err);
        if (r < 0)
                return error_wrap(err, "recovering snapshots of %s", ws_dir);
        return 0;
}

int snapshot_restore(const char *ws_dir, const char *name, const SnapshotRestoreOptions *opts, Error *err)
{
        const StorageMonitor *mon = opts ? opts->mon : NULL;
        bool defer = opts && opts->defer_sync;
        _cleanup_close_ int ws_fd = -EBADF;
        _cleanup_close_ int snaps_fd = open_for_snapshot(ws_dir, name, &ws_fd, err);
        if (snaps_fd < 0)
                return snaps_fd;
        _cleanup_(snapshot_info_done) SnapshotInfo info = { 0 };
        int r = read_info_at(snaps_fd, name, &info, err);
        if (r < 0)
                return r;
        _cleanup_close_ int snap_fd = open_dir(snaps_fd, name);
        if (snap_fd < 0)
                return error_setc(err, -snap_fd, "opening snapshot %s", name);
        if (opts && opts->layers_dir) {
                /* From here on ws_fd is where the layers are swapped. */
                ws_fd = safe_close(ws_fd);
                ws_fd = open_ws(opts->layers_dir, err);
                if (ws_fd < 0)
                        return ws_fd;
        }

        /* A previous restore (deferred, or died half-way) is settled first. */
        bool synced = false;
        r = settle_restore(ws_fd, &synced, err);
        if (r < 0)
                return error_wrap(err, "restoring snapshot %s", name);
        if (mkdirat(ws_fd, SNAPSHOT_RESTORE_TMP, 0700) < 0)
                return error_setc(err, errno, "restoring snapshot %s: creating %s", name, SNAPSHOT_RESTORE_TMP);
        _cleanup_close_ int tmp_fd = open_dir(ws_fd, SNAPSHOT_RESTORE_TMP);
        if (tmp_fd < 0)
                r = error_setc(err, -tmp_fd, "opening %s", SNAPSHOT_RESTORE_TMP);
        if (r >= 0)
                r = stage_restore(ws_fd, snap_fd, tmp_fd, info.has_home, mon, err);
        bool stuck = false;
        if (r >= 0)
                r = install_restore(ws_fd, tmp_fd, info.has_home, defer, &stuck, err);
        tmp_fd = safe_close(tmp_fd);
        if (stuck)
                return error_wrap(err, "restoring snapshot %s (the roll back failed too: the previous state is kept "
                                  "in %s/%s and put back by recovery)", name, ws_dir, SNAPSHOT_RESTORE_TMP);
        /* Settling removes the old state once the new one is on disk. */
        if (r >= 0 && defer)
                return 0;
        /* Now .restore-tmp holds the old state (or the unused new one). */
        int rr = rm_rf_at(ws_fd, SNAPSHOT_RESTORE_TMP);
        if (rr < 0)
                log_debug("snapshot restore: removing %s: %s", SNAPSHOT_RESTORE_TMP, strerror(-rr));
        if (r < 0)
                return r == -ECANCELED ? r : error_wrap(err, "restoring snapshot %s", name);
        return 0;
}

/* ---- export ---- */

int snapshot_export(const char *ws_dir, const char *name, const char *output, const StorageMonitor *mon,
                    Error *err)
{
        _cleanup_(snapshot_info_done) SnapshotInfo info = { 0 };
        int r = snapshot_read_info(ws_dir, name, &info, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *snaps = path_join(ws_dir, SNAPSHOTS_DIR);
        _cleanup_free_ char *src = snaps ? path_join(snaps, name) : NULL;
        if (!src)
                return error_set(err, ENOMEM, "out of memory");
        r = tarball_export(src, output, false, mon, NULL, err);
        if (r < 0)
                return r == -ECANCELED ? r : error_wrap(err, "exporting snapshot %s", name);
        return 0;
}

/* ---- import ---- */

/* Moves owners from the exporting workspace's id block to the
 * importing one, and refuses what a snapshot cannot hold. */
typedef struct IdShift {
        uint32_t src_uid, src_gid, dst_uid, dst_gid;
        InodeMap seen; /* hard links: each inode once */
        StrBuf path;
        unsigned depth;
        uint64_t entries, bytes;
        Error *err;
} IdShift;

static bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == 0;
}

static int shift_id(uint32_t id, uint32_t src, uint32_t dst, uint32_t *ret)
{
        if (id < src || id - src >= SNAPSHOT_ID_COUNT)
                return -ERANGE;
        *ret = dst + (id - src);
        return 0;
}

static const char *shift_path(const IdShift *s)
{
        return s->path.len ? s->path.data : ".";
}

_printf_(2, 3) static int shift_refuse(IdShift *s, const char *fmt, ...)
{
        char why[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        return error_set(s->err, EPERM, "snapshot archive member \"%s\" %s", shift_path(s), why);
}

/* chown drops setuid/setgid bits and security.capability: both are
 * put back afterwards. */
static int chown_keep(int dfd, const char *name, const struct stat *st, uid_t uid, gid_t gid)
{
        if (S_ISLNK(st->st_mode))
                return RET_NERRNO(fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW));
        if (!S_ISREG(st->st_mode)) {
                if (fchownat(dfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                        return -errno;
                return RET_NERRNO(fchmodat(dfd, name, st->st_mode & 07777, 0));
        }
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        char cap[256];
        ssize_t ncap = fgetxattr(fd, "security.capability", cap, sizeof cap);
        if (fchown(fd, uid, gid) < 0 || fchmod(fd, st->st_mode & 07777) < 0)
                return -errno;
        if (ncap > 0 && fsetxattr(fd, "security.capability", cap, (size_t) ncap, 0) < 0)
                return -errno;
        return 0;
}

/* A file capability as the importing workspace's own: the form a
 * `setcap` inside it stores (revision 3, its root's host id), which acts
 * only in that workspace's user namespace. Revisions 1 and 2 (what a
 * copy-up of a rootfs file like ping carries) would act for host root,
 * so they become the workspace's; a revision 3 moves with the owners and
 * one for an id outside the exporting workspace is refused. */
static int adopt_capability(IdShift *s, const Xattr *x, struct vfs_ns_cap_data *ret)
{
        struct vfs_ns_cap_data in = { 0 };
        uint32_t magic = 0;
        if (x->size >= sizeof magic)
                memcpy(&magic, x->value, sizeof magic);
        uint32_t rev = le32toh(magic) & VFS_CAP_REVISION_MASK;
        size_t want = rev == VFS_CAP_REVISION_1 ? XATTR_CAPS_SZ_1
                      : rev == VFS_CAP_REVISION_2 ? XATTR_CAPS_SZ_2
                      : rev == VFS_CAP_REVISION_3 ? XATTR_CAPS_SZ_3
                                                  : 0;
        if (!want || x->size != want)
                return shift_refuse(s, "carries a malformed security.capability");
        memcpy(&in, x->value, x->size);
        uint32_t root = s->dst_uid;
        if (rev == VFS_CAP_REVISION_3 &&
            shift_id(le32toh(in.rootid), s->src_uid, s->dst_uid, &root) < 0)
                return shift_refuse(s, "carries file capabilities for uid %u, outside the exporting workspace's "
                                    "ids (from %u)", le32toh(in.rootid), s->src_uid);
        *ret = in;
        ret->magic_etc = htole32(VFS_CAP_REVISION_3 | (le32toh(magic) & VFS_CAP_FLAGS_EFFECTIVE));
        ret->rootid = htole32(root);
        return 0;
}

/* The on-disk form of a POSIX ACL (linux/posix_acl_xattr.h):
 * a version, then entries naming users and groups by host id. */
#define ACL_XATTR_VERSION 0x0002
#define ACL_TAG_USER 0x02
#define ACL_TAG_GROUP 0x08

typedef struct AclXattrEntry {
        uint16_t tag, perm;
        uint32_t id;
} AclXattrEntry;

/* An ACL names users and groups by host id (what host root's getxattr
 * shows), which the archive's import wrote back as it said: like the
 * owners, they move from the exporting workspace's block into the
 * importing one's. An ACL that names an id outside the exporting
 * workspace (another workspace's, a host user's) would grant to
 * somebody else: it is dropped whole (false; the mode's group bits
 * still bound the group class), as is a malformed one. */
static bool adopt_acl(IdShift *s, Xattr *x)
{
        uint32_t version = 0;
        if (x->size < sizeof version || (x->size - sizeof version) % sizeof(AclXattrEntry) != 0)
                return false;
        memcpy(&version, x->value, sizeof version);
        if (le32toh(version) != ACL_XATTR_VERSION)
                return false;
        for (size_t off = sizeof version; off < x->size; off += sizeof(AclXattrEntry)) {
                AclXattrEntry e;
                memcpy(&e, (char *) x->value + off, sizeof e);
                uint16_t tag = le16toh(e.tag);
                if (tag != ACL_TAG_USER && tag != ACL_TAG_GROUP)
                        continue;
                uint32_t id;
                if (tag == ACL_TAG_USER ? shift_id(le32toh(e.id), s->src_uid, s->dst_uid, &id) < 0
                                        : shift_id(le32toh(e.id), s->src_gid, s->dst_gid, &id) < 0)
                        return false;
                e.id = htole32(id);
                memcpy((char *) x->value + off, &e, sizeof e);
        }
        return true;
}

/* The archive's extended attributes were set by host root as the
 * archive said: keep what the workspace or its overlay could have made
 * (user.*, POSIX ACLs with their ids moved, overlay bookkeeping, file
 * capabilities as the importing workspace's); drop the rest (other
 * trusted.*, security.* labels such as security.selinux, an ACL naming
 * ids outside the exporting workspace). */
static int adopt_xattrs(IdShift *s, int dfd, const char *name)
{
        _cleanup_xattr_list_ XattrList l = XATTR_LIST_INIT;
        int r = xattr_list_read(-1, dfd, name, &l);
        if (r < 0)
                return error_setc(s->err, -r, "reading the extended attributes of %s", shift_path(s));
        for (size_t i = 0; i < l.n; i++) {
                const char *key = l.items[i].name;
                if (startswith(key, "user.") || tarball_trusted_xattr_portable(key))
                        continue;
                bool drop = true;
                if (streq(key, "system.posix_acl_access") || streq(key, "system.posix_acl_default")) {
                        drop = !adopt_acl(s, &l.items[i]);
                        if (!drop)
                                r = xattr_set(-1, dfd, name, key, l.items[i].value, l.items[i].size);
                } else if (streq(key, "security.capability")) {
                        struct vfs_ns_cap_data cap;
                        r = adopt_capability(s, &l.items[i], &cap);
                        if (r < 0)
                                return r;
                        r = xattr_set(-1, dfd, name, key, &cap, sizeof cap);
                        drop = false;
                }
                if (drop)
                        r = xattr_remove(-1, dfd, name, key);
                if (r < 0)
                        return error_setc(s->err, -r, "%s the extended attribute %s of %s",
                                          drop ? "removing" : "rewriting", key, shift_path(s));
        }
        return 0;
}

static int shift_dir(IdShift *s, int dfd);

static int shift_entry(IdShift *s, int dfd, const char *name)
{
        struct stat st;
        if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return error_setc(s->err, errno, "inspecting %s", shift_path(s));
        if ((S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) && !is_whiteout(&st))
                return shift_refuse(s, "is a device node (%u:%u); a snapshot holds only overlay whiteouts",
                                    major(st.st_rdev), minor(st.st_rdev));
        s->entries++;
        if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
                if (inode_map_get(&s->seen, st.st_dev, st.st_ino))
                        return 0;
                if (inode_map_put(&s->seen, st.st_dev, st.st_ino, shift_path(s)) < 0)
                        return error_set(s->err, ENOMEM, "out of memory");
        }
        if (S_ISREG(st.st_mode))
                s->bytes += (uint64_t) st.st_size;
        uint32_t uid = st.st_uid, gid = st.st_gid;
        /* overlayfs makes whiteouts with its mounter's (host root's) ids. */
        bool keep = is_whiteout(&st) && st.st_uid == 0 && st.st_gid == 0;
        if (!keep && shift_id(st.st_uid, s->src_uid, s->dst_uid, &uid) < 0)
                return shift_refuse(s, "is owned by uid %u, outside the exporting workspace's ids (from %u)",
                                    st.st_uid, s->src_uid);
        if (!keep && shift_id(st.st_gid, s->src_gid, s->dst_gid, &gid) < 0)
                return shift_refuse(s, "is owned by gid %u, outside the exporting workspace's ids (from %u)",
                                    st.st_gid, s->src_gid);
        if (uid != st.st_uid || gid != st.st_gid) {
                int r = chown_keep(dfd, name, &st, uid, gid);
                if (r < 0)
                        return error_setc(s->err, -r, "changing the owner of %s", shift_path(s));
        }
        if (!keep) {
                int r = adopt_xattrs(s, dfd, name);
                if (r < 0)
                        return r;
        }
        if (!S_ISDIR(st.st_mode))
                return 0;
        _cleanup_close_ int fd = open_dir(dfd, name);
        if (fd < 0)
                return error_setc(s->err, -fd, "opening %s", shift_path(s));
        return shift_dir(s, fd);
}

static int shift_dir(IdShift *s, int dfd)
{
        if (++s->depth > WALK_MAX_DEPTH)
                return error_set(s->err, ELOOP, "directory tree too deep at %s", shift_path(s));
        int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return error_setc(s->err, errno, "reading %s", shift_path(s));
        }
        struct dirent *de;
        int r = 0;
        while (r >= 0 && (de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                size_t old = s->path.len;
                strbuf_printf(&s->path, "%s%s", old ? "/" : "", de->d_name);
                r = s->path.oom ? error_set(s->err, ENOMEM, "out of memory") : shift_entry(s, dfd, de->d_name);
                s->path.len = old;
                if (s->path.data)
                        s->path.data[old] = 0;
        }
        s->depth--;
        return r;
}

/* Only upper/ (required), home/ and the metadata may sit at the top. */
static int check_import_layout(int tree_fd, bool *ret_has_home, Error *err)
{
        int fd = openat(tree_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _cleanup_closedir_ DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        if (!d) {
                safe_close(fd);
                return error_setc(err, errno, "reading the imported tree");
        }
        bool upper = false, home = false, meta = false;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                struct stat st;
                if (fstatat(tree_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        return error_setc(err, errno, "inspecting %s", de->d_name);
                if (streq(de->d_name, "upper") && S_ISDIR(st.st_mode))
                        upper = true;
                else if (streq(de->d_name, "home") && S_ISDIR(st.st_mode))
                        home = true;
                else if (streq(de->d_name, SNAPSHOT_METADATA) && S_ISREG(st.st_mode))
                        meta = true;
                else
                        return error_set(err, EINVAL, "the archive is not a snapshot: unexpected \"%s\" at its top",
                                         de->d_name);
        }
        if (!upper || !meta)
                return error_set(err, EINVAL, "the archive is not a snapshot: it has no %s",
                                 upper ? SNAPSHOT_METADATA : "upper directory");
        *ret_has_home = home;
        return 0;
}

static int shift_tree(int tree_fd, const SnapshotInfo *src, const SnapshotImportOptions *opts, SnapshotInfo *info,
                      Error *err)
{
        IdShift s = {
                .src_uid = src->uid_base,
                .src_gid = src->gid_base,
                .dst_uid = opts->uid_base,
                .dst_gid = opts->gid_base,
                .seen = INODE_MAP_INIT,
                .path = STRBUF_INIT,
                .err = err,
        };
        int r = 0;
        for (RestorePart p = PART_UPPER; p <= PART_HOME && r >= 0; p++) {
                if (p == PART_HOME && !info->has_home)
                        continue;
                strbuf_puts(&s.path, part_names[p]);
                r = s.path.oom ? error_set(err, ENOMEM, "out of memory") : shift_entry(&s, tree_fd, part_names[p]);
                s.path.len = 0;
        }
        info->entries = s.entries;
        info->bytes = s.bytes;
        inode_map_done(&s.seen);
        strbuf_done(&s.path);
        return r;
}

/* Check the extracted tree, move its owners, rewrite its metadata. */
static int adopt_import(int tree_fd, const SnapshotImportOptions *opts, SnapshotInfo *ret, Error *err)
{
        bool has_home = false;
        int r = check_import_layout(tree_fd, &has_home, err);
        if (r < 0)
                return r;
        _cleanup_(snapshot_info_done) SnapshotInfo src = { 0 };
        r = metadata_read(tree_fd, &src, err);
        if (r < 0)
                return r;
        SnapshotInfo info = {
                .name = (char *) opts->name,
                .created_usec = src.created_usec,
                .has_home = has_home,
                .uid_base = opts->uid_base,
                .gid_base = opts->gid_base,
        };
        r = shift_tree(tree_fd, &src, opts, &info, err);
        if (r < 0)
                return r;
        r = metadata_write(tree_fd, &info, err);
        if (r < 0)
                return r;
        *ret = info;
        return sync_fs(tree_fd, "the imported snapshot", err);
}

static int import_staged(const char *stage, const char *snaps, const char *archive,
                         const SnapshotImportOptions *opts, SnapshotInfo *info, Error *err)
{
        _cleanup_free_ char *stage_path = path_join(snaps, stage);
        _cleanup_free_ char *tree = stage_path ? path_join(stage_path, "tree") : NULL;
        _cleanup_free_ char *dest = path_join(snaps, opts->name);
        if (!tree || !dest)
                return error_set(err, ENOMEM, "out of memory");
        TarballStats stats = {};
        int r = archive ? tarball_import(archive, tree, stage_path, false, opts->mon, &stats, err)
                        : tarball_import_fd(opts->archive_fd, tree, stage_path, false, opts->mon, &stats, err);
        if (r < 0)
                return r;
        /* The import left them out; a snapshot refuses them outright. */
        if (stats.skipped_devices > 0)
                return error_set(err, EPERM, "checking %s: it holds %llu device node(s); a snapshot holds only "
                                 "overlay whiteouts", archive ? archive : "the archive",
                                 (unsigned long long) stats.skipped_devices);
        _cleanup_close_ int tree_fd = open(tree, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (tree_fd < 0)
                return error_setc(err, errno, "opening the imported tree");
        r = adopt_import(tree_fd, opts, info, err);
        if (r < 0)
                return error_wrap(err, "checking %s", archive ? archive : "the archive");
        if (fchmod(tree_fd, 0700) < 0 || fchown(tree_fd, 0, 0) < 0)
                return error_setc(err, errno, "securing the imported snapshot");
        r = staging_install(tree, dest, opts->replace, err);
        if (r >= 0) {
                /* It replaced a snapshot whose data was still unsettled. */
                _cleanup_close_ int snaps_fd = open(snaps, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (snaps_fd >= 0)
                        unsettled_clear(snaps_fd, opts->name);
        }
        if (r == -EEXIST)
                return error_set(err, EEXIST, "snapshot %s already exists (use --replace to overwrite it)", opts->name);
        return r;
}

int snapshot_import(const char *ws_dir, const char *archive, const SnapshotImportOptions *opts,
                    SnapshotInfo *ret, Error *err)
{
        int r = snapshot_check_name(opts->name, err);
        if (r < 0)
                return r;
        _cleanup_close_ int ws_fd = open_ws(ws_dir, err);
        if (ws_fd < 0)
                return ws_fd;
        _cleanup_close_ int snaps_fd = open_snapshots(ws_fd, true, err);
        if (snaps_fd < 0)
                return snaps_fd;
        if (!opts->replace && exists_at(snaps_fd, opts->name))
                return error_set(err, EEXIST, "snapshot %s already exists (use --replace to overwrite it)", opts->name);
        _cleanup_free_ char *snaps = path_join(ws_dir, SNAPSHOTS_DIR), *stage = NULL;
        if (!snaps)
                return error_set(err, ENOMEM, "out of memory");
        r = make_scratch_at(snaps_fd, ".import", &stage, err);
        if (r < 0)
                return r;
        SnapshotInfo info = { 0 };
        r = import_staged(stage, snaps, archive, opts, &info, err);
        remove_at(snaps_fd, stage);
        if (r < 0)
                return r == -ECANCELED ? r : error_wrap(err, "importing snapshot %s", opts->name);
        if (ret) {
                *ret = info;
                ret->name = strdup(opts->name);
                if (!ret->name)
                        return error_set(err, ENOMEM, "out of memory");
        }
        return 0;
}
