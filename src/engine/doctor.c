/* The doctor report (doctor.h): checks collected by doctor-host.c and
 * doctor-state.c, and their JSON form. */
#include "engine/doctor.h"
#include "base/str.h"

#include <string.h>

static const char *const status_names[_DOCTOR_STATUS_MAX] = {
        [DOCTOR_OK] = "ok",
        [DOCTOR_WARN] = "warn",
        [DOCTOR_FAIL] = "fail",
};

const char *doctor_status_to_string(DoctorStatus s)
{
        return s >= 0 && s < _DOCTOR_STATUS_MAX ? status_names[s] : NULL;
}

static void check_done(DoctorCheck *c)
{
        free(c->id);
        free(c->group);
        free(c->title);
        free(c->detail);
        free(c->hint);
        strv_free(c->items);
}

void doctor_report_done(DoctorReport *r)
{
        for (size_t i = 0; i < r->n; i++)
                check_done(&r->checks[i]);
        free(r->checks);
        *r = (DoctorReport) {};
}

static int dup_or_null(const char *s, char **ret)
{
        *ret = s ? strdup(s) : NULL;
        return s && !*ret ? -ENOMEM : 0;
}

int doctor_report_add(DoctorReport *r, const char *group, const char *id, DoctorStatus status, const char *title,
                      const char *detail, const char *hint, char *const *items)
{
        DoctorCheck *n = realloc(r->checks, (r->n + 1) * sizeof *n);
        if (!n)
                return -ENOMEM;
        r->checks = n;
        DoctorCheck c = { .status = status };
        int k = dup_or_null(group, &c.group);
        if (k >= 0)
                k = dup_or_null(id, &c.id);
        if (k >= 0)
                k = dup_or_null(title, &c.title);
        if (k >= 0)
                k = dup_or_null(detail, &c.detail);
        if (k >= 0)
                k = dup_or_null(hint, &c.hint);
        if (k >= 0 && items && !(c.items = strv_copy(items)))
                k = -ENOMEM;
        if (k < 0) {
                check_done(&c);
                return k;
        }
        r->checks[r->n++] = c;
        return 0;
}

size_t doctor_report_count(const DoctorReport *r, DoctorStatus s)
{
        size_t n = 0;
        for (size_t i = 0; i < r->n; i++)
                n += r->checks[i].status == s;
        return n;
}

static json_t *string_or_null(const char *s)
{
        return s ? json_string(s) : json_null();
}

json_t *doctor_report_to_json(const DoctorReport *r)
{
        json_t *checks = json_array();
        if (!checks)
                return NULL;
        for (size_t i = 0; i < r->n; i++) {
                const DoctorCheck *c = &r->checks[i];
                json_t *items = json_array();
                STRV_FOREACH(s, c->items)
                        json_array_append_new(items, json_string(*s));
                json_array_append_new(checks,
                                      json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "id", c->id, "group", c->group,
                                                "status", doctor_status_to_string(c->status), "title", c->title,
                                                "detail", string_or_null(c->detail), "hint", string_or_null(c->hint),
                                                "items", items ?: json_array()));
        }
        size_t fail = doctor_report_count(r, DOCTOR_FAIL);
        return json_pack("{s:b, s:I, s:I, s:o}", "ok", fail == 0, "problems", (json_int_t) fail, "warnings",
                         (json_int_t) doctor_report_count(r, DOCTOR_WARN), "checks", checks);
}

int doctor_run(Engine *eng, Registry *reg, DoctorReport *ret, Error *err)
{
        DoctorReport r = {};
        int k = doctor_check_host(eng, &r);
        if (k >= 0)
                k = doctor_check_state(eng, reg, &r);
        if (k < 0) {
                doctor_report_done(&r);
                return error_setc(err, -k, "making the doctor report");
        }
        *ret = r;
        return 0;
}

void repair_result_done(RepairResult *r)
{
        r->done = strv_free(r->done);
        r->left = strv_free(r->left);
}
