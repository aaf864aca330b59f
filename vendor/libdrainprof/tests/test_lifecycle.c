/*
 * test_lifecycle.c - configuration defaults, create/destroy rules, NULL
 * arguments for every function, and the fresh profiler's counters.
 */
#include "harness.h"

static int callback_calls;
static void count_callback(const drainprof_pinning_report *report, void *user_data)
{
    (void)report;
    (void)user_data;
    callback_calls++;
}

static void test_config_default(void)
{
    dpt_set_ctx("config_default", NULL);
    drainprof_config cfg;
    memset(&cfg, 0x5A, sizeof cfg);
    drainprof_config_default(&cfg);
    EXPECT_INT(cfg.mode, DRAINPROF_PRODUCTION);
    EXPECT_INT(cfg.storage, DRAINPROF_SLOT_ARRAY);
    EXPECT_UINT(cfg.slot_capacity, 1024);
    EXPECT_UINT(cfg.bucket_count, 64);
    EXPECT_UINT(cfg.log_interval, 0);
    CHECK(cfg.on_pinning == NULL);
    EXPECT_PTR(cfg.callback_user_data, NULL);
    EXPECT_UINT(cfg.max_buffered_reports, 1000);
    CHECK(cfg.verbose == false);

    drainprof_config_default(NULL); /* does nothing, must not crash */
    CHECK(1);
}

static void test_create_defaults(void)
{
    dpt_set_ctx("create()", NULL);
    drainprof *prof = drainprof_create();
    REQUIRE(prof != NULL);
    drainprof_config got, want;
    memset(&got, 0, sizeof got);
    drainprof_config_default(&want);
    EXPECT_INT(drainprof_ext_get_config(prof, &got), 0);
    EXPECT_INT(got.mode, want.mode);
    EXPECT_INT(got.storage, want.storage);
    EXPECT_UINT(got.slot_capacity, want.slot_capacity);
    EXPECT_UINT(got.bucket_count, want.bucket_count);
    EXPECT_UINT(got.log_interval, want.log_interval);
    EXPECT_UINT(got.max_buffered_reports, want.max_buffered_reports);
    CHECK(got.on_pinning == NULL);
    CHECK(got.verbose == false);
    /* Production: no reports, no summary. */
    drainprof_pinning_report *r[1];
    EXPECT_UINT(drainprof_drain_reports(prof, r, 1), 0);
    CHECK(drainprof_diagnostic_summary_compute(prof) == NULL);
    drainprof_destroy(prof);
}

static void test_create_rejects(void)
{
    dpt_set_ctx("create_with_config rejects", NULL);
    CHECK(drainprof_create_with_config(NULL) == NULL);

    drainprof_config cfg;
    drainprof_config_default(&cfg);
    cfg.mode = (drainprof_mode)2;
    CHECK(drainprof_create_with_config(&cfg) == NULL);
    cfg.mode = (drainprof_mode)-1;
    CHECK(drainprof_create_with_config(&cfg) == NULL);

    drainprof_config_default(&cfg);
    cfg.storage = (drainprof_storage)2;
    CHECK(drainprof_create_with_config(&cfg) == NULL);
    cfg.storage = (drainprof_storage)77;
    CHECK(drainprof_create_with_config(&cfg) == NULL);

    for (int mode = 0; mode <= 1; mode++) {
        drainprof_config_default(&cfg);
        cfg.mode = (drainprof_mode)mode;
        cfg.slot_capacity = 0;
        cfg.storage = DRAINPROF_SLOT_ARRAY;
        CHECK(drainprof_create_with_config(&cfg) == NULL);
        /* The same with a callback (diagnostic callback mode). */
        cfg.on_pinning = count_callback;
        CHECK(drainprof_create_with_config(&cfg) == NULL);
    }
}

static void test_create_accepts(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("create_with_config accepts", c->name);
        drainprof_config cfg = dpt_config_for(c);
        /* slot_capacity is irrelevant to HASH_MAP, bucket_count 0 means default. */
        cfg.slot_capacity = c->storage == DRAINPROF_HASH_MAP ? 0 : 1;
        cfg.bucket_count = 0;
        cfg.max_buffered_reports = 0;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        drainprof_destroy(prof);

        /* bucket_count 1 grows as needed. */
        cfg = dpt_config_for(c);
        cfg.bucket_count = 1;
        prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        for (uint64_t id = 0; id < 100; id++) EXPECT_INT(drainprof_granule_open(prof, id), 0);
        for (uint64_t id = 0; id < 100; id++) EXPECT_INT(drainprof_granule_close(prof, id), 1);
        drainprof_destroy(prof);
    }
}

/* The config is copied: changing the caller's struct afterwards changes nothing. */
static void test_config_copied(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("config copied", c->name);
        drainprof_config cfg = dpt_config_for(c);
        cfg.slot_capacity = 2;
        cfg.max_buffered_reports = 7;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        cfg.mode = c->mode == DRAINPROF_PRODUCTION ? DRAINPROF_DIAGNOSTIC : DRAINPROF_PRODUCTION;
        cfg.slot_capacity = 4096;
        cfg.verbose = true;
        cfg.log_interval = 1;
        drainprof_config got;
        EXPECT_INT(drainprof_ext_get_config(prof, &got), 0);
        EXPECT_INT(got.mode, c->mode);
        EXPECT_INT(got.storage, c->storage);
        EXPECT_UINT(got.slot_capacity, 2);
        EXPECT_UINT(got.max_buffered_reports, 7);
        CHECK(got.verbose == false);
        EXPECT_UINT(got.log_interval, 0);
        if (c->storage == DRAINPROF_SLOT_ARRAY) {
            EXPECT_INT(drainprof_granule_open(prof, 1), 0);
            EXPECT_INT(drainprof_granule_open(prof, 2), 0);
            EXPECT_INT(drainprof_granule_open(prof, 3), -1);
        }
        /* The mode is the one created with. */
        drainprof_pinning_report *r[1];
        EXPECT_INT(drainprof_granule_open(prof, 50), c->storage == DRAINPROF_SLOT_ARRAY ? -1 : 0);
        if (c->storage == DRAINPROF_SLOT_ARRAY) EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        EXPECT_INT(drainprof_granule_open(prof, 60), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 60, 1, 8), 0);
        EXPECT_INT(drainprof_granule_close(prof, 60), 0);
        uint32_t n = drainprof_drain_reports(prof, r, 1);
        EXPECT_UINT(n, c->mode == DRAINPROF_DIAGNOSTIC ? 1 : 0);
        if (n == 1) drainprof_pinning_report_free(r[0]);
        drainprof_destroy(prof);
    }
}

/* Every function with a NULL profiler: -1 / 0 / NULL / nothing written. */
static void test_null_profiler(void)
{
    dpt_set_ctx("NULL profiler", NULL);
    EXPECT_INT(drainprof_granule_open(NULL, 1), -1);
    EXPECT_INT(drainprof_granule_close(NULL, 1), -1);
    EXPECT_INT(drainprof_alloc_register(NULL, 1, 1, 8), -1);
    EXPECT_INT(drainprof_alloc_register_located(NULL, 1, 1, 8, __FILE__, __LINE__), -1);
    EXPECT_INT(drainprof_alloc_deregister(NULL, 1, 1), -1);

    drainprof_snapshot_t s, untouched;
    memset(&s, 0x3C, sizeof s);
    memcpy(&untouched, &s, sizeof s);
    drainprof_snapshot(NULL, &s);
    CHECK(memcmp(&s, &untouched, sizeof s) == 0);
    drainprof_sweep(NULL, &s);
    CHECK(memcmp(&s, &untouched, sizeof s) == 0);

    drainprof_reset(NULL);
    drainprof_pinning_report *r[2] = { NULL, NULL };
    EXPECT_UINT(drainprof_drain_reports(NULL, r, 2), 0);
    CHECK(r[0] == NULL);
    drainprof_pinning_report_free(NULL);
    CHECK(drainprof_diagnostic_summary_compute(NULL) == NULL);
    drainprof_diagnostic_summary_free(NULL);
    drainprof_destroy(NULL);

    /* Extensions. */
    dpt_xsnap es, es_untouched;
    memset(&es, 0x3C, sizeof es);
    memcpy(&es_untouched, &es, sizeof es);
    drainprof_ext_snapshot(NULL, &es);
    drainprof_ext_snapshot(NULL, NULL);
    CHECK(memcmp(&es, &es_untouched, sizeof es) == 0);
    drainprof_config cfg;
    EXPECT_INT(drainprof_ext_get_config(NULL, &cfg), -1);
    int64_t live = 12345;
    EXPECT_INT(drainprof_ext_granule_live(NULL, 1, &live), -1);
    drainprof_alloc_site site = { "x.c", 1, 2 };
    EXPECT_INT(drainprof_ext_alloc_register_site(NULL, 1, 1, 8, &site), -1);
    EXPECT_INT(drainprof_ext_set_lifetime_limit(NULL, 10), -1);
    drainprof_ext_lifetime_record rec[1];
    EXPECT_UINT(drainprof_ext_lifetime_records(NULL, rec, 1), 0);
    CHECK(drainprof_ext_summary_compute(NULL) == NULL);
    drainprof_ext_summary_free(NULL);
    char buf[64];
    EXPECT_INT(drainprof_ext_format_metrics(NULL, NULL, buf, sizeof buf), -1);
    EXPECT_INT(drainprof_ext_format_report(NULL, 0, buf, sizeof buf), -1);
}

/* Valid profiler, NULL out pointers. */
static void test_null_out(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("NULL out arguments", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        drainprof_snapshot(prof, NULL);
        drainprof_sweep(prof, NULL);
        drainprof_ext_snapshot(prof, NULL);
        EXPECT_INT(drainprof_ext_get_config(prof, NULL), -1);
        EXPECT_INT(drainprof_granule_open(prof, 3), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 3, 1, 8), 0);
        EXPECT_INT(drainprof_granule_close(prof, 3), 0);
        EXPECT_UINT(drainprof_drain_reports(prof, NULL, 5), 0);
        drainprof_pinning_report *r[1] = { NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 0), 0);
        CHECK(r[0] == NULL);
        /* Nothing was consumed by the calls above. */
        EXPECT_UINT(drainprof_drain_reports(prof, r, 1), c->mode == DRAINPROF_DIAGNOSTIC ? 1 : 0);
        drainprof_pinning_report_free(r[0]);
        EXPECT_UINT(drainprof_ext_lifetime_records(prof, NULL, 4), 0);
        drainprof_destroy(prof);
    }
}

static void test_fresh_counters(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("fresh profiler", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        struct timespec before = dpt_now();
        drainprof_snapshot_t s = dpt_snap(prof);
        struct timespec after = dpt_now();
        EXPECT_COUNTERS(s, 0, 0, 0, 0, 0, 0, 0);
        EXPECT_DBL(s.dsr, 0.0);
        CHECK(dpt_ts_cmp(before, s.timestamp) <= 0 && dpt_ts_cmp(s.timestamp, after) <= 0);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 0);
        EXPECT_UINT(e.unbalanced_closes, 0);
        EXPECT_UINT(e.failed_opens, 0);
        EXPECT_UINT(e.failed_closes, 0);
        EXPECT_UINT(e.failed_registers, 0);
        EXPECT_UINT(e.failed_deregisters, 0);
        EXPECT_UINT(e.lifetime_records, 0);
        EXPECT_UINT(e.dropped_lifetime_records, 0);
        drainprof_destroy(prof);
    }
}

/* Destroy frees open granules (with live allocations) and buffered reports
 * without calling the callback; reports already drained stay valid. ASan's
 * leak check and valgrind see the rest. */
static void test_destroy_with_state(void)
{
    FOR_EACH_CONFIG(c) {
        for (int with_callback = 0; with_callback <= 1; with_callback++) {
            dpt_set_ctx(with_callback ? "destroy with state, callback" : "destroy with state", c->name);
            drainprof_config cfg = dpt_config_for(c);
            if (with_callback) cfg.on_pinning = count_callback;
            drainprof *prof = drainprof_create_with_config(&cfg);
            REQUIRE(prof != NULL);
            for (uint64_t g = 0; g < 20; g++) {
                EXPECT_INT(drainprof_granule_open(prof, g), 0);
                for (uint64_t a = 0; a < 10; a++)
                    EXPECT_INT(drainprof_alloc_register_located(prof, g, a, 16, "d.c", (uint32_t)a), 0);
            }
            for (uint64_t g = 0; g < 10; g++) drainprof_granule_close(prof, g);
            drainprof_pinning_report *kept[1] = { NULL };
            uint32_t n = drainprof_drain_reports(prof, kept, 1);
            callback_calls = 0;
            drainprof_destroy(prof);
            EXPECT_INT(callback_calls, 0);
            if (n == 1) {
                /* Still readable after destroy. */
                EXPECT_UINT(kept[0]->granule_id, 0);
                EXPECT_UINT(kept[0]->pinning_count, 10);
                EXPECT_STR(kept[0]->pinning_allocs[9].alloc_site.file, "d.c");
                drainprof_pinning_report_free(kept[0]);
            }
        }
    }
}

int main(void)
{
    test_config_default();
    test_create_defaults();
    test_create_rejects();
    test_create_accepts();
    test_config_copied();
    test_null_profiler();
    test_null_out();
    test_fresh_counters();
    test_destroy_with_state();
    return dpt_finish();
}
