/* lifetime.c - lifetime deltas of pins freed after their granule closed,
 * violation classes, and the extended summary.
 *
 * A pinned close remembers its pinning allocations ("pins") in a FIFO in
 * close order, plus a map (gid, aid) -> that key's pins, oldest first. A
 * later deregister that finds no live registration in an open granule
 * resolves the key's oldest pin: delta = free time - close time. Both the
 * pins awaiting their free and the recorded deltas are bounded by the
 * lifetime limit; the oldest go first and are counted.
 *
 * The globally oldest pin is always the head of its key's FIFO (pins of one
 * key are appended in global order), so both dropping and resolving remove
 * a key head: O(1) each.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int dp_life_init(drainprof *p)
{
    p->life_limit = DRAINPROF_EXT_DEFAULT_LIFETIME_LIMIT;
    p->pin_free = DP_NIL;
    p->pin_oldest = p->pin_newest = DP_NIL;
    return 0;
}

static void life_clear(drainprof *p)
{
    free(p->pins);
    p->pins = NULL;
    p->pin_cap = 0;
    p->pin_free = DP_NIL;
    p->pin_oldest = p->pin_newest = DP_NIL;
    atomic_store_explicit(&p->pin_count, 0, DP_RELAXED);
    dp_qmap_free(&p->pins_by_key);
    free(p->life_recs);
    p->life_recs = NULL;
    p->life_cap = p->life_head = p->life_count = 0;
}

void dp_life_reset(drainprof *p)
{
    life_clear(p);
    atomic_store_explicit(&p->life_recorded, 0, DP_RELAXED);
    atomic_store_explicit(&p->life_dropped, 0, DP_RELAXED);
}

void dp_life_destroy(drainprof *p)
{
    life_clear(p);
}

/* Removes pin idx, which must be the head of its key's FIFO. */
static void pin_unlink(drainprof *p, uint32_t idx)
{
    dp_pin *pin = &p->pins[idx];
    dp_qslot *q = dp_qmap_find(&p->pins_by_key, pin->gid, pin->aid);
    if (q != NULL) {
        if (pin->qnext == DP_NIL)
            dp_qmap_remove(&p->pins_by_key, q);
        else
            q->head1 = pin->qnext + 1u;
    }
    if (pin->prev != DP_NIL)
        p->pins[pin->prev].next = pin->next;
    else
        p->pin_oldest = pin->next;
    if (pin->next != DP_NIL)
        p->pins[pin->next].prev = pin->prev;
    else
        p->pin_newest = pin->prev;
    pin->used = 0;
    pin->next = p->pin_free;
    p->pin_free = idx;
    atomic_store_explicit(&p->pin_count, atomic_load_explicit(&p->pin_count, DP_RELAXED) - 1u,
                          DP_RELAXED);
}

static void drop_oldest_pin(drainprof *p)
{
    pin_unlink(p, p->pin_oldest);
    atomic_fetch_add_explicit(&p->life_dropped, 1u, DP_RELAXED);
}

static uint32_t pin_alloc(drainprof *p)
{
    if (p->pin_free == DP_NIL) {
        uint32_t ncap = p->pin_cap < 16u ? 16u : p->pin_cap * 2u;
        if (ncap > p->life_limit)
            ncap = p->life_limit;
        if (ncap <= p->pin_cap)
            return DP_NIL;
        dp_pin *np = realloc(p->pins, (size_t)ncap * sizeof *np);
        if (np == NULL)
            return DP_NIL;
        p->pins = np;
        for (uint32_t i = ncap; i-- > p->pin_cap;) {
            np[i].used = 0;
            np[i].next = p->pin_free;
            p->pin_free = i;
        }
        p->pin_cap = ncap;
    }
    uint32_t idx = p->pin_free;
    p->pin_free = p->pins[idx].next;
    return idx;
}

uint64_t dp_life_add_pins_locked(drainprof *p, uint64_t gid, const drainprof_pinning_alloc *allocs,
                                 uint32_t n, uint64_t open_ns, uint64_t close_ns)
{
    uint64_t first = p->next_pin_seq;
    p->next_pin_seq += n;
    for (uint32_t i = 0; i < n && p->life_limit > 0; i++) {
        if (atomic_load_explicit(&p->pin_count, DP_RELAXED) >= p->life_limit)
            drop_oldest_pin(p);
        uint32_t idx = pin_alloc(p);
        dp_qslot *q = idx == DP_NIL ? NULL
                                    : dp_qmap_upsert(&p->pins_by_key, gid, allocs[i].alloc_id);
        if (q == NULL) {
            if (idx != DP_NIL) {
                p->pins[idx].next = p->pin_free;
                p->pin_free = idx;
            }
            atomic_fetch_add_explicit(&p->life_dropped, 1u, DP_RELAXED);
            continue;
        }
        dp_pin *pin = &p->pins[idx];
        pin->gid = gid;
        pin->aid = allocs[i].alloc_id;
        pin->site = allocs[i].alloc_site;
        pin->size = allocs[i].size;
        pin->open_ns = open_ns;
        pin->close_ns = close_ns < open_ns ? open_ns : close_ns;
        pin->seq = first + i;
        pin->used = 1;
        pin->qnext = DP_NIL;
        pin->next = DP_NIL;
        pin->prev = p->pin_newest;
        if (p->pin_newest != DP_NIL)
            p->pins[p->pin_newest].next = idx;
        else
            p->pin_oldest = idx;
        p->pin_newest = idx;
        if (q->head1 == 0)
            q->head1 = idx + 1u;
        else
            p->pins[q->tail].qnext = idx;
        q->tail = idx;
        atomic_store_explicit(&p->pin_count,
                              atomic_load_explicit(&p->pin_count, DP_RELAXED) + 1u, DP_RELAXED);
    }
    return first;
}

static void record_push(drainprof *p, const dp_life_rec *rec)
{
    if (p->life_limit == 0)
        return;
    if (p->life_count >= p->life_limit) {
        p->life_head = (p->life_head + 1u) % p->life_cap;
        p->life_count--;
        atomic_fetch_add_explicit(&p->life_dropped, 1u, DP_RELAXED);
    } else if (p->life_count == p->life_cap) {
        uint32_t ncap = p->life_cap < 16u ? 16u : p->life_cap * 2u;
        if (ncap > p->life_limit)
            ncap = p->life_limit;
        dp_life_rec *nr = malloc((size_t)ncap * sizeof *nr);
        if (nr == NULL) {
            if (p->life_count == 0) {
                atomic_fetch_add_explicit(&p->life_dropped, 1u, DP_RELAXED);
                return;
            }
            p->life_head = (p->life_head + 1u) % p->life_cap;
            p->life_count--;
            atomic_fetch_add_explicit(&p->life_dropped, 1u, DP_RELAXED);
        } else {
            for (uint32_t i = 0; i < p->life_count; i++)
                nr[i] = p->life_recs[(p->life_head + i) % p->life_cap];
            free(p->life_recs);
            p->life_recs = nr;
            p->life_cap = ncap;
            p->life_head = 0;
        }
    }
    p->life_recs[(p->life_head + p->life_count) % p->life_cap] = *rec;
    p->life_count++;
}

int dp_life_resolve(drainprof *p, uint64_t gid, uint64_t aid)
{
    if (atomic_load_explicit(&p->pin_count, DP_RELAXED) == 0)
        return -1;
    uint64_t now = dp_clock_now_ns();
    pthread_mutex_lock(&p->life_lock);
    dp_qslot *q = dp_qmap_find(&p->pins_by_key, gid, aid);
    if (q == NULL) {
        pthread_mutex_unlock(&p->life_lock);
        return -1;
    }
    uint32_t idx = q->head1 - 1u;
    const dp_pin *pin = &p->pins[idx];
    dp_life_rec rec;
    rec.pub.granule_id = pin->gid;
    rec.pub.alloc_id = pin->aid;
    rec.pub.alloc_site = pin->site;
    rec.pub.size = pin->size;
    rec.pub.granule_lifetime_sec = (double)(pin->close_ns - pin->open_ns) / 1e9;
    rec.pub.lifetime_delta_sec = now > pin->close_ns ? (double)(now - pin->close_ns) / 1e9 : 0.0;
    rec.pub.violation_class =
        drainprof_ext_classify(rec.pub.lifetime_delta_sec, rec.pub.granule_lifetime_sec);
    rec.pin_seq = pin->seq;
    pin_unlink(p, idx);
    record_push(p, &rec);
    atomic_fetch_add_explicit(&p->life_recorded, 1u, DP_RELAXED);
    /* The report remembers the resolution itself: the record may be dropped
     * by the limit later, and the pin must not count as unresolved again. */
    if (p->buffered)
        dp_reports_mark_resolved_locked(p, rec.pin_seq);
    pthread_mutex_unlock(&p->life_lock);
    return 0;
}

DP_EXPORT int drainprof_ext_set_lifetime_limit(drainprof *prof, uint32_t limit)
{
    if (prof == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    pthread_mutex_lock(&prof->life_lock);
    prof->life_limit = limit;
    while (atomic_load_explicit(&prof->pin_count, DP_RELAXED) > limit)
        drop_oldest_pin(prof);
    while (prof->life_count > limit) {
        prof->life_head = (prof->life_head + 1u) % prof->life_cap;
        prof->life_count--;
        atomic_fetch_add_explicit(&prof->life_dropped, 1u, DP_RELAXED);
    }
    pthread_mutex_unlock(&prof->life_lock);
    return 0;
}

DP_EXPORT uint32_t drainprof_ext_lifetime_records(drainprof *prof,
                                                  drainprof_ext_lifetime_record *out,
                                                  uint32_t max)
{
    if (prof == NULL || out == NULL || max == 0 || prof->mode != DRAINPROF_DIAGNOSTIC)
        return 0;
    pthread_mutex_lock(&prof->life_lock);
    uint32_t n = prof->life_count < max ? prof->life_count : max;
    for (uint32_t i = 0; i < n; i++)
        out[i] = prof->life_recs[(prof->life_head + i) % prof->life_cap].pub;
    pthread_mutex_unlock(&prof->life_lock);
    return n;
}

DP_EXPORT drainprof_ext_violation_class drainprof_ext_classify(double lifetime_delta_sec,
                                                               double granule_lifetime_sec)
{
    if (!(lifetime_delta_sec >= 0.0))  /* negative or NaN */
        return DRAINPROF_EXT_CLASS_UNRESOLVED;
    if (!(granule_lifetime_sec > 0.0))
        return lifetime_delta_sec > 0.0 ? DRAINPROF_EXT_CLASS_FUNDAMENTAL
                                        : DRAINPROF_EXT_CLASS_NEAR_MISS;
    double ratio = lifetime_delta_sec / granule_lifetime_sec;
    if (ratio < 0.1)
        return DRAINPROF_EXT_CLASS_NEAR_MISS;
    if (ratio <= 10.0)
        return DRAINPROF_EXT_CLASS_MODERATE;
    return DRAINPROF_EXT_CLASS_FUNDAMENTAL;
}

DP_EXPORT const char *drainprof_ext_class_name(drainprof_ext_violation_class cls)
{
    switch (cls) {
    case DRAINPROF_EXT_CLASS_UNRESOLVED: return "unresolved";
    case DRAINPROF_EXT_CLASS_NEAR_MISS: return "near_miss";
    case DRAINPROF_EXT_CLASS_MODERATE: return "moderate";
    case DRAINPROF_EXT_CLASS_FUNDAMENTAL: return "fundamental_mismatch";
    }
    return "unknown";
}

/* ------------------------------------------------------------ ext summary */

static int cmp_ext_sites(const void *x, const void *y)
{
    const dp_site_acc *a = x, *b = y;
    bool ra = a->total_allocs > 0, rb = b->total_allocs > 0;
    if (ra != rb)
        return ra ? -1 : 1;
    if (ra)
        return dp_site_cmp_reports(a, b);
    if (a->life_count != b->life_count)
        return a->life_count > b->life_count ? -1 : 1;
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

static drainprof_ext_violation_class dominant(const uint32_t *counts)
{
    drainprof_ext_violation_class best = DRAINPROF_EXT_CLASS_UNRESOLVED;
    uint32_t best_n = 0;
    for (int c = 1; c < DRAINPROF_EXT_CLASS_COUNT; c++) {
        if (counts[c] > 0 && counts[c] >= best_n) {  /* >=: the more severe wins a tie */
            best = (drainprof_ext_violation_class)c;
            best_n = counts[c];
        }
    }
    return best;
}

DP_EXPORT drainprof_ext_summary *drainprof_ext_summary_compute(drainprof *prof)
{
    if (prof == NULL)
        return dp_fail_null(DRAINPROF_EXT_ERR_NULL);
    if (prof->mode != DRAINPROF_DIAGNOSTIC)
        return dp_fail_null(DRAINPROF_EXT_ERR_WRONG_MODE);
    dp_site_table t = {0};
    dp_life_rec *recs = NULL;
    uint32_t nrecs = 0, reports = 0, pins = 0;
    int rc = 0;

    pthread_mutex_lock(&prof->life_lock);
    nrecs = prof->life_count;
    if (nrecs > 0) {
        recs = malloc((size_t)nrecs * sizeof *recs);
        if (recs == NULL)
            rc = -1;
        else
            for (uint32_t i = 0; i < nrecs; i++)
                recs[i] = prof->life_recs[(prof->life_head + i) % prof->life_cap];
    }
    pthread_mutex_unlock(&prof->life_lock);

    if (rc == 0 && prof->buffered) {
        pthread_mutex_lock(&prof->report_lock);
        rc = dp_sites_add_reports(prof, &t, &reports, &pins, true);
        pthread_mutex_unlock(&prof->report_lock);
    }
    for (uint32_t i = 0; rc == 0 && i < nrecs; i++) {
        dp_site_acc *a = dp_sites_get(&t, &recs[i].pub.alloc_site);
        if (a == NULL) {
            rc = -1;
            break;
        }
        a->class_counts[recs[i].pub.violation_class]++;
        a->life_count++;
    }
    drainprof_ext_summary *s = NULL;
    if (rc == 0)
        s = calloc(1, sizeof *s);
    if (s != NULL && t.n > 0) {
        s->sites = calloc(t.n, sizeof *s->sites);
        if (s->sites == NULL) {
            free(s);
            s = NULL;
        }
    }
    if (s != NULL) {
        if (t.n > 0)
            qsort(t.v, t.n, sizeof *t.v, cmp_ext_sites);
        for (uint32_t i = 0; i < t.n; i++) {
            drainprof_ext_site_entry *e = &s->sites[i];
            e->base.site = t.v[i].site;
            e->base.pinning_count = t.v[i].pinning_count;
            e->base.total_allocs = t.v[i].total_allocs;
            e->base.total_bytes = t.v[i].total_bytes;
            memcpy(e->class_counts, t.v[i].class_counts, sizeof e->class_counts);
            e->dominant_class = dominant(e->class_counts);
        }
        s->site_count = t.n;
        s->total_pinning_allocs = pins;
        s->reports_analyzed = reports;
        s->lifetime_records_analyzed = nrecs;
    }
    dp_sites_free(&t);
    free(recs);
    if (s == NULL)
        return dp_fail_null(DRAINPROF_EXT_ERR_NO_MEMORY);
    return s;
}

DP_EXPORT void drainprof_ext_summary_free(drainprof_ext_summary *summary)
{
    if (summary == NULL)
        return;
    free(summary->sites);
    free(summary);
}
