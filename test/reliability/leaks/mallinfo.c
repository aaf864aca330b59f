/*
 * mallinfo.c - the leak soak's view of the C heap: bytes malloc() has handed
 * out and not yet had back, over every arena (all threads), from glibc's
 * mallinfo2(). The addon's and the core's memory is all there; V8's heap is
 * not (it maps its own pages), so this moves with native leaks and hardly with
 * JavaScript garbage.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <node_api.h>

/* inUse() -> bytes allocated with malloc and not freed (small blocks + mmapped ones) */
static napi_value in_use(napi_env env, napi_callback_info info) {
    (void)info;
    struct mallinfo2 m = mallinfo2();
    napi_value out;
    napi_create_double(env, (double)(m.uordblks + m.hblkhd), &out);
    return out;
}

NAPI_MODULE_INIT() {
    napi_value fn;
    napi_create_function(env, "inUse", NAPI_AUTO_LENGTH, in_use, NULL, &fn);
    napi_set_named_property(env, exports, "inUse", fn);
    return exports;
}
