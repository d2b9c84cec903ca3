#include "test.h"

#include "base/fs.h"
#include "spec/values.h"
#include "storage/layout.h"

#include <sys/stat.h>

#define S "/var/lib/enclave"

static char *path_or_fail(int r, char *p, Error *err)
{
        if (r < 0)
                TEST_FAIL("unexpected error: %s", error_msg(err));
        return p;
}

TEST(paths_follow_the_layout)
{
        _cleanup_error_ Error err = ERROR_INIT;
        char *p = NULL;
#define CHECK_PATH(call, want)                                  \
        do {                                                    \
                p = NULL;                                       \
                int _r = (call);                                \
                _cleanup_free_ char *_p = path_or_fail(_r, p, &err); \
                ASSERT_STREQ(_p, want);                         \
        } while (0)
        CHECK_PATH(layout_registry_db(S, &p, &err), S "/registry.db");
        CHECK_PATH(layout_tmp_dir(S "/", &p, &err), S "/tmp");
        CHECK_PATH(layout_cache_dir(S, &p, &err), S "/cache");
        CHECK_PATH(layout_auth_token(S, "github", &p, &err), S "/auth/github.token");
        CHECK_PATH(layout_sandbox_dir(S, "agents", &p, &err), S "/sandboxes/agents");
        CHECK_PATH(layout_sandbox_rootfs(S, "agents", &p, &err), S "/sandboxes/agents/rootfs");
        CHECK_PATH(layout_workspaces_dir(S, "agents", &p, &err), S "/sandboxes/agents/workspaces");
        CHECK_PATH(layout_workspace_dir(S, "agents", "coder", &p, &err), S "/sandboxes/agents/workspaces/coder");
        CHECK_PATH(layout_workspace_subdir(S, "agents", "coder", WORKSPACE_DIR_UPPER, &p, &err),
                   S "/sandboxes/agents/workspaces/coder/upper");
        CHECK_PATH(layout_workspace_subdir(S, "agents", "coder", WORKSPACE_DIR_LOGS, &p, &err),
                   S "/sandboxes/agents/workspaces/coder/logs");
        CHECK_PATH(layout_snapshot_dir(S, "agents", "coder", "snap-1", &p, &err),
                   S "/sandboxes/agents/workspaces/coder/snapshots/snap-1");
        CHECK_PATH(layout_rootfs_cache_dir(S, "bookworm", &p, &err), S "/sandboxes/rootfs-cache/bookworm");
        CHECK_PATH(layout_rootfs_cache_dir(S, "base", &p, &err), S "/sandboxes/rootfs-cache/base");
        CHECK_PATH(layout_rootfs_cache_root("/", &p, &err), "/sandboxes/rootfs-cache");
}

static void expect_invalid(int r, Error *err, const char *needle)
{
        if (r != -EINVAL)
                TEST_FAIL("expected -EINVAL, got %d", r);
        if (needle && !strstr(error_msg(err), needle))
                TEST_FAIL("\"%s\" lacks \"%s\"", error_msg(err), needle);
        error_clear(err);
}

TEST(names_are_validated)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *p = NULL;
        expect_invalid(layout_sandbox_dir(S, "rootfs-cache", &p, &err), &err, "reserved");
        expect_invalid(layout_sandbox_rootfs(S, "..", &p, &err), &err, "invalid sandbox name");
        expect_invalid(layout_sandbox_rootfs(S, "a/b", &p, &err), &err, NULL);
        expect_invalid(layout_sandbox_rootfs(S, "", &p, &err), &err, NULL);
        expect_invalid(layout_sandbox_rootfs(S, NULL, &p, &err), &err, NULL);
        expect_invalid(layout_workspace_dir(S, "sb", "../x", &p, &err), &err, "invalid workspace name");
        expect_invalid(layout_snapshot_dir(S, "sb", "ws", ".hidden", &p, &err), &err, "invalid snapshot name");
        expect_invalid(layout_auth_token(S, "../../etc/shadow", &p, &err), &err, "auth provider");
        expect_invalid(layout_rootfs_cache_dir(S, "../bookworm", &p, &err), &err, "unknown suite");
        expect_invalid(layout_rootfs_cache_dir(S, "jessie", &p, &err), &err, "bookworm");
        expect_invalid(layout_workspace_subdir(S, "sb", "ws", (WorkspaceDir) 99, &p, &err), &err, NULL);
        ASSERT_NULL(p);
}

TEST(state_dir_must_be_plain_and_absolute)
{
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *p = NULL;
        expect_invalid(layout_registry_db("relative/state", &p, &err), &err, "absolute");
        expect_invalid(layout_registry_db("/var/lib/../etc", &p, &err), &err, "\"..\"");
        expect_invalid(layout_registry_db("/var/./lib", &p, &err), &err, NULL);
        expect_invalid(layout_registry_db(NULL, &p, &err), &err, NULL);
        ASSERT_OK(layout_registry_db("/var/lib/enclave..d", &p, &err));
}

TEST(suites)
{
        _cleanup_error_ Error err = ERROR_INIT;
        const char *ok[] = { "bookworm", "bullseye", "trixie", "sid", "stable", "testing", "oldstable" };
        for (size_t i = 0; i < ELEMENTSOF(ok); i++)
                ASSERT_TRUE(debian_suite_is_known(ok[i]));
        ASSERT_FALSE(debian_suite_is_known("base"));
        ASSERT_TRUE(layout_cache_name_is_valid("base"));
        ASSERT_FALSE(debian_suite_is_known("buster"));
        ASSERT_EQ(debian_suite_check("bookwrm", NULL, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "did you mean bookworm?");
        error_clear(&err);
        ASSERT_EQ(debian_suite_check("base", NULL, &err), -EINVAL);
        error_clear(&err);
        ASSERT_OK(debian_suite_check("base", LAYOUT_CACHE_BASE, &err));
        ASSERT_TRUE(layout_sandbox_name_is_valid("agents"));
        ASSERT_FALSE(layout_sandbox_name_is_valid("rootfs-cache"));
}

static mode_t mode_of(const char *dir, const char *rel, uid_t *uid)
{
        _cleanup_free_ char *p = path_join(dir, rel);
        struct stat st;
        if (!p || lstat(p, &st) < 0)
                return (mode_t) -1;
        if (uid)
                *uid = st.st_uid;
        return st.st_mode & 07777;
}

TEST(skeletons_have_the_right_modes)
{
        if (geteuid() != 0)
                SKIP("needs root (chown)");
        char tmpl[] = "/tmp/enctest-layout-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        _cleanup_free_ char *state = path_join(tmpl, "state");
        _cleanup_error_ Error err = ERROR_INIT;
        mode_t old = umask(022);
        int r = layout_workspace_create(state, "sb", "ws", 100000, 100000, &err);
        umask(old);
        if (r < 0) {
                (void) rm_rf(tmpl);
                TEST_FAIL("layout_workspace_create: %s", error_msg(&err));
        }
        uid_t uid = 1;
        ASSERT_EQ(mode_of(state, "", &uid), 0700);
        ASSERT_EQ(uid, 0);
        ASSERT_EQ(mode_of(state, "auth", NULL), 0700);
        ASSERT_EQ(mode_of(state, "tmp", NULL), 0700);
        ASSERT_EQ(mode_of(state, "sandboxes/sb", NULL), 0755);
        ASSERT_EQ(mode_of(state, "sandboxes/sb/workspaces/ws/upper", &uid), 0755);
        ASSERT_EQ(uid, 100000);
        ASSERT_EQ(mode_of(state, "sandboxes/sb/workspaces/ws/home", &uid), 0755);
        ASSERT_EQ(uid, 100000);
        ASSERT_EQ(mode_of(state, "sandboxes/sb/workspaces/ws/snapshots", &uid), 0700);
        ASSERT_EQ(uid, 0);
        ASSERT_EQ(mode_of(state, "sandboxes/sb/workspaces/ws/logs", NULL), 0750);
        /* Idempotent. */
        ASSERT_OK(layout_workspace_create(state, "sb", "ws", 100000, 100000, &err));
        ASSERT_OK(layout_workspace_remove(state, "sb", "ws", &err));
        ASSERT_EQ(mode_of(state, "sandboxes/sb/workspaces/ws", NULL), (mode_t) -1);
        ASSERT_OK(layout_sandbox_remove(state, "sb", &err));
        ASSERT_EQ(mode_of(state, "sandboxes/sb", NULL), (mode_t) -1);
        ASSERT_OK(layout_sandbox_remove(state, "sb", &err)); /* missing is fine */
        ASSERT_OK(rm_rf(tmpl));
}
