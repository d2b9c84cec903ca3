#include "storage/bootstrap.h"

#include "base/crashpoint.h"
#include "base/fs.h"
#include "base/str.h"
#include "spec/values.h"
#include "storage/copy.h"
#include "storage/debootstrap-progress.h"
#include "config/trust.h"
#include "storage/layout.h"
#include "storage/nsexec.h"
#include "storage/staging.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#define TAIL_LINES 15
#define TAIL_BYTES 4096

static const char *const method_names[_BOOTSTRAP_METHOD_MAX] = {
        [BOOTSTRAP_DEBOOTSTRAP] = "debootstrap",
        [BOOTSTRAP_CACHED_ROOTFS] = "cached_rootfs",
};

BootstrapMethod bootstrap_method_from_string(const char *s)
{
        for (int i = 0; s && i < _BOOTSTRAP_METHOD_MAX; i++)
                if (streq(method_names[i], s))
                        return (BootstrapMethod) i;
        return _BOOTSTRAP_METHOD_INVALID;
}

int bootstrap_check_mirror(const char *mirror, Error *err)
{
        const char *rest = NULL;
        if (mirror)
                rest = startswith(mirror, "http://") ?: startswith(mirror, "https://");
        if (!rest)
                return error_set(err, EINVAL, "mirror \"%s\" must be an http:// or https:// URL",
                                 mirror ? mirror : "");
        if (*rest == 0 || *rest == '/')
                return error_set(err, EINVAL, "mirror \"%s\" has no host", mirror);
        for (const char *p = mirror; *p; p++)
                if (*p <= ' ' || *p >= 0x7f || strchr("\"'`\\<>{}|^", *p))
                        return error_set(err, EINVAL, "mirror \"%s\" contains a character not allowed in a URL",
                                         mirror);
        if (strlen(mirror) > 2048)
                return error_set(err, EINVAL, "mirror URL is too long");
        return 0;
}

/* debootstrap_binary as an absolute path: a bare name is looked up in
 * root's fixed PATH (never the environment's: under `sudo -E` it is a
 * user's), and what root runs must be a file only root can change
 * (config/trust.h). */
static int find_binary(const char *name, char **ret, Error *err)
{
        if (strchr(name, '/')) {
                if (name[0] != '/')
                        return error_set(err, EINVAL, "debootstrap_binary \"%s\" must be an absolute path or a name in PATH",
                                         name);
                if (access(name, X_OK) < 0)
                        return error_setc(err, errno, "debootstrap binary %s is not executable", name);
                return trust_check_file(name, "the debootstrap binary", ret, err);
        }
        _cleanup_free_ char *path = strdup(TRUST_ROOT_PATH);
        if (!path)
                return error_set(err, ENOMEM, "out of memory");
        char *save = NULL;
        for (char *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *cand = path_join(dir, name);
                if (cand && access(cand, X_OK) == 0)
                        return trust_check_file(cand, "the debootstrap binary", ret, err);
        }
        return error_set(err, ENOENT,
                         "%s not found in %s: install it (apt-get install debootstrap) or set debootstrap_binary",
                         name, TRUST_ROOT_PATH);
}

/* The last lines of a file, for error messages. */
static char *file_tail(const char *path)
{
        _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return NULL;
        off_t size = lseek(fd, 0, SEEK_END);
        if (size < 0)
                return NULL;
        off_t start = size > TAIL_BYTES ? size - TAIL_BYTES : 0;
        char buf[TAIL_BYTES + 1];
        ssize_t n = pread(fd, buf, TAIL_BYTES, start);
        if (n <= 0)
                return NULL;
        buf[n] = 0;
        while (n > 0 && buf[n - 1] == '\n')
                buf[--n] = 0;
        char *p = buf + n;
        for (int lines = 0; p > buf; p--)
                if (p[-1] == '\n' && ++lines == TAIL_LINES)
                        break;
        return strdup(p);
}

typedef struct DebootstrapRun {
        const StorageMonitor *mon;
        DebootstrapParser parser;
        char *tail[TAIL_LINES]; /* ring of the last output lines */
        size_t tail_next;
} DebootstrapRun;

static void debootstrap_run_done(DebootstrapRun *d)
{
        for (size_t i = 0; i < TAIL_LINES; i++)
                free(d->tail[i]);
}

static int on_debootstrap_line(const char *line, void *userdata)
{
        DebootstrapRun *d = userdata;
        free(d->tail[d->tail_next]);
        d->tail[d->tail_next] = strdup(line);
        d->tail_next = (d->tail_next + 1) % TAIL_LINES;
        StorageProgress p;
        if (debootstrap_parse_line(&d->parser, line, &p) <= 0)
                return 0;
        return storage_monitor_report(d->mon, &p, true, NULL);
}

/* debootstrap's own "E:" line (it goes to its output, not its log). */
static const char *error_line(const DebootstrapRun *d)
{
        for (size_t i = TAIL_LINES; i-- > 0;) {
                const char *l = d->tail[(d->tail_next + i) % TAIL_LINES];
                const char *e = l ? startswith(l, "E: ") : NULL;
                if (e)
                        return e;
        }
        return NULL;
}

static char *output_tail(const DebootstrapRun *d)
{
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        for (size_t i = 0; i < TAIL_LINES; i++) {
                const char *l = d->tail[(d->tail_next + i) % TAIL_LINES];
                if (l)
                        strbuf_printf(&b, "%s%s", b.len ? "\n" : "", l);
        }
        return strbuf_steal(&b);
}

static char **debootstrap_env(void)
{
        static const char *const base[] = {
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME=/root",
                "LC_ALL=C",
                "DEBIAN_FRONTEND=noninteractive",
                NULL,
        };
        static const char *const passed[] = { "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY",
                                              "HTTPS_PROXY", "NO_PROXY" };
        char **env = strv_copy((char *const *) base);
        for (size_t i = 0; env && i < ELEMENTSOF(passed); i++) {
                const char *v = getenv(passed[i]);
                char *kv = NULL;
                if (v && asprintf(&kv, "%s=%s", passed[i], v) >= 0 && strv_consume(&env, kv) < 0)
                        env = strv_free(env);
        }
        return env;
}

/* Checks shared by both methods; fills the paths. */
static int prepare(const BootstrapOptions *o, char **ret_rootfs, char **ret_tmp, Error *err)
{
        const char *suite = o->suite ? o->suite : BOOTSTRAP_DEFAULT_SUITE;
        int r = debian_suite_check(suite, NULL, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *rootfs = NULL, *tmp = NULL;
        r = layout_sandbox_rootfs(o->state_dir, o->sandbox, &rootfs, err);
        if (r >= 0)
                r = layout_tmp_dir(o->state_dir, &tmp, err);
        if (r >= 0)
                r = layout_sandbox_create(o->state_dir, o->sandbox, err);
        if (r < 0)
                return r;
        struct stat st;
        if (lstat(rootfs, &st) == 0)
                return error_set(err, EEXIST, "sandbox %s already has a root filesystem at %s", o->sandbox,
                                 rootfs);
        *ret_rootfs = TAKE_PTR(rootfs);
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

static int warn(const StorageMonitor *mon, const char *msg)
{
        StorageProgress p = { .stage = PROGRESS_STAGE_WARNING, .message = msg };
        return storage_monitor_report(mon, &p, true, NULL);
}

int bootstrap_fill_cache(const char *state_dir, const char *cache_name, const char *src,
                         const StorageMonitor *mon, Error *err)
{
        _cleanup_free_ char *dest = NULL, *cache_root = NULL, *tmp = NULL, *staging = NULL, *staged = NULL;
        int r = layout_rootfs_cache_dir(state_dir, cache_name, &dest, err);
        if (r >= 0)
                r = layout_rootfs_cache_root(state_dir, &cache_root, err);
        if (r >= 0)
                r = layout_tmp_dir(state_dir, &tmp, err);
        if (r >= 0)
                r = layout_state_dir_create(state_dir, err);
        if (r < 0)
                return r;
        if (mkdir(cache_root, 0755) < 0 && errno != EEXIST)
                return error_setc(err, errno, "creating %s", cache_root);
        r = staging_create(tmp, "cache", &staging, err);
        if (r < 0)
                return r;
        staged = path_join(staging, "rootfs");
        if (!staged)
                r = error_set(err, ENOMEM, "out of memory");
        if (r >= 0)
                r = tree_copy(src, staged, mon, NULL, err);
        if (r >= 0)
                r = staging_install(staged, dest, true, err);
        (void) staging_remove(staging);
        if (r < 0)
                return error_wrap(err, "filling the rootfs cache %s", dest);
        return 0;
}

static int run_debootstrap(const BootstrapOptions *o, const char *binary, const char *target,
                           const StorageMonitor *mon, Error *err)
{
        const char *suite = o->suite ? o->suite : BOOTSTRAP_DEFAULT_SUITE;
        const char *mirror = o->mirror ? o->mirror : BOOTSTRAP_DEFAULT_MIRROR;
        _cleanup_strv_free_ char **env = debootstrap_env();
        if (!env)
                return error_set(err, ENOMEM, "out of memory");
        const char *argv[] = { binary, "--variant=" BOOTSTRAP_DEBOOTSTRAP_VARIANT, suite, target, mirror, NULL };
        NsExecSpec spec = { .argv = argv, .envp = (const char *const *) env };
        _cleanup_(debootstrap_run_done) DebootstrapRun run = { .mon = mon };
        int status = 0;
        int r = nsexec_run(&spec, on_debootstrap_line, &run, mon, &status, err);
        if (r == -ECANCELED)
                return error_set(err, ECANCELED, "debootstrap of %s was cancelled", suite);
        if (r < 0)
                return error_wrap(err, "running %s", binary);
        if (status == 0)
                return 0;

        /* debootstrap keeps its full log in the target until it succeeds. */
        _cleanup_free_ char *log = path_join(target, "debootstrap/debootstrap.log");
        _cleanup_free_ char *tail = log ? file_tail(log) : NULL;
        const char *source = "debootstrap.log";
        if (!tail || !*tail) {
                free(tail);
                tail = output_tail(&run);
                source = "output";
        }
        const char *e = error_line(&run);
        return error_set(err, EIO, "debootstrap %s from %s failed with exit status %d%s%s; last lines of its %s:\n%s",
                         suite, mirror, status, e ? ": " : "", e ? e : "", source, tail && *tail ? tail : "(nothing)");
}

int bootstrap_debootstrap(const BootstrapOptions *o, const StorageMonitor *mon, Error *err)
{
        const char *suite = o->suite ? o->suite : BOOTSTRAP_DEFAULT_SUITE;
        int r = bootstrap_check_mirror(o->mirror ? o->mirror : BOOTSTRAP_DEFAULT_MIRROR, err);
        if (r < 0)
                return r;
        _cleanup_free_ char *binary = NULL, *rootfs = NULL, *tmp = NULL, *staging = NULL, *target = NULL;
        r = find_binary(o->debootstrap_binary ? o->debootstrap_binary : "debootstrap", &binary, err);
        if (r >= 0)
                r = prepare(o, &rootfs, &tmp, err);
        if (r >= 0)
                r = staging_create(tmp, "debootstrap", &staging, err);
        if (r < 0)
                return r;
        target = path_join(staging, "rootfs");
        if (!target)
                r = error_set(err, ENOMEM, "out of memory");
        if (r >= 0)
                r = run_debootstrap(o, binary, target, mon, err);
        if (r >= 0 && chmod(target, 0755) < 0)
                r = error_setc(err, errno, "setting the mode of %s", target);
        if (r >= 0)
                r = staging_install(target, rootfs, false, err);
        if (r < 0) {
                (void) staging_remove(staging);
                return r;
        }
        (void) staging_remove(staging);

        if (!o->skip_cache_fill) {
                _cleanup_error_ Error cerr = ERROR_INIT;
                r = bootstrap_fill_cache(o->state_dir, suite, rootfs, mon, &cerr);
                if (r == -ECANCELED)
                        return 0; /* the sandbox is complete; only the cache refresh stopped */
                if (r < 0) {
                        _cleanup_free_ char *msg = NULL;
                        if (asprintf(&msg, "the sandbox is ready, but %s", error_msg(&cerr)) >= 0)
                                (void) warn(mon, msg);
                }
        }
        return 0;
}

int bootstrap_cached_rootfs(const BootstrapOptions *o, const StorageMonitor *mon, Error *err)
{
        const char *suite = o->suite ? o->suite : BOOTSTRAP_DEFAULT_SUITE;
        _cleanup_free_ char *rootfs = NULL, *tmp = NULL, *by_suite = NULL, *base = NULL;
        int r = prepare(o, &rootfs, &tmp, err);
        if (r >= 0)
                r = layout_rootfs_cache_dir(o->state_dir, suite, &by_suite, err);
        if (r >= 0)
                r = layout_rootfs_cache_dir(o->state_dir, LAYOUT_CACHE_BASE, &base, err);
        if (r < 0)
                return r;
        const char *src = is_dir(by_suite) ? by_suite : is_dir(base) ? base : NULL;
        if (!src)
                return error_set(err, ENOENT,
                                 "no cached rootfs for suite %s: neither %s nor %s exists; "
                                 "add one with `enclave rootfs import --suite %s ARCHIVE` or "
                                 "`enclave rootfs fetch --suite %s URL` (or --base), "
                                 "or create the sandbox with --bootstrap-method debootstrap",
                                 suite, by_suite, base, suite, suite);
        _cleanup_free_ char *staging = NULL, *staged = NULL;
        r = staging_create(tmp, "copy", &staging, err);
        if (r < 0)
                return r;
        staged = path_join(staging, "rootfs");
        if (!staged)
                r = error_set(err, ENOMEM, "out of memory");
        if (r >= 0)
                r = tree_copy(src, staged, mon, NULL, err);
        crash_point(CRASH_POINT_SANDBOX_CREATE_COPYING);
        if (r >= 0)
                r = staging_install(staged, rootfs, false, err);
        (void) staging_remove(staging);
        if (r == -ECANCELED)
                return error_set(err, ECANCELED, "copying the cached rootfs was cancelled");
        if (r < 0)
                return error_wrap(err, "creating sandbox %s from the cached rootfs", o->sandbox);
        return 0;
}

int bootstrap_rootfs(BootstrapMethod m, const BootstrapOptions *o, const StorageMonitor *mon, Error *err)
{
        switch (m) {
        case BOOTSTRAP_DEBOOTSTRAP:
                return bootstrap_debootstrap(o, mon, err);
        case BOOTSTRAP_CACHED_ROOTFS:
                return bootstrap_cached_rootfs(o, mon, err);
        default:
                return error_set(err, EINVAL, "unknown bootstrap method (use debootstrap or cached_rootfs)");
        }
}
