#include "runtime/idrange.h"

#include "base/fs.h"
#include "base/str.h"

#include <inttypes.h>
#include <string.h>

void id_file_done(IdFile *f)
{
        for (size_t i = 0; i < f->n_entries; i++)
                free(f->entries[i].owner);
        free(f->entries);
        f->entries = NULL;
        f->n_entries = 0;
}

static int parse_u32_field(const char *s, size_t len, uint32_t *ret)
{
        char buf[16];
        if (len == 0 || len >= sizeof buf)
                return -EINVAL;
        memcpy(buf, s, len);
        buf[len] = 0;
        int64_t v;
        int r = parse_int64(buf, 0, UINT32_MAX, &v);
        if (r < 0)
                return r;
        *ret = (uint32_t) v;
        return 0;
}

static int parse_line(const char *line, size_t len, IdEntry *ret)
{
        const char *c1 = memchr(line, ':', len);
        if (!c1 || c1 == line)
                return -EINVAL;
        const char *rest = c1 + 1;
        size_t rest_len = len - (size_t) (rest - line);
        const char *c2 = memchr(rest, ':', rest_len);
        if (!c2)
                return -EINVAL;
        uint32_t start, count;
        if (parse_u32_field(rest, (size_t) (c2 - rest), &start) < 0 ||
            parse_u32_field(c2 + 1, rest_len - (size_t) (c2 + 1 - rest), &count) < 0)
                return -EINVAL;
        if (count == 0 || (uint64_t) start + count > UINT32_MAX)
                return -EINVAL;
        ret->owner = strndup(line, (size_t) (c1 - line));
        if (!ret->owner)
                return -ENOMEM;
        ret->range = (IdRange) { start, count };
        return 0;
}

int id_file_parse(const char *text, IdFile *ret, Error *err)
{
        _cleanup_id_file_ IdFile f = { NULL, 0 };
        unsigned lineno = 0;
        for (const char *p = text; *p;) {
                const char *nl = strchr(p, '\n');
                size_t len = nl ? (size_t) (nl - p) : strlen(p);
                lineno++;
                while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
                        len--;
                if (len > 0 && p[0] != '#') {
                        IdEntry *n = realloc(f.entries, (f.n_entries + 1) * sizeof *n);
                        if (!n)
                                return -ENOMEM;
                        f.entries = n;
                        int r = parse_line(p, len, &f.entries[f.n_entries]);
                        if (r == -ENOMEM)
                                return r;
                        if (r < 0)
                                return error_set(err, EINVAL,
                                                 "line %u: expected NAME:START:COUNT with a non-empty range below 2^32",
                                                 lineno);
                        f.n_entries++;
                }
                if (!nl)
                        break;
                p = nl + 1;
        }
        *ret = f;
        f = (IdFile) { NULL, 0 };
        return 0;
}

int id_file_load(const char *path, IdFile *ret, Error *err)
{
        _cleanup_free_ char *text = NULL;
        int r = read_full_file(path, 16 << 20, &text, NULL);
        if (r == -ENOENT) {
                *ret = (IdFile) { NULL, 0 };
                return 0;
        }
        if (r < 0)
                return error_setc(err, -r, "reading %s", path);
        r = id_file_parse(text, ret, err);
        if (r < 0)
                return error_wrap(err, "parsing %s", path);
        return 0;
}

static bool owner_is_root(const char *owner)
{
        return streq(owner, "root") || streq(owner, "0");
}

int id_file_root_ranges(const IdFile *f, IdRange **ret, size_t *ret_n)
{
        _cleanup_free_ IdRange *v = NULL;
        size_t n = 0;
        for (size_t i = 0; i < f->n_entries; i++) {
                if (!owner_is_root(f->entries[i].owner))
                        continue;
                IdRange *nv = realloc(v, (n + 1) * sizeof *nv);
                if (!nv)
                        return -ENOMEM;
                v = nv;
                v[n++] = f->entries[i].range;
        }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int idrange_intersect(const IdRange *a, size_t na, const IdRange *b, size_t nb,
                      IdRange **ret, size_t *ret_n)
{
        _cleanup_free_ IdRange *v = NULL;
        size_t n = 0;
        for (size_t i = 0; i < na; i++)
                for (size_t j = 0; j < nb; j++) {
                        uint64_t lo = a[i].start > b[j].start ? a[i].start : b[j].start;
                        uint64_t ea = (uint64_t) a[i].start + a[i].count;
                        uint64_t eb = (uint64_t) b[j].start + b[j].count;
                        uint64_t hi = ea < eb ? ea : eb;
                        if (lo >= hi)
                                continue;
                        IdRange *nv = realloc(v, (n + 1) * sizeof *nv);
                        if (!nv)
                                return -ENOMEM;
                        v = nv;
                        v[n++] = (IdRange) { (uint32_t) lo, (uint32_t) (hi - lo) };
                }
        *ret = TAKE_PTR(v);
        *ret_n = n;
        return 0;
}

int idrange_load_pool(const char *subuid_path, const char *subgid_path, IdRange **ret, size_t *ret_n, IdFile *ret_u,
                      IdFile *ret_g, Error *err)
{
        _cleanup_id_file_ IdFile u = { NULL, 0 }, g = { NULL, 0 };
        int r = id_file_load(subuid_path, &u, err);
        if (r >= 0)
                r = id_file_load(subgid_path, &g, err);
        if (r < 0)
                return r;
        _cleanup_free_ IdRange *ru = NULL, *rg = NULL;
        size_t nu = 0, ng = 0;
        if (id_file_root_ranges(&u, &ru, &nu) < 0 || id_file_root_ranges(&g, &rg, &ng) < 0 ||
            idrange_intersect(ru, nu, rg, ng, ret, ret_n) < 0)
                return error_set(err, ENOMEM, "out of memory");
        if (ret_u) {
                *ret_u = u;
                u = (IdFile) { NULL, 0 };
        }
        if (ret_g) {
                *ret_g = g;
                g = (IdFile) { NULL, 0 };
        }
        return 0;
}

/* First aligned block start inside r that does not contain id 0. */
static uint64_t first_block(const IdRange *r)
{
        uint64_t a = ((uint64_t) r->start + IDRANGE_BLOCK - 1) / IDRANGE_BLOCK * IDRANGE_BLOCK;
        return a == 0 ? IDRANGE_BLOCK : a;
}

/* (uid_t)-1 is not a valid id, so a block may not reach it. */
static bool block_fits(const IdRange *r, uint64_t a)
{
        uint64_t end = (uint64_t) r->start + r->count;
        return a + IDRANGE_BLOCK <= end && a + IDRANGE_BLOCK <= UINT32_MAX;
}

uint64_t idrange_count_blocks(const IdRange *ranges, size_t n)
{
        uint64_t total = 0;
        for (size_t i = 0; i < n; i++)
                for (uint64_t a = first_block(&ranges[i]); block_fits(&ranges[i], a); a += IDRANGE_BLOCK)
                        total++;
        return total;
}

static int cmp_u32(const void *a, const void *b)
{
        uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
        return x < y ? -1 : x > y;
}

/* The lowest free aligned block >= a inside r, or UINT64_MAX; used is
 * sorted. A used base need not be aligned (older registries): it
 * blocks every aligned block it touches. */
static uint64_t first_free_in(const IdRange *r, uint64_t a, const uint32_t *used, size_t n_used)
{
        while (block_fits(r, a)) {
                /* First used base that may overlap [a, a + BLOCK): u + BLOCK > a. */
                size_t lo = 0, hi = n_used;
                while (lo < hi) {
                        size_t mid = lo + (hi - lo) / 2;
                        if ((uint64_t) used[mid] + IDRANGE_BLOCK <= a)
                                lo = mid + 1;
                        else
                                hi = mid;
                }
                if (lo == n_used || used[lo] >= a + IDRANGE_BLOCK)
                        return a;
                a = ((uint64_t) used[lo] + 2 * IDRANGE_BLOCK - 1) / IDRANGE_BLOCK * IDRANGE_BLOCK;
        }
        return UINT64_MAX;
}

int idrange_allocate(const IdRange *ranges, size_t n, const uint32_t *used, size_t n_used,
                     uint32_t *ret_base)
{
        _cleanup_free_ uint32_t *sorted = NULL;
        if (n_used > 0) {
                sorted = malloc(n_used * sizeof *sorted);
                if (!sorted)
                        return -ENOMEM;
                memcpy(sorted, used, n_used * sizeof *sorted);
                qsort(sorted, n_used, sizeof *sorted, cmp_u32);
        }
        uint64_t best = UINT64_MAX;
        for (size_t i = 0; i < n; i++) {
                uint64_t a = first_free_in(&ranges[i], first_block(&ranges[i]), sorted, n_used);
                if (a < best)
                        best = a;
        }
        if (best == UINT64_MAX)
                return -ENOSPC;
        *ret_base = (uint32_t) best;
        return 0;
}

/* End of the first entry of f overlapping [a, a+count), or 0. */
static uint64_t overlap_end(const IdFile *f, uint64_t a, uint64_t count)
{
        if (!f)
                return 0;
        for (size_t i = 0; i < f->n_entries; i++) {
                uint64_t s = f->entries[i].range.start, e = s + f->entries[i].range.count;
                if (a < e && s < a + count)
                        return e;
        }
        return 0;
}

int idrange_pick_free_start_below(const IdFile *a, const IdFile *b, uint32_t floor, uint64_t limit, uint32_t count,
                                  uint32_t *ret_start)
{
        uint64_t s = ((uint64_t) floor + IDRANGE_BLOCK - 1) / IDRANGE_BLOCK * IDRANGE_BLOCK;
        if (s == 0)
                s = IDRANGE_BLOCK;
        if (limit > UINT32_MAX)
                limit = UINT32_MAX;
        while (s + count <= limit) {
                uint64_t e = overlap_end(a, s, count);
                if (e == 0)
                        e = overlap_end(b, s, count);
                if (e == 0) {
                        *ret_start = (uint32_t) s;
                        return 0;
                }
                s = (e + IDRANGE_BLOCK - 1) / IDRANGE_BLOCK * IDRANGE_BLOCK;
        }
        return -ENOSPC;
}

int idrange_pick_free_start(const IdFile *a, const IdFile *b, uint32_t floor, uint32_t count, uint32_t *ret_start)
{
        return idrange_pick_free_start_below(a, b, floor, UINT32_MAX, count, ret_start);
}

uint64_t idrange_count_addable(const IdFile *a, const IdFile *b, uint32_t floor, uint64_t limit)
{
        uint64_t n = 0;
        for (uint64_t s = ((uint64_t) floor + IDRANGE_BLOCK - 1) / IDRANGE_BLOCK * IDRANGE_BLOCK;
             s + IDRANGE_BLOCK <= limit && s + IDRANGE_BLOCK <= UINT32_MAX; s += IDRANGE_BLOCK) {
                if (s == 0)
                        continue;
                if (overlap_end(a, s, IDRANGE_BLOCK) == 0 && overlap_end(b, s, IDRANGE_BLOCK) == 0)
                        n++;
        }
        return n;
}

static int append_entry(const char *path, uint32_t start, uint32_t count, Error *err)
{
        _cleanup_free_ char *old = NULL;
        size_t old_len = 0;
        int r = read_full_file(path, 16 << 20, &old, &old_len);
        if (r < 0 && r != -ENOENT)
                return error_setc(err, -r, "reading %s", path);
        _cleanup_strbuf_ StrBuf b = STRBUF_INIT;
        if (old_len > 0) {
                strbuf_append(&b, old, old_len);
                if (old[old_len - 1] != '\n')
                        strbuf_putc(&b, '\n');
        }
        strbuf_printf(&b, "root:%u:%u\n", start, count);
        if (b.oom)
                return -ENOMEM;
        r = write_file_atomic(path, b.data, b.len, 0644);
        if (r < 0)
                return error_setc(err, -r, "writing %s", path);
        return 0;
}

int idrange_ensure_root(const char *subuid_path, const char *subgid_path, uint32_t min_blocks,
                        bool *ret_added, Error *err)
{
        _cleanup_id_file_ IdFile fu = { NULL, 0 }, fg = { NULL, 0 };
        int r = id_file_load(subuid_path, &fu, err);
        if (r < 0)
                return r;
        r = id_file_load(subgid_path, &fg, err);
        if (r < 0)
                return r;

        _cleanup_free_ IdRange *ru = NULL, *rg = NULL, *both = NULL;
        size_t nu, ng, nb;
        if (id_file_root_ranges(&fu, &ru, &nu) < 0 || id_file_root_ranges(&fg, &rg, &ng) < 0 ||
            idrange_intersect(ru, nu, rg, ng, &both, &nb) < 0)
                return -ENOMEM;
        if (ret_added)
                *ret_added = false;
        if (idrange_count_blocks(both, nb) >= min_blocks)
                return 0;

        uint64_t count64 = (uint64_t) min_blocks * IDRANGE_BLOCK;
        if (min_blocks == 0 || count64 > UINT32_MAX / 2)
                return error_set(err, EINVAL, "cannot reserve %u blocks of %u ids", min_blocks, IDRANGE_BLOCK);
        uint32_t start;
        r = idrange_pick_free_start_below(&fu, &fg, IDRANGE_FLOOR, IDRANGE_LIMIT, (uint32_t) count64, &start);
        if (r < 0)
                r = idrange_pick_free_start(&fu, &fg, IDRANGE_FLOOR, (uint32_t) count64, &start);
        if (r < 0)
                return error_set(err, ENOSPC, "no free range of %" PRIu64 " ids left in %s and %s",
                                 count64, subuid_path, subgid_path);
        /* subgid first: a crash in between leaves an unused gid entry,
         * never a uid range without its gids. */
        r = append_entry(subgid_path, start, (uint32_t) count64, err);
        if (r < 0)
                return r;
        r = append_entry(subuid_path, start, (uint32_t) count64, err);
        if (r < 0)
                return r;
        if (ret_added)
                *ret_added = true;
        return 0;
}

int idrange_grow_root(const char *subuid_path, const char *subgid_path, uint32_t blocks, IdRange *ret_added,
                      Error *err)
{
        _cleanup_id_file_ IdFile fu = { NULL, 0 }, fg = { NULL, 0 };
        int r = id_file_load(subuid_path, &fu, err);
        if (r >= 0)
                r = id_file_load(subgid_path, &fg, err);
        if (r < 0)
                return r;
        /* As many blocks as fit in one free stretch, up to blocks. */
        uint32_t start = 0, count = 0;
        for (uint32_t n = blocks; n > 0; n /= 2)
                if (idrange_pick_free_start_below(&fu, &fg, IDRANGE_FLOOR, IDRANGE_LIMIT, n * IDRANGE_BLOCK, &start) >= 0) {
                        count = n * IDRANGE_BLOCK;
                        break;
                }
        if (count == 0)
                return error_set(err, ENOSPC, "no free stretch of %u ids is left between %u and %u in %s and %s",
                                 IDRANGE_BLOCK, IDRANGE_FLOOR, IDRANGE_LIMIT, subuid_path, subgid_path);
        r = append_entry(subgid_path, start, count, err);
        if (r >= 0)
                r = append_entry(subuid_path, start, count, err);
        if (r < 0)
                return r;
        if (ret_added)
                *ret_added = (IdRange) { start, count };
        return 0;
}
