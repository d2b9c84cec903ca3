/* TOML values in memory: tables keep their keys in document order in
 * an array and, once they grow beyond a few keys, an open-addressing
 * hash index over it so lookups stay O(1) however large a table gets. */
#include <string.h>

#include "config/toml-internal.h"

#define LINEAR_SCAN_MAX 8

static uint64_t key_hash(uint64_t seed, const char *s, size_t n)
{
        /* FNV-1a from a per-parse random basis, then a final avalanche so
         * the low bits used for the slot depend on every byte. The seed
         * keeps a hostile file from precomputing colliding keys cheaply. */
        uint64_t h = UINT64_C(0xcbf29ce484222325) ^ seed;
        for (size_t i = 0; i < n; i++) {
                h ^= (uint8_t) s[i];
                h *= UINT64_C(0x100000001b3);
        }
        h ^= h >> 33;
        h *= UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 33;
        h *= UINT64_C(0xc4ceb9fe1a85ec53);
        h ^= h >> 33;
        return h;
}

TomlValue *toml_value_new(TomlType type, TomlPos pos)
{
        TomlValue *v = calloc(1, sizeof *v);
        if (!v)
                return NULL;
        v->type = type;
        v->pos = pos;
        return v;
}

/* The table lives in the same allocation as its value. */
typedef struct TableValue {
        TomlValue value;
        TomlTable table;
} TableValue;

TomlValue *toml_table_new(TomlPos pos, TomlTableKind kind, uint64_t seed)
{
        TableValue *tv = calloc(1, sizeof *tv);
        if (!tv)
                return NULL;
        TomlValue *v = &tv->value;
        v->type = TOML_TABLE;
        v->pos = pos;
        v->table = &tv->table;
        v->table->kind = kind;
        v->table->seed = seed;
        return v;
}

static void index_insert(TomlTable *t, size_t entry)
{
        size_t mask = t->index_cap - 1;
        for (size_t slot = t->entries[entry].hash & mask;; slot = (slot + 1) & mask)
                if (t->index[slot] == 0) {
                        t->index[slot] = (uint32_t) entry + 1;
                        return;
                }
}

static int index_rebuild(TomlTable *t, size_t cap)
{
        uint32_t *index = calloc(cap, sizeof *index);
        if (!index)
                return -ENOMEM;
        free(t->index);
        t->index = index;
        t->index_cap = cap;
        for (size_t i = 0; i < t->n; i++)
                index_insert(t, i);
        return 0;
}

static bool entry_is(const TomlEntry *e, uint64_t hash, const char *key, size_t len)
{
        return e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0;
}

TomlEntry *toml_table_find(TomlTable *t, const char *key, size_t len)
{
        uint64_t hash = key_hash(t->seed, key, len);

        if (t->index_cap == 0) {
                for (size_t i = 0; i < t->n; i++)
                        if (entry_is(&t->entries[i], hash, key, len))
                                return &t->entries[i];
                return NULL;
        }
        size_t mask = t->index_cap - 1;
        for (size_t slot = hash & mask; t->index[slot] != 0; slot = (slot + 1) & mask) {
                TomlEntry *e = &t->entries[t->index[slot] - 1];
                if (entry_is(e, hash, key, len))
                        return e;
        }
        return NULL;
}

int toml_table_add(TomlTable *t, char *key, size_t len, TomlPos key_pos, TomlValue *value, TomlEntry **ret)
{
        if (t->n >= TOML_MAX_TABLE_KEYS)
                return -E2BIG;
        if (t->n == t->cap) {
                size_t cap = t->cap ? t->cap * 2 : 4;
                TomlEntry *e = realloc(t->entries, cap * sizeof *e);
                if (!e)
                        return -ENOMEM;
                t->entries = e;
                t->cap = cap;
        }
        /* Keep the index at most half full. */
        if (t->n + 1 > LINEAR_SCAN_MAX && (t->n + 1) * 2 > t->index_cap) {
                int r = index_rebuild(t, t->index_cap ? t->index_cap * 2 : 32);
                if (r < 0)
                        return r;
        }
        TomlEntry *e = &t->entries[t->n];
        *e = (TomlEntry) {
                .key = key,
                .key_len = len,
                .hash = key_hash(t->seed, key, len),
                .key_pos = key_pos,
                .value = value,
        };
        t->n++;
        if (t->index_cap > 0)
                index_insert(t, t->n - 1);
        if (ret)
                *ret = e;
        return 0;
}

int toml_array_push(TomlValue *array, TomlValue *item)
{
        size_t n = array->array.n;

        /* Capacity is implicit: the next power of two from 4 up. */
        if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
                size_t cap = n == 0 ? 4 : n * 2;
                TomlValue **items = realloc(array->array.items, cap * sizeof *items);
                if (!items)
                        return -ENOMEM;
                array->array.items = items;
        }
        array->array.items[n] = item;
        array->array.n = n + 1;
        return 0;
}

TomlValue *toml_free(TomlValue *v)
{
        if (!v)
                return NULL;
        switch (v->type) {
        case TOML_STRING:
                free(v->str.s);
                break;
        case TOML_ARRAY:
                for (size_t i = 0; i < v->array.n; i++)
                        toml_free(v->array.items[i]);
                free(v->array.items);
                break;
        case TOML_TABLE:
                if (!v->table)
                        break;
                for (size_t i = 0; i < v->table->n; i++) {
                        free(v->table->entries[i].key);
                        toml_free(v->table->entries[i].value);
                }
                free(v->table->entries);
                free(v->table->index);
                break;
        default:
                break;
        }
        free(v);
        return NULL;
}

/* ---- public accessors ---- */

size_t toml_table_size(const TomlValue *table)
{
        return table && table->type == TOML_TABLE ? table->table->n : 0;
}

const char *toml_table_key(const TomlValue *table, size_t i, TomlPos *ret_key_pos)
{
        if (i >= toml_table_size(table))
                return NULL;
        if (ret_key_pos)
                *ret_key_pos = table->table->entries[i].key_pos;
        return table->table->entries[i].key;
}

size_t toml_table_key_length(const TomlValue *table, size_t i)
{
        return i < toml_table_size(table) ? table->table->entries[i].key_len : 0;
}

TomlValue *toml_table_value(const TomlValue *table, size_t i)
{
        return i < toml_table_size(table) ? table->table->entries[i].value : NULL;
}

TomlValue *toml_table_get(const TomlValue *table, const char *key)
{
        if (!table || table->type != TOML_TABLE || !key)
                return NULL;
        TomlEntry *e = toml_table_find(table->table, key, strlen(key));
        return e ? e->value : NULL;
}

size_t toml_array_size(const TomlValue *array)
{
        return array && array->type == TOML_ARRAY ? array->array.n : 0;
}

TomlValue *toml_array_get(const TomlValue *array, size_t i)
{
        return i < toml_array_size(array) ? array->array.items[i] : NULL;
}

const char *toml_type_name(TomlType t)
{
        static const char *const names[_TOML_TYPE_MAX] = {
                [TOML_STRING] = "string",
                [TOML_INTEGER] = "integer",
                [TOML_FLOAT] = "float",
                [TOML_BOOLEAN] = "boolean",
                [TOML_OFFSET_DATETIME] = "offset date-time",
                [TOML_LOCAL_DATETIME] = "local date-time",
                [TOML_LOCAL_DATE] = "local date",
                [TOML_LOCAL_TIME] = "local time",
                [TOML_ARRAY] = "array",
                [TOML_TABLE] = "table",
        };
        return (unsigned) t < _TOML_TYPE_MAX ? names[t] : "unknown";
}
