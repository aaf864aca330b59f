/* production.c - register/deregister entry points and the production paths.
 *
 * The production hot path: one %fs-relative load (thread slot), the block
 * pointer, a relaxed load + store of the thread's total, a compare against
 * the per-thread hot-granule cache ({gid, record, gen}: a hit means the
 * granule is still the same open life), and a relaxed load + store of the
 * thread's cell for that granule. No lock prefix, no shared cache line.
 */
#include "internal.h"

static int prod_slow(drainprof *p, dp_block *b, uint64_t gid, int64_t delta)
{
    bool counted = b != NULL;
    if (b == NULL)
        b = dp_block_get(p, dp_my_slot());
    if (!counted) {
        if (b != NULL)
            dp_ctr_inc(delta > 0 ? &b->allocs : &b->deallocs);
        else
            atomic_fetch_add_explicit(delta > 0 ? &p->overflow.allocs : &p->overflow.deallocs,
                                      1u, DP_RELAXED);
    }
    uint64_t gen;
    dp_rec *rec = dp_table_lookup(p, gid, &gen);
    if (rec == NULL) {
        _Atomic uint64_t *failed;
        if (b != NULL) {
            failed = delta > 0 ? &b->failed_registers : &b->failed_deregisters;
            dp_ctr_inc(failed);
        } else {
            failed = delta > 0 ? &p->overflow.failed_registers : &p->overflow.failed_deregisters;
            atomic_fetch_add_explicit(failed, 1u, DP_RELAXED);
        }
        return dp_fail(DRAINPROF_EXT_ERR_NOT_OPEN);
    }
    if (b != NULL) {
        _Atomic int64_t *cell = dp_block_cell(p, b, rec->index);
        if (cell != NULL) {
            b->hot_gid = gid;
            b->hot_rec = rec;
            b->hot_gen = gen;
            b->hot_cell = cell;
            dp_cell_add(cell, delta);
            return 0;
        }
    }
    /* No private cell (no slot or out of memory): production never fails
     * for memory, it falls back to the record's shared counter. */
    atomic_fetch_add_explicit(&rec->shared_net, delta, DP_RELAXED);
    return 0;
}

static inline int prod_register(drainprof *p, uint64_t gid)
{
    dp_block *b = atomic_load_explicit(&p->blocks[dp_tl_slot], DP_RELAXED);
    if (DP_LIKELY(b != NULL)) {
        dp_ctr_inc(&b->allocs);
        if (DP_LIKELY(b->hot_gid == gid &&
                      atomic_load_explicit(&b->hot_rec->gen, DP_RELAXED) == b->hot_gen)) {
            dp_cell_add(b->hot_cell, 1);
            return 0;
        }
    }
    return prod_slow(p, b, gid, 1);
}

static inline int prod_deregister(drainprof *p, uint64_t gid)
{
    dp_block *b = atomic_load_explicit(&p->blocks[dp_tl_slot], DP_RELAXED);
    if (DP_LIKELY(b != NULL)) {
        dp_ctr_inc(&b->deallocs);
        if (DP_LIKELY(b->hot_gid == gid &&
                      atomic_load_explicit(&b->hot_rec->gen, DP_RELAXED) == b->hot_gen)) {
            dp_cell_add(b->hot_cell, -1);
            return 0;
        }
    }
    return prod_slow(p, b, gid, -1);
}

DP_EXPORT int drainprof_alloc_register(drainprof *prof, drainprof_granule_id granule_id,
                                       drainprof_alloc_id alloc_id, size_t size)
{
    if (DP_UNLIKELY(prof == NULL))
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    if (DP_LIKELY(prof->mode == DRAINPROF_PRODUCTION))
        return prod_register(prof, granule_id);
    return dp_diag_register(prof, granule_id, alloc_id, size, NULL, 0, 0);
}

DP_EXPORT int drainprof_alloc_register_located(drainprof *prof, drainprof_granule_id granule_id,
                                               drainprof_alloc_id alloc_id, size_t size,
                                               const char *file, uint32_t line)
{
    if (DP_UNLIKELY(prof == NULL))
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    if (DP_LIKELY(prof->mode == DRAINPROF_PRODUCTION))
        return prod_register(prof, granule_id);
    return dp_diag_register(prof, granule_id, alloc_id, size, file, line, 0);
}

DP_EXPORT int drainprof_ext_alloc_register_site(drainprof *prof, drainprof_granule_id granule_id,
                                                drainprof_alloc_id alloc_id, size_t size,
                                                const drainprof_alloc_site *site)
{
    if (DP_UNLIKELY(prof == NULL))
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    if (DP_LIKELY(prof->mode == DRAINPROF_PRODUCTION))
        return prod_register(prof, granule_id);
    if (site == NULL)
        return dp_diag_register(prof, granule_id, alloc_id, size, NULL, 0, 0);
    return dp_diag_register(prof, granule_id, alloc_id, size, site->file, site->line,
                            site->column);
}

DP_EXPORT int drainprof_alloc_deregister(drainprof *prof, drainprof_granule_id granule_id,
                                         drainprof_alloc_id alloc_id)
{
    if (DP_UNLIKELY(prof == NULL))
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    if (DP_LIKELY(prof->mode == DRAINPROF_PRODUCTION))
        return prod_deregister(prof, granule_id);
    return dp_diag_deregister(prof, granule_id, alloc_id);
}
