/* counters.c - per-thread counter blocks (LongAdder style).
 *
 * libdrainprof 0.1 paid one shared atomic increment per register/deregister:
 * ~4.7 ns alone, ~20 ns once two threads hit the same granule. Here each
 * thread slot owns a block per profiler: its alloc/dealloc totals and one net
 * (register - deregister) cell per granule record. The owner is the only
 * writer while a granule lives, so it updates with a relaxed load + store (no
 * lock prefix, no shared cache line); granule_close sums the record's cells
 * over all blocks and zeroes them, which is exact because no register or
 * deregister of that granule may be in flight then (the caller's duty), and
 * the next open of the record is ordered after the zeroing by table_lock and
 * the release store of the record's gen.
 *
 * Threads without a private block (more than DP_MAX_SLOTS alive, or out of
 * memory) count with atomic read-modify-writes into the overflow block and the
 * record's shared_net.
 *
 * Foreign slots (foreign.c) add their counts here too: to a record's net while
 * attached (sums without zeroing read them), folded into shared_net when they
 * go; to the totals through dp_foreign_totals.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Never open (gen 0 vs cached gen 1): makes a fresh block's cache miss. */
static const dp_rec dummy_rec;

static void block_init(dp_block *b, int kind)
{
    memset(b, 0, sizeof *b);
    b->kind = kind;
    b->hot_gid = 0;
    b->hot_rec = &dummy_rec;
    b->hot_gen = 1;
    b->hot_cell = NULL;
}

dp_block *dp_block_get(drainprof *p, uint32_t slot)
{
    if (slot == 0 || slot > DP_MAX_SLOTS)
        return NULL;
    dp_block *b = atomic_load_explicit(&p->blocks[slot], DP_ACQUIRE);
    if (b != NULL)
        return b;
    _Static_assert(sizeof(dp_block) <= DP_BLOCK_CELLS0, "block overlaps its inline cells");
    uint32_t n0 = dp_seg_len(p, 0);
    bool inline0 = n0 <= DP_BLOCK_CELLS0_MAX;
    size_t bytes = inline0 ? DP_BLOCK_CELLS0 + (((size_t)n0 * 8u + DP_CACHE_LINE - 1u) &
                                                ~(size_t)(DP_CACHE_LINE - 1u))
                           : sizeof *b;
    b = aligned_alloc(DP_CACHE_LINE, bytes);
    if (b == NULL)
        return NULL;
    block_init(b, DP_BLOCK_NATIVE);
    if (inline0) {
        _Atomic int64_t *cells = (_Atomic int64_t *)((char *)b + DP_BLOCK_CELLS0);
        for (uint32_t i = 0; i < n0; i++)
            atomic_init(&cells[i], 0);
        b->cells0_inline = true;
        atomic_init(&b->cells[0], cells);
    }
    dp_block *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&p->blocks[slot], &expected, b,
                                                 DP_RELEASE, DP_ACQUIRE)) {
        free(b);  /* cannot happen: one thread per slot; stay safe anyway */
        return expected;
    }
    uint32_t hw = atomic_load_explicit(&p->block_hw, DP_RELAXED);
    while (hw < slot &&
           !atomic_compare_exchange_weak_explicit(&p->block_hw, &hw, slot,
                                                  DP_RELEASE, DP_RELAXED)) {
    }
    return b;
}

_Atomic int64_t *dp_block_cell(drainprof *p, dp_block *b, uint32_t idx)
{
    uint32_t off;
    uint32_t k = dp_seg_of(p, idx, &off);
    _Atomic int64_t *cells = atomic_load_explicit(&b->cells[k], DP_RELAXED);
    if (DP_UNLIKELY(cells == NULL)) {
        size_t n = dp_seg_len(p, k);
        size_t bytes = (n * sizeof *cells + DP_CACHE_LINE - 1u) & ~(size_t)(DP_CACHE_LINE - 1u);
        cells = aligned_alloc(DP_CACHE_LINE, bytes);
        if (cells == NULL)
            return NULL;
        for (size_t i = 0; i < n; i++)
            atomic_init(&cells[i], 0);
        atomic_store_explicit(&b->cells[k], cells, DP_RELEASE);
    }
    return &cells[off];
}

static int64_t block_net(const dp_block *b, uint32_t k, uint32_t off, bool zero)
{
    switch (b->kind) {
    case DP_BLOCK_NATIVE: {
        _Atomic int64_t *cells = atomic_load_explicit(&((dp_block *)b)->cells[k], DP_ACQUIRE);
        if (cells == NULL)
            return 0;
        int64_t v = atomic_load_explicit(&cells[off], DP_RELAXED);
        if (zero && v != 0)
            atomic_store_explicit(&cells[off], 0, DP_RELAXED);
        return v;
    }
    default:
        return 0;
    }
}

int64_t dp_counters_net(const drainprof *p, const dp_rec *rec, bool zero)
{
    uint32_t off;
    uint32_t k = dp_seg_of(p, rec->index, &off);
    drainprof *mp = (drainprof *)p;
    dp_rec *mrec = (dp_rec *)rec;
    /* A reader sums shared_net and the attached foreign slots under the
     * foreign-slot mutex, since detach moves counts from one to the other.
     * Close (zero) has released the record's slots already (foreign.c). */
    bool locked = !zero && dp_foreign_lock(p);
    int64_t net = zero ? atomic_exchange_explicit(&mrec->shared_net, 0, DP_RELAXED)
                       : atomic_load_explicit(&mrec->shared_net, DP_RELAXED);
    if (locked)
        net += dp_foreign_net_locked(p, rec);
    dp_foreign_unlock(p, locked);
    uint32_t hw = atomic_load_explicit(&mp->block_hw, DP_ACQUIRE);
    for (uint32_t s = 1; s <= hw; s++) {
        const dp_block *b = atomic_load_explicit(&mp->blocks[s], DP_ACQUIRE);
        if (b != NULL)
            net += block_net(b, k, off, zero);
    }
    return net;
}

typedef struct totals {
    uint64_t allocs, deallocs, failed_regs, failed_deregs;
} totals;

static void block_totals(const dp_block *b, totals *t)
{
    dp_block *mb = (dp_block *)b;
    switch (b->kind) {
    case DP_BLOCK_NATIVE:
    case DP_BLOCK_OVERFLOW:
        /* Deallocs first (acquire), then allocs: a writer's deregisters
         * never pass its own registers, so neither does this sum, even while
         * the owner keeps counting (allocs can only have grown since). */
        t->deallocs += atomic_load_explicit(&mb->deallocs, DP_ACQUIRE);
        t->allocs += atomic_load_explicit(&mb->allocs, DP_RELAXED);
        t->failed_regs += atomic_load_explicit(&mb->failed_registers, DP_RELAXED);
        t->failed_deregs += atomic_load_explicit(&mb->failed_deregisters, DP_RELAXED);
        break;
    default:
        break;
    }
}

void dp_counters_totals(const drainprof *p, uint64_t *allocs, uint64_t *deallocs,
                        uint64_t *failed_regs, uint64_t *failed_deregs)
{
    drainprof *mp = (drainprof *)p;
    totals t = {0, 0, 0, 0};
    block_totals(&mp->overflow, &t);
    uint32_t hw = atomic_load_explicit(&mp->block_hw, DP_ACQUIRE);
    for (uint32_t s = 1; s <= hw; s++) {
        const dp_block *b = atomic_load_explicit(&mp->blocks[s], DP_ACQUIRE);
        if (b != NULL)
            block_totals(b, &t);
    }
    dp_foreign_totals(p, &t.allocs, &t.deallocs);
    if (allocs) *allocs = t.allocs;
    if (deallocs) *deallocs = t.deallocs;
    if (failed_regs) *failed_regs = t.failed_regs;
    if (failed_deregs) *failed_deregs = t.failed_deregs;
}

static void block_zero(const drainprof *p, dp_block *b)
{
    atomic_store_explicit(&b->allocs, 0, DP_RELAXED);
    atomic_store_explicit(&b->deallocs, 0, DP_RELAXED);
    atomic_store_explicit(&b->failed_registers, 0, DP_RELAXED);
    atomic_store_explicit(&b->failed_deregisters, 0, DP_RELAXED);
    for (uint32_t k = 0; k < DP_MAX_SEGS; k++) {
        _Atomic int64_t *cells = atomic_load_explicit(&b->cells[k], DP_RELAXED);
        if (cells == NULL)
            continue;
        uint32_t n = dp_seg_len(p, k);
        for (uint32_t i = 0; i < n; i++)
            atomic_store_explicit(&cells[i], 0, DP_RELAXED);
    }
}

void dp_counters_reset(drainprof *p)
{
    dp_foreign_reset(p);
    block_zero(p, &p->overflow);
    for (uint32_t s = 1; s <= DP_MAX_SLOTS; s++) {
        dp_block *b = atomic_load_explicit(&p->blocks[s], DP_RELAXED);
        if (b != NULL)
            block_zero(p, b);
    }
}

int dp_counters_init(drainprof *p)
{
    for (uint32_t s = 0; s <= DP_SLOT_OVERFLOW; s++)
        atomic_init(&p->blocks[s], NULL);
    block_init(&p->overflow, DP_BLOCK_OVERFLOW);
    return 0;
}

void dp_counters_destroy(drainprof *p)
{
    dp_foreign_destroy(p);
    for (uint32_t s = 1; s <= DP_MAX_SLOTS; s++) {
        dp_block *b = atomic_load_explicit(&p->blocks[s], DP_RELAXED);
        if (b == NULL)
            continue;
        for (uint32_t k = b->cells0_inline ? 1u : 0u; k < DP_MAX_SEGS; k++)
            free(atomic_load_explicit(&b->cells[k], DP_RELAXED));
        free(b);
        atomic_store_explicit(&p->blocks[s], NULL, DP_RELAXED);
    }
}
