/* The TOML 1.0 document grammar: keys, key/value pairs, [tables],
 * [[arrays of tables]], arrays and inline tables, and the rules about
 * which table may be defined or extended where.
 *
 * Those rules are decisions on how each table came to exist
 * (TomlTableKind):
 *   - [a.b] defines a table once; its parents are created IMPLICIT and
 *     may be defined later by their own header.
 *   - dotted keys (a.b = 1) define DOTTED tables; they may be extended
 *     by more dotted keys and be parents in a header, but never get a
 *     header of their own. Dotted keys cannot reach into a HEADER table.
 *   - inline tables and static arrays are complete when written.
 *
 * Recursion only follows nested arrays and inline tables, which are
 * limited to TOML_MAX_DEPTH; the tree as a whole (headers and dotted
 * keys included) is held to the same depth, so walking it recursively
 * is safe for every consumer. */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "config/toml-internal.h"

typedef struct KeyPart {
        char *s;
        size_t len;
        TomlPos pos;
        bool borrowed; /* s now belongs to a table in the tree */
} KeyPart;

typedef struct Key {
        KeyPart *parts;
        size_t n, cap;
} Key;

static void key_done(Key *k)
{
        for (size_t i = 0; i < k->n; i++)
                if (!k->parts[i].borrowed)
                        free(k->parts[i].s);
        free(k->parts);
        *k = (Key) {};
}

/* ---- whitespace, comments, line ends ---- */

static void skip_ws(TomlParser *P)
{
        while (P->p < P->end && (*P->p == ' ' || *P->p == '\t'))
                P->p++;
}

static bool at_newline(const TomlParser *P)
{
        return P->p < P->end && (*P->p == '\n' || *P->p == '\r');
}

static void skip_newline(TomlParser *P)
{
        P->p += *P->p == '\r' ? 2 : 1;
        toml_newline(P, P->p);
}

static void skip_comment(TomlParser *P)
{
        while (P->p < P->end && *P->p != '\n' && *P->p != '\r')
                P->p++;
}

/* Inside arrays values may be spread over lines with comments. */
static void skip_ws_comments_newlines(TomlParser *P)
{
        for (;;) {
                skip_ws(P);
                if (P->p >= P->end)
                        return;
                if (*P->p == '#')
                        skip_comment(P);
                else if (at_newline(P))
                        skip_newline(P);
                else
                        return;
        }
}

/* ---- keys ---- */

static bool is_bare_key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '-';
}

/* A key as the user would recognise it: a.b."c d", shortened for messages. */
static const char *key_display(const Key *k, size_t n, char *buf, size_t size)
{
        size_t o = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < n && o + 1 < size; i++) {
                const KeyPart *kp = &k->parts[i];
                bool bare = kp->len > 0;
                for (size_t j = 0; j < kp->len && bare; j++)
                        bare = is_bare_key_char(kp->s[j]);
                char ex[80];
                toml_excerpt(kp->s, kp->len, ex, sizeof ex);
                int w = snprintf(buf + o, size - o, "%s%s%s%s", i > 0 ? "." : "", bare ? "" : "\"", ex,
                                 bare ? "" : "\"");
                if (w < 0)
                        break;
                o += (size_t) w;
        }
        return buf;
}

static int simple_key(TomlParser *P, KeyPart *kp)
{
        char buf[32];

        kp->pos = toml_pos_here(P);
        if (P->p >= P->end || at_newline(P))
                return toml_error_at(P, P->p, "expected a key, found %s", toml_describe_char(P, P->p, buf));
        if (*P->p == '"' || *P->p == '\'')
                return toml_lex_string(P, true, &kp->s, &kp->len);

        const char *start = P->p;
        while (P->p < P->end && is_bare_key_char(*P->p))
                P->p++;
        if (P->p == start)
                return toml_error_at(P, P->p, "expected a key, found %s%s", toml_describe_char(P, P->p, buf),
                                     *P->p == '=' ? " (the key is missing)" :
                                     " (bare keys may contain only A-Z a-z 0-9 _ -; quote other keys)");
        kp->len = (size_t) (P->p - start);
        kp->s = strndup(start, kp->len);
        if (!kp->s)
                return toml_error_oom(P);
        return 0;
}

static int parse_key(TomlParser *P, Key *k)
{
        for (;;) {
                if (k->n == k->cap) {
                        size_t cap = k->cap ? k->cap * 2 : 4;
                        KeyPart *parts = realloc(k->parts, cap * sizeof *parts);
                        if (!parts)
                                return toml_error_oom(P);
                        k->parts = parts;
                        k->cap = cap;
                }
                if (k->n >= TOML_MAX_KEY_PARTS)
                        return toml_error_pos(P, toml_pos_here(P), E2BIG,
                                              "key has too many dotted parts (limit %u)", TOML_MAX_KEY_PARTS);
                k->parts[k->n] = (KeyPart) {};
                int r = simple_key(P, &k->parts[k->n]);
                if (r < 0)
                        return r;
                k->n++;
                skip_ws(P);
                if (P->p >= P->end || *P->p != '.')
                        return 0;
                P->p++;
                skip_ws(P);
        }
}

/* ---- tables ---- */

/* Add the key part to t, which takes its string; the Key keeps a
 * borrowed pointer for messages while the tree lives. */
static int table_add(TomlParser *P, TomlValue *t, KeyPart *kp, TomlValue *value, TomlEntry **ret)
{
        int r = toml_table_add(t->table, kp->s, kp->len, kp->pos, value, ret);
        if (r == -E2BIG)
                return toml_error_pos(P, kp->pos, E2BIG, "too many keys in one table (limit %u)",
                                      TOML_MAX_TABLE_KEYS);
        if (r < 0)
                return toml_error_oom(P);
        kp->borrowed = true;
        return 0;
}

static int new_subtable(TomlParser *P, TomlValue *t, KeyPart *kp, TomlTableKind kind, TomlValue **ret)
{
        TomlValue *sub = toml_table_new(kp->pos, kind, P->seed);
        if (!sub)
                return toml_error_oom(P);
        int r = table_add(P, t, kp, sub, NULL);
        if (r < 0) {
                toml_free(sub);
                return r;
        }
        *ret = sub;
        return 0;
}

static const char *a_type_name(const TomlEntry *e)
{
        if (e->array_of_tables)
                return "an array of tables";
        switch (e->value->type) {
        case TOML_STRING: return "a string";
        case TOML_INTEGER: return "an integer";
        case TOML_FLOAT: return "a float";
        case TOML_BOOLEAN: return "a boolean";
        case TOML_OFFSET_DATETIME: return "an offset date-time";
        case TOML_LOCAL_DATETIME: return "a local date-time";
        case TOML_LOCAL_DATE: return "a local date";
        case TOML_LOCAL_TIME: return "a local time";
        case TOML_ARRAY: return "an array";
        case TOML_TABLE: return "a table";
        default: return "a value";
        }
}

static int check_depth(TomlParser *P, TomlPos pos, unsigned depth)
{
        if (depth > TOML_MAX_DEPTH)
                return toml_error_pos(P, pos, E2BIG, "nesting too deep (more than %u levels of tables and arrays)",
                                      TOML_MAX_DEPTH);
        return 0;
}

/* Assign value to a dotted key below table t (at depth). Takes value
 * on success. section names t in messages about tables with headers. */
static int assign(TomlParser *P, TomlValue *t, const Key *section, unsigned depth, Key *k, TomlValue *value)
{
        char name[160], sname[160];
        int r;

        for (size_t i = 0; i + 1 < k->n; i++) {
                KeyPart *kp = &k->parts[i];
                TomlEntry *e = toml_table_find(t->table, kp->s, kp->len);
                depth++;
                r = check_depth(P, kp->pos, depth);
                if (r < 0)
                        return r;
                if (!e) {
                        r = new_subtable(P, t, kp, TOML_TABLE_DOTTED, &t);
                        if (r < 0)
                                return r;
                        continue;
                }
                TomlValue *x = e->value;
                /* Messages are formatted on failure only: this is the hot path. */
                if (x->type != TOML_TABLE)
                        return toml_error_pos(P, kp->pos, EINVAL,
                                              "cannot use '%s' as a table: it is already %s (line %u)",
                                              key_display(k, i + 1, name, sizeof name), a_type_name(e),
                                              e->key_pos.line);
                switch (x->table->kind) {
                case TOML_TABLE_INLINE:
                        return toml_error_pos(P, kp->pos, EINVAL,
                                              "cannot add keys to inline table '%s' (line %u): "
                                              "inline tables are complete where they are written",
                                              key_display(k, i + 1, name, sizeof name), x->pos.line);
                case TOML_TABLE_HEADER:
                        return toml_error_pos(P, kp->pos, EINVAL,
                                              "cannot add keys to table [%s%s%s] with dotted keys: "
                                              "it has its own header at line %u",
                                              key_display(section, section->n, sname, sizeof sname),
                                              section->n > 0 ? "." : "", key_display(k, i + 1, name, sizeof name),
                                              x->pos.line);
                case TOML_TABLE_IMPLICIT:
                        x->table->kind = TOML_TABLE_DOTTED;
                        break;
                case TOML_TABLE_DOTTED:
                        break;
                }
                t = x;
        }

        KeyPart *last = &k->parts[k->n - 1];
        TomlEntry *e = toml_table_find(t->table, last->s, last->len);
        if (e)
                return toml_error_pos(P, last->pos, EINVAL, "duplicate key '%s' (first defined at line %u)",
                                      key_display(k, k->n, name, sizeof name), e->key_pos.line);
        return table_add(P, t, last, value, NULL);
}

/* Walk to the parent of a [header] or [[header]], creating implicit
 * tables on the way and entering the last table of arrays of tables. */
static int header_parent(TomlParser *P, TomlValue *root, Key *k, TomlValue **ret, unsigned *ret_depth)
{
        TomlValue *t = root;
        unsigned depth = 0;
        char name[160];
        int r;

        for (size_t i = 0; i + 1 < k->n; i++) {
                KeyPart *kp = &k->parts[i];
                TomlEntry *e = toml_table_find(t->table, kp->s, kp->len);
                if (!e) {
                        r = check_depth(P, kp->pos, ++depth);
                        if (r < 0)
                                return r;
                        r = new_subtable(P, t, kp, TOML_TABLE_IMPLICIT, &t);
                        if (r < 0)
                                return r;
                        continue;
                }
                TomlValue *x = e->value;
                if (x->type == TOML_TABLE) {
                        if (x->table->kind == TOML_TABLE_INLINE)
                                return toml_error_pos(P, kp->pos, EINVAL,
                                                      "cannot add tables to inline table '%s' (line %u): "
                                                      "inline tables are complete where they are written",
                                                      key_display(k, i + 1, name, sizeof name), x->pos.line);
                        t = x;
                        depth++;
                } else if (x->type == TOML_ARRAY && e->array_of_tables) {
                        t = x->array.items[x->array.n - 1];
                        depth += 2;
                } else
                        return toml_error_pos(P, kp->pos, EINVAL,
                                              "cannot use '%s' as a table: it is already %s (line %u)",
                                              key_display(k, i + 1, name, sizeof name), a_type_name(e),
                                              e->key_pos.line);
                r = check_depth(P, kp->pos, depth);
                if (r < 0)
                        return r;
        }
        *ret = t;
        *ret_depth = depth;
        return 0;
}

/* [a.b.c]: define the table, which must not be defined yet. */
static int define_table(TomlParser *P, TomlValue *root, Key *k, TomlValue **ret, unsigned *ret_depth)
{
        TomlValue *t;
        unsigned depth;
        char name[160];
        int r;

        r = header_parent(P, root, k, &t, &depth);
        if (r < 0)
                return r;
        KeyPart *last = &k->parts[k->n - 1];
        r = check_depth(P, last->pos, ++depth);
        if (r < 0)
                return r;
        *ret_depth = depth;
        TomlEntry *e = toml_table_find(t->table, last->s, last->len);
        if (!e)
                return new_subtable(P, t, last, TOML_TABLE_HEADER, ret);

        TomlValue *x = e->value;
        if (x->type == TOML_TABLE && x->table->kind == TOML_TABLE_IMPLICIT) {
                x->table->kind = TOML_TABLE_HEADER;
                x->pos = last->pos;
                *ret = x;
                return 0;
        }
        key_display(k, k->n, name, sizeof name);
        if (x->type == TOML_TABLE)
                switch (x->table->kind) {
                case TOML_TABLE_IMPLICIT:
                        break;
                case TOML_TABLE_HEADER:
                        return toml_error_pos(P, last->pos, EINVAL, "table [%s] defined twice (first at line %u)",
                                              name, x->pos.line);
                case TOML_TABLE_DOTTED:
                        return toml_error_pos(P, last->pos, EINVAL,
                                              "table [%s] was already defined by dotted keys at line %u",
                                              name, x->pos.line);
                case TOML_TABLE_INLINE:
                        return toml_error_pos(P, last->pos, EINVAL,
                                              "table [%s] was already defined as an inline table at line %u",
                                              name, x->pos.line);
                }
        if (e->array_of_tables)
                return toml_error_pos(P, last->pos, EINVAL,
                                      "[%s] is already an array of tables (line %u); use [[%s]] to add an element",
                                      name, e->key_pos.line, name);
        return toml_error_pos(P, last->pos, EINVAL, "cannot define table [%s]: key '%s' is already %s (line %u)",
                              name, name, a_type_name(e), e->key_pos.line);
}

/* [[a.b.c]]: append a table to the array of tables. */
static int append_table(TomlParser *P, TomlValue *root, Key *k, TomlValue **ret, unsigned *ret_depth)
{
        TomlValue *t, *array;
        unsigned depth;
        char name[160];
        int r;

        r = header_parent(P, root, k, &t, &depth);
        if (r < 0)
                return r;
        KeyPart *last = &k->parts[k->n - 1];
        depth += 2;
        r = check_depth(P, last->pos, depth);
        if (r < 0)
                return r;
        TomlEntry *e = toml_table_find(t->table, last->s, last->len);
        if (e) {
                array = e->value;
                if (!e->array_of_tables) {
                        key_display(k, k->n, name, sizeof name);
                        if (array->type == TOML_ARRAY)
                                return toml_error_pos(P, last->pos, EINVAL,
                                                      "cannot append to static array '%s' (line %u) with [[%s]]",
                                                      name, e->key_pos.line, name);
                        return toml_error_pos(P, last->pos, EINVAL,
                                              "cannot define array of tables [[%s]]: key '%s' is already %s (line %u)",
                                              name, name, a_type_name(e), e->key_pos.line);
                }
        } else {
                array = toml_value_new(TOML_ARRAY, last->pos);
                if (!array)
                        return toml_error_oom(P);
                r = table_add(P, t, last, array, &e);
                if (r < 0) {
                        toml_free(array);
                        return r;
                }
                e->array_of_tables = true;
        }

        TomlValue *element = toml_table_new(last->pos, TOML_TABLE_HEADER, P->seed);
        if (!element)
                return toml_error_oom(P);
        if (toml_array_push(array, element) < 0) {
                toml_free(element);
                return toml_error_oom(P);
        }
        *ret = element;
        *ret_depth = depth;
        return 0;
}

/* ---- values ---- */

static int parse_value(TomlParser *P, unsigned depth, TomlValue **ret);

/* Step over the rest of the line: blanks, a comment and the newline.
 * False, with P->p at the culprit, when something else follows. */
static bool finish_line(TomlParser *P)
{
        skip_ws(P);
        if (P->p < P->end && *P->p == '#')
                skip_comment(P);
        if (P->p >= P->end)
                return true;
        if (!at_newline(P))
                return false;
        skip_newline(P);
        return true;
}

static int parse_array(TomlParser *P, unsigned depth, TomlValue **ret)
{
        TomlPos open = toml_pos_here(P);
        char buf[32];
        int r;

        r = check_depth(P, open, depth);
        if (r < 0)
                return r;
        _cleanup_toml_ TomlValue *array = toml_value_new(TOML_ARRAY, open);
        if (!array)
                return toml_error_oom(P);
        P->p++;
        for (;;) {
                skip_ws_comments_newlines(P);
                if (P->p >= P->end)
                        return toml_error_pos(P, open, EINVAL, "unterminated array: missing ']'");
                if (*P->p == ']')
                        break;

                TomlValue *item = NULL;
                r = parse_value(P, depth + 1, &item);
                if (r < 0)
                        return r;
                if (toml_array_push(array, item) < 0) {
                        toml_free(item);
                        return toml_error_oom(P);
                }

                skip_ws_comments_newlines(P);
                if (P->p >= P->end)
                        return toml_error_pos(P, open, EINVAL, "unterminated array: missing ']'");
                if (*P->p == ']')
                        break;
                if (*P->p != ',')
                        return toml_error_at(P, P->p, "expected ',' or ']' after array element, found %s",
                                             toml_describe_char(P, P->p, buf));
                P->p++;
        }
        P->p++;
        *ret = TAKE_PTR(array);
        return 0;
}

static int parse_keyval(TomlParser *P, TomlValue *table, const Key *section, unsigned depth);

static int parse_inline_table(TomlParser *P, unsigned depth, TomlValue **ret)
{
        TomlPos open = toml_pos_here(P);
        char buf[32];
        int r;

        r = check_depth(P, open, depth);
        if (r < 0)
                return r;
        /* Built like a small document of its own, then sealed. */
        _cleanup_toml_ TomlValue *table = toml_table_new(open, TOML_TABLE_HEADER, P->seed);
        if (!table)
                return toml_error_oom(P);
        P->p++;
        skip_ws(P);
        if (P->p < P->end && *P->p == '}') {
                P->p++;
                table->table->kind = TOML_TABLE_INLINE;
                *ret = TAKE_PTR(table);
                return 0;
        }
        for (;;) {
                skip_ws(P);
                if (P->p >= P->end)
                        return toml_error_pos(P, open, EINVAL, "unterminated inline table: missing '}'");
                if (at_newline(P) || *P->p == '#')
                        return toml_error_at(P, P->p, "inline tables must be on one line (TOML 1.0); "
                                                      "use a [table] for longer tables");
                if (*P->p == '}')
                        return toml_error_at(P, P->p, "trailing comma is not allowed in an inline table");
                r = parse_keyval(P, table, &(const Key) {}, depth);
                if (r < 0)
                        return r;
                skip_ws(P);
                if (P->p >= P->end)
                        return toml_error_pos(P, open, EINVAL, "unterminated inline table: missing '}'");
                if (*P->p == '}')
                        break;
                if (at_newline(P) || *P->p == '#')
                        return toml_error_at(P, P->p, "inline tables must be on one line (TOML 1.0); "
                                                      "use a [table] for longer tables");
                if (*P->p != ',')
                        return toml_error_at(P, P->p, "expected ',' or '}' in inline table, found %s",
                                             toml_describe_char(P, P->p, buf));
                P->p++;
        }
        P->p++;
        table->table->kind = TOML_TABLE_INLINE;
        *ret = TAKE_PTR(table);
        return 0;
}

static int parse_string_value(TomlParser *P, TomlValue **ret)
{
        TomlValue *v = toml_value_new(TOML_STRING, toml_pos_here(P));
        if (!v)
                return toml_error_oom(P);
        int r = toml_lex_string(P, false, &v->str.s, &v->str.len);
        if (r < 0) {
                free(v);
                return r;
        }
        *ret = v;
        return 0;
}

static int parse_value(TomlParser *P, unsigned depth, TomlValue **ret)
{
        char buf[32];

        if (P->p >= P->end || at_newline(P) || *P->p == '#')
                return toml_error_at(P, P->p, "expected a value, found %s", toml_describe_char(P, P->p, buf));
        switch (*P->p) {
        case '"':
        case '\'':
                return parse_string_value(P, ret);
        case '[':
                return parse_array(P, depth, ret);
        case '{':
                return parse_inline_table(P, depth, ret);
        default: {
                TomlValue *v = toml_value_new(TOML_STRING, toml_pos_here(P));
                if (!v)
                        return toml_error_oom(P);
                int r = toml_lex_scalar(P, v);
                if (r < 0) {
                        free(v);
                        return r;
                }
                *ret = v;
                return 0;
        }
        }
}

/* key = value, into table (at depth), named section in messages. */
static int parse_keyval(TomlParser *P, TomlValue *table, const Key *section, unsigned depth)
{
        _cleanup_(key_done) Key k = {};
        char name[160], buf[32];
        int r;

        r = parse_key(P, &k);
        if (r < 0)
                return r;
        if (P->p >= P->end || *P->p != '=')
                return toml_error_at(P, P->p, "expected '=' after key '%s', found %s",
                                     key_display(&k, k.n, name, sizeof name), toml_describe_char(P, P->p, buf));
        P->p++;
        skip_ws(P);
        if (P->p >= P->end || at_newline(P) || *P->p == '#')
                return toml_error_at(P, P->p, "missing value for key '%s'", key_display(&k, k.n, name, sizeof name));

        TomlValue *value = NULL;
        r = parse_value(P, depth + (unsigned) k.n, &value);
        if (r < 0)
                return r;
        r = assign(P, table, section, depth, &k, value);
        if (r < 0)
                toml_free(value);
        return r;
}

/* [table] or [[array.of.tables]]; on success *section names it. */
static int parse_header(TomlParser *P, TomlValue *root, TomlValue **cur, unsigned *cur_depth, Key *section)
{
        _cleanup_(key_done) Key k = {};
        bool array = P->end - P->p >= 2 && P->p[1] == '[';
        const char *open = array ? "[[" : "[", *close = array ? "]]" : "]";
        char name[160], buf[32];
        int r;

        P->p += array ? 2 : 1;
        skip_ws(P);
        r = parse_key(P, &k);
        if (r < 0)
                return r;
        if (array ? P->end - P->p < 2 || P->p[0] != ']' || P->p[1] != ']' : P->p >= P->end || *P->p != ']')
                return toml_error_at(P, P->p, "expected '%s' to close table header %s%s, found %s", close, open,
                                     key_display(&k, k.n, name, sizeof name), toml_describe_char(P, P->p, buf));
        P->p += array ? 2 : 1;

        r = array ? append_table(P, root, &k, cur, cur_depth) : define_table(P, root, &k, cur, cur_depth);
        if (r < 0)
                return r;
        if (!finish_line(P))
                return toml_error_at(P, P->p, "expected end of line after table header %s%s%s, found %s", open,
                                     key_display(&k, k.n, name, sizeof name), close,
                                     toml_describe_char(P, P->p, buf));
        key_done(section);
        *section = k;
        k = (Key) {};
        return 0;
}

static uint64_t random_seed(const void *salt)
{
        uint64_t seed;

        if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) == (ssize_t) sizeof seed)
                return seed;
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) (uintptr_t) salt ^ (uint64_t) ts.tv_nsec ^ (uint64_t) ts.tv_sec << 32;
}

static int parse_document(TomlParser *P, TomlValue *root)
{
        TomlValue *cur = root;
        unsigned depth = 0;
        _cleanup_(key_done) Key section = {};
        char buf[32];
        int r;

        for (;;) {
                skip_ws(P);
                if (P->p >= P->end)
                        return 0;
                if (*P->p == '#')
                        skip_comment(P);
                else if (at_newline(P))
                        skip_newline(P);
                else if (*P->p == '[') {
                        r = parse_header(P, root, &cur, &depth, &section);
                        if (r < 0)
                                return r;
                } else {
                        r = parse_keyval(P, cur, &section, depth);
                        if (r < 0)
                                return r;
                        if (!finish_line(P))
                                return toml_error_at(P, P->p, "expected end of line after value, found %s "
                                                              "(put each key = value on its own line)",
                                                     toml_describe_char(P, P->p, buf));
                }
        }
}

int toml_parse(const char *data, size_t len, TomlValue **ret, TomlError *err)
{
        TomlError dummy;
        int r;

        if (!err)
                err = &dummy;
        *err = (TomlError) { .pos = { 1, 1 } };
        if (!ret || (!data && len > 0)) {
                snprintf(err->msg, sizeof err->msg, "invalid arguments");
                return -EINVAL;
        }
        *ret = NULL;
        if (len > TOML_MAX_INPUT) {
                snprintf(err->msg, sizeof err->msg, "document too large (%zu bytes; the limit is %u)", len,
                         TOML_MAX_INPUT);
                return -E2BIG;
        }
        if (!data)
                data = "";
        r = toml_check_text(data, len, err);
        if (r < 0)
                return r;

        TomlParser P = {
                .data = data,
                .p = data,
                .end = data + len,
                .line = 1,
                .err = err,
        };
        /* A byte order mark is allowed at the very start only. */
        if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
                P.p += 3;
        P.line_start = P.col_ptr = P.p;
        P.col = 1;
        P.seed = random_seed(&P);

        TomlValue *root = toml_table_new((TomlPos) { 1, 1 }, TOML_TABLE_HEADER, P.seed);
        if (!root)
                r = toml_error_oom(&P);
        else
                r = parse_document(&P, root);
        free(P.buf);
        if (P.c_locale != (locale_t) 0)
                freelocale(P.c_locale);
        if (r < 0) {
                toml_free(root);
                return r;
        }
        *ret = root;
        return 0;
}
