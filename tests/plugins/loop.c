/*
 * loop.c — a plugin with one kind, "node", whose optional role "next" can
 * point at any provider: built twice, as "loopa" and "loopb"
 * (-DLOOP_NAME="..."), so that a configuration can close a cycle through
 * kinds of two plugins.
 */
#include <di.h>

static int node_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

static const char *const roles[] = { "?next", NULL };
static const di_kind_desc node = { .name = "node", .lifetime = "singleton",
                                   .roles = roles, .create = node_create,
                                   .summary = "a node of a chain" };
static const di_kind_desc *const kinds[] = { &node, NULL };
static const di_plugin_desc desc = { DI_PLUGIN_MAGIC, DI_ABI_MAJOR,
                                     DI_ABI_MINOR, sizeof(di_plugin_desc),
                                     LOOP_NAME, "1.0", kinds, NULL, NULL };

DI_PLUGIN_API const di_plugin_desc *di_plugin_entry(void);
const di_plugin_desc *di_plugin_entry(void) { return &desc; }
