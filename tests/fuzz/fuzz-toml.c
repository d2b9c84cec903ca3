/* libFuzzer target for the TOML parser: parse arbitrary bytes, walk
 * the whole tree through the public accessors (checking invariants the
 * API promises), format every date-time, then free.
 *
 *   make fuzz && build-fuzz/fuzz-toml -max_total_time=120 CORPUS_DIR */
#include <stdlib.h>
#include <string.h>

#include "config/toml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
        if (!ok)
                abort();
}

static void check_pos(TomlPos pos)
{
        check(pos.line >= 1 && pos.col >= 1);
}

/* Nesting is bounded by TOML_MAX_DEPTH: recursion is what we test. */
static void walk(const TomlValue *v, unsigned depth)
{
        char buf[64];

        check(depth <= TOML_MAX_DEPTH + 1);
        check_pos(v->pos);
        check(toml_type_name(v->type) != NULL);
        switch (v->type) {
        case TOML_STRING:
                check(v->str.s[v->str.len] == '\0');
                break;
        case TOML_OFFSET_DATETIME:
        case TOML_LOCAL_DATETIME:
        case TOML_LOCAL_DATE:
        case TOML_LOCAL_TIME: {
                int n = toml_datetime_format(v, buf, sizeof buf);
                check(n > 0 && (size_t) n < sizeof buf);
                break;
        }
        case TOML_ARRAY:
                for (size_t i = 0; i < toml_array_size(v); i++)
                        walk(toml_array_get(v, i), depth + 1);
                check(toml_array_get(v, toml_array_size(v)) == NULL);
                break;
        case TOML_TABLE:
                for (size_t i = 0; i < toml_table_size(v); i++) {
                        TomlPos kp;
                        const char *key = toml_table_key(v, i, &kp);
                        check(key != NULL);
                        check_pos(kp);
                        TomlValue *x = toml_table_value(v, i);
                        /* Lookup by name finds the same value unless the
                         * key holds a NUL, which a C string cannot name. */
                        if (strlen(key) == toml_table_key_length(v, i))
                                check(toml_table_get(v, key) == x);
                        walk(x, depth + 1);
                }
                check(toml_table_value(v, toml_table_size(v)) == NULL);
                break;
        default:
                check(toml_datetime_format(v, buf, sizeof buf) == -EINVAL);
                break;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        TomlValue *v = NULL;
        TomlError err;

        int r = toml_parse((const char *) data, size, &v, &err);
        if (r < 0) {
                check(v == NULL);
                check(r == -EINVAL || r == -E2BIG || r == -ENOMEM);
                check_pos(err.pos);
                check(err.msg[0] != '\0' && memchr(err.msg, '\0', sizeof err.msg) != NULL);
                return 0;
        }
        check(v && v->type == TOML_TABLE);
        walk(v, 0);
        toml_free(v);
        return 0;
}
