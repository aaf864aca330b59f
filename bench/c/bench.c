/*
 * bench/c/bench.c - speed of libdrainprof's hot paths, one table per run.
 *
 * Every row is measured in this run: each measurement is repeated and the
 * best repetition is kept (the machine is shared and noisy; the best run is
 * the one least disturbed). The baseline row is the libdrainprof 0.1 design:
 * one relaxed atomic fetch_add on a shared counter per call, behind a call
 * as the library's functions are. 2-thread rows give ns per call per thread
 * and compare with the 2-thread baseline. Nothing here asserts on time.
 *
 * Build and run: npm run bench:c  (make -C vendor/libdrainprof lib && make -C bench/c run)
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drainprof.h"
#include "drainprof_ext.h"

#define REPS 21

static double clock_sec(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double now_sec(void)
{
    return clock_sec(CLOCK_MONOTONIC);
}

/* A repetition counts only when every thread was on a CPU for at least this
 * share of its wall time: on a loaded machine, 2-thread rows would otherwise
 * measure time slicing instead of two threads running at once. */
#define MIN_ONCPU 0.95
#define MAX_ATTEMPTS 3000

typedef struct timing {
    double start, end;  /* CLOCK_MONOTONIC */
    double wall;
    double cpu;
} timing;

/* ------------------------------------------------------------ baseline */

static _Atomic uint64_t shared_counter;

__attribute__((noinline)) static int baseline_call(_Atomic uint64_t *c, uint64_t gid)
{
    __asm__ volatile("" ::"r"(gid));
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
    return 0;
}

/* ------------------------------------------------------------- kernels */

enum op { OP_BASELINE, OP_REGISTER, OP_DEREGISTER };


static timing run_kernel(enum op op, drainprof *prof, uint64_t gid, uint64_t iters)
{
    double c0 = clock_sec(CLOCK_THREAD_CPUTIME_ID);
    double t0 = now_sec();
    switch (op) {
    case OP_BASELINE:
        for (uint64_t i = 0; i < iters; i++)
            baseline_call(&shared_counter, gid);
        break;
    case OP_REGISTER:
        for (uint64_t i = 0; i < iters; i++)
            drainprof_alloc_register(prof, gid, i, 64);
        break;
    case OP_DEREGISTER:
        for (uint64_t i = 0; i < iters; i++)
            drainprof_alloc_deregister(prof, gid, i);
        break;
    }
    timing t;
    t.start = t0;
    t.end = now_sec();
    t.wall = t.end - t0;
    t.cpu = clock_sec(CLOCK_THREAD_CPUTIME_ID) - c0;
    return t;
}

static pthread_barrier_t start_barrier;
static _Atomic int arrived;

typedef struct job {
    enum op op;
    drainprof *prof;
    uint64_t gid;
    uint64_t iters;
    int nthreads;
    timing t;
} job;

static void *thread_main(void *arg)
{
    job *j = arg;
    run_kernel(j->op, j->prof, j->gid, j->iters / 8); /* warm up: slot, block, cache */
    /* The barrier puts the workers to sleep until all are ready; the spin
     * then lines them up on CPUs (main is asleep in join, out of the way). */
    pthread_barrier_wait(&start_barrier);
    atomic_fetch_add(&arrived, 1);
    while (atomic_load(&arrived) < j->nthreads) {
    }
    j->t = run_kernel(j->op, j->prof, j->gid, j->iters);
    return NULL;
}

typedef struct result {
    double ns;       /* best ns per call per thread over qualifying runs */
    int qualified;   /* runs with every thread on a CPU >= MIN_ONCPU */
} result;

/* Short repetitions until REPS of them qualify (or MAX_ATTEMPTS); the best
 * qualifying one is kept. With none qualifying, the best of all is kept and
 * the row says so. */
static result measure(enum op op, drainprof *prof, int nthreads, bool same_granule,
                      uint64_t iters)
{
    result res = {1e30, 0};
    double best_any = 1e30;
    for (int a = 0; a < MAX_ATTEMPTS && res.qualified < REPS; a++) {
        pthread_t th[2];
        job jobs[2];
        pthread_barrier_init(&start_barrier, NULL, (unsigned)nthreads);
        atomic_store(&arrived, 0);
        for (int t = 0; t < nthreads; t++) {
            jobs[t] = (job){op, prof, same_granule ? 1u : 1u + (uint64_t)t, iters, nthreads,
                            {0, 0, 0, 0}};
            pthread_create(&th[t], NULL, thread_main, &jobs[t]);
        }
        double sum = 0, first_end = 1e30, last_start = 0, shortest = 1e30;
        bool oncpu = true;
        for (int t = 0; t < nthreads; t++) {
            pthread_join(th[t], NULL);
            const timing *tm = &jobs[t].t;
            sum += tm->wall;
            if (tm->cpu < MIN_ONCPU * tm->wall)
                oncpu = false;
            first_end = tm->end < first_end ? tm->end : first_end;
            last_start = tm->start > last_start ? tm->start : last_start;
            shortest = tm->wall < shortest ? tm->wall : shortest;
        }
        pthread_barrier_destroy(&start_barrier);
        /* Two threads must also have run at the same time, not one after
         * the other: the shorter run lies within the other (contention is
         * unfair, so one thread may finish first). */
        if (first_end - last_start < MIN_ONCPU * shortest)
            oncpu = false;
        double ns = sum / nthreads / (double)iters * 1e9;
        if (ns < best_any)
            best_any = ns;
        if (oncpu) {
            res.qualified++;
            if (ns < res.ns)
                res.ns = ns;
        }
    }
    if (res.qualified == 0)
        res.ns = best_any;
    return res;
}

static drainprof *make_prof(drainprof_mode mode)
{
    drainprof_config c;
    drainprof_config_default(&c);
    c.mode = mode;
    drainprof *p = drainprof_create_with_config(&c);
    if (p == NULL) {
        fprintf(stderr, "bench: create failed\n");
        exit(1);
    }
    return p;
}

static double measure_open_close(uint64_t pairs)
{
    drainprof *p = make_prof(DRAINPROF_PRODUCTION);
    double best = 1e30;
    for (int r = 0; r < REPS; r++) {
        double t0 = now_sec();
        for (uint64_t i = 0; i < pairs; i++) {
            drainprof_granule_open(p, i);
            drainprof_granule_close(p, i);
        }
        double ns = (now_sec() - t0) / (double)pairs * 1e9;
        if (ns < best)
            best = ns;
    }
    drainprof_destroy(p);
    return best;
}

static double measure_snapshot(drainprof *p, uint64_t iters)
{
    drainprof_snapshot_t s;
    double best = 1e30;
    for (int r = 0; r < REPS; r++) {
        double t0 = now_sec();
        for (uint64_t i = 0; i < iters; i++)
            drainprof_snapshot(p, &s);
        double ns = (now_sec() - t0) / (double)iters * 1e9;
        if (ns < best)
            best = ns;
    }
    return best;
}

/* Diagnostic: rounds of `batch` located registers then `batch` deregisters
 * (oldest first) into one open granule; each phase timed on its own. */
static void measure_diagnostic(uint64_t rounds, uint32_t batch, double *reg_ns, double *dereg_ns)
{
    drainprof *p = make_prof(DRAINPROF_DIAGNOSTIC);
    drainprof_granule_open(p, 7);
    double best_r = 1e30, best_d = 1e30;
    for (int r = 0; r < REPS; r++) {
        double tr = 0, td = 0;
        for (uint64_t k = 0; k < rounds; k++) {
            double t0 = now_sec();
            for (uint32_t i = 0; i < batch; i++)
                drainprof_alloc_register_located(p, 7, i, 64, __FILE__, __LINE__);
            double t1 = now_sec();
            for (uint32_t i = 0; i < batch; i++)
                drainprof_alloc_deregister(p, 7, i);
            double t2 = now_sec();
            tr += t1 - t0;
            td += t2 - t1;
        }
        double n = (double)rounds * batch;
        if (tr / n * 1e9 < best_r)
            best_r = tr / n * 1e9;
        if (td / n * 1e9 < best_d)
            best_d = td / n * 1e9;
    }
    drainprof_granule_close(p, 7);
    drainprof_destroy(p);
    *reg_ns = best_r;
    *dereg_ns = best_d;
}

/* -------------------------------------------------------------- memory */

static size_t heap_used(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

typedef struct mem_job {
    drainprof *prof;
    uint64_t granules;
    pthread_barrier_t *counted;  /* the thread has counted */
    pthread_barrier_t *measured; /* main has read the heap */
} mem_job;

static void *mem_thread(void *arg)
{
    mem_job *m = arg;
    for (uint64_t g = 0; g < m->granules; g++)
        drainprof_alloc_register(m->prof, g, g, 8);
    pthread_barrier_wait(m->counted);
    pthread_barrier_wait(m->measured);
    return NULL;
}

/* Heap added by `nthreads` threads that each count into `granules` granules
 * of p, per thread. They stay alive while the heap is read, so each has its
 * own slot and block (slots are recycled at thread exit). */
static size_t thread_cost(drainprof *p, uint64_t granules, int nthreads)
{
    pthread_t th[8];
    pthread_barrier_t counted, measured;
    pthread_barrier_init(&counted, NULL, (unsigned)nthreads + 1u);
    pthread_barrier_init(&measured, NULL, (unsigned)nthreads + 1u);
    mem_job m = {p, granules, &counted, &measured};
    size_t before = heap_used();
    for (int t = 0; t < nthreads; t++)
        pthread_create(&th[t], NULL, mem_thread, &m);
    pthread_barrier_wait(&counted);
    size_t after = heap_used();
    pthread_barrier_wait(&measured);
    for (int t = 0; t < nthreads; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&counted);
    pthread_barrier_destroy(&measured);
    return (after - before) / (size_t)nthreads;
}

/* ---------------------------------------------------------------- table */

static void row(const char *name, int threads, result r, result base, const char *target)
{
    printf("%-44s %7d %9.2f %11.2fx  %6s  %2d/%d\n", name, threads, r.ns, r.ns / base.ns, target,
           r.qualified, REPS);
}

static result single(double ns)
{
    result r = {ns, REPS};
    return r;
}

int main(void)
{
    /* One malloc arena, so mallinfo2 sees the allocations of every thread. */
    mallopt(M_ARENA_MAX, 1);
    const uint64_t N = 250000;

    result base1 = measure(OP_BASELINE, NULL, 1, true, N);
    result base2 = measure(OP_BASELINE, NULL, 2, true, N);

    drainprof *p = make_prof(DRAINPROF_PRODUCTION);
    drainprof_granule_open(p, 1);
    drainprof_granule_open(p, 2);
    result reg1 = measure(OP_REGISTER, p, 1, true, N);
    result reg2s = measure(OP_REGISTER, p, 2, true, N);
    result reg2d = measure(OP_REGISTER, p, 2, false, N);
    result der1 = measure(OP_DEREGISTER, p, 1, true, N);
    result der2s = measure(OP_DEREGISTER, p, 2, true, N);
    result der2d = measure(OP_DEREGISTER, p, 2, false, N);
    double snap = measure_snapshot(p, 500000);
    drainprof_destroy(p);
    double oc = measure_open_close(500000);
    double dreg, dder;
    measure_diagnostic(100, 4096, &dreg, &dder);

    /* Memory: a production profiler with 1024 slots, then what one more
     * counting thread adds (its block, and its cells as it touches
     * granules). Threads are new each time, so each gets its own block. */
    size_t m0 = heap_used();
    drainprof *mp = make_prof(DRAINPROF_PRODUCTION);
    size_t prof_bytes = heap_used() - m0;
    for (uint64_t g = 0; g < 1024; g++)
        drainprof_granule_open(mp, g);
    size_t t1 = thread_cost(mp, 1, 4);
    drainprof_destroy(mp);
    mp = make_prof(DRAINPROF_PRODUCTION);
    for (uint64_t g = 0; g < 1024; g++)
        drainprof_granule_open(mp, g);
    size_t tall = thread_cost(mp, 1024, 4);
    drainprof_destroy(mp);

    printf("drainprof bench/c: ns per call (per thread in 2-thread rows); best of %d short runs\n"
           "in which every thread stayed on a CPU, and 2 threads ran together, >= %.0f%% of the time (\"ok runs\")\n",
           REPS, MIN_ONCPU * 100);
    printf("%-44s %7s %9s %12s  %6s  %s\n", "operation", "threads", "ns/call", "vs baseline",
           "target", "ok runs");
    row("baseline: shared relaxed fetch_add (0.1)", 1, base1, base1, "");
    row("baseline: shared relaxed fetch_add (0.1)", 2, base2, base2, "");
    row("production register", 1, reg1, base1, "<= 1.7");
    row("production register, same granule", 2, reg2s, base2, "<= 2.0");
    row("production register, different granules", 2, reg2d, base2, "");
    row("production deregister", 1, der1, base1, "<= 1.7");
    row("production deregister, same granule", 2, der2s, base2, "<= 2.0");
    row("production deregister, different granules", 2, der2d, base2, "");
    row("production granule open + close (pair)", 1, single(oc), base1, "");
    row("production snapshot", 1, single(snap), base1, "");
    row("diagnostic register_located", 1, single(dreg), base1, "<= 15");
    row("diagnostic deregister", 1, single(dder), base1, "<= 15");
    printf("memory: production profiler, 1024 slots: %zu bytes\n", prof_bytes);
    printf("memory: per counting thread: %zu bytes touching 1 granule, %zu bytes touching all 1024\n",
           t1, tall);
    return 0;
}
