/*
 * test_allocs.c - alloc_register / _located / deregister return codes and
 * counters in every configuration: failed calls still count, register and
 * deregister after close, live counts, drainable vs pinned closes.
 */
#include "harness.h"

static void test_register_counts(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("register/deregister counters", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 7), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 7, 100, 16), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, 7, 101, 32, "a.c", 10), 0);
        drainprof_alloc_site site = { "b.c", 20, 3 };
        EXPECT_INT(drainprof_ext_alloc_register_site(prof, 7, 102, 64, &site), 0);
        EXPECT_INT(drainprof_ext_alloc_register_site(prof, 7, 103, 0, NULL), 0);
        int64_t live = 0;
        EXPECT_INT(drainprof_ext_granule_live(prof, 7, &live), 1);
        EXPECT_INT(live, 4);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 1, 1, 4, 0);

        /* Into a granule that is not open: -1, still counted. */
        EXPECT_INT(drainprof_alloc_register(prof, 8, 1, 16), -1);
        EXPECT_INT(drainprof_alloc_register_located(prof, 8, 1, 16, "a.c", 1), -1);
        EXPECT_INT(drainprof_ext_alloc_register_site(prof, 8, 1, 16, &site), -1);
        EXPECT_INT(drainprof_alloc_deregister(prof, 8, 1), -1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 0, 0, 0, 1, 1, 7, 1);
        dpt_xsnap e = dpt_ext_snap(prof);
        EXPECT_UINT(e.failed_registers, 3);
        EXPECT_UINT(e.failed_deregisters, 1);

        EXPECT_INT(drainprof_alloc_deregister(prof, 7, 100), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 7, 101), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 7, 102), 0);
        EXPECT_INT(drainprof_ext_granule_live(prof, 7, &live), 1);
        EXPECT_INT(live, 1);
        EXPECT_INT(drainprof_granule_close(prof, 7), 0);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 1, 0, 1, 0, 1, 7, 4);

        /* After close: register -1 (counted); deregister of an id that did not
         * pin (never registered) is -1 (counted). */
        EXPECT_INT(drainprof_alloc_register(prof, 7, 200, 16), -1);
        EXPECT_INT(drainprof_alloc_deregister(prof, 7, 200), -1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 1, 0, 1, 0, 1, 8, 5);

        EXPECT_INT(drainprof_granule_open(prof, 7), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 7, 1, 16), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 7, 1), 0);
        EXPECT_INT(drainprof_granule_close(prof, 7), 1);
        s = dpt_snap(prof);
        EXPECT_COUNTERS(s, 2, 1, 1, 0, 1, 9, 6);
        EXPECT_DBL(s.dsr, 0.5);
        e = dpt_ext_snap(prof);
        EXPECT_UINT(e.failed_registers, 4);
        EXPECT_UINT(e.failed_deregisters, 2);
        CHECK(memcmp(&e.base.total_closes, &s.total_closes,
                     sizeof s - offsetof(drainprof_snapshot_t, total_closes)) == 0);
        drainprof_reset(prof);
        drainprof_destroy(prof);
    }
}

/* Many granules, each with a known number of live allocations at close. */
static void test_many_granules(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("many granules", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        const uint64_t n = 300;
        int failures = 0;
        uint64_t regs = 0, deregs = 0;
        for (uint64_t g = 0; g < n; g++) failures += drainprof_granule_open(prof, g * 7919) != 0;
        for (uint64_t g = 0; g < n; g++) {
            for (uint64_t a = 0; a < g % 5 + 1; a++, regs++)
                failures += drainprof_alloc_register(prof, g * 7919, g * 1000 + a, a + 1) != 0;
            /* free all of them when g is even, all but one when odd */
            uint64_t to_free = g % 2 == 0 ? g % 5 + 1 : g % 5;
            for (uint64_t a = 0; a < to_free; a++, deregs++)
                failures += drainprof_alloc_deregister(prof, g * 7919, g * 1000 + a) != 0;
        }
        EXPECT_INT(failures, 0);
        uint64_t drainable = 0, pinned = 0;
        for (uint64_t g = 0; g < n; g++) {
            int rc = drainprof_granule_close(prof, g * 7919);
            failures += rc != (g % 2 == 0 ? 1 : 0);
            if (rc == 1) drainable++;
            if (rc == 0) pinned++;
        }
        EXPECT_INT(failures, 0);
        drainprof_snapshot_t s = dpt_snap(prof);
        EXPECT_COUNTERS(s, n, drainable, pinned, 0, n, regs, deregs);
        EXPECT_UINT(drainable, n / 2);
        drainprof_reset(prof);
        drainprof_destroy(prof);
    }
}

/* Sizes are arbitrary size_t values, 0 and SIZE_MAX included. */
static void test_sizes(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("sizes", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, 0, 0), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, UINT64_MAX, SIZE_MAX), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 1, 0), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 1, UINT64_MAX), 0);
        EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_register_counts();
    test_many_granules();
    test_sizes();
    return dpt_finish();
}
