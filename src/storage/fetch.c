#include "storage/fetch.h"

#include "base/fs.h"
#include "base/str.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
        curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

DEFINE_CLEANUP_FUNC(CURL, curl_easy_cleanup);

/* The URL with any "user:password@" replaced, for messages. */
static char *url_for_display(const char *url)
{
        const char *rest = startswith(url, "http://") ?: startswith(url, "https://");
        if (!rest)
                return strdup(url);
        size_t auth_len = strcspn(rest, "/?#");
        const char *at = memchr(rest, '@', auth_len);
        if (!at)
                return strdup(url);
        char *s = NULL;
        if (asprintf(&s, "%.*s***@%s", (int) (rest - url), url, at + 1) < 0)
                return NULL;
        return s;
}

typedef struct FetchContext {
        int fd;
        uint64_t written, max_bytes;
        bool too_big;
        int write_errno;
        const StorageMonitor *mon;
        uint64_t last_ms;
        bool cancelled;
        bool refused;            /* a connection went to a destination not allowed */
        const FetchCidr *allow;
        size_t n_allow;
        const char *display_url;
} FetchContext;

/* libcurl asks here for every socket it connects, with the address
 * DNS gave: the place to refuse a destination, for the first request
 * and for every redirect alike (a name that resolves to 127.0.0.1, a
 * redirect to 169.254.169.254). */
static curl_socket_t on_open_socket(void *userdata, curlsocktype purpose, struct curl_sockaddr *a)
{
        FetchContext *c = userdata;
        if (purpose != CURLSOCKTYPE_IPCXN || !fetch_dest_allowed(&a->addr, c->allow, c->n_allow)) {
                c->refused = true;
                return CURL_SOCKET_BAD;
        }
        int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
        return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static size_t on_data(char *data, size_t size, size_t n, void *userdata)
{
        FetchContext *c = userdata;
        size_t len = size * n;
        if (c->written + len > c->max_bytes) {
                c->too_big = true;
                return 0;
        }
        int r = loop_write(c->fd, data, len);
        if (r < 0) {
                c->write_errno = -r;
                return 0;
        }
        c->written += len;
        return len;
}

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
        FetchContext *c = userdata;
        StorageProgress p = {
                .stage = PROGRESS_STAGE_DOWNLOADING,
                .item = c->display_url,
                .message = "downloading",
                .bytes = dlnow > 0 ? (uint64_t) dlnow : 0,
                .bytes_total = dltotal > 0 ? (uint64_t) dltotal : 0,
        };
        if (storage_monitor_report(c->mon, &p, false, &c->last_ms) < 0) {
                c->cancelled = true;
                return 1;
        }
        return 0;
}

static int open_tmpfile(const char *tmp_dir, Error *err)
{
        int fd = open(tmp_dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
        if (fd >= 0)
                return fd;
        if (errno != EOPNOTSUPP && errno != EISDIR)
                return error_setc(err, errno, "creating a temporary file in %s", tmp_dir);
        /* No O_TMPFILE on this file system: a named file, unlinked at once. */
        _cleanup_free_ char *path = NULL;
        if (asprintf(&path, "%s/fetch-XXXXXX", tmp_dir) < 0)
                return error_set(err, ENOMEM, "out of memory");
        fd = mkostemp(path, O_CLOEXEC);
        if (fd < 0)
                return error_setc(err, errno, "creating a temporary file in %s", tmp_dir);
        (void) unlink(path);
        return fd;
}

static int set_options(CURL *curl, const char *url, const FetchOptions *o, FetchContext *c, char *errbuf)
{
        long connect = o && o->connect_timeout_s > 0 ? o->connect_timeout_s : 30;
        long stall = o && o->stall_timeout_s > 0 ? o->stall_timeout_s : 60;
        bool ok = curl_easy_setopt(curl, CURLOPT_URL, url) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, (long) FETCH_MAX_REDIRECTS) == CURLE_OK &&
                  /* The environment's proxy would hide the destination. */
                  curl_easy_setopt(curl, CURLOPT_PROXY, "") == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, c) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_FAILONERROR, 1L) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, connect) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) c->max_bytes) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_USERAGENT, "enclave/" ENCLAVE_VERSION) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_WRITEDATA, c) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, c) == CURLE_OK &&
                  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
        return ok ? 0 : -EINVAL;
}

/* Failures before any server answered: one message for all of them. */
static bool unreachable(CURLcode code)
{
        switch (code) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_WEIRD_SERVER_REPLY:
        case CURLE_PARTIAL_FILE:
                return true;
        default:
                return false;
        }
}

static int transfer_error(CURL *curl, CURLcode code, const FetchContext *c, const char *errbuf, Error *err)
{
        const char *u = c->display_url;
        if (c->cancelled || code == CURLE_ABORTED_BY_CALLBACK)
                return error_set(err, ECANCELED, "download of %s was cancelled", u);
        if (c->refused || unreachable(code))
                return error_set(err, EHOSTUNREACH,
                                 "fetching %s: the server cannot be reached (it does not resolve or answer, or it is "
                                 "an address a fetch may not reach: loopback, link-local, private and other special "
                                 "ranges need root's fetch_allow in config.toml)", u);
        if (c->too_big || code == CURLE_FILESIZE_EXCEEDED)
                return error_set(err, EFBIG, "%s is larger than the limit of %llu bytes", u,
                                 (unsigned long long) c->max_bytes);
        if (c->write_errno)
                return error_setc(err, c->write_errno, "saving the download of %s", u);
        if (code == CURLE_HTTP_RETURNED_ERROR) {
                long status = 0;
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
                return error_set(err, status == 404 ? ENOENT : EIO, "fetching %s: the server answered HTTP %ld", u,
                                 status);
        }
        if (code == CURLE_UNSUPPORTED_PROTOCOL)
                return error_set(err, EPERM, "fetching %s: a redirect led to a protocol other than http(s)", u);
        return error_set(err, EIO, "fetching %s: %s", u, errbuf[0] ? errbuf : curl_easy_strerror(code));
}

int fetch_to_tmpfile(const char *url, const char *tmp_dir, const FetchOptions *o,
                     const StorageMonitor *mon, int *ret_fd, Error *err)
{
        int r = fetch_check_url(url, err);
        if (r < 0)
                return r;
        pthread_once(&curl_once, curl_init_once);
        if (curl_init_result != CURLE_OK)
                return error_set(err, EIO, "initializing libcurl: %s", curl_easy_strerror(curl_init_result));
        _cleanup_free_ char *display = url_for_display(url);
        if (!display)
                return error_set(err, ENOMEM, "out of memory");
        _cleanup_close_ int fd = open_tmpfile(tmp_dir, err);
        if (fd < 0)
                return fd;
        _cleanup_(curl_easy_cleanupp) CURL *curl = curl_easy_init();
        if (!curl)
                return error_set(err, ENOMEM, "initializing libcurl");
        FetchContext c = {
                .fd = fd,
                .max_bytes = o && o->max_bytes ? o->max_bytes : FETCH_DEFAULT_MAX_BYTES,
                .mon = mon,
                .allow = o ? o->allow : NULL,
                .n_allow = o ? o->n_allow : 0,
                .display_url = display,
        };
        char errbuf[CURL_ERROR_SIZE] = "";
        if (set_options(curl, url, o, &c, errbuf) < 0)
                return error_set(err, EINVAL, "configuring libcurl");
        CURLcode code = curl_easy_perform(curl);
        if (code != CURLE_OK || c.too_big || c.cancelled)
                return transfer_error(curl, code, &c, errbuf, err);
        if (lseek(fd, 0, SEEK_SET) < 0)
                return error_setc(err, errno, "rewinding the download");
        *ret_fd = TAKE_FD(fd);
        return 0;
}
