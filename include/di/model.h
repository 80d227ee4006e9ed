/*
 * di/model.h — models: a C struct described once, filled from JSON with
 * every problem found, each with its location.
 *
 * A model is a table of the struct's fields: the JSON name, where the
 * member is (offsetof, sizeof), its kind and its constraints. Registered
 * with the container, it is checked at seal (a member past the struct's
 * end, a size that does not fit the kind, an unknown nested model, a
 * default of the wrong type are seal errors with their place:
 * "model note_in: field 'title': ..."). Parsing fills a struct allocated
 * on the caller's talloc context and collects every problem, not only the
 * first, FastAPI's way ("body.items[3].title: at most 200 characters").
 *
 *     typedef struct note_in { const char *title, *body; int64_t stars;
 *                              const char **tags; size_t ntags; } note_in;
 *     static const di_field note_fields[] = {
 *         { "title", DI_F_STRING, DI_AT(note_in, title), .required = 1,
 *           .min_len = 1, .max_len = 200 },
 *         { "body", DI_F_STRING, DI_AT(note_in, body), .def = "\"\"" },
 *         { "stars", DI_F_INT, DI_AT(note_in, stars), .ranged = 1,
 *           .min = 0, .max = 5 },
 *         { "tags", DI_F_ARRAY, DI_AT(note_in, tags), .items = DI_F_STRING,
 *           .count_at = offsetof(note_in, ntags), .max_len = 8 },
 *         { .name = NULL } };
 *     di_model(c, &(di_model_desc){ "note_in", sizeof(note_in), note_fields });
 *     ... seal ...
 *     note_in *in;
 *     di_problem *p;
 *     if (di_model_parse(c, "note_in", text, len, "body", mem, (void **)&in,
 *                        &p) == DI_EINVALID)
 *         for (; p; p = p->next)
 *             printf("%s: %s\n", p->loc, p->msg);
 *
 * The text must be one JSON value in UTF-8 with nothing after it (else one
 * problem, "json_invalid", with the line and column). The members, by
 * kind: DI_F_STRING a const char * (lengths count characters), DI_F_INT an int64_t (an integral
 * JSON number), DI_F_NUMBER a double, DI_F_BOOL a bool, DI_F_MODEL a
 * pointer to the nested model's struct (NULL when optional and absent),
 * DI_F_ARRAY a pointer to the items in a row (pointers for strings, the
 * structs themselves for models) with a size_t count at count_at.
 * Optional members that are absent get their default (the JSON text in
 * .def), else zero. Members the model does not name are ignored.
 * Everything parsed lives on the context given to di_model_parse().
 */
#ifndef DI_MODEL_H
#define DI_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"
#include "container.h"

DI_BEGIN_DECLS

typedef enum di_field_kind {
    DI_F_STRING = 1,
    DI_F_INT,
    DI_F_NUMBER,
    DI_F_BOOL,
    DI_F_MODEL,
    DI_F_ARRAY,
} di_field_kind;

/* offsetof and sizeof of a member, for a di_field's at and size. */
#define DI_AT(type, member) offsetof(type, member), sizeof(((type *)0)->member)

/* A field. Unset constraints are zero: none. */
typedef struct di_field {
    const char *name;       /* the JSON member's name; NULL ends a table */
    di_field_kind kind;
    size_t at, size;        /* the C member: DI_AT(type, member) */
    int required;           /* non-zero: absent is a problem */
    const char *def;        /* optional and absent: this JSON text, or NULL:
                               zero */
    int ranged;             /* DI_F_INT: min..max holds when non-zero */
    int64_t min, max;
    size_t min_len, max_len;/* DI_F_STRING: characters; DI_F_ARRAY: items
                               (max_len 0: no upper limit) */
    const char *const *one_of; /* DI_F_STRING: the values allowed,
                                  NULL-terminated */
    const char *model;      /* DI_F_MODEL, or DI_F_ARRAY of DI_F_MODEL: the
                               model's name */
    di_field_kind items;    /* DI_F_ARRAY: the items' kind (not an array) */
    size_t count_at;        /* DI_F_ARRAY: offsetof the size_t count */
} di_field;

/* A model. The table and its strings are copied. */
typedef struct di_model_desc {
    const char *name;
    size_t size;            /* sizeof the struct */
    const di_field *fields; /* ended by a field with a NULL name */
} di_model_desc;

/*
 * di_model — register model d (before seal; checked at seal).
 * Returns 0; DI_EINVAL (NULL, no name, no fields, a malformed name);
 * DI_EEXIST (a model of that name); DI_ESEALED; DI_ENOMEM.
 */
DI_EXPORT int di_model(di_container *c, const di_model_desc *d);

/* One problem found by di_model_parse(). Owned by the parse's context. */
typedef struct di_problem {
    const char *loc;        /* "body.items[3].title" */
    const char *loc_json;   /* the same as a JSON array, FastAPI's way:
                               ["body","items",3,"title"] */
    const char *msg;        /* "at most 200 characters" */
    const char *type;       /* a tag: "missing", "string_type",
                               "string_too_short", "string_too_long",
                               "enum", "int_type",
                               "int_range", "number_type", "bool_type",
                               "model_type", "array_type", "array_too_short",
                               "array_too_long", "json_invalid" */
    struct di_problem *next;
} di_problem;

/*
 * di_model_parse — fill a new struct of model from JSON text (len bytes).
 * root: the first part of each problem's location ("body", "query"), or
 * NULL for none. mem: talloc context of the struct and of everything in it
 * (and of the problems).
 * Returns 0 with *out set; DI_EINVALID (error.h: the input's fault, the
 * caller answers 422) with every problem in *problems
 * (in document order) and *out NULL; DI_ENOTFOUND (no such model);
 * DI_ENOTSEALED; DI_EINVAL (NULL); DI_ENOMEM.
 */
DI_EXPORT int di_model_parse(const di_container *c, const char *model,
                             const char *json, size_t len, const char *root,
                             void *mem, void **out, di_problem **problems);

/* A list of structs of one model, from a JSON array (a "body:<model>[]"
 * input): items in a row, n of them. */
typedef struct di_model_list {
    void *items;
    size_t n;
} di_model_list;

/*
 * di_model_parse_list — di_model_parse() for a JSON array of objects of
 * model: *out is a di_model_list on mem (its items on it too); problems
 * are located by index ("body[3].title", loc ["body",3,"title"]).
 * Returns as di_model_parse().
 */
DI_EXPORT int di_model_parse_list(const di_container *c, const char *model,
                                  const char *json, size_t len,
                                  const char *root, void *mem,
                                  di_model_list **out,
                                  di_problem **problems);

/*
 * di_problems_json — the problems as FastAPI answers them (422):
 * {"detail":[{"loc":[...],"msg":"...","type":"..."}, ...]}, allocated on
 * mem. Returns the text, or NULL when out of memory.
 */
DI_EXPORT char *di_problems_json(const di_problem *problems, void *mem);

DI_END_DECLS

#endif /* DI_MODEL_H */
