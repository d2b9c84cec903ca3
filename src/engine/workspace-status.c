/* A workspace as status and list show it (workspace-status.h). */
#include "engine/workspace-status.h"
#include "base/str.h"
#include "engine/workspace-engine.h"
#include "registry/registry-network.h"

#include <poll.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

json_t *workspace_usage_json(const WorkspaceStats *st, double cpu)
{
        const CgroupStats *g = &st->cg;
        json_t *o = json_pack("{s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "cpu_percent", cpu, "memory_used",
                              (json_int_t) g->memory_used, "pids", (json_int_t) g->pids_current, "processes",
                              (json_int_t) g->procs, "threads", (json_int_t) g->threads, "block_read",
                              (json_int_t) g->io_read_bytes, "block_write", (json_int_t) g->io_write_bytes,
                              "oom_kills", (json_int_t) g->oom_kills);
        if (!o)
                return NULL;
        json_object_set_new(o, "memory_limit",
                            g->memory_limit == CGROUP_UNLIMITED ? json_null() : json_integer((json_int_t) g->memory_limit));
        json_object_set_new(o, "pids_limit",
                            g->pids_limit == CGROUP_UNLIMITED ? json_null() : json_integer((json_int_t) g->pids_limit));
        json_object_set_new(o, "net_rx", st->has_net ? json_integer((json_int_t) st->net.rx_bytes) : json_null());
        json_object_set_new(o, "net_tx", st->has_net ? json_integer((json_int_t) st->net.tx_bytes) : json_null());
        return o;
}

static json_t *ports_json(Registry *reg, int64_t id)
{
        NetPort *p = NULL;
        size_t n = 0;
        json_t *a = json_array();
        if (registry_ports_list(reg, id, &p, &n, NULL) < 0)
                return a;
        for (size_t i = 0; i < n; i++) {
                PortSpec ps = { p[i].host_port, p[i].workspace_port };
                char buf[PORT_SPEC_STRING_MAX];
                port_spec_format(&ps, buf);
                json_array_append_new(a, json_string(buf));
        }
        free(p);
        return a;
}

/* The run command's restart state, as its init last wrote it. */
static void add_run_state(Engine *eng, const WorkspaceRow *row, json_t *o)
{
        RunState rs;
        if (workspace_engine_run_state(eng, row->sandbox, row->name, &rs) < 0)
                return;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        uint64_t now_ms = (uint64_t) now.tv_sec * 1000u + (uint64_t) now.tv_nsec / 1000000u;
        json_object_set_new(o, "restarts", json_integer((json_int_t) rs.restarts));
        json_object_set_new(o, "next_restart_in_ms",
                            rs.next_ms ? json_integer(rs.next_ms > now_ms ? (json_int_t) (rs.next_ms - now_ms) : 0)
                                       : json_null());
        json_object_set_new(o, "last_run_status", rs.last_status >= 0 ? json_integer(rs.last_status) : json_null());
}

json_t *workspace_status_json(Engine *eng, Registry *reg, const WorkspaceRow *row, bool with_usage)
{
        json_t *o = workspace_row_to_json(row);
        if (!o)
                return NULL;
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get_by_id(eng, row->id);
        bool running = rw && streq(row->state, WORKSPACE_STATE_RUNNING);
        json_object_set_new(o, "uptime_secs",
                            running && row->started_at ? json_integer((json_int_t) (time(NULL) - row->started_at))
                                                       : json_null());
        json_object_set_new(o, "restart",
                            json_string(run_restart_to_string(workspace_config_restart(row->config))));
        if (running)
                add_run_state(eng, row, o);
        if (!with_usage)
                return o;
        json_object_set_new(o, "ports", ports_json(reg, row->id));
        if (running) {
                WorkspaceStats st;
                double cpu = 0;
                if (workspace_engine_stats(eng, rw, &st, &cpu, NULL) >= 0)
                        json_object_set_new(o, "usage", workspace_usage_json(&st, cpu));
        }
        return o;
}

/* The init exits before the engine drops it from its table, and its
 * namespaces (so /proc/PID/net/dev) and then its cgroup go first: a
 * sample failing meanwhile means "stopping", not an error. The pidfd is
 * readable once it exited; before that, an exiting task already has no
 * namespaces (its pid is still its own: it is freed only after the exit
 * that makes the pidfd readable). */
static bool init_exiting(const RunningWorkspace *rw)
{
        struct pollfd p = { rw->proc.pidfd, POLLIN, 0 };
        if (rw->proc.pidfd >= 0 && poll(&p, 1, 0) > 0)
                return true;
        char path[64], target[64];
        snprintf(path, sizeof path, "/proc/%d/ns/net", (int) rw->proc.pid);
        return readlink(path, target, sizeof target) < 0 && (errno == ENOENT || errno == ESRCH);
}

json_t *workspace_sample_json(Engine *eng, const WorkspaceRow *row)
{
        _cleanup_running_ RunningWorkspace *rw = workspace_engine_get_by_id(eng, row->id);
        if (!rw)
                return NULL;
        _cleanup_error_ Error err = ERROR_INIT;
        WorkspaceStats st;
        double cpu = 0;
        json_t *o;
        if (workspace_engine_stats(eng, rw, &st, &cpu, &err) >= 0)
                o = workspace_usage_json(&st, cpu);
        else if (init_exiting(rw))
                return NULL;
        else
                o = json_pack("{s:s}", "error", error_msg(&err));
        if (!o)
                return NULL;
        json_object_set_new(o, "sandbox", json_string(row->sandbox));
        json_object_set_new(o, "workspace", json_string(row->name));
        json_object_set_new(o, "pid", json_integer((json_int_t) rw->proc.pid));
        return o;
}
