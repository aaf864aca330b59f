/*
 * threads.c - the C side of test/reliability/concurrency.test.ts: a dependent
 * addon (built like any user's, against require('drainprof/native')) whose
 * native threads play the same phased workload as the JavaScript actors in
 * actor.cjs, on the profiler JavaScript hands over with nativeHandle().
 *
 * All actors (these threads, the JS main thread, the workers) meet at a
 * process-wide rendezvous after every phase. The rendezvous lives here
 * because a .node file is loaded once per process: every worker's instance of
 * this addon sees the same one. It waits at most `timeout` and can be
 * aborted, so a failing actor ends the test instead of hanging it.
 *
 * Keep run_phase() in step with actor.cjs: the test computes one expectation
 * for every actor.
 */
#define _POSIX_C_SOURCE 200809L
#include <drainprof.h>
#include <drainprof_ext.h>
#include <drainprof_node.h>
#include <errno.h>
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 8
#define MAX_SHARED 64

/* ---- the rendezvous ------------------------------------------------------ */

static pthread_mutex_t rv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rv_cond = PTHREAD_COND_INITIALIZER;
static uint32_t rv_parties, rv_waiting, rv_generation, rv_timeout_ms;
static int rv_aborted;

/* 1 when all parties arrived, 0 on timeout or abort (and from then on). */
static int rendezvous_wait(void) {
    pthread_mutex_lock(&rv_lock);
    if (rv_aborted) {
        pthread_mutex_unlock(&rv_lock);
        return 0;
    }
    uint32_t gen = rv_generation;
    if (++rv_waiting == rv_parties) {
        rv_waiting = 0;
        rv_generation++;
        pthread_cond_broadcast(&rv_cond);
        pthread_mutex_unlock(&rv_lock);
        return 1;
    }
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += rv_timeout_ms / 1000;
    deadline.tv_nsec += (long)(rv_timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (gen == rv_generation && !rv_aborted) {
        if (pthread_cond_timedwait(&rv_cond, &rv_lock, &deadline) == ETIMEDOUT) {
            rv_aborted = 1;
            pthread_cond_broadcast(&rv_cond);
        }
    }
    int ok = gen != rv_generation;
    pthread_mutex_unlock(&rv_lock);
    return ok;
}

static void rendezvous_abort(void) {
    pthread_mutex_lock(&rv_lock);
    rv_aborted = 1;
    pthread_cond_broadcast(&rv_cond);
    pthread_mutex_unlock(&rv_lock);
}

/* ---- the workload (actor.cjs has the same in JavaScript) ----------------- */

typedef struct plan {
    uint64_t phases, granules, allocs, pin_every, window;
    uint64_t shared, shared_registers, shared_delay, query_every;
    uint64_t pause_micros; /* after each step: a C step is much faster than a JS one */
    uint64_t shared_ids[MAX_SHARED];
    int diagnostic, buffered;
} plan;

typedef struct actor {
    drainprof *prof;
    const plan *plan;
    uint64_t index;
    /* results */
    uint64_t failed;       /* calls that returned what the plan did not expect */
    uint64_t broken;       /* snapshots or sweeps that were inconsistent */
    uint64_t drained;      /* reports this thread drained (buffered mode) */
    uint64_t drained_sum;  /* their granule ids summed, mod 2^64 */
    uint64_t queries;
    uint64_t overlapped;   /* queries that saw another actor's registers since this one's last query */
    uint64_t last_closes;  /* counters only grow, as this thread sees them */
    uint64_t registers, last_registers, last_total_allocs; /* for `overlapped`; last_* = 0 at a phase start */
    int rendezvous_failed;
    char first_failure[160];
} actor;

static uint64_t own_granule(const actor *a, uint64_t j) { return ((a->index + 1) << 32) + j; }
static uint64_t shared_alloc(const actor *a, uint64_t i) { return ((a->index + 1) << 32) + i; }
static int is_pinned(const plan *p, uint64_t j) { return (j + 1) % p->pin_every == 0; }
static int is_kept(const actor *a, uint64_t i) { return i == a->index; }

static void fail(actor *a, const char *what, uint64_t id, int rc) {
    if (a->failed++ == 0) {
        snprintf(a->first_failure, sizeof a->first_failure, "%s(%llu) returned %d (%s)", what,
                 (unsigned long long)id, rc, drainprof_ext_error_name(drainprof_ext_last_error()));
    }
}

static void check_view(actor *a, const drainprof_snapshot_t *s, int is_snapshot) {
    if (s->total_closes != s->drainable_closes + s->pinned_closes) a->broken++;
    double dsr = s->total_closes == 0 ? 0.0 : (double)s->drainable_closes / (double)s->total_closes;
    if (s->dsr != dsr) a->broken++;
    if (s->open_granules > s->peak_open_granules) a->broken++;
    if (is_snapshot) {
        if (s->total_closes < a->last_closes) a->broken++;
        a->last_closes = s->total_closes;
    }
}

static void query(actor *a) {
    drainprof_snapshot_t s;
    drainprof_snapshot(a->prof, &s);
    check_view(a, &s, 1);
    if (a->last_total_allocs != 0 && s.total_allocs - a->last_total_allocs > a->registers - a->last_registers)
        a->overlapped++;
    a->last_total_allocs = s.total_allocs;
    a->last_registers = a->registers;
    drainprof_ext_snapshot_t e;
    drainprof_ext_snapshot(a->prof, &e);
    check_view(a, &e.base, 1);
    drainprof_sweep(a->prof, &s);
    check_view(a, &s, 0);
    a->queries++;
}

static void drain(actor *a, uint32_t max) {
    drainprof_pinning_report *reports[16];
    if (max > 16) max = 16;
    uint32_t n = drainprof_drain_reports(a->prof, reports, max);
    for (uint32_t i = 0; i < n; i++) {
        a->drained++;
        a->drained_sum += reports[i]->granule_id;
        drainprof_pinning_report_free(reports[i]);
    }
}

static void run_phase(actor *a, uint64_t phase) {
    const plan *p = a->plan;
    drainprof *prof = a->prof;
    uint64_t first = phase * p->granules;
    int rc;
    a->last_total_allocs = 0;
    if (p->diagnostic && phase > 0) { /* late frees of the previous phase's pins */
        for (uint64_t j = first - p->granules; j < first; j++) {
            if (is_pinned(p, j) && (rc = drainprof_alloc_deregister(prof, own_granule(a, j), p->allocs)) != 0)
                fail(a, "late deregister", own_granule(a, j), rc);
        }
    }
    for (uint64_t s = 0; s < p->granules + p->window; s++) {
        uint64_t j = first + s;
        if (s < p->granules) {
            uint64_t g = own_granule(a, j);
            if ((rc = drainprof_granule_open(prof, g)) != 0) fail(a, "open", g, rc);
            for (uint64_t k = 1; k <= p->allocs; k++, a->registers++) {
                if ((rc = DRAINPROF_ALLOC_REGISTER(prof, g, k, 16)) != 0) fail(a, "register", g, rc);
            }
        }
        if (s >= p->window) {
            uint64_t c = j - p->window, g = own_granule(a, c);
            uint64_t frees = p->allocs - (is_pinned(p, c) ? 1 : 0);
            for (uint64_t k = 1; k <= frees; k++) {
                if ((rc = drainprof_alloc_deregister(prof, g, k)) != 0) fail(a, "deregister", g, rc);
            }
            rc = drainprof_granule_close(prof, g);
            if (rc != (is_pinned(p, c) ? 0 : 1)) fail(a, "close", g, rc);
        }
        if (s < p->shared_registers) {
            uint64_t i = phase * p->shared_registers + s;
            uint64_t g = p->shared_ids[i % p->shared];
            if ((rc = DRAINPROF_ALLOC_REGISTER(prof, g, shared_alloc(a, i), 8)) != 0) fail(a, "shared register", g, rc);
            a->registers++;
        }
        if (s >= p->shared_delay && s - p->shared_delay < p->shared_registers) {
            uint64_t i = phase * p->shared_registers + s - p->shared_delay;
            uint64_t g = p->shared_ids[i % p->shared];
            if (!is_kept(a, i) && (rc = drainprof_alloc_deregister(prof, g, shared_alloc(a, i))) != 0)
                fail(a, "shared deregister", g, rc);
        }
        if (s % p->query_every == 0) query(a);
        if (p->buffered && s % p->query_every == p->query_every / 2) drain(a, 16);
        if (p->pause_micros != 0) {
            struct timespec pause = {0, (long)p->pause_micros * 1000};
            nanosleep(&pause, NULL);
        }
    }
    if (p->diagnostic) { /* once a phase: the summaries and the text report, as a reader would */
        drainprof_diagnostic_summary_free(drainprof_diagnostic_summary_compute(prof));
        drainprof_ext_summary_free(drainprof_ext_summary_compute(prof));
        char text[1024];
        if (drainprof_ext_format_report(prof, 5, text, sizeof text) < 0) fail(a, "format_report", 0, -1);
    }
}

static void *actor_main(void *arg) {
    actor *a = arg;
    if (!rendezvous_wait()) { /* everyone ready */
        a->rendezvous_failed = 1;
        return NULL;
    }
    for (uint64_t phase = 0; phase < a->plan->phases; phase++) {
        run_phase(a, phase);
        /* the end of the phase, then the checkpoint JavaScript takes while nobody counts */
        if (!rendezvous_wait() || !rendezvous_wait()) {
            a->rendezvous_failed = 1;
            return NULL;
        }
    }
    return NULL;
}

/* ---- N-API --------------------------------------------------------------- */

static drainprof *held;
static plan the_plan;
static actor actors[MAX_THREADS];
static pthread_t threads[MAX_THREADS];
static uint32_t started;

static napi_value undefined(napi_env env) {
    napi_value out;
    napi_get_undefined(env, &out);
    return out;
}

static napi_value num(napi_env env, double v) {
    napi_value out;
    napi_create_double(env, v, &out);
    return out;
}

static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
    size_t argc = want;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    if (argc < want) {
        napi_throw_type_error(env, NULL, "missing arguments");
        return 0;
    }
    return 1;
}

static uint64_t prop(napi_env env, napi_value obj, const char *name) {
    napi_value v;
    double d = 0;
    napi_get_named_property(env, obj, name, &v);
    napi_coerce_to_number(env, v, &v); /* booleans too */
    napi_get_value_double(env, v, &d);
    return (uint64_t)d;
}

/* acquire(handle): holds the profiler for the threads */
static napi_value acquire(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    if (!get_args(env, info, 1, argv)) return NULL;
    if (held != NULL) {
        napi_throw_error(env, NULL, "a profiler is held already");
        return NULL;
    }
    held = drainprof_node_acquire(env, argv[0]);
    return held == NULL ? NULL : undefined(env);
}

/* release() */
static napi_value release(napi_env env, napi_callback_info info) {
    (void)info;
    drainprof_node_release(held);
    held = NULL;
    return undefined(env);
}

/* rendezvousInit(parties, timeoutMs) */
static napi_value rendezvous_init(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    double parties = 0, timeout = 0;
    if (!get_args(env, info, 2, argv)) return NULL;
    napi_get_value_double(env, argv[0], &parties);
    napi_get_value_double(env, argv[1], &timeout);
    pthread_mutex_lock(&rv_lock);
    rv_parties = (uint32_t)parties;
    rv_timeout_ms = (uint32_t)timeout;
    rv_waiting = 0;
    rv_aborted = 0;
    pthread_mutex_unlock(&rv_lock);
    return undefined(env);
}

/* rendezvous() -> true when every party arrived; false after a timeout or abort() */
static napi_value rendezvous(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value out;
    napi_get_boolean(env, rendezvous_wait(), &out);
    return out;
}

/* abort(): every rendezvous, now and later, returns false */
static napi_value abort_rendezvous(napi_env env, napi_callback_info info) {
    (void)info;
    rendezvous_abort();
    return undefined(env);
}

/* start(threads, firstActor, plan): the threads wait at the first rendezvous */
static napi_value start(napi_env env, napi_callback_info info) {
    napi_value argv[3], ids, v;
    if (!get_args(env, info, 3, argv)) return NULL;
    if (held == NULL || started != 0) {
        napi_throw_error(env, NULL, "start(): acquire first, and join before starting again");
        return NULL;
    }
    double n = 0, first = 0;
    napi_get_value_double(env, argv[0], &n);
    napi_get_value_double(env, argv[1], &first);
    memset(&the_plan, 0, sizeof the_plan);
    the_plan.phases = prop(env, argv[2], "phases");
    the_plan.granules = prop(env, argv[2], "granules");
    the_plan.allocs = prop(env, argv[2], "allocs");
    the_plan.pin_every = prop(env, argv[2], "pinEvery");
    the_plan.window = prop(env, argv[2], "window");
    the_plan.shared_registers = prop(env, argv[2], "sharedRegisters");
    the_plan.shared_delay = prop(env, argv[2], "sharedDelay");
    the_plan.query_every = prop(env, argv[2], "queryEvery");
    the_plan.pause_micros = prop(env, argv[2], "cPauseMicros");
    the_plan.diagnostic = prop(env, argv[2], "diagnostic") != 0;
    the_plan.buffered = prop(env, argv[2], "buffered") != 0;
    napi_get_named_property(env, argv[2], "sharedIds", &ids);
    uint32_t count = 0;
    napi_get_array_length(env, ids, &count);
    if (n < 1 || n > MAX_THREADS || count == 0 || count > MAX_SHARED || the_plan.pin_every == 0 ||
        the_plan.query_every == 0 || the_plan.allocs == 0) {
        napi_throw_range_error(env, NULL, "start(): bad plan");
        return NULL;
    }
    the_plan.shared = count;
    for (uint32_t i = 0; i < count; i++) {
        napi_get_element(env, ids, i, &v);
        double d = 0;
        napi_get_value_double(env, v, &d);
        the_plan.shared_ids[i] = (uint64_t)d;
    }
    for (uint32_t t = 0; t < (uint32_t)n; t++) {
        memset(&actors[t], 0, sizeof actors[t]);
        actors[t].prof = held;
        actors[t].plan = &the_plan;
        actors[t].index = (uint64_t)first + t;
        if (pthread_create(&threads[t], NULL, actor_main, &actors[t]) != 0) {
            rendezvous_abort();
            for (uint32_t u = 0; u < t; u++) pthread_join(threads[u], NULL);
            napi_throw_error(env, NULL, "pthread_create failed");
            return NULL;
        }
        started = t + 1;
    }
    return undefined(env);
}

/* join() -> per thread { actor, failed, firstFailure, broken, queries, overlapped, drained, drainedSum, rendezvousFailed } */
static napi_value join(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value out, o, v;
    napi_create_array_with_length(env, started, &out);
    for (uint32_t t = 0; t < started; t++) {
        pthread_join(threads[t], NULL);
        actor *a = &actors[t];
        napi_create_object(env, &o);
        napi_set_named_property(env, o, "actor", num(env, (double)a->index));
        napi_set_named_property(env, o, "failed", num(env, (double)a->failed));
        napi_create_string_utf8(env, a->first_failure, NAPI_AUTO_LENGTH, &v);
        napi_set_named_property(env, o, "firstFailure", v);
        napi_set_named_property(env, o, "broken", num(env, (double)a->broken));
        napi_set_named_property(env, o, "queries", num(env, (double)a->queries));
        napi_set_named_property(env, o, "overlapped", num(env, (double)a->overlapped));
        napi_set_named_property(env, o, "drained", num(env, (double)a->drained));
        napi_create_bigint_uint64(env, a->drained_sum, &v);
        napi_set_named_property(env, o, "drainedSum", v);
        napi_get_boolean(env, a->rendezvous_failed, &v);
        napi_set_named_property(env, o, "rendezvousFailed", v);
        napi_set_element(env, out, t, o);
    }
    started = 0;
    return out;
}

/* snapshot() -> [total, drainable, pinned, open, allocs, deallocs, failed registers, failed deregisters,
 * lifetime records] as C reads the held profiler */
static napi_value snapshot(napi_env env, napi_callback_info info) {
    (void)info;
    drainprof_ext_snapshot_t s;
    memset(&s, 0, sizeof s);
    drainprof_ext_snapshot(held, &s);
    double values[] = {(double)s.base.total_closes, (double)s.base.drainable_closes, (double)s.base.pinned_closes,
                       (double)s.base.open_granules, (double)s.base.total_allocs, (double)s.base.total_deallocs,
                       (double)s.failed_registers, (double)s.failed_deregisters, (double)s.lifetime_records};
    napi_value out;
    napi_create_array_with_length(env, sizeof values / sizeof values[0], &out);
    for (uint32_t i = 0; i < sizeof values / sizeof values[0]; i++) napi_set_element(env, out, i, num(env, values[i]));
    return out;
}

NAPI_MODULE_INIT() {
    struct { const char *name; napi_callback cb; } fns[] = {
        {"acquire", acquire}, {"release", release}, {"rendezvousInit", rendezvous_init},
        {"rendezvous", rendezvous}, {"abort", abort_rendezvous}, {"start", start},
        {"join", join}, {"snapshot", snapshot},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        napi_value fn;
        napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
        napi_set_named_property(env, exports, fns[i].name, fn);
    }
    return exports;
}
