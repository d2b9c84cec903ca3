#include "storage/loopdev.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/str.h"

#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>

/* LOOP_CTL_GET_FREE hands the same free device to everyone who asks
 * until one binds it; the losers see EBUSY and ask again. */
#define LOOPDEV_ATTACH_ATTEMPTS 64
#define LOOPDEV_BLOCK_SIZE 4096

void loopdev_path(int nr, char buf[static LOOPDEV_PATH_MAX])
{
        snprintf(buf, LOOPDEV_PATH_MAX, "/dev/loop%d", nr);
}

void loopdev_done(LoopDevice *d)
{
        d->fd = safe_close(d->fd);
        d->nr = -1;
}

static void fill_info(struct loop_info64 *info, const char *name, uint32_t flags)
{
        memset(info, 0, sizeof *info);
        info->lo_flags = flags;
        /* lo_file_name is informational (losetup shows it); a long
         * path is simply cut. */
        size_t n = strlen(name);
        if (n >= sizeof info->lo_file_name)
                n = sizeof info->lo_file_name - 1;
        memcpy(info->lo_file_name, name, n);
}

static int bind_configure(int loop_fd, int image_fd, const char *name, uint32_t block_size, uint32_t flags)
{
        struct loop_config c;
        memset(&c, 0, sizeof c);
        c.fd = (uint32_t) image_fd;
        c.block_size = block_size;
        fill_info(&c.info, name, flags);
        return RET_NERRNO(ioctl(loop_fd, LOOP_CONFIGURE, &c));
}

/* Kernels before 5.8: bind, then set autoclear. If the second step
 * fails the device is unbound again at once. */
static int bind_legacy(int loop_fd, int image_fd, const char *name)
{
        if (ioctl(loop_fd, LOOP_SET_FD, image_fd) < 0)
                return -errno;
        struct loop_info64 info;
        fill_info(&info, name, LO_FLAGS_AUTOCLEAR);
        if (ioctl(loop_fd, LOOP_SET_STATUS64, &info) < 0) {
                int e = errno;
                (void) ioctl(loop_fd, LOOP_CLR_FD, 0);
                return -e;
        }
        /* Both optional: a device without them only caches twice. */
        (void) ioctl(loop_fd, LOOP_SET_BLOCK_SIZE, (unsigned long) LOOPDEV_BLOCK_SIZE);
        (void) ioctl(loop_fd, LOOP_SET_DIRECT_IO, 1UL);
        return 0;
}

/* Bind with the best interface the kernel has. Kernels differ in
 * whether an unsupported direct-I/O request is dropped silently or
 * refused with EINVAL, so a refusal is retried without it; EINVAL or
 * ENOTTY for the plain request means no LOOP_CONFIGURE at all. */
static int bind_image(int loop_fd, int image_fd, const char *name)
{
        int r = bind_configure(loop_fd, image_fd, name, LOOPDEV_BLOCK_SIZE,
                               LO_FLAGS_AUTOCLEAR | LO_FLAGS_DIRECT_IO);
        if (r != -EINVAL)
                return r;
        r = bind_configure(loop_fd, image_fd, name, 0, LO_FLAGS_AUTOCLEAR);
        if (r != -EINVAL && r != -ENOTTY)
                return r;
        return bind_legacy(loop_fd, image_fd, name);
}

static bool loop_uses_direct_io(int loop_fd)
{
        struct loop_info64 info;
        if (ioctl(loop_fd, LOOP_GET_STATUS64, &info) < 0)
                return false;
        return info.lo_flags & LO_FLAGS_DIRECT_IO;
}

/* One attempt on device nr: 1 bound, 0 lost the race, < 0 failure. */
static int attach_to(int nr, int image_fd, const char *name, LoopDevice *ret, Error *err)
{
        char path[LOOPDEV_PATH_MAX];
        loopdev_path(nr, path);
        _cleanup_close_ int rw = open(path, O_RDWR | O_CLOEXEC);
        if (rw < 0) {
                /* Removed (LOOP_CTL_REMOVE) by someone else meanwhile. */
                if (errno == ENOENT || errno == ENXIO)
                        return 0;
                return error_setc(err, errno, "opening %s", path);
        }
        int r = bind_image(rw, image_fd, name);
        if (r == -EBUSY)
                return 0;
        if (r < 0)
                return error_setc(err, -r, "binding %s to %s", name, path);
        /* Hold the device through a read-only fd and drop the writable
         * one: kernels that refuse writers on mounted devices would
         * otherwise refuse the mount. With autoclear, closing rw while
         * ro is open leaves the binding in place; failing to open ro
         * unbinds it when rw closes. */
        int ro = open(path, O_RDONLY | O_CLOEXEC);
        if (ro < 0)
                return error_setc(err, errno, "opening %s read-only", path);
        *ret = (LoopDevice) { .fd = ro, .nr = nr, .direct_io = loop_uses_direct_io(ro) };
        return 1;
}

int loopdev_attach(int image_fd, const char *name, LoopDevice *ret, Error *err)
{
        _cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
        if (ctl < 0)
                return error_setc(err, errno, "opening /dev/loop-control (is the loop module available?)");
        for (unsigned i = 0; i < LOOPDEV_ATTACH_ATTEMPTS; i++) {
                int nr = ioctl(ctl, LOOP_CTL_GET_FREE);
                if (nr < 0)
                        return error_setc(err, errno, "finding a free loop device");
                int r = attach_to(nr, image_fd, name, ret, err);
                if (r < 0)
                        return r;
                if (r > 0) {
                        log_debug("%s bound to loop%d (direct I/O %s)", name, nr, ret->direct_io ? "on" : "off");
                        return 0;
                }
        }
        return error_set(err, EBUSY, "binding %s to a loop device: every free device was taken by another "
                         "process %u times in a row", name, LOOPDEV_ATTACH_ATTEMPTS);
}

/* The backing file of loop device `entry` (a /sys/block name), NULL
 * for an unbound device. */
static char *backing_of(const char *entry)
{
        char path[PATH_MAX];
        snprintf(path, sizeof path, "/sys/block/%s/loop/backing_file", entry);
        char *backing = NULL;
        /* Missing for unbound devices. */
        if (read_full_file(path, PATH_MAX, &backing, NULL) < 0)
                return NULL;
        size_t n = strlen(backing);
        if (n > 0 && backing[n - 1] == '\n')
                backing[n - 1] = 0;
        return backing;
}

/* Is loop device `entry` (a /sys/block name) backed by dev/ino? */
static bool backed_by(const char *entry, dev_t dev, ino_t ino)
{
        _cleanup_free_ char *backing = backing_of(entry);
        if (!backing)
                return false;
        struct stat st;
        /* A deleted backing file ("... (deleted)") is not ours: ours
         * still has its name. */
        if (stat(backing, &st) < 0)
                return false;
        return st.st_dev == dev && st.st_ino == ino;
}

int loopdev_find_backing(dev_t dev, ino_t ino)
{
        _cleanup_closedir_ DIR *d = opendir("/sys/block");
        if (!d)
                return -errno;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *num = startswith(de->d_name, "loop");
                int64_t nr;
                if (!num || parse_int64(num, 0, INT32_MAX, &nr) < 0)
                        continue;
                if (backed_by(de->d_name, dev, ino))
                        return (int) nr;
        }
        return -ENOENT;
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int loopdev_wait_unbound(dev_t dev, ino_t ino, unsigned timeout_ms, int *ret_nr)
{
        uint64_t deadline = now_ms() + timeout_ms;
        for (;;) {
                int nr = loopdev_find_backing(dev, ino);
                if (nr == -ENOENT)
                        return 0;
                if (nr < 0)
                        return nr;
                if (now_ms() >= deadline) {
                        if (ret_nr)
                                *ret_nr = nr;
                        return -EBUSY;
                }
                /* Autoclear runs just after the last mount is released
                 * (from a workqueue once a mount namespace dies). */
                struct timespec ts = { 0, 5 * 1000 * 1000 };
                nanosleep(&ts, NULL);
        }
}

void loop_bindings_free(LoopBinding *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i].backing);
        free(v);
}

int loopdev_list_below(const char *dir, LoopBinding **ret, size_t *ret_n)
{
        *ret = NULL;
        *ret_n = 0;
        _cleanup_closedir_ DIR *d = opendir("/sys/block");
        if (!d)
                return -errno;
        size_t len = strlen(dir);
        LoopBinding *v = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(d))) {
                const char *num = startswith(de->d_name, "loop");
                int64_t nr;
                if (!num || parse_int64(num, 0, INT32_MAX, &nr) < 0)
                        continue;
                char *backing = backing_of(de->d_name);
                if (!backing)
                        continue;
                if (strncmp(backing, dir, len) != 0 || backing[len] != '/') {
                        free(backing);
                        continue;
                }
                LoopBinding *nv = realloc(v, (n + 1) * sizeof *nv);
                if (!nv) {
                        free(backing);
                        loop_bindings_free(v, n);
                        return -ENOMEM;
                }
                v = nv;
                v[n++] = (LoopBinding) { (int) nr, backing };
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int loopdev_detach(int nr)
{
        char path[LOOPDEV_PATH_MAX];
        loopdev_path(nr, path);
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (ioctl(fd, LOOP_CLR_FD, 0) < 0 && errno != ENXIO)
                return -errno;
        return 0;
}
