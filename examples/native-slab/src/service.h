/*
 * service.h - the application: requests that live within an epoch, and logins
 * whose sessions live on. Only slab.h's allocator; no drainprof call here.
 */
#ifndef NATIVE_SLAB_SERVICE_H
#define NATIVE_SLAB_SERVICE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "slab.h"

typedef struct service_options {
    uint32_t epochs;                /* epochs to run */
    uint32_t requests_per_epoch;    /* each: a 512-byte request and a 2 KiB response, freed at once */
    uint32_t login_every;           /* a login (a 256-byte session that stays) every N epochs; 0: none */
    int sessions_in_own_class;      /* 0: sessions from the request epoch (the bug); 1: the fix */
    uint32_t epoch_micros;          /* pause after each epoch, as a service waits for traffic */
} service_options;

typedef struct service {
    slab_allocator *alloc;
    void **sessions;
    size_t session_count, session_capacity;
    atomic_int stop;                /* set from another thread: run() returns after this epoch */
} service;

/* Runs o->epochs epochs (fewer when stopped). 0, or -1 when memory runs out. */
int service_run(service *svc, const service_options *o);

/* Frees every session; returns how many. */
size_t service_logout_all(service *svc);

#endif /* NATIVE_SLAB_SERVICE_H */
