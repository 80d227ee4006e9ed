/*
 * diwire — libdi's command-line tool: check, draw and explain libdi configurations.
 *
 *   diwire check CONFIG        exit 0 if the graph is valid, 1 listing every
 *                              problem (for CI pipelines)
 *   diwire graph CONFIG [--json|--dot]
 *   diwire why CONFIG NAME     every path from a consumer to NAME, and what
 *                              NAME needs
 *   diwire plugins DIR...      the plugins in DIRs, their kinds and versions
 *   diwire openapi CONFIG      the OpenAPI document of the config's routes
 *
 * (Not "di": Debian ships a package of that name with /usr/bin/di.)
 * The tool only uses libdi's public API: it loads the config into a fresh
 * container, tries to seal it, and reads the graph back as JSON. Kinds the
 * application registers in C are unknown to it; put them in plugins to check
 * configs that use them.
 *
 * Exit status: 0 success, 1 problems found, 2 usage error.
 */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdbool.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include <di.h>

#define EXIT_PROBLEMS 1
#define EXIT_USAGE 2

static const char usage_main[] =
    "usage: diwire <command> [arguments]\n"
    "\n"
    "Commands:\n"
    "  check CONFIG              check a configuration and its graph\n"
    "  graph CONFIG [--dot|--json]  print the dependency graph\n"
    "  why CONFIG NAME           explain who needs NAME and what it needs\n"
    "  plugins DIR...            list the plugins in directories\n"
    "  openapi CONFIG            print the OpenAPI document of its routes\n"
    "\n"
    "Run 'diwire <command> --help' for a command's options.\n"
    "Exit status: 0 success, 1 problems found, 2 usage error.\n";

static const char usage_check[] =
    "usage: diwire check CONFIG [--plugin-dir DIR]...\n"
    "\n"
    "Load CONFIG (JSON) into a fresh container and seal it. Prints every\n"
    "problem (config errors with file:line:column or JSON path, graph errors\n"
    "with their dependency path) and exits 1; prints a summary and exits 0\n"
    "when the graph is valid. --plugin-dir adds a plugin directory: plugins\n"
    "are loaded from those and then the system plugin directory only (a\n"
    "config's own plugin_dirs are refused, so checking an untrusted config\n"
    "runs no code of its choosing). Strings may read the environment\n"
    "(${NAME:-default}): set what the config needs.\n";

static const char usage_graph[] =
    "usage: diwire graph CONFIG [--dot|--json] [--plugin-dir DIR]...\n"
    "\n"
    "Print the dependency graph of CONFIG: Graphviz DOT (the default; render\n"
    "with 'diwire graph app.json | dot -Tsvg > graph.svg') or JSON. A graph with\n"
    "errors is still printed, its missing nodes and failing paths in red, and\n"
    "the exit status is 1.\n";

static const char usage_why[] =
    "usage: diwire why CONFIG NAME [--plugin-dir DIR]...\n"
    "\n"
    "Explain NAME (a provider or consumer of CONFIG): every dependency path\n"
    "from a consumer to it, and the tree of what it needs.\n";

static const char usage_plugins[] =
    "usage: diwire plugins DIR...\n"
    "\n"
    "Load every *.so in each DIR as a libdi plugin and list its name,\n"
    "version, ABI and kinds, or the reason it was refused (exit status 1\n"
    "if any was refused).\n";

static const char usage_openapi[] =
    "usage: diwire openapi CONFIG [--title T] [--version V]\n"
    "                      [--auth PROVIDER=SCHEME]... [--plugin-dir DIR]...\n"
    "\n"
    "Print the OpenAPI 3.1 document of CONFIG's routes: its consumers named\n"
    "\"METHOD /path\" (\"GET /notes/{id}\"), each documented as a route with\n"
    "its path parameters and the header inputs it needs (\"header:X-Id\").\n"
    "--auth marks a provider as an authentication scheme: every route whose\n"
    "dependencies reach it requires the scheme. SCHEME: bearer, basic, or\n"
    "header:NAME (an API key in a header). The config is checked first, as\n"
    "'diwire check' does (exit 1 with every problem). Models are C: a\n"
    "body:, query: or path: input needs the program that registers its\n"
    "model (the notes server prints its document with --openapi).\n";

static bool is_help(const char *a)
{
    return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0;
}

/* ---- loading a config ---- */

typedef struct opts {
    const char *config;
    const char *name;       /* why */
    bool json;              /* graph */
    const char *dirs[64];
    int ndirs;
} opts;

/* Parse "CONFIG [NAME] [--json|--dot] [--plugin-dir DIR]..." */
static int parse(int argc, char **argv, const char *usage, int positional,
                 bool formats, opts *o)
{
    const char **pos[2] = { &o->config, &o->name };
    int npos = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) {
            fputs(usage, stdout);
            exit(0);
        } else if (strcmp(a, "--plugin-dir") == 0 && i + 1 < argc &&
                   o->ndirs < 64) {
            o->dirs[o->ndirs++] = argv[++i];
        } else if (formats && strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (formats && strcmp(a, "--dot") == 0) {
            o->json = false;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "diwire: unknown option '%s'\n\n%s", a, usage);
            return EXIT_USAGE;
        } else if (npos < positional) {
            *pos[npos++] = a;
        } else {
            fprintf(stderr, "diwire: unexpected argument '%s'\n\n%s", a, usage);
            return EXIT_USAGE;
        }
    }
    if (npos < positional) {
        fprintf(stderr, "diwire: missing %s\n\n%s", npos == 0 ? "CONFIG" : "NAME",
                usage);
        return EXIT_USAGE;
    }
    return 0;
}

static void print_errors(FILE *out, const di_error *e)
{
    for (; e; e = di_error_next(e))
        fprintf(out, "%s\n", di_error_message(e));
}

/* Load and seal, printing problems to out; *problems counts them. Returns
 * the container (NULL only when out of memory). */
static di_container *load(void *mem, const opts *o, FILE *out,
                          size_t *problems)
{
    di_container *c;
    *problems = 0;
    if (di_container_new(mem, &c))
        return NULL;
    for (int i = 0; i < o->ndirs; i++)
        di_plugin_dir(c, o->dirs[i]);
    di_plugin_dir(c, di_plugin_system_dir()); /* the shipped plugins */
    int rc = di_config_load_file(c, o->config);
    if (rc) {
        *problems += di_error_count(di_container_error(c));
        print_errors(out, di_container_error(c));
    }
    rc = di_container_seal(c);
    if (rc == DI_EGRAPH) {
        *problems += di_error_count(di_container_error(c));
        print_errors(out, di_container_error(c));
    } else if (rc) {
        fprintf(out, "%s: seal failed: %s\n", o->config, di_strerror(rc));
        (*problems)++;
    }
    return c;
}

/* The graph as a cJSON tree (caller deletes). */
static cJSON *graph_of(di_container *c)
{
    char *text;
    if (di_graph_json(c, NULL, &text))
        return NULL;
    cJSON *g = cJSON_Parse(text);
    talloc_free(text);
    return g;
}

/* A command's common start: parse the arguments, load and seal the config
 * (problems printed to report). Returns 0, or the exit status to return. */
typedef struct run {
    opts o;
    void *mem;
    di_container *c;
    size_t problems;
} run_t;

static int begin(run_t *r, int argc, char **argv, const char *usage,
                 int positional, bool formats, FILE *report)
{
    memset(r, 0, sizeof *r);
    int rc = parse(argc, argv, usage, positional, formats, &r->o);
    if (rc)
        return rc;
    r->mem = talloc_new(NULL);
    r->c = r->mem ? load(r->mem, &r->o, report, &r->problems) : NULL;
    if (!r->c) {
        fprintf(stderr, "diwire: out of memory\n");
        talloc_free(r->mem);
        return EXIT_PROBLEMS;
    }
    return 0;
}

static int cmd_check(int argc, char **argv)
{
    run_t r;
    int rc = begin(&r, argc, argv, usage_check, 1, false, stdout);
    if (rc)
        return rc;
    if (r.problems) {
        printf("%s: %zu problem%s\n", r.o.config, r.problems,
               r.problems == 1 ? "" : "s");
    } else {
        cJSON *g = graph_of(r.c);
        printf("%s: ok (%d providers, %d consumers, %d scope levels)\n",
               r.o.config,
               cJSON_GetArraySize(cJSON_GetObjectItem(g, "providers")),
               cJSON_GetArraySize(cJSON_GetObjectItem(g, "consumers")),
               cJSON_GetArraySize(cJSON_GetObjectItem(g, "levels")));
        cJSON_Delete(g);
    }
    talloc_free(r.mem);
    return r.problems ? EXIT_PROBLEMS : 0;
}

static int cmd_graph(int argc, char **argv)
{
    run_t r;
    /* problems go to stderr: stdout is the graph */
    int rc = begin(&r, argc, argv, usage_graph, 1, true, stderr);
    if (rc)
        return rc;
    char *text = NULL;
    if (r.o.json ? di_graph_json(r.c, r.mem, &text)
                 : di_graph_dot(r.c, r.mem, &text)) {
        fprintf(stderr, "diwire: out of memory\n");
        talloc_free(r.mem);
        return EXIT_PROBLEMS;
    }
    fputs(text, stdout);
    talloc_free(r.mem);
    return r.problems ? EXIT_PROBLEMS : 0;
}

/* ---- why ---- */

typedef struct why {
    cJSON *edges;
    const char *target;
    const char *stack[256];
    int depth;
    int paths;
} why_t;

#define MAX_PATHS 1000

static bool on_stack(const why_t *w, const char *name)
{
    for (int i = 0; i < w->depth; i++)
        if (strcmp(w->stack[i], name) == 0)
            return true;
    return false;
}

/* Depth-first over provider edges from stack[depth-1]; print paths. */
static void paths_from(why_t *w, bool from_consumer)
{
    const char *at = w->stack[w->depth - 1];
    if (strcmp(at, w->target) == 0 && w->depth > 1) {
        if (++w->paths <= MAX_PATHS) {
            printf("  ");
            for (int i = 0; i < w->depth; i++)
                printf("%s%s", i ? " \xe2\x86\x92 " : "", w->stack[i]);
            printf("\n");
        }
        return;
    }
    if (w->depth >= 256)
        return;
    cJSON *e;
    cJSON_ArrayForEach(e, w->edges) {
        if (cJSON_IsTrue(cJSON_GetObjectItem(e, "consumer")) != from_consumer)
            continue;
        if (strcmp(cJSON_GetObjectItem(e, "from")->valuestring, at) != 0)
            continue;
        const char *to = cJSON_GetObjectItem(e, "to")->valuestring;
        if (on_stack(w, to))
            continue; /* a cycle: seal reports it */
        w->stack[w->depth++] = to;
        paths_from(w, false);
        w->depth--;
    }
}

static cJSON *find_named(cJSON *arr, const char *name)
{
    cJSON *x;
    cJSON_ArrayForEach(x, arr)
        if (strcmp(cJSON_GetObjectItem(x, "name")->valuestring, name) == 0)
            return x;
    return NULL;
}

static const char *str_or(cJSON *o, const char *key, const char *def)
{
    cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : def;
}

/* "name (lifetime, type, kind)" */
static void describe(cJSON *g, const char *name)
{
    cJSON *p = find_named(cJSON_GetObjectItem(g, "providers"), name);
    if (!p) {
        printf("%s (missing: no provider)", name);
        return;
    }
    printf("%s (%s", name, str_or(p, "lifetime", "?"));
    if (cJSON_IsString(cJSON_GetObjectItem(p, "type")))
        printf(", type %s", str_or(p, "type", ""));
    if (cJSON_IsString(cJSON_GetObjectItem(p, "kind")))
        printf(", kind %s", str_or(p, "kind", ""));
    if (cJSON_IsTrue(cJSON_GetObjectItem(p, "value")))
        printf(", value");
    printf(")");
}

static void needs_tree(cJSON *g, const char *from, bool consumer, int depth,
                       const char **seen, int nseen)
{
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(g, "edges")) {
        if (cJSON_IsTrue(cJSON_GetObjectItem(e, "consumer")) != consumer ||
            strcmp(str_or(e, "from", ""), from) != 0)
            continue;
        const char *to = str_or(e, "to", "");
        bool opt = cJSON_IsTrue(cJSON_GetObjectItem(e, "optional"));
        printf("%*s%s", 2 * depth + 2, "", opt ? "?" : "");
        if (opt && cJSON_IsTrue(cJSON_GetObjectItem(e, "missing"))) {
            printf("%s (optional, absent)\n", to);
            continue;
        }
        describe(g, to);
        bool cyc = false;
        for (int i = 0; i < nseen; i++)
            cyc |= strcmp(seen[i], to) == 0;
        if (cyc || nseen >= 255) {
            printf(" [cycle]\n");
            continue;
        }
        printf("\n");
        seen[nseen] = to;
        needs_tree(g, to, false, depth + 1, seen, nseen + 1);
    }
}

static int cmd_why(int argc, char **argv)
{
    run_t r;
    int rc = begin(&r, argc, argv, usage_why, 2, false, stderr);
    if (rc)
        return rc;
    const opts o = r.o;
    void *mem = r.mem;
    size_t problems = r.problems;
    cJSON *g = graph_of(r.c);
    if (!g) {
        fprintf(stderr, "diwire: out of memory\n");
        talloc_free(mem);
        return EXIT_PROBLEMS;
    }
    cJSON *cons = find_named(cJSON_GetObjectItem(g, "consumers"), o.name);
    bool prov = find_named(cJSON_GetObjectItem(g, "providers"), o.name);
    bool wanted = false;
    cJSON *e;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(g, "edges"))
        wanted |= strcmp(str_or(e, "to", ""), o.name) == 0;
    if (!cons && !prov && !wanted) {
        fprintf(stderr, "diwire why: '%s' is neither a provider nor a consumer of "
                "%s, and nothing needs it\n", o.name, o.config);
        cJSON_Delete(g);
        talloc_free(mem);
        return EXIT_PROBLEMS;
    }
    if (cons) {
        printf("%s (consumer, level %s)\n", o.name, str_or(cons, "level", "?"));
    } else {
        describe(g, o.name);
        printf("\n");
        why_t w = { .edges = cJSON_GetObjectItem(g, "edges"),
                    .target = o.name };
        printf("needed by:\n");
        cJSON *cn;
        cJSON_ArrayForEach(cn, cJSON_GetObjectItem(g, "consumers")) {
            w.stack[0] = str_or(cn, "name", "");
            w.depth = 1;
            paths_from(&w, true);
        }
        if (w.paths > MAX_PATHS)
            printf("  ... %d more paths\n", w.paths - MAX_PATHS);
        if (!w.paths)
            printf("  no consumer\n");
    }
    printf("needs:\n");
    const char *seen[256] = { o.name };
    size_t before = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(g, "edges"))
        before += strcmp(str_or(e, "from", ""), o.name) == 0 &&
                  cJSON_IsTrue(cJSON_GetObjectItem(e, "consumer")) == !!cons;
    if (!before)
        printf("  nothing\n");
    needs_tree(g, o.name, cons != NULL, 0, seen, 1);
    cJSON_Delete(g);
    talloc_free(mem);
    return problems ? EXIT_PROBLEMS : 0;
}

/* ---- plugins ---- */

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_plugin(const char *path)
{
    di_container *c;
    if (di_container_new(NULL, &c))
        return EXIT_PROBLEMS;
    if (di_plugin_load(c, path)) {
        printf("refused: %s\n", di_error_message(di_container_error(c)));
        di_container_free(c);
        return EXIT_PROBLEMS;
    }
    cJSON *g = graph_of(c);
    cJSON *p = cJSON_GetArrayItem(cJSON_GetObjectItem(g, "plugins"), 0);
    printf("%s %s (ABI %s) %s\n", str_or(p, "name", "?"),
           str_or(p, "version", "?"), str_or(p, "abi", "?"), path);
    cJSON *k;
    cJSON_ArrayForEach(k, cJSON_GetObjectItem(g, "kinds")) {
        printf("  %s: type %s, lifetime %s", str_or(k, "name", "?"),
               str_or(k, "type", "none"), str_or(k, "lifetime", "not set"));
        cJSON *roles = cJSON_GetObjectItem(k, "roles"), *r;
        if (cJSON_GetArraySize(roles)) {
            printf(", roles");
            cJSON_ArrayForEach(r, roles)
                printf(" %s", r->valuestring);
        }
        if (cJSON_IsString(cJSON_GetObjectItem(k, "summary")))
            printf(" \xe2\x80\x94 %s", str_or(k, "summary", ""));
        printf("\n");
    }
    cJSON_Delete(g);
    di_container_free(c);
    return 0;
}

static int cmd_plugins(int argc, char **argv)
{
    if (argc == 0) {
        fprintf(stderr, "diwire: missing DIR\n\n%s", usage_plugins);
        return EXIT_USAGE;
    }
    for (int i = 0; i < argc; i++)
        if (is_help(argv[i])) {
            fputs(usage_plugins, stdout);
            return 0;
        }
    int status = 0;
    for (int i = 0; i < argc; i++) {
        DIR *d = opendir(argv[i]);
        if (!d) {
            fprintf(stderr, "diwire plugins: cannot open directory '%s'\n", argv[i]);
            status = EXIT_PROBLEMS;
            continue;
        }
        void *mem = talloc_new(NULL);
        char **names = NULL;
        unsigned n = 0; /* talloc counts are unsigned */
        struct dirent *de;
        while ((de = readdir(d))) {
            size_t len = strlen(de->d_name);
            if (len < 4 || strcmp(de->d_name + len - 3, ".so") != 0)
                continue;
            char **nn = n < UINT_MAX ? talloc_realloc(mem, names, char *, n + 1)
                                     : NULL;
            if (!nn)
                break;
            names = nn;
            names[n++] = talloc_asprintf(names, "%s/%s", argv[i], de->d_name);
        }
        closedir(d);
        if (n)
            qsort(names, n, sizeof *names, by_name);
        else
            printf("%s: no plugins (*.so)\n", argv[i]);
        for (size_t k = 0; k < n; k++)
            if (names[k] && list_plugin(names[k]))
                status = EXIT_PROBLEMS;
        talloc_free(mem);
    }
    return status;
}

/* ---- openapi ---- */

static int no_handler(di_http_req *r, void *const *deps, void *data)
{
    (void)r;
    (void)deps;
    (void)data;
    return DI_HTTP_ERROR(501);
}

/* "PROVIDER=bearer|basic|header:NAME" as a mark on h. */
static int mark(di_http *h, void *mem, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "diwire openapi: --auth '%s': write PROVIDER=SCHEME\n",
                arg);
        return EXIT_USAGE;
    }
    char *provider = talloc_strndup(mem, arg, (size_t)(eq - arg));
    const char *scheme = eq + 1;
    di_auth_scheme s = { .id = scheme, .type = "http", .scheme = scheme };
    if (strncmp(scheme, "header:", 7) == 0 && scheme[7])
        s = (di_auth_scheme){ .id = scheme + 7, .type = "apiKey",
                              .in = "header", .name = scheme + 7 };
    else if (strcmp(scheme, "bearer") != 0 && strcmp(scheme, "basic") != 0) {
        fprintf(stderr, "diwire openapi: --auth '%s': the scheme is bearer, "
                "basic or header:NAME\n", arg);
        return EXIT_USAGE;
    }
    if (!provider || di_openapi_auth(h, provider, &s)) {
        print_errors(stderr, di_container_error(di_http_container(h)));
        return EXIT_PROBLEMS;
    }
    return 0;
}

/* Is name a route's ("GET /x")? */
static bool route_name(const char *name)
{
    const char *sp = strchr(name, ' ');
    if (!sp || sp == name || sp[1] != '/')
        return false;
    for (const char *p = name; p < sp; p++)
        if (*p < 'A' || *p > 'Z')
            return false;
    return true;
}

/* The config's routes on router h, and the rest of the config on its
 * container: the route consumers are taken out of the text (a route
 * registers its own consumer). Problems printed; returns 0 or the exit. */
static int routes_of(di_http *h, void *mem, const char *path)
{
    di_container *c = di_http_container(h);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    if (f) {
        text = talloc_array(mem, char, DI_CONFIG_MAX_BYTES + 1);
        len = text ? fread(text, 1, DI_CONFIG_MAX_BYTES, f) : 0;
        fclose(f);
    }
    if (!text)
        return EXIT_PROBLEMS; /* checked by load() already: only memory */
    text[len] = '\0';
    cJSON *root = cJSON_Parse(text);
    cJSON *cons = cJSON_GetObjectItemCaseSensitive(root, "consumers");
    cJSON *e = cons ? cons->child : NULL;
    int rc = root ? 0 : EXIT_PROBLEMS;
    while (!rc && e) {
        cJSON *next = e->next;
        if (route_name(e->string)) {
            const cJSON *needs = cJSON_GetObjectItemCaseSensitive(e, "needs");
            int n = cJSON_GetArraySize(needs);
            const char **deps = talloc_zero_array(mem, const char *,
                                                  (unsigned)n + 1);
            for (int i = 0; deps && i < n; i++)
                deps[i] = talloc_strdup(deps, cJSON_GetStringValue(
                                                  cJSON_GetArrayItem(needs, i)));
            const char *sp = strchr(e->string, ' ');
            char *method = talloc_strndup(mem, e->string,
                                          (size_t)(sp - e->string));
            const char *level = cJSON_GetStringValue(
                cJSON_GetObjectItemCaseSensitive(e, "level"));
            if (!deps || !method ||
                di_http_route(h, &(di_http_route_desc){ .method = method,
                    .path = sp + 1, .deps = deps, .handler = no_handler,
                    .level = level })) {
                print_errors(stderr, di_container_error(c));
                rc = EXIT_PROBLEMS;
            }
            cJSON_Delete(cJSON_DetachItemViaPointer(cons, e));
        }
        e = next;
    }
    char *rest = rc ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!rc && (!rest || di_config_load_string(c, rest, path) ||
                di_container_seal(c))) {
        print_errors(stderr, di_container_error(c));
        rc = EXIT_PROBLEMS;
    }
    cJSON_free(rest);
    return rc;
}

static int cmd_openapi(int argc, char **argv)
{
    di_openapi_info info = { .title = NULL };
    const char *auth[64];
    int nauth = 0, n = 0;
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest)
        return EXIT_PROBLEMS;
    for (int i = 0; i < argc; i++) {
        bool v = i + 1 < argc;
        if (strcmp(argv[i], "--title") == 0 && v)
            info.title = argv[++i];
        else if (strcmp(argv[i], "--version") == 0 && v)
            info.version = argv[++i];
        else if (strcmp(argv[i], "--auth") == 0 && v && nauth < 64)
            auth[nauth++] = argv[++i];
        else
            rest[n++] = argv[i];
    }
    run_t r;
    /* first as 'check' does: its problems with their file positions */
    int rc = begin(&r, n, rest, usage_openapi, 1, false, stderr);
    free(rest);
    if (rc)
        return rc;
    if (r.problems) {
        fprintf(stderr, "%s: %zu problem%s\n", r.o.config, r.problems,
                r.problems == 1 ? "" : "s");
        talloc_free(r.mem);
        return EXIT_PROBLEMS;
    }
    di_container *c;
    di_http *h;
    rc = di_container_new(r.mem, &c) || di_http_new(r.mem, c, &h)
             ? EXIT_PROBLEMS : 0;
    for (int i = 0; !rc && i < r.o.ndirs; i++)
        di_plugin_dir(c, r.o.dirs[i]);
    if (!rc)
        di_plugin_dir(c, di_plugin_system_dir());
    for (int i = 0; !rc && i < nauth; i++)
        rc = mark(h, r.mem, auth[i]);
    if (!rc)
        rc = routes_of(h, r.mem, r.o.config);
    char *doc = NULL;
    if (!rc && di_openapi_json(h, &info, r.mem, &doc)) {
        print_errors(stderr, di_container_error(c));
        rc = EXIT_PROBLEMS;
    }
    if (doc)
        printf("%s\n", doc);
    talloc_free(r.mem);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_main, stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (is_help(cmd) || strcmp(cmd, "help") == 0) {
        fputs(usage_main, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("diwire %s\n", di_version(NULL, NULL, NULL));
        return 0;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = { { "check", cmd_check }, { "graph", cmd_graph },
                 { "why", cmd_why }, { "plugins", cmd_plugins },
                 { "openapi", cmd_openapi } };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(cmd, cmds[i].name) == 0)
            return cmds[i].fn(argc - 2, argv + 2);
    fprintf(stderr, "diwire: unknown command '%s'\n\n%s", cmd, usage_main);
    return EXIT_USAGE;
}
