/* errors.c - the thread-local reason for the last failed call. */
#include "internal.h"

/* Written only on failure, so success paths pay nothing for it. */
static __thread drainprof_ext_error tl_last_error
    __attribute__((tls_model("initial-exec"))) = DRAINPROF_EXT_OK;

int dp_fail(drainprof_ext_error err)
{
    tl_last_error = err;
    return -1;
}

void *dp_fail_null(drainprof_ext_error err)
{
    tl_last_error = err;
    return NULL;
}

DP_EXPORT drainprof_ext_error drainprof_ext_last_error(void)
{
    return tl_last_error;
}

DP_EXPORT const char *drainprof_ext_error_name(drainprof_ext_error error)
{
    switch (error) {
    case DRAINPROF_EXT_OK: return "OK";
    case DRAINPROF_EXT_ERR_NULL: return "NULL";
    case DRAINPROF_EXT_ERR_INVALID: return "INVALID";
    case DRAINPROF_EXT_ERR_NO_MEMORY: return "NO_MEMORY";
    case DRAINPROF_EXT_ERR_ALREADY_OPEN: return "ALREADY_OPEN";
    case DRAINPROF_EXT_ERR_NOT_OPEN: return "NOT_OPEN";
    case DRAINPROF_EXT_ERR_CAPACITY: return "CAPACITY";
    case DRAINPROF_EXT_ERR_UNBALANCED: return "UNBALANCED";
    case DRAINPROF_EXT_ERR_NOT_LIVE: return "NOT_LIVE";
    case DRAINPROF_EXT_ERR_WRONG_MODE: return "WRONG_MODE";
    }
    return "UNKNOWN";
}
