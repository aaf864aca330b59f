/*
 * test_oom.c - out of memory: every allocation the library makes is failed in
 * turn (the library's calls to malloc/calloc/realloc/aligned_alloc/
 * posix_memalign are wrapped at link time, see tests.mk). Each call must then
 * return its documented result (-1 / NULL with DRAINPROF_EXT_ERR_NO_MEMORY,
 * or succeed), the counters must stay exact (failed registers still count,
 * a close is still a close), nothing may crash or leak (ASan, valgrind), and
 * the profiler must work normally afterwards.
 */
#include "harness.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **out, size_t align, size_t n);

static long countdown = -1; /* allocations to let through before failing one; -1: off */
static int injected;

static int fail_now(void)
{
    if (countdown < 0) return 0;
    if (countdown-- > 0) return 0;
    injected = 1;
    return 1;
}

void *__wrap_malloc(size_t n) { return fail_now() ? NULL : __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { return fail_now() ? NULL : __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { return fail_now() ? NULL : __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t align, size_t n) { return fail_now() ? NULL : __real_aligned_alloc(align, n); }
int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
    return fail_now() ? 12 /* ENOMEM */ : __real_posix_memalign(out, align, n);
}

/* rc must be ok_rc, or -1 with NO_MEMORY. */
#define OK_OR_OOM(call, ok_rc) do { \
    long long rc_ = (long long)(call); \
    if (rc_ == (ok_rc)) dpt_passed++; \
    else if (rc_ == -1 && drainprof_ext_last_error() == DRAINPROF_EXT_ERR_NO_MEMORY) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("%s: got %lld (error %s), expected %lld or -1/NO_MEMORY\n", #call, rc_, \
                  drainprof_ext_error_name(drainprof_ext_last_error()), (long long)(ok_rc)); } \
} while (0)

enum { GRANULES = 40, ALLOCS = 6 };

static void on_pin(const drainprof_pinning_report *r, void *u)
{
    (void)r;
    (*(int *)u)++;
}

/* One scenario with the allocation number `n` failing. Returns whether the
 * failure was reached (if not, the scenario ran without any). */
static int scenario(const dpt_config *c, int callback, long n)
{
    int pins = 0;
    drainprof_config cfg = dpt_config_for(c);
    cfg.slot_capacity = 64;
    cfg.bucket_count = 2;
    cfg.max_buffered_reports = 3;
    if (callback) {
        cfg.on_pinning = on_pin;
        cfg.callback_user_data = &pins;
    }
    injected = 0;
    countdown = n;
    drainprof *prof = drainprof_create_with_config(&cfg);
    if (!prof) {
        countdown = -1;
        CHECK(injected);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NO_MEMORY);
        return injected;
    }
    uint64_t reg_calls = 0, dereg_calls = 0, drainable = 0, pinned = 0, open_now = 0, peak = 0;
    int64_t live[GRANULES] = { 0 };
    int is_open[GRANULES] = { 0 };
    for (uint64_t g = 0; g < GRANULES; g++) {
        int rc = drainprof_granule_open(prof, g << 12);
        OK_OR_OOM(rc, 0);
        if (rc == 0) {
            is_open[g] = 1;
            if (++open_now > peak) peak = open_now;
        }
        for (uint64_t a = 0; a < ALLOCS; a++) {
            drainprof_alloc_site site = { "oom.c", (uint32_t)a, 1 };
            int r = a % 2 ? drainprof_alloc_register_located(prof, g << 12, a, 8, "oom.c", (uint32_t)a)
                          : drainprof_ext_alloc_register_site(prof, g << 12, a, 8, &site);
            reg_calls++;
            if (is_open[g]) {
                OK_OR_OOM(r, 0);
                if (r == 0) live[g]++;
            } else {
                EXPECT_INT(r, -1);
            }
        }
        for (uint64_t a = 0; a < ALLOCS; a += 2) {
            int r = drainprof_alloc_deregister(prof, g << 12, a);
            dereg_calls++;
            if (r == 0) live[g]--;
            else CHECK(!is_open[g] || c->mode == DRAINPROF_DIAGNOSTIC); /* not live: its register failed */
        }
        if (g % 3 == 0) { /* some granules drain completely */
            for (uint64_t a = 1; a < ALLOCS; a += 2) {
                if (drainprof_alloc_deregister(prof, g << 12, a) == 0) live[g]--;
                dereg_calls++;
            }
        }
    }
    for (uint64_t g = 0; g < GRANULES; g++) {
        int rc = drainprof_granule_close(prof, g << 12);
        if (!is_open[g]) { EXPECT_INT(rc, -1); continue; }
        /* A close is never refused for memory: outcome as counted. */
        EXPECT_INT(rc, live[g] > 0 ? 0 : 1);
        drainable += rc == 1;
        pinned += rc == 0;
        open_now--;
    }
    /* late frees of pins: accepted, or refused, never a crash */
    for (uint64_t a = 1; a < 4; a += 2) {
        drainprof_alloc_deregister(prof, 1 << 12, a);
        dereg_calls++;
    }
    drainprof_pinning_report *r[4] = { NULL, NULL, NULL, NULL };
    uint32_t got = drainprof_drain_reports(prof, r, 1);
    drainprof_diagnostic_summary *sum = drainprof_diagnostic_summary_compute(prof);
    if (!sum && c->mode == DRAINPROF_DIAGNOSTIC && !callback)
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NO_MEMORY);
    drainprof_diagnostic_summary_free(sum);
    drainprof_ext_summary *xs = drainprof_ext_summary_compute(prof);
    if (!xs && c->mode == DRAINPROF_DIAGNOSTIC)
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NO_MEMORY);
    drainprof_ext_summary_free(xs);
    char buf[4096];
    int64_t len = drainprof_ext_format_metrics(prof, NULL, buf, sizeof buf);
    if (len < 0) EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NO_MEMORY);
    len = drainprof_ext_format_report(prof, 0, buf, sizeof buf);
    if (len < 0) EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NO_MEMORY);
    drainprof_ext_lifetime_record rec[4];
    drainprof_ext_lifetime_records(prof, rec, 4);
    int reached = injected;
    countdown = -1;

    /* The counters are exact whatever failed. */
    drainprof_snapshot_t s = dpt_snap(prof);
    EXPECT_COUNTERS(s, drainable + pinned, drainable, pinned, 0, peak, reg_calls, dereg_calls);
    /* And the profiler works normally afterwards. */
    EXPECT_INT(drainprof_granule_open(prof, 999), 0);
    EXPECT_INT(drainprof_alloc_register(prof, 999, 1, 1), 0);
    EXPECT_INT(drainprof_granule_close(prof, 999), 0);
    for (uint32_t i = 0; i < got; i++) drainprof_pinning_report_free(r[i]);
    uint32_t more = drainprof_drain_reports(prof, r, 4);
    for (uint32_t i = 0; i < more; i++) drainprof_pinning_report_free(r[i]);
    /* Every pinned close's report was handed out or counted as dropped (a
     * report that could not be built for lack of memory included). */
    drainprof_ext_snapshot_t e = dpt_ext_snap(prof);
    if (c->mode == DRAINPROF_DIAGNOSTIC) {
        uint64_t handed = callback ? (uint64_t)pins : (uint64_t)got + more;
        EXPECT_UINT(handed + e.dropped_reports, pinned + 1);
    } else {
        EXPECT_UINT(e.dropped_reports, 0);
    }
    drainprof_destroy(prof);
    return reached;
}

int main(void)
{
    FOR_EACH_CONFIG(c) {
        for (int callback = 0; callback <= (c->mode == DRAINPROF_DIAGNOSTIC); callback++) {
            char what[64];
            long n = 0;
            for (; n < 5000; n++) {
                snprintf(what, sizeof what, "allocation %ld fails%s", n, callback ? ", callback mode" : "");
                dpt_set_ctx(what, c->name);
                if (!scenario(c, callback, n)) break;
            }
            dpt_set_ctx(callback ? "every allocation failed once, callback mode" : "every allocation failed once",
                        c->name);
            CHECK(n > 0 && n < 5000);
            printf("note: %s%s: %ld allocations failed in turn\n", c->name, callback ? " (callback)" : "", n);
        }
    }
    return dpt_finish();
}
