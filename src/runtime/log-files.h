/* The on-disk format of a workspace's run-command log, shared by
 * enclave-init (the writer) and the library's reader. Header-only: the
 * static init links nothing but libc.
 *
 *   <ws>/logs/0.log  <ws>/logs/1.log   two size-capped halves
 *   <ws>/logs/active                   rotation count N ("N\n"); half N % 2 is being written
 *
 * init receives the three files as open descriptors (never the
 * directory: a directory fd inside the workspace would be a way out).
 * It appends to the active half; once that reaches the size cap it
 * truncates the other half, increments the count and continues there.
 * The log is therefore "inactive half, then active half", at most two
 * caps long, and a restarted init or daemon continues exactly where the
 * last one stopped. A reader that sees the count move by more than one
 * knows it was lapped (the lines in between were rotated away). */
#pragma once

#include <stdint.h>
#include <unistd.h>

#define LOG_FILE_NAME_0 "0.log"
#define LOG_FILE_NAME_1 "1.log"
#define LOG_ACTIVE_NAME "active"
#define LOG_DEFAULT_MAX_BYTES (8ULL << 20)

static inline const char *log_file_name(int idx)
{
        return idx ? LOG_FILE_NAME_1 : LOG_FILE_NAME_0;
}

/* The rotation count recorded in the state file behind fd; 0 when it
 * is empty or not a number. */
static inline uint64_t log_state_read(int fd)
{
        char buf[24];
        ssize_t n = pread(fd, buf, sizeof buf, 0);
        uint64_t v = 0;
        for (ssize_t i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++)
                v = v * 10 + (uint64_t) (buf[i] - '0');
        return v;
}

static inline int log_state_active(uint64_t count)
{
        return (int) (count & 1);
}

static inline int log_state_write(int fd, uint64_t count)
{
        char tmp[24], buf[24];
        size_t n = 0, len = 0;
        do {
                tmp[n++] = (char) ('0' + count % 10);
                count /= 10;
        } while (count);
        while (n)
                buf[len++] = tmp[--n];
        buf[len++] = '\n';
        if (pwrite(fd, buf, len, 0) != (ssize_t) len)
                return -1;
        return ftruncate(fd, (off_t) len);
}
