/*
 * test_ext_errors.c - drainprof_ext_last_error after each kind of failure,
 * unchanged by successful calls, per thread; error and class names.
 */
#include "harness.h"
#include <pthread.h>

#define EXPECT_ERR(call, rc, err) do { \
    EXPECT_INT((call), (rc)); \
    EXPECT_INT(drainprof_ext_last_error(), (err)); \
} while (0)

static void test_create_errors(void)
{
    dpt_set_ctx("create errors", NULL);
    CHECK(drainprof_create_with_config(NULL) == NULL);
    EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NULL);
    drainprof_config cfg;
    drainprof_config_default(&cfg);
    cfg.mode = (drainprof_mode)5;
    CHECK(drainprof_create_with_config(&cfg) == NULL);
    EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_INVALID);
    drainprof_config_default(&cfg);
    cfg.slot_capacity = 0;
    CHECK(drainprof_create_with_config(NULL) == NULL); /* NULL first */
    CHECK(drainprof_create_with_config(&cfg) == NULL);
    EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_INVALID);
    drainprof_config_default(&cfg);
    cfg.storage = (drainprof_storage)9;
    CHECK(drainprof_create_with_config(NULL) == NULL);
    CHECK(drainprof_create_with_config(&cfg) == NULL);
    EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_INVALID);
}

static void test_call_errors(void)
{
    FOR_EACH_CONFIG(c) {
        dpt_set_ctx("call errors", c->name);
        drainprof_config cfg = dpt_config_for(c);
        cfg.slot_capacity = 1;
        drainprof *prof = drainprof_create_with_config(&cfg);
        REQUIRE(prof != NULL);
        drainprof_alloc_site site = { "s.c", 1, 1 };

        EXPECT_ERR(drainprof_granule_open(NULL, 1), -1, DRAINPROF_EXT_ERR_NULL);
        EXPECT_ERR(drainprof_granule_close(prof, 1), -1, DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_ERR(drainprof_granule_close(NULL, 1), -1, DRAINPROF_EXT_ERR_NULL);
        EXPECT_ERR(drainprof_alloc_register(prof, 1, 1, 1), -1, DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_ERR(drainprof_alloc_register(NULL, 1, 1, 1), -1, DRAINPROF_EXT_ERR_NULL);
        EXPECT_ERR(drainprof_alloc_register_located(prof, 1, 1, 1, "f", 1), -1, DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_ERR(drainprof_alloc_register_located(NULL, 1, 1, 1, "f", 1), -1, DRAINPROF_EXT_ERR_NULL);
        EXPECT_ERR(drainprof_ext_alloc_register_site(prof, 1, 1, 1, &site), -1, DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_ERR(drainprof_ext_alloc_register_site(NULL, 1, 1, 1, &site), -1, DRAINPROF_EXT_ERR_NULL);
        EXPECT_ERR(drainprof_alloc_deregister(prof, 1, 1), -1, DRAINPROF_EXT_ERR_NOT_OPEN);
        EXPECT_ERR(drainprof_alloc_deregister(NULL, 1, 1), -1, DRAINPROF_EXT_ERR_NULL);

        EXPECT_INT(drainprof_granule_open(prof, 1), 0);
        EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NULL); /* success leaves it */
        EXPECT_ERR(drainprof_granule_open(prof, 1), -1, DRAINPROF_EXT_ERR_ALREADY_OPEN);
        if (c->storage == DRAINPROF_SLOT_ARRAY)
            EXPECT_ERR(drainprof_granule_open(prof, 2), -1, DRAINPROF_EXT_ERR_CAPACITY);
        else
            EXPECT_INT(drainprof_granule_open(prof, 2), 0);
        EXPECT_INT(drainprof_alloc_register(prof, 1, 5, 1), 0);
        EXPECT_INT(drainprof_alloc_deregister(prof, 1, 5), 0);
        if (c->mode == DRAINPROF_DIAGNOSTIC) {
            EXPECT_ERR(drainprof_alloc_deregister(prof, 1, 5), -1, DRAINPROF_EXT_ERR_NOT_LIVE);
            EXPECT_INT(drainprof_granule_close(prof, 1), 1);
        } else {
            EXPECT_INT(drainprof_alloc_deregister(prof, 1, 5), 0);
            EXPECT_ERR(drainprof_granule_close(prof, 1), -1, DRAINPROF_EXT_ERR_UNBALANCED);
        }

        drainprof_config got;
        EXPECT_ERR(drainprof_ext_get_config(NULL, &got), -1, DRAINPROF_EXT_ERR_NULL);
        EXPECT_ERR(drainprof_ext_granule_live(prof, 1, NULL), 0, DRAINPROF_EXT_ERR_NULL); /* 0 is no error */
        EXPECT_ERR(drainprof_ext_granule_live(NULL, 1, NULL), -1, DRAINPROF_EXT_ERR_NULL);
        EXPECT_ERR(drainprof_ext_set_lifetime_limit(NULL, 1), -1, DRAINPROF_EXT_ERR_NULL);
        char buf[32];
        EXPECT_ERR(drainprof_ext_format_metrics(NULL, NULL, buf, sizeof buf), -1, DRAINPROF_EXT_ERR_NULL);
        drainprof_ext_metrics_options bad = { "9bad", NULL, NULL, 0, false };
        EXPECT_ERR(drainprof_ext_format_metrics(prof, &bad, buf, sizeof buf), -1, DRAINPROF_EXT_ERR_INVALID);
        EXPECT_ERR(drainprof_ext_format_report(NULL, 0, buf, sizeof buf), -1, DRAINPROF_EXT_ERR_NULL);
        if (c->mode == DRAINPROF_PRODUCTION) {
            CHECK(drainprof_diagnostic_summary_compute(prof) == NULL);
            EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_WRONG_MODE);
            drainprof_granule_close(prof, 77);
            CHECK(drainprof_ext_summary_compute(prof) == NULL);
            EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_WRONG_MODE);
        }
        drainprof_destroy(prof);
    }
}

/* The slot is per thread: another thread's failure does not show here, and a
 * thread that never failed reads OK. */
typedef struct thread_result {
    drainprof *prof;
    drainprof_ext_error at_start, after_fail;
} thread_result;

static void *other_thread(void *p)
{
    thread_result *r = p;
    r->at_start = drainprof_ext_last_error();
    drainprof_granule_open(r->prof, 1); /* already open */
    r->after_fail = drainprof_ext_last_error();
    return NULL;
}

static void test_thread_local(void)
{
    dpt_set_ctx("last error is per thread", NULL);
    drainprof *prof = drainprof_create();
    REQUIRE(prof != NULL);
    EXPECT_INT(drainprof_granule_open(prof, 1), 0);
    EXPECT_ERR(drainprof_granule_close(prof, 2), -1, DRAINPROF_EXT_ERR_NOT_OPEN);
    thread_result r = { prof, (drainprof_ext_error)-1, (drainprof_ext_error)-1 };
    pthread_t t;
    REQUIRE(pthread_create(&t, NULL, other_thread, &r) == 0);
    pthread_join(t, NULL);
    EXPECT_INT(r.at_start, DRAINPROF_EXT_OK);
    EXPECT_INT(r.after_fail, DRAINPROF_EXT_ERR_ALREADY_OPEN);
    EXPECT_INT(drainprof_ext_last_error(), DRAINPROF_EXT_ERR_NOT_OPEN);
    drainprof_destroy(prof);
}

static void test_names(void)
{
    dpt_set_ctx("error and class names", NULL);
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_OK), "OK");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_NULL), "NULL");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_INVALID), "INVALID");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_NO_MEMORY), "NO_MEMORY");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_ALREADY_OPEN), "ALREADY_OPEN");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_NOT_OPEN), "NOT_OPEN");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_CAPACITY), "CAPACITY");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_UNBALANCED), "UNBALANCED");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_NOT_LIVE), "NOT_LIVE");
    EXPECT_STR(drainprof_ext_error_name(DRAINPROF_EXT_ERR_WRONG_MODE), "WRONG_MODE");
    EXPECT_STR(drainprof_ext_error_name((drainprof_ext_error)10), "UNKNOWN");
    EXPECT_STR(drainprof_ext_error_name((drainprof_ext_error)-1), "UNKNOWN");
    EXPECT_STR(drainprof_ext_error_name((drainprof_ext_error)1000000), "UNKNOWN");

    EXPECT_STR(drainprof_ext_class_name(DRAINPROF_EXT_CLASS_UNRESOLVED), "unresolved");
    EXPECT_STR(drainprof_ext_class_name(DRAINPROF_EXT_CLASS_NEAR_MISS), "near_miss");
    EXPECT_STR(drainprof_ext_class_name(DRAINPROF_EXT_CLASS_MODERATE), "moderate");
    EXPECT_STR(drainprof_ext_class_name(DRAINPROF_EXT_CLASS_FUNDAMENTAL), "fundamental_mismatch");
    EXPECT_STR(drainprof_ext_class_name((drainprof_ext_violation_class)4), "unknown");
    EXPECT_STR(drainprof_ext_class_name((drainprof_ext_violation_class)-1), "unknown");
}

int main(void)
{
    test_create_errors();
    test_call_errors();
    test_thread_local();
    test_names();
    return dpt_finish();
}
