/*
 * di/live.h — live reconfiguration: change the wiring of a running server
 * without a restart and without failing a request.
 *
 * A di_live handle holds the current sealed container. Requests begin their
 * scopes through it (di_live_begin), which pins the container that is
 * current at that moment for the scope's whole life. di_live_publish()
 * makes another sealed container current, atomically: scopes begun after it
 * see the new one; scopes already running finish on the old one, with the
 * old instances. The old container is freed — its singletons disposed once,
 * in reverse creation order, like di_container_free() — when its last
 * pinned scope ends, on the thread that ends it (at once if none is open).
 *
 *     di_live *live;
 *     di_live_new(NULL, build_and_seal(config), &live);
 *     ... each request:
 *     di_scope *s;
 *     di_live_begin(live, "request", NULL, &s);  ... di_scope_end(s, rc);
 *     ... on SIGHUP:
 *     di_container *next = build_and_seal(config);  // NULL: refused, the
 *     if (next) di_live_publish(live, next);        // running one stays
 *
 * A configuration that fails to load or seal never reaches the handle: the
 * program builds and seals the next container first and publishes it only
 * when that succeeded; di_live_publish() refuses a container that is not
 * sealed (DI_ENOTSEALED) and leaves the current one in place.
 *
 * Ownership. The handle owns every container given to it (di_live_new,
 * a successful di_live_publish): do not free them, and give them no talloc
 * parent that may be freed first (create them with mem NULL).
 *
 * Threads. di_live_begin() may run on any number of threads at once, also
 * while another thread publishes: it takes no lock (two atomic operations
 * on the current generation's pin count, retried if a publish slipped in
 * between). Publishes are serialised by a mutex of the handle. Child scopes
 * of a pinned scope belong to its container; begin them with
 * di_scope_begin() as usual. Each publish keeps a small record (about 40
 * bytes) until the handle is freed.
 */
#ifndef DI_LIVE_H
#define DI_LIVE_H

#include <stdint.h>

#include "export.h"
#include "container.h"
#include "scope.h"

DI_BEGIN_DECLS

typedef struct di_live di_live;

/*
 * di_live_new — a handle whose current container is c (sealed).
 * mem: talloc parent of the handle. On success the handle owns c.
 * Returns 0; DI_EINVAL (NULL argument); DI_ENOTSEALED; DI_ENOMEM.
 */
DI_EXPORT int di_live_new(void *mem, di_container *c, di_live **out);

/*
 * di_live_begin — begin a top-level scope of `level` on the current
 * container and pin that container until the scope ends (di_scope_end, or
 * its talloc parent mem freed). As di_scope_begin() with no parent.
 * Returns 0, or di_scope_begin()'s codes (its errors are kept on the
 * container that was current).
 */
DI_EXPORT int di_live_begin(di_live *l, const char *level, void *mem,
                            di_scope **out);

/*
 * di_live_publish — make next (sealed) the current container. On success
 * the handle owns next, and the previous container is freed when its last
 * pinned scope ends. Returns 0; DI_EINVAL (NULL, or next is already the
 * handle's); DI_ENOTSEALED (refused: the current container stays, and the
 * caller keeps next); DI_ENOMEM (the same).
 */
DI_EXPORT int di_live_publish(di_live *l, di_container *next);

/*
 * di_live_current — the current container (owned by the handle), to
 * inspect it (di_graph_json, di_container_memory). It stays valid while a
 * scope begun after the last publish is open, or until the next publish.
 */
DI_EXPORT di_container *di_live_current(const di_live *l);

/*
 * di_live_generation — how many containers have been published after the
 * first (0 before any publish).
 */
DI_EXPORT uint64_t di_live_generation(const di_live *l);

/*
 * di_live_free — free the handle and its containers (current and retired).
 * Returns 0; DI_EBUSY (scopes are still pinned: nothing is freed);
 * DI_EINVAL (NULL). A failing dispose of a singleton is reported as by
 * di_container_free() and does not stop the rest.
 */
DI_EXPORT int di_live_free(di_live *l);

DI_END_DECLS

#endif /* DI_LIVE_H */
