/*
 * test_report_text.c - drainprof_ext_format_report: a DSR line in every mode,
 * top pinning sites with bytes and class in diagnostic mode, max_sites, and
 * snprintf semantics. The exact layout is free; these checks look for content.
 */
#include "harness.h"

static char *report_text(drainprof *prof, uint32_t max_sites)
{
    int64_t len = drainprof_ext_format_report(prof, max_sites, NULL, 0);
    EXPECT_INT(len > 0, 1);
    if (len <= 0) return NULL;
    char *buf = malloc((size_t)len + 1);
    if (!buf) abort();
    EXPECT_INT(drainprof_ext_format_report(prof, max_sites, buf, (size_t)len + 1), len);
    EXPECT_UINT(strlen(buf), (uint64_t)len);
    return buf;
}

/* alpha.c:10 pins 3 x 259 = 777 bytes in 3 reports, beta.c:20 2 x 333 = 666
 * in 2, gamma.c:30 555 in 1; one drainable close. */
static void build_sites(drainprof *prof)
{
    for (uint64_t g = 1; g <= 3; g++) {
        EXPECT_INT(drainprof_granule_open(prof, g), 0);
        EXPECT_INT(drainprof_alloc_register_located(prof, g, 1, 259, "alpha.c", 10), 0);
        if (g <= 2) EXPECT_INT(drainprof_alloc_register_located(prof, g, 2, 333, "beta.c", 20), 0);
        if (g == 3) EXPECT_INT(drainprof_alloc_register_located(prof, g, 3, 555, "gamma.c", 30), 0);
        EXPECT_INT(drainprof_granule_close(prof, g), 0);
    }
    EXPECT_INT(drainprof_granule_open(prof, 4), 0);
    EXPECT_INT(drainprof_granule_close(prof, 4), 1);
}

static void test_every_mode(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("report text", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        char *text = report_text(prof, 0);
        REQUIRE(text != NULL);
        EXPECT_CONTAINS(text, "DSR");
        free(text);
        build_sites(prof);
        text = report_text(prof, 0);
        REQUIRE(text != NULL);
        EXPECT_CONTAINS(text, "DSR");
        EXPECT_CONTAINS(text, "25.0%"); /* 1 drainable of 4 closes */
        if (c->mode == DRAINPROF_DIAGNOSTIC) {
            EXPECT_CONTAINS(text, "alpha.c");
            EXPECT_CONTAINS(text, "beta.c");
            EXPECT_CONTAINS(text, "gamma.c");
            EXPECT_CONTAINS(text, "777");
            EXPECT_CONTAINS(text, "666");
            EXPECT_CONTAINS(text, "555");
            EXPECT_CONTAINS(text, drainprof_ext_class_name(DRAINPROF_EXT_CLASS_UNRESOLVED));
            /* the top site comes first */
            const char *a = strstr(text, "alpha.c"), *b = strstr(text, "beta.c"), *g = strstr(text, "gamma.c");
            CHECK(a && b && g && a < b && b < g);
        } else {
            EXPECT_NOT_CONTAINS(text, "alpha.c");
        }
        free(text);

        if (c->mode == DRAINPROF_DIAGNOSTIC) {
            dpt_set_ctx("report text, max_sites", c->name);
            text = report_text(prof, 1);
            REQUIRE(text != NULL);
            EXPECT_CONTAINS(text, "alpha.c");
            EXPECT_NOT_CONTAINS(text, "beta.c");
            EXPECT_NOT_CONTAINS(text, "gamma.c");
            free(text);
            text = report_text(prof, 2);
            REQUIRE(text != NULL);
            EXPECT_CONTAINS(text, "alpha.c");
            EXPECT_CONTAINS(text, "beta.c");
            EXPECT_NOT_CONTAINS(text, "gamma.c");
            free(text);

            /* A resolved pin shows its class. */
            dpt_set_ctx("report text, resolved class", c->name);
            EXPECT_INT(drainprof_granule_open(prof, 50), 0);
            EXPECT_INT(drainprof_alloc_register_located(prof, 50, 1, 100000, "delta.c", 40), 0);
            EXPECT_INT(drainprof_granule_close(prof, 50), 0);
            dpt_sleep_ms(20);
            EXPECT_INT(drainprof_alloc_deregister(prof, 50, 1), 0);
            drainprof_ext_lifetime_record rec[8];
            uint32_t n = drainprof_ext_lifetime_records(prof, rec, 8);
            EXPECT_UINT(n, 1);
            text = report_text(prof, 0);
            REQUIRE(text != NULL);
            EXPECT_CONTAINS(text, "delta.c");
            if (n == 1) EXPECT_CONTAINS(text, drainprof_ext_class_name(rec[0].violation_class));
            free(text);
        }
        drainprof_destroy(prof);
    }
}

static void test_snprintf_semantics(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("report text, snprintf semantics", c->name);
        drainprof *prof = dpt_create(c);
        REQUIRE(prof != NULL);
        build_sites(prof);
        char *full = report_text(prof, 0);
        REQUIRE(full != NULL);
        int64_t len = (int64_t)strlen(full);
        char buf[32];
        memset(buf, 'z', sizeof buf);
        EXPECT_INT(drainprof_ext_format_report(prof, 0, buf, 0), len);
        EXPECT_INT(buf[0], 'z');
        memset(buf, 'z', sizeof buf);
        EXPECT_INT(drainprof_ext_format_report(prof, 0, buf, 8), len);
        CHECK(memcmp(buf, full, 7) == 0);
        EXPECT_INT(buf[7], '\0');
        EXPECT_INT(buf[8], 'z');
        free(full);
        drainprof_destroy(prof);
    }
}

int main(void)
{
    test_every_mode();
    test_snprintf_semantics();
    return dpt_finish();
}
