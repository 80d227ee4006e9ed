/*
 * json.c — JSON syntax checking that says where and what was expected.
 *
 * cJSON builds the trees; it only says where it stopped. Before handing text
 * to it, libdi walks the text once with this checker, which reports the first
 * error as "line:column: expected X, got Y", bounds the nesting and refuses
 * duplicate keys (cJSON would keep both and silently read the first).
 * Recursion depth is bounded by max_depth.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "di_int.h"

typedef struct jc {
    void *mem;
    const char *s;
    size_t len, pos;
    unsigned max_depth;
    char **err;
} jc;

typedef struct jkey { const char *p; size_t n; size_t at; } jkey;

static void line_col(const jc *j, size_t at, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < at && i < j->len; i++) {
        unsigned char ch = (unsigned char)j->s[i];
        if (ch == '\n') {
            (*line)++;
            *col = 1;
        } else if ((ch & 0xc0) != 0x80) {
            (*col)++; /* count characters, not UTF-8 continuation bytes */
        }
    }
}

/* What is at position at, for "got ...". */
static char *got(const jc *j, size_t at)
{
    if (at >= j->len)
        return talloc_strdup(j->mem, "end of input");
    unsigned char ch = (unsigned char)j->s[at];
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
        size_t n = 0;
        while (at + n < j->len && n < 16) {
            unsigned char w = (unsigned char)j->s[at + n];
            if (!((w >= 'a' && w <= 'z') || (w >= 'A' && w <= 'Z') ||
                  (w >= '0' && w <= '9') || w == '_'))
                break;
            n++;
        }
        return talloc_asprintf(j->mem, "'%.*s'", (int)n, j->s + at);
    }
    if (ch < 0x20 || ch >= 0x7f)
        return talloc_asprintf(j->mem, "byte 0x%02x", ch);
    return talloc_asprintf(j->mem, "'%c'", ch);
}

static int fail_at(jc *j, size_t at, const char *fmt, ...) DI_PRINTF(3, 4);
static int fail_at(jc *j, size_t at, const char *fmt, ...)
{
    unsigned line, col;
    line_col(j, at, &line, &col);
    va_list ap;
    va_start(ap, fmt);
    char *what = talloc_vasprintf(j->mem, fmt, ap);
    va_end(ap);
    *j->err = what ? talloc_asprintf(j->mem, "%u:%u: %s", line, col, what)
                   : NULL;
    talloc_free(what);
    return *j->err ? DI_ECONFIG : DI_ENOMEM;
}

/* "expected X, got Y" at the current position. */
static int expected(jc *j, const char *what)
{
    char *g = got(j, j->pos);
    int rc = fail_at(j, j->pos, "expected %s, got %s", what, g ? g : "?");
    talloc_free(g);
    return rc;
}

static void skip_ws(jc *j)
{
    while (j->pos < j->len && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
                               j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
        j->pos++;
}

size_t di__utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
               : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || n > avail)
        return 0;
    uint32_t cp = n == 1 ? c : c & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0; /* overlong, beyond Unicode, a surrogate */
    return n;
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
           (ch >= 'A' && ch <= 'F');
}

/* The 4 hex digits of the \u escape at `at`, or an error. */
static int hex4(jc *j, size_t at, unsigned *out)
{
    unsigned u = 0;
    for (size_t k = 2; k < 6; k++) {
        if (at + k >= j->len || !is_hex(j->s[at + k]))
            return fail_at(j, at, "invalid \\u escape: expected 4 hex digits");
        char ch = j->s[at + k];
        u = u * 16 + (unsigned)(ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10);
    }
    *out = u;
    return 0;
}

static int string(jc *j)
{
    size_t start = j->pos++;
    const unsigned char *p = (const unsigned char *)j->s;
    for (;;) {
        /* the common run first: printable ASCII that is not '"' or '\\' */
        size_t i = j->pos, len = j->len; /* locals: p may alias j */
        while (i < len && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' &&
               p[i] != '\\')
            i++;
        j->pos = i;
        if (j->pos >= j->len) {
            unsigned line, col;
            line_col(j, start, &line, &col);
            return fail_at(j, j->pos, "unterminated string (it starts at "
                           "%u:%u)", line, col);
        }
        unsigned char ch = (unsigned char)j->s[j->pos];
        if (ch == '"') {
            j->pos++;
            return 0;
        }
        if (ch == '\n' || ch == '\r') {
            unsigned line, col;
            line_col(j, start, &line, &col);
            return fail_at(j, j->pos, "line break inside a string: a missing "
                           "closing '\"'? (the string starts at %u:%u)", line,
                           col);
        }
        if (ch < 0x20)
            return fail_at(j, j->pos, "control character 0x%02x in a string "
                           "(write it as an escape such as \\n or \\u%04x)",
                           ch, ch);
        if (ch >= 0x80) {
            size_t n = di__utf8_len((const unsigned char *)j->s + j->pos,
                                    j->len - j->pos);
            if (!n)
                return fail_at(j, j->pos, "invalid UTF-8 (byte 0x%02x) in a "
                               "string: the text must be UTF-8", ch);
            j->pos += n;
            continue;
        }
        if (ch != '\\') {
            j->pos++;
            continue;
        }
        char e = j->pos + 1 < j->len ? j->s[j->pos + 1] : '\0';
        if (e == 'u') {
            unsigned u = 0;
            int rc = hex4(j, j->pos, &u);
            if (rc)
                return rc;
            if (u == 0)
                return fail_at(j, j->pos, "\\u0000 in a string: names and "
                               "values cannot hold a NUL character");
            if (u >= 0xdc00 && u <= 0xdfff)
                return fail_at(j, j->pos, "\\u%04x is a lone low surrogate",
                               u);
            j->pos += 6;
            if (u >= 0xd800 && u <= 0xdbff) { /* a pair: \uD8xx\uDCxx */
                unsigned lo = 0;
                if (j->pos + 1 >= j->len || j->s[j->pos] != '\\' ||
                    j->s[j->pos + 1] != 'u' || hex4(j, j->pos, &lo) ||
                    lo < 0xdc00 || lo > 0xdfff)
                    return fail_at(j, j->pos - 6, "\\u%04x is a high "
                                   "surrogate without its low half", u);
                j->pos += 6;
            }
        } else if (e && strchr("\"\\/bfnrt", e)) {
            j->pos += 2;
        } else {
            return fail_at(j, j->pos, "invalid escape '\\%c' (valid: \\\" \\\\ "
                           "\\/ \\b \\f \\n \\r \\t, and \\u with 4 hex "
                           "digits)", e ? e : ' ');
        }
    }
}

static bool digit(const jc *j)
{
    return j->pos < j->len && j->s[j->pos] >= '0' && j->s[j->pos] <= '9';
}

static int number(jc *j)
{
    if (j->s[j->pos] == '-')
        j->pos++;
    if (!digit(j))
        return expected(j, "a digit");
    if (j->s[j->pos] == '0') {
        j->pos++;
        if (digit(j))
            return fail_at(j, j->pos, "numbers cannot have leading zeros");
    } else {
        while (digit(j))
            j->pos++;
    }
    if (j->pos < j->len && j->s[j->pos] == '.') {
        j->pos++;
        if (!digit(j))
            return expected(j, "a digit after '.'");
        while (digit(j))
            j->pos++;
    }
    if (j->pos < j->len && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
        j->pos++;
        if (j->pos < j->len && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
            j->pos++;
        if (!digit(j))
            return expected(j, "a digit in the exponent");
        while (digit(j))
            j->pos++;
    }
    return 0;
}

static int value(jc *j, unsigned depth);

static int key_cmp(const void *a, const void *b)
{
    const jkey *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? -1 : 1;
    int r = memcmp(x->p, y->p, x->n);
    if (r)
        return r;
    return x->at < y->at ? -1 : x->at > y->at;
}

/* Sort the keys of one object; report the second occurrence of a repeat. */
static int no_duplicates(jc *j, jkey *keys, size_t n)
{
    if (n < 2)
        return 0;
    if (n <= 8) { /* a few keys: each against those before it, in order */
        for (size_t i = 1; i < n; i++)
            for (size_t k = 0; k < i; k++)
                if (keys[i].n == keys[k].n &&
                    memcmp(keys[i].p, keys[k].p, keys[i].n) == 0)
                    return fail_at(j, keys[i].at, "duplicate key \"%.*s\"",
                                   (int)keys[i].n, keys[i].p);
        return 0;
    }
    qsort(keys, n, sizeof *keys, key_cmp);
    size_t bad = SIZE_MAX;
    for (size_t i = 1; i < n; i++)
        if (keys[i].n == keys[i - 1].n &&
            memcmp(keys[i].p, keys[i - 1].p, keys[i].n) == 0 &&
            (bad == SIZE_MAX || keys[i].at < keys[bad].at))
            bad = i;
    if (bad == SIZE_MAX)
        return 0;
    return fail_at(j, keys[bad].at, "duplicate key \"%.*s\"",
                   (int)keys[bad].n, keys[bad].p);
}

static int object(jc *j, unsigned depth)
{
    jkey local[8], *keys = local; /* an object's first keys: no allocation */
    size_t n = 0, cap = 8;
    int rc = 0;
    j->pos++;
    skip_ws(j);
    if (j->pos < j->len && j->s[j->pos] == '}') {
        j->pos++;
        return 0;
    }
    for (bool first = true;; first = false) {
        skip_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != '"') {
            rc = expected(j, first ? "a string key or '}'"
                                   : "a string key after ','");
            break;
        }
        size_t at = j->pos;
        if ((rc = string(j)))
            break;
        if (n == cap) {
            cap *= 2;
            jkey *nk = keys == local
                           ? talloc_array(j->mem, jkey, di__count(cap))
                           : talloc_realloc(j->mem, keys, jkey,
                                            di__count(cap));
            if (!nk) {
                rc = DI_ENOMEM;
                break;
            }
            if (keys == local)
                memcpy(nk, local, sizeof local);
            keys = nk;
        }
        keys[n++] = (jkey){ j->s + at + 1, j->pos - at - 2, at };
        skip_ws(j);
        if (j->pos >= j->len || j->s[j->pos] != ':') {
            char *what = talloc_asprintf(j->mem, "':' after the key \"%.*s\"",
                                         (int)keys[n - 1].n, keys[n - 1].p);
            rc = what ? expected(j, what) : DI_ENOMEM;
            break;
        }
        j->pos++;
        if ((rc = value(j, depth)))
            break;
        skip_ws(j);
        if (j->pos < j->len && j->s[j->pos] == ',') {
            j->pos++;
            continue;
        }
        if (j->pos < j->len && j->s[j->pos] == '}') {
            j->pos++;
            rc = no_duplicates(j, keys, n);
            break;
        }
        rc = expected(j, "',' or '}' after an object member");
        break;
    }
    if (keys != local)
        talloc_free(keys);
    return rc;
}

static int array(jc *j, unsigned depth)
{
    j->pos++;
    skip_ws(j);
    if (j->pos < j->len && j->s[j->pos] == ']') {
        j->pos++;
        return 0;
    }
    for (;;) {
        int rc = value(j, depth);
        if (rc)
            return rc;
        skip_ws(j);
        if (j->pos < j->len && j->s[j->pos] == ',') {
            j->pos++;
            continue;
        }
        if (j->pos < j->len && j->s[j->pos] == ']') {
            j->pos++;
            return 0;
        }
        return expected(j, "',' or ']' after an array element");
    }
}

static int literal(jc *j, const char *word)
{
    size_t n = strlen(word);
    if (j->len - j->pos >= n && memcmp(j->s + j->pos, word, n) == 0) {
        j->pos += n;
        return 0;
    }
    return expected(j, "a value (object, array, string, number, true, false "
                       "or null)");
}

static int value(jc *j, unsigned depth)
{
    skip_ws(j);
    if (j->pos >= j->len)
        return expected(j, "a value");
    char ch = j->s[j->pos];
    if ((ch == '{' || ch == '[') && depth >= j->max_depth)
        return fail_at(j, j->pos, "nested deeper than %u levels",
                       j->max_depth);
    switch (ch) {
    case '{': return object(j, depth + 1);
    case '[': return array(j, depth + 1);
    case '"': return string(j);
    case 't': return literal(j, "true");
    case 'f': return literal(j, "false");
    case 'n': return literal(j, "null");
    default:
        if (ch == '-' || (ch >= '0' && ch <= '9'))
            return number(j);
        return expected(j, "a value (object, array, string, number, true, "
                           "false or null)");
    }
}

/* The bytes of a leading UTF-8 byte order mark: 3 or 0. */
static size_t bom(const char *text, size_t len)
{
    return len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0 ? 3 : 0;
}

int di__json_check(void *mem, const char *text, size_t len, unsigned max_depth,
                   char **err)
{
    jc j = { .mem = mem, .s = text, .len = len, .max_depth = max_depth,
             .err = err };
    *err = NULL;
    j.pos = bom(text, len); /* as if it were not there */
    int rc = value(&j, 0);
    if (rc)
        return rc;
    skip_ws(&j);
    if (j.pos < j.len)
        return expected(&j, "the end of the document after the JSON value");
    return 0;
}

int di__json_parse(void *mem, const char *text, size_t len, unsigned max_depth,
                   char **err, struct cJSON **out)
{
    *out = NULL;
    int rc = di__json_check(mem, text, len, max_depth, err);
    if (rc)
        return rc;
    size_t b = bom(text, len); /* cJSON knows no byte order mark */
    *out = cJSON_ParseWithLength(text + b, len - b);
    return *out ? 0 : DI_ENOMEM; /* the text checked out: only memory fails */
}

/* ---- suggestions ---- */

/* Edit distance with adjacent transpositions (optimal string alignment):
 * "frist" is one edit from "first". */
static size_t distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t k = 0; k <= lb; k++)
        d[0][k] = k;
    for (size_t i = 1; i <= la; i++)
        for (size_t k = 1; k <= lb; k++) {
            size_t best = d[i - 1][k - 1] + (a[i - 1] != b[k - 1]);
            if (d[i - 1][k] + 1 < best)
                best = d[i - 1][k] + 1;
            if (d[i][k - 1] + 1 < best)
                best = d[i][k - 1] + 1;
            if (i > 1 && k > 1 && a[i - 1] == b[k - 2] && a[i - 2] == b[k - 1] &&
                d[i - 2][k - 2] + 1 < best)
                best = d[i - 2][k - 2] + 1;
            d[i][k] = best;
        }
    return d[la][lb];
}

const char *di__suggest(void *mem, const char *word, const char *const *cands)
{
    const char *best = NULL;
    size_t bd = SIZE_MAX, wl = strlen(word);
    for (size_t i = 0; cands && cands[i]; i++) {
        size_t d = distance(word, cands[i]);
        if (d < bd) {
            bd = d;
            best = cands[i];
        }
    }
    /* close enough to be a typo: at most a third of the word, at least 1 */
    if (!best || bd == 0 || bd > (wl / 3 > 1 ? wl / 3 : 1))
        return "";
    char *s = talloc_asprintf(mem, " (did you mean '%s'?)", best);
    return s ? s : "";
}


/* ---- finding a path in the text ---- */

static size_t ws(const char *s, size_t len, size_t i)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' ||
                       s[i] == '\r'))
        i++;
    return i;
}

/* Past the string starting at i (its opening quote). */
static size_t past_string(const char *s, size_t len, size_t i)
{
    for (i++; i < len && s[i] != '"'; i++)
        if (s[i] == '\\')
            i++;
    return i + 1;
}

/* Past the value starting at i (checked text: balanced). */
static size_t past_value(const char *s, size_t len, size_t i)
{
    if (i < len && s[i] == '"')
        return past_string(s, len, i);
    if (i < len && (s[i] == '{' || s[i] == '[')) {
        size_t depth = 0;
        for (; i < len; i++) {
            if (s[i] == '"')
                i = past_string(s, len, i) - 1;
            else if (s[i] == '{' || s[i] == '[')
                depth++;
            else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
                return i + 1;
        }
        return i;
    }
    while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
           s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
        i++;
    return i;
}

/* The next segment of a path (di__json_path()'s form) into key (a member,
 * unescaped, at most cap - 1 bytes) or *index; returns the rest, or NULL
 * at the end or on what it cannot read. */
static const char *segment(const char *p, char *key, size_t cap,
                           long *index)
{
    size_t n = 0;
    *index = -1;
    if (*p == '.')
        p++;
    if (*p == '[' && p[1] == '"') {
        for (p += 2; *p && *p != '"'; p++) {
            if (*p == '\\' && p[1])
                p++;
            if (n + 1 < cap)
                key[n++] = *p;
        }
        key[n] = '\0';
        return *p == '"' && p[1] == ']' ? p + 2 : NULL;
    }
    if (*p == '[') {
        char *end;
        *index = strtol(p + 1, &end, 10);
        return *end == ']' && *index >= 0 ? end + 1 : NULL;
    }
    while (*p && *p != '.' && *p != '[' && n + 1 < cap)
        key[n++] = *p++;
    key[n] = '\0';
    return n ? p : NULL;
}

bool di__json_locate(const char *text, size_t len, const char *path,
                     unsigned *line, unsigned *col)
{
    size_t at = ws(text, len, 0), found = SIZE_MAX;
    char key[DI_NAME_MAX * 2 + 2];
    long index;
    const char *p = path;
    while (p && *p && (p = segment(p, key, sizeof key, &index))) {
        size_t i = at;
        bool hit = false;
        if (index < 0 && i < len && text[i] == '{') {
            for (i = ws(text, len, i + 1); i < len && text[i] == '"';) {
                size_t k = i + 1, end = past_string(text, len, i);
                size_t klen = end - k - 1;
                i = ws(text, len, end);
                i = ws(text, len, i + 1); /* the ':' */
                if (klen == strlen(key) && memcmp(text + k, key, klen) == 0) {
                    hit = true;
                    break;
                }
                i = ws(text, len, past_value(text, len, i));
                if (i < len && text[i] == ',')
                    i = ws(text, len, i + 1);
            }
        } else if (index >= 0 && i < len && text[i] == '[') {
            i = ws(text, len, i + 1);
            for (long n = 0; i < len && text[i] != ']'; n++) {
                if (n == index) {
                    hit = true;
                    break;
                }
                i = ws(text, len, past_value(text, len, i));
                if (i < len && text[i] == ',')
                    i = ws(text, len, i + 1);
            }
        }
        if (!hit)
            break;
        at = found = i;
    }
    if (found == SIZE_MAX)
        return false;
    jc j = { .s = text, .len = len };
    line_col(&j, found, line, col);
    return true;
}

/* ---- paths ---- */

char *di__json_path(void *mem, const char *base, const char *key)
{
    bool plain = (key[0] >= 'a' && key[0] <= 'z') ||
                 (key[0] >= 'A' && key[0] <= 'Z') || key[0] == '_';
    for (const char *p = key; plain && *p; p++)
        plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                (*p >= '0' && *p <= '9') || *p == '_' || *p == '-';
    if (plain)
        return *base ? talloc_asprintf(mem, "%s.%s", base, key)
                     : talloc_strdup(mem, key);
    char *s = talloc_asprintf(mem, "%s[\"", base);
    for (const char *p = key; s && *p; p++)
        s = *p == '"' || *p == '\\' ? talloc_asprintf_append(s, "\\%c", *p)
                                   : talloc_asprintf_append(s, "%c", *p);
    return s ? talloc_asprintf_append(s, "\"]") : NULL;
}

cJSON *di__json_add(cJSON *parent, const char *key, cJSON *item)
{
    if (!item)
        return NULL;
    if (!(key ? cJSON_AddItemToObject(parent, key, item)
              : cJSON_AddItemToArray(parent, item))) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}
