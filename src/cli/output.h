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

/* Progress reporting for long work. */
typedef struct Progress {
        bool tty;        /* redraw in place */
        bool quiet;
        bool active;     /* a line is drawn and needs clearing */
        FILE *out;
} Progress;

void progress_init(Progress *p, const Cli *cli);
/* Show a status line (replaces the previous one on a terminal). */
void progress_update(Progress *p, const char *fmt, ...) _printf_(2, 3);
/* Print a permanent line (clears any progress line first). */
void progress_line(Progress *p, const char *fmt, ...) _printf_(2, 3);
/* Clear the progress line. */
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
void print_log_json_line(FILE *out, const char *workspace, int64_t time_usec, const char *line, size_t len);

/* A byte count for people: "512B", "1.5KiB", "2.0GiB"; "-" when v is not
 * an integer. */
void format_bytes(json_t *v, char *buf, size_t size);

/* "running" in green etc. when colour is on. */
const char *color_state(const Cli *cli, const char *state, char *buf, size_t size);
