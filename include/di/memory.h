/*
 * di/memory.h — what a scope (or the container) holds right now, by
 * provider.
 *
 * "What is this request holding on to?" in one call. For a scope: every
 * instance it owns — its level's instances and the transients built for
 * them — grouped by provider, in the order of their first creation, with
 * bytes and blocks from talloc's own accounting (talloc_total_size() and
 * talloc_total_blocks() of each instance's b->mem, so whatever a create
 * hung on it counts too). The "(scope)" line is the rest of the scope's
 * talloc tree: its own block and whatever the program hung on the scope.
 * For the container: the singletons (and the transients built for them)
 * likewise; "(container)" is left out there (registrations are not what a
 * server holds per request). Values and externals are not owned: they are
 * not counted.
 *
 * Text:
 *     request scope: 4 instances, 86 bytes in 5 blocks
 *       session          1 instance    24 bytes   1 block
 *       current_user     1 instance    30 bytes   2 blocks
 *       audit            2 instances   32 bytes   2 blocks
 *       (scope)                       344 bytes   1 block
 * (the first line's figures are the instances'; the scope's own are below)
 * JSON:
 *     { "level": "request", "instances": 4, "bytes": 86, "blocks": 5,
 *       "providers": [ { "name": "session", "instances": 1, "bytes": 24,
 *                        "blocks": 1 }, ... ],
 *       "scope": { "bytes": 344, "blocks": 1 } }
 * ("scope" is null for the container's report.)
 *
 * Threads: talloc trees are read without a lock. Ask for a scope's report
 * on the thread that runs the scope; for the container's, while no create
 * or dispose is changing a singleton's memory.
 */
#ifndef DI_MEMORY_H
#define DI_MEMORY_H

#include "export.h"
#include "container.h"
#include "scope.h"

DI_BEGIN_DECLS

/* Report formats. */
#define DI_REPORT_TEXT 0
#define DI_REPORT_JSON 1

/*
 * di_scope_memory — what scope s holds, by provider.
 * format: DI_REPORT_TEXT or DI_REPORT_JSON. mem: talloc parent of the
 * result. out: receives a NUL-terminated string owned by mem.
 * Returns 0; DI_EINVAL (NULL argument, unknown format); DI_ESTALE (an ended
 * scope, debug builds); DI_ENOMEM (reported on the scope).
 */
DI_EXPORT int di_scope_memory(const di_scope *s, int format, void *mem,
                              char **out);

/*
 * di_container_memory — what the container's singletons hold, by provider;
 * as di_scope_memory(). DI_ENOTSEALED before seal.
 */
DI_EXPORT int di_container_memory(di_container *c, int format, void *mem,
                                  char **out);

DI_END_DECLS

#endif /* DI_MEMORY_H */
