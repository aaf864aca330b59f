/* qmap.c - open addressing from a key (k1, k2) to a FIFO of entries.
 *
 * Linear probing at load <= 1/2 with backward-shift deletion: no tombstones,
 * so probe chains stay short however many keys come and go.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

uint64_t dp_hash64(uint64_t x)
{
    /* Finaliser of MurmurHash3: every input bit affects every output bit, so
     * page-aligned addresses and strided ids spread over the whole table. */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

static inline uint64_t qhash(uint64_t k1, uint64_t k2)
{
    return dp_hash64(k1 ^ (k2 * 0x9e3779b97f4a7c15ULL));
}

dp_qslot *dp_qmap_find(const dp_qmap *m, uint64_t k1, uint64_t k2)
{
    if (m->slots == NULL)
        return NULL;
    uint32_t i = (uint32_t)qhash(k1, k2) & m->mask;
    for (;;) {
        dp_qslot *s = &m->slots[i];
        if (s->head1 == 0)
            return NULL;
        if (s->k1 == k1 && s->k2 == k2)
            return s;
        i = (i + 1) & m->mask;
    }
}

static dp_qslot *place(dp_qslot *slots, uint32_t mask, uint64_t k1, uint64_t k2)
{
    uint32_t i = (uint32_t)qhash(k1, k2) & mask;
    while (slots[i].head1 != 0)
        i = (i + 1) & mask;
    return &slots[i];
}

static int grow(dp_qmap *m)
{
    uint32_t ncap = m->slots == NULL ? 16u : (m->mask + 1u) * 2u;
    if (ncap == 0)
        return -1;
    dp_qslot *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL)
        return -1;
    if (m->slots != NULL) {
        for (uint32_t i = 0; i <= m->mask; i++) {
            if (m->slots[i].head1 != 0)
                *place(ns, ncap - 1u, m->slots[i].k1, m->slots[i].k2) = m->slots[i];
        }
        free(m->slots);
    }
    m->slots = ns;
    m->mask = ncap - 1u;
    return 0;
}

dp_qslot *dp_qmap_upsert(dp_qmap *m, uint64_t k1, uint64_t k2)
{
    if (m->slots != NULL) {
        uint32_t i = (uint32_t)qhash(k1, k2) & m->mask;
        for (;;) {
            dp_qslot *s = &m->slots[i];
            if (s->head1 == 0)
                break;
            if (s->k1 == k1 && s->k2 == k2)
                return s;
            i = (i + 1) & m->mask;
        }
    }
    if (m->slots == NULL || (m->count + 1u) * 2u > m->mask + 1u) {
        if (grow(m) != 0)
            return NULL;
    }
    dp_qslot *s = place(m->slots, m->mask, k1, k2);
    s->k1 = k1;
    s->k2 = k2;
    s->head1 = 0;
    s->tail = 0;
    m->count++;
    return s;
}

void dp_qmap_remove(dp_qmap *m, dp_qslot *slot)
{
    uint32_t hole = (uint32_t)(slot - m->slots);
    uint32_t i = hole;
    for (;;) {
        i = (i + 1) & m->mask;
        dp_qslot *s = &m->slots[i];
        if (s->head1 == 0)
            break;
        uint32_t home = (uint32_t)qhash(s->k1, s->k2) & m->mask;
        /* Move s back into the hole unless its home lies cyclically in
         * (hole, i]: then the hole is not on its probe path. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (!stays) {
            m->slots[hole] = *s;
            hole = i;
        }
    }
    m->slots[hole].head1 = 0;
    m->count--;
}

void dp_qmap_clear(dp_qmap *m)
{
    if (m->slots != NULL)
        memset(m->slots, 0, ((size_t)m->mask + 1u) * sizeof *m->slots);
    m->count = 0;
}

void dp_qmap_free(dp_qmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->mask = 0;
    m->count = 0;
}
