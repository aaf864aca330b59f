/*
 * test_stderr.c - the only text the library prints: the log_interval DSR line
 * and the verbose pinned-granule line, byte-exact on stderr (captured through
 * dup2), the verbose line first when both apply, nothing else, and never
 * anything on stdout.
 */
#include "harness.h"

typedef struct captured {
    dpt_capture err, out;
} captured;

static void begin(captured *cap)
{
    if (dpt_capture_begin(&cap->out, STDOUT_FILENO) != 0 || dpt_capture_begin(&cap->err, STDERR_FILENO) != 0) {
        printf("cannot capture stdout/stderr\n");
        exit(2);
    }
}

/* Ends the capture, checks stdout stayed empty, returns stderr's text. */
#define END_CAPTURE(cap, err_text) do { \
    err_text = dpt_capture_end(&(cap).err); \
    char *out_text_ = dpt_capture_end(&(cap).out); \
    EXPECT_STR(out_text_, ""); \
    free(out_text_); \
} while (0)

static drainprof *create_text(const dpt_config *c, uint64_t log_interval, bool verbose)
{
    drainprof_config cfg = dpt_config_for(c);
    cfg.log_interval = log_interval;
    cfg.verbose = verbose;
    return drainprof_create_with_config(&cfg);
}

/* Closes `gid` with `live` allocations left. */
static int close_with(drainprof *prof, uint64_t gid, uint32_t live)
{
    drainprof_granule_open(prof, gid);
    for (uint32_t a = 0; a < live; a++) drainprof_alloc_register(prof, gid, a, 8);
    return drainprof_granule_close(prof, gid);
}

static void test_log_interval(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("log_interval 2", c->name);
        drainprof *prof = create_text(c, 2, false);
        REQUIRE(prof != NULL);
        captured cap;
        char *err;
        begin(&cap);
        close_with(prof, 1, 0);
        close_with(prof, 2, 1);
        close_with(prof, 3, 0);
        close_with(prof, 4, 0);
        close_with(prof, 5, 2);
        END_CAPTURE(cap, err);
        EXPECT_STR(err, "drainprof: DSR=50.0% (1 pinned / 2 total)\n"
                        "drainprof: DSR=75.0% (1 pinned / 4 total)\n");
        free(err);
        drainprof_destroy(prof);

        dpt_set_ctx("log_interval 1", c->name);
        prof = create_text(c, 1, false);
        REQUIRE(prof != NULL);
        begin(&cap);
        close_with(prof, 1, 3);
        close_with(prof, 2, 0);
        close_with(prof, 3, 0);
        END_CAPTURE(cap, err);
        EXPECT_STR(err, "drainprof: DSR=0.0% (1 pinned / 1 total)\n"
                        "drainprof: DSR=50.0% (1 pinned / 2 total)\n"
                        "drainprof: DSR=66.7% (1 pinned / 3 total)\n");
        free(err);
        drainprof_destroy(prof);

        dpt_set_ctx("log_interval 3", c->name);
        prof = create_text(c, 3, false);
        REQUIRE(prof != NULL);
        begin(&cap);
        for (uint64_t g = 0; g < 3; g++) close_with(prof, g, 0);
        for (uint64_t g = 0; g < 3; g++) close_with(prof, g, g == 0 ? 0 : 1);
        for (uint64_t g = 0; g < 2; g++) close_with(prof, g, 0);
        END_CAPTURE(cap, err);
        EXPECT_STR(err, "drainprof: DSR=100.0% (0 pinned / 3 total)\n"
                        "drainprof: DSR=66.7% (2 pinned / 6 total)\n");
        free(err);
        drainprof_destroy(prof);

        /* One decimal, rounded: 1/7 = 14.3%, 1/14 = 7.1%. */
        dpt_set_ctx("log_interval rounding", c->name);
        prof = create_text(c, 7, false);
        REQUIRE(prof != NULL);
        begin(&cap);
        for (uint64_t g = 0; g < 7; g++) close_with(prof, g, g == 0 ? 0 : 1);
        for (uint64_t g = 0; g < 7; g++) close_with(prof, g, 1);
        END_CAPTURE(cap, err);
        EXPECT_STR(err, "drainprof: DSR=14.3% (6 pinned / 7 total)\n"
                        "drainprof: DSR=7.1% (13 pinned / 14 total)\n");
        free(err);
        drainprof_destroy(prof);
    }
}

static void test_verbose(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("verbose", c->name);
        drainprof *prof = create_text(c, 0, true);
        REQUIRE(prof != NULL);
        captured cap;
        char *err;
        begin(&cap);
        close_with(prof, 42, 3);
        close_with(prof, 43, 0);
        close_with(prof, UINT64_MAX, 1);
        close_with(prof, 0, 2);
        END_CAPTURE(cap, err);
        EXPECT_STR(err, "drainprof: Granule 42 pinned by 3 allocations\n"
                        "drainprof: Granule 18446744073709551615 pinned by 1 allocations\n"
                        "drainprof: Granule 0 pinned by 2 allocations\n");
        free(err);
        drainprof_destroy(prof);
    }
}

/* A pinned close that also hits log_interval: the verbose line comes first. */
static void test_verbose_then_dsr(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("verbose and log_interval", c->name);
        drainprof *prof = create_text(c, 2, true);
        REQUIRE(prof != NULL);
        captured cap;
        char *err;
        begin(&cap);
        close_with(prof, 1, 1);
        close_with(prof, 2, 2);
        close_with(prof, 3, 0);
        close_with(prof, 4, 0);
        close_with(prof, 5, 0);
        close_with(prof, 6, 4);
        END_CAPTURE(cap, err);
        EXPECT_STR(err, "drainprof: Granule 1 pinned by 1 allocations\n"
                        "drainprof: Granule 2 pinned by 2 allocations\n"
                        "drainprof: DSR=0.0% (2 pinned / 2 total)\n"
                        "drainprof: DSR=50.0% (2 pinned / 4 total)\n"
                        "drainprof: Granule 6 pinned by 4 allocations\n"
                        "drainprof: DSR=50.0% (3 pinned / 6 total)\n");
        free(err);
        drainprof_destroy(prof);
    }
}

/* Failed calls, unbalanced closes, dropped reports, callbacks, reset: no
 * extra text. The interval counts closes, which reset sets back to zero. */
static int callbacks;
static void on_pin(const drainprof_pinning_report *r, void *u)
{
    (void)r;
    (void)u;
    callbacks++;
}

static void test_nothing_else(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("failures print nothing", c->name);
        drainprof_config cfg = dpt_config_for(c);
        cfg.log_interval = 1;
        cfg.verbose = true;
        cfg.max_buffered_reports = 0;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        captured cap;
        char *err;
        begin(&cap);
        drainprof_granule_close(prof, 5);             /* not open */
        drainprof_alloc_register(prof, 5, 1, 1);      /* not open */
        drainprof_alloc_deregister(prof, 5, 1);       /* not open */
        drainprof_granule_open(prof, 5);
        drainprof_granule_open(prof, 5);              /* already open */
        drainprof_alloc_deregister(prof, 5, 1);       /* production: unbalanced; diagnostic: not live */
        drainprof_granule_close(prof, 5);             /* production: -1 unbalanced; diagnostic: drainable */
        drainprof_snapshot_t s;
        drainprof_snapshot(prof, &s);
        drainprof_sweep(prof, &s);
        drainprof_diagnostic_summary_free(drainprof_diagnostic_summary_compute(prof));
        END_CAPTURE(cap, err);
        EXPECT_STR(err, c->mode == DRAINPROF_DIAGNOSTIC ? "drainprof: DSR=100.0% (0 pinned / 1 total)\n" : "");
        free(err);
        drainprof_destroy(prof);

        dpt_set_ctx("defaults print nothing", c->name);
        cfg = dpt_config_for(c);
        cfg.max_buffered_reports = 1;
        prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        begin(&cap);
        for (uint64_t g = 0; g < 20; g++) close_with(prof, g, (uint32_t)(g % 3));
        drainprof_granule_close(prof, 1000);
        drainprof_reset(prof);
        END_CAPTURE(cap, err);
        EXPECT_STR(err, "");
        free(err);
        drainprof_destroy(prof);

        dpt_set_ctx("interval restarts after reset", c->name);
        prof = create_text(c, 2, false);
        REQUIRE(prof != NULL);
        begin(&cap);
        close_with(prof, 1, 0);
        drainprof_reset(prof);
        close_with(prof, 1, 1);
        close_with(prof, 2, 0);
        END_CAPTURE(cap, err);
        EXPECT_STR(err, "drainprof: DSR=50.0% (1 pinned / 2 total)\n");
        free(err);
        drainprof_destroy(prof);
    }
    FOR_EACH_DIAGNOSTIC_CONFIG(c) {
        dpt_set_ctx("callback mode prints the same lines", c->name);
        drainprof_config cfg = dpt_config_for(c);
        cfg.log_interval = 1;
        cfg.verbose = true;
        cfg.on_pinning = on_pin;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        captured cap;
        char *err;
        callbacks = 0;
        begin(&cap);
        close_with(prof, 9, 2);
        END_CAPTURE(cap, err);
        EXPECT_INT(callbacks, 1);
        EXPECT_STR(err, "drainprof: Granule 9 pinned by 2 allocations\n"
                        "drainprof: DSR=0.0% (1 pinned / 1 total)\n");
        free(err);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_log_interval();
    test_verbose();
    test_verbose_then_dsr();
    test_nothing_else();
    return dpt_finish();
}
