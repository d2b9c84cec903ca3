#include "test.h"

#include "storage/archive-validate.h"

static void expect_norm(const char *in, const char *want)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *out = NULL;
        int r = tarball_path_normalize(in, &out, &err);
        if (r < 0)
                TEST_FAIL("normalize(\"%s\") failed: %s", in, error_msg(&err));
        if (strcmp(out, want) != 0)
                TEST_FAIL("normalize(\"%s\") = \"%s\", want \"%s\"", in, out, want);
}

static void expect_refused(const char *in, const char *reason)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *out = NULL;
        if (tarball_path_normalize(in, &out, &err) != -EINVAL)
                TEST_FAIL("normalize(\"%s\") accepted as \"%s\"", in, out ? out : "");
        if (!strstr(error_msg(&err), reason))
                TEST_FAIL("normalize(\"%s\"): \"%s\" lacks \"%s\"", in, error_msg(&err), reason);
}

TEST(normalize_plain_names)
{
        expect_norm("etc/passwd", "etc/passwd");
        expect_norm("./etc/passwd", "etc/passwd");
        expect_norm("././etc//passwd", "etc/passwd");
        expect_norm("usr/bin/", "usr/bin");
        expect_norm("a/./b/./c", "a/b/c");
        expect_norm("...", "...");
        expect_norm("..hidden", "..hidden");
        expect_norm("a/..b/c..", "a/..b/c..");
}

TEST(normalize_root)
{
        expect_norm(".", "");
        expect_norm("./", "");
        expect_norm(".//./", "");
}

TEST(refuse_absolute_and_dotdot)
{
        expect_refused("/etc/passwd", "absolute");
        expect_refused("//etc", "absolute");
        expect_refused("../x", "\"..\"");
        expect_refused("a/../../x", "\"..\"");
        expect_refused("a/..", "\"..\"");
        expect_refused("./..", "\"..\"");
        expect_refused("", "empty");
        expect_refused(NULL, "empty");
}

TEST(refuse_overlong)
{
        char name[300];
        memset(name, 'a', sizeof name - 1);
        name[sizeof name - 1] = 0;
        expect_refused(name, "longer than");
        char *huge = malloc(5000);
        ASSERT_NOT_NULL(huge);
        for (int i = 0; i < 4999; i++)
                huge[i] = i % 2 ? '/' : 'a';
        huge[4999] = 0;
        expect_refused(huge, "too long");
        free(huge);
}

TEST(symlink_targets)
{
        /* absolute targets resolve inside the rootfs later */
        ASSERT_FALSE(tarball_symlink_escapes("etc/localtime", "/usr/share/zoneinfo/UTC"));
        ASSERT_FALSE(tarball_symlink_escapes("bin", "usr/bin"));
        ASSERT_FALSE(tarball_symlink_escapes("etc/os-release", "../usr/lib/os-release"));
        ASSERT_FALSE(tarball_symlink_escapes("a/b/c/link", "../../../x"));
        ASSERT_FALSE(tarball_symlink_escapes("a/b/link", "./../c/../../d"));
        ASSERT_FALSE(tarball_symlink_escapes("a/link", "b/../../c"));
        ASSERT_TRUE(tarball_symlink_escapes("link", ".."));
        ASSERT_TRUE(tarball_symlink_escapes("link", "../etc/passwd"));
        ASSERT_TRUE(tarball_symlink_escapes("etc/link", "../../etc/passwd"));
        ASSERT_TRUE(tarball_symlink_escapes("a/b/link", "../../../x"));
        /* going down then up past the root still escapes */
        ASSERT_TRUE(tarball_symlink_escapes("link", "a/../../b"));
        ASSERT_TRUE(tarball_symlink_escapes("a/link", "../x/../../y"));
}

TEST(xattr_namespaces)
{
        ASSERT_TRUE(tarball_xattr_allowed("user.foo"));
        ASSERT_TRUE(tarball_xattr_allowed("security.capability"));
        ASSERT_TRUE(tarball_xattr_allowed("trusted.overlay.opaque"));
        ASSERT_TRUE(tarball_xattr_allowed("system.posix_acl_access"));
        ASSERT_FALSE(tarball_xattr_allowed("system.nfs4_acl"));
        ASSERT_FALSE(tarball_xattr_allowed("bogus"));
        ASSERT_FALSE(tarball_xattr_allowed(NULL));
}

TEST(trusted_xattrs_that_travel)
{
        ASSERT_TRUE(tarball_trusted_xattr_portable("trusted.overlay.opaque"));
        ASSERT_TRUE(tarball_trusted_xattr_portable("trusted.overlay.redirect"));
        ASSERT_FALSE(tarball_trusted_xattr_portable("trusted.overlay.origin"));
        ASSERT_FALSE(tarball_trusted_xattr_portable("trusted.overlay.metacopy"));
        ASSERT_FALSE(tarball_trusted_xattr_portable("trusted.overlay.opaquex"));
        ASSERT_FALSE(tarball_trusted_xattr_portable("trusted.enclave"));
        ASSERT_FALSE(tarball_trusted_xattr_portable("user.overlay.opaque"));
        ASSERT_FALSE(tarball_trusted_xattr_portable(NULL));
}
