#include "storage/progress.h"

#include <string.h>
#include <time.h>

static const char *const stage_names[_PROGRESS_STAGE_MAX] = {
        [PROGRESS_STAGE_INFO] = "info",
        [PROGRESS_STAGE_WARNING] = "warning",
        [PROGRESS_STAGE_ERROR] = "error",
        [PROGRESS_STAGE_RETRIEVING] = "retrieving",
        [PROGRESS_STAGE_VALIDATING] = "validating",
        [PROGRESS_STAGE_EXTRACTING] = "extracting",
        [PROGRESS_STAGE_UNPACKING] = "unpacking",
        [PROGRESS_STAGE_CONFIGURING] = "configuring",
        [PROGRESS_STAGE_COPYING] = "copying",
        [PROGRESS_STAGE_EXPORTING] = "exporting",
        [PROGRESS_STAGE_IMPORTING] = "importing",
        [PROGRESS_STAGE_DOWNLOADING] = "downloading",
        [PROGRESS_STAGE_OUTPUT] = "output",
};

const char *progress_stage_to_string(ProgressStage s)
{
        if (s < 0 || s >= _PROGRESS_STAGE_MAX)
                return NULL;
        return stage_names[s];
}

ProgressStage progress_stage_from_string(const char *s)
{
        for (int i = 0; s && i < _PROGRESS_STAGE_MAX; i++)
                if (streq(stage_names[i], s))
                        return (ProgressStage) i;
        return _PROGRESS_STAGE_INVALID;
}

bool storage_monitor_cancelled(const StorageMonitor *mon)
{
        return mon && mon->cancel && atomic_load(mon->cancel);
}

static uint64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

int storage_monitor_report(const StorageMonitor *mon, const StorageProgress *p, bool force,
                           uint64_t *last_ms)
{
        if (storage_monitor_cancelled(mon))
                return -ECANCELED;
        if (!mon || !mon->progress)
                return 0;
        if (!force && last_ms) {
                uint64_t t = now_ms();
                unsigned gap = mon->interval_ms ? mon->interval_ms : 100;
                if (*last_ms != 0 && t - *last_ms < gap)
                        return 0;
                *last_ms = t;
        }
        if (mon->progress(p, mon->userdata) < 0)
                return -ECANCELED;
        return storage_monitor_cancelled(mon) ? -ECANCELED : 0;
}
