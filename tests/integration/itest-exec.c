/* workspace_exec() against the real kernel: exit statuses, stdio that
 * behaves like a local command, cwd confinement, ptys made inside the
 * workspace, and calls from a multi-threaded process. */
#include "itest-runtime-common.h"

#include <pthread.h>

static TestWs *shared_ws(void)
{
        static TestWs *t;
        if (!t)
                t = rt_ws_start("exec", NULL);
        return t;
}

static int exec_argv(TestWs *t, char *const *argv, const char *cwd, int *ret_status, Error *err)
{
        ExecConfig c;
        exec_config_init(&c, t->proc.pidfd, argv);
        c.cwd = cwd;
        c.stdio[2] = 2;
        ExecProcess p = EXEC_PROCESS_NULL;
        int r = workspace_exec(&c, &p, ret_status, err);
        if (r < 0)
                return r;
        *ret_status = exec_process_wait(&p);
        exec_process_done(&p);
        return 0;
}

TEST(exit_status_is_the_commands_own)
{
        TestWs *t = shared_ws();
        ASSERT_EQ(rt_exec(t, "exit 0", NULL), 0);
        ASSERT_EQ(rt_exec(t, "exit 7", NULL), 7);
        ASSERT_EQ(rt_exec(t, "exit 255", NULL), 255);
        ASSERT_EQ(rt_exec(t, "kill -9 $$", NULL), 128 + 9);
}

TEST(missing_command_is_127_and_non_executable_126)
{
        TestWs *t = shared_ws();
        _cleanup_error_ Error err = ERROR_INIT;
        int status = 0;
        char *missing[] = { "no-such-command", NULL };
        ASSERT_EQ(exec_argv(t, missing, NULL, &status, &err), -ENOENT);
        ASSERT_EQ(status, EXEC_STATUS_NOT_FOUND);
        ASSERT_CONTAINS(error_msg(&err), "no-such-command");
        error_clear(&err);
        char *missing_path[] = { "/usr/bin/nope", NULL };
        ASSERT_EQ(exec_argv(t, missing_path, NULL, &status, &err), -ENOENT);
        ASSERT_EQ(status, EXEC_STATUS_NOT_FOUND);
        error_clear(&err);
        char *not_exec[] = { "/etc/passwd", NULL };
        ASSERT_EQ(exec_argv(t, not_exec, NULL, &status, &err), -EACCES);
        ASSERT_EQ(status, EXEC_STATUS_CANNOT_EXECUTE);
        error_clear(&err);
        /* Found in PATH but not executable: 126, like a shell. */
        ASSERT_EQ(rt_exec(t, "printf 'echo hi' > /usr/bin/script && chmod 644 /usr/bin/script", NULL), 0);
        char *script[] = { "script", NULL };
        ASSERT_EQ(exec_argv(t, script, NULL, &status, &err), -EACCES);
        ASSERT_EQ(status, EXEC_STATUS_CANNOT_EXECUTE);
        /* And the PATH lookup uses the command's environment. */
        char *uname[] = { "uname", NULL };
        ASSERT_EQ(exec_argv(t, uname, NULL, &status, &err), 0);
        ASSERT_EQ(status, 0);
}

TEST(stdin_pipe_and_stdout_file_like_a_local_command)
{
        TestWs *t = shared_ws();
        int in[2];
        ASSERT_OK(pipe2(in, O_CLOEXEC));
        ASSERT_EQ(write(in[1], "alpha\nbeta\n", 11), 11);
        close(in[1]);
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec_in(t, "tr a-z A-Z", in[0], NULL, &out), 0);
        close(in[0]);
        ASSERT_STREQ(out, "ALPHA\nBETA\n");

        /* stdout is the caller's own file: written directly, no copy. */
        char path[PATH_MAX];
        rt_pathf(path, sizeof path, "%s/out.txt", rt.dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        char *argv[] = { "/bin/sh", "-c", "echo to-file; readlink /proc/$$/fd/1 | grep -c out.txt; exit 3", NULL };
        ExecConfig c;
        exec_config_init(&c, t->proc.pidfd, argv);
        c.stdio[1] = fd;
        ExecProcess p = EXEC_PROCESS_NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        int status;
        ASSERT_OK(workspace_exec(&c, &p, &status, &err));
        close(fd);
        ASSERT_EQ(exec_process_wait(&p), 3);
        exec_process_done(&p);
        _cleanup_free_ char *text = NULL;
        ASSERT_OK(read_full_file(path, 4096, &text, NULL));
        ASSERT_STREQ(text, "to-file\n1\n");
}

TEST(only_stdio_reaches_the_command)
{
        TestWs *t = shared_ws();
        /* A descriptor without O_CLOEXEC in the caller must not leak. */
        int leak = open("/etc/hostname", O_RDONLY);
        ASSERT_TRUE(leak >= 0);
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec(t, "ls /proc/self/fd | tr '\\n' ' '", &out), 0);
        close(leak);
        /* 0-2 and the fd ls uses to read the directory. */
        ASSERT_STREQ(out, "0 1 2 3 ");
}

TEST(environment_and_identity)
{
        TestWs *t = shared_ws();
        char *env[] = { "PATH=/bin", "FOO=bar baz", NULL };
        char *argv[] = { "sh", "-c", "echo \"$FOO\"; env | wc -l; id -u; hostname", NULL };
        int p[2];
        ASSERT_OK(pipe2(p, O_CLOEXEC));
        ExecConfig c;
        exec_config_init(&c, t->proc.pidfd, argv);
        c.env = env;
        c.stdio[1] = p[1];
        ExecProcess ep = EXEC_PROCESS_NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        int status;
        ASSERT_OK(workspace_exec(&c, &ep, &status, &err));
        close(p[1]);
        char buf[256] = { 0 };
        ssize_t n = 0, k;
        while ((k = read(p[0], buf + n, sizeof buf - 1 - (size_t) n)) > 0)
                n += k;
        close(p[0]);
        ASSERT_EQ(exec_process_wait(&ep), 0);
        exec_process_done(&ep);
        /* sh adds PWD, SHLVL and friends; the host's environment is absent. */
        ASSERT_CONTAINS(buf, "bar baz\n");
        ASSERT_CONTAINS(buf, "\n0\nexec\n");
        ASSERT_TRUE(strstr(buf, "HOME") == NULL);
}

TEST(cwd_must_stay_under_home)
{
        TestWs *t = shared_ws();
        ASSERT_EQ(rt_exec(t, "mkdir -p /home/proj/sub && ln -sfn /etc /home/abs && ln -sfn ../../etc /home/proj/rel",
                          NULL),
                  0);
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec_in(t, "pwd", -1, "/home/proj/sub", &out), 0);
        ASSERT_STREQ(out, "/home/proj/sub\n");
        free(out);
        out = NULL;
        ASSERT_EQ(rt_exec_in(t, "pwd", -1, NULL, &out), 0);
        ASSERT_STREQ(out, "/home\n");

        const char *refused[] = { "/etc", "/", "/home/../etc", "/home/proj/../../etc", "/home/abs", "/home/proj/rel",
                                  "relative", "/homework" };
        char *argv[] = { "/bin/true", NULL };
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                _cleanup_error_ Error err = ERROR_INIT;
                int status = 0;
                int r = exec_argv(t, argv, refused[i], &status, &err);
                if (r >= 0)
                        TEST_FAIL("cwd %s was accepted", refused[i]);
                ASSERT_EQ(status, EXEC_STATUS_FAILED);
        }
}

TEST(pty_is_made_inside_the_workspace)
{
        TestWs *t = shared_ws();
        char *argv[] = { "/bin/sh", "-c", "[ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo TTY; tty; stty size", NULL };
        ExecConfig c;
        exec_config_init(&c, t->proc.pidfd, argv);
        c.pty = true;
        c.rows = 33;
        c.cols = 101;
        ExecProcess p = EXEC_PROCESS_NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        int status;
        ASSERT_OK(workspace_exec(&c, &p, &status, &err));
        ASSERT_TRUE(p.pty_master >= 0);
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        char buf[256];
        ssize_t n;
        /* EIO once the command (the only slave holder) has exited. */
        while ((n = read(p.pty_master, buf, sizeof buf)) > 0)
                strbuf_append(&b, buf, (size_t) n);
        ASSERT_EQ(exec_process_wait(&p), 0);
        exec_process_done(&p);
        ASSERT_CONTAINS(b.data, "TTY\r\n/dev/pts/0\r\n33 101\r\n");
}

typedef struct ThreadArg {
        TestWs *t;
        int ok;
} ThreadArg;

static void *exec_thread(void *arg)
{
        ThreadArg *a = arg;
        for (int i = 0; i < 50; i++) {
                char *out = NULL;
                if (rt_exec(a->t, "echo $((6*7))", &out) == 0 && out && streq(out, "42\n"))
                        a->ok++;
                free(out);
        }
        return NULL;
}

static void *alloc_thread(void *arg)
{
        volatile bool *stop = arg;
        while (!*stop) {
                void *p = malloc(1000);
                free(p);
        }
        return NULL;
}

TEST(exec_from_many_threads)
{
        TestWs *t = shared_ws();
        volatile bool stop = false;
        pthread_t noise;
        ASSERT_EQ(pthread_create(&noise, NULL, alloc_thread, (void *) &stop), 0);
        ThreadArg args[4];
        pthread_t th[4];
        for (int i = 0; i < 4; i++) {
                args[i] = (ThreadArg) { t, 0 };
                ASSERT_EQ(pthread_create(&th[i], NULL, exec_thread, &args[i]), 0);
        }
        for (int i = 0; i < 4; i++)
                pthread_join(th[i], NULL);
        stop = true;
        pthread_join(noise, NULL);
        for (int i = 0; i < 4; i++)
                ASSERT_EQ(args[i].ok, 50);
}

static void *spawn_thread(void *arg)
{
        TestWs *t = arg;
        _cleanup_error_ Error err = ERROR_INIT;
        return (void *) (intptr_t) rt_ws_start_opts(t, NULL, &err);
}

TEST(spawn_from_a_thread_while_others_run)
{
        rt_require();
        volatile bool stop = false;
        pthread_t noise;
        ASSERT_EQ(pthread_create(&noise, NULL, alloc_thread, (void *) &stop), 0);
        TestWs *t = rt_ws_new("threaded");
        pthread_t th;
        void *ret;
        ASSERT_EQ(pthread_create(&th, NULL, spawn_thread, t), 0);
        pthread_join(th, &ret);
        stop = true;
        pthread_join(noise, NULL);
        ASSERT_EQ((intptr_t) ret, 0);
        /* The spawning thread is gone; init must outlive it. */
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec(t, "echo alive", &out), 0);
        ASSERT_STREQ(out, "alive\n");
        rt_ws_stop(t);
}

TEST(exec_time_figure)
{
        TestWs *t = shared_ws();
        char *argv[] = { "/bin/true", NULL };
        double best = 1e9, total = 0;
        for (int i = 0; i < 200; i++) {
                _cleanup_error_ Error err = ERROR_INIT;
                int status;
                double t0 = rt_now_ms();
                ASSERT_OK(exec_argv(t, argv, NULL, &status, &err));
                double took = rt_now_ms() - t0;
                ASSERT_EQ(status, 0);
                total += took;
                if (took < best)
                        best = took;
        }
        printf("# exec of /bin/true through the library: best %.3f ms, mean %.3f ms (200 runs)\n", best, total / 200);
}

static void *stop_thread(void *arg)
{
        TestWs *t = arg;
        _cleanup_error_ Error err = ERROR_INIT;
        (void) workspace_stop(&t->proc, 2000, NULL, &err);
        return NULL;
}

TEST(stop_waits_for_exec_children_being_reaped)
{
        TestWs *t = rt_ws_start("exec-stop", NULL);
        char *argv[] = { "/bin/sleep", "1000", NULL };
        ExecConfig c;
        exec_config_init(&c, t->proc.pidfd, argv);
        ExecProcess p = EXEC_PROCESS_NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        int status;
        ASSERT_OK(workspace_exec(&c, &p, &status, &err));
        /* Stop from another thread while this one reaps the command,
         * as the daemon's event loop would. */
        pid_t pid = t->proc.pid;
        pthread_t th;
        ASSERT_EQ(pthread_create(&th, NULL, stop_thread, t), 0);
        ASSERT_EQ(exec_process_wait(&p), 128 + SIGKILL);
        pthread_join(th, NULL);
        exec_process_done(&p);
        ASSERT_EQ(kill(pid, 0), -1);
}
