/*
 * kv.h — the interface the host programs against. The memstore plugin
 * implements it; another plugin (a Redis or SQLite one) could too, and the
 * config alone would choose.
 */
#ifndef KV_H
#define KV_H

/* A request's transaction: reads see its own writes; the writes are applied
 * when the request ends with success (outcome 0) and dropped otherwise. */
typedef struct kv_txn {
    int (*put)(struct kv_txn *t, const char *key, const char *value);
    const char *(*get)(struct kv_txn *t, const char *key);
} kv_txn;

#endif
