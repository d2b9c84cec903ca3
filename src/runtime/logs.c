#include "runtime/logs.h"

#include "base/fs.h"
#include "runtime/log-files.h"

#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

/* A half may overshoot the cap by one write of init; anything beyond
 * this is not a log init wrote. */
#define LOG_READ_MAX (256ULL << 20)

struct LogFollow {
        char *dir;
        int inotify_fd;
        uint64_t count; /* rotation count when last read; half count % 2 is followed */
        int fd;         /* that half, or -EBADF when it does not exist yet */
        off_t pos;      /* bytes of it already returned */
};

static char *logs_dir(const char *ws_dir)
{
        return path_join(ws_dir, "logs");
}

static int open_in(const char *dir, const char *name, int flags, mode_t mode)
{
        _cleanup_free_ char *p = path_join(dir, name);
        if (!p)
                return -ENOMEM;
        int fd = open(p, flags | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, mode);
        return fd < 0 ? -errno : fd;
}

int workspace_log_open_for_init(const char *ws_dir, int ret_fds[3], Error *err)
{
        _cleanup_free_ char *dir = logs_dir(ws_dir);
        if (!dir)
                return -ENOMEM;
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
                return error_setc(err, errno, "creating %s", dir);
        _cleanup_close_ int f0 = open_in(dir, LOG_FILE_NAME_0, O_WRONLY | O_APPEND | O_CREAT, 0640);
        if (f0 < 0)
                return error_setc(err, -f0, "opening %s/%s", dir, LOG_FILE_NAME_0);
        _cleanup_close_ int f1 = open_in(dir, LOG_FILE_NAME_1, O_WRONLY | O_APPEND | O_CREAT, 0640);
        if (f1 < 0)
                return error_setc(err, -f1, "opening %s/%s", dir, LOG_FILE_NAME_1);
        _cleanup_close_ int fa = open_in(dir, LOG_ACTIVE_NAME, O_RDWR | O_CREAT, 0640);
        if (fa < 0)
                return error_setc(err, -fa, "opening %s/%s", dir, LOG_ACTIVE_NAME);
        ret_fds[0] = TAKE_FD(f0);
        ret_fds[1] = TAKE_FD(f1);
        ret_fds[2] = TAKE_FD(fa);
        return 0;
}

static uint64_t read_count(const char *dir)
{
        _cleanup_close_ int fd = open_in(dir, LOG_ACTIVE_NAME, O_RDONLY, 0);
        return fd < 0 ? 0 : log_state_read(fd);
}

/* Append the whole half idx to b; a missing half is empty. Returns the
 * number of bytes read. */
static int64_t append_half(const char *dir, int idx, StrBuf *b)
{
        _cleanup_close_ int fd = open_in(dir, log_file_name(idx), O_RDONLY, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        _cleanup_free_ char *data = NULL;
        size_t len;
        int r = read_full_fd(fd, LOG_READ_MAX, &data, &len);
        if (r < 0)
                return r;
        if (strbuf_append(b, data, len) < 0)
                return -ENOMEM;
        return (int64_t) len;
}

/* Both halves in order; *ret_active_len is the length of the active
 * half (where following continues). A rotation while reading is
 * detected by the count changing, and the read is repeated. */
static int read_both(const char *dir, StrBuf *b, uint64_t *ret_count, int64_t *ret_active_len)
{
        for (int attempt = 0;; attempt++) {
                uint64_t count = read_count(dir);
                int active = log_state_active(count);
                strbuf_done(b);
                int64_t r = append_half(dir, !active, b);
                if (r < 0)
                        return (int) r;
                r = append_half(dir, active, b);
                if (r < 0)
                        return (int) r;
                if (b->oom)
                        return -ENOMEM;
                if (read_count(dir) == count || attempt >= 3) {
                        *ret_count = count;
                        *ret_active_len = r;
                        return 0;
                }
        }
}

/* Offset where the last n lines of text begin. A final line without a
 * newline counts as a line. */
static size_t tail_offset(const char *text, size_t len, size_t n)
{
        if (n == LOG_TAIL_ALL)
                return 0;
        if (n == 0)
                return len;
        size_t i = len;
        if (i > 0 && text[i - 1] == '\n')
                i--;
        size_t seen = 0;
        while (i > 0) {
                if (text[i - 1] == '\n' && ++seen == n)
                        return i;
                i--;
        }
        return 0;
}

static int tail_copy(const StrBuf *b, size_t tail_n, char **ret, size_t *ret_len)
{
        const char *text = b->data ? b->data : "";
        size_t off = tail_offset(text, b->len, tail_n);
        char *s = strndup(text + off, b->len - off);
        if (!s)
                return -ENOMEM;
        *ret = s;
        if (ret_len)
                *ret_len = b->len - off;
        return 0;
}

int workspace_log_read(const char *ws_dir, size_t tail_n, char **ret, size_t *ret_len, Error *err)
{
        _cleanup_free_ char *dir = logs_dir(ws_dir);
        if (!dir)
                return -ENOMEM;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        uint64_t count;
        int64_t active_len;
        int r = read_both(dir, &b, &count, &active_len);
        if (r < 0)
                return error_setc(err, -r, "reading the log in %s", dir);
        return tail_copy(&b, tail_n, ret, ret_len);
}

int log_follow_open(const char *ws_dir, size_t tail_n, LogFollow **ret, char **ret_initial,
                    size_t *ret_initial_len, Error *err)
{
        _cleanup_log_follow_ LogFollow *f = calloc(1, sizeof *f);
        if (!f)
                return -ENOMEM;
        f->inotify_fd = -EBADF;
        f->fd = -EBADF;
        f->dir = logs_dir(ws_dir);
        if (!f->dir)
                return -ENOMEM;
        f->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (f->inotify_fd < 0)
                return error_setc(err, errno, "creating an inotify instance");
        /* Watch before reading, so no write can fall between the two. */
        if (inotify_add_watch(f->inotify_fd, f->dir,
                              IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE_SELF |
                                      IN_MOVE_SELF | IN_ONLYDIR) < 0)
                return error_setc(err, errno, "watching %s", f->dir);

        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        int64_t active_len;
        int r = read_both(f->dir, &b, &f->count, &active_len);
        if (r < 0)
                return error_setc(err, -r, "reading the log in %s", f->dir);
        f->pos = (off_t) active_len;
        if (ret_initial) {
                r = tail_copy(&b, tail_n, ret_initial, ret_initial_len);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(f);
        return 0;
}

int log_follow_fd(const LogFollow *f)
{
        return f->inotify_fd;
}

/* Drain inotify; returns -ENOENT when the directory went away. */
static int drain_events(LogFollow *f)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        for (;;) {
                ssize_t n = read(f->inotify_fd, buf, sizeof buf);
                if (n < 0)
                        return errno == EAGAIN ? 0 : -errno;
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *e = (struct inotify_event *) p;
                        if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
                                return -ENOENT;
                        p += sizeof *e + e->len;
                }
        }
}

/* Append what the followed half holds beyond f->pos. */
static int read_new(LogFollow *f, StrBuf *out)
{
        if (f->fd < 0) {
                f->fd = open_in(f->dir, log_file_name(log_state_active(f->count)), O_RDONLY, 0);
                if (f->fd == -ENOENT)
                        return 0;
                if (f->fd < 0)
                        return f->fd;
        }
        struct stat st;
        if (fstat(f->fd, &st) < 0)
                return -errno;
        /* Shrunk under us: rotated twice since the last read. */
        if (st.st_size < f->pos)
                f->pos = 0;
        int total = 0;
        char buf[65536];
        for (;;) {
                ssize_t n = pread(f->fd, buf, sizeof buf, f->pos);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return total;
                if (strbuf_append(out, buf, (size_t) n) < 0)
                        return -ENOMEM;
                f->pos += n;
                total += (int) n;
        }
}

/* Start following the half of rotation count `count` from its start. */
static void follow_switch(LogFollow *f, uint64_t count)
{
        f->fd = safe_close(f->fd);
        f->count = count;
        f->pos = 0;
}

int log_follow_read(LogFollow *f, StrBuf *out, Error *err)
{
        int r = drain_events(f);
        if (r < 0) {
                if (r == -ENOENT)
                        return r;
                return error_setc(err, -r, "reading inotify events for %s", f->dir);
        }
        int total = 0;
        uint64_t count = read_count(f->dir);
        if (count == f->count + 1) {
                /* One rotation: finish the old half (init wrote its tail
                 * before switching), then the new one from its start. */
                r = read_new(f, out);
                if (r < 0)
                        return error_setc(err, -r, "reading the log in %s", f->dir);
                total += r;
                follow_switch(f, count);
        } else if (count != f->count) {
                /* Lapped: what we had not read yet was rotated away. The
                 * inactive half is complete and continues after the gap. */
                if (count > 0) {
                        follow_switch(f, count - 1);
                        r = read_new(f, out);
                        if (r < 0)
                                return error_setc(err, -r, "reading the log in %s", f->dir);
                        total += r;
                }
                follow_switch(f, count);
        }
        r = read_new(f, out);
        if (r < 0)
                return error_setc(err, -r, "reading the log in %s", f->dir);
        return total + r;
}

LogFollow *log_follow_free(LogFollow *f)
{
        if (!f)
                return NULL;
        safe_close(f->inotify_fd);
        safe_close(f->fd);
        free(f->dir);
        free(f);
        return NULL;
}
