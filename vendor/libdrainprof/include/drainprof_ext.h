/*
 * drainprof_ext.h - extensions to the libdrainprof 0.1 API.
 *
 * Everything here is ours: 0.1 code never needs it. Include after (or
 * instead of) drainprof.h. Functions follow drainprof.h's threading rules
 * unless they say otherwise.
 */
#ifndef DRAINPROF_EXT_H
#define DRAINPROF_EXT_H

#include "drainprof.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever this header changes incompatibly. */
#define DRAINPROF_EXT_VERSION 1

/* ---------------------------------------------------------------------------
 * Why a call failed.
 *
 * Every function of drainprof.h and of this header that returns -1 (or NULL
 * for an error) stores the reason in a thread-local slot before returning;
 * drainprof_ext_last_error() reads it. Successful calls leave it unchanged,
 * so the hot paths pay nothing for it.
 * ------------------------------------------------------------------------- */
typedef enum drainprof_ext_error {
    DRAINPROF_EXT_OK               = 0,
    DRAINPROF_EXT_ERR_NULL         = 1,  /* a required pointer (prof, out, config) was NULL */
    DRAINPROF_EXT_ERR_INVALID      = 2,  /* an argument value is not acceptable */
    DRAINPROF_EXT_ERR_NO_MEMORY    = 3,
    DRAINPROF_EXT_ERR_ALREADY_OPEN = 4,  /* granule_open of an id that is open */
    DRAINPROF_EXT_ERR_NOT_OPEN     = 5,  /* the granule was never opened or is closed */
    DRAINPROF_EXT_ERR_CAPACITY     = 6,  /* SLOT_ARRAY holds slot_capacity open granules */
    DRAINPROF_EXT_ERR_UNBALANCED   = 7,  /* close: more deregisters than registers; released */
    DRAINPROF_EXT_ERR_NOT_LIVE     = 8,  /* diagnostic deregister: alloc_id has no live registration */
    DRAINPROF_EXT_ERR_WRONG_MODE   = 9   /* the call needs another mode (e.g. diagnostic) */
} drainprof_ext_error;

/* The calling thread's reason for its most recent failed call. O(1). */
drainprof_ext_error drainprof_ext_last_error(void);

/* Stable upper-case name, e.g. "NOT_OPEN"; "UNKNOWN" for other values. */
const char *drainprof_ext_error_name(drainprof_ext_error error);

/* ---------------------------------------------------------------------------
 * Introspection.
 * ------------------------------------------------------------------------- */

/* Copies the configuration the profiler was created with. Returns 0, or -1
 * when an argument is NULL. */
int drainprof_ext_get_config(const drainprof *prof, drainprof_config *out);

/* Returns 1 when granule `id` is open (and stores its live allocation count,
 * registers minus deregisters so far, in *live when live is not NULL), 0 when
 * it is not open, -1 when prof is NULL. The count is exact only when no
 * register/deregister for the granule is in flight. */
int drainprof_ext_granule_live(const drainprof *prof, drainprof_granule_id id, int64_t *live);

/* ---------------------------------------------------------------------------
 * Extended snapshot: the 0.1 counters plus what 0.1 planned and never shipped.
 * ------------------------------------------------------------------------- */
typedef struct drainprof_ext_snapshot {
    drainprof_snapshot_t base;          /* exactly what drainprof_snapshot gives */
    uint64_t dropped_reports;           /* reports dropped: full buffer or max_buffered_reports 0 */
    uint64_t unbalanced_closes;         /* closes refused because the net count was negative */
    uint64_t failed_opens;              /* granule_open calls that returned -1 (prof non-NULL) */
    uint64_t failed_closes;             /* granule_close calls that returned -1, unbalanced included */
    uint64_t failed_registers;          /* register calls that returned -1 */
    uint64_t failed_deregisters;        /* deregister calls that returned -1 */
    uint64_t lifetime_records;          /* lifetime deltas recorded (frees of pins after close) */
    uint64_t dropped_lifetime_records;  /* pins or records dropped by the lifetime limit */
} drainprof_ext_snapshot_t;
/* The typedef carries _t (as drainprof_snapshot_t does) because the function
 * below has the plain name; C has one namespace for both. */

/* As drainprof_snapshot, with the extra counters. Lock-free. NULL prof or out:
 * writes nothing. */
void drainprof_ext_snapshot(const drainprof *prof, drainprof_ext_snapshot_t *out);

/* ---------------------------------------------------------------------------
 * Sites with columns (JavaScript call sites have them).
 * ------------------------------------------------------------------------- */

/* As drainprof_alloc_register_located, recording the whole site (column
 * included) in diagnostic mode. site may be NULL (no site). site->file is
 * borrowed: it must outlive the profiler. */
int drainprof_ext_alloc_register_site(drainprof *prof, drainprof_granule_id granule_id,
                                      drainprof_alloc_id alloc_id, size_t size,
                                      const drainprof_alloc_site *site);

/* ---------------------------------------------------------------------------
 * Lifetime deltas and violation classes (diagnostic mode).
 *
 * After a pinned close, the pinning allocations are remembered. A later
 * drainprof_alloc_deregister(prof, gid, aid) naming one of them returns 0 and
 * records its lifetime delta = free time - close time, unless `gid` is open
 * again with a live `aid` (then that open granule's allocation is freed, as
 * usual). The ratio delta / granule lifetime (close - open) classifies the
 * violation: the long-lived object missed the granule by a little or by far.
 * ------------------------------------------------------------------------- */
typedef enum drainprof_ext_violation_class {
    DRAINPROF_EXT_CLASS_UNRESOLVED  = 0,  /* not freed yet: no delta */
    DRAINPROF_EXT_CLASS_NEAR_MISS   = 1,  /* ratio < 0.1 */
    DRAINPROF_EXT_CLASS_MODERATE    = 2,  /* 0.1 <= ratio <= 10 */
    DRAINPROF_EXT_CLASS_FUNDAMENTAL = 3   /* ratio > 10: lifetimes fundamentally mismatched */
} drainprof_ext_violation_class;

#define DRAINPROF_EXT_CLASS_COUNT 4

/* Default for drainprof_ext_set_lifetime_limit. */
#define DRAINPROF_EXT_DEFAULT_LIFETIME_LIMIT 4096u

/* Classifies one delta. delta < 0 -> UNRESOLVED. A granule lifetime <= 0 makes
 * any positive delta FUNDAMENTAL and a zero delta NEAR_MISS. Pure, O(1). */
drainprof_ext_violation_class drainprof_ext_classify(double lifetime_delta_sec,
                                                     double granule_lifetime_sec);

/* "unresolved", "near_miss", "moderate", "fundamental_mismatch"; "unknown"
 * for other values. */
const char *drainprof_ext_class_name(drainprof_ext_violation_class cls);

/* Bounds both the pins awaiting their free and the recorded deltas kept (each
 * at most `limit`; the oldest are dropped and counted in
 * dropped_lifetime_records). 0 disables lifetime tracking. Returns 0, or -1
 * when prof is NULL. Takes the profiler lock. */
int drainprof_ext_set_lifetime_limit(drainprof *prof, uint32_t limit);

typedef struct drainprof_ext_lifetime_record {
    drainprof_granule_id granule_id;
    drainprof_alloc_id   alloc_id;
    drainprof_alloc_site alloc_site;
    size_t               size;
    double               granule_lifetime_sec;  /* close_time - open_time */
    double               lifetime_delta_sec;    /* free_time - close_time, >= 0 */
    drainprof_ext_violation_class violation_class;
} drainprof_ext_lifetime_record;

/* Copies up to `max` recorded deltas, oldest first, into out[0..n) and returns
 * n. Does not consume them. 0 for NULL arguments or production mode. */
uint32_t drainprof_ext_lifetime_records(drainprof *prof, drainprof_ext_lifetime_record *out,
                                        uint32_t max);

/* A site of the extended summary: the 0.1 entry plus its violation classes. */
typedef struct drainprof_ext_site_entry {
    drainprof_summary_site_entry base;    /* from buffered reports, as in the 0.1 summary */
    uint32_t class_counts[DRAINPROF_EXT_CLASS_COUNT]; /* [1..3]: recorded deltas of this site by
                                             class; [0]: base.total_allocs not yet resolved */
    drainprof_ext_violation_class dominant_class; /* most frequent resolved class, the more severe
                                             on a tie; UNRESOLVED when none is resolved */
} drainprof_ext_site_entry;

typedef struct drainprof_ext_summary {
    drainprof_ext_site_entry *sites;      /* sorted as the 0.1 summary; sites seen only in
                                             recorded deltas follow, by count descending */
    uint32_t site_count;
    uint32_t total_pinning_allocs;
    uint32_t reports_analyzed;
    uint32_t lifetime_records_analyzed;
} drainprof_ext_summary;

/* The 0.1 summary plus classes per site. In callback mode there are no buffered
 * reports, so the sites come from recorded deltas only. NULL in production mode
 * or when memory runs out. Free with drainprof_ext_summary_free (NULL-safe). */
drainprof_ext_summary *drainprof_ext_summary_compute(drainprof *prof);
void drainprof_ext_summary_free(drainprof_ext_summary *summary);

/* ---------------------------------------------------------------------------
 * Text output. Both functions have snprintf semantics: they write at most
 * `size` bytes including a terminating NUL (nothing when size is 0) and return
 * the length of the whole text (without the NUL), so a return >= size means it
 * was truncated. They return -1 for invalid arguments.
 * ------------------------------------------------------------------------- */
typedef struct drainprof_ext_metrics_options {
    const char *prefix;               /* metric name prefix; NULL -> "drainability" */
    const char *const *label_names;   /* constant labels on every sample */
    const char *const *label_values;  /* escaped by the library */
    size_t label_count;
    bool openmetrics;                 /* true: OpenMetrics 1.0.0 (ends "# EOF");
                                         false: Prometheus text format 0.0.4 */
} drainprof_ext_metrics_options;

/* Exposition of the counters: <prefix>_granule_closes_total{outcome="drainable"|
 * "pinned"}, <prefix>_open_granules, <prefix>_peak_open_granules,
 * <prefix>_allocations_total, <prefix>_deallocations_total,
 * <prefix>_satisfaction_ratio, <prefix>_unbalanced_closes_total,
 * <prefix>_dropped_reports_total. No per-granule or per-site labels.
 * options may be NULL (defaults). -1 when prof is NULL, the prefix or a label
 * name is not a valid metric/label name, or a label value is NULL. */
int64_t drainprof_ext_format_metrics(const drainprof *prof,
                                     const drainprof_ext_metrics_options *options,
                                     char *buf, size_t size);

/* Human-readable diagnostic report: DSR line, totals, then up to `max_sites`
 * top pinning sites (0 = all) with reports, allocations, bytes and violation
 * class. Works in every mode (production shows the counters only). */
int64_t drainprof_ext_format_report(drainprof *prof, uint32_t max_sites, char *buf, size_t size);

/* ---------------------------------------------------------------------------
 * Foreign counter slots: counts kept in memory the caller owns.
 *
 * A thread for which every library call is expensive (JavaScript, where each
 * call crosses N-API: ~10 ns against the ~2 ns of a register) can count the
 * registers and deregisters it makes into one open granule in a slot of its
 * own memory, with plain integer increments and no call at all. The library
 * adds the slot's counts in wherever they matter:
 *   - granule_close folds every slot still attached to the granule into its
 *     net count (net += registers - deregisters) and into the profiler's
 *     totals (total_allocs += registers, total_deallocs += deregisters), then
 *     writes token = 0 and lets go of the slot;
 *   - snapshot, ext snapshot, sweep and granule_live include the counts of
 *     attached slots as they read them, plus everything folded so far;
 *   - fold and detach fold a slot the same way, at once;
 *   - reset lets go of every slot (token = 0), counts dropped like all others.
 * A counted register is one register call that succeeded, a counted
 * deregister one deregister call: the numbers are those the same calls made
 * through drainprof_alloc_register/deregister would give.
 *
 * Rules for the owner of a slot:
 *   - Only one thread writes registers and deregisters, with plain aligned
 *     stores: 8-byte stores, or 4-byte stores to the low half (the lower
 *     address on little-endian targets) while the value stays below 2^32 and
 *     the high half 0 (a writer with 32-bit integers only, like JavaScript's
 *     Int32Array, calls drainprof_ext_foreign_fold before a count outgrows
 *     its word). The library reads them with relaxed 8-byte atomic loads: an
 *     aligned store is single-copy atomic on the supported targets (x86-64,
 *     arm64), so a reader sees each count before or after an increment.
 *   - Before each increment, check that token still holds the value attach
 *     stored: the library writes 0 when it lets go (close, reset), so a slot
 *     whose granule closed is never counted into the granule's next life, or
 *     into another granule; the owner must then stop counting into it. Use a
 *     new token for every attachment (e.g. a counter) so a stale reader of a
 *     reused slot can tell.
 *   - As for every register, none may be in flight for the granule while it
 *     closes: the close must happen after (in the C11 / JavaScript memory
 *     model sense) the owner's last increment, or that increment is lost.
 *   - Memory: the library reads and writes the slot from attach until detach
 *     returns, or until it writes token = 0 itself (close, reset). Only then
 *     may the owner free or reuse the memory. drainprof_destroy forgets
 *     attached slots without touching them.
 *
 * Diagnostic mode keeps a record per allocation, which counts cannot make:
 * there a slot only marks one open life of a granule (token = 0 once it
 * closed) and its counts are ignored; make the registers with the calls.
 *
 * Once a profiler has had a slot attached, snapshot, sweep, granule_live,
 * close, fold, detach and attach serialise on a foreign-slot mutex for the
 * moments they read or change slots, so no read of a slot ever races its
 * detach. Profilers that never attach keep snapshot lock-free.
 * ------------------------------------------------------------------------- */
typedef struct drainprof_ext_foreign_slot {
    double token;          /* nonzero while attached (the value attach stored); 0 once released */
    uint64_t registers;    /* register calls counted by the owner */
    uint64_t deregisters;  /* deregister calls counted by the owner */
    uint64_t reserved;     /* set to 0 by attach; never read */
} drainprof_ext_foreign_slot;

/* Attaches `slot` to open granule `id`: zeroes its counts, stores `token`
 * (written last, with release order) and links it to the granule's record.
 * Returns 0, or -1 when prof or slot is NULL (NULL), token is not a finite
 * value > 0 or the slot is attached already (INVALID), `id` is not open
 * (NOT_OPEN), or memory runs out (NO_MEMORY). Takes the table lock and the
 * foreign-slot mutex; O(1) amortised. */
int drainprof_ext_foreign_attach(drainprof *prof, drainprof_granule_id id,
                                 drainprof_ext_foreign_slot *slot, double token);

/* Folds the slot's counts into its granule's net count and the profiler's
 * totals now and zeroes them; the slot stays attached (token unchanged). Only
 * the owner may call it (it writes the counts). Returns 1 when the slot is
 * attached, 0 when it is not, -1 when prof or slot is NULL. Takes the
 * foreign-slot mutex; O(1). */
int drainprof_ext_foreign_fold(drainprof *prof, drainprof_ext_foreign_slot *slot);

/* Folds the slot's counts into its granule's net count and the profiler's
 * totals now, writes token = 0 and lets go of it. Returns 1 when the slot was
 * attached, 0 when it was not (its granule closed, reset ran, or it never
 * was): either way the library no longer touches it when this returns. -1
 * when prof or slot is NULL. Takes the foreign-slot mutex; O(1). */
int drainprof_ext_foreign_detach(drainprof *prof, drainprof_ext_foreign_slot *slot);

/* Counts one register (deregister when `deregister` is true) that its owner
 * refused to count into a slot it found released (token changed): exactly
 * what the same call into a granule that is not open counts (total_allocs
 * and failed_registers += 1, or the deallocation pair). Always returns -1:
 * NOT_OPEN, or NULL for a NULL prof. Lock-free. */
int drainprof_ext_foreign_refused(drainprof *prof, bool deregister);

/* ---------------------------------------------------------------------------
 * Bulk counts (production mode).
 * ------------------------------------------------------------------------- */

/* As `registers` drainprof_alloc_register calls followed by `deregisters`
 * drainprof_alloc_deregister calls on granule `id`, in one step: the same
 * counters move (also when it fails: every one of them is a failed call).
 * Returns 0, or -1 when prof is NULL (NULL), the profiler is in diagnostic
 * mode (WRONG_MODE: allocations need their ids there; nothing is counted), a
 * count is above INT64_MAX (INVALID, nothing counted) or `id` is not open
 * (NOT_OPEN). Lock-free; costs one register call. */
int drainprof_ext_alloc_count(drainprof *prof, drainprof_granule_id id, uint64_t registers,
                              uint64_t deregisters);

#ifdef __cplusplus
}
#endif

#endif /* DRAINPROF_EXT_H */
