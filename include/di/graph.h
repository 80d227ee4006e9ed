/*
 * di/graph.h — the dependency graph, for people and tools.
 *
 * Exports the container's graph as JSON (for tools such as `diwire why`) and as
 * Graphviz DOT (`diwire graph app.json --dot | dot -Tsvg > graph.svg`).
 *
 * Works on a sealed container, and on an unsealed one: then the seal checks
 * are run (without sealing) and their problems are part of the output — the
 * missing providers drawn as red dashed nodes, the failing paths in red.
 *
 * JSON (format 1), members in this order, lists in registration order:
 *   "format": 1, "sealed": bool,
 *   "levels":    [ { "name", "parent" (null for singleton) } ],
 *   "plugins":   [ { "name", "version", "path", "abi", "kinds": [names] } ],
 *   "kinds":     [ { "name", "type", "lifetime", "roles": [specs],
 *                    "plugin" (or null), "summary" } ],
 *   "providers": [ { "name", "type", "lifetime", "kind" (or null),
 *                    "value": bool, "external": bool } ],
 *   "consumers": [ { "name", "level", "plan": [provider names, dependencies
 *                    first; sealed only] } ],
 *   "edges":     [ { "from", "to", "consumer": bool (from is a consumer),
 *                    "optional": bool, "type" (or null), "missing": bool } ],
 *   "problems":  [ { "code", "error", "message", "path": [names] } ]
 *
 * DOT: one cluster per scope level, nested as the levels are, plus one for
 * transients; providers are boxes ("name\ntype · kind"), consumers filled
 * ellipses, optional dependencies dashed edges.
 */
#ifndef DI_GRAPH_H
#define DI_GRAPH_H

#include "export.h"
#include "container.h"

DI_BEGIN_DECLS

/*
 * di_graph_json, di_graph_dot — render the graph.
 * mem: talloc parent of the result. out: receives a NUL-terminated string,
 * owned by mem (free it with talloc_free()).
 * Returns 0; DI_EINVAL; DI_ENOMEM. Problems found in an unsealed container
 * are part of the output, not an error.
 */
DI_EXPORT int di_graph_json(di_container *c, void *mem, char **out);
/* di_graph_dot — the same graph as Graphviz DOT; as di_graph_json(). */
DI_EXPORT int di_graph_dot(di_container *c, void *mem, char **out);

DI_END_DECLS

#endif /* DI_GRAPH_H */
