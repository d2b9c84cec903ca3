/* The pure parts of snapshots: name rules, timestamp names, which
 * snapshots gc keeps, and the metadata file format. */
#include "test.h"

#include "storage/snapshot.h"

TEST(valid_names)
{
        ASSERT_TRUE(snapshot_name_is_valid("a"));
        ASSERT_TRUE(snapshot_name_is_valid("before-upgrade"));
        ASSERT_TRUE(snapshot_name_is_valid("20250101-120000"));
        ASSERT_TRUE(snapshot_name_is_valid("A_b-9"));
        char max[SNAPSHOT_NAME_MAX + 1];
        memset(max, 'x', SNAPSHOT_NAME_MAX);
        max[SNAPSHOT_NAME_MAX] = 0;
        ASSERT_TRUE(snapshot_name_is_valid(max));
}

TEST(invalid_names)
{
        static const char *const bad[] = {
                "", ".", "..", "../x", "a/b", "/abs", "x/..", ".hidden", "-dash", "_under", "sp ace",
                "tab\t", "new\nline", "dot.name", "a\\b", "\xc3\xbc", "*", ".restore-tmp",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                if (snapshot_name_is_valid(bad[i]))
                        TEST_FAIL("\"%s\" accepted", bad[i]);
                Error err = ERROR_INIT;
                ASSERT_EQ(snapshot_check_name(bad[i], &err), -EINVAL);
                ASSERT_CONTAINS(error_msg(&err), "invalid snapshot name");
                error_clear(&err);
        }
        ASSERT_FALSE(snapshot_name_is_valid(NULL));
        char longer[SNAPSHOT_NAME_MAX + 2];
        memset(longer, 'x', SNAPSHOT_NAME_MAX + 1);
        longer[SNAPSHOT_NAME_MAX + 1] = 0;
        ASSERT_FALSE(snapshot_name_is_valid(longer));
}

TEST(time_names)
{
        char buf[SNAPSHOT_NAME_MAX + 1];
        /* 2024-02-29 13:05:09 UTC */
        ASSERT_OK(snapshot_name_from_time(1709211909, 1, buf, sizeof buf));
        ASSERT_STREQ(buf, "20240229-130509");
        ASSERT_TRUE(snapshot_name_is_valid(buf));
        ASSERT_OK(snapshot_name_from_time(1709211909, 2, buf, sizeof buf));
        ASSERT_STREQ(buf, "20240229-130509-2");
        ASSERT_TRUE(snapshot_name_is_valid(buf));
        ASSERT_OK(snapshot_name_from_time(0, 0, buf, sizeof buf));
        ASSERT_STREQ(buf, "19700101-000000");
        char small[8];
        ASSERT_EQ(snapshot_name_from_time(0, 1, small, sizeof small), -ENOBUFS);
}

static SnapshotInfo *make_infos(const char *const *names, const int64_t *times, size_t n)
{
        SnapshotInfo *a = calloc(n, sizeof *a);
        for (size_t i = 0; a && i < n; i++) {
                a[i].name = strdup(names[i]);
                a[i].created_usec = times[i];
        }
        return a;
}

TEST(gc_keeps_newest)
{
        static const char *const names[] = { "c", "a", "e", "b", "d" };
        static const int64_t times[] = { 300, 100, 500, 200, 400 };
        SnapshotInfo *a = make_infos(names, times, 5);
        ASSERT_NOT_NULL(a);
        size_t kept = snapshot_gc_select(a, 5, 2);
        ASSERT_EQ(kept, 2);
        ASSERT_STREQ(a[0].name, "e");
        ASSERT_STREQ(a[1].name, "d");
        ASSERT_STREQ(a[2].name, "c");
        ASSERT_STREQ(a[3].name, "b");
        ASSERT_STREQ(a[4].name, "a");
        snapshot_info_array_free(a, 5);
}

TEST(gc_edges)
{
        static const char *const names[] = { "x", "y", "z" };
        static const int64_t times[] = { 7, 7, 7 };
        SnapshotInfo *a = make_infos(names, times, 3);
        ASSERT_NOT_NULL(a);
        /* Same second: the name decides, so the choice is stable. */
        ASSERT_EQ(snapshot_gc_select(a, 3, 1), 1);
        ASSERT_STREQ(a[0].name, "z");
        ASSERT_STREQ(a[2].name, "x");
        ASSERT_EQ(snapshot_gc_select(a, 3, 0), 0);
        ASSERT_EQ(snapshot_gc_select(a, 3, 3), 3);
        ASSERT_EQ(snapshot_gc_select(a, 3, 100), 3);
        ASSERT_EQ(snapshot_gc_select(NULL, 0, 5), 0);
        snapshot_sort_oldest_first(a, 3);
        ASSERT_STREQ(a[0].name, "x");
        ASSERT_STREQ(a[2].name, "z");
        snapshot_info_array_free(a, 3);
}

TEST(json_round_trip)
{
        SnapshotInfo in = {
                .name = (char *) "nightly-1",
                .created_usec = 1709211909123456,
                .bytes = 209715200,
                .entries = 10042,
                .has_home = true,
                .uid_base = 3000000000u,
                .gid_base = 3000065536u,
        };
        char *text = NULL;
        ASSERT_OK(snapshot_info_to_json(&in, &text));
        ASSERT_CONTAINS(text, "\"uid_base\": 3000000000");
        SnapshotInfo out = { 0 };
        Error err = ERROR_INIT;
        ASSERT_OK(snapshot_info_from_json(text, &out, &err));
        free(text);
        ASSERT_STREQ(out.name, "nightly-1");
        ASSERT_EQ(out.created_usec, in.created_usec);
        ASSERT_EQ(out.bytes, in.bytes);
        ASSERT_EQ(out.entries, in.entries);
        ASSERT_TRUE(out.has_home);
        ASSERT_EQ(out.uid_base, in.uid_base);
        ASSERT_EQ(out.gid_base, in.gid_base);
        snapshot_info_done(&out);
        ASSERT_NULL(out.name);
}

TEST(json_rejects)
{
        static const char *const bad[] = {
                "",
                "[]",
                "{\"format\": 2, \"name\": \"a\", \"created_usec\": 1, \"bytes\": 0, \"entries\": 1, \"has_home\": false, \"uid_base\": 0, \"gid_base\": 0}",
                "{\"format\": 1, \"name\": \"../a\", \"created_usec\": 1, \"bytes\": 0, \"entries\": 1, \"has_home\": false, \"uid_base\": 0, \"gid_base\": 0}",
                "{\"format\": 1, \"name\": \"a\", \"created_usec\": -1, \"bytes\": 0, \"entries\": 1, \"has_home\": false, \"uid_base\": 0, \"gid_base\": 0}",
                "{\"format\": 1, \"name\": \"a\", \"created_usec\": 1, \"bytes\": 0, \"entries\": 1, \"has_home\": false, \"uid_base\": 4294967296, \"gid_base\": 0}",
                "{\"format\": 1, \"name\": \"a\", \"created_usec\": 1, \"bytes\": 0, \"entries\": 1, \"has_home\": 1, \"uid_base\": 0, \"gid_base\": 0}",
                "{\"format\": 1, \"name\": \"a\", \"created_usec\": 1, \"bytes\": 0, \"entries\": 1, \"has_home\": false, \"uid_base\": 0}",
                "{\"format\": 1, \"format\": 1, \"name\": \"a\", \"created_usec\": 1, \"bytes\": 0, \"entries\": 1, \"has_home\": false, \"uid_base\": 0, \"gid_base\": 0}",
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                SnapshotInfo out = { 0 };
                Error err = ERROR_INIT;
                if (snapshot_info_from_json(bad[i], &out, &err) != -EINVAL)
                        TEST_FAIL("metadata %zu accepted: %s", i, bad[i]);
                ASSERT_NULL(out.name);
                ASSERT_NOT_NULL(err.msg);
                error_clear(&err);
        }
}
