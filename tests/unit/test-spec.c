/* The specs of sandboxes and workspaces (src/spec/): the table of
 * limits, their values, the one JSON codec in its three shapes, and the
 * rules between values. */
#include "test.h"
#include "spec/spec.h"
#include "base/str.h"

TEST(table_is_consistent)
{
        size_t n = 0;
        LIMIT_FOREACH(d) {
                char flag[64];
                snprintf(flag, sizeof flag, "%s", d->key);
                for (char *p = flag; *p; p++)
                        if (*p == '_')
                                *p = '-';
                ASSERT_STREQ(d->flag, flag);
                ASSERT_TRUE(d->min >= 1 && d->min <= d->max);
                ASSERT_TRUE(d->scopes != 0);
                ASSERT_EQ(!!(d->scopes & LIMIT_SANDBOX), d->sandbox_help != NULL);
                ASSERT_EQ(!!(d->scopes & LIMIT_WORKSPACE), d->workspace_help != NULL);
                ASSERT_TRUE(limit_find(d->key) == d);
                n++;
        }
        ASSERT_EQ(n, N_LIMITS);
        ASSERT_NULL(limit_find("memroy_mb"));
}

TEST(values_parse_and_format)
{
        const LimitDef *mem = limit_find("memory_mb");
        int64_t v;
        char buf[LIMIT_TEXT_MAX];
        ASSERT_OK(limit_parse(mem, "2048", &v));
        ASSERT_EQ(v, 2048);
        ASSERT_STREQ(limit_format(mem, v, buf), "2048");
        ASSERT_EQ(limit_parse(mem, "15", &v), -ERANGE);
        ASSERT_EQ(limit_parse(mem, "0", &v), -ERANGE);
        ASSERT_EQ(limit_parse(mem, "1.5", &v), -EINVAL);
        ASSERT_EQ(limit_parse(mem, "lots", &v), -EINVAL);

        /* A DECIMAL row keeps thousandths. */
        const LimitDef dec = { .key = "x", .kind = LIMIT_DECIMAL, .min = 10, .max = 1024000, .unit = "CPUs" };
        ASSERT_OK(limit_parse(&dec, "1.5", &v));
        ASSERT_EQ(v, 1500);
        ASSERT_STREQ(limit_format(&dec, v, buf), "1.5");
        ASSERT_OK(limit_parse(&dec, "0.01", &v));
        ASSERT_STREQ(limit_format(&dec, v, buf), "0.01");
        ASSERT_OK(limit_parse(&dec, "2.125", &v));
        ASSERT_STREQ(limit_format(&dec, v, buf), "2.125");
        ASSERT_OK(limit_parse(&dec, "3", &v));
        ASSERT_STREQ(limit_format(&dec, v, buf), "3");
        ASSERT_EQ(limit_parse(&dec, "0.001", &v), -ERANGE);
        ASSERT_EQ(limit_parse(&dec, "1.2345", &v), -EINVAL);
        ASSERT_EQ(limit_parse(&dec, "1.", &v), -EINVAL);
        ASSERT_EQ(limit_parse(&dec, ".5", &v), -EINVAL);
        ASSERT_EQ(limit_parse(&dec, "2000", &v), -ERANGE);
        ASSERT_OK(limit_from_double(&dec, 1.1, &v));
        ASSERT_EQ(v, 1100);
        ASSERT_EQ(limit_from_double(&dec, 1.0005, &v), -EINVAL);
        ASSERT_EQ(limit_from_double(&dec, 5000, &v), -ERANGE);

        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_EQ(limit_check(mem, 1, &err), -ERANGE);
        ASSERT_STREQ(error_msg(&err), "memory_mb must be between 16 and 16777216 (MiB), got 1");
        ASSERT_OK(limit_check(mem, 0, NULL));
}

static void full_spec(WorkspaceSpec *s)
{
        static char *auth[] = { "npm", "github", NULL };
        static char *tokens[] = { "NPM_TOKEN", NULL };
        static char *env[] = { "B=2", "A=1", NULL };
        static PortSpec ports[] = { { 3001, 3000 }, { 2000, 80 } };
        *s = (WorkspaceSpec) {
                .name = strdup("api"),
                .run = strdup("./serve"),
                .restart = RUN_RESTART_ON_FAILURE,
                .limits = { .cpu_seconds = 60, .memory_mb = 256, .max_open_files = 4096 },
                .auth = strv_copy(auth),
                .env_tokens = strv_copy(tokens),
                .ports = calloc(2, sizeof(PortSpec)),
                .n_ports = 2,
                .env = strv_copy(env),
        };
        memcpy(s->ports, ports, sizeof ports);
}

static json_t *definition(const WorkspaceSpec *s)
{
        return workspace_spec_to_json(s, SPEC_JSON_DEFINITION);
}

TEST(every_shape_reads_back)
{
        _cleanup_(workspace_spec_done) WorkspaceSpec s = {};
        full_spec(&s);
        json_auto_t *want = definition(&s);
        for (SpecJsonForm f = SPEC_JSON_WIRE; f <= SPEC_JSON_DEFINITION; f++) {
                json_auto_t *j = workspace_spec_to_json(&s, f);
                _cleanup_(workspace_spec_done) WorkspaceSpec back = {};
                ASSERT_NOT_NULL(j);
                ASSERT_OK(workspace_spec_from_json(j, &back, NULL));
                if (f == SPEC_JSON_REGISTRY) {
                        /* Ports have their own table: none here. */
                        ASSERT_EQ(back.n_ports, 0);
                        back.ports = calloc(2, sizeof(PortSpec));
                        memcpy(back.ports, s.ports, 2 * sizeof(PortSpec));
                        back.n_ports = 2;
                }
                json_auto_t *got = definition(&back);
                ASSERT_TRUE(json_equal(got, want));
        }
        json_auto_t *reg = workspace_spec_to_json(&s, SPEC_JSON_REGISTRY);
        json_t *limits = json_object_get(reg, "limits");
        ASSERT_EQ(json_object_size(limits), 3); /* only the set ones */
        ASSERT_EQ(json_integer_value(json_object_get(limits, "memory_mb")), 256);
        json_auto_t *wire = workspace_spec_to_json(&s, SPEC_JSON_WIRE);
        ASSERT_TRUE(json_is_null(json_object_get(wire, "disk_mb"))); /* every one, null when unset */
        ASSERT_STREQ(json_string_value(json_object_get(json_object_get(wire, "env"), "A")), "1");
}

/* A config row as daemons before the spec layer wrote it: the same
 * definition as the file's spec, so `up` after an upgrade changes
 * nothing. */
TEST(stored_configs_of_older_daemons_compare_equal)
{
        json_auto_t *old = json_loads("{\"run\": \"./serve\", \"restart\": \"on-failure\", \"env\": [\"B=2\", \"A=1\"], "
                                      "\"limits\": {\"cpu_seconds\": 60, \"memory_mb\": 256, \"max_open_files\": 4096}, "
                                      "\"workspace_dir\": null, \"auth\": [\"npm\", \"github\"], "
                                      "\"env_tokens\": [\"NPM_TOKEN\"]}",
                                      0, NULL);
        _cleanup_(workspace_spec_done) WorkspaceSpec s = {}, stored = {};
        full_spec(&s);
        ASSERT_OK(workspace_spec_from_json(old, &stored, NULL));
        stored.ports = calloc(2, sizeof(PortSpec));
        memcpy(stored.ports, s.ports, 2 * sizeof(PortSpec));
        stored.n_ports = 2;
        json_auto_t *a = definition(&s), *b = definition(&stored);
        _cleanup_strv_free_ char **changed = spec_definition_diff(a, b);
        ASSERT_NOT_NULL(changed);
        ASSERT_NULL(changed[0]);
}

TEST(definition_diff_names_keys_in_order)
{
        _cleanup_(workspace_spec_done) WorkspaceSpec s = {}, t = {};
        full_spec(&s);
        full_spec(&t);
        t.limits.memory_mb = 512;
        t.n_ports = 1;
        free(t.run);
        t.run = NULL;
        json_auto_t *a = definition(&s), *b = definition(&t);
        _cleanup_strv_free_ char **changed = spec_definition_diff(a, b);
        ASSERT_EQ(strv_length(changed), 3);
        ASSERT_STREQ(changed[0], "run");
        ASSERT_STREQ(changed[1], "memory_mb");
        ASSERT_STREQ(changed[2], "ports");
        _cleanup_strv_free_ char **all = spec_definition_diff(a, NULL);
        ASSERT_TRUE(strv_length(all) > 3);
}

TEST(readers_check_values)
{
        static const struct {
                const char *json;
                const char *needle;
        } bad[] = {
                { "{\"memory_mb\": 1}", "memory_mb must be between 16 and 16777216 (MiB), got 1" },
                { "{\"memory_mb\": \"64\"}", "memory_mb: not a whole number" },
                { "{\"limits\": {\"max_procs\": 0.5}}", "max_procs: not a whole number" },
                { "{\"env\": {\"A\": 1}}", "env: value of A" },
                { "{\"ports\": [\"0.0.0.0:1:1\"]}", "ports: '0.0.0.0:1:1'" },
                { "{\"auth\": [\"aws\"]}", "auth: entry 'aws'" },
                { "{\"restart\": \"sometimes\"}", "restart" },
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                json_auto_t *j = json_loads(bad[i].json, 0, NULL);
                _cleanup_(workspace_spec_done) WorkspaceSpec s = {};
                _cleanup_error_ Error err = ERROR_INIT;
                ASSERT_TRUE(workspace_spec_from_json(j, &s, &err) < 0);
                ASSERT_CONTAINS(error_msg(&err), bad[i].needle);
        }
        /* 0 and null are "not set", as an absent member. */
        json_auto_t *j = json_loads("{\"memory_mb\": 0, \"cpu_percent\": null}", 0, NULL);
        _cleanup_(workspace_spec_done) WorkspaceSpec s = {};
        ASSERT_OK(workspace_spec_from_json(j, &s, NULL));
        ASSERT_TRUE(limits_equal(&s.limits, &(Limits) {}));

        /* A workspace limit is no sandbox cap. */
        json_auto_t *sj = json_loads("{\"name\": \"sb\", \"cpu_seconds\": 5}", 0, NULL);
        _cleanup_(sandbox_spec_done) SandboxSpec sb = {};
        _cleanup_error_ Error err = ERROR_INIT;
        ASSERT_TRUE(sandbox_spec_from_json(sj, &sb, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "cpu_seconds: is a limit of workspaces only");
}

TEST(rules_between_values)
{
        _cleanup_(workspace_spec_done) WorkspaceSpec s = {};
        _cleanup_error_ Error err = ERROR_INIT;
        full_spec(&s);
        ASSERT_OK(workspace_spec_check(&s, NULL));

        s.workspace_dir = strdup("/srv/project");
        s.limits.disk_mb = 64;
        ASSERT_TRUE(workspace_spec_check(&s, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "cannot be combined with workspace_dir");
        error_clear(&err);
        s.limits.disk_mb = 0;

        s.ports[1].host_port = s.ports[0].host_port;
        ASSERT_TRUE(workspace_spec_check(&s, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "published twice");
        error_clear(&err);
        s.ports[1].host_port = 2000;

        ASSERT_OK(strv_push(&s.env, "ENCLAVE_X=1"));
        ASSERT_TRUE(workspace_spec_check(&s, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "reserved for Enclave");
        error_clear(&err);

        SandboxSpec sb = { .name = "sb", .suite = "potato" };
        ASSERT_TRUE(sandbox_spec_check(&sb, &err) < 0);
        ASSERT_CONTAINS(error_msg(&err), "unknown suite \"potato\"");
}

TEST(setup_digest_is_stable)
{
        /* The digest `up` compares must not change with a release: it is
         * recorded in existing registries. */
        char *setup[] = { "apt-get install -y git", NULL };
        char d[SHA256_HEX_SIZE], e[SHA256_HEX_SIZE];
        spec_setup_digest(setup, d);
        ASSERT_STREQ(d, "0f84b0661245d8988558f74a8772aac373e3f5ec142fbd3a883130fefb605c32");
        spec_setup_digest(NULL, e);
        ASSERT_TRUE(strcmp(d, e) != 0);
        char *split[] = { "apt-get install", "-y git", NULL };
        spec_setup_digest(split, e);
        ASSERT_TRUE(strcmp(d, e) != 0);
}

