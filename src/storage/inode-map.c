#include "storage/inode-map.h"

#include <string.h>

static size_t slot_of(const InodeMap *m, dev_t dev, ino_t ino)
{
        uint64_t h = (uint64_t) ino * 0x9E3779B97F4A7C15ull ^ (uint64_t) dev * 0xC2B2AE3D27D4EB4Full;
        h ^= h >> 29;
        return (size_t) h & (m->n_slots - 1);
}

const char *inode_map_get(const InodeMap *m, dev_t dev, ino_t ino)
{
        if (m->n_slots == 0)
                return NULL;
        for (size_t i = slot_of(m, dev, ino);; i = (i + 1) & (m->n_slots - 1)) {
                const InodeMapEntry *e = &m->slots[i];
                if (!e->path)
                        return NULL;
                if (e->dev == dev && e->ino == ino)
                        return e->path;
        }
}

static void insert_slot(InodeMap *m, InodeMapEntry e)
{
        size_t i = slot_of(m, e.dev, e.ino);
        while (m->slots[i].path)
                i = (i + 1) & (m->n_slots - 1);
        m->slots[i] = e;
        m->n_used++;
}

static int grow(InodeMap *m)
{
        size_t n = m->n_slots ? m->n_slots * 2 : 256;
        InodeMapEntry *old = m->slots;
        size_t old_n = m->n_slots;
        m->slots = calloc(n, sizeof(InodeMapEntry));
        if (!m->slots) {
                m->slots = old;
                return -ENOMEM;
        }
        m->n_slots = n;
        m->n_used = 0;
        for (size_t i = 0; i < old_n; i++)
                if (old[i].path)
                        insert_slot(m, old[i]);
        free(old);
        return 0;
}

int inode_map_put(InodeMap *m, dev_t dev, ino_t ino, const char *path)
{
        if (inode_map_get(m, dev, ino))
                return -EEXIST;
        if ((m->n_used + 1) * 2 > m->n_slots) {
                int r = grow(m);
                if (r < 0)
                        return r;
        }
        char *p = strdup(path);
        if (!p)
                return -ENOMEM;
        insert_slot(m, (InodeMapEntry) { dev, ino, p });
        return 0;
}

void inode_map_done(InodeMap *m)
{
        for (size_t i = 0; i < m->n_slots; i++)
                free(m->slots[i].path);
        free(m->slots);
        *m = (InodeMap) INODE_MAP_INIT;
}
