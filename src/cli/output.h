/* Output for commands: aligned tables (or the same data as JSON with
 * --json), progress lines that redraw in place on a terminal and print
 * plain lines otherwise, and coloured status words. */
#pragma once

#include "cli/cli.h"

#include <jansson.h>

typedef struct Table Table;

/* Columns are given as a NULL-terminated list of header names; JSON
 * keys are the headers lower-cased with spaces as underscores. */
Table *table_new(const char *const *headers);
Table *table_free(Table *t);
DEFINE_CLEANUP_FUNC(Table, table_free);
#define _cleanup_table_ _cleanup_(table_freep)

/* Add a row of exactly as many cells as headers (NULL cell = "-"). */
int table_add_row(Table *t, const char *const *cells);
size_t table_rows(const Table *t);

/* Print as an aligned table, or as a JSON array when cli->json. */
int table_print(const Table *t, const Cli *cli, FILE *out);

/* Print a JSON value (pretty, with a trailing newline). */
int json_print(json_t *v, FILE *out);

/* Progress of long work (debootstrap, copies, archives, setup) on
 * stderr. On a terminal a counter is a live bar with rate and ETA,
 * redrawn in place. Otherwise a stage gets one line when it begins, at
 * most one more every PROGRESS_PLAIN_INTERVAL_MS while it lasts, and a
 * summary when it ends, so a log never fills with repeats. */
#define PROGRESS_PLAIN_INTERVAL_MS 5000

typedef struct Progress {
        bool tty;        /* redraw in place */
        bool quiet;
        bool active;     /* a line is drawn and needs clearing */
        FILE *out;
        unsigned columns;
        /* The counter stage being shown. */
        char stage[32];
        char label[96];
        uint64_t started_ms, printed_ms;
        uint64_t current, total, bytes, bytes_total;
        uint64_t (*clock_ms)(void); /* tests; NULL: CLOCK_MONOTONIC */
} Progress;

void progress_init(Progress *p, const Cli *cli);
/* Show a status line (replaces the previous one on a terminal). */
void progress_update(Progress *p, const char *fmt, ...) _printf_(2, 3);
/* Print a permanent line (clears any progress line first). */
void progress_line(Progress *p, const char *fmt, ...) _printf_(2, 3);
/* A counter of a stage: current of total items (0: unknown), bytes of
 * bytes_total. A new stage first ends the one before with its summary. */
void progress_counter(Progress *p, const char *stage, const char *message, uint64_t current, uint64_t total,
                      uint64_t bytes, uint64_t bytes_total);
/* An event of a long action as the daemon streams it (docs/actions.md):
 * warnings, notes and messages as lines, setup output on stdout,
 * counters through progress_counter(). */
void progress_event(Progress *p, json_t *ev);
/* End: the summary of the stage being shown, and the line cleared. */
void progress_done(Progress *p);

/* A byte stream cut into lines: fn gets each complete line (without
 * its newline); line_buf_flush() gives what is left without one. */
typedef void (*LineFn)(const char *line, size_t len, void *userdata);
typedef struct LineBuf {
        char *data;
        size_t len, cap;
} LineBuf;
void line_buf_feed(LineBuf *b, const char *data, size_t n, LineFn fn, void *userdata);
void line_buf_flush(LineBuf *b, LineFn fn, void *userdata);
void line_buf_done(LineBuf *b);

/* One log line as a JSON line (docs/json.md): {"time", "stream",
 * "line"} plus "workspace" when given; time_usec < 0 = unknown. */
void print_log_json_line(FILE *out, const char *workspace, int64_t time_usec, const char *stream, const char *line,
                         size_t len);
/* The "stream" of a log event: "stdout", "stderr", or "output" when unknown. */
void log_event_stream(json_t *event, char out[8]);

/* A byte count for people: "512B", "1.5KiB", "2.0GiB"; "-" when v is not
 * an integer. */
void format_bytes(json_t *v, char *buf, size_t size);

/* s made safe to print on a terminal (allocated; NULL when out of
 * memory): control characters, C1 controls and bytes that are not
 * UTF-8 become visible escapes (\n \t \e \x9b \u0085), so a string a
 * workspace controls (a process's command line, a user name from its
 * /etc/passwd) cannot move the cursor, retitle the window or hide rows.
 * Valid UTF-8 text is kept. */
char *text_printable(const char *s);

/* "running" in green etc. when colour is on. */
const char *color_state(const Cli *cli, const char *state, char *buf, size_t size);
