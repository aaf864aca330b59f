/* snapshot.c - snapshot, extended snapshot, sweep, granule_live. All
 * lock-free: they read counters and records that never move or disappear
 * before destroy. */
#include "internal.h"

#include <string.h>

void dp_snapshot_fill(const drainprof *p, drainprof_ext_snapshot_t *out)
{
    drainprof *mp = (drainprof *)p;
    memset(out, 0, sizeof *out);
    drainprof_snapshot_t *b = &out->base;
    clock_gettime(CLOCK_MONOTONIC, &b->timestamp);
    /* total_closes is derived, so total == drainable + pinned always. */
    b->drainable_closes = atomic_load_explicit(&mp->drainable, DP_RELAXED);
    b->pinned_closes = atomic_load_explicit(&mp->pinned, DP_RELAXED);
    b->total_closes = b->drainable_closes + b->pinned_closes;
    b->dsr = b->total_closes == 0 ? 0.0 : (double)b->drainable_closes / (double)b->total_closes;
    /* open before peak: peak is monotonic and >= open at every instant. */
    b->open_granules = atomic_load_explicit(&mp->open, DP_RELAXED);
    b->peak_open_granules = atomic_load_explicit(&mp->peak, DP_RELAXED);
    if (b->peak_open_granules < b->open_granules)
        b->peak_open_granules = b->open_granules;
    dp_counters_totals(p, &b->total_allocs, &b->total_deallocs, &out->failed_registers,
                       &out->failed_deregisters);
    out->dropped_reports = atomic_load_explicit(&mp->dropped_reports, DP_RELAXED);
    out->unbalanced_closes = atomic_load_explicit(&mp->unbalanced, DP_RELAXED);
    out->failed_opens = atomic_load_explicit(&mp->failed_opens, DP_RELAXED);
    out->failed_closes = atomic_load_explicit(&mp->failed_closes, DP_RELAXED);
    out->lifetime_records = atomic_load_explicit(&mp->life_recorded, DP_RELAXED);
    out->dropped_lifetime_records = atomic_load_explicit(&mp->life_dropped, DP_RELAXED);
}

DP_EXPORT void drainprof_snapshot(const drainprof *prof, drainprof_snapshot_t *out)
{
    if (prof == NULL || out == NULL)
        return;
    drainprof_ext_snapshot_t e;
    dp_snapshot_fill(prof, &e);
    *out = e.base;
}

DP_EXPORT void drainprof_ext_snapshot(const drainprof *prof, drainprof_ext_snapshot_t *out)
{
    if (prof == NULL || out == NULL)
        return;
    dp_snapshot_fill(prof, out);
}

static int64_t rec_live(const drainprof *p, const dp_rec *r)
{
    if (r->diag != NULL)
        return atomic_load_explicit(&r->diag->live, DP_RELAXED);
    return dp_counters_net(p, r, false);
}

DP_EXPORT void drainprof_sweep(drainprof *prof, drainprof_snapshot_t *out)
{
    if (prof == NULL || out == NULL)
        return;
    drainprof_ext_snapshot_t e;
    dp_snapshot_fill(prof, &e);
    uint64_t drainable = 0, pinned = 0;
    for (uint32_t k = 0; k < DP_MAX_SEGS; k++) {
        dp_rec *seg = atomic_load_explicit(&prof->segs[k], DP_ACQUIRE);
        if (seg == NULL)
            break;
        uint32_t n = dp_seg_len(prof, k);
        for (uint32_t i = 0; i < n; i++) {
            const dp_rec *r = &seg[i];
            uint64_t g = atomic_load_explicit(&r->gen, DP_ACQUIRE);
            if ((g & 1u) == 0)
                continue;
            int64_t live = rec_live(prof, r);
            atomic_thread_fence(DP_ACQUIRE);
            if (atomic_load_explicit(&r->gen, DP_RELAXED) != g)
                continue;  /* closed meanwhile */
            if (live == 0)
                drainable++;
            else
                pinned++;
        }
    }
    *out = e.base;
    out->drainable_closes = drainable;
    out->pinned_closes = pinned;
    out->total_closes = drainable + pinned;
    out->dsr = out->total_closes == 0 ? 0.0 : (double)drainable / (double)out->total_closes;
}

DP_EXPORT int drainprof_ext_granule_live(const drainprof *prof, drainprof_granule_id id,
                                         int64_t *live)
{
    if (prof == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    for (;;) {
        uint64_t gen;
        const dp_rec *r = dp_table_lookup(prof, id, &gen);
        if (r == NULL)
            return 0;
        int64_t v = rec_live(prof, r);
        atomic_thread_fence(DP_ACQUIRE);
        if (atomic_load_explicit(&r->gen, DP_RELAXED) == gen) {
            if (live != NULL)
                *live = v;
            return 1;
        }
    }
}
