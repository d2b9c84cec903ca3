/* The CLI and the daemon name actions from one list (proto/actions.h):
 * the daemon's action tables serve exactly the names of that list, once
 * each, all valid. (tests/conformance/test-action-names.sh checks that
 * the CLI writes no action name of its own.) */
#include "test.h"
#include "daemon/action.h"
#include "proto/actions.h"
#include "proto/message.h"
#include "base/str.h"

static bool in_proto_list(const char *name)
{
        for (size_t i = 0; proto_action_names[i]; i++)
                if (streq(proto_action_names[i], name))
                        return true;
        return false;
}

TEST(every_listed_name_is_valid_and_unique)
{
        size_t n = 0;
        for (size_t i = 0; proto_action_names[i]; i++, n++) {
                if (!action_name_is_valid(proto_action_names[i]))
                        TEST_FAIL("proto/actions.h: \"%s\" is not a valid action name", proto_action_names[i]);
                for (size_t j = 0; j < i; j++)
                        if (streq(proto_action_names[i], proto_action_names[j]))
                                TEST_FAIL("proto/actions.h lists \"%s\" twice", proto_action_names[i]);
        }
        ASSERT_TRUE(n > 0);
}

TEST(every_daemon_action_is_listed_once)
{
        size_t n = 0;
        for (const Action *a; (a = actions_at(n)); n++) {
                if (!in_proto_list(a->name))
                        TEST_FAIL("the daemon serves \"%s\", which proto/actions.h does not list", a->name);
                for (size_t j = 0; j < n; j++)
                        if (streq(actions_at(j)->name, a->name))
                                TEST_FAIL("two daemon tables serve \"%s\"", a->name);
        }
        ASSERT_TRUE(n > 0);
}

TEST(every_listed_name_is_served)
{
        for (size_t i = 0; proto_action_names[i]; i++) {
                const Action *a = actions_find(proto_action_names[i], true);
                if (!a)
                        TEST_FAIL("proto/actions.h lists \"%s\", which no daemon table serves", proto_action_names[i]);
                if (action_is_reserved(proto_action_names[i]))
                        TEST_FAIL("\"%s\" is both served and reserved", proto_action_names[i]);
        }
}

TEST(test_actions_only_when_enabled)
{
        ASSERT_NOT_NULL(actions_find(PROTO_ACTION_DEBUG_SLEEP, true));
        ASSERT_NULL(actions_find(PROTO_ACTION_DEBUG_SLEEP, false));
        ASSERT_NOT_NULL(actions_find(PROTO_ACTION_DAEMON_PING, false));
}
