/* A tree through a tar stream (src/storage/tar-tree.c): what a copy
 * keeps, and what a hostile archive cannot do to the target. */
#include "storage/tar-tree.h"
#include "base/fs.h"
#include "base/str.h"
#include "scratch.h"
#include "test.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

static char *tmpdir(void)
{
        return scratch_tmpdir("/tmp/test-tar-tree.XXXXXX");
}

static void put(const char *dir, const char *name, const char *text, mode_t mode)
{
        _cleanup_free_ char *p = path_join(dir, name);
        ASSERT_OK(write_file_atomic(p, text, strlen(text), mode));
        ASSERT_OK(chmod(p, mode));
}

/* An archive in memory file fd with the given entries: "f:NAME", "d:NAME",
 * "l:NAME:TARGET", "h:NAME:TARGET" (hard link), "c:NAME" (char device). */
static int make_archive(const char *path, const char *const *entries)
{
        struct archive *a = archive_write_new();
        archive_write_set_format_pax_restricted(a);
        ASSERT_EQ(archive_write_open_filename(a, path), ARCHIVE_OK);
        for (const char *const *e = entries; *e; e++) {
                _cleanup_free_ char *copy = strdup(*e);
                char *kind = copy, *name = strchr(copy, ':') + 1, *target = strchr(name, ':');
                if (target)
                        *target++ = 0;
                struct archive_entry *en = archive_entry_new();
                archive_entry_set_pathname(en, name);
                archive_entry_set_perm(en, 0644);
                switch (kind[0]) {
                case 'f':
                        archive_entry_set_filetype(en, AE_IFREG);
                        archive_entry_set_size(en, 2);
                        break;
                case 'd':
                        archive_entry_set_filetype(en, AE_IFDIR);
                        break;
                case 'l':
                        archive_entry_set_filetype(en, AE_IFLNK);
                        archive_entry_set_symlink(en, target);
                        break;
                case 'h':
                        archive_entry_set_filetype(en, AE_IFREG);
                        archive_entry_set_hardlink(en, target);
                        break;
                case 'c':
                        archive_entry_set_filetype(en, AE_IFCHR);
                        archive_entry_set_rdev(en, makedev(1, 3));
                        break;
                }
                archive_write_header(a, en);
                if (kind[0] == 'f')
                        archive_write_data(a, "x\n", 2);
                archive_entry_free(en);
        }
        archive_write_close(a);
        archive_write_free(a);
        return open(path, O_RDONLY | O_CLOEXEC);
}

TEST(roundtrip_keeps_modes_and_symlinks_and_renames_the_top)
{
        _cleanup_tmpdir_ char *d = tmpdir();
        _cleanup_free_ char *src = path_join(d, "src"), *dst = path_join(d, "dst"), *ar = path_join(d, "a.tar");
        ASSERT_OK(mkdir_p(src, 0755));
        ASSERT_OK(mkdir_p(dst, 0755));
        put(src, "file", "hi\n", 0640);
        put(src, "suid", "#!\n", 04755);
        _cleanup_free_ char *link = path_join(src, "link");
        ASSERT_OK(symlink("/etc/shadow", link));
        int fd = open(ar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_TRUE(tar_tree_write(src, "top", fd, NULL) >= 4);
        close(fd);
        fd = open(ar, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(tar_tree_extract(fd, dst, "renamed", TAR_TREE_HOST, NULL) >= 4);
        close(fd);
        struct stat st;
        _cleanup_free_ char *f = path_join(dst, "renamed/file"), *s = path_join(dst, "renamed/suid"),
                            *l = path_join(dst, "renamed/link");
        ASSERT_OK(stat(f, &st));
        ASSERT_EQ(st.st_mode & 07777, 0640);
        ASSERT_OK(stat(s, &st));
        ASSERT_EQ(st.st_mode & 07777, 0755); /* no setuid on the host */
        ASSERT_OK(lstat(l, &st));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
}

TEST(the_top_symlink_is_archived_not_followed)
{
        _cleanup_tmpdir_ char *d = tmpdir();
        _cleanup_free_ char *link = path_join(d, "ln"), *ar = path_join(d, "a.tar"), *dst = path_join(d, "dst");
        ASSERT_OK(symlink("/etc/passwd", link));
        ASSERT_OK(mkdir_p(dst, 0755));
        int fd = open(ar, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        ASSERT_EQ(tar_tree_write(link, "ln", fd, NULL), 1);
        close(fd);
        fd = open(ar, O_RDONLY | O_CLOEXEC);
        ASSERT_EQ(tar_tree_extract(fd, dst, NULL, 0, NULL), 1);
        close(fd);
        _cleanup_free_ char *out = path_join(dst, "ln");
        struct stat st;
        ASSERT_OK(lstat(out, &st));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
}

static int extract_hostile(const char *dir, const char *const *entries, const char *dst)
{
        _cleanup_free_ char *ar = path_join(dir, "evil.tar");
        int fd = make_archive(ar, entries);
        _cleanup_error_ Error err = ERROR_INIT;
        int r = tar_tree_extract(fd, dst, NULL, TAR_TREE_HOST, &err);
        close(fd);
        if (r < 0)
                printf("# refused: %s\n", error_msg(&err));
        return r;
}

TEST(a_hostile_archive_cannot_leave_the_target)
{
        _cleanup_tmpdir_ char *d = tmpdir();
        _cleanup_free_ char *dst = path_join(d, "dst"), *outside = path_join(d, "outside");
        ASSERT_OK(mkdir_p(dst, 0755));
        ASSERT_OK(mkdir_p(outside, 0755));
        _cleanup_free_ char *out_link = NULL;
        ASSERT_TRUE(asprintf(&out_link, "l:esc:%s", outside) > 0);
        /* A symlink it made, then a file through it. */
        ASSERT_TRUE(extract_hostile(d, (const char *const[]) { out_link, "f:esc/planted", NULL }, dst) < 0);
        /* Names with "..", absolute names. */
        ASSERT_TRUE(extract_hostile(d, (const char *const[]) { "f:../outside/dotdot", NULL }, dst) < 0);
        ASSERT_TRUE(extract_hostile(d, (const char *const[]) { "f:a/../../outside/dotdot2", NULL }, dst) < 0);
        _cleanup_free_ char *abs = NULL;
        ASSERT_TRUE(asprintf(&abs, "f:%s/abs", outside) > 0);
        ASSERT_TRUE(extract_hostile(d, (const char *const[]) { abs, NULL }, dst) < 0);
        /* A symlink on disk in the way, without a directory entry. */
        _cleanup_free_ char *disk_link = path_join(dst, "ondisk");
        ASSERT_OK(symlink(outside, disk_link));
        ASSERT_TRUE(extract_hostile(d, (const char *const[]) { "f:ondisk/through", NULL }, dst) < 0);
        /* Hard links and devices do not travel. */
        _cleanup_free_ char *hard = NULL;
        ASSERT_TRUE(asprintf(&hard, "h:hl:%s/x", outside) > 0);
        ASSERT_TRUE(extract_hostile(d, (const char *const[]) { hard, NULL }, dst) < 0);
        ASSERT_TRUE(extract_hostile(d, (const char *const[]) { "c:null", NULL }, dst) < 0);
        /* Nothing reached outside. */
        DIR *dd = opendir(outside);
        ASSERT_NOT_NULL(dd);
        int n = 0;
        for (struct dirent *de; (de = readdir(dd));)
                n += de->d_name[0] != '.';
        closedir(dd);
        ASSERT_EQ(n, 0);
}
