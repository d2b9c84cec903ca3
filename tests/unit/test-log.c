#include "base/log.h"
#include "base/fs.h"
#include "test.h"

TEST(levels_parse)
{
        ASSERT_EQ(log_level_from_string("debug"), LOG_LEVEL_DEBUG);
        ASSERT_EQ(log_level_from_string("warning"), LOG_LEVEL_WARN);
        ASSERT_EQ(log_level_from_string("loud"), _LOG_LEVEL_INVALID);
        ASSERT_STREQ(log_level_to_string(LOG_LEVEL_INFO), "info");
}

TEST(env_overrides_default)
{
        setenv("ENCLAVE_LOG", "debug", 1);
        log_setup(LOG_LEVEL_WARN);
        ASSERT_EQ(log_get_level(), LOG_LEVEL_DEBUG);
        setenv("ENCLAVE_LOG", "nonsense", 1);
        log_setup(LOG_LEVEL_ERROR);
        ASSERT_EQ(log_get_level(), LOG_LEVEL_ERROR);
        unsetenv("ENCLAVE_LOG");
}

TEST(threshold_filters_lines)
{
        int p[2];
        ASSERT_OK(pipe(p));
        log_set_fd(p[1]);
        log_set_level(LOG_LEVEL_WARN);
        log_info("hidden");
        log_warn("shown %d", 1);
        log_debug("hidden too");
        log_set_fd(2);
        close(p[1]);
        _cleanup_free_ char *buf = NULL;
        ASSERT_OK(read_full_fd(p[0], 4096, &buf, NULL));
        close(p[0]);
        ASSERT_STREQ(buf, "warn: shown 1\n");
}
