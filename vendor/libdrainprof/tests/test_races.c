/*
 * test_races.c - calls racing on one profiler:
 *  - several threads open (then close) the same ids: exactly one wins each,
 *    no double counting;
 *  - diagnostic closes leaving pins while other threads drain reports,
 *    compute summaries, format text, read lifetime records and free pins
 *    late: every report is handed out once or counted as dropped;
 *  - callback mode under concurrent closes: one call per pinned close, on the
 *    closing thread.
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>

enum { RACERS = 4, RACE_IDS = 5000 };

typedef struct race {
    drainprof *prof;
    pthread_barrier_t *barrier;
    int won_open[RACE_IDS];
    int won_close[RACE_IDS];
    int bad;
} race;

static void *racer(void *p)
{
    race *r = p;
    pthread_barrier_wait(r->barrier);
    for (uint64_t i = 0; i < RACE_IDS; i++) {
        int rc = drainprof_granule_open(r->prof, i * 4096);
        if (rc == 0) r->won_open[i]++;
        else if (rc != -1) r->bad++;
    }
    pthread_barrier_wait(r->barrier);
    for (uint64_t i = 0; i < RACE_IDS; i++) {
        int rc = drainprof_granule_close(r->prof, i * 4096);
        if (rc == 1) r->won_close[i]++;
        else if (rc != -1) r->bad++;
    }
    return NULL;
}

static void test_same_id_races(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("threads open and close the same ids", c->name);
        drainprof_config cfg = dpt_config_for(c);
        cfg.slot_capacity = RACE_IDS;
        cfg.bucket_count = 4;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, RACERS);
        static race r[RACERS];
        pthread_t t[RACERS];
        for (int i = 0; i < RACERS; i++) {
            memset(&r[i], 0, sizeof r[i]);
            r[i].prof = prof;
            r[i].barrier = &barrier;
            pthread_create(&t[i], NULL, racer, &r[i]);
        }
        for (int i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
        pthread_barrier_destroy(&barrier);
        int wrong_open = 0, wrong_close = 0, bad = 0;
        for (int id = 0; id < RACE_IDS; id++) {
            int o = 0, cl = 0;
            for (int i = 0; i < RACERS; i++) {
                o += r[i].won_open[id];
                cl += r[i].won_close[id];
            }
            wrong_open += o != 1;
            wrong_close += cl != 1;
        }
        for (int i = 0; i < RACERS; i++) bad += r[i].bad;
        EXPECT_INT(wrong_open, 0);
        EXPECT_INT(wrong_close, 0);
        EXPECT_INT(bad, 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, RACE_IDS, RACE_IDS, 0, 0, RACE_IDS, 0, 0);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.failed_opens, (RACERS - 1) * RACE_IDS);
        EXPECT_UINT(e.failed_closes, (RACERS - 1) * RACE_IDS);
        drainprof_destroy(prof);
    }
}

/* ---- reports and summaries while closes happen ------------------------- */

enum { CLOSERS = 2, CLOSES_EACH = 3000 };

typedef struct pin_note {
    uint64_t gid, aid;
} pin_note;

typedef struct reporting {
    drainprof *prof;
    atomic_int closers_left;
    atomic_uint_fast64_t drained;
    atomic_uint_fast64_t callbacks;
    atomic_int wrong_thread;
    /* pins each closer leaves, freed late by the freer thread */
    pin_note pins[CLOSERS][CLOSES_EACH];
    atomic_int pins_ready[CLOSERS];
    int failures;
    int bad_reports;
} reporting;

typedef struct closer_arg {
    reporting *rp;
    int index;
    int failures;
    uint64_t pinned;
} closer_arg;

static __thread int closing_thread_index = -1;

static void *closer(void *p)
{
    closer_arg *a = p;
    reporting *rp = a->rp;
    closing_thread_index = a->index;
    for (uint64_t i = 0; i < CLOSES_EACH; i++) {
        uint64_t gid = ((uint64_t)(a->index + 1) << 48) | i;
        a->failures += drainprof_granule_open(rp->prof, gid) != 0;
        for (uint64_t k = 0; k < 3; k++)
            a->failures += drainprof_alloc_register_located(rp->prof, gid, k, 16, "race.c", (uint32_t)(k + 10 * (uint64_t)a->index)) != 0;
        a->failures += drainprof_alloc_deregister(rp->prof, gid, 0) != 0;
        int keep = i % 2 == 0;
        if (!keep) {
            a->failures += drainprof_alloc_deregister(rp->prof, gid, 1) != 0;
            a->failures += drainprof_alloc_deregister(rp->prof, gid, 2) != 0;
        }
        int rc = drainprof_granule_close(rp->prof, gid);
        a->failures += rc != (keep ? 0 : 1);
        a->pinned += rc == 0;
        rp->pins[a->index][i] = (pin_note){ gid, keep ? 1 : UINT64_MAX };
        atomic_store_explicit(&rp->pins_ready[a->index], (int)i + 1, memory_order_release);
    }
    atomic_fetch_sub(&rp->closers_left, 1);
    return NULL;
}

static void *drainer(void *p)
{
    reporting *rp = p;
    for (;;) {
        int last = atomic_load(&rp->closers_left) == 0;
        drainprof_pinning_report *r[16];
        uint32_t n = drainprof_drain_reports(rp->prof, r, 16);
        for (uint32_t i = 0; i < n; i++) {
            if (r[i]->pinning_count != 2 || r[i]->total_allocs != 3 || r[i]->drained_allocs != 1) rp->bad_reports++;
            drainprof_pinning_report_free(r[i]);
        }
        atomic_fetch_add(&rp->drained, n);
        drainprof_diagnostic_summary_free(drainprof_diagnostic_summary_compute(rp->prof));
        drainprof_ext_summary_free(drainprof_ext_summary_compute(rp->prof));
        char buf[512];
        drainprof_ext_format_report(rp->prof, 3, buf, sizeof buf);
        drainprof_ext_format_metrics(rp->prof, NULL, buf, sizeof buf);
        drainprof_ext_lifetime_record rec[8];
        drainprof_ext_lifetime_records(rp->prof, rec, 8);
        if (last && n == 0) break;
    }
    return NULL;
}

/* Frees the pins the closers left, shortly after their closes. */
static void *freer(void *p)
{
    reporting *rp = p;
    int next[CLOSERS] = { 0 };
    for (;;) {
        int progressed = 0, done = 1;
        for (int k = 0; k < CLOSERS; k++) {
            int ready = atomic_load_explicit(&rp->pins_ready[k], memory_order_acquire);
            for (; next[k] < ready; next[k]++, progressed = 1) {
                pin_note n = rp->pins[k][next[k]];
                if (n.aid != UINT64_MAX) {
                    rp->failures += drainprof_alloc_deregister(rp->prof, n.gid, 1) != 0;
                    rp->failures += drainprof_alloc_deregister(rp->prof, n.gid, 2) != 0;
                }
            }
            if (next[k] < CLOSES_EACH) done = 0;
        }
        if (done) break;
        if (!progressed) sched_yield();
    }
    return NULL;
}

static void on_pin(const drainprof_pinning_report *r, void *user_data)
{
    reporting *rp = user_data;
    if (closing_thread_index < 0) atomic_fetch_add(&rp->wrong_thread, 1);
    if (r->pinning_count != 2) atomic_fetch_add(&rp->wrong_thread, 1000);
    atomic_fetch_add(&rp->callbacks, 1);
}

static void test_reporting_races(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        for (int callback = 0; callback <= 1; callback++) {
            dpt_set_ctx(callback ? "callbacks while threads close and free pins"
                                 : "drain and summaries while threads close and free pins", c->name);
            static reporting rp;
            memset(&rp, 0, sizeof rp);
            drainprof_config cfg = dpt_config_for(c);
            cfg.max_buffered_reports = 50;
            if (callback) {
                cfg.on_pinning = on_pin;
                cfg.callback_user_data = &rp;
            }
            rp.prof = drainprof_create_with_config(&cfg);
            REQUIRE(rp.prof != NULL);
            /* the freer may lag far behind: keep every pin */
            EXPECT_INT(drainprof_ext_set_lifetime_limit(rp.prof, 4 * CLOSERS * CLOSES_EACH), 0);
            atomic_store(&rp.closers_left, CLOSERS);
            closer_arg args[CLOSERS];
            pthread_t t[CLOSERS], td, tf;
            for (int i = 0; i < CLOSERS; i++) {
                args[i] = (closer_arg){ &rp, i, 0, 0 };
                pthread_create(&t[i], NULL, closer, &args[i]);
            }
            pthread_create(&td, NULL, drainer, &rp);
            pthread_create(&tf, NULL, freer, &rp);
            uint64_t pinned = 0;
            int failures = 0;
            for (int i = 0; i < CLOSERS; i++) {
                pthread_join(t[i], NULL);
                pinned += args[i].pinned;
                failures += args[i].failures;
            }
            pthread_join(td, NULL);
            pthread_join(tf, NULL);
            EXPECT_INT(failures, 0);
            EXPECT_INT(rp.failures, 0);
            EXPECT_INT(rp.bad_reports, 0);
            EXPECT_UINT(pinned, CLOSERS * CLOSES_EACH / 2);
            dpt_xsnap e = dpt_ext_snap(rp.prof);
            EXPECT_UINT(e.base.pinned_closes, pinned);
            EXPECT_UINT(e.base.drainable_closes, CLOSERS * CLOSES_EACH - pinned);
            /* every pin (two per pinned close) was freed after its close: one delta each */
            EXPECT_UINT(e.lifetime_records, 2 * pinned);
            EXPECT_UINT(e.dropped_lifetime_records, 0);
            if (callback) {
                EXPECT_UINT(atomic_load(&rp.callbacks), pinned);
                EXPECT_INT(atomic_load(&rp.wrong_thread), 0);
                EXPECT_UINT(e.dropped_reports, 0);
            } else {
                EXPECT_UINT(atomic_load(&rp.drained) + e.dropped_reports, pinned);
            }
            drainprof_destroy(rp.prof);
        }
    }
}

int main(void)
{
    test_same_id_races();
    test_reporting_races();
    return dpt_finish();
}
