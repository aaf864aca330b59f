/*
 * drainprof.h - drainability profiler for coarse-grained allocators.
 *
 * Public API level 0.1: source and link compatible with libdrainprof 0.1.
 * Behaviour is specified in the project's libdrainprof contract; where 0.1 left
 * behaviour open, the choices are documented on each function below.
 * Our extensions live in drainprof_ext.h, never here.
 *
 * Vocabulary: a *granule* is a unit the allocator reclaims as a whole (slab,
 * arena, epoch, region, pool). It is *drainable* at close when no allocation
 * registered to it is still live, *pinned* otherwise. The DSR (drainability
 * satisfaction rate) is drainable closes / total closes.
 *
 * Threading: every function may be called concurrently from many threads on
 * the same profiler, except where a function says otherwise (reset, destroy),
 * and except that no register/deregister for a granule may be in flight while
 * that granule is being closed (the caller orders those).
 */
#ifndef DRAINPROF_H
#define DRAINPROF_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DRAINPROF_VERSION_MAJOR 0
#define DRAINPROF_VERSION_MINOR 1
#define DRAINPROF_VERSION_PATCH 0

/* Identifiers are chosen by the caller: epoch numbers, ring indices, addresses. */
typedef uint64_t drainprof_granule_id;
typedef uint64_t drainprof_alloc_id;

typedef enum drainprof_mode {
    /* Counters only: no per-allocation state, a few ns per call. */
    DRAINPROF_PRODUCTION = 0,
    /* Per-allocation records, pinning reports and per-site summaries. */
    DRAINPROF_DIAGNOSTIC = 1
} drainprof_mode;

typedef enum drainprof_storage {
    /* Fixed capacity: at most slot_capacity granules open at once. */
    DRAINPROF_SLOT_ARRAY = 0,
    /* Unbounded: grows as more granules are open at once. */
    DRAINPROF_HASH_MAP = 1
} drainprof_storage;

/* Cumulative counters. total_closes == drainable_closes + pinned_closes in
 * every snapshot; dsr == drainable_closes / total_closes, 0.0 when no close. */
typedef struct drainprof_snapshot_t_s {
    struct timespec timestamp;     /* CLOCK_MONOTONIC when taken */
    uint64_t total_closes;
    uint64_t drainable_closes;
    uint64_t pinned_closes;
    double   dsr;
    uint64_t open_granules;
    uint64_t peak_open_granules;
    uint64_t total_allocs;         /* every register call, failed ones included */
    uint64_t total_deallocs;       /* every deregister call, failed ones included */
} drainprof_snapshot_t;

/* Where an allocation was made. `file` is borrowed, never copied: it must
 * outlive the profiler (a string literal or __FILE__). column is 0 from C. */
typedef struct drainprof_alloc_site {
    const char *file;
    uint32_t    line;
    uint32_t    column;
} drainprof_alloc_site;

/* One allocation still live when its granule closed. */
typedef struct drainprof_pinning_alloc {
    drainprof_alloc_id  alloc_id;
    drainprof_alloc_site alloc_site;
    struct timespec     alloc_time;          /* CLOCK_MONOTONIC */
    size_t              size;
    double              lifetime_delta_sec;  /* -1.0: still live at report time */
} drainprof_pinning_alloc;

/* Diagnostic mode: what a pinned close looked like. */
typedef struct drainprof_pinning_report {
    drainprof_granule_id     granule_id;
    struct timespec          open_time;      /* CLOCK_MONOTONIC */
    struct timespec          close_time;     /* CLOCK_MONOTONIC */
    drainprof_pinning_alloc *pinning_allocs; /* pinning_count entries, registration order */
    uint32_t                 pinning_count;  /* live allocations at close */
    uint32_t                 total_allocs;   /* registrations into the granule while open */
    uint32_t                 drained_allocs; /* total_allocs - pinning_count */
} drainprof_pinning_report;

/* Called on the closing thread, with no library lock held. The report is valid
 * only during the call; the library frees it afterwards. */
typedef void (*drainprof_pin_callback)(const drainprof_pinning_report *report,
                                       void *user_data);

typedef struct drainprof_summary_site_entry {
    drainprof_alloc_site site;
    uint32_t pinning_count;   /* reports in which this site pinned >= 1 allocation */
    uint32_t total_allocs;    /* pinning allocations made at this site */
    size_t   total_bytes;     /* their sizes summed */
} drainprof_summary_site_entry;

typedef struct drainprof_diagnostic_summary {
    drainprof_summary_site_entry *sites;  /* sorted by pinning_count, then total_bytes, descending */
    uint32_t site_count;
    uint32_t total_pinning_allocs;        /* sum of total_allocs over sites */
    uint32_t reports_analyzed;
} drainprof_diagnostic_summary;

/* Field order is part of the API: callers use designated initialisers. */
typedef struct drainprof_config {
    drainprof_mode         mode;                 /* default DRAINPROF_PRODUCTION */
    drainprof_storage      storage;              /* default DRAINPROF_SLOT_ARRAY */
    uint32_t               slot_capacity;        /* default 1024; 0 is invalid with SLOT_ARRAY */
    uint32_t               bucket_count;         /* default 64; HASH_MAP initial size, 0 = default */
    uint64_t               log_interval;         /* default 0 (off): DSR line every N closes */
    drainprof_pin_callback on_pinning;           /* default NULL (buffer reports) */
    void                  *callback_user_data;   /* default NULL */
    uint32_t               max_buffered_reports; /* default 1000; oldest dropped when full */
    bool                   verbose;              /* default false: a stderr line per pinned close */
} drainprof_config;

typedef struct drainprof drainprof;

/* Fills *config with the defaults above. NULL: does nothing. O(1). */
void drainprof_config_default(drainprof_config *config);

/* drainprof_create_with_config() with the defaults. NULL when out of memory. */
drainprof *drainprof_create(void);

/* Creates a profiler; the config is copied. Returns NULL when config is NULL,
 * mode or storage is not a known value, slot_capacity is 0 with SLOT_ARRAY, or
 * memory runs out. Allocates a first table segment; the table grows as more
 * granules are open at once (SLOT_ARRAY: up to slot_capacity). */
drainprof *drainprof_create_with_config(const drainprof_config *config);

/* Frees the profiler and everything it owns: state of granules still open and
 * buffered reports, without invoking callbacks. Reports and summaries already
 * handed to the caller stay valid. NULL: does nothing. No other call on this
 * profiler may be in flight or follow. */
void drainprof_destroy(drainprof *prof);

/* Opens granule `id`. Returns 0, or -1 when prof is NULL, `id` is already open
 * (no counter moves), the SLOT_ARRAY is full, or memory runs out. Ids may be
 * reused once closed. Takes the profiler's table lock; O(1) amortised (the
 * table grows in doubling segments). */
int drainprof_granule_open(drainprof *prof, drainprof_granule_id id);

/* Closes granule `id`. Returns 1 when drainable (no live allocation), 0 when
 * pinned, -1 when prof is NULL or `id` is not open. Also -1 when more
 * deregisters than registers reached the granule: it is released, open
 * granules drop by one, and no close is counted. In diagnostic mode a pinned
 * close builds a report for the callback or the buffer; a snapshot taken in the
 * callback already includes the close. Takes the table lock; cost grows with
 * the number of threads that counted into the profiler (their counters are
 * summed) and, in diagnostic mode, with the granule's live allocations.
 * Caller's duty: no register/deregister for `id` is in flight meanwhile. */
int drainprof_granule_close(drainprof *prof, drainprof_granule_id id);

/* Registers allocation `alloc_id` of `size` bytes in open granule `granule_id`.
 * Returns 0, or -1 when prof is NULL, the granule is not open, or (diagnostic)
 * memory runs out. Every call with a non-NULL prof counts in total_allocs, also
 * when it fails. Production mode: lock-free, no shared write, alloc_id and
 * size are not stored. Diagnostic mode: records id, size, time and no site. */
int drainprof_alloc_register(drainprof *prof, drainprof_granule_id granule_id,
                             drainprof_alloc_id alloc_id, size_t size);

/* As drainprof_alloc_register, recording the site (file, line) in diagnostic
 * mode. `file` is borrowed: it must outlive the profiler. */
int drainprof_alloc_register_located(drainprof *prof, drainprof_granule_id granule_id,
                                     drainprof_alloc_id alloc_id, size_t size,
                                     const char *file, uint32_t line);

/* Deregisters `alloc_id` from granule `granule_id`. Returns 0, or -1 when prof
 * is NULL or the granule is not open; in diagnostic mode also -1 when
 * `alloc_id` has no live registration there (nothing changes). Every call with
 * a non-NULL prof counts in total_deallocs. Diagnostic mode frees the oldest
 * live registration of `alloc_id`, and accepts the free of an allocation that
 * pinned an already closed granule (returns 0, records its lifetime delta; see
 * drainprof_ext.h). Production mode: lock-free, no shared write. */
int drainprof_alloc_deregister(drainprof *prof, drainprof_granule_id granule_id,
                               drainprof_alloc_id alloc_id);

/* Copies the cumulative counters into *out. NULL prof or out: writes nothing.
 * Lock-free; callable at any time from any thread. Cost grows with the number
 * of threads that counted into the profiler. */
void drainprof_snapshot(const drainprof *prof, drainprof_snapshot_t *out);

/* Clears every counter (peak included) and all state: open granules are
 * forgotten, buffered reports freed, lifetime data dropped. NULL: does nothing.
 * No other call on this profiler may be in flight. */
void drainprof_reset(drainprof *prof);

/* Instantaneous view over the granules open now: drainable_closes = open
 * granules with no live allocation, pinned_closes = the rest, total_closes =
 * their sum, dsr as in a snapshot (0.0 when none is open); timestamp, open,
 * peak and alloc/dealloc totals as in a snapshot. Changes nothing. Safe
 * against concurrent open/close. NULL prof or out: writes nothing. */
void drainprof_sweep(drainprof *prof, drainprof_snapshot_t *out);

/* Buffered diagnostic mode: moves up to `max` reports, oldest first, into
 * reports[0..n) and returns n. Returns 0 for NULL arguments, max 0, production
 * mode or callback mode. Free each report with drainprof_pinning_report_free. */
uint32_t drainprof_drain_reports(drainprof *prof, drainprof_pinning_report **reports,
                                 uint32_t max);

/* Frees a drained report. NULL: does nothing. */
void drainprof_pinning_report_free(drainprof_pinning_report *report);

/* Buffered diagnostic mode: groups every pinning allocation of the buffered
 * reports (not consumed) by site, where a site is the file string's contents
 * and the line. Returns NULL in production or callback mode or when memory runs
 * out; otherwise non-NULL, with zero sites when there is no report. Free with
 * drainprof_diagnostic_summary_free. */
drainprof_diagnostic_summary *drainprof_diagnostic_summary_compute(drainprof *prof);

/* Frees a summary. NULL: does nothing. */
void drainprof_diagnostic_summary_free(drainprof_diagnostic_summary *summary);

/* Registers with the call site's file and line recorded in diagnostic mode. */
#define DRAINPROF_ALLOC_REGISTER(prof, gid, aid, sz) \
    drainprof_alloc_register_located((prof), (gid), (aid), (sz), __FILE__, (uint32_t)__LINE__)

#ifdef __cplusplus
}
#endif

#endif /* DRAINPROF_H */
