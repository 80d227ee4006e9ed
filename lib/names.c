/*
 * names.c — the name → index map used for providers, consumers and
 * lifetimes. Open addressing with linear probing over 16-byte slots (a
 * name's first bytes, its hash, its index); the names themselves stay with
 * their owners, read only to tell apart names longer than 7 bytes that
 * agree on everything the slot holds.
 */
#include <string.h>

#include "di_int.h"

/* The first min(len, 8) bytes of s (of length len), zero-extended, read
 * with at most two loads, none past the end of s. */
static inline uint64_t first_word(const char *s, size_t len)
{
    uint64_t w;
    if (len >= 8) {
        memcpy(&w, s, 8);
    } else if (len >= 4) { /* two 4-byte loads that overlap */
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + len - 4, 4);
        w = lo | (uint64_t)hi << (8 * (len - 4));
    } else {
        const unsigned char *p = (const unsigned char *)s;
        w = len ? p[0] | (uint64_t)p[len / 2] << (8 * (len / 2)) |
                      (uint64_t)p[len - 1] << (8 * (len - 1))
                : 0;
    }
    return w;
}

/* The slot prefix of s (of length len): its first 7 bytes, zero-padded,
 * and in the top byte its length, or 8 for any longer name. Equal prefixes
 * of names of at most 7 bytes mean equal names (*short_ says whether s is
 * one); longer names are told apart by their hash and then their remaining
 * bytes. *first gets the first 8 bytes, for the hash. */
static inline uint64_t prefix_of(const char *s, size_t len, bool *short_,
                                 uint64_t *first)
{
    uint64_t w = first_word(s, len);
    *short_ = len < 8;
    *first = w;
    return (w & 0x00ffffffffffffffu) | (uint64_t)(len < 8 ? len : 8) << 56;
}

/* The hash of s and its slot prefix, in one pass: strlen() (a few vector
 * compares), the first word, then one 8-byte load and one multiply per 8
 * bytes, the last partial word read as the 8 bytes that end the string. A
 * 16-byte name hashes in about a third of the time a byte-at-a-time loop
 * takes; di_get() by name pays it on every call. */
static inline uint32_t key_of(const char *s, size_t len, uint64_t *pre,
                              bool *fits)
{
    uint64_t h = 0x9e3779b97f4a7c15u, w;
    *pre = prefix_of(s, len, fits, &w);
    if (len >= 8) {
        h = (h ^ w) * 0xff51afd7ed558ccdu;
        h ^= h >> 32;
        size_t n = len - 8;
        for (const char *p = s + 8; n >= 8; p += 8, n -= 8) {
            memcpy(&w, p, 8);
            h = (h ^ w) * 0xff51afd7ed558ccdu;
            h ^= h >> 32;
        }
        w = 0;
        if (n)
            memcpy(&w, s + len - 8, 8);
    }
    /* a multiply carries only upwards: fold the high half down and mix
     * again, or the low bits that pick a slot would not see a short name's
     * last bytes (names differing in their 7th byte clustered, 3.5 probes
     * per insert at a million providers instead of 1.45) */
    h = (h ^ w ^ ((uint64_t)len << 56)) * 0xc4ceb9fe1a85ec53u;
    h ^= h >> 32;
    h *= 0xff51afd7ed558ccdu;
    h ^= h >> 29;
    return (uint32_t)h;
}

uint32_t di__hash_len(const char *s, size_t len)
{
    uint64_t pre;
    bool fits;
    return key_of(s, len, &pre, &fits);
}

uint32_t di__hash(const char *s)
{
    return di__hash_len(s, strlen(s));
}

void di__names_init(di__names *m, di__name_at name_at, const void *owner)
{
    *m = (di__names){ .name_at = name_at, .owner = owner };
}

/* Whether slot sl holds name (of prefix pre; fits: at most 7 bytes). */
static inline bool holds(const di__names *m, const struct di__name_slot *sl,
                         const char *name, uint32_t h, uint64_t pre, bool fits)
{
    return sl->hash == h && sl->prefix == pre &&
           (fits || strcmp(m->name_at(m->owner, sl->index) + 7, name + 7) == 0);
}

/* The index of name (hash h, prefix pre) in m, which has slots; or -1. */
static int find(const di__names *m, const char *name, uint32_t h,
                uint64_t pre, bool fits)
{
    for (uint32_t i = h & m->mask;; i = (i + 1) & m->mask) {
        const struct di__name_slot *sl = &m->slots[i];
        if (!sl->prefix)
            return -1;
        if (holds(m, sl, name, h, pre, fits))
            return sl->index;
    }
}

int di__names_find(const di__names *m, const char *name)
{
    if (!m->slots)
        return -1;
    bool fits;
    uint64_t pre;
    uint32_t h = key_of(name, strlen(name), &pre, &fits);
    return find(m, name, h, pre, fits);
}

int di__names_find_h(const di__names *m, const char *name, size_t len,
                     uint32_t h)
{
    if (!m->slots)
        return -1;
    bool fits;
    uint64_t first, pre = prefix_of(name, len, &fits, &first);
    return find(m, name, h, pre, fits);
}

int di__names_put(void *mem, di__names *m, const char *name, int index)
{
    size_t len = strlen(name);
    return di__names_put_h(mem, m, name, len, di__hash_len(name, len), index);
}

/* Insert or update; keeps the load factor at most 1/2. The names already in
 * m must be where name_at finds them; name itself need not be yet. */
int di__names_put_h(void *mem, di__names *m, const char *name, size_t len,
                    uint32_t h, int index)
{
    if (!m->slots || (m->count + 1) * 2 > m->mask + 1) {
        uint32_t cap = m->slots ? (m->mask + 1) * 2 : 16;
        struct di__name_slot *ns = talloc_zero_array(mem, struct di__name_slot, cap);
        if (!ns)
            return DI_ENOMEM;
        /* the old entries are distinct: each goes to the first free slot */
        for (uint32_t i = 0; m->slots && i <= m->mask; i++) {
            uint32_t j = m->slots[i].hash & (cap - 1);
            if (!m->slots[i].prefix)
                continue;
            while (ns[j].prefix)
                j = (j + 1) & (cap - 1);
            ns[j] = m->slots[i];
        }
        talloc_free(m->slots);
        m->slots = ns;
        m->mask = cap - 1;
    }
    bool fits;
    uint64_t first, pre = prefix_of(name, len, &fits, &first);
    struct di__name_slot *sl = &m->slots[h & m->mask];
    while (sl->prefix && !holds(m, sl, name, h, pre, fits))
        sl = &m->slots[(uint32_t)(sl - m->slots + 1) & m->mask];
    m->count += !sl->prefix;
    *sl = (struct di__name_slot){ pre, h, index };
    return 0;
}

/* One pass over s: its length, or 0 when it is not a valid name (see
 * di__valid_name). Printable ASCII, by far the common case, is taken a
 * byte at a time without decoding; anything from 0x80 up is decoded. */
size_t di__name_len(const char *s, bool provider)
{
    const unsigned char *p = (const unsigned char *)s;
    if (!*p || (provider && *p == '?'))
        return 0;
    size_t i = 0;
    for (;;) {
        unsigned char ch = p[i];
        if (ch >= 0x20 && ch < 0x7f) {
            if (provider && ch == ':')
                return 0;
            i++;
        } else if (!ch) {
            return i <= DI_NAME_MAX ? i : 0;
        } else if (ch == 0x7f || ch < 0x20) {
            return 0;
        } else { /* names are UTF-8: they end up in JSON and DOT */
            size_t n = di__utf8_len(p + i, DI_NAME_MAX + 1 - i);
            if (!n)
                return 0;
            i += n;
        }
        if (i > DI_NAME_MAX)
            return 0;
    }
}

bool di__valid_name(const char *s, bool provider)
{
    return di__name_len(s, provider) != 0;
}
