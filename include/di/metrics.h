/*
 * di/metrics.h — counters of what a container builds and ends, for a
 * server's dashboards: per provider, creates and their failures, a
 * histogram of create times, disposes and their failures; per scope
 * level, scopes begun, settled, abandoned and open now. Read them from C,
 * or as Prometheus' text format, from a route the router can mount:
 *
 *     di_metrics_enable(c);                    // before seal
 *     di_metrics_route(router, "/metrics");    // GET /metrics
 *
 *     # TYPE di_creates_total counter
 *     di_creates_total{provider="session"} 1042
 *     # TYPE di_create_seconds histogram
 *     di_create_seconds_bucket{provider="session",le="0.0001"} 1017
 *     ...
 *     di_scopes_open{level="request"} 3
 *
 * Off unless enabled, and then free: a container without metrics pays
 * nothing on the request path (the test of a flag it already makes). With
 * metrics on, each create and dispose is timed and counted with a few
 * atomic additions (the cost per create is in docs/benchmarks.md).
 * Counters belong to one container: with a live handle (di/live.h) each
 * configuration counts from zero, and the route reads the container the
 * request runs on.
 * An asynchronous create (di/async.h) is counted when it starts, its time
 * until it answered DI_PENDING (the histogram does not see the wait); one
 * that fails or times out later is a create failure then, as a pending
 * dispose that fails is a dispose failure.
 */
#ifndef DI_METRICS_H
#define DI_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "container.h"
#include "http.h"

DI_BEGIN_DECLS

/* The create-time histogram's upper bounds, in nanoseconds: 1 µs, 10 µs,
 * 100 µs, 1 ms, 10 ms, 100 ms, 1 s, and everything (the last bucket). */
#define DI_METRICS_BUCKETS 8

/* A provider's counters. le[i]: creates that took at most the i-th bound
 * (cumulative, as Prometheus' buckets: le[7] == creates). */
typedef struct di_provider_stats {
    uint64_t creates, create_failures;
    uint64_t disposes, dispose_failures;
    uint64_t create_ns;                   /* total time in creates */
    uint64_t le[DI_METRICS_BUCKETS];
} di_provider_stats;

/* A scope level's counters. open: begun and not settled yet. */
typedef struct di_level_stats {
    uint64_t begun, settled, abandoned, open;
} di_level_stats;

/*
 * di_metrics_enable — count, from seal on. Before seal.
 * Returns 0, DI_EINVAL (NULL), DI_ESEALED, DI_ENOMEM.
 */
DI_EXPORT int di_metrics_enable(di_container *c);

/*
 * di_metrics_provider, di_metrics_level — the counters of the provider
 * (singletons, values and externals included: those of the latter two are
 * zero) or of the scope level ("singleton": its root scopes are not
 * counted) named name, as of now (each number is read atomically; the set
 * is not a snapshot).
 * Returns 0, DI_EINVAL (NULL, or metrics off), DI_ENOTSEALED,
 * DI_ENOTFOUND.
 */
DI_EXPORT int di_metrics_provider(const di_container *c, const char *name,
                                  di_provider_stats *out);
/* di_metrics_level — the level's counters: as di_metrics_provider(). */
DI_EXPORT int di_metrics_level(const di_container *c, const char *level,
                               di_level_stats *out);

/*
 * di_metrics_text — every counter in Prometheus' text exposition format
 * (version 0.0.4): di_creates_total, di_create_failures_total,
 * di_disposes_total, di_dispose_failures_total, di_create_seconds (a
 * histogram) by provider; di_scopes_begun_total, di_scopes_settled_total,
 * di_scopes_abandoned_total, di_scopes_open by level. *out is allocated on
 * mem (talloc). Returns 0, DI_EINVAL (NULL, or metrics off),
 * DI_ENOTSEALED, DI_ENOMEM.
 */
DI_EXPORT int di_metrics_text(const di_container *c, void *mem, char **out);

/*
 * di_metrics_route — mount GET path on router h (before seal): it answers
 * 200 with di_metrics_text() of the container the request runs on
 * (Content-Type text/plain; version=0.0.4), or 404 when that container
 * counts nothing. Its consumer, "GET path", needs nothing.
 * Returns as di_http_route().
 */
DI_EXPORT int di_metrics_route(di_http *h, const char *path);

DI_END_DECLS

#endif /* DI_METRICS_H */
