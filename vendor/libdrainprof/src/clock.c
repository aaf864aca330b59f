/* clock.c - timestamps for diagnostic mode.
 *
 * Diagnostic mode stamps every registration, but clock_gettime(CLOCK_MONOTONIC)
 * costs ~25 ns per call on our machines, more than the whole register budget
 * (15 ns). rdtsc costs ~10 ns and overlaps with the rest of the register path.
 *
 * So when the CPU reports an invariant TSC, a registration stores raw TSC
 * ticks, and granule_open and granule_close each take a (TSC, CLOCK_MONOTONIC)
 * pair at one instant. When the report is built, a stamp is mapped by linear
 * interpolation between the granule's open and close pairs. The reported
 * alloc_time is thereby on the CLOCK_MONOTONIC timeline, exact at both ends,
 * needs no calibration and cannot drift, and open_time <= alloc_time <=
 * close_time holds by construction (stamps are clamped into the interval, in
 * case rdtsc ran slightly out of order or across cores).
 *
 * Without an invariant TSC (or off x86) stamps are CLOCK_MONOTONIC ns and
 * the mapping is the identity (still clamped). Times that are needed only
 * rarely (open, close, the free of a pin after close) always come from
 * clock_gettime.
 */
#include "internal.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;
static bool tsc_invariant;

static void tsc_probe(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000007u &&
        __get_cpuid(0x80000007u, &a, &b, &c, &d))
        tsc_invariant = (d & (1u << 8)) != 0;  /* CPUID.80000007H:EDX[8] */
#endif
}

bool dp_clock_tsc_usable(void)
{
    pthread_once(&tsc_once, tsc_probe);
    return tsc_invariant;
}

uint64_t dp_clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

dp_time_pair dp_clock_pair(bool use_tsc)
{
    dp_time_pair t;
    if (!use_tsc) {
        t.ns = dp_clock_now_ns();
        t.tsc = t.ns;
        return t;
    }
    /* The TSC read in the middle of the clock read: midpoint of two reads. */
    uint64_t a = dp_stamp(true);
    t.ns = dp_clock_now_ns();
    uint64_t b = dp_stamp(true);
    t.tsc = a + (b - a) / 2u;
    return t;
}

uint64_t dp_clock_stamp_to_ns(bool use_tsc, uint64_t stamp, dp_time_pair open,
                              dp_time_pair close)
{
    if (close.ns < open.ns)
        close.ns = open.ns;
    if (!use_tsc) {
        if (stamp < open.ns)
            return open.ns;
        if (stamp > close.ns)
            return close.ns;
        return stamp;
    }
    if (close.tsc <= open.tsc || stamp <= open.tsc)
        return open.ns;
    if (stamp >= close.tsc)
        return close.ns;
    double frac = (double)(stamp - open.tsc) / (double)(close.tsc - open.tsc);
    uint64_t ns = open.ns + (uint64_t)(frac * (double)(close.ns - open.ns));
    return ns > close.ns ? close.ns : ns;
}

struct timespec dp_ns_to_timespec(uint64_t ns)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(ns / 1000000000u);
    ts.tv_nsec = (long)(ns % 1000000000u);
    return ts;
}
