/* config: the parser of chorus.conf files and -o overrides (the format is
 * documented for users in man/chorus.conf.5; keep the two in step).
 *
 * Generic and schema-driven: it knows no Chorus key. A consumer declares a
 * table of struct config_key (section, name, type, where the value goes, a
 * default, one line of documentation) ending with CONFIG_END, and a target
 * struct the values are stored into. core/settings.c holds the player's
 * table.
 *
 * The format, in short:
 *
 *   # comment            ; comment too
 *   [section]
 *   key = value          # a comment after whitespace
 *   key = "quoted \"value\" with \\ and # kept"
 *
 * Types and their stored C types:
 *   CONFIG_STRING  char *    (heap, owned by the target; see below)
 *   CONFIG_INT     int       decimal, within [min, max]; or unsigned
 *                            (CONFIG_UINT_KEY: min >= 0)
 *   CONFIG_SIZE    uint64_t  bytes; suffix K, M, G or T (1K = 1024), within [min, max]
 *   CONFIG_BOOL    bool      yes/no, true/false, on/off, 1/0 (any case)
 *   CONFIG_ENUM    int       the index of the word in words (any case);
 *                            the field may be an enum of int size
 *
 * Free-form sections: an entry whose name is "*" stands for any key of its
 * section (chorus.conf's [keys]: "j = win-down", "F5 = view peers"). Such
 * an entry needs a setter, which gets the key as written in
 * config_value.name; it has no default. In a free-form section a key is
 * any run of printable characters up to a blank or '=' ("^F", "<", "+"),
 * or a quoted string like a quoted value ("=", "#", ";" and keys with
 * blanks are written in quotes); -o takes it as section.key=value or
 * section."key"=value. A key of the section's own (not "*") is matched
 * first. Each key, as written, may be set once per text, as any other.
 *
 * Loading is all-or-nothing: every line is parsed and checked first (the
 * type, the bounds and a key's check callback), and the target changes
 * only if the whole text is valid. Setter callbacks run before any field
 * is stored, so if one refuses its value no field has changed (only the
 * setters called before it have run: a setter should check before it
 * changes anything, and a value that can be wrong is best refused by a
 * check callback, which runs before any setter).
 *
 * Errors: functions return 0 or a negative code (CONFIG_EINVALID for bad
 * text, -errno for I/O) and, when error is not NULL, set *error to one
 * line for the user, owned by the caller (free), e.g.
 *   chorus.conf:12: cache.size: expected a size like 512M or 2G, got "lots"
 * Nothing here logs. Any thread; no shared state (tables are read-only). */
#ifndef CHORUS_CORE_CONFIG_H
#define CHORUS_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum config_type {
    CONFIG_STRING,
    CONFIG_INT,
    CONFIG_SIZE,
    CONFIG_BOOL,
    CONFIG_ENUM,
};

/* Errors (negative). Others are -errno (-ENOENT: the file does not exist). */
enum {
    CONFIG_EINVALID = -1200, /* the text is not valid: *error says where and why */
};

/* A parsed, checked value as handed to a setter or a check. */
struct config_value {
    const char *name; /* the key as written: the entry's name, or for "*" the file's
                         (unquoted; valid during the call only) */
    const char *str;  /* the text after unquoting (valid during the call only) */
    int64_t num;      /* INT: the number; SIZE: bytes; BOOL: 0 or 1; ENUM: word index */
};

struct config_key;

/* Checks a value as the text is parsed, before anything is stored (so a
 * refusal leaves the target as it was). Returns 0, or -1 and sets *why to
 * a new string (freed by the parser) such as "expected red or blue". */
typedef int (*config_check_fn)(const struct config_key *key, const struct config_value *value,
                               char **why);

/* Stores value into target in its own way. Returns 0, or -1 and sets *why
 * to a new string (freed by the parser) such as "expected host:port". */
typedef int (*config_set_fn)(void *target, const struct config_key *key,
                             const struct config_value *value, char **why);

struct config_key {
    const char *section;      /* "log": letters, digits, '_', '-' */
    const char *name;         /* "level": the same characters; "*": any key (see above) */
    enum config_type type;    /* how the text is parsed and checked */
    size_t offset;            /* where the value is stored in the target... */
    config_set_fn set;        /* ...unless this is set: then it is called instead */
    config_check_fn check;    /* optional: a further check of the value at parse time */
    int64_t min, max;         /* INT and SIZE: inclusive bounds */
    const char *const *words; /* ENUM: the allowed words, NULL-terminated */
    const char *def;          /* the default, written as in a file; NULL: none */
    const char *doc;          /* one line describing the key */
};

/* The entry that ends a table. */
#define CONFIG_END                                                                                 \
    {                                                                                              \
        .section = NULL                                                                            \
    }

/* offsetof(T, field), refused by the compiler unless the field has type
 * ctype: a table entry cannot silently store the wrong width. */
#define CONFIG_FIELD(T, field, ctype) _Generic(((T *)0)->field, ctype : offsetof(T, field))
#define CONFIG_INT_SIZED_FIELD(T, field)                                                           \
    (offsetof(T, field) + 0 * sizeof(char[sizeof(((T *)0)->field) == sizeof(int) ? 1 : -1]))

/* One-line table entries (T: the target struct type). */
#define CONFIG_STRING_KEY(sec, key, T, field, def_, doc_)                                          \
    {                                                                                              \
        .section = (sec), .name = (key), .type = CONFIG_STRING,                                    \
        .offset = CONFIG_FIELD(T, field, char *), .def = (def_), .doc = (doc_)                     \
    }
#define CONFIG_INT_KEY(sec, key, T, field, lo, hi, def_, doc_)                                     \
    {                                                                                              \
        .section = (sec), .name = (key), .type = CONFIG_INT,                                       \
        .offset = CONFIG_FIELD(T, field, int), .min = (lo), .max = (hi), .def = (def_),            \
        .doc = (doc_)                                                                              \
    }
/* A CONFIG_INT key stored into an unsigned field: the bounds keep the
 * value within both types (lo >= 0 is checked here, hi <= INT_MAX by
 * config_check_schema), and C lets an int lvalue store into an unsigned
 * object. */
#define CONFIG_UINT_KEY(sec, key, T, field, lo, hi, def_, doc_)                                    \
    {                                                                                              \
        .section = (sec), .name = (key), .type = CONFIG_INT,                                       \
        .offset = CONFIG_FIELD(T, field, unsigned) + 0 * sizeof(char[(lo) >= 0 ? 1 : -1]),         \
        .min = (lo), .max = (hi), .def = (def_), .doc = (doc_)                                     \
    }
#define CONFIG_SIZE_KEY(sec, key, T, field, lo, hi, def_, doc_)                                    \
    {                                                                                              \
        .section = (sec), .name = (key), .type = CONFIG_SIZE,                                      \
        .offset = CONFIG_FIELD(T, field, uint64_t), .min = (lo), .max = (hi), .def = (def_),       \
        .doc = (doc_)                                                                              \
    }
#define CONFIG_BOOL_KEY(sec, key, T, field, def_, doc_)                                            \
    {                                                                                              \
        .section = (sec), .name = (key), .type = CONFIG_BOOL,                                      \
        .offset = CONFIG_FIELD(T, field, bool), .def = (def_), .doc = (doc_)                       \
    }
#define CONFIG_ENUM_KEY(sec, key, T, field, words_, def_, doc_)                                    \
    {                                                                                              \
        .section = (sec), .name = (key), .type = CONFIG_ENUM,                                      \
        .offset = CONFIG_INT_SIZED_FIELD(T, field), .words = (words_), .def = (def_),              \
        .doc = (doc_)                                                                              \
    }

/* Size units for bounds: 64 * CONFIG_MIB. */
#define CONFIG_KIB ((int64_t)1 << 10)
#define CONFIG_MIB ((int64_t)1 << 20)
#define CONFIG_GIB ((int64_t)1 << 30)
#define CONFIG_TIB ((int64_t)1 << 40)

/* Largest file config_load_file reads (-EFBIG beyond). */
#define CONFIG_MAX_FILE_SIZE (1u << 20)

/* String fields: the target owns its char * fields. Before the first load
 * they must be NULL or heap strings (free()-able); a load frees the value
 * it replaces. config_free_strings releases them all. */

/* Stores the default of every key that has one (CONFIG_INT keys etc. are
 * parsed as if read from a file; keys with def NULL are left alone). An
 * error here is a bug in the table; *error names the key. */
int config_set_defaults(const struct config_key *schema, void *target, char **error);

/* Parses the file at path into target. name in messages: path as given.
 * A file that does not exist returns -ENOENT (with *error set): the caller
 * decides whether that matters. */
int config_load_file(const char *path, const struct config_key *schema, void *target, char **error);

/* Parses text (len bytes, need not be NUL-terminated); name is what
 * messages call it (e.g. "chorus.conf"). */
int config_load_string(const char *text, size_t len, const char *name,
                       const struct config_key *schema, void *target, char **error);

/* Applies one "section.key=value" (a -o option on a command line): the
 * value has the same syntax as in a file (quotes optional) except that
 * '#' and ';' do not start a comment. Spaces around '=' are allowed. */
int config_set_option(const struct config_key *schema, void *target, const char *option,
                      char **error);

/* Frees the target's string fields (offset-stored CONFIG_STRING keys) and
 * sets them to NULL. */
void config_free_strings(const struct config_key *schema, void *target);

/* The entry for "section.key" (the section's "*" entry for a key it does
 * not name), or NULL. */
const struct config_key *config_find(const struct config_key *schema, const char *dotted);

/* Checks a table for mistakes (bad names, duplicates, empty word lists,
 * min > max, an INT bound beyond int, a default that does not parse, a
 * "*" entry without a setter or with a default). For tests. */
int config_check_schema(const struct config_key *schema, char **error);

/* "EXPECTED, got "TEXT"": a refusal as the parser words its own, with
 * TEXT escaped and cut as the parser shows values. For setters and check
 * callbacks; the caller owns the string. */
char *config_why_got(const char *expected, const char *text);

/* Text for an error code. */
const char *config_strerror(int err);

#endif
