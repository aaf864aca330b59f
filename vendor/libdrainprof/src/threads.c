/* threads.c - process-wide thread slots and the spinlock slow path.
 *
 * A thread gets a small slot number on its first counting call; it indexes
 * each profiler's array of per-thread counter blocks. The slot goes back to
 * the pool when the thread exits (pthread key destructor), so a later thread
 * reuses the slot together with the counts it holds: counts are never lost,
 * and the exit -> pool mutex -> new thread chain orders the old owner's
 * writes before the new owner's. Threads beyond DP_MAX_SLOTS live at once
 * share the overflow block, so correctness never depends on thread count.
 */
#include "internal.h"

#include <sched.h>

__thread uint32_t dp_tl_slot __attribute__((tls_model("initial-exec"))) = 0;

static pthread_mutex_t slot_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static pthread_key_t slot_key;
static bool slot_key_ok;
static uint32_t slot_free[DP_MAX_SLOTS];
static uint32_t slot_nfree;
static uint32_t slot_next = 1;

static void slot_release(void *value)
{
    uint32_t s = (uint32_t)(uintptr_t)value;
    pthread_mutex_lock(&slot_lock);
    if (s >= 1 && s <= DP_MAX_SLOTS && slot_nfree < DP_MAX_SLOTS)
        slot_free[slot_nfree++] = s;
    pthread_mutex_unlock(&slot_lock);
    dp_tl_slot = 0;
}

static void slot_key_create(void)
{
    slot_key_ok = pthread_key_create(&slot_key, slot_release) == 0;
}

uint32_t dp_slot_acquire(void)
{
    pthread_once(&slot_once, slot_key_create);
    uint32_t s;
    pthread_mutex_lock(&slot_lock);
    if (slot_nfree > 0)
        s = slot_free[--slot_nfree];
    else if (slot_next <= DP_MAX_SLOTS && slot_key_ok)
        s = slot_next++;
    else
        s = DP_SLOT_OVERFLOW;
    pthread_mutex_unlock(&slot_lock);
    if (s != DP_SLOT_OVERFLOW &&
        pthread_setspecific(slot_key, (void *)(uintptr_t)s) != 0) {
        /* Could not arrange the release at exit: give it back now. */
        slot_release((void *)(uintptr_t)s);
        s = DP_SLOT_OVERFLOW;
    }
    dp_tl_slot = s;
    return s;
}

void dp_spin_lock_slow(dp_spinlock *l)
{
    for (unsigned spins = 0;; spins++) {
        if (atomic_load_explicit(&l->v, DP_RELAXED) == 0u &&
            atomic_exchange_explicit(&l->v, 1u, DP_ACQUIRE) == 0u)
            return;
        if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}
