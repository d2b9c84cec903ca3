/* daemon.doctor and registry.repair (doctor.h, docs/doctor.md). Both
 * run on worker threads: the host probes fork helpers and wait for
 * them, and repair may remove whole directory trees. */
#include "daemon/action.h"
#include "engine/doctor.h"
#include "spec/spec.h"
#include "base/log.h"
#include "base/str.h"

static int action_doctor(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        _cleanup_(doctor_report_done) DoctorReport r = {};
        int k = doctor_run(call_engine(c), reg, &r, err);
        if (k < 0)
                return k;
        json_t *res = doctor_report_to_json(&r);
        if (!res)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, res, -EBADF);
}

static int action_repair(Call *c, Error *err)
{
        Registry *reg = call_registry(c, err);
        if (!reg)
                return -EIO;
        bool strict;
        int k = call_param_bool(c, "strict", false, &strict, err);
        if (k < 0)
                return k;
        log_info("registry repair%s requested by uid %u", strict ? " --strict" : "", (unsigned) call_uid(c));
        _cleanup_(repair_result_done) RepairResult r = {};
        k = doctor_repair(call_engine(c), reg, strict, &r, err);
        if (k < 0)
                return k;
        json_t *res = json_pack("{s:b, s:o, s:o}", "strict", strict, "fixed", strv_to_json(r.done), "left",
                                strv_to_json(r.left));
        if (!res)
                return error_set(err, ENOMEM, "out of memory");
        return call_reply(c, res, -EBADF);
}

const Action doctor_actions[] = {
        /* Its report names every user's objects and the host's setup. */
        { PROTO_ACTION_DAEMON_DOCTOR, action_doctor, ACTION_LONG | ACTION_ROOT_ONLY },
        { PROTO_ACTION_REGISTRY_REPAIR, action_repair, ACTION_LONG | ACTION_MUTATES | ACTION_ROOT_ONLY },
        {},
};
