/*
 * test_production.c - what only production mode does: no per-allocation
 * state (any alloc id may be deregistered from an open granule), and
 * over-deregistration (close returns -1, the granule is released, no close is
 * counted, unbalanced_closes counts it).
 */
#include "harness.h"

static void test_no_per_alloc_state(void)
{
    FOR_EACH_CONFIG(c) {
        if (c->mode != DRAINPROF_PRODUCTION) continue;
        dpt_set_ctx("no per-allocation state", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 5), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 5, 1, 10), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 5, 1, 10), 0);
        /* Ids are not checked: any id balances any registration. */
        EXPECT_INT(drainprof_alloc_deregister(prof, 5, 999), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 5, 12345), 0);
        int64_t live = -7;
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_granule_close(prof, 5), 1);

        /* Production never buffers reports nor lifetime data. */
        EXPECT_INT(drainprof_granule_open(prof, 6), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 6, 1, 10, "p.c", 3), 0);
        EXPECT_INT(drainprof_granule_close(prof, 6), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 6, 1), -1); /* the granule is closed */
        drainprof_pinning_report *r[2];
        EXPECT_UINT(drainprof_drain_reports(prof, r, 2), 0);
        CHECK(drainprof_diagnostic_summary_compute(prof) == NULL);
        CHECK(drainprof_ext_summary_compute(prof) == NULL);
        drainprof_ext_lifetime_record rec[2];
        EXPECT_UINT(drainprof_ext_lifetime_records(prof, rec, 2), 0);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.lifetime_records, 0);
        EXPECT_UINT(e.dropped_reports, 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 2, 1, 1, 0, 1, 3, 3);
        drainprof_destroy(prof);
    }
}

static void test_over_deregistration(void)
{
    FOR_EACH_CONFIG(c) {
        if (c->mode != DRAINPROF_PRODUCTION) continue;
        dpt_set_ctx("over-deregistration", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 10), 0);
        EXPECT_INT(drainprof_granule_open(prof, 11), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 10, 1, 8), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 10, 1), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 10, 1), 0); /* one too many: accepted now */
        int64_t live = 0;
        EXPECT_INT(drainprof_ext_granule_live(prof, 10, &live), 1);
        EXPECT_INT(live, -1);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 2, 2, 1, 2);

        EXPECT_INT(drainprof_granule_close(prof, 10), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_UNBALANCED);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 1, 2, 1, 2);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.unbalanced_closes, 1);
        EXPECT_UINT(e.failed_closes, 1);

        /* Released: not open any more, may be opened again, starts balanced. */
        EXPECT_INT(drainprof_ext_granule_live(prof, 10, NULL), 0);
        EXPECT_INT(drainprof_granule_close(prof, 10), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_INT(drainprof_granule_open(prof, 10), 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 10, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_granule_close(prof, 10), 1);
        EXPECT_INT(drainprof_granule_close(prof, 11), 1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 2, 2, 0, 0, 2, 1, 2);
        e = dpt_ext_snap(prof);
        EXPECT_UINT(e.unbalanced_closes, 1);
        EXPECT_UINT(e.failed_closes, 2);

        /* Deregisters first, registers later: only the net count at close matters. */
        EXPECT_INT(drainprof_granule_open(prof, 12), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 12, 1), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 12, 2), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 12, 1, 8), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 12, 2, 8), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 12, 3, 8), 0);
        EXPECT_INT(drainprof_granule_close(prof, 12), 0);
        EXPECT_INT(drainprof_granule_open(prof, 13), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 13, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 13, 1, 8), 0);
        EXPECT_INT(drainprof_granule_close(prof, 13), 1);
        /* An unbalanced close with verbose and log_interval on prints nothing and
         * counts nothing: checked in test_stderr.c. */
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 4, 3, 1, 0, 2, 5, 5);
        drainprof_destroy(prof);
    }
}

/* The unbalanced granule is released even when it is the only one of many
 * open, and the others are unaffected. */
static void test_over_deregistration_among_many(void)
{
    FOR_EACH_CONFIG(c) {
        if (c->mode != DRAINPROF_PRODUCTION) continue;
        dpt_set_ctx("over-deregistration among many", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        int failures = 0;
        for (uint64_t g = 0; g < 100; g++) failures += drainprof_granule_open(prof, g << 12) != 0;
        for (uint64_t g = 0; g < 100; g += 10) failures += drainprof_alloc_deregister(prof, g << 12, g) != 0;
        EXPECT_INT(failures, 0);
        int unbalanced = 0, drainable = 0;
        for (uint64_t g = 0; g < 100; g++) {
            int rc = drainprof_granule_close(prof, g << 12);
            unbalanced += rc == -1;
            drainable += rc == 1;
        }
        EXPECT_INT(unbalanced, 10);
        EXPECT_INT(drainable, 90);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 90, 90, 0, 0, 100, 0, 10);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.unbalanced_closes, 10);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_no_per_alloc_state();
    test_over_deregistration();
    test_over_deregistration_among_many();
    return dpt_finish();
}
