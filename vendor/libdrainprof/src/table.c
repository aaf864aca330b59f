/* table.c - granule records and the id -> record index.
 *
 * Records live in segments that are never moved or freed before destroy, so
 * a record number stays valid for the profiler's life and per-thread counter
 * cells can be indexed by it. Both storages start with one segment and add
 * segments of doubling size as more granules are open at once; SLOT_ARRAY
 * stops at slot_capacity records. Growing on demand (rather than allocating
 * slot_capacity records at create) keeps a huge capacity from touching
 * memory nobody uses: a capacity near 2^32 once had the OOM killer end the
 * process instead of create returning NULL or open failing cleanly.
 *
 * The index maps a granule id to the record where it is open. open and close
 * change it under table_lock; register/deregister/sweep read it without a
 * lock (see dp_table_lookup).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static uint32_t pow2_at_least(uint64_t n)
{
    uint64_t v = 1;
    while (v < n && v < ((uint64_t)1 << 31))
        v <<= 1;
    return (uint32_t)v;
}

static uint32_t log2u(uint32_t v)
{
    return 31u - (uint32_t)__builtin_clz(v);
}

uint32_t dp_seg_len(const drainprof *p, uint32_t k)
{
    uint64_t start = (((uint64_t)1 << k) - 1u) << p->s0_shift;
    uint64_t n = (uint64_t)1 << (p->s0_shift + k);
    if (start >= p->max_records)
        return 0;
    if (start + n > p->max_records)
        n = p->max_records - start;
    return (uint32_t)n;
}

static dp_index *index_new(uint32_t cap)
{
    dp_index *ix = calloc(1, sizeof *ix + (size_t)cap * sizeof(ix->slots[0]));
    if (ix == NULL)
        return NULL;
    ix->mask = cap - 1u;
    return ix;
}

/* Allocates segment k and pushes its records on the free list (under
 * table_lock, or from create). */
static int segment_add(drainprof *p)
{
    uint32_t k = p->nsegs;
    if (k >= DP_MAX_SEGS)
        return -1;
    uint32_t n = dp_seg_len(p, k);
    if (n == 0)
        return -1;
    dp_rec *recs = calloc(n, sizeof *recs);
    if (recs == NULL)
        return -1;
    uint32_t base = p->nrecords;
    for (uint32_t i = 0; i < n; i++) {
        recs[i].index = base + i;
        recs[i].next_free = i + 1u < n ? base + i + 1u : p->free_head;
    }
    if (p->mode == DRAINPROF_DIAGNOSTIC && dp_diag_init(p, k, recs, n) != 0) {
        free(recs);
        return -1;
    }
    atomic_store_explicit(&p->segs[k], recs, DP_RELEASE);
    p->free_head = base;
    p->nrecords += n;
    p->nsegs = k + 1u;
    return 0;
}

int dp_table_init(drainprof *p)
{
    uint32_t s0;
    p->free_head = DP_NIL;
    if (p->cfg.storage == DRAINPROF_SLOT_ARRAY) {
        p->max_records = p->cfg.slot_capacity;
        s0 = pow2_at_least(p->max_records);
        if (s0 > 256u)
            s0 = 256u;
    } else {
        uint32_t b = p->cfg.bucket_count == 0 ? 64u : p->cfg.bucket_count;
        s0 = pow2_at_least(b < 16u ? 16u : b);
        if (s0 > (1u << 20))
            s0 = 1u << 20;
        p->max_records = UINT32_MAX;
    }
    p->s0_shift = log2u(s0);
    /* Load factor <= 1/2 for the first segment; dp_table_insert_locked
     * doubles the index as more granules open. */
    uint32_t index_cap = s0 * 2u < 16u ? 16u : s0 * 2u;
    dp_index *ix = index_new(index_cap);
    if (ix == NULL)
        return -1;
    atomic_store_explicit(&p->index, ix, DP_RELAXED);
    /* The first segment's records go on the free list in record order: low
     * numbers first keeps the per-thread cells of a few open granules in one
     * small segment. */
    return segment_add(p);
}

void dp_table_destroy(drainprof *p)
{
    for (uint32_t k = 0; k < DP_MAX_SEGS; k++) {
        dp_rec *recs = atomic_load_explicit(&p->segs[k], DP_RELAXED);
        if (recs == NULL)
            continue;
        if (p->mode == DRAINPROF_DIAGNOSTIC)
            dp_diag_free_segment(recs, dp_seg_len(p, k));
        free(recs);
        atomic_store_explicit(&p->segs[k], NULL, DP_RELAXED);
    }
    free(atomic_load_explicit(&p->index, DP_RELAXED));
    atomic_store_explicit(&p->index, NULL, DP_RELAXED);
    while (p->retired != NULL) {
        dp_index *next = p->retired->retired_next;
        free(p->retired);
        p->retired = next;
    }
}

static inline bool rec_holds(const dp_rec *r, uint64_t id, uint64_t *gen)
{
    uint64_t g = atomic_load_explicit(&r->gen, DP_ACQUIRE);
    if ((g & 1u) == 0)
        return false;
    if (atomic_load_explicit(&r->id, DP_ACQUIRE) != id)
        return false;
    if (atomic_load_explicit(&r->gen, DP_RELAXED) != g)
        return false;
    *gen = g;
    return true;
}

/* Lock-free. A hit is confirmed by the record itself (open, same id, same
 * gen before and after reading the id), so it is correct whatever state the
 * index was in, even mid-deletion. A torn or stale view can only cause a
 * miss, and a miss is trusted only when no deletion or growth ran meanwhile
 * (index_seq even and unchanged); otherwise the probe is retried. */
dp_rec *dp_table_lookup(const drainprof *p, uint64_t id, uint64_t *gen)
{
    drainprof *mp = (drainprof *)p;
    uint64_t h = dp_hash64(id);
    uint32_t frag = (uint32_t)(h >> 32);
    for (;;) {
        uint32_t s1 = atomic_load_explicit(&mp->index_seq, DP_ACQUIRE);
        const dp_index *ix = atomic_load_explicit(&mp->index, DP_ACQUIRE);
        uint32_t i = (uint32_t)h & ix->mask;
        for (uint32_t n = 0; n <= ix->mask; n++) {
            uint64_t e = atomic_load_explicit(&((dp_index *)ix)->slots[i], DP_ACQUIRE);
            if (e == 0)
                break;
            if ((uint32_t)(e >> 32) == frag) {
                dp_rec *r = dp_rec_at(p, (uint32_t)e - 1u);
                if (rec_holds(r, id, gen))
                    return r;
            }
            i = (i + 1u) & ix->mask;
        }
        atomic_thread_fence(DP_ACQUIRE);
        if ((s1 & 1u) == 0 && atomic_load_explicit(&mp->index_seq, DP_RELAXED) == s1)
            return NULL;
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
    }
}

/* Under table_lock: returns the index position holding `id`, or -1. */
static int64_t index_pos_locked(const drainprof *p, const dp_index *ix, uint64_t id)
{
    uint64_t h = dp_hash64(id);
    uint32_t frag = (uint32_t)(h >> 32);
    uint32_t i = (uint32_t)h & ix->mask;
    for (;;) {
        uint64_t e = atomic_load_explicit(&((dp_index *)ix)->slots[i], DP_RELAXED);
        if (e == 0)
            return -1;
        if ((uint32_t)(e >> 32) == frag) {
            dp_rec *r = dp_rec_at(p, (uint32_t)e - 1u);
            if (atomic_load_explicit(&r->id, DP_RELAXED) == id)
                return i;
        }
        i = (i + 1u) & ix->mask;
    }
}

dp_rec *dp_table_find_locked(drainprof *p, uint64_t id)
{
    dp_index *ix = atomic_load_explicit(&p->index, DP_RELAXED);
    int64_t pos = index_pos_locked(p, ix, id);
    if (pos < 0)
        return NULL;
    uint64_t e = atomic_load_explicit(&ix->slots[pos], DP_RELAXED);
    return dp_rec_at(p, (uint32_t)e - 1u);
}

dp_rec *dp_table_take_locked(drainprof *p, drainprof_ext_error *err)
{
    if (p->free_head == DP_NIL) {
        if (p->nrecords >= p->max_records) {
            *err = DRAINPROF_EXT_ERR_CAPACITY;
            return NULL;
        }
        if (segment_add(p) != 0) {
            *err = DRAINPROF_EXT_ERR_NO_MEMORY;
            return NULL;
        }
    }
    dp_rec *r = dp_rec_at(p, p->free_head);
    p->free_head = r->next_free;
    r->next_free = DP_NIL;
    return r;
}

static void seq_begin(drainprof *p)
{
    uint32_t s = atomic_load_explicit(&p->index_seq, DP_RELAXED);
    atomic_store_explicit(&p->index_seq, s + 1u, DP_RELAXED);
    atomic_thread_fence(DP_RELEASE);
}

static void seq_end(drainprof *p)
{
    uint32_t s = atomic_load_explicit(&p->index_seq, DP_RELAXED);
    atomic_store_explicit(&p->index_seq, s + 1u, DP_RELEASE);
}

static void index_place(dp_index *ix, uint64_t h, uint64_t entry)
{
    uint32_t i = (uint32_t)h & ix->mask;
    while (atomic_load_explicit(&ix->slots[i], DP_RELAXED) != 0)
        i = (i + 1u) & ix->mask;
    atomic_store_explicit(&ix->slots[i], entry, DP_RELEASE);
    ix->count++;
}

/* Under table_lock, after the record was published as open. */
int dp_table_insert_locked(drainprof *p, dp_rec *rec)
{
    dp_index *ix = atomic_load_explicit(&p->index, DP_RELAXED);
    if ((uint64_t)(ix->count + 1u) * 2u > (uint64_t)ix->mask + 1u) {
        uint64_t ncap = ((uint64_t)ix->mask + 1u) * 2u;
        if (ncap > ((uint64_t)1 << 31))
            return -1;
        dp_index *nx = index_new((uint32_t)ncap);
        if (nx == NULL)
            return -1;
        for (uint32_t i = 0; i <= ix->mask; i++) {
            uint64_t e = atomic_load_explicit(&ix->slots[i], DP_RELAXED);
            if (e == 0)
                continue;
            dp_rec *r = dp_rec_at(p, (uint32_t)e - 1u);
            index_place(nx, dp_hash64(atomic_load_explicit(&r->id, DP_RELAXED)), e);
        }
        seq_begin(p);
        atomic_store_explicit(&p->index, nx, DP_RELEASE);
        seq_end(p);
        /* Readers may still be probing the old array: keep it to destroy. */
        ix->retired_next = p->retired;
        p->retired = ix;
        ix = nx;
    }
    uint64_t id = atomic_load_explicit(&rec->id, DP_RELAXED);
    uint64_t h = dp_hash64(id);
    /* An insertion moves no entry, so readers need no retry for it: a
     * reader that misses a granule being opened concurrently is simply
     * ordered before the open. */
    index_place(ix, h, ((h >> 32) << 32) | ((uint64_t)rec->index + 1u));
    return 0;
}

/* Under table_lock: unlinks the open record, marks it closed (gen even) and
 * returns it to the free list. */
void dp_table_release_locked(drainprof *p, dp_rec *rec)
{
    dp_index *ix = atomic_load_explicit(&p->index, DP_RELAXED);
    int64_t pos = index_pos_locked(p, ix, atomic_load_explicit(&rec->id, DP_RELAXED));
    seq_begin(p);
    if (pos >= 0) {
        uint32_t hole = (uint32_t)pos;
        uint32_t i = hole;
        for (;;) {
            i = (i + 1u) & ix->mask;
            uint64_t e = atomic_load_explicit(&ix->slots[i], DP_RELAXED);
            if (e == 0)
                break;
            dp_rec *r = dp_rec_at(p, (uint32_t)e - 1u);
            uint32_t home = (uint32_t)dp_hash64(atomic_load_explicit(&r->id, DP_RELAXED)) & ix->mask;
            bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
            if (!stays) {
                atomic_store_explicit(&ix->slots[hole], e, DP_RELAXED);
                hole = i;
            }
        }
        atomic_store_explicit(&ix->slots[hole], 0, DP_RELAXED);
        ix->count--;
    }
    seq_end(p);
    uint64_t g = atomic_load_explicit(&rec->gen, DP_RELAXED);
    atomic_store_explicit(&rec->gen, g + 1u, DP_RELEASE);
    rec->next_free = p->free_head;
    p->free_head = rec->index;
}

/* reset(): nothing else runs. Forgets every open granule. */
void dp_table_reset(drainprof *p)
{
    p->free_head = DP_NIL;
    for (uint32_t i = p->nrecords; i-- > 0;) {
        dp_rec *r = dp_rec_at(p, i);
        uint64_t g = atomic_load_explicit(&r->gen, DP_RELAXED);
        if (g & 1u) {
            if (r->diag != NULL) {
                dp_diag_detached d;
                dp_diag_detach(r, &d);
                dp_diag_release(&d);
            }
            atomic_store_explicit(&r->gen, g + 1u, DP_RELEASE);
        }
        atomic_store_explicit(&r->shared_net, 0, DP_RELAXED);
        r->next_free = p->free_head;
        p->free_head = i;
    }
    dp_index *ix = atomic_load_explicit(&p->index, DP_RELAXED);
    seq_begin(p);
    for (uint32_t i = 0; i <= ix->mask; i++)
        atomic_store_explicit(&ix->slots[i], 0, DP_RELAXED);
    ix->count = 0;
    seq_end(p);
}
