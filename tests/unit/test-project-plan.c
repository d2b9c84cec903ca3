/* The plan of `enclave up` (src/engine/project.h): pure decisions from
 * (Enclavefile, registry state, options), and the daemon's re-check of
 * the configuration a client sends. */
#include "engine/project.h"
#include "engine/project-ps.h"
#include "registry/registry-sandbox.h"
#include "base/str.h"
#include "test.h"

/* Globals released at the start of each use: a failed ASSERT longjmps
 * past cleanup attributes. */
static Enclavefile *desired, *previous;
static ProjectPlan *plan;
static json_t *defs[8];

static void reset(void)
{
        desired = enclavefile_free(desired);
        previous = enclavefile_free(previous);
        plan = project_plan_free(plan);
        for (size_t i = 0; i < ELEMENTSOF(defs); i++) {
                json_decref(defs[i]);
                defs[i] = NULL;
        }
}

/* Parse TOML, then go through JSON as the request does. */
static Enclavefile *load(const char *toml)
{
        _cleanup_diagnostics_ Diagnostics diag = DIAGNOSTICS_INIT;
        _cleanup_enclavefile_ Enclavefile *ef = NULL;
        if (enclavefile_parse_buffer(toml, strlen(toml), "Enclavefile", "/tmp", &ef, &diag) < 0) {
                _cleanup_free_ char *s = diagnostics_format(&diag);
                TEST_FAIL("parse: %s", s ? s : "?");
        }
        free(ef->path);
        ef->path = strdup("/srv/proj/Enclavefile");
        json_auto_t *j = enclavefile_to_json(ef);
        ASSERT_NOT_NULL(j);
        _cleanup_error_ Error err = ERROR_INIT;
        Enclavefile *back = NULL;
        if (project_config_from_json(j, &back, &err) < 0)
                TEST_FAIL("from json: %s", error_msg(&err));
        return back;
}

static const char base_toml[] =
        "[sandbox]\nname = \"sb\"\nsetup = [\"echo one\"]\nmemory_mb = 512\n"
        "[workspace.a]\nenv = { X = \"1\" }\nports = [\"127.0.0.1:3001:3000\"]\n"
        "[workspace.b]\nrun = \"sleep 100\"\nmemory_mb = 64\n"
        "[workspace.c]\n";

static char digest[SHA256_HEX_SIZE];

/* The registry as the previous `up` of base_toml left it. */
static ProjectCurrentWorkspace cur_ws[4];

static ProjectCurrent current_after_up(const Enclavefile *ef, const char *state)
{
        spec_setup_digest(ef->sandbox.setup, digest);
        for (size_t i = 0; i < ef->n_workspaces && i < ELEMENTSOF(cur_ws); i++) {
                json_decref(defs[i]);
                defs[i] = workspace_spec_to_json(&ef->workspaces[i], SPEC_JSON_DEFINITION);
                cur_ws[i] = (ProjectCurrentWorkspace) { ef->workspaces[i].name, state, defs[i] };
        }
        return (ProjectCurrent) {
                .sandbox_exists = true,
                .sandbox_state = SANDBOX_STATE_READY,
                .setup_digest = digest,
                .suite = ef->sandbox.suite,
                .mirror = ef->sandbox.mirror,
                .bootstrap_method = ef->sandbox.bootstrap_method,
                .caps = ef->sandbox.caps,
                .workspaces = cur_ws,
                .n_workspaces = ef->n_workspaces,
        };
}

static void build(const ProjectCurrent *cur, bool rebuild, bool remove_orphans)
{
        _cleanup_error_ Error err = ERROR_INIT;
        ProjectOptions o = { .rebuild = rebuild, .remove_orphans = remove_orphans };
        plan = project_plan_free(plan);
        if (project_plan_build(desired, cur, &o, &plan, &err) < 0)
                TEST_FAIL("plan: %s", error_msg(&err));
}

TEST(fresh_up_creates_everything)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = {};
        build(&cur, false, false);
        ASSERT_TRUE(plan->create_sandbox);
        ASSERT_FALSE(plan->destroy_sandbox);
        ASSERT_TRUE(plan->run_setup);
        ASSERT_EQ(plan->n_workspaces, 3);
        for (size_t i = 0; i < 3; i++) {
                ASSERT_EQ(plan->workspaces[i].action, PROJECT_WS_CREATE);
                ASSERT_TRUE(plan->workspaces[i].start);
                ASSERT_FALSE(plan->workspaces[i].restart);
        }
        ASSERT_STREQ(plan->workspaces[1].ws->name, "b");
        ASSERT_NULL(plan->orphans[0]);
        ASSERT_FALSE(project_plan_is_noop(plan));
}

TEST(fresh_up_without_setup_skips_setup)
{
        reset();
        desired = load("[sandbox]\nname = \"sb\"\n");
        ProjectCurrent cur = {};
        build(&cur, false, false);
        ASSERT_TRUE(plan->create_sandbox);
        ASSERT_FALSE(plan->run_setup);
        ASSERT_EQ(plan->n_workspaces, 0);
}

TEST(unchanged_running_is_noop)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        build(&cur, false, false);
        ASSERT_TRUE(project_plan_is_noop(plan));
        ASSERT_FALSE(plan->run_setup);
        for (size_t i = 0; i < 3; i++)
                ASSERT_EQ(plan->workspaces[i].action, PROJECT_WS_UNCHANGED);
}

TEST(unchanged_stopped_starts_only)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "stopped");
        cur.sandbox_state = SANDBOX_STATE_STOPPED;
        build(&cur, false, false);
        ASSERT_TRUE(plan->start_sandbox);
        ASSERT_FALSE(plan->run_setup);
        ASSERT_FALSE(plan->create_sandbox);
        for (size_t i = 0; i < 3; i++) {
                ASSERT_EQ(plan->workspaces[i].action, PROJECT_WS_UNCHANGED);
                ASSERT_TRUE(plan->workspaces[i].start);
                ASSERT_FALSE(plan->workspaces[i].restart);
        }
}

TEST(changed_setup_reruns_setup)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        cur.setup_digest = "0000";
        build(&cur, false, false);
        ASSERT_TRUE(plan->run_setup);
        ASSERT_FALSE(plan->create_sandbox);
        ASSERT_EQ(plan->workspaces[0].action, PROJECT_WS_UNCHANGED);
        /* setup changes the rootfs under them: all running ones restart */
        for (size_t i = 0; i < 3; i++)
                ASSERT_TRUE(plan->workspaces[i].restart);
}

TEST(setup_never_completed_runs)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        cur.setup_digest = NULL;
        build(&cur, false, false);
        ASSERT_TRUE(plan->run_setup);
}

TEST(empty_setup_never_run_is_complete)
{
        reset();
        desired = load("[sandbox]\nname = \"sb\"\n[workspace.a]\n");
        ProjectCurrent cur = current_after_up(desired, "running");
        cur.setup_digest = NULL;
        build(&cur, false, false);
        ASSERT_FALSE(plan->run_setup);
        ASSERT_TRUE(project_plan_is_noop(plan));
}

TEST(changed_env_restarts_only_that_workspace)
{
        reset();
        /* The registry holds the old file's definitions. */
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        previous = desired;
        desired = load("[sandbox]\nname = \"sb\"\nsetup = [\"echo one\"]\nmemory_mb = 512\n"
                       "[workspace.a]\nenv = { X = \"2\" }\nports = [\"127.0.0.1:3001:3000\"]\n"
                       "[workspace.b]\nrun = \"sleep 100\"\nmemory_mb = 64\n"
                       "[workspace.c]\n");
        build(&cur, false, false);
        ASSERT_EQ(plan->workspaces[0].action, PROJECT_WS_UPDATE);
        ASSERT_STREQ(plan->workspaces[0].changed[0], "env");
        ASSERT_NULL(plan->workspaces[0].changed[1]);
        ASSERT_TRUE(plan->workspaces[0].restart);
        ASSERT_FALSE(plan->workspaces[0].start);
        ASSERT_EQ(plan->workspaces[1].action, PROJECT_WS_UNCHANGED);
        ASSERT_FALSE(plan->workspaces[1].restart);
        ASSERT_EQ(plan->workspaces[2].action, PROJECT_WS_UNCHANGED);
        ASSERT_FALSE(plan->run_setup);
}

TEST(ports_only_republish_without_restart)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        previous = desired;
        desired = load("[sandbox]\nname = \"sb\"\nsetup = [\"echo one\"]\nmemory_mb = 512\n"
                       "[workspace.a]\nenv = { X = \"1\" }\nports = [\"127.0.0.1:3002:3000\"]\n"
                       "[workspace.b]\nrun = \"sleep 100\"\nmemory_mb = 64\n"
                       "[workspace.c]\n");
        build(&cur, false, false);
        ASSERT_EQ(plan->workspaces[0].action, PROJECT_WS_UPDATE);
        ASSERT_FALSE(plan->workspaces[0].restart);
        ASSERT_TRUE(plan->workspaces[0].republish);
}

TEST(changed_limit_of_stopped_workspace_updates_then_starts)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "stopped");
        previous = desired;
        desired = load("[sandbox]\nname = \"sb\"\nsetup = [\"echo one\"]\nmemory_mb = 512\n"
                       "[workspace.a]\nenv = { X = \"1\" }\nports = [\"127.0.0.1:3001:3000\"]\n"
                       "[workspace.b]\nrun = \"sleep 100\"\nmemory_mb = 128\n"
                       "[workspace.c]\n");
        build(&cur, false, false);
        ASSERT_EQ(plan->workspaces[1].action, PROJECT_WS_UPDATE);
        ASSERT_STREQ(plan->workspaces[1].changed[0], "memory_mb");
        ASSERT_FALSE(plan->workspaces[1].restart);
        ASSERT_TRUE(plan->workspaces[1].start);
}

TEST(reordered_lists_are_no_change)
{
        reset();
        desired = load("[sandbox]\nname = \"sb\"\n[workspace.a]\nauth = [\"npm\", \"github\"]\n"
                       "ports = [\"127.0.0.1:1:1\", \"127.0.0.1:2:2\"]\nenv = { A = \"1\", B = \"2\" }\n");
        ProjectCurrent cur = current_after_up(desired, "running");
        previous = desired;
        desired = load("[sandbox]\nname = \"sb\"\n[workspace.a]\nauth = [\"github\", \"npm\"]\n"
                       "ports = [\"127.0.0.1:2:2\", \"127.0.0.1:1:1\"]\nenv = { B = \"2\", A = \"1\" }\n");
        build(&cur, false, false);
        ASSERT_TRUE(project_plan_is_noop(plan));
}

TEST(orphans_reported_and_removed_only_on_request)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        previous = desired;
        desired = load("[sandbox]\nname = \"sb\"\nsetup = [\"echo one\"]\nmemory_mb = 512\n"
                       "[workspace.b]\nrun = \"sleep 100\"\nmemory_mb = 64\n");
        build(&cur, false, false);
        ASSERT_STREQ(plan->orphans[0], "a");
        ASSERT_STREQ(plan->orphans[1], "c");
        ASSERT_NULL(plan->orphans[2]);
        ASSERT_FALSE(plan->remove_orphans);
        ASSERT_TRUE(project_plan_is_noop(plan));
        build(&cur, false, true);
        ASSERT_TRUE(plan->remove_orphans);
        ASSERT_FALSE(project_plan_is_noop(plan));
}

TEST(rebuild_recreates)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        build(&cur, true, false);
        ASSERT_TRUE(plan->destroy_sandbox);
        ASSERT_TRUE(plan->create_sandbox);
        ASSERT_TRUE(plan->run_setup);
        for (size_t i = 0; i < 3; i++)
                ASSERT_EQ(plan->workspaces[i].action, PROJECT_WS_CREATE);
        ASSERT_NULL(plan->orphans[0]);
}

TEST(changed_caps_and_created_only_keys)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        cur.caps.memory_mb = 1024;
        cur.suite = "bullseye";
        build(&cur, false, false);
        ASSERT_TRUE(plan->update_caps);
        ASSERT_NOT_NULL(plan->notes[0]);
        ASSERT_CONTAINS(plan->notes[0], "suite 'bullseye'");
        ASSERT_CONTAINS(plan->notes[0], "--rebuild");
}

TEST(busy_sandbox_refused)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        cur.sandbox_state = SANDBOX_STATE_SETTING_UP;
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(project_plan_build(desired, &cur, NULL, &plan, &err), -EBUSY);
        ASSERT_CONTAINS(error_msg(&err), "setting-up");
}

TEST(unknown_definition_counts_as_changed)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = current_after_up(desired, "running");
        cur_ws[2].definition = NULL;
        build(&cur, false, false);
        ASSERT_EQ(plan->workspaces[2].action, PROJECT_WS_UPDATE);
        ASSERT_TRUE(plan->workspaces[2].restart);
}

TEST(plan_json)
{
        reset();
        desired = load(base_toml);
        ProjectCurrent cur = {};
        build(&cur, false, false);
        json_auto_t *j = project_plan_to_json(plan);
        ASSERT_NOT_NULL(j);
        ASSERT_TRUE(json_is_true(json_object_get(json_object_get(j, "sandbox"), "create")));
        ASSERT_EQ(json_array_size(json_object_get(j, "workspaces")), 3);
        ASSERT_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(j, "workspaces"), 0), "action")),
                     "created");
}

/* ---- the daemon's re-check of the request ---- */

static int from_json_text(const char *text, Error *err)
{
        json_auto_t *j = json_loads(text, 0, NULL);
        if (!j)
                TEST_FAIL("bad test JSON");
        Enclavefile *ef = NULL;
        int r = project_config_from_json(j, &ef, err);
        enclavefile_free(ef);
        return r;
}

#define SB "\"sandbox\": {\"name\": \"sb\", \"suite\": \"bookworm\", \"bootstrap_method\": \"cached_rootfs\", " \
           "\"mirror\": \"http://deb.debian.org/debian\", \"setup\": []}"

TEST(config_json_ok)
{
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_OK(from_json_text("{\"path\": \"/p/Enclavefile\", " SB ", \"workspaces\": [{\"name\": \"a\", "
                                 "\"ports\": [\"127.0.0.1:80:8080/tcp\"], \"env\": {\"A\": \"b\"}, "
                                 "\"memory_mb\": null}]}", &err));
}

TEST(config_json_rejects)
{
        static const struct {
                const char *json;
                const char *needle;
        } cases[] = {
                { "{\"path\": \"rel\", " SB "}", "absolute" },
                { "{\"path\": \"/p\\nforged log line\", " SB "}", "control characters" },
                { "{\"path\": \"/p\"}", "sandbox" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"../x\"}]}", "invalid workspace name" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"a\", \"memory_mb\": 1}]}",
                  "workspaces[0]: memory_mb must be between 16 and 16777216" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"a\", \"auth\": [\"aws\"]}]}", "aws" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"a\", \"env_tokens\": [\"HOME\"]}]}",
                  "HOME" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"a\", \"env\": {\"1X\": \"v\"}}]}",
                  "variable name" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"a\", \"workspace_dir\": \"x\"}]}",
                  "absolute" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"a\", \"ports\": [\"0.0.0.0:1:1\"]}]}",
                  "ports" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"a\"}, {\"name\": \"a\"}]}", "twice" },
                { "{\"path\": \"/p\", " SB ", \"workspaces\": [{\"name\": \"a\", \"ports\": [\"127.0.0.1:5:1\"]}, "
                  "{\"name\": \"b\", \"ports\": [\"127.0.0.1:5:2\"]}]}", "host port 5" },
                { "{\"path\": \"/p\", \"sandbox\": {\"name\": \"sb\", \"suite\": \"jessie\", \"bootstrap_method\": "
                  "\"debootstrap\", \"mirror\": \"http://x/\"}}", "suite" },
                { "{\"path\": \"/p\", \"sandbox\": {\"name\": \"sb\", \"suite\": \"sid\", \"bootstrap_method\": "
                  "\"debootstrap\", \"mirror\": \"file:///etc\"}}", "mirror" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_error_ Error err = ERROR_INIT;
                if (from_json_text(cases[i].json, &err) != -EINVAL)
                        TEST_FAIL("case %zu accepted: %s", i, cases[i].json);
                ASSERT_CONTAINS(error_msg(&err), cases[i].needle);
        }
}

TEST(changed_disk_is_a_note_not_an_update)
{
        reset();
        desired = load("[sandbox]\nname = \"sb\"\n[workspace.a]\ndisk_mb = 64\n");
        ProjectCurrent cur = current_after_up(desired, "running");
        previous = desired;
        desired = load("[sandbox]\nname = \"sb\"\n[workspace.a]\ndisk_mb = 128\n");
        build(&cur, false, false);
        ASSERT_EQ(plan->workspaces[0].action, PROJECT_WS_UNCHANGED);
        ASSERT_FALSE(plan->workspaces[0].restart);
        ASSERT_NOT_NULL(plan->notes[0]);
        ASSERT_CONTAINS(plan->notes[0], "disk_mb is now 128 (was 64)");
        ASSERT_TRUE(project_plan_is_noop(plan));
}

/* ---- ps helpers ---- */

TEST(ps_map_uid)
{
        const char *map = "         0     100000      65536\n     65536         42          1\n";
        ASSERT_EQ(project_ps_map_uid(map, 100000), 0);
        ASSERT_EQ(project_ps_map_uid(map, 101000), 1000);
        ASSERT_EQ(project_ps_map_uid(map, 42), 65536);
        ASSERT_EQ(project_ps_map_uid(map, 0), -1);
        ASSERT_EQ(project_ps_map_uid(map, 165536), -1);
        ASSERT_EQ(project_ps_map_uid("", 1), -1);
}

TEST(ps_user_name)
{
        const char *pw = "root:x:0:0:root:/root:/bin/sh\nbroken\n:x:5:5::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n"
                         "dev:x:1000:1000::/home:/bin/sh";
        _cleanup_free_ char *a = project_ps_user_name(pw, 0);
        _cleanup_free_ char *b = project_ps_user_name(pw, 1000);
        _cleanup_free_ char *c = project_ps_user_name(pw, 65534);
        ASSERT_STREQ(a, "root");
        ASSERT_STREQ(b, "dev");
        ASSERT_STREQ(c, "nobody");
        ASSERT_NULL(project_ps_user_name(pw, 5));
        ASSERT_NULL(project_ps_user_name(pw, 7));
        ASSERT_NULL(project_ps_user_name("", 0));
}

TEST(cleanup)
{
        reset();
}
