/*
 * export.c — a command-line job on the notes service's providers: export a
 * user's notes to a JSON file.
 *
 *   notes-export --user TOKEN --out FILE [--config FILE] [--plugins DIR]
 *
 * Same config, same kinds and repository as the HTTP server, another scope
 * tree: a "job" scope (the job's arguments, put by the program, and the
 * output file) with one "request" scope per page of notes nested inside it,
 * each its own read transaction. The output is written to FILE.tmp and
 * renamed to FILE by the exporter's dispose only when the job scope ends
 * with success; a failed job leaves no file behind.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>
#include <unistd.h>

#include "notes.h"

typedef struct job_args { const char *token, *out; } job_args;

typedef struct exporter {
    FILE *f;
    char *tmp;
    const char *out;
    size_t count;
} exporter;

static int exporter_create(const di_build *b, void **out)
{
    const job_args *a = b->deps[0];
    exporter *e = b->mem;
    e->out = a->out;
    e->tmp = talloc_asprintf(b->mem, "%s.tmp", a->out);
    e->f = e->tmp ? fopen(e->tmp, "w") : NULL;
    if (!e->f)
        return di_fail(b, DI_EPROVIDER, "cannot write %s", e->tmp);
    fputs("[", e->f);
    *out = e;
    return 0;
}

/* Keep the file only if the whole job succeeded. */
static int exporter_dispose(const di_build *b, void *inst, int outcome)
{
    exporter *e = inst;
    if (outcome == 0)
        fputs("\n]\n", e->f);
    int closed = fclose(e->f);
    if (outcome != 0) {
        unlink(e->tmp);
        return 0;
    }
    if (closed != 0 || rename(e->tmp, e->out) != 0) {
        unlink(e->tmp);
        return di_fail(b, DI_EPROVIDER, "cannot write %s", e->out);
    }
    return 0;
}

static int owner_create(const di_build *b, void **out)
{
    const job_args *a = b->deps[0];
    notes_repo *repo = b->deps[1];
    user *u = b->mem;
    int rc = repo->user_by_token(repo, b->mem, a->token, u);
    if (rc == DI_ENOTFOUND)
        return di_fail(b, rc, "no user has the token '%s'", a->token);
    if (rc)
        return di_fail(b, rc, "%s", repo->err);
    *out = u;
    return 0;
}

static int register_job(di_container *c)
{
    static const char *const exp_deps[] = { "job_args", NULL };
    static const char *const owner_deps[] = { "job_args", "repo:notes_repo",
                                              NULL };
    int rc = di_level(c, "job", "singleton");
    if (!rc) /* requests of the job run inside it */
        rc = di_level(c, "request", "job");
    if (!rc)
        rc = di_provide_external(c, "job_args", NULL, "job");
    if (!rc)
        rc = di_provide(c, &(di_provider_desc){
            .name = "exporter", .lifetime = "job", .deps = exp_deps,
            .create = exporter_create, .dispose = exporter_dispose,
            .size = sizeof(exporter) });
    if (!rc)
        rc = di_provide(c, &(di_provider_desc){
            .name = "owner", .type = "user", .lifetime = "request",
            .deps = owner_deps, .create = owner_create,
            .size = sizeof(user) });
    return rc;
}

/* One page in its own request scope; *n: notes written. */
static int export_page(di_scope *job, exporter *e, int64_t offset, size_t *n)
{
    di_scope *s;
    int rc = di_scope_begin(di_scope_container(job), job, "request", NULL, &s);
    if (rc)
        return rc;
    notes_repo *repo;
    user *u;
    note *items;
    int64_t total;
    void *mem = talloc_new(NULL);
    rc = di_get(s, "repo", (void **)&repo);
    if (!rc)
        rc = di_get(s, "owner", (void **)&u);
    if (rc)
        fprintf(stderr, "notes-export: %s\n",
                di_error_message(di_scope_error(s)));
    else if ((rc = repo->list(repo, mem, u->id, offset, 50, &items, n,
                              &total)))
        fprintf(stderr, "notes-export: %s\n", repo->err);
    for (size_t i = 0; !rc && i < *n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "id", (double)items[i].id);
        cJSON_AddStringToObject(o, "title", items[i].title);
        cJSON_AddStringToObject(o, "body", items[i].body);
        cJSON_AddStringToObject(o, "created_at", items[i].created_at);
        char *text = cJSON_PrintUnformatted(o);
        fprintf(e->f, "%s\n  %s", e->count++ ? "," : "", text ? text : "{}");
        cJSON_free(text);
        cJSON_Delete(o);
    }
    talloc_free(mem);
    int end = di_scope_end(s, rc);
    return rc ? rc : end;
}

int main(int argc, char **argv)
{
    notes_config cfg = { .file = NOTES_DIR "/notes.json", .quiet = 1 };
    const char *plugins = NOTES_PLUGIN_DIR;
    job_args args = { 0 };
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--config") == 0)
            cfg.file = argv[i + 1];
        else if (strcmp(argv[i], "--plugins") == 0)
            plugins = argv[i + 1];
        else if (strcmp(argv[i], "--user") == 0)
            args.token = argv[i + 1];
        else if (strcmp(argv[i], "--out") == 0)
            args.out = argv[i + 1];
    }
    if (!args.token || !args.out || argc % 2 == 0) {
        fprintf(stderr, "usage: notes-export --user TOKEN --out FILE "
                "[--config FILE] [--plugins DIR]\n");
        return 2;
    }
    di_container *c;
    int rc = di_container_new(NULL, &c);
    if (!rc)
        rc = notes_register_kinds(c);
    if (!rc)
        rc = notes_register_logger(c, &cfg);
    if (!rc)
        rc = register_job(c);
    if (!rc) {
        di_plugin_dir(c, plugins);
        di_plugin_dir(c, di_plugin_system_dir());
        rc = di_config_load_file(c, cfg.file);
    }
    if (!rc)
        rc = di_container_seal(c);
    if (rc) {
        for (const di_error *e = di_container_error(c); e;
             e = di_error_next(e))
            fprintf(stderr, "%s\n", di_error_message(e));
        di_container_free(c);
        return 1;
    }
    di_scope *job;
    exporter *e = NULL;
    rc = di_scope_begin(c, NULL, "job", NULL, &job);
    if (!rc)
        rc = di_scope_put(job, "job_args", &args);
    if (!rc)
        rc = notes_migrate(c, job); /* a fresh database works too */
    if (!rc && (rc = di_get(job, "exporter", (void **)&e)))
        fprintf(stderr, "notes-export: %s\n",
                di_error_message(di_scope_error(job)));
    size_t n = 50;
    for (int64_t offset = 0; !rc && n == 50; offset += 50)
        rc = export_page(job, e, offset, &n);
    size_t count = e ? e->count : 0;
    int end = job ? di_scope_end(job, rc) : 0;
    if (!rc && end)
        fprintf(stderr, "notes-export: %s\n",
                di_error_message(di_container_error(c)));
    rc = rc ? rc : end;
    if (!rc)
        printf("exported %zu notes to %s\n", count, args.out);
    di_container_free(c);
    return rc ? 1 : 0;
}
