/* One line of a workspace log file (runtime/log-files.h), shared by
 * enclave-init's log writer and the library's reader. Header-only: the
 * static init links nothing but libc.
 *
 *   <seconds>.<microseconds> <tag> <text>\n
 *
 * The writer stamps each line of the run command's output with the time
 * it read it and with the stream it came from. The tag is 'o' (stdout)
 * or 'e' (stderr); upper case ('O', 'E') marks a partial line: the
 * output had no newline there (the line was longer than
 * LOG_RECORD_TEXT_MAX, or the command paused mid-line), so the text
 * continues in the next record of that stream.
 *
 * The writer makes every line of the file, so output can never forge a
 * stamp: text holds no newline. Files written before stamps existed
 * (an init that a daemon upgrade adopted) hold bare lines; the reader
 * takes a line that does not parse as such a line, of unknown time. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOG_RECORD_TEXT_MAX 16384
#define LOG_RECORD_HEADER_MAX 32 /* "18446744073709.999999 o " fits */

typedef enum LogStream {
        LOG_STREAM_UNKNOWN, /* a bare line of an older log */
        LOG_STREAM_STDOUT,
        LOG_STREAM_STDERR,
} LogStream;

typedef struct LogRecord {
        int64_t time_usec; /* -1: unknown */
        LogStream stream;
        bool partial;      /* no newline followed the text in the output */
        const char *text;
        size_t len;
} LogRecord;

static inline const char *log_stream_name(LogStream s)
{
        return s == LOG_STREAM_STDOUT ? "stdout" : s == LOG_STREAM_STDERR ? "stderr" : "output";
}

static inline size_t log_record_put_u64(char *buf, uint64_t v, int min_digits)
{
        char tmp[24];
        int n = 0;
        do {
                tmp[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v || n < min_digits);
        for (int i = 0; i < n; i++)
                buf[i] = tmp[n - 1 - i];
        return (size_t) n;
}

/* Write the header of a record into buf (LOG_RECORD_HEADER_MAX bytes);
 * returns its length. */
static inline size_t log_record_header(char *buf, uint64_t time_usec, LogStream stream, bool partial)
{
        size_t n = log_record_put_u64(buf, time_usec / 1000000, 1);
        buf[n++] = '.';
        n += log_record_put_u64(buf + n, time_usec % 1000000, 6);
        buf[n++] = ' ';
        char tag = stream == LOG_STREAM_STDERR ? 'e' : 'o';
        buf[n++] = partial ? (char) (tag - 'a' + 'A') : tag;
        buf[n++] = ' ';
        return n;
}

/* Parse one line of a log file (without its newline). A line that is
 * not a record is a bare line: all text, unknown time and stream. */
static inline void log_record_parse(const char *line, size_t len, LogRecord *r)
{
        *r = (LogRecord) { .time_usec = -1, .stream = LOG_STREAM_UNKNOWN, .text = line, .len = len };
        size_t i = 0;
        uint64_t sec = 0, usec = 0;
        for (; i < len && i < 14 && line[i] >= '0' && line[i] <= '9'; i++)
                sec = sec * 10 + (uint64_t) (line[i] - '0');
        if (i == 0 || i >= len || line[i] != '.')
                return;
        size_t d = ++i;
        for (; i < len && i - d < 6 && line[i] >= '0' && line[i] <= '9'; i++)
                usec = usec * 10 + (uint64_t) (line[i] - '0');
        if (i - d != 6 || i + 3 > len || line[i] != ' ' || line[i + 2] != ' ')
                return;
        char tag = line[i + 1];
        if (tag != 'o' && tag != 'e' && tag != 'O' && tag != 'E')
                return;
        r->time_usec = (int64_t) (sec * 1000000 + usec);
        r->stream = tag == 'o' || tag == 'O' ? LOG_STREAM_STDOUT : LOG_STREAM_STDERR;
        r->partial = tag == 'O' || tag == 'E';
        r->text = line + i + 3;
        r->len = len - i - 3;
}
