/*
 * drainprof_node.h - call libdrainprof from another Node addon, on the profiler
 * its JavaScript created.
 *
 * A dependent addon includes <drainprof.h> (and <drainprof_ext.h> if it wants
 * the extensions) and links the shim that drainprof ships (the static library
 * require('drainprof/native').gyp names, or its .sources). The shim defines
 * every drainprof.h / drainprof_ext.h function; each one forwards through a
 * table of function pointers that the drainprof addon hands over with a
 * profiler. So code written against drainprof.h compiles unchanged, and its
 * calls land in the same C profiler that JavaScript reads: there is one copy
 * of libdrainprof's code and state in the process, inside the drainprof addon.
 *
 *     // JavaScript
 *     const profiler = new Profiler({ mode: 'diagnostic' });
 *     myAddon.attach(profiler.nativeHandle());
 *
 *     // C, in myAddon
 *     static napi_value attach(napi_env env, napi_callback_info info) {
 *         size_t argc = 1;
 *         napi_value handle;
 *         napi_get_cb_info(env, info, &argc, &handle, NULL, NULL);
 *         drainprof *prof = drainprof_node_acquire(env, handle);
 *         if (prof == NULL) return NULL;   // a TypeError is pending
 *         ...                              // drainprof_granule_open(prof, ...) etc., any thread
 *         drainprof_node_release(prof);    // when done with it
 *     }
 *
 * Ownership rule
 *   drainprof_node_acquire() takes a reference to the profiler; every acquire
 *   is balanced by one drainprof_node_release(). While the addon holds a
 *   reference the C profiler stays alive, also after JavaScript called
 *   destroy() on its Profiler (that only ends the JavaScript view: it throws
 *   ERR_PROFILER_DESTROYED from then on) and after the Profiler was garbage
 *   collected. The last release frees it. Never call drainprof_destroy() on
 *   an acquired profiler: it refuses (does nothing), since the profiler is
 *   shared. Site file strings the addon passes (DRAINPROF_ALLOC_REGISTER's
 *   __FILE__, drainprof_alloc_register_located's file) are borrowed: they must
 *   stay valid while the profiler lives. Node never unloads an addon, so string
 *   literals and __FILE__ always qualify.
 *
 * Threads
 *   drainprof_node_acquire() runs on the JavaScript thread that owns the
 *   handle (it takes napi_env). The profiler it returns may then be used from
 *   any thread, under drainprof.h's rules (no register/deregister of a granule
 *   in flight while it closes; reset only when nothing else runs). Reports for
 *   onPinning reach JavaScript asynchronously, in close order, whichever thread
 *   closed. drainprof_node_release() may be called from any thread.
 *
 * Before the first successful drainprof_node_acquire() in an addon, the shim
 * has no table to forward to: every function then behaves as for a NULL
 * profiler (-1, NULL, 0, writes nothing); drainprof_ext_last_error() returns
 * DRAINPROF_EXT_ERR_NULL and the name functions return "UNKNOWN"/"unknown".
 * Afterwards drainprof_create() and friends work too and make profilers the
 * addon owns alone (freed with drainprof_destroy(), invisible to JavaScript).
 *
 * Needs N-API version 8 or later (napi_check_object_type_tag), and C11 or C++11.
 */
#ifndef DRAINPROF_NODE_H
#define DRAINPROF_NODE_H

#include <node_api.h>
#include <stdint.h>

#include "drainprof.h"
#include "drainprof_ext.h"

#if defined(NAPI_VERSION) && NAPI_VERSION < 8
#error "drainprof_node.h needs NAPI_VERSION 8 or later (napi_check_object_type_tag)"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the handle or the table below changes incompatibly. Adding
 * functions at the end of the table is compatible: it only grows, and an
 * addon built against an older header accepts a larger table. */
#define DRAINPROF_NODE_ABI_VERSION 1

/* "DRNPROF1" in memory: the first field of every handle drainprof made. */
#define DRAINPROF_NODE_HANDLE_MAGIC UINT64_C(0x31464f52504e5244)

/* The type tag of the objects profiler.nativeHandle() returns. Random, fixed;
 * different from every other tag drainprof uses, so no other drainprof object
 * passes for a native handle and a native handle passes for nothing else. */
static const napi_type_tag drainprof_node_handle_tag = {
    UINT64_C(0xb515d7816c68a0e4), UINT64_C(0x3e977fda32263aed)};

struct drainprof_node_handle;

/* libdrainprof as the drainprof addon exports it: one pointer per function of
 * drainprof.h and drainprof_ext.h, plus the two that manage references. The
 * shim forwards to these; an addon never needs to call them itself. */
typedef struct drainprof_node_api {
    uint32_t abi_version;   /* DRAINPROF_NODE_ABI_VERSION of the drainprof addon */
    uint32_t size;          /* sizeof(drainprof_node_api) there: >= what this header knows */

    /* JS thread. Takes a reference on the handle's profiler and returns it, or
     * returns NULL and stores why in *why (a static string) when the handle's
     * Profiler was destroyed or memory ran out. */
    drainprof *(*acquire)(const struct drainprof_node_handle *handle, const char **why);
    /* Any thread. Drops a reference acquire() took; the last one frees the profiler. */
    void (*release)(drainprof *prof);

    /* drainprof.h */
    void (*config_default)(drainprof_config *config);
    drainprof *(*create)(void);
    drainprof *(*create_with_config)(const drainprof_config *config);
    void (*destroy)(drainprof *prof);  /* refuses (does nothing) for acquired profilers */
    int (*granule_open)(drainprof *prof, drainprof_granule_id id);
    int (*granule_close)(drainprof *prof, drainprof_granule_id id);
    int (*alloc_register)(drainprof *prof, drainprof_granule_id granule_id,
                          drainprof_alloc_id alloc_id, size_t size);
    int (*alloc_register_located)(drainprof *prof, drainprof_granule_id granule_id,
                                  drainprof_alloc_id alloc_id, size_t size,
                                  const char *file, uint32_t line);
    int (*alloc_deregister)(drainprof *prof, drainprof_granule_id granule_id,
                            drainprof_alloc_id alloc_id);
    void (*snapshot)(const drainprof *prof, drainprof_snapshot_t *out);
    void (*reset)(drainprof *prof);
    void (*sweep)(drainprof *prof, drainprof_snapshot_t *out);
    uint32_t (*drain_reports)(drainprof *prof, drainprof_pinning_report **reports, uint32_t max);
    void (*pinning_report_free)(drainprof_pinning_report *report);
    drainprof_diagnostic_summary *(*diagnostic_summary_compute)(drainprof *prof);
    void (*diagnostic_summary_free)(drainprof_diagnostic_summary *summary);

    /* drainprof_ext.h */
    drainprof_ext_error (*ext_last_error)(void);
    const char *(*ext_error_name)(drainprof_ext_error error);
    int (*ext_get_config)(const drainprof *prof, drainprof_config *out);
    int (*ext_granule_live)(const drainprof *prof, drainprof_granule_id id, int64_t *live);
    void (*ext_snapshot)(const drainprof *prof, drainprof_ext_snapshot_t *out);
    int (*ext_alloc_register_site)(drainprof *prof, drainprof_granule_id granule_id,
                                   drainprof_alloc_id alloc_id, size_t size,
                                   const drainprof_alloc_site *site);
    drainprof_ext_violation_class (*ext_classify)(double lifetime_delta_sec,
                                                  double granule_lifetime_sec);
    const char *(*ext_class_name)(drainprof_ext_violation_class cls);
    int (*ext_set_lifetime_limit)(drainprof *prof, uint32_t limit);
    uint32_t (*ext_lifetime_records)(drainprof *prof, drainprof_ext_lifetime_record *out,
                                     uint32_t max);
    drainprof_ext_summary *(*ext_summary_compute)(drainprof *prof);
    void (*ext_summary_free)(drainprof_ext_summary *summary);
    int64_t (*ext_format_metrics)(const drainprof *prof,
                                  const drainprof_ext_metrics_options *options,
                                  char *buf, size_t size);
    int64_t (*ext_format_report)(drainprof *prof, uint32_t max_sites, char *buf, size_t size);
    int (*ext_foreign_attach)(drainprof *prof, drainprof_granule_id id,
                              drainprof_ext_foreign_slot *slot, double token);
    int (*ext_foreign_detach)(drainprof *prof, drainprof_ext_foreign_slot *slot);
    int (*ext_foreign_refused)(drainprof *prof, bool deregister);
    int (*ext_alloc_count)(drainprof *prof, drainprof_granule_id id, uint64_t registers,
                           uint64_t deregisters);
    int (*ext_foreign_fold)(drainprof *prof, drainprof_ext_foreign_slot *slot);
    /* New functions go here, at the end: the table only grows. */
} drainprof_node_api;

/* What a native handle object wraps (napi_wrap). Owned by the drainprof addon;
 * valid while the handle object is reachable. */
typedef struct drainprof_node_handle {
    uint64_t magic;                 /* DRAINPROF_NODE_HANDLE_MAGIC */
    uint32_t abi_version;           /* DRAINPROF_NODE_ABI_VERSION */
    uint32_t ext_version;           /* DRAINPROF_EXT_VERSION the table's types follow */
    const drainprof_node_api *api;
    void *core;                     /* the drainprof addon's shared profiler state; opaque */
} drainprof_node_handle;

/* Defined by the shim. Installs `api` as the table every drainprof_* function
 * of this addon forwards to. Returns 1 when it is installed now or was
 * already, 0 when the addon already forwards to another table (a second copy
 * of the drainprof addon in the process: one addon talks to one copy). */
int drainprof_node_install_api(const drainprof_node_api *api);

/* Defined by the shim. Drops the reference drainprof_node_acquire() took.
 * Any thread. Once the addon's last reference is gone, `prof` must not be
 * used by it again. NULL, or a profiler this addon does not hold: ignored. */
void drainprof_node_release(drainprof *prof);

/* Turns `handle` (a value from profiler.nativeHandle()) into the profiler
 * behind it and takes a reference on it (see the ownership rule above). Call
 * it on the JavaScript thread, inside a napi callback. Returns NULL with a
 * TypeError pending when `handle` is not a drainprof native handle
 * (code ERR_INVALID_ARG_TYPE), when its Profiler was destroyed, or when it
 * comes from a drainprof whose ABI differs from this header's or from another
 * copy of drainprof than the one this addon already uses (ERR_INVALID_ARG_VALUE).
 * Never crashes on a foreign value. O(1); takes a mutex in the drainprof addon. */
static inline drainprof *drainprof_node_acquire(napi_env env, napi_value handle) {
    napi_valuetype type;
    bool tagged = false;
    void *data = NULL;
    const drainprof_node_handle *h;
    const char *why = NULL;
    drainprof *prof;

    if (napi_typeof(env, handle, &type) != napi_ok) return NULL;
    if (type != napi_object ||
        napi_check_object_type_tag(env, handle, &drainprof_node_handle_tag, &tagged) != napi_ok ||
        !tagged || napi_unwrap(env, handle, &data) != napi_ok || data == NULL) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                              "expected a drainprof native handle (from profiler.nativeHandle())");
        return NULL;
    }
    h = (const drainprof_node_handle *)data;
    if (h->magic != DRAINPROF_NODE_HANDLE_MAGIC) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE",
                              "expected a drainprof native handle: this object carries drainprof's "
                              "tag but not its data");
        return NULL;
    }
    if (h->abi_version != DRAINPROF_NODE_ABI_VERSION || h->ext_version != DRAINPROF_EXT_VERSION ||
        h->api == NULL || h->api->abi_version != DRAINPROF_NODE_ABI_VERSION ||
        h->api->size < sizeof(drainprof_node_api)) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                              "this drainprof native handle comes from a drainprof with another ABI "
                              "than the drainprof_node.h this addon was built with: rebuild the "
                              "addon against the drainprof it runs with");
        return NULL;
    }
    if (!drainprof_node_install_api(h->api)) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                              "this drainprof native handle comes from another copy of drainprof "
                              "than the one this addon already uses");
        return NULL;
    }
    prof = h->api->acquire(h, &why);
    if (prof == NULL) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE",
                              why != NULL ? why : "the profiler behind this handle is gone");
        return NULL;
    }
    return prof;
}

#ifdef __cplusplus
}
#endif

#endif /* DRAINPROF_NODE_H */
