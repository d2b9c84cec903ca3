/* The parallel start phase of `enclave up` (project-start.h). */
#include "engine/project-start.h"
#include "base/crashpoint.h"
#include "base/str.h"
#include "engine/workspace-engine.h"

#include <pthread.h>
#include <stdatomic.h>

#define UP_START_THREADS 4

typedef struct StartPool {
        Engine *eng;
        const char *sandbox;
        const ProjectReporter *rep;
        ProjectStartSlot *slots;
        size_t n;
        atomic_size_t next;
} StartPool;

static void start_one(StartPool *pool, Registry *reg, ProjectStartSlot *s)
{
        WorkspaceStartInfo info = {};
        s->r = workspace_engine_start(pool->eng, reg, pool->sandbox, s->name, &info, &s->err);
        if (s->r >= 0) {
                crash_point(CRASH_POINT_PROJECT_UP_STARTED);
                s->pid = info.pid;
                s->warnings = TAKE_PTR(info.warnings);
                project_report_step(pool->rep, "workspace.start", s->name, "done", "started %s (pid %d)", s->name,
                                    (int) s->pid);
        }
        workspace_start_info_done(&info);
}

/* Take the next slots until none is left; reg is NULL (with oerr) when
 * this thread could not open its connection. */
static void start_loop(StartPool *pool, Registry *reg, const Error *oerr)
{
        for (;;) {
                size_t i = atomic_fetch_add(&pool->next, 1);
                if (i >= pool->n)
                        break;
                ProjectStartSlot *s = &pool->slots[i];
                if (!s->wanted)
                        continue;
                if (project_report_cancelled(pool->rep))
                        s->r = error_set(&s->err, ECANCELED, "cancelled");
                else if (!reg)
                        s->r = error_set(&s->err, oerr->code, "%s", error_msg(oerr));
                else
                        start_one(pool, reg, s);
        }
}

static void *start_thread(void *arg)
{
        StartPool *pool = arg;
        _cleanup_registry_ Registry *reg = NULL;
        _cleanup_error_ Error oerr = ERROR_INIT;
        int r = registry_open(pool->eng->registry_path, &reg, &oerr);
        start_loop(pool, r >= 0 ? reg : NULL, &oerr);
        return NULL;
}

void project_start_all(Engine *eng, Registry *reg, const char *sandbox, const ProjectReporter *rep,
                       ProjectStartSlot *slots, size_t n)
{
        StartPool pool = { .eng = eng, .sandbox = sandbox, .rep = rep, .slots = slots, .n = n };
        size_t wanted = 0;
        for (size_t i = 0; i < n; i++)
                wanted += slots[i].wanted;
        pthread_t threads[UP_START_THREADS];
        size_t n_threads = 0;
        for (; wanted > 1 && n_threads < UP_START_THREADS && n_threads < wanted; n_threads++)
                if (pthread_create(&threads[n_threads], NULL, start_thread, &pool) != 0)
                        break;
        /* This thread takes part (and does everything alone when no
         * thread could be made), with the caller's own connection. */
        start_loop(&pool, reg, NULL);
        for (size_t t = 0; t < n_threads; t++)
                pthread_join(threads[t], NULL);
}

void project_start_slots_free(ProjectStartSlot *slots, size_t n)
{
        for (size_t i = 0; slots && i < n; i++) {
                strv_free(slots[i].warnings);
                error_clear(&slots[i].err);
        }
        free(slots);
}
