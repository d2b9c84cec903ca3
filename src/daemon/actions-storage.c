#include "daemon/actions-storage.h"
#include "daemon/call.h"
#include "base/str.h"

#include <unistd.h>

static int send_progress(Call *c, const StorageProgress *p, bool with_item)
{
        if (call_cancelled(c))
                return -ECANCELED;
        json_t *ev = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "type", "progress", "stage",
                               progress_stage_to_string(p->stage) ?: "info", "message", p->message ?: "", "current",
                               (json_int_t) p->done, "total", (json_int_t) p->total, "bytes", (json_int_t) p->bytes,
                               "bytes_total", (json_int_t) p->bytes_total);
        if (ev && with_item && p->item)
                json_object_set_new(ev, "item", json_string(p->item));
        if (ev && call_event(c, ev) == -ECONNRESET)
                return -ECANCELED;
        return 0;
}

static int on_progress(const StorageProgress *p, void *userdata)
{
        return send_progress(userdata, p, false);
}

static int on_progress_item(const StorageProgress *p, void *userdata)
{
        return send_progress(userdata, p, true);
}

StorageMonitor call_storage_monitor(Call *c)
{
        /* c->cancelled is set for every call when the daemon stops too. */
        return (StorageMonitor) { .progress = on_progress, .userdata = c, .cancel = &c->cancelled };
}

StorageMonitor call_storage_monitor_items(Call *c)
{
        return (StorageMonitor) { .progress = on_progress_item, .userdata = c, .cancel = &c->cancelled };
}

int call_param_compression(Call *c, TarballCompression *ret, Error *err)
{
        const char *s;
        int r = call_param_string(c, "compression", false, &s, err);
        if (r < 0)
                return r;
        *ret = TARBALL_NONE;
        if (!s)
                return 0;
        for (TarballCompression t = 0; t < _TARBALL_COMPRESSION_MAX; t++)
                if (streq(s, tarball_compression_to_string(t))) {
                        *ret = t;
                        return 0;
                }
        return error_set(err, EINVAL, "invalid compression '%s': use none, gzip or zstd", s);
}

int call_take_archive(Call *c, const char *action, bool for_writing, ClientStream **ret, Error *err)
{
        if (call_n_fds(c) != 1)
                return error_set(err, EINVAL, "%s needs exactly one file descriptor (the archive)", action);
        int fd = call_take_fd(c, 0);
        if (fd < 0)
                return error_set(err, EBADF, "the archive's file descriptor is missing");
        int r = client_stream_open(c, fd, for_writing, ret, err);
        return r < 0 ? error_wrap(err, "the archive") : 0;
}

int call_archive_finish(ClientStream **out, Error *err)
{
        int fd = client_stream_fd(*out);
        if (!client_stream_relayed(*out) && fsync(fd) < 0 && errno != EINVAL)
                return error_setc(err, errno, "writing the archive");
        int r = client_stream_close(TAKE_PTR(*out), err);
        return r < 0 ? error_wrap(err, "writing the archive") : 0;
}
