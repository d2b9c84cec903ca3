/* runtime/sync.c: the one child-error message (step, errno, text), its
 * reader, and the socket that carries it between parent and child. */
#include "test.h"

#include "runtime/sync.h"

#include <fcntl.h>
#include <sys/stat.h>

TEST(failure_text_is_what_then_arg)
{
        SyncMsg m;
        sync_msg_set_failure(&m, 11, ENOENT, "mounting tmpfs on", "/tmp");
        ASSERT_EQ(m.step, 11u);
        ASSERT_EQ(m.error, ENOENT);
        ASSERT_STREQ(m.text, "mounting tmpfs on /tmp");
        sync_msg_set_failure(&m, 3, EPERM, "pivot_root into the overlay", NULL);
        ASSERT_STREQ(m.text, "pivot_root into the overlay");
}

TEST(a_missing_errno_becomes_eio)
{
        SyncMsg m;
        sync_msg_set_failure(&m, 1, 0, "x", NULL);
        ASSERT_EQ(m.error, EIO);
        sync_msg_set_failure(&m, 1, -5, "x", NULL);
        ASSERT_EQ(m.error, EIO);
}

TEST(a_whole_path_fits_and_longer_text_is_cut)
{
        SyncMsg m;
        char path[PATH_MAX];
        memset(path, 'a', sizeof path - 1);
        path[0] = '/';
        path[sizeof path - 1] = 0;
        sync_msg_set_failure(&m, 1, ENAMETOOLONG, "opening", path);
        ASSERT_EQ(strlen(m.text), strlen("opening ") + strlen(path));
        char big[SYNC_TEXT_MAX + 100];
        memset(big, 'b', sizeof big - 1);
        big[sizeof big - 1] = 0;
        sync_msg_set_failure(&m, 1, EIO, big, big);
        ASSERT_EQ(strlen(m.text), (size_t) SYNC_TEXT_MAX - 1);
}

TEST(the_reader_makes_an_error_with_the_errno)
{
        SyncMsg m;
        Error err = ERROR_INIT;
        sync_msg_set_failure(&m, 2, EACCES, "executing", "/bin/x");
        ASSERT_EQ(sync_msg_error(&m, &err), -EACCES);
        ASSERT_STREQ(error_msg(&err), "executing /bin/x: Permission denied");
        error_clear(&err);
}

TEST(a_failure_crosses_the_socket)
{
        int p[2];
        ASSERT_OK(sync_pair(p));
        sync_send_failure(p[1], 12, EROFS, "masking", "/proc/sys");
        Error err = ERROR_INIT;
        ASSERT_EQ(sync_expect(p[0], 2, "workspace setup", NULL, 0, &err), -EROFS);
        ASSERT_STREQ(error_msg(&err), "masking /proc/sys: Read-only file system");
        error_clear(&err);
        close(p[0]);
        close(p[1]);
}

TEST(a_step_carries_descriptors)
{
        int p[2];
        ASSERT_OK(sync_pair(p));
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        ASSERT_TRUE(fd >= 0);
        ASSERT_OK(sync_send_step(p[1], 1, &fd, 1));
        close(fd);
        int got[2];
        Error err = ERROR_INIT;
        ASSERT_OK(sync_expect(p[0], 1, "go", got, 2, &err));
        ASSERT_TRUE(got[0] >= 0);
        ASSERT_EQ(got[1], -EBADF);
        struct stat st;
        ASSERT_OK(fstat(got[0], &st));
        ASSERT_TRUE(S_ISCHR(st.st_mode));
        ASSERT_TRUE(fcntl(got[0], F_GETFD) & FD_CLOEXEC);
        close(got[0]);
        /* A step other than the one expected is a protocol error. */
        ASSERT_OK(sync_send_step(p[1], 7, NULL, 0));
        ASSERT_EQ(sync_expect(p[0], 1, "go", NULL, 0, &err), -EPROTO);
        error_clear(&err);
        close(p[0]);
        close(p[1]);
}

TEST(eof_means_the_child_is_gone)
{
        int p[2];
        ASSERT_OK(sync_pair(p));
        close(p[1]);
        Error err = ERROR_INIT;
        ASSERT_EQ(sync_expect(p[0], 2, "workspace setup", NULL, 0, &err), -EPIPE);
        ASSERT_STREQ(error_msg(&err), "child exited during workspace setup");
        error_clear(&err);
        SyncMsg m;
        ASSERT_EQ(sync_recv(p[0], &m, NULL, 0), 0);
        close(p[0]);
}
