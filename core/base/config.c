/* config: chorus.conf files and -o overrides, driven by a consumer's key
 * table (see core/include/core/config.h; the format is documented for users
 * in man/chorus.conf.5). A section with a "*" entry takes any key (the
 * player's [keys]): its lines are read with read_free_key instead of the
 * letters-and-digits rule, and its setter gets each key as written.
 *
 * Owns nothing between calls. A load runs in two passes: every line is
 * parsed and its value checked into a list of assignments, then, only when
 * the whole text was valid, the assignments are stored into the target, so
 * a bad file changes nothing. Runs on the calling thread; must never log,
 * print or exit: every problem becomes one line in *error for the caller. */
#include "base/config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"

/* A value shown back to the user is cut at this many bytes. */
#define SHOW_MAX 60

/* ---- small text helpers ---- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

static bool valid_name(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_name_char(s[i]))
            return false;
    return true;
}

static const char *skip_blanks(const char *p, const char *end)
{
    while (p < end && is_blank(*p))
        p++;
    return p;
}

static const char *trim_end(const char *start, const char *end)
{
    while (end > start && is_blank(end[-1]))
        end--;
    return end;
}

static bool is_comment(const char *p, const char *end)
{
    return p < end && (*p == '#' || *p == ';');
}

static bool name_is(const char *name, const char *s, size_t len)
{
    return strlen(name) == len && memcmp(name, s, len) == 0;
}

/* The text between s and s + len, quoted for a message: control bytes as
 * \xNN, '"' and '\' escaped, cut after SHOW_MAX bytes. */
static char *show(const char *s, size_t len)
{
    size_t n = len > SHOW_MAX ? SHOW_MAX : len;
    char *out = xmalloc(n * 4 + 8);
    char *o = out;
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            o += sprintf(o, "\\x%02x", c);
        } else {
            if (c == '"' || c == '\\')
                *o++ = '\\';
            *o++ = (char)c;
        }
    }
    *o++ = '"';
    if (n < len) {
        memcpy(o, "...", 3);
        o += 3;
    }
    *o = '\0';
    return out;
}

static char *showz(const char *s)
{
    return show(s, strlen(s));
}

/* "<expected>, got "<text>"": the message for a value that does not fit. */
char *config_why_got(const char *expected, const char *text)
{
    char *shown = showz(text);
    char *why = xasprintf("%s, got %s", expected, shown);
    free(shown);
    return why;
}

/* Distance between two words (optimal string alignment: insert, delete,
 * substitute, swap two neighbours), for "did you mean". */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t *d = xmalloc((la + 1) * (lb + 1) * sizeof(*d));
#define D(i, j) d[(i) * (lb + 1) + (j)]
    for (size_t i = 0; i <= la; i++)
        D(i, 0) = i;
    for (size_t j = 0; j <= lb; j++)
        D(0, j) = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = D(i - 1, j) + 1;
            if (D(i, j - 1) + 1 < best)
                best = D(i, j - 1) + 1;
            if (D(i - 1, j - 1) + cost < best)
                best = D(i - 1, j - 1) + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                D(i - 2, j - 2) + 1 < best)
                best = D(i - 2, j - 2) + 1;
            D(i, j) = best;
        }
    }
    size_t result = D(la, lb);
#undef D
    free(d);
    return result;
}

/* Collects candidate names: the closest one and the list of all. */
struct names {
    char *best; /* owned */
    size_t best_dist;
    char *list; /* "a, b, c", owned */
};

static void names_free(struct names *nm)
{
    free(nm->best);
    free(nm->list);
}

static void names_add(struct names *nm, const char *word, size_t wlen, const char *candidate)
{
    /* Each name once in the list (a section has many keys). */
    if (nm->list) {
        size_t cl = strlen(candidate);
        for (const char *p = nm->list; (p = strstr(p, candidate)) != NULL; p += cl) {
            bool starts = p == nm->list || p[-1] == ' ';
            bool ends = p[cl] == '\0' || p[cl] == ',';
            if (starts && ends)
                return;
        }
    }
    /* No name is long: a long word is no typo, and not worth the table. */
    size_t dist = wlen <= 64 ? edit_distance(word, wlen, candidate, strlen(candidate)) : SIZE_MAX;
    size_t limit = strlen(candidate) <= 4 ? 1 : 2;
    if (dist <= limit && (!nm->best || dist < nm->best_dist)) {
        free(nm->best);
        nm->best = xstrdup(candidate);
        nm->best_dist = dist;
    }
    char *list = nm->list ? xasprintf("%s, %s", nm->list, candidate) : xstrdup(candidate);
    free(nm->list);
    nm->list = list;
}

/* ---- schema look-ups ---- */

static const struct config_key *find_section(const struct config_key *schema, const char *s,
                                             size_t len)
{
    for (const struct config_key *k = schema; k->section; k++)
        if (name_is(k->section, s, len))
            return k;
    return NULL;
}

/* The name of the entry that takes any key of its section. */
#define FREE_KEY "*"

static const struct config_key *find_exact(const struct config_key *schema, const char *section,
                                           const char *name, size_t len)
{
    for (const struct config_key *k = schema; k->section; k++)
        if (strcmp(k->section, section) == 0 && name_is(k->name, name, len))
            return k;
    return NULL;
}

/* The section's own entry for name, else its "*" entry, else NULL. */
static const struct config_key *find_key(const struct config_key *schema, const char *section,
                                         const char *name, size_t len)
{
    const struct config_key *k = find_exact(schema, section, name, len);
    return k ? k : find_exact(schema, section, FREE_KEY, strlen(FREE_KEY));
}

static bool is_free_section(const struct config_key *schema, const char *section)
{
    return find_exact(schema, section, FREE_KEY, strlen(FREE_KEY)) != NULL;
}

/* "section.name" as messages show a key: a name that is not a plain word
 * (a free-form key such as "=" or "^F") in quotes, as -o takes it. */
static char *dotted_name(const char *section, const char *name)
{
    if (valid_name(name, strlen(name)))
        return xasprintf("%s.%s", section, name);
    char *shown = showz(name);
    char *dotted = xasprintf("%s.%s", section, shown);
    free(shown);
    return dotted;
}

const struct config_key *config_find(const struct config_key *schema, const char *dotted)
{
    const char *dot = strchr(dotted, '.');
    if (!dot)
        return NULL;
    const struct config_key *sec = find_section(schema, dotted, (size_t)(dot - dotted));
    return sec ? find_key(schema, sec->section, dot + 1, strlen(dot + 1)) : NULL;
}

static char *unknown_section_why(const struct config_key *schema, const char *s, size_t len)
{
    struct names nm = {0};
    for (const struct config_key *k = schema; k->section; k++)
        names_add(&nm, s, len, k->section);
    char *shown = show(s, len);
    char *why;
    if (nm.best)
        why = xasprintf("unknown section %s; did you mean [%s]?", shown, nm.best);
    else
        why = xasprintf("unknown section %s (sections: %s)", shown, nm.list ? nm.list : "none");
    free(shown);
    names_free(&nm);
    return why;
}

static char *unknown_key_why(const struct config_key *schema, const char *section, const char *name,
                             size_t len)
{
    struct names nm = {0};
    for (const struct config_key *k = schema; k->section; k++)
        if (strcmp(k->section, section) == 0)
            names_add(&nm, name, len, k->name);
    char *why;
    if (nm.best)
        why = xasprintf("unknown key; did you mean \"%s\"?", nm.best);
    else
        why = xasprintf("unknown key (keys in [%s]: %s)", section, nm.list);
    names_free(&nm);
    return why;
}

/* ---- values ---- */

/* Reads the quoted string that starts at *pp (its opening '"'), where \"
 * and \\ are the only escapes, and moves *pp past the closing quote. what
 * names it in messages ("value", "key"). Returns a new string, or NULL
 * with *why set. */
static char *read_quoted(const char **pp, const char *end, const char *what, char **why)
{
    const char *p = *pp;
    char *out = xmalloc((size_t)(end - p) + 1);
    size_t n = 0;
    for (p++; p < end && *p != '"'; p++) {
        if (*p == '\\') {
            if (p + 1 < end && (p[1] == '"' || p[1] == '\\')) {
                out[n++] = *++p;
                continue;
            }
            free(out);
            if (p + 1 < end && p[1] > ' ' && p[1] < 0x7f)
                *why = xasprintf("invalid escape \\%c in a quoted %s: only \\\" and \\\\ "
                                 "are allowed",
                                 p[1], what);
            else
                *why = xasprintf("invalid escape in a quoted %s: only \\\" and \\\\ are "
                                 "allowed",
                                 what);
            return NULL;
        }
        out[n++] = *p;
    }
    if (p == end) {
        free(out);
        *why = xasprintf("unterminated quoted %s: missing the closing \"", what);
        return NULL;
    }
    out[n] = '\0';
    *pp = p + 1;
    return out;
}

/* Reads a value from p to end (one line, blanks before it skipped). A value
 * that starts with '"' is quoted (read_quoted), and only blanks or a
 * comment may follow the closing quote. Otherwise the value runs to the
 * end of the line, or with comments to a '#' or ';' that follows a blank,
 * and loses its trailing blanks. Returns a new string, or NULL with *why
 * set. */
static char *read_value(const char *p, const char *end, bool comments, char **why)
{
    p = skip_blanks(p, end);
    if (p < end && *p == '"') {
        char *out = read_quoted(&p, end, "value", why);
        if (!out)
            return NULL;
        const char *rest = skip_blanks(p, end);
        if (rest < end && !(comments && is_comment(rest, end))) {
            free(out);
            char *shown = show(rest, (size_t)(end - rest));
            *why = xasprintf("unexpected text after the closing quote: %s", shown);
            free(shown);
            return NULL;
        }
        return out;
    }
    const char *stop = end;
    if (comments) {
        for (const char *q = p; q < end; q++) {
            if (is_comment(q, end) && q > p && is_blank(q[-1])) {
                stop = q;
                break;
            }
        }
    }
    return xstrndup(p, (size_t)(trim_end(p, stop) - p));
}

/* "2G", "512M", "100K" or plain bytes: the largest unit that divides n. */
static char *format_size(int64_t n)
{
    static const char units[] = "KMGT";
    int u = -1;
    while (u < 3 && n != 0 && n % ((int64_t)1 << (10 * (u + 2))) == 0)
        u++;
    if (u < 0)
        return xasprintf("%" PRId64, n);
    return xasprintf("%" PRId64 "%c", n >> (10 * (u + 1)), units[u]);
}

static int parse_int(const char *text, int64_t *out)
{
    const char *p = text;
    if (*p == '+' || *p == '-')
        p++;
    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    char *end;
    long long v = strtoll(text, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int parse_size(const char *text, int64_t *out)
{
    if (*text < '0' || *text > '9')
        return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno == ERANGE)
        return -1;
    int shift = 0;
    if (*end) {
        const char *unit = strchr("KMGT", *end >= 'a' ? *end - 'a' + 'A' : *end);
        if (!unit || !*unit || end[1] != '\0')
            return -1;
        shift = 10 * (int)(unit - "KMGT" + 1);
    }
    if (v > (unsigned long long)(INT64_MAX >> shift))
        return -1;
    *out = (int64_t)(v << shift);
    return 0;
}

static int parse_bool(const char *text, int64_t *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static char *enum_why(const struct config_key *key, const char *text)
{
    char *list = NULL;
    for (const char *const *w = key->words; *w; w++) {
        char *next = list ? xasprintf("%s, %s", list, *w) : xstrdup(*w);
        free(list);
        list = next;
    }
    char *expected = xasprintf("expected one of %s", list ? list : "(none)");
    char *why = config_why_got(expected, text);
    free(expected);
    free(list);
    return why;
}

/* Checks text against the key's type and bounds, setting v->num. Returns
 * 0, or -1 with *why set. */
static int convert_type(const struct config_key *key, const char *text, struct config_value *v,
                        char **why)
{
    switch (key->type) {
    case CONFIG_STRING:
        return 0;
    case CONFIG_INT:
        if (parse_int(text, &v->num) == 0 && v->num >= key->min && v->num <= key->max)
            return 0;
        if (key->min <= INT_MIN && key->max >= INT_MAX) {
            *why = config_why_got("expected an integer", text);
        } else {
            char *expected =
                xasprintf("expected an integer from %" PRId64 " to %" PRId64, key->min, key->max);
            *why = config_why_got(expected, text);
            free(expected);
        }
        return -1;
    case CONFIG_SIZE:
        if (parse_size(text, &v->num) != 0) {
            *why = config_why_got("expected a size like 512M or 2G", text);
            return -1;
        }
        if (v->num < key->min || v->num > key->max) {
            char *lo = format_size(key->min), *hi = format_size(key->max);
            char *expected = xasprintf("expected a size from %s to %s", lo, hi);
            *why = config_why_got(expected, text);
            free(expected);
            free(lo);
            free(hi);
            return -1;
        }
        return 0;
    case CONFIG_BOOL:
        if (parse_bool(text, &v->num) == 0)
            return 0;
        *why = config_why_got("expected yes or no (or true/false, on/off, 1/0)", text);
        return -1;
    case CONFIG_ENUM:
        for (int i = 0; key->words && key->words[i]; i++) {
            if (strcasecmp(text, key->words[i]) == 0) {
                v->num = i;
                return 0;
            }
        }
        *why = enum_why(key, text);
        return -1;
    }
    *why = xstrdup("the key has an unknown type");
    return -1;
}

/* Checks text against the key's type, bounds and check callback and fills
 * v (v->name is name and v->str text itself). Returns 0, or -1 with *why
 * set. */
static int convert(const struct config_key *key, const char *name, const char *text,
                   struct config_value *v, char **why)
{
    v->name = name;
    v->str = text;
    v->num = 0;
    if (convert_type(key, text, v, why) != 0)
        return -1;
    if (key->check) {
        *why = NULL;
        if (key->check(key, v, why) != 0) {
            if (!*why)
                *why = xstrdup("value refused");
            return -1;
        }
    }
    return 0;
}

/* Stores a checked value. Returns 0, or -1 with *why set by a setter. */
static int store(const struct config_key *key, void *target, const struct config_value *v,
                 char **why)
{
    if (key->set) {
        *why = NULL;
        int r = key->set(target, key, v, why);
        if (r != 0 && !*why)
            *why = xstrdup("value refused");
        return r != 0 ? -1 : 0;
    }
    char *field = (char *)target + key->offset;
    switch (key->type) {
    case CONFIG_STRING: {
        char **s = (char **)(void *)field;
        free(*s);
        *s = xstrdup(v->str);
        break;
    }
    case CONFIG_INT:
    case CONFIG_ENUM:
        *(int *)(void *)field = (int)v->num;
        break;
    case CONFIG_SIZE:
        *(uint64_t *)(void *)field = (uint64_t)v->num;
        break;
    case CONFIG_BOOL:
        *(bool *)(void *)field = v->num != 0;
        break;
    }
    return 0;
}

/* ---- loading ---- */

struct assignment {
    const struct config_key *key;
    struct config_value value; /* value.name and value.str owned here */
    int line;
};

struct parse {
    const char *name; /* of the text, for messages */
    const struct config_key *schema;
    const char *section; /* current section (a schema string) or NULL */
    struct assignment *items;
    size_t count, cap;
    char *error;
};

static int fail(struct parse *ps, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parse *ps, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    ps->error = xasprintf("%s:%d: %s", ps->name, line, msg ? msg : "out of memory");
    free(msg);
    return CONFIG_EINVALID;
}

/* fail() with a "why" string that is consumed. */
static int fail_why(struct parse *ps, int line, char *why)
{
    int r = fail(ps, line, "%s", why);
    free(why);
    return r;
}

/* fail() about the key name (as written) of section, with a "why" string
 * that is consumed. */
static int fail_key(struct parse *ps, int line, const char *section, const char *name, char *why)
{
    char *dotted = dotted_name(section, name);
    int r = fail(ps, line, "%s: %s", dotted, why);
    free(dotted);
    free(why);
    return r;
}

static int parse_section(struct parse *ps, int line, const char *p, const char *end)
{
    const char *close = memchr(p, ']', (size_t)(end - p));
    if (!close)
        return fail(ps, line, "expected \"]\" to close the section header");
    const char *s = skip_blanks(p + 1, close);
    const char *e = trim_end(s, close);
    if (!valid_name(s, (size_t)(e - s))) {
        char *shown = show(s, (size_t)(e - s));
        int r =
            fail(ps, line, "invalid section name %s: use letters, digits, '_' and '-' only", shown);
        free(shown);
        return r;
    }
    const char *rest = skip_blanks(close + 1, end);
    if (rest < end && !is_comment(rest, end)) {
        char *shown = show(rest, (size_t)(end - rest));
        int r = fail(ps, line, "unexpected text after the section header: %s", shown);
        free(shown);
        return r;
    }
    const struct config_key *sec = find_section(ps->schema, s, (size_t)(e - s));
    if (!sec)
        return fail_why(ps, line, unknown_section_why(ps->schema, s, (size_t)(e - s)));
    ps->section = sec->section;
    return 0;
}

/* The error for a line that is no "key = value" (p: its first non-blank). */
static int fail_not_assignment(struct parse *ps, int line, const char *p, const char *end)
{
    char *shown = show(p, (size_t)(trim_end(p, end) - p));
    int r = fail(ps, line, "expected \"key = value\", \"[section]\" or a comment, got %s", shown);
    free(shown);
    return r;
}

/* Reads, checks and records the value (from p to end) of key, written
 * name (owned: kept by the assignment or freed). */
static int add_assignment(struct parse *ps, int line, const struct config_key *key, char *name,
                          const char *p, const char *end)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < ps->count; i++) {
        const struct assignment *a = &ps->items[i];
        if (a->key == key && strcmp(a->value.name, name) == 0) {
            char *dotted = dotted_name(key->section, name);
            r = fail(ps, line, "%s: set twice (first on line %d); keep one of them", dotted,
                     a->line);
            free(dotted);
        }
    }
    char *why = NULL;
    char *text = r == 0 ? read_value(p, end, true, &why) : NULL;
    struct config_value v;
    if (r == 0 && (!text || convert(key, name, text, &v, &why) != 0))
        r = fail_key(ps, line, key->section, name, why);
    if (r != 0) {
        free(text);
        free(name);
        return r;
    }
    if (ps->count == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 8;
        ps->items = xrealloc(ps->items, ps->cap * sizeof(*ps->items));
    }
    ps->items[ps->count++] = (struct assignment){key, v, line};
    return 0;
}

/* Reads the key of a line of a free-form section at *pp: a quoted string,
 * or the characters up to a blank or '='; no control characters. Moves *pp
 * past it. Returns a new string, or NULL with *why set. */
static char *read_free_key(const char **pp, const char *end, char **why)
{
    const char *p = *pp;
    char *name;
    if (*p == '"') {
        name = read_quoted(&p, end, "key", why);
        if (!name)
            return NULL;
    } else {
        const char *start = p;
        while (p < end && !is_blank(*p) && *p != '=')
            p++;
        name = xstrndup(start, (size_t)(p - start));
    }
    if (!*name) {
        free(name);
        *why = xstrdup("expected a key before \"=\" (write \"=\" and keys with blanks in quotes)");
        return NULL;
    }
    for (const char *c = name; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            char *shown = showz(name);
            *why = xasprintf("invalid key %s: control characters are not allowed", shown);
            free(shown);
            free(name);
            return NULL;
        }
    }
    *pp = p;
    return name;
}

/* A line of a section with a "*" entry: any key, as read_free_key reads it. */
static int parse_free_assignment(struct parse *ps, int line, const char *p, const char *end)
{
    char *why = NULL;
    const char *q = p;
    char *name = read_free_key(&q, end, &why);
    if (!name)
        return fail_why(ps, line, why);
    const char *eq = skip_blanks(q, end);
    if (eq == end || *eq != '=') {
        free(name);
        return fail_not_assignment(ps, line, p, end);
    }
    const struct config_key *key = find_key(ps->schema, ps->section, name, strlen(name));
    return add_assignment(ps, line, key, name, eq + 1, end);
}

static int parse_assignment(struct parse *ps, int line, const char *p, const char *end)
{
    if (ps->section && is_free_section(ps->schema, ps->section))
        return parse_free_assignment(ps, line, p, end);
    const char *k = p;
    while (p < end && !is_blank(*p) && *p != '=')
        p++;
    const char *ke = p;
    const char *eq = skip_blanks(p, end);
    if (eq == end || *eq != '=')
        return fail_not_assignment(ps, line, k, end);
    size_t klen = (size_t)(ke - k);
    if (!valid_name(k, klen)) {
        char *shown = show(k, klen);
        const char *dot = memchr(k, '.', klen);
        int r;
        if (dot && dot > k && valid_name(k, (size_t)(dot - k)) &&
            valid_name(dot + 1, (size_t)(ke - dot - 1)))
            r = fail(ps, line, "invalid key %s: in a file, write \"%.*s = ...\" under [%.*s]",
                     shown, (int)(ke - dot - 1), dot + 1, (int)(dot - k), k);
        else
            r = fail(ps, line, "invalid key %s: use letters, digits, '_' and '-' only", shown);
        free(shown);
        return r;
    }
    if (!ps->section)
        return fail(ps, line,
                    "key \"%.*s\" is outside any section: put it under a [section] header",
                    (int)klen, k);
    const struct config_key *key = find_key(ps->schema, ps->section, k, klen);
    if (!key) {
        char *why = unknown_key_why(ps->schema, ps->section, k, klen);
        int r = fail(ps, line, "%s.%.*s: %s", ps->section, (int)klen, k, why);
        free(why);
        return r;
    }
    return add_assignment(ps, line, key, xstrndup(k, klen), eq + 1, end);
}

static int parse_line(struct parse *ps, int line, const char *p, const char *end)
{
    p = skip_blanks(p, end);
    if (p == end || is_comment(p, end))
        return 0;
    if (*p == '[')
        return parse_section(ps, line, p, end);
    return parse_assignment(ps, line, p, end);
}

static int parse_text(struct parse *ps, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3; /* a UTF-8 byte order mark some editors write */
    for (int line = 1; p < end; line++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (memchr(p, '\0', (size_t)(le - p)))
            return fail(ps, line, "the line contains a NUL byte: not a text file?");
        const char *content_end = le > p && le[-1] == '\r' ? le - 1 : le;
        int r = parse_line(ps, line, p, content_end);
        if (r != 0)
            return r;
        p = nl ? nl + 1 : end;
    }
    return 0;
}

static void free_items(struct parse *ps)
{
    for (size_t i = 0; i < ps->count; i++) {
        free((char *)ps->items[i].value.name);
        free((char *)ps->items[i].value.str);
    }
    free(ps->items);
}

static void give_error(char *msg, char **error)
{
    if (error)
        *error = msg;
    else
        free(msg);
}

int config_load_string(const char *text, size_t len, const char *name,
                       const struct config_key *schema, void *target, char **error)
{
    struct parse ps = {.name = name, .schema = schema};
    int r = parse_text(&ps, text, len);
    /* Setters first: they are the only stores that can refuse, and when
     * one does, no field has changed yet. */
    for (int setters = 1; setters >= 0; setters--) {
        for (size_t i = 0; r == 0 && i < ps.count; i++) {
            const struct assignment *a = &ps.items[i];
            char *why = NULL;
            if ((a->key->set != NULL) == setters && store(a->key, target, &a->value, &why) != 0)
                r = fail_key(&ps, a->line, a->key->section, a->value.name, why);
        }
    }
    free_items(&ps);
    if (r != 0)
        give_error(ps.error, error);
    return r;
}

int config_load_file(const char *path, const struct config_key *schema, void *target, char **error)
{
    uint8_t *data;
    size_t len;
    int r = fs_read_file(path, CONFIG_MAX_FILE_SIZE, &data, &len);
    if (r == -EFBIG) {
        give_error(xasprintf("%s: larger than %u bytes: not a configuration file", path,
                             CONFIG_MAX_FILE_SIZE),
                   error);
        return r;
    }
    if (r < 0) {
        give_error(xasprintf("%s: %s", path, strerror(-r)), error);
        return r;
    }
    r = config_load_string((const char *)data, len, path, schema, target, error);
    free(data);
    return r;
}

/* The parts of an -o option "section.key=value". */
struct option_parts {
    char *section, *name; /* the key unquoted */
    char *typed;          /* "section.key" as typed, for messages */
    const char *value;    /* the text after '=' (in the option) */
};

static void option_parts_free(struct option_parts *o)
{
    free(o->section);
    free(o->name);
    free(o->typed);
}

/* Splits option into o: the key is the text between the first '.' and the
 * first '=', without blanks around it, or a quoted string after the '.'
 * (section."=" = x). Returns 0, or -1 with *why set. */
static int split_option(const char *option, struct option_parts *o, char **why)
{
    const char *end = option + strlen(option);
    const char *ds = skip_blanks(option, end);
    const char *eq = strchr(ds, '=');
    const char *dot = eq ? memchr(ds, '.', (size_t)(eq - ds)) : NULL;
    const char *ke = dot ? trim_end(dot + 1, eq) : NULL;
    char *name = NULL;
    if (dot && dot[1] == '"') {
        const char *q = dot + 1;
        char *qwhy = NULL;
        name = read_quoted(&q, end, "key", &qwhy);
        if (!name) {
            char *shown = showz(option);
            *why = xasprintf("%s: %s", shown, qwhy);
            free(shown);
            free(qwhy);
            return -1;
        }
        ke = q;
        eq = skip_blanks(q, end);
        if (eq == end || *eq != '=')
            dot = NULL;
    }
    if (!dot) {
        free(name);
        char *shown = showz(option);
        *why = xasprintf("%s: expected section.key=value", shown);
        free(shown);
        return -1;
    }
    o->section = xstrndup(ds, (size_t)(dot - ds));
    o->name = name ? name : xstrndup(dot + 1, (size_t)(ke - dot - 1));
    o->typed = xstrndup(ds, (size_t)(ke - ds));
    o->value = eq + 1;
    return 0;
}

/* "unknown key ..." for an -o option naming no entry. */
static char *unknown_option_why(const struct config_key *schema, const char *typed)
{
    struct names nm = {0};
    for (const struct config_key *k = schema; k->section; k++) {
        char *full = xasprintf("%s.%s", k->section, k->name);
        names_add(&nm, typed, strlen(typed), full);
        free(full);
    }
    char *shown = showz(typed);
    char *why = nm.best ? xasprintf("unknown key %s; did you mean \"%s\"?", shown, nm.best)
                        : xasprintf("unknown key %s (keys: %s)", shown, nm.list ? nm.list : "none");
    free(shown);
    names_free(&nm);
    return why;
}

int config_set_option(const struct config_key *schema, void *target, const char *option,
                      char **error)
{
    struct option_parts o = {0};
    char *why = NULL;
    if (split_option(option, &o, &why) != 0) {
        give_error(why, error);
        return CONFIG_EINVALID;
    }
    const struct config_key *sec = find_section(schema, o.section, strlen(o.section));
    const struct config_key *key =
        sec ? find_key(schema, sec->section, o.name, strlen(o.name)) : NULL;
    if (!key) {
        give_error(unknown_option_why(schema, o.typed), error);
        option_parts_free(&o);
        return CONFIG_EINVALID;
    }
    char *text = read_value(o.value, o.value + strlen(o.value), false, &why);
    struct config_value v;
    int r = 0;
    if (!text || convert(key, o.name, text, &v, &why) != 0 || store(key, target, &v, &why) != 0) {
        char *dotted = dotted_name(key->section, o.name);
        give_error(xasprintf("%s: %s", dotted, why), error);
        free(dotted);
        free(why);
        r = CONFIG_EINVALID;
    }
    free(text);
    option_parts_free(&o);
    return r;
}

/* ---- defaults, strings, schema checks ---- */

int config_set_defaults(const struct config_key *schema, void *target, char **error)
{
    for (const struct config_key *k = schema; k->section; k++) {
        if (!k->def)
            continue;
        struct config_value v;
        char *why = NULL;
        if (convert(k, k->name, k->def, &v, &why) != 0 || store(k, target, &v, &why) != 0) {
            give_error(xasprintf("default of %s.%s: %s", k->section, k->name, why), error);
            free(why);
            return CONFIG_EINVALID;
        }
    }
    return 0;
}

void config_free_strings(const struct config_key *schema, void *target)
{
    for (const struct config_key *k = schema; k->section; k++) {
        if (k->type == CONFIG_STRING && !k->set) {
            char **s = (char **)(void *)((char *)target + k->offset);
            free(*s);
            *s = NULL;
        }
    }
}

/* Why a table entry is wrong, or NULL. */
static char *check_key(const struct config_key *schema, const struct config_key *k)
{
    if (!valid_name(k->section, strlen(k->section)) || !k->name ||
        !(valid_name(k->name, strlen(k->name)) || strcmp(k->name, FREE_KEY) == 0))
        return xstrdup("invalid section or key name");
    if (strcmp(k->name, FREE_KEY) == 0 && (!k->set || k->def))
        return xstrdup("a \"*\" entry needs a setter and has no default");
    for (const struct config_key *o = schema; o != k; o++)
        if (strcmp(o->section, k->section) == 0 && strcmp(o->name, k->name) == 0)
            return xstrdup("declared twice");
    if (!k->doc || !*k->doc)
        return xstrdup("no description (doc)");
    switch (k->type) {
    case CONFIG_STRING:
    case CONFIG_BOOL:
        break;
    case CONFIG_INT:
        if (k->min > k->max || k->min < INT_MIN || k->max > INT_MAX)
            return xstrdup("bounds must satisfy INT_MIN <= min <= max <= INT_MAX");
        break;
    case CONFIG_SIZE:
        if (k->min < 0 || k->min > k->max)
            return xstrdup("bounds must satisfy 0 <= min <= max");
        break;
    case CONFIG_ENUM:
        if (!k->words || !k->words[0])
            return xstrdup("an enum needs at least one word");
        break;
    default:
        return xstrdup("unknown type");
    }
    if (k->def) {
        struct config_value v;
        char *why = NULL;
        if (convert(k, k->name, k->def, &v, &why) != 0) {
            char *msg = xasprintf("default: %s", why);
            free(why);
            return msg;
        }
    }
    return NULL;
}

int config_check_schema(const struct config_key *schema, char **error)
{
    for (const struct config_key *k = schema; k->section; k++) {
        char *why = check_key(schema, k);
        if (why) {
            give_error(xasprintf("%s.%s: %s", k->section, k->name ? k->name : "(null)", why),
                       error);
            free(why);
            return CONFIG_EINVALID;
        }
    }
    return 0;
}

const char *config_strerror(int err)
{
    if (err == CONFIG_EINVALID)
        return "invalid configuration";
    return strerror(-err);
}
