/* reports.c - pinning reports, the report buffer, drain, the 0.1 summary. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------------- building */

void dp_reports_pinned_close(drainprof *p, uint64_t gid, const dp_diag_detached *d,
                             dp_time_pair close_time)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < d->len; i++)
        n += d->allocs[i].live ? 1u : 0u;
    /* One block: the report, its pinning allocations, then one resolved
     * flag per pin (drainprof_pinning_report_free frees all of it). */
    dp_report_box *box = malloc(sizeof *box + (size_t)n * (sizeof box->allocs[0] + 1u));
    if (box == NULL) {
        /* The close is counted; only its report is lost, and said so. */
        atomic_fetch_add_explicit(&p->dropped_reports, 1u, DP_RELAXED);
        return;
    }
    drainprof_pinning_report *r = &box->pub;
    r->granule_id = gid;
    r->open_time = dp_ns_to_timespec(d->open_time.ns);
    r->close_time = dp_ns_to_timespec(close_time.ns < d->open_time.ns ? d->open_time.ns
                                                                      : close_time.ns);
    r->pinning_allocs = box->allocs;
    box->resolved = (uint8_t *)(box->allocs + n);
    memset(box->resolved, 0, n);
    r->pinning_count = n;
    r->total_allocs = d->total_regs > UINT32_MAX ? UINT32_MAX : (uint32_t)d->total_regs;
    r->drained_allocs = r->total_allocs >= n ? r->total_allocs - n : 0;
    uint32_t j = 0;
    for (uint32_t i = 0; i < d->len; i++) {
        const dp_diag_alloc *a = &d->allocs[i];
        if (!a->live)
            continue;
        drainprof_pinning_alloc *o = &box->allocs[j++];
        o->alloc_id = a->aid;
        o->alloc_site.file = a->file;
        o->alloc_site.line = a->line;
        o->alloc_site.column = a->column;
        o->alloc_time = dp_ns_to_timespec(
            dp_clock_stamp_to_ns(p->use_tsc, a->stamp, d->open_time, close_time));
        o->size = a->size;
        o->lifetime_delta_sec = -1.0;
    }
    /* Pins first: a callback that frees one already gets its delta. */
    pthread_mutex_lock(&p->life_lock);
    box->first_pin_seq = dp_life_add_pins_locked(p, gid, box->allocs, n, d->open_time.ns,
                                                 close_time.ns);
    if (p->cfg.on_pinning != NULL) {
        pthread_mutex_unlock(&p->life_lock);
        p->cfg.on_pinning(r, p->cfg.callback_user_data);
        free(box);
        return;
    }
    /* life_lock stays held until the report is buffered, so a free of one of
     * its pins cannot fall between the two and go unmarked; it also keeps the
     * buffer in pin-sequence order, which dp_reports_mark_resolved_locked
     * searches. */
    dp_report_box *dropped = NULL;
    pthread_mutex_lock(&p->report_lock);
    uint32_t max = p->cfg.max_buffered_reports;
    if (max == 0) {
        dropped = box;
    } else {
        if (p->report_count == max) {
            dropped = p->reports[p->report_head];
            p->report_head = (p->report_head + 1u) % p->report_cap;
            p->report_count--;
        } else if (p->report_count == p->report_cap) {
            /* Grow the ring geometrically up to max, unrolling it. */
            uint32_t ncap = p->report_cap == 0 ? 16u : p->report_cap * 2u;
            if (ncap > max || ncap < p->report_cap)
                ncap = max;
            dp_report_box **nr = malloc((size_t)ncap * sizeof *nr);
            if (nr == NULL) {
                if (p->report_count == 0) {
                    dropped = box;
                    box = NULL;
                } else {
                    dropped = p->reports[p->report_head];
                    p->report_head = (p->report_head + 1u) % p->report_cap;
                    p->report_count--;
                }
            } else {
                for (uint32_t i = 0; i < p->report_count; i++)
                    nr[i] = p->reports[(p->report_head + i) % p->report_cap];
                free(p->reports);
                p->reports = nr;
                p->report_cap = ncap;
                p->report_head = 0;
            }
        }
        if (box != NULL) {
            p->reports[(p->report_head + p->report_count) % p->report_cap] = box;
            p->report_count++;
        }
    }
    if (dropped != NULL)
        atomic_fetch_add_explicit(&p->dropped_reports, 1u, DP_RELAXED);
    pthread_mutex_unlock(&p->report_lock);
    pthread_mutex_unlock(&p->life_lock);
    free(dropped);
}

void dp_reports_mark_resolved_locked(drainprof *p, uint64_t seq)
{
    pthread_mutex_lock(&p->report_lock);
    /* Buffered reports are in pin-sequence order: binary search the ring. */
    uint32_t lo = 0, hi = p->report_count;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        const dp_report_box *b = p->reports[(p->report_head + mid) % p->report_cap];
        if (b->first_pin_seq + b->pub.pinning_count <= seq)
            lo = mid + 1u;
        else
            hi = mid;
    }
    if (lo < p->report_count) {
        dp_report_box *b = p->reports[(p->report_head + lo) % p->report_cap];
        if (seq >= b->first_pin_seq && seq - b->first_pin_seq < b->pub.pinning_count)
            b->resolved[seq - b->first_pin_seq] = 1;
    }
    pthread_mutex_unlock(&p->report_lock);
}

void dp_reports_reset(drainprof *p)
{
    for (uint32_t i = 0; i < p->report_count; i++)
        free(p->reports[(p->report_head + i) % p->report_cap]);
    free(p->reports);
    p->reports = NULL;
    p->report_cap = p->report_head = p->report_count = 0;
    atomic_store_explicit(&p->dropped_reports, 0, DP_RELAXED);
}

DP_EXPORT uint32_t drainprof_drain_reports(drainprof *prof, drainprof_pinning_report **reports,
                                           uint32_t max)
{
    if (prof == NULL || reports == NULL || max == 0 || !prof->buffered)
        return 0;
    pthread_mutex_lock(&prof->report_lock);
    uint32_t n = prof->report_count < max ? prof->report_count : max;
    for (uint32_t i = 0; i < n; i++) {
        reports[i] = &prof->reports[prof->report_head]->pub;
        prof->report_head = (prof->report_head + 1u) % prof->report_cap;
    }
    prof->report_count -= n;
    pthread_mutex_unlock(&prof->report_lock);
    return n;
}

DP_EXPORT void drainprof_pinning_report_free(drainprof_pinning_report *report)
{
    /* pub is the first member of the box: one allocation. */
    free(report);
}

/* ------------------------------------------------------------------ sites */

static uint64_t site_hash(const drainprof_alloc_site *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    if (s->file != NULL) {
        for (const unsigned char *c = (const unsigned char *)s->file; *c; c++)
            h = (h ^ *c) * 0x100000001b3ULL;
    } else {
        h ^= 0x5bd1e995u;
    }
    return dp_hash64(h ^ s->line);
}

static bool site_eq(const drainprof_alloc_site *a, const drainprof_alloc_site *b)
{
    if (a->line != b->line)
        return false;
    if (a->file == b->file)
        return true;
    if (a->file == NULL || b->file == NULL)
        return false;
    return strcmp(a->file, b->file) == 0;
}

static int sites_rehash(dp_site_table *t, uint32_t ncap)
{
    uint32_t *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return -1;
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t j = (uint32_t)site_hash(&t->v[i].site) & (ncap - 1u);
        while (ns[j] != 0)
            j = (j + 1u) & (ncap - 1u);
        ns[j] = i + 1u;
    }
    free(t->slots);
    t->slots = ns;
    t->mask = ncap - 1u;
    return 0;
}

dp_site_acc *dp_sites_get(dp_site_table *t, const drainprof_alloc_site *site)
{
    if (t->slots != NULL) {
        uint32_t j = (uint32_t)site_hash(site) & t->mask;
        while (t->slots[j] != 0) {
            dp_site_acc *a = &t->v[t->slots[j] - 1u];
            if (site_eq(&a->site, site))
                return a;
            j = (j + 1u) & t->mask;
        }
    }
    if (t->n == t->cap) {
        uint32_t ncap = t->cap == 0 ? 16u : t->cap * 2u;
        dp_site_acc *nv = realloc(t->v, (size_t)ncap * sizeof *nv);
        if (nv == NULL)
            return NULL;
        t->v = nv;
        t->cap = ncap;
    }
    if (t->slots == NULL || (t->n + 1u) * 2u > t->mask + 1u) {
        if (sites_rehash(t, t->slots == NULL ? 32u : (t->mask + 1u) * 2u) != 0)
            return NULL;
    }
    dp_site_acc *a = &t->v[t->n];
    memset(a, 0, sizeof *a);
    a->site = *site;
    a->order = t->n;
    uint32_t j = (uint32_t)site_hash(site) & t->mask;
    while (t->slots[j] != 0)
        j = (j + 1u) & t->mask;
    t->slots[j] = ++t->n;
    return a;
}

void dp_sites_free(dp_site_table *t)
{
    free(t->v);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

int dp_sites_add_reports(drainprof *p, dp_site_table *t, uint32_t *reports, uint32_t *pins,
                         bool count_unresolved)
{
    uint32_t total = 0;
    for (uint32_t r = 0; r < p->report_count; r++) {
        const dp_report_box *box = p->reports[(p->report_head + r) % p->report_cap];
        for (uint32_t i = 0; i < box->pub.pinning_count; i++) {
            const drainprof_pinning_alloc *pa = &box->pub.pinning_allocs[i];
            dp_site_acc *a = dp_sites_get(t, &pa->alloc_site);
            if (a == NULL)
                return -1;
            if (a->last_report != r + 1u) {
                a->last_report = r + 1u;
                a->pinning_count++;
            }
            a->total_allocs++;
            a->total_bytes += pa->size;
            total++;
            if (count_unresolved && !box->resolved[i])
                a->class_counts[DRAINPROF_EXT_CLASS_UNRESOLVED]++;
        }
    }
    *reports = p->report_count;
    *pins = total;
    return 0;
}

int dp_site_cmp_reports(const dp_site_acc *a, const dp_site_acc *b)
{
    if (a->pinning_count != b->pinning_count)
        return a->pinning_count > b->pinning_count ? -1 : 1;
    if (a->total_bytes != b->total_bytes)
        return a->total_bytes > b->total_bytes ? -1 : 1;
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

static int cmp_sites(const void *x, const void *y)
{
    return dp_site_cmp_reports(x, y);
}

DP_EXPORT drainprof_diagnostic_summary *drainprof_diagnostic_summary_compute(drainprof *prof)
{
    if (prof == NULL)
        return dp_fail_null(DRAINPROF_EXT_ERR_NULL);
    if (!prof->buffered)
        return dp_fail_null(DRAINPROF_EXT_ERR_WRONG_MODE);
    dp_site_table t = {0};
    uint32_t reports = 0, pins = 0;
    pthread_mutex_lock(&prof->report_lock);
    int rc = dp_sites_add_reports(prof, &t, &reports, &pins, false);
    pthread_mutex_unlock(&prof->report_lock);
    drainprof_diagnostic_summary *s = NULL;
    if (rc == 0)
        s = calloc(1, sizeof *s);
    if (s != NULL && t.n > 0) {
        s->sites = calloc(t.n, sizeof *s->sites);
        if (s->sites == NULL) {
            free(s);
            s = NULL;
        }
    }
    if (s == NULL) {
        dp_sites_free(&t);
        return dp_fail_null(DRAINPROF_EXT_ERR_NO_MEMORY);
    }
    if (t.n > 0)
        qsort(t.v, t.n, sizeof *t.v, cmp_sites);
    for (uint32_t i = 0; i < t.n; i++) {
        s->sites[i].site = t.v[i].site;
        s->sites[i].pinning_count = t.v[i].pinning_count;
        s->sites[i].total_allocs = t.v[i].total_allocs;
        s->sites[i].total_bytes = t.v[i].total_bytes;
    }
    s->site_count = t.n;
    s->total_pinning_allocs = pins;
    s->reports_analyzed = reports;
    dp_sites_free(&t);
    return s;
}

DP_EXPORT void drainprof_diagnostic_summary_free(drainprof_diagnostic_summary *summary)
{
    if (summary == NULL)
        return;
    free(summary->sites);
    free(summary);
}
