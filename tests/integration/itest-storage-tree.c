/* Tree copy (cached_rootfs), rootfs archives (export/import round trips
 * in every format, malicious archives, replace) on a busybox rootfs
 * decorated with everything a rootfs may hold: odd owners, setuid and
 * sticky modes, xattrs (user.*, security.capability, trusted.*), hard
 * links, device nodes, fifos, sockets, symlinks, sparse files, exact
 * timestamps. Needs root. */
#include "test.h"
#include "itest-common.h"
#include "tree-compare.h"

#include "base/fs.h"
#include "base/str.h"
#include "storage/archive.h"
#include "storage/bootstrap.h"
#include "storage/copy.h"
#include "storage/layout.h"
#include "storage/rootfs-cache.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

static char *scratch, *state, *base;

/* VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, permitted = CAP_NET_RAW. */
static const uint32_t capability[5] = { 0x02000001, 1u << 13, 0, 0, 0 };

static void decorate(const char *r)
{
        _cleanup_free_ char *passwd = at(r, "etc/passwd"), *odd = at(r, "etc/odd-owner");
        ASSERT_OK(chown(passwd, 1234, 5678));
        ASSERT_OK(write_file_atomic(odd, "odd\n", 4, 0640));
        ASSERT_OK(chown(odd, 100000, 100001));

        _cleanup_free_ char *suid = at(r, "usr/bin/suid"), *sgid = at(r, "usr/bin/sgid");
        ASSERT_OK(write_file_atomic(suid, "#!/bin/sh\n", 10, 0755));
        ASSERT_OK(chmod(suid, 04755));
        ASSERT_OK(write_file_atomic(sgid, "#!/bin/sh\n", 10, 0755));
        ASSERT_OK(chown(sgid, 0, 50));
        ASSERT_OK(chmod(sgid, 02755));
        _cleanup_free_ char *ping = at(r, "usr/bin/pingish");
        ASSERT_OK(write_file_atomic(ping, "ELF?", 4, 0755));
        ASSERT_OK(setxattr(ping, "security.capability", capability, sizeof capability, 0));
        ASSERT_OK(setxattr(ping, "user.enclave.test", "value\0with-nul", 14, 0));
        _cleanup_free_ char *opaque = at(r, "var/opaque");
        ASSERT_OK(mkdir(opaque, 0755));
        ASSERT_OK(setxattr(opaque, "trusted.overlay.opaque", "y", 1, 0));

        _cleanup_free_ char *h1 = at(r, "usr/bin/hl1"), *h2 = at(r, "usr/bin/hl2"), *h3 = at(r, "etc/hl3");
        ASSERT_OK(write_file_atomic(h1, "linked\n", 7, 0644));
        ASSERT_OK(link(h1, h2));
        ASSERT_OK(link(h1, h3));

        _cleanup_free_ char *chr = at(r, "dev/testnull"), *blk = at(r, "dev/testloop"), *fifo = at(r, "run/fifo");
        ASSERT_OK(mknod(chr, S_IFCHR | 0666, makedev(1, 3)));
        ASSERT_OK(chmod(chr, 0666));
        ASSERT_OK(mknod(blk, S_IFBLK | 0600, makedev(7, 200)));
        ASSERT_OK(mkfifo(fifo, 0620));
        ASSERT_OK(chown(fifo, 7, 8));
        _cleanup_free_ char *whiteout = at(r, "var/whiteout");
        ASSERT_OK(mknod(whiteout, S_IFCHR | 0000, makedev(0, 0)));

        _cleanup_free_ char *abs = at(r, "etc/abs-link"), *rel = at(r, "etc/rel-link"), *dang = at(r, "etc/dangling");
        ASSERT_OK(symlink("/etc/passwd", abs));
        ASSERT_OK(symlink("../usr/bin", rel));
        ASSERT_OK(symlink("nonexistent", dang));
        ASSERT_OK(lchown(abs, 33, 44));

        _cleanup_free_ char *sparse = at(r, "var/sparse");
        _cleanup_close_ int fd = open(sparse, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        ASSERT_EQ(pwrite(fd, "x", 1, 10 << 20), 1);
        ASSERT_OK(ftruncate(fd, 20 << 20));
        fd = safe_close(fd);

        _cleanup_free_ char *uni = at(r, "etc/\xc3\xbcn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 name");
        ASSERT_OK(write_file_atomic(uni, "u\n", 2, 0644));
        _cleanup_free_ char *ro = at(r, "var/readonly"), *ro_file = at(r, "var/readonly/inside");
        ASSERT_OK(mkdir(ro, 0755));
        ASSERT_OK(write_file_atomic(ro_file, "ro\n", 3, 0444));
        ASSERT_OK(chmod(ro, 0555));
        _cleanup_free_ char *empty = at(r, "var/empty");
        ASSERT_OK(mkdir(empty, 0700));

        /* A socket: skipped by copy and export alike. */
        _cleanup_free_ char *sock = at(r, "run/sock");
        _cleanup_close_ int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        ASSERT_TRUE(strlen(sock) < sizeof sa.sun_path);
        strcpy(sa.sun_path, sock);
        ASSERT_OK(bind(s, (struct sockaddr *) &sa, sizeof sa));

        /* Exact times, set last (children change directory mtimes). */
        const struct timespec t1[2] = { { 1000000000, 123456789 }, { 1100000000, 987654321 } };
        ASSERT_OK(utimensat(AT_FDCWD, passwd, t1, AT_SYMLINK_NOFOLLOW));
        ASSERT_OK(utimensat(AT_FDCWD, abs, t1, AT_SYMLINK_NOFOLLOW));
        ASSERT_OK(utimensat(AT_FDCWD, ro, t1, 0));
        _cleanup_free_ char *etc = at(r, "etc");
        ASSERT_OK(utimensat(AT_FDCWD, etc, t1, 0));
}

static void make_world(void)
{
        if (state)
                return;
        if (geteuid() != 0)
                SKIP("needs root");
        char tmpl[] = "/tmp/enctest-tree-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        scratch = strdup(tmpl);
        _cleanup_free_ char *st = at(scratch, "state"), *b = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(layout_rootfs_cache_dir(st, "base", &b, &err), err);
        _cleanup_free_ char *cache_root = at(st, "sandboxes/rootfs-cache");
        ASSERT_OK(mkdir_p(cache_root, 0755));
        make_busybox_rootfs(b);
        decorate(b);
        state = TAKE_PTR(st);
        base = TAKE_PTR(b);
}

__attribute__((destructor)) static void cleanup_world(void)
{
        if (scratch)
                (void) rm_rf(scratch);
}

/* ---- progress ---- */

typedef struct Seen {
        size_t events;
        ProgressStage stage;
        uint64_t done, total, bytes;
        int cancel_after; /* > 0: return -1 on that event */
} Seen;

static int record(const StorageProgress *p, void *userdata)
{
        Seen *s = userdata;
        s->events++;
        s->stage = p->stage;
        s->done = p->done;
        s->total = p->total;
        s->bytes = p->bytes;
        return s->cancel_after > 0 && (int) s->events >= s->cancel_after ? -1 : 0;
}

/* ---- cached_rootfs ---- */

TEST(cached_rootfs_copy_preserves_everything)
{
        make_world();
        Seen seen = { 0 };
        StorageMonitor mon = { .progress = record, .userdata = &seen, .interval_ms = 1 };
        BootstrapOptions o = { .state_dir = state, .sandbox = "sb1", .suite = "bookworm" };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(bootstrap_cached_rootfs(&o, &mon, &err), err);
        _cleanup_free_ char *rootfs = at(state, "sandboxes/sb1/rootfs");
        assert_same_tree(base, rootfs, true, NULL);
        ASSERT_TRUE(seen.events > 0);
        ASSERT_EQ(seen.stage, PROGRESS_STAGE_COPYING);
        ASSERT_EQ(seen.done, seen.total);
        ASSERT_TRUE(seen.bytes > 1000000);

        /* Links inside the copy, not to the source. */
        struct stat s1, s2, s3, src;
        _cleanup_free_ char *h1 = at(rootfs, "usr/bin/hl1"), *h2 = at(rootfs, "usr/bin/hl2"), *h3 = at(rootfs, "etc/hl3");
        _cleanup_free_ char *src_h1 = at(base, "usr/bin/hl1");
        ASSERT_OK(stat(h1, &s1));
        ASSERT_OK(stat(h2, &s2));
        ASSERT_OK(stat(h3, &s3));
        ASSERT_OK(stat(src_h1, &src));
        ASSERT_EQ(s1.st_ino, s2.st_ino);
        ASSERT_EQ(s1.st_ino, s3.st_ino);
        ASSERT_EQ(s1.st_nlink, 3);
        ASSERT_NE(s1.st_ino, src.st_ino);

        /* Setuid bits and the capability survived the chown. */
        _cleanup_free_ char *suid = at(rootfs, "usr/bin/suid"), *ping = at(rootfs, "usr/bin/pingish");
        ASSERT_OK(stat(suid, &s1));
        ASSERT_EQ(s1.st_mode & 07777, 04755);
        uint32_t cap[5];
        ASSERT_EQ(getxattr(ping, "security.capability", cap, sizeof cap), (ssize_t) sizeof cap);
        ASSERT_EQ(memcmp(cap, capability, sizeof cap), 0);

        /* Symlinks copied, not followed. */
        char target[256] = "";
        _cleanup_free_ char *abs = at(rootfs, "etc/abs-link");
        ASSERT_TRUE(readlink(abs, target, sizeof target - 1) > 0);
        ASSERT_STREQ(target, "/etc/passwd");
        ASSERT_TRUE(tmp_is_empty(state));
}

TEST(cached_rootfs_prefers_the_suite_cache)
{
        make_world();
        _cleanup_free_ char *suite = at(state, "sandboxes/rootfs-cache/trixie"), *marker = at(suite, "suite-marker");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(tree_copy(base, suite, NULL, NULL, &err), err);
        ASSERT_OK(write_file_atomic(marker, "trixie\n", 7, 0644));
        BootstrapOptions o = { .state_dir = state, .sandbox = "sb-trixie", .suite = "trixie" };
        ASSERT_OK_E(bootstrap_cached_rootfs(&o, NULL, &err), err);
        _cleanup_free_ char *copied = at(state, "sandboxes/sb-trixie/rootfs/suite-marker");
        ASSERT_TRUE(access(copied, F_OK) == 0);
        /* bookworm has no suite cache: base is used. */
        BootstrapOptions o2 = { .state_dir = state, .sandbox = "sb-bw", .suite = "bookworm" };
        ASSERT_OK_E(bootstrap_cached_rootfs(&o2, NULL, &err), err);
        _cleanup_free_ char *not_copied = at(state, "sandboxes/sb-bw/rootfs/suite-marker");
        ASSERT_TRUE(access(not_copied, F_OK) < 0);
        ASSERT_OK(rm_rf(suite));
}

TEST(cached_rootfs_missing_cache_names_both_paths)
{
        make_world();
        _cleanup_free_ char *empty_state = at(scratch, "empty-state");
        BootstrapOptions o = { .state_dir = empty_state, .sandbox = "sb", .suite = "bullseye" };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(bootstrap_cached_rootfs(&o, NULL, &err), -ENOENT);
        _cleanup_free_ char *p1 = at(empty_state, "sandboxes/rootfs-cache/bullseye");
        _cleanup_free_ char *p2 = at(empty_state, "sandboxes/rootfs-cache/base");
        ASSERT_CONTAINS(error_msg(&err), p1);
        ASSERT_CONTAINS(error_msg(&err), p2);
        ASSERT_CONTAINS(error_msg(&err), "enclave rootfs import");
        ASSERT_CONTAINS(error_msg(&err), "enclave rootfs fetch");
        _cleanup_free_ char *rootfs = at(empty_state, "sandboxes/sb/rootfs");
        ASSERT_TRUE(access(rootfs, F_OK) < 0);
}

TEST(cached_rootfs_refuses_existing_reserved_and_bad_names)
{
        make_world();
        _cleanup_error_ Error err = ERROR_INIT;
        BootstrapOptions o = { .state_dir = state, .sandbox = "sb1", .suite = "bookworm" };
        ASSERT_EQ(bootstrap_cached_rootfs(&o, NULL, &err), -EEXIST);
        ASSERT_CONTAINS(error_msg(&err), "already has a root filesystem");
        error_clear(&err);
        BootstrapOptions reserved = { .state_dir = state, .sandbox = "rootfs-cache", .suite = "bookworm" };
        ASSERT_EQ(bootstrap_cached_rootfs(&reserved, NULL, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "reserved");
        error_clear(&err);
        BootstrapOptions traversal = { .state_dir = state, .sandbox = "../evil", .suite = "bookworm" };
        ASSERT_EQ(bootstrap_cached_rootfs(&traversal, NULL, &err), -EINVAL);
        error_clear(&err);
        BootstrapOptions suite = { .state_dir = state, .sandbox = "ok", .suite = "bookwrm" };
        ASSERT_EQ(bootstrap_cached_rootfs(&suite, NULL, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "did you mean bookworm");
}

TEST(copy_cancel_leaves_nothing)
{
        make_world();
        Seen seen = { .cancel_after = 3 };
        StorageMonitor mon = { .progress = record, .userdata = &seen, .interval_ms = 1 };
        BootstrapOptions o = { .state_dir = state, .sandbox = "sb-cancel", .suite = "bookworm" };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(bootstrap_cached_rootfs(&o, &mon, &err), -ECANCELED);
        _cleanup_free_ char *rootfs = at(state, "sandboxes/sb-cancel/rootfs");
        ASSERT_TRUE(access(rootfs, F_OK) < 0);
        ASSERT_TRUE(tmp_is_empty(state));
}

/* ---- archives ---- */

/* An import leaves device nodes out (archive.h): put base's back into the
 * imported tree, with the times of their directory, so that everything
 * else can be compared field by field. */
static void put_back_node(const char *base_dir, const char *tree, const char *rel)
{
        _cleanup_free_ char *from = at(base_dir, rel), *to = at(tree, rel);
        struct stat st, dst;
        ASSERT_OK(lstat(from, &st));
        ASSERT_TRUE(lstat(to, &dst) < 0 && errno == ENOENT);
        ASSERT_OK(mknod(to, st.st_mode, st.st_rdev) < 0 ? -errno : 0);
        ASSERT_OK(lchown(to, st.st_uid, st.st_gid) < 0 ? -errno : 0);
        ASSERT_OK(chmod(to, st.st_mode & 07777) < 0 ? -errno : 0);
        struct timespec ts[2] = { st.st_atim, st.st_mtim };
        ASSERT_OK(utimensat(AT_FDCWD, to, ts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0);
        *strrchr(from, '/') = 0;
        *strrchr(to, '/') = 0;
        ASSERT_OK(lstat(from, &st));
        struct timespec dts[2] = { st.st_atim, st.st_mtim };
        ASSERT_OK(utimensat(AT_FDCWD, to, dts, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0);
}

static void round_trip(const char *ext)
{
        make_world();
        _cleanup_free_ char *name = NULL;
        ASSERT_TRUE(asprintf(&name, "rootfs.%s", ext) > 0);
        _cleanup_free_ char *archive = at(scratch, name);
        _cleanup_free_ char *imported = at(state, "sandboxes/rootfs-cache/sid");
        (void) rm_rf(imported);
        (void) unlink(archive);
        Seen seen = { 0 };
        StorageMonitor mon = { .progress = record, .userdata = &seen, .interval_ms = 1 };
        _cleanup_error_ Error err = ERROR_INIT;
        TarballStats out_stats, in_stats;
        ASSERT_OK_E(rootfs_cache_export(state, "base", archive, false, &mon, &out_stats, &err), err);
        ASSERT_EQ(seen.stage, PROGRESS_STAGE_EXPORTING);
        struct stat st;
        ASSERT_OK(stat(archive, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        /* An existing output is not overwritten by accident. */
        ASSERT_EQ(rootfs_cache_export(state, "base", archive, false, NULL, NULL, &err), -EEXIST);
        error_clear(&err);

        ASSERT_OK_E(rootfs_cache_import(state, "sid", archive, false, &mon, &in_stats, &err), err);
        ASSERT_EQ(seen.stage, PROGRESS_STAGE_IMPORTING);
        ASSERT_EQ(in_stats.entries, out_stats.entries);
        /* dev/testnull and dev/testloop are left out; var/whiteout (0:0) stays. */
        ASSERT_EQ(in_stats.skipped_devices, 2);
        put_back_node(base, imported, "dev/testnull");
        put_back_node(base, imported, "dev/testloop");
        assert_same_tree(base, imported, true, NULL);
        ASSERT_TRUE(tmp_is_empty(state));
        ASSERT_OK(rm_rf(imported));
        ASSERT_OK(unlink(archive));
}

TEST(round_trip_tar)
{
        round_trip("tar");
}

TEST(round_trip_tar_gz)
{
        round_trip("tar.gz");
}

TEST(round_trip_tar_zst)
{
        round_trip("tar.zst");
}

TEST(export_needs_a_known_extension)
{
        make_world();
        _cleanup_free_ char *out = at(scratch, "rootfs.zip");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(rootfs_cache_export(state, "base", out, false, NULL, NULL, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), ".tar.zst");
        ASSERT_TRUE(access(out, F_OK) < 0);
}

/* ---- hostile archives ---- */

typedef struct Member {
        char type;  /* 'f' file, 'd' dir, 'l' symlink, 'h' hard link */
        const char *name;
        const char *target; /* link target or file content */
} Member;

static void write_archive(const char *path, const Member *m, size_t n)
{
        struct archive *a = archive_write_new();
        ASSERT_NOT_NULL(a);
        ASSERT_EQ(archive_write_set_format_pax(a), ARCHIVE_OK);
        ASSERT_EQ(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++) {
                struct archive_entry *e = archive_entry_new();
                archive_entry_set_pathname(e, m[i].name);
                archive_entry_set_perm(e, m[i].type == 'd' ? 0755 : 0644);
                archive_entry_set_mtime(e, 1500000000, 0);
                size_t len = 0;
                switch (m[i].type) {
                case 'd':
                        archive_entry_set_filetype(e, AE_IFDIR);
                        break;
                case 'l':
                        archive_entry_set_filetype(e, AE_IFLNK);
                        archive_entry_set_symlink(e, m[i].target);
                        break;
                case 'h':
                        archive_entry_set_filetype(e, AE_IFREG);
                        archive_entry_set_hardlink(e, m[i].target);
                        break;
                default:
                        archive_entry_set_filetype(e, AE_IFREG);
                        len = m[i].target ? strlen(m[i].target) : 0;
                        archive_entry_set_size(e, (la_int64_t) len);
                }
                ASSERT_EQ(archive_write_header(a, e), ARCHIVE_OK);
                if (len)
                        ASSERT_EQ(archive_write_data(a, m[i].target, len), (la_ssize_t) len);
                archive_entry_free(e);
        }
        ASSERT_EQ(archive_write_close(a), ARCHIVE_OK);
        archive_write_free(a);
}

/* The archive is refused, with reason in the message, and nothing is
 * created: no cache, no staging leftovers, nothing at host paths. */
static void expect_refused(const Member *m, size_t n, const char *reason, const char *host_path)
{
        make_world();
        _cleanup_free_ char *archive = at(scratch, "evil.tar");
        write_archive(archive, m, n);
        _cleanup_error_ Error err = ERROR_INIT;
        int r = rootfs_cache_import(state, "testing", archive, false, NULL, NULL, &err);
        (void) unlink(archive);
        if (r >= 0)
                TEST_FAIL("hostile archive was imported");
        ASSERT_CONTAINS(error_msg(&err), reason);
        _cleanup_free_ char *dest = at(state, "sandboxes/rootfs-cache/testing");
        ASSERT_TRUE(access(dest, F_OK) < 0);
        ASSERT_TRUE(tmp_is_empty(state));
        if (host_path)
                ASSERT_TRUE(access(host_path, F_OK) < 0);
}

TEST(refuse_absolute_path)
{
        char host[128];
        snprintf(host, sizeof host, "/tmp/enctest-abs-%d", (int) getpid());
        Member m[] = { { 'd', "./", NULL }, { 'f', "ok", "fine" }, { 'f', host, "pwned" } };
        expect_refused(m, ELEMENTSOF(m), "absolute path", host);
}

TEST(refuse_dotdot)
{
        Member m[] = { { 'f', "ok", "fine" }, { 'f', "../enctest-dotdot", "pwned" } };
        expect_refused(m, ELEMENTSOF(m), "\"..\"", NULL);
        _cleanup_free_ char *outside = at(state, "sandboxes/rootfs-cache/enctest-dotdot");
        ASSERT_TRUE(access(outside, F_OK) < 0);
}

TEST(refuse_write_through_symlink)
{
        char host[128];
        snprintf(host, sizeof host, "/tmp/enctest-pwned-%d", (int) getpid());
        /* An absolute symlink is a legal member; writing through it is not. */
        Member m[] = { { 'l', "evil", "/tmp" }, { 'f', host + 1 /* "tmp/enctest-..." */, "x" } };
        char name[160];
        snprintf(name, sizeof name, "evil/enctest-pwned-%d", (int) getpid());
        m[1].name = name;
        expect_refused(m, ELEMENTSOF(m), "goes through the symlink \"evil\"", host);
}

TEST(refuse_symlink_escaping_root)
{
        Member m[] = { { 'd', "etc", NULL }, { 'l', "etc/up", "../../../../etc" } };
        expect_refused(m, ELEMENTSOF(m), "outside the archive's root", NULL);
}

TEST(refuse_hardlink_outside)
{
        struct stat before, after;
        ASSERT_OK(stat("/etc/passwd", &before));
        Member m[] = { { 'f', "ok", "fine" }, { 'h', "passwd", "/etc/passwd" } };
        expect_refused(m, ELEMENTSOF(m), "outside the archive's root", NULL);
        Member m2[] = { { 'h', "passwd", "../../../../../../etc/passwd" } };
        expect_refused(m2, ELEMENTSOF(m2), "outside the archive's root", NULL);
        Member m3[] = { { 'l', "lnk", "/etc" }, { 'h', "passwd", "lnk/passwd" } };
        expect_refused(m3, ELEMENTSOF(m3), "goes through the symlink", NULL);
        ASSERT_OK(stat("/etc/passwd", &after));
        ASSERT_EQ(before.st_nlink, after.st_nlink);
}

TEST(legal_links_inside_are_kept)
{
        make_world();
        _cleanup_free_ char *archive = at(scratch, "links.tar");
        Member m[] = { { 'd', "etc", NULL }, { 'f', "etc/a", "data" }, { 'h', "etc/b", "etc/a" },
                       { 'l', "etc/abs", "/etc/a" }, { 'l', "usr-lib", "etc/../etc" } };
        write_archive(archive, m, ELEMENTSOF(m));
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(rootfs_cache_import(state, "oldstable", archive, false, NULL, NULL, &err), err);
        _cleanup_free_ char *a = at(state, "sandboxes/rootfs-cache/oldstable/etc/a");
        _cleanup_free_ char *b = at(state, "sandboxes/rootfs-cache/oldstable/etc/b");
        struct stat sa, sb;
        ASSERT_OK(stat(a, &sa));
        ASSERT_OK(stat(b, &sb));
        ASSERT_EQ(sa.st_ino, sb.st_ino);
        /* Replace semantics: refused without --replace, swapped with it. */
        Member m2[] = { { 'f', "new-marker", "new" } };
        write_archive(archive, m2, ELEMENTSOF(m2));
        ASSERT_EQ(rootfs_cache_import(state, "oldstable", archive, false, NULL, NULL, &err), -EEXIST);
        ASSERT_CONTAINS(error_msg(&err), "--replace");
        ASSERT_OK(access(a, F_OK));
        error_clear(&err);
        ASSERT_OK_E(rootfs_cache_import(state, "oldstable", archive, true, NULL, NULL, &err), err);
        _cleanup_free_ char *marker = at(state, "sandboxes/rootfs-cache/oldstable/new-marker");
        ASSERT_OK(access(marker, F_OK));
        ASSERT_TRUE(access(a, F_OK) < 0);
        ASSERT_TRUE(tmp_is_empty(state));
        _cleanup_free_ char *dir = at(state, "sandboxes/rootfs-cache/oldstable");
        ASSERT_OK(rm_rf(dir));
        (void) unlink(archive);
}

TEST(import_cancel_leaves_nothing)
{
        make_world();
        _cleanup_free_ char *archive = at(scratch, "cancel.tar.zst");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(rootfs_cache_export(state, "base", archive, false, NULL, NULL, &err), err);
        Seen seen = { .cancel_after = 2 };
        StorageMonitor mon = { .progress = record, .userdata = &seen, .interval_ms = 1 };
        ASSERT_EQ(rootfs_cache_import(state, "stable", archive, false, &mon, NULL, &err), -ECANCELED);
        _cleanup_free_ char *dest = at(state, "sandboxes/rootfs-cache/stable");
        ASSERT_TRUE(access(dest, F_OK) < 0);
        ASSERT_TRUE(tmp_is_empty(state));
        (void) unlink(archive);
}

TEST(nothing_left_mounted)
{
        make_world();
        _cleanup_free_ char *mi = NULL;
        ASSERT_OK(read_full_file("/proc/self/mountinfo", 1 << 22, &mi, NULL));
        ASSERT_NULL(strstr(mi, scratch));
}
