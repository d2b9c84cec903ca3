/* Turn debootstrap's output lines into progress events.
 *
 *   I: Retrieving libc6 2.36-9+deb12u4   -> retrieving, item libc6, done = n-th package
 *   I: Validating libc6 2.36-9+deb12u4   -> validating
 *   I: Extracting libc6...               -> extracting
 *   I: Unpacking libc6:amd64...          -> unpacking,   total = packages retrieved
 *   I: Configuring libc6:amd64...        -> configuring, total = packages retrieved
 *   I: anything else                     -> info
 *   W: ... / E: ...                      -> warning / error
 *   other lines (wget, dpkg)             -> info
 *
 * Index files ("I: Retrieving Packages") and stage headers ("I:
 * Unpacking the base system...") keep the stage but do not count. */
#pragma once

#include "storage/progress.h"

typedef struct DebootstrapParser {
        uint64_t retrieved, validated, extracted, unpacked, configured;
        char item[256];
        char message[1024];
} DebootstrapParser;

/* Fill *ret from line (pointers into *p, valid until the next call).
 * Returns 1 for an event, 0 for a line to ignore (empty). */
int debootstrap_parse_line(DebootstrapParser *p, const char *line, StorageProgress *ret);
