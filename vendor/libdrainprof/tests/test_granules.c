/*
 * test_granules.c - granule_open / granule_close return codes and counter
 * effects, storage capacity, id reuse, peak tracking, and ids that collide in
 * the table (sequential, page-aligned, high bits only, 0 and UINT64_MAX),
 * including deletion from the middle of a probe chain; a huge capacity costs
 * only what is used.
 */
#include "harness.h"

static drainprof *create_with(const dpt_config *c, uint32_t slot_capacity, uint32_t bucket_count)
{
    drainprof_config cfg = dpt_config_for(c);
    cfg.slot_capacity = slot_capacity;
    cfg.bucket_count = bucket_count;
    return drainprof_create_with_config(&cfg);
}

static void test_open_close_basics(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("open/close basics", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 42), 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 1, 1, 0, 0);

        /* Reopen of an open id: -1 and no counter moves. */
        EXPECT_INT(drainprof_granule_open(prof, 42), -1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 1, 1, 0, 0);

        /* Drainable close. */
        EXPECT_INT(drainprof_granule_close(prof, 42), 1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 1, 1, 0, 0, 1, 0, 0);

        /* Already closed, never opened: -1, nothing moves. */
        EXPECT_INT(drainprof_granule_close(prof, 42), -1);
        EXPECT_INT(drainprof_granule_close(prof, 43), -1);
        EXPECT_INT(drainprof_granule_close(prof, 0), -1);
        EXPECT_INT(drainprof_granule_close(prof, UINT64_MAX), -1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 1, 1, 0, 0, 1, 0, 0);

        /* Reuse after close; pinned close this time. */
        EXPECT_INT(drainprof_granule_open(prof, 42), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 42, 1, 100), 0);
        EXPECT_INT(drainprof_granule_close(prof, 42), 0);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 2, 1, 1, 0, 1, 1, 0);
        EXPECT_DBL(s.dsr, 0.5);

        /* Reuse once more: the new incarnation starts with no live allocation. */
        EXPECT_INT(drainprof_granule_open(prof, 42), 0);
        int64_t live = -99;
        EXPECT_INT(drainprof_ext_granule_live(prof, 42, &live), 1);
        EXPECT_INT(live, 0);
        EXPECT_INT(drainprof_granule_close(prof, 42), 1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 3, 2, 1, 0, 1, 1, 0);
        CHECK(s.total_closes == s.drainable_closes + s.pinned_closes);

        drainprof_pinning_report *r[4];
        uint32_t n = drainprof_drain_reports(prof, r, 4);
        EXPECT_UINT(n, c->mode == DRAINPROF_DIAGNOSTIC ? 1 : 0);
        for (uint32_t i = 0; i < n; i++) drainprof_pinning_report_free(r[i]);
        drainprof_destroy(prof);
    }
}

static void test_peak(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("peak_open_granules", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        for (uint64_t id = 1; id <= 3; id++) EXPECT_INT(drainprof_granule_open(prof, id), 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_UINT(s.open_granules, 3);
        EXPECT_UINT(s.peak_open_granules, 3);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        EXPECT_INT(drainprof_granule_close(prof, 2), 1);
        EXPECT_INT(drainprof_granule_open(prof, 4), 0);
        EXPECT_INT(drainprof_granule_open(prof, 3), -1); /* failed open: peak unchanged */
        s = dpt_snap(prof);
        EXPECT_UINT(s.open_granules, 2);
        EXPECT_UINT(s.peak_open_granules, 3);
        for (uint64_t id = 5; id <= 6; id++) EXPECT_INT(drainprof_granule_open(prof, id), 0);
        s = dpt_snap(prof);
        EXPECT_UINT(s.open_granules, 4);
        EXPECT_UINT(s.peak_open_granules, 4);
        for (uint64_t id = 3; id <= 6; id++) EXPECT_INT(drainprof_granule_close(prof, id), 1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 6, 6, 0, 0, 4, 0, 0);
        drainprof_destroy(prof);
    }
}

/* SLOT_ARRAY holds exactly slot_capacity open granules, for capacities that
 * are and are not powers of two. */
static void test_slot_capacity(void)
{
    static const uint32_t capacities[] = { 1, 2, 5, 64, 1000 };
    FOR_EACH_CONFIG(c) {
        if (c->storage != DRAINPROF_SLOT_ARRAY) continue;
        for (size_t k = 0; k < sizeof capacities / sizeof capacities[0]; k++) {
            uint32_t cap = capacities[k];
            char what[64];
            snprintf(what, sizeof what, "slot capacity %u", cap);
            dpt_set_ctx(what, c->name);
            drainprof *prof = create_with(c, cap, 64);
            REQUIRE(prof != NULL);
            /* page-like ids: worst case for id % capacity */
            int failures = 0;
            for (uint64_t i = 0; i < cap; i++) failures += drainprof_granule_open(prof, i * 4096) != 0;
            EXPECT_INT(failures, 0);
            EXPECT_INT(drainprof_granule_open(prof, (uint64_t)cap * 4096), -1);
            EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_CAPACITY);
            EXPECT_INT(drainprof_granule_open(prof, UINT64_MAX), -1);
            drainprof_snapshot_t s = dpt_snap(prof);
            EXPECT_COUNTERS(s, 0, 0, 0, cap, cap, 0, 0);
            dpt_xsnap e = dpt_ext_snap(prof);
            EXPECT_UINT(e.failed_opens, 2);
            /* Reopen of an open id while full: already open wins or capacity,
             * either way -1 and nothing moves. */
            EXPECT_INT(drainprof_granule_open(prof, 0), -1);
            /* One close makes room for exactly one. */
            EXPECT_INT(drainprof_granule_close(prof, (uint64_t)(cap / 2) * 4096), 1);
            EXPECT_INT(drainprof_granule_open(prof, UINT64_MAX), 0);
            EXPECT_INT(drainprof_granule_open(prof, UINT64_MAX - 1), -1);
            s = dpt_snap(prof);
            EXPECT_COUNTERS(s, 1, 1, 0, cap, cap, 0, 0);
            /* Everything still findable. */
            failures = 0;
            for (uint64_t i = 0; i < cap; i++)
                if (i != cap / 2) failures += drainprof_ext_granule_live(prof, i * 4096, NULL) != 1;
            EXPECT_INT(failures, 0);
            EXPECT_INT(drainprof_ext_granule_live(prof, UINT64_MAX, NULL), 1);
            drainprof_destroy(prof);
        }
    }
}

/* HASH_MAP: no capacity; 10x bucket_count and far beyond. */
static void test_hash_map_grows(void)
{
    FOR_EACH_CONFIG(c) {
        if (c->storage != DRAINPROF_HASH_MAP) continue;
        dpt_set_ctx("hash map grows", c->name);
        drainprof *prof = create_with(c, 1, 4);
        REQUIRE(prof != NULL);
        const uint64_t n = 20000;
        int failures = 0;
        for (uint64_t i = 0; i < 40; i++) failures += drainprof_granule_open(prof, i) != 0;
        EXPECT_INT(failures, 0);
        for (uint64_t i = 40; i < n; i++) failures += drainprof_granule_open(prof, i * 4096) != 0;
        EXPECT_INT(failures, 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_UINT(s.open_granules, n);
        EXPECT_UINT(s.peak_open_granules, n);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t id = i < 40 ? i : i * 4096;
            failures += drainprof_alloc_register(prof, id, i, 8) != 0;
            if (i % 2 == 0) failures += drainprof_alloc_deregister(prof, id, i) != 0;
        }
        EXPECT_INT(failures, 0);
        int drainable = 0, pinned = 0, other = 0;
        for (uint64_t i = 0; i < n; i++) {
            int rc = drainprof_granule_close(prof, i < 40 ? i : i * 4096);
            if (rc == 1) drainable++; else if (rc == 0) pinned++; else other++;
        }
        EXPECT_INT(drainable, (int)(n / 2));
        EXPECT_INT(pinned, (int)(n / 2));
        EXPECT_INT(other, 0);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, n, n / 2, n / 2, 0, n, n, n / 2);
        drainprof_reset(prof); /* drop the buffered reports quickly */
        drainprof_destroy(prof);
    }
}

enum { PATTERN_COUNT = 6 };
static const char *pattern_names[PATTERN_COUNT] = {
    "sequential", "page multiples", "high 32 bits", "top byte", "2^k", "stride capacity",
};

/* The i-th id of a family of ids likely to collide in a table of `cap`. */
static uint64_t pattern_id(int pattern, uint64_t i, uint64_t cap)
{
    switch (pattern) {
    case 0: return i;
    case 1: return i * 4096;
    case 2: return i << 32;
    case 3: return (i << 55) | 0x1234;
    case 4: return i == 0 ? 0 : i == 1 ? UINT64_MAX : (uint64_t)1 << (i % 64); /* needs i < 66 */
    default: return i * cap;
    }
}

/* Fill a table with colliding ids, delete from the middle of the chains, and
 * find every other id; then reuse the deleted ids. */
static void test_collisions(void)
{
    FOR_EACH_CONFIG(c) {
        for (int p = 0; p < PATTERN_COUNT; p++) {
            dpt_set_ctx(pattern_names[p], c->name);
            const uint64_t n = p == 4 ? 64 : 512;
            /* SLOT_ARRAY exactly full; HASH_MAP starting tiny. */
            drainprof *prof = create_with(c, (uint32_t)n, 2);
            REQUIRE(prof != NULL);
            int failures = 0;
            for (uint64_t i = 0; i < n; i++) failures += drainprof_granule_open(prof, pattern_id(p, i, n)) != 0;
            EXPECT_INT(failures, 0);
            /* All distinct and all findable. */
            for (uint64_t i = 0; i < n; i++) {
                failures += drainprof_granule_open(prof, pattern_id(p, i, n)) != -1;
                failures += drainprof_ext_granule_live(prof, pattern_id(p, i, n), NULL) != 1;
            }
            EXPECT_INT(failures, 0);
            /* Each granule i gets i % 3 live allocations. */
            for (uint64_t i = 0; i < n; i++)
                for (uint64_t a = 0; a < i % 3; a++)
                    failures += drainprof_alloc_register(prof, pattern_id(p, i, n), a, 1) != 0;
            EXPECT_INT(failures, 0);
            /* Delete every third, starting in the middle of the insertion order. */
            uint64_t closed = 0;
            for (uint64_t i = 1; i < n; i += 3) {
                failures += drainprof_granule_close(prof, pattern_id(p, i, n)) != 0; /* one live */
                closed++;
            }
            EXPECT_INT(failures, 0);
            /* Every other id is still there, with its own allocations. */
            for (uint64_t i = 0; i < n; i++) {
                uint64_t id = pattern_id(p, i, n);
                int64_t live = -1;
                int rc = drainprof_ext_granule_live(prof, id, &live);
                if (i % 3 == 1) {
                    failures += rc != 0;
                    failures += drainprof_alloc_register(prof, id, 99, 1) != -1;
                } else {
                    failures += rc != 1;
                    failures += live != (int64_t)(i % 3);
                    failures += drainprof_granule_open(prof, id) != -1;
                }
            }
            EXPECT_INT(failures, 0);
            drainprof_snapshot_t s = dpt_snap(prof);
            EXPECT_UINT(s.open_granules, n - closed);
            EXPECT_UINT(s.total_closes, closed);
            /* Reuse the deleted ids. */
            for (uint64_t i = 1; i < n; i += 3) failures += drainprof_granule_open(prof, pattern_id(p, i, n)) != 0;
            EXPECT_INT(failures, 0);
            s = dpt_snap(prof);
            EXPECT_UINT(s.open_granules, n);
            /* Close everything: the reopened ones are empty. */
            uint64_t drainable = 0;
            for (uint64_t i = 0; i < n; i++) {
                int expect = (i % 3 == 1 || i % 3 == 0) ? 1 : 0;
                int rc = drainprof_granule_close(prof, pattern_id(p, i, n));
                failures += rc != expect;
                drainable += rc == 1;
            }
            EXPECT_INT(failures, 0);
            s = dpt_snap(prof);
            EXPECT_UINT(s.open_granules, 0);
            EXPECT_UINT(s.total_closes, closed + n);
            EXPECT_UINT(s.total_closes, s.drainable_closes + s.pinned_closes);
            drainprof_reset(prof);
            drainprof_destroy(prof);
        }
    }
}

/* Long churn through one table: open and close ids in a sliding window so
 * that deleted slots are reused many times (tombstones or backward shift must
 * not lose entries or fill the table). */
static void test_churn(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("sliding window churn", c->name);
        const uint64_t window = 48;
        drainprof *prof = create_with(c, (uint32_t)window, 2);
        REQUIRE(prof != NULL);
        int failures = 0;
        uint64_t rounds = 20000;
        for (uint64_t i = 0; i < rounds + window; i++) {
            if (i >= window) {
                uint64_t old = (i - window) * 4096;
                failures += drainprof_granule_close(prof, old) != 1;
                /* the next oldest, still open, is still found */
                if (i - window + 1 < rounds)
                    failures += drainprof_ext_granule_live(prof, old + 4096, NULL) != 1;
            }
            if (i < rounds) failures += drainprof_granule_open(prof, i * 4096) != 0;
        }
        EXPECT_INT(failures, 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, rounds, rounds, 0, 0, window, 0, 0);
        drainprof_destroy(prof);
    }
}

/* A capacity is a bound, not an allocation: a profiler with room for ~2^32
 * open granules must be cheap to create and use (it once touched every
 * record at create and the OOM killer ended the process). */
static void test_huge_capacity_is_a_bound(void)
{
    FOR_EACH_CONFIG(c) {
        if (c->storage != DRAINPROF_SLOT_ARRAY)
            continue;
        dpt_set_ctx("huge slot capacity", c->name);
        drainprof *prof = create_with(c, UINT32_MAX, 0);
        REQUIRE(prof != NULL);
        int failures = 0;
        for (uint64_t i = 0; i < 5000; i++)
            failures += drainprof_granule_open(prof, i * 4096) != 0;
        EXPECT_INT(failures, 0);
        for (uint64_t i = 0; i < 5000; i++)
            failures += drainprof_granule_close(prof, i * 4096) != 1;
        EXPECT_INT(failures, 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 5000, 5000, 0, 0, 5000, 0, 0);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_huge_capacity_is_a_bound();
    test_open_close_basics();
    test_peak();
    test_slot_capacity();
    test_hash_map_grows();
    test_collisions();
    test_churn();
    return dpt_finish();
}
