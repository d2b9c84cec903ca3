/* The toml-test decoder interface for Enclave's TOML parser: TOML on
 * stdin, the tagged JSON of toml-test on stdout (exit 0), or one
 * "line:col: message" on stderr (exit 1).
 *
 *   toml-decoder [--parse-only]
 *
 * --parse-only parses and frees without producing JSON, to measure
 * the parser alone. */
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "base/macro.h"
#include "config/toml.h"

static int read_all(FILE *f, char **ret, size_t *ret_len)
{
        size_t len = 0, cap = 65536;
        char *buf = malloc(cap);

        if (!buf)
                return -ENOMEM;
        for (;;) {
                if (len == cap) {
                        /* Read one byte past the limit so the parser sees
                         * an oversized input and reports it. */
                        if (cap > TOML_MAX_INPUT)
                                break;
                        char *b = realloc(buf, cap * 2);
                        if (!b) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = b;
                        cap *= 2;
                }
                size_t n = fread(buf + len, 1, cap - len, f);
                if (n == 0)
                        break;
                len += n;
        }
        if (ferror(f)) {
                free(buf);
                return -EIO;
        }
        *ret = buf;
        *ret_len = len;
        return 0;
}

static json_t *tagged(const char *type, const char *value)
{
        return json_pack("{s:s, s:s}", "type", type, "value", value);
}

static json_t *scalar_json(const TomlValue *v)
{
        char buf[64];

        switch (v->type) {
        case TOML_STRING:
                return json_pack("{s:s, s:s%}", "type", "string", "value", v->str.s, v->str.len);
        case TOML_INTEGER:
                snprintf(buf, sizeof buf, "%" PRId64, v->integer);
                return tagged("integer", buf);
        case TOML_FLOAT:
                if (isnan(v->flt))
                        return tagged("float", "nan");
                if (isinf(v->flt))
                        return tagged("float", v->flt < 0 ? "-inf" : "inf");
                snprintf(buf, sizeof buf, "%.17g", v->flt);
                return tagged("float", buf);
        case TOML_BOOLEAN:
                return tagged("bool", v->boolean ? "true" : "false");
        case TOML_OFFSET_DATETIME:
        case TOML_LOCAL_DATETIME:
        case TOML_LOCAL_DATE:
        case TOML_LOCAL_TIME: {
                static const char *const names[] = {
                        [TOML_OFFSET_DATETIME] = "datetime",
                        [TOML_LOCAL_DATETIME] = "datetime-local",
                        [TOML_LOCAL_DATE] = "date-local",
                        [TOML_LOCAL_TIME] = "time-local",
                };
                if (toml_datetime_format(v, buf, sizeof buf) < 0)
                        return NULL;
                return tagged(names[v->type], buf);
        }
        default:
                return NULL;
        }
}

/* Nesting is bounded by TOML_MAX_DEPTH, so recursion is safe here. */
static json_t *to_json(const TomlValue *v)
{
        json_t *j;

        if (v->type == TOML_ARRAY) {
                j = json_array();
                for (size_t i = 0; j && i < toml_array_size(v); i++)
                        if (json_array_append_new(j, to_json(toml_array_get(v, i))) < 0) {
                                json_decref(j);
                                return NULL;
                        }
                return j;
        }
        if (v->type == TOML_TABLE) {
                j = json_object();
                for (size_t i = 0; j && i < toml_table_size(v); i++) {
                        const char *key = toml_table_key(v, i, NULL);
                        if (json_object_setn_new(j, key, toml_table_key_length(v, i),
                                                 to_json(toml_table_value(v, i))) < 0) {
                                json_decref(j);
                                return NULL;
                        }
                }
                return j;
        }
        return scalar_json(v);
}

int main(int argc, char **argv)
{
        bool parse_only = argc > 1 && streq(argv[1], "--parse-only");
        _cleanup_free_ char *data = NULL;
        _cleanup_toml_ TomlValue *root = NULL;
        TomlError err;
        size_t len;
        int r;

        if (argc > 2 || (argc == 2 && !parse_only)) {
                fprintf(stderr, "usage: %s [--parse-only] < file.toml\n", argv[0]);
                return 2;
        }
        r = read_all(stdin, &data, &len);
        if (r < 0) {
                fprintf(stderr, "reading stdin: %s\n", strerror(-r));
                return 2;
        }
        r = toml_parse(data, len, &root, &err);
        if (r < 0) {
                fprintf(stderr, "%u:%u: %s\n", err.pos.line, err.pos.col, err.msg);
                return 1;
        }
        if (parse_only)
                return 0;

        json_t *j = to_json(root);
        if (!j) {
                fprintf(stderr, "building JSON: out of memory\n");
                return 2;
        }
        r = json_dumpf(j, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(j);
        if (r < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0) {
                fprintf(stderr, "writing JSON failed\n");
                return 2;
        }
        return 0;
}
