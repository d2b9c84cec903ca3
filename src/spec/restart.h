/* The restart policy of a workspace's run command: when enclave-init
 * starts `run` again after it ended (docs/runtime.md). A value of the
 * workspace's spec; runtime/run-state.h has how init carries it out.
 * Header-only: the static init links nothing but libc. */
#pragma once

#include <string.h>

typedef enum RunRestart {
        RUN_RESTART_NO,
        RUN_RESTART_ON_FAILURE,
        RUN_RESTART_ALWAYS,
        _RUN_RESTART_MAX,
        _RUN_RESTART_INVALID = -1,
} RunRestart;

static inline const char *run_restart_to_string(RunRestart r)
{
        switch (r) {
        case RUN_RESTART_NO:
                return "no";
        case RUN_RESTART_ON_FAILURE:
                return "on-failure";
        case RUN_RESTART_ALWAYS:
                return "always";
        default:
                return NULL;
        }
}

static inline RunRestart run_restart_from_string(const char *s)
{
        for (int r = 0; r < _RUN_RESTART_MAX; r++)
                if (s && strcmp(s, run_restart_to_string((RunRestart) r)) == 0)
                        return (RunRestart) r;
        return _RUN_RESTART_INVALID;
}
