/*
 * fuzz_api.c - libFuzzer harness for the libdrainprof C API.
 *
 * Each input is decoded into one profiler configuration (both modes, both storages, callback
 * or buffered reports, tiny capacities and buffers) followed by a sequence of API calls on
 * granule and allocation ids drawn from small tables, so ids collide, repeat, and land on the
 * same slot under `id % capacity`. A shadow of the profiler kept here (open granules, live
 * registrations in order, buffered reports, lifetime pins and records, every counter) predicts
 * each return code, each last-error reason and each counter; any difference aborts, and ASan
 * and UBSan watch the memory. The choices the spec leaves open are the ones the TypeScript
 * reference model (test/model/model.ts) makes, so the two shadows agree with each other.
 */
#include "drainprof.h"
#include "drainprof_ext.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                          \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "fuzz_api: check failed at line %d: %s\n  ", __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                          \
            fputc('\n', stderr);                                                   \
            abort();                                                               \
        }                                                                          \
    } while (0)

/* ---- input reader: past the end everything reads as zero ------------------------------- */
typedef struct {
    const uint8_t *data;
    size_t size, pos;
} reader;

static uint8_t rd8(reader *r) { return r->pos < r->size ? r->data[r->pos++] : 0; }
static uint32_t rd32(reader *r) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)rd8(r) << (8 * i);
    return v;
}

/* ---- id and site tables ------------------------------------------------------------------ */
#define NG 16
#define NA 8
static uint64_t gid_table[NG];
static const uint64_t aid_table[NA] = {0, 1, 2, 7, 4096, UINT64_C(1) << 40, UINT64_C(0x7f0000001010), UINT64_MAX};

/* Two distinct buffers with equal contents: the summary groups by contents, not pointer. */
static const char file_a[] = "a.c";
static char file_a_copy[] = "a.c";
static const char file_b[] = "src/b.c";
static const char file_empty[] = "";
static const char *const file_table[5] = {NULL, file_a, file_a_copy, file_b, file_empty};
static const uint32_t line_table[4] = {0, 1, 2, UINT32_MAX};

/* ---- shadow -------------------------------------------------------------------------------- */
typedef struct {
    int aidx;
    size_t size;
    const char *file;
    uint32_t line, column;
    /* For pinning entries of buffered reports: resolved by a late free. */
    int resolved;
} entry;

typedef struct {
    entry *v;
    size_t n, cap;
} entries;

static void push(entries *e, entry x) {
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 8;
        e->v = realloc(e->v, e->cap * sizeof *e->v);
        if (!e->v) abort();
    }
    e->v[e->n++] = x;
}
static void remove_at(entries *e, size_t i) {
    memmove(e->v + i, e->v + i + 1, (e->n - i - 1) * sizeof *e->v);
    e->n--;
}

typedef struct {
    int open;
    int64_t net;        /* registers - deregisters */
    uint32_t regs;      /* diagnostic: successful registrations while open */
    entries live;       /* diagnostic: live registrations, oldest first */
} gshadow;

typedef struct {
    uint64_t serial;
    int gidx;
    uint32_t total_allocs;
    entries pins;       /* pinning allocations, registration order */
} rshadow;

typedef struct {
    int gidx;
    entry e;
    uint64_t report_serial; /* 0: its report is not buffered */
    size_t report_index;
} pin;

typedef struct {
    drainprof_config cfg;
    uint32_t lifetime_limit;
    int callback;
    gshadow g[NG];
    rshadow *reports;   /* FIFO */
    size_t nreports, capreports;
    uint64_t next_serial;
    pin *pins;          /* FIFO of pins awaiting their free */
    size_t npins, cappins;
    pin *records;       /* FIFO of recorded deltas (the pins they resolved) */
    size_t nrecords, caprecords;
    drainprof_ext_snapshot_t s; /* expected counters (timestamps ignored) */
} shadow;

static shadow sh;
static void check_snapshot(void);

/* Net counts wrap like the library's 64-bit arithmetic should, without UB in the shadow
 * (bulk counts of INT64_MAX take them past the int64 range). */
static int64_t wrap_add(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }

/*
 * A second profiler alive at the same time, recreated now and then (often at the address of
 * the one before): per-thread counters and thread-local state must never mix profilers.
 */
static struct {
    drainprof *prof;
    drainprof_mode mode;
    uint64_t allocs, deallocs, closes, drainable;
    int64_t net;
} by;

#define BYSTANDER_GID UINT64_C(77)

static void bystander_create(drainprof_mode mode) {
    drainprof_config c;
    drainprof_config_default(&c);
    c.mode = mode;
    c.storage = DRAINPROF_HASH_MAP;
    memset(&by, 0, sizeof by);
    by.mode = mode;
    by.prof = drainprof_create_with_config(&c);
    if (by.prof == NULL || drainprof_granule_open(by.prof, BYSTANDER_GID) != 0) abort();
}

static void bystander_check(void) {
    drainprof_snapshot_t s;
    drainprof_snapshot(by.prof, &s);
    if (s.total_allocs != by.allocs || s.total_deallocs != by.deallocs || s.total_closes != by.closes ||
        s.drainable_closes != by.drainable || s.open_granules != 1) {
        fprintf(stderr, "fuzz_api: bystander profiler counts mixed up: allocs %" PRIu64 "/%" PRIu64 " deallocs %" PRIu64
                "/%" PRIu64 " closes %" PRIu64 "/%" PRIu64 " open %" PRIu64 "\n", s.total_allocs, by.allocs,
                s.total_deallocs, by.deallocs, s.total_closes, by.closes, s.open_granules);
        abort();
    }
    int64_t live = -1;
    if (drainprof_ext_granule_live(by.prof, BYSTANDER_GID, &live) != 1 || live != by.net) {
        fprintf(stderr, "fuzz_api: bystander live %" PRId64 " != %" PRId64 "\n", live, by.net);
        abort();
    }
}

static void bystander_op(uint8_t a) {
    switch ((a >> 4) & 3) {
    case 0:
        if (drainprof_alloc_register(by.prof, BYSTANDER_GID, by.mode == DRAINPROF_DIAGNOSTIC ? 0 : a, 1) != 0) abort();
        by.allocs++;
        by.net++;
        break;
    case 1:
        if (by.mode == DRAINPROF_DIAGNOSTIC && by.net == 0) break; /* would be NOT_LIVE */
        if (drainprof_alloc_deregister(by.prof, BYSTANDER_GID, by.mode == DRAINPROF_DIAGNOSTIC ? 0 : a) != 0) abort();
        by.deallocs++;
        by.net--;
        break;
    case 2: { /* close and reopen: drainable or pinned by the net count */
        if (by.net < 0) break;
        int rc = drainprof_granule_close(by.prof, BYSTANDER_GID);
        if (rc != (by.net == 0 ? 1 : 0)) abort();
        by.closes++;
        by.drainable += by.net == 0;
        by.net = 0;
        if (drainprof_granule_open(by.prof, BYSTANDER_GID) != 0) abort();
        drainprof_pinning_report *r[4];
        uint32_t n = drainprof_drain_reports(by.prof, r, 4);
        for (uint32_t i = 0; i < n; i++) drainprof_pinning_report_free(r[i]);
        break;
    }
    default: /* destroy and create again, in the other mode */
        drainprof_destroy(by.prof);
        bystander_create(by.mode == DRAINPROF_PRODUCTION ? DRAINPROF_DIAGNOSTIC : DRAINPROF_PRODUCTION);
        break;
    }
    bystander_check();
}
static drainprof *prof;

/* Callback mode: what the next report must look like. */
static struct {
    int expected;       /* a report is due */
    int seen;
    int gidx;
    uint32_t total_allocs;
    const entries *pins;
    uint64_t pinned_closes;
    int reenter;        /* the callback opens and closes a granule of its own */
} cb;

/* Not in gid_table: used only from inside the callback. */
#define REENTRANT_GID UINT64_C(0xdeadbeef00)

static void shadow_free(void) {
    for (int i = 0; i < NG; i++) free(sh.g[i].live.v);
    for (size_t i = 0; i < sh.nreports; i++) free(sh.reports[i].pins.v);
    free(sh.reports);
    free(sh.pins);
    free(sh.records);
    memset(&sh, 0, sizeof sh);
}

static void shadow_clear_state(void) {
    drainprof_config cfg = sh.cfg;
    uint32_t limit = sh.lifetime_limit;
    int callback = sh.callback;
    shadow_free();
    sh.cfg = cfg;
    sh.lifetime_limit = limit;
    sh.callback = callback;
    sh.next_serial = 1;
}

static int diagnostic(void) { return sh.cfg.mode == DRAINPROF_DIAGNOSTIC; }

static int same_file(const char *a, const char *b) {
    if (a == NULL || b == NULL) return a == b;
    return strcmp(a, b) == 0;
}

static rshadow *report_by_serial(uint64_t serial) {
    for (size_t i = 0; i < sh.nreports; i++)
        if (sh.reports[i].serial == serial) return &sh.reports[i];
    return NULL;
}

static void add_pin(int gidx, entry e, uint64_t serial, size_t index) {
    if (sh.lifetime_limit == 0) return;
    if (sh.npins >= sh.lifetime_limit) {
        memmove(sh.pins, sh.pins + 1, (sh.npins - 1) * sizeof *sh.pins);
        sh.npins--;
        sh.s.dropped_lifetime_records++;
    }
    if (sh.npins == sh.cappins) {
        sh.cappins = sh.cappins ? sh.cappins * 2 : 16;
        sh.pins = realloc(sh.pins, sh.cappins * sizeof *sh.pins);
        if (!sh.pins) abort();
    }
    sh.pins[sh.npins++] = (pin){gidx, e, serial, index};
}

static void set_resolved(const pin *p, int resolved) {
    if (p->report_serial) {
        rshadow *r = report_by_serial(p->report_serial);
        if (r) r->pins.v[p->report_index].resolved = resolved;
    }
}

static void add_record(const pin *p) {
    sh.s.lifetime_records++;
    if (sh.nrecords > 0 && sh.nrecords >= sh.lifetime_limit) {
        memmove(sh.records, sh.records + 1, (sh.nrecords - 1) * sizeof *sh.records);
        sh.nrecords--;
        sh.s.dropped_lifetime_records++;
    }
    if (sh.nrecords == sh.caprecords) {
        sh.caprecords = sh.caprecords ? sh.caprecords * 2 : 16;
        sh.records = realloc(sh.records, sh.caprecords * sizeof *sh.records);
        if (!sh.records) abort();
    }
    sh.records[sh.nrecords++] = *p;
    set_resolved(p, 1);
}

/* Lowering the limit drops the oldest pins and records, each counted. */
static void set_lifetime_limit(uint32_t limit) {
    CHECK(drainprof_ext_set_lifetime_limit(prof, limit) == 0, "set_lifetime_limit(%u)", limit);
    sh.lifetime_limit = limit;
    while (sh.npins > limit) {
        memmove(sh.pins, sh.pins + 1, (sh.npins - 1) * sizeof *sh.pins);
        sh.npins--;
        sh.s.dropped_lifetime_records++;
    }
    while (sh.nrecords > limit) {
        memmove(sh.records, sh.records + 1, (sh.nrecords - 1) * sizeof *sh.records);
        sh.nrecords--;
        sh.s.dropped_lifetime_records++;
    }
    check_snapshot();
}

static uint64_t open_count(void) {
    uint64_t n = 0;
    for (int i = 0; i < NG; i++) n += sh.g[i].open != 0;
    return n;
}

/* ---- foreign counter slots (drainprof_ext_foreign_*) --------------------------------------
 * Slots live in memory the harness owns. Once the library lets go of one (token 0 after a
 * close or reset, or detach returned) the harness frees it, so any later touch by the library
 * is a use after free for ASan. */
#define NSLOTS 4
static struct {
    drainprof_ext_foreign_slot *mem;
    int attached;
    int gidx;
    double token;
} fs[NSLOTS];
static double next_token;

static void slot_renew(int i) {
    free(fs[i].mem);
    fs[i].mem = malloc(sizeof *fs[i].mem);
    if (!fs[i].mem) abort();
    memset(fs[i].mem, 0x7f, sizeof *fs[i].mem); /* garbage: attach must zero the counts */
    fs[i].attached = 0;
}

/* Counts of attached slots: production only (diagnostic ignores them). */
static int64_t slot_net(int gi) {
    int64_t n = 0;
    if (diagnostic()) return 0;
    for (int i = 0; i < NSLOTS; i++)
        if (fs[i].attached && fs[i].gidx == gi) n = wrap_add(n, (int64_t)(fs[i].mem->registers - fs[i].mem->deregisters));
    return n;
}
static uint64_t slot_count(int deregisters) {
    uint64_t n = 0;
    if (diagnostic()) return 0;
    for (int i = 0; i < NSLOTS; i++)
        if (fs[i].attached) n += deregisters ? fs[i].mem->deregisters : fs[i].mem->registers;
    return n;
}

/* Folds slot i's counts into the shadow (as close, fold and detach do in production). */
static void slot_fold_shadow(int i) {
    if (diagnostic()) return;
    int g = fs[i].gidx;
    sh.g[g].net = wrap_add(sh.g[g].net, (int64_t)(fs[i].mem->registers - fs[i].mem->deregisters));
    sh.s.base.total_allocs += fs[i].mem->registers;
    sh.s.base.total_deallocs += fs[i].mem->deregisters;
}

/* After the library let go of a slot (close, reset): token 0, memory ours again. */
static void slot_released(int i, const char *why) {
    CHECK(fs[i].mem->token == 0.0, "slot %d still holds token %g after %s", i, fs[i].mem->token, why);
    slot_renew(i);
}

/* Folds the slots of granule gi into the shadow, as granule_close does; returns which. */
static unsigned slots_fold(int gi) {
    unsigned which = 0;
    for (int i = 0; i < NSLOTS; i++) {
        if (!fs[i].attached || fs[i].gidx != gi) continue;
        which |= 1u << i;
        slot_fold_shadow(i);
    }
    return which;
}

/* ---- checks against the library ------------------------------------------------------------ */
static void check_base(const drainprof_snapshot_t *a, const drainprof_snapshot_t *e, const char *what) {
    CHECK(a->total_closes == e->total_closes, "%s total_closes %" PRIu64 " != %" PRIu64, what, a->total_closes, e->total_closes);
    CHECK(a->drainable_closes == e->drainable_closes, "%s drainable %" PRIu64 " != %" PRIu64, what, a->drainable_closes, e->drainable_closes);
    CHECK(a->pinned_closes == e->pinned_closes, "%s pinned %" PRIu64 " != %" PRIu64, what, a->pinned_closes, e->pinned_closes);
    CHECK(a->total_closes == a->drainable_closes + a->pinned_closes, "%s total != drainable + pinned", what);
    double dsr = a->total_closes ? (double)a->drainable_closes / (double)a->total_closes : 0.0;
    CHECK(a->dsr == dsr, "%s dsr %.17g != %.17g", what, a->dsr, dsr);
    CHECK(a->open_granules == e->open_granules, "%s open %" PRIu64 " != %" PRIu64, what, a->open_granules, e->open_granules);
    CHECK(a->peak_open_granules == e->peak_open_granules, "%s peak %" PRIu64 " != %" PRIu64, what, a->peak_open_granules, e->peak_open_granules);
    CHECK(a->total_allocs == e->total_allocs, "%s allocs %" PRIu64 " != %" PRIu64, what, a->total_allocs, e->total_allocs);
    CHECK(a->total_deallocs == e->total_deallocs, "%s deallocs %" PRIu64 " != %" PRIu64, what, a->total_deallocs, e->total_deallocs);
    CHECK(a->timestamp.tv_nsec >= 0 && a->timestamp.tv_nsec < 1000000000L, "%s timestamp nsec %ld", what, (long)a->timestamp.tv_nsec);
}

static void check_snapshot(void) {
    drainprof_ext_snapshot_t x;
    memset(&x, 0xa5, sizeof x);
    drainprof_ext_snapshot(prof, &x);
    drainprof_snapshot_t want = sh.s.base;
    want.total_allocs += slot_count(0);
    want.total_deallocs += slot_count(1);
    check_base(&x.base, &want, "ext_snapshot");
#define EQ(f) CHECK(x.f == sh.s.f, "ext_snapshot " #f " %" PRIu64 " != %" PRIu64, x.f, sh.s.f)
    EQ(dropped_reports);
    EQ(unbalanced_closes);
    EQ(failed_opens);
    EQ(failed_closes);
    EQ(failed_registers);
    EQ(failed_deregisters);
    EQ(lifetime_records);
    EQ(dropped_lifetime_records);
#undef EQ
    drainprof_snapshot_t b;
    drainprof_snapshot(prof, &b);
    check_base(&b, &want, "snapshot");
    CHECK(sh.s.base.open_granules == open_count(), "shadow open count");
}

static void check_sweep(void) {
    drainprof_snapshot_t e = sh.s.base, a;
    e.total_allocs += slot_count(0);
    e.total_deallocs += slot_count(1);
    e.drainable_closes = e.pinned_closes = 0;
    for (int i = 0; i < NG; i++) {
        if (!sh.g[i].open) continue;
        if (wrap_add(sh.g[i].net, slot_net(i)) == 0) e.drainable_closes++;
        else e.pinned_closes++;
    }
    e.total_closes = e.drainable_closes + e.pinned_closes;
    drainprof_sweep(prof, &a);
    check_base(&a, &e, "sweep");
}

static void check_granule_live(void) {
    for (int i = 0; i < NG; i++) {
        int64_t live = -12345;
        int rc = drainprof_ext_granule_live(prof, gid_table[i], &live);
        CHECK(rc == (sh.g[i].open ? 1 : 0), "granule_live(%d) rc %d", i, rc);
        if (rc == 1) CHECK(live == wrap_add(sh.g[i].net, slot_net(i)), "granule_live(%d) %" PRId64 " != %" PRId64, i, live, wrap_add(sh.g[i].net, slot_net(i)));
        CHECK(drainprof_ext_granule_live(prof, gid_table[i], NULL) == rc, "granule_live NULL out");
    }
}

static void check_last_error(drainprof_ext_error want, const char *what) {
    drainprof_ext_error got = drainprof_ext_last_error();
    CHECK(got == want, "%s: last error %s (%d), want %s", what, drainprof_ext_error_name(got), (int)got,
          drainprof_ext_error_name(want));
}

static int ts_le(struct timespec a, struct timespec b) {
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec <= b.tv_nsec);
}

static void check_report(const drainprof_pinning_report *r, int gidx, uint32_t total_allocs, const entries *pins) {
    CHECK(r->granule_id == gid_table[gidx], "report granule %" PRIu64 " != %" PRIu64, r->granule_id, gid_table[gidx]);
    CHECK(r->pinning_count == pins->n, "report pinning_count %u != %zu", r->pinning_count, pins->n);
    CHECK(r->total_allocs == total_allocs, "report total_allocs %u != %u", r->total_allocs, total_allocs);
    CHECK(r->drained_allocs == total_allocs - pins->n, "report drained %u", r->drained_allocs);
    CHECK(ts_le(r->open_time, r->close_time), "report open_time after close_time");
    CHECK(r->pinning_count == 0 || r->pinning_allocs != NULL, "report without pinning_allocs");
    for (uint32_t i = 0; i < r->pinning_count; i++) {
        const drainprof_pinning_alloc *a = &r->pinning_allocs[i];
        const entry *e = &pins->v[i];
        CHECK(a->alloc_id == aid_table[e->aidx], "report alloc %u id %" PRIu64 " != %" PRIu64, i, a->alloc_id, aid_table[e->aidx]);
        CHECK(a->size == e->size, "report alloc %u size %zu != %zu", i, a->size, e->size);
        CHECK(a->alloc_site.file == e->file, "report alloc %u file pointer differs (borrowed, not copied)", i);
        CHECK(a->alloc_site.line == e->line, "report alloc %u line %u != %u", i, a->alloc_site.line, e->line);
        CHECK(a->alloc_site.column == e->column, "report alloc %u column %u != %u", i, a->alloc_site.column, e->column);
        CHECK(a->lifetime_delta_sec == -1.0, "report alloc %u delta %g != -1", i, a->lifetime_delta_sec);
        CHECK(ts_le(r->open_time, a->alloc_time) && ts_le(a->alloc_time, r->close_time), "report alloc %u time outside the granule", i);
    }
}

static void on_pinning(const drainprof_pinning_report *r, void *user) {
    CHECK(user == &cb, "callback user_data %p", user);
    CHECK(cb.expected && !cb.seen, "unexpected callback (expected %d seen %d)", cb.expected, cb.seen);
    cb.seen = 1;
    check_report(r, cb.gidx, cb.total_allocs, cb.pins);
    /* No library lock is held: queries work, and a snapshot already includes this close. */
    drainprof_snapshot_t s;
    drainprof_snapshot(prof, &s);
    CHECK(s.pinned_closes == cb.pinned_closes, "snapshot in callback: pinned %" PRIu64 " != %" PRIu64, s.pinned_closes, cb.pinned_closes);
    drainprof_sweep(prof, &s);
    CHECK(drainprof_drain_reports(prof, NULL, 1) == 0, "drain in callback mode");
    if (cb.reenter) {
        /* No lock is held, so the callback may use the profiler: a granule of its own. */
        int rc = drainprof_granule_open(prof, REENTRANT_GID);
        if (rc == -1) {
            check_last_error(DRAINPROF_EXT_ERR_CAPACITY, "open inside the callback");
            sh.s.failed_opens++;
            return;
        }
        CHECK(rc == 0, "open inside the callback returned %d", rc);
        if (sh.s.base.open_granules + 1 > sh.s.base.peak_open_granules) sh.s.base.peak_open_granules = sh.s.base.open_granules + 1;
        CHECK(drainprof_alloc_register(prof, REENTRANT_GID, 1, 1) == 0, "register inside the callback");
        CHECK(drainprof_alloc_deregister(prof, REENTRANT_GID, 1) == 0, "deregister inside the callback");
        sh.s.base.total_allocs++;
        sh.s.base.total_deallocs++;
        CHECK(drainprof_granule_close(prof, REENTRANT_GID) == 1, "drainable close inside the callback");
        sh.s.base.total_closes++;
        sh.s.base.drainable_closes++;
    }
}

/* ---- operations ---------------------------------------------------------------------------- */
static void op_open(int gi) {
    gshadow *g = &sh.g[gi];
    int rc = drainprof_granule_open(prof, gid_table[gi]);
    if (g->open) {
        CHECK(rc == -1, "double open of %d returned %d", gi, rc);
        check_last_error(DRAINPROF_EXT_ERR_ALREADY_OPEN, "double open");
        sh.s.failed_opens++;
    } else if (sh.cfg.storage == DRAINPROF_SLOT_ARRAY && open_count() >= sh.cfg.slot_capacity) {
        CHECK(rc == -1, "open past capacity %u returned %d", sh.cfg.slot_capacity, rc);
        check_last_error(DRAINPROF_EXT_ERR_CAPACITY, "open past capacity");
        sh.s.failed_opens++;
    } else {
        CHECK(rc == 0, "open of %d (open %" PRIu64 ", capacity %u) returned %d", gi, open_count(), sh.cfg.slot_capacity, rc);
        g->open = 1;
        g->net = 0;
        g->regs = 0;
        g->live.n = 0;
        sh.s.base.open_granules++;
        if (sh.s.base.open_granules > sh.s.base.peak_open_granules) sh.s.base.peak_open_granules = sh.s.base.open_granules;
    }
}

static void op_close(int gi) {
    gshadow *g = &sh.g[gi];
    if (!g->open) {
        int rc = drainprof_granule_close(prof, gid_table[gi]);
        CHECK(rc == -1, "close of unopened %d returned %d", gi, rc);
        check_last_error(DRAINPROF_EXT_ERR_NOT_OPEN, "close of unopened");
        sh.s.failed_closes++;
        return;
    }
    g->open = 0;
    sh.s.base.open_granules--;
    unsigned folded = slots_fold(gi);
    if (g->net < 0) {
        int rc = drainprof_granule_close(prof, gid_table[gi]);
        for (int i = 0; i < NSLOTS; i++)
            if (folded & (1u << i)) slot_released(i, "an unbalanced close");
        CHECK(rc == -1, "unbalanced close of %d returned %d", gi, rc);
        check_last_error(DRAINPROF_EXT_ERR_UNBALANCED, "unbalanced close");
        sh.s.unbalanced_closes++;
        sh.s.failed_closes++;
        return;
    }
    int pinned = g->net > 0;
    sh.s.base.total_closes++;
    if (pinned) sh.s.base.pinned_closes++;
    else sh.s.base.drainable_closes++;
    int report = pinned && diagnostic();
    cb.expected = report && sh.callback;
    cb.seen = 0;
    cb.gidx = gi;
    cb.total_allocs = g->regs;
    cb.pins = &g->live;
    cb.pinned_closes = sh.s.base.pinned_closes;
    cb.reenter = (gi & 1) && sh.cfg.log_interval == 0;
    int rc = drainprof_granule_close(prof, gid_table[gi]);
    for (int i = 0; i < NSLOTS; i++)
        if (folded & (1u << i)) slot_released(i, "a close");
    CHECK(rc == (pinned ? 0 : 1), "close of %d (net %" PRId64 ") returned %d", gi, g->net, rc);
    CHECK(cb.seen == cb.expected, "callback seen %d expected %d", cb.seen, cb.expected);
    cb.expected = 0;
    if (!report) return;
    int buffered = !sh.callback && sh.cfg.max_buffered_reports > 0;
    uint64_t serial = 0;
    if (!sh.callback) {
        if (!buffered) {
            sh.s.dropped_reports++;
        } else {
            if (sh.nreports >= sh.cfg.max_buffered_reports) {
                free(sh.reports[0].pins.v);
                memmove(sh.reports, sh.reports + 1, (sh.nreports - 1) * sizeof *sh.reports);
                sh.nreports--;
                sh.s.dropped_reports++;
            }
            if (sh.nreports == sh.capreports) {
                sh.capreports = sh.capreports ? sh.capreports * 2 : 8;
                sh.reports = realloc(sh.reports, sh.capreports * sizeof *sh.reports);
                if (!sh.reports) abort();
            }
            rshadow *r = &sh.reports[sh.nreports++];
            memset(r, 0, sizeof *r);
            r->serial = serial = sh.next_serial++;
            r->gidx = gi;
            r->total_allocs = g->regs;
            for (size_t i = 0; i < g->live.n; i++) push(&r->pins, g->live.v[i]);
        }
    }
    for (size_t i = 0; i < g->live.n; i++) add_pin(gi, g->live.v[i], serial, i);
    g->live.n = 0;
}

static void op_register(int gi, int ai, size_t size, int kind, const char *file, uint32_t line, uint32_t column) {
    gshadow *g = &sh.g[gi];
    int rc;
    entry e = {ai, size, NULL, 0, 0, 0};
    if (kind == 0) {
        rc = drainprof_alloc_register(prof, gid_table[gi], aid_table[ai], size);
    } else if (kind == 1) {
        rc = drainprof_alloc_register_located(prof, gid_table[gi], aid_table[ai], size, file, line);
        e.file = file;
        e.line = line;
    } else if (kind == 2) {
        drainprof_alloc_site site = {file, line, column};
        rc = drainprof_ext_alloc_register_site(prof, gid_table[gi], aid_table[ai], size, &site);
        e.file = file;
        e.line = line;
        e.column = column;
    } else {
        rc = drainprof_ext_alloc_register_site(prof, gid_table[gi], aid_table[ai], size, NULL);
    }
    sh.s.base.total_allocs++;
    if (!g->open) {
        CHECK(rc == -1, "register into unopened %d returned %d", gi, rc);
        check_last_error(DRAINPROF_EXT_ERR_NOT_OPEN, "register into unopened");
        sh.s.failed_registers++;
        return;
    }
    CHECK(rc == 0, "register into %d returned %d", gi, rc);
    g->net = wrap_add(g->net, 1);
    if (diagnostic()) {
        g->regs++;
        push(&g->live, e);
    }
}

static void op_deregister(int gi, int ai) {
    gshadow *g = &sh.g[gi];
    int rc = drainprof_alloc_deregister(prof, gid_table[gi], aid_table[ai]);
    sh.s.base.total_deallocs++;
    if (!diagnostic()) {
        if (!g->open) {
            CHECK(rc == -1, "production deregister from unopened %d returned %d", gi, rc);
            check_last_error(DRAINPROF_EXT_ERR_NOT_OPEN, "deregister from unopened");
            sh.s.failed_deregisters++;
            return;
        }
        CHECK(rc == 0, "production deregister from %d returned %d", gi, rc);
        g->net = wrap_add(g->net, -1);
        return;
    }
    if (g->open) {
        for (size_t i = 0; i < g->live.n; i++) {
            if (g->live.v[i].aidx != ai) continue;
            CHECK(rc == 0, "deregister of live alloc %d from %d returned %d", ai, gi, rc);
            remove_at(&g->live, i);
            g->net = wrap_add(g->net, -1);
            return;
        }
    }
    for (size_t i = 0; i < sh.npins; i++) {
        if (sh.pins[i].gidx != gi || sh.pins[i].e.aidx != ai) continue;
        CHECK(rc == 0, "late free of pin (%d, %d) returned %d", gi, ai, rc);
        pin p = sh.pins[i];
        memmove(sh.pins + i, sh.pins + i + 1, (sh.npins - i - 1) * sizeof *sh.pins);
        sh.npins--;
        add_record(&p);
        return;
    }
    CHECK(rc == -1, "deregister of non-live alloc %d from %d (open %d) returned %d", ai, gi, g->open, rc);
    check_last_error(g->open ? DRAINPROF_EXT_ERR_NOT_LIVE : DRAINPROF_EXT_ERR_NOT_OPEN, "deregister of non-live");
    sh.s.failed_deregisters++;
}

static void op_drain(uint32_t max) {
    drainprof_pinning_report *out[8];
    if (max > 8) max = 8;
    uint32_t n = drainprof_drain_reports(prof, out, max);
    uint32_t want = diagnostic() && !sh.callback ? (uint32_t)(sh.nreports < max ? sh.nreports : max) : 0;
    CHECK(n == want, "drain(%u) returned %u, want %u", max, n, want);
    for (uint32_t i = 0; i < n; i++) {
        check_report(out[i], sh.reports[i].gidx, sh.reports[i].total_allocs, &sh.reports[i].pins);
        drainprof_pinning_report_free(out[i]);
        free(sh.reports[i].pins.v);
    }
    if (n > 0) {
        memmove(sh.reports, sh.reports + n, (sh.nreports - n) * sizeof *sh.reports);
        sh.nreports -= n;
    }
}

/* Expected 0.1 summary: sites grouped by (file contents, line) over the buffered reports. */
typedef struct {
    const char *file;
    uint32_t line;
    uint32_t pinning_count, total_allocs, unresolved, resolved;
    size_t bytes;
    int from_reports;
    int matched;
} esite;

static size_t expected_sites(esite *out, size_t cap, int with_records) {
    size_t n = 0;
    for (size_t r = 0; r < sh.nreports; r++) {
        for (size_t i = 0; i < sh.reports[r].pins.n; i++) {
            const entry *e = &sh.reports[r].pins.v[i];
            size_t k;
            for (k = 0; k < n; k++)
                if (same_file(out[k].file, e->file) && out[k].line == e->line) break;
            if (k == n) {
                CHECK(n < cap, "too many sites");
                out[n++] = (esite){e->file, e->line, 0, 0, 0, 0, 0, 1, 0};
            }
            /* pinning_count: once per report */
            int earlier = 0;
            for (size_t j = 0; j < i; j++)
                if (same_file(sh.reports[r].pins.v[j].file, e->file) && sh.reports[r].pins.v[j].line == e->line) earlier = 1;
            if (!earlier) out[k].pinning_count++;
            out[k].total_allocs++;
            out[k].bytes += e->size;
            if (!e->resolved) out[k].unresolved++;
        }
    }
    if (!with_records) return n;
    for (size_t i = 0; i < sh.nrecords; i++) {
        const entry *e = &sh.records[i].e;
        size_t k;
        for (k = 0; k < n; k++)
            if (same_file(out[k].file, e->file) && out[k].line == e->line) break;
        if (k == n) {
            CHECK(n < cap, "too many sites");
            out[n++] = (esite){e->file, e->line, 0, 0, 0, 0, 0, 0, 0};
        }
        out[k].resolved++;
    }
    return n;
}

static esite esites[4096];

static void op_summary(void) {
    drainprof_diagnostic_summary *s = drainprof_diagnostic_summary_compute(prof);
    if (!diagnostic() || sh.callback) {
        CHECK(s == NULL, "summary outside buffered diagnostic mode");
        return;
    }
    CHECK(s != NULL, "summary NULL in buffered diagnostic mode");
    size_t n = expected_sites(esites, 4096, 0);
    CHECK(s->reports_analyzed == sh.nreports, "summary reports_analyzed %u != %zu", s->reports_analyzed, sh.nreports);
    CHECK(s->site_count == n, "summary site_count %u != %zu", s->site_count, n);
    uint32_t total = 0;
    for (uint32_t i = 0; i < s->site_count; i++) {
        const drainprof_summary_site_entry *a = &s->sites[i];
        total += a->total_allocs;
        if (i > 0) {
            const drainprof_summary_site_entry *p = &s->sites[i - 1];
            CHECK(p->pinning_count > a->pinning_count || (p->pinning_count == a->pinning_count && p->total_bytes >= a->total_bytes),
                  "summary not sorted at %u", i);
        }
        size_t k;
        for (k = 0; k < n; k++)
            if (!esites[k].matched && same_file(esites[k].file, a->site.file) && esites[k].line == a->site.line) break;
        CHECK(k < n, "summary site %u (%s:%u) not expected", i, a->site.file ? a->site.file : "(null)", a->site.line);
        CHECK(a->pinning_count == esites[k].pinning_count, "site %u pinning_count %u != %u", i, a->pinning_count, esites[k].pinning_count);
        CHECK(a->total_allocs == esites[k].total_allocs, "site %u total_allocs %u != %u", i, a->total_allocs, esites[k].total_allocs);
        CHECK(a->total_bytes == esites[k].bytes, "site %u total_bytes %zu != %zu", i, a->total_bytes, esites[k].bytes);
        esites[k].matched = 1;
    }
    CHECK(s->total_pinning_allocs == total, "summary total_pinning_allocs %u != %u", s->total_pinning_allocs, total);
    drainprof_diagnostic_summary_free(s);
}

static void op_ext_summary(void) {
    drainprof_ext_summary *s = drainprof_ext_summary_compute(prof);
    if (!diagnostic()) {
        CHECK(s == NULL, "ext summary in production mode");
        return;
    }
    CHECK(s != NULL, "ext summary NULL in diagnostic mode");
    size_t n = expected_sites(esites, 4096, 1);
    CHECK(s->site_count == n, "ext summary site_count %u != %zu", s->site_count, n);
    CHECK(s->reports_analyzed == sh.nreports, "ext summary reports_analyzed");
    CHECK(s->lifetime_records_analyzed == sh.nrecords, "ext summary lifetime_records_analyzed %u != %zu",
          s->lifetime_records_analyzed, sh.nrecords);
    uint32_t total = 0;
    int in_deltas = 0;
    for (uint32_t i = 0; i < s->site_count; i++) {
        const drainprof_ext_site_entry *a = &s->sites[i];
        size_t k;
        for (k = 0; k < n; k++)
            if (!esites[k].matched && same_file(esites[k].file, a->base.site.file) && esites[k].line == a->base.site.line) break;
        CHECK(k < n, "ext summary site %u not expected", i);
        const esite *e = &esites[k];
        if (!e->from_reports) in_deltas = 1;
        CHECK(!(e->from_reports && in_deltas), "ext summary: report site %u after delta-only sites", i);
        CHECK(a->base.pinning_count == e->pinning_count && a->base.total_allocs == e->total_allocs &&
              a->base.total_bytes == e->bytes, "ext summary site %u numbers", i);
        CHECK(a->class_counts[0] == e->unresolved, "ext summary site %u unresolved %u != %u", i, a->class_counts[0], e->unresolved);
        uint32_t resolved = a->class_counts[1] + a->class_counts[2] + a->class_counts[3];
        CHECK(resolved == e->resolved, "ext summary site %u resolved %u != %u", i, resolved, e->resolved);
        drainprof_ext_violation_class dom = DRAINPROF_EXT_CLASS_UNRESOLVED;
        uint32_t best = 0;
        for (int c = 1; c < DRAINPROF_EXT_CLASS_COUNT; c++)
            if (a->class_counts[c] > 0 && a->class_counts[c] >= best) {
                best = a->class_counts[c];
                dom = (drainprof_ext_violation_class)c;
            }
        CHECK(a->dominant_class == dom, "ext summary site %u dominant %d != %d", i, (int)a->dominant_class, (int)dom);
        if (i > 0) {
            const drainprof_ext_site_entry *p = &s->sites[i - 1];
            if (e->from_reports)
                CHECK(p->base.pinning_count > a->base.pinning_count ||
                      (p->base.pinning_count == a->base.pinning_count && p->base.total_bytes >= a->base.total_bytes),
                      "ext summary not sorted at %u", i);
            else if (p->base.total_allocs == 0) {
                uint32_t pr = p->class_counts[1] + p->class_counts[2] + p->class_counts[3];
                CHECK(pr >= resolved, "ext summary delta-only sites not sorted at %u", i);
            }
        }
        total += a->base.total_allocs;
        esites[k].matched = 1;
    }
    CHECK(s->total_pinning_allocs == total, "ext summary total_pinning_allocs");
    drainprof_ext_summary_free(s);
}

static void op_lifetime_records(uint32_t max) {
    drainprof_ext_lifetime_record out[8];
    if (max > 8) max = 8;
    uint32_t n = drainprof_ext_lifetime_records(prof, out, max);
    uint32_t want = diagnostic() ? (uint32_t)(sh.nrecords < max ? sh.nrecords : max) : 0;
    CHECK(n == want, "lifetime_records(%u) returned %u, want %u", max, n, want);
    for (uint32_t i = 0; i < n; i++) {
        const entry *e = &sh.records[i].e;
        CHECK(out[i].granule_id == gid_table[sh.records[i].gidx], "record %u granule", i);
        CHECK(out[i].alloc_id == aid_table[e->aidx], "record %u alloc", i);
        CHECK(out[i].size == e->size, "record %u size", i);
        CHECK(out[i].alloc_site.file == e->file && out[i].alloc_site.line == e->line && out[i].alloc_site.column == e->column,
              "record %u site", i);
        CHECK(out[i].lifetime_delta_sec >= 0 && out[i].granule_lifetime_sec >= 0, "record %u times %g %g", i,
              out[i].lifetime_delta_sec, out[i].granule_lifetime_sec);
        CHECK(out[i].violation_class == drainprof_ext_classify(out[i].lifetime_delta_sec, out[i].granule_lifetime_sec),
              "record %u class", i);
        CHECK(out[i].violation_class != DRAINPROF_EXT_CLASS_UNRESOLVED, "record %u unresolved", i);
    }
}

/* snprintf semantics: same length for every size, prefix of the full text, NUL inside. */
static void check_text(int64_t (*fmt)(void *ctx, char *buf, size_t size), void *ctx, const char *what, uint8_t sizesel,
                       const char *must_start) {
    int64_t full = fmt(ctx, NULL, 0);
    if (full < 0) return;
    char *all = malloc((size_t)full + 1);
    if (!all) abort();
    CHECK(fmt(ctx, all, (size_t)full + 1) == full, "%s: length changed", what);
    CHECK(all[full] == '\0' && strlen(all) == (size_t)full, "%s: NUL or embedded NUL", what);
    if (must_start) CHECK(strncmp(all, must_start, strlen(must_start)) == 0, "%s: starts with %.40s", what, all);
    static const size_t sizes[8] = {1, 2, 3, 7, 16, 64, 255, 4096};
    size_t size = sizes[sizesel & 7];
    char *buf = malloc(size); /* exact size: ASan sees any overrun */
    if (!buf) abort();
    int64_t got = fmt(ctx, buf, size);
    CHECK(got == full, "%s: length %" PRId64 " with size %zu, %" PRId64 " in full", what, got, size, full);
    size_t kept = (size_t)full < size ? (size_t)full : size - 1;
    CHECK(buf[kept] == '\0' && memcmp(buf, all, kept) == 0, "%s: truncation to %zu bytes is not a prefix", what, size);
    free(buf);
    free(all);
}

typedef struct {
    const drainprof_ext_metrics_options *opt;
} metrics_ctx;

static int64_t fmt_metrics(void *ctx, char *buf, size_t size) {
    return drainprof_ext_format_metrics(prof, ((metrics_ctx *)ctx)->opt, buf, size);
}
static int64_t fmt_report(void *ctx, char *buf, size_t size) {
    return drainprof_ext_format_report(prof, *(uint32_t *)ctx, buf, size);
}

static void check_metrics_values(const char *prefix, int openmetrics) {
    char *all;
    int64_t n = drainprof_ext_format_metrics(prof, NULL, NULL, 0);
    CHECK(n > 0, "metrics with default options returned %" PRId64, n);
    all = malloc((size_t)n + 1);
    if (!all) abort();
    drainprof_ext_format_metrics(prof, NULL, all, (size_t)n + 1);
    char want[256];
    snprintf(want, sizeof want, "\n%s_open_granules %" PRIu64 "\n", prefix, sh.s.base.open_granules);
    CHECK(strstr(all, want) != NULL, "metrics lack %s", want + 1);
    snprintf(want, sizeof want, "\n%s_granule_closes_total{outcome=\"drainable\"} %" PRIu64 "\n", prefix, sh.s.base.drainable_closes);
    CHECK(strstr(all, want) != NULL, "metrics lack %s", want + 1);
    snprintf(want, sizeof want, "\n%s_granule_closes_total{outcome=\"pinned\"} %" PRIu64 "\n", prefix, sh.s.base.pinned_closes);
    CHECK(strstr(all, want) != NULL, "metrics lack %s", want + 1);
    snprintf(want, sizeof want, "\n%s_allocations_total %" PRIu64 "\n", prefix, sh.s.base.total_allocs + slot_count(0));
    CHECK(strstr(all, want) != NULL, "metrics lack %s", want + 1);
    snprintf(want, sizeof want, "\n%s_deallocations_total %" PRIu64 "\n", prefix, sh.s.base.total_deallocs + slot_count(1));
    CHECK(strstr(all, want) != NULL, "metrics lack %s", want + 1);
    (void)openmetrics;
    CHECK(all[n - 1] == '\n', "metrics do not end in a newline");
    free(all);
}

static void op_metrics(reader *r) {
    static const char *const prefixes[6] = {NULL, "drainability", "app:sub_x", "", "1bad", "bad-name"};
    static const int prefix_ok[6] = {1, 1, 1, 0, 0, 0};
    static const char *const names[4] = {"service", "zone_1", "bad-label", "2x"};
    static const int name_ok[4] = {1, 1, 0, 0};
    static const char *const values[4] = {"api", "quote\" back\\slash\nnewline", "", NULL};
    uint8_t sel = rd8(r);
    int pi = (sel & 7) % 6;
    const char *label_names[2], *label_values[2];
    size_t nlabels = (sel >> 3) & 3;
    if (nlabels > 2) nlabels = 2;
    int ok = prefix_ok[pi];
    int label_ok[2] = {1, 1};
    for (size_t i = 0; i < nlabels; i++) {
        uint8_t l = rd8(r);
        label_names[i] = names[l & 3];
        label_values[i] = values[(l >> 2) & 3];
        label_ok[i] = name_ok[l & 3] && label_values[i] != NULL;
    }
    if (nlabels == 2 && strcmp(label_names[0], label_names[1]) == 0) nlabels = 1; /* duplicates: spec-open */
    for (size_t i = 0; i < nlabels; i++) ok &= label_ok[i];
    drainprof_ext_metrics_options opt = {prefixes[pi], label_names, label_values, nlabels, (sel >> 5) & 1};
    metrics_ctx ctx = {&opt};
    int64_t full = drainprof_ext_format_metrics(prof, &opt, NULL, 0);
    if (!ok) {
        CHECK(full == -1, "metrics with invalid prefix/label returned %" PRId64 " (prefix %s, %zu labels: %s=%s, %s=%s)", full,
              opt.prefix ? opt.prefix : "(null)", nlabels, nlabels > 0 ? label_names[0] : "", nlabels > 0 && label_values[0] ? label_values[0] : "(null)",
              nlabels > 1 ? label_names[1] : "", nlabels > 1 && label_values[1] ? label_values[1] : "(null)");
        check_last_error(DRAINPROF_EXT_ERR_INVALID, "metrics with invalid options");
        return;
    }
    CHECK(full > 0, "metrics with valid options returned %" PRId64, full);
    check_text(fmt_metrics, &ctx, "metrics", rd8(r), "#");
    char *all = malloc((size_t)full + 1);
    if (!all) abort();
    drainprof_ext_format_metrics(prof, &opt, all, (size_t)full + 1);
    /* Escaped label values leave no raw newline inside a line: each line is a comment or a sample. */
    const char *prefix = prefixes[pi] ? prefixes[pi] : "drainability";
    for (char *line = all; *line; ) {
        char *end = strchr(line, '\n');
        CHECK(end != NULL, "metrics: last line without newline");
        CHECK(line[0] == '#' || strncmp(line, prefix, strlen(prefix)) == 0, "metrics line %.60s", line);
        line = end + 1;
    }
    if (opt.openmetrics) CHECK(full >= 6 && strcmp(all + full - 6, "# EOF\n") == 0, "OpenMetrics text does not end in # EOF");
    free(all);
    check_metrics_values("drainability", 0);
}

static void op_text_report(reader *r) {
    uint32_t max_sites = rd8(r) & 7;
    int64_t n = drainprof_ext_format_report(prof, max_sites, NULL, 0);
    CHECK(n > 0, "format_report returned %" PRId64, n);
    check_text(fmt_report, &max_sites, "report", rd8(r), NULL);
}

static void op_null_calls(void) {
    drainprof_snapshot_t s;
    drainprof_ext_snapshot_t xs;
    drainprof_pinning_report *rep[1];
    drainprof_ext_lifetime_record rec[1];
    drainprof_config cfg;
    memset(&s, 0x3c, sizeof s);
    drainprof_snapshot_t before = s;
    CHECK(drainprof_granule_open(NULL, 1) == -1, "open(NULL)");
    check_last_error(DRAINPROF_EXT_ERR_NULL, "open(NULL)");
    CHECK(drainprof_granule_close(NULL, 1) == -1, "close(NULL)");
    CHECK(drainprof_alloc_register(NULL, 1, 1, 1) == -1, "register(NULL)");
    CHECK(drainprof_alloc_register_located(NULL, 1, 1, 1, "x", 1) == -1, "register_located(NULL)");
    CHECK(drainprof_ext_alloc_register_site(NULL, 1, 1, 1, NULL) == -1, "register_site(NULL)");
    CHECK(drainprof_alloc_deregister(NULL, 1, 1) == -1, "deregister(NULL)");
    check_last_error(DRAINPROF_EXT_ERR_NULL, "deregister(NULL)");
    drainprof_snapshot(NULL, &s);
    drainprof_sweep(NULL, &s);
    CHECK(memcmp(&s, &before, sizeof s) == 0, "snapshot/sweep(NULL) wrote");
    drainprof_snapshot(prof, NULL);
    drainprof_sweep(prof, NULL);
    drainprof_ext_snapshot(NULL, &xs);
    drainprof_ext_snapshot(prof, NULL);
    drainprof_reset(NULL);
    CHECK(drainprof_drain_reports(NULL, rep, 1) == 0, "drain(NULL)");
    CHECK(drainprof_drain_reports(prof, NULL, 1) == 0, "drain(prof, NULL)");
    CHECK(drainprof_drain_reports(prof, rep, 0) == 0, "drain(prof, out, 0)");
    drainprof_pinning_report_free(NULL);
    CHECK(drainprof_diagnostic_summary_compute(NULL) == NULL, "summary(NULL)");
    drainprof_diagnostic_summary_free(NULL);
    CHECK(drainprof_ext_summary_compute(NULL) == NULL, "ext summary(NULL)");
    drainprof_ext_summary_free(NULL);
    CHECK(drainprof_ext_lifetime_records(NULL, rec, 1) == 0, "lifetime_records(NULL)");
    CHECK(drainprof_ext_lifetime_records(prof, NULL, 1) == 0, "lifetime_records(prof, NULL)");
    CHECK(drainprof_ext_set_lifetime_limit(NULL, 1) == -1, "set_lifetime_limit(NULL)");
    CHECK(drainprof_ext_get_config(NULL, &cfg) == -1, "get_config(NULL)");
    CHECK(drainprof_ext_get_config(prof, NULL) == -1, "get_config(prof, NULL)");
    CHECK(drainprof_ext_granule_live(NULL, 1, NULL) == -1, "granule_live(NULL)");
    CHECK(drainprof_ext_format_metrics(NULL, NULL, NULL, 0) == -1, "format_metrics(NULL)");
    CHECK(drainprof_ext_format_report(NULL, 0, NULL, 0) == -1, "format_report(NULL)");
    drainprof_config_default(NULL);
    CHECK(drainprof_create_with_config(NULL) == NULL, "create_with_config(NULL)");
    drainprof_destroy(NULL);
    /* none of these moved a counter */
}

static void op_pure(reader *r) {
    static const double vals[8] = {-1.0, 0.0, 1e-9, 0.1, 1.0, 10.0, 10.000001, 1e300};
    uint8_t b = rd8(r);
    double delta = vals[b & 7], life = vals[(b >> 3) & 7];
    drainprof_ext_violation_class c = drainprof_ext_classify(delta, life);
    drainprof_ext_violation_class want;
    if (delta < 0) want = DRAINPROF_EXT_CLASS_UNRESOLVED;
    else if (life <= 0) want = delta > 0 ? DRAINPROF_EXT_CLASS_FUNDAMENTAL : DRAINPROF_EXT_CLASS_NEAR_MISS;
    else if (delta / life < 0.1) want = DRAINPROF_EXT_CLASS_NEAR_MISS;
    else if (delta / life <= 10) want = DRAINPROF_EXT_CLASS_MODERATE;
    else want = DRAINPROF_EXT_CLASS_FUNDAMENTAL;
    CHECK(c == want, "classify(%g, %g) = %d, want %d", delta, life, (int)c, (int)want);
    CHECK(drainprof_ext_class_name((drainprof_ext_violation_class)(int)(int8_t)rd8(r)) != NULL, "class_name NULL");
    CHECK(drainprof_ext_error_name((drainprof_ext_error)(int)(int8_t)rd8(r)) != NULL, "error_name NULL");
    CHECK(strcmp(drainprof_ext_error_name(DRAINPROF_EXT_ERR_NOT_OPEN), "NOT_OPEN") == 0, "error_name(NOT_OPEN)");
    CHECK(strcmp(drainprof_ext_class_name(DRAINPROF_EXT_CLASS_FUNDAMENTAL), "fundamental_mismatch") == 0, "class_name");
}

static void op_get_config(void) {
    drainprof_config c;
    CHECK(drainprof_ext_get_config(prof, &c) == 0, "get_config");
    CHECK(c.mode == sh.cfg.mode && c.storage == sh.cfg.storage && c.slot_capacity == sh.cfg.slot_capacity &&
          c.max_buffered_reports == sh.cfg.max_buffered_reports && c.on_pinning == sh.cfg.on_pinning &&
          c.callback_user_data == sh.cfg.callback_user_data && c.log_interval == sh.cfg.log_interval &&
          c.verbose == sh.cfg.verbose && c.bucket_count == sh.cfg.bucket_count,
          "get_config differs from the creation config");
}

static void check_invalid_configs(void) {
    drainprof_config c;
    drainprof_config_default(&c);
    CHECK(c.mode == DRAINPROF_PRODUCTION && c.storage == DRAINPROF_SLOT_ARRAY && c.slot_capacity == 1024 &&
          c.bucket_count == 64 && c.log_interval == 0 && c.on_pinning == NULL && c.callback_user_data == NULL &&
          c.max_buffered_reports == 1000 && !c.verbose, "config_default");
    c.mode = (drainprof_mode)2;
    CHECK(drainprof_create_with_config(&c) == NULL, "create with mode 2");
    check_last_error(DRAINPROF_EXT_ERR_INVALID, "create with mode 2");
    c.mode = DRAINPROF_DIAGNOSTIC;
    c.storage = (drainprof_storage)-1;
    CHECK(drainprof_create_with_config(&c) == NULL, "create with storage -1");
    c.storage = DRAINPROF_SLOT_ARRAY;
    c.slot_capacity = 0;
    CHECK(drainprof_create_with_config(&c) == NULL, "create with slot_capacity 0");
    c.storage = DRAINPROF_HASH_MAP;
    c.bucket_count = 0;
    drainprof *p = drainprof_create_with_config(&c);
    CHECK(p != NULL, "hash map with slot_capacity 0 and bucket_count 0");
    for (uint64_t i = 0; i < 200; i++) CHECK(drainprof_granule_open(p, i * 4096) == 0, "hash map grows");
    drainprof_alloc_register(p, 0, 1, 1);
    drainprof_destroy(p); /* with open granules and a live allocation */
    p = drainprof_create();
    CHECK(p != NULL, "create()");
    drainprof_destroy(p);
}

static void op_slot(reader *r, int gi) {
    uint8_t b = rd8(r);
    int i = b & (NSLOTS - 1);
    switch ((b >> 2) & 7) {
    case 0: case 1: { /* attach, sometimes with a bad token or to a closed granule */
        static const double bad[4] = {0.0, -1.0, NAN, INFINITY};
        int bad_token = (b >> 5) == 7;
        double token = bad_token ? bad[rd8(r) & 3] : (next_token += 1.0);
        int rc = drainprof_ext_foreign_attach(prof, gid_table[gi], fs[i].mem, token);
        if (bad_token || fs[i].attached) {
            CHECK(rc == -1, "attach with token %g (slot attached %d) returned %d", token, fs[i].attached, rc);
            /* Both reasons apply when the granule is not open either: the header orders neither. */
            if (sh.g[gi].open || drainprof_ext_last_error() != DRAINPROF_EXT_ERR_NOT_OPEN)
                check_last_error(DRAINPROF_EXT_ERR_INVALID, "attach with a bad token or twice");
        } else if (!sh.g[gi].open) {
            CHECK(rc == -1, "attach to unopened %d returned %d", gi, rc);
            check_last_error(DRAINPROF_EXT_ERR_NOT_OPEN, "attach to unopened");
        } else {
            CHECK(rc == 0, "attach of slot %d to %d returned %d", i, gi, rc);
            CHECK(fs[i].mem->token == token && fs[i].mem->registers == 0 && fs[i].mem->deregisters == 0,
                  "attach did not zero the counts or store the token");
            fs[i].attached = 1;
            fs[i].gidx = gi;
            fs[i].token = token;
        }
        break;
    }
    case 2: case 3: case 4: { /* the owner counts one register or deregister */
        int dereg = (b >> 5) & 1;
        if (!fs[i].attached || fs[i].mem->token != fs[i].token) {
            CHECK(!fs[i].attached, "slot %d token %g changed while attached", i, fs[i].mem->token);
            CHECK(drainprof_ext_foreign_refused(prof, dereg) == -1, "foreign_refused");
            check_last_error(DRAINPROF_EXT_ERR_NOT_OPEN, "foreign_refused");
            if (dereg) {
                sh.s.base.total_deallocs++;
                sh.s.failed_deregisters++;
            } else {
                sh.s.base.total_allocs++;
                sh.s.failed_registers++;
            }
            break;
        }
        if (dereg) fs[i].mem->deregisters += 1;
        else fs[i].mem->registers += 1;
        break;
    }
    case 5: { /* big jumps (8-byte stores) and the 4-byte low-half increments a 32-bit writer makes */
        if (!fs[i].attached || fs[i].mem->token != fs[i].token) break;
        uint64_t *field = (b >> 5) & 1 ? &fs[i].mem->deregisters : &fs[i].mem->registers;
        if ((b >> 6) & 1) {
            *field += UINT64_C(1) << 32;
        } else if (*field < UINT32_MAX) {
            uint32_t low;
            memcpy(&low, field, sizeof low); /* little-endian: the low half is at the lower address */
            low++;
            memcpy(field, &low, sizeof low);
        }
        break;
    }
    case 6: { /* detach, or fold (the slot stays attached, counts zeroed) */
        int fold = (b >> 5) & 1;
        if (fs[i].attached) {
            double token = fs[i].mem->token;
            slot_fold_shadow(i);
            int rc = fold ? drainprof_ext_foreign_fold(prof, fs[i].mem) : drainprof_ext_foreign_detach(prof, fs[i].mem);
            CHECK(rc == 1, "%s of an attached slot returned %d", fold ? "fold" : "detach", rc);
            if (fold) {
                CHECK(fs[i].mem->registers == 0 && fs[i].mem->deregisters == 0 && fs[i].mem->token == token,
                      "fold left counts %" PRIu64 "/%" PRIu64 " or changed the token", fs[i].mem->registers, fs[i].mem->deregisters);
            } else {
                slot_released(i, "detach");
            }
        } else {
            CHECK((fold ? drainprof_ext_foreign_fold(prof, fs[i].mem) : drainprof_ext_foreign_detach(prof, fs[i].mem)) == 0,
                  "%s of a released slot", fold ? "fold" : "detach");
        }
        CHECK(drainprof_ext_foreign_detach(NULL, fs[i].mem) == -1 && drainprof_ext_foreign_detach(prof, NULL) == -1 &&
              drainprof_ext_foreign_fold(NULL, fs[i].mem) == -1 && drainprof_ext_foreign_fold(prof, NULL) == -1,
              "fold/detach with NULL");
        break;
    }
    default: { /* bulk counts */
        static const uint64_t counts[8] = {0, 1, 2, 3, 17, 1000, UINT64_C(0x7fffffffffffffff), UINT64_MAX};
        uint8_t c = rd8(r);
        uint64_t regs = counts[c & 7], deregs = counts[(c >> 3) & 7];
        /* Counts up to INT64_MAX are valid, but two of them overflow any total: keep those rare. */
        if ((regs > 1000 || deregs > 1000) && regs <= INT64_MAX && deregs <= INT64_MAX && (c >> 6) != 3) break;
        int rc = drainprof_ext_alloc_count(prof, gid_table[gi], regs, deregs);
        if (diagnostic()) {
            CHECK(rc == -1, "alloc_count in diagnostic mode returned %d", rc);
            check_last_error(DRAINPROF_EXT_ERR_WRONG_MODE, "alloc_count in diagnostic mode");
        } else if (regs > INT64_MAX || deregs > INT64_MAX) {
            CHECK(rc == -1, "alloc_count(%" PRIu64 ", %" PRIu64 ") returned %d", regs, deregs, rc);
            check_last_error(DRAINPROF_EXT_ERR_INVALID, "alloc_count above INT64_MAX");
        } else if (!sh.g[gi].open) {
            CHECK(rc == -1, "alloc_count into unopened %d returned %d", gi, rc);
            check_last_error(DRAINPROF_EXT_ERR_NOT_OPEN, "alloc_count into unopened");
            sh.s.base.total_allocs += regs;
            sh.s.failed_registers += regs;
            sh.s.base.total_deallocs += deregs;
            sh.s.failed_deregisters += deregs;
        } else {
            CHECK(rc == 0, "alloc_count into %d returned %d", gi, rc);
            sh.g[gi].net = (int64_t)((uint64_t)sh.g[gi].net + regs - deregs);
            sh.s.base.total_allocs += regs;
            sh.s.base.total_deallocs += deregs;
        }
        CHECK(drainprof_ext_alloc_count(NULL, 0, 1, 1) == -1, "alloc_count(NULL)");
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    reader r = {data, size, 0};
    uint8_t c0 = rd8(&r), c1 = rd8(&r);
    static const uint32_t caps[4] = {1, 2, 3, 8};
    static const uint32_t maxbuf[4] = {0, 1, 3, 1000};
    static const uint32_t limits[4] = {0, 1, 3, DRAINPROF_EXT_DEFAULT_LIFETIME_LIMIT};
    static const uint32_t buckets[4] = {0, 1, 2, 64};

    memset(&sh, 0, sizeof sh);
    memset(&cb, 0, sizeof cb);
    drainprof_config_default(&sh.cfg);
    sh.cfg.mode = (c0 & 1) ? DRAINPROF_DIAGNOSTIC : DRAINPROF_PRODUCTION;
    sh.cfg.storage = (c0 & 2) ? DRAINPROF_HASH_MAP : DRAINPROF_SLOT_ARRAY;
    sh.callback = (c0 >> 2) & 1;
    if (sh.callback) {
        sh.cfg.on_pinning = on_pinning;
        sh.cfg.callback_user_data = &cb;
    }
    sh.callback = sh.callback && sh.cfg.mode == DRAINPROF_DIAGNOSTIC;
    sh.cfg.slot_capacity = caps[(c0 >> 3) & 3];
    sh.cfg.max_buffered_reports = maxbuf[(c0 >> 5) & 3];
    sh.cfg.bucket_count = buckets[(c1 >> 2) & 3];
    if (((c1 >> 4) & 7) == 7) {
        sh.cfg.verbose = true;
        sh.cfg.log_interval = 3;
    }
    sh.lifetime_limit = DRAINPROF_EXT_DEFAULT_LIFETIME_LIMIT;
    sh.next_serial = 1;
    if (c1 & 0x80) check_invalid_configs();

    uint64_t cap = sh.cfg.slot_capacity;
    const uint64_t t[NG] = {0, 1, 2, 3, cap, 2 * cap, cap + 1, 4096, 8192, UINT64_C(1) << 32, (UINT64_C(1) << 32) + cap,
                            UINT64_C(0x7f0000001000), UINT64_C(0x7f0000002000), UINT64_MAX, UINT64_MAX - cap,
                            UINT64_C(1) << 63};
    /* Keep the table free of duplicates (cap may equal a small constant). */
    for (int i = 0; i < NG; i++) {
        gid_table[i] = t[i];
        for (int j = 0; j < i; j++)
            if (gid_table[j] == t[i]) gid_table[i] = UINT64_C(0x1000000000) + (uint64_t)i * 7919;
    }

    prof = drainprof_create_with_config(&sh.cfg);
    CHECK(prof != NULL, "create_with_config failed");
    next_token = 0.0;
    for (int i = 0; i < NSLOTS; i++) {
        fs[i].mem = NULL;
        slot_renew(i);
    }
    bystander_create((c1 & 0x40) ? DRAINPROF_DIAGNOSTIC : DRAINPROF_PRODUCTION);
    if ((c0 >> 7) & 1) {
        sh.lifetime_limit = limits[c1 & 3];
        CHECK(drainprof_ext_set_lifetime_limit(prof, sh.lifetime_limit) == 0, "set_lifetime_limit");
    }

    int steps = 0;
    while (r.pos < r.size && steps++ < 4096) {
        uint8_t op = rd8(&r);
        uint8_t a = rd8(&r);
        int gi = a & (NG - 1);
        int ai = (a >> 4) & (NA - 1);
        switch (op % 26) {
        case 0: case 1: case 2:
            op_open(gi);
            break;
        case 3: case 4:
            op_close(gi);
            break;
        case 5: case 6: case 7: {
            uint8_t b = rd8(&r);
            size_t sz = (b & 0x80) ? (size_t)rd32(&r) : b;
            uint8_t k = rd8(&r);
            op_register(gi, ai, sz, k & 3, file_table[(k >> 2) % 5], line_table[(k >> 5) & 3], (k >> 7) ? 17u : 0u);
            break;
        }
        case 8: case 9: case 10:
            op_deregister(gi, ai);
            break;
        case 11:
            check_snapshot();
            break;
        case 12:
            check_sweep();
            break;
        case 13:
            check_granule_live();
            break;
        case 14:
            if ((a & 7) == 0) { /* rare: reset in the middle */
                drainprof_reset(prof);
                shadow_clear_state();
                for (int i = 0; i < NSLOTS; i++)
                    if (fs[i].attached) slot_released(i, "reset");
                check_snapshot();
            } else if ((a & 7) >= 4) {
                bystander_op(a);
            } else if ((a & 7) == 1 && diagnostic()) { /* change the lifetime limit mid-run */
                static const uint32_t limits[4] = {0, 1, 2, 5};
                set_lifetime_limit(limits[(a >> 4) & 3]);
            }
            break;
        case 15:
            op_drain(a & 7);
            break;
        case 16:
            op_summary();
            break;
        case 17:
            op_ext_summary();
            break;
        case 18:
            op_lifetime_records(a & 7);
            break;
        case 19:
            op_metrics(&r);
            break;
        case 20:
            op_text_report(&r);
            break;
        case 21:
            op_null_calls();
            break;
        case 22:
            op_pure(&r);
            op_get_config();
            break;
        case 24: case 25:
            op_slot(&r, gi);
            break;
        case 23: /* open a run of granules: reaches capacity quickly */
            for (int i = 0; i < (a & 7); i++) op_open((gi + i) & (NG - 1));
            break;
        }
    }
    check_snapshot();
    check_sweep();
    check_granule_live();
    op_summary();
    op_ext_summary();
    bystander_check();
    drainprof_destroy(by.prof);
    drainprof_ext_foreign_slot before[NSLOTS];
    for (int i = 0; i < NSLOTS; i++) before[i] = *fs[i].mem;
    drainprof_destroy(prof); /* with whatever is still open or buffered: LeakSanitizer checks */
    prof = NULL;
    for (int i = 0; i < NSLOTS; i++) {
        CHECK(memcmp(&before[i], fs[i].mem, sizeof before[i]) == 0, "destroy touched slot %d", i);
        free(fs[i].mem);
        fs[i].mem = NULL;
    }
    shadow_free();
    return 0;
}
