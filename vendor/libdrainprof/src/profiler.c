/* profiler.c - configuration and lifecycle: create, destroy, reset. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

DP_EXPORT void drainprof_config_default(drainprof_config *config)
{
    if (config == NULL)
        return;
    memset(config, 0, sizeof *config);
    config->mode = DRAINPROF_PRODUCTION;
    config->storage = DRAINPROF_SLOT_ARRAY;
    config->slot_capacity = 1024;
    config->bucket_count = 64;
    config->log_interval = 0;
    config->on_pinning = NULL;
    config->callback_user_data = NULL;
    config->max_buffered_reports = 1000;
    config->verbose = false;
}

DP_EXPORT drainprof *drainprof_create(void)
{
    drainprof_config c;
    drainprof_config_default(&c);
    return drainprof_create_with_config(&c);
}

static void free_profiler(drainprof *p)
{
    dp_table_destroy(p);
    dp_counters_destroy(p);
    dp_reports_reset(p);
    dp_life_destroy(p);
    pthread_mutex_destroy(&p->table_lock);
    pthread_mutex_destroy(&p->report_lock);
    pthread_mutex_destroy(&p->life_lock);
    free(p);
}

DP_EXPORT drainprof *drainprof_create_with_config(const drainprof_config *config)
{
    if (config == NULL)
        return dp_fail_null(DRAINPROF_EXT_ERR_NULL);
    if ((config->mode != DRAINPROF_PRODUCTION && config->mode != DRAINPROF_DIAGNOSTIC) ||
        (config->storage != DRAINPROF_SLOT_ARRAY && config->storage != DRAINPROF_HASH_MAP) ||
        (config->storage == DRAINPROF_SLOT_ARRAY && config->slot_capacity == 0))
        return dp_fail_null(DRAINPROF_EXT_ERR_INVALID);
    drainprof *p = aligned_alloc(DP_CACHE_LINE, sizeof *p);
    if (p == NULL)
        return dp_fail_null(DRAINPROF_EXT_ERR_NO_MEMORY);
    memset(p, 0, sizeof *p);
    p->cfg = *config;
    p->mode = config->mode;
    p->buffered = config->mode == DRAINPROF_DIAGNOSTIC && config->on_pinning == NULL;
    p->use_tsc = config->mode == DRAINPROF_DIAGNOSTIC && dp_clock_tsc_usable();
    pthread_mutex_init(&p->table_lock, NULL);
    pthread_mutex_init(&p->report_lock, NULL);
    pthread_mutex_init(&p->life_lock, NULL);
    if (dp_counters_init(p) != 0 || dp_life_init(p) != 0 || dp_table_init(p) != 0) {
        free_profiler(p);
        return dp_fail_null(DRAINPROF_EXT_ERR_NO_MEMORY);
    }
    return p;
}

DP_EXPORT void drainprof_destroy(drainprof *prof)
{
    if (prof == NULL)
        return;
    free_profiler(prof);
}

DP_EXPORT void drainprof_reset(drainprof *prof)
{
    if (prof == NULL)
        return;
    /* Nothing may run concurrently; the locks only order memory for callers
     * that synchronised with us. */
    pthread_mutex_lock(&prof->table_lock);
    dp_table_reset(prof);
    dp_counters_reset(prof);
    atomic_store_explicit(&prof->open, 0, DP_RELAXED);
    atomic_store_explicit(&prof->peak, 0, DP_RELAXED);
    atomic_store_explicit(&prof->drainable, 0, DP_RELAXED);
    atomic_store_explicit(&prof->pinned, 0, DP_RELAXED);
    atomic_store_explicit(&prof->unbalanced, 0, DP_RELAXED);
    atomic_store_explicit(&prof->failed_opens, 0, DP_RELAXED);
    atomic_store_explicit(&prof->failed_closes, 0, DP_RELAXED);
    pthread_mutex_unlock(&prof->table_lock);
    pthread_mutex_lock(&prof->report_lock);
    dp_reports_reset(prof);
    pthread_mutex_unlock(&prof->report_lock);
    pthread_mutex_lock(&prof->life_lock);
    dp_life_reset(prof);
    pthread_mutex_unlock(&prof->life_lock);
}

DP_EXPORT int drainprof_ext_get_config(const drainprof *prof, drainprof_config *out)
{
    if (prof == NULL || out == NULL)
        return dp_fail(DRAINPROF_EXT_ERR_NULL);
    *out = prof->cfg;
    return 0;
}
