/* help: the lines of the help screen (`?`): every key binding as it is
 * now (after chorus.conf's [keys]), then every command of the table, so
 * the screen never disagrees with the key map or with chorus(1). */
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "core/cmd.h"
#include "internal.h"

struct lines {
    char **v;
    int n;
};

static void add(struct lines *l, char *line)
{
    l->v = xrealloc(l->v, (size_t)(l->n + 1) * sizeof(*l->v));
    l->v[l->n++] = line;
}

/* The help line of the command a binding runs ("" for a line the table
 * does not know, which keymap_bind does not let in). */
static const char *help_of(const char *line)
{
    struct cmd *c = NULL;
    if (cmd_parse(line, &c, NULL) != 0)
        return "";
    const struct cmd_def *d = cmd_def_of(c->id);
    cmd_free(c);
    return d ? d->help : "";
}

/* One line per distinct command line, its keys together ("j, down"). */
static void add_keys(struct lines *l, const struct keymap *keys)
{
    const int *codes;
    const char *const *bound;
    size_t n = keymap_list(keys, &codes, &bound);
    for (size_t i = 0; i < n; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(bound[i], bound[j]) == 0;
        if (seen)
            continue;
        char *names = keymap_keys_for(keys, bound[i]);
        add(l, xasprintf("  %-16s %-20s %s", names, bound[i], help_of(bound[i])));
        free(names);
    }
}

static void add_commands(struct lines *l, bool ui)
{
    for (const struct cmd_def *d = cmd_table(); d->name; d++) {
        if (((d->flags & CMD_F_UI) != 0) != ui)
            continue;
        char *usage = *d->args ? xasprintf("%s %s", d->name, d->args) : xstrdup(d->name);
        add(l, xasprintf("  :%-40s %s", usage, d->help));
        free(usage);
    }
}

int help_build(const struct keymap *keys, char ***lines)
{
    struct lines l = {0};
    add(&l, xstrdup("Keys (rebind them in chorus.conf, section [keys])"));
    add_keys(&l, keys);
    add(&l, xstrdup(""));
    add(&l, xstrdup("Commands of the player (the : line, key bindings and chorus remote)"));
    add_commands(&l, false);
    add(&l, xstrdup(""));
    add(&l, xstrdup("Commands of the TUI (the : line and key bindings)"));
    add_commands(&l, true);
    *lines = l.v;
    return l.n;
}

void help_free(char **lines, int n)
{
    for (int i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}
