/* The workspace root filesystem's overlay over an idmapped lower layer,
 * on whatever kernel runs the test (root): each way of passing the lower
 * layer that this kernel takes yields a working overlay, the attached
 * fallback works everywhere and leaves no mount behind, and the
 * automatic choice finds a way and sticks to it. */
#include "base/fs.h"
#include "runtime/idmap.h"
#include "runtime/probe.h"
#include "runtime/rootfs.h"
#include "test.h"
#include "itest-common.h"
#include "scratch.h"

#include <fcntl.h>
#include <sys/stat.h>

#define ID_BASE 300000U

typedef struct Layers {
        char *dir, *lower, *upper, *work;
        int userns, lower_fd;
} Layers;

static void layers_done(Layers *l)
{
        safe_close(l->lower_fd);
        safe_close(l->userns);
        if (l->dir)
                (void) rm_rf(l->dir);
        free(l->dir);
        free(l->lower);
        free(l->upper);
        free(l->work);
}

/* lower/ with one root-owned file, upper/ and work/ owned by the id
 * block, and the idmapped clone of lower, as a workspace start makes. */
static void layers_make(Layers *l)
{
        if (geteuid() != 0)
                SKIP("needs root");
        Error err = ERROR_INIT;
        *l = (Layers) { .userns = -EBADF, .lower_fd = -EBADF };
        l->dir = scratch_tmpdir("/tmp/enctest-overlay-XXXXXX");
        l->lower = at(l->dir, "lower");
        l->upper = at(l->dir, "upper");
        l->work = at(l->dir, "work");
        ASSERT_OK(mkdir(l->lower, 0755));
        ASSERT_OK(mkdir(l->upper, 0755));
        ASSERT_OK(mkdir(l->work, 0755));
        ASSERT_OK(chown(l->upper, ID_BASE, ID_BASE));
        ASSERT_OK(chown(l->work, ID_BASE, ID_BASE));
        _cleanup_free_ char *f = at(l->lower, "from-lower");
        ASSERT_OK(write_file_atomic(f, "lower\n", 6, 0644));
        IdMapLine m = { 0, ID_BASE, 65536 };
        l->userns = idmap_userns_open(&m, &m, &err);
        ASSERT_OK_E(l->userns, err);
        l->lower_fd = rootfs_open_lower(l->lower, l->userns, &err);
        ASSERT_OK_E(l->lower_fd, err);
}

/* The overlay shows the lower file as the workspace's root's and takes
 * a write into upper/ only. */
static void check_overlay(const Layers *l, int mfd)
{
        struct stat st;
        ASSERT_OK(fstatat(mfd, "from-lower", &st, 0));
        ASSERT_EQ(st.st_uid, ID_BASE);
        _cleanup_close_ int fd = openat(mfd, "written", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        ASSERT_TRUE(fd >= 0);
        _cleanup_free_ char *in_upper = at(l->upper, "written"), *in_lower = at(l->lower, "written");
        ASSERT_OK(access(in_upper, F_OK));
        ASSERT_TRUE(access(in_lower, F_OK) < 0);
}

static size_t count_mounts_under(const char *dir)
{
        _cleanup_free_ char *mi = NULL;
        if (read_full_file("/proc/self/mountinfo", 16 << 20, &mi, NULL) < 0)
                return SIZE_MAX;
        size_t n = 0;
        for (const char *p = mi; (p = strstr(p, dir)); p++)
                n++;
        return n;
}

TEST(attached_fallback_works_and_leaves_no_mount)
{
        Layers l;
        layers_make(&l);
        Error err = ERROR_INIT;
        int mfd = rootfs_open_overlay_as(OVERLAY_LOWER_ATTACHED, l.lower_fd, l.upper, l.work, &err);
        if (mfd < 0) {
                layers_done(&l);
                TEST_FAIL("attached lower layer: %s", error_msg(&err));
        }
        check_overlay(&l, mfd);
        safe_close(mfd);
        ASSERT_EQ(count_mounts_under(l.dir), 0);
        layers_done(&l);
}

TEST(every_way_the_kernel_takes_gives_a_working_overlay)
{
        int worked = 0;
        for (OverlayLowerMode m = 0; m < _OVERLAY_LOWER_MAX; m++) {
                Layers l;
                layers_make(&l);
                Error err = ERROR_INIT;
                int mfd = rootfs_open_overlay_as(m, l.lower_fd, l.upper, l.work, &err);
                printf("# %s: %s\n", overlay_lower_mode_to_string(m), mfd >= 0 ? "works" : error_msg(&err));
                error_clear(&err);
                if (mfd >= 0) {
                        check_overlay(&l, mfd);
                        worked++;
                        safe_close(mfd);
                }
                layers_done(&l);
        }
        ASSERT_TRUE(worked > 0);
}

TEST(automatic_choice_finds_a_way_and_keeps_it)
{
        OverlayLowerMode first = _OVERLAY_LOWER_INVALID, second = _OVERLAY_LOWER_INVALID;
        for (int i = 0; i < 2; i++) {
                Layers l;
                layers_make(&l);
                Error err = ERROR_INIT;
                int mfd = rootfs_open_overlay(l.lower_fd, l.upper, l.work, i == 0 ? &first : &second, &err);
                if (mfd < 0) {
                        layers_done(&l);
                        TEST_FAIL("automatic overlay: %s", error_msg(&err));
                }
                check_overlay(&l, mfd);
                safe_close(mfd);
                layers_done(&l);
        }
        printf("# chosen: %s\n", overlay_lower_mode_to_string(first));
        ASSERT_EQ(first, second);
}

TEST(doctor_probe_passes)
{
        if (geteuid() != 0)
                SKIP("needs root");
        _cleanup_tmpdir_ char *d = scratch_tmpdir("/tmp/enctest-overlay-probe-XXXXXX");
        Error err = ERROR_INIT;
        ASSERT_OK_E(probe_overlay_on_idmapped(d, NULL, &err), err);
}
