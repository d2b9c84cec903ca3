#include "storage/copy-data.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

#define COPY_BUF_SIZE (256 * 1024)

void copy_data_done(CopyData *d)
{
        free(d->buf);
        d->buf = NULL;
}

/* Each of these copies [off, end) and returns the offset reached (less
 * than end when the file shrank meanwhile) or a negative errno. */

static off_t copy_range_rw(CopyData *d, int src, int dst, off_t off, off_t end, uint64_t *bytes)
{
        if (!d->buf) {
                d->buf = malloc(COPY_BUF_SIZE);
                if (!d->buf)
                        return -ENOMEM;
        }
        while (off < end) {
                size_t want = (size_t) (end - off) < COPY_BUF_SIZE ? (size_t) (end - off) : COPY_BUF_SIZE;
                ssize_t n = pread(src, d->buf, want, off);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break; /* the file shrank */
                for (ssize_t w = 0; w < n;) {
                        ssize_t k = pwrite(dst, d->buf + w, (size_t) (n - w), off + w);
                        if (k < 0) {
                                if (errno == EINTR)
                                        continue;
                                return -errno;
                        }
                        w += k;
                }
                off += n;
                *bytes += (uint64_t) n;
        }
        return off;
}

static off_t copy_range(CopyData *d, int src, int dst, off_t off, off_t end, uint64_t *bytes)
{
        while (!d->no_copy_range && off < end) {
                loff_t in = off, out = off;
                size_t want = (size_t) (end - off) < (1u << 30) ? (size_t) (end - off) : (1u << 30);
                ssize_t n = copy_file_range(src, &in, dst, &out, want, 0);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
                                d->no_copy_range = true;
                                break;
                        }
                        return -errno;
                }
                if (n == 0)
                        return off; /* the file shrank */
                off += n;
                *bytes += (uint64_t) n;
        }
        return copy_range_rw(d, src, dst, off, end, bytes);
}

static bool try_reflink(CopyData *d, int src, int dst)
{
        if (d->no_reflink)
                return false;
        if (ioctl(dst, FICLONE, src) == 0)
                return true;
        /* Not a reflink-capable file system (or two different ones): stop
         * asking for the rest of this copy. */
        if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == EINVAL || errno == ENOSYS)
                d->no_reflink = true;
        return false;
}

/* Copy only the data segments, so sparse files stay sparse. Returns
 * where the last segment copied ends. */
static off_t copy_segments(CopyData *d, int src, int dst, off_t size, uint64_t *bytes)
{
        off_t written = 0;
        for (off_t off = 0; off < size;) {
                off_t data = lseek(src, off, SEEK_DATA);
                if (data < 0) {
                        if (errno == ENXIO)
                                break; /* a hole up to the end */
                        data = off; /* no SEEK_DATA here: copy everything */
                }
                if (data >= size)
                        break;
                off_t hole = lseek(src, data, SEEK_HOLE);
                if (hole < 0 || hole > size)
                        hole = size;
                off_t reached = copy_range(d, src, dst, data, hole, bytes);
                if (reached < 0)
                        return reached;
                if (reached > data)
                        written = reached;
                if (reached < hole)
                        break; /* the file shrank */
                off = hole;
        }
        return written;
}

int copy_data(CopyData *d, int src, int dst, const struct stat *st, uint64_t *ret_bytes, bool *ret_reflinked)
{
        off_t size = st->st_size;
        *ret_bytes = 0;
        *ret_reflinked = false;
        if (size == 0)
                return 0;
        if (try_reflink(d, src, dst)) {
                *ret_bytes = (uint64_t) size;
                *ret_reflinked = true;
                return 0;
        }
        /* A file within one allocated block has no hole to keep: skip
         * asking for the segments (most files of a tree are that small). */
        off_t end = st->st_blocks > 0 && size <= st->st_blksize ? copy_range(d, src, dst, 0, size, ret_bytes)
                                                                 : copy_segments(d, src, dst, size, ret_bytes);
        if (end < 0)
                return (int) end;
        /* Trailing holes (and a file that shrank) need the size set. */
        return end == size ? 0 : RET_NERRNO(ftruncate(dst, size));
}
