/* The pure rules of runtime/hostdir.h, and opening without symlinks. */
#include "runtime/hostdir.h"
#include "base/fs.h"
#include "test.h"

#include <sys/stat.h>

TEST(canonical_paths_only)
{
        static const char *const bad[] = { "relative", "", "/a//b", "/a/./b", "/a/../b", "/a/b/", "/a/b/.",
                                           "/a/b/.." };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_error_ Error e = ERROR_INIT;
                ASSERT_TRUE(hostdir_check_path(bad[i], &e) < 0);
        }
        _cleanup_error_ Error e = ERROR_INIT;
        ASSERT_OK(hostdir_check_path("/home/alice/proj", &e));
        ASSERT_OK(hostdir_check_path("/tmp/x", &e));
        ASSERT_OK(hostdir_check_path("/srv/app", &e));
        ASSERT_OK(hostdir_check_path("/usr/local/src/proj", &e));
        ASSERT_OK(hostdir_check_path("/a/..b/.c", &e));
}

TEST(system_directories_refused)
{
        static const char *const refused[] = { "/", "/etc", "/etc/ssh", "/usr", "/usr/bin", "/proc/1", "/sys/fs",
                                               "/dev/shm", "/run/user/1000", "/boot", "/lib64", "/home", "/root",
                                               "/tmp", "/var", "/var/lib", "/srv", "/usr/local", "/var/run/x" };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                _cleanup_error_ Error e = ERROR_INIT;
                if (hostdir_check_path(refused[i], &e) >= 0)
                        TEST_FAIL("%s was accepted", refused[i]);
                ASSERT_CONTAINS(e.msg, "system directory");
        }
        /* Names that only share a prefix are not inside. */
        _cleanup_error_ Error e = ERROR_INIT;
        ASSERT_OK(hostdir_check_path("/etcetera/x", &e));
        ASSERT_OK(hostdir_check_path("/usrlocal", &e));
}

TEST(within)
{
        ASSERT_TRUE(hostdir_path_within("/a/b", "/a"));
        ASSERT_TRUE(hostdir_path_within("/a", "/a"));
        ASSERT_TRUE(hostdir_path_within("/a/b/c", "/"));
        ASSERT_FALSE(hostdir_path_within("/ab", "/a"));
        ASSERT_FALSE(hostdir_path_within("/a", "/a/b"));
}

TEST(open_refuses_symlinks_and_records_identity)
{
        char tmpl[] = "/tmp/enctest-hostdir-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        _cleanup_free_ char *real = path_join(tmpl, "real"), *link = path_join(tmpl, "link"),
                            *through = path_join(tmpl, "link/sub"), *sub = path_join(tmpl, "real/sub");
        ASSERT_OK(mkdir(real, 0755) < 0 ? -errno : 0);
        ASSERT_OK(mkdir(sub, 0755) < 0 ? -errno : 0);
        ASSERT_OK(symlink("real", link) < 0 ? -errno : 0);
        _cleanup_error_ Error e = ERROR_INIT;
        HostDirId id, again;
        int fd = hostdir_open(real, &id, &e);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        ASSERT_EQ(hostdir_open(link, &again, &e), -ELOOP);
        error_clear(&e);
        ASSERT_EQ(hostdir_open(through, &again, &e), -ELOOP);
        error_clear(&e);
        fd = hostdir_open(real, &again, &e);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        ASSERT_OK(hostdir_verify(real, &again, &id, &e));
        /* Another directory in its place. */
        _cleanup_free_ char *moved = path_join(tmpl, "moved");
        ASSERT_OK(rename(real, moved) < 0 ? -errno : 0);
        ASSERT_OK(mkdir(real, 0755) < 0 ? -errno : 0);
        fd = hostdir_open(real, &again, &e);
        ASSERT_TRUE(fd >= 0);
        close(fd);
        ASSERT_EQ(hostdir_verify(real, &again, &id, &e), -ESTALE);
        ASSERT_CONTAINS(e.msg, "not the directory it was");
        error_clear(&e);
        /* A renumbered device with the same filesystem id is the same. */
        HostDirId renum = id;
        renum.dev ^= 1;
        if (id.fsid != 0)
                ASSERT_OK(hostdir_verify(real, &renum, &id, &e));
        /* A changed owner is not. */
        HostDirId chowned = id;
        chowned.uid = 4242;
        ASSERT_EQ(hostdir_verify(real, &chowned, &id, &e), -ESTALE);
        ASSERT_CONTAINS(e.msg, "belongs to uid 4242");
        ASSERT_OK(rm_rf(tmpl));
}
