/* Child processes: scope-bound children that are killed and reaped on
 * every exit path, and process identity (pid + start time) so that a
 * recycled pid is never mistaken for the process we started. */
#pragma once

#include "base/macro.h"

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* SIGKILL and reap *pid if it is > 0. */
void pid_kill_and_reapp(pid_t *pid);
#define _cleanup_pid_ _cleanup_(pid_kill_and_reapp)

/* waitpid() retrying EINTR; returns the exit code (0..255), 128+signal
 * for a signal death, or a negative errno. */
int wait_for_exit(pid_t pid);

/* Start time of pid in clock ticks since boot (field 22 of
 * /proc/PID/stat); negative errno when the process is gone. */
int pid_start_time(pid_t pid, uint64_t *ret);

/* True when pid exists and still has the recorded start time. */
bool pid_is_same_process(pid_t pid, uint64_t start_time);

/* pidfd_open(2), returns fd or negative errno. */
int pidfd_open_fd(pid_t pid);

/* Full path of a system tool by name in the usual sbin/bin directories
 * (not $PATH: the daemon runs as root). -ENOENT when none has it. */
int process_find_tool(const char *name, char ret[static PATH_MAX]);

/* Run path with argv and a fixed minimal environment, stdin from input
 * (NULL: empty), stdout and stderr together into *ret_output (may be
 * NULL; at most max_output bytes). Through memfds, so large input or
 * output never deadlocks on a pipe. Returns the exit status (0..255,
 * 128+signal) or a negative errno. */
int process_run_capture(const char *path, char *const argv[], const char *input, size_t max_output,
                        char **ret_output);
