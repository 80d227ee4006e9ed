/*
 * di/plugin.h — provider kinds shipped as shared objects.
 *
 * A plugin is a shared object with one exported symbol, di_plugin_entry, that
 * returns a static description: a magic cookie, the ABI version it was built
 * against, the description's size, its name and version, its kinds and an
 * optional init hook. DI_PLUGIN() writes all of it:
 *
 *     #include <di.h>
 *
 *     static int counter_create(const di_build *b, void **out) { ... }
 *     static const di_kind_desc counter = {
 *         .name = "counter", .type = "counter", .lifetime = "singleton",
 *         .create = counter_create };
 *
 *     DI_PLUGIN(demo, "1.0.0", NULL, &counter)
 *
 * Build it with -shared -fPIC and without linking libdi is fine (the host
 * process provides libdi's symbols). Its kinds register as "demo.counter".
 * A host linked with libdi.a must export those symbols to its plugins:
 * link it with -Wl,--export-dynamic and the whole archive
 * (-Wl,--whole-archive libdi.a -Wl,--no-whole-archive); otherwise a plugin
 * is refused as "undefined symbol: di_...". See docs/plugins.md.
 *
 * Loading (di_plugin_load(), or "plugins" in a config) checks, in order, and
 * refuses with a reason naming the file: the file exists; a plugin given by
 * name, or any plugin a configuration names, lies in a plugin directory
 * once links and ".." are resolved; the file and its directory belong to
 * root or this user and nobody else can write them (every user, or a
 * group with other members) — checked on the open file, which is the one
 * loaded, so that nothing can be swapped in between; it is a loadable
 * shared object; it has the entry symbol; the cookie is DI_PLUGIN_MAGIC; the
 * ABI major equals the library's; the ABI minor is not newer than the
 * library's; the description is at least as large as ABI 1.0's; no kind is
 * registered twice (in the plugin or in the container); the init hook
 * accepts. A refusal changes nothing: the container stays as it was. A
 * shared object's constructors run when it is loaded, before the entry
 * symbol is looked for: the checks that keep foreign code out come first.
 *
 * Lifetime: each shared object is opened once per process and reference
 * counted; it stays loaded while any container uses it and is closed (after
 * its fini hook) when the last such container is freed — after that
 * container's singletons have been disposed. init and fini run once per
 * opening, not per container.
 */
#ifndef DI_PLUGIN_H
#define DI_PLUGIN_H

#include <stdint.h>

#include "export.h"
#include "container.h"
#include "kind.h"

DI_BEGIN_DECLS

/* "dipl" in ASCII: marks a libdi plugin description. */
#define DI_PLUGIN_MAGIC 0x6469706cu
/* The plugin ABI this header describes. A library accepts plugins of the same
 * major and a minor no newer than its own. 1.1: di_kind_desc.flags; 1.2:
 * di_kind_desc.params_model. */
#define DI_ABI_MAJOR 1
#define DI_ABI_MINOR 2
/* The entry symbol's name. */
#define DI_PLUGIN_SYMBOL "di_plugin_entry"

/*
 * di_plugin_init_fn — called once when the shared object is first opened.
 * Return 0 to accept; anything else refuses the plugin, with a reason written
 * to why (a NUL-terminated string of at most why_size bytes).
 */
typedef int (*di_plugin_init_fn)(char *why, size_t why_size);
/* di_plugin_fini_fn — called once before the shared object is closed. */
typedef void (*di_plugin_fini_fn)(void);

/* The description. Fields are only ever added at the end (with a minor
 * version bump); `size` tells the library which ones a plugin has. */
typedef struct di_plugin_desc {
    uint32_t magic;                    /* DI_PLUGIN_MAGIC */
    uint16_t abi_major, abi_minor;     /* DI_ABI_MAJOR, DI_ABI_MINOR */
    uint32_t size;                     /* sizeof(di_plugin_desc) */
    const char *name;                  /* plugin name: kinds are "<name>.<kind>" */
    const char *version;               /* the plugin's own version */
    const di_kind_desc *const *kinds;  /* NULL-terminated */
    di_plugin_init_fn init;            /* optional */
    di_plugin_fini_fn fini;            /* optional */
} di_plugin_desc;

/* The entry point's type: returns the plugin's static description. */
typedef const di_plugin_desc *(*di_plugin_entry_fn)(void);

#if defined(_WIN32)
#  define DI_PLUGIN_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#  define DI_PLUGIN_API __attribute__((visibility("default")))
#else
#  define DI_PLUGIN_API
#endif
#ifdef __cplusplus
#  define DI_PLUGIN_LINKAGE extern "C"
#else
#  define DI_PLUGIN_LINKAGE
#endif

/*
 * DI_PLUGIN(name, version, init, kind...) — define the entry symbol of a
 * plugin named `name` (an identifier), version a string, init a
 * di_plugin_init_fn or NULL, then one or more `const di_kind_desc *`.
 * Use it once, at file scope, in one source file of the plugin.
 */
#define DI_PLUGIN(name, version, init, ...)                                 \
    static const di_kind_desc *const di__plugin_kinds[] = { __VA_ARGS__,    \
                                                           NULL };          \
    static const di_plugin_desc di__plugin_desc = {                         \
        DI_PLUGIN_MAGIC, DI_ABI_MAJOR, DI_ABI_MINOR,                        \
        (uint32_t)sizeof(di_plugin_desc), #name, version, di__plugin_kinds, \
        init, NULL };                                                       \
    DI_PLUGIN_LINKAGE DI_PLUGIN_API const di_plugin_desc *di_plugin_entry(  \
        void);                                                              \
    DI_PLUGIN_LINKAGE DI_PLUGIN_API const di_plugin_desc *di_plugin_entry(  \
        void) { return &di__plugin_desc; }

/*
 * di_plugin_dir — add a directory to search for plugins given by name.
 * Directories are searched in the order added; the working directory is never
 * searched unless added. The path is copied.
 * Returns 0, DI_EINVAL, DI_ESEALED or DI_ENOMEM.
 */
DI_EXPORT int di_plugin_dir(di_container *c, const char *dir);

/*
 * di_plugin_allow_config_dirs — let a configuration's "plugin_dirs" add
 * plugin directories, each of which must lie below root (after links and
 * ".."). Without this call a configuration that lists plugin_dirs is
 * refused: a config is data, and it must not decide where code is loaded
 * from unless the program said so. One root; a second call replaces it.
 * Returns 0, DI_EINVAL, DI_ESEALED or DI_ENOMEM.
 */
DI_EXPORT int di_plugin_allow_config_dirs(di_container *c, const char *root);

/*
 * di_plugin_system_dir — where libdi's own plugins (sqlite, postgres) are
 * installed: "<libdir>/di/plugins" beside the libdi.so in use, so an
 * installation moved to another prefix still finds its own (the same
 * directory as `pkg-config --variable=plugindir di`); the installation
 * prefix's when that directory does not exist or libdi is linked
 * statically. Not searched unless added: di_plugin_dir(c,
 * di_plugin_system_dir()). Returns a static string, never NULL.
 */
DI_EXPORT const char *di_plugin_system_dir(void);

/*
 * di_plugin_load — load a plugin into the container and register its kinds.
 *
 * what: a path (anything containing '/', used as given), or a name looked up
 *       as "<dir>/<name>.so" in the plugin directories.
 * Loading a plugin the container already uses returns 0 and does nothing.
 * Returns 0; DI_EPLUGIN with a reason naming the file (see above); DI_ESEALED;
 * DI_EINVAL; DI_ENOMEM. Detail in di_container_error(c). After a refusal the
 * container is unchanged and fully usable.
 */
DI_EXPORT int di_plugin_load(di_container *c, const char *what);

DI_END_DECLS

#endif /* DI_PLUGIN_H */
