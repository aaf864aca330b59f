/*
 * test_growth_races.c - the lock-free readers while the granule table changes
 * shape under them, in two runs per configuration:
 *  - growth: two threads open 1500 granules each at once (the index doubles,
 *    new record segments are published), use them, and close them in an
 *    interleaved order (backward-shift deletions move the index entries of
 *    other granules), four times over;
 *  - churn: two threads open and close 40000 granules each, a few open at a
 *    time, in an index kept small (slot capacity or bucket count), so that
 *    probe runs are long and every close shifts entries.
 * Meanwhile two threads register and deregister into long-lived granules that
 * stay open throughout (while a grower runs, and at least a fixed number of
 * times), and an observer takes snapshots, extended snapshots and sweeps and
 * looks the long-lived granules up with drainprof_ext_granule_live. No lookup
 * may miss an open granule, no view may be inconsistent, and every counter is
 * exact at the end.
 *
 * test_concurrency covers registers, churn and sweeps with few granules open;
 * test_threads has the table grow while threads register, without deletions
 * or observers; this one puts growth, deletions and every lock-free reader
 * together (for ThreadSanitizer above all).
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>

enum { GROWERS = 2, REGISTRARS = 2, LONG_LIVED = 12, BATCH = 1500, CYCLES = 4, CHURN = 40000, WINDOW = 4 };
#define PROD_PAIRS 50000u
#define DIAG_PAIRS 20000u

typedef struct shared {
    drainprof *prof;
    pthread_barrier_t start;
    atomic_int stop;
    atomic_int growers_left;
    uint64_t pairs;         /* each registrar's least; it goes on while a grower runs */
    int churn;              /* growers keep a few granules open at a time instead of batches */
    uint64_t long_lived[LONG_LIVED];
    /* observer results */
    uint64_t observations, broken, missed;
} shared;

typedef struct thread_arg {
    shared *sh;
    int index;
    uint64_t pairs;        /* registrar: pairs made */
    uint64_t failures;
    uint64_t first_failure_rc, first_failure_id;
} thread_arg;

static void failed(thread_arg *a, int rc, uint64_t id)
{
    if (a->failures++ == 0) {
        a->first_failure_rc = (uint64_t)(int64_t)rc;
        a->first_failure_id = id;
    }
}

/* Granule ids spread over the hash space, distinct per thread and cycle. */
static uint64_t grower_id(int thread, uint64_t cycle, uint64_t i)
{
    return ((uint64_t)(thread + 1) << 56) | (cycle << 32) | (i * 0x9E3779B1u);
}

/* CHURN granules, WINDOW open at a time: each close is a deletion in a small, busy index. */
static void churn(thread_arg *a)
{
    drainprof *prof = a->sh->prof;
    int rc;
    for (uint64_t i = 0; i < CHURN + WINDOW; i++) {
        if (i < CHURN) {
            uint64_t g = grower_id(a->index, 0, i);
            if ((rc = drainprof_granule_open(prof, g)) != 0) failed(a, rc, g);
        }
        if (i >= WINDOW) {
            uint64_t g = grower_id(a->index, 0, i - WINDOW);
            if ((rc = drainprof_granule_close(prof, g)) != 1) failed(a, rc, g);
        }
    }
}

static void *grower(void *p)
{
    thread_arg *a = p;
    drainprof *prof = a->sh->prof;
    pthread_barrier_wait(&a->sh->start);
    if (a->sh->churn) {
        churn(a);
        atomic_fetch_sub(&a->sh->growers_left, 1);
        return NULL;
    }
    for (uint64_t c = 0; c < CYCLES; c++) {
        int rc;
        for (uint64_t i = 0; i < BATCH; i++) {
            uint64_t g = grower_id(a->index, c, i);
            if ((rc = drainprof_granule_open(prof, g)) != 0) failed(a, rc, g);
            if ((rc = drainprof_alloc_register(prof, g, i, 8)) != 0) failed(a, rc, g);
        }
        for (uint64_t i = 0; i < BATCH; i++) {
            uint64_t g = grower_id(a->index, c, i);
            if ((rc = drainprof_alloc_deregister(prof, g, i)) != 0) failed(a, rc, g);
        }
        /* Every other one first, then the rest: deletions in the middle of probe runs. */
        for (uint64_t pass = 0; pass < 2; pass++) {
            for (uint64_t i = pass; i < BATCH; i += 2) {
                uint64_t g = grower_id(a->index, c, i);
                if ((rc = drainprof_granule_close(prof, g)) != 1) failed(a, rc, g);
            }
        }
    }
    atomic_fetch_sub(&a->sh->growers_left, 1);
    return NULL;
}

static void *registrar(void *p)
{
    thread_arg *a = p;
    shared *sh = a->sh;
    uint64_t base = (uint64_t)(a->index + 1) << 40;
    pthread_barrier_wait(&sh->start);
    uint64_t i = 0;
    for (; i < sh->pairs || atomic_load(&sh->growers_left) > 0; i++) {
        uint64_t g = sh->long_lived[i % LONG_LIVED];
        int rc;
        if ((rc = drainprof_alloc_register(sh->prof, g, base + i, 16)) != 0) failed(a, rc, g);
        if ((rc = drainprof_alloc_deregister(sh->prof, g, base + i)) != 0) failed(a, rc, g);
    }
    a->pairs = i;
    return NULL;
}

static void check_view(shared *sh, const drainprof_snapshot_t *s)
{
    if (s->total_closes != s->drainable_closes + s->pinned_closes) sh->broken++;
    double want = s->total_closes ? (double)s->drainable_closes / (double)s->total_closes : 0.0;
    if (s->dsr != want) sh->broken++;
    if (s->open_granules > s->peak_open_granules) sh->broken++;
}

static void *observer(void *p)
{
    shared *sh = p;
    pthread_barrier_wait(&sh->start);
    while (!atomic_load_explicit(&sh->stop, memory_order_acquire)) {
        drainprof_snapshot_t s;
        drainprof_snapshot(sh->prof, &s);
        check_view(sh, &s);
        if (s.open_granules < LONG_LIVED) sh->broken++;
        dpt_xsnap e;
        drainprof_ext_snapshot(sh->prof, &e);
        check_view(sh, &e.base);
        drainprof_sweep(sh->prof, &s);
        check_view(sh, &s);
        if (s.total_closes < LONG_LIVED) sh->broken++; /* the long-lived ones are always open */
        for (int i = 0; i < LONG_LIVED; i++) {
            if (drainprof_ext_granule_live(sh->prof, sh->long_lived[i], NULL) != 1) sh->missed++;
        }
        sh->observations++;
    }
    return NULL;
}

static void test_under_readers(const dpt_config *c, int churning)
{
    dpt_set_ctx(churning ? "churn in a small index under lock-free readers"
                         : "growth and deletions under lock-free readers", c->name);
    static shared sh;
    memset(&sh, 0, sizeof sh);
    sh.churn = churning;
    sh.pairs = c->mode == DRAINPROF_PRODUCTION ? PROD_PAIRS : DIAG_PAIRS;
    drainprof_config cfg = dpt_config_for(c);
    /* Room for both batches and the long-lived granules; or, churning, only for what is open at
     * once: the slot array's index is then small and its probe runs long. */
    cfg.slot_capacity = churning ? LONG_LIVED + GROWERS * (WINDOW + 1) : 4096;
    cfg.bucket_count = 2;     /* the hash map starts as small as it can */
    sh.prof = drainprof_create_with_config(&cfg);
    REQUIRE(sh.prof != NULL);
    for (int i = 0; i < LONG_LIVED; i++) {
        sh.long_lived[i] = 1000 + (uint64_t)i * 0x10001u;
        EXPECT_INT(drainprof_granule_open(sh.prof, sh.long_lived[i]), 0);
    }

    pthread_t t[GROWERS + REGISTRARS], obs;
    thread_arg args[GROWERS + REGISTRARS];
    atomic_store(&sh.stop, 0);
    atomic_store(&sh.growers_left, GROWERS);
    pthread_barrier_init(&sh.start, NULL, GROWERS + REGISTRARS + 1);
    REQUIRE(pthread_create(&obs, NULL, observer, &sh) == 0);
    for (int i = 0; i < GROWERS + REGISTRARS; i++) {
        args[i] = (thread_arg){ &sh, i, 0, 0, 0, 0 };
        REQUIRE(pthread_create(&t[i], NULL, i < GROWERS ? grower : registrar, &args[i]) == 0);
    }
    uint64_t failures = 0, pairs = 0;
    for (int i = 0; i < GROWERS + REGISTRARS; i++) {
        pthread_join(t[i], NULL);
        if (args[i].failures != 0) {
            printf("  thread %d: %llu failures, the first rc %lld on granule %#llx\n", i,
                   (unsigned long long)args[i].failures, (long long)args[i].first_failure_rc,
                   (unsigned long long)args[i].first_failure_id);
        }
        failures += args[i].failures;
        pairs += args[i].pairs;
    }
    atomic_store_explicit(&sh.stop, 1, memory_order_release);
    pthread_join(obs, NULL);
    pthread_barrier_destroy(&sh.start);

    EXPECT_UINT(failures, 0);
    EXPECT_UINT(sh.broken, 0);
    EXPECT_UINT(sh.missed, 0);
    CHECK(sh.observations > 0);
    for (int i = 0; i < LONG_LIVED; i++) EXPECT_INT(drainprof_granule_close(sh.prof, sh.long_lived[i]), 1);
    dpt_xsnap e = dpt_ext_snap(sh.prof);
    uint64_t grown = (uint64_t)GROWERS * (churning ? CHURN : CYCLES * BATCH);
    uint64_t grown_allocs = churning ? 0 : grown;
    CHECK(pairs >= REGISTRARS * sh.pairs);
    EXPECT_UINT(e.base.total_closes, grown + LONG_LIVED);
    EXPECT_UINT(e.base.drainable_closes, grown + LONG_LIVED);
    EXPECT_UINT(e.base.pinned_closes, 0);
    EXPECT_UINT(e.base.open_granules, 0);
    CHECK(e.base.peak_open_granules >= LONG_LIVED + (churning ? WINDOW : BATCH));
    CHECK(e.base.peak_open_granules <= LONG_LIVED + GROWERS * (churning ? WINDOW + 1 : BATCH));
    EXPECT_UINT(e.base.total_allocs, grown_allocs + pairs);
    EXPECT_UINT(e.base.total_deallocs, grown_allocs + pairs);
    EXPECT_UINT(e.failed_opens + e.failed_closes + e.failed_registers + e.failed_deregisters, 0);
    drainprof_destroy(sh.prof);
}

int main(void)
{
    FOR_EACH_CONFIG(c) {
        test_under_readers(c, 0);
        test_under_readers(c, 1);
    }
    return dpt_finish();
}
