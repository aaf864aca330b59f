/*
 * harness.h - a tiny test harness for the libdrainprof C tests.
 *
 * Every check prints file:line, the current context (e.g. the configuration
 * under test) and the values it compared when it fails, then the test goes on.
 * A program ends with `return dpt_finish();`, which prints "N passed, M failed"
 * and returns non-zero when anything failed.
 *
 * Messages go to stdout: stderr belongs to the library under test (and is
 * captured by test_stderr.c).
 */
#ifndef DRAINPROF_TEST_HARNESS_H
#define DRAINPROF_TEST_HARNESS_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drainprof.h"
#include "drainprof_ext.h"

#define DPT_UNUSED __attribute__((unused))

static long dpt_passed DPT_UNUSED;
static long dpt_failed DPT_UNUSED;
/* What the test is doing now, printed with every failure. */
static char dpt_ctx[160] DPT_UNUSED = "";

static void dpt_set_ctx(const char *what, const char *config) DPT_UNUSED;
static void dpt_set_ctx(const char *what, const char *config)
{
    snprintf(dpt_ctx, sizeof dpt_ctx, "%s%s%s", what, config ? " / " : "", config ? config : "");
}

static void dpt_fail_head(const char *file, int line) DPT_UNUSED;
static void dpt_fail_head(const char *file, int line)
{
    dpt_failed++;
    printf("%s:%d: [%s] ", file, line, dpt_ctx);
}

#define CHECK(cond) do { \
    if (cond) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); printf("CHECK(%s) failed\n", #cond); fflush(stdout); } \
} while (0)

/* Returns from the (void) test function when cond is false: for pointers the
 * rest of the test would dereference. */
#define REQUIRE(cond) do { \
    if (cond) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); printf("REQUIRE(%s) failed, test aborted\n", #cond); \
           fflush(stdout); return; } \
} while (0)

#define EXPECT_INT(actual, expected) do { \
    long long dpt_a_ = (long long)(actual), dpt_e_ = (long long)(expected); \
    if (dpt_a_ == dpt_e_) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("EXPECT_INT(%s, %s): got %lld, expected %lld\n", #actual, #expected, dpt_a_, dpt_e_); \
           fflush(stdout); } \
} while (0)

#define EXPECT_UINT(actual, expected) do { \
    unsigned long long dpt_a_ = (unsigned long long)(actual), dpt_e_ = (unsigned long long)(expected); \
    if (dpt_a_ == dpt_e_) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("EXPECT_UINT(%s, %s): got %llu, expected %llu\n", #actual, #expected, dpt_a_, dpt_e_); \
           fflush(stdout); } \
} while (0)

/* Exact comparison of doubles (bit-for-bit equal values, e.g. 0.0 or -1.0). */
#define EXPECT_DBL(actual, expected) do { \
    double dpt_a_ = (double)(actual), dpt_e_ = (double)(expected); \
    if (dpt_a_ == dpt_e_) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("EXPECT_DBL(%s, %s): got %.17g, expected %.17g\n", #actual, #expected, dpt_a_, dpt_e_); \
           fflush(stdout); } \
} while (0)

#define EXPECT_NEAR(actual, expected, eps) do { \
    double dpt_a_ = (double)(actual), dpt_e_ = (double)(expected); \
    if (fabs(dpt_a_ - dpt_e_) <= (eps)) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("EXPECT_NEAR(%s, %s): got %.17g, expected %.17g +- %g\n", #actual, #expected, \
                  dpt_a_, dpt_e_, (double)(eps)); \
           fflush(stdout); } \
} while (0)

#define EXPECT_PTR(actual, expected) do { \
    const void *dpt_a_ = (const void *)(actual), *dpt_e_ = (const void *)(expected); \
    if (dpt_a_ == dpt_e_) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("EXPECT_PTR(%s, %s): got %p, expected %p\n", #actual, #expected, dpt_a_, dpt_e_); \
           fflush(stdout); } \
} while (0)

/* Strings compared by contents; NULL equals only NULL. */
#define EXPECT_STR(actual, expected) do { \
    const char *dpt_a_ = (actual), *dpt_e_ = (expected); \
    if ((dpt_a_ == NULL && dpt_e_ == NULL) || (dpt_a_ && dpt_e_ && strcmp(dpt_a_, dpt_e_) == 0)) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("EXPECT_STR(%s, %s):\n  got      \"%s\"\n  expected \"%s\"\n", #actual, #expected, \
                  dpt_a_ ? dpt_a_ : "(null)", dpt_e_ ? dpt_e_ : "(null)"); \
           fflush(stdout); } \
} while (0)

#define EXPECT_CONTAINS(haystack, needle) do { \
    const char *dpt_h_ = (haystack), *dpt_n_ = (needle); \
    if (dpt_h_ && dpt_n_ && strstr(dpt_h_, dpt_n_)) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("EXPECT_CONTAINS(%s, %s): \"%s\" not found in:\n%s\n", #haystack, #needle, \
                  dpt_n_ ? dpt_n_ : "(null)", dpt_h_ ? dpt_h_ : "(null)"); \
           fflush(stdout); } \
} while (0)

#define EXPECT_NOT_CONTAINS(haystack, needle) do { \
    const char *dpt_h_ = (haystack), *dpt_n_ = (needle); \
    if (dpt_h_ && dpt_n_ && !strstr(dpt_h_, dpt_n_)) dpt_passed++; \
    else { dpt_fail_head(__FILE__, __LINE__); \
           printf("EXPECT_NOT_CONTAINS(%s, %s): \"%s\" found in:\n%s\n", #haystack, #needle, \
                  dpt_n_ ? dpt_n_ : "(null)", dpt_h_ ? dpt_h_ : "(null)"); \
           fflush(stdout); } \
} while (0)

static int dpt_finish(void) DPT_UNUSED;
static int dpt_finish(void)
{
    printf("%ld passed, %ld failed\n", dpt_passed, dpt_failed);
    fflush(stdout);
    return dpt_failed ? 1 : 0;
}

/* ---- the four configurations every applicable case runs under ---------- */

typedef struct dpt_config {
    drainprof_mode mode;
    drainprof_storage storage;
    const char *name;
} dpt_config;

static const dpt_config dpt_configs[4] DPT_UNUSED = {
    { DRAINPROF_PRODUCTION, DRAINPROF_SLOT_ARRAY, "production/slot_array" },
    { DRAINPROF_PRODUCTION, DRAINPROF_HASH_MAP,   "production/hash_map" },
    { DRAINPROF_DIAGNOSTIC, DRAINPROF_SLOT_ARRAY, "diagnostic/slot_array" },
    { DRAINPROF_DIAGNOSTIC, DRAINPROF_HASH_MAP,   "diagnostic/hash_map" },
};

#define FOR_EACH_CONFIG(c) for (const dpt_config *c = dpt_configs; c < dpt_configs + 4; ++c)
#define FOR_EACH_PRODUCTION_CONFIG(c) for (const dpt_config *c = dpt_configs; c < dpt_configs + 2; ++c)
#define FOR_EACH_DIAGNOSTIC_CONFIG(c) for (const dpt_config *c = dpt_configs + 2; c < dpt_configs + 4; ++c)

/* The defaults with the mode and storage of `c`. */
static drainprof_config dpt_config_for(const dpt_config *c) DPT_UNUSED;
static drainprof_config dpt_config_for(const dpt_config *c)
{
    drainprof_config cfg;
    drainprof_config_default(&cfg);
    cfg.mode = c->mode;
    cfg.storage = c->storage;
    return cfg;
}

static drainprof *dpt_create(const dpt_config *c) DPT_UNUSED;
static drainprof *dpt_create(const dpt_config *c)
{
    drainprof_config cfg = dpt_config_for(c);
    return drainprof_create_with_config(&cfg);
}

static drainprof_snapshot_t dpt_snap(const drainprof *prof) DPT_UNUSED;
static drainprof_snapshot_t dpt_snap(const drainprof *prof)
{
    drainprof_snapshot_t s;
    memset(&s, 0xA5, sizeof s);
    drainprof_snapshot(prof, &s);
    return s;
}

typedef drainprof_ext_snapshot_t dpt_xsnap;

static dpt_xsnap dpt_ext_snap(const drainprof *prof) DPT_UNUSED;
static dpt_xsnap dpt_ext_snap(const drainprof *prof)
{
    dpt_xsnap s;
    memset(&s, 0xA5, sizeof s);
    drainprof_ext_snapshot(prof, &s);
    return s;
}

/* Checks every counter of a snapshot at once (timestamp aside). */
#define EXPECT_COUNTERS(s, total, drainable, pinned, open, peak, allocs, deallocs) do { \
    EXPECT_UINT((s).total_closes, (total)); \
    EXPECT_UINT((s).drainable_closes, (drainable)); \
    EXPECT_UINT((s).pinned_closes, (pinned)); \
    EXPECT_UINT((s).open_granules, (open)); \
    EXPECT_UINT((s).peak_open_granules, (peak)); \
    EXPECT_UINT((s).total_allocs, (allocs)); \
    EXPECT_UINT((s).total_deallocs, (deallocs)); \
    EXPECT_DBL((s).dsr, (total) ? (double)(drainable) / (double)(total) : 0.0); \
} while (0)

/* ---- time ---------------------------------------------------------------- */

static struct timespec dpt_now(void) DPT_UNUSED;
static struct timespec dpt_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

/* <0, 0, >0 like strcmp. */
static int dpt_ts_cmp(struct timespec a, struct timespec b) DPT_UNUSED;
static int dpt_ts_cmp(struct timespec a, struct timespec b)
{
    if (a.tv_sec != b.tv_sec) return a.tv_sec < b.tv_sec ? -1 : 1;
    if (a.tv_nsec != b.tv_nsec) return a.tv_nsec < b.tv_nsec ? -1 : 1;
    return 0;
}

static double dpt_ts_sec(struct timespec t) DPT_UNUSED;
static double dpt_ts_sec(struct timespec t)
{
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void dpt_sleep_ms(long ms) DPT_UNUSED;
static void dpt_sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {
    }
}

/* ---- capturing a file descriptor (stderr, stdout) ------------------------ */

typedef struct dpt_capture {
    int fd;       /* the descriptor captured */
    int saved;    /* a dup of what it pointed to before */
    FILE *tmp;    /* where it points meanwhile */
} dpt_capture;

static int dpt_capture_begin(dpt_capture *cap, int fd) DPT_UNUSED;
static int dpt_capture_begin(dpt_capture *cap, int fd)
{
    fflush(stdout);
    fflush(stderr);
    cap->fd = fd;
    cap->tmp = tmpfile();
    if (!cap->tmp) return -1;
    cap->saved = dup(fd);
    if (cap->saved < 0 || dup2(fileno(cap->tmp), fd) < 0) return -1;
    return 0;
}

/* Restores the descriptor; returns what was written meanwhile (malloc'd,
 * NUL-terminated; the caller frees it). */
static char *dpt_capture_end(dpt_capture *cap) DPT_UNUSED;
static char *dpt_capture_end(dpt_capture *cap)
{
    fflush(stdout);
    fflush(stderr);
    dup2(cap->saved, cap->fd);
    close(cap->saved);
    long len = lseek(fileno(cap->tmp), 0, SEEK_END);
    if (len < 0) len = 0;
    char *text = malloc((size_t)len + 1);
    if (!text) abort();
    lseek(fileno(cap->tmp), 0, SEEK_SET);
    size_t got = 0;
    while (got < (size_t)len) {
        ssize_t n = read(fileno(cap->tmp), text + got, (size_t)len - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    text[got] = '\0';
    fclose(cap->tmp);
    return text;
}

#endif /* DRAINPROF_TEST_HARNESS_H */
