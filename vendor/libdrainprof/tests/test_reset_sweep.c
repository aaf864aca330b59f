/*
 * test_reset_sweep.c - drainprof_reset (every counter and all state cleared,
 * ids reusable, reports and lifetime data gone, configuration kept) and
 * drainprof_sweep (the instantaneous view over open granules, changing nothing).
 */
#include "harness.h"

static void test_reset(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("reset", c->name);
        drainprof_config cfg = dpt_config_for(c);
        cfg.slot_capacity = 8;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        /* Build up state of every kind. */
        for (uint64_t g = 0; g < 8; g++) EXPECT_INT(drainprof_granule_open(prof, g), 0);
        for (uint64_t g = 0; g < 8; g++) EXPECT_INT(drainprof_alloc_register(prof, g, g, 8), 0);
        EXPECT_INT(drainprof_granule_close(prof, 0), 0);                 /* pinned: report, pin */
        EXPECT_INT(drainprof_alloc_deregister(prof, 0, 0), c->mode == DRAINPROF_DIAGNOSTIC ? 0 : -1);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);                 /* pinned, pin kept */
        EXPECT_INT(drainprof_alloc_deregister(prof, 2, 2), 0);
        EXPECT_INT(drainprof_granule_close(prof, 2), 1);
        EXPECT_INT(drainprof_granule_open(prof, 2), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 999, 1, 1), -1);       /* failed */
        drainprof_snapshot_t s = dpt_snap(prof);
        CHECK(s.total_closes == 3 && s.peak_open_granules == 8 && s.open_granules == 6);

        drainprof_reset(prof);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 0, 0, 0, 0);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 0);
        EXPECT_UINT(e.unbalanced_closes, 0);
        EXPECT_UINT(e.failed_opens, 0);
        EXPECT_UINT(e.failed_closes, 0);
        EXPECT_UINT(e.failed_registers, 0);
        EXPECT_UINT(e.failed_deregisters, 0);
        EXPECT_UINT(e.lifetime_records, 0);
        EXPECT_UINT(e.dropped_lifetime_records, 0);

        /* Reports and lifetime data are gone. */
        drainprof_pinning_report *r[4] = { NULL, NULL, NULL, NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 4), 0);
        drainprof_ext_lifetime_record rec[4];
        EXPECT_UINT(drainprof_ext_lifetime_records(prof, rec, 4), 0);
        if (c->mode == DRAINPROF_DIAGNOSTIC) {
            drainprof_diagnostic_summary *sum = drainprof_diagnostic_summary_compute(prof);
            REQUIRE(sum != NULL);
            EXPECT_UINT(sum->site_count, 0);
            EXPECT_UINT(sum->reports_analyzed, 0);
            drainprof_diagnostic_summary_free(sum);
        }
        /* The pin of granule 1 is forgotten: its free is an ordinary failure. */
        EXPECT_INT(drainprof_alloc_deregister(prof, 1, 1), -1);

        /* Open granules are forgotten: not open, and their ids open again. */
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, NULL), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 5, 1, 1), -1);
        EXPECT_INT(drainprof_granule_close(prof, 5), -1);
        /* The full capacity is available again (the forgotten slots are free). */
        for (uint64_t g = 0; g < 8; g++) EXPECT_INT(drainprof_granule_open(prof, g), 0);
        if (c->storage == DRAINPROF_SLOT_ARRAY) EXPECT_INT(drainprof_granule_open(prof, 8), -1);
        int64_t live = -1;
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 1);
        EXPECT_INT(live, 0);
        for (uint64_t g = 0; g < 8; g++) EXPECT_INT(drainprof_granule_close(prof, g), 1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 8, 8, 0, 0, 8, 1, 1);
        /* The configuration is kept. */
        drainprof_config got;
        EXPECT_INT(drainprof_ext_get_config(prof, &got), 0);
        EXPECT_INT(got.mode, c->mode);
        EXPECT_INT(got.storage, c->storage);
        EXPECT_UINT(got.slot_capacity, 8);
        drainprof_reset(prof);
        drainprof_reset(prof); /* twice is fine */
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 0, 0, 0, 0);
        drainprof_destroy(prof);
    }
}

static void test_sweep(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("sweep", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        drainprof_snapshot_t w;
        memset(&w, 0x77, sizeof w);
        drainprof_sweep(prof, &w);
        EXPECT_COUNTERS(w, 0, 0, 0, 0, 0, 0, 0);
        EXPECT_DBL(w.dsr, 0.0);

        /* Closed history that sweep must not show. */
        EXPECT_INT(drainprof_granule_open(prof, 100), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 100, 1, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, 100), 0);
        EXPECT_INT(drainprof_granule_open(prof, 101), 0);
        EXPECT_INT(drainprof_granule_close(prof, 101), 1);
        memset(&w, 0x77, sizeof w);
        drainprof_sweep(prof, &w);
        EXPECT_COUNTERS(w, 0, 0, 0, 0, 1, 1, 0);

        /* 5 open: 0 and 3 empty; 1, 2 and 4 hold live allocations. */
        for (uint64_t g = 0; g < 5; g++) EXPECT_INT(drainprof_granule_open(prof, g << 20), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1 << 20, 1, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 2 << 20, 2, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 2 << 20, 3, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 3 << 20, 4, 1), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 3 << 20, 4), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 4 << 20, 5, 1), 0);
        drainprof_snapshot_t before = dpt_snap(prof);
        struct timespec t0 = dpt_now();
        memset(&w, 0x77, sizeof w);
        drainprof_sweep(prof, &w);
        struct timespec t1 = dpt_now();
        EXPECT_UINT(w.total_closes, 5);
        EXPECT_UINT(w.drainable_closes, 2);
        EXPECT_UINT(w.pinned_closes, 3);
        EXPECT_DBL(w.dsr, 2.0 / 5.0);
        EXPECT_UINT(w.open_granules, 5);
        EXPECT_UINT(w.peak_open_granules, 5);
        EXPECT_UINT(w.total_allocs, 6);
        EXPECT_UINT(w.total_deallocs, 1);
        CHECK(dpt_ts_cmp(t0, w.timestamp) <= 0 && dpt_ts_cmp(w.timestamp, t1) <= 0);

        /* Changes nothing. */
        drainprof_snapshot_t after = dpt_snap(prof);
        EXPECT_COUNTERS(after, before.total_closes, before.drainable_closes, before.pinned_closes,
                        before.open_granules, before.peak_open_granules, before.total_allocs,
                        before.total_deallocs);
        drainprof_pinning_report *r[4];
        uint32_t n = drainprof_drain_reports(prof, r, 4);
        EXPECT_UINT(n, c->mode == DRAINPROF_DIAGNOSTIC ? 1 : 0); /* only granule 100's */
        for (uint32_t i = 0; i < n; i++) drainprof_pinning_report_free(r[i]);
        int64_t live = -1;
        EXPECT_INT(drainprof_ext_granule_live(prof, 2 << 20, &live), 1);
        EXPECT_INT(live, 2);
        EXPECT_INT(drainprof_granule_close(prof, 0), 1);
        EXPECT_INT(drainprof_granule_close(prof, 2 << 20), 0);

        memset(&w, 0x77, sizeof w);
        drainprof_sweep(prof, &w);
        EXPECT_COUNTERS(w, 3, 1, 2, 3, 5, 6, 1);

        /* Production: an open granule with a negative net count is not drainable. */
        if (c->mode == DRAINPROF_PRODUCTION) {
            EXPECT_INT(drainprof_alloc_deregister(prof, 3 << 20, 9), 0);
            memset(&w, 0x77, sizeof w);
            drainprof_sweep(prof, &w);
            EXPECT_UINT(w.total_closes, 3);
            EXPECT_UINT(w.drainable_closes, 0);
            EXPECT_UINT(w.pinned_closes, 3);
        }
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_reset();
    test_sweep();
    return dpt_finish();
}
