/* paths: the XDG base directories of one program (see core/paths.h).
 *
 * Owns four strings computed once from the environment (or from a root
 * directory) in paths_new; read-only afterwards, so any thread may use it.
 * Must never create anything behind the caller's back: directories appear
 * only through paths_ensure. */
#include "base/paths.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"

struct paths {
    char *dir[PATHS_KIND_COUNT];
};

static const struct {
    const char *env;      /* XDG variable */
    const char *fallback; /* under $HOME */
    const char *rooted;   /* under the root of paths_new_rooted */
} kinds[PATHS_KIND_COUNT] = {
    [PATHS_CONFIG] = {"XDG_CONFIG_HOME", ".config", "config"},
    [PATHS_DATA] = {"XDG_DATA_HOME", ".local/share", "data"},
    [PATHS_CACHE] = {"XDG_CACHE_HOME", ".cache", "cache"},
    [PATHS_STATE] = {"XDG_STATE_HOME", ".local/state", "state"},
};

static bool valid_app(const char *app)
{
    return app && *app && !strchr(app, '/') && strcmp(app, ".") != 0 && strcmp(app, "..") != 0;
}

char *paths_join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    bool slash = n > 0 && dir[n - 1] == '/';
    return xasprintf("%s%s%s", dir, slash || n == 0 ? "" : "/", name);
}

/* base/sub/app (or base/app when sub is NULL), without the trailing
 * slashes of base: "/" + "chorus" gives "/chorus", not "//chorus". */
static char *under(const char *base, const char *sub, const char *app)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (sub)
        return xasprintf("%.*s/%s/%s", (int)n, base, sub, app);
    return xasprintf("%.*s/%s", (int)n, base, app);
}

static void set_err(int *err, int value)
{
    if (err)
        *err = value;
}

struct paths *paths_new(const char *app, int *err)
{
    if (!valid_app(app)) {
        set_err(err, -EINVAL);
        return NULL;
    }
    const char *home = getenv("HOME");
    bool home_ok = home && home[0] == '/';

    struct paths *p = xcalloc(1, sizeof(*p));
    for (int k = 0; k < PATHS_KIND_COUNT; k++) {
        const char *xdg = getenv(kinds[k].env);
        if (xdg && xdg[0] == '/') {
            p->dir[k] = under(xdg, NULL, app);
        } else if (home_ok) {
            p->dir[k] = under(home, kinds[k].fallback, app);
        } else {
            paths_free(p);
            set_err(err, PATHS_ENOHOME);
            return NULL;
        }
    }
    set_err(err, 0);
    return p;
}

struct paths *paths_new_rooted(const char *root, const char *app, int *err)
{
    if (!valid_app(app) || !root || !*root) {
        set_err(err, -EINVAL);
        return NULL;
    }
    struct paths *p = xcalloc(1, sizeof(*p));
    for (int k = 0; k < PATHS_KIND_COUNT; k++)
        p->dir[k] = under(root, kinds[k].rooted, app);
    set_err(err, 0);
    return p;
}

void paths_free(struct paths *p)
{
    if (!p)
        return;
    for (int k = 0; k < PATHS_KIND_COUNT; k++)
        free(p->dir[k]);
    free(p);
}

const char *paths_dir(const struct paths *p, enum paths_kind kind)
{
    return p->dir[kind];
}

int paths_ensure(const struct paths *p, enum paths_kind kind)
{
    return fs_mkdir_p(p->dir[kind], 0700);
}

char *paths_file(const struct paths *p, enum paths_kind kind, const char *name)
{
    return paths_join(p->dir[kind], name);
}

const char *paths_strerror(int err)
{
    if (err == PATHS_ENOHOME)
        return "HOME is not set to an absolute path (and no XDG_*_HOME variable replaces it)";
    return strerror(-err);
}
