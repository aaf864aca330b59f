/*
 * test_concurrency.c - many threads on one profiler, counters exact at the end:
 *  - 4 threads register/deregister on one shared granule, then on a granule
 *    each, while another thread takes snapshots, extended snapshots and sweeps;
 *  - 2 threads open and close granules of their own while 2 others register
 *    into theirs, with a sweeping thread.
 * Production: 4 threads x 1e6 register/deregister pairs (8e6 calls).
 * Diagnostic: 4 threads x 125000 pairs (1e6 calls).
 * Snapshots must keep total == drainable + pinned at every instant.
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>

enum { THREADS = 4 };
#define PROD_PAIRS 1000000u
#define DIAG_PAIRS 125000u
#define CHURN_CYCLES 20000u

typedef struct shared {
    drainprof *prof;
    pthread_barrier_t start;
    atomic_int stop;
    uint64_t pairs;
    /* observer results */
    uint64_t observations;
    uint64_t broken_snapshots;
    uint64_t broken_sweeps;
} shared;

typedef struct worker {
    shared *sh;
    int index;
    uint64_t gid;
    uint64_t leave_live;   /* registrations left live at the end */
    uint64_t failures;
} worker;

static void *register_worker(void *p)
{
    worker *w = p;
    drainprof *prof = w->sh->prof;
    uint64_t base = (uint64_t)(w->index + 1) << 40;
    pthread_barrier_wait(&w->sh->start);
    for (uint64_t i = 0; i < w->sh->pairs; i++) {
        w->failures += drainprof_alloc_register(prof, w->gid, base + i, 32) != 0;
        w->failures += drainprof_alloc_deregister(prof, w->gid, base + i) != 0;
    }
    for (uint64_t i = 0; i < w->leave_live; i++)
        w->failures += drainprof_alloc_register(prof, w->gid, base + (1ull << 39) + i, 32) != 0;
    return NULL;
}

static void check_view(shared *sh, const drainprof_snapshot_t *s, uint64_t *broken)
{
    if (s->total_closes != s->drainable_closes + s->pinned_closes) (*broken)++;
    double want = s->total_closes ? (double)s->drainable_closes / (double)s->total_closes : 0.0;
    if (s->dsr != want) (*broken)++;
    if (s->open_granules > s->peak_open_granules) (*broken)++;
    (void)sh;
}

static void *observer(void *p)
{
    shared *sh = p;
    pthread_barrier_wait(&sh->start);
    while (!atomic_load_explicit(&sh->stop, memory_order_acquire)) {
        drainprof_snapshot_t s;
        drainprof_snapshot(sh->prof, &s);
        check_view(sh, &s, &sh->broken_snapshots);
        dpt_xsnap e;
        drainprof_ext_snapshot(sh->prof, &e);
        check_view(sh, &e.base, &sh->broken_snapshots);
        drainprof_snapshot_t w;
        drainprof_sweep(sh->prof, &w);
        check_view(sh, &w, &sh->broken_sweeps);
        if (w.total_closes > w.open_granules + THREADS) sh->broken_sweeps++;
        drainprof_ext_granule_live(sh->prof, 1, NULL);
        sh->observations++;
    }
    return NULL;
}

/* Runs THREADS register workers plus the observer; returns total failures. */
static uint64_t run_workers(shared *sh, worker *w)
{
    pthread_t t[THREADS], obs;
    atomic_store(&sh->stop, 0);
    pthread_barrier_init(&sh->start, NULL, THREADS + 1);
    pthread_create(&obs, NULL, observer, sh);
    for (int i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, register_worker, &w[i]);
    uint64_t failures = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    atomic_store_explicit(&sh->stop, 1, memory_order_release);
    pthread_join(obs, NULL);
    pthread_barrier_destroy(&sh->start);
    return failures;
}

static void test_shared_and_separate(const dpt_config *c)
{
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.pairs = c->mode == DRAINPROF_PRODUCTION ? PROD_PAIRS : DIAG_PAIRS;
    sh.prof = dpt_create(c);
    REQUIRE(sh.prof != NULL);
    worker w[THREADS];

    /* One shared granule, balanced at the end. */
    dpt_set_ctx("4 threads, one shared granule", c->name);
    EXPECT_INT(drainprof_granule_open(sh.prof, 1), 0);
    for (int i = 0; i < THREADS; i++) w[i] = (worker){ &sh, i, 1, 0, 0 };
    EXPECT_UINT(run_workers(&sh, w), 0);
    EXPECT_UINT(sh.broken_snapshots, 0);
    EXPECT_UINT(sh.broken_sweeps, 0);
    CHECK(sh.observations > 0);
    int64_t live = -1;
    EXPECT_INT(drainprof_ext_granule_live(sh.prof, 1, &live), 1);
    EXPECT_INT(live, 0);
    EXPECT_INT(drainprof_granule_close(sh.prof, 1), 1);
    drainprof_snapshot_t s = dpt_snap(sh.prof);
    uint64_t calls = THREADS * sh.pairs;
    EXPECT_COUNTERS(s, 1, 1, 0, 0, 1, calls, calls);

    /* The same granule again, 1 + 2 + 3 allocations left live: pinned. */
    dpt_set_ctx("4 threads, one shared granule, pinned", c->name);
    EXPECT_INT(drainprof_granule_open(sh.prof, 1), 0);
    for (int i = 0; i < THREADS; i++) w[i] = (worker){ &sh, i, 1, (uint64_t)i, 0 };
    EXPECT_UINT(run_workers(&sh, w), 0);
    EXPECT_UINT(sh.broken_snapshots, 0);
    EXPECT_UINT(sh.broken_sweeps, 0);
    EXPECT_INT(drainprof_ext_granule_live(sh.prof, 1, &live), 1);
    EXPECT_INT(live, 6);
    EXPECT_INT(drainprof_granule_close(sh.prof, 1), 0);
    s = dpt_snap(sh.prof);
    EXPECT_COUNTERS(s, 2, 1, 1, 0, 1, 2 * calls + 6, 2 * calls);

    /* A granule per thread; thread i leaves i allocations live. */
    dpt_set_ctx("4 threads, a granule each", c->name);
    for (int i = 0; i < THREADS; i++) {
        EXPECT_INT(drainprof_granule_open(sh.prof, 100 + (uint64_t)i * 4096), 0);
        w[i] = (worker){ &sh, i, 100 + (uint64_t)i * 4096, (uint64_t)i, 0 };
    }
    EXPECT_UINT(run_workers(&sh, w), 0);
    EXPECT_UINT(sh.broken_snapshots, 0);
    EXPECT_UINT(sh.broken_sweeps, 0);
    drainprof_sweep(sh.prof, &s);
    EXPECT_UINT(s.total_closes, THREADS);
    EXPECT_UINT(s.drainable_closes, 1);
    EXPECT_UINT(s.pinned_closes, THREADS - 1);
    for (int i = 0; i < THREADS; i++) {
        EXPECT_INT(drainprof_ext_granule_live(sh.prof, 100 + (uint64_t)i * 4096, &live), 1);
        EXPECT_INT(live, i);
        EXPECT_INT(drainprof_granule_close(sh.prof, 100 + (uint64_t)i * 4096), i == 0 ? 1 : 0);
    }
    s = dpt_snap(sh.prof);
    EXPECT_COUNTERS(s, 2 + THREADS, 2, THREADS, 0, THREADS, 3 * calls + 6 + 6, 3 * calls);
    dpt_xsnap e = dpt_ext_snap(sh.prof);
    EXPECT_UINT(e.failed_registers, 0);
    EXPECT_UINT(e.failed_deregisters, 0);
    EXPECT_UINT(e.failed_closes, 0);
    EXPECT_UINT(e.unbalanced_closes, 0);
    drainprof_reset(sh.prof);
    drainprof_destroy(sh.prof);
}

/* ---- open/close churn beside registering threads ------------------------ */

typedef struct churner {
    shared *sh;
    int index;
    uint64_t cycles;
    uint64_t drainable, pinned, allocs, deallocs, failures;
} churner;

static void *churn_worker(void *p)
{
    churner *ch = p;
    drainprof *prof = ch->sh->prof;
    pthread_barrier_wait(&ch->sh->start);
    for (uint64_t i = 0; i < ch->cycles; i++) {
        uint64_t gid = ((uint64_t)(ch->index + 1) << 44) | (i * 4096);
        ch->failures += drainprof_granule_open(prof, gid) != 0;
        uint64_t n = i % 3 + 1;
        for (uint64_t a = 0; a < n; a++, ch->allocs++) ch->failures += drainprof_alloc_register(prof, gid, a, 8) != 0;
        uint64_t keep = i % 5 == 0 ? 1 : 0;
        for (uint64_t a = keep; a < n; a++, ch->deallocs++) ch->failures += drainprof_alloc_deregister(prof, gid, a) != 0;
        int rc = drainprof_granule_close(prof, gid);
        ch->failures += rc != (keep ? 0 : 1);
        ch->pinned += rc == 0;
        ch->drainable += rc == 1;
    }
    return NULL;
}

static void test_open_close_churn(const dpt_config *c)
{
    dpt_set_ctx("open/close churn beside registering threads", c->name);
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.pairs = (c->mode == DRAINPROF_PRODUCTION ? PROD_PAIRS : DIAG_PAIRS) / 2;
    drainprof_config cfg = dpt_config_for(c);
    cfg.slot_capacity = 8;
    cfg.bucket_count = 2;
    cfg.max_buffered_reports = 64;
    sh.prof = drainprof_create_with_config(&cfg);
    REQUIRE(sh.prof != NULL);
    EXPECT_INT(drainprof_granule_open(sh.prof, 7), 0);
    EXPECT_INT(drainprof_granule_open(sh.prof, 8), 0);

    pthread_t t[4], obs;
    churner ch[2];
    worker w[2];
    atomic_store(&sh.stop, 0);
    pthread_barrier_init(&sh.start, NULL, 5);
    pthread_create(&obs, NULL, observer, &sh);
    for (int i = 0; i < 2; i++) {
        ch[i] = (churner){ &sh, i, CHURN_CYCLES, 0, 0, 0, 0, 0 };
        w[i] = (worker){ &sh, 2 + i, 7 + (uint64_t)i, (uint64_t)i, 0 };
        pthread_create(&t[i], NULL, churn_worker, &ch[i]);
        pthread_create(&t[2 + i], NULL, register_worker, &w[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    atomic_store_explicit(&sh.stop, 1, memory_order_release);
    pthread_join(obs, NULL);
    pthread_barrier_destroy(&sh.start);

    uint64_t drainable = 0, pinned = 0, allocs = 0, deallocs = 0, failures = 0;
    for (int i = 0; i < 2; i++) {
        drainable += ch[i].drainable;
        pinned += ch[i].pinned;
        allocs += ch[i].allocs;
        deallocs += ch[i].deallocs;
        failures += ch[i].failures + w[i].failures;
    }
    EXPECT_UINT(failures, 0);
    EXPECT_UINT(sh.broken_snapshots, 0);
    EXPECT_UINT(sh.broken_sweeps, 0);
    EXPECT_UINT(pinned, 2 * ((CHURN_CYCLES + 4) / 5));
    EXPECT_INT(drainprof_granule_close(sh.prof, 7), 1);
    EXPECT_INT(drainprof_granule_close(sh.prof, 8), 0);
    drainprof_snapshot_t s = dpt_snap(sh.prof);
    EXPECT_UINT(s.total_closes, 2 * CHURN_CYCLES + 2);
    EXPECT_UINT(s.drainable_closes, drainable + 1);
    EXPECT_UINT(s.pinned_closes, pinned + 1);
    EXPECT_UINT(s.open_granules, 0);
    CHECK(s.peak_open_granules >= 2 && s.peak_open_granules <= 4);
    EXPECT_UINT(s.total_allocs, allocs + 2 * sh.pairs + 1);
    EXPECT_UINT(s.total_deallocs, deallocs + 2 * sh.pairs);
    drainprof_reset(sh.prof);
    drainprof_destroy(sh.prof);
}

int main(void)
{
    FOR_EACH_CONFIG(c) {
        test_shared_and_separate(c);
        test_open_close_churn(c);
    }
    return dpt_finish();
}
