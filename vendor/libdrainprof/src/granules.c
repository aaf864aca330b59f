/* granules.c - granule_open and granule_close. Both take table_lock; stderr
 * lines, reports and callbacks run after it is released. */
#include "internal.h"

static void add_u64(_Atomic uint64_t *c, int64_t d)
{
    /* Only under table_lock: the lock orders writers, readers are lock-free. */
    atomic_store_explicit(c, atomic_load_explicit(c, DP_RELAXED) + (uint64_t)d, DP_RELAXED);
}

DP_EXPORT int drainprof_granule_open(drainprof *prof, drainprof_granule_id id)
{
    if (prof == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    dp_time_pair now = {0, 0};
    bool diag = prof->mode == DRAINPROF_DIAGNOSTIC;
    if (diag)
        now = dp_clock_pair(prof->use_tsc);
    drainprof_ext_error err = DRAINPROF_EXT_ERR_ALREADY_OPEN;
    pthread_mutex_lock(&prof->table_lock);
    dp_rec *rec = NULL;
    if (dp_table_find_locked(prof, id) == NULL)
        rec = dp_table_take_locked(prof, &err);
    if (rec == NULL) {
        add_u64(&prof->failed_opens, 1);
        pthread_mutex_unlock(&prof->table_lock);
        return dp_fail(err);
    }
    atomic_store_explicit(&rec->id, id, DP_RELAXED);
    if (diag)
        dp_diag_open(prof, rec, now);
    uint64_t g = atomic_load_explicit(&rec->gen, DP_RELAXED);
    /* Release: a reader that sees the odd gen sees the id and the state. */
    atomic_store_explicit(&rec->gen, g + 1u, DP_RELEASE);
    if (dp_table_insert_locked(prof, rec) != 0) {
        atomic_store_explicit(&rec->gen, g + 2u, DP_RELEASE);
        rec->next_free = prof->free_head;
        prof->free_head = rec->index;
        add_u64(&prof->failed_opens, 1);
        pthread_mutex_unlock(&prof->table_lock);
        return dp_fail(DRAINPROF_EXT_ERR_NO_MEMORY);
    }
    uint64_t open = atomic_load_explicit(&prof->open, DP_RELAXED) + 1u;
    atomic_store_explicit(&prof->open, open, DP_RELAXED);
    if (open > atomic_load_explicit(&prof->peak, DP_RELAXED))
        atomic_store_explicit(&prof->peak, open, DP_RELAXED);
    pthread_mutex_unlock(&prof->table_lock);
    return 0;
}

DP_EXPORT int drainprof_granule_close(drainprof *prof, drainprof_granule_id id)
{
    if (prof == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    bool diag = prof->mode == DRAINPROF_DIAGNOSTIC;
    dp_time_pair close_time = {0, 0};
    if (diag)
        close_time = dp_clock_pair(prof->use_tsc);
    dp_diag_detached d = {0};
    pthread_mutex_lock(&prof->table_lock);
    dp_rec *rec = dp_table_find_locked(prof, id);
    if (rec == NULL) {
        add_u64(&prof->failed_closes, 1);
        pthread_mutex_unlock(&prof->table_lock);
        return dp_fail(DRAINPROF_EXT_ERR_NOT_OPEN);
    }
    /* Foreign slots first: their counts join shared_net, which the sum below
     * takes, and their owners see token 0 from now on. */
    dp_foreign_close(prof, rec);
    int64_t live;
    if (diag) {
        dp_diag_detach(rec, &d);
        live = d.live;
    } else {
        live = dp_counters_net(prof, rec, true);
    }
    add_u64(&prof->open, -1);
    if (live < 0) {
        /* More deregisters than registers: the granule is released but the
         * close is not counted, so a miscounting caller cannot fake a DSR. */
        add_u64(&prof->unbalanced, 1);
        add_u64(&prof->failed_closes, 1);
        dp_table_release_locked(prof, rec);
        pthread_mutex_unlock(&prof->table_lock);
        if (diag)
            dp_diag_release(&d);
        return dp_fail(DRAINPROF_EXT_ERR_UNBALANCED);
    }
    bool pinned = live > 0;
    add_u64(pinned ? &prof->pinned : &prof->drainable, 1);
    uint64_t drainable_n = atomic_load_explicit(&prof->drainable, DP_RELAXED);
    uint64_t pinned_n = atomic_load_explicit(&prof->pinned, DP_RELAXED);
    uint64_t interval = prof->cfg.log_interval;
    bool log_line = interval != 0 && (drainable_n + pinned_n) % interval == 0;
    dp_table_release_locked(prof, rec);
    pthread_mutex_unlock(&prof->table_lock);

    if (log_line || (pinned && prof->cfg.verbose))
        dp_text_close_lines(prof, id, pinned, (uint64_t)live, log_line, drainable_n, pinned_n);
    if (diag) {
        if (pinned)
            dp_reports_pinned_close(prof, id, &d, close_time);
        dp_diag_release(&d);
    }
    return pinned ? 0 : 1;
}
