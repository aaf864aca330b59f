/*
 * test_theorem.c - the drainability theorem as a p-sweep: over E epochs where
 * a deterministic fraction p of the epochs leaves one long-lived allocation
 * live at its close (freed a few epochs later), DSR is exactly 1 - p, in both
 * modes and both storages.
 *
 * Each epoch is a granule opened before the previous one closes (two open at
 * once), with short-lived allocations that all die inside it.
 */
#include "harness.h"

enum { EPOCHS = 2000, SHORT_LIVED = 4, FREE_AFTER = 3 };

/* p = num / 100; epoch i violates when floor((i+1)p) > floor(ip): exactly
 * EPOCHS * p violating epochs, spread evenly. */
static int violates(uint64_t i, uint64_t num)
{
    return ((i + 1) * num) / 100 > (i * num) / 100;
}

static void run_sweep_point(const dpt_config *c, uint64_t num)
{
    char what[64];
    snprintf(what, sizeof what, "p = %.2f", (double)num / 100.0);
    dpt_set_ctx(what, c->name);
    drainprof_config cfg = dpt_config_for(c);
    cfg.slot_capacity = 2;
    cfg.max_buffered_reports = 16;
    drainprof *prof = drainprof_create_with_config(&cfg);
    REQUIRE(prof != NULL);

    /* long-lived allocations awaiting their free: (epoch, alloc id) */
    uint64_t pending_epoch[FREE_AFTER + 2], pending_count = 0;
    uint64_t violations = 0, closes_seen_pinned = 0, closes_seen_drainable = 0;
    int failures = 0;
    uint64_t aid = 1, late_frees = 0;

    failures += drainprof_granule_open(prof, 0) != 0;
    for (uint64_t e = 0; e < EPOCHS; e++) {
        for (int k = 0; k < SHORT_LIVED; k++) {
            failures += drainprof_alloc_register(prof, e, aid, 64) != 0;
            failures += drainprof_alloc_deregister(prof, e, aid) != 0;
            aid++;
        }
        int v = violates(e, num);
        if (v) {
            failures += drainprof_alloc_register_located(prof, e, 1u << 30, 4096, __FILE__, __LINE__) != 0;
            violations++;
        }
        /* the next epoch opens before this one closes */
        if (e + 1 < EPOCHS) failures += drainprof_granule_open(prof, e + 1) != 0;
        int rc = drainprof_granule_close(prof, e);
        failures += rc != (v ? 0 : 1);
        closes_seen_pinned += rc == 0;
        closes_seen_drainable += rc == 1;
        if (v) pending_epoch[pending_count++] = e;
        /* free long-lived allocations FREE_AFTER epochs after their epoch */
        while (pending_count > 0 && pending_epoch[0] + FREE_AFTER <= e) {
            /* diagnostic: the free of a pin after close is accepted (0);
             * production: the granule is closed (-1). Either way counted. */
            int frc = drainprof_alloc_deregister(prof, pending_epoch[0], 1u << 30);
            failures += frc != (c->mode == DRAINPROF_DIAGNOSTIC ? 0 : -1);
            late_frees++;
            memmove(pending_epoch, pending_epoch + 1, (size_t)(--pending_count) * sizeof pending_epoch[0]);
        }
        if (pending_count > FREE_AFTER + 1) failures++;
    }
    EXPECT_INT(failures, 0);
    EXPECT_UINT(violations, EPOCHS * num / 100);

    drainprof_snapshot_t s = dpt_snap(prof);
    EXPECT_UINT(s.total_closes, EPOCHS);
    EXPECT_UINT(s.pinned_closes, violations);
    EXPECT_UINT(s.drainable_closes, EPOCHS - violations);
    EXPECT_UINT(s.total_closes, s.drainable_closes + s.pinned_closes);
    EXPECT_UINT(closes_seen_pinned, violations);
    EXPECT_UINT(closes_seen_drainable, EPOCHS - violations);
    /* exact: same division, and within rounding of 1 - p */
    EXPECT_DBL(s.dsr, (double)(EPOCHS - violations) / (double)EPOCHS);
    EXPECT_NEAR(s.dsr, 1.0 - (double)num / 100.0, 1e-12);
    EXPECT_UINT(s.total_allocs, EPOCHS * SHORT_LIVED + violations);
    EXPECT_UINT(s.total_deallocs, EPOCHS * SHORT_LIVED + late_frees);
    EXPECT_UINT(s.open_granules, 0);
    EXPECT_UINT(s.peak_open_granules, 2);
    drainprof_reset(prof);
    drainprof_destroy(prof);
}

int main(void)
{
    static const uint64_t p_percent[] = { 0, 1, 5, 10, 25, 50, 100 };
    FOR_EACH_CONFIG(c)
        for (size_t i = 0; i < sizeof p_percent / sizeof p_percent[0]; i++) run_sweep_point(c, p_percent[i]);
    return dpt_finish();
}
