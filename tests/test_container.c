/*
 * test_container.c — the container: registration rules and their errors,
 * overrides and values, levels, the registry closed after seal, singleton
 * teardown in reverse order on free (also through the talloc parent).
 */
#include "helpers.h"

static di_container *c;

static void test_new_and_free(void)
{
    CU_ASSERT_EQUAL(di_container_new(NULL, NULL), DI_EINVAL);
    void *root = talloc_new(NULL);
    T_OK(di_container_new(root, &c));
    CU_ASSERT_PTR_EQUAL(talloc_parent(c), root);
    CU_ASSERT_FALSE(di_container_sealed(c));
    CU_ASSERT_PTR_NULL(di_container_error(c));
    T_OK(di_container_free(c));
    CU_ASSERT_EQUAL(talloc_total_blocks(root), 1);
    CU_ASSERT_EQUAL(di_container_free(NULL), DI_EINVAL);
    talloc_free(root);
}

static void test_singletons_reverse_on_free(void)
{
    tlog_reset();
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "a", "singleton", NULL, NULL));
    T_OK(t_provide(c, "b", "singleton", NULL, "a", NULL));
    T_OK(t_provide(c, "c", "singleton", NULL, NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "c", &v));
    T_OK(di_get(s, "b", &v));
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
    CU_ASSERT_STRING_EQUAL(tlog(), "+c +a +b -b:0 -a:0 -c:0");
}

static void test_free_through_talloc_parent(void)
{
    tlog_reset();
    void *app = talloc_new(NULL);
    T_OK(di_container_new(app, &c));
    T_OK(t_provide(c, "a", "singleton", NULL, NULL));
    T_OK(t_provide(c, "b", "singleton", NULL, "a", NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "b", &v));
    T_OK(di_scope_end(s, 0));
    talloc_free(app);
    CU_ASSERT_STRING_EQUAL(tlog(), "+a +b -b:0 -a:0");
}

static void test_dispose_failure_on_free(void)
{
    tbeh f = { .dispose_fail = -5 };
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "a", "singleton", &f, NULL));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *v;
    T_OK(di_get(s, "a", &v));
    T_OK(di_scope_end(s, 0));
    CU_ASSERT_EQUAL(di_container_free(c), DI_EDISPOSE);
    CU_ASSERT_EQUAL(f.disposes, 1);
}

static void test_registration_errors(void)
{
    T_OK(di_container_new(NULL, &c));
    CU_ASSERT_EQUAL(di_provide(NULL, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(di_provide(c, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(t_provide(c, "a:b", "request", NULL, NULL), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_provide: a provider needs a "
                       "name of 1 to 255 bytes, not starting with '?', without "
                       "':' or control characters"));
    CU_ASSERT_EQUAL(t_provide(c, "?a", "request", NULL, NULL), DI_EINVAL);
    CU_ASSERT_EQUAL(t_provide(c, "", "request", NULL, NULL), DI_EINVAL);
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    CU_ASSERT_EQUAL(t_provide(c, longname, "request", NULL, NULL), DI_EINVAL);
    longname[255] = 0;
    T_OK(t_provide(c, longname, "request", NULL, NULL));
    CU_ASSERT_EQUAL(di_provide(c, &(di_provider_desc){ .name = "x",
                    .create = t_create }), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_provide('x'): a lifetime "
                       "(\"singleton\", \"transient\" or a level) is required"));
    CU_ASSERT_EQUAL(di_provide(c, &(di_provider_desc){ .name = "x",
                    .lifetime = "request" }), DI_EINVAL);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_provide('x'): a create "
                       "function is required"));
    CU_ASSERT_EQUAL(t_provide(c, "x", "request", NULL, "?", NULL), DI_EINVAL);
    T_OK(t_provide(c, "x", "request", NULL, NULL));
    CU_ASSERT_EQUAL(t_provide(c, "x", "request", NULL, NULL), DI_EEXIST);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_provide: a provider named 'x' "
                       "is already registered (use di_override to replace it)"));
    /* the failed registrations left the container usable */
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH); /* the duplicate */
    T_OK(di_container_free(c));
}

static void test_after_seal(void)
{
    T_OK(di_container_new(NULL, &c));
    T_OK(di_container_seal(c));
    CU_ASSERT_EQUAL(t_provide(c, "late", "request", NULL, NULL), DI_ESEALED);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_provide('late'): the "
                       "container is sealed; register everything before "
                       "di_container_seal()"));
    CU_ASSERT_EQUAL(di_provide_value(c, "v", NULL, NULL), DI_ESEALED);
    CU_ASSERT_EQUAL(di_override_value(c, "v", NULL, NULL), DI_ESEALED);
    CU_ASSERT_EQUAL(di_level(c, "job", "singleton"), DI_ESEALED);
    T_OK(di_container_free(c));
}

static void test_override_and_values(void)
{
    tlog_reset();
    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "db", "singleton", NULL, NULL));
    T_OK(t_provide(c, "repo", "request", NULL, "db", NULL));
    /* swapped with another lifetime, twice: the last one wins */
    T_OK(t_provide(c, "mockdb1", "request", NULL, NULL));
    T_OK(di_override(c, &(di_provider_desc){ .name = "db",
         .lifetime = "transient", .create = t_create }));
    int fixed = 7;
    T_OK(di_override_value(c, "db", "int", &fixed));
    CU_ASSERT_EQUAL(di_override(c, &(di_provider_desc){ .name = "dbb",
                    .lifetime = "request", .create = t_create }), DI_ENOTFOUND);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_override: no provider named "
                       "'dbb' to override"));
    CU_ASSERT_EQUAL(di_container_seal(c), DI_EGRAPH); /* the typo is kept */
    T_OK(di_container_free(c));

    T_OK(di_container_new(NULL, &c));
    T_OK(t_provide(c, "db", "singleton", NULL, NULL));
    T_OK(t_provide(c, "repo", "request", NULL, "db", NULL));
    T_OK(di_override_value(c, "db", "int", &fixed));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    void *repo;
    T_OK(di_get(s, "repo", &repo));
    CU_ASSERT_PTR_EQUAL(((tinst *)repo)->deps[0], &fixed);
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
    CU_ASSERT_STRING_EQUAL(tlog(), "+repo -repo:0"); /* the value: never disposed */
}

static void test_levels(void)
{
    T_OK(di_container_new(NULL, &c));
    CU_ASSERT_EQUAL(di_level(c, "singleton", "request"), DI_ELEVEL);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_level: 'singleton' is "
                       "reserved and cannot be declared"));
    CU_ASSERT_EQUAL(di_level(c, "transient", "singleton"), DI_ELEVEL);
    CU_ASSERT_EQUAL(di_level(c, NULL, "singleton"), DI_EINVAL);
    CU_ASSERT_EQUAL(di_level(c, "a:b", "singleton"), DI_EINVAL);
    char name[8];
    int rc = 0;
    for (int i = 0; i < DI_LEVEL_MAX && rc == 0; i++) {
        snprintf(name, sizeof name, "l%d", i);
        rc = di_level(c, name, "singleton");
    }
    CU_ASSERT_EQUAL(rc, DI_ELEVEL); /* singleton + request + 62 more */
    T_OK(di_level(c, "l3", "l2")); /* re-parenting is fine */
    T_OK(di_container_seal(c));
    T_OK(di_container_free(c));
}

static void test_version(void)
{
    int ma = -1, mi = -1, pa = -1;
    CU_ASSERT_STRING_EQUAL(di_version(&ma, &mi, &pa), DI_VERSION_STRING);
    CU_ASSERT_EQUAL(ma, DI_VERSION_MAJOR);
    CU_ASSERT_EQUAL(mi, DI_VERSION_MINOR);
    CU_ASSERT_EQUAL(pa, DI_VERSION_PATCH);
    char s[32];
    snprintf(s, sizeof s, "%d.%d.%d", ma, mi, pa);
    CU_ASSERT_STRING_EQUAL(s, DI_VERSION_STRING);
    CU_ASSERT_STRING_EQUAL(di_version(NULL, NULL, NULL), DI_VERSION_STRING);
}

/* Provider records are kept in chunks of 256: keys, values, overrides and
 * dependencies stay right on both sides of the chunks' edges. */
static void test_records_across_chunks(void)
{
    enum { N = 700 };
    static int vals[N], other;
    char name[16], dep[16];
    T_OK(di_container_new(NULL, &c));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "p%d", i);
        if (i % 2 == 0) {
            T_OK(di_provide_value(c, name, NULL, &vals[i]));
            continue;
        }
        snprintf(dep, sizeof dep, "p%d", i - 1);
        T_OK(t_provide(c, name, "request", NULL, dep, NULL));
    }
    T_OK(di_override_value(c, "p256", NULL, &other)); /* a chunk's first */
    T_OK(di_override_value(c, "p4", NULL, &other));
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "request", NULL, &s));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "p%d", i);
        CU_ASSERT_EQUAL(di_key(c, name), i);
        void *v = NULL;
        T_OK(di_get(s, name, &v));
        void *want = i == 256 || i == 4 ? (void *)&other : (void *)&vals[i];
        if (i % 2 == 0) {
            CU_ASSERT_PTR_EQUAL(v, want);
            continue;
        }
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        CU_ASSERT_STRING_EQUAL(((tinst *)v)->name, name);
        void *d = i - 1 == 256 || i - 1 == 4 ? (void *)&other
                                             : (void *)&vals[i - 1];
        CU_ASSERT_PTR_EQUAL(((tinst *)v)->deps[0], d);
    }
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
}

/* The name map keeps only a name's first 7 bytes and finds longer names
 * through their owner (a provider record, a consumer, a lifetime): many long
 * names alike in those bytes, checked while the map grows and after. */
static void test_long_names_as_map_grows(void)
{
    enum { N = 1500, NC = 200 };
    static int vals[N], other;
    char name[48];
    T_OK(di_container_new(NULL, &c));
    T_OK(di_level(c, "per_connection_session", "singleton"));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "service_with_a_long_name_%04d", i);
        T_OK(di_provide_value(c, name, NULL, &vals[i]));
        if (i % 97 == 0) /* every name so far, while the map grows: an
                            override finds it (with the value it has) */
            for (int j = 0; j <= i; j++) {
                snprintf(name, sizeof name, "service_with_a_long_name_%04d", j);
                T_OK(di_override_value(c, name, NULL, &vals[j]));
            }
    }
    T_OK(di_override_value(c, "service_with_a_long_name_1234", NULL, &other));
    for (int i = 0; i < NC; i++) {
        snprintf(name, sizeof name, "handler_with_a_long_name_%03d", i);
        char dep[48];
        snprintf(dep, sizeof dep, "service_with_a_long_name_%04d", i * 7);
        T_OK(t_consumer(c, name, "per_connection_session", dep, NULL));
    }
    T_OK(di_container_seal(c));
    di_scope *s;
    T_OK(di_scope_begin(c, NULL, "per_connection_session", NULL, &s));
    for (int i = 0; i < NC; i++) {
        snprintf(name, sizeof name, "handler_with_a_long_name_%03d", i);
        CU_ASSERT_EQUAL(di_consumer_key(c, name), i);
        void *v = NULL;
        T_OK(di_resolve(s, name, &v, 1));
        CU_ASSERT_PTR_EQUAL(v, i * 7 == 1234 ? &other : &vals[i * 7]);
    }
    CU_ASSERT_EQUAL(di_consumer_key(c, "handler_with_a_long_name_200"),
                    DI_ENOTFOUND);
    CU_ASSERT_EQUAL(di_key(c, "service_with_a_long_name_123"), DI_ENOTFOUND);
    CU_ASSERT_EQUAL(di_key(c, "service_with_a_long_name_12345"), DI_ENOTFOUND);
    CU_ASSERT_EQUAL(di_key(c, "service_with_a_long_name_1500"), DI_ENOTFOUND);
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "service_with_a_long_name_%04d", i);
        void *v = NULL;
        T_OK(di_get(s, name, &v));
        CU_ASSERT_PTR_EQUAL(v, i == 1234 ? &other : &vals[i]);
        CU_ASSERT_EQUAL(di_key(c, name), i);
    }
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(c));
    /* a long name registered twice is found among the others */
    T_OK(di_container_new(NULL, &c));
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "service_with_a_long_name_%04d", i);
        T_OK(di_provide_value(c, name, NULL, &vals[i]));
    }
    CU_ASSERT_EQUAL(di_provide_value(c, "service_with_a_long_name_0777", NULL,
                                     &other), DI_EEXIST);
    CU_ASSERT(t_msg_is(di_container_error(c), "di_provide_value: a provider "
                       "named 'service_with_a_long_name_0777' is already "
                       "registered (use di_override to replace it)"));
    T_OK(di_container_free(c));
}

/* Names that share their first bytes, around the 7-byte prefix the name
 * map compares first, stay distinct; so do the last two, which have the
 * same length, the same first 7 bytes and the same 32-bit hash: only the
 * full comparison tells them apart. (The pair is di__hash()'s, found by
 * hashing "collide_%07d" names until two agreed: a new hash needs a new
 * pair.) */
static void test_similar_names(void)
{
    enum { N = 8 };
    static const char *const names[N] = {
        "abcdefg", "abcdefgh", "abcdefgh1", "abcdefgi", "abcdef",
        "abcdefgh12345", "collide_0310022", "collide_0640339" };
    di_container *m;
    T_OK(di_container_new(NULL, &m));
    for (int i = 0; i < N; i++)
        T_OK(di_provide_value(m, names[i], NULL, (void *)names[i]));
    T_OK(di_container_seal(m));
    di_scope *s;
    T_OK(di_scope_begin(m, NULL, "request", NULL, &s));
    for (int i = 0; i < N; i++) {
        void *v;
        T_OK(di_get(s, names[i], &v));
        CU_ASSERT_PTR_EQUAL(v, names[i]);
        CU_ASSERT_EQUAL(di_key(m, names[i]), i);
    }
    void *v;
    CU_ASSERT_EQUAL(di_get(s, "abcdefgh123", &v), DI_ENOTFOUND);
    CU_ASSERT_EQUAL(di_key(m, "abcdefgh1234"), DI_ENOTFOUND);
    T_OK(di_scope_end(s, 0));
    T_OK(di_container_free(m));
}

/* Names of every length from 1 to 24 bytes, and for each, every variant
 * with one byte changed: the map reads a name's first bytes in pieces whose
 * layout depends on its length (1-3, 4-7, 8 and more), so each byte of each
 * length must count. */
/* name: len bytes of 'a', with byte j (if any) set to 'b'. */
static void variant(char *name, int len, int j)
{
    memset(name, 'a', (size_t)len);
    name[len] = '\0';
    if (j >= 0)
        name[j] = 'b';
}

static void test_names_of_every_length(void)
{
    enum { MAXLEN = 24 };
    di_container *m;
    T_OK(di_container_new(NULL, &m));
    char name[MAXLEN + 1];
    int n = 0;
    for (int len = 1; len <= MAXLEN; len++)
        for (int j = -1; j < len; j++, n++) {
            variant(name, len, j);
            T_OK(di_provide_value(m, name, NULL, NULL));
        }
    T_OK(di_container_seal(m));
    int k = 0;
    for (int len = 1; len <= MAXLEN; len++)
        for (int j = -1; j < len; j++, k++) {
            variant(name, len, j);
            CU_ASSERT_EQUAL(di_key(m, name), k);
            if (j >= 0) { /* a byte none has there */
                name[j] = 'c';
                CU_ASSERT_EQUAL(di_key(m, name), DI_ENOTFOUND);
            }
        }
    CU_ASSERT_EQUAL(k, n);
    T_OK(di_container_free(m));
}

int main(void)
{
    CU_TestInfo tests[] = {
        { "similar names stay distinct", test_similar_names },
        { "names of every length, one byte changed", test_names_of_every_length },
        { "long names while the name map grows", test_long_names_as_map_grows },
        { "provider records across the table's chunks", test_records_across_chunks },
        { "new and free", test_new_and_free },
        { "singletons disposed in reverse on free", test_singletons_reverse_on_free },
        { "freeing the talloc parent tears down too", test_free_through_talloc_parent },
        { "singleton dispose failure on free", test_dispose_failure_on_free },
        { "registration errors say what and where", test_registration_errors },
        { "registry closed after seal", test_after_seal },
        { "override and values", test_override_and_values },
        { "levels", test_levels },
        { "version", test_version },
        CU_TEST_INFO_NULL,
    };
    return t_run("container", tests);
}
