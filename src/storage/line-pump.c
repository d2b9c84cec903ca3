#include "storage/line-pump.h"

#include "base/macro.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_LEN 4096

typedef struct LineSplitter {
        char buf[LINE_MAX_LEN + 1];
        size_t len;
        bool last_cr;
        LineFn fn;
        void *userdata;
} LineSplitter;

static int emit_line(LineSplitter *ls)
{
        ls->buf[ls->len] = 0;
        ls->len = 0;
        return ls->fn ? ls->fn(ls->buf, ls->userdata) : 0;
}

/* Empty lines made by \r\n are dropped, other empty lines kept. */
static int feed(LineSplitter *ls, const char *data, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                char ch = data[i];
                if (ch == '\n' || ch == '\r') {
                        bool skip = ch == '\n' && ls->last_cr && ls->len == 0;
                        ls->last_cr = ch == '\r';
                        if (skip)
                                continue;
                        if (emit_line(ls) < 0)
                                return -ECANCELED;
                        continue;
                }
                ls->last_cr = false;
                ls->buf[ls->len++] = ch;
                if (ls->len == LINE_MAX_LEN && emit_line(ls) < 0)
                        return -ECANCELED;
        }
        return 0;
}

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int pump(int fd, int pidfd, int drain_ms, LineSplitter *ls, const StorageMonitor *mon, bool *ret_eof)
{
        char chunk[8192];
        bool open = true, exited = false;
        int64_t deadline = -1;
        while (open || !exited) {
                if (storage_monitor_cancelled(mon))
                        return -ECANCELED;
                int timeout = 200;
                if (deadline >= 0) {
                        int64_t left = deadline - now_ms();
                        if (left <= 0)
                                break;
                        if (left < timeout)
                                timeout = (int) left;
                }
                struct pollfd p[2] = {
                        { .fd = open ? fd : -1, .events = POLLIN },
                        { .fd = exited ? -1 : pidfd, .events = POLLIN },
                };
                int n = poll(p, 2, timeout);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents) {
                        exited = true;
                        if (drain_ms >= 0)
                                deadline = now_ms() + drain_ms;
                }
                if (!open || !p[0].revents)
                        continue;
                ssize_t k = read(fd, chunk, sizeof chunk);
                if (k < 0) {
                        if (errno == EINTR || errno == EAGAIN)
                                continue;
                        return -errno;
                }
                if (k == 0) {
                        open = false;
                        continue;
                }
                int r = feed(ls, chunk, (size_t) k);
                if (r < 0)
                        return r;
        }
        if (ret_eof)
                *ret_eof = !open;
        if (ls->len > 0 && emit_line(ls) < 0)
                return -ECANCELED;
        return 0;
}

int line_pump(int fd, int pidfd, int drain_ms, LineFn fn, void *userdata, const StorageMonitor *mon, bool *ret_eof)
{
        LineSplitter *ls = calloc(1, sizeof *ls);
        if (!ls)
                return -ENOMEM;
        ls->fn = fn;
        ls->userdata = userdata;
        int r = pump(fd, pidfd, drain_ms, ls, mon, ret_eof);
        free(ls);
        return r;
}
