/*
 * drainprof_node_shim.c - libdrainprof's API inside a dependent addon, forwarding
 * to the drainprof addon's copy of the library.
 *
 * Compiled into the dependent addon (require('drainprof/native').gyp or
 * .sources). Every drainprof.h / drainprof_ext.h function is defined here and
 * calls the same function of the drainprof addon through the table that
 * drainprof_node_acquire() installed (see drainprof_node.h). Until then the
 * table is one of stubs that behave as for a NULL profiler, so no call can
 * reach a null pointer.
 *
 * Everything here has hidden visibility: the definitions bind inside the
 * dependent addon and are never exported from it, so they neither interpose
 * on nor are interposed by another libdrainprof or another addon's shim.
 */
#include <node_api.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* System and Node headers above keep their visibility; libdrainprof's
 * declarations below, and so the definitions, are hidden. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

#include "drainprof_node.h"

/* ---- before any acquire: a NULL profiler's results ---------------------- */

static void stub_void_prof(drainprof *prof) { (void)prof; }
static drainprof *stub_acquire(const struct drainprof_node_handle *handle, const char **why) {
    (void)handle;
    *why = "drainprof: no table";
    return NULL;
}
static void stub_config_default(drainprof_config *config) { (void)config; }
static drainprof *stub_create(void) { return NULL; }
static drainprof *stub_create_with_config(const drainprof_config *config) { (void)config; return NULL; }
static int stub_granule(drainprof *prof, drainprof_granule_id id) { (void)prof; (void)id; return -1; }
static int stub_alloc_register(drainprof *prof, drainprof_granule_id g, drainprof_alloc_id a, size_t s) {
    (void)prof; (void)g; (void)a; (void)s;
    return -1;
}
static int stub_alloc_register_located(drainprof *prof, drainprof_granule_id g, drainprof_alloc_id a,
                                       size_t s, const char *file, uint32_t line) {
    (void)prof; (void)g; (void)a; (void)s; (void)file; (void)line;
    return -1;
}
static int stub_alloc_deregister(drainprof *prof, drainprof_granule_id g, drainprof_alloc_id a) {
    (void)prof; (void)g; (void)a;
    return -1;
}
static void stub_snapshot(const drainprof *prof, drainprof_snapshot_t *out) { (void)prof; (void)out; }
static void stub_sweep(drainprof *prof, drainprof_snapshot_t *out) { (void)prof; (void)out; }
static uint32_t stub_drain_reports(drainprof *prof, drainprof_pinning_report **r, uint32_t max) {
    (void)prof; (void)r; (void)max;
    return 0;
}
static void stub_report_free(drainprof_pinning_report *report) { (void)report; }
static drainprof_diagnostic_summary *stub_summary_compute(drainprof *prof) { (void)prof; return NULL; }
static void stub_summary_free(drainprof_diagnostic_summary *summary) { (void)summary; }
static drainprof_ext_error stub_last_error(void) { return DRAINPROF_EXT_ERR_NULL; }
static const char *stub_error_name(drainprof_ext_error error) { (void)error; return "UNKNOWN"; }
static int stub_get_config(const drainprof *prof, drainprof_config *out) { (void)prof; (void)out; return -1; }
static int stub_granule_live(const drainprof *prof, drainprof_granule_id id, int64_t *live) {
    (void)prof; (void)id; (void)live;
    return -1;
}
static void stub_ext_snapshot(const drainprof *prof, drainprof_ext_snapshot_t *out) { (void)prof; (void)out; }
static int stub_register_site(drainprof *prof, drainprof_granule_id g, drainprof_alloc_id a, size_t s,
                              const drainprof_alloc_site *site) {
    (void)prof; (void)g; (void)a; (void)s; (void)site;
    return -1;
}
static drainprof_ext_violation_class stub_classify(double delta, double lifetime) {
    (void)delta; (void)lifetime;
    return DRAINPROF_EXT_CLASS_UNRESOLVED;
}
static const char *stub_class_name(drainprof_ext_violation_class cls) { (void)cls; return "unknown"; }
static int stub_set_lifetime_limit(drainprof *prof, uint32_t limit) { (void)prof; (void)limit; return -1; }
static uint32_t stub_lifetime_records(drainprof *prof, drainprof_ext_lifetime_record *out, uint32_t max) {
    (void)prof; (void)out; (void)max;
    return 0;
}
static drainprof_ext_summary *stub_ext_summary_compute(drainprof *prof) { (void)prof; return NULL; }
static void stub_ext_summary_free(drainprof_ext_summary *summary) { (void)summary; }
static int64_t stub_format_metrics(const drainprof *prof, const drainprof_ext_metrics_options *o,
                                   char *buf, size_t size) {
    (void)prof; (void)o; (void)buf; (void)size;
    return -1;
}
static int64_t stub_format_report(drainprof *prof, uint32_t max_sites, char *buf, size_t size) {
    (void)prof; (void)max_sites; (void)buf; (void)size;
    return -1;
}

static int stub_foreign_attach(drainprof *prof, drainprof_granule_id id, drainprof_ext_foreign_slot *slot,
                               double token) {
    (void)prof; (void)id; (void)slot; (void)token;
    return -1;
}
static int stub_foreign_detach(drainprof *prof, drainprof_ext_foreign_slot *slot) {
    (void)prof; (void)slot;
    return -1;
}
static int stub_foreign_fold(drainprof *prof, drainprof_ext_foreign_slot *slot) {
    (void)prof; (void)slot;
    return -1;
}
static int stub_foreign_refused(drainprof *prof, bool deregister) { (void)prof; (void)deregister; return -1; }
static int stub_alloc_count(drainprof *prof, drainprof_granule_id id, uint64_t registers, uint64_t deregisters) {
    (void)prof; (void)id; (void)registers; (void)deregisters;
    return -1;
}

static const drainprof_node_api stubs = {
    DRAINPROF_NODE_ABI_VERSION, sizeof(drainprof_node_api),
    stub_acquire, stub_void_prof,
    stub_config_default, stub_create, stub_create_with_config, stub_void_prof,
    stub_granule, stub_granule, stub_alloc_register, stub_alloc_register_located,
    stub_alloc_deregister, stub_snapshot, stub_void_prof, stub_sweep, stub_drain_reports,
    stub_report_free, stub_summary_compute, stub_summary_free,
    stub_last_error, stub_error_name, stub_get_config, stub_granule_live, stub_ext_snapshot,
    stub_register_site, stub_classify, stub_class_name, stub_set_lifetime_limit,
    stub_lifetime_records, stub_ext_summary_compute, stub_ext_summary_free, stub_format_metrics,
    stub_format_report, stub_foreign_attach, stub_foreign_detach, stub_foreign_refused,
    stub_alloc_count, stub_foreign_fold,
};

/* ---- the table ---------------------------------------------------------- */

/* Written once (stubs -> the drainprof addon's table), on the JS thread that
 * first acquires; read by every call from any thread. An acquire load is a
 * plain load on x86 and ARMv8 (ldar), and pairs with the release store so a
 * thread that sees the new table sees it fully initialised. */
static _Atomic(const drainprof_node_api *) table = &stubs;

static inline const drainprof_node_api *api(void) {
    return atomic_load_explicit(&table, memory_order_acquire);
}

int drainprof_node_install_api(const drainprof_node_api *provider) {
    const drainprof_node_api *expected = &stubs;
    if (atomic_compare_exchange_strong_explicit(&table, &expected, provider, memory_order_acq_rel,
                                                memory_order_acquire)) {
        return 1;
    }
    return expected == provider;
}

void drainprof_node_release(drainprof *prof) {
    if (prof != NULL) api()->release(prof);
}

/* ---- drainprof.h -------------------------------------------------------- */

void drainprof_config_default(drainprof_config *config) { api()->config_default(config); }

drainprof *drainprof_create(void) { return api()->create(); }

drainprof *drainprof_create_with_config(const drainprof_config *config) {
    return api()->create_with_config(config);
}

void drainprof_destroy(drainprof *prof) { api()->destroy(prof); }

int drainprof_granule_open(drainprof *prof, drainprof_granule_id id) {
    return api()->granule_open(prof, id);
}

int drainprof_granule_close(drainprof *prof, drainprof_granule_id id) {
    return api()->granule_close(prof, id);
}

int drainprof_alloc_register(drainprof *prof, drainprof_granule_id granule_id,
                             drainprof_alloc_id alloc_id, size_t size) {
    return api()->alloc_register(prof, granule_id, alloc_id, size);
}

int drainprof_alloc_register_located(drainprof *prof, drainprof_granule_id granule_id,
                                     drainprof_alloc_id alloc_id, size_t size, const char *file,
                                     uint32_t line) {
    return api()->alloc_register_located(prof, granule_id, alloc_id, size, file, line);
}

int drainprof_alloc_deregister(drainprof *prof, drainprof_granule_id granule_id,
                               drainprof_alloc_id alloc_id) {
    return api()->alloc_deregister(prof, granule_id, alloc_id);
}

void drainprof_snapshot(const drainprof *prof, drainprof_snapshot_t *out) {
    api()->snapshot(prof, out);
}

void drainprof_reset(drainprof *prof) { api()->reset(prof); }

void drainprof_sweep(drainprof *prof, drainprof_snapshot_t *out) { api()->sweep(prof, out); }

uint32_t drainprof_drain_reports(drainprof *prof, drainprof_pinning_report **reports, uint32_t max) {
    return api()->drain_reports(prof, reports, max);
}

void drainprof_pinning_report_free(drainprof_pinning_report *report) {
    api()->pinning_report_free(report);
}

drainprof_diagnostic_summary *drainprof_diagnostic_summary_compute(drainprof *prof) {
    return api()->diagnostic_summary_compute(prof);
}

void drainprof_diagnostic_summary_free(drainprof_diagnostic_summary *summary) {
    api()->diagnostic_summary_free(summary);
}

/* ---- drainprof_ext.h ---------------------------------------------------- */

drainprof_ext_error drainprof_ext_last_error(void) { return api()->ext_last_error(); }

const char *drainprof_ext_error_name(drainprof_ext_error error) {
    return api()->ext_error_name(error);
}

int drainprof_ext_get_config(const drainprof *prof, drainprof_config *out) {
    return api()->ext_get_config(prof, out);
}

int drainprof_ext_granule_live(const drainprof *prof, drainprof_granule_id id, int64_t *live) {
    return api()->ext_granule_live(prof, id, live);
}

void drainprof_ext_snapshot(const drainprof *prof, drainprof_ext_snapshot_t *out) {
    api()->ext_snapshot(prof, out);
}

int drainprof_ext_alloc_register_site(drainprof *prof, drainprof_granule_id granule_id,
                                      drainprof_alloc_id alloc_id, size_t size,
                                      const drainprof_alloc_site *site) {
    return api()->ext_alloc_register_site(prof, granule_id, alloc_id, size, site);
}

drainprof_ext_violation_class drainprof_ext_classify(double lifetime_delta_sec,
                                                     double granule_lifetime_sec) {
    return api()->ext_classify(lifetime_delta_sec, granule_lifetime_sec);
}

const char *drainprof_ext_class_name(drainprof_ext_violation_class cls) {
    return api()->ext_class_name(cls);
}

int drainprof_ext_set_lifetime_limit(drainprof *prof, uint32_t limit) {
    return api()->ext_set_lifetime_limit(prof, limit);
}

uint32_t drainprof_ext_lifetime_records(drainprof *prof, drainprof_ext_lifetime_record *out,
                                        uint32_t max) {
    return api()->ext_lifetime_records(prof, out, max);
}

drainprof_ext_summary *drainprof_ext_summary_compute(drainprof *prof) {
    return api()->ext_summary_compute(prof);
}

void drainprof_ext_summary_free(drainprof_ext_summary *summary) {
    api()->ext_summary_free(summary);
}

int64_t drainprof_ext_format_metrics(const drainprof *prof,
                                     const drainprof_ext_metrics_options *options, char *buf,
                                     size_t size) {
    return api()->ext_format_metrics(prof, options, buf, size);
}

int64_t drainprof_ext_format_report(drainprof *prof, uint32_t max_sites, char *buf, size_t size) {
    return api()->ext_format_report(prof, max_sites, buf, size);
}

int drainprof_ext_foreign_attach(drainprof *prof, drainprof_granule_id id,
                                 drainprof_ext_foreign_slot *slot, double token) {
    return api()->ext_foreign_attach(prof, id, slot, token);
}

int drainprof_ext_foreign_fold(drainprof *prof, drainprof_ext_foreign_slot *slot) {
    return api()->ext_foreign_fold(prof, slot);
}

int drainprof_ext_foreign_detach(drainprof *prof, drainprof_ext_foreign_slot *slot) {
    return api()->ext_foreign_detach(prof, slot);
}

int drainprof_ext_foreign_refused(drainprof *prof, bool deregister) {
    return api()->ext_foreign_refused(prof, deregister);
}

int drainprof_ext_alloc_count(drainprof *prof, drainprof_granule_id id, uint64_t registers,
                              uint64_t deregisters) {
    return api()->ext_alloc_count(prof, id, registers, deregisters);
}

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif
