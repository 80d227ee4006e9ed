/*
 * broken.c — one source, built once per refusal reason (-DBROKEN_<reason>),
 * each a real shared object the loader must refuse:
 *   NO_ENTRY      no di_plugin_entry symbol
 *   BAD_MAGIC     wrong cookie
 *   OTHER_MAJOR   ABI major + 1
 *   NEWER_MINOR   ABI minor + 1
 *   SHORT_STRUCT  a description smaller than ABI 1.0's
 *   DUP_KIND      the same kind twice
 *   INIT_REFUSES  init says no
 *   CLASH         plugin "demo" again, whose kind "counter" is taken
 *   NULL_NAME     no plugin name
 *   BAD_UTF8      a plugin name that is not UTF-8
 *   BAD_KIND      a kind without a name
 *   MANY_KINDS    a kinds list of 5000 (as if its NULL end were missing)
 *   MANY_ROLES    a kind with 500 roles
 * and one the loader accepts:
 *   OLD_MINOR     built for ABI 1.0 (no kind flags then): its kind's
 *                 flags, set here, must be ignored
 * Built without any -D it is a valid plugin, "tiny", made with DI_PLUGIN().
 */
#include <di.h>
#include <stdio.h>

static int thing_create(const di_build *b, void **out)
{
    *out = b->mem;
    return 0;
}

#ifndef BROKEN_OLD_MINOR
static const di_kind_desc thing = { .name = "thing", .lifetime = "singleton",
                                    .create = thing_create };
#else
static const di_kind_desc thing = { .name = "thing", .lifetime = "request",
                                    .create = thing_create,
                                    .flags = DI_KIND_ASYNC };
#endif
#ifdef BROKEN_CLASH
static const di_kind_desc clash = { .name = "counter", .lifetime = "singleton",
                                    .create = thing_create };
#endif

#if defined(BROKEN_INIT_REFUSES)
static int refuse(char *why, size_t n)
{
    snprintf(why, n, "needs the environment variable TINY_KEY");
    return -1;
}
#  define INIT refuse
#else
#  define INIT NULL
#endif

#ifdef BROKEN_BAD_KIND
static const di_kind_desc nameless = { .lifetime = "singleton",
                                       .create = thing_create };
#endif
#ifdef BROKEN_MANY_ROLES
static const char *many_roles[501];
static const di_kind_desc roles_kind = { .name = "roles", .lifetime =
    "singleton", .roles = many_roles, .create = thing_create };
__attribute__((constructor)) static void fill_roles(void)
{
    for (int i = 0; i < 500; i++)
        many_roles[i] = "?r";
}
#endif

#if !defined(BROKEN_NO_ENTRY) && !defined(BROKEN_BAD_MAGIC) && \
    !defined(BROKEN_OTHER_MAJOR) && !defined(BROKEN_NEWER_MINOR) && \
    !defined(BROKEN_SHORT_STRUCT) && !defined(BROKEN_DUP_KIND) && \
    !defined(BROKEN_CLASH) && !defined(BROKEN_NULL_NAME) && \
    !defined(BROKEN_BAD_UTF8) && !defined(BROKEN_BAD_KIND) && \
    !defined(BROKEN_MANY_KINDS) && !defined(BROKEN_MANY_ROLES) && \
    !defined(BROKEN_OLD_MINOR)
DI_PLUGIN(tiny, "0.1", INIT, &thing)
#else
#  define MAGIC DI_PLUGIN_MAGIC
#  define MAJOR DI_ABI_MAJOR
#  define MINOR DI_ABI_MINOR
#  define SIZE sizeof(di_plugin_desc)
#  define NAME "tiny"
#  define KINDS &thing
#  define ENTRY di_plugin_entry
#  if defined(BROKEN_NO_ENTRY)
#    undef ENTRY
#    define ENTRY tiny_entry
#  elif defined(BROKEN_BAD_MAGIC)
#    undef MAGIC
#    define MAGIC 0xdeadbeefu
#  elif defined(BROKEN_OTHER_MAJOR)
#    undef MAJOR
#    define MAJOR (DI_ABI_MAJOR + 1)
#  elif defined(BROKEN_NEWER_MINOR)
#    undef MINOR
#    define MINOR (DI_ABI_MINOR + 1)
#  elif defined(BROKEN_OLD_MINOR)
#    undef MINOR
#    define MINOR 0
#  elif defined(BROKEN_SHORT_STRUCT)
#    undef SIZE
#    define SIZE 16
#  elif defined(BROKEN_DUP_KIND)
#    undef KINDS
#    define KINDS &thing, &thing
#  elif defined(BROKEN_CLASH)
#    undef NAME
#    define NAME "demo"
#    undef KINDS
#    define KINDS &clash, &thing
#  elif defined(BROKEN_NULL_NAME)
#    undef NAME
#    define NAME NULL
#  elif defined(BROKEN_BAD_UTF8)
#    undef NAME
#    define NAME "t\xffny"
#  elif defined(BROKEN_BAD_KIND)
#    undef KINDS
#    define KINDS &thing, &nameless
#  elif defined(BROKEN_MANY_ROLES)
#    undef KINDS
#    define KINDS &thing, &roles_kind
#  endif
#  ifdef BROKEN_MANY_KINDS
static const di_kind_desc *kinds[5001];
__attribute__((constructor)) static void fill_kinds(void)
{
    for (int i = 0; i < 5000; i++)
        kinds[i] = &thing;
}
#  else
static const di_kind_desc *const kinds[] = { KINDS, NULL };
#  endif
static const di_plugin_desc desc = { MAGIC, MAJOR, MINOR, SIZE, NAME, "0.1",
                                     kinds, INIT, NULL };
DI_PLUGIN_API const di_plugin_desc *ENTRY(void);
const di_plugin_desc *ENTRY(void) { return &desc; }
#endif
