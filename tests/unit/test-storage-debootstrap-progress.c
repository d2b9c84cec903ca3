#include "test.h"

#include "storage/debootstrap-progress.h"

static StorageProgress parse(DebootstrapParser *p, const char *line)
{
        StorageProgress ev;
        if (debootstrap_parse_line(p, line, &ev) != 1)
                TEST_FAIL("no event for \"%s\"", line);
        return ev;
}

TEST(packages_are_counted_per_stage)
{
        DebootstrapParser p = { 0 };
        StorageProgress e = parse(&p, "I: Retrieving InRelease ");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_RETRIEVING);
        ASSERT_STREQ(e.item, "InRelease");
        ASSERT_EQ(e.done, 0);
        e = parse(&p, "I: Retrieving libc6 2.36-9+deb12u4");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_RETRIEVING);
        ASSERT_STREQ(e.item, "libc6");
        ASSERT_EQ(e.done, 1);
        e = parse(&p, "I: Validating libc6 2.36-9+deb12u4");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_VALIDATING);
        ASSERT_EQ(e.done, 1);
        e = parse(&p, "I: Retrieving apt 2.6.1");
        ASSERT_EQ(e.done, 2);
        e = parse(&p, "I: Extracting libc6...");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_EXTRACTING);
        ASSERT_STREQ(e.item, "libc6");
        ASSERT_EQ(e.done, 1);
        e = parse(&p, "I: Unpacking required packages...");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_UNPACKING);
        ASSERT_NULL(e.item);
        ASSERT_EQ(e.done, 0);
        e = parse(&p, "I: Unpacking libc6:amd64...");
        ASSERT_STREQ(e.item, "libc6:amd64");
        ASSERT_EQ(e.done, 1);
        ASSERT_EQ(e.total, 2);
        e = parse(&p, "I: Configuring the base system...");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_CONFIGURING);
        ASSERT_NULL(e.item);
        e = parse(&p, "I: Configuring apt...");
        ASSERT_STREQ(e.item, "apt");
        ASSERT_EQ(e.done, 1);
        ASSERT_EQ(e.total, 2);
        ASSERT_STREQ(e.message, "Configuring apt...");
}

TEST(levels_and_other_lines)
{
        DebootstrapParser p = { 0 };
        StorageProgress e = parse(&p, "W: Cannot check Release signature; keyring file not available");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_WARNING);
        ASSERT_STREQ(e.message, "Cannot check Release signature; keyring file not available");
        e = parse(&p, "E: Failed getting release file http://x/dists/bookworm/Release");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_ERROR);
        e = parse(&p, "I: Base system installed successfully.");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_INFO);
        e = parse(&p, "dpkg: warning: something");
        ASSERT_EQ(e.stage, PROGRESS_STAGE_INFO);
        ASSERT_STREQ(e.message, "dpkg: warning: something");
        StorageProgress ev;
        ASSERT_EQ(debootstrap_parse_line(&p, "", &ev), 0);
        /* More configured than retrieved: the total is unknown, not wrong. */
        e = parse(&p, "I: Configuring x...");
        ASSERT_EQ(e.total, 0);
}

TEST(stage_names_round_trip)
{
        for (int i = 0; i < _PROGRESS_STAGE_MAX; i++)
                ASSERT_EQ(progress_stage_from_string(progress_stage_to_string((ProgressStage) i)), i);
        ASSERT_EQ(progress_stage_from_string("nope"), _PROGRESS_STAGE_INVALID);
}
