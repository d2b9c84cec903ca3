/* Reading a program's output line by line while it runs (debootstrap,
 * setup commands): lines end at \n or \r (progress bars redraw with
 * \r), at most 4096 bytes each; the reader stops when the output ends
 * and the program has exited, or a short while after the program exited
 * when something it left behind keeps the output open. */
#pragma once

#include "storage/progress.h"

#include <stdbool.h>

/* One line, without its end of line. A negative return stops reading. */
typedef int (*LineFn)(const char *line, void *userdata);

/* Read fd until end of file once the process behind pidfd exited, or
 * until drain_ms after its exit (-1: no limit). Returns 0, -ECANCELED
 * when fn or mon asked to stop, or another negative errno. *ret_eof
 * (may be NULL) says whether the output reached its end. */
int line_pump(int fd, int pidfd, int drain_ms, LineFn fn, void *userdata, const StorageMonitor *mon, bool *ret_eof);
