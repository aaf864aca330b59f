/*
 * legacy_user.c - a program written against libdrainprof 0.1: it includes only
 * <drainprof.h>, fills drainprof_config with designated initialisers using the
 * 0.1 field names, uses DRAINPROF_ALLOC_REGISTER and the 0.1 calls, and links
 * with -ldrainprof. Built by tests.mk with -std=c11 -Wall -Werror against
 * out/ (static and shared) and against an installed prefix.
 */
#include <drainprof.h>
#include <stdio.h>
#include <string.h>

static int failures;

#define EXPECT(cond) do { \
    if (!(cond)) { fprintf(stdout, "legacy_user: %s:%d: %s\n", __FILE__, __LINE__, #cond); failures++; } \
} while (0)

static unsigned callbacks;
static void on_pinning(const drainprof_pinning_report *report, void *user_data)
{
    unsigned *count = user_data;
    (*count)++;
    (void)report;
}

int main(void)
{
    /* Production, as most 0.1 users ran it. */
    drainprof_config cfg = {
        .mode = DRAINPROF_PRODUCTION,
        .storage = DRAINPROF_SLOT_ARRAY,
        .slot_capacity = 256,
        .bucket_count = 64,
        .log_interval = 0,
        .on_pinning = NULL,
        .callback_user_data = NULL,
        .max_buffered_reports = 100,
        .verbose = false,
    };
    drainprof *prof = drainprof_create_with_config(&cfg);
    EXPECT(prof != NULL);
    if (!prof) return 1;
    for (drainprof_granule_id epoch = 0; epoch < 100; epoch++) {
        EXPECT(drainprof_granule_open(prof, epoch) == 0);
        EXPECT(DRAINPROF_ALLOC_REGISTER(prof, epoch, epoch * 2, 64) == 0);
        EXPECT(drainprof_alloc_register(prof, epoch, epoch * 2 + 1, 32) == 0);
        EXPECT(drainprof_alloc_deregister(prof, epoch, epoch * 2 + 1) == 0);
        if (epoch % 4 != 0) EXPECT(drainprof_alloc_deregister(prof, epoch, epoch * 2) == 0);
        EXPECT(drainprof_granule_close(prof, epoch) == (epoch % 4 != 0 ? 1 : 0));
    }
    drainprof_snapshot_t snap;
    memset(&snap, 0, sizeof snap);
    drainprof_snapshot(prof, &snap);
    EXPECT(snap.total_closes == 100);
    EXPECT(snap.drainable_closes == 75);
    EXPECT(snap.pinned_closes == 25);
    EXPECT(snap.dsr == 0.75);
    EXPECT(snap.total_allocs == 200);
    EXPECT(snap.total_deallocs == 175);
    drainprof_sweep(prof, &snap);
    EXPECT(snap.total_closes == 0);
    drainprof_reset(prof);
    drainprof_destroy(prof);

    /* Diagnostic with buffered reports and a summary. */
    drainprof_config diag = {
        .mode = DRAINPROF_DIAGNOSTIC,
        .storage = DRAINPROF_HASH_MAP,
        .bucket_count = 16,
        .max_buffered_reports = 8,
    };
    prof = drainprof_create_with_config(&diag);
    EXPECT(prof != NULL);
    if (!prof) return 1;
    EXPECT(drainprof_granule_open(prof, 0x7f0000001000ull) == 0);
    const uint32_t line = __LINE__ + 1;
    EXPECT(DRAINPROF_ALLOC_REGISTER(prof, 0x7f0000001000ull, 1, 128) == 0);
    EXPECT(drainprof_alloc_register_located(prof, 0x7f0000001000ull, 2, 256, "legacy.c", 7) == 0);
    EXPECT(drainprof_granule_close(prof, 0x7f0000001000ull) == 0);
    drainprof_pinning_report *reports[4];
    uint32_t n = drainprof_drain_reports(prof, reports, 4);
    EXPECT(n == 1);
    if (n == 1) {
        EXPECT(reports[0]->pinning_count == 2);
        EXPECT(reports[0]->pinning_allocs[0].alloc_site.line == line);
        EXPECT(strcmp(reports[0]->pinning_allocs[0].alloc_site.file, __FILE__) == 0);
        EXPECT(reports[0]->pinning_allocs[1].size == 256);
        drainprof_pinning_report_free(reports[0]);
    }
    EXPECT(drainprof_granule_open(prof, 2) == 0);
    EXPECT(drainprof_alloc_register(prof, 2, 1, 10) == 0);
    EXPECT(drainprof_granule_close(prof, 2) == 0);
    drainprof_diagnostic_summary *summary = drainprof_diagnostic_summary_compute(prof);
    EXPECT(summary != NULL);
    if (summary) {
        EXPECT(summary->reports_analyzed == 1);
        EXPECT(summary->site_count == 1);
        drainprof_diagnostic_summary_free(summary);
    }
    drainprof_destroy(prof);

    /* Callback mode with the default-filled config. */
    drainprof_config cb;
    drainprof_config_default(&cb);
    cb.mode = DRAINPROF_DIAGNOSTIC;
    cb.on_pinning = on_pinning;
    cb.callback_user_data = &callbacks;
    prof = drainprof_create_with_config(&cb);
    EXPECT(prof != NULL);
    if (!prof) return 1;
    EXPECT(drainprof_granule_open(prof, 1) == 0);
    EXPECT(drainprof_alloc_register(prof, 1, 1, 1) == 0);
    EXPECT(drainprof_granule_close(prof, 1) == 0);
    EXPECT(callbacks == 1);
    drainprof_destroy(prof);

    drainprof *plain = drainprof_create();
    EXPECT(plain != NULL);
    drainprof_destroy(plain);

    printf("legacy_user: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
    return failures ? 1 : 0;
}
