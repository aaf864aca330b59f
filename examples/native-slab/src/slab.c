/*
 * slab.c - see slab.h. The four drainprof calls are marked "drainprof:".
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include "slab.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>

struct slab {
    struct slab *prev, *next;  /* in exactly one list: its epoch's, the long-lived or the pinned */
    uint64_t granule;
    slab_class cls;
    size_t used;               /* bump offset from the start of the mapping */
    uint32_t live;
    int retired;
};

/* Precedes every object: how free() finds the slab and the allocation id. */
struct object_header {
    struct slab *slab;
    uint64_t alloc_id;
};

#define ALIGN 16u
#define ROUND_UP(n) (((n) + ALIGN - 1) & ~(size_t)(ALIGN - 1))
#define SLAB_HEADER ROUND_UP(sizeof(struct slab))

struct slab_allocator {
    pthread_mutex_t lock;
    drainprof *prof;
    uint64_t next_granule;
    uint64_t next_alloc;
    struct slab *epoch;        /* slabs of the current epoch */
    struct slab *long_lived;   /* open long-lived slabs, the one taking allocations first */
    struct slab *pinned;       /* retired epoch slabs kept mapped by a live object */
    slab_stats stats;
};

static void list_push(struct slab **head, struct slab *s) {
    s->prev = NULL;
    s->next = *head;
    if (*head != NULL) (*head)->prev = s;
    *head = s;
}

static void list_remove(struct slab **head, struct slab *s) {
    if (s->prev != NULL) s->prev->next = s->next; else *head = s->next;
    if (s->next != NULL) s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

static struct slab *slab_map(slab_allocator *a, slab_class cls) {
    void *memory = mmap(NULL, SLAB_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return NULL;
    struct slab *s = memory;
    s->prev = s->next = NULL;
    s->granule = a->next_granule++;
    s->cls = cls;
    s->used = SLAB_HEADER;
    s->live = 0;
    s->retired = 0;
    a->stats.slabs_mapped++;
    a->stats.mapped_bytes += SLAB_SIZE;
    if (a->stats.mapped_bytes > a->stats.peak_mapped_bytes) a->stats.peak_mapped_bytes = a->stats.mapped_bytes;
    drainprof_granule_open(a->prof, s->granule); /* drainprof: a granule starts */
    return s;
}

static void slab_unmap(slab_allocator *a, struct slab *s) {
    a->stats.slabs_unmapped++;
    a->stats.mapped_bytes -= SLAB_SIZE;
    munmap(s, SLAB_SIZE);
}

/* No more allocations from `s`; drainprof learns whether it could be reclaimed. */
static void slab_retire(slab_allocator *a, struct slab *s) {
    s->retired = 1;
    drainprof_granule_close(a->prof, s->granule); /* drainprof: drainable or pinned */
}

slab_allocator *slab_allocator_create(drainprof *prof, uint64_t first_granule_id) {
    slab_allocator *a = calloc(1, sizeof *a);
    if (a == NULL) return NULL;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return NULL;
    }
    a->prof = prof;
    a->next_granule = first_granule_id;
    a->next_alloc = 1;
    return a;
}

void slab_allocator_destroy(slab_allocator *a) {
    if (a == NULL) return;
    struct slab **lists[] = {&a->epoch, &a->long_lived, &a->pinned};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        while (*lists[i] != NULL) {
            struct slab *s = *lists[i];
            list_remove(lists[i], s);
            if (!s->retired) slab_retire(a, s);
            slab_unmap(a, s);
        }
    }
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void *slab_alloc_at(slab_allocator *a, slab_class cls, size_t size, const char *file, uint32_t line) {
    size_t need = sizeof(struct object_header) + ROUND_UP(size);
    if (size > SLAB_SIZE || need > SLAB_SIZE - SLAB_HEADER) return NULL;
    pthread_mutex_lock(&a->lock);
    struct slab **list = cls == SLAB_EPOCH ? &a->epoch : &a->long_lived;
    struct slab *s = *list;
    if (s == NULL || s->used + need > SLAB_SIZE) {
        s = slab_map(a, cls);
        if (s == NULL) {
            pthread_mutex_unlock(&a->lock);
            return NULL;
        }
        list_push(list, s);
    }
    struct object_header *h = (struct object_header *)((char *)s + s->used);
    s->used += need;
    s->live++;
    h->slab = s;
    h->alloc_id = a->next_alloc++;
    a->stats.live_objects++;
    /* drainprof: what DRAINPROF_ALLOC_REGISTER expands to, with our caller's site */
    drainprof_alloc_register_located(a->prof, s->granule, h->alloc_id, size, file, line);
    pthread_mutex_unlock(&a->lock);
    return h + 1;
}

void slab_free(slab_allocator *a, void *object) {
    if (object == NULL) return;
    struct object_header *h = (struct object_header *)object - 1;
    pthread_mutex_lock(&a->lock);
    struct slab *s = h->slab;
    s->live--;
    a->stats.live_objects--;
    /* drainprof: also after a pinned close, so a diagnostic profiler learns how long the
     * object outlived its slab (a production one returns -1 then: nothing to learn) */
    drainprof_alloc_deregister(a->prof, s->granule, h->alloc_id);
    if (s->live == 0) {
        if (s->retired) { /* the last object pinning a retired epoch slab */
            list_remove(&a->pinned, s);
            a->stats.pinned_slabs--;
            slab_unmap(a, s);
        } else if (s->cls == SLAB_LONG_LIVED) {
            list_remove(&a->long_lived, s);
            slab_retire(a, s);
            slab_unmap(a, s);
        }
    }
    pthread_mutex_unlock(&a->lock);
}

void slab_epoch_advance(slab_allocator *a) {
    pthread_mutex_lock(&a->lock);
    while (a->epoch != NULL) {
        struct slab *s = a->epoch;
        list_remove(&a->epoch, s);
        slab_retire(a, s);
        if (s->live == 0) {
            slab_unmap(a, s); /* drainable: straight back to the OS */
        } else {
            list_push(&a->pinned, s);
            a->stats.pinned_slabs++;
        }
    }
    a->stats.epochs++;
    pthread_mutex_unlock(&a->lock);
}

void slab_stats_get(slab_allocator *a, slab_stats *out) {
    pthread_mutex_lock(&a->lock);
    *out = a->stats;
    pthread_mutex_unlock(&a->lock);
}
