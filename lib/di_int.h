/*
 * di_int.h — libdi's private structures, shared by the files of lib/.
 * Nothing here is part of the ABI.
 */
#ifndef DI_INT_H
#define DI_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <talloc.h>

#include "di.h"

/* Everything declared below stays inside the library: internal calls and
 * data need no PLT or GOT indirection. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

#include "fault.h"

#define DI__ARROW " \xe2\x86\x92 " /* " → " */

/* Thread-locals of a shared library are reached through __tls_get_addr
 * unless declared initial-exec: one %fs-relative load instead of a call.
 * (A library dlopen'ed into a process after start-up may fail to load with
 * it on some systems; libdi is linked, not dlopen'ed.) */
#if defined(__GNUC__) || defined(__clang__)
#define DI__TLS __attribute__((tls_model("initial-exec")))
#else
#define DI__TLS
#endif

/* The functions of the request path start on a cache line of their own.
 * Measured: singleton_key paid a cycle more per call at an unlucky offset
 * (3.4 ns against 2.7), and request_3 moved by 4 % (8 ns) between builds
 * that ran the same instructions (callgrind: 1,371 against 1,374) until
 * begin, resolve, plan, dispose and end were aligned too. */
#if defined(__GNUC__) || defined(__clang__)
#define DI__HOT __attribute__((aligned(64)))
#else
#define DI__HOT
#endif

/* Level index of the root; transients have no level of their own. */
#define DI__ROOT 0
#define DI__TRANSIENT (-1)
#define DI__UNRESOLVED (-2)

/* A provider's key: its index among the container's providers, an int as
 * the public API's keys are (di_key()); -1 where there is none (a missing
 * dependency's target). One type wherever a key is kept or passed. */
typedef int32_t di__key;

/* A count for talloc's array calls, which take an unsigned: a count too
 * large for one becomes UINT_MAX, which talloc refuses (NULL), never a
 * smaller allocation than asked for. */
static inline unsigned di__count(size_t n)
{
    return n > UINT_MAX ? UINT_MAX : (unsigned)n;
}

/* The most dependencies a provider may have for a consumer's plan to
 * build it (seal compiles no plan step for more; the plan's builder keeps
 * that many on its stack); create() takes any number on its own path. */
#define DI__PLAN_DEPS 8
/* The most entries a consumer's plan may have to be compiled: the plan's
 * runner keeps one pointer per entry on its stack. */
#define DI__PLAN_STEPS 256

/* Post-seal errors kept before the oldest is freed. */
#define DI__POSTERR_KEEP 64

/* ---- errors (error.c) ---- */

/* An error is data: its code, what went wrong (reason), where (a
 * dependency path as names, each with an optional note such as its level,
 * or a location of another kind such as a JSON path), and the message
 * made of them. Nothing reads a message back. */
struct di_error {
    int code;
    char *message;      /* "path: reason" (the reason alone without a path) */
    char *path;         /* names joined by " → ", or the location; "" */
    char *reason;
    const char **names; /* the dependency path, nnames of them */
    size_t nnames;
    struct di_error *next;
};

/* A dependency path being reported: names[0..n), notes[i] (or notes NULL)
 * written after a name in brackets, "a (singleton) → b (request)". */
typedef struct di__path {
    const char *const *names;
    const char *const *notes;
    size_t n;
} di__path;

/* A list being collected (seal problems, dispose failures). */
typedef struct di__errlist {
    void *mem;   /* parent of the head (NULL: top-level); the rest hang off the head */
    struct di_error *head, *tail;
    size_t count;
} di__errlist;

/* An error on mem (NULL: top-level) at path p (NULL or empty: none), or
 * else at the location `at` (a JSON path, ...; NULL: none). NULL on
 * ENOMEM. */
struct di_error *di__err_make(void *mem, int code, const di__path *p,
                              const char *at, const char *fmt, va_list ap);
/* The same at a path of one name (NULL: none). */
struct di_error *di__err_vnew(void *mem, int code, const char *name,
                              const char *fmt, va_list ap);
/* Append a problem at a path of one name (NULL: none), at path p, or at a
 * location. Each returns code (or DI_ENOMEM). */
int di__err_add(di__errlist *l, int code, const char *name, const char *fmt,
                ...) DI_PRINTF(4, 5);
int di__err_add_path(di__errlist *l, int code, const di__path *p,
                     const char *fmt, ...) DI_PRINTF(4, 5);
int di__err_add_at(di__errlist *l, int code, const char *at, const char *fmt,
                   ...) DI_PRINTF(4, 5);
/* A copy of e alone (not its list) on mem: ENOMEM gives NULL. */
struct di_error *di__err_copy(void *mem, const struct di_error *e);
/* A static DI_ENOMEM error ("out of memory"), stored where a report could
 * not be allocated; di__err_free() frees any stored error but this one. */
extern struct di_error di__oom;
void di__err_free(struct di_error *e);

/* ---- names (names.c): open-addressing map name -> index ---- */

/* The name of entry index of a map's owner (a provider, a consumer, a
 * lifetime): the map keeps no name pointers, so that a slot is 16 bytes and
 * the map of 100k providers stays within a few megabytes. */
typedef const char *(*di__name_at)(const void *owner, int32_t index);

typedef struct di__names {
    /* prefix: the name's first 7 bytes (zero-padded) and in the top byte
     * its length, 8 for any longer name; never 0 for a name (names are not
     * empty): 0 marks a free slot. Names of at most 7 bytes are decided by
     * it alone; longer ones ask name_at on a full match. */
    struct di__name_slot {
        uint64_t prefix;
        uint32_t hash;
        int32_t index;
    } *slots;
    uint32_t mask;  /* capacity - 1, capacity a power of two */
    uint32_t count;
    di__name_at name_at;
    const void *owner;
} di__names;

uint32_t di__hash(const char *s);
uint32_t di__hash_len(const char *s, size_t len); /* len: strlen(s) */
int di__names_find(const di__names *m, const char *name);         /* index or -1 */
/* the same, with name's length and di__hash_len() known */
int di__names_find_h(const di__names *m, const char *name, size_t len,
                     uint32_t hash);
/* Before first use: where the names of the map's entries are. */
void di__names_init(di__names *m, di__name_at name_at, const void *owner);
int di__names_put(void *mem, di__names *m, const char *name, int index); /* 0/ENOMEM */
int di__names_put_h(void *mem, di__names *m, const char *name, size_t len,
                    uint32_t hash, int index);
/* Start loading the slot where a name of this hash would be: with many
 * names the map outgrows the cache, and the lookup that follows other work
 * then finds it there. */
static inline void di__names_prefetch(const di__names *m, uint32_t hash)
{
    if (m->slots)
        __builtin_prefetch(&m->slots[hash & m->mask]);
}

/* ---- the registry ---- */

typedef struct di__dep {
    const char *name;  /* interned, without '?' and ':type' */
    const char *type;  /* expected type or NULL */
    di__key target;    /* provider key, or -1 when missing (seal) */
    uint32_t hash;     /* di__hash(name), computed once at registration */
    bool optional;
    uint8_t len;       /* strlen(name) (at most DI_NAME_MAX) */
    /* (seal) where its instance is when it exists: < 0, the container's
     * known[-1 - src] (a value, a singleton, the NULL of a missing optional
     * one); else src == target, found through the scopes */
    int32_t src;
} di__dep;

enum { DI__CREATE, DI__VALUE, DI__EXTERN };
#define DI__LT_VALUE UINT32_MAX

typedef struct di__provider {
    /* First, what seal's passes over every provider read (levels, targets,
     * slots): with 100k providers the records are 13 MB, read from memory
     * on each pass, and one cache line a record is half the traffic of
     * two. The smallest, read together by the most passes, lead. */
    uint8_t kind;   /* DI__CREATE, DI__VALUE, DI__EXTERN */
    uint8_t set : 1;   /* a multi-binding: deps are its members (set.c) */
    uint8_t async : 1; /* its create may answer DI_PENDING (seal, async.c) */
    int16_t level;  /* DI__ROOT, a level, DI__TRANSIENT (seal) */
    uint32_t lt;    /* its lifetime: c->lifetimes[lt] */
    uint32_t ndeps;
    uint32_t slot;  /* singletons: its index in c->singles; others: among
                       its level's, or the transients (plan.c) */
    di__dep *deps;
    size_t size;
    void *value;
    const char *name;
    const char *type;
    di_create_fn create;
    di_dispose_fn dispose;
    void *data;
    const di_params *params; /* kinds only: owned by mem */
    const char *kind_name;   /* kinds only */
    /* a talloc context for what a kind's or a set's provider adds (the
     * kind's name and params, the set's members), else NULL; the strings
     * and deps above are in the container's arena (di__arena_alloc) */
    void *mem;
} di__provider;

/* One create (or dispose) call in progress: what di_fail() and dynamic
 * di_get() calls made from inside it need. Lives on the C stack. */
typedef struct di__frame {
    const struct di__frame *up;
    const char *name;
} di__frame;

/* What tracing (trace.c) does for a create, a dispose (s NULL: a
 * singleton's) and a scope's end: the call, timed and recorded. */
typedef struct di__tracer {
    int (*create)(di_scope *s, di__key prov, const di__frame *f,
                  const di_build *b, void **out);
    int (*dispose)(di_container *c, di_scope *s, di__key prov,
                   const di_build *b, void *inst, int outcome);
    void (*end)(di_scope *s, int outcome);
    void (*begin)(di_scope *s);  /* or NULL */
} di__tracer;

/* Where a compiled step finds a dependency, as seen from a scope of the
 * program's level: n >= 0 is step n of the program (earlier than the
 * step: found or built by then), n < 0 the container's known[-1 - n] (a
 * value, a built singleton, or the NULL of a missing optional dependency). */
typedef int32_t di__src;

/* One step of a compiled program (plan.c): an instance of the program's
 * level, found in the scope or built into it, or a transient, built. */
typedef struct di__step {
    di__key prov;
    uint16_t ndeps;   /* build steps: how many sources at srcs[dep0] */
    uint8_t build;    /* 1: build it when missing; 0: an external, which
                         must have been put (else the general path answers) */
    uint8_t fresh;    /* a transient: built every time, never looked up */
    uint32_t dep0;
    const struct di__provider *p; /* its record (records never move) */
} di__step;

/* A compiled program (plan.c): what resolving some targets in a scope of
 * one level builds, in the order the recursive resolver would (depth
 * first, dependencies in declared order), each transient once per use.
 * Compiled when everything it reaches is a value, a singleton, of that
 * level or a transient (none needed by an instance of the level), with at
 * most DI__PLAN_DEPS dependencies a step and DI__PLAN_STEPS steps;
 * immutable once made. */
typedef struct di__prog {
    int16_t level;
    bool fresh;       /* it builds transients: before it builds anything
                         the singletons and values it reads are checked
                         (need), and a failure unwinds them */
    uint32_t nsteps, nout, nneed;
    di__step *steps;
    di__src *srcs;    /* the build steps' dependency sources */
    di__src *out;     /* the targets' sources */
    di__key *need;    /* the values and singletons it reads */
    di__frame *frames;/* per step: its error path (first askers) */
} di__prog;

typedef struct di__consumer {
    void *mem;
    const char *name;
    const char *level_name;
    int16_t level;
    di__dep *deps;
    uint32_t ndeps;
    int32_t *plan;  /* non-transient providers, dependencies first */
    int32_t *plan_up; /* per plan entry: the entry that first asks for it,
                         -1 when the consumer does */
    uint32_t nplan;
    di__frame top;    /* { NULL, name }: the start of its error paths */
    di__frame *frames;/* per plan entry: its path (first askers), so that
                         resolution builds none */
    /* compiled for scopes of the consumer's own level (NULL: not), its
     * frames under top */
    const di__prog *prog;
    bool async;       /* resolved with di_resolve_async() (seal, async.c) */
    void *data;
} di__consumer;

typedef struct di__level {
    const char *name;
    const char *parent_name;
    int16_t parent;      /* -1 for the root */
    uint16_t depth;
    uint64_t ancestors;  /* bit i set: level i is this level or encloses it */
    uint32_t nslots;     /* providers of this level (the root: singletons) */
    /* How a new scope of this level is sized (a di__shape): the most
     * instances and instance bytes a scope of it has held, seeded at seal
     * from the largest consumer plan of the level and raised when a scope
     * ends having held more. A hint, read and raised without a lock. It
     * depends on what scopes resolve, never on how many providers the
     * level has. */
    _Atomic uint32_t shape;
} di__level;

/* A scope block's sizes, packed in 32 bits (a level's is read and raised
 * atomically, a scope's header keeps its own): room for `objs` instances (teardown entries and
 * talloc pool objects), `bytes` of instance memory in the pool, and an
 * instance table of 1 << tbits positions (at least twice objs). */
typedef struct di__shape {
    uint32_t objs, bytes, tbits;
} di__shape;
#define DI__SHAPE_OBJS_MAX 256u         /* beyond: the stack and table grow */
#define DI__SHAPE_BYTES_MAX (32u << 10) /* beyond: talloc allocates outside */
#define DI__TAB_MIN_BITS 2u

/* bits 0-8: objs, 9-12: tbits, 13-31: bytes */
static inline di__shape di__shape_of(uint32_t v)
{
    return (di__shape){ v & 0x1ff, v >> 13, (v >> 9) & 0xf };
}

/* The shape for objs instances of bytes bytes, capped. */
static inline uint32_t di__shape_make(uint32_t objs, uint32_t bytes)
{
    if (objs > DI__SHAPE_OBJS_MAX)
        objs = DI__SHAPE_OBJS_MAX;
    if (bytes > DI__SHAPE_BYTES_MAX)
        bytes = DI__SHAPE_BYTES_MAX;
    uint32_t bits = DI__TAB_MIN_BITS;
    while ((1u << bits) < 2 * objs)
        bits++;
    return objs | bits << 9 | bytes << 13;
}

/* What di_get_key() needs of a provider, packed (compiled at seal). */
typedef struct di__fast {
    int16_t level;
    uint8_t kind;
    uint32_t slot;   /* singletons: index in c->singles */
} di__fast;

/* One instance on a teardown stack. */
typedef struct di__entry {
    di__key prov;
    uint32_t mark;  /* stack height when its build began (scopes only) */
    void *inst;
    void *mem;
} di__entry;

typedef struct di__stack {
    di__entry *e;
    uint32_t n, cap;
} di__stack;

/* Singleton slot. value is NULL until built (DI__NULLINST for NULL). */
typedef struct di__single {
    _Atomic(void *) value;
    /* the rest is guarded by the container lock */
    bool building;
    pthread_t owner;
    uint64_t attempt;        /* bumped when a build starts */
    uint64_t failed_attempt; /* the last attempt that failed */
    int err_code;
    char *err_msg;           /* talloc'd on the container */
} di__single;

extern char di__null_instance;
#define DI__NULLINST ((void *)&di__null_instance)

/* ---- kinds, params, plugins ---- */

typedef struct di__kind {
    void *mem;
    const char *name;
    const char *type;
    const char *lifetime;
    const char *summary;
    const char *const *roles;  /* copies, NULL-terminated */
    di__dep *deps;             /* parsed roles */
    uint32_t nroles;
    di_create_fn create;
    di_dispose_fn dispose;
    di_check_fn check;
    void *data;
    size_t size;
    int32_t plugin;            /* index in c->plugins, or -1 */
    bool async;                /* DI_KIND_ASYNC */
    bool model;                /* its params model is the model of its name */
} di__kind;

enum { DI__PNULL, DI__PBOOL, DI__PNUM, DI__PSTR, DI__PARR, DI__POBJ };

struct di_params {
    int type;
    const char *path;          /* JSON path */
    const char *str;           /* PSTR */
    double num;                /* PNUM */
    int boolean;               /* PBOOL */
    const char **keys;         /* POBJ: member names */
    struct di_params *items;   /* PARR, POBJ */
    size_t n;
    void *filled;              /* the root: its kind's params model's
                                  struct (kind.h), or NULL */
};

typedef struct di__plugin_so di__plugin_so; /* a shared object (plugin.c) */

typedef struct di__plugin_ref {
    di__plugin_so *so;
    const char *name, *version, *path;
    uint16_t abi_major, abi_minor;
} di__plugin_ref;

/* Provider records live in chunks of DI__PCHUNK that never move: the
 * table grows without copying what it holds (one array doubled copied 16 MB
 * over its doublings for 100k providers, into memory the system often had to
 * hand over afresh), and a record's address stays valid while more are
 * registered. The first chunk starts small and doubles up to a full one. */
#define DI__PSHIFT 8
#define DI__PCHUNK (1u << DI__PSHIFT)

struct di__pin; /* live.c */

struct di_container {
    uint64_t serial;   /* unique in the process, never reused (spare scopes) */
    bool sealed;
    bool tearing_down;

    /* ---- registry: filled before seal, read-only after ---- */
    /* what registration keeps of each provider (its name, type and
     * dependencies) in chunks carved in turn, one talloc block for many:
     * a talloc block each cost 96 bytes of header and a malloc */
    struct { char *cur; size_t left, next; } arena;
    /* the provider records, by key: see di__prov() */
    di__provider **pchunk;
    uint32_t nprov, capprov, npchunk;
    /* by key, beside the records: the provider's lifetime (its index in
     * lifetimes), or DI__LT_VALUE for a value; seal's level pass reads
     * this, 4 bytes a provider, instead of the records */
    uint32_t *lifetime_of;
    uint32_t caplifetime;
    uint32_t nsets;                   /* sets declared (set.c) */
    /* the names marked with di_async_provider() and di_async_consumer(),
     * applied by seal (talloc string arrays on c, or NULL) */
    const char **async_marks[2];
    uint32_t nasync_marks[2];
    /* di_async_timeout(): a pending create's limit, by provider (its key
     * found by seal), and the host's timers (di_async_timers) */
    struct di__timeout { const char *name; di__key key; unsigned ms; } *timeouts;
    uint32_t ntimeouts;
    di_timer_ops timers;
    di__consumer *cons;
    uint32_t ncons, capcons;
    di__level *levels;
    uint32_t nlevels;
    di__names pnames, cnames;
    /* the distinct lifetime strings of the providers, so that seal finds
     * the level of each once, not once per provider */
    di__names ltnames;
    const char **lifetimes;
    uint32_t nlt;
    /* kinds and plugins */
    di__kind *kinds;
    uint32_t nkinds;
    di__plugin_ref *plugins;
    uint32_t nplugins;
    const char **plugin_dirs;
    uint32_t ndirs;
    /* below which a configuration may add plugin directories, or NULL:
     * none (di_plugin_allow_config_dirs) */
    const char *config_dirs_root;
    /* tracing (trace.c): set before seal, with the tracer that scope.c and
     * resolve.c call instead of the plain create and dispose when the scope
     * (or, for a singleton, the container) traces: the untraced path pays
     * one test */
    const struct di__tracer *tracer;
    /* tracing's own (trace.c), when metrics (metrics.c, the outer tracer
     * then) call it; NULL when tracing is off */
    const struct di__tracer *trace_tracer;
    struct di__metrics *metrics;  /* metrics.c, or NULL: off */
    struct di__models *models;    /* model.c, or NULL: none */
    bool trace_on;
    di_trace_fn trace_fn;
    void *trace_data;

    /* ---- compiled by seal ---- */
    di__fast *fast;                   /* by key */
    /* by key: what a lookup with no create running may return at once — a
     * value (seal) or a built singleton (published with release order);
     * NULL otherwise, and for a value or singleton that is NULL (those take
     * the slow path). One more entry, always DI__NULLINST, is the source of
     * a missing optional dependency. */
    _Atomic(void *) *known;
    di__single *singles;              /* each singleton's state (runtime) */
    uint32_t nsingles;
    uint32_t ntransients;             /* transients (their slots) */
    /* plan.c: the programs that build a provider asked for by key or name
     * with no create running (di_get), made at its first such build: by
     * level (index 0: the transients), an array by slot, each NULL until
     * made, then a program or di__prog_none. Made under lock, on progmem
     * (seal's), read without the lock. */
    _Atomic(_Atomic(const di__prog *) *) gets[DI_LEVEL_MAX];
    void *progmem;

    /* ---- runtime, after seal ---- */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    di__stack root;                   /* singleton teardown stack (locked) */
    atomic_int builders;              /* singleton builds/disposes running */
    /* scope.c: the root scopes, one for each thread that built a singleton
     * (what a singleton's create gets as b->scope); freed with the
     * container, settled before its singletons are disposed. Locked. */
    struct di__root { pthread_t thread; di_scope *s; } *roots;
    uint32_t nroots;
    /* what higher layers registered for the container's end: scope.c, when
     * it makes the first root scope, the disposes of what the root scopes
     * and the singletons hold; plugin.c, when a plugin is first used, the
     * release of the plugins (after all memory that may hold their code) */
    int (*teardown)(di_container *c, di__errlist *fails);
    void (*release_plugins)(di_container *c);
    /* live.c, when the container becomes a generation of a di_live: let
     * go of the pin a scope begun by di_live_begin holds (scope.c calls it
     * when such a scope is freed) */
    void (*unpin)(struct di__pin *pin);

    /* ---- diagnostics ---- */
    di__errlist problems;             /* registration problems kept for seal */
    struct di_error *reg_error;       /* the last registration/seal error */
    _Atomic(struct di_error *) last;  /* what di_container_error() returns */
    struct di_error *ring[DI__POSTERR_KEEP]; /* post-seal reports (locked) */
    uint32_t ringpos;
};

/* Is level outer level inner itself or one that encloses it? (A scope of
 * level inner can see what lives at outer; an instance at inner may keep
 * one from outer.) */
static inline bool di__encloses(const di_container *c, int outer, int inner)
{
    return (c->levels[inner].ancestors >> outer) & 1;
}

/* The number of providers, as a key: registration keeps it below
 * INT32_MAX. */
static inline di__key di__nkeys(const di_container *c)
{
    return (di__key)c->nprov;
}

/* Provider i's record (0 <= i < c->nprov). */
static inline di__provider *di__prov(const di_container *c, di__key i)
{
    return &c->pchunk[(uint32_t)i >> DI__PSHIFT][(uint32_t)i & (DI__PCHUNK - 1)];
}

typedef struct di__buildctx {
    struct di__buildctx *prev;  /* the enclosing create on this scope */
    const di__frame *frame;     /* path to the instance being built */
    di_scope *home;             /* where its transients go (NULL: root) */
    di__stack *pending;         /* root builds: transients built for it */
    char *msg;                  /* di_fail() message (talloc, top-level), or
                                   NULL; whoever set up the context frees it */
    const char *why, *at;       /* its reason, and where in the params
                                   (di_fail_at; else NULL): msg's children */
    /* the pending handle the create took (async.c), or DI__PEND_OOM when
     * taking one ran out of memory, or NULL */
    struct di_pending *pending_create;
} di__buildctx;
#define DI__MEM_KEPT 3
extern struct di_pending di__pend_oom;
#define DI__PEND_OOM (&di__pend_oom)


struct di_scope {
    di_container *c;
    /* copied from the container at begin: the key fast path's short chain */
    const di__fast *fast;
    _Atomic(void *) *known;
    /* the number of keys while the fast path may answer: the container's
     * providers, or 0 while a create runs here and once the scope is
     * settled — one comparison stands for all three checks */
    uint32_t open_keys;
    int16_t level;
    uint8_t ended;               /* DI__OPEN, DI__SETTLED or DI__ENDED */
    uint8_t spare_ok;            /* top-level: its block may be kept for reuse */
    di_scope *parent;
    di_scope *children;          /* live child scopes (non-root parents) */
    di_scope *sibling;
    uint32_t busy;               /* disposes running in this scope, and
                                    creates running for a child scope that
                                    build into this one */
    uint8_t tracing;             /* its container traces (trace.c) */
    uint8_t disposes;            /* an instance with a dispose was pushed on
                                    its stack: the end must walk it */
    uint8_t tshift;              /* its table: 32 - log2(positions) */
    uint8_t top;                 /* begun with no parent scope and no
                                    talloc parent */
    di__buildctx *cur;           /* innermost create running for this scope
                                    (non-NULL: the scope is busy too) */
    struct di_error *err;
    di__stack stack;             /* starts in the block, after the table */
    /* the instances of this scope's level held here (externals put
     * included), by provider key: open addressing over their positions on
     * the stack (+1; 0: free), at most half full (di__scope_find). Filled
     * when something is looked up (a request that only builds never
     * touches it), and at once while the scope has child scopes, which may
     * read it from their threads (scope.c). */
    uint32_t *tab;
    uint32_t tmask;              /* positions - 1 */
    uint32_t indexed;            /* the stack's entries [0, indexed) are in
                                    tab; 0: tab holds nothing (not even
                                    zeroes yet) */
    uint32_t bytes;              /* instance bytes created here (the
                                    level's shape learns from it) */
    uint32_t shape;              /* what its block was made for (di__shape) */
    struct di__tlog *trace;      /* its trace, made at the first record */
    di_scope *asker;             /* a root scope, while it builds a
                                    singleton: the scope that asked for it
                                    (its trace records the creates, it is
                                    kept busy) */
    struct di__pin *pin;         /* begun by di_live_begin: the pin it holds
                                    on its generation (live.c) */
    struct di__async *async;     /* asynchronous resolutions waiting here
                                    and creates pending here (async.c),
                                    made at the first; NULL before */
};

/* Asynchronous resolution (async.c) on a scope: made at its first
 * asynchronous resolution, or when a create homed in it is left pending.
 * The lower files (resolve.c, scope.c) reach async.c through ops, which
 * async.c sets. */
struct di__job;
struct di__async_ops {
    /* resolve.c: the create of provider pi (for scope s, into home, its
     * frame f, its memory *mem) took a pending handle (bc->pending_create)
     * or tried to, and returned rc. Returns DI_PENDING when it was left pending, else
     * what to go on with as the create's result: 0 with *inst, or a
     * failure (its message, if any, in bc->msg), or DI__MEM_KEPT: failed
     * for want of memory, mem kept by the handle (detached). */
    int (*created)(di_scope *s, di_scope *home, di__key pi,
                   const di__frame *f, void *mem, di__buildctx *bc, int rc,
                   void **inst);
    /* scope.c: s is settling (it is marked settled and busy): call back the
     * resolutions waiting in it with DI_EABANDONED and cancel the creates
     * pending in it. */
    void (*abandon)(di_scope *s);
    /* scope.c: the dispose of provider pi's instance in s, under an
     * asynchronous settle, took a pending handle (bc->pending_create) or
     * tried to, and returned r: DI_PENDING when it was left pending, else
     * its result (a failure's message in bc->msg). */
    int (*disposed)(di_scope *s, di__key pi, di__buildctx *bc, int r);
};
struct di__async {
    const struct di__async_ops *ops;
    struct di__job *jobs;          /* resolutions waiting in this scope */
    struct di_pending *pendings;   /* creates pending whose instance lives
                                      here */
    struct di__job *running;       /* the resolution running on this scope
                                      now (its creates may be left pending) */
    const struct di__provider *starting; /* the plan entry it is building */
    /* an asynchronous settle (di_scope_settle_async) in progress */
    bool settling, later;          /* later: it answered DI_PENDING */
    di__buildctx *disposing;       /* the dispose context running now */
    int outcome, settle_rc;
    uint32_t held;                 /* the stack's height when it began */
    di__errlist fails;
    void (*settled)(di_scope *s, int rc, void *arg);
    void *settled_arg;
};

/* ---- hot-path helpers ---- */

/* Where key k's search starts in a table of 32 - shift bits (Fibonacci
 * hashing: consecutive keys, as a level's providers mostly are, spread). */
static inline uint32_t di__tab_home(di__key k, uint8_t shift)
{
    return ((uint32_t)k * 0x9E3779B1u) >> shift;
}

/* scope.c: put the entries of s's stack that are not in its table yet
 * there (all of them, afresh, when the stack shrank). */
void di__tab_catch_up(di_scope *s);

/* Provider key k's instance held in scope s (DI__NULLINST for a NULL one),
 * or NULL when s holds none. s's table is caught up first: from s's own
 * thread, or with nothing to do (a scope with child scopes is kept caught
 * up), so the cast is safe. */
static inline void *di__tab_find(const di_scope *s, di__key k);
static inline void *di__scope_find(const di_scope *s, di__key k)
{
    if (s->indexed != s->stack.n)
        di__tab_catch_up((di_scope *)s);
    return s->indexed ? di__tab_find(s, k) : NULL;
}

/* The same in a table caught up and not empty (s->indexed == s->stack.n,
 * not 0). */
static inline void *di__tab_find(const di_scope *s, di__key k)
{
    uint32_t h = di__tab_home(k, s->tshift);
    for (uint32_t i; (i = s->tab[h]) != 0; h = (h + 1) & s->tmask) {
        const di__entry *e = &s->stack.e[i - 1];
        if (e->prov == k)
            return e->inst;
    }
    return NULL;
}

/* The existing instance of provider t as seen from scope s: a built
 * singleton, or the one held by the nearest enclosing scope of t's level; NULL
 * when it must go through ensure() (not built yet, a value, a transient, an
 * external not put). DI__NULLINST stands for a NULL instance. */
static inline void *di__existing(const di_scope *s, int32_t t)
{
    di__fast f = s->fast[t];
    if (f.kind == DI__VALUE || f.level < 0)
        return NULL;
    if (f.level == DI__ROOT)
        return atomic_load_explicit(&s->known[t], memory_order_acquire);
    for (const di_scope *h = s; h; h = h->parent)
        if (h->level == f.level)
            return di__scope_find(h, t);
    return NULL;
}

/* ---- internal entry points between files ---- */

/* error reporting after seal, thread-safe (container.c) */
void di__container_report(di_container *c, struct di_error *e);
/* model.c: every model's table, checked at seal (problems added to errs);
 * 0 or DI_ENOMEM. */
int di__models_check(const di_container *c, di__errlist *errs);
/* model.c: check the table of d (not registered) as seal would, now,
 * naming it name; problems added to errs. Returns 0 or DI_ENOMEM. */
int di__model_check_desc(const di_container *c, const char *name,
                         const di_model_desc *d, di__errlist *errs);
/* model.c: register d under name (di_model() with another name). */
int di__model_add(di_container *c, const char *name, const di_model_desc *d);
/* model.c: di_model_parse() before seal too (for models checked already:
 * a kind's params model). */
int di__model_fill(const di_container *c, const char *model,
                   const char *json, size_t len, const char *root, void *mem,
                   void **out, di_problem **problems);
/* model.c: model's fields (*n of them; copies: names, defaults and
 * values are the model's), or NULL when there is no such model. */
const di_field *di__model_fields(const di_container *c, const char *model,
                                 size_t *n);
/* model.c: model is named by something (by: "POST /notes → body.note_in");
 * seal checks it exists. 0 or DI_ENOMEM. */
int di__model_use(di_container *c, const char *model, const char *by);
/* model.c: a JSON object of model's fields from strings got with get
 * (query arguments, path parameters), typed by each field's kind where the
 * string allows; *out on mem. 0, DI_ENOTFOUND, DI_ENOMEM. */
int di__model_strings(const di_container *c, const char *model,
                      const char *(*get)(void *ctx, const char *name),
                      void *ctx, void *mem, char **out);
/* metrics.c: size the counters for the sealed graph; 0 or DI_ENOMEM. */
int di__metrics_seal(di_container *c);
/* metrics.c: an asynchronous create (or a dispose: dispose) of provider
 * prov failed after it answered DI_PENDING (async.c). Nothing when
 * metrics are off. */
void di__metrics_failed(di_container *c, di__key prov, bool dispose);

/* Report a record to the log hook (log.c): fields as given (NULLs become
 * ""), the message formatted and made one line. */
void di__log(const di_log_record *fields, const char *fmt, ...)
    DI_PRINTF(2, 3);
void di__container_report_fmt(di_container *c, int code, const char *fmt, ...)
    DI_PRINTF(3, 4);
void di__reg_error(di_container *c, int code, const char *fmt, ...)
    DI_PRINTF(3, 4);
/* The same, at a location (a JSON path: "providers.db.use"). */
void di__reg_error_at(di_container *c, int code, const char *at,
                      const char *fmt, ...) DI_PRINTF(4, 5);
void di__reg_error_list(di_container *c, struct di_error *head);
/* rc, reported as "fn: out of memory" when it is DI_ENOMEM (the message
 * falls back to the static one when even that cannot be allocated). */
int di__nomem(di_container *c, const char *fn, int rc);
/* Registration after seal: report "fn('name'): the container is sealed; ..."
 * (name may be NULL) and return true; false while registration is open. */
bool di__closed(di_container *c, const char *fn, const char *name);

/* provider.c: n bytes (8-aligned) that live as long as c, from its arena;
 * NULL when out of memory. Never freed alone: a replaced provider's stay
 * until the container goes. */
void *di__arena_alloc(di_container *c, size_t n);
/* parse "?name:type" specs into deps on mem; 0, DI_EINVAL or DI_ENOMEM */
int di__parse_dep(void *mem, const char *spec, di__dep *d);
int di__parse_deps(di_container *c, void *mem, const char *owner,
                   const char *const *specs, di__dep **out, uint32_t *n);
/* a valid provider / level name? 1 to DI_NAME_MAX bytes of UTF-8 without
 * control characters; a provider's (provider: true) does not start with
 * '?' and has no ':' */
bool di__valid_name(const char *s, bool provider);
/* the same check, and the name's length: 0 when it is not valid */
size_t di__name_len(const char *s, bool provider);
int di__level_find(const di_container *c, const char *name);


/* Per-thread spare blocks (spare.c). The block a request frees at its end —
 * a top-level scope, an HTTP request — is kept instead, emptied of its
 * talloc children, as this thread's spare of its kind, and taken by the
 * next one begun on this thread: the request path then costs no malloc. One
 * spare per kind and thread, with its owner's tag (a scope's container
 * serial: never reused); freed when the thread exits, by a take with
 * another tag, or by a drop with its tag. Debug builds keep none: a reused
 * block would hide a use after the end from the sanitizers. */
enum { DI__SPARE_SCOPE, DI__SPARE_HTTP, DI__SPARE_KINDS };
/* Free this thread's spare of the kind if it has that tag. */
void di__spare_drop(int kind, uint64_t tag);
#ifndef DI_DEBUG
typedef struct di__spares {
    void *block[DI__SPARE_KINDS];
    uint64_t tag[DI__SPARE_KINDS];
    bool registered; /* the thread-exit destructor is armed */
    /* scope.c: the pooled scope block this thread made or took and has
     * not got back (its one block worth keeping as the spare), or NULL */
    const void *lent;
} di__spares;
extern _Thread_local di__spares di__spare DI__TLS;
void di__spare_free(int kind);
/* Keep block as this thread's spare of the kind (its children are freed);
 * false when the thread has one already: free it. */
bool di__spare_keep(int kind, void *block, uint64_t tag);
/* This thread's spare of the kind if it has the tag, else NULL (a spare
 * with another tag is freed). */
static inline void *di__spare_take(int kind, uint64_t tag)
{
    void *b = di__spare.block[kind];
    if (b && di__spare.tag[kind] != tag) {
        di__spare_free(kind);
        return NULL;
    }
    di__spare.block[kind] = NULL;
    return b;
}
#else
static inline bool di__spare_keep(int kind, void *block, uint64_t tag)
{
    (void)kind;
    (void)block;
    (void)tag;
    return false;
}
static inline void *di__spare_take(int kind, uint64_t tag)
{
    (void)kind;
    (void)tag;
    return NULL;
}
#endif



/* The container whose create or dispose runs on this thread, if any: a
 * create or dispose must not free it (container.c refuses with DI_EBUSY). */
extern _Thread_local di_container *di__calling DI__TLS;

/* resolution (resolve.c) */
int di__resolve_dep(di_scope *s, const di__dep *d, const di__frame *up,
                    void **out);
/* Build what program pg's targets need in scope s of its level (no create
 * is running on s), and put the targets into out. 0, a failure (with its
 * path from pg->frames; the transients it built disposed and freed), or
 * DI__FALLBACK when the general path must do it (a singleton's first use,
 * an external not put, a NULL instance): what was built so far stays
 * cached, and a program that builds transients falls back before it
 * builds anything. */
#define DI__FALLBACK 1
int di__resolve_plan(di_scope *s, const di__prog *pg, void **out);
/* The same for an asynchronous walk (async.c): blocked flags the plan's
 * entries pending (in, and out for what it left pending); DI_PENDING when
 * one is. */
int di__walk_plan(di_scope *s, const di__prog *pg, void **out,
                  uint8_t *blocked);

/* plan.c: compile the program that resolves targets (n provider keys; -1:
 * a missing optional one) in scopes of level l, on mem; its paths start
 * under top (NULL: with the targets' names); transients: whether it may
 * build transients; scratch: what compiling uses, kept from one program to
 * the next (di__plan_scratch_new(), freed with its parent), or NULL (made
 * for this one). *out is NULL when the graph does not fit one (see
 * di__prog). 0, or DI_ENOMEM. */
typedef struct di__plan_scratch di__plan_scratch;
di__plan_scratch *di__plan_scratch_new(void *mem);
int di__prog_compile(const di_container *c, void *mem, int16_t l,
                     const di__key *targets, uint32_t n, const di__frame *top,
                     bool transients, di__plan_scratch *scratch,
                     const di__prog **out);
/* plan.c: the program that builds provider key (a transient, or a create
 * of level l) into a scope of level l, made at the first call; NULL when
 * it has none there (the general path builds it). Thread-safe. */
const di__prog *di__get_prog(di_container *c, di__key key, int16_t l);
/* debug builds: the process-wide set of open scopes (stale.c) */
#ifdef DI_DEBUG
int di__open_add(const di_scope *s);
void di__open_del(const di_scope *s);
bool di__open_has(const di_scope *s);
size_t di__open_count(const di_container *c);
#endif

/* A scope's state (di_scope.ended): open; settled (every dispose ran, the
 * memory is still there: it may be read, not resolved from); ended (freed,
 * or kept as a spare block). */
enum { DI__OPEN = 0, DI__SETTLED = 1, DI__ENDED = 2 };


/* kinds (kind.c) */
int di__kind_find(const di_container *c, const char *name);
/* has_flags: d has the flags field (a plugin built for ABI 1.1 or later,
 * or the C API) */
int di__kind_add(di_container *c, const di_kind_desc *d, int32_t plugin,
                 const char *prefix, unsigned abi_minor, char **why);
/* kind.c: register the params models of kinds [from, c->nkinds), checked
 * by di__kind_add(). Returns 0 or DI_ENOMEM. */
int di__kind_models(di_container *c, const di_kind_desc *const *descs,
                    uint32_t from);
/* provider.c: register (or override) a provider made from a kind; params
 * move to the provider on success. */
/* error.c: "a → b → c" for a frame chain (talloc, top-level), or NULL */
char *di__path_str(const di__frame *f);
/* The frames from the root to f as a path, its names on mem (NULL when out
 * of memory). */
di__path *di__frame_path(void *mem, const di__frame *f);
/* consumer.c: the path by which consumer key's plan first asks for the
 * provider named provider ("GET /notes → repo → session"; talloc,
 * top-level), or NULL when its plan has no such entry (a transient, an
 * instance got with di_get()) */
char *di__consumer_path(const di_container *c, int key, const char *provider);

/* provider.c: register the set `name` as a provider (set.c) */
int di__provide_set(di_container *c, const char *name, di_create_fn create);
int di__provide_kind(di_container *c, const di_provider_desc *d, bool override,
                     di_params *params, const char *kind);
/* params (params.c): JSON text -> tree on mem, paths under base. On a syntax
 * error returns DI_ECONFIG with *err = "line:col: ..." on mem. */
int di__params_parse(void *mem, const char *json, const char *base,
                     di_params **out, char **err);
/* plugins (plugin.c): may a configuration add dir as a plugin directory
 * (it lies below the root the program allowed)? */
bool di__plugin_dir_allowed(const di_container *c, const char *dir);
/* plugins (plugin.c): di_plugin_load() for a configuration's "plugins": a
 * path must lead into a plugin directory too. */
int di__plugin_load_config(di_container *c, const char *what);
/* graph (seal.c): run the seal checks without sealing; problems on mem */
int di__seal_check(di_container *c, void *mem, struct di_error **problems);

struct cJSON;
/* JSON syntax checking with positions (json.c). Checks text[0..len) is one
 * JSON value, nesting at most max_depth, no duplicate keys. Returns 0, or
 * DI_ECONFIG with *err = "line:col: what was expected, got what" on mem
 * (DI_ENOMEM if that fails). */
int di__json_check(void *mem, const char *text, size_t len, unsigned max_depth,
                   char **err);
/* di__json_check(), then the tree cJSON makes of it (*out, the caller
 * deletes it): 0, DI_ECONFIG with *err, or DI_ENOMEM. A leading UTF-8 byte
 * order mark is skipped, as if it were not there. */
int di__json_parse(void *mem, const char *text, size_t len, unsigned max_depth,
                   char **err, struct cJSON **out);
/* The length (1-4) of the well-formed UTF-8 character at s (avail bytes
 * there), or 0: a stray byte, an overlong form, a surrogate, past U+10FFFF */
size_t di__utf8_len(const unsigned char *s, size_t avail);
/* Attach item to parent (an object when key is given, else an array) and
 * return it; NULL when item is NULL or cannot be attached (then it is
 * deleted). A builder stops at the first NULL: its output then fails with
 * DI_ENOMEM, and deleting the root frees everything attached. */
struct cJSON *di__json_add(struct cJSON *parent, const char *key,
                           struct cJSON *item);
/* base.key, or base["key"] when key is not an identifier (mem) */
char *di__json_path(void *mem, const char *base, const char *key);
/* json.c: where the value at path (di__json_path()'s form) starts in text
 * (checked JSON), or the deepest part of the path that is there, as the
 * syntax errors count lines and columns. false: not even its first member
 * is there. */
bool di__json_locate(const char *text, size_t len, const char *path,
                     unsigned *line, unsigned *col);
/* "did you mean 'x'?" among NULL-terminated candidates, or "" (mem) */
const char *di__suggest(void *mem, const char *word, const char *const *cands);



#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif /* DI_INT_H */
