/*
 * test_diagnostic.c - diagnostic-mode allocation records: deregister of an id
 * with no live registration (-1, nothing changes but the call count), the same
 * id registered several times (the oldest is freed first), ids live in one
 * granule and freed from another.
 */
#include "harness.h"

static drainprof_pinning_report *drain_one(drainprof *prof)
{
    drainprof_pinning_report *r[2] = { NULL, NULL };
    uint32_t n = drainprof_drain_reports(prof, r, 2);
    if (n != 1) {
        for (uint32_t i = 0; i < n; i++) drainprof_pinning_report_free(r[i]);
        return NULL;
    }
    return r[0];
}

static void test_not_live(void)
{
    FOR_EACH_CONFIG(c) {
        if (c->mode != DRAINPROF_DIAGNOSTIC) continue;
        dpt_set_ctx("deregister of a non-live alloc id", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_granule_open(prof, 2), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, 10, 8), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 2, 20, 8), 0);

        EXPECT_INT(drainprof_alloc_deregister(prof, 1, 11), -1); /* never registered */
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NOT_LIVE);
        EXPECT_INT(drainprof_alloc_deregister(prof, 1, 20), -1); /* live, but in granule 2 */
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NOT_LIVE);
        EXPECT_INT(drainprof_alloc_deregister(prof, 1, 10), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 1, 10), -1); /* already freed */
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NOT_LIVE);

        int64_t live = -5;
        EXPECT_INT(drainprof_ext_granule_live(prof, 1, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 2, &live), 1);
        EXPECT_INT(live, 1);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 2, 2, 2, 4); /* failed deregisters still count */
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.failed_deregisters, 3);

        /* Never negative in diagnostic mode: the close is an ordinary drainable one. */
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        EXPECT_INT(drainprof_alloc_deregister(prof, 2, 20), 0);
        EXPECT_INT(drainprof_granule_close(prof, 2), 1);
        e = dpt_ext_snap(prof);
        EXPECT_UINT(e.unbalanced_closes, 0);
        EXPECT_UINT(e.base.total_closes, 2);
        EXPECT_UINT(e.base.drainable_closes, 2);
        drainprof_destroy(prof);
    }
}

/* Same alloc id registered three times: each deregister frees the oldest. */
static void test_same_id_oldest_first(void)
{
    static const char file_a[] = "first.c";
    static const char file_b[] = "second.c";
    static const char file_c[] = "third.c";
    FOR_EACH_CONFIG(c) {
        if (c->mode != DRAINPROF_DIAGNOSTIC) continue;
        dpt_set_ctx("same alloc id registered several times", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 3), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 3, 7, 100, file_a, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 3, 8, 5), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 3, 7, 200, file_b, 2), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 3, 7, 300, file_c, 3), 0);
        int64_t live = 0;
        EXPECT_INT(drainprof_ext_granule_live(prof, 3, &live), 1);
        EXPECT_INT(live, 4);
        EXPECT_INT(drainprof_alloc_deregister(prof, 3, 7), 0); /* frees the 100-byte one */
        EXPECT_INT(drainprof_granule_close(prof, 3), 0);
        drainprof_pinning_report *r = drain_one(prof);
        REQUIRE(r != NULL);
        EXPECT_UINT(r->pinning_count, 3);
        EXPECT_UINT(r->total_allocs, 4);
        EXPECT_UINT(r->drained_allocs, 1);
        REQUIRE(r->pinning_count == 3);
        EXPECT_UINT(r->pinning_allocs[0].alloc_id, 8);
        EXPECT_UINT(r->pinning_allocs[0].size, 5);
        EXPECT_UINT(r->pinning_allocs[1].alloc_id, 7);
        EXPECT_UINT(r->pinning_allocs[1].size, 200);
        EXPECT_PTR(r->pinning_allocs[1].alloc_site.file, file_b);
        EXPECT_UINT(r->pinning_allocs[2].alloc_id, 7);
        EXPECT_UINT(r->pinning_allocs[2].size, 300);
        EXPECT_PTR(r->pinning_allocs[2].alloc_site.file, file_c);
        drainprof_pinning_report_free(r);

        /* Freed twice more: the 200 then the 300; a fourth is not live. */
        EXPECT_INT(drainprof_granule_open(prof, 4), 0);
        for (int i = 0; i < 3; i++)
            EXPECT_INT(drainprof_alloc_register_located(prof, 4, 9, (size_t)(i + 1), file_a, (uint32_t)i), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 4, 9), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 4, 9), 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 4, &live), 1);
        EXPECT_INT(live, 1);
        EXPECT_INT(drainprof_granule_close(prof, 4), 0);
        r = drain_one(prof);
        REQUIRE(r != NULL);
        REQUIRE(r->pinning_count == 1);
        EXPECT_UINT(r->pinning_allocs[0].size, 3);
        EXPECT_UINT(r->pinning_allocs[0].alloc_site.line, 2);
        drainprof_pinning_report_free(r);
        drainprof_destroy(prof);
    }
}

/* Frees in allocation order, reverse order and interleaved, over many
 * records: every live count is exact and the survivors are the right ones. */
static void test_many_records(void)
{
    FOR_EACH_CONFIG(c) {
        if (c->mode != DRAINPROF_DIAGNOSTIC) continue;
        dpt_set_ctx("many records", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        const uint64_t n = 5000;
        int failures = 0;
        for (uint64_t g = 0; g < 3; g++) {
            EXPECT_INT(drainprof_granule_open(prof, g), 0);
            for (uint64_t a = 0; a < n; a++)
                failures += drainprof_alloc_register(prof, g, a * 16, (size_t)a) != 0;
        }
        /* granule 0: in order, leaving the last; 1: reverse, leaving the first;
         * 2: evens then odds, leaving the middle one */
        for (uint64_t a = 0; a + 1 < n; a++) failures += drainprof_alloc_deregister(prof, 0, a * 16) != 0;
        for (uint64_t a = n - 1; a >= 1; a--) failures += drainprof_alloc_deregister(prof, 1, a * 16) != 0;
        for (uint64_t a = 0; a < n; a += 2) if (a != n / 2) failures += drainprof_alloc_deregister(prof, 2, a * 16) != 0;
        for (uint64_t a = 1; a < n; a += 2) failures += drainprof_alloc_deregister(prof, 2, a * 16) != 0;
        EXPECT_INT(failures, 0);
        static const uint64_t survivor[3] = { 4999, 0, 2500 };
        for (uint64_t g = 0; g < 3; g++) {
            int64_t live = 0;
            EXPECT_INT(drainprof_ext_granule_live(prof, g, &live), 1);
            EXPECT_INT(live, 1);
            EXPECT_INT(drainprof_granule_close(prof, g), 0);
            drainprof_pinning_report *r = drain_one(prof);
            REQUIRE(r != NULL);
            EXPECT_UINT(r->granule_id, g);
            EXPECT_UINT(r->total_allocs, n);
            EXPECT_UINT(r->drained_allocs, n - 1);
            REQUIRE(r->pinning_count == 1);
            EXPECT_UINT(r->pinning_allocs[0].alloc_id, survivor[g] * 16);
            EXPECT_UINT(r->pinning_allocs[0].size, survivor[g]);
            drainprof_pinning_report_free(r);
        }
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_not_live();
    test_same_id_oldest_first();
    test_many_records();
    return dpt_finish();
}
