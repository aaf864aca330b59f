/*
 * test_api.c - the 0.1 public surface of drainprof.h, checked at compile time
 * where possible: enum values, version macros, struct field order, function
 * signatures. A 0.1 caller compiled against our header must see all of this.
 */
#include <stddef.h>
#include "harness.h"

#define SIG(fn, type) _Static_assert(_Generic(&(fn), type: 1, default: 0), #fn " has the 0.1 signature")

SIG(drainprof_config_default, void (*)(drainprof_config *));
SIG(drainprof_create, drainprof *(*)(void));
SIG(drainprof_create_with_config, drainprof *(*)(const drainprof_config *));
SIG(drainprof_destroy, void (*)(drainprof *));
SIG(drainprof_granule_open, int (*)(drainprof *, drainprof_granule_id));
SIG(drainprof_granule_close, int (*)(drainprof *, drainprof_granule_id));
SIG(drainprof_alloc_register, int (*)(drainprof *, drainprof_granule_id, drainprof_alloc_id, size_t));
SIG(drainprof_alloc_register_located, int (*)(drainprof *, drainprof_granule_id, drainprof_alloc_id,
                                              size_t, const char *, uint32_t));
SIG(drainprof_alloc_deregister, int (*)(drainprof *, drainprof_granule_id, drainprof_alloc_id));
SIG(drainprof_snapshot, void (*)(const drainprof *, drainprof_snapshot_t *));
SIG(drainprof_reset, void (*)(drainprof *));
SIG(drainprof_sweep, void (*)(drainprof *, drainprof_snapshot_t *));
SIG(drainprof_drain_reports, uint32_t (*)(drainprof *, drainprof_pinning_report **, uint32_t));
SIG(drainprof_pinning_report_free, void (*)(drainprof_pinning_report *));
SIG(drainprof_diagnostic_summary_compute, drainprof_diagnostic_summary *(*)(drainprof *));
SIG(drainprof_diagnostic_summary_free, void (*)(drainprof_diagnostic_summary *));

_Static_assert(DRAINPROF_VERSION_MAJOR == 0 && DRAINPROF_VERSION_MINOR == 1 && DRAINPROF_VERSION_PATCH == 0,
               "API level 0.1.0");
_Static_assert(DRAINPROF_PRODUCTION == 0 && DRAINPROF_DIAGNOSTIC == 1, "mode values");
_Static_assert(DRAINPROF_SLOT_ARRAY == 0 && DRAINPROF_HASH_MAP == 1, "storage values");
_Static_assert(sizeof(drainprof_granule_id) == 8 && (drainprof_granule_id)-1 > 0, "granule id is uint64_t");
_Static_assert(sizeof(drainprof_alloc_id) == 8 && (drainprof_alloc_id)-1 > 0, "alloc id is uint64_t");

#define ORDER(T, a, b) _Static_assert(offsetof(T, a) < offsetof(T, b), #T ": " #a " before " #b)
#define TYPE(T, f, type) _Static_assert(_Generic(((T *)0)->f, type: 1, default: 0), #T "." #f " type")

ORDER(struct drainprof_snapshot_t_s, timestamp, total_closes);
ORDER(drainprof_snapshot_t, total_closes, drainable_closes);
ORDER(drainprof_snapshot_t, drainable_closes, pinned_closes);
ORDER(drainprof_snapshot_t, pinned_closes, dsr);
ORDER(drainprof_snapshot_t, dsr, open_granules);
ORDER(drainprof_snapshot_t, open_granules, peak_open_granules);
ORDER(drainprof_snapshot_t, peak_open_granules, total_allocs);
ORDER(drainprof_snapshot_t, total_allocs, total_deallocs);
TYPE(drainprof_snapshot_t, timestamp, struct timespec);
TYPE(drainprof_snapshot_t, dsr, double);
TYPE(drainprof_snapshot_t, total_deallocs, uint64_t);

ORDER(drainprof_alloc_site, file, line);
ORDER(drainprof_alloc_site, line, column);
TYPE(drainprof_alloc_site, file, const char *);
TYPE(drainprof_alloc_site, line, uint32_t);
TYPE(drainprof_alloc_site, column, uint32_t);

ORDER(drainprof_pinning_alloc, alloc_id, alloc_site);
ORDER(drainprof_pinning_alloc, alloc_site, alloc_time);
ORDER(drainprof_pinning_alloc, alloc_time, size);
ORDER(drainprof_pinning_alloc, size, lifetime_delta_sec);
TYPE(drainprof_pinning_alloc, size, size_t);
TYPE(drainprof_pinning_alloc, lifetime_delta_sec, double);

ORDER(drainprof_pinning_report, granule_id, open_time);
ORDER(drainprof_pinning_report, open_time, close_time);
ORDER(drainprof_pinning_report, close_time, pinning_allocs);
ORDER(drainprof_pinning_report, pinning_allocs, pinning_count);
ORDER(drainprof_pinning_report, pinning_count, total_allocs);
ORDER(drainprof_pinning_report, total_allocs, drained_allocs);
TYPE(drainprof_pinning_report, pinning_allocs, drainprof_pinning_alloc *);
TYPE(drainprof_pinning_report, drained_allocs, uint32_t);

ORDER(drainprof_summary_site_entry, site, pinning_count);
ORDER(drainprof_summary_site_entry, pinning_count, total_allocs);
ORDER(drainprof_summary_site_entry, total_allocs, total_bytes);
TYPE(drainprof_summary_site_entry, total_bytes, size_t);

ORDER(drainprof_diagnostic_summary, sites, site_count);
ORDER(drainprof_diagnostic_summary, site_count, total_pinning_allocs);
ORDER(drainprof_diagnostic_summary, total_pinning_allocs, reports_analyzed);

ORDER(drainprof_config, mode, storage);
ORDER(drainprof_config, storage, slot_capacity);
ORDER(drainprof_config, slot_capacity, bucket_count);
ORDER(drainprof_config, bucket_count, log_interval);
ORDER(drainprof_config, log_interval, on_pinning);
ORDER(drainprof_config, on_pinning, callback_user_data);
ORDER(drainprof_config, callback_user_data, max_buffered_reports);
ORDER(drainprof_config, max_buffered_reports, verbose);
TYPE(drainprof_config, mode, drainprof_mode);
TYPE(drainprof_config, storage, drainprof_storage);
TYPE(drainprof_config, slot_capacity, uint32_t);
TYPE(drainprof_config, bucket_count, uint32_t);
TYPE(drainprof_config, log_interval, uint64_t);
TYPE(drainprof_config, on_pinning, drainprof_pin_callback);
TYPE(drainprof_config, callback_user_data, void *);
TYPE(drainprof_config, max_buffered_reports, uint32_t);
TYPE(drainprof_config, verbose, bool);

_Static_assert(_Generic((drainprof_pin_callback)0,
                        void (*)(const drainprof_pinning_report *, void *): 1, default: 0),
               "callback signature");

static const char *macro_file;
static uint32_t macro_line;

/* The macro must expand to the _located call with the caller's __FILE__ and
 * __LINE__; an expression in each argument is evaluated once. */
static void test_register_macro(void)
{
    dpt_set_ctx("DRAINPROF_ALLOC_REGISTER", NULL);
    drainprof_config cfg;
    drainprof_config_default(&cfg);
    cfg.mode = DRAINPROF_DIAGNOSTIC;
    drainprof *prof = drainprof_create_with_config(&cfg);
    REQUIRE(prof != NULL);
    drainprof_granule_id gid = 9;
    EXPECT_INT(drainprof_granule_open(prof, gid), 0);
    int evaluated = 0;
    macro_file = __FILE__;
    macro_line = __LINE__ + 1;
    EXPECT_INT(DRAINPROF_ALLOC_REGISTER(prof, gid + (evaluated++, 0), 77, 48), 0);
    EXPECT_INT(evaluated, 1);
    EXPECT_INT(drainprof_granule_close(prof, gid), 0);
    drainprof_pinning_report *r[2] = { NULL, NULL };
    EXPECT_UINT(drainprof_drain_reports(prof, r, 2), 1);
    REQUIRE(r[0] != NULL);
    REQUIRE(r[0]->pinning_count == 1);
    EXPECT_UINT(r[0]->pinning_allocs[0].alloc_id, 77);
    EXPECT_UINT(r[0]->pinning_allocs[0].size, 48);
    EXPECT_STR(r[0]->pinning_allocs[0].alloc_site.file, macro_file);
    EXPECT_UINT(r[0]->pinning_allocs[0].alloc_site.line, macro_line);
    EXPECT_UINT(r[0]->pinning_allocs[0].alloc_site.column, 0);
    drainprof_pinning_report_free(r[0]);
    drainprof_destroy(prof);
}

int main(void)
{
    test_register_macro();
    return dpt_finish();
}
