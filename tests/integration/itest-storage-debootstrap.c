/* SLOW (minutes the first time): ONE real debootstrap of bookworm
 * (minbase) from http://deb.debian.org/debian, then setup commands in
 * the result, and debootstrap failures/cancellation leaving nothing.
 *
 * The result is kept outside the clone, at
 * /var/cache/enclave-tests/bookworm.tar.zst; later runs import that
 * archive instead of running debootstrap again (set
 * ENCLAVE_TEST_DEBOOTSTRAP=1 to force a fresh one). The failure tests
 * talk only to the Debian mirror host (a bogus path on it). Needs root
 * and debootstrap. */
#include "test.h"
#include "itest-common.h"

#include "base/fs.h"
#include "base/str.h"
#include "storage/bootstrap.h"
#include "storage/layout.h"
#include "storage/rootfs-cache.h"

#include <stdatomic.h>
#include <sys/stat.h>

#define MIRROR "http://deb.debian.org/debian"
#define CACHE_DIR "/var/cache/enclave-tests"
#define CACHE_ARCHIVE CACHE_DIR "/bookworm.tar.zst"

static char *scratch, *state;

static void make_world(void)
{
        if (state)
                return;
        if (geteuid() != 0)
                SKIP("needs root");
        if (access("/usr/sbin/debootstrap", X_OK) < 0)
                SKIP("debootstrap is not installed");
        char tmpl[] = "/tmp/enctest-debootstrap-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        scratch = strdup(tmpl);
        state = at(scratch, "state");
}

__attribute__((destructor)) static void cleanup_world(void)
{
        if (scratch)
                (void) rm_rf(scratch);
}

typedef struct Stages {
        bool seen[_PROGRESS_STAGE_MAX];
        ProgressStage last;
        size_t events;
        bool cancel_on_first;
        atomic_bool cancel;
} Stages;

static int on_progress(const StorageProgress *p, void *userdata)
{
        Stages *s = userdata;
        s->events++;
        if (p->stage >= 0 && p->stage < _PROGRESS_STAGE_MAX) {
                if (!s->seen[p->stage] || p->stage != s->last)
                        printf("# %s: %s\n", progress_stage_to_string(p->stage), p->message);
                s->seen[p->stage] = true;
                s->last = p->stage;
        }
        if (s->cancel_on_first)
                atomic_store(&s->cancel, true);
        return 0;
}

static bool mounted_below(const char *dir)
{
        _cleanup_free_ char *mi = NULL;
        if (read_full_file("/proc/self/mountinfo", 1 << 22, &mi, NULL) < 0)
                return true;
        return strstr(mi, dir) != NULL;
}

static char *sandbox_rootfs;

TEST(slow_real_debootstrap_bookworm)
{
        make_world();
        _cleanup_error_ Error err = ERROR_INIT;
        Stages st = { 0 };
        StorageMonitor mon = { .progress = on_progress, .userdata = &st, .cancel = &st.cancel };
        const char *force = getenv("ENCLAVE_TEST_DEBOOTSTRAP");
        bool fresh = (force && streq(force, "1")) || access(CACHE_ARCHIVE, R_OK) < 0;
        BootstrapOptions o = { .state_dir = state, .sandbox = "deb", .suite = "bookworm", .mirror = MIRROR };
        if (fresh) {
                printf("# running debootstrap bookworm (minbase) from %s: this takes minutes\n", MIRROR);
                ASSERT_OK_E(bootstrap_debootstrap(&o, &mon, &err), err);
                ASSERT_TRUE(st.seen[PROGRESS_STAGE_RETRIEVING]);
                ASSERT_TRUE(st.seen[PROGRESS_STAGE_EXTRACTING]);
                ASSERT_TRUE(st.seen[PROGRESS_STAGE_UNPACKING]);
                ASSERT_TRUE(st.seen[PROGRESS_STAGE_CONFIGURING]);
                /* The suite cache was filled: keep it for later runs. */
                ASSERT_TRUE(rootfs_cache_exists(state, "bookworm"));
                ASSERT_OK(mkdir_p(CACHE_DIR, 0755));
                (void) unlink(CACHE_ARCHIVE);
                ASSERT_OK_E(rootfs_cache_export(state, "bookworm", CACHE_ARCHIVE, true, NULL, NULL, &err), err);
        } else {
                printf("# using %s (ENCLAVE_TEST_DEBOOTSTRAP=1 runs debootstrap again)\n", CACHE_ARCHIVE);
                ASSERT_OK_E(rootfs_cache_import(state, "bookworm", CACHE_ARCHIVE, false, &mon, NULL, &err), err);
                ASSERT_OK_E(bootstrap_cached_rootfs(&o, &mon, &err), err);
        }
        sandbox_rootfs = at(state, "sandboxes/deb/rootfs");
        const char *must[] = { "bin/sh", "etc/debian_version", "usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg" };
        for (size_t i = 0; i < ELEMENTSOF(must); i++) {
                _cleanup_free_ char *p = at(sandbox_rootfs, must[i]);
                if (access(p, F_OK) < 0)
                        TEST_FAIL("%s is missing", p);
        }
        _cleanup_free_ char *dv = at(sandbox_rootfs, "etc/debian_version"), *version = NULL;
        ASSERT_OK(read_full_file(dv, 256, &version, NULL));
        ASSERT_TRUE(strneq(version, "12.", 3));
        _cleanup_free_ char *cached_dv = at(state, "sandboxes/rootfs-cache/bookworm/etc/debian_version");
        ASSERT_OK(access(cached_dv, F_OK));
        struct stat s;
        ASSERT_OK(stat(sandbox_rootfs, &s));
        ASSERT_EQ(s.st_mode & 07777, 0755);
        ASSERT_TRUE(tmp_is_empty(state));
        ASSERT_FALSE(mounted_below(scratch));
}

/* apt in setup commands needs the daemon's network (setup runs in its
 * own network namespace on the bridge): tested through the daemon with
 * this rootfs in tests/integration/test-boundary-setup.sh. */

TEST(debootstrap_failure_leaves_nothing_and_shows_the_log)
{
        make_world();
        _cleanup_error_ Error err = ERROR_INIT;
        BootstrapOptions o = { .state_dir = state, .sandbox = "broken", .suite = "trixie",
                               .mirror = MIRROR "-enctest-no-such-path" };
        ASSERT_EQ(bootstrap_debootstrap(&o, NULL, &err), -EIO);
        printf("# %s\n", error_msg(&err));
        ASSERT_CONTAINS(error_msg(&err), "debootstrap trixie from " MIRROR "-enctest-no-such-path failed");
        ASSERT_CONTAINS(error_msg(&err), "last lines of its");
        ASSERT_CONTAINS(error_msg(&err), "Release");
        _cleanup_free_ char *rootfs = at(state, "sandboxes/broken/rootfs");
        ASSERT_TRUE(access(rootfs, F_OK) < 0);
        ASSERT_FALSE(rootfs_cache_exists(state, "trixie"));
        ASSERT_TRUE(tmp_is_empty(state));
        ASSERT_FALSE(mounted_below(scratch));
}

TEST(debootstrap_cancel_leaves_nothing)
{
        make_world();
        _cleanup_error_ Error err = ERROR_INIT;
        Stages st = { .cancel_on_first = true };
        StorageMonitor mon = { .progress = on_progress, .userdata = &st, .cancel = &st.cancel };
        BootstrapOptions o = { .state_dir = state, .sandbox = "cancelled", .suite = "sid", .mirror = MIRROR };
        ASSERT_EQ(bootstrap_debootstrap(&o, &mon, &err), -ECANCELED);
        ASSERT_CONTAINS(error_msg(&err), "cancelled");
        _cleanup_free_ char *rootfs = at(state, "sandboxes/cancelled/rootfs");
        ASSERT_TRUE(access(rootfs, F_OK) < 0);
        ASSERT_TRUE(tmp_is_empty(state));
        ASSERT_FALSE(mounted_below(scratch));
}

TEST(debootstrap_bad_inputs)
{
        make_world();
        _cleanup_error_ Error err = ERROR_INIT;
        BootstrapOptions o = { .state_dir = state, .sandbox = "x", .suite = "bookworm",
                               .debootstrap_binary = "/nonexistent/debootstrap" };
        ASSERT_TRUE(bootstrap_debootstrap(&o, NULL, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "/nonexistent/debootstrap");
        error_clear(&err);
        BootstrapOptions m = { .state_dir = state, .sandbox = "x", .mirror = "ftp://deb.debian.org/debian" };
        ASSERT_EQ(bootstrap_debootstrap(&m, NULL, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "http:// or https://");
        error_clear(&err);
        BootstrapOptions q = { .state_dir = state, .sandbox = "x", .mirror = "http://deb.debian.org/debian\"; rm -rf /" };
        ASSERT_EQ(bootstrap_debootstrap(&q, NULL, &err), -EINVAL);
        _cleanup_free_ char *sb = at(state, "sandboxes/x/rootfs");
        ASSERT_TRUE(access(sb, F_OK) < 0);
}
