/*
 * test_summary.c - drainprof_diagnostic_summary_compute: grouping by file
 * string contents (not pointers) and line, per-site numbers, sort order,
 * totals, empty summary, NULL in production and callback mode, and that it
 * does not consume the buffered reports.
 */
#include "harness.h"

/* Two arrays with the same contents: distinct pointers, one site. */
static const char alloc_c_1[] = "alloc.c";
static const char alloc_c_2[] = "alloc.c";
static const char buf_c[] = "buf.c";
static const char c_c[] = "c.c";
static const char d_c[] = "d.c";
static const char e_c[] = "e.c";

static uint64_t next_aid = 1;

static void reg(drainprof *prof, uint64_t gid, const char *file, uint32_t line, size_t size)
{
    EXPECT_INT(drainprof_alloc_register_located(prof, gid, next_aid++, size, file, line), 0);
}

/* Three pinned closes:
 *   g1: alloc.c:10 100 B (ptr 1), alloc.c:10 50 B (ptr 2), buf.c:5 1000 B
 *   g2: alloc.c:10 30 B (ptr 2), buf.c:6 7 B, c.c:1 5000 B
 *   g3: alloc.c:10 1 B (ptr 1), buf.c:5 1 B, buf.c:5 2 B, d.c:2 10 B
 * plus freed allocations (e.c:1) and a drainable close that must not count. */
static void make_reports(drainprof *prof)
{
    EXPECT_INT(drainprof_granule_open(prof, 1), 0);
    EXPECT_INT(drainprof_granule_open(prof, 2), 0);
    EXPECT_INT(drainprof_granule_open(prof, 3), 0);
    EXPECT_INT(drainprof_granule_open(prof, 4), 0);
    reg(prof, 1, alloc_c_1, 10, 100);
    reg(prof, 1, alloc_c_2, 10, 50);
    reg(prof, 1, buf_c, 5, 1000);
    reg(prof, 2, alloc_c_2, 10, 30);
    reg(prof, 2, buf_c, 6, 7);
    reg(prof, 2, c_c, 1, 5000);
    reg(prof, 3, alloc_c_1, 10, 1);
    reg(prof, 3, buf_c, 5, 1);
    reg(prof, 3, buf_c, 5, 2);
    reg(prof, 3, d_c, 2, 10);
    for (uint64_t g = 1; g <= 4; g++) {
        EXPECT_INT(drainprof_alloc_register_located(prof, g, 900 + g, 123456, e_c, 1), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, g, 900 + g), 0);
    }
    EXPECT_INT(drainprof_granule_close(prof, 1), 0);
    EXPECT_INT(drainprof_granule_close(prof, 2), 0);
    EXPECT_INT(drainprof_granule_close(prof, 3), 0);
    EXPECT_INT(drainprof_granule_close(prof, 4), 1);
}

typedef struct want_site {
    const char *file;
    uint32_t line, pinning_count, total_allocs;
    size_t total_bytes;
} want_site;

static void expect_summary(const drainprof_diagnostic_summary *s, const want_site *want, uint32_t n,
                           uint32_t reports)
{
    EXPECT_UINT(s->site_count, n);
    EXPECT_UINT(s->reports_analyzed, reports);
    uint32_t total = 0;
    for (uint32_t i = 0; i < n; i++) total += want[i].total_allocs;
    EXPECT_UINT(s->total_pinning_allocs, total);
    if (s->site_count != n) return;
    for (uint32_t i = 0; i < n; i++) {
        const drainprof_summary_site_entry *e = &s->sites[i];
        EXPECT_STR(e->site.file, want[i].file);
        EXPECT_UINT(e->site.line, want[i].line);
        EXPECT_UINT(e->site.column, 0);
        EXPECT_UINT(e->pinning_count, want[i].pinning_count);
        EXPECT_UINT(e->total_allocs, want[i].total_allocs);
        EXPECT_UINT(e->total_bytes, want[i].total_bytes);
    }
}

static void test_numbers_and_order(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("summary numbers", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        make_reports(prof);
        static const want_site all[5] = {
            { "alloc.c", 10, 3, 4, 181 },
            { "buf.c", 5, 2, 3, 1003 },
            { "c.c", 1, 1, 1, 5000 },
            { "d.c", 2, 1, 1, 10 },
            { "buf.c", 6, 1, 1, 7 },
        };
        drainprof_diagnostic_summary *s = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(s != NULL);
        expect_summary(s, all, 5, 3);
        drainprof_diagnostic_summary_free(s);

        /* Not consumed: the same again, and all three reports drain. */
        s = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(s != NULL);
        expect_summary(s, all, 5, 3);
        drainprof_diagnostic_summary_free(s);

        /* After draining the oldest report only two remain. */
        drainprof_pinning_report *r[4] = { NULL, NULL, NULL, NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 1), 1);
        drainprof_pinning_report_free(r[0]);
        static const want_site rest[5] = {
            { "alloc.c", 10, 2, 2, 31 },
            { "c.c", 1, 1, 1, 5000 },
            { "d.c", 2, 1, 1, 10 },
            { "buf.c", 6, 1, 1, 7 },
            { "buf.c", 5, 1, 2, 3 },
        };
        s = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(s != NULL);
        expect_summary(s, rest, 5, 2);

        EXPECT_UINT(drainprof_drain_reports(prof, r, 4), 2);
        drainprof_pinning_report_free(r[0]);
        drainprof_pinning_report_free(r[1]);

        /* A summary outlives both the reports and the profiler. */
        drainprof_destroy(prof);
        expect_summary(s, rest, 5, 2);
        drainprof_diagnostic_summary_free(s);
    }
}

static void test_empty(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("empty summary", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        drainprof_diagnostic_summary *s = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(s != NULL);
        EXPECT_UINT(s->site_count, 0);
        EXPECT_UINT(s->reports_analyzed, 0);
        EXPECT_UINT(s->total_pinning_allocs, 0);
        drainprof_diagnostic_summary_free(s);

        /* Drainable closes only: still empty. */
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 1, 1, 8, e_c, 1), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 1, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        s = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(s != NULL);
        EXPECT_UINT(s->site_count, 0);
        EXPECT_UINT(s->reports_analyzed, 0);
        drainprof_diagnostic_summary_free(s);

        /* Everything drained: empty again. */
        make_reports(prof);
        drainprof_pinning_report *r[3];
        EXPECT_UINT(drainprof_drain_reports(prof, r, 3), 3);
        for (int i = 0; i < 3; i++) drainprof_pinning_report_free(r[i]);
        s = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(s != NULL);
        EXPECT_UINT(s->site_count, 0);
        EXPECT_UINT(s->reports_analyzed, 0);
        EXPECT_UINT(s->total_pinning_allocs, 0);
        drainprof_diagnostic_summary_free(s);
        drainprof_destroy(prof);
    }
}

/* Allocations registered without a site (file NULL, line 0) are grouped too,
 * as one site, without crashing on the NULL file. */
static void test_no_site(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("summary of allocations without a site", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, 1, 10), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, 2, 20), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 1, 3, 1, buf_c, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        drainprof_diagnostic_summary *s = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(s != NULL);
        static const want_site want[2] = { { NULL, 0, 1, 2, 30 }, { "buf.c", 1, 1, 1, 1 } };
        expect_summary(s, want, 2, 1);
        drainprof_diagnostic_summary_free(s);
        drainprof_destroy(prof);
    }
}

/* Many sites and reports: totals add up and the order holds throughout. */
static void test_many_sites(void)
{
    static char files[50][16];
    for (int i = 0; i < 50; i++) snprintf(files[i], sizeof files[i], "f%02d.c", i);
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("many sites", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        uint32_t pins = 0;
        for (uint64_t g = 0; g < 200; g++) {
            EXPECT_INT(drainprof_granule_open(prof, g), 0);
            for (uint64_t k = 0; k < 5; k++) {
                int f = (int)((g * 7 + k * 13) % 50);
                EXPECT_INT(drainprof_alloc_register_located(prof, g, k, (size_t)(f + 1), files[f], (uint32_t)k % 2), 0);
                pins++;
            }
            EXPECT_INT(drainprof_granule_close(prof, g), 0);
        }
        drainprof_diagnostic_summary *s = drainprof_diagnostic_summary_compute(prof);
        REQUIRE(s != NULL);
        EXPECT_UINT(s->reports_analyzed, 200);
        EXPECT_UINT(s->total_pinning_allocs, pins);
        uint32_t sum = 0, ordered = 1;
        for (uint32_t i = 0; i < s->site_count; i++) {
            sum += s->sites[i].total_allocs;
            if (i > 0) {
                const drainprof_summary_site_entry *a = &s->sites[i - 1], *b = &s->sites[i];
                if (a->pinning_count < b->pinning_count ||
                    (a->pinning_count == b->pinning_count && a->total_bytes < b->total_bytes))
                    ordered = 0;
            }
            for (uint32_t j = 0; j < i; j++)
                if (strcmp(s->sites[i].site.file, s->sites[j].site.file) == 0 &&
                    s->sites[i].site.line == s->sites[j].site.line)
                    ordered = 0; /* a site listed twice */
        }
        EXPECT_UINT(sum, pins);
        CHECK(ordered);
        drainprof_diagnostic_summary_free(s);
        drainprof_destroy(prof);
    }
}

static int callbacks;
static void on_pin(const drainprof_pinning_report *r, void *u)
{
    (void)r;
    (void)u;
    callbacks++;
}

static void test_null_outside_buffered_mode(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("summary NULL in production and callback mode", c->name);
        drainprof_config cfg = dpt_config_for(c);
        if (c->mode == DRAINPROF_DIAGNOSTIC) cfg.on_pinning = on_pin;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        CHECK(drainprof_diagnostic_summary_compute(prof) == NULL);
        if (c->mode == DRAINPROF_PRODUCTION) EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_WRONG_MODE);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 1, 1, 8, buf_c, 1), 0);
        callbacks = 0;
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        EXPECT_INT(callbacks, c->mode == DRAINPROF_DIAGNOSTIC ? 1 : 0);
        CHECK(drainprof_diagnostic_summary_compute(prof) == NULL);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_numbers_and_order();
    test_empty();
    test_no_site();
    test_many_sites();
    test_null_outside_buffered_mode();
    return dpt_finish();
}
