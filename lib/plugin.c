/*
 * plugin.c — loading provider kinds from shared objects.
 *
 * Each shared object is opened once per process (keyed by its real path)
 * and reference counted by the containers that use it; the last container to
 * go closes it, after its own memory — which may hold instances with talloc
 * destructors inside the plugin — is gone. Every check happens before
 * anything in the container changes, so a refusal leaves it as it was.
 *
 * What runs is what was checked. Before anything of a file runs (its
 * constructors run at dlopen), its real path is resolved; a plugin named,
 * or given by a config, must lie in a plugin directory the program allowed;
 * the file is opened, and it and its directory must be owned by root or
 * this user and writable by nobody else; then the open descriptor itself
 * is loaded (/proc/self/fd/N), so that nothing can be swapped in between.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "di_int.h"

struct di__plugin_so {
    struct di__plugin_so *next;
    char *path;          /* real path (malloc) */
    void *handle;
    const di_plugin_desc *desc;
    unsigned refs;       /* containers using it */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static di__plugin_so *registry;

/* The ABI 1.0 description ends after fini. */
#define DESC_MIN_SIZE sizeof(di_plugin_desc)

static int refuse(di_container *c, const char *file, const char *fmt, ...)
    DI_PRINTF(3, 4);
static int refuse(di_container *c, const char *file, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *why = talloc_vasprintf(NULL, fmt, ap);
    va_end(ap);
    if (!why)
        return DI_ENOMEM;
    di__reg_error(c, DI_EPLUGIN, "plugin %s: %s", file, why);
    di__log(&(di_log_record){ .level = DI_LOG_INFO, .event = "plugin_refused",
            .code = DI_EPLUGIN }, "plugin %s: %s", file, why);
    talloc_free(why);
    return DI_EPLUGIN;
}

/* "<libdir>/di/plugins" beside the libdi.so this code runs from, so that an
 * installation moved to another prefix finds its own plugins; the path
 * compiled in when that is not a directory (the static library, a build
 * tree). */
static char system_dir[PATH_MAX];

static void find_system_dir(void)
{
    snprintf(system_dir, sizeof system_dir, "%s", DI_PLUGIN_SYSTEM_DIR);
    Dl_info info;
    char self[PATH_MAX], dir[PATH_MAX];
    struct stat st;
    if (!dladdr((void *)di_plugin_system_dir, &info) || !info.dli_fname ||
        !realpath(info.dli_fname, self))
        return;
    char *slash = strrchr(self, '/');
    if (!slash || !strstr(slash, "libdi.so"))
        return;                 /* linked statically into a program */
    *slash = '\0';
    if (snprintf(dir, sizeof dir, "%s/di/plugins", self) < (int)sizeof dir &&
        stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
        memcpy(system_dir, dir, sizeof dir);
}

const char *di_plugin_system_dir(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, find_system_dir);
    return system_dir;
}

static int plugin_dir(di_container *c, const char *dir)
{
    if (!c)
        return DI_EINVAL;
    if (!dir || !*dir) {
        di__reg_error(c, DI_EINVAL, "di_plugin_dir: a directory is needed");
        return DI_EINVAL;
    }
    if (di__closed(c, "di_plugin_dir", dir))
        return DI_ESEALED;
    const char **nd = talloc_realloc(c, c->plugin_dirs, const char *,
                                     c->ndirs + 1);
    if (!nd)
        return DI_ENOMEM;
    c->plugin_dirs = nd;
    if (!(nd[c->ndirs] = talloc_strdup(nd, dir)))
        return DI_ENOMEM;
    c->ndirs++;
    return 0;
}

int di_plugin_dir(di_container *c, const char *dir)
{
    return di__nomem(c, "di_plugin_dir", plugin_dir(c, dir));
}

int di_plugin_allow_config_dirs(di_container *c, const char *root)
{
    if (!c)
        return DI_EINVAL;
    if (!root || !*root) {
        di__reg_error(c, DI_EINVAL, "di_plugin_allow_config_dirs: a root "
                      "directory is needed");
        return DI_EINVAL;
    }
    if (di__closed(c, "di_plugin_allow_config_dirs", root))
        return DI_ESEALED;
    char *r = talloc_strdup(c, root);
    if (!r)
        return di__nomem(c, "di_plugin_allow_config_dirs", DI_ENOMEM);
    talloc_free((char *)c->config_dirs_root);
    c->config_dirs_root = r;
    return 0;
}

/* Is real (a real path) inside dir, once dir's links are resolved too? */
static bool inside(const char *real, const char *dir)
{
    char rd[PATH_MAX];
    size_t n;
    return realpath(dir, rd) && (n = strlen(rd)) &&
           strncmp(real, rd, n) == 0 && (real[n] == '/' || rd[n - 1] == '/');
}

bool di__plugin_dir_allowed(const di_container *c, const char *dir)
{
    char real[PATH_MAX];
    return c->config_dirs_root && realpath(dir, real) &&
           inside(real, c->config_dirs_root);
}

/* The plugin directories, listed for a message (on tmp). */
static const char *dir_list(const di_container *c, void *tmp)
{
    char *dirs = talloc_strdup(tmp, "");
    for (uint32_t k = 0; k < c->ndirs && dirs; k++)
        dirs = talloc_asprintf_append(dirs, "%s%s", k ? ", " : "",
                                      c->plugin_dirs[k]);
    return !dirs ? "?" : c->ndirs ? dirs : "none configured";
}

/* The file for `what` and its real path, on tmp; NULL after a refusal (*rc
 * set). A name is searched in the plugin directories, and what it leads to
 * (through links) must stay in that directory; a path is used as given,
 * and when it comes from a configuration it must lead into one of them. */
static char *locate(di_container *c, void *tmp, const char *what,
                    bool from_config, char *real, int *rc)
{
    struct stat st;
    if (strchr(what, '/')) {
        if (stat(what, &st) != 0) {
            *rc = refuse(c, what, "no such file");
            return NULL;
        }
        if (!realpath(what, real)) {
            *rc = refuse(c, what, "cannot resolve the path");
            return NULL;
        }
        bool in = !from_config;
        for (uint32_t k = 0; k < c->ndirs && !in; k++)
            in = inside(real, c->plugin_dirs[k]);
        if (!in) {
            *rc = refuse(c, what, "outside the plugin directories (%s): a "
                         "configuration loads plugins from those only",
                         dir_list(c, tmp));
            return NULL;
        }
        return talloc_strdup(tmp, what);
    }
    char *tried = talloc_strdup(tmp, "");
    for (uint32_t i = 0; i < c->ndirs && tried; i++) {
        char *p = talloc_asprintf(tmp, "%s/%s.so", c->plugin_dirs[i], what);
        if (!p) {
            *rc = DI_ENOMEM;
            return NULL;
        }
        if (stat(p, &st) == 0) {
            if (!realpath(p, real)) {
                *rc = refuse(c, p, "cannot resolve the path");
                return NULL;
            }
            if (!inside(real, c->plugin_dirs[i])) {
                *rc = refuse(c, p, "it leads outside its plugin directory "
                             "(to %s)", real);
                return NULL;
            }
            return p;
        }
        tried = talloc_asprintf_append(tried, "%s%s", i ? ", " : "", p);
    }
    if (!tried) {
        *rc = DI_ENOMEM;
        return NULL;
    }
    if (c->ndirs)
        *rc = refuse(c, what, "no such file (searched %s)", tried);
    else
        *rc = refuse(c, what, "no such file: no plugin directories are "
                     "configured (add one with di_plugin_dir() or "
                     "\"plugin_dirs\", or give a path)");
    return NULL;
}

/* Could somebody but its owner (root or this user) and root have written
 * what st describes? Group write counts unless the group is root's or the
 * owner's own, with nobody else in it. NULL when not, else what is wrong. */
static const char *writable_by_others(const struct stat *st)
{
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return "owned by another user";
    if (st->st_mode & S_IWOTH)
        return "writable by every user";
    if (!(st->st_mode & S_IWGRP) || st->st_gid == 0)
        return NULL;
    char buf[4096], gbuf[4096];
    struct passwd pw, *pp = NULL;
    struct group gr, *gp = NULL;
    if (getpwuid_r(st->st_uid, &pw, buf, sizeof buf, &pp) || !pp ||
        pp->pw_gid != st->st_gid ||
        getgrgid_r(st->st_gid, &gr, gbuf, sizeof gbuf, &gp) || !gp)
        return "writable by its group";
    for (char **m = gp->gr_mem; *m; m++)
        if (strcmp(*m, pp->pw_name) != 0)
            return "writable by its group, which has other members";
    return NULL;
}

/* Open the file at real and check it and its directory: the descriptor,
 * or -1 after a refusal (*rc set). */
static int open_checked(di_container *c, const char *file, const char *real,
                        int *rc)
{
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st, ds;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        *rc = refuse(c, file, "cannot open it");
        return -1;
    }
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", real);
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0'; /* "/x.so" lives in "/" */
    const char *why;
    if (!S_ISREG(st.st_mode))
        *rc = refuse(c, file, "it is not a regular file");
    else if ((why = writable_by_others(&st)))
        *rc = refuse(c, file, "it is %s, so it could have been replaced",
                     why);
    else if (stat(dir, &ds) != 0)
        *rc = refuse(c, file, "its directory %s cannot be read", dir);
    else if ((why = writable_by_others(&ds)))
        *rc = refuse(c, file, "its directory %s is %s, so the file in it "
                     "could have been replaced", dir, why);
    if (*rc) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Bounds on what a description may hold: past them it is garbage (a list
 * without its NULL end, say), refused before more of it is read. */
#define MAX_KINDS 1024
#define MAX_ROLES 64
#define MAX_TEXT 1024

/* Short UTF-8 text without control characters (summaries). */
static bool valid_text(const char *s)
{
    size_t len = strnlen(s, MAX_TEXT + 1), n;
    if (len > MAX_TEXT)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p += n)
        if (*p < 0x20 || *p == 0x7f ||
            !(n = di__utf8_len(p, len - (size_t)(p - (const unsigned char *)s))))
            return false;
    return true;
}

/* Check a freshly opened description; 0 or a refusal. */
static int check_desc(di_container *c, const char *file, const di_plugin_desc *d)
{
    if (!d)
        return refuse(c, file, "%s() returned NULL", DI_PLUGIN_SYMBOL);
    if (d->magic != DI_PLUGIN_MAGIC)
        return refuse(c, file, "not a libdi plugin: bad magic cookie 0x%08x "
                      "(expected 0x%08x)", d->magic, DI_PLUGIN_MAGIC);
    if (d->abi_major != DI_ABI_MAJOR)
        return refuse(c, file, "built for plugin ABI %u.%u, but this libdi "
                      "has ABI %d.%d: the major versions must match (rebuild "
                      "the plugin against this libdi)", d->abi_major,
                      d->abi_minor, DI_ABI_MAJOR, DI_ABI_MINOR);
    if (d->abi_minor > DI_ABI_MINOR)
        return refuse(c, file, "built for plugin ABI %u.%u, newer than this "
                      "libdi's %d.%d (upgrade libdi, or rebuild the plugin "
                      "against this one)", d->abi_major, d->abi_minor,
                      DI_ABI_MAJOR, DI_ABI_MINOR);
    if (d->size < DESC_MIN_SIZE)
        return refuse(c, file, "its description is %u bytes, smaller than the "
                      "%zu bytes of ABI %d.0 (not made with DI_PLUGIN()?)",
                      d->size, DESC_MIN_SIZE, DI_ABI_MAJOR);
    if (!d->name || !di__valid_name(d->name, true) || strchr(d->name, '.'))
        return refuse(c, file, "the plugin name is missing or malformed");
    if (d->version && !valid_text(d->version))
        return refuse(c, file, "the plugin version is malformed");
    return 0;
}

/* One kind of a description: its strings, its roles. */
static int check_kind(di_container *c, const char *file, size_t i,
                      const di_kind_desc *k)
{
    if (!k->name || !di__valid_name(k->name, true) || !k->create)
        return refuse(c, file, "kind #%zu has no valid name or no create "
                      "function", i + 1);
    if ((k->type && !di__valid_name(k->type, true)) ||
        (k->lifetime && !di__valid_name(k->lifetime, true)) ||
        (k->summary && !valid_text(k->summary)))
        return refuse(c, file, "kind '%s' has a malformed type, lifetime or "
                      "summary", k->name);
    size_t r = 0;
    while (k->roles && k->roles[r] && r <= MAX_ROLES)
        r++;
    if (r > MAX_ROLES)
        return refuse(c, file, "kind '%s' has more than %d roles (is its "
                      "roles list NULL-terminated?)", k->name, MAX_ROLES);
    return 0;
}

/* Kinds: well formed, unique within the plugin and in the container. */
static int check_kinds(di_container *c, void *tmp, const char *file,
                       const di_plugin_desc *d)
{
    size_t n = 0;
    while (d->kinds && d->kinds[n] && n <= MAX_KINDS)
        n++;
    if (n > MAX_KINDS)
        return refuse(c, file, "more than %d kinds (is its kinds list "
                      "NULL-terminated?)", MAX_KINDS);
    for (size_t i = 0; i < n; i++) {
        const di_kind_desc *k = d->kinds[i];
        int rc = check_kind(c, file, i, k);
        if (rc)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(d->kinds[j]->name, k->name) == 0)
                return refuse(c, file, "kind '%s.%s' is defined twice",
                              d->name, k->name);
        char *full = talloc_asprintf(tmp, "%s.%s", d->name, k->name);
        if (!full)
            return DI_ENOMEM;
        int at = di__kind_find(c, full);
        if (at >= 0) {
            int32_t pl = c->kinds[at].plugin;
            return refuse(c, file, "kind '%s' is already registered (by %s%s)",
                          full, pl >= 0 ? "plugin " : "the application",
                          pl >= 0 ? c->plugins[pl].path : "");
        }
    }
    return 0;
}

/* Close an object; fini only runs if init did. */
static void so_close(di__plugin_so *so, bool initialised)
{
    if (initialised && so->desc->fini)
        so->desc->fini();
    dlclose(so->handle);
    free(so->path);
    free(so);
}

static di__plugin_so *so_find(const char *real)
{
    for (di__plugin_so *so = registry; so; so = so->next)
        if (strcmp(so->path, real) == 0)
            return so;
    return NULL;
}

/* The /proc/self/fd/<n> names plugins were opened under, never reused in
 * the process: the dynamic linker takes an object still mapped under the
 * same name for the one asked for, whatever file the name now leads to —
 * and an object may stay mapped after dlclose() (a C++ plugin's unique
 * symbols). Locked by registry_lock. */
static int *fdnames;
static size_t nfdnames;

static bool fdname_used(int n)
{
    for (size_t i = 0; i < nfdnames; i++)
        if (fdnames[i] == n)
            return true;
    return false;
}

static bool fdname_keep(int n)
{
    int *more = DI__MAYFAIL(realloc(fdnames, (nfdnames + 1) * sizeof *more));
    if (!more)
        return false;
    fdnames = more;
    fdnames[nfdnames++] = n;
    return true;
}

/* dlopen() the open file fd through a /proc/self/fd name never used before
 * in the process: a handle, or NULL with the reason in err (*name -2 when
 * memory ran out). *name: the number used. */
static void *dlopen_fd(int fd, int *name, char *err, size_t n)
{
    int lfd = fd;
    while (lfd >= 0 && fdname_used(lfd)) {
        int d = fcntl(fd, F_DUPFD_CLOEXEC, lfd + 1);
        if (lfd != fd)
            close(lfd);
        lfd = d;
    }
    if (lfd < 0 || !fdname_keep(lfd)) {
        if (lfd >= 0 && lfd != fd)
            close(lfd);
        *name = lfd < 0 ? -1 : -2; /* -2: out of memory */
        snprintf(err, n, "no file descriptor left to load it through");
        return NULL;
    }
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", lfd);
    dlerror();
    void *h = dlopen(self, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        /* its messages name the descriptor: say the file's name instead */
        const char *e = dlerror();
        size_t sl = strlen(self);
        if (!e)
            e = "dlopen failed";
        snprintf(err, n, "%s", strncmp(e, self, sl) == 0 && e[sl] == ':'
                                   ? e + sl + 2 : e);
    }
    if (lfd != fd)
        close(lfd);
    *name = lfd;
    return h;
}

/* Open a shared object — the file fd, checked — and check its
 * description; NULL after a refusal. */
static di__plugin_so *so_open(di_container *c, const char *file,
                              const char *real, int fd, int *rc)
{
    char err[512];
    int fdname;
    void *h = dlopen_fd(fd, &fdname, err, sizeof err);
    if (!h) {
        *rc = fdname == -2 ? DI_ENOMEM
                           : refuse(c, file, "not a loadable shared object "
                                    "(%s: %s)", file, err);
        return NULL;
    }
    union { void *obj; di_plugin_entry_fn fn; } entry;
    entry.obj = dlsym(h, DI_PLUGIN_SYMBOL);
    if (!entry.obj) {
        dlclose(h);
        *rc = refuse(c, file, "not a libdi plugin: no entry symbol '%s' "
                     "(define it with DI_PLUGIN())", DI_PLUGIN_SYMBOL);
        return NULL;
    }
    const di_plugin_desc *d = entry.fn();
    if ((*rc = check_desc(c, file, d))) {
        dlclose(h);
        return NULL;
    }
    di__plugin_so *so = DI__MAYFAIL(calloc(1, sizeof *so));
    if (!so || !(so->path = DI__MAYFAIL(strdup(real)))) {
        free(so);
        dlclose(h);
        *rc = DI_ENOMEM;
        return NULL;
    }
    so->handle = h;
    so->desc = d;
    return so;
}

/* Run init for a newly opened object: 0 or a refusal. */
static int so_init(di_container *c, const char *file, di__plugin_so *so)
{
    char why[256] = "";
    if (!so->desc->init || so->desc->init(why, sizeof why) == 0)
        return 0;
    why[sizeof why - 1] = '\0';
    return refuse(c, file, "init refused: %s", *why ? why : "no reason given");
}

static void plugins_release(di_container *c);

static int attach(di_container *c, const char *file, di__plugin_so *so)
{
    const di_plugin_desc *d = so->desc;
    c->release_plugins = plugins_release;
    if (!c->plugins) {
        /* top-level: released after the container's memory (see above) */
        c->plugins = talloc_zero_array(NULL, di__plugin_ref, 1);
        if (!c->plugins)
            return DI_ENOMEM;
    }
    di__plugin_ref *np = talloc_realloc(NULL, c->plugins, di__plugin_ref,
                                        c->nplugins + 1);
    if (!np)
        return DI_ENOMEM;
    c->plugins = np;
    di__plugin_ref *r = &np[c->nplugins];
    memset(r, 0, sizeof *r);
    r->so = so;
    r->name = talloc_strdup(np, d->name);
    r->version = talloc_strdup(np, d->version ? d->version : "");
    r->path = talloc_strdup(np, file);
    r->abi_major = d->abi_major;
    r->abi_minor = d->abi_minor;
    if (!r->name || !r->version || !r->path)
        return DI_ENOMEM;
    uint32_t kinds_before = c->nkinds;
    for (size_t i = 0; d->kinds && d->kinds[i]; i++) {
        /* a plugin built for ABI 1.0 has kinds without flags, before 1.2
         * without params models */
        char *why;
        int rc = di__kind_add(c, d->kinds[i], (int32_t)c->nplugins, d->name,
                              d->abi_minor, &why);
        if (rc) {
            while (c->nkinds > kinds_before)
                talloc_free(c->kinds[--c->nkinds].mem);
            if (rc == DI_EINVAL && why)
                rc = refuse(c, file, "kind '%s': %s", d->kinds[i]->name, why);
            else if (rc == DI_EINVAL)
                rc = refuse(c, file, "kind '%s' has a malformed role",
                            d->kinds[i]->name);
            talloc_free(why);
            return rc;
        }
    }
    if (di__kind_models(c, d->kinds, kinds_before)) {
        while (c->nkinds > kinds_before)
            talloc_free(c->kinds[--c->nkinds].mem);
        return DI_ENOMEM;
    }
    c->nplugins++;
    return 0;
}

static int plugin_load(di_container *c, const char *what, bool from_config)
{
    if (!c)
        return DI_EINVAL;
    if (di__closed(c, "di_plugin_load", what ? what : "(null)"))
        return DI_ESEALED;
    if (!what || !*what) {
        di__reg_error(c, DI_EINVAL, "di_plugin_load: a path or name is needed");
        return DI_EINVAL;
    }
    void *tmp = talloc_new(NULL);
    if (!tmp)
        return DI_ENOMEM;
    int rc = 0, fd = -1;
    char real[PATH_MAX] = "";
    char *file = locate(c, tmp, what, from_config, real, &rc);
    if (!file || rc) {
        talloc_free(tmp);
        return rc;
    }
    pthread_mutex_lock(&registry_lock);
    di__plugin_so *so = so_find(real);
    bool fresh = !so, initialised = false;
    for (uint32_t i = 0; so && i < c->nplugins; i++)
        if (c->plugins[i].so == so)
            goto done; /* already in use here */
    if (fresh && ((fd = open_checked(c, file, real, &rc)) < 0 ||
                  !(so = so_open(c, file, real, fd, &rc))))
        goto done;
    rc = check_kinds(c, tmp, file, so->desc);
    if (!rc && fresh && !(rc = so_init(c, file, so)))
        initialised = true;
    if (!rc)
        rc = attach(c, file, so);
    if (rc && fresh) {
        so_close(so, initialised);
    } else if (!rc) {
        so->refs++;
        if (fresh) {
            so->next = registry;
            registry = so;
        }
    }
done:
    pthread_mutex_unlock(&registry_lock);
    if (fd >= 0)
        close(fd);
    talloc_free(tmp);
    return rc;
}

int di_plugin_load(di_container *c, const char *what)
{
    return di__nomem(c, "di_plugin_load", plugin_load(c, what, false));
}

int di__plugin_load_config(di_container *c, const char *what)
{
    return di__nomem(c, "di_plugin_load", plugin_load(c, what, true));
}

/* c's plugins, released when c is freed (registered as its
 * release_plugins): a plugin closes when no container uses it. */
static void plugins_release(di_container *c)
{
    if (!c->plugins)
        return;
    pthread_mutex_lock(&registry_lock);
    for (uint32_t i = 0; i < c->nplugins; i++) {
        di__plugin_so *so = c->plugins[i].so;
        if (--so->refs > 0)
            continue;
        for (di__plugin_so **pp = &registry; *pp; pp = &(*pp)->next)
            if (*pp == so) {
                *pp = so->next;
                break;
            }
        so_close(so, true);
    }
    pthread_mutex_unlock(&registry_lock);
    talloc_free(c->plugins);
    c->plugins = NULL;
    c->nplugins = 0;
}
