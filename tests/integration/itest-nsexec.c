/* storage/nsexec.c: a program on the host in fresh mount, PID and IPC
 * namespaces (debootstrap's runner), and the failures its processes
 * report before exec through the child-error protocol of runtime/sync.h.
 * Needs root. */
#include "test.h"
#include "itest-common.h"

#include "storage/nsexec.h"

#include <sys/stat.h>

typedef struct Lines {
        char text[4096];
        size_t n;
} Lines;

static int on_line(const char *line, void *userdata)
{
        Lines *l = userdata;
        size_t len = strlen(l->text);
        snprintf(l->text + len, sizeof l->text - len, "%s\n", line);
        l->n++;
        return 0;
}

static void need_root(void)
{
        if (geteuid() != 0)
                SKIP("needs root");
}

static char *const env[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };

static int run(const char *const *argv, const char *cwd, Lines *out, int *status, Error *err)
{
        NsExecSpec spec = { .argv = argv, .envp = (const char *const *) env, .cwd = cwd };
        *out = (Lines) {};
        return nsexec_run(&spec, on_line, out, NULL, status, err);
}

TEST(output_and_exit_status_are_the_programs)
{
        need_root();
        _cleanup_error_ Error err = ERROR_INIT;
        Lines out;
        int status = -1;
        const char *argv[] = { "/bin/sh", "-c", "echo one; echo two >&2; exit 3", NULL };
        ASSERT_OK_E(run(argv, NULL, &out, &status, &err), err);
        ASSERT_EQ(status, 3);
        ASSERT_STREQ(out.text, "one\ntwo\n");
}

TEST(the_program_is_pid_2_beside_its_own_proc)
{
        need_root();
        _cleanup_error_ Error err = ERROR_INIT;
        Lines out;
        int status = -1;
        const char *argv[] = { "/bin/sh", "-c", "echo $$; cat /proc/1/comm", NULL };
        ASSERT_OK_E(run(argv, "/", &out, &status, &err), err);
        ASSERT_EQ(status, 0);
        ASSERT_STREQ(out.text, "2\nenclave-nsinit\n");
}

TEST(a_signal_shows_as_128_plus_n)
{
        need_root();
        _cleanup_error_ Error err = ERROR_INIT;
        Lines out;
        int status = -1;
        const char *argv[] = { "/bin/sh", "-c", "kill -9 $$", NULL };
        ASSERT_OK_E(run(argv, NULL, &out, &status, &err), err);
        ASSERT_EQ(status, 128 + 9);
}

TEST(a_missing_program_is_reported_with_its_path)
{
        need_root();
        _cleanup_error_ Error err = ERROR_INIT;
        Lines out;
        int status = -1;
        const char *argv[] = { "/nonexistent/enclave-prog", NULL };
        ASSERT_EQ(run(argv, NULL, &out, &status, &err), -ENOENT);
        ASSERT_STREQ(error_msg(&err), "executing the program /nonexistent/enclave-prog: No such file or directory");
        ASSERT_EQ(status, -1);
}

TEST(a_missing_working_directory_is_reported)
{
        need_root();
        _cleanup_error_ Error err = ERROR_INIT;
        Lines out;
        int status = -1;
        const char *argv[] = { "/bin/true", NULL };
        ASSERT_EQ(run(argv, "/nonexistent/enclave-dir", &out, &status, &err), -ENOENT);
        ASSERT_STREQ(error_msg(&err), "changing to the working directory: No such file or directory");
}

TEST(a_relative_program_is_refused)
{
        _cleanup_error_ Error err = ERROR_INIT;
        Lines out;
        int status = -1;
        const char *argv[] = { "true", NULL };
        ASSERT_EQ(run(argv, NULL, &out, &status, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "absolute");
}

TEST(its_mounts_never_reach_the_host)
{
        need_root();
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *before = NULL, *after = NULL;
        ASSERT_OK(read_full_file("/proc/self/mountinfo", 1 << 22, &before, NULL));
        Lines out;
        int status = -1;
        const char *argv[] = { "/bin/sh", "-c", "mount -t tmpfs enclave-nsexec-test /mnt && grep -c enclave-nsexec-test /proc/self/mountinfo", NULL };
        ASSERT_OK_E(run(argv, NULL, &out, &status, &err), err);
        ASSERT_EQ(status, 0);
        ASSERT_STREQ(out.text, "1\n");
        ASSERT_OK(read_full_file("/proc/self/mountinfo", 1 << 22, &after, NULL));
        ASSERT_TRUE(strstr(after, "enclave-nsexec-test") == NULL);
}
