/* What root may execute or read as configuration (config/trust.h):
 * every component root's and not writable by others, sticky
 * directories allowed, symlinks resolved; the daemon's clean
 * environment. */
#include "config/trust.h"
#include "base/fs.h"
#include "base/str.h"
#include "test.h"
#include "scratch.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>

static char *tree(void)
{
        char *d = scratch_tmpdir("/tmp/enctest-trust.XXXXXX");
        if (!d || chmod(d, 0755) < 0)
                TEST_FAIL("scratch dir");
        return d;
}

static char *make_file(const char *dir, const char *rel, mode_t mode)
{
        char *p = path_join(dir, rel);
        _cleanup_free_ char *parent = strdup(p);
        *strrchr(parent, '/') = 0;
        if (mkdir_p(parent, 0755) < 0 || write_file_atomic(p, "x", 1, mode) < 0 || chmod(p, mode) < 0)
                TEST_FAIL("writing %s", p);
        return p;
}

static void require_root(void)
{
        if (geteuid() != 0)
                SKIP("the checks are about root-owned files");
}

TEST(root_owned_tree_is_trusted)
{
        require_root();
        _cleanup_tmpdir_ char *d = tree();
        _cleanup_free_ char *f = make_file(d, "etc/enclave/config.toml", 0644);
        _cleanup_free_ char *real = NULL;
        ASSERT_OK(trust_check_file(f, "config file", &real, NULL));
        ASSERT_STREQ(real, f);
        _cleanup_free_ char *dir = path_join(d, "etc");
        ASSERT_OK(trust_check_dir(dir, "the state dir", NULL));
}

TEST(other_owner_or_writable_component_is_refused)
{
        require_root();
        _cleanup_tmpdir_ char *d = tree();
        _cleanup_free_ char *f = make_file(d, "a/b/config.toml", 0644);
        _cleanup_free_ char *a = path_join(d, "a");
        _cleanup_error_ Error err = ERROR_INIT;

        ASSERT_OK(RET_NERRNO(chown(a, 1000, 1000)));
        ASSERT_EQ(trust_check_file(f, "config file", NULL, &err), -EPERM);
        ASSERT_CONTAINS(error_msg(&err), a);
        ASSERT_CONTAINS(error_msg(&err), "not owned by root");
        error_clear(&err);
        ASSERT_OK(RET_NERRNO(chown(a, 0, 0)));

        ASSERT_OK(RET_NERRNO(chmod(a, 0775)));
        ASSERT_EQ(trust_check_file(f, "config file", NULL, &err), -EPERM);
        ASSERT_CONTAINS(error_msg(&err), "writable by group or others");
        error_clear(&err);
        /* Sticky and world-writable, as /tmp: nobody else can replace b. */
        ASSERT_OK(RET_NERRNO(chmod(a, 01777)));
        ASSERT_OK(trust_check_file(f, "config file", NULL, &err));

        ASSERT_OK(RET_NERRNO(chmod(f, 0664)));
        ASSERT_EQ(trust_check_file(f, "config file", NULL, &err), -EPERM);
        error_clear(&err);
        ASSERT_OK(RET_NERRNO(chmod(f, 0644)));
        ASSERT_OK(RET_NERRNO(chown(f, 1000, 0)));
        ASSERT_EQ(trust_check_file(f, "config file", NULL, &err), -EPERM);
        error_clear(&err);
        ASSERT_OK(RET_NERRNO(chown(f, 0, 0)));

        _cleanup_free_ char *b = path_join(a, "b");
        ASSERT_EQ(trust_check_file(b, "config file", NULL, &err), -EINVAL); /* a directory */
        error_clear(&err);
        _cleanup_free_ char *missing = path_join(d, "nope");
        ASSERT_EQ(trust_check_file(missing, "config file", NULL, &err), -ENOENT);
}

/* A symlink is followed and the real path checked and returned: what
 * root then opens is the checked file, whatever happens to the link. */
TEST(symlinks_resolve_to_the_checked_path)
{
        require_root();
        _cleanup_tmpdir_ char *d = tree();
        _cleanup_free_ char *f = make_file(d, "real/config.toml", 0644);
        _cleanup_free_ char *userdir = path_join(d, "user");
        ASSERT_OK(RET_NERRNO(mkdir(userdir, 0755)));
        ASSERT_OK(RET_NERRNO(chown(userdir, 1000, 1000)));
        _cleanup_free_ char *link = path_join(userdir, "config.toml");
        ASSERT_OK(RET_NERRNO(symlink(f, link)));
        _cleanup_free_ char *real = NULL;
        ASSERT_OK(trust_check_file(link, "config file", &real, NULL));
        ASSERT_STREQ(real, f);
        /* And the other way round: a root-owned link to a user's file. */
        _cleanup_free_ char *uf = make_file(userdir, "evil.toml", 0644);
        ASSERT_OK(RET_NERRNO(chown(uf, 1000, 1000)));
        _cleanup_free_ char *link2 = path_join(d, "link2.toml");
        ASSERT_OK(RET_NERRNO(symlink(uf, link2)));
        ASSERT_EQ(trust_check_file(link2, "config file", NULL, NULL), -EPERM);
}

TEST(daemon_environment_is_clean)
{
        setenv("ENCLAVE_INIT", "/tmp/x", 1);
        setenv("ENCLAVE_DAEMON", "/tmp/y", 1);
        setenv("XDG_CONFIG_HOME", "/home/u/.config", 1);
        setenv("LD_PRELOAD", "/home/u/evil.so", 1);
        setenv("PATH", "/home/u/bin:/usr/bin", 1);
        setenv("ENCLAVE_LOG", "debug", 1);
        _cleanup_strv_free_ char **env = trust_daemon_environment();
        ASSERT_NOT_NULL(env);
        ASSERT_TRUE(strv_contains(env, "PATH=" TRUST_ROOT_PATH));
        ASSERT_TRUE(strv_contains(env, "ENCLAVE_LOG=debug"));
        STRV_FOREACH(e, env)
                if (startswith(*e, "ENCLAVE_INIT=") || startswith(*e, "ENCLAVE_DAEMON=") ||
                    startswith(*e, "XDG_CONFIG_HOME=") || startswith(*e, "LD_PRELOAD=") || strstr(*e, "/home/u"))
                        TEST_FAIL("%s reached the daemon's environment", *e);
}
