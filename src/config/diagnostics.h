/* A list of configuration problems, each tied to a place in a file.
 *
 * Validation of an Enclavefile or config.toml does not stop at the
 * first problem: every problem is collected here so the user can fix
 * them all in one go. Each one prints as "FILE:LINE:COL: message"
 * (or "FILE: message" when it concerns the whole file). */
#pragma once

#include "base/error.h"

/* More than this many problems are counted but not stored: a file of
 * garbage must not cost unbounded memory. */
#define DIAGNOSTICS_MAX 200u

typedef struct Diagnostic {
        char *file;    /* display name of the file */
        unsigned line; /* 1-based; 0 when the problem concerns the whole file */
        unsigned col;  /* 1-based; 0 when unknown */
        char *key;     /* dotted key path ("workspace.api.memory_mb"), NULL when none */
        char *message;
} Diagnostic;

typedef struct Diagnostics {
        Diagnostic *items;
        size_t n;       /* stored */
        size_t cap;
        size_t dropped; /* counted beyond DIAGNOSTICS_MAX */
        bool oom;       /* an entry could not be recorded */
} Diagnostics;

#define DIAGNOSTICS_INIT { NULL, 0, 0, 0, false }

/* Record one problem. key may be NULL. Returns 0 or -ENOMEM (the
 * failure is also remembered in d->oom). */
int diagnostics_add(Diagnostics *d, const char *file, unsigned line, unsigned col, const char *key,
                    const char *fmt, ...) _printf_(6, 7);

/* Total problems seen, including dropped ones. */
size_t diagnostics_count(const Diagnostics *d);

static inline bool diagnostics_empty(const Diagnostics *d)
{
        return diagnostics_count(d) == 0 && !d->oom;
}

/* Order the entries from index start on by line and column, keeping
 * the recorded order for equal positions. */
void diagnostics_sort(Diagnostics *d, size_t start);

/* "FILE:LINE:COL: message"; NULL on OOM. */
char *diagnostic_format(const Diagnostic *item);

/* Every problem, one per line (no trailing newline), plus a line
 * "... and N more problems" when some were dropped. NULL on OOM. */
char *diagnostics_format(const Diagnostics *d);

/* Put every problem into err (one per line) with the given code;
 * returns -code. */
int diagnostics_to_error(const Diagnostics *d, int code, Error *err);

void diagnostics_done(Diagnostics *d);
#define _cleanup_diagnostics_ _cleanup_(diagnostics_done)
