/*
 * service.c - see service.h. The session allocation below is the line
 * drainprof names when sessions come from the request epoch.
 */
#define _POSIX_C_SOURCE 199309L /* nanosleep */
#include "service.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

struct session {
    uint64_t user;
    char token[248];
};

static int handle_request(service *svc) {
    char *request = slab_alloc(svc->alloc, SLAB_EPOCH, 512);
    char *response = slab_alloc(svc->alloc, SLAB_EPOCH, 2048);
    int ok = request != NULL && response != NULL;
    if (ok) { /* real work touches the memory: the slab pages are resident */
        memset(request, 'q', 512);
        memset(response, 'r', 2048);
    }
    slab_free(svc->alloc, response);
    slab_free(svc->alloc, request);
    return ok ? 0 : -1;
}

static int login(service *svc, const service_options *o, uint64_t user) {
    if (svc->session_count == svc->session_capacity) {
        size_t capacity = svc->session_capacity == 0 ? 64 : 2 * svc->session_capacity;
        void **grown = realloc(svc->sessions, capacity * sizeof *grown);
        if (grown == NULL) return -1;
        svc->sessions = grown;
        svc->session_capacity = capacity;
    }
    struct session *s;
    if (o->sessions_in_own_class)
        s = slab_alloc(svc->alloc, SLAB_LONG_LIVED, sizeof *s);  /* the fix: a long-lived slab class */
    else
        s = slab_alloc(svc->alloc, SLAB_EPOCH, sizeof *s);       /* the bug: a session in the request epoch */
    if (s == NULL) return -1;
    s->user = user;
    memset(s->token, 't', sizeof s->token);
    svc->sessions[svc->session_count++] = s;
    return 0;
}

int service_run(service *svc, const service_options *o) {
    for (uint32_t epoch = 1; epoch <= o->epochs; epoch++) {
        if (atomic_load(&svc->stop)) break;
        for (uint32_t r = 0; r < o->requests_per_epoch; r++) {
            if (handle_request(svc) != 0) return -1;
        }
        if (o->login_every != 0 && epoch % o->login_every == 0 && login(svc, o, epoch) != 0) return -1;
        slab_epoch_advance(svc->alloc);
        if (o->epoch_micros != 0) {
            struct timespec pause = {o->epoch_micros / 1000000, (long)(o->epoch_micros % 1000000) * 1000};
            nanosleep(&pause, NULL);
        }
    }
    return 0;
}

size_t service_logout_all(service *svc) {
    size_t n = svc->session_count;
    for (size_t i = 0; i < n; i++) slab_free(svc->alloc, svc->sessions[i]);
    svc->session_count = 0;
    return n;
}
