/*
 * test_threads.c - counting threads come and go: hundreds of short-lived
 * threads one after another, more threads alive at once than a per-thread
 * scheme might have slots, registrations freed on another thread, several
 * profilers per thread, and a profiler destroyed (and another created,
 * perhaps at the same address) while threads that counted into it live on.
 */
#include "harness.h"
#include <pthread.h>

typedef struct job {
    drainprof *prof;
    uint64_t shared_gid;
    uint64_t own_gid;
    int index;
    int failures;
    pthread_barrier_t *barrier;
} job;

/* Registers 3 into the shared granule and frees 2; opens, uses and closes a
 * granule of its own. */
static void *short_lived(void *p)
{
    job *j = p;
    if (j->barrier) pthread_barrier_wait(j->barrier);
    uint64_t base = (uint64_t)j->index * 10;
    for (uint64_t a = 0; a < 3; a++) j->failures += drainprof_alloc_register(j->prof, j->shared_gid, base + a, 8) != 0;
    for (uint64_t a = 0; a < 2; a++) j->failures += drainprof_alloc_deregister(j->prof, j->shared_gid, base + a) != 0;
    j->failures += drainprof_granule_open(j->prof, j->own_gid) != 0;
    for (uint64_t a = 0; a < 100; a++) {
        j->failures += drainprof_alloc_register(j->prof, j->own_gid, a, 8) != 0;
        j->failures += drainprof_alloc_deregister(j->prof, j->own_gid, a) != 0;
    }
    if (j->barrier) pthread_barrier_wait(j->barrier); /* everyone alive at once */
    j->failures += drainprof_granule_close(j->prof, j->own_gid) != 1;
    return NULL;
}

static void test_sequential_threads(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("600 short-lived threads, one after another", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        const int n = 600;
        int failures = 0;
        for (int i = 0; i < n; i++) {
            job j = { prof, 1, 1000 + (uint64_t)i, i, 0, NULL };
            pthread_t t;
            if (pthread_create(&t, NULL, short_lived, &j) != 0) { failures++; break; }
            pthread_join(t, NULL);
            failures += j.failures;
        }
        EXPECT_INT(failures, 0);
        int64_t live = 0;
        EXPECT_INT(drainprof_ext_granule_live(prof, 1, &live), 1);
        EXPECT_INT(live, n);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, (uint64_t)n + 1, (uint64_t)n, 1, 0, 2, (uint64_t)n * 103, (uint64_t)n * 102);
        drainprof_destroy(prof);
    }
}

static void test_many_threads_at_once(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("300 threads alive at once", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        enum { N = 300 };
        static job jobs[N];
        static pthread_t threads[N];
        pthread_barrier_t barrier;
        pthread_barrier_init(&barrier, NULL, N);
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
        int started = 0;
        for (int i = 0; i < N; i++) {
            jobs[i] = (job){ prof, 1, 5000 + (uint64_t)i, i, 0, &barrier };
            if (pthread_create(&threads[i], &attr, short_lived, &jobs[i]) != 0) break;
            started++;
        }
        pthread_attr_destroy(&attr);
        REQUIRE(started == N); /* (a partial start would hang the barrier) */
        int failures = 0;
        for (int i = 0; i < started; i++) {
            pthread_join(threads[i], NULL);
            failures += jobs[i].failures;
        }
        pthread_barrier_destroy(&barrier);
        EXPECT_INT(failures, 0);
        int64_t live = 0;
        EXPECT_INT(drainprof_ext_granule_live(prof, 1, &live), 1);
        EXPECT_INT(live, N);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, N + 1, N, 1, 0, N + 1, (uint64_t)N * 103, (uint64_t)N * 102);
        drainprof_destroy(prof);
    }
}

/* Registered on one thread, freed on another. */
typedef struct half {
    drainprof *prof;
    uint64_t gid;
    int do_register;
    int failures;
} half;

static void *half_job(void *p)
{
    half *h = p;
    for (uint64_t a = 0; a < 5000; a++)
        h->failures += (h->do_register ? drainprof_alloc_register(h->prof, h->gid, a, 16)
                                       : drainprof_alloc_deregister(h->prof, h->gid, a)) != 0;
    return NULL;
}

static void test_cross_thread_free(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("registered on one thread, freed on another", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 3), 0);
        half reg = { prof, 3, 1, 0 }, unreg = { prof, 3, 0, 0 };
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, half_job, &reg) == 0);
        pthread_join(t, NULL);
        REQUIRE(pthread_create(&t, NULL, half_job, &unreg) == 0);
        pthread_join(t, NULL);
        EXPECT_INT(reg.failures + unreg.failures, 0);
        int64_t live = -1;
        EXPECT_INT(drainprof_ext_granule_live(prof, 3, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_granule_close(prof, 3), 1);
        /* And the other way round: frees first (production only accepts them). */
        if (c->mode == DRAINPROF_PRODUCTION) {
            EXPECT_INT(drainprof_granule_open(prof, 3), 0);
            REQUIRE(pthread_create(&t, NULL, half_job, &unreg) == 0);
            pthread_join(t, NULL);
            EXPECT_INT(drainprof_ext_granule_live(prof, 3, &live), 1);
            EXPECT_INT(live, -5000);
            REQUIRE(pthread_create(&t, NULL, half_job, &reg) == 0);
            pthread_join(t, NULL);
            EXPECT_INT(drainprof_granule_close(prof, 3), 1);
        }
        drainprof_snapshot_t s = dpt_snap(prof);
        uint64_t rounds = c->mode == DRAINPROF_PRODUCTION ? 2 : 1;
        EXPECT_COUNTERS(s, rounds, rounds, 0, 0, 1, 5000 * rounds, 5000 * rounds);
        drainprof_destroy(prof);
    }
}

/* One thread counting into several profilers, interleaved. */
static void test_several_profilers(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("several profilers on one thread", c->name);
        drainprof *p[3];
        for (int i = 0; i < 3; i++) {
            p[i] = dpt_create(c);
            REQUIRE(p[i] != NULL);
            EXPECT_INT(drainprof_granule_open(p[i], 1), 0); /* same gid in each */
        }
        int failures = 0;
        for (uint64_t a = 0; a < 3000; a++) {
            int i = (int)(a % 3);
            failures += drainprof_alloc_register(p[i], 1, a, 8) != 0;
            if (i != 2) failures += drainprof_alloc_deregister(p[i], 1, a) != 0;
        }
        EXPECT_INT(failures, 0);
        EXPECT_INT(drainprof_granule_close(p[0], 1), 1);
        EXPECT_INT(drainprof_granule_close(p[1], 1), 1);
        int64_t live = 0;
        EXPECT_INT(drainprof_ext_granule_live(p[2], 1, &live), 1);
        EXPECT_INT(live, 1000);
        EXPECT_INT(drainprof_granule_close(p[2], 1), 0);
        for (int i = 0; i < 3; i++) {
            drainprof_snapshot_t s = dpt_snap(p[i]);
            EXPECT_COUNTERS(s, 1, i == 2 ? 0 : 1, i == 2 ? 1 : 0, 0, 1, 1000, i == 2 ? 0 : 1000);
            drainprof_reset(p[i]);
            drainprof_destroy(p[i]);
        }
    }
}

/* A worker counts into profiler A, stays alive while A is destroyed and B is
 * created (malloc may hand B the same address), then counts into B with the
 * same granule id: B's numbers must be B's alone. The worker exits after B is
 * destroyed too. */
typedef struct parked {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int step;          /* main -> worker: 1 count into prof, 3 exit */
    int done;          /* worker -> main: step finished */
    drainprof *prof;
    int failures;
} parked;

static void *parked_worker(void *p)
{
    parked *w = p;
    for (int want = 1;; want += 2) {
        pthread_mutex_lock(&w->mu);
        while (w->step < want) pthread_cond_wait(&w->cv, &w->mu);
        int step = w->step;
        pthread_mutex_unlock(&w->mu);
        if (step >= 5) break;
        for (uint64_t a = 0; a < 1000; a++) w->failures += drainprof_alloc_register(w->prof, 7, a, 8) != 0;
        for (uint64_t a = 0; a < 400; a++) w->failures += drainprof_alloc_deregister(w->prof, 7, a) != 0;
        pthread_mutex_lock(&w->mu);
        w->done = step;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

static void parked_step(parked *w, int step)
{
    pthread_mutex_lock(&w->mu);
    w->step = step;
    pthread_cond_broadcast(&w->cv);
    if (step < 5)
        while (w->done != step) pthread_cond_wait(&w->cv, &w->mu);
    pthread_mutex_unlock(&w->mu);
}

static void test_destroy_while_threads_live(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("destroy while counting threads live on", c->name);
        parked w;
        memset(&w, 0, sizeof w);
        pthread_mutex_init(&w.mu, NULL);
        pthread_cond_init(&w.cv, NULL);
        pthread_t t;
        REQUIRE(pthread_create(&t, NULL, parked_worker, &w) == 0);
        for (int round = 0; round < 2; round++) {
            w.prof = dpt_create(c);
            if (!w.prof) { CHECK(w.prof != NULL); break; }
            EXPECT_INT(drainprof_granule_open(w.prof, 7), 0);
            parked_step(&w, 1 + 2 * round);
            int64_t live = 0;
            EXPECT_INT(drainprof_ext_granule_live(w.prof, 7, &live), 1);
            EXPECT_INT(live, 600);
            drainprof_snapshot_t s = dpt_snap(w.prof);
            EXPECT_COUNTERS(s, 0, 0, 0, 1, 1, 1000, 400);
            EXPECT_INT(drainprof_granule_close(w.prof, 7), 0);
            drainprof_destroy(w.prof);
        }
        parked_step(&w, 5);
        pthread_join(t, NULL);
        EXPECT_INT(w.failures, 0);
        pthread_mutex_destroy(&w.mu);
        pthread_cond_destroy(&w.cv);
    }
}

int main(void)
{
    test_sequential_threads();
    test_many_threads_at_once();
    test_cross_thread_free();
    test_several_profilers();
    test_destroy_while_threads_live();
    return dpt_finish();
}
