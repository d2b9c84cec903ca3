#include "base/fs.h"
#include "runtime/idrange.h"
#include "test.h"

#include <sys/stat.h>

TEST(parse_entries_and_root_ranges)
{
        _cleanup_id_file_ IdFile f = { NULL, 0 };
        ASSERT_OK(id_file_parse("# comment\nalice:100000:65536\n\nroot:1073741824:131072\r\n0:5000000:65536", &f, NULL));
        ASSERT_EQ(f.n_entries, 3);
        ASSERT_STREQ(f.entries[0].owner, "alice");
        ASSERT_EQ(f.entries[0].range.start, 100000);
        _cleanup_free_ IdRange *r = NULL;
        size_t n;
        ASSERT_OK(id_file_root_ranges(&f, &r, &n));
        ASSERT_EQ(n, 2);
        ASSERT_EQ(r[0].start, 1073741824u);
        ASSERT_EQ(r[0].count, 131072);
        ASSERT_EQ(r[1].start, 5000000);
}

TEST(parse_rejects_garbage_with_line_number)
{
        const char *bad[] = { "root:1:", "root::5", ":1:2", "root:x:5", "root:1:0", "root:4294967295:2", "root" };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                _cleanup_error_ Error err = ERROR_INIT;
                IdFile f = { NULL, 0 };
                ASSERT_EQ(id_file_parse(bad[i], &f, &err), -EINVAL);
                ASSERT_CONTAINS(error_msg(&err), "line 1");
        }
        _cleanup_error_ Error err = ERROR_INIT;
        IdFile f = { NULL, 0 };
        ASSERT_EQ(id_file_parse("a:1:2\nb:1:x\n", &f, &err), -EINVAL);
        ASSERT_CONTAINS(error_msg(&err), "line 2");
}

TEST(allocate_aligned_blocks_never_overlapping)
{
        IdRange pool[] = { { 100000, 300000 } };
        /* Aligned blocks inside [100000, 400000): 131072, 196608, 262144, 327680. */
        ASSERT_EQ(idrange_count_blocks(pool, 1), 4);
        uint32_t used[4];
        size_t n_used = 0;
        for (int i = 0; i < 4; i++) {
                uint32_t b;
                ASSERT_OK(idrange_allocate(pool, 1, used, n_used, &b));
                ASSERT_EQ(b % IDRANGE_BLOCK, 0);
                ASSERT_TRUE(b >= 100000 && b + IDRANGE_BLOCK <= 400000);
                for (size_t j = 0; j < n_used; j++)
                        ASSERT_TRUE(b >= used[j] + IDRANGE_BLOCK || used[j] >= b + IDRANGE_BLOCK);
                used[n_used++] = b;
        }
        uint32_t b;
        ASSERT_EQ(idrange_allocate(pool, 1, used, n_used, &b), -ENOSPC);
}

TEST(allocate_skips_unaligned_used_bases_and_id_zero)
{
        IdRange pool[] = { { 0, 4 * IDRANGE_BLOCK } };
        uint32_t b;
        /* Block 0 contains host id 0: never handed out. */
        ASSERT_OK(idrange_allocate(pool, 1, NULL, 0, &b));
        ASSERT_EQ(b, IDRANGE_BLOCK);
        /* A legacy unaligned base blocks both aligned blocks it touches. */
        uint32_t used[] = { IDRANGE_BLOCK + 10 };
        ASSERT_OK(idrange_allocate(pool, 1, used, 1, &b));
        ASSERT_EQ(b, 3 * IDRANGE_BLOCK);
        /* Small or empty pools. */
        IdRange tiny[] = { { 1, 1000 } };
        ASSERT_EQ(idrange_allocate(tiny, 1, NULL, 0, &b), -ENOSPC);
        ASSERT_EQ(idrange_allocate(NULL, 0, NULL, 0, &b), -ENOSPC);
        /* The block may not reach (uid_t)-1. */
        IdRange top[] = { { UINT32_MAX - IDRANGE_BLOCK, IDRANGE_BLOCK } };
        ASSERT_EQ(idrange_count_blocks(top, 1), 0);
}

TEST(allocate_prefers_lowest_block_across_ranges)
{
        IdRange pool[] = { { 10 * IDRANGE_BLOCK, IDRANGE_BLOCK }, { 2 * IDRANGE_BLOCK, IDRANGE_BLOCK } };
        uint32_t b;
        ASSERT_OK(idrange_allocate(pool, 2, NULL, 0, &b));
        ASSERT_EQ(b, 2 * IDRANGE_BLOCK);
        uint32_t used[] = { 2 * IDRANGE_BLOCK };
        ASSERT_OK(idrange_allocate(pool, 2, used, 1, &b));
        ASSERT_EQ(b, 10 * IDRANGE_BLOCK);
}

TEST(intersect_uid_and_gid_ranges)
{
        IdRange a[] = { { 100, 100 }, { 1000, 50 } };
        IdRange g[] = { { 150, 900 } };
        _cleanup_free_ IdRange *r = NULL;
        size_t n;
        ASSERT_OK(idrange_intersect(a, 2, g, 1, &r, &n));
        ASSERT_EQ(n, 2);
        ASSERT_EQ(r[0].start, 150);
        ASSERT_EQ(r[0].count, 50);
        ASSERT_EQ(r[1].start, 1000);
        ASSERT_EQ(r[1].count, 50);
}

TEST(pick_free_start_avoids_every_owner)
{
        _cleanup_id_file_ IdFile u = { NULL, 0 }, g = { NULL, 0 };
        ASSERT_OK(id_file_parse("alice:1073741824:65536\nbob:1073807360:100\n", &u, NULL));
        ASSERT_OK(id_file_parse("carol:1073872896:1\n", &g, NULL));
        uint32_t s;
        ASSERT_OK(idrange_pick_free_start(&u, &g, 1U << 30, 10 * IDRANGE_BLOCK, &s));
        ASSERT_EQ(s % IDRANGE_BLOCK, 0);
        ASSERT_TRUE(s >= 1073872896u + 1);
        ASSERT_OK(idrange_pick_free_start(&u, NULL, 0, IDRANGE_BLOCK, &s));
        ASSERT_EQ(s, IDRANGE_BLOCK);
        ASSERT_EQ(idrange_pick_free_start(&u, &g, 0, UINT32_MAX, &s), -ENOSPC);
}

TEST(ensure_root_appends_once_to_both_files)
{
        char tmpl[] = "/tmp/enctest-idrange-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        _cleanup_free_ char *su = path_join(tmpl, "subuid"), *sg = path_join(tmpl, "subgid");
        const char *existing = "alice:100000:65536\nroot:100000000:10";
        ASSERT_OK(write_file_atomic(su, existing, strlen(existing), 0644));
        bool added = false;
        ASSERT_OK(idrange_ensure_root(su, sg, 16, &added, NULL));
        ASSERT_TRUE(added);

        _cleanup_id_file_ IdFile fu = { NULL, 0 }, fg = { NULL, 0 };
        ASSERT_OK(id_file_load(su, &fu, NULL));
        ASSERT_OK(id_file_load(sg, &fg, NULL));
        ASSERT_EQ(fu.n_entries, 3);
        ASSERT_EQ(fg.n_entries, 1);
        ASSERT_STREQ(fu.entries[0].owner, "alice");
        ASSERT_STREQ(fu.entries[2].owner, "root");
        ASSERT_EQ(fu.entries[2].range.start, fg.entries[0].range.start);
        ASSERT_EQ(fu.entries[2].range.count, 16 * IDRANGE_BLOCK);
        ASSERT_EQ(fu.entries[2].range.start % IDRANGE_BLOCK, 0);
        struct stat st;
        ASSERT_OK(stat(su, &st));
        ASSERT_EQ(st.st_mode & 0777, 0644);

        /* Second call: enough blocks exist, nothing changes. */
        ASSERT_OK(idrange_ensure_root(su, sg, 16, &added, NULL));
        ASSERT_FALSE(added);
        _cleanup_id_file_ IdFile again = { NULL, 0 };
        ASSERT_OK(id_file_load(su, &again, NULL));
        ASSERT_EQ(again.n_entries, 3);
        ASSERT_OK(rm_rf(tmpl));
}

TEST(allocate_with_thousands_used_is_lowest_free)
{
        /* 10,000 workspaces: the allocator must stay exact (and fast). */
        IdRange pool[] = { { IDRANGE_FLOOR, 16384 * IDRANGE_BLOCK } };
        static uint32_t used[10000];
        for (size_t i = 0; i < ELEMENTSOF(used); i++) /* every block but 5000, in reverse order */
                used[i] = IDRANGE_FLOOR + (uint32_t) (ELEMENTSOF(used) - i - (i >= 5000)) * IDRANGE_BLOCK;
        used[4999] = IDRANGE_FLOOR; /* and block 0 of the pool */
        uint32_t b;
        ASSERT_OK(idrange_allocate(pool, 1, used, ELEMENTSOF(used), &b));
        ASSERT_EQ(b, IDRANGE_FLOOR + 5000u * IDRANGE_BLOCK);
}

TEST(grow_root_stays_below_2_31_and_counts_what_is_left)
{
        char tmpl[] = "/tmp/enctest-idrange-XXXXXX";
        ASSERT_NOT_NULL(mkdtemp(tmpl));
        _cleanup_free_ char *su = path_join(tmpl, "subuid"), *sg = path_join(tmpl, "subgid");
        /* Root has [2^30, 2^30 + 1024 blocks); someone else all but 3 blocks below 2^31. */
        char text[200];
        uint32_t other = IDRANGE_FLOOR + 1024 * IDRANGE_BLOCK;
        int len = snprintf(text, sizeof text, "root:%u:%u\nalice:%u:%u\n", IDRANGE_FLOOR, 1024 * IDRANGE_BLOCK, other,
                           IDRANGE_LIMIT - other - 3 * IDRANGE_BLOCK);
        ASSERT_OK(write_file_atomic(su, text, (size_t) len, 0644));
        ASSERT_OK(write_file_atomic(sg, text, (size_t) len, 0644));
        _cleanup_id_file_ IdFile u = { NULL, 0 };
        ASSERT_OK(id_file_load(su, &u, NULL));
        ASSERT_EQ(idrange_count_addable(&u, NULL, IDRANGE_FLOOR, IDRANGE_LIMIT), 3);
        /* Only 3 blocks fit: the range added is that long, not 1024. */
        IdRange added;
        ASSERT_OK(idrange_grow_root(su, sg, 1024, &added, NULL));
        ASSERT_EQ(added.start, IDRANGE_LIMIT - 3 * IDRANGE_BLOCK);
        ASSERT_EQ(added.count, 2 * IDRANGE_BLOCK); /* the largest power-of-two share that fits */
        ASSERT_OK(idrange_grow_root(su, sg, 1024, &added, NULL));
        ASSERT_EQ(added.count, IDRANGE_BLOCK);
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(idrange_grow_root(su, sg, 1024, &added, &err), -ENOSPC);
        ASSERT_CONTAINS(error_msg(&err), "no free stretch");
        _cleanup_free_ IdRange *pool = NULL;
        size_t n;
        ASSERT_OK(idrange_load_pool(su, sg, &pool, &n, NULL, NULL, NULL));
        ASSERT_EQ(idrange_count_blocks(pool, n), 1024 + 3);
        ASSERT_OK(rm_rf(tmpl));
}
