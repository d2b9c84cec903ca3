/* The action interface: how every area plugs its requests into the
 * daemon (docs/actions.md lists the names).
 *
 * An action is a named function that handles one request. The daemon
 * has already checked the request's framing, version, rate limit,
 * ACTION_ROOT_ONLY and the policy before the function runs. It reads
 * its parameters with call_params(), may stream events with
 * call_event(), and finishes with call_reply() or by returning < 0 with
 * err set (sent as {"error": {"code": errno, "kind": "failed", ...}}).
 * Returning 0 without a reply sends an empty result {}.
 *
 * Threads: a plain action runs on the event loop and must not block
 * (no waiting on children, network or long disk work); an ACTION_LONG
 * action runs on its own worker thread, may block and may stream, and
 * must check call_cancelled() (client gone, daemon stopping) between
 * steps. On a worker, use only call_registry() for the registry and
 * treat call_engine()->settings as read-only.
 *
 * Adding an area: define `const Action foo_actions[] = { ..., {} };`
 * in your own file, declare it below, and list it in actions.c. Every
 * name is one of proto/actions.h, which the CLI uses too. */
#pragma once

#include "base/error.h"
#include "proto/actions.h"

#include <jansson.h>
#include <sys/types.h>

struct Daemon;
struct Registry;

typedef struct Call Call; /* one request in flight */

/* Returns >= 0 on success, < 0 with err set on failure. */
typedef int (*ActionFn)(Call *call, Error *err);

enum {
        ACTION_LONG = 1u << 0,      /* run on a worker thread; may block and stream events */
        ACTION_MUTATES = 1u << 1,   /* changes state (refused while the daemon stops) */
        ACTION_ROOT_ONLY = 1u << 2, /* only uid 0, whatever the policy says */
        ACTION_TEST = 1u << 3,      /* exists only with `daemon run --enable-test-actions` */
};

typedef struct Action {
        const char *name; /* stable dotted name, e.g. "workspace.exec" */
        ActionFn fn;
        unsigned flags;
} Action;

/* ---- the request ---- */

/* The "params" object of the request (borrowed; always an object). */
json_t *call_params(Call *c);
/* The client's identity (SO_PEERCRED of its connection). */
uid_t call_uid(Call *c);
pid_t call_pid(Call *c);

/* The daemon: settings, registry, ... (struct Daemon in daemon.h). */
struct Daemon *call_daemon(Call *c);
/* What the engines take (engine/engine.h): the daemon's settings,
 * registry, network and running workspaces. */
struct Engine *call_engine(Call *c);

/* The registry for this thread: the loop's own connection for plain
 * actions, a private connection for a long action (opened on first use,
 * closed when the call ends). NULL with err set when it cannot be
 * opened. */
struct Registry *call_registry(Call *c, Error *err);

/* Number of fds the client sent with the request (SCM_RIGHTS). */
unsigned call_n_fds(Call *c);
/* Take fd idx out of the request: the caller owns it now. -EBADF when
 * there is no such fd or it was already taken. */
int call_take_fd(Call *c, unsigned idx);

/* True once the client has gone or the daemon is stopping: a long
 * action should stop at the next safe point. */
bool call_cancelled(Call *c);

/* ---- answering ---- */

/* Stream an event (progress, output) to the client; steals the
 * reference. -ECONNRESET when the client is gone, -EALREADY after the
 * reply. */
int call_event(Call *c, json_t *event);
/* Same with one fd (e.g. a pty master) passed along ("fds": 1); the fd
 * is owned by the call from here on, also on failure. */
int call_event_fd(Call *c, json_t *event, int fd);

/* An eventfd (owned by the call) that becomes readable once the call
 * is cancelled, so a long action can wait for its work and for
 * cancellation in one poll(). Negative errno on failure. */
int call_cancel_fd(Call *c);

/* Send the final result (steals the reference; NULL means {}) and
 * optionally one fd, which is passed to the client and closed here
 * (ownership moves in, also on failure). Once per call; -EALREADY after
 * that. */
int call_reply(Call *c, json_t *result, int fd_or_minus1);

/* ---- parameter helpers (err names the parameter) ---- */

/* A string member; required ones fail with -EINVAL when missing, an
 * optional missing one gives *ret = NULL. */
int call_param_string(Call *c, const char *key, bool required, const char **ret, Error *err);
/* An integer member in [min, max]; a missing optional one gives def. */
int call_param_int(Call *c, const char *key, bool required, int64_t min, int64_t max, int64_t def,
                   int64_t *ret, Error *err);
/* A boolean member; a missing one gives def. */
int call_param_bool(Call *c, const char *key, bool def, bool *ret, Error *err);

/* ---- the action tables ---- */

extern const Action core_actions[];  /* actions-core.c: daemon.*, policy.* */
extern const Action test_actions[];  /* actions-test.c: debug.* (ACTION_TEST) */
extern const Action auth_actions[];  /* actions-auth.c: auth.* */
extern const Action sandbox_actions[]; /* actions-sandbox.c: sandbox.* */
extern const Action rootfs_actions[];  /* actions-rootfs.c: rootfs.* */
extern const Action workspace_actions[]; /* actions-workspace.c: workspace.* */
extern const Action port_actions[];      /* actions-ports.c: workspace.port.* */
extern const Action project_actions[];   /* actions-project.c: project.* (up, down, ps) */
extern const Action snapshot_actions[];  /* actions-snapshot.c: snapshot.*, workspace.snapshot_gc */
extern const Action doctor_actions[];    /* actions-doctor.c: daemon.doctor, registry.repair */
extern const Action stats_actions[];     /* actions-stats.c: daemon.stats */
extern const Action cp_actions[];        /* actions-cp.c: workspace.cp */

/* Look an action up by name; ACTION_TEST ones only when enabled. */
const Action *actions_find(const char *name, bool test_actions);
/* A name reserved for an area that is not built in this version. */
bool action_is_reserved(const char *name);
/* The i-th action of all tables (test actions included), NULL past the
 * last: for the check that the tables serve exactly proto/actions.h. */
const Action *actions_at(size_t i);
