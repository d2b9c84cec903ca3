/* rootfs fetch: download an archive from a python3 http.server this
 * test starts on 127.0.0.1 (never any other address), then import it;
 * HTTP errors, size limits, cancellation, bad URLs. Needs root. */
#include "test.h"
#include "itest-common.h"

#include "base/fs.h"
#include "base/str.h"
#include "storage/rootfs-cache.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

static char *scratch, *state, *serve;
static pid_t server;
static int port;

static bool port_open(int p)
{
        _cleanup_close_ int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t) p),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        return fd >= 0 && connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0;
}

static bool start_server(int p)
{
        char ps[16];
        snprintf(ps, sizeof ps, "%d", p);
        pid_t pid = fork();
        if (pid == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                dup2(null, 0);
                dup2(null, 1);
                dup2(null, 2);
                execlp("python3", "python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", serve, ps,
                       (char *) NULL);
                _exit(127);
        }
        if (pid < 0)
                return false;
        for (int i = 0; i < 100; i++) {
                if (waitpid(pid, NULL, WNOHANG) == pid)
                        return false; /* port taken or no python */
                if (port_open(p)) {
                        server = pid;
                        port = p;
                        return true;
                }
                nanosleep(&(struct timespec) { .tv_nsec = 50 * 1000 * 1000 }, NULL);
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return false;
}

/* The test's server is on 127.0.0.1, which a fetch may reach only when
 * allowed (as root's fetch_allow does). */
static FetchCidr loopback;
static FetchOptions local = { .allow = &loopback, .n_allow = 1 };

static void make_world(void)
{
        if (fetch_cidr_parse("127.0.0.1/32", &loopback, NULL) < 0)
                abort();
        if (state)
                return;
        if (geteuid() != 0)
                SKIP("needs root");
        char tmpl[] = "/tmp/enctest-fetch-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        scratch = strdup(tmpl);
        serve = at(scratch, "serve");
        ASSERT_OK(mkdir(serve, 0755));
        _cleanup_free_ char *tree = at(scratch, "tree");
        make_busybox_rootfs(tree);
        _cleanup_free_ char *archive = at(serve, "rootfs.tar.zst");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK_E(tarball_export(tree, archive, false, NULL, NULL, &err), err);
        srand((unsigned) getpid() ^ (unsigned) time(NULL));
        for (int attempt = 0; attempt < 10 && !server; attempt++)
                (void) start_server(20000 + rand() % 40000);
        if (!server)
                SKIP("could not start python3 -m http.server on 127.0.0.1");
        state = at(scratch, "state");
}

__attribute__((destructor)) static void cleanup_world(void)
{
        if (server > 0) {
                kill(server, SIGKILL);
                waitpid(server, NULL, 0);
        }
        if (scratch)
                (void) rm_rf(scratch);
}

static char *url(const char *userinfo, const char *file)
{
        char *u = NULL;
        if (asprintf(&u, "http://%s127.0.0.1:%d/%s", userinfo, port, file) < 0)
                abort();
        return u;
}

typedef struct Seen {
        size_t downloading, importing;
        uint64_t bytes, bytes_total;
        atomic_bool cancel;
        bool cancel_on_download;
} Seen;

static int record(const StorageProgress *p, void *userdata)
{
        Seen *s = userdata;
        if (p->stage == PROGRESS_STAGE_DOWNLOADING) {
                s->downloading++;
                s->bytes = p->bytes;
                s->bytes_total = p->bytes_total;
                if (s->cancel_on_download)
                        atomic_store(&s->cancel, true);
        } else if (p->stage == PROGRESS_STAGE_IMPORTING)
                s->importing++;
        return 0;
}

TEST(fetch_then_import)
{
        make_world();
        _cleanup_free_ char *u = url("", "rootfs.tar.zst");
        Seen seen = { 0 };
        StorageMonitor mon = { .progress = record, .userdata = &seen, .interval_ms = 1 };
        _cleanup_error_ Error err = ERROR_INIT;
        TarballStats stats;
        ASSERT_OK_E(rootfs_cache_fetch(state, "base", u, false, &local, &mon, &stats, &err), err);
        ASSERT_TRUE(stats.entries > 100);
        ASSERT_TRUE(seen.importing > 0);
        _cleanup_free_ char *bb = at(state, "sandboxes/rootfs-cache/base/bin/busybox");
        _cleanup_free_ char *sh = at(state, "sandboxes/rootfs-cache/base/bin/sh");
        struct stat st;
        ASSERT_OK(stat(bb, &st));
        ASSERT_TRUE(st.st_size > 100000);
        ASSERT_OK(lstat(sh, &st));
        ASSERT_TRUE(S_ISLNK(st.st_mode));
        ASSERT_TRUE(tmp_is_empty(state));

        /* Again without replace: refused before downloading anything. */
        seen = (Seen) { 0 };
        ASSERT_EQ(rootfs_cache_fetch(state, "base", u, false, &local, &mon, NULL, &err), -EEXIST);
        ASSERT_CONTAINS(error_msg(&err), "--replace");
        ASSERT_EQ(seen.downloading, 0);
        error_clear(&err);
        ASSERT_OK_E(rootfs_cache_fetch(state, "base", u, true, &local, &mon, NULL, &err), err);
        ASSERT_TRUE(tmp_is_empty(state));
}

TEST(http_error_fails_and_creates_nothing)
{
        make_world();
        _cleanup_free_ char *u = url("", "missing.tar.zst");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_TRUE(rootfs_cache_fetch(state, "sid", u, false, &local, NULL, NULL, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "HTTP 404");
        ASSERT_FALSE(rootfs_cache_exists(state, "sid"));
        ASSERT_TRUE(tmp_is_empty(state));
}

TEST(credentials_never_shown)
{
        make_world();
        _cleanup_free_ char *u = url("someone:s3cr3t-token@", "missing.tar.zst");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_TRUE(rootfs_cache_fetch(state, "sid", u, false, &local, NULL, NULL, &err) < 0);
        ASSERT_NULL(strstr(error_msg(&err), "s3cr3t"));
        ASSERT_CONTAINS(error_msg(&err), "***@127.0.0.1");
}

TEST(size_limit)
{
        make_world();
        _cleanup_free_ char *u = url("", "rootfs.tar.zst");
        FetchOptions o = { .max_bytes = 4096, .allow = &loopback, .n_allow = 1 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(rootfs_cache_fetch(state, "testing", u, false, &o, NULL, NULL, &err), -EFBIG);
        ASSERT_CONTAINS(error_msg(&err), "larger than the limit");
        ASSERT_FALSE(rootfs_cache_exists(state, "testing"));
        ASSERT_TRUE(tmp_is_empty(state));
}

TEST(cancel)
{
        make_world();
        _cleanup_free_ char *u = url("", "rootfs.tar.zst");
        Seen seen = { .cancel_on_download = true };
        StorageMonitor mon = { .progress = record, .userdata = &seen, .cancel = &seen.cancel, .interval_ms = 1 };
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(rootfs_cache_fetch(state, "stable", u, false, &local, &mon, NULL, &err), -ECANCELED);
        ASSERT_FALSE(rootfs_cache_exists(state, "stable"));
        ASSERT_TRUE(tmp_is_empty(state));
}

/* Without an allow entry, 127.0.0.1 is not reachable, and a refused
 * destination reads exactly like one where nothing listens. */
TEST(special_destinations_refused_alike)
{
        make_world();
        _cleanup_free_ char *u = url("", "rootfs.tar.zst");
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(rootfs_cache_fetch(state, "oldstable", u, false, NULL, NULL, NULL, &err), -EHOSTUNREACH);
        ASSERT_CONTAINS(error_msg(&err), "cannot be reached");
        _cleanup_free_ char *refused = strdup(error_msg(&err));
        error_clear(&err);
        ASSERT_FALSE(rootfs_cache_exists(state, "oldstable"));
        ASSERT_TRUE(tmp_is_empty(state));

        /* Allowed, but nothing listens there (port 1 on loopback). */
        _cleanup_free_ char *closed = NULL;
        ASSERT_TRUE(asprintf(&closed, "http://127.0.0.1:1/rootfs.tar.zst") > 0);
        ASSERT_EQ(rootfs_cache_fetch(state, "oldstable", closed, false, &local, NULL, NULL, &err), -EHOSTUNREACH);
        _cleanup_free_ char *a = strdup(strstr(refused, ": the server"));
        ASSERT_STREQ(strstr(error_msg(&err), ": the server"), a);
}

TEST(only_http_urls)
{
        make_world();
        _cleanup_error_ Error err = ERROR_INIT;
        const char *bad[] = { "file:///etc/passwd", "ftp://127.0.0.1/x.tar", "http://", "http:///x", "http://a b/c",
                              "gopher://127.0.0.1/" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                ASSERT_EQ(rootfs_cache_fetch(state, "bullseye", bad[i], false, &local, NULL, NULL, &err), -EINVAL);
                error_clear(&err);
        }
        ASSERT_FALSE(rootfs_cache_exists(state, "bullseye"));
}
