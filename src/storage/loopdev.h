/* Loop devices for workspace disk images.
 *
 * An image is bound to a free loop device in one step (LOOP_CONFIGURE,
 * or LOOP_SET_FD + LOOP_SET_STATUS64 on kernels before 5.8) with
 * LO_FLAGS_AUTOCLEAR: the kernel unbinds the device by itself when its
 * last user goes away, i.e. when the last mount of the file system on
 * it is gone. Nothing has to remember to detach it, and a daemon killed
 * at any instant leaks no device (except in the short window of the
 * pre-5.8 fallback, between its two ioctls).
 *
 * Direct I/O (LO_FLAGS_DIRECT_IO, 4096-byte logical blocks) is asked
 * for: the file system's page cache is then the only cache of the data,
 * charged to whoever wrote it, instead of a second copy of every block
 * in the host's page cache of the image file. The kernel falls back to
 * buffered I/O where the backing file system cannot do direct I/O. */
#pragma once

#include "base/error.h"

#include <sys/types.h>

/* A bound loop device, held by fd (O_RDONLY: a holder, never a writer,
 * so a later exclusive mount of the device is not refused). Closing fd
 * while nothing else holds the device unbinds it (autoclear). */
typedef struct LoopDevice {
        int fd;
        int nr;         /* N of /dev/loopN */
        bool direct_io; /* the kernel accepted direct I/O */
} LoopDevice;

#define LOOP_DEVICE_INIT { .fd = -EBADF, .nr = -1, .direct_io = false }

/* Room for "/dev/loop" and any int. */
#define LOOPDEV_PATH_MAX 32

void loopdev_path(int nr, char buf[static LOOPDEV_PATH_MAX]);

/* Bind image_fd (open read-write) to a free loop device with autoclear.
 * name is only recorded as the device's file name (lo_file_name) and
 * used in messages. Retries when another process takes the same free
 * device first. */
int loopdev_attach(int image_fd, const char *name, LoopDevice *ret, Error *err);

/* Close the holder fd (unbinding the device when it was the last user). */
void loopdev_done(LoopDevice *d);
#define _cleanup_loopdev_ _cleanup_(loopdev_done)

/* The number of a bound loop device whose backing file is the inode
 * dev/ino (from /sys/block/loop*\/loop/backing_file), -ENOENT when
 * there is none, or another negative errno. */
int loopdev_find_backing(dev_t dev, ino_t ino);

/* Wait up to timeout_ms for no loop device to be backed by dev/ino.
 * 0, or -EBUSY with *ret_nr (may be NULL) naming the device in use. */
int loopdev_wait_unbound(dev_t dev, ino_t ino, unsigned timeout_ms, int *ret_nr);

/* A bound loop device and the path of its backing file. */
typedef struct LoopBinding {
        int nr;
        char *backing; /* as the kernel names it; " (deleted)" when unlinked */
} LoopBinding;

void loop_bindings_free(LoopBinding *v, size_t n);

/* Unbind loop device nr (LOOP_CLR_FD): at once when nothing holds it,
 * else (the kernel sets autoclear) as soon as its last user goes. */
int loopdev_detach(int nr);

/* Every loop device whose backing file lies below dir (an absolute,
 * canonical path): what doctor checks against running workspaces. */
int loopdev_list_below(const char *dir, LoopBinding **ret, size_t *ret_n);
