/*
 * addon.c - the N-API face of the slab allocator (index.js wraps it).
 *
 *   new NativeSlab(profiler.nativeHandle(), firstGranuleId)
 *   .run(options)          runs the service on the JS thread, returns stats
 *   .runOnThread(options)  runs it on a new native thread; a Promise of stats
 *   .logoutAll()           frees every session, returns how many
 *   .stats()               the allocator's counters (any time, also while the thread runs)
 *   .close()               stops the thread, unmaps everything, releases the profiler
 *
 * The profiler comes from drainprof_node_acquire() and is used through
 * drainprof.h only (in slab.c), from whichever thread runs the service.
 */
#include <drainprof_node.h>
#include <node_api.h>
#include <pthread.h>
#include <stdlib.h>

#include "service.h"
#include "slab.h"

static const napi_type_tag native_slab_tag = {UINT64_C(0x63e1e81193ac3ffe), UINT64_C(0x7b0dfbaebd241829)};

typedef struct native_slab {
    drainprof *prof;               /* held from construction to close() */
    slab_allocator *alloc;         /* NULL once closed */
    service svc;

    /* runOnThread: the fields below are written by the JS thread before the
     * thread starts and read by it after pthread_join, except where noted. */
    int running;
    int joined;
    pthread_t thread;
    service_options options;
    int result;                    /* written by the thread before it signals */
    slab_stats final_stats;        /* likewise */
    size_t final_sessions;         /* likewise */
    napi_threadsafe_function done;
    napi_deferred deferred;
    napi_ref self;                 /* keeps the object alive while the thread runs */
} native_slab;

/* ---- small helpers ------------------------------------------------------- */

static napi_value throw_error(napi_env env, const char *message) {
    napi_throw_error(env, NULL, message);
    return NULL;
}

#define NAPI_OK(call)                                                   \
    do {                                                                \
        if ((call) != napi_ok) {                                        \
            const napi_extended_error_info *info_ = NULL;               \
            bool pending_ = false;                                      \
            napi_get_last_error_info(env, &info_);                      \
            napi_is_exception_pending(env, &pending_);                  \
            if (!pending_)                                              \
                throw_error(env, info_ && info_->error_message ? info_->error_message : "N-API call failed"); \
            return NULL;                                                \
        }                                                               \
    } while (0)

static napi_value number(napi_env env, double value) {
    napi_value out = NULL;
    napi_create_double(env, value, &out);
    return out;
}

static int set_number(napi_env env, napi_value obj, const char *name, double value) {
    return napi_set_named_property(env, obj, name, number(env, value)) == napi_ok;
}

static napi_value stats_object(napi_env env, const slab_stats *s, size_t sessions) {
    napi_value out;
    if (napi_create_object(env, &out) != napi_ok) return NULL;
    set_number(env, out, "mappedBytes", (double)s->mapped_bytes);
    set_number(env, out, "peakMappedBytes", (double)s->peak_mapped_bytes);
    set_number(env, out, "pinnedSlabs", (double)s->pinned_slabs);
    set_number(env, out, "slabsMapped", (double)s->slabs_mapped);
    set_number(env, out, "slabsUnmapped", (double)s->slabs_unmapped);
    set_number(env, out, "epochs", (double)s->epochs);
    set_number(env, out, "liveObjects", (double)s->live_objects);
    if (sessions != (size_t)-1) set_number(env, out, "sessions", (double)sessions);
    return out;
}

/* options.name as a uint32, `fallback` when absent. */
static int option_u32(napi_env env, napi_value options, const char *name, uint32_t fallback, uint32_t *out) {
    bool has = false;
    napi_value value;
    napi_valuetype type;
    double d;
    *out = fallback;
    if (napi_has_named_property(env, options, name, &has) != napi_ok) return 0;
    if (!has) return 1;
    if (napi_get_named_property(env, options, name, &value) != napi_ok) return 0;
    if (napi_typeof(env, value, &type) != napi_ok) return 0;
    if (type == napi_undefined) return 1;
    if (type != napi_number || napi_get_value_double(env, value, &d) != napi_ok || !(d >= 0) ||
        d > 4294967295.0 || d != (double)(uint32_t)d) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "options must be integers from 0 to 2^32-1");
        return 0;
    }
    *out = (uint32_t)d;
    return 1;
}

static int option_bool(napi_env env, napi_value options, const char *name, int *out) {
    bool has = false, flag = false;
    napi_value value;
    napi_valuetype type;
    *out = 0;
    if (napi_has_named_property(env, options, name, &has) != napi_ok) return 0;
    if (!has) return 1;
    if (napi_get_named_property(env, options, name, &value) != napi_ok) return 0;
    if (napi_typeof(env, value, &type) != napi_ok) return 0;
    if (type == napi_undefined) return 1;
    if (type != napi_boolean || napi_get_value_bool(env, value, &flag) != napi_ok) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "boolean options must be booleans");
        return 0;
    }
    *out = flag;
    return 1;
}

static int read_options(napi_env env, napi_value options, service_options *o) {
    napi_valuetype type;
    if (napi_typeof(env, options, &type) != napi_ok) return 0;
    if (type != napi_object) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "options must be an object");
        return 0;
    }
    return option_u32(env, options, "epochs", 1000, &o->epochs) &&
           option_u32(env, options, "requestsPerEpoch", 20, &o->requests_per_epoch) &&
           option_u32(env, options, "loginEvery", 10, &o->login_every) &&
           option_bool(env, options, "sessionsInOwnClass", &o->sessions_in_own_class) &&
           option_u32(env, options, "epochMicros", 0, &o->epoch_micros);
}

/* `this` when it is a NativeSlab that is not closed; otherwise throws. */
static native_slab *unwrap_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
    napi_value self;
    bool tagged = false;
    void *data = NULL;
    if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) return NULL;
    if (napi_check_object_type_tag(env, self, &native_slab_tag, &tagged) != napi_ok || !tagged ||
        napi_unwrap(env, self, &data) != napi_ok) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a NativeSlab");
        return NULL;
    }
    native_slab *ns = data;
    if (ns->alloc == NULL) {
        throw_error(env, "this NativeSlab is closed");
        return NULL;
    }
    return ns;
}

static void join_thread(native_slab *ns) {
    if (ns->running && !ns->joined) {
        pthread_join(ns->thread, NULL);
        ns->joined = 1;
    }
}

/* Stops the thread, unmaps every slab, and drops the profiler reference. */
static void close_native(native_slab *ns) {
    if (ns->alloc == NULL) return;
    atomic_store(&ns->svc.stop, 1);
    join_thread(ns);
    slab_allocator_destroy(ns->alloc);
    ns->alloc = NULL;
    free(ns->svc.sessions);
    ns->svc.sessions = NULL;
    ns->svc.session_count = ns->svc.session_capacity = 0;
    drainprof_node_release(ns->prof);
    ns->prof = NULL;
}

/* ---- the class ----------------------------------------------------------- */

static void finalize(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    close_native(data);
    free(data);
}

static napi_value construct(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], self;
    int64_t first = 1;
    napi_valuetype type;
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
    if (argc < 1) argv[0] = NULL;
    if (argc >= 2) {
        NAPI_OK(napi_typeof(env, argv[1], &type));
        if (type != napi_undefined) {
            double d;
            if (type != napi_number || napi_get_value_double(env, argv[1], &d) != napi_ok || !(d >= 1) ||
                d > 9007199254740991.0 || d != (double)(int64_t)d) {
                napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "firstGranuleId must be a positive safe integer");
                return NULL;
            }
            first = (int64_t)d;
        }
    }
    if (argv[0] == NULL) NAPI_OK(napi_get_undefined(env, &argv[0]));

    drainprof *prof = drainprof_node_acquire(env, argv[0]); /* a TypeError when it is not a live handle */
    if (prof == NULL) return NULL;
    native_slab *ns = calloc(1, sizeof *ns);
    if (ns == NULL || (ns->alloc = slab_allocator_create(prof, (uint64_t)first)) == NULL) {
        free(ns);
        drainprof_node_release(prof);
        return throw_error(env, "out of memory");
    }
    ns->prof = prof;
    ns->svc.alloc = ns->alloc;
    atomic_init(&ns->svc.stop, 0);
    if (napi_wrap(env, self, ns, finalize, NULL, NULL) != napi_ok) {
        close_native(ns);
        free(ns);
        return throw_error(env, "napi_wrap failed");
    }
    NAPI_OK(napi_type_tag_object(env, self, &native_slab_tag));
    return self;
}

static napi_value run(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value options;
    native_slab *ns = unwrap_this(env, info, &argc, &options);
    if (ns == NULL) return NULL;
    if (argc < 1) NAPI_OK(napi_create_object(env, &options));
    if (ns->running) return throw_error(env, "the native thread is running");
    service_options o;
    if (!read_options(env, options, &o)) return NULL;
    atomic_store(&ns->svc.stop, 0);
    if (service_run(&ns->svc, &o) != 0) return throw_error(env, "out of memory");
    slab_stats s;
    slab_stats_get(ns->alloc, &s);
    return stats_object(env, &s, ns->svc.session_count);
}

static void *thread_main(void *arg) {
    native_slab *ns = arg;
    ns->result = service_run(&ns->svc, &ns->options);
    slab_stats_get(ns->alloc, &ns->final_stats);
    ns->final_sessions = ns->svc.session_count;
    napi_call_threadsafe_function(ns->done, NULL, napi_tsfn_blocking);
    napi_release_threadsafe_function(ns->done, napi_tsfn_release);
    return NULL;
}

/* On the JS thread once the native thread is done (env is NULL at teardown). */
static void thread_done(napi_env env, napi_value js_callback, void *context, void *data) {
    (void)js_callback;
    (void)data;
    native_slab *ns = context;
    if (env == NULL) return;
    join_thread(ns);
    ns->running = 0;
    napi_value value = NULL;
    if (ns->result == 0) {
        value = stats_object(env, &ns->final_stats, ns->final_sessions);
        napi_resolve_deferred(env, ns->deferred, value);
    } else {
        napi_value message;
        napi_create_string_utf8(env, "out of memory", NAPI_AUTO_LENGTH, &message);
        napi_create_error(env, NULL, message, &value);
        napi_reject_deferred(env, ns->deferred, value);
    }
    napi_delete_reference(env, ns->self);
    ns->self = NULL;
}

static napi_value run_on_thread(napi_env env, napi_callback_info info) {
    size_t argc = 1;
    napi_value options, self, promise, name;
    native_slab *ns = unwrap_this(env, info, &argc, &options);
    if (ns == NULL) return NULL;
    if (argc < 1) NAPI_OK(napi_create_object(env, &options));
    if (ns->running) return throw_error(env, "the native thread is running");
    if (!read_options(env, options, &ns->options)) return NULL;
    NAPI_OK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
    NAPI_OK(napi_create_string_utf8(env, "native-slab:thread", NAPI_AUTO_LENGTH, &name));
    NAPI_OK(napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, ns, thread_done, &ns->done));
    NAPI_OK(napi_create_promise(env, &ns->deferred, &promise));
    NAPI_OK(napi_create_reference(env, self, 1, &ns->self));
    atomic_store(&ns->svc.stop, 0);
    ns->joined = 0;
    ns->running = 1;
    if (pthread_create(&ns->thread, NULL, thread_main, ns) != 0) {
        ns->running = 0;
        napi_release_threadsafe_function(ns->done, napi_tsfn_abort);
        napi_delete_reference(env, ns->self);
        ns->self = NULL;
        napi_value message, error;
        napi_create_string_utf8(env, "pthread_create failed", NAPI_AUTO_LENGTH, &message);
        napi_create_error(env, NULL, message, &error);
        napi_reject_deferred(env, ns->deferred, error);
    }
    return promise;
}

static napi_value logout_all(napi_env env, napi_callback_info info) {
    size_t argc = 0;
    native_slab *ns = unwrap_this(env, info, &argc, NULL);
    if (ns == NULL) return NULL;
    if (ns->running) return throw_error(env, "the native thread is running");
    return number(env, (double)service_logout_all(&ns->svc));
}

static napi_value stats(napi_env env, napi_callback_info info) {
    size_t argc = 0;
    native_slab *ns = unwrap_this(env, info, &argc, NULL);
    if (ns == NULL) return NULL;
    slab_stats s;
    slab_stats_get(ns->alloc, &s); /* the allocator's lock: safe while the thread runs */
    return stats_object(env, &s, ns->running ? (size_t)-1 : ns->svc.session_count);
}

static napi_value close_method(napi_env env, napi_callback_info info) {
    napi_value self, undefined;
    bool tagged = false;
    void *data = NULL;
    NAPI_OK(napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
    if (napi_check_object_type_tag(env, self, &native_slab_tag, &tagged) != napi_ok || !tagged ||
        napi_unwrap(env, self, &data) != napi_ok) {
        napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "not a NativeSlab");
        return NULL;
    }
    close_native(data); /* idempotent; a pending runOnThread promise still settles */
    NAPI_OK(napi_get_undefined(env, &undefined));
    return undefined;
}

static napi_value init(napi_env env, napi_value exports) {
    napi_property_descriptor methods[] = {
        {"run", NULL, run, NULL, NULL, NULL, napi_default_method, NULL},
        {"runOnThread", NULL, run_on_thread, NULL, NULL, NULL, napi_default_method, NULL},
        {"logoutAll", NULL, logout_all, NULL, NULL, NULL, napi_default_method, NULL},
        {"stats", NULL, stats, NULL, NULL, NULL, napi_default_method, NULL},
        {"close", NULL, close_method, NULL, NULL, NULL, napi_default_method, NULL},
    };
    napi_value cls;
    NAPI_OK(napi_define_class(env, "NativeSlab", NAPI_AUTO_LENGTH, construct, NULL,
                              sizeof methods / sizeof methods[0], methods, &cls));
    NAPI_OK(napi_set_named_property(env, exports, "NativeSlab", cls));
    NAPI_OK(napi_set_named_property(env, exports, "slabSize", number(env, (double)SLAB_SIZE)));
    return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
