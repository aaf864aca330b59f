/*
 * test_callback.c - callback mode: called synchronously on the closing thread
 * for each pinned close (never for drainable closes or on destroy), with the
 * user data, a report valid during the call, a snapshot taken inside that
 * already counts the close, no library lock held (the callback may call the
 * profiler), and nothing buffered.
 */
#include "harness.h"
#include <pthread.h>

typedef struct seen {
    drainprof *prof;
    int calls;
    void *user_data;
    pthread_t thread;
    uint64_t granule_id;
    uint32_t pinning_count, total_allocs, drained_allocs;
    uint64_t first_alloc_id;
    size_t first_size;
    const char *first_file;
    uint32_t first_line;
    double first_delta;
    drainprof_snapshot_t inside;
    int reentrant_ok;
    int reentrant;
} seen;

static void on_pin(const drainprof_pinning_report *r, void *user_data)
{
    seen *s = user_data;
    s->calls++;
    s->user_data = user_data;
    s->thread = pthread_self();
    s->granule_id = r->granule_id;
    s->pinning_count = r->pinning_count;
    s->total_allocs = r->total_allocs;
    s->drained_allocs = r->drained_allocs;
    if (r->pinning_count > 0) {
        s->first_alloc_id = r->pinning_allocs[0].alloc_id;
        s->first_size = r->pinning_allocs[0].size;
        s->first_file = r->pinning_allocs[0].alloc_site.file;
        s->first_line = r->pinning_allocs[0].alloc_site.line;
        s->first_delta = r->pinning_allocs[0].lifetime_delta_sec;
    }
    drainprof_snapshot(s->prof, &s->inside);
    if (s->reentrant) {
        /* No library lock is held: the profiler may be called from here. */
        drainprof *p = s->prof;
        drainprof_snapshot_t sw;
        drainprof_sweep(p, &sw);
        s->reentrant_ok = drainprof_granule_open(p, 5000 + (uint64_t)s->calls) == 0 &&
                          drainprof_alloc_register(p, 5000 + (uint64_t)s->calls, 1, 1) == 0 &&
                          drainprof_alloc_deregister(p, 5000 + (uint64_t)s->calls, 1) == 0 &&
                          drainprof_granule_close(p, 5000 + (uint64_t)s->calls) == 1;
    }
}

static drainprof *create_cb(const dpt_config *c, seen *s, uint32_t max_buffered)
{
    drainprof_config cfg = dpt_config_for(c);
    cfg.on_pinning = on_pin;
    cfg.callback_user_data = s;
    cfg.max_buffered_reports = max_buffered;
    memset(s, 0, sizeof *s);
    s->prof = drainprof_create_with_config(&cfg);
    return s->prof;
}

typedef struct closer_arg {
    drainprof *prof;
    uint64_t gid;
    int rc;
    pthread_t self;
} closer_arg;

static void *closer(void *p)
{
    closer_arg *a = p;
    a->self = pthread_self();
    a->rc = drainprof_granule_close(a->prof, a->gid);
    return NULL;
}

static void test_called_on_closing_thread(void)
{
    static const char site_file[] = "cb.c";
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("callback on the closing thread", c->name);
        seen s;
        drainprof *prof = create_cb(c, &s, 1000);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 77), 0);
        EXPECT_INT(drainprof_granule_open(prof, 78), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 77, 1, 8), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 77, 2, 64, site_file, 12), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 77, 3, 8), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 77, 1), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 77, 3), 0);

        closer_arg a = { prof, 77, -9, pthread_self() };
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, closer, &a) == 0);
        pthread_join(t, NULL);
        EXPECT_INT(a.rc, 0);
        EXPECT_INT(s.calls, 1);
        EXPECT_PTR(s.user_data, &s);
        CHECK(pthread_equal(s.thread, a.self));
        EXPECT_UINT(s.granule_id, 77);
        EXPECT_UINT(s.pinning_count, 1);
        EXPECT_UINT(s.total_allocs, 3);
        EXPECT_UINT(s.drained_allocs, 2);
        EXPECT_UINT(s.first_alloc_id, 2);
        EXPECT_UINT(s.first_size, 64);
        EXPECT_PTR(s.first_file, site_file);
        EXPECT_UINT(s.first_line, 12);
        EXPECT_DBL(s.first_delta, -1.0);
        /* The snapshot inside the callback already counts this close. */
        EXPECT_COUNTERS(s.inside, 1, 0, 1, 1, 2, 3, 2);

        /* Drainable close: no call. */
        EXPECT_INT(drainprof_granule_close(prof, 78), 1);
        EXPECT_INT(s.calls, 1);

        /* Nothing is buffered. */
        drainprof_pinning_report *r[2] = { NULL, NULL };
        EXPECT_UINT(drainprof_drain_reports(prof, r, 2), 0);
        CHECK(r[0] == NULL);
        CHECK(drainprof_diagnostic_summary_compute(prof) == NULL);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 0);
        EXPECT_UINT(e.base.pinned_closes, 1);
        drainprof_destroy(prof);
    }
}

/* Each pinned close calls once, in close order; max_buffered_reports is
 * irrelevant (0 here) and nothing is dropped; destroy with open pinned
 * granules calls nothing. */
static void test_every_pinned_close(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("callback per pinned close", c->name);
        seen s;
        drainprof *prof = create_cb(c, &s, 0);
        REQUIRE(prof != NULL);
        for (uint64_t g = 0; g < 50; g++) {
            EXPECT_INT(drainprof_granule_open(prof, g), 0);
            if (g % 2) EXPECT_INT(drainprof_alloc_register(prof, g, g, g), 0);
            EXPECT_INT(drainprof_granule_close(prof, g), g % 2 ? 0 : 1);
            if (g % 2) {
                EXPECT_UINT(s.granule_id, g);
                EXPECT_UINT(s.first_alloc_id, g);
                EXPECT_UINT(s.first_size, g);
                EXPECT_UINT(s.inside.pinned_closes, (g + 1) / 2);
                EXPECT_UINT(s.inside.total_closes, g + 1);
            }
        }
        EXPECT_INT(s.calls, 25);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.dropped_reports, 0);
        EXPECT_INT(drainprof_granule_open(prof, 1000), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1000, 1, 1), 0);
        drainprof_destroy(prof);
        EXPECT_INT(s.calls, 25);
    }
}

/* The callback calls back into the profiler: open/register/close of another
 * granule, sweep, snapshot. A library lock held during the call would
 * deadlock here (the test runs under a timeout). */
static void test_reentrant(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("callback calls the profiler", c->name);
        seen s;
        drainprof *prof = create_cb(c, &s, 1000);
        REQUIRE(prof != NULL);
        s.reentrant = 1;
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, 1, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        EXPECT_INT(s.calls, 1);
        CHECK(s.reentrant_ok);
        drainprof_snapshot_t after = dpt_snap(prof);
        EXPECT_COUNTERS(after, 2, 1, 1, 0, 1, 2, 1);
        drainprof_destroy(prof);
    }
}

/* Production mode builds no report: on_pinning is never called. */
static void test_production_never_calls(void)
{
    FOR_EACH_PRODUCTION_CONFIG(c) {
        dpt_set_ctx("production ignores on_pinning", c->name);
        seen s;
        drainprof *prof = create_cb(c, &s, 1000);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, 1, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        EXPECT_INT(s.calls, 0);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_called_on_closing_thread();
    test_every_pinned_close();
    test_reentrant();
    test_production_never_calls();
    return dpt_finish();
}
