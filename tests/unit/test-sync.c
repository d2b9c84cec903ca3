/* runtime/sync.c: the one child-error message (step, errno, text), its
 * reader, and the socket that carries it between parent and child; and
 * a library-style child of runtime/nsclone.c speaking it. */
#include "test.h"

#include "runtime/nsclone.h"
#include "runtime/sync.h"

#include <sched.h>
#include <sys/wait.h>

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

TEST(a_whole_error_crosses_as_it_is)
{
        int p[2];
        ASSERT_OK(sync_pair(p));
        Error child = ERROR_INIT;
        error_set(&child, ENOTDIR, "/x is not a directory; a tar stream is unpacked into one");
        SyncMsg m;
        sync_msg_set_error(&m, 2, &child);
        sync_send_msg(p[1], &m);
        error_clear(&child);
        Error err = ERROR_INIT;
        /* Nothing appended: the child's message is already whole. */
        ASSERT_EQ(sync_expect(p[0], 2, "the copy", NULL, 0, &err), -ENOTDIR);
        ASSERT_STREQ(error_msg(&err), "/x is not a directory; a tar stream is unpacked into one");
        error_clear(&err);
        /* A failure recorded afterwards in the same message is not whole. */
        sync_msg_set_failure(&m, 1, EPERM, "x", NULL);
        ASSERT_EQ(sync_msg_error(&m, &err), -EPERM);
        ASSERT_STREQ(error_msg(&err), "x: Operation not permitted");
        error_clear(&err);
        close(p[0]);
        close(p[1]);
}

TEST(a_step_carries_a_text)
{
        int p[2];
        ASSERT_OK(sync_pair(p));
        ASSERT_OK(sync_send_text(p[1], 2, "/home/dir/file"));
        SyncMsg m;
        ASSERT_EQ(sync_recv(p[0], &m, NULL, 0), 1);
        ASSERT_EQ(m.step, 2u);
        ASSERT_EQ(m.error, 0);
        ASSERT_STREQ(m.text, "/home/dir/file");
        close(p[0]);
        close(p[1]);
}

typedef struct LibraryChild {
        int sock;
} LibraryChild;

/* Library code in the child: malloc and stdio work after ns_clone(). */
static int library_child(void *arg)
{
        const LibraryChild *c = arg;
        char *text = NULL;
        if (asprintf(&text, "%s/%d", "made", 42) < 0)
                return 3;
        int r = sync_send_text(c->sock, 5, text);
        free(text);
        return r < 0 ? 4 : 7;
}

TEST(a_library_child_runs_library_code_and_reports)
{
        int p[2];
        ASSERT_OK(sync_pair(p));
        LibraryChild c = { .sock = p[1] };
        int pidfd = -EBADF;
        NsClone a = { .flags = CLONE_PIDFD, .cgroup_fd = -EBADF, .ret_pidfd = &pidfd, .library = true };
        pid_t pid = ns_clone(&a, library_child, &c);
        ASSERT_TRUE(pid > 0);
        ASSERT_TRUE(pidfd >= 0);
        close(p[1]);
        SyncMsg m;
        ASSERT_EQ(sync_recv(p[0], &m, NULL, 0), 1);
        ASSERT_STREQ(m.text, "made/42");
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7);
        close(pidfd);
        close(p[0]);
        /* It takes no namespace or cgroup: those are joined with setns. */
        NsClone bad = { .flags = CLONE_NEWNS, .cgroup_fd = -EBADF, .library = true };
        ASSERT_EQ(ns_clone(&bad, library_child, &c), -1);
        ASSERT_EQ(errno, EINVAL);
}
