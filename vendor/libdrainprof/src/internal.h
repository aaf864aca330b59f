/*
 * internal.h - private structures of libdrainprof. Never installed.
 *
 * Map of the sources:
 *   errors.c      thread-local last error
 *   clock.c       time source (TSC interpolated on the CLOCK_MONOTONIC timeline)
 *   threads.c     process-wide small thread slots (initial-exec TLS)
 *   counters.c    per-thread counter blocks, summed at close and snapshot
 *   qmap.c        open-addressing map key -> FIFO of entries (diagnostic, lifetime)
 *   table.c       granule records and the id -> record index
 *   profiler.c    config, create, destroy, reset
 *   granules.c    granule_open / granule_close
 *   production.c  register / deregister entry points and the production paths
 *   diagnostic.c  per-granule allocation records
 *   reports.c     pinning reports, buffer, drain, 0.1 summary
 *   lifetime.c    lifetime deltas of pins freed after close, classes, ext summary
 *   snapshot.c    snapshot, ext snapshot, sweep, granule_live, get_config
 *   foreign.c     foreign counter slots (counts in caller-owned memory), bulk counts
 *   text.c        stderr lines, metrics exposition, human-readable report
 */
#ifndef DRAINPROF_INTERNAL_H
#define DRAINPROF_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "drainprof.h"
#include "drainprof_ext.h"

/* The headers are fixed, so exports are marked on the definitions; the .so is
 * built with -fvisibility=hidden and exposes only drainprof_* functions. */
#define DP_EXPORT __attribute__((visibility("default")))

#define DP_LIKELY(x)   __builtin_expect(!!(x), 1)
#define DP_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define DP_RELAXED memory_order_relaxed
#define DP_ACQUIRE memory_order_acquire
#define DP_RELEASE memory_order_release

#define DP_CACHE_LINE 64

/* ------------------------------------------------------------------ errors */

/* Stores `err` as the calling thread's last error; returns -1 / NULL. */
int dp_fail(drainprof_ext_error err);
void *dp_fail_null(drainprof_ext_error err);

/* ------------------------------------------------------------------- clock */

/* A stamp is either raw TSC ticks (when the TSC is invariant) or CLOCK_MONOTONIC
 * nanoseconds; dp_time_pair gives both at one instant so stamps can be mapped
 * onto CLOCK_MONOTONIC later. See clock.c for why. */
typedef struct dp_time_pair {
    uint64_t ns;   /* CLOCK_MONOTONIC */
    uint64_t tsc;  /* equals ns when the TSC is not used */
} dp_time_pair;

bool dp_clock_tsc_usable(void);
uint64_t dp_clock_now_ns(void);
dp_time_pair dp_clock_pair(bool use_tsc);
/* Maps `stamp` taken between `open` and `close` onto CLOCK_MONOTONIC ns. */
uint64_t dp_clock_stamp_to_ns(bool use_tsc, uint64_t stamp, dp_time_pair open,
                              dp_time_pair close);
struct timespec dp_ns_to_timespec(uint64_t ns);

static inline uint64_t dp_stamp(bool use_tsc)
{
#if defined(__x86_64__) || defined(__i386__)
    if (DP_LIKELY(use_tsc))
        return __builtin_ia32_rdtsc();
#endif
    (void)use_tsc;
    return dp_clock_now_ns();
}

/* ----------------------------------------------------------------- threads */

/* Process-wide thread slots: 1..DP_MAX_SLOTS are private, DP_SLOT_OVERFLOW
 * means "no private slot" (counts go to the shared overflow block), 0 means
 * not assigned yet. initial-exec: a plain %fs-relative load even when this
 * code lives in a dlopen'ed object (the default model would call
 * __tls_get_addr on every access). */
#define DP_MAX_SLOTS     256u
#define DP_SLOT_OVERFLOW (DP_MAX_SLOTS + 1u)

extern __thread uint32_t dp_tl_slot __attribute__((tls_model("initial-exec")));

uint32_t dp_slot_acquire(void);

static inline uint32_t dp_my_slot(void)
{
    uint32_t s = dp_tl_slot;
    if (DP_UNLIKELY(s == 0))
        s = dp_slot_acquire();
    return s;
}

/* ---------------------------------------------------------------- spinlock */

typedef struct dp_spinlock {
    atomic_uint v;
} dp_spinlock;

void dp_spin_lock_slow(dp_spinlock *l);

static inline void dp_spin_lock(dp_spinlock *l)
{
    if (DP_LIKELY(atomic_exchange_explicit(&l->v, 1u, DP_ACQUIRE) == 0u))
        return;
    dp_spin_lock_slow(l);
}

static inline void dp_spin_unlock(dp_spinlock *l)
{
    atomic_store_explicit(&l->v, 0u, DP_RELEASE);
}

/* -------------------------------------------------------------------- qmap */

/* Open addressing (linear probing, backward-shift deletion) from a key
 * (k1, k2) to a FIFO of entries held elsewhere: head is the oldest entry,
 * tail the newest, linked through the owner's `next` fields. Not
 * thread-safe; owners lock around it. */
typedef struct dp_qslot {
    uint64_t k1;
    uint64_t k2;
    uint32_t head1;  /* head entry + 1; 0 marks an empty slot */
    uint32_t tail;
} dp_qslot;

typedef struct dp_qmap {
    dp_qslot *slots;
    uint32_t mask;   /* capacity - 1, 0 when slots is NULL */
    uint32_t count;
} dp_qmap;

dp_qslot *dp_qmap_find(const dp_qmap *m, uint64_t k1, uint64_t k2);
/* Returns the key's slot, inserting an empty one (head1 == 0) when absent;
 * NULL when memory runs out. */
dp_qslot *dp_qmap_upsert(dp_qmap *m, uint64_t k1, uint64_t k2);
void dp_qmap_remove(dp_qmap *m, dp_qslot *slot);
void dp_qmap_clear(dp_qmap *m);
void dp_qmap_free(dp_qmap *m);

uint64_t dp_hash64(uint64_t x);

/* ------------------------------------------------------- granule records */

/* Records never move while the profiler lives, so per-thread counter cells
 * can be indexed by record number. Record numbers are split into segments
 * of geometric size: segment k holds s0 << k records. */
#define DP_MAX_SEGS 40u

struct dp_diag_granule;

typedef struct dp_rec {
    /* Odd while open. Bumped at open and close, never reset (not even by
     * reset()), so (record, gen) names one life of one granule. */
    _Atomic uint64_t gen;
    _Atomic uint64_t id;
    /* Net count from threads without a private cell (no slot, or out of
     * memory), updated with atomic read-modify-writes. */
    _Atomic int64_t shared_net;
    uint32_t index;
    uint32_t next_free;
    struct dp_diag_granule *diag;  /* diagnostic mode only */
    /* First foreign slot node attached to this life + 1, 0 when none; under
     * the foreign-slot mutex (foreign.c). */
    uint32_t foreign_head1;
} dp_rec;

/* id -> record index. Entries pack (hash fragment << 32 | record + 1) in one
 * word so readers never see a torn entry; a hit is always confirmed through
 * the record itself (gen odd, id equal). Written under the table lock;
 * deletions shift entries and growth swaps arrays, both inside the seqlock
 * `index_seq`, so a lock-free reader that misses retries when one ran. */
typedef struct dp_index {
    uint32_t mask;
    uint32_t count;
    struct dp_index *retired_next;  /* older arrays, freed at destroy */
    _Atomic uint64_t slots[];
} dp_index;

/* ------------------------------------------------------- counter blocks */

enum dp_block_kind {
    DP_BLOCK_NATIVE = 0,    /* one thread writes; single-writer updates */
    DP_BLOCK_OVERFLOW = 1   /* shared by threads without a slot; atomic RMW */
    /* Counts in foreign memory (slots written by JavaScript threads)
     * are not blocks: they are per granule life, owned by the caller and
     * attached/detached at any time, so foreign.c keeps them in a list per
     * record, read under its mutex; counters.c adds them in. */
};

typedef struct dp_block {
    /* First line: everything the hot path touches. */
    _Atomic uint64_t allocs;
    _Atomic uint64_t deallocs;
    uint64_t hot_gid;            /* per-thread hot-granule cache */
    const dp_rec *hot_rec;
    uint64_t hot_gen;
    _Atomic int64_t *hot_cell;
    _Atomic uint64_t failed_registers;
    _Atomic uint64_t failed_deregisters;
    /* Net (register - deregister) per record, segment by segment, allocated
     * on first use. Only the owner writes a cell while its granule lives;
     * granule_close sums and zeroes it. */
    _Atomic(_Atomic int64_t *) cells[DP_MAX_SEGS];
    int kind;
    bool cells0_inline;          /* segment 0 lives at DP_BLOCK_CELLS0 */
} __attribute__((aligned(DP_CACHE_LINE))) dp_block;

/* A native block is allocated with its segment-0 cells at this offset when
 * they fit below 4 KiB: then no such cell shares its address bits 0..11 with
 * the block's first line, so the hot path's loads never falsely wait on the
 * previous call's cell store (4K aliasing), wherever malloc puts the block. */
#define DP_BLOCK_CELLS0 512u
#define DP_BLOCK_CELLS0_MAX ((4096u - DP_BLOCK_CELLS0 - DP_CACHE_LINE) / 8u)

/* ------------------------------------------------------------ diagnostic */

typedef struct dp_diag_alloc {
    uint64_t aid;
    uint64_t stamp;           /* see clock.c */
    size_t size;
    const char *file;
    uint32_t line;
    uint32_t column;
    uint32_t next;            /* next live registration of the same aid */
    uint32_t live;
} dp_diag_alloc;

typedef struct dp_diag_granule {
    dp_spinlock lock;
    uint64_t life_gen;        /* record gen of the life these records belong to;
                                 0 once detached (checked under the lock) */
    _Atomic int64_t live;     /* live registrations; readable without the lock */
    dp_time_pair open_time;
    uint64_t total_regs;      /* successful registrations while open */
    dp_diag_alloc *allocs;    /* registration order, dead ones compacted away */
    uint32_t len;
    uint32_t cap;
    uint32_t dead;
    uint32_t first_live;      /* no live registration before this position */
    uint32_t indexed_upto;    /* allocs[0, indexed_upto) are in by_aid */
    dp_qmap by_aid;           /* aid -> its live indexed registrations, oldest first */
} dp_diag_granule;

/* What granule_close takes out of a diagnostic granule, to work on after the
 * table lock is released. */
typedef struct dp_diag_detached {
    dp_time_pair open_time;
    int64_t live;
    uint64_t total_regs;
    dp_diag_alloc *allocs;
    uint32_t len;
    dp_qmap by_aid;
} dp_diag_detached;

/* -------------------------------------------------------------- lifetime */

typedef struct dp_pin {
    uint64_t gid;
    uint64_t aid;
    drainprof_alloc_site site;
    size_t size;
    uint64_t open_ns;
    uint64_t close_ns;
    uint64_t seq;             /* pin sequence number (links report entries) */
    uint32_t prev, next;      /* global FIFO, oldest first */
    uint32_t qnext;           /* next pin of the same (gid, aid) */
    uint32_t used;
} dp_pin;

typedef struct dp_life_rec {
    drainprof_ext_lifetime_record pub;
    uint64_t pin_seq;
} dp_life_rec;

#define DP_NIL UINT32_MAX

/* ---------------------------------------------------------------- reports */

/* A report as the library allocates it: one block, freed by
 * drainprof_pinning_report_free(&box->pub). */
typedef struct dp_report_box {
    drainprof_pinning_report pub;   /* must stay first */
    uint64_t first_pin_seq;         /* pins of this report: first_pin_seq + i */
    uint8_t *resolved;              /* per pin: its free after close was seen (set
                                       under life_lock + report_lock while buffered) */
    drainprof_pinning_alloc allocs[];
} dp_report_box;

/* --------------------------------------------------------------- profiler */

struct drainprof {
    /* Read-mostly: the hot paths read these. The block array comes first so
     * the hot path indexes it straight off the profiler pointer. Indexed by
     * thread slot; [0] (no slot yet) and [DP_SLOT_OVERFLOW] stay NULL, so
     * those threads take the slow path. */
    _Atomic(dp_block *) blocks[DP_SLOT_OVERFLOW + 1u];
    drainprof_config cfg;
    drainprof_mode mode;
    bool use_tsc;
    bool buffered;                  /* diagnostic without callback */
    uint32_t s0_shift;              /* segment 0 holds 1 << s0_shift records */
    uint32_t max_records;           /* SLOT_ARRAY capacity, else UINT32_MAX */
    _Atomic(dp_rec *) segs[DP_MAX_SEGS];
    _Atomic(dp_index *) index;

    /* Table lock: open, close, growth. */
    pthread_mutex_t table_lock __attribute__((aligned(DP_CACHE_LINE)));
    _Atomic uint32_t index_seq;
    uint32_t nsegs;
    uint32_t nrecords;              /* records allocated over all segments */
    uint32_t free_head;             /* DP_NIL when none */
    dp_index *retired;

    /* Cumulative counters. total_closes is never stored: it is
     * drainable + pinned, so the invariant holds in every snapshot. */
    _Atomic uint64_t open;
    _Atomic uint64_t peak;
    _Atomic uint64_t drainable;
    _Atomic uint64_t pinned;
    _Atomic uint64_t unbalanced;
    _Atomic uint64_t failed_opens;
    _Atomic uint64_t failed_closes;
    _Atomic uint32_t block_hw;      /* highest slot with a block */

    dp_block overflow;              /* threads without a private block */

    /* Buffered reports: ring of report pointers, oldest at report_head. */
    pthread_mutex_t report_lock;
    dp_report_box **reports;
    uint32_t report_cap;
    uint32_t report_head;
    uint32_t report_count;
    _Atomic uint64_t dropped_reports;

    /* Lifetime tracking (diagnostic mode). */
    pthread_mutex_t life_lock;
    uint32_t life_limit;
    dp_pin *pins;                   /* node pool */
    uint32_t pin_cap;
    uint32_t pin_free;              /* free list through .next */
    uint32_t pin_oldest, pin_newest;
    _Atomic uint32_t pin_count;
    dp_qmap pins_by_key;            /* (gid, aid) -> pins, oldest first */
    uint64_t next_pin_seq;
    dp_life_rec *life_recs;         /* ring, oldest at life_head */
    uint32_t life_cap;
    uint32_t life_head;
    uint32_t life_count;
    _Atomic uint64_t life_recorded;
    _Atomic uint64_t life_dropped;

    /* Foreign counter slots: allocated by the first attach (under
     * table_lock), freed at destroy. NULL: never used, and the readers skip
     * the foreign-slot mutex. */
    _Atomic(struct dp_foreign *) foreign;
};

/* ------------------------------------------------------------- table.c */

static inline uint32_t dp_seg_of(const drainprof *p, uint32_t idx, uint32_t *off)
{
    uint64_t q = ((uint64_t)idx >> p->s0_shift) + 1u;
    uint32_t k = 63u - (uint32_t)__builtin_clzll(q);
    *off = idx - (uint32_t)((((uint64_t)1 << k) - 1u) << p->s0_shift);
    return k;
}

/* Records in segment k (the last SLOT_ARRAY segment is cut at capacity). */
uint32_t dp_seg_len(const drainprof *p, uint32_t k);

static inline dp_rec *dp_rec_at(const drainprof *p, uint32_t idx)
{
    uint32_t off;
    uint32_t k = dp_seg_of(p, idx, &off);
    dp_rec *seg = atomic_load_explicit(&((drainprof *)p)->segs[k], DP_ACQUIRE);
    return &seg[off];
}

int dp_table_init(drainprof *p);
void dp_table_destroy(drainprof *p);
void dp_table_reset(drainprof *p);
/* Lock-free lookup of an open granule; stores the gen it validated. */
dp_rec *dp_table_lookup(const drainprof *p, uint64_t id, uint64_t *gen);
/* Under table_lock: find, take a free record (growing HASH_MAP storage), link. */
dp_rec *dp_table_find_locked(drainprof *p, uint64_t id);
dp_rec *dp_table_take_locked(drainprof *p, drainprof_ext_error *err);
int dp_table_insert_locked(drainprof *p, dp_rec *rec);
void dp_table_release_locked(drainprof *p, dp_rec *rec);

/* Finds open granule `gid` through the thread's hot-granule cache, then the
 * index; refreshes the cache (without a cell) on a hit. */
static inline dp_rec *dp_find_cached(const drainprof *p, dp_block *b, uint64_t gid,
                                     uint64_t *gen)
{
    if (b != NULL && b->hot_gid == gid &&
        atomic_load_explicit(&b->hot_rec->gen, DP_RELAXED) == b->hot_gen) {
        *gen = b->hot_gen;
        return (dp_rec *)b->hot_rec;
    }
    dp_rec *r = dp_table_lookup(p, gid, gen);
    if (r != NULL && b != NULL) {
        b->hot_gid = gid;
        b->hot_rec = r;
        b->hot_gen = *gen;
        b->hot_cell = NULL;
    }
    return r;
}

/* ----------------------------------------------------------- counters.c */

dp_block *dp_block_get(drainprof *p, uint32_t slot);
/* The cell of record `idx` in block b, allocating its segment; NULL on OOM. */
_Atomic int64_t *dp_block_cell(drainprof *p, dp_block *b, uint32_t idx);
/* Net count of record `idx` over every block; with `zero`, zeroes the cells
 * (granule_close: no register/deregister of it may be in flight). */
int64_t dp_counters_net(const drainprof *p, const dp_rec *rec, bool zero);
void dp_counters_totals(const drainprof *p, uint64_t *allocs, uint64_t *deallocs,
                        uint64_t *failed_regs, uint64_t *failed_deregs);
int dp_counters_init(drainprof *p);
void dp_counters_reset(drainprof *p);
void dp_counters_destroy(drainprof *p);

/* Single-writer updates (the owner thread of a block). Relaxed atomics keep
 * concurrent readers (close, snapshot, sweep) well defined. On x86-64 an
 * aligned 8-byte store is atomic, so one non-locked add gives readers the old
 * or the new value just like load + store, in one instruction instead of
 * three; ThreadSanitizer cannot see inside asm, so its build keeps the C11
 * form. */
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
static inline void dp_cell_add(_Atomic int64_t *c, int64_t d)
{
    __asm__("addq %1, %0" : "+m"(*(int64_t *)c) : "er"(d));
}

static inline void dp_ctr_inc(_Atomic uint64_t *c)
{
    __asm__("addq $1, %0" : "+m"(*(uint64_t *)c));
}
#else
static inline void dp_cell_add(_Atomic int64_t *c, int64_t d)
{
    atomic_store_explicit(c, atomic_load_explicit(c, DP_RELAXED) + d, DP_RELAXED);
}

static inline void dp_ctr_inc(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, DP_RELAXED) + 1u, DP_RELAXED);
}
#endif

/* -------------------------------------------------------- diagnostic.c */

int dp_diag_init(drainprof *p, uint32_t seg, dp_rec *recs, uint32_t n);
void dp_diag_open(drainprof *p, dp_rec *rec, dp_time_pair now);
void dp_diag_detach(dp_rec *rec, dp_diag_detached *out);
void dp_diag_release(dp_diag_detached *d);
void dp_diag_free_segment(dp_rec *recs, uint32_t n);
int dp_diag_register(drainprof *p, uint64_t gid, uint64_t aid, size_t size,
                     const char *file, uint32_t line, uint32_t column);
int dp_diag_deregister(drainprof *p, uint64_t gid, uint64_t aid);

/* ----------------------------------------------------------- reports.c */

/* Builds the report of a pinned close, hands pins to lifetime tracking and
 * the report to the callback or the buffer. No library lock held. */
void dp_reports_pinned_close(drainprof *p, uint64_t gid, const dp_diag_detached *d,
                             dp_time_pair close_time);
void dp_reports_reset(drainprof *p);

/* Grouping of allocations by site = (file string contents, line). */
typedef struct dp_site_acc {
    drainprof_alloc_site site;        /* first pointer seen for these contents */
    uint32_t pinning_count;
    uint32_t total_allocs;
    size_t total_bytes;
    uint32_t last_report;             /* report ordinal + 1 that last counted */
    uint32_t order;                   /* first-seen order, the last sort key */
    uint32_t class_counts[DRAINPROF_EXT_CLASS_COUNT];
    uint32_t life_count;              /* recorded deltas of this site */
} dp_site_acc;

typedef struct dp_site_table {
    dp_site_acc *v;
    uint32_t n, cap;
    uint32_t *slots;                  /* index + 1, 0 empty */
    uint32_t mask;
} dp_site_table;

dp_site_acc *dp_sites_get(dp_site_table *t, const drainprof_alloc_site *site);
void dp_sites_free(dp_site_table *t);
/* Groups the buffered reports' pinning allocations into t (0.1 summary
 * numbers); `unresolved` (may be NULL) says whether a pin seq has no recorded
 * delta, and feeds class_counts[0]. Called with report_lock held. */
/* Adds every pinning allocation of the buffered reports (report_lock held);
 * with count_unresolved, also class_counts[UNRESOLVED] for pins whose free
 * was not seen. */
int dp_sites_add_reports(drainprof *p, dp_site_table *t, uint32_t *reports, uint32_t *pins,
                         bool count_unresolved);
int dp_site_cmp_reports(const dp_site_acc *a, const dp_site_acc *b);

/* ---------------------------------------------------------- lifetime.c */

int dp_life_init(drainprof *p);
void dp_life_reset(drainprof *p);
void dp_life_destroy(drainprof *p);
/* Remembers `n` pins of a closed granule; returns the first pin seq. */
/* Remembers the pins of a pinned close; returns the first pin's sequence
 * number. Caller holds life_lock. */
uint64_t dp_life_add_pins_locked(drainprof *p, uint64_t gid, const drainprof_pinning_alloc *allocs,
                                 uint32_t n, uint64_t open_ns, uint64_t close_ns);
/* Resolves the oldest pin (gid, aid): 0, or -1 when there is none. */
int dp_life_resolve(drainprof *p, uint64_t gid, uint64_t aid);
/* Marks pin `seq` resolved in its buffered report, if still buffered.
 * Caller holds life_lock (lock order: life_lock, then report_lock). */
void dp_reports_mark_resolved_locked(drainprof *p, uint64_t seq);

/* -------------------------------------------------------------- text.c */

void dp_text_close_lines(const drainprof *p, uint64_t gid, bool pinned, uint64_t live,
                         bool log_line, uint64_t drainable, uint64_t pinned_total);

/* ----------------------------------------------------------- foreign.c */

/* granule_close, under table_lock and before the record's net is summed:
 * folds (production) and releases every slot attached to `rec`. */
void dp_foreign_close(drainprof *p, dp_rec *rec);
/* Takes the foreign-slot mutex when the profiler ever had a slot attached;
 * returns whether it did (pass that to dp_foreign_unlock). */
bool dp_foreign_lock(const drainprof *p);
void dp_foreign_unlock(const drainprof *p, bool locked);
/* With the mutex held: the counts of slots attached to `rec` (production). */
int64_t dp_foreign_net_locked(const drainprof *p, const dp_rec *rec);
/* Folded plus attached counts (production); takes the mutex. */
void dp_foreign_totals(const drainprof *p, uint64_t *allocs, uint64_t *deallocs);
/* reset (table_lock held): releases every slot, drops folded counts. */
void dp_foreign_reset(drainprof *p);
void dp_foreign_destroy(drainprof *p);

/* ---------------------------------------------------------- snapshot.c */

void dp_snapshot_fill(const drainprof *p, drainprof_ext_snapshot_t *out);

#endif /* DRAINPROF_INTERNAL_H */
