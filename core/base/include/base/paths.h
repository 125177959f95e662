/* paths: where Chorus keeps its files, after the XDG Base Directory
 * Specification (DESIGN.md §9).
 *
 * Four directories, each the base directory joined with the program's name
 * ("chorus" or "chorusd"):
 *
 *   kind          variable          fallback
 *   PATHS_CONFIG  $XDG_CONFIG_HOME  $HOME/.config        chorus.conf
 *   PATHS_DATA    $XDG_DATA_HOME    $HOME/.local/share   databases
 *   PATHS_CACHE   $XDG_CACHE_HOME   $HOME/.cache         the chunk cache
 *   PATHS_STATE   $XDG_STATE_HOME   $HOME/.local/state   the log
 *
 * As the specification says, a variable that is unset, empty or not an
 * absolute path is ignored and the fallback is used. $HOME is needed only
 * for the fallbacks, and must then be an absolute path.
 *
 * paths_new reads the environment once; nothing is created until
 * paths_ensure is called. Errors are negative: PATHS_ENOHOME or -errno;
 * paths_strerror turns them into text. Nothing here logs. Any thread (the
 * object is read-only after creation). */
#ifndef CHORUS_CORE_PATHS_H
#define CHORUS_CORE_PATHS_H

enum paths_kind { PATHS_CONFIG, PATHS_DATA, PATHS_CACHE, PATHS_STATE, PATHS_KIND_COUNT };

/* Errors (negative). Others are -errno. */
enum {
    PATHS_ENOHOME = -1100, /* a directory needs $HOME, which is unset or not absolute */
};

struct paths;

/* The directories of program app from the environment. app must be a
 * non-empty name without '/' (else -EINVAL). Returns NULL and sets *err
 * (may be NULL) on failure. The caller owns the result (paths_free). */
struct paths *paths_new(const char *app, int *err);

/* The same four directories, all under root instead of the environment:
 * root/config/app, root/data/app, root/cache/app, root/state/app. For the
 * demo, tests and the benchmark, which run many peers in one process, each
 * in its own tree. root is copied. Returns NULL and sets *err (may be NULL)
 * when app is invalid or root is empty. */
struct paths *paths_new_rooted(const char *root, const char *app, int *err);

/* NULL is ignored. */
void paths_free(struct paths *p);

/* The directory of a kind, without a trailing '/'. Owned by p, valid until
 * paths_free. */
const char *paths_dir(const struct paths *p, enum paths_kind kind);

/* Creates the directory of a kind and its missing parents (mode 0700 for
 * the ones it creates; existing ones are left alone). Returns 0 or -errno
 * (-ENOTDIR when something in the way is not a directory). */
int paths_ensure(const struct paths *p, enum paths_kind kind);

/* dir + "/" + name as a new string owned by the caller (no doubled '/'
 * when dir already ends with one). name is relative. */
char *paths_join(const char *dir, const char *name);

/* paths_join(paths_dir(p, kind), name). Owned by the caller. */
char *paths_file(const struct paths *p, enum paths_kind kind, const char *name);

/* Text for an error returned above. */
const char *paths_strerror(int err);

#endif
