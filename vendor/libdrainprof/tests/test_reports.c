/*
 * test_reports.c - buffered diagnostic reports: contents (ids, counts, sizes,
 * sites, times, lifetime_delta -1.0), FIFO drain order, partial drains,
 * overflow dropping the oldest (counted), max_buffered_reports 0.
 */
#include "harness.h"

static drainprof *create_diag(drainprof_storage storage, uint32_t max_buffered)
{
    drainprof_config cfg;
    drainprof_config_default(&cfg);
    cfg.mode = DRAINPROF_DIAGNOSTIC;
    cfg.storage = storage;
    cfg.max_buffered_reports = max_buffered;
    return drainprof_create_with_config(&cfg);
}

/* One pinned close of granule `gid` with `live` allocations left. */
static void pinned_close(drainprof *prof, uint64_t gid, uint32_t live)
{
    drainprof_granule_open(prof, gid);
    for (uint32_t a = 0; a < live; a++) drainprof_alloc_register(prof, gid, a, 8);
    drainprof_granule_close(prof, gid);
}

static void test_contents(void)
{
    static const char file_x[] = "src/x.c";
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("report contents", c->name);
        drainprof *prof = create_diag(c->storage, 10);
        REQUIRE(prof != NULL);
        const uint64_t gid = 0xDEADBEEF00001000ull;
        struct timespec t_before_open = dpt_now();
        EXPECT_INT(drainprof_granule_open(prof, gid), 0);
        struct timespec t_after_open = dpt_now();
        EXPECT_INT(drainprof_alloc_register_located(prof, gid, 100, 11, file_x, 1), 0);   /* freed */
        EXPECT_INT(drainprof_alloc_register_located(prof, gid, 101, 22, file_x, 2), 0);   /* pins */
        EXPECT_INT(drainprof_alloc_register(prof, gid, 102, 33), 0);                      /* pins, no site */
        EXPECT_INT(drainprof_alloc_register(prof, gid, 103, 44), 0);                      /* freed */
        drainprof_alloc_site site = { file_x, 40, 17 };
        EXPECT_INT(drainprof_ext_alloc_register_site(prof, gid, 104, 55, &site), 0);      /* pins, column */
        EXPECT_INT(drainprof_alloc_register(prof, gid + 1, 105, 66), -1);                 /* not open */
        EXPECT_INT(drainprof_alloc_register_located(prof, gid, 106, 77, NULL, 9), 0);     /* pins */
        EXPECT_INT(drainprof_alloc_deregister(prof, gid, 100), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, gid, 103), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, gid, 999), -1);
        struct timespec t_before_close = dpt_now();
        EXPECT_INT(drainprof_granule_close(prof, gid), 0);
        struct timespec t_after_close = dpt_now();

        drainprof_pinning_report *r[3] = { NULL, NULL, NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 3), 1);
        REQUIRE(r[0] != NULL);
        const drainprof_pinning_report *rep = r[0];
        EXPECT_UINT(rep->granule_id, gid);
        EXPECT_UINT(rep->pinning_count, 4);
        EXPECT_UINT(rep->total_allocs, 6);
        EXPECT_UINT(rep->drained_allocs, 2);
        CHECK(dpt_ts_cmp(t_before_open, rep->open_time) <= 0);
        CHECK(dpt_ts_cmp(rep->open_time, t_after_open) <= 0);
        CHECK(dpt_ts_cmp(t_before_close, rep->close_time) <= 0);
        CHECK(dpt_ts_cmp(rep->close_time, t_after_close) <= 0);
        REQUIRE(rep->pinning_count == 4 && rep->pinning_allocs != NULL);
        static const uint64_t ids[4] = { 101, 102, 104, 106 };
        static const size_t sizes[4] = { 22, 33, 55, 77 };
        static const uint32_t lines[4] = { 2, 0, 40, 9 };
        static const uint32_t columns[4] = { 0, 0, 17, 0 };
        const char *files[4] = { file_x, NULL, file_x, NULL };
        for (int i = 0; i < 4; i++) {
            const drainprof_pinning_alloc *pa = &rep->pinning_allocs[i];
            EXPECT_UINT(pa->alloc_id, ids[i]);
            EXPECT_UINT(pa->size, sizes[i]);
            EXPECT_PTR(pa->alloc_site.file, files[i]); /* borrowed: the very pointer passed */
            EXPECT_UINT(pa->alloc_site.line, lines[i]);
            EXPECT_UINT(pa->alloc_site.column, columns[i]);
            EXPECT_DBL(pa->lifetime_delta_sec, -1.0);
            CHECK(dpt_ts_cmp(rep->open_time, pa->alloc_time) <= 0);
            CHECK(dpt_ts_cmp(pa->alloc_time, rep->close_time) <= 0);
            if (i > 0) CHECK(dpt_ts_cmp(rep->pinning_allocs[i - 1].alloc_time, pa->alloc_time) <= 0);
        }
        drainprof_pinning_report_free(r[0]);
        CHECK(r[1] == NULL);

        /* Drainable closes make no report; a reopened id counts only its own
         * registrations. */
        EXPECT_INT(drainprof_granule_open(prof, gid), 0);
        EXPECT_INT(drainprof_granule_close(prof, gid), 1);
        EXPECT_UINT(drainprof_drain_reports(prof, r, 3), 0);
        EXPECT_INT(drainprof_granule_open(prof, gid), 0);
        EXPECT_INT(drainprof_alloc_register(prof, gid, 1, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, gid), 0);
        EXPECT_UINT(drainprof_drain_reports(prof, r, 3), 1);
        REQUIRE(r[0] != NULL);
        EXPECT_UINT(r[0]->total_allocs, 1);
        EXPECT_UINT(r[0]->pinning_count, 1);
        EXPECT_UINT(r[0]->drained_allocs, 0);
        drainprof_pinning_report_free(r[0]);
        drainprof_destroy(prof);
    }
}

static void test_fifo_and_partial_drains(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("drain order and partial drains", c->name);
        drainprof *prof = create_diag(c->storage, 100);
        REQUIRE(prof != NULL);
        for (uint64_t g = 0; g < 7; g++) pinned_close(prof, 1000 + g, (uint32_t)g + 1);
        drainprof_pinning_report *r[8];
        memset(r, 0, sizeof r);
        EXPECT_UINT(drainprof_drain_reports(prof, r, 2), 2);
        REQUIRE(r[0] && r[1]);
        EXPECT_UINT(r[0]->granule_id, 1000);
        EXPECT_UINT(r[1]->granule_id, 1001);
        EXPECT_UINT(r[1]->pinning_count, 2);
        CHECK(r[2] == NULL);
        drainprof_pinning_report_free(r[0]);
        drainprof_pinning_report_free(r[1]);
        /* More come in between drains: still FIFO. */
        pinned_close(prof, 2000, 1);
        EXPECT_UINT(drainprof_drain_reports(prof, r, 1), 1);
        EXPECT_UINT(r[0]->granule_id, 1002);
        drainprof_pinning_report_free(r[0]);
        memset(r, 0, sizeof r);
        EXPECT_UINT(drainprof_drain_reports(prof, r, 8), 5);
        static const uint64_t want[5] = { 1003, 1004, 1005, 1006, 2000 };
        for (int i = 0; i < 5; i++) {
            REQUIRE(r[i] != NULL);
            EXPECT_UINT(r[i]->granule_id, want[i]);
            drainprof_pinning_report_free(r[i]);
        }
        EXPECT_UINT(drainprof_drain_reports(prof, r, 8), 0);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 0);
        EXPECT_UINT(e.base.pinned_closes, 8);
        drainprof_destroy(prof);
    }
}

static void test_overflow_drops_oldest(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("overflow drops the oldest", c->name);
        drainprof *prof = create_diag(c->storage, 3);
        REQUIRE(prof != NULL);
        for (uint64_t g = 1; g <= 8; g++) pinned_close(prof, g, 1);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 5);
        EXPECT_UINT(e.base.pinned_closes, 8);
        drainprof_pinning_report *r[5];
        memset(r, 0, sizeof r);
        EXPECT_UINT(drainprof_drain_reports(prof, r, 5), 3);
        for (int i = 0; i < 3; i++) {
            REQUIRE(r[i] != NULL);
            EXPECT_UINT(r[i]->granule_id, 6 + i);
            drainprof_pinning_report_free(r[i]);
        }
        /* Room again after draining. */
        pinned_close(prof, 9, 1);
        pinned_close(prof, 10, 1);
        e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 5);
        memset(r, 0, sizeof r);
        EXPECT_UINT(drainprof_drain_reports(prof, r, 5), 2);
        for (int i = 0; i < 2; i++) {
            REQUIRE(r[i] != NULL);
            EXPECT_UINT(r[i]->granule_id, 9 + i);
            drainprof_pinning_report_free(r[i]);
        }
        drainprof_destroy(prof);
    }
}

static void test_max_buffered_zero(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("max_buffered_reports 0", c->name);
        drainprof *prof = create_diag(c->storage, 0);
        REQUIRE(prof != NULL);
        for (uint64_t g = 1; g <= 4; g++) pinned_close(prof, g, 2);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 4);
        EXPECT_UINT(e.base.pinned_closes, 4);
        drainprof_pinning_report *r[2] = { NULL, NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 2), 0);
        CHECK(r[0] == NULL);
        drainprof_diagnostic_summary *sum = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(sum != NULL);
        EXPECT_UINT(sum->site_count, 0);
        EXPECT_UINT(sum->reports_analyzed, 0);
        drainprof_diagnostic_summary_free(sum);
        drainprof_destroy(prof);
    }
}

/* max_buffered_reports is irrelevant in production mode: nothing is dropped. */
static void test_production_ignores_buffer(void)
{
    FOR_EACH_CONFIG(c) {
        if (c->mode != DRAINPROF_PRODUCTION) continue;
        dpt_set_ctx("production has no report buffer", c->name);
        drainprof_config cfg = dpt_config_for(c);
        cfg.max_buffered_reports = 0;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        for (uint64_t g = 1; g <= 4; g++) pinned_close(prof, g, 2);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 0);
        EXPECT_UINT(e.base.pinned_closes, 4);
        drainprof_pinning_report *r[2] = { NULL, NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 2), 0);
        drainprof_destroy(prof);
    }
}

/* A report with many pinning allocations. */
static void test_large_report(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("large report", c->name);
        drainprof *prof = create_diag(c->storage, 10);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 77), 0);
        int failures = 0;
        for (uint64_t a = 0; a < 20000; a++)
            failures += drainprof_alloc_register_located(prof, 77, a, (size_t)a, "big.c", (uint32_t)a) != 0;
        for (uint64_t a = 0; a < 20000; a += 2) failures += drainprof_alloc_deregister(prof, 77, a) != 0;
        EXPECT_INT(failures, 0);
        EXPECT_INT(drainprof_granule_close(prof, 77), 0);
        drainprof_pinning_report *r[1] = { NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 1), 1);
        REQUIRE(r[0] != NULL);
        EXPECT_UINT(r[0]->pinning_count, 10000);
        EXPECT_UINT(r[0]->total_allocs, 20000);
        EXPECT_UINT(r[0]->drained_allocs, 10000);
        for (uint32_t i = 0; i < r[0]->pinning_count; i++) {
            failures += r[0]->pinning_allocs[i].alloc_id != 2 * i + 1;
            failures += r[0]->pinning_allocs[i].size != 2 * i + 1;
            failures += r[0]->pinning_allocs[i].alloc_site.line != 2 * i + 1;
        }
        EXPECT_INT(failures, 0);
        drainprof_pinning_report_free(r[0]);
        drainprof_destroy(prof);
    }
}

/* The buffer wraps and grows while wrapped (partial drains between bursts),
 * then overflows: FIFO order and the dropped count hold throughout. */
static void test_wrap_and_grow(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("buffer wraps, grows and overflows", c->name);
        drainprof *prof = create_diag(c->storage, 100);
        REQUIRE(prof != NULL);
        uint64_t next_gid = 1, next_expected = 1, dropped = 0;
        uint32_t buffered = 0;
        int failures = 0;
        /* bursts of closes and partial drains, sized to wrap at every size */
        static const uint32_t bursts[][2] = {
            { 10, 5 }, { 20, 7 }, { 3, 0 }, { 40, 11 }, { 70, 33 }, { 150, 100 }, { 5, 0 }, { 0, 100 },
        };
        for (size_t b = 0; b < sizeof bursts / sizeof bursts[0]; b++) {
            for (uint32_t k = 0; k < bursts[b][0]; k++) {
                pinned_close(prof, next_gid++, 1);
                if (buffered == 100) {
                    dropped++;
                    next_expected++;
                } else {
                    buffered++;
                }
            }
            drainprof_pinning_report *r[100];
            uint32_t n = drainprof_drain_reports(prof, r, bursts[b][1]);
            failures += n != (bursts[b][1] < buffered ? bursts[b][1] : buffered);
            for (uint32_t i = 0; i < n; i++) {
                failures += r[i]->granule_id != next_expected++;
                drainprof_pinning_report_free(r[i]);
            }
            buffered -= n;
            drainprof_ext_snapshot_t e = dpt_ext_snap(prof);
            failures += e.dropped_reports != dropped;
        }
        EXPECT_INT(failures, 0);
        EXPECT_UINT(buffered, 0);
        EXPECT_UINT(next_expected, next_gid);
        CHECK(dropped > 0);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_contents();
    test_fifo_and_partial_drains();
    test_overflow_drops_oldest();
    test_max_buffered_zero();
    test_production_ignores_buffer();
    test_large_report();
    test_wrap_and_grow();
    return dpt_finish();
}
