#include "runtime/idlease.h"

#include "base/fs.h"
#include "base/log.h"
#include "base/str.h"

#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#define TMP_PREFIX ".new-"

void id_lease_done(IdLease *l)
{
        free(l->state_dir);
        free(l->sandbox);
        free(l->workspace);
        *l = (IdLease) { .base = l->base };
}

void id_leases_free(IdLease *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                id_lease_done(&v[i]);
        free(v);
}

/* ---- the file ---- */

int id_lease_format(const IdLease *l, char **ret)
{
        if (!l->state_dir || l->state_dir[0] != '/' || strchr(l->state_dir, '\n') ||
            (l->sandbox && strchr(l->sandbox, '\n')) || (l->workspace && strchr(l->workspace, '\n')))
                return -EINVAL;
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        strbuf_printf(&b, "state_dir=%s\nsandbox=%s\nworkspace=%s\npid=%" PRId64 "\ncreated=%" PRId64 "\n",
                      l->state_dir, l->sandbox ? l->sandbox : "", l->workspace ? l->workspace : "", l->pid,
                      l->created);
        if (b.oom)
                return -ENOMEM;
        *ret = strbuf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

static int set_field(char **field, const char *v, size_t len)
{
        free(*field);
        *field = strndup(v, len);
        return *field ? 0 : -ENOMEM;
}

int id_lease_parse(const char *text, IdLease *ret)
{
        _cleanup_id_lease_ IdLease l = { .base = ret->base };
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                const char *eq = memchr(p, '=', len);
                if (!eq)
                        return -EINVAL;
                size_t klen = (size_t) (eq - p), vlen = len - klen - 1;
                const char *v = eq + 1;
                char num[32];
                int r = 0;
                if (klen == 9 && memcmp(p, "state_dir", 9) == 0)
                        r = set_field(&l.state_dir, v, vlen);
                else if (klen == 7 && memcmp(p, "sandbox", 7) == 0)
                        r = set_field(&l.sandbox, v, vlen);
                else if (klen == 9 && memcmp(p, "workspace", 9) == 0)
                        r = set_field(&l.workspace, v, vlen);
                else if ((klen == 3 && memcmp(p, "pid", 3) == 0) || (klen == 7 && memcmp(p, "created", 7) == 0)) {
                        if (vlen == 0 || vlen >= sizeof num)
                                return -EINVAL;
                        memcpy(num, v, vlen);
                        num[vlen] = 0;
                        r = parse_int64(num, 0, INT64_MAX, klen == 3 ? &l.pid : &l.created);
                }
                /* Unknown keys are for newer versions: kept compatible. */
                if (r < 0)
                        return r;
                if (!nl)
                        break;
                p = nl + 1;
        }
        if (!l.state_dir || l.state_dir[0] != '/')
                return -EINVAL;
        *ret = l;
        l = (IdLease) {};
        return 0;
}

/* ---- the lock ---- */

int id_lease_lock(const IdLeaseHost *h, IdLeaseLock *ret, Error *err)
{
        *ret = ID_LEASE_LOCK_NULL;
        int r = mkdir_p(h->dir, 0700);
        if (r < 0)
                return error_setc(err, -r, "creating the id lease directory %s", h->dir);
        _cleanup_close_ int dfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0)
                return error_setc(err, errno, "opening the id lease directory %s", h->dir);
        struct stat st;
        if (fstat(dfd, &st) < 0)
                return error_setc(err, errno, "checking %s", h->dir);
        /* Anyone who could write here could take or free host ids. */
        if (st.st_uid != geteuid() || (st.st_mode & 0022))
                return error_set(err, EPERM, "the id lease directory %s must be owned by root and writable by root "
                                 "only (it is uid %u, mode %03o); fix it with chown root: and chmod 0700", h->dir,
                                 (unsigned) st.st_uid, (unsigned) (st.st_mode & 0777));
        _cleanup_close_ int lfd = openat(dfd, IDLEASE_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                                         0600);
        if (lfd < 0)
                return error_setc(err, errno, "opening %s/%s", h->dir, IDLEASE_LOCK_FILE);
        /* Every holder keeps it for a few file operations only. */
        while (flock(lfd, LOCK_EX) < 0)
                if (errno != EINTR)
                        return error_setc(err, errno, "locking %s/%s", h->dir, IDLEASE_LOCK_FILE);
        *ret = (IdLeaseLock) { h, TAKE_FD(dfd), TAKE_FD(lfd) };
        return 0;
}

void id_lease_unlock(IdLeaseLock *l)
{
        /* Closing the only fd of the open file description drops the flock. */
        l->lock_fd = safe_close(l->lock_fd);
        l->dir_fd = safe_close(l->dir_fd);
}

/* ---- reading ---- */

static bool parse_base_name(const char *name, uint32_t *ret)
{
        int64_t v;
        if (name[0] < '1' || name[0] > '9' || parse_int64(name, 1, UINT32_MAX, &v) < 0)
                return false;
        *ret = (uint32_t) v;
        return true;
}

static int read_at(int dfd, uint32_t base, IdLease *ret)
{
        char name[16];
        snprintf(name, sizeof name, "%" PRIu32, base);
        _cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        _cleanup_free_ char *text = NULL;
        int r = read_full_fd(fd, 64 * 1024, &text, NULL);
        if (r < 0)
                return r;
        *ret = (IdLease) { .base = base };
        if (id_lease_parse(text, ret) < 0)
                *ret = (IdLease) { .base = base }; /* unreadable: state_dir stays NULL */
        return 0;
}

int id_lease_read(const IdLeaseHost *h, uint32_t base, IdLease *ret, Error *err)
{
        _cleanup_close_ int dfd = open(h->dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (dfd < 0) {
                if (errno == ENOENT)
                        return -ENOENT;
                return error_setc(err, errno, "opening %s", h->dir);
        }
        int r = read_at(dfd, base, ret);
        if (r == -ENOENT)
                return r;
        if (r < 0)
                return error_setc(err, -r, "reading the lease of host id block %" PRIu32 " in %s", base, h->dir);
        return 0;
}

static int cmp_lease(const void *a, const void *b)
{
        uint32_t x = ((const IdLease *) a)->base, y = ((const IdLease *) b)->base;
        return x < y ? -1 : x > y;
}

int id_lease_list(IdLeaseLock *l, IdLease **ret, size_t *ret_n, Error *err)
{
        int dfd = fcntl(l->dir_fd, F_DUPFD_CLOEXEC, 3);
        if (dfd < 0)
                return error_setc(err, errno, "reading %s", l->host->dir);
        _cleanup_closedir_ DIR *dir = fdopendir(dfd);
        if (!dir) {
                safe_close(dfd);
                return error_setc(err, errno, "reading %s", l->host->dir);
        }
        /* The duplicate shares its offset with dir_fd: start over. */
        rewinddir(dir);
        IdLease *v = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(dir))) {
                uint32_t base;
                if (startswith(de->d_name, TMP_PREFIX)) {
                        /* A taker died between writing and linking; we hold the lock. */
                        (void) unlinkat(l->dir_fd, de->d_name, 0);
                        continue;
                }
                if (!parse_base_name(de->d_name, &base))
                        continue;
                IdLease *nv = realloc(v, (n + 1) * sizeof *nv);
                if (!nv) {
                        id_leases_free(v, n);
                        return error_set(err, ENOMEM, "out of memory");
                }
                v = nv;
                int r = read_at(l->dir_fd, base, &v[n]);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        id_leases_free(v, n);
                        return error_setc(err, -r, "reading %s/%s", l->host->dir, de->d_name);
                }
                n++;
        }
        if (n > 1)
                qsort(v, n, sizeof *v, cmp_lease);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- taking and dropping ---- */

int id_lease_take(IdLeaseLock *l, const IdLease *lease, Error *err)
{
        if (lease->base == 0)
                return error_set(err, EINVAL, "%" PRIu32 " is not the base of a host id block", lease->base);
        _cleanup_free_ char *text = NULL;
        int r = id_lease_format(lease, &text);
        if (r < 0)
                return error_setc(err, -r, "describing the lease of host id block %" PRIu32, lease->base);
        char name[16], tmp[64];
        snprintf(name, sizeof name, "%" PRIu32, lease->base);
        snprintf(tmp, sizeof tmp, TMP_PREFIX "%s-%d", name, (int) getpid());
        _cleanup_close_ int fd = openat(l->dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return error_setc(err, errno, "creating %s/%s", l->host->dir, tmp);
        r = loop_write(fd, text, strlen(text));
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        /* link() never replaces: the name is the block's one owner. */
        if (r >= 0 && linkat(l->dir_fd, tmp, l->dir_fd, name, 0) < 0)
                r = -errno;
        (void) unlinkat(l->dir_fd, tmp, 0);
        if (r == -EEXIST)
                return -EEXIST;
        if (r < 0)
                return error_setc(err, -r, "writing the lease %s/%s", l->host->dir, name);
        (void) fsync(l->dir_fd);
        return 0;
}

static int unlink_lease(IdLeaseLock *l, uint32_t base, Error *err)
{
        char name[16];
        snprintf(name, sizeof name, "%" PRIu32, base);
        if (unlinkat(l->dir_fd, name, 0) < 0 && errno != ENOENT)
                return error_setc(err, errno, "removing the lease %s/%s", l->host->dir, name);
        (void) fsync(l->dir_fd);
        return 0;
}

int id_lease_drop(IdLeaseLock *l, uint32_t base, const char *state_dir, Error *err)
{
        _cleanup_id_lease_ IdLease cur = { .base = base };
        int r = read_at(l->dir_fd, base, &cur);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return error_setc(err, -r, "reading the lease of host id block %" PRIu32, base);
        if (!cur.state_dir || !streq(cur.state_dir, state_dir))
                return error_set(err, EPERM, "host id block %" PRIu32 " is leased to %s, not to %s", base,
                                 cur.state_dir ? cur.state_dir : "(an unreadable lease)", state_dir);
        r = unlink_lease(l, base, err);
        return r < 0 ? r : 1;
}

/* ---- what is in use ---- */

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

static int add_ids_of_line(const char *line, uint32_t **v, size_t *n)
{
        /* "Uid:\t0\t0\t0\t0" */
        const char *p = line + 4;
        for (int i = 0; i < 4; i++) {
                char *end;
                errno = 0;
                unsigned long id = strtoul(p, &end, 10);
                if (end == p || errno)
                        return 0;
                p = end;
                uint32_t block = (uint32_t) (id / IDRANGE_BLOCK * IDRANGE_BLOCK);
                if (block == 0)
                        continue; /* host users: never a workspace block */
                uint32_t *nv = realloc(*v, (*n + 1) * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                *v = nv;
                (*v)[(*n)++] = block;
        }
        return 0;
}

int id_blocks_in_use(uint32_t **ret, size_t *ret_n)
{
        _cleanup_closedir_ DIR *proc = opendir("/proc");
        if (!proc)
                return -errno;
        _cleanup_free_ uint32_t *v = NULL;
        size_t n = 0;
        struct dirent *de;
        while ((de = readdir(proc))) {
                if (de->d_name[0] < '1' || de->d_name[0] > '9')
                        continue;
                char path[300];
                snprintf(path, sizeof path, "/proc/%s/status", de->d_name);
                _cleanup_free_ char *text = NULL;
                if (read_full_file(path, 64 * 1024, &text, NULL) < 0)
                        continue; /* gone meanwhile */
                for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
                        if (startswith(line, "Uid:") || startswith(line, "Gid:"))
                                if (add_ids_of_line(line, &v, &n) < 0)
                                        return -ENOMEM;
        }
        if (n > 1)
                qsort(v, n, sizeof *v, cmp_u32);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
                if (k == 0 || v[k - 1] != v[i])
                        v[k++] = v[i];
        *ret = TAKE_PTR(v);
        *ret_n = k;
        return 0;
}

static bool in_sorted(const uint32_t *v, size_t n, uint32_t x)
{
        return n > 0 && bsearch(&x, v, n, sizeof *v, cmp_u32) != NULL;
}

bool id_lease_is_orphaned(const IdLeaseHost *h, const IdLease *l)
{
        if (!l->state_dir)
                return false; /* unreadable: someone else's doing; leave it to an administrator */
        struct stat st;
        if (lstat(l->state_dir, &st) < 0)
                return errno == ENOENT || errno == ENOTDIR;
        if (!S_ISDIR(st.st_mode))
                return true;
        _cleanup_free_ char *reg = path_join(l->state_dir, h->registry_name);
        return reg && lstat(reg, &st) < 0 && errno == ENOENT;
}

int id_lease_reclaim(IdLeaseLock *l, const char *keep_state_dir, size_t *ret_n, Error *err)
{
        IdLease *v = NULL;
        size_t n = 0;
        int r = id_lease_list(l, &v, &n, err);
        if (r < 0)
                return r;
        _cleanup_free_ uint32_t *busy = NULL;
        size_t n_busy = 0;
        size_t dropped = 0;
        for (size_t i = 0; i < n && r >= 0; i++) {
                if (!v[i].state_dir || (keep_state_dir && streq(v[i].state_dir, keep_state_dir)) ||
                    !id_lease_is_orphaned(l->host, &v[i]))
                        continue;
                if (!busy && (r = id_blocks_in_use(&busy, &n_busy)) < 0) {
                        r = error_setc(err, -r, "listing the ids of running processes");
                        break;
                }
                if (in_sorted(busy, n_busy, v[i].base)) {
                        log_warn("host id block %" PRIu32 " of the deleted state dir %s still has processes; "
                                 "keeping its lease", v[i].base, v[i].state_dir);
                        continue;
                }
                r = unlink_lease(l, v[i].base, err);
                if (r >= 0) {
                        log_info("reclaimed host id block %" PRIu32 " of %s/%s in the deleted state dir %s",
                                 v[i].base, v[i].sandbox ? v[i].sandbox : "", v[i].workspace ? v[i].workspace : "",
                                 v[i].state_dir);
                        dropped++;
                }
        }
        id_leases_free(v, n);
        if (r < 0)
                return r;
        if (ret_n)
                *ret_n = dropped;
        return 0;
}

/* ---- allocating ---- */

/* Bases of every lease plus also_used, for idrange_allocate(). */
static int used_bases(IdLeaseLock *l, const uint32_t *also_used, size_t n_also, uint32_t **ret, size_t *ret_n,
                      Error *err)
{
        IdLease *v = NULL;
        size_t n = 0;
        int r = id_lease_list(l, &v, &n, err);
        if (r < 0)
                return r;
        uint32_t *u = malloc((n + n_also + 1) * sizeof *u);
        if (!u) {
                id_leases_free(v, n);
                return error_set(err, ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < n; i++)
                u[i] = v[i].base;
        if (n_also > 0)
                memcpy(u + n, also_used, n_also * sizeof *u);
        id_leases_free(v, n);
        *ret = u;
        *ret_n = n + n_also;
        return 0;
}

static int try_allocate(IdLeaseLock *l, const IdLease *who, const uint32_t *also_used, size_t n_also,
                        uint32_t *ret_base, Error *err)
{
        _cleanup_free_ IdRange *pool = NULL;
        size_t n_pool = 0;
        int r = idrange_load_pool(l->host->subuid_path, l->host->subgid_path, &pool, &n_pool, NULL, NULL, err);
        if (r < 0)
                return r;
        _cleanup_free_ uint32_t *used = NULL;
        size_t n_used = 0;
        r = used_bases(l, also_used, n_also, &used, &n_used, err);
        if (r < 0)
                return r;
        uint32_t base;
        r = idrange_allocate(pool, n_pool, used, n_used, &base);
        if (r == -ENOSPC)
                return -ENOSPC;
        if (r < 0)
                return error_setc(err, -r, "choosing a host id block");
        IdLease lease = *who;
        lease.base = base;
        r = id_lease_take(l, &lease, err);
        if (r == -EEXIST) /* only without the lock, i.e. never: say so */
                return error_set(err, EEXIST, "host id block %" PRIu32 " was leased behind the lock's back", base);
        if (r < 0)
                return r;
        *ret_base = base;
        return 0;
}

int id_lease_allocate(IdLeaseLock *l, const IdLease *who, const uint32_t *also_used, size_t n_also,
                      uint32_t *ret_base, Error *err)
{
        int r = try_allocate(l, who, also_used, n_also, ret_base, err);
        if (r != -ENOSPC)
                return r;
        size_t reclaimed = 0;
        r = id_lease_reclaim(l, who->state_dir, &reclaimed, err);
        if (r < 0)
                return r;
        if (reclaimed > 0) {
                r = try_allocate(l, who, also_used, n_also, ret_base, err);
                if (r != -ENOSPC)
                        return r;
        }
        IdRange added;
        _cleanup_error_ Error gerr = ERROR_INIT;
        r = idrange_grow_root(l->host->subuid_path, l->host->subgid_path, IDRANGE_DEFAULT_BLOCKS, &added, &gerr);
        if (r >= 0) {
                log_info("host id pool used up: added root:%" PRIu32 ":%" PRIu32 " (%" PRIu32 " blocks) to %s and %s",
                         added.start, added.count, added.count / IDRANGE_BLOCK, l->host->subuid_path,
                         l->host->subgid_path);
                r = try_allocate(l, who, also_used, n_also, ret_base, err);
                if (r != -ENOSPC)
                        return r;
        } else if (r != -ENOSPC) {
                error_move(err, &gerr);
                return error_wrap(err, "growing the host id pool");
        }
        IdPoolStatus st = {};
        _cleanup_error_ Error serr = ERROR_INIT;
        (void) id_pool_status(l, who->state_dir, &st, &serr);
        return error_set(err, ENOSPC,
                         "no free block of %u host ids: all %" PRIu64 " blocks of root's ranges in %s and %s are "
                         "leased (%" PRIu64 " by this state dir, %" PRIu64 " by other state dirs; leases in %s), "
                         "and no room is left below %u to add a range. Destroy workspaces you no longer need (in "
                         "any state dir on this host), or add a free range for root to both files",
                         IDRANGE_BLOCK, st.pool_blocks, l->host->subuid_path, l->host->subgid_path, st.own,
                         st.leased - st.own, l->host->dir, IDRANGE_LIMIT);
}

/* ---- counting ---- */

static bool in_pool(const IdRange *pool, size_t n, uint32_t base)
{
        for (size_t i = 0; i < n; i++)
                if (base >= pool[i].start && (uint64_t) base + IDRANGE_BLOCK <= (uint64_t) pool[i].start + pool[i].count)
                        return true;
        return false;
}

int id_pool_status(IdLeaseLock *l, const char *state_dir, IdPoolStatus *ret, Error *err)
{
        *ret = (IdPoolStatus) {};
        _cleanup_free_ IdRange *pool = NULL;
        size_t n_pool = 0;
        _cleanup_id_file_ IdFile u = { NULL, 0 }, g = { NULL, 0 };
        int r = idrange_load_pool(l->host->subuid_path, l->host->subgid_path, &pool, &n_pool, &u, &g, err);
        if (r < 0)
                return r;
        IdLease *v = NULL;
        size_t n = 0;
        r = id_lease_list(l, &v, &n, err);
        if (r < 0)
                return r;
        ret->pool_blocks = idrange_count_blocks(pool, n_pool);
        ret->leased = n;
        for (size_t i = 0; i < n; i++) {
                if (in_pool(pool, n_pool, v[i].base))
                        ret->leased_in_pool++;
                if (!v[i].state_dir)
                        ret->unreadable++;
                else if (state_dir && streq(v[i].state_dir, state_dir))
                        ret->own++;
                else if (id_lease_is_orphaned(l->host, &v[i]))
                        ret->orphaned++;
        }
        id_leases_free(v, n);
        ret->free = ret->pool_blocks > ret->leased_in_pool ? ret->pool_blocks - ret->leased_in_pool : 0;
        ret->addable = idrange_count_addable(&u, &g, IDRANGE_FLOOR, IDRANGE_LIMIT);
        return 0;
}
