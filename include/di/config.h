/*
 * di/config.h — wiring from a JSON file.
 *
 * A config binds names to kinds so that a deployment changes wiring without
 * recompiling. It is a layer over the C API: loading calls di_level(),
 * di_plugin_dir(), di_plugin_load(), di_instantiate(), di_set_declare(),
 * di_set_add() and di_consumer_add(), nothing else.
 *
 *     {
 *       "scopes":      { "connection": "singleton", "request": "connection" },
 *       "plugin_dirs": [ "plugins" ],
 *       "plugins":     [ "sqlite", "plugins/extra/audit.so" ],
 *       "providers": {
 *         "db":      { "use": "sqlite.pool", "lifetime": "singleton",
 *                      "params": { "path": "notes.db", "size": 8 } },
 *         "session": { "use": "sqlite.session", "deps": { "pool": "db" } }
 *       },
 *       "sets":      { "health_checks": [ "db_health", "disk_health" ] },
 *       "consumers": {
 *         "GET /notes": { "level": "request", "needs": [ "session" ] }
 *       }
 *     }
 *
 * Fields (all optional, unknown ones are errors):
 *   scopes       level → parent level, declared with di_level().
 *   plugin_dirs  directories searched for plugins given by name —
 *                refused (DI_EPLUGIN) unless the program allowed it with
 *                di_plugin_allow_config_dirs(c, root), and then each must
 *                lie below root: a configuration is data, and does not
 *                choose where code comes from.
 *   plugins      names (searched in the plugin directories, never anywhere
 *                else, and what a name leads to through links must stay in
 *                its directory) or paths (containing '/'), which must lead
 *                into one of the plugin directories once links and ".."
 *                are resolved (DI_EPLUGIN otherwise): a configuration
 *                cannot load code from elsewhere. (A program calling
 *                di_plugin_load() with a path is not held to that; every
 *                load refuses files that others can write, see
 *                di/plugin.h.)
 *   providers    name → { use (kind, required), lifetime, deps (role →
 *                provider name), params (object), override (boolean) }.
 *   sets         set name → array of member provider names (may be
 *                empty): declares the set unless the program did
 *                (di_set_declare) and adds the members in order
 *                (di_set_add), after the providers.
 *   consumers    name → { level, needs (array of dependency names) }: lets a
 *                config describe consumers for `diwire check` and `diwire why`; a
 *                host finds them with di_consumer_key() and attaches
 *                behaviour by name.
 * Relative paths in plugin_dirs and plugins are relative to the config
 * file's directory (for a string: to the working directory, explicitly).
 *
 * Environment. Any string value (not a key) may take text from the
 * environment, so that secrets and connection strings stay out of the
 * file: "${DATABASE_URL}" is the variable's value, "${PORT:-8080}" the
 * value or, when the variable is unset or empty, the text after ":-" (up
 * to the first '}'). A NAME is letters, digits and '_', not starting with
 * a digit; "$${" writes a literal "${", and any other '$' is itself. A
 * variable that is unset with no default, or a malformed reference, is an
 * error at the value's JSON path ("app.json:5:30: providers.db.params.conninfo:
 * environment variable 'DATABASE_URL' is not set, and ${DATABASE_URL}
 * gives no default ..."), found with the shape errors: nothing is
 * registered. Values are read with secure_getenv() (none in a setuid
 * program), when the config is loaded; the result is a string still (a
 * param read as an integer must be written as a JSON number).
 *
 * Errors. Malformed JSON: "app.json:3:14: expected ',' or '}' after an object
 * member, got '\"'". Semantic errors: the line and column of the value
 * they are about (of its object, for a member that is missing) and its JSON
 * path, "app.json:4:7: providers.db.lifetme: unknown field (did you mean
 * 'lifetime'?)" (di_error_path() is the JSON path alone). Every semantic
 * problem is listed (di_error_next()): a kind's params checked by its model
 * (kind.h) give one each. Limits: DI_CONFIG_MAX_BYTES of text,
 * DI_CONFIG_MAX_DEPTH levels of nesting, duplicate keys refused; the text
 * must be UTF-8 (and its \u escapes: no \u0000, surrogates in pairs).
 *
 * Atomicity: the whole document is parsed and its shape checked before
 * anything is registered; with a syntax or shape error the container is
 * untouched. Plugins are loaded next; if one is refused nothing else is
 * registered. Then scopes, providers, sets and consumers are registered, each
 * problem collected: an entry that fails is not registered, the others are
 * (the container stays usable, but its seal will tell what is missing).
 */
#ifndef DI_CONFIG_H
#define DI_CONFIG_H

#include "export.h"
#include "container.h"

DI_BEGIN_DECLS

/* Largest config text accepted, in bytes. */
#define DI_CONFIG_MAX_BYTES (4u * 1024u * 1024u)
/* Deepest nesting of objects and arrays accepted (params included). */
#define DI_CONFIG_MAX_DEPTH 32

/*
 * di_config_load_file — read the JSON file at path and apply it to c.
 * Returns 0; DI_ECONFIG (unreadable, too large, malformed, or semantic
 * problems: the list is di_container_error(c)); DI_EPLUGIN (a plugin was
 * refused); DI_ESEALED (c is sealed: nothing is read); DI_EINVAL; DI_ENOMEM.
 */
DI_EXPORT int di_config_load_file(di_container *c, const char *path);

/*
 * di_config_load_string — apply JSON text (NUL-terminated) to c.
 * origin names the text in messages ("<string>" when NULL).
 * Returns as di_config_load_file().
 */
DI_EXPORT int di_config_load_string(di_container *c, const char *json,
                                    const char *origin);

DI_END_DECLS

#endif /* DI_CONFIG_H */
