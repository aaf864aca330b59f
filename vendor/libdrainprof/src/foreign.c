/* foreign.c - counts that reach the core without a register call each:
 * foreign counter slots (caller-owned memory, see drainprof_ext.h) and bulk
 * counts.
 *
 * Each attachment is a node of ours: the slot's address, the record it is
 * attached to, and its neighbours in the record's list. Nodes live in a pool
 * indexed by number and are found from a slot address through a qmap, so
 * detach never trusts anything the owner could have written into its slot:
 * an owner scribbling over its own memory can spoil its counts, never our
 * bookkeeping.
 *
 * Every read of slot memory happens under `lock`, and detach (after which the
 * owner may free the memory) takes it too, so no read ever races a free.
 * Close takes it under table_lock: the order is table_lock, then this mutex.
 *
 * Exactness: detach folds a slot's counts into the record's shared_net under
 * the mutex; close releases the record's slots (folding them the same way)
 * before it sums shared_net and the per-thread cells, and a reader that sums
 * shared_net together with attached slots (dp_counters_net without zeroing)
 * does so under the mutex too. So a count is always in exactly one place when
 * anyone looks: in its slot, or folded.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct dp_fnode {
    drainprof_ext_foreign_slot *slot;  /* NULL: free node */
    dp_rec *rec;
    uint32_t prev, next;               /* the record's list; DP_NIL ends */
} dp_fnode;

struct dp_foreign {
    pthread_mutex_t lock;
    dp_fnode *nodes;
    uint32_t cap;
    uint32_t free_head;                /* through .next, DP_NIL when none */
    uint32_t used;
    dp_qmap by_slot;                   /* (slot address, 0) -> node + 1 in head1 */
    uint64_t folded_allocs;            /* counts of slots folded since create/reset */
    uint64_t folded_deallocs;
};

static inline struct dp_foreign *foreign_of(const drainprof *p)
{
    return atomic_load_explicit(&((drainprof *)p)->foreign, DP_ACQUIRE);
}

/* The owner writes the counts with plain stores while we read: relaxed
 * atomic loads keep our side well defined, and an aligned 8-byte access is
 * single-copy atomic on the targets we support. */
static inline uint64_t slot_count(const uint64_t *field)
{
    return __atomic_load_n(field, __ATOMIC_RELAXED);
}

static inline void slot_zero(uint64_t *field)
{
    __atomic_store_n(field, 0, __ATOMIC_RELAXED);
}

static inline void token_store(double *field, double v, int order)
{
    __atomic_store(field, &v, order);
}

bool dp_foreign_lock(const drainprof *p)
{
    struct dp_foreign *f = foreign_of(p);
    if (f == NULL)
        return false;
    pthread_mutex_lock(&f->lock);
    return true;
}

void dp_foreign_unlock(const drainprof *p, bool locked)
{
    if (locked)
        pthread_mutex_unlock(&foreign_of(p)->lock);
}

/* Creates the state on first use; table_lock held. */
static struct dp_foreign *foreign_get(drainprof *p)
{
    struct dp_foreign *f = atomic_load_explicit(&p->foreign, DP_RELAXED);
    if (f != NULL)
        return f;
    f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    pthread_mutex_init(&f->lock, NULL);
    f->free_head = DP_NIL;
    /* Release: readers that see the pointer see an initialised mutex. */
    atomic_store_explicit(&p->foreign, f, DP_RELEASE);
    return f;
}

static uint32_t node_take(struct dp_foreign *f)
{
    if (f->free_head == DP_NIL) {
        uint32_t ncap = f->cap == 0 ? 16u : f->cap * 2u;
        if (ncap <= f->cap || ncap > UINT32_MAX / 2u)
            return DP_NIL;
        dp_fnode *nn = realloc(f->nodes, (size_t)ncap * sizeof *nn);
        if (nn == NULL)
            return DP_NIL;
        for (uint32_t i = f->cap; i < ncap; i++) {
            nn[i].slot = NULL;
            nn[i].rec = NULL;
            nn[i].prev = DP_NIL;
            nn[i].next = i + 1u < ncap ? i + 1u : DP_NIL;
        }
        f->nodes = nn;
        f->free_head = f->cap;
        f->cap = ncap;
    }
    uint32_t n = f->free_head;
    f->free_head = f->nodes[n].next;
    return n;
}

/* Unlinks node n from its record and the address map, returns it to the pool
 * and writes token = 0: after this the library never touches the slot. */
static void node_release(struct dp_foreign *f, uint32_t n)
{
    dp_fnode *node = &f->nodes[n];
    if (node->prev != DP_NIL)
        f->nodes[node->prev].next = node->next;
    else
        node->rec->foreign_head1 = node->next == DP_NIL ? 0u : node->next + 1u;
    if (node->next != DP_NIL)
        f->nodes[node->next].prev = node->prev;
    dp_qslot *qs = dp_qmap_find(&f->by_slot, (uint64_t)(uintptr_t)node->slot, 0);
    if (qs != NULL)
        dp_qmap_remove(&f->by_slot, qs);
    /* Release: a reader that sees 0 also sees whatever we did before. */
    token_store(&node->slot->token, 0.0, __ATOMIC_RELEASE);
    node->slot = NULL;
    node->rec = NULL;
    node->prev = DP_NIL;
    node->next = f->free_head;
    f->free_head = n;
    f->used--;
}

/* Moves the slot's counts into its record's net and the folded totals
 * (production only: diagnostic slots carry no counts). */
static void node_fold(const drainprof *p, struct dp_foreign *f, const dp_fnode *node)
{
    if (p->mode != DRAINPROF_PRODUCTION)
        return;
    uint64_t regs = slot_count(&node->slot->registers);
    uint64_t deregs = slot_count(&node->slot->deregisters);
    f->folded_allocs += regs;
    f->folded_deallocs += deregs;
    /* Modulo 2^64, as the per-thread cells count. */
    atomic_fetch_add_explicit(&node->rec->shared_net, (int64_t)(regs - deregs), DP_RELAXED);
}

DP_EXPORT int drainprof_ext_foreign_attach(drainprof *prof, drainprof_granule_id id,
                                           drainprof_ext_foreign_slot *slot, double token)
{
    if (prof == NULL || slot == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    if (!(token > 0.0) || isinf(token))
        return dp_fail(DRAINPROF_EXT_ERR_INVALID);
    pthread_mutex_lock(&prof->table_lock);
    dp_rec *rec = dp_table_find_locked(prof, id);
    if (rec == NULL) {
        pthread_mutex_unlock(&prof->table_lock);
        return dp_fail(DRAINPROF_EXT_ERR_NOT_OPEN);
    }
    struct dp_foreign *f = foreign_get(prof);
    if (f == NULL) {
        pthread_mutex_unlock(&prof->table_lock);
        return dp_fail(DRAINPROF_EXT_ERR_NO_MEMORY);
    }
    pthread_mutex_lock(&f->lock);
    drainprof_ext_error err = DRAINPROF_EXT_OK;
    dp_qslot *qs = dp_qmap_upsert(&f->by_slot, (uint64_t)(uintptr_t)slot, 0);
    uint32_t n = DP_NIL;
    if (qs == NULL) {
        err = DRAINPROF_EXT_ERR_NO_MEMORY;
    } else if (qs->head1 != 0) {
        err = DRAINPROF_EXT_ERR_INVALID;  /* attached already */
    } else if ((n = node_take(f)) == DP_NIL) {
        dp_qmap_remove(&f->by_slot, qs);
        err = DRAINPROF_EXT_ERR_NO_MEMORY;
    }
    if (err != DRAINPROF_EXT_OK) {
        pthread_mutex_unlock(&f->lock);
        pthread_mutex_unlock(&prof->table_lock);
        return dp_fail(err);
    }
    qs->head1 = n + 1u;
    qs->tail = n;
    dp_fnode *node = &f->nodes[n];
    node->slot = slot;
    node->rec = rec;
    node->prev = DP_NIL;
    node->next = rec->foreign_head1 == 0 ? DP_NIL : rec->foreign_head1 - 1u;
    if (node->next != DP_NIL)
        f->nodes[node->next].prev = n;
    rec->foreign_head1 = n + 1u;
    f->used++;
    slot_zero(&slot->registers);
    slot_zero(&slot->deregisters);
    slot_zero(&slot->reserved);
    token_store(&slot->token, token, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&f->lock);
    pthread_mutex_unlock(&prof->table_lock);
    return 0;
}

DP_EXPORT int drainprof_ext_foreign_fold(drainprof *prof, drainprof_ext_foreign_slot *slot)
{
    if (prof == NULL || slot == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    struct dp_foreign *f = foreign_of(prof);
    if (f == NULL)
        return 0;
    pthread_mutex_lock(&f->lock);
    dp_qslot *qs = dp_qmap_find(&f->by_slot, (uint64_t)(uintptr_t)slot, 0);
    if (qs != NULL) {
        node_fold(prof, f, &f->nodes[qs->head1 - 1u]);
        /* Under the mutex, so no reader sees the counts both here and folded. */
        slot_zero(&slot->registers);
        slot_zero(&slot->deregisters);
    }
    pthread_mutex_unlock(&f->lock);
    return qs != NULL;
}

DP_EXPORT int drainprof_ext_foreign_detach(drainprof *prof, drainprof_ext_foreign_slot *slot)
{
    if (prof == NULL || slot == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    struct dp_foreign *f = foreign_of(prof);
    if (f == NULL)
        return 0;
    pthread_mutex_lock(&f->lock);
    dp_qslot *qs = dp_qmap_find(&f->by_slot, (uint64_t)(uintptr_t)slot, 0);
    if (qs == NULL) {
        pthread_mutex_unlock(&f->lock);
        return 0;
    }
    uint32_t n = qs->head1 - 1u;
    node_fold(prof, f, &f->nodes[n]);
    node_release(f, n);
    pthread_mutex_unlock(&f->lock);
    return 1;
}

DP_EXPORT int drainprof_ext_foreign_refused(drainprof *prof, bool deregister)
{
    if (prof == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    dp_block *b = dp_block_get(prof, dp_my_slot());
    if (b != NULL) {
        dp_ctr_inc(deregister ? &b->deallocs : &b->allocs);
        dp_ctr_inc(deregister ? &b->failed_deregisters : &b->failed_registers);
    } else {
        atomic_fetch_add_explicit(deregister ? &prof->overflow.deallocs : &prof->overflow.allocs,
                                  1u, DP_RELAXED);
        atomic_fetch_add_explicit(deregister ? &prof->overflow.failed_deregisters
                                             : &prof->overflow.failed_registers,
                                  1u, DP_RELAXED);
    }
    return dp_fail(DRAINPROF_EXT_ERR_NOT_OPEN);
}

void dp_foreign_close(drainprof *p, dp_rec *rec)
{
    struct dp_foreign *f = foreign_of(p);
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->lock);
    while (rec->foreign_head1 != 0) {
        uint32_t n = rec->foreign_head1 - 1u;
        node_fold(p, f, &f->nodes[n]);
        node_release(f, n);
    }
    pthread_mutex_unlock(&f->lock);
}

int64_t dp_foreign_net_locked(const drainprof *p, const dp_rec *rec)
{
    struct dp_foreign *f = foreign_of(p);
    if (f == NULL || p->mode != DRAINPROF_PRODUCTION)
        return 0;
    int64_t net = 0;
    for (uint32_t n1 = rec->foreign_head1; n1 != 0;) {
        const dp_fnode *node = &f->nodes[n1 - 1u];
        net += (int64_t)(slot_count(&node->slot->registers) -
                         slot_count(&node->slot->deregisters));
        n1 = node->next == DP_NIL ? 0u : node->next + 1u;
    }
    return net;
}

void dp_foreign_totals(const drainprof *p, uint64_t *allocs, uint64_t *deallocs)
{
    struct dp_foreign *f = foreign_of(p);
    if (f == NULL || p->mode != DRAINPROF_PRODUCTION)
        return;
    pthread_mutex_lock(&f->lock);
    uint64_t a = f->folded_allocs, d = f->folded_deallocs;
    for (uint32_t n = 0; n < f->cap; n++) {
        const dp_fnode *node = &f->nodes[n];
        if (node->slot == NULL)
            continue;
        /* Deregisters first, as in block totals (counters.c). */
        d += __atomic_load_n(&node->slot->deregisters, __ATOMIC_ACQUIRE);
        a += slot_count(&node->slot->registers);
    }
    pthread_mutex_unlock(&f->lock);
    *allocs += a;
    *deallocs += d;
}

void dp_foreign_reset(drainprof *p)
{
    struct dp_foreign *f = foreign_of(p);
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->lock);
    for (uint32_t n = 0; n < f->cap; n++) {
        if (f->nodes[n].slot != NULL)
            node_release(f, n);
    }
    f->folded_allocs = 0;
    f->folded_deallocs = 0;
    pthread_mutex_unlock(&f->lock);
}

void dp_foreign_destroy(drainprof *p)
{
    struct dp_foreign *f = atomic_load_explicit(&p->foreign, DP_RELAXED);
    if (f == NULL)
        return;
    /* Attached slots are forgotten without a write: their owners may have
     * freed them once nothing else could reach this profiler. */
    dp_qmap_free(&f->by_slot);
    free(f->nodes);
    pthread_mutex_destroy(&f->lock);
    free(f);
    atomic_store_explicit(&p->foreign, NULL, DP_RELAXED);
}

/* ------------------------------------------------------------ bulk counts */

DP_EXPORT int drainprof_ext_alloc_count(drainprof *prof, drainprof_granule_id id,
                                        uint64_t registers, uint64_t deregisters)
{
    if (DP_UNLIKELY(prof == NULL))
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    if (prof->mode != DRAINPROF_PRODUCTION)
        return dp_fail(DRAINPROF_EXT_ERR_WRONG_MODE);
    if (registers > (uint64_t)INT64_MAX || deregisters > (uint64_t)INT64_MAX)
        return dp_fail(DRAINPROF_EXT_ERR_INVALID);
    dp_block *b = atomic_load_explicit(&prof->blocks[dp_tl_slot], DP_RELAXED);
    if (DP_UNLIKELY(b == NULL))
        b = dp_block_get(prof, dp_my_slot());
    if (b != NULL) {
        atomic_store_explicit(&b->allocs, atomic_load_explicit(&b->allocs, DP_RELAXED) + registers,
                              DP_RELAXED);
        atomic_store_explicit(&b->deallocs,
                              atomic_load_explicit(&b->deallocs, DP_RELAXED) + deregisters,
                              DP_RELAXED);
    } else {
        atomic_fetch_add_explicit(&prof->overflow.allocs, registers, DP_RELAXED);
        atomic_fetch_add_explicit(&prof->overflow.deallocs, deregisters, DP_RELAXED);
    }
    int64_t delta = (int64_t)registers - (int64_t)deregisters;
    /* The per-thread hot-granule cache, as production.c's paths use it. */
    if (b != NULL && b->hot_gid == id &&
        atomic_load_explicit(&b->hot_rec->gen, DP_RELAXED) == b->hot_gen && b->hot_cell != NULL) {
        dp_cell_add(b->hot_cell, delta);
        return 0;
    }
    uint64_t gen;
    dp_rec *rec = dp_table_lookup(prof, id, &gen);
    if (rec == NULL) {
        if (b != NULL) {
            atomic_store_explicit(&b->failed_registers,
                                  atomic_load_explicit(&b->failed_registers, DP_RELAXED) + registers,
                                  DP_RELAXED);
            atomic_store_explicit(&b->failed_deregisters,
                                  atomic_load_explicit(&b->failed_deregisters, DP_RELAXED) +
                                      deregisters,
                                  DP_RELAXED);
        } else {
            atomic_fetch_add_explicit(&prof->overflow.failed_registers, registers, DP_RELAXED);
            atomic_fetch_add_explicit(&prof->overflow.failed_deregisters, deregisters, DP_RELAXED);
        }
        return dp_fail(DRAINPROF_EXT_ERR_NOT_OPEN);
    }
    if (b != NULL) {
        _Atomic int64_t *cell = dp_block_cell(prof, b, rec->index);
        if (cell != NULL) {
            b->hot_gid = id;
            b->hot_rec = rec;
            b->hot_gen = gen;
            b->hot_cell = cell;
            dp_cell_add(cell, delta);
            return 0;
        }
    }
    atomic_fetch_add_explicit(&rec->shared_net, delta, DP_RELAXED);
    return 0;
}
