/*
 * slab.h - a slab/epoch allocator whose slabs are real memory (64 KiB, mmap),
 * given back to the OS (munmap) as soon as nothing in them is live.
 *
 * Two slab classes:
 *   SLAB_EPOCH       request-scoped objects. Each epoch allocates from its own
 *                    slabs; slab_epoch_advance() retires them. A retired slab
 *                    with no live object is unmapped at once (drainable); one
 *                    with a live object stays mapped until that object is freed
 *                    (pinned): that is the structural leak.
 *   SLAB_LONG_LIVED  objects that outlive requests (sessions). Their slabs are
 *                    retired when they become empty.
 *
 * Every slab is a drainprof granule and every object an allocation, reported
 * through drainprof.h only: granule_open when a slab is mapped, the allocation
 * site of each object (its caller's file:line, as DRAINPROF_ALLOC_REGISTER
 * records its own), deregister on free, granule_close when a slab is retired.
 *
 * Thread safety: one mutex per allocator; any thread may call any function.
 */
#ifndef NATIVE_SLAB_H
#define NATIVE_SLAB_H

#include <drainprof.h>
#include <stddef.h>
#include <stdint.h>

#define SLAB_SIZE ((size_t)64 * 1024)

typedef enum slab_class { SLAB_EPOCH = 0, SLAB_LONG_LIVED = 1 } slab_class;

typedef struct slab_allocator slab_allocator;

typedef struct slab_stats {
    uint64_t mapped_bytes;       /* slabs mapped now, in bytes */
    uint64_t peak_mapped_bytes;
    uint64_t pinned_slabs;       /* retired but still mapped: a live object holds them */
    uint64_t slabs_mapped;       /* ever */
    uint64_t slabs_unmapped;     /* ever */
    uint64_t epochs;             /* slab_epoch_advance() calls */
    uint64_t live_objects;
} slab_stats;

/* `prof` may be NULL (no instrumentation). Granule ids are first_granule_id,
 * first_granule_id + 1, ...; allocation ids count from 1. NULL when out of memory. */
slab_allocator *slab_allocator_create(drainprof *prof, uint64_t first_granule_id);

/* Retires every slab and unmaps them all, live objects or not. */
void slab_allocator_destroy(slab_allocator *a);

/* Allocates `size` bytes (at most a slab minus headers) from class `cls` and
 * registers the object at the caller's file:line. NULL when it does not fit
 * or mmap fails. */
#define slab_alloc(a, cls, size) slab_alloc_at((a), (cls), (size), __FILE__, (uint32_t)__LINE__)
void *slab_alloc_at(slab_allocator *a, slab_class cls, size_t size, const char *file, uint32_t line);

/* Frees an object; unmaps its slab when it was the last live one of a retired slab. */
void slab_free(slab_allocator *a, void *object);

/* Ends the current epoch: its slabs are retired (granules closed). */
void slab_epoch_advance(slab_allocator *a);

void slab_stats_get(slab_allocator *a, slab_stats *out);

#endif /* NATIVE_SLAB_H */
