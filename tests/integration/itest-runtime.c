/* The workspace runtime against the real kernel: namespaces, id
 * mapping, overlay and idmapped mounts, init, logs, stop and adopt. */
#include "itest-runtime-common.h"

#include <dirent.h>
#include <sys/inotify.h>

/* ---- helpers ---- */

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
        const unsigned char *p = data;
        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= 0x100000001b3ULL;
        }
        return h;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Every name, type, mode, owner, size, symlink target and content
 * below dirfd, in a stable order. */
static int tree_fingerprint(int dirfd, const char *prefix, StrBuf *out)
{
        DIR *d = fdopendir(dup(dirfd));
        if (!d)
                return -errno;
        char **names = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                names = realloc(names, (n + 1) * sizeof *names);
                names[n++] = strdup(de->d_name);
        }
        closedir(d);
        if (n > 0)
                qsort(names, n, sizeof *names, cmp_str);
        int r = 0;
        for (size_t i = 0; i < n && r == 0; i++) {
                struct stat st;
                if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = -errno;
                        break;
                }
                strbuf_printf(out, "%s/%s %o %u:%u %lld", prefix, names[i], st.st_mode, st.st_uid, st.st_gid,
                              (long long) st.st_size);
                if (S_ISLNK(st.st_mode)) {
                        char t[PATH_MAX];
                        ssize_t k = readlinkat(dirfd, names[i], t, sizeof t - 1);
                        t[k < 0 ? 0 : k] = 0;
                        strbuf_printf(out, " -> %s", t);
                } else if (S_ISREG(st.st_mode)) {
                        int fd = openat(dirfd, names[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
                        uint64_t h = 0xcbf29ce484222325ULL;
                        char buf[65536];
                        ssize_t k;
                        while (fd >= 0 && (k = read(fd, buf, sizeof buf)) > 0)
                                h = fnv1a(h, buf, (size_t) k);
                        safe_close(fd);
                        strbuf_printf(out, " %016llx", (unsigned long long) h);
                } else if (S_ISDIR(st.st_mode)) {
                        strbuf_puts(out, "\n");
                        int sub = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                        char np[PATH_MAX];
                        rt_pathf(np, sizeof np, "%s/%s", prefix, names[i]);
                        r = sub < 0 ? -errno : tree_fingerprint(sub, np, out);
                        safe_close(sub);
                        continue;
                }
                strbuf_puts(out, "\n");
        }
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        return r;
}

static char *rootfs_fingerprint(void)
{
        StrBuf b = STRBUF_INIT;
        int fd = open(rt.rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || tree_fingerprint(fd, "", &b) < 0) {
                safe_close(fd);
                strbuf_done(&b);
                return NULL;
        }
        safe_close(fd);
        return strbuf_steal(&b);
}

static bool host_mountinfo_mentions(const char *s)
{
        _cleanup_free_ char *mi = NULL;
        if (read_full_file("/proc/self/mountinfo", 1 << 22, &mi, NULL) < 0)
                return true;
        return strstr(mi, s) != NULL;
}

static int status_uid(pid_t pid, unsigned *ret)
{
        char p[64];
        rt_pathf(p, sizeof p, "/proc/%d/status", (int) pid);
        _cleanup_free_ char *s = NULL;
        int r = read_full_file(p, 1 << 16, &s, NULL);
        if (r < 0)
                return r;
        const char *u = strstr(s, "\nUid:");
        if (!u || sscanf(u + 5, "%u", ret) != 1)
                return -EIO;
        return 0;
}

/* Number of host processes whose PID namespace has inode ino. */
static int count_in_pidns(ino_t ino)
{
        DIR *d = opendir("/proc");
        if (!d)
                return -errno;
        int n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                char p[300];
                struct stat st;
                rt_pathf(p, sizeof p, "/proc/%s/ns/pid", de->d_name);
                if (stat(p, &st) == 0 && st.st_ino == ino)
                        n++;
        }
        closedir(d);
        return n;
}

/* ---- tests ---- */

TEST(own_id_range_host_and_inside)
{
        TestWs *t = rt_ws_start("ids", NULL);
        unsigned uid;
        ASSERT_OK(status_uid(t->proc.pid, &uid));
        ASSERT_EQ(uid, t->base);
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec(t, "id -u; id -g; cat /proc/self/uid_map", &out), 0);
        char want[128];
        rt_pathf(want, sizeof want, "0\n0\n         0 %10u      65536\n", t->base);
        ASSERT_STREQ(out, want);

        /* A second workspace gets a disjoint block. */
        TestWs *t2 = rt_ws_start("ids2", NULL);
        unsigned uid2;
        ASSERT_OK(status_uid(t2->proc.pid, &uid2));
        ASSERT_EQ(uid2, t2->base);
        ASSERT_TRUE(uid2 >= uid + 65536 || uid >= uid2 + 65536);
        rt_ws_stop(t);
        rt_ws_stop(t2);
}

TEST(hostname_and_host_files)
{
        TestWs *t = rt_ws_start("named-ws", NULL);
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec(t, "hostname; cat /etc/hostname; grep -c named-ws /etc/hosts", &out), 0);
        ASSERT_STREQ(out, "named-ws\nnamed-ws\n1\n");
        rt_ws_stop(t);
}

TEST(pid_isolation)
{
        TestWs *t = rt_ws_start("pids", NULL);
        _cleanup_free_ char *out = NULL;
        /* Counted by the shell itself (a glob, no child): `ls | grep -c`
         * raced, ls could be done before grep existed. */
        ASSERT_EQ(rt_exec(t, "tr '\\0' ' ' </proc/1/cmdline; echo; set -- /proc/[0-9]*; echo $#", &out), 0);
        /* init and the exec'd shell: nothing of the host. */
        ASSERT_CONTAINS(out, "enclave-init");
        char *count = strchr(out, '\n');
        ASSERT_NOT_NULL(count);
        ASSERT_STREQ(rt_chomp(count + 1), "2");
        _cleanup_free_ char *ps = NULL;
        ASSERT_EQ(rt_exec(t, "ps -o pid,comm | sed 1d | awk '{print $1}' | head -1", &ps), 0);
        ASSERT_STREQ(ps, "1\n");
        rt_ws_stop(t);
}

TEST(writes_isolated_and_rootfs_untouched)
{
        rt_require();
        _cleanup_free_ char *before = rootfs_fingerprint();
        ASSERT_NOT_NULL(before);
        TestWs *a = rt_ws_start("wa", NULL);
        TestWs *b = rt_ws_start("wb", NULL);
        ASSERT_EQ(rt_exec(a, "echo mine > /etc/a-file && rm /bin/vi && echo extra >> /etc/hosts && "
                             "chmod 700 /etc/group && mkdir -p /usr/lib/new && rm -r /var && chown 5:5 /etc/hosts", NULL),
                  0);
        _cleanup_free_ char *in_a = NULL, *in_b = NULL;
        ASSERT_EQ(rt_exec(a, "cat /etc/a-file; ls /bin/vi 2>&1 | grep -c 'No such'; tail -1 /etc/hosts", &in_a), 0);
        ASSERT_STREQ(in_a, "mine\n1\nextra\n");
        ASSERT_EQ(rt_exec(b, "ls /etc/a-file 2>/dev/null; ls /bin/vi; grep -c extra /etc/hosts; ls -d /var", &in_b), 0);
        ASSERT_STREQ(in_b, "/bin/vi\n0\n/var\n");
        rt_ws_stop(a);
        rt_ws_stop(b);
        _cleanup_free_ char *after = rootfs_fingerprint();
        ASSERT_NOT_NULL(after);
        if (!streq(before, after)) {
                rt_write("/tmp/enctest-fp-before", before, 0644);
                rt_write("/tmp/enctest-fp-after", after, 0644);
        }
        ASSERT_TRUE(streq(before, after));
        /* The writes are in a's upper layer, owned by a's id range. */
        char p[PATH_MAX];
        rt_pathf(p, sizeof p, "%s/upper/etc/a-file", a->dir);
        struct stat st;
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_uid, a->base);
}

TEST(rootfs_files_owned_by_root_inside)
{
        TestWs *t = rt_ws_start("owners", NULL);
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec(t, "stat -c %u:%g /bin/busybox /etc/passwd /; touch /new; stat -c %u:%g /new", &out), 0);
        ASSERT_STREQ(out, "0:0\n0:0\n0:0\n0:0\n");
        rt_ws_stop(t);
        struct stat st;
        char p[PATH_MAX];
        rt_pathf(p, sizeof p, "%s/bin/busybox", rt.rootfs);
        ASSERT_OK(stat(p, &st));
        ASSERT_EQ(st.st_uid, 0);
}

TEST(home_ownership_both_ways)
{
        rt_require();
        char home[PATH_MAX], f[PATH_MAX];
        rt_pathf(home, sizeof home, "%s/project", rt.dir);
        ASSERT_OK(mkdir_p(home, 0755));
        ASSERT_OK(chown(home, 1000, 1000));
        rt_pathf(f, sizeof f, "%s/from-host", home);
        ASSERT_OK(rt_write(f, "host\n", 0644));
        ASSERT_OK(chown(f, 1000, 1000));
        TestWsOptions o = { .home_dir = home };
        TestWs *t = rt_ws_start("homews", &o);
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec(t, "stat -c %u:%g /home /home/from-host; cat /home/from-host; echo in > /home/from-ws; "
                             "mkdir /home/d",
                          &out),
                  0);
        ASSERT_STREQ(out, "0:0\n0:0\nhost\n");
        struct stat st;
        rt_pathf(f, sizeof f, "%s/from-ws", home);
        ASSERT_OK(stat(f, &st));
        ASSERT_EQ(st.st_uid, 1000);
        ASSERT_EQ(st.st_gid, 1000);
        rt_pathf(f, sizeof f, "%s/d", home);
        ASSERT_OK(stat(f, &st));
        ASSERT_EQ(st.st_uid, 1000);
        rt_ws_stop(t);

        /* The managed home: owned by the workspace's range on disk. */
        TestWs *m = rt_ws_start("managed", NULL);
        _cleanup_free_ char *mout = NULL;
        ASSERT_EQ(rt_exec(m, "echo x > /home/file; stat -c %u /home/file", &mout), 0);
        ASSERT_STREQ(mout, "0\n");
        rt_pathf(f, sizeof f, "%s/home/file", m->dir);
        ASSERT_OK(stat(f, &st));
        ASSERT_EQ(st.st_uid, m->base);
        rt_ws_stop(m);
}

TEST(nothing_of_the_host_reachable)
{
        rt_require();
        /* A host file outside the workspace (removed with the scratch dir). */
        char marker[PATH_MAX];
        rt_pathf(marker, sizeof marker, "%s/host-marker", rt.dir);
        ASSERT_OK(rt_write(marker, "secret\n", 0644));
        TestWs *t = rt_ws_start("sealed", NULL);
        /* Nothing mounted on the host for the workspace. */
        ASSERT_FALSE(host_mountinfo_mentions(t->dir));
        _cleanup_free_ char *out = NULL;
        char script[512];
        rt_pathf(script, sizeof script,
                 "ls %s 2>/dev/null; ls /proc/1/root/ 2>/dev/null | tr '\\n' ' '; echo; ls / | tr '\\n' ' '; echo; "
                 "awk '{print $5}' /proc/self/mountinfo | grep -v -e '^/proc/' -e '^/sys/' | sort -u | tr '\\n' ' '; "
                 "echo; wc -c < /proc/kallsyms",
                 marker);
        ASSERT_EQ(rt_exec(t, script, &out), 0);
        char *l1 = out, *l2 = strchr(l1, '\n');
        ASSERT_NOT_NULL(l2);
        *l2++ = 0;
        char *l3 = strchr(l2, '\n');
        ASSERT_NOT_NULL(l3);
        *l3++ = 0;
        /* init is not inspectable from inside, not even its root. */
        ASSERT_STREQ(l1, "");
        ASSERT_STREQ(l2, "bin dev etc home proc root run sbin sys tmp usr var ");
        char *l4 = strchr(l3, '\n');
        ASSERT_NOT_NULL(l4);
        *l4++ = 0;
        /* Besides these only the kernel-path masks below /proc and /sys. */
        ASSERT_STREQ(l3, "/ /dev /dev/full /dev/null /dev/pts /dev/random /dev/shm /dev/tty /dev/urandom /dev/zero "
                         "/home /proc /run /sys /tmp ");
        ASSERT_STREQ(l4, "0\n");
        /* From the host, init's root is the overlay, not the host root. */
        char p[PATH_MAX];
        rt_pathf(p, sizeof p, "/proc/%d/root/etc/hostname", (int) t->proc.pid);
        _cleanup_free_ char *hn = NULL;
        ASSERT_OK(read_full_file(p, 4096, &hn, NULL));
        ASSERT_STREQ(hn, "sealed\n");
        _cleanup_free_ char *sys = NULL;
        ASSERT_NE(rt_exec(t, "touch /sys/kernel/x 2>/dev/null || mkdir /sys/x 2>/dev/null", &sys), 0);
        /* An idle init holds stdio and its signalfd only: no descriptor
         * of the spawning process got in, and no log or restart state
         * file (it has nothing to log or restart). Only the host can look. */
        char fdp[64];
        rt_pathf(fdp, sizeof fdp, "/proc/%d/fd", (int) t->proc.pid);
        DIR *d = opendir(fdp);
        ASSERT_NOT_NULL(d);
        int n_fds = 0;
        for (struct dirent *e; (e = readdir(d));)
                if (e->d_name[0] != '.')
                        n_fds++;
        closedir(d);
        ASSERT_EQ(n_fds, 4);
        ASSERT_NE(rt_exec(t, "ls /proc/1/fd/ >/dev/null 2>&1", NULL), 0);
        rt_ws_stop(t);
}

TEST(files_written_at_start)
{
        WorkspaceFile files[] = {
                { "/run/enclave/auth/github.token", "tok123", 6, 0400 },
                { "/etc/resolv.conf", "nameserver 127.0.0.1\n", 21, 0644 },
        };
        TestWsOptions o = { .files = files, .n_files = 2 };
        TestWs *t = rt_ws_start("files", &o);
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec(t, "cat /run/enclave/auth/github.token; echo; stat -c %a /run/enclave/auth/github.token; "
                             "cat /etc/resolv.conf",
                          &out),
                  0);
        ASSERT_STREQ(out, "tok123\n400\nnameserver 127.0.0.1\n");
        rt_ws_stop(t);
}

/* The text of log records (runtime/log-record.h), as `logs` prints it;
 * frees the records. */
static int append_text(const LogRecord *rec, void *userdata)
{
        StrBuf *b = userdata;
        strbuf_append(b, rec->text, rec->len);
        if (!rec->partial)
                strbuf_putc(b, '\n');
        return 0;
}

static char *plain(char *records)
{
        StrBuf b = STRBUF_INIT;
        strbuf_puts(&b, "");
        (void) log_records_each(records, strlen(records), true, append_text, &b);
        free(records);
        return strbuf_steal(&b);
}

TEST(run_command_logs_tail_and_follow)
{
        TestWsOptions o = { .run = "echo first; echo err >&2; mkfifo /tmp/f; cat /tmp/f; sleep 1000" };
        TestWs *t = rt_ws_start("logs", &o);
        _cleanup_error_ Error err = ERROR_INIT;
        /* Wait for the fifo: the run command has printed its lines; the
         * log writer, a process of its own, writes them soon after. */
        ASSERT_EQ(rt_exec(t, "while [ ! -p /tmp/f ]; do sleep 0.01; done", NULL), 0);
        _cleanup_free_ char *tail = NULL;
        for (double deadline = rt_now_ms() + 5000;;) {
                ASSERT_OK(workspace_log_read(t->dir, 2, &tail, NULL, &err));
                tail = plain(tail);
                if (streq(tail, "first\nerr\n") || rt_now_ms() > deadline)
                        break;
                free(tail);
                tail = NULL;
                usleep(10000);
        }
        ASSERT_STREQ(tail, "first\nerr\n");
        _cleanup_free_ char *one = NULL;
        ASSERT_OK(workspace_log_read(t->dir, 1, &one, NULL, &err));
        one = plain(one);
        ASSERT_STREQ(one, "err\n");

        _cleanup_log_follow_ LogFollow *f = NULL;
        _cleanup_free_ char *initial = NULL;
        ASSERT_OK(log_follow_open(t->dir, 1, &f, &initial, NULL, &err));
        initial = plain(initial);
        ASSERT_STREQ(initial, "err\n");
        ASSERT_EQ(rt_exec(t, "echo second > /tmp/f", NULL), 0);
        _cleanup_strbuf_ StrBuf got = STRBUF_INIT;
        double deadline = rt_now_ms() + 5000;
        while (!got.data || !strstr(got.data, "second\n")) {
                struct pollfd p = { .fd = log_follow_fd(f), .events = POLLIN };
                int left = (int) (deadline - rt_now_ms());
                ASSERT_TRUE(left > 0);
                ASSERT_TRUE(poll(&p, 1, left) >= 0);
                ASSERT_TRUE(log_follow_read(f, &got, &err) >= 0);
        }
        ASSERT_CONTAINS(got.data, " o second\n");
        _cleanup_free_ char *second = plain(strbuf_steal(&got));
        ASSERT_STREQ(second, "second\n");
        rt_ws_stop(t);
}

TEST(log_rotation_keeps_the_newest_lines_in_order)
{
        TestWsOptions o = {
                .run = "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done; echo done; sleep 1000",
                .log_max = 4096,
        };
        TestWs *t = rt_ws_start("rotate", &o);
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_log_follow_ LogFollow *f = NULL;
        _cleanup_strbuf_ StrBuf got = STRBUF_INIT;
        _cleanup_free_ char *initial = NULL;
        ASSERT_OK(log_follow_open(t->dir, LOG_TAIL_ALL, &f, &initial, NULL, &err));
        strbuf_puts(&got, initial);
        double deadline = rt_now_ms() + 10000;
        while (!got.data || !strstr(got.data, "done\n")) {
                struct pollfd p = { .fd = log_follow_fd(f), .events = POLLIN };
                int left = (int) (deadline - rt_now_ms());
                ASSERT_TRUE(left > 0);
                ASSERT_TRUE(poll(&p, 1, left) >= 0);
                ASSERT_TRUE(log_follow_read(f, &got, &err) >= 0);
        }
        _cleanup_free_ char *all = NULL;
        size_t len;
        ASSERT_OK(workspace_log_read(t->dir, LOG_TAIL_ALL, &all, &len, &err));
        /* At most two halves of about the cap each. */
        ASSERT_TRUE(len <= 2 * (4096 + 65536));
        ASSERT_TRUE(len > 4096);
        all = plain(all);
        /* Contiguous and ending with the newest lines. */
        int prev = -1;
        for (char *l = strtok(all, "\n"); l; l = strtok(NULL, "\n")) {
                if (streq(l, "done"))
                        break;
                int n;
                ASSERT_EQ(sscanf(l, "line-%d", &n), 1);
                if (prev >= 0)
                        ASSERT_EQ(n, prev + 1);
                prev = n;
        }
        ASSERT_EQ(prev, 2999);
        _cleanup_free_ char *tail = NULL;
        ASSERT_OK(workspace_log_read(t->dir, 3, &tail, NULL, &err));
        tail = plain(tail);
        ASSERT_STREQ(tail, "line-2998\nline-2999\ndone\n");
        _cleanup_free_ char *followed = plain(strbuf_steal(&got));
        /* The follower sees whole lines in order. With a 4 KiB cap it
         * can be lapped (more than a cap written between two reads):
         * then the lines in between are gone from disk too, and it
         * continues after the gap, never out of order. */
        int seen = -1, gaps = 0;
        for (char *l = strtok(followed, "\n"); l; l = strtok(NULL, "\n")) {
                int n;
                if (streq(l, "done"))
                        continue;
                ASSERT_EQ(sscanf(l, "line-%d", &n), 1);
                ASSERT_TRUE(n > seen);
                if (n != seen + 1)
                        gaps++;
                seen = n;
        }
        ASSERT_EQ(seen, 2999);
        printf("# follower lapped %d times by a 4 KiB rotation\n", gaps);
        rt_ws_stop(t);
}

TEST(stop_is_fast_and_leaves_nothing)
{
        TestWs *t = rt_ws_start("stopper", NULL);
        char p[64];
        rt_pathf(p, sizeof p, "/proc/%d/ns/pid", (int) t->proc.pid);
        struct stat st;
        ASSERT_OK(stat(p, &st));
        pid_t pid = t->proc.pid;
        /* Background processes inside die with the namespace. */
        ASSERT_EQ(rt_exec(t, "sleep 1000 >/dev/null 2>&1 & sleep 1000 >/dev/null 2>&1 &", NULL), 0);
        ASSERT_TRUE(count_in_pidns(st.st_ino) >= 3);
        _cleanup_error_ Error err = ERROR_INIT;
        bool killed = true;
        double t0 = rt_now_ms();
        ASSERT_OK(workspace_stop(&t->proc, 10000, &killed, &err));
        printf("# idle workspace stop: %.2f ms\n", rt_now_ms() - t0);
        ASSERT_FALSE(killed);
        ASSERT_EQ(kill(pid, 0), -1);
        ASSERT_EQ(errno, ESRCH);
        ASSERT_EQ(count_in_pidns(st.st_ino), 0);
        ASSERT_FALSE(host_mountinfo_mentions(t->dir));
        workspace_process_done(&t->proc);
}

TEST(stop_forwards_sigterm_and_kills_after_grace)
{
        TestWsOptions handles = { .run = "trap 'echo got-term; exit 0' TERM; touch /tmp/ready; while :; do sleep 0.05; done" };
        TestWs *t = rt_ws_start("term", &handles);
        ASSERT_EQ(rt_exec(t, "while [ ! -e /tmp/ready ]; do sleep 0.01; done", NULL), 0);
        _cleanup_error_ Error err = ERROR_INIT;
        bool killed = true;
        double t0 = rt_now_ms();
        ASSERT_OK(workspace_stop(&t->proc, 10000, &killed, &err));
        printf("# stop of a run command that handles SIGTERM: %.2f ms\n", rt_now_ms() - t0);
        ASSERT_FALSE(killed);
        _cleanup_free_ char *log = NULL;
        /* The shell's "Terminated" for its sleep goes to stderr, which
         * may be logged either side of stdout's "got-term". */
        ASSERT_OK(workspace_log_read(t->dir, 2, &log, NULL, &err));
        ASSERT_CONTAINS(log, " o got-term\n");
        workspace_process_done(&t->proc);

        TestWsOptions ignores = { .run = "trap '' TERM; touch /tmp/ready; sleep 1000" };
        TestWs *u = rt_ws_start("noterm", &ignores);
        ASSERT_EQ(rt_exec(u, "while [ ! -e /tmp/ready ]; do sleep 0.01; done", NULL), 0);
        t0 = rt_now_ms();
        ASSERT_OK(workspace_stop(&u->proc, 300, &killed, &err));
        double took = rt_now_ms() - t0;
        printf("# stop of a run command ignoring SIGTERM (grace 300 ms): %.2f ms\n", took);
        ASSERT_TRUE(killed);
        workspace_process_done(&u->proc);
}

TEST(run_command_exit_ends_the_workspace)
{
        TestWsOptions o = { .run = "exit 7" };
        TestWs *t = rt_ws_start("oneshot", &o);
        int status = -1;
        ASSERT_EQ(workspace_wait(&t->proc, 5000, &status), 1);
        ASSERT_EQ(status, 7);
        workspace_process_done(&t->proc);
}

TEST(restart_keeps_upper_layer_and_destroy_leaves_nothing)
{
        TestWs *t = rt_ws_start("again", NULL);
        ASSERT_EQ(rt_exec(t, "echo kept > /root/keep; echo home > /home/h", NULL), 0);
        rt_ws_stop(t);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(rt_ws_start_opts(t, NULL, &err));
        _cleanup_free_ char *out = NULL;
        ASSERT_EQ(rt_exec(t, "cat /root/keep /home/h", &out), 0);
        ASSERT_STREQ(out, "kept\nhome\n");
        rt_ws_stop(t);
        ASSERT_OK(rm_rf(t->dir));
        ASSERT_FALSE(host_mountinfo_mentions(t->dir));
        ASSERT_FALSE(is_dir(t->dir));
        t->used = false;
}

TEST(adopt_by_pid_and_start_time)
{
        TestWs *t = rt_ws_start("adopt", NULL);
        _cleanup_error_ Error err = ERROR_INIT;
        WorkspaceProcess a = WORKSPACE_PROCESS_NULL;
        ASSERT_OK(workspace_adopt(t->proc.pid, t->proc.start_time, &a, &err));
        ASSERT_FALSE(a.is_child);
        WorkspaceProcess wrong = WORKSPACE_PROCESS_NULL;
        ASSERT_EQ(workspace_adopt(t->proc.pid, t->proc.start_time + 1, &wrong, &err), -ESRCH);
        /* The adopted handle is enough to stop it. */
        ASSERT_OK(workspace_stop(&a, 2000, NULL, &err));
        workspace_process_done(&a);
        int status;
        ASSERT_EQ(workspace_wait(&t->proc, 1000, &status), 1);
        workspace_process_done(&t->proc);
}

TEST(spawn_failure_is_precise_and_leaves_nothing)
{
        rt_require();
        TestWs *t = rt_ws_new("broken");
        WorkspaceSpawnConfig c = {
                .name = t->name, .rootfs = "/nonexistent-rootfs", .ws_dir = t->dir,
                .uid_base = t->base, .gid_base = t->base, .init_fd = rt.init_fd,
        };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(workspace_spawn(&c, &t->proc, &err), -ENOENT);
        ASSERT_CONTAINS(error_msg(&err), "starting workspace broken");
        ASSERT_CONTAINS(error_msg(&err), "/nonexistent-rootfs");
        error_clear(&err);
        c.uid_base = 0;
        c.rootfs = rt.rootfs;
        ASSERT_EQ(workspace_spawn(&c, &t->proc, &err), -EINVAL);
        ASSERT_FALSE(host_mountinfo_mentions(t->dir));
}

TEST(start_time_figure)
{
        rt_require();
        double best = 1e9;
        for (int i = 0; i < 5; i++) {
                TestWs *t = rt_ws_new("timing");
                _cleanup_error_ Error err = ERROR_INIT;
                double t0 = rt_now_ms();
                ASSERT_OK(rt_ws_start_opts(t, NULL, &err));
                double took = rt_now_ms() - t0;
                if (took < best)
                        best = took;
                rt_ws_stop(t);
                ASSERT_OK(rm_rf(t->dir));
                t->used = false;
        }
        printf("# workspace start (no networking, best of 5): %.2f ms\n", best);
}

TEST(hardening_applied_to_init_and_exec)
{
        rt_require();
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_hardening_plan_ HardeningPlan *plan = NULL;
        HardeningConfig hc = { NULL, NULL, NULL };
        ASSERT_OK(hardening_plan_new(&hc, &plan, &err));
        Limits limits = { .max_open_files = 321 };
        TestWs *t = rt_ws_new("hardened");
        WorkspaceSpawnConfig c = {
                .name = t->name, .rootfs = rt.rootfs, .ws_dir = t->dir, .uid_base = t->base,
                .gid_base = t->base, .init_fd = rt.init_fd, .hardening = plan, .limits = &limits,
        };
        ASSERT_OK(workspace_spawn(&c, &t->proc, &err));
        char p[64];
        rt_pathf(p, sizeof p, "/proc/%d/status", (int) t->proc.pid);
        _cleanup_free_ char *st = NULL;
        ASSERT_OK(read_full_file(p, 1 << 16, &st, NULL));
        ASSERT_CONTAINS(st, "NoNewPrivs:\t1");
        ASSERT_CONTAINS(st, "Seccomp:\t2");
        char caps[64];
        rt_pathf(caps, sizeof caps, "CapBnd:\t%016llx", (unsigned long long) hardening_plan_caps(plan));
        ASSERT_CONTAINS(st, caps);

        char *argv[] = { "/bin/sh", "-c",
                         "grep -E '^(NoNewPrivs|Seccomp|CapBnd):' /proc/self/status | tr '\\t\\n' '  '; ulimit -n", NULL };
        int pipefd[2];
        ASSERT_OK(pipe2(pipefd, O_CLOEXEC));
        ExecConfig ec;
        exec_config_init(&ec, t->proc.pidfd, argv);
        ec.stdio[1] = pipefd[1];
        ec.hardening = plan;
        ec.limits = &limits;
        ExecProcess ep = EXEC_PROCESS_NULL;
        int status;
        ASSERT_OK(workspace_exec(&ec, &ep, &status, &err));
        close(pipefd[1]);
        char buf[512] = { 0 };
        ssize_t n = 0, k;
        while ((k = read(pipefd[0], buf + n, sizeof buf - 1 - (size_t) n)) > 0)
                n += k;
        close(pipefd[0]);
        ASSERT_EQ(exec_process_wait(&ep), 0);
        exec_process_done(&ep);
        ASSERT_CONTAINS(buf, "NoNewPrivs: 1");
        ASSERT_CONTAINS(buf, "Seccomp: 2");
        ASSERT_CONTAINS(buf, caps + strlen("CapBnd:\t"));
        ASSERT_CONTAINS(buf, "321\n");
        rt_ws_stop(t);
}

TEST(sigterm_right_after_start_is_never_lost)
{
        rt_require();
        /* A PID-namespace init drops signals it neither blocks nor
         * handles; init is exec'd with all signals blocked so a SIGTERM
         * that arrives before it has set up its signalfd still counts. */
        for (int i = 0; i < 20; i++) {
                TestWs *t = rt_ws_new("early");
                _cleanup_error_ Error err = ERROR_INIT;
                if (rt_ws_start_opts(t, NULL, &err) < 0)
                        TEST_FAIL("start %d: %s", i, error_msg(&err));
                bool killed = true;
                ASSERT_OK(workspace_stop(&t->proc, 5000, &killed, &err));
                ASSERT_FALSE(killed);
                workspace_process_done(&t->proc);
                t->used = false;
        }
}

static void write_log_files(const char *ws, const char *h0, const char *h1, const char *active)
{
        char p[PATH_MAX];
        rt_pathf(p, sizeof p, "%s/logs", ws);
        mkdir_p(p, 0750);
        rt_pathf(p, sizeof p, "%s/logs/0.log", ws);
        if (h0)
                rt_write(p, h0, 0640);
        rt_pathf(p, sizeof p, "%s/logs/1.log", ws);
        if (h1)
                rt_write(p, h1, 0640);
        rt_pathf(p, sizeof p, "%s/logs/active", ws);
        if (active)
                rt_write(p, active, 0640);
}

TEST(log_reader_orders_halves_by_the_active_file)
{
        char tmpl[] = "/tmp/enctest-logs-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        _cleanup_error_ Error err = ERROR_INIT;
        _cleanup_free_ char *all = NULL, *t2 = NULL, *none = NULL, *missing = NULL, *garbage = NULL;
        /* Half 1 is being written, so half 0 holds the older lines. */
        write_log_files(tmpl, "a\nb\n", "c\nd", "1\n");
        ASSERT_OK(workspace_log_read(tmpl, LOG_TAIL_ALL, &all, NULL, &err));
        ASSERT_STREQ(all, "a\nb\nc\nd");
        ASSERT_OK(workspace_log_read(tmpl, 2, &t2, NULL, &err));
        ASSERT_STREQ(t2, "c\nd");
        ASSERT_OK(workspace_log_read(tmpl, 0, &none, NULL, &err));
        ASSERT_STREQ(none, "");
        /* Anything but "1" means half 0 is active. */
        write_log_files(tmpl, "new\n", "old\n", "x");
        ASSERT_OK(workspace_log_read(tmpl, 5, &garbage, NULL, &err));
        ASSERT_STREQ(garbage, "old\nnew\n");
        /* A workspace that never ran has no log: empty, not an error. */
        char ws2[PATH_MAX];
        rt_pathf(ws2, sizeof ws2, "%s/none", tmpl);
        ASSERT_OK(workspace_log_read(ws2, 10, &missing, NULL, &err));
        ASSERT_STREQ(missing, "");

        /* Following ends with -ENOENT once the workspace is destroyed. */
        _cleanup_log_follow_ LogFollow *f = NULL;
        ASSERT_OK(log_follow_open(tmpl, 0, &f, NULL, NULL, &err));
        char p[PATH_MAX];
        rt_pathf(p, sizeof p, "%s/logs", tmpl);
        ASSERT_OK(rm_rf(p));
        struct pollfd pf = { .fd = log_follow_fd(f), .events = POLLIN };
        ASSERT_EQ(poll(&pf, 1, 5000), 1);
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        ASSERT_EQ(log_follow_read(f, &b, &err), -ENOENT);
        ASSERT_OK(rm_rf(tmpl));
}

TEST(start_time_is_field_22_of_proc_stat)
{
        /* The registry identifies a workspace by pid + start time; the
         * value must be the process start time, not a field that changes
         * while the process runs. Parsed here independently. */
        TestWs *t = rt_ws_start("stattime", NULL);
        char p[64];
        rt_pathf(p, sizeof p, "/proc/%d/stat", (int) t->proc.pid);
        _cleanup_free_ char *s = NULL;
        ASSERT_OK(read_full_file(p, 4096, &s, NULL));
        char *f = strrchr(s, ')');
        ASSERT_NOT_NULL(f);
        /* Fields after ")" start at 3; take field 22. */
        char *save = NULL, *tok = strtok_r(f + 1, " ", &save);
        for (int field = 3; tok && field < 22; field++)
                tok = strtok_r(NULL, " ", &save);
        ASSERT_NOT_NULL(tok);
        ASSERT_EQ(t->proc.start_time, strtoull(tok, NULL, 10));
        rt_ws_stop(t);
}
