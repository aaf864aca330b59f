/* diagnostic.c - per-granule allocation records (diagnostic mode).
 *
 * Each open granule keeps its registrations in registration order; a short
 * spinlock per granule guards them (register and deregister of one granule
 * may come from different threads). The same alloc id may be registered
 * several times; a deregister frees the oldest live registration of it.
 *
 * Registering appends, nothing more: no hashing on the hot path. A
 * deregister first scans a small window starting at the oldest live
 * registration; the first registration of the aid found there is the
 * oldest live one, since everything before it is dead or another aid. That
 * covers frees that come roughly in allocation order in O(1). Other orders
 * fall back to an aid -> registrations index that is built lazily: each
 * fallback indexes the registrations appended since the previous one, so
 * every registration is indexed at most once. Dead registrations are
 * compacted away once they are at least half of the array (the index is
 * dropped then and rebuilt on demand), so deregister is O(1) amortised in
 * any order and memory stays proportional to the live registrations.
 * Everything is released at close.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int dp_diag_init(drainprof *p, uint32_t seg, dp_rec *recs, uint32_t n)
{
    (void)p;
    (void)seg;
    dp_diag_granule *g = calloc(n, sizeof *g);
    if (g == NULL)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        recs[i].diag = &g[i];
    return 0;
}

void dp_diag_free_segment(dp_rec *recs, uint32_t n)
{
    if (n == 0 || recs[0].diag == NULL)
        return;
    for (uint32_t i = 0; i < n; i++) {
        free(recs[i].diag->allocs);
        dp_qmap_free(&recs[i].diag->by_aid);
    }
    free(recs[0].diag);
}

/* Under table_lock, before the record's gen is published as open. */
void dp_diag_open(drainprof *p, dp_rec *rec, dp_time_pair now)
{
    (void)p;
    dp_diag_granule *g = rec->diag;
    dp_spin_lock(&g->lock);
    free(g->allocs);
    dp_qmap_free(&g->by_aid);
    g->allocs = NULL;
    g->len = g->cap = g->dead = 0;
    g->first_live = g->indexed_upto = 0;
    g->total_regs = 0;
    g->open_time = now;
    atomic_store_explicit(&g->live, 0, DP_RELAXED);
    g->life_gen = atomic_load_explicit(&rec->gen, DP_RELAXED) + 1u;
    dp_spin_unlock(&g->lock);
}

void dp_diag_detach(dp_rec *rec, dp_diag_detached *out)
{
    dp_diag_granule *g = rec->diag;
    dp_spin_lock(&g->lock);
    out->open_time = g->open_time;
    out->live = atomic_load_explicit(&g->live, DP_RELAXED);
    out->total_regs = g->total_regs;
    out->allocs = g->allocs;
    out->len = g->len;
    out->by_aid = g->by_aid;
    g->allocs = NULL;
    g->len = g->cap = g->dead = 0;
    g->first_live = g->indexed_upto = 0;
    memset(&g->by_aid, 0, sizeof g->by_aid);
    g->life_gen = 0;
    atomic_store_explicit(&g->live, 0, DP_RELAXED);
    dp_spin_unlock(&g->lock);
}

void dp_diag_release(dp_diag_detached *d)
{
    free(d->allocs);
    d->allocs = NULL;
    dp_qmap_free(&d->by_aid);
}

static void count_block(drainprof *p, dp_block *b, bool alloc)
{
    if (b != NULL)
        dp_ctr_inc(alloc ? &b->allocs : &b->deallocs);
    else
        atomic_fetch_add_explicit(alloc ? &p->overflow.allocs : &p->overflow.deallocs, 1u,
                                  DP_RELAXED);
}

static int fail_block(drainprof *p, dp_block *b, bool alloc, drainprof_ext_error err)
{
    if (b != NULL)
        dp_ctr_inc(alloc ? &b->failed_registers : &b->failed_deregisters);
    else
        atomic_fetch_add_explicit(alloc ? &p->overflow.failed_registers
                                        : &p->overflow.failed_deregisters,
                                  1u, DP_RELAXED);
    return dp_fail(err);
}

static inline dp_block *my_block(drainprof *p)
{
    dp_block *b = atomic_load_explicit(&p->blocks[dp_tl_slot], DP_RELAXED);
    if (DP_UNLIKELY(b == NULL))
        b = dp_block_get(p, dp_my_slot());
    return b;
}

static int grow_allocs(dp_diag_granule *g)
{
    uint32_t ncap = g->cap == 0 ? 16u : g->cap * 2u;
    if (ncap <= g->cap)
        return -1;
    dp_diag_alloc *na = realloc(g->allocs, (size_t)ncap * sizeof *na);
    if (na == NULL)
        return -1;
    g->allocs = na;
    g->cap = ncap;
    return 0;
}

int dp_diag_register(drainprof *p, uint64_t gid, uint64_t aid, size_t size,
                     const char *file, uint32_t line, uint32_t column)
{
    dp_block *b = my_block(p);
    count_block(p, b, true);
    uint64_t gen;
    dp_rec *rec = dp_find_cached(p, b, gid, &gen);
    if (rec == NULL)
        return fail_block(p, b, true, DRAINPROF_EXT_ERR_NOT_OPEN);
    uint64_t stamp = dp_stamp(p->use_tsc);
    dp_diag_granule *g = rec->diag;
    dp_spin_lock(&g->lock);
    if (DP_UNLIKELY(g->life_gen != gen)) {
        dp_spin_unlock(&g->lock);
        return fail_block(p, b, true, DRAINPROF_EXT_ERR_NOT_OPEN);
    }
    if (DP_UNLIKELY(g->len == g->cap) && grow_allocs(g) != 0) {
        dp_spin_unlock(&g->lock);
        return fail_block(p, b, true, DRAINPROF_EXT_ERR_NO_MEMORY);
    }
    uint32_t idx = g->len++;
    dp_diag_alloc *a = &g->allocs[idx];
    a->aid = aid;
    a->stamp = stamp;
    a->size = size;
    a->file = file;
    a->line = line;
    a->column = column;
    a->next = DP_NIL;
    a->live = 1;
    g->total_regs++;
    atomic_store_explicit(&g->live, atomic_load_explicit(&g->live, DP_RELAXED) + 1, DP_RELAXED);
    dp_spin_unlock(&g->lock);
    return 0;
}

/* Drops dead registrations, keeping order; the index is rebuilt on demand. */
static void compact(dp_diag_granule *g)
{
    uint32_t w = 0;
    for (uint32_t i = g->first_live; i < g->len; i++) {
        if (g->allocs[i].live) {
            if (w != i)
                g->allocs[w] = g->allocs[i];
            w++;
        }
    }
    g->len = w;
    g->dead = 0;
    g->first_live = 0;
    g->indexed_upto = 0;
    dp_qmap_clear(&g->by_aid);
}

/* Appends the registrations not indexed yet to their aid's FIFO. Returns 0,
 * or -1 when memory runs out; the index then still covers exactly the prefix
 * [0, indexed_upto), so nothing is half-done. */
static int index_tail(dp_diag_granule *g)
{
    for (uint32_t i = g->indexed_upto; i < g->len; i++) {
        dp_diag_alloc *a = &g->allocs[i];
        if (a->live) {
            dp_qslot *q = dp_qmap_upsert(&g->by_aid, a->aid, 0);
            if (q == NULL)
                return -1;
            a->next = DP_NIL;
            if (q->head1 == 0)
                q->head1 = i + 1u;
            else
                g->allocs[q->tail].next = i;
            q->tail = i;
        }
        g->indexed_upto = i + 1u;
    }
    return 0;
}

#define DP_SCAN_WINDOW 16u

/* Position of the oldest live registration of aid, DP_NIL when none, or
 * DP_NIL - 1 when the index could not be built (out of memory). */
static uint32_t find_oldest(dp_diag_granule *g, uint64_t aid)
{
    uint32_t i = g->first_live;
    uint32_t end = g->len - i > DP_SCAN_WINDOW ? i + DP_SCAN_WINDOW : g->len;
    for (; i < end; i++) {
        if (g->allocs[i].aid == aid && g->allocs[i].live)
            return i;
    }
    if (i == g->len)
        return DP_NIL;  /* the window reached the end: not live */
    if (index_tail(g) != 0)
        return DP_NIL - 1u;
    dp_qslot *q = dp_qmap_find(&g->by_aid, aid, 0);
    return q == NULL ? DP_NIL : q->head1 - 1u;
}

static void kill(dp_diag_granule *g, uint32_t i)
{
    dp_diag_alloc *a = &g->allocs[i];
    if (i < g->indexed_upto) {
        /* Indexed, and the oldest live one of its aid: its FIFO's head. */
        dp_qslot *q = dp_qmap_find(&g->by_aid, a->aid, 0);
        if (a->next == DP_NIL)
            dp_qmap_remove(&g->by_aid, q);
        else
            q->head1 = a->next + 1u;
    }
    a->live = 0;
    g->dead++;
    atomic_store_explicit(&g->live, atomic_load_explicit(&g->live, DP_RELAXED) - 1, DP_RELAXED);
    if (i == g->first_live) {
        while (g->first_live < g->len && !g->allocs[g->first_live].live)
            g->first_live++;
    }
    if (g->dead >= 32u && g->dead * 2u >= g->len)
        compact(g);
}

int dp_diag_deregister(drainprof *p, uint64_t gid, uint64_t aid)
{
    dp_block *b = my_block(p);
    count_block(p, b, false);
    uint64_t gen;
    dp_rec *rec = dp_find_cached(p, b, gid, &gen);
    if (rec != NULL) {
        dp_diag_granule *g = rec->diag;
        dp_spin_lock(&g->lock);
        if (DP_LIKELY(g->life_gen == gen)) {
            uint32_t i = find_oldest(g, aid);
            if (DP_LIKELY(i < DP_NIL - 1u)) {
                kill(g, i);
                dp_spin_unlock(&g->lock);
                return 0;
            }
            if (i == DP_NIL - 1u) {
                dp_spin_unlock(&g->lock);
                return fail_block(p, b, false, DRAINPROF_EXT_ERR_NO_MEMORY);
            }
        } else {
            rec = NULL;
        }
        dp_spin_unlock(&g->lock);
    }
    /* Not live in an open granule: maybe it pinned a closed one. */
    if (dp_life_resolve(p, gid, aid) == 0)
        return 0;
    return fail_block(p, b, false,
                      rec != NULL ? DRAINPROF_EXT_ERR_NOT_LIVE : DRAINPROF_EXT_ERR_NOT_OPEN);
}
