/* Shared fixture of the runtime integration tests (root, real kernel).
 *
 * One scratch dir /tmp/enctest-rt-<pid>-XXXXXX per test program with a
 * busybox rootfs built like make_busybox_rootfs in lib.sh, workspaces
 * started straight through the library with host id blocks from a
 * fixed high base (3,000,000,000+, so no /etc/subuid change is needed),
 * and an exit handler that stops every workspace and removes the dir
 * on every exit path (a failed ASSERT included). */
#pragma once

#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"
#include "runtime/exec.h"
#include "runtime/logs.h"
#include "runtime/spawn.h"
#include "test.h"

#include <dirent.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#define RT_MAX_WS 32
#define RT_ID_BASE 3000000000U

typedef struct TestWs {
        char name[64];
        char dir[PATH_MAX];
        uint32_t base;
        WorkspaceProcess proc;
        bool used;
} TestWs;

static struct {
        char dir[PATH_MAX];
        char rootfs[PATH_MAX];
        int init_fd;
        unsigned n_bases;
        TestWs ws[RT_MAX_WS];
        bool ready;
} rt = { .init_fd = -1 };

/* snprintf for paths; the tests' paths are short, and a wrapper keeps
 * -Wformat-truncation from guessing otherwise. */
static void rt_pathf(char *buf, size_t size, const char *fmt, ...) _printf_(3, 4);
static void rt_pathf(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(buf, size, fmt, ap);
        va_end(ap);
}

static double rt_now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e3 + (double) ts.tv_nsec / 1e6;
}

static int rt_run(char *const argv[], char **ret_out)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid == 0) {
                dup2(p[1], 1);
                execv(argv[0], argv);
                _exit(127);
        }
        close(p[1]);
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        char buf[4096];
        ssize_t n;
        while ((n = read(p[0], buf, sizeof buf)) > 0)
                strbuf_append(&b, buf, (size_t) n);
        close(p[0]);
        int st = wait_for_exit(pid);
        if (ret_out)
                *ret_out = b.data ? strbuf_steal(&b) : strdup("");
        return st;
}

static int rt_write(const char *path, const char *text, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
        if (fd < 0)
                return -errno;
        int r = loop_write(fd, text, strlen(text));
        close(fd);
        return r;
}

/* make_busybox_rootfs (tests/integration/lib.sh), minus the self-link
 * "busybox -> busybox" that busybox --list would create, plus
 * /etc/hostname and /etc/hosts so their handling can be checked. */
static int rt_make_rootfs(const char *d)
{
        const char *dirs[] = { "bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "home", "root", "run",
                               "usr/bin", "usr/sbin", "var" };
        char p[PATH_MAX];
        for (size_t i = 0; i < ELEMENTSOF(dirs); i++) {
                rt_pathf(p, sizeof p, "%s/%s", d, dirs[i]);
                if (mkdir_p(p, 0755) < 0)
                        return -errno;
        }
        rt_pathf(p, sizeof p, "%s/bin/busybox", d);
        char *cp[] = { "/bin/cp", "/bin/busybox", p, NULL };
        if (access("/bin/busybox", X_OK) < 0)
                cp[1] = "/usr/bin/busybox";
        if (rt_run(cp, NULL) != 0)
                return -EIO;
        char *list[] = { p, "--list", NULL };
        _cleanup_free_ char *applets = NULL;
        if (rt_run(list, &applets) != 0)
                return -EIO;
        for (char *a = strtok(applets, "\n"); a; a = strtok(NULL, "\n")) {
                if (streq(a, "busybox"))
                        continue;
                rt_pathf(p, sizeof p, "%s/bin/%s", d, a);
                if (symlink("busybox", p) < 0 && errno != EEXIST)
                        return -errno;
        }
        rt_pathf(p, sizeof p, "%s/etc/passwd", d);
        rt_write(p, "root:x:0:0:root:/root:/bin/sh\n", 0644);
        rt_pathf(p, sizeof p, "%s/etc/group", d);
        rt_write(p, "root:x:0:\n", 0644);
        rt_pathf(p, sizeof p, "%s/etc/hostname", d);
        rt_write(p, "rootfs\n", 0644);
        rt_pathf(p, sizeof p, "%s/etc/hosts", d);
        rt_write(p, "127.0.0.1\tlocalhost\n", 0644);
        rt_pathf(p, sizeof p, "%s/tmp", d);
        chmod(p, 01777);
        return 0;
}

static void rt_cleanup(void)
{
        for (int i = 0; i < RT_MAX_WS; i++) {
                TestWs *t = &rt.ws[i];
                if (!t->used || t->proc.pidfd < 0)
                        continue;
                (void) workspace_signal(&t->proc, SIGKILL);
                (void) workspace_wait(&t->proc, 5000, NULL);
                workspace_process_done(&t->proc);
        }
        if (rt.dir[0])
                (void) rm_rf(rt.dir);
        rt.dir[0] = 0;
}

static void rt_on_signal(int sig)
{
        (void) sig;
        exit(130);
}

static const char *rt_init_path(void)
{
        static char p[PATH_MAX];
        const char *e = getenv("ENCLAVE_INIT");
        if (e && *e)
                return e;
        ssize_t n = readlink("/proc/self/exe", p, sizeof p - 32);
        if (n < 0)
                return "build/enclave-init";
        p[n] = 0;
        /* build/tests/itest-x -> build/enclave-init */
        char *s = strrchr(p, '/');
        if (s)
                *s = 0;
        s = strrchr(p, '/');
        if (s)
                *s = 0;
        strcat(p, "/enclave-init");
        return p;
}

/* Skips the calling test when the fixture cannot exist here. */
static void rt_require(void)
{
        if (geteuid() != 0)
                SKIP("runtime integration tests need root");
        if (rt.ready)
                return;
        char tmpl[64];
        rt_pathf(tmpl, sizeof tmpl, "/tmp/enctest-rt-%d-XXXXXX", (int) getpid());
        if (!mkdtemp(tmpl))
                TEST_FAIL("mkdtemp: %s", strerror(errno));
        chmod(tmpl, 0755);
        rt_pathf(rt.dir, sizeof rt.dir, "%s", tmpl);
        atexit(rt_cleanup);
        signal(SIGINT, rt_on_signal);
        signal(SIGTERM, rt_on_signal);
        rt_pathf(rt.rootfs, sizeof rt.rootfs, "%s/rootfs", rt.dir);
        if (access("/bin/busybox", X_OK) < 0 && access("/usr/bin/busybox", X_OK) < 0)
                SKIP("busybox (busybox-static) is not installed");
        ASSERT_OK(rt_make_rootfs(rt.rootfs));
        Error err = ERROR_INIT;
        rt.init_fd = workspace_init_open(rt_init_path(), &err);
        if (rt.init_fd < 0)
                TEST_FAIL("%s", error_msg(&err));
        rt.ready = true;
}

typedef struct TestWsOptions {
        const char *run;
        const char *home_dir;
        uint64_t log_max;
        const WorkspaceFile *files;
        size_t n_files;
        const char *reuse_dir; /* start again on an existing workspace dir */
        uint32_t reuse_base;
} TestWsOptions;

static TestWs *rt_ws_new(const char *name)
{
        for (int i = 0; i < RT_MAX_WS; i++)
                if (!rt.ws[i].used) {
                        TestWs *t = &rt.ws[i];
                        memset(t, 0, sizeof *t);
                        t->used = true;
                        t->proc = WORKSPACE_PROCESS_NULL;
                        snprintf(t->name, sizeof t->name, "%s", name);
                        rt_pathf(t->dir, sizeof t->dir, "%s/ws-%s", rt.dir, name);
                        t->base = RT_ID_BASE + ((uint32_t) (getpid() % 1024) * 16 + rt.n_bases++ % 16) * 65536U;
                        return t;
                }
        return NULL;
}

static int rt_ws_start_opts(TestWs *t, const TestWsOptions *o, Error *err)
{
        WorkspaceSpawnConfig c = {
                .name = t->name,
                .rootfs = rt.rootfs,
                .ws_dir = t->dir,
                .home_dir = o ? o->home_dir : NULL,
                .uid_base = t->base,
                .gid_base = t->base,
                .init_fd = rt.init_fd,
                .run = o ? o->run : NULL,
                .log_max_bytes = o ? o->log_max : 0,
                .files = o ? o->files : NULL,
                .n_files = o ? o->n_files : 0,
        };
        return workspace_spawn(&c, &t->proc, err);
}

/* Start a workspace or fail the test. */
static TestWs *rt_ws_start(const char *name, const TestWsOptions *o)
{
        rt_require();
        TestWs *t = rt_ws_new(name);
        if (!t)
                TEST_FAIL("too many workspaces");
        _cleanup_error_ Error err = ERROR_INIT;
        if (rt_ws_start_opts(t, o, &err) < 0)
                TEST_FAIL("starting %s: %s", name, error_msg(&err));
        return t;
}

static void rt_ws_stop(TestWs *t)
{
        _cleanup_error_ Error err = ERROR_INIT;
        if (workspace_stop(&t->proc, 2000, NULL, &err) < 0)
                TEST_FAIL("stopping %s: %s", t->name, error_msg(&err));
        workspace_process_done(&t->proc);
}

/* Run `sh -c script` inside with stdin from in_fd (< 0: /dev/null);
 * returns its exit status (or 125-127 when it did not start) and its
 * stdout in *ret_out (may be NULL). stderr goes to the test's stderr. */
static int rt_exec_in(TestWs *t, const char *script, int in_fd, const char *cwd, char **ret_out)
{
        char *argv[] = { "/bin/sh", "-c", (char *) script, NULL };
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        ExecConfig c;
        exec_config_init(&c, t->proc.pidfd, argv);
        c.stdio[0] = in_fd;
        c.stdio[1] = p[1];
        c.stdio[2] = 2;
        c.cwd = cwd;
        ExecProcess ep = EXEC_PROCESS_NULL;
        int status;
        _cleanup_error_ Error err = ERROR_INIT;
        int r = workspace_exec(&c, &ep, &status, &err);
        close(p[1]);
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        if (r >= 0) {
                char buf[4096];
                ssize_t n;
                while ((n = read(p[0], buf, sizeof buf)) > 0)
                        strbuf_append(&b, buf, (size_t) n);
                status = exec_process_wait(&ep);
                exec_process_done(&ep);
        } else
                printf("# exec: %s\n", error_msg(&err));
        close(p[0]);
        if (ret_out)
                *ret_out = b.data ? strbuf_steal(&b) : strdup("");
        return status;
}

static int rt_exec(TestWs *t, const char *script, char **ret_out)
{
        return rt_exec_in(t, script, -1, NULL, ret_out);
}

/* Strip one trailing newline (in place) for comparisons. */
_unused_ static char *rt_chomp(char *s)
{
        size_t n = s ? strlen(s) : 0;
        if (n && s[n - 1] == '\n')
                s[n - 1] = 0;
        return s;
}
