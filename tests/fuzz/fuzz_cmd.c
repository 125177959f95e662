/* fuzz_cmd: libFuzzer target for the command line parser.
 *
 * The input is one line (cut at its first NUL). cmd_parse must either
 * give a command whose fields fit its id (a row of the table, strings
 * where the syntax puts them, positions >= 0, volume within 100) or
 * refuse with CMD_EUSAGE and one short printable message. cmd_split and
 * cmd_quote must round-trip: the words of the line, each quoted and joined
 * by spaces, split back into the same words, and that line parses to the
 * same answer. ASan and UBSan watch every read and every arithmetic step.
 * Built only with -DCHORUS_FUZZ=ON (clang). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cmd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_str(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_cmd(const struct cmd *x, const struct cmd *y)
{
    return x->id == y->id && x->what == y->what && same_str(x->text, y->text) &&
           same_str(x->text2, y->text2) && x->track_id == y->track_id && x->a == y->a &&
           x->b == y->b && x->relative == y->relative;
}

static bool takes_what(enum cmd_id id)
{
    return id == CMD_PLAY || id == CMD_QUEUE_ADD || id == CMD_QUEUE_INSERT ||
           id == CMD_PLAYLIST_ADD;
}

static bool filled(const char *s)
{
    return s && s[strspn(s, " \t\n\r\v\f")] != '\0';
}

/* The fields fit the id, as core/cmd.h's syntax says. */
static void check_cmd(const struct cmd *c)
{
    const struct cmd_def *def = cmd_def_of(c->id);
    if (!def || def->id != c->id)
        abort();
    if (takes_what(c->id) != (c->what != CMD_WHAT_NONE))
        abort();
    const char *query = c->id == CMD_PLAYLIST_ADD ? c->text2 : c->text;
    if (c->what == CMD_WHAT_QUERY && !filled(query))
        abort();
    if (c->what == CMD_WHAT_TRACK && c->track_id == 0)
        abort();
    if (c->text2 && c->id != CMD_PLAYLIST_RENAME && c->what != CMD_WHAT_QUERY)
        abort();
    bool named = c->id >= CMD_PLAYLIST_CREATE && c->id <= CMD_PLAYLIST_LOAD;
    if (named && !filled(c->text))
        abort();
    switch (c->id) {
    case CMD_QUEUE_INSERT:
    case CMD_QUEUE_REMOVE:
    case CMD_QUEUE_MOVE:
    case CMD_PLAYLIST_REMOVE:
    case CMD_PLAYLIST_MOVE:
        if (c->a < 0 || c->b < 0)
            abort();
        break;
    case CMD_VOLUME:
        if (c->a < -100 || c->a > 100 || (!c->relative && c->a < 0))
            abort();
        break;
    case CMD_SEARCH:
        if (!filled(c->text))
            abort();
        break;
    case CMD_BROWSE:
        if (c->a < CMD_BROWSE_ARTISTS || c->a > CMD_BROWSE_TRACKS ||
            (c->a != CMD_BROWSE_ARTISTS) != (c->b > 0))
            abort();
        break;
    default:
        break;
    }
}

/* A refusal is CMD_EUSAGE with one short printable line. */
static void check_refusal(int rc, const struct cmd *c, const char *error)
{
    if (rc != CMD_EUSAGE || c || !error || !*error || strlen(error) > 400)
        abort();
    for (const char *p = error; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            abort();
}

/* The words, each quoted, joined by spaces (owned by the caller). */
static char *requote(char **words, int n)
{
    size_t len = 1, used = 0;
    char *line = malloc(len);
    line[0] = '\0';
    for (int i = 0; i < n; i++) {
        char *q = cmd_quote(words[i]);
        size_t ql = strlen(q);
        line = realloc(line, len + ql + 1);
        if (i)
            line[used++] = ' ';
        memcpy(line + used, q, ql + 1);
        used += ql;
        len += ql + 1;
        free(q);
    }
    return line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *line = malloc(size + 1);
    memcpy(line, data, size);
    line[size] = '\0';

    struct cmd *c;
    char *error;
    int rc = cmd_parse(line, &c, &error);
    if (rc == 0) {
        if (!c || error)
            abort();
        check_cmd(c);
    } else {
        check_refusal(rc, c, error);
    }

    char **words;
    char *split_error;
    int n = cmd_split(line, &words, &split_error);
    if (n >= 0) {
        char *again_line = requote(words, n);
        char **again;
        int m = cmd_split(again_line, &again, NULL);
        if (m != n)
            abort();
        for (int i = 0; i < n; i++)
            if (strcmp(words[i], again[i]) != 0)
                abort();
        struct cmd *c2;
        char *error2;
        int rc2 = cmd_parse(again_line, &c2, &error2);
        if (rc2 != rc || (rc == 0 && !same_cmd(c, c2)) || (rc != 0 && strcmp(error, error2) != 0))
            abort();
        cmd_free(c2);
        free(error2);
        cmd_words_free(again, m);
        cmd_words_free(words, n);
        free(again_line);
    } else {
        check_refusal(n, NULL, split_error);
        free(split_error);
    }

    cmd_free(c);
    free(error);
    free(line);
    return 0;
}
