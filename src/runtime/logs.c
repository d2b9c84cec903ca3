#include "runtime/logs.h"

#include "base/fs.h"
#include "runtime/log-files.h"

#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>

/* The most the daemon ever reads of one half: init's writer keeps each
 * half within its cap (8 MiB unless configured otherwise) under
 * RLIMIT_FSIZE, so more than this is not a log init wrote; only its
 * last LOG_READ_MAX bytes count. Every read below is bounded by it,
 * whatever the size of the files (docs/security.md, "init and logs"). */
#define LOG_READ_MAX LOG_DEFAULT_MAX_BYTES
#define LOG_SCAN_BLOCK 65536

struct LogFollow {
        char *dir;
        int inotify_fd;
        uint64_t count; /* rotation count when last read; half count % 2 is followed */
        int fd;         /* that half, or -EBADF when it does not exist yet */
        off_t pos;      /* bytes of it already returned */
        bool lost;      /* a rotation overtook the last read: start again after the gap */
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

/* The log as one virtual file: the tail of the inactive half, then the
 * tail of the active half, each at most LOG_READ_MAX bytes. When the
 * active half itself had to be cut, the inactive one is left out (what
 * lay between is not there). */
typedef struct LogSpan {
        int fd;
        off_t from, len; /* the part of the file taken */
} LogSpan;

typedef struct LogView {
        LogSpan span[2]; /* [0] older, [1] newer */
        off_t active_size;
        uint64_t count;
} LogView;

static void log_view_done(LogView *v)
{
        for (int i = 0; i < 2; i++)
                v->span[i].fd = safe_close(v->span[i].fd);
}

/* Open half idx as a span of its last LOG_READ_MAX bytes; a missing
 * half is an empty span. Returns whether it was cut. */
static int span_open(const char *dir, int idx, LogSpan *s, off_t *ret_size)
{
        *s = (LogSpan) { .fd = -EBADF };
        *ret_size = 0;
        int fd = open_in(dir, log_file_name(idx), O_RDONLY, 0);
        if (fd == -ENOENT)
                return 0;
        if (fd < 0)
                return fd;
        struct stat st;
        if (fstat(fd, &st) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        *ret_size = st.st_size;
        s->fd = fd;
        s->from = st.st_size > (off_t) LOG_READ_MAX ? st.st_size - (off_t) LOG_READ_MAX : 0;
        s->len = st.st_size - s->from;
        return s->from > 0;
}

static int log_view_open(const char *dir, LogView *v)
{
        *v = (LogView) { .span = { { .fd = -EBADF }, { .fd = -EBADF } } };
        v->count = read_count(dir);
        int active = log_state_active(v->count);
        off_t ignored;
        int r = span_open(dir, !active, &v->span[0], &ignored);
        if (r >= 0)
                r = span_open(dir, active, &v->span[1], &v->active_size);
        if (r < 0) {
                log_view_done(v);
                return r;
        }
        if (r > 0) /* the active half was cut: the older one does not follow on */
                v->span[0].len = 0;
        return 0;
}

static off_t log_view_size(const LogView *v)
{
        return v->span[0].len + v->span[1].len;
}

/* pread on the virtual file. */
static ssize_t log_view_pread(const LogView *v, char *buf, size_t n, off_t off)
{
        size_t done = 0;
        for (int i = 0; i < 2 && done < n; i++) {
                const LogSpan *s = &v->span[i];
                if (off >= s->len) {
                        off -= s->len;
                        continue;
                }
                size_t want = n - done;
                if ((off_t) want > s->len - off)
                        want = (size_t) (s->len - off);
                while (want > 0) {
                        ssize_t k = pread(s->fd, buf + done, want, s->from + off);
                        if (k < 0 && errno == EINTR)
                                continue;
                        if (k < 0)
                                return -errno;
                        if (k == 0) /* truncated meanwhile: what is there */
                                return (ssize_t) done;
                        done += (size_t) k;
                        off += k;
                        want -= (size_t) k;
                }
                off = 0;
        }
        return (ssize_t) done;
}

/* Where the last n lines of the view begin, scanning backwards block by
 * block (a final line without a newline counts as a line). */
static int tail_start(const LogView *v, size_t n, off_t *ret)
{
        off_t end = log_view_size(v);
        if (n == LOG_TAIL_ALL || end == 0) {
                *ret = 0;
                return 0;
        }
        if (n == 0) {
                *ret = end;
                return 0;
        }
        char buf[LOG_SCAN_BLOCK];
        size_t seen = 0;
        bool skip_last = true; /* a newline ending the log ends its last line */
        for (off_t pos = end; pos > 0;) {
                size_t k = pos > LOG_SCAN_BLOCK ? LOG_SCAN_BLOCK : (size_t) pos;
                ssize_t got = log_view_pread(v, buf, k, pos - (off_t) k);
                if (got < 0)
                        return (int) got;
                if ((size_t) got < k) /* shrank under us: take everything there is */
                        break;
                for (size_t i = k; i > 0; i--) {
                        if (skip_last) {
                                skip_last = false;
                                if (buf[i - 1] == '\n')
                                        continue;
                        }
                        if (buf[i - 1] == '\n' && ++seen == n) {
                                *ret = pos - (off_t) k + (off_t) i;
                                return 0;
                        }
                }
                pos -= (off_t) k;
        }
        *ret = 0;
        return 0;
}

/* Copy [from, end of view) into a NUL-terminated buffer. */
static int view_copy(const LogView *v, off_t from, char **ret, size_t *ret_len)
{
        size_t len = (size_t) (log_view_size(v) - from);
        _cleanup_free_ char *s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        ssize_t got = log_view_pread(v, s, len, from);
        if (got < 0)
                return (int) got;
        s[got] = 0;
        *ret = TAKE_PTR(s);
        *ret_len = (size_t) got;
        return 0;
}

/* The last tail_n lines. A rotation while reading (the count moved)
 * may have rewritten the older half under us: read again. */
static int log_tail(const char *dir, size_t tail_n, char **ret, size_t *ret_len, LogView *ret_view)
{
        for (int attempt = 0;; attempt++) {
                LogView v;
                int r = log_view_open(dir, &v);
                if (r < 0)
                        return r;
                off_t from;
                _cleanup_free_ char *text = NULL;
                size_t len = 0;
                r = tail_start(&v, tail_n, &from);
                if (r >= 0 && ret)
                        r = view_copy(&v, from, &text, &len);
                if (r >= 0 && read_count(dir) != v.count && attempt < 3) {
                        log_view_done(&v);
                        continue;
                }
                if (r >= 0 && ret) {
                        *ret = TAKE_PTR(text);
                        if (ret_len)
                                *ret_len = len;
                }
                if (r >= 0 && ret_view)
                        *ret_view = v;
                else
                        log_view_done(&v);
                return r;
        }
}

int workspace_log_read(const char *ws_dir, size_t tail_n, char **ret, size_t *ret_len, Error *err)
{
        _cleanup_free_ char *dir = logs_dir(ws_dir);
        if (!dir)
                return -ENOMEM;
        int r = log_tail(dir, tail_n, ret, ret_len, NULL);
        if (r < 0)
                return error_setc(err, -r, "reading the log in %s", dir);
        return 0;
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

        LogView v;
        int r = log_tail(f->dir, tail_n, ret_initial, ret_initial_len, &v);
        if (r < 0)
                return error_setc(err, -r, "reading the log in %s", f->dir);
        f->count = v.count;
        f->pos = v.active_size;
        log_view_done(&v);
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
        /* Never more than LOG_READ_MAX per call, and never chasing a
         * writer past the size seen now: memory stays bounded. */
        if (st.st_size - f->pos > (off_t) LOG_READ_MAX)
                f->pos = st.st_size - (off_t) LOG_READ_MAX;
        int total = 0;
        char buf[65536];
        while (f->pos < st.st_size) {
                size_t want = st.st_size - f->pos < (off_t) sizeof buf ? (size_t) (st.st_size - f->pos) : sizeof buf;
                ssize_t n = pread(f->fd, buf, want, f->pos);
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
        return total;
}

/* Start following the half of rotation count `count` from its start. */
static void follow_switch(LogFollow *f, uint64_t count)
{
        f->fd = safe_close(f->fd);
        f->count = count;
        f->pos = 0;
}

/* One pass of log_follow_read(). What it read is good only if neither
 * half it read from was truncated meanwhile: the half of count N is
 * truncated when the count reaches N + 2. Returns the bytes appended,
 * or -ESTALE when a rotation overtook the read (nothing appended). */
static int follow_pass(LogFollow *f, StrBuf *out)
{
        size_t mark = out->len;
        int total = 0, r;
        uint64_t count = read_count(f->dir);
        uint64_t good_until; /* the highest count at the end that keeps the read good */
        if (!f->lost && count == f->count) {
                good_until = count + 1;
        } else if (!f->lost && count == f->count + 1) {
                /* One rotation: finish the old half (init wrote its tail
                 * before switching), then the new one from its start. */
                r = read_new(f, out);
                if (r < 0)
                        return r;
                total += r;
                follow_switch(f, count);
                good_until = count;
        } else {
                /* Lapped: what we had not read yet was rotated away. The
                 * inactive half is complete and continues after the gap. */
                if (count > 0) {
                        follow_switch(f, count - 1);
                        r = read_new(f, out);
                        if (r < 0)
                                return r;
                        total += r;
                }
                follow_switch(f, count);
                f->lost = false;
                good_until = count;
        }
        r = read_new(f, out);
        if (r < 0)
                return r;
        total += r;
        if (read_count(f->dir) > good_until) {
                /* A half was rewritten under the read: drop it all and
                 * take the log up again after the gap, never out of order. */
                out->len = mark;
                if (out->data)
                        out->data[mark] = 0;
                f->lost = true;
                return -ESTALE;
        }
        return total;
}

int log_follow_read(LogFollow *f, StrBuf *out, Error *err)
{
        int r = drain_events(f);
        if (r < 0) {
                if (r == -ENOENT)
                        return r;
                return error_setc(err, -r, "reading inotify events for %s", f->dir);
        }
        /* A writer faster than us may overtake a pass; the next inotify
         * event brings another try when all of these lose. */
        for (int attempt = 0; attempt < 8; attempt++) {
                r = follow_pass(f, out);
                if (r != -ESTALE)
                        break;
        }
        if (r == -ESTALE)
                return 0;
        if (r < 0)
                return error_setc(err, -r, "reading the log in %s", f->dir);
        return r;
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

ssize_t log_records_each(const char *data, size_t n, bool final, LogRecordFn fn, void *userdata)
{
        size_t off = 0;
        while (off < n) {
                const char *nl = memchr(data + off, '\n', n - off);
                if (!nl && !final)
                        break;
                size_t len = nl ? (size_t) (nl - (data + off)) : n - off;
                LogRecord rec;
                log_record_parse(data + off, len, &rec);
                if (!nl && rec.stream == LOG_STREAM_UNKNOWN)
                        rec.partial = true; /* a bare last line: no newline follows it */
                int r = fn(&rec, userdata);
                if (r < 0)
                        return r;
                off += len + (nl != NULL);
        }
        return (ssize_t) off;
}
