/*
 * test_foreign.c - foreign counter slots (counts in memory the caller owns)
 * and bulk counts: every error code, folding at close/detach, snapshots that
 * see attached counts, stale slots after close/reopen/reset, diagnostic slots
 * as life markers, and threads: owners counting while others snapshot, close
 * and detach. Under ASan the slots live in malloc'd memory freed as soon as
 * the library has let go of them, so any later touch is a use after free.
 */
#include "harness.h"
#include <pthread.h>
#include <stdatomic.h>

typedef drainprof_ext_foreign_slot fslot;

/* The owner's side, as JavaScript does it: check the token, then a plain
 * increment of the low 32 bits (atomic accesses, so that TSan sees a
 * well-defined single-writer update like the library's relaxed loads), folding
 * before the word would overflow. */
static uint32_t *low_half(uint64_t *field)
{
    union { uint32_t u; uint8_t b[4]; } probe = { 1 };
    return (uint32_t *)field + (probe.b[0] == 1 ? 0 : 1);
}

static drainprof *owner_prof;  /* for the fold below; set by each test */

static int owner_count(fslot *s, double token, int which)
{
    double t;
    __atomic_load(&s->token, &t, __ATOMIC_ACQUIRE);
    if (t != token)
        return -1;
    uint32_t *low = low_half(which == 0 ? &s->registers : &s->deregisters);
    uint32_t v = __atomic_load_n(low, __ATOMIC_RELAXED);
    if (v == 0x7fffffffu) {
        if (drainprof_ext_foreign_fold(owner_prof, s) != 1)
            return -1;
        v = 0;
    }
    __atomic_store_n(low, v + 1u, __ATOMIC_RELAXED);
    return 0;
}

static double token_of(fslot *s)
{
    double t;
    __atomic_load(&s->token, &t, __ATOMIC_ACQUIRE);
    return t;
}

static fslot *slot_new(void)
{
    fslot *s = malloc(sizeof *s);
    /* Garbage on purpose: attach must set every field. */
    memset(s, 0x7f, sizeof *s);
    return s;
}

static void test_errors(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("attach/detach errors", c->name);
        drainprof *prof = dpt_create(c);
        owner_prof = prof;
        REQUIRE(prof != NULL);
        fslot *s = slot_new();
        EXPECT_INT(drainprof_ext_foreign_attach(NULL, 1, s, 1), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NULL);
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, NULL, 1), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NULL);
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 1), -1);  /* not open */
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        const double bad[] = {0.0, -1.0, NAN, INFINITY, -INFINITY};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, bad[i]), -1);
            EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_INVALID);
        }
        EXPECT_INT(drainprof_ext_foreign_detach(prof, s), 0);  /* never attached */
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 7), 0);
        EXPECT_DBL(s->token, 7);
        EXPECT_UINT(s->registers, 0);
        EXPECT_UINT(s->deregisters, 0);
        EXPECT_UINT(s->reserved, 0);
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 8), -1);  /* attached already */
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_INVALID);
        EXPECT_DBL(s->token, 7);
        EXPECT_INT(drainprof_ext_foreign_fold(NULL, s), -1);
        EXPECT_INT(drainprof_ext_foreign_fold(prof, NULL), -1);
        EXPECT_INT(drainprof_ext_foreign_detach(NULL, s), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NULL);
        EXPECT_INT(drainprof_ext_foreign_detach(prof, NULL), -1);
        EXPECT_INT(drainprof_ext_foreign_detach(prof, s), 1);
        EXPECT_DBL(s->token, 0);
        EXPECT_INT(drainprof_ext_foreign_detach(prof, s), 0);
        EXPECT_INT(drainprof_ext_foreign_fold(prof, s), 0);
        EXPECT_INT(drainprof_ext_foreign_refused(NULL, false), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NULL);
        free(s);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        drainprof_destroy(prof);
    }
}

/* The same counts through a slot and through calls give the same numbers. */
static void test_production_counts(void)
{
    FOR_EACH_PRODUCTION_CONFIG(c) {
        dpt_set_ctx("production: slot counts fold at close", c->name);
        drainprof *prof = dpt_create(c);
        owner_prof = prof;
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 10), 0);
        EXPECT_INT(drainprof_granule_open(prof, 11), 0);
        fslot *a = slot_new(), *b = slot_new();
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 10, a, 1), 0);
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 11, b, 2), 0);
        for (int i = 0; i < 5; i++) EXPECT_INT(owner_count(a, 1, 0), 0);
        for (int i = 0; i < 5; i++) EXPECT_INT(owner_count(a, 1, 1), 0);
        for (int i = 0; i < 3; i++) EXPECT_INT(owner_count(b, 2, 0), 0);
        EXPECT_INT(owner_count(b, 2, 1), 0);
        /* a fold moves nothing in the numbers */
        EXPECT_INT(drainprof_ext_foreign_fold(prof, a), 1);
        EXPECT_UINT(a->registers, 0);
        EXPECT_DBL(a->token, 1);
        /* plus calls into the same granules */
        EXPECT_INT(drainprof_alloc_register(prof, 10, 1, 8), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 10, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 11, 1, 8), 0);

        int64_t live = -1;
        EXPECT_INT(drainprof_ext_granule_live(prof, 10, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 11, &live), 1);
        EXPECT_INT(live, 3);
        drainprof_snapshot_t sw;
        drainprof_sweep(prof, &sw);
        EXPECT_UINT(sw.drainable_closes, 1);
        EXPECT_UINT(sw.pinned_closes, 1);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 2, 2, 5 + 3 + 2, 5 + 1 + 1);

        EXPECT_INT(drainprof_granule_close(prof, 10), 1);
        EXPECT_DBL(token_of(a), 0);
        EXPECT_INT(owner_count(a, 1, 0), -1);  /* the owner sees it released */
        free(a);                               /* and may free it at once */
        EXPECT_INT(drainprof_granule_close(prof, 11), 0);
        EXPECT_DBL(token_of(b), 0);
        free(b);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 2, 1, 1, 0, 2, 10, 7);
        dpt_xsnap x = dpt_ext_snap(prof);
        EXPECT_UINT(x.failed_registers, 0);
        EXPECT_UINT(x.failed_deregisters, 0);
        drainprof_destroy(prof);
    }
}

static void test_detach_folds(void)
{
    FOR_EACH_PRODUCTION_CONFIG(c) {
        dpt_set_ctx("production: detach folds now", c->name);
        drainprof *prof = dpt_create(c);
        owner_prof = prof;
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 5), 0);
        fslot *s = slot_new();
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 5, s, 3), 0);
        for (int i = 0; i < 4; i++) owner_count(s, 3, 0);
        owner_count(s, 3, 1);
        EXPECT_INT(drainprof_ext_foreign_detach(prof, s), 1);
        EXPECT_DBL(s->token, 0);
        free(s);  /* nothing may read it from here on (ASan) */
        int64_t live = -1;
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 1);
        EXPECT_INT(live, 3);
        drainprof_snapshot_t snap = dpt_snap(prof);
        EXPECT_UINT(snap.total_allocs, 4);
        EXPECT_UINT(snap.total_deallocs, 1);
        /* a second slot on the same granule, then more calls */
        fslot *t = slot_new();
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 5, t, 4), 0);
        for (int i = 0; i < 3; i++) owner_count(t, 4, 1);
        EXPECT_INT(drainprof_ext_granule_live(prof, 5, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_granule_close(prof, 5), 1);
        free(t);
        snap = dpt_snap(prof);
        EXPECT_COUNTERS(snap, 1, 1, 0, 0, 1, 4, 4);
        drainprof_destroy(prof);
    }
}

/* close + reopen of the same id, and a different id reusing the record: a
 * slot of the old life is released and never counts into the new one. */
static void test_stale_after_reopen(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("stale slot after close and reopen", c->name);
        drainprof *prof = dpt_create(c);
        owner_prof = prof;
        REQUIRE(prof != NULL);
        bool prod = c->mode == DRAINPROF_PRODUCTION;
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        fslot *s = slot_new();
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 1), 0);
        if (prod) owner_count(s, 1, 0);
        else EXPECT_INT(drainprof_alloc_register(prof, 1, 1, 8), 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        EXPECT_DBL(token_of(s), 0);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);   /* same id, likely the same record */
        EXPECT_INT(drainprof_granule_open(prof, 2), 0);
        EXPECT_INT(owner_count(s, 1, 0), -1);              /* stale: refused */
        EXPECT_INT(drainprof_ext_foreign_refused(prof, false), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_INT(drainprof_ext_foreign_refused(prof, true), -1);
        /* the owner reuses its slot for the new life with a new token */
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 2, s, 2), 0);
        EXPECT_INT(drainprof_ext_foreign_detach(prof, s), 1);
        free(s);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);  /* nothing leaked in */
        EXPECT_INT(drainprof_granule_close(prof, 2), 1);
        dpt_xsnap x = dpt_ext_snap(prof);
        EXPECT_UINT(x.base.total_allocs, 2);   /* the register and one refused */
        EXPECT_UINT(x.base.total_deallocs, 1);
        EXPECT_UINT(x.failed_registers, 1);
        EXPECT_UINT(x.failed_deregisters, 1);
        EXPECT_UINT(x.base.pinned_closes, 1);
        EXPECT_UINT(x.base.drainable_closes, 2);
        drainprof_destroy(prof);
    }
}

static void test_unbalanced_and_reset(void)
{
    FOR_EACH_PRODUCTION_CONFIG(c) {
        dpt_set_ctx("unbalanced slot, reset releases", c->name);
        drainprof *prof = dpt_create(c);
        owner_prof = prof;
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        fslot *s = slot_new();
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 1), 0);
        owner_count(s, 1, 1);
        EXPECT_INT(drainprof_granule_close(prof, 1), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_UNBALANCED);
        EXPECT_DBL(token_of(s), 0);
        dpt_xsnap x = dpt_ext_snap(prof);
        EXPECT_UINT(x.unbalanced_closes, 1);
        EXPECT_UINT(x.base.total_deallocs, 1);

        EXPECT_INT(drainprof_granule_open(prof, 2), 0);
        fslot *many[40];
        for (int i = 0; i < 40; i++) {
            many[i] = slot_new();
            EXPECT_INT(drainprof_ext_foreign_attach(prof, 2, many[i], 100 + i), 0);
            owner_count(many[i], 100 + i, 0);
        }
        EXPECT_UINT(dpt_snap(prof).total_allocs, 40);
        drainprof_reset(prof);
        for (int i = 0; i < 40; i++) {
            EXPECT_DBL(token_of(many[i]), 0);
            free(many[i]);
        }
        drainprof_snapshot_t snap = dpt_snap(prof);
        EXPECT_COUNTERS(snap, 0, 0, 0, 0, 0, 0, 0);
        EXPECT_INT(drainprof_granule_open(prof, 2), 0);
        EXPECT_INT(drainprof_granule_close(prof, 2), 1);
        free(s);
        drainprof_destroy(prof);
    }
}

static void test_diagnostic_marker(void)
{
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("diagnostic: a slot marks a life, its counts are ignored", c->name);
        drainprof *prof = dpt_create(c);
        owner_prof = prof;
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        fslot *s = slot_new();
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 9), 0);
        owner_count(s, 9, 0);
        owner_count(s, 9, 0);
        EXPECT_UINT(dpt_snap(prof).total_allocs, 0);
        int64_t live = -1;
        EXPECT_INT(drainprof_ext_granule_live(prof, 1, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_ext_alloc_count(prof, 1, 1, 0), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_WRONG_MODE);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        EXPECT_DBL(token_of(s), 0);
        free(s);
        EXPECT_UINT(dpt_snap(prof).total_allocs, 0);
        /* detach in diagnostic mode folds nothing either */
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        s = slot_new();
        EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 10), 0);
        owner_count(s, 10, 1);
        EXPECT_INT(drainprof_ext_foreign_detach(prof, s), 1);
        free(s);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        EXPECT_UINT(dpt_snap(prof).total_deallocs, 0);
        drainprof_destroy(prof);
    }
}

static void test_destroy_forgets(void)
{
    dpt_set_ctx("destroy forgets attached slots without touching them", "production");
    drainprof *prof = drainprof_create();
    owner_prof = prof;
    REQUIRE(prof != NULL);
    EXPECT_INT(drainprof_granule_open(prof, 1), 0);
    fslot *s = slot_new();
    EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 1), 0);
    drainprof_destroy(prof);
    EXPECT_DBL(s->token, 1);
    free(s);
}

/* A 32-bit writer folds before its word overflows; nothing is lost. */
static void test_fold_before_overflow(void)
{
    dpt_set_ctx("counts past 2^31 through folds", "production");
    drainprof *prof = drainprof_create();
    REQUIRE(prof != NULL);
    owner_prof = prof;
    EXPECT_INT(drainprof_granule_open(prof, 1), 0);
    fslot *s = slot_new();
    EXPECT_INT(drainprof_ext_foreign_attach(prof, 1, s, 5), 0);
    /* as if the owner had counted this far already */
    __atomic_store_n(low_half(&s->registers), 0x7ffffffdu, __ATOMIC_RELAXED);
    for (int i = 0; i < 5; i++) EXPECT_INT(owner_count(s, 5, 0), 0);
    EXPECT_UINT(s->registers, 3);                   /* folded once, at 2^31 - 1 */
    EXPECT_UINT(dpt_snap(prof).total_allocs, 0x7ffffffdu + 5u);
    int64_t live = -1;
    EXPECT_INT(drainprof_ext_granule_live(prof, 1, &live), 1);
    EXPECT_INT(live, 0x7ffffffdLL + 5);
    /* an 8-byte writer may go past 2^32 directly */
    __atomic_store_n(&s->deregisters, (uint64_t)1 << 33, __ATOMIC_RELAXED);
    EXPECT_UINT(dpt_snap(prof).total_deallocs, (uint64_t)1 << 33);
    __atomic_store_n(&s->deregisters, 0, __ATOMIC_RELAXED);
    EXPECT_INT(drainprof_granule_close(prof, 1), 0);
    EXPECT_UINT(dpt_snap(prof).total_allocs, 0x7ffffffdu + 5u);
    free(s);
    drainprof_destroy(prof);
}

static void test_bulk(void)
{
    FOR_EACH_PRODUCTION_CONFIG(c) {
        dpt_set_ctx("bulk counts", c->name);
        drainprof *prof = dpt_create(c);
        owner_prof = prof;
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_ext_alloc_count(NULL, 1, 1, 1), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NULL);
        EXPECT_INT(drainprof_ext_alloc_count(prof, 1, 3, 2), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_INT(drainprof_ext_alloc_count(prof, 1, (uint64_t)INT64_MAX + 1u, 0), -1);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_INVALID);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_granule_open(prof, 2), 0);
        EXPECT_INT(drainprof_ext_alloc_count(prof, 1, 1000, 999), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, 0, 0), 0);      /* the hot cache is right */
        EXPECT_INT(drainprof_ext_alloc_count(prof, 1, 0, 2), 0);
        EXPECT_INT(drainprof_ext_alloc_count(prof, 2, 5, 0), 0);
        EXPECT_INT(drainprof_ext_alloc_count(prof, 2, 0, 0), 0);
        int64_t live = -1;
        EXPECT_INT(drainprof_ext_granule_live(prof, 1, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        EXPECT_INT(drainprof_granule_close(prof, 2), 0);
        EXPECT_INT(drainprof_ext_alloc_count(prof, 1, 4, 0), -1);    /* the cache saw the close */
        dpt_xsnap x = dpt_ext_snap(prof);
        EXPECT_UINT(x.base.total_allocs, 3 + 1000 + 1 + 5 + 4);
        EXPECT_UINT(x.base.total_deallocs, 2 + 999 + 2);
        EXPECT_UINT(x.failed_registers, 3 + 4);
        EXPECT_UINT(x.failed_deregisters, 2);
        drainprof_destroy(prof);
    }
}

/* ---- threads ------------------------------------------------------------ */

enum { OWNERS = 4, OPS = 200000 };

typedef struct owner_job {
    drainprof *prof;
    uint64_t gid;
    int index;
    bool detach_at_end;
    pthread_barrier_t *start;
    long refused;
} owner_job;

/* Counts OPS registers and OPS - index deregisters into its own slot and the
 * same number through calls, on granule gid. */
static void *owner_thread(void *arg)
{
    owner_job *j = arg;
    fslot *s = slot_new();
    double token = 1000 + j->index;
    if (drainprof_ext_foreign_attach(j->prof, j->gid, s, token) != 0) {
        j->refused = -1;
        free(s);
        return NULL;
    }
    pthread_barrier_wait(j->start);
    for (int i = 0; i < OPS; i++) {
        j->refused += owner_count(s, token, 0) != 0;
        j->refused += drainprof_alloc_register(j->prof, j->gid, (uint64_t)i, 8) != 0;
    }
    for (int i = 0; i < OPS - j->index; i++) {
        j->refused += owner_count(s, token, 1) != 0;
        j->refused += drainprof_alloc_deregister(j->prof, j->gid, (uint64_t)i) != 0;
    }
    if (j->detach_at_end && drainprof_ext_foreign_detach(j->prof, s) != 1)
        j->refused++;
    pthread_barrier_wait(j->start);  /* done: the closer may go */
    pthread_barrier_wait(j->start);  /* closed */
    if (token_of(s) != 0)
        j->refused++;
    free(s);
    return NULL;
}

typedef struct reader_job {
    drainprof *prof;
    _Atomic int stop;
    long reads;
    long bad;
} reader_job;

static void *reader_thread(void *arg)
{
    reader_job *r = arg;
    while (!atomic_load(&r->stop)) {
        drainprof_snapshot_t s;
        drainprof_snapshot(r->prof, &s);
        drainprof_sweep(r->prof, &s);
        int64_t live;
        drainprof_ext_granule_live(r->prof, 1, &live);
        if (s.total_deallocs > s.total_allocs) r->bad++;
        r->reads++;
    }
    return NULL;
}

static void test_threads(void)
{
    FOR_EACH_PRODUCTION_CONFIG(c) {
        dpt_set_ctx("owners count into slots while readers snapshot; exact at close", c->name);
        drainprof *prof = dpt_create(c);
        owner_prof = prof;
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, OWNERS + 1);
        owner_job jobs[OWNERS];
        pthread_t owners[OWNERS], reader;
        reader_job r = { prof, 0, 0, 0 };
        pthread_create(&reader, NULL, reader_thread, &r);
        for (int i = 0; i < OWNERS; i++) {
            jobs[i] = (owner_job){ prof, 1, i, i % 2 == 0, &start, 0 };
            pthread_create(&owners[i], NULL, owner_thread, &jobs[i]);
        }
        pthread_barrier_wait(&start);  /* all attached */
        pthread_barrier_wait(&start);  /* all done counting */
        long expect_live = 0;
        for (int i = 0; i < OWNERS; i++) expect_live += 2 * i;
        int64_t live = -1;
        EXPECT_INT(drainprof_ext_granule_live(prof, 1, &live), 1);
        EXPECT_INT(live, expect_live);
        EXPECT_INT(drainprof_granule_close(prof, 1), 0);
        pthread_barrier_wait(&start);
        for (int i = 0; i < OWNERS; i++) {
            pthread_join(owners[i], NULL);
            EXPECT_INT(jobs[i].refused, 0);
        }
        atomic_store(&r.stop, 1);
        pthread_join(reader, NULL);
        EXPECT_INT(r.bad, 0);
        CHECK(r.reads > 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        uint64_t deregs = 0;
        for (int i = 0; i < OWNERS; i++) deregs += 2u * (uint64_t)(OPS - i);
        EXPECT_COUNTERS(s, 1, 0, 1, 0, 1, 2u * OWNERS * OPS, deregs);
        pthread_barrier_destroy(&start);
        drainprof_destroy(prof);
    }
}

/* Owners detach (their environment ends) while another thread closes the
 * granule: whichever comes first, every count lands exactly once. */
typedef struct race_job {
    drainprof *prof;
    fslot *slot;
    double token;
    pthread_barrier_t *go;
} race_job;

static void *detacher(void *arg)
{
    race_job *j = arg;
    pthread_barrier_wait(j->go);
    drainprof_ext_foreign_detach(j->prof, j->slot);
    return NULL;
}

static void test_detach_races_close(void)
{
    dpt_set_ctx("detach racing close", "production");
    for (int round = 0; round < 200; round++) {
        drainprof *prof = drainprof_create();
        owner_prof = prof;
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 7), 0);
        fslot *slots[3];
        race_job jobs[3];
        pthread_t t[3];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 4);
        for (int i = 0; i < 3; i++) {
            slots[i] = slot_new();
            EXPECT_INT(drainprof_ext_foreign_attach(prof, 7, slots[i], 1 + i), 0);
            for (int k = 0; k <= i; k++) owner_count(slots[i], 1 + i, 0);
            jobs[i] = (race_job){ prof, slots[i], 1 + i, &go };
            pthread_create(&t[i], NULL, detacher, &jobs[i]);
        }
        pthread_barrier_wait(&go);
        EXPECT_INT(drainprof_granule_close(prof, 7), 0);
        for (int i = 0; i < 3; i++) {
            pthread_join(t[i], NULL);
            EXPECT_DBL(token_of(slots[i]), 0);
            free(slots[i]);
        }
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_UINT(s.total_allocs, 6);
        EXPECT_UINT(s.pinned_closes, 1);
        pthread_barrier_destroy(&go);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_errors();
    test_production_counts();
    test_detach_folds();
    test_stale_after_reopen();
    test_unbalanced_and_reset();
    test_diagnostic_marker();
    test_destroy_forgets();
    test_fold_before_overflow();
    test_bulk();
    test_threads();
    test_detach_races_close();
    return dpt_finish();
}
