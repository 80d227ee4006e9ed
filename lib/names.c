/*
 * names.c — the name → index map used for providers and consumers.
 * Open addressing with linear probing; the hash is stored so that a lookup
 * compares strings only on a full hash match.
 */
#include <string.h>

#include "di_int.h"

/* Bytes are gathered eight at a time and mixed with one multiply per
 * word: a short name costs a few cycles instead of a multiply per byte
 * (FNV's chain), which matters on di_get()'s path. */
uint32_t di__hash(const char *s)
{
    uint64_t h = 0x9e3779b97f4a7c15u, w = 0;
    unsigned n = 0, len = 0;
    for (; *s; s++, len++) {
        w = (w << 8) | (unsigned char)*s;
        if (++n == 8) {
            h = (h ^ w) * 0xff51afd7ed558ccdu;
            h ^= h >> 32;
            w = 0;
            n = 0;
        }
    }
    h = (h ^ w ^ ((uint64_t)len << 56)) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 29;
    return (uint32_t)h;
}

static bool same(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

/* The first 7 bytes of s, zero-padded, and its length (capped at 255) in
 * the top byte: equal prefixes of names of at most 7 bytes mean equal
 * names; *short_ says whether s is one. */
static uint64_t prefix_of(const char *s, bool *short_)
{
    uint64_t p = 0;
    size_t i = 0;
    for (; i < 7 && s[i]; i++)
        p |= (uint64_t)(unsigned char)s[i] << (8 * i);
    size_t len = i;
    while (len < 255 && s[len])
        len++;
    *short_ = len <= 7;
    return p | (uint64_t)len << 56;
}

int di__names_find(const di__names *m, const char *name)
{
    return di__names_find_h(m, name, di__hash(name));
}

int di__names_find_h(const di__names *m, const char *name, uint32_t h)
{
    if (!m->slots)
        return -1;
    bool fits;
    uint64_t pre = prefix_of(name, &fits);
    for (uint32_t i = h & m->mask;; i = (i + 1) & m->mask) {
        const struct di__name_slot *sl = &m->slots[i];
        if (!sl->name)
            return -1;
        /* equal prefixes of a name that fits in them: equal names */
        if (sl->hash == h && sl->prefix == pre &&
            (fits || same(sl->name + 7, name + 7)))
            return sl->index;
    }
}

static void put_slot(di__names *m, const char *name, uint32_t h,
                     uint64_t pre, int index)
{
    uint32_t i = h & m->mask;
    while (m->slots[i].name &&
           !(m->slots[i].hash == h && m->slots[i].prefix == pre &&
             same(m->slots[i].name, name)))
        i = (i + 1) & m->mask;
    if (!m->slots[i].name)
        m->count++;
    m->slots[i] = (struct di__name_slot){ pre, name, h, index };
}

int di__names_put(void *mem, di__names *m, const char *name, int index)
{
    return di__names_put_h(mem, m, name, di__hash(name), index);
}

/* Insert or update; keeps the load factor at most 1/2. name must outlive m. */
int di__names_put_h(void *mem, di__names *m, const char *name, uint32_t h,
                    int index)
{
    if (!m->slots || (m->count + 1) * 2 > m->mask + 1) {
        uint32_t cap = m->slots ? (m->mask + 1) * 2 : 16;
        struct di__name_slot *ns = talloc_zero_array(mem, struct di__name_slot, cap);
        if (!ns)
            return DI_ENOMEM;
        di__names old = *m;
        m->slots = ns;
        m->mask = cap - 1;
        m->count = 0;
        for (uint32_t i = 0; old.slots && i <= old.mask; i++)
            if (old.slots[i].name)
                put_slot(m, old.slots[i].name, old.slots[i].hash,
                         old.slots[i].prefix, old.slots[i].index);
        talloc_free(old.slots);
    }
    bool fits;
    put_slot(m, name, h, prefix_of(name, &fits), index);
    return 0;
}
