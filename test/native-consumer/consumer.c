/*
 * consumer.c - a dependent addon for the test suite: C code written against
 * drainprof.h (DRAINPROF_ALLOC_REGISTER and friends), compiled unchanged,
 * calling into the profilers JavaScript hands it with nativeHandle().
 *
 * Holds live in numbered slots so that JavaScript can drop its Profiler and
 * still ask the addon to count into, and read, the profiler the addon holds.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep */
#include <drainprof.h>
#include <drainprof_ext.h>
#include <drainprof_node.h>
#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 64

static drainprof *slots[SLOTS];

/* ---- helpers ------------------------------------------------------------- */

static napi_value undefined(napi_env env) {
    napi_value out;
    napi_get_undefined(env, &out);
    return out;
}

static napi_value num(napi_env env, double v) {
    napi_value out;
    napi_create_double(env, v, &out);
    return out;
}

static int args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
    size_t argc = want;
    if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
    if (argc < want) {
        napi_throw_type_error(env, NULL, "missing arguments");
        return 0;
    }
    return 1;
}

static double arg_num(napi_env env, napi_value v) {
    double d = 0;
    napi_get_value_double(env, v, &d);
    return d;
}

static drainprof *slot_prof(napi_env env, napi_value v) {
    double d = arg_num(env, v);
    if (!(d >= 0 && d < SLOTS) || slots[(int)d] == NULL) {
        napi_throw_error(env, NULL, "empty slot");
        return NULL;
    }
    return slots[(int)d];
}

/* [total, drainable, pinned, dsr, open, peak, allocs, deallocs, failedRegisters, failedDeregisters] */
static napi_value snapshot_array(napi_env env, drainprof *prof) {
    drainprof_ext_snapshot_t s;
    memset(&s, 0, sizeof s);
    drainprof_ext_snapshot(prof, &s);
    double values[] = {(double)s.base.total_closes, (double)s.base.drainable_closes,
                       (double)s.base.pinned_closes, s.base.dsr, (double)s.base.open_granules,
                       (double)s.base.peak_open_granules, (double)s.base.total_allocs,
                       (double)s.base.total_deallocs, (double)s.failed_registers,
                       (double)s.failed_deregisters};
    napi_value out;
    napi_create_array_with_length(env, sizeof values / sizeof values[0], &out);
    for (uint32_t i = 0; i < sizeof values / sizeof values[0]; i++) napi_set_element(env, out, i, num(env, values[i]));
    return out;
}

/* ---- acquire / release ---------------------------------------------------- */

/* acquire(handle) -> slot */
static napi_value acquire(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    if (!args(env, info, 1, argv)) return NULL;
    drainprof *prof = drainprof_node_acquire(env, argv[0]);
    if (prof == NULL) return NULL;
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i] == NULL) {
            slots[i] = prof;
            return num(env, i);
        }
    }
    drainprof_node_release(prof);
    napi_throw_error(env, NULL, "no free slot");
    return NULL;
}

/* release(slot) */
static napi_value release(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    if (!args(env, info, 1, argv)) return NULL;
    drainprof *prof = slot_prof(env, argv[0]);
    if (prof == NULL) return NULL;
    slots[(int)arg_num(env, argv[0])] = NULL;
    drainprof_node_release(prof);
    return undefined(env);
}

/* ---- counting ------------------------------------------------------------ */

typedef struct workload {
    drainprof *prof;
    uint64_t first_granule;
    uint32_t granules;
    uint32_t allocs;       /* per granule */
    uint32_t pin_every;    /* every Nth granule keeps its last allocation live (0: never) */
    uint32_t pause_micros; /* after each granule */
    uint64_t drainable, pinned, failed;
} workload;

/* Plain drainprof.h code, as a C allocator would write it. */
static void run_workload(workload *w) {
    for (uint32_t g = 0; g < w->granules; g++) {
        drainprof_granule_id gid = w->first_granule + g;
        if (drainprof_granule_open(w->prof, gid) != 0) { w->failed++; continue; }
        for (uint32_t a = 1; a <= w->allocs; a++) {
            if (DRAINPROF_ALLOC_REGISTER(w->prof, gid, a, 64) != 0) w->failed++;
        }
        int keep = w->pin_every != 0 && (g + 1) % w->pin_every == 0;
        for (uint32_t a = 1; a <= w->allocs - (keep ? 1 : 0); a++) {
            if (drainprof_alloc_deregister(w->prof, gid, a) != 0) w->failed++;
        }
        int r = drainprof_granule_close(w->prof, gid);
        if (r == 1) w->drainable++; else if (r == 0) w->pinned++; else w->failed++;
        if (w->pause_micros != 0) {
            struct timespec pause = {0, (long)w->pause_micros * 1000};
            nanosleep(&pause, NULL);
        }
    }
}

static int read_workload(napi_env env, napi_value *argv, workload *w) {
    memset(w, 0, sizeof *w);
    w->prof = slot_prof(env, argv[0]);
    if (w->prof == NULL) return 0;
    w->first_granule = (uint64_t)arg_num(env, argv[1]);
    w->granules = (uint32_t)arg_num(env, argv[2]);
    w->allocs = (uint32_t)arg_num(env, argv[3]);
    w->pin_every = (uint32_t)arg_num(env, argv[4]);
    return 1;
}

static napi_value workload_result(napi_env env, const workload *w) {
    napi_value out;
    napi_create_array_with_length(env, 3, &out);
    napi_set_element(env, out, 0, num(env, (double)w->drainable));
    napi_set_element(env, out, 1, num(env, (double)w->pinned));
    napi_set_element(env, out, 2, num(env, (double)w->failed));
    return out;
}

/* count(slot, firstGranule, granules, allocsPerGranule, pinEvery) -> [drainable, pinned, failed] */
static napi_value count(napi_env env, napi_callback_info info) {
    napi_value argv[5];
    workload w;
    if (!args(env, info, 5, argv) || !read_workload(env, argv, &w)) return NULL;
    run_workload(&w);
    return workload_result(env, &w);
}

/* One background thread at a time. */
static pthread_t thread;
static int thread_started;
static atomic_int thread_done;
static workload thread_work;

static void *thread_main(void *arg) {
    (void)arg;
    run_workload(&thread_work);
    atomic_store(&thread_done, 1);
    return NULL;
}

/* startThread(slot, firstGranule, granules, allocsPerGranule, pinEvery, pauseMicros) */
static napi_value start_thread(napi_env env, napi_callback_info info) {
    napi_value argv[6];
    if (thread_started) {
        napi_throw_error(env, NULL, "a thread is running");
        return NULL;
    }
    if (!args(env, info, 6, argv) || !read_workload(env, argv, &thread_work)) return NULL;
    thread_work.pause_micros = (uint32_t)arg_num(env, argv[5]);
    atomic_store(&thread_done, 0);
    if (pthread_create(&thread, NULL, thread_main, NULL) != 0) {
        napi_throw_error(env, NULL, "pthread_create failed");
        return NULL;
    }
    thread_started = 1;
    return undefined(env);
}

/* threadDone() -> boolean, without waiting */
static napi_value thread_is_done(napi_env env, napi_callback_info info) {
    (void)info;
    napi_value out;
    napi_get_boolean(env, atomic_load(&thread_done) != 0, &out);
    return out;
}

/* joinThread() -> [drainable, pinned, failed] */
static napi_value join_thread(napi_env env, napi_callback_info info) {
    (void)info;
    if (!thread_started) {
        napi_throw_error(env, NULL, "no thread");
        return NULL;
    }
    pthread_join(thread, NULL);
    thread_started = 0;
    return workload_result(env, &thread_work);
}

/* snapshot(slot) -> counters as the C API reads them */
static napi_value snapshot(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    if (!args(env, info, 1, argv)) return NULL;
    drainprof *prof = slot_prof(env, argv[0]);
    return prof == NULL ? NULL : snapshot_array(env, prof);
}

/* ---- everything else the tests need -------------------------------------- */

/* In consumer_cc.cc: drainprof_node.h and DRAINPROF_ALLOC_REGISTER from C++. */
int consumer_cc_register(drainprof *prof, drainprof_granule_id granule, drainprof_alloc_id alloc);

/* cppRegister(slot, granule, alloc) -> what DRAINPROF_ALLOC_REGISTER returned in C++ */
static napi_value cpp_register(napi_env env, napi_callback_info info) {
    napi_value argv[3];
    if (!args(env, info, 3, argv)) return NULL;
    drainprof *prof = slot_prof(env, argv[0]);
    if (prof == NULL) return NULL;
    return num(env, consumer_cc_register(prof, (uint64_t)arg_num(env, argv[1]), (uint64_t)arg_num(env, argv[2])));
}

/* closeMissing(slot) -> [result, last error name]: drainprof_ext_last_error() is the core's, per thread */
static napi_value close_missing(napi_env env, napi_callback_info info) {
    napi_value argv[1], out, name;
    if (!args(env, info, 1, argv)) return NULL;
    drainprof *prof = slot_prof(env, argv[0]);
    if (prof == NULL) return NULL;
    int r = drainprof_granule_close(prof, UINT64_C(0xfffffffffffffff0));
    napi_create_string_utf8(env, drainprof_ext_error_name(drainprof_ext_last_error()), NAPI_AUTO_LENGTH, &name);
    napi_create_array_with_length(env, 2, &out);
    napi_set_element(env, out, 0, num(env, r));
    napi_set_element(env, out, 1, name);
    return out;
}

/* destroyShared(slot): 0.1 code's drainprof_destroy() on a shared profiler is refused */
static napi_value destroy_shared(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    if (!args(env, info, 1, argv)) return NULL;
    drainprof *prof = slot_prof(env, argv[0]);
    if (prof == NULL) return NULL;
    drainprof_destroy(prof);
    return undefined(env);
}

/* summaryTop(slot) -> "file:line" of the top site of the 0.1 summary, or null */
static napi_value summary_top(napi_env env, napi_callback_info info) {
    napi_value argv[1], out;
    char text[512];
    if (!args(env, info, 1, argv)) return NULL;
    drainprof *prof = slot_prof(env, argv[0]);
    if (prof == NULL) return NULL;
    drainprof_diagnostic_summary *sum = drainprof_diagnostic_summary_compute(prof);
    if (sum == NULL || sum->site_count == 0 || sum->sites[0].site.file == NULL) {
        drainprof_diagnostic_summary_free(sum);
        napi_get_null(env, &out);
        return out;
    }
    snprintf(text, sizeof text, "%s:%u", sum->sites[0].site.file, (unsigned)sum->sites[0].site.line);
    drainprof_diagnostic_summary_free(sum);
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out);
    return out;
}

/* standalone() -> [dsr, total closes]: a profiler this addon creates and owns alone */
static napi_value standalone(napi_env env, napi_callback_info info) {
    (void)info;
    drainprof_config cfg;
    drainprof_config_default(&cfg);
    cfg.mode = DRAINPROF_DIAGNOSTIC;
    drainprof *prof = drainprof_create_with_config(&cfg);
    if (prof == NULL) {
        napi_throw_error(env, NULL, "drainprof_create_with_config returned NULL");
        return NULL;
    }
    workload w = {prof, 1, 10, 3, 5, 0, 0, 0, 0};
    run_workload(&w);
    drainprof_snapshot_t s;
    drainprof_snapshot(prof, &s);
    drainprof_destroy(prof);
    napi_value out;
    napi_create_array_with_length(env, 2, &out);
    napi_set_element(env, out, 0, num(env, s.dsr));
    napi_set_element(env, out, 1, num(env, (double)s.total_closes));
    return out;
}

/* unacquired() -> what the shim answers before any acquire (a fresh process only) */
static napi_value unacquired(napi_env env, napi_callback_info info) {
    (void)info;
    drainprof_config cfg;
    memset(&cfg, 0x5a, sizeof cfg);
    drainprof_config_default(&cfg);
    napi_value out, name;
    napi_create_array_with_length(env, 5, &out);
    napi_set_element(env, out, 0, num(env, drainprof_create() == NULL));
    napi_set_element(env, out, 1, num(env, drainprof_granule_open(NULL, 1)));
    napi_set_element(env, out, 2, num(env, drainprof_ext_last_error()));
    napi_create_string_utf8(env, drainprof_ext_error_name(DRAINPROF_EXT_ERR_NOT_OPEN), NAPI_AUTO_LENGTH, &name);
    napi_set_element(env, out, 3, name);
    napi_set_element(env, out, 4, num(env, cfg.slot_capacity == 0x5a5a5a5a));
    return out;
}

/* forge(kind[, realHandle]) -> an object that carries drainprof's type tag but is not a
 * usable handle: 'bare' (no data), 'magic', 'abi', 'ext', 'size', 'other-copy'. */
static drainprof_node_api other_api;
static drainprof_node_api small_api;

static void free_forged(napi_env env, void *data, void *hint) {
    (void)env;
    (void)hint;
    free(data);
}

static napi_value forge(napi_env env, napi_callback_info info) {
    size_t argc = 2;
    napi_value argv[2], obj;
    char kind[32] = {0};
    size_t len;
    napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
    napi_get_value_string_utf8(env, argv[0], kind, sizeof kind, &len);
    napi_create_object(env, &obj);
    napi_type_tag_object(env, obj, &drainprof_node_handle_tag);
    if (strcmp(kind, "bare") == 0) return obj;

    const drainprof_node_handle *real = NULL;
    if (argc >= 2) {
        void *data = NULL;
        napi_unwrap(env, argv[1], &data); /* a real handle, from nativeHandle() */
        real = data;
    }
    drainprof_node_handle *h = calloc(1, sizeof *h);
    if (h == NULL) return NULL;
    h->magic = DRAINPROF_NODE_HANDLE_MAGIC;
    h->abi_version = DRAINPROF_NODE_ABI_VERSION;
    h->ext_version = DRAINPROF_EXT_VERSION;
    h->api = real != NULL ? real->api : NULL;
    h->core = real != NULL ? real->core : NULL;
    if (strcmp(kind, "magic") == 0) h->magic ^= 1;
    if (strcmp(kind, "abi") == 0) h->abi_version = DRAINPROF_NODE_ABI_VERSION + 1;
    if (strcmp(kind, "ext") == 0) h->ext_version = DRAINPROF_EXT_VERSION + 1;
    if (strcmp(kind, "size") == 0 && real != NULL) {
        small_api = *real->api;
        small_api.size = sizeof small_api - sizeof(void *);
        h->api = &small_api;
    }
    if (strcmp(kind, "other-copy") == 0 && real != NULL) {
        other_api = *real->api; /* same functions, another table: as a second drainprof would have */
        h->api = &other_api;
    }
    napi_wrap(env, obj, h, free_forged, NULL, NULL);
    return obj;
}

/* tableGaps(handle) -> [function pointers in the table, how many are NULL] */
static napi_value table_gaps(napi_env env, napi_callback_info info) {
    napi_value argv[1], out;
    void *data = NULL;
    if (!args(env, info, 1, argv)) return NULL;
    if (napi_unwrap(env, argv[0], &data) != napi_ok || data == NULL) {
        napi_throw_type_error(env, NULL, "not a native handle");
        return NULL;
    }
    const drainprof_node_api *api = ((const drainprof_node_handle *)data)->api;
    size_t first = offsetof(drainprof_node_api, acquire);
    size_t count = (sizeof *api - first) / sizeof(void (*)(void)), gaps = 0;
    for (size_t i = 0; i < count; i++) {
        void (*fn)(void);
        memcpy(&fn, (const char *)api + first + i * sizeof fn, sizeof fn);
        gaps += fn == NULL;
    }
    napi_create_array_with_length(env, 2, &out);
    napi_set_element(env, out, 0, num(env, (double)count));
    napi_set_element(env, out, 1, num(env, (double)gaps));
    return out;
}

static napi_value init(napi_env env, napi_value exports) {
    struct { const char *name; napi_callback cb; } fns[] = {
        {"acquire", acquire}, {"release", release}, {"count", count},
        {"startThread", start_thread}, {"threadDone", thread_is_done}, {"joinThread", join_thread},
        {"snapshot", snapshot}, {"closeMissing", close_missing}, {"destroyShared", destroy_shared},
        {"summaryTop", summary_top}, {"standalone", standalone}, {"unacquired", unacquired},
        {"forge", forge}, {"cppRegister", cpp_register}, {"tableGaps", table_gaps},
    };
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        napi_value fn;
        napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].cb, NULL, &fn);
        napi_set_named_property(env, exports, fns[i].name, fn);
    }
    return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
