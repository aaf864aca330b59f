/*
 * test_ext_snapshot.c - the extended snapshot's counters (failed calls by
 * kind, unbalanced closes, dropped reports), its base equal to the 0.1
 * snapshot, drainprof_ext_get_config, drainprof_ext_granule_live, and
 * drainprof_ext_alloc_register_site with columns.
 */
#include "harness.h"

static void test_counters(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("ext snapshot counters", c->name);
        drainprof_config cfg = dpt_config_for(c);
        cfg.slot_capacity = 2;
        cfg.max_buffered_reports = 1;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);

        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_granule_open(prof, 1), -1);                   /* failed open */
        EXPECT_INT(drainprof_granule_open(prof, 2), 0);
        EXPECT_INT(drainprof_granule_open(prof, 3), c->storage == DRAINPROF_SLOT_ARRAY ? -1 : 0);
        EXPECT_INT(drainprof_granule_close(prof, 9), -1);                  /* failed close */
        EXPECT_INT(drainprof_alloc_register(prof, 9, 1, 1), -1);           /* failed register */
        EXPECT_INT(drainprof_alloc_register_located(prof, 9, 1, 1, "x", 1), -1);
        EXPECT_INT(drainprof_alloc_deregister(prof, 9, 1), -1);            /* failed deregister */
        EXPECT_INT(drainprof_alloc_register(prof, 1, 1, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 2, 2, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);                   /* report 1 */
        EXPECT_INT(drainprof_granule_close(prof, 2), 0);                   /* report 2: drops 1 */
        if (c->storage == DRAINPROF_HASH_MAP) EXPECT_INT(drainprof_granule_close(prof, 3), 1);

        dpt_xsnap e = dpt_ext_snap(prof);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_UINT(e.failed_opens, c->storage == DRAINPROF_SLOT_ARRAY ? 2 : 1);
        EXPECT_UINT(e.failed_closes, 1);
        EXPECT_UINT(e.failed_registers, 2);
        EXPECT_UINT(e.failed_deregisters, 1);
        EXPECT_UINT(e.unbalanced_closes, 0);
        EXPECT_UINT(e.dropped_reports, c->mode == DRAINPROF_DIAGNOSTIC ? 1 : 0);
        EXPECT_UINT(e.lifetime_records, 0);
        EXPECT_UINT(e.dropped_lifetime_records, 0);
        /* base is exactly the 0.1 snapshot (timestamp aside) */
        uint64_t closes = c->storage == DRAINPROF_HASH_MAP ? 3 : 2;
        EXPECT_COUNTERS(e.base, closes, closes - 2, 2, 0, c->storage == DRAINPROF_HASH_MAP ? 3 : 2, 4, 1);
        EXPECT_COUNTERS(s, closes, closes - 2, 2, 0, c->storage == DRAINPROF_HASH_MAP ? 3 : 2, 4, 1);
        CHECK(dpt_ts_cmp(e.base.timestamp, s.timestamp) <= 0);

        /* Failed calls with a NULL profiler count nowhere. */
        drainprof_granule_open(NULL, 1);
        drainprof_alloc_register(NULL, 1, 1, 1);
        e = dpt_ext_snap(prof);
        EXPECT_UINT(e.failed_opens, c->storage == DRAINPROF_SLOT_ARRAY ? 2 : 1);
        EXPECT_UINT(e.failed_registers, 2);

        drainprof_pinning_report *r[2] = { NULL, NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 2), c->mode == DRAINPROF_DIAGNOSTIC ? 1 : 0);
        if (r[0]) EXPECT_UINT(r[0]->granule_id, 2);
        drainprof_pinning_report_free(r[0]);
        drainprof_destroy(prof);
    }
}

static void test_get_config(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("ext get_config", c->name);
        int token = 0;
        drainprof_config cfg = dpt_config_for(c);
        cfg.slot_capacity = 33;
        cfg.bucket_count = 17;
        cfg.log_interval = 1234567890123ull;
        cfg.callback_user_data = &token;
        cfg.max_buffered_reports = 5;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        drainprof_config got;
        memset(&got, 0, sizeof got);
        EXPECT_INT(drainprof_ext_get_config(prof, &got), 0);
        EXPECT_INT(got.mode, c->mode);
        EXPECT_INT(got.storage, c->storage);
        EXPECT_UINT(got.slot_capacity, 33);
        EXPECT_UINT(got.bucket_count, 17);
        EXPECT_UINT(got.log_interval, 1234567890123ull);
        EXPECT_PTR(got.callback_user_data, &token);
        EXPECT_UINT(got.max_buffered_reports, 5);
        CHECK(got.on_pinning == NULL);
        CHECK(got.verbose == false);
        drainprof_destroy(prof);
    }
}

static void test_granule_live(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("ext granule_live", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        int64_t live = 42;
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 0);
        EXPECT_INT(drainprof_granule_open(prof, 5), 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 1);
        EXPECT_INT(live, 0);
        for (uint64_t a = 0; a < 10; a++) EXPECT_INT(drainprof_alloc_register(prof, 5, a, 1), 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 1);
        EXPECT_INT(live, 10);
        for (uint64_t a = 0; a < 4; a++) EXPECT_INT(drainprof_alloc_deregister(prof, 5, a), 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 1);
        EXPECT_INT(live, 6);
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, NULL), 1);
        EXPECT_INT(drainprof_granule_close(prof, 5), 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 0);
        drainprof_reset(prof);
        drainprof_destroy(prof);
    }
}

static void test_register_site(void)
{
    static const char js_file[] = "/srv/app/handler.js";
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("ext register_site", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        drainprof_alloc_site site = { js_file, 120, 37 };
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_ext_alloc_register_site(prof, 1, 10, 256, &site), 0);
        EXPECT_INT(drainprof_ext_alloc_register_site(prof, 1, 11, 512, NULL), 0);
        site.line = 999; /* the site struct is copied; only the file string is borrowed */
        site.column = 999;
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_UINT(s.total_allocs, 2);
        drainprof_pinning_report *r[1] = { NULL };
        uint32_t n = drainprof_drain_reports(prof, r, 1);
        EXPECT_UINT(n, c->mode == DRAINPROF_DIAGNOSTIC ? 1 : 0);
        if (n == 1) {
            REQUIRE(r[0]->pinning_count == 2);
            EXPECT_PTR(r[0]->pinning_allocs[0].alloc_site.file, js_file);
            EXPECT_UINT(r[0]->pinning_allocs[0].alloc_site.line, 120);
            EXPECT_UINT(r[0]->pinning_allocs[0].alloc_site.column, 37);
            EXPECT_UINT(r[0]->pinning_allocs[0].size, 256);
            EXPECT_PTR(r[0]->pinning_allocs[1].alloc_site.file, NULL);
            EXPECT_UINT(r[0]->pinning_allocs[1].alloc_site.line, 0);
            EXPECT_UINT(r[0]->pinning_allocs[1].alloc_site.column, 0);
            drainprof_pinning_report_free(r[0]);

            /* Sites with the same file and line but different columns: the 0.1
             * summary groups by (file, line) only. */
            drainprof_alloc_site s1 = { js_file, 5, 1 }, s2 = { js_file, 5, 9 };
            EXPECT_INT(drainprof_granule_open(prof, 2), 0);
            EXPECT_INT(drainprof_ext_alloc_register_site(prof, 2, 1, 1, &s1), 0);
            EXPECT_INT(drainprof_ext_alloc_register_site(prof, 2, 2, 2, &s2), 0);
            EXPECT_INT(drainprof_granule_close(prof, 2), 0);
            drainprof_diagnostic_summary *sum = drainprof_diagnostic_summary_compute(prof);
            REQUIRE(sum != NULL);
            EXPECT_UINT(sum->site_count, 1);
            if (sum->site_count == 1) {
                EXPECT_UINT(sum->sites[0].total_allocs, 2);
                EXPECT_UINT(sum->sites[0].total_bytes, 3);
                EXPECT_UINT(sum->sites[0].pinning_count, 1);
            }
            drainprof_diagnostic_summary_free(sum);
        }
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_counters();
    test_get_config();
    test_granule_live();
    test_register_site();
    return dpt_finish();
}
