/* auth_files_write() on a real tmpfs: the test enters a private mount
 * namespace (so nothing is visible to the host and everything goes
 * away with the process), mounts a tmpfs on /run there, and writes a
 * plan into /run/enclave, as the workspace runtime does inside a
 * workspace. Then git authenticates to github.com from the file alone. */
#include "auth/inject.h"
#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"
#include "test.h"
#include "scratch.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#define GH "ghp_files-test-token"
#define NPM "npm_files-test-token"
#define TMPFS_MAGIC 0x01021994

/* Once per process: a private mount namespace with a tmpfs on /run and
 * an empty /run/enclave; a state dir with github and npm tokens. */
static const char *setup(void)
{
        static const char *state_root;
        if (state_root)
                return state_root;
        if (geteuid() != 0)
                return NULL;
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return NULL;
        if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") < 0 || mkdir("/run/enclave", 0755) < 0)
                return NULL;
        const char *root = scratch_dir("auth-files");
        if (!root || auth_store_save(root, 0, "github", GH, strlen(GH), NULL) < 0 ||
            auth_store_save(root, 0, "npm", NPM, strlen(NPM), NULL) < 0)
                return NULL;
        return state_root = root;
}

#define NEED_SETUP(s)                                                                   \
        const char *s = setup();                                                        \
        if (!s)                                                                         \
                SKIP("needs root (a private mount namespace with a tmpfs on /run)")

static void expect_file(int dirfd, const char *path, const char *content)
{
        struct stat st;
        ASSERT_OK(RET_NERRNO(fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW)));
        ASSERT_TRUE(S_ISREG(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0400);
        ASSERT_EQ(st.st_uid, geteuid());
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        ASSERT_TRUE(fd >= 0);
        _cleanup_free_ char *buf = NULL;
        ASSERT_OK(read_full_fd(fd, 8192, &buf, NULL));
        ASSERT_STREQ(buf, content);
}

TEST(files_land_on_the_tmpfs_with_mode_0400)
{
        NEED_SETUP(state);
        char *auth[] = { "github", "npm", NULL };
        char *names[] = { "GH_TOKEN", "NPM_TOKEN", NULL };
        _cleanup_auth_plan_ AuthPlan *p = NULL;
        ASSERT_OK(auth_plan_build(state, 0, auth, names, &p, NULL));
        _cleanup_close_ int dirfd = open("/run/enclave", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dirfd >= 0);
        struct statfs sfs;
        ASSERT_OK(RET_NERRNO(fstatfs(dirfd, &sfs)));
        ASSERT_EQ(sfs.f_type, TMPFS_MAGIC);

        mode_t old_umask = umask(077);
        int r = auth_files_write(dirfd, p);
        umask(old_umask);
        ASSERT_OK(r);
        expect_file(dirfd, "auth/github.token", GH);
        expect_file(dirfd, "auth/npm.token", NPM);
        expect_file(dirfd, "env/GH_TOKEN", GH);
        expect_file(dirfd, "env/NPM_TOKEN", NPM);
        struct stat st;
        ASSERT_OK(RET_NERRNO(fstatat(dirfd, "auth", &st, AT_SYMLINK_NOFOLLOW)));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0755);
        ASSERT_EQ(fstatat(dirfd, "auth/enclave.token", &st, 0), -1);
        ASSERT_EQ(fstatat(dirfd, "env/GITHUB_TOKEN", &st, 0), -1);
}

TEST(rewriting_replaces_files_and_never_follows_symlinks)
{
        NEED_SETUP(state);
        char *auth[] = { "github", NULL };
        _cleanup_auth_plan_ AuthPlan *p = NULL;
        ASSERT_OK(auth_plan_build(state, 0, auth, NULL, &p, NULL));
        _cleanup_close_ int dirfd = open("/run/enclave", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_TRUE(dirfd >= 0);

        /* A planted symlink where the token goes must not redirect the
         * write onto another file. */
        _cleanup_free_ char *victim = NULL;
        ASSERT_TRUE(asprintf(&victim, "%s/victim", state) > 0);
        ASSERT_OK(write_file_atomic(victim, "keep", 4, 0644));
        ASSERT_OK(auth_files_write(dirfd, p));
        ASSERT_OK(RET_NERRNO(unlinkat(dirfd, "auth/github.token", 0)));
        ASSERT_OK(RET_NERRNO(symlinkat(victim, dirfd, "auth/github.token")));
        ASSERT_OK(auth_files_write(dirfd, p));
        expect_file(dirfd, "auth/github.token", GH);
        _cleanup_free_ char *kept = NULL;
        ASSERT_OK(read_full_file(victim, 100, &kept, NULL));
        ASSERT_STREQ(kept, "keep");
        /* And an existing 0400 file is replaced, not an error. */
        ASSERT_OK(auth_files_write(dirfd, p));
        expect_file(dirfd, "auth/github.token", GH);
}

TEST(git_reads_the_token_from_the_workspace_file)
{
        NEED_SETUP(state);
        if (access("/usr/bin/git", X_OK) < 0)
                SKIP("git is not installed");
        char *auth[] = { "github", NULL };
        _cleanup_auth_plan_ AuthPlan *p = NULL;
        ASSERT_OK(auth_plan_build(state, 0, auth, NULL, &p, NULL));
        _cleanup_close_ int dirfd = open("/run/enclave", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        ASSERT_OK(auth_files_write(dirfd, p));

        /* Only git's own settings from the plan: no token variable, so
         * the password can only come from /run/enclave/auth/github.token. */
        _cleanup_strv_free_ char **env = NULL;
        char *home = NULL;
        ASSERT_TRUE(asprintf(&home, "HOME=%s", state) > 0);
        ASSERT_OK(strv_consume(&env, home));
        ASSERT_OK(strv_push(&env, "PATH=/usr/bin:/bin"));
        ASSERT_OK(strv_push(&env, "GIT_CONFIG_NOSYSTEM=1"));
        ASSERT_OK(strv_push(&env, "GIT_CONFIG_GLOBAL=/dev/null"));
        for (size_t i = 0; i < p->n_env; i++)
                if (startswith(p->env[i], "GIT_"))
                        ASSERT_OK(strv_push(&env, p->env[i]));

        int in[2], out[2];
        ASSERT_OK(RET_NERRNO(pipe2(in, O_CLOEXEC)));
        ASSERT_OK(RET_NERRNO(pipe2(out, O_CLOEXEC)));
        pid_t pid = fork();
        ASSERT_TRUE(pid >= 0);
        if (pid == 0) {
                dup2(in[0], 0);
                dup2(out[1], 1);
                char *argv[] = { "git", "credential", "fill", NULL };
                execve("/usr/bin/git", argv, env);
                _exit(127);
        }
        close(in[0]);
        close(out[1]);
        static const char req[] = "protocol=https\nhost=github.com\n\n";
        ASSERT_OK(loop_write(in[1], req, sizeof req - 1));
        close(in[1]);
        _cleanup_free_ char *answer = NULL;
        int r = read_full_fd(out[0], 4096, &answer, NULL);
        close(out[0]);
        ASSERT_EQ(wait_for_exit(pid), 0);
        ASSERT_OK(r);
        ASSERT_CONTAINS(answer, "password=" GH "\n");
}

TEST(nothing_to_write_is_fine)
{
        NEED_SETUP(state);
        _cleanup_auth_plan_ AuthPlan *p = NULL;
        ASSERT_OK(auth_plan_build(state, 0, NULL, NULL, &p, NULL));
        ASSERT_OK(auth_files_write(-1, p));
        ASSERT_OK(auth_files_write(-1, NULL));
}
