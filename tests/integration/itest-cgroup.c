/* Root integration test of cgroups on this host's real hierarchies
 * (hybrid here: v1 controllers plus an empty unified tree, which is
 * also used for a v2-only run). Every group lives below a unique
 * enctest-<pid> root and is killed and removed on every exit path. */
#include "base/fs.h"
#include "base/process.h"
#include "base/str.h"
#include "runtime/cgroup.h"
#include "runtime/stats.h"
#include "test.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char root_name[64], v2_root_name[64];
static Cgroup *root, *v2_root;

static void teardown(Cgroup **cg)
{
        if (!*cg)
                return;
        Error err = ERROR_INIT;
        (void) cgroup_kill(*cg, &err);
        error_clear(&err);
        if (cgroup_destroy(*cg, &err) < 0)
                printf("# cleanup: %s\n", error_msg(&err));
        error_clear(&err);
        *cg = cgroup_free(*cg);
}

__attribute__((destructor)) static void cleanup_all(void)
{
        teardown(&root);
        teardown(&v2_root);
}

static Cgroup *get_root(void)
{
        if (!root) {
                snprintf(root_name, sizeof root_name, "enctest-%d", (int) getpid());
                _cleanup_strv_free_ char **warnings = NULL;
                _cleanup_error_ Error err = ERROR_INIT;
                if (cgroup_root_open(root_name, NULL, &root, &warnings, &err) < 0)
                        printf("# %s\n", error_msg(&err));
                STRV_FOREACH(w, warnings)
                        printf("# warning: %s\n", *w);
        }
        return root;
}

static void sleep_ms(unsigned ms)
{
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
}

typedef int (*ChildFn)(void *userdata);

/* Fork a child that waits until it is in cg, then runs fn. */
static pid_t spawn_in(const Cgroup *cg, ChildFn fn, void *userdata)
{
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                char c;
                close(p[1]);
                if (read(p[0], &c, 1) != 1)
                        _exit(99);
                _exit(fn(userdata));
        }
        close(p[0]);
        Error err = ERROR_INIT;
        int r = cgroup_attach(cg, pid, &err);
        if (r < 0) {
                printf("# %s\n", error_msg(&err));
                error_clear(&err);
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                close(p[1]);
                return r;
        }
        (void) !write(p[1], "x", 1);
        close(p[1]);
        return pid;
}

static int node_has(const Cgroup *cg, const char *file)
{
        for (size_t i = 0; i < cg->n_nodes; i++) {
                _cleanup_free_ char *p = path_join(cg->nodes[i].path, file);
                if (p && access(p, F_OK) == 0)
                        return (int) i;
        }
        return -1;
}

static uint64_t read_in(const Cgroup *cg, const char *file)
{
        int i = node_has(cg, file);
        uint64_t v = 0;
        if (i < 0 || cgroup_read_u64(cg->nodes[i].path, file, &v) < 0)
                return UINT64_MAX - 1;
        return v;
}

TEST(root_exists_in_every_hierarchy)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        ASSERT_TRUE(r->n_nodes >= 1);
        for (size_t i = 0; i < r->n_nodes; i++) {
                ASSERT_TRUE(is_dir(r->nodes[i].path));
                ASSERT_CONTAINS(r->nodes[i].path, root_name);
        }
        printf("# mode %s, %zu hierarchies\n", cgroup_mode_to_string(r->mode), r->n_nodes);
}

TEST(sandbox_limits_are_written)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        Limits l = { .memory_mb = 512, .cpu_percent = 50, .max_procs = 100 };
        _cleanup_cgroup_ Cgroup *sb = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(cgroup_create(r, "sb", &l, &sb, &warnings, &err));
        ASSERT_STREQ(sb->name, "sb");
        long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (node_has(sb, "memory.limit_in_bytes") >= 0) {
                ASSERT_EQ(read_in(sb, "memory.limit_in_bytes"), 512u << 20);
                if (node_has(sb, "memory.memsw.limit_in_bytes") >= 0)
                        ASSERT_EQ(read_in(sb, "memory.memsw.limit_in_bytes"), 512u << 20);
        } else if (node_has(sb, "memory.max") >= 0)
                ASSERT_EQ(read_in(sb, "memory.max"), 512u << 20);
        if (node_has(sb, "cpu.cfs_quota_us") >= 0) {
                uint64_t period = read_in(sb, "cpu.cfs_period_us");
                ASSERT_EQ(read_in(sb, "cpu.cfs_quota_us"), 50 * (uint64_t) ncpus * period / 100);
        }
        if (node_has(sb, "pids.max") >= 0)
                ASSERT_EQ(read_in(sb, "pids.max"), 100);

        /* Unset fields lift the limit again (a changed Enclavefile). */
        Limits none = { 0 };
        ASSERT_OK(cgroup_set_limits(sb, &none, &warnings, &err));
        if (node_has(sb, "memory.limit_in_bytes") >= 0)
                ASSERT_EQ(read_in(sb, "memory.limit_in_bytes"), CGROUP_UNLIMITED);
        if (node_has(sb, "cpu.cfs_quota_us") >= 0)
                ASSERT_EQ(read_in(sb, "cpu.cfs_quota_us"), CGROUP_UNLIMITED);
        if (node_has(sb, "pids.max") >= 0)
                ASSERT_EQ(read_in(sb, "pids.max"), CGROUP_UNLIMITED);
        ASSERT_OK(cgroup_destroy(sb, &err));
}

static int hog_memory(void *userdata)
{
        size_t mb = (size_t) (uintptr_t) userdata;
        for (size_t i = 0; i < mb; i++) {
                char *p = malloc(1 << 20);
                if (!p)
                        return 3; /* allocation refused is also "enforced" */
                memset(p, 0x5a, 1 << 20);
                __asm__ volatile("" : : "r"(p) : "memory");
        }
        return 0;
}

TEST(memory_limit_is_enforced_and_oom_counted)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        _cleanup_cgroup_ Cgroup *ws = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        Limits l = { .memory_mb = 64 };
        ASSERT_OK(cgroup_create(r, "oom", &l, &ws, NULL, &err));
        CgroupStats st;
        ASSERT_OK(cgroup_read_stats(ws, &st, &err));
        if (!(st.available & CGROUP_MASK(CGROUP_MEMORY))) {
                (void) cgroup_destroy(ws, &err);
                SKIP("no memory controller");
        }
        ASSERT_EQ(st.memory_limit, 64u << 20);
        pid_t pid = spawn_in(ws, hog_memory, (void *) (uintptr_t) 256);
        ASSERT_TRUE(pid > 0);
        int status = wait_for_exit(pid);
        /* Killed by the OOM killer (128 + SIGKILL) or refused memory. */
        printf("# memory hog ended with %d\n", status);
        ASSERT_TRUE(status == 128 + SIGKILL || status == 3);
        ASSERT_OK(cgroup_read_stats(ws, &st, &err));
        if (status == 128 + SIGKILL)
                ASSERT_TRUE(st.oom_kills >= 1);
        ASSERT_OK(cgroup_destroy(ws, &err));
}

static int fork_until_refused(void *userdata)
{
        for (int n = 0; n < 1000; n++) {
                pid_t p = fork();
                if (p == 0) {
                        pause();
                        _exit(0);
                }
                if (p < 0)
                        return errno == EAGAIN && n < 20 ? 0 : 2;
        }
        return 1;
}

TEST(pids_limit_is_enforced)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        _cleanup_cgroup_ Cgroup *ws = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        Limits l = { .max_procs = 20 };
        ASSERT_OK(cgroup_create(r, "pids", &l, &ws, NULL, &err));
        CgroupStats st;
        ASSERT_OK(cgroup_read_stats(ws, &st, &err));
        if (!(st.available & CGROUP_MASK(CGROUP_PIDS))) {
                (void) cgroup_destroy(ws, &err);
                SKIP("no pids controller");
        }
        ASSERT_EQ(st.pids_limit, 20);
        pid_t pid = spawn_in(ws, fork_until_refused, NULL);
        ASSERT_TRUE(pid > 0);
        ASSERT_EQ(wait_for_exit(pid), 0);
        /* The forked sleepers are still there: kill empties the group. */
        ASSERT_OK(cgroup_read_stats(ws, &st, &err));
        ASSERT_TRUE(st.procs >= 10);
        ASSERT_OK(cgroup_kill(ws, &err));
        uint64_t n;
        ASSERT_OK(cgroup_count_procs(ws, &n));
        ASSERT_EQ(n, 0);
        ASSERT_OK(cgroup_destroy(ws, &err));
}

static uint64_t events_max(const Cgroup *cg)
{
        int i = node_has(cg, "pids.events");
        _cleanup_free_ char *s = NULL;
        uint64_t v = 0;
        if (i >= 0 && cgroup_read_file(cg->nodes[i].path, "pids.events", &s) >= 0)
                (void) cgroup_parse_keyed(s, "max", &v);
        return v;
}

/* The sandbox's max_procs caps its workspaces together: a workspace
 * without a limit of its own is refused at the sandbox's. Where the
 * refusal is counted differs: v1 and older v2 kernels (Debian 12's 6.1)
 * count it in pids.events "max" of the group that forked (the
 * workspace); newer v2 kernels in the group whose limit was hit (the
 * sandbox) and its ancestors. Either is right; none is not. */
TEST(sandbox_pids_cap_holds_for_its_workspaces)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        _cleanup_cgroup_ Cgroup *sb = NULL, *ws = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        Limits cap = { .max_procs = 20 };
        ASSERT_OK(cgroup_create(r, "sbpids", &cap, &sb, NULL, &err));
        ASSERT_OK(cgroup_create(sb, "ws", NULL, &ws, NULL, &err));
        CgroupStats st;
        ASSERT_OK(cgroup_read_stats(sb, &st, &err));
        if (!(st.available & CGROUP_MASK(CGROUP_PIDS))) {
                (void) cgroup_destroy(sb, &err);
                SKIP("no pids controller");
        }
        ASSERT_EQ(st.pids_limit, 20);
        pid_t pid = spawn_in(ws, fork_until_refused, NULL);
        ASSERT_TRUE(pid > 0);
        ASSERT_EQ(wait_for_exit(pid), 0);
        ASSERT_OK(cgroup_read_stats(sb, &st, &err));
        ASSERT_TRUE(st.pids_current >= 10 && st.pids_current <= 20);
        uint64_t in_ws = events_max(ws), in_sb = events_max(sb);
        printf("# refused forks counted: workspace %" PRIu64 ", sandbox %" PRIu64 "\n", in_ws, in_sb);
        ASSERT_TRUE(in_ws + in_sb >= 1);
        ASSERT_OK(cgroup_kill(sb, &err));
        ASSERT_OK(cgroup_destroy(sb, &err));
}

_noreturn_ static int hold_memory(void *userdata)
{
        char *p = malloc(32 << 20);
        if (!p)
                _exit(1);
        memset(p, 1, 32 << 20);
        /* Keep the compiler from dropping the unused buffer. */
        __asm__ volatile("" : : "r"(p) : "memory");
        /* Burn a little CPU so usage is non-zero, then wait to be killed. */
        for (volatile unsigned long i = 0; i < 50000000UL; i++)
                ;
        for (;;)
                pause();
}

TEST(stats_report_memory_pids_and_cpu)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        _cleanup_cgroup_ Cgroup *ws = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        Limits l = { .memory_mb = 128, .max_procs = 50 };
        ASSERT_OK(cgroup_create(r, "stats", &l, &ws, NULL, &err));
        pid_t pid = spawn_in(ws, hold_memory, NULL);
        ASSERT_TRUE(pid > 0);
        _cleanup_pid_ pid_t child = pid;
        WorkspaceStats a, b;
        ASSERT_OK(stats_read(ws, pid, &a, &err));
        sleep_ms(300);
        ASSERT_OK(stats_read(ws, pid, &b, &err));
        printf("# memory %" PRIu64 " of %" PRIu64 ", cpu %" PRIu64 " ns, procs %" PRIu64 ", threads %" PRIu64
               ", pids %" PRIu64 ", io r/w %" PRIu64 "/%" PRIu64 ", cpu %.1f%%\n",
               b.cg.memory_used, b.cg.memory_limit, b.cg.cpu_usage_ns, b.cg.procs, b.cg.threads, b.cg.pids_current,
               b.cg.io_read_bytes, b.cg.io_write_bytes, stats_cpu_percent(&a, &b, 2));
        ASSERT_EQ(b.cg.procs, 1);
        ASSERT_EQ(b.cg.threads, 1);
        ASSERT_TRUE(b.has_net);
        if (b.cg.available & CGROUP_MASK(CGROUP_MEMORY)) {
                ASSERT_TRUE(b.cg.memory_used >= 16u << 20);
                ASSERT_EQ(b.cg.memory_limit, 128u << 20);
        }
        if (b.cg.available & CGROUP_MASK(CGROUP_PIDS)) {
                ASSERT_EQ(b.cg.pids_current, 1);
                ASSERT_EQ(b.cg.pids_limit, 50);
        }
        ASSERT_TRUE(b.cg.available & CGROUP_MASK(CGROUP_CPUACCT));
        ASSERT_TRUE(b.cg.cpu_usage_ns > 0);
        ASSERT_TRUE(b.sampled_ns > a.sampled_ns);
        ASSERT_OK(cgroup_kill(ws, &err));
        child = 0;
        ASSERT_EQ(wait_for_exit(pid), 128 + SIGKILL);
        ASSERT_OK(cgroup_destroy(ws, &err));
}

_noreturn_ static int count_forever(void *userdata)
{
        volatile uint64_t *counter = userdata;
        for (;;)
                (*counter)++;
}

static void check_freeze_thaw_kill(Cgroup *parent, const char *name)
{
        _cleanup_cgroup_ Cgroup *ws = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(cgroup_create(parent, name, NULL, &ws, NULL, &err));
        volatile uint64_t *counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ASSERT_TRUE(counter != MAP_FAILED);
        pid_t pid = spawn_in(ws, count_forever, (void *) counter);
        ASSERT_TRUE(pid > 0);
        _cleanup_pid_ pid_t child = pid;
        sleep_ms(20);
        ASSERT_OK(cgroup_freeze(ws, &err));
        uint64_t frozen = *counter;
        sleep_ms(100);
        ASSERT_EQ(*counter, frozen);
        ASSERT_OK(cgroup_thaw(ws, &err));
        sleep_ms(50);
        ASSERT_TRUE(*counter > frozen);
        ASSERT_OK(cgroup_kill(ws, &err));
        child = 0;
        ASSERT_EQ(wait_for_exit(pid), 128 + SIGKILL);
        uint64_t n;
        ASSERT_OK(cgroup_count_procs(ws, &n));
        ASSERT_EQ(n, 0);
        ASSERT_OK(cgroup_destroy(ws, &err));
        for (size_t i = 0; i < ws->n_nodes; i++)
                ASSERT_FALSE(is_dir(ws->nodes[i].path));
        munmap((void *) counter, 4096);
}

TEST(freeze_thaw_kill)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        check_freeze_thaw_kill(r, "freeze");
}

/* The v1-only path (v1 freezer, kill by signal) on a hybrid host. */
TEST(freeze_thaw_kill_v1_only)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        if (r->mode != CGROUP_MODE_HYBRID)
                SKIP("not a hybrid host");
        char name[80];
        snprintf(name, sizeof name, "%s-v1", root_name);
        CgroupRootOptions opts = { .no_unified = true };
        _cleanup_cgroup_ Cgroup *v1 = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(cgroup_root_open(name, &opts, &v1, NULL, &err));
        ASSERT_EQ(v1->mode, CGROUP_MODE_V1);
        ASSERT_FALSE(cgroup_open_unified_fd(v1) >= 0);
        check_freeze_thaw_kill(v1, "freeze");
        ASSERT_OK(cgroup_destroy(v1, &err));
}

/* The v2 path on the unified tree alone. Here it has no controllers,
 * so limits must come back as warnings, while freeze, kill, attach and
 * CLONE_INTO_CGROUP work. */
TEST(unified_tree_only)
{
        CgroupLayout all, v2 = { .mode = CGROUP_MODE_V2 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(cgroup_layout_detect(&all, &err));
        for (size_t i = 0; i < all.n; i++)
                if (all.h[i].v2) {
                        v2.h[0] = all.h[i];
                        v2.n = 1;
                }
        if (v2.n == 0) {
                cgroup_layout_done(&all);
                SKIP("no cgroup2 mount");
        }
        snprintf(v2_root_name, sizeof v2_root_name, "enctest-%d-v2", (int) getpid());
        _cleanup_strv_free_ char **warnings = NULL;
        int r = cgroup_root_open_layout(&v2, v2_root_name, NULL, &v2_root, &warnings, &err);
        cgroup_layout_done(&all);
        ASSERT_OK(r);
        ASSERT_EQ(v2_root->mode, CGROUP_MODE_V2);
        bool has_mem = v2_root->nodes[0].controllers & CGROUP_MASK(CGROUP_MEMORY);
        STRV_FOREACH(w, warnings)
                printf("# warning: %s\n", *w);
        if (!has_mem)
                ASSERT_TRUE(strv_length(warnings) >= 1);

        _cleanup_cgroup_ Cgroup *ws = NULL;
        _cleanup_strv_free_ char **w2 = NULL;
        Limits l = { .memory_mb = 64, .max_procs = 10, .cpu_percent = 10 };
        ASSERT_OK(cgroup_create(v2_root, "ws", &l, &ws, &w2, &err));
        if (!has_mem) {
                bool named = false;
                STRV_FOREACH(w, w2)
                        if (strstr(*w, "memory_mb=64"))
                                named = true;
                ASSERT_TRUE(named);
        }
        ASSERT_FALSE(cgroup_needs_attach(ws));
        int fds[4];
        ASSERT_EQ(cgroup_open_procs_fds(ws, fds, ELEMENTSOF(fds)), 1);
        safe_close(fds[0]);
        _cleanup_close_ int fd = cgroup_open_unified_fd(ws);
        ASSERT_TRUE(fd >= 0);
        check_freeze_thaw_kill(ws, "leaf");
        ASSERT_OK(cgroup_destroy(ws, &err));
        ASSERT_FALSE(is_dir(ws->nodes[0].path));
}

TEST(destroy_removes_every_directory)
{
        Cgroup *r = get_root();
        ASSERT_NOT_NULL(r);
        _cleanup_cgroup_ Cgroup *sb = NULL, *ws = NULL, *again = NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(cgroup_create(r, "tree", NULL, &sb, NULL, &err));
        ASSERT_OK(cgroup_create(sb, "leaf", NULL, &ws, NULL, &err));
        ASSERT_STREQ(ws->name, "tree/leaf");
        ASSERT_OK(cgroup_open(sb, "leaf", &again, &err));
        int fds[CGROUP_HIERARCHIES_MAX];
        int n = cgroup_open_procs_fds(again, fds, ELEMENTSOF(fds));
        ASSERT_EQ(n, (int) again->n_nodes);
        for (int i = 0; i < n; i++)
                safe_close(fds[i]);
        ASSERT_OK(cgroup_destroy(sb, &err));
        for (size_t i = 0; i < sb->n_nodes; i++) {
                ASSERT_FALSE(is_dir(ws->nodes[i].path));
                ASSERT_FALSE(is_dir(sb->nodes[i].path));
        }
        Cgroup *none = NULL;
        ASSERT_EQ(cgroup_open(sb, "leaf", &none, &err), -ENOENT);

        /* The root itself goes last, in the destructor; check it here too. */
        teardown(&root);
        char path[256];
        snprintf(path, sizeof path, "/sys/fs/cgroup/memory/%s", root_name);
        ASSERT_FALSE(is_dir(path));
}
