/* The thread that owns the workspaces' init processes.
 *
 * Why a thread of its own: the daemon's event loop reaps its own
 * children and orphans with waitpid(-1, __WNOTHREAD) (daemon.c), and a
 * child of a worker thread that ends is handed to the loop thread. A
 * workspace's init must outlive the request that started it, yet its
 * exit status must reach the engine, not that catch-all reaper. So every
 * init is spawned on this one long-lived thread (workspace_watch_call()
 * runs the spawn here while the requester waits) and stays its child:
 * the loop's reaper never sees it, and the engine reaps it by pidfd.
 *
 * The thread waits in epoll on the pidfds of running workspaces (also
 * adopted ones, which are not our children: their pidfd still reports
 * the exit) and on an eventfd for calls. When init exits, the pidfd is
 * taken out of the set and the exit callback runs here, on this thread,
 * with the pidfd still open (to read the status). Nothing polls. */
#pragma once

#include "base/error.h"

typedef struct WorkspaceWatch WorkspaceWatch;

/* Called on the watch thread once the process behind a watched pidfd
 * has exited; userdata is what workspace_watch_add() got. */
typedef void (*WorkspaceExitFn)(void *userdata, void *context);

/* Called on the watch thread after the exit callbacks of one wakeup
 * (several inits that ended together), so their ends can be recorded
 * in one registry transaction. */
typedef void (*WorkspaceBatchFn)(void *context);

int workspace_watch_new(WorkspaceExitFn on_exit, WorkspaceBatchFn on_batch_end, void *context, WorkspaceWatch **ret,
                        Error *err);

/* Stop the thread (watched processes keep running) and free. */
WorkspaceWatch *workspace_watch_free(WorkspaceWatch *w);

/* Watch pidfd (owned by the caller, who keeps it open until the exit
 * callback ran or workspace_watch_remove() returned). Any thread. */
int workspace_watch_add(WorkspaceWatch *w, int pidfd, void *userdata);

/* Stop watching pidfd without an exit callback. Any thread. */
void workspace_watch_remove(WorkspaceWatch *w, int pidfd);

/* Run fn(arg) on the watch thread and wait until it returned. Called
 * from the watch thread itself, fn runs directly. */
int workspace_watch_call(WorkspaceWatch *w, void (*fn)(void *arg), void *arg);
