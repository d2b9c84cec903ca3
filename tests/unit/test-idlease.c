/* Host-wide id leases (runtime/idlease.h) on a scratch lease directory
 * and scratch subuid/subgid files: the real ones are never touched. */
#include "base/fs.h"
#include "runtime/idlease.h"
#include "scratch.h"
#include "test.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define POOL_START 1073741824u /* 2^30, where the real pool starts */
/* Where no workspace of a daemon on this host runs (the real pool grows
 * from 2^30 up, the runtime tests use 3,000,000,000 and up). */
#define QUIET_START 2684354560u

typedef struct World {
        char dir[128], leases[160], subuid[160], subgid[160];
        IdLeaseHost host;
} World;

/* A scratch host: a pool of n blocks at 2^30, and (when fill) another
 * owner on every other id up to 2^31, so the pool cannot grow. */
static void world_init_at(World *w, const char *name, uint32_t start, unsigned n, bool fill)
{
        const char *top = scratch_dir("idlease");
        ASSERT_NOT_NULL(top);
        snprintf(w->dir, sizeof w->dir, "%s/%s", top, name);
        ASSERT_OK(mkdir_p(w->dir, 0755));
        snprintf(w->leases, sizeof w->leases, "%s/leases", w->dir);
        snprintf(w->subuid, sizeof w->subuid, "%s/subuid", w->dir);
        snprintf(w->subgid, sizeof w->subgid, "%s/subgid", w->dir);
        char text[256];
        uint64_t end = (uint64_t) start + (uint64_t) n * IDRANGE_BLOCK;
        int len = snprintf(text, sizeof text, "root:%u:%u\n", start, n * IDRANGE_BLOCK);
        if (fill)
                len += snprintf(text + len, sizeof text - (size_t) len, "other:%llu:%llu\n", (unsigned long long) end,
                                (unsigned long long) ((1ULL << 31) - end));
        ASSERT_OK(write_file_atomic(w->subuid, text, (size_t) len, 0644));
        ASSERT_OK(write_file_atomic(w->subgid, text, (size_t) len, 0644));
        w->host = (IdLeaseHost) { w->leases, w->subuid, w->subgid, "registry.db" };
}

static void world_init(World *w, const char *name, unsigned n, bool fill)
{
        world_init_at(w, name, POOL_START, n, fill);
}

/* A state dir that exists and looks like one (it has a registry file). */
static void make_state_dir(const World *w, const char *name, char *ret, size_t size)
{
        snprintf(ret, size, "%s/%s", w->dir, name);
        ASSERT_OK(mkdir_p(ret, 0700));
        char reg[300];
        snprintf(reg, sizeof reg, "%s/registry.db", ret);
        ASSERT_OK(write_file_atomic(reg, "", 0, 0600));
}

static int allocate(const World *w, const char *state_dir, const char *ws, uint32_t *ret, Error *err)
{
        IdLeaseLock l = ID_LEASE_LOCK_NULL;
        int r = id_lease_lock(&w->host, &l, err);
        if (r < 0)
                return r;
        IdLease who = { .state_dir = (char *) state_dir, .sandbox = "sb", .workspace = (char *) ws, .pid = getpid() };
        r = id_lease_allocate(&l, &who, NULL, 0, ret, err);
        id_lease_unlock(&l);
        return r;
}

TEST(lease_text_round_trips_and_rejects_garbage)
{
        IdLease l = { .base = 65536, .state_dir = "/var/lib/enclave", .sandbox = "sb", .workspace = "ws", .pid = 42,
                      .created = 1700000000 };
        _cleanup_free_ char *text = NULL;
        ASSERT_OK(id_lease_format(&l, &text));
        _cleanup_id_lease_ IdLease back = { .base = 65536 };
        ASSERT_OK(id_lease_parse(text, &back));
        ASSERT_STREQ(back.state_dir, "/var/lib/enclave");
        ASSERT_STREQ(back.sandbox, "sb");
        ASSERT_STREQ(back.workspace, "ws");
        ASSERT_EQ(back.pid, 42);
        ASSERT_EQ(back.created, 1700000000);

        IdLease bad = { .state_dir = "/a\nb" };
        char *t = NULL;
        ASSERT_EQ(id_lease_format(&bad, &t), -EINVAL);
        bad.state_dir = "relative";
        ASSERT_EQ(id_lease_format(&bad, &t), -EINVAL);
        const char *garbage[] = { "", "state_dir=relative\n", "no equals sign\n", "state_dir=/x\npid=abc\n" };
        for (size_t i = 0; i < ELEMENTSOF(garbage); i++) {
                IdLease g = {};
                ASSERT_EQ(id_lease_parse(garbage[i], &g), -EINVAL);
        }
        /* Keys of newer versions are ignored. */
        _cleanup_id_lease_ IdLease newer = {};
        ASSERT_OK(id_lease_parse("state_dir=/s\nfuture=1\n", &newer));
        ASSERT_STREQ(newer.state_dir, "/s");
}

TEST(a_block_has_one_lease_and_only_its_state_dir_drops_it)
{
        World w;
        world_init(&w, "one", 4, true);
        char a[300], b[300];
        make_state_dir(&w, "a", a, sizeof a);
        make_state_dir(&w, "b", b, sizeof b);
        uint32_t base;
        ASSERT_OK(allocate(&w, a, "ws1", &base, NULL));
        ASSERT_EQ(base, POOL_START);

        IdLeaseLock l = ID_LEASE_LOCK_NULL;
        ASSERT_OK(id_lease_lock(&w.host, &l, NULL));
        IdLease again = { .base = base, .state_dir = b, .sandbox = "sb", .workspace = "x" };
        ASSERT_EQ(id_lease_take(&l, &again, NULL), -EEXIST);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(id_lease_drop(&l, base, b, &err), -EPERM);
        ASSERT_CONTAINS(error_msg(&err), a);
        ASSERT_EQ(id_lease_drop(&l, base, a, NULL), 1);
        ASSERT_EQ(id_lease_drop(&l, base, a, NULL), 0);
        id_lease_unlock(&l);

        /* The directory is private to root. */
        struct stat st;
        ASSERT_OK(stat(w.leases, &st));
        ASSERT_EQ(st.st_mode & 0777, 0700);
        ASSERT_OK(chmod(w.leases, 0777));
        ASSERT_EQ(id_lease_lock(&w.host, &l, &err), -EPERM);
        ASSERT_CONTAINS(error_msg(&err), "0700");
}

TEST(two_state_dirs_never_get_the_same_block)
{
        World w;
        world_init(&w, "race", 64, true);
        char a[300], b[300];
        make_state_dir(&w, "a", a, sizeof a);
        make_state_dir(&w, "b", b, sizeof b);
        /* Eight processes, two state dirs, eight blocks each, at once. */
        pid_t pids[8];
        for (int i = 0; i < 8; i++) {
                pids[i] = fork();
                ASSERT_TRUE(pids[i] >= 0);
                if (pids[i] == 0) {
                        for (int j = 0; j < 8; j++) {
                                uint32_t base;
                                char ws[32];
                                snprintf(ws, sizeof ws, "w%d-%d", i, j);
                                if (allocate(&w, i % 2 ? b : a, ws, &base, NULL) < 0)
                                        _exit(1);
                        }
                        _exit(0);
                }
        }
        for (int i = 0; i < 8; i++) {
                int status;
                ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
                ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        IdLeaseLock l = ID_LEASE_LOCK_NULL;
        ASSERT_OK(id_lease_lock(&w.host, &l, NULL));
        IdLease *v = NULL;
        size_t n = 0;
        ASSERT_OK(id_lease_list(&l, &v, &n, NULL));
        id_lease_unlock(&l);
        /* 64 leases, distinct (one file per base), 32 per state dir, all in the pool. */
        ASSERT_EQ(n, 64);
        size_t in_a = 0;
        for (size_t i = 0; i < n; i++) {
                ASSERT_TRUE(v[i].base >= POOL_START && v[i].base < POOL_START + 64 * IDRANGE_BLOCK);
                ASSERT_EQ(v[i].base % IDRANGE_BLOCK, 0);
                if (i > 0)
                        ASSERT_TRUE(v[i].base > v[i - 1].base);
                in_a += strcmp(v[i].state_dir, a) == 0;
        }
        ASSERT_EQ(in_a, 32);
        id_leases_free(v, n);
}

TEST(exhausted_pool_grows_then_fails_clearly)
{
        World w;
        world_init(&w, "grow", 2, false);
        char a[300];
        make_state_dir(&w, "a", a, sizeof a);
        uint32_t base;
        ASSERT_OK(allocate(&w, a, "w1", &base, NULL));
        ASSERT_OK(allocate(&w, a, "w2", &base, NULL));
        /* The third grows the pool by a range beside the first. */
        ASSERT_OK(allocate(&w, a, "w3", &base, NULL));
        ASSERT_EQ(base, POOL_START + 2 * IDRANGE_BLOCK);
        _cleanup_id_file_ IdFile u = { NULL, 0 }, g = { NULL, 0 };
        ASSERT_OK(id_file_load(w.subuid, &u, NULL));
        ASSERT_OK(id_file_load(w.subgid, &g, NULL));
        ASSERT_EQ(u.n_entries, 2);
        ASSERT_EQ(g.n_entries, 2);
        ASSERT_EQ(u.entries[1].range.start, POOL_START + 2 * IDRANGE_BLOCK);
        ASSERT_EQ(u.entries[1].range.count, IDRANGE_DEFAULT_BLOCKS * IDRANGE_BLOCK);

        /* A pool that may not grow: a clear error naming the files and the way out. */
        World full;
        world_init(&full, "full", 1, true);
        char b[300];
        make_state_dir(&full, "b", b, sizeof b);
        ASSERT_OK(allocate(&full, b, "w1", &base, NULL));
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(allocate(&full, b, "w2", &base, &err), -ENOSPC);
        ASSERT_CONTAINS(error_msg(&err), "no free block of 65536 host ids");
        ASSERT_CONTAINS(error_msg(&err), "1 by this state dir");
        ASSERT_CONTAINS(error_msg(&err), full.subuid);
        ASSERT_CONTAINS(error_msg(&err), "Destroy workspaces");
        IdLeaseLock l = ID_LEASE_LOCK_NULL;
        IdPoolStatus st;
        ASSERT_OK(id_lease_lock(&full.host, &l, NULL));
        ASSERT_OK(id_pool_status(&l, b, &st, NULL));
        id_lease_unlock(&l);
        ASSERT_EQ(st.pool_blocks, 1);
        ASSERT_EQ(st.free, 0);
        ASSERT_EQ(st.addable, 0);
        ASSERT_EQ(st.own, 1);
}

TEST(leases_of_a_deleted_state_dir_are_reclaimed_unless_a_process_uses_the_block)
{
        World w;
        world_init_at(&w, "orphan", QUIET_START, 3, false);
        char a[300], gone[300];
        make_state_dir(&w, "a", a, sizeof a);
        make_state_dir(&w, "gone", gone, sizeof gone);
        uint32_t b1, b2, b3;
        ASSERT_OK(allocate(&w, gone, "w1", &b1, NULL));
        ASSERT_OK(allocate(&w, gone, "w2", &b2, NULL));
        ASSERT_OK(allocate(&w, a, "w3", &b3, NULL));
        ASSERT_OK(rm_rf(gone));

        /* A process that still runs with an id of b2 keeps b2 leased. */
        int p[2];
        ASSERT_OK(pipe(p));
        pid_t child = -1;
        if (geteuid() == 0) {
                child = fork();
                ASSERT_TRUE(child >= 0);
                if (child == 0) {
                        close(p[1]);
                        if (setresgid(b2 + 7, b2 + 7, b2 + 7) < 0 || setresuid(b2 + 7, b2 + 7, b2 + 7) < 0)
                                _exit(1);
                        char c;
                        _exit(read(p[0], &c, 1) < 0);
                }
                /* Wait until it has switched. */
                for (int i = 0; i < 200; i++) {
                        char path[64], want[32], *text = NULL;
                        snprintf(path, sizeof path, "/proc/%d/status", (int) child);
                        snprintf(want, sizeof want, "Uid:\t%u", b2 + 7);
                        bool done = read_full_file(path, 65536, &text, NULL) >= 0 && strstr(text, want);
                        free(text);
                        if (done)
                                break;
                        usleep(10000);
                }
        }
        close(p[0]);

        IdLeaseLock l = ID_LEASE_LOCK_NULL;
        IdPoolStatus st;
        ASSERT_OK(id_lease_lock(&w.host, &l, NULL));
        ASSERT_OK(id_pool_status(&l, a, &st, NULL));
        ASSERT_EQ(st.orphaned, 2);
        ASSERT_EQ(st.free, 0);
        size_t n = 0;
        ASSERT_OK(id_lease_reclaim(&l, a, &n, NULL));
        ASSERT_EQ(n, child > 0 ? 1 : 2);
        _cleanup_id_lease_ IdLease x = { .base = b1 };
        ASSERT_EQ(id_lease_read(&w.host, b1, &x, NULL), -ENOENT);
        if (child > 0) {
                _cleanup_id_lease_ IdLease y = {};
                ASSERT_OK(id_lease_read(&w.host, b2, &y, NULL));
                ASSERT_STREQ(y.state_dir, gone);
        }
        _cleanup_id_lease_ IdLease z = {};
        ASSERT_OK(id_lease_read(&w.host, b3, &z, NULL));
        id_lease_unlock(&l);
        close(p[1]);
        if (child > 0)
                ASSERT_EQ(waitpid(child, NULL, 0), child);

        /* Once it is gone, the pool running out reclaims b2 as well. */
        uint32_t b;
        ASSERT_OK(allocate(&w, a, "w4", &b, NULL));
        ASSERT_OK(allocate(&w, a, "w5", &b, NULL));
        ASSERT_TRUE(b == b1 || b == b2);
}

TEST(leftover_temporary_files_are_removed_and_unreadable_leases_kept)
{
        World w;
        world_init(&w, "tmp", 2, true);
        char a[300];
        make_state_dir(&w, "a", a, sizeof a);
        uint32_t base;
        ASSERT_OK(allocate(&w, a, "w1", &base, NULL)); /* creates the directory */
        char p[300];
        snprintf(p, sizeof p, "%s/.new-1073807360-99", w.leases);
        ASSERT_OK(write_file_atomic(p, "x", 1, 0600));
        snprintf(p, sizeof p, "%s/1073807360", w.leases);
        ASSERT_OK(write_file_atomic(p, "garbage", 7, 0600));
        IdLeaseLock l = ID_LEASE_LOCK_NULL;
        ASSERT_OK(id_lease_lock(&w.host, &l, NULL));
        IdLease *v = NULL;
        size_t n = 0;
        ASSERT_OK(id_lease_list(&l, &v, &n, NULL));
        ASSERT_EQ(n, 2);
        ASSERT_NULL(v[1].state_dir);
        id_leases_free(v, n);
        IdPoolStatus st;
        ASSERT_OK(id_pool_status(&l, a, &st, NULL));
        ASSERT_EQ(st.unreadable, 1);
        /* Reclaim never touches what it cannot read. */
        ASSERT_OK(id_lease_reclaim(&l, a, &n, NULL));
        ASSERT_EQ(n, 0);
        id_lease_unlock(&l);
        snprintf(p, sizeof p, "%s/.new-1073807360-99", w.leases);
        ASSERT_EQ(access(p, F_OK), -1);
}
