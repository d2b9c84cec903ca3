/* The token store: validation, atomic root-only files, refusal of files
 * with another owner or mode (with the fix in the message), wiping. */
#include "auth/token-store.h"
#include "spec/values.h"
#include "base/fs.h"
#include "base/str.h"
#include "test.h"
#include "scratch.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

#define SECRET "s3cr3t-tok-Zq9"

/* A fresh state dir per test, all below one root removed at exit (a
 * failed ASSERT skips cleanup attributes). */
static char *new_state_dir(void)
{
        return scratch_subdir("auth-store", "state");
}

static char *token_path(const char *state, const char *provider)
{
        char *p = NULL;
        if (asprintf(&p, "%s/auth/%s.token", state, provider) < 0)
                return NULL;
        return p;
}

static void require_root(void)
{
        if (geteuid() != 0)
                SKIP("the token store is root's (fchown 0)");
}

static bool all_zero(const void *p, size_t n)
{
        const unsigned char *b = p;
        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

TEST(providers_list_matches_values)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (size_t i = 0; auth_providers[i]; i++)
                strbuf_printf(&b, "%s%s", i ? ", " : "", auth_providers[i]);
        ASSERT_STREQ(b.data, auth_providers_list());
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(auth_provider_check("npm", &err));
        ASSERT_EQ(auth_provider_check("githb", &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "did you mean 'github'");
        ASSERT_CONTAINS(error_msg(&err), "enclave, github, npm");
        error_clear(&err);
        /* A pasted token in place of the provider is not echoed. */
        ASSERT_EQ(auth_provider_check("ghp_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &err), -EINVAL);
        ASSERT_FALSE(strstr(error_msg(&err), "ghp_"));
}

TEST(token_check_trims_one_line_end)
{
        size_t n;
        ASSERT_OK(auth_token_check("abc\n", 4, &n, NULL));
        ASSERT_EQ(n, 3);
        ASSERT_OK(auth_token_check("abc\r\n", 5, &n, NULL));
        ASSERT_EQ(n, 3);
        ASSERT_OK(auth_token_check("abc", 3, &n, NULL));
        ASSERT_EQ(n, 3);
        ASSERT_OK(auth_token_check("a b", 3, &n, NULL));
}

TEST(token_check_refuses_bad_tokens_without_quoting_them)
{
        static const struct {
                const char *s;
                size_t len;
                const char *msg;
        } bad[] = {
                { "", 0, "empty" },
                { "\n", 1, "empty" },
                { SECRET "\n\n", sizeof SECRET + 1, "line break" },
                { SECRET "\nmore", sizeof SECRET + 4, "line break" },
                { SECRET "\0x", sizeof SECRET + 1, "NUL" },
                { SECRET "\t", sizeof SECRET, "control" },
                { SECRET "\xc3\xa9", sizeof SECRET + 1, "non-ASCII" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_error_ Error err = ERROR_INIT;
                ASSERT_EQ(auth_token_check(bad[i].s, bad[i].len, NULL, &err), -EINVAL);
                ASSERT_CONTAINS(error_msg(&err), bad[i].msg);
                ASSERT_FALSE(strstr(error_msg(&err), SECRET));
        }
        char big[AUTH_TOKEN_MAX + 2];
        memset(big, 'a', sizeof big);
        size_t n;
        ASSERT_OK(auth_token_check(big, AUTH_TOKEN_MAX, &n, NULL));
        ASSERT_EQ(n, AUTH_TOKEN_MAX);
        big[AUTH_TOKEN_MAX] = '\n';
        ASSERT_OK(auth_token_check(big, AUTH_TOKEN_MAX + 1, &n, NULL));
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(auth_token_check(big, AUTH_TOKEN_MAX + 2, NULL, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "at most 4096");
}

TEST(save_writes_root_0600_in_0700_dir_and_load_reads_it)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(auth_store_save(state, 0, "github", SECRET "\n", sizeof SECRET, &err));

        _cleanup_free_ char *p = token_path(state, "github");
        struct stat st;
        ASSERT_OK(RET_NERRNO(lstat(p, &st)));
        ASSERT_TRUE(S_ISREG(st.st_mode));
        ASSERT_EQ(st.st_mode & 07777, 0600);
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_EQ(st.st_gid, 0);
        _cleanup_free_ char *dir = path_join(state, "auth");
        ASSERT_OK(RET_NERRNO(stat(dir, &st)));
        ASSERT_EQ(st.st_mode & 07777, 0700);

        /* Stored without the line end. */
        _cleanup_free_ char *raw = NULL;
        size_t len;
        ASSERT_OK(read_full_file(p, 8192, &raw, &len));
        ASSERT_EQ(len, strlen(SECRET));
        ASSERT_STREQ(raw, SECRET);

        _cleanup_auth_token_ AuthToken t = {};
        ASSERT_OK(auth_store_load(state, 0, "github", &t, &err));
        ASSERT_EQ(t.len, strlen(SECRET));
        ASSERT_STREQ(t.data, SECRET);
}

TEST(save_replaces_atomically_and_leaves_no_temp_files)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(auth_store_save(state, 0, "npm", "old-token", 9, &err));
        _cleanup_free_ char *p = token_path(state, "npm");
        _cleanup_close_ int old = open(p, O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(old >= 0);
        struct stat before, after;
        ASSERT_OK(RET_NERRNO(fstat(old, &before)));

        ASSERT_OK(auth_store_save(state, 0, "npm", "new-token", 9, &err));
        ASSERT_OK(RET_NERRNO(stat(p, &after)));
        /* A new inode renamed into place: a reader of the old file
         * never sees a half-written or truncated token. */
        ASSERT_NE(before.st_ino, after.st_ino);
        char buf[32] = {};
        ASSERT_EQ(pread(old, buf, sizeof buf - 1, 0), 9);
        ASSERT_STREQ(buf, "old-token");
        _cleanup_auth_token_ AuthToken t = {};
        ASSERT_OK(auth_store_load(state, 0, "npm", &t, &err));
        ASSERT_STREQ(t.data, "new-token");

        _cleanup_free_ char *dir = path_join(state, "auth");
        _cleanup_closedir_ DIR *d = opendir(dir);
        ASSERT_NOT_NULL(d);
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        ASSERT_STREQ(de->d_name, "npm.token");
                        n++;
                }
        ASSERT_EQ(n, 1);
}

TEST(save_creates_and_tightens_the_auth_dir)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_free_ char *dir = path_join(state, "auth");
        ASSERT_OK(RET_NERRNO(mkdir(dir, 0755)));
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(auth_store_save(state, 0, "enclave", "t", 1, &err));
        struct stat st;
        ASSERT_OK(RET_NERRNO(stat(dir, &st)));
        ASSERT_EQ(st.st_mode & 07777, 0700);

        /* A directory anyone may write is refused, with the fix. */
        ASSERT_OK(RET_NERRNO(chmod(dir, 0777)));
        _cleanup_auth_token_ AuthToken t = {};
        ASSERT_EQ(auth_store_load(state, 0, "enclave", &t, &err), -EPERM);
        ASSERT_CONTAINS(error_msg(&err), "chmod 700");
        ASSERT_OK(RET_NERRNO(chmod(dir, 0700)));
}

static void expect_refused(const char *state, const char *provider, const char *needle)
{
        _cleanup_error_ Error err = ERROR_INIT;
        AuthToken t;
        memset(&t, 'X', sizeof t);
        ASSERT_EQ(auth_store_load(state, 0, provider, &t, &err), -EPERM);
        ASSERT_CONTAINS(error_msg(&err), needle);
        ASSERT_FALSE(strstr(error_msg(&err), SECRET));
        /* Nothing of the file stays in the buffer. */
        ASSERT_TRUE(all_zero(&t, sizeof t));
}

TEST(file_with_other_mode_is_refused_with_the_fix)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(auth_store_save(state, 0, "github", SECRET, strlen(SECRET), &err));
        _cleanup_free_ char *p = token_path(state, "github");
        ASSERT_OK(RET_NERRNO(chmod(p, 0644)));
        expect_refused(state, "github", "mode is 0644, not 0600");
        expect_refused(state, "github", "chown root:root");
        expect_refused(state, "github", "chmod 600");
        expect_refused(state, "github", "enclave auth login github");
        ASSERT_OK(RET_NERRNO(chmod(p, 0400)));
        expect_refused(state, "github", "mode is 0400");
        ASSERT_OK(RET_NERRNO(chmod(p, 0600)));
        _cleanup_auth_token_ AuthToken t = {};
        ASSERT_OK(auth_store_load(state, 0, "github", &t, &err));
}

TEST(file_with_other_owner_is_refused_with_the_fix)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(auth_store_save(state, 0, "npm", SECRET, strlen(SECRET), &err));
        _cleanup_free_ char *p = token_path(state, "npm");
        ASSERT_OK(RET_NERRNO(chown(p, 1000, 0)));
        expect_refused(state, "npm", "owned by uid 1000, not root");
        expect_refused(state, "npm", "chown root:root");
}

TEST(symlinks_and_fifos_are_refused_without_following)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(auth_store_save(state, 0, "enclave", SECRET, strlen(SECRET), &err));
        _cleanup_free_ char *target = token_path(state, "enclave");
        _cleanup_free_ char *link = token_path(state, "github");
        ASSERT_OK(RET_NERRNO(symlink(target, link)));
        expect_refused(state, "github", "symlink");

        /* A FIFO would block a reader forever: refused at once. */
        _cleanup_free_ char *fifo = token_path(state, "npm");
        ASSERT_OK(RET_NERRNO(mkfifo(fifo, 0600)));
        expect_refused(state, "npm", "not a regular file");

        /* logout cleans both up; the symlink's target stays. */
        ASSERT_EQ(auth_store_remove(state, 0, "github", &err), 1);
        ASSERT_EQ(auth_store_remove(state, 0, "npm", &err), 1);
        ASSERT_OK(access(target, F_OK));
}

TEST(missing_and_malformed_files)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_auth_token_ AuthToken t = {};
        /* No auth dir at all, then an empty one. */
        ASSERT_EQ(auth_store_load(state, 0, "github", &t, &err), -ENOENT);
        ASSERT_CONTAINS(error_msg(&err), "enclave auth login github");
        error_clear(&err);
        ASSERT_OK(auth_store_save(state, 0, "npm", "x", 1, &err));
        ASSERT_EQ(auth_store_load(state, 0, "github", &t, &err), -ENOENT);
        error_clear(&err);

        /* Written by hand: a trailing newline is fine, two lines are not. */
        _cleanup_free_ char *p = token_path(state, "enclave");
        ASSERT_OK(write_file_atomic(p, "hand-made\n", 10, 0600));
        ASSERT_OK(auth_store_load(state, 0, "enclave", &t, &err));
        ASSERT_STREQ(t.data, "hand-made");
        ASSERT_TRUE(all_zero(t.data + t.len, sizeof t.data - t.len));
        ASSERT_OK(write_file_atomic(p, SECRET "\nsecond\n", sizeof SECRET + 7, 0600));
        ASSERT_EQ(auth_store_load(state, 0, "enclave", &t, &err), -EBADMSG);
        ASSERT_CONTAINS(error_msg(&err), "line break");
        ASSERT_FALSE(strstr(error_msg(&err), SECRET));
        error_clear(&err);
        char big[AUTH_TOKEN_MAX + 100];
        memset(big, 'a', sizeof big);
        ASSERT_OK(write_file_atomic(p, big, sizeof big, 0600));
        ASSERT_EQ(auth_store_load(state, 0, "enclave", &t, &err), -EBADMSG);
        ASSERT_CONTAINS(error_msg(&err), "too large");
}

TEST(remove_reports_whether_a_token_was_stored)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(auth_store_remove(state, 0, "github", &err), 0);
        ASSERT_OK(auth_store_save(state, 0, "github", "t", 1, &err));
        _cleanup_free_ char *p = token_path(state, "github");
        ASSERT_OK(RET_NERRNO(chmod(p, 0666)));
        ASSERT_EQ(auth_store_remove(state, 0, "github", &err), 1);
        ASSERT_EQ(access(p, F_OK), -1);
        ASSERT_EQ(auth_store_remove(state, 0, "github", &err), 0);
        ASSERT_EQ(auth_store_remove(state, 0, "gitlab", &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "unknown auth provider");
}

TEST(status_says_configured_missing_or_refused_never_the_token)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        AuthStatus st;
        ASSERT_OK(auth_store_status(state, 0, "github", &st, &err));
        ASSERT_EQ(st.state, AUTH_STATE_MISSING);
        ASSERT_NULL(st.problem);
        ASSERT_OK(auth_store_save(state, 0, "github", SECRET, strlen(SECRET), &err));
        ASSERT_OK(auth_store_status(state, 0, "github", &st, &err));
        ASSERT_EQ(st.state, AUTH_STATE_CONFIGURED);
        ASSERT_TRUE(st.mtime > 0);
        _cleanup_free_ char *p = token_path(state, "github");
        ASSERT_OK(RET_NERRNO(chmod(p, 0644)));
        ASSERT_OK(auth_store_status(state, 0, "github", &st, &err));
        ASSERT_EQ(st.state, AUTH_STATE_REFUSED);
        ASSERT_CONTAINS(st.problem, "chmod 600");
        ASSERT_FALSE(strstr(st.problem, SECRET));
        ASSERT_STREQ(auth_state_to_string(st.state), "refused");
        auth_status_done(&st);
}

TEST(token_buffers_are_wiped)
{
        AuthToken t;
        memset(&t, 'X', sizeof t);
        t.len = 5;
        auth_token_wipe(&t);
        ASSERT_TRUE(all_zero(&t, sizeof t));
        {
                _cleanup_auth_token_ AuthToken scoped = { .len = 3, .data = "abc" };
                ASSERT_EQ(scoped.len, 3);
        }
        /* A failed load leaves the buffer wiped, not half-filled. */
        memset(&t, 'X', sizeof t);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(auth_store_load("/tmp/enctest-auth-no-such-state", 0, "npm", &t, &err), -ENOENT);
        ASSERT_TRUE(all_zero(&t, sizeof t));
}

/* Every uid has its own store: a user's tokens live in
 * auth/users/<uid>/ (root's files and directories all the same), and
 * one uid never reads another's. */
TEST(each_uid_has_its_own_store)
{
        require_root();
        _cleanup_free_ char *state = new_state_dir();
        ASSERT_NOT_NULL(state);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(auth_store_save(state, 0, "github", "root-token", 10, &err));
        ASSERT_OK(auth_store_save(state, 1000, "github", "user-token", 10, &err));

        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/auth/users/1000/github.token", state);
        struct stat st;
        ASSERT_OK(RET_NERRNO(lstat(p, &st)));
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_EQ(st.st_mode & 07777, 0600);
        snprintf(p, sizeof p, "%s/auth/users/1000", state);
        ASSERT_OK(RET_NERRNO(lstat(p, &st)));
        ASSERT_TRUE(S_ISDIR(st.st_mode));
        ASSERT_EQ(st.st_uid, 0);
        ASSERT_EQ(st.st_mode & 07777, 0700);

        _cleanup_auth_token_ AuthToken t = {};
        ASSERT_OK(auth_store_load(state, 0, "github", &t, &err));
        ASSERT_STREQ(t.data, "root-token");
        ASSERT_OK(auth_store_load(state, 1000, "github", &t, &err));
        ASSERT_STREQ(t.data, "user-token");
        ASSERT_EQ(auth_store_load(state, 1001, "github", &t, &err), -ENOENT);
        error_clear(&err);
        ASSERT_EQ(auth_store_load(state, 1000, "npm", &t, &err), -ENOENT);
        error_clear(&err);

        /* A symlink in place of a user's store is refused, never followed. */
        snprintf(p, sizeof p, "%s/auth/users/1002", state);
        char target[PATH_MAX];
        snprintf(target, sizeof target, "%s/auth", state);
        ASSERT_OK(RET_NERRNO(symlink(target, p)));
        ASSERT_EQ(auth_store_load(state, 1002, "github", &t, &err), -EPERM);
        ASSERT_CONTAINS(error_msg(&err), "not a directory");
        error_clear(&err);

        ASSERT_EQ(auth_store_remove(state, 1000, "github", &err), 1);
        ASSERT_OK(auth_store_load(state, 0, "github", &t, &err));
        ASSERT_STREQ(t.data, "root-token");
}
