#include "base/error.h"
#include "test.h"

TEST(set_returns_negative_code)
{
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(error_set(&err, ENOENT, "no %s", "thing"), -ENOENT);
        ASSERT_EQ(err.code, ENOENT);
        ASSERT_STREQ(err.msg, "no thing");
}

TEST(setc_appends_cause)
{
        _cleanup_error_ Error err = ERROR_INIT;
        error_setc(&err, EACCES, "opening %s", "/x");
        ASSERT_STREQ(err.msg, "opening /x: Permission denied");
}

TEST(wrap_adds_context_outermost_first)
{
        _cleanup_error_ Error err = ERROR_INIT;
        error_setc(&err, EPERM, "mounting overlay");
        ASSERT_EQ(error_wrap(&err, "starting workspace %s", "api"), -EPERM);
        error_wrap(&err, "up");
        ASSERT_STREQ(err.msg, "up: starting workspace api: mounting overlay: Operation not permitted");
}

TEST(null_error_still_returns_code)
{
        ASSERT_EQ(error_set(NULL, EEXIST, "x"), -EEXIST);
        ASSERT_EQ(error_wrap(NULL, "x"), -EIO);
}

TEST(nonpositive_code_becomes_einval)
{
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(error_set(&err, 0, "bad"), -EINVAL);
        ASSERT_EQ(error_set(&err, -5, "bad"), -EINVAL);
}

TEST(wrap_without_message_uses_strerror)
{
        Error err = { .code = ENOSPC, .msg = NULL };
        error_wrap(&err, "writing");
        ASSERT_STREQ(err.msg, "writing: No space left on device");
        error_clear(&err);
        ASSERT_EQ(err.code, 0);
        ASSERT_NULL(err.msg);
}

TEST(move_transfers_ownership)
{
        _cleanup_error_ Error a = ERROR_INIT, b = ERROR_INIT;
        error_set(&a, EBUSY, "busy");
        error_move(&b, &a);
        ASSERT_EQ(a.code, 0);
        ASSERT_NULL(a.msg);
        ASSERT_STREQ(b.msg, "busy");
        ASSERT_STREQ(error_msg(&a), "unknown error");
}
