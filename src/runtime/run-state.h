/* How enclave-init carries out the restart policy of a workspace's run
 * command (spec/restart.h) and the state it keeps of it, shared by init
 * (the writer) and the daemon (status, ps). Header-only: the static
 * init links nothing but libc.
 *
 * Restarts happen inside the workspace: init starts `run` again in the
 * same namespaces, so they go on while no daemon runs, cost no new
 * namespaces, and commands started with `exec` keep running. Before a
 * new start the old run's process group is killed. Delays double from
 * RUN_RESTART_DELAY_FIRST_MS up to RUN_RESTART_DELAY_MAX_MS, and start
 * over once a run lasted RUN_RESTART_RESET_MS (docs/runtime.md).
 *
 * init writes one line into the file it was given as --state-fd
 * (<ws>/run-state, truncated at each workspace start):
 *   "RESTARTS NEXT_MS LAST_STATUS\n"
 *   RESTARTS     times the run command was started again
 *   NEXT_MS      wall-clock time (ms since the epoch) of the next start
 *                while init waits; 0 while the command runs
 *   LAST_STATUS  exit status of the last run that ended; -1 none yet
 * The daemon reads it as untrusted input (the workspace could write it
 * through init): bounded, numbers only. */
#pragma once

#include "spec/restart.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define RUN_STATE_FILE "run-state"
#define RUN_RESTART_DELAY_FIRST_MS 100ULL
#define RUN_RESTART_DELAY_MAX_MS 60000ULL
#define RUN_RESTART_RESET_MS 10000ULL

/* Whether a run that ended with exit status `status` (128+N for a
 * signal) is started again. */
static inline bool run_restart_wanted(RunRestart policy, int status)
{
        return policy == RUN_RESTART_ALWAYS || (policy == RUN_RESTART_ON_FAILURE && status != 0);
}

/* The delay before the next start: the first after a run that lasted
 * long enough, else double the previous one, capped. */
static inline uint64_t run_restart_delay(uint64_t previous_ms, uint64_t ran_ms)
{
        if (previous_ms == 0 || ran_ms >= RUN_RESTART_RESET_MS)
                return RUN_RESTART_DELAY_FIRST_MS;
        return previous_ms >= RUN_RESTART_DELAY_MAX_MS / 2 ? RUN_RESTART_DELAY_MAX_MS : previous_ms * 2;
}

typedef struct RunState {
        uint64_t restarts;
        uint64_t next_ms; /* 0: running */
        int last_status;  /* -1: none */
} RunState;

static inline size_t run_state_u64(char *buf, uint64_t v)
{
        char tmp[24];
        size_t n = 0, len = 0;
        do {
                tmp[n++] = (char) ('0' + v % 10);
                v /= 10;
        } while (v);
        while (n)
                buf[len++] = tmp[--n];
        return len;
}

/* One line as above into buf (at least 64 bytes); returns its length. */
static inline size_t run_state_format(const RunState *s, char *buf)
{
        size_t len = run_state_u64(buf, s->restarts);
        buf[len++] = ' ';
        len += run_state_u64(buf + len, s->next_ms);
        buf[len++] = ' ';
        if (s->last_status < 0)
                buf[len++] = '-', buf[len++] = '1';
        else
                len += run_state_u64(buf + len, (uint64_t) s->last_status);
        buf[len++] = '\n';
        return len;
}

/* Parse a line from run_state_format(); -1 when it is not one. */
static inline int run_state_parse(const char *text, size_t len, RunState *ret)
{
        uint64_t v[3] = { 0, 0, 0 };
        size_t i = 0;
        for (int f = 0; f < 3; f++) {
                bool neg = false, any = false;
                if (f == 2 && i < len && text[i] == '-')
                        neg = true, i++;
                for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
                        if (v[f] > (UINT64_MAX - 9) / 10)
                                return -1;
                        v[f] = v[f] * 10 + (uint64_t) (text[i] - '0');
                        any = true;
                }
                if (!any || (neg && v[f] != 1) || i >= len || text[i] != (f == 2 ? '\n' : ' '))
                        return -1;
                i++;
                if (f == 2)
                        ret->last_status = neg ? -1 : v[f] > 255 ? 255 : (int) v[f];
        }
        ret->restarts = v[0];
        ret->next_ms = v[1];
        return 0;
}
