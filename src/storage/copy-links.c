#include "storage/copy-links.h"

int copy_links_init(CopyLinks *l, size_t threads)
{
        *l = (CopyLinks) { .first = INODE_MAP_INIT, .max_copying = threads };
        l->copying = calloc(threads, sizeof(CopyLinkKey));
        if (!l->copying)
                return -ENOMEM;
        int r = pthread_mutex_init(&l->lock, NULL);
        if (r == 0) {
                r = pthread_cond_init(&l->settled, NULL);
                if (r != 0)
                        pthread_mutex_destroy(&l->lock);
        }
        if (r != 0) {
                free(l->copying);
                l->copying = NULL;
                return -r;
        }
        return 0;
}

void copy_links_done(CopyLinks *l)
{
        inode_map_done(&l->first);
        free(l->copying);
        l->copying = NULL;
        pthread_mutex_destroy(&l->lock);
        pthread_cond_destroy(&l->settled);
}

static ssize_t find_copying(const CopyLinks *l, dev_t dev, ino_t ino)
{
        for (size_t i = 0; i < l->n_copying; i++)
                if (l->copying[i].dev == dev && l->copying[i].ino == ino)
                        return (ssize_t) i;
        return -1;
}

int copy_links_claim(CopyLinks *l, dev_t dev, ino_t ino, const char *path, const char **ret_path)
{
        int r;
        pthread_mutex_lock(&l->lock);
        for (;;) {
                if (l->failed) {
                        r = -ECANCELED;
                        break;
                }
                const char *first = inode_map_get(&l->first, dev, ino);
                if (!first) {
                        /* One claim per thread at a time, so this never overflows. */
                        if (l->n_copying == l->max_copying) {
                                r = -ENOBUFS;
                                break;
                        }
                        r = inode_map_put(&l->first, dev, ino, path);
                        if (r >= 0) {
                                l->copying[l->n_copying++] = (CopyLinkKey) { dev, ino };
                                r = COPY_LINK_FIRST;
                        }
                        break;
                }
                if (find_copying(l, dev, ino) < 0) {
                        *ret_path = first;
                        r = COPY_LINK_EXISTS;
                        break;
                }
                pthread_cond_wait(&l->settled, &l->lock);
        }
        pthread_mutex_unlock(&l->lock);
        return r;
}

void copy_links_settle(CopyLinks *l, dev_t dev, ino_t ino, bool ok)
{
        pthread_mutex_lock(&l->lock);
        ssize_t i = find_copying(l, dev, ino);
        if (i >= 0)
                l->copying[i] = l->copying[--l->n_copying];
        if (!ok)
                l->failed = true;
        pthread_cond_broadcast(&l->settled);
        pthread_mutex_unlock(&l->lock);
}
