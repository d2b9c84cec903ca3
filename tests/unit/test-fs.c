#include "base/fs.h"
#include "base/process.h"
#include "test.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

static char *make_tmpdir(void)
{
        char tmpl[] = "/tmp/enctest-fs-XXXXXX";
        char *d = mkdtemp(tmpl);
        return d ? strdup(d) : NULL;
}

TEST(write_atomic_then_read)
{
        _cleanup_free_ char *dir = make_tmpdir();
        ASSERT_NOT_NULL(dir);
        _cleanup_free_ char *p = path_join(dir, "f");
        ASSERT_OK(write_file_atomic(p, "hello", 5, 0600));
        _cleanup_free_ char *buf = NULL;
        size_t len;
        ASSERT_OK(read_full_file(p, 100, &buf, &len));
        ASSERT_EQ(len, 5);
        ASSERT_STREQ(buf, "hello");
        struct stat st;
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_mode & 0777, 0600);
        _cleanup_free_ char *big = NULL;
        ASSERT_EQ(read_full_file(p, 3, &big, NULL), -EFBIG);
        ASSERT_OK(rm_rf(dir));
}

TEST(mkdir_p_and_rm_rf_do_not_follow_symlinks)
{
        _cleanup_free_ char *dir = make_tmpdir();
        _cleanup_free_ char *outside = make_tmpdir();
        ASSERT_NOT_NULL(dir);
        _cleanup_free_ char *deep = path_join(dir, "a/b/c");
        ASSERT_OK(mkdir_p(deep, 0755));
        ASSERT_OK(mkdir_p(deep, 0755));
        ASSERT_TRUE(is_dir(deep));
        _cleanup_free_ char *keep = path_join(outside, "keep");
        ASSERT_OK(write_file_atomic(keep, "x", 1, 0644));
        _cleanup_free_ char *link = path_join(dir, "a/escape");
        ASSERT_OK(RET_NERRNO(symlink(outside, link)));
        ASSERT_OK(rm_rf(dir));
        ASSERT_FALSE(is_dir(dir));
        ASSERT_OK(access(keep, F_OK));
        ASSERT_OK(rm_rf(outside));
        ASSERT_OK(rm_rf("/tmp/enctest-does-not-exist"));
}

TEST(path_join_slashes)
{
        _cleanup_free_ char *a = path_join("/x/", "/y");
        _cleanup_free_ char *b = path_join("/x", "y");
        ASSERT_STREQ(a, "/x/y");
        ASSERT_STREQ(b, "/x/y");
}

TEST(cleanup_close_and_take_fd)
{
        int kept;
        {
                _cleanup_close_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
                ASSERT_TRUE(fd >= 0);
                kept = TAKE_FD(fd);
                ASSERT_EQ(fd, -EBADF);
        }
        ASSERT_OK(fcntl(kept, F_GETFD));
        ASSERT_EQ(safe_close(kept), -EBADF);
        ASSERT_EQ(fcntl(kept, F_GETFD), -1);
}

TEST(cleanup_pid_kills_and_reaps)
{
        pid_t seen;
        {
                _cleanup_pid_ pid_t pid = fork();
                if (pid == 0) {
                        pause();
                        _exit(0);
                }
                ASSERT_TRUE(pid > 0);
                seen = pid;
        }
        ASSERT_EQ(kill(seen, 0), -1);
        ASSERT_EQ(errno, ESRCH);
}

TEST(process_identity)
{
        uint64_t t;
        ASSERT_OK(pid_start_time(getpid(), &t));
        ASSERT_TRUE(pid_is_same_process(getpid(), t));
        ASSERT_FALSE(pid_is_same_process(getpid(), t + 1));
        pid_t pid = fork();
        if (pid == 0)
                _exit(7);
        ASSERT_EQ(wait_for_exit(pid), 7);
        ASSERT_TRUE(pid_start_time(pid, &t) < 0);
}
