/* model: what the TUI shows and what its keys make of it (ui/model.h).
 *
 * It owns every list the engine answered (library, playlists, queue,
 * search results), the log ring and the cursors, and turns the TUI's own
 * commands into engine command lines. It never talks to the engine:
 * tui.c sends the lines model_wants and model_action return and hands
 * back their answers (model_on_result) and the engine's events
 * (model_on_event).
 *
 * A list that changed in the engine is asked again while its old rows
 * stay on screen (the "again" set below), and a cursor stays on the same
 * item (track, artist, album, playlist) when a list is replaced. The
 * commands that edit the queue or a playlist also edit the rows here at
 * once, so that two keys pressed before the engine's answer act on the
 * rows the user sees; the engine's answer then replaces them.
 *
 * This file owns the model's life, the snapshot, the log ring, the
 * engine's events, what to ask (the asked and again sets) and the names
 * of model_names; ui/model_internal.h says which file owns the rest.
 *
 * Threads: the UI's only. Never does I/O nor calls the engine; it reads
 * the clock only to date the log lines about answers (which carry no
 * time). */
#include "ui/model.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "model_internal.h"

/* What model_names hands out: pointers into the model's own strings. */
enum { NAMES_TRACKS, NAMES_ARTISTS, NAMES_PLAYLISTS, NAMES_KINDS };

struct ui_model_internal {
    /* lines whose answer is on screen but out of date: asked again by
     * model_wants when what they answer is on screen */
    char **again;
    size_t nagain;
    int service; /* the last enum mq_service_state seen; -1: none yet */
    bool names_stale;
    const char **names[NAMES_KINDS];
    size_t nnames[NAMES_KINDS];
};

/* ---- arrays of owned strings (asked, again, the lines returned) ---- */

static void strv_push(char ***v, size_t *n, char *owned)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[(*n)++] = owned;
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

/* Adds a copy of s unless it is there. */
static void strv_add(char ***v, size_t *n, const char *s)
{
    if (!strv_has(*v, *n, s))
        strv_push(v, n, xstrdup(s));
}

static void strv_remove(char ***v, size_t *n, const char *s)
{
    for (size_t i = 0; i < *n; i++) {
        if (strcmp((*v)[i], s) == 0) {
            free((*v)[i]);
            memmove(&(*v)[i], &(*v)[i + 1], (*n - i - 1) * sizeof(**v));
            (*n)--;
            return;
        }
    }
}

static void strv_free(char ***v, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

char *model_vformat(const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    int len = vsnprintf(NULL, 0, fmt, copy);
    va_end(copy);
    if (len < 0)
        return xstrdup(fmt);
    char *s = xmalloc((size_t)len + 1);
    vsnprintf(s, (size_t)len + 1, fmt, ap);
    return s;
}

long model_fail(char **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *error = model_vformat(fmt, ap);
    va_end(ap);
    return -1;
}

void model_lines_push(struct model_lines *l, char *owned)
{
    strv_push(&l->v, &l->n, owned);
}

void model_lines_add(struct model_lines *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    model_lines_push(l, model_vformat(fmt, ap));
    va_end(ap);
}

void model_lines_free(struct model_lines *l)
{
    strv_free(&l->v, &l->n);
}

char *model_playlist_line(const char *words, const char *name, const char *tail)
{
    char *quoted = cmd_quote(name);
    char *line = xasprintf("%s %s%s", words, quoted, tail);
    free(quoted);
    return line;
}

/* "playlist list NAME": the tracks of a playlist. */
static char *playlist_tracks_line(const char *name)
{
    return model_playlist_line("playlist list", name, "");
}

/* "browse albums #ID" (what: "albums") or "browse tracks #ID". */
static char *browse_line(const char *what, uint64_t id)
{
    return xasprintf("browse %s #%llu", what, (unsigned long long)id);
}

/* ---- the log ---- */

static void log_push(struct ui_model *m, bool error, int64_t now, char *text)
{
    size_t slot;
    if (m->nlog < UI_LOG_MAX) {
        slot = (m->log_start + m->nlog++) % UI_LOG_MAX;
    } else {
        /* the oldest goes: the rows below it move up by one */
        slot = m->log_start;
        free(m->log[slot].text);
        m->log_start = (m->log_start + 1) % UI_LOG_MAX;
        if (!m->log_follow && m->log_scroll.cursor > 0)
            m->log_scroll.cursor--;
        if (m->log_scroll.top > 0)
            m->log_scroll.top--;
    }
    m->log[slot] = (struct ui_log_line){.text = text, .error = error, .when = now};
    if (m->log_follow)
        m->log_scroll.cursor = m->nlog - 1;
    model_scroll_fit(m, &m->log_scroll, m->nlog);
}

void model_log(struct ui_model *m, bool error, int64_t now, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = model_vformat(fmt, ap);
    va_end(ap);
    log_push(m, error, now, text);
}

/* ---- names (model_names) ---- */

void model_touch(struct ui_model *m)
{
    if (m->internal)
        m->internal->names_stale = true;
}

static void names_add(struct ui_model_internal *in, int kind, const char *name)
{
    if (!name || !*name)
        return;
    in->names[kind] = xrealloc(in->names[kind], (in->nnames[kind] + 1) * sizeof(*in->names[kind]));
    in->names[kind][in->nnames[kind]++] = name;
}

static void names_add_tracks(struct ui_model_internal *in, const struct ui_track *t, size_t n,
                             size_t stride)
{
    for (size_t i = 0; i < n; i++) {
        const struct ui_track *one = (const void *)((const char *)t + i * stride);
        names_add(in, NAMES_TRACKS, one->title);
        names_add(in, NAMES_ARTISTS, one->artist);
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted, each name once. */
static void names_unique(const char **v, size_t *n)
{
    if (*n == 0)
        return;
    qsort(v, *n, sizeof(*v), name_cmp);
    size_t kept = 1;
    for (size_t i = 1; i < *n; i++)
        if (strcmp(v[i], v[kept - 1]) != 0)
            v[kept++] = v[i];
    *n = kept;
}

static void names_rebuild(const struct ui_model *m, struct ui_model_internal *in)
{
    for (int k = 0; k < NAMES_KINDS; k++) {
        free(in->names[k]);
        in->names[k] = NULL;
        in->nnames[k] = 0;
    }
    for (size_t i = 0; i < m->nartists; i++)
        names_add(in, NAMES_ARTISTS, m->artists[i].name);
    for (size_t i = 0; i < m->nalbums; i++)
        names_add_tracks(in, m->albums[i].tracks, m->albums[i].n, sizeof(struct ui_track));
    for (size_t i = 0; i < m->nplaylists; i++) {
        names_add(in, NAMES_PLAYLISTS, m->playlists[i].name);
        names_add_tracks(in, m->playlists[i].tracks, m->playlists[i].ntracks,
                         sizeof(struct ui_track));
    }
    if (m->nqueue)
        names_add_tracks(in, &m->queue[0].t, m->nqueue, sizeof(struct ui_queue_row));
    names_add_tracks(in, m->results, m->nresults, sizeof(struct ui_track));
    for (int k = 0; k < NAMES_KINDS; k++)
        names_unique(in->names[k], &in->nnames[k]);
    in->names_stale = false;
}

void model_names(const struct ui_model *m, const char ***tracks, size_t *ntracks,
                 const char ***artists, size_t *nartists, const char ***playlists,
                 size_t *nplaylists)
{
    struct ui_model_internal *in = m->internal;
    if (in && in->names_stale)
        names_rebuild(m, in);
    *tracks = in ? in->names[NAMES_TRACKS] : NULL;
    *ntracks = in ? in->nnames[NAMES_TRACKS] : 0;
    *artists = in ? in->names[NAMES_ARTISTS] : NULL;
    *nartists = in ? in->nnames[NAMES_ARTISTS] : 0;
    *playlists = in ? in->names[NAMES_PLAYLISTS] : NULL;
    *nplaylists = in ? in->nnames[NAMES_PLAYLISTS] : 0;
}

/* ---- life ---- */

void model_init(struct ui_model *m)
{
    memset(m, 0, sizeof(*m));
    m->view = CMD_VIEW_LIBRARY;
    m->log_follow = true;
    m->internal = xcalloc(1, sizeof(*m->internal));
    m->internal->service = -1;
    m->internal->names_stale = true;
}

void model_free(struct ui_model *m)
{
    model_artists_free(m->artists, m->nartists);
    model_lib_rows_free(m);
    for (size_t i = 0; i < m->nalbums; i++)
        model_tracks_free(m->albums[i].tracks, m->albums[i].n);
    free(m->albums);
    model_playlists_free(m->playlists, m->nplaylists);
    model_queue_free(m->queue, m->nqueue);
    free(m->search_query);
    model_tracks_free(m->results, m->nresults);
    for (size_t i = 0; i < m->nlog; i++)
        free(m->log[(m->log_start + i) % UI_LOG_MAX].text);
    free(m->find);
    strv_free(&m->asked, &m->nasked);
    if (m->internal) {
        strv_free(&m->internal->again, &m->internal->nagain);
        for (int k = 0; k < NAMES_KINDS; k++)
            free(m->internal->names[k]);
        free(m->internal);
    }
    memset(m, 0, sizeof(*m));
}

void model_set_snapshot(struct ui_model *m, const struct mq_snapshot *s)
{
    m->snap = *s;
    m->have_snap = true;
    size_t rows = s->nconns > 0 ? (size_t)s->nconns : 0;
    model_scroll_fit(m, &m->peers_scroll, rows);
}

/* ---- asked, and asked again ---- */

void model_answered(struct ui_model *m, const char *line)
{
    strv_remove(&m->asked, &m->nasked, line);
    model_touch(m);
}

void model_again(struct ui_model *m, const char *line)
{
    if (m->internal)
        strv_add(&m->internal->again, &m->internal->nagain, line);
}

void model_again_playlist(struct ui_model *m, const char *name)
{
    char *line = playlist_tracks_line(name);
    model_again(m, line);
    free(line);
}

static bool is_again(const struct ui_model *m, const char *line)
{
    return m->internal && strv_has(m->internal->again, m->internal->nagain, line);
}

/* ---- events ---- */

static void playlists_changed(struct ui_model *m)
{
    model_again(m, "playlist list");
    for (size_t i = 0; i < m->nplaylists; i++)
        if (m->playlists[i].tracks_state != UI_NOT_LOADED)
            model_again_playlist(m, m->playlists[i].name);
}

static void track_changed(struct ui_model *m, const struct mq_msg *msg, int64_t now)
{
    const struct mq_track *t = msg->kind == MQ_PAYLOAD_BLOB ? msg->u.blob.ptr : NULL;
    if (!t)
        model_log(m, false, now, "stopped: nothing plays");
    else if (!t->title[0])
        model_log(m, false, now, "playing track #%llu", (unsigned long long)t->id);
    else if (t->artist[0])
        model_log(m, false, now, "playing %s — %s", t->title, t->artist);
    else
        model_log(m, false, now, "playing %s", t->title);
    model_again(m, "queue list"); /* its current row moved */
}

/* Online again: what was listed offline (the tracks this machine holds
 * keys for) or failed is asked again from the whole catalog. One list:
 * failed, it is asked as new; loaded or on its way, asked again (its rows
 * stay until the answer). */
static void reload_online(struct ui_model *m, int *state, const char *line)
{
    if (*state == UI_LOAD_FAILED)
        *state = UI_NOT_LOADED;
    else if (*state != UI_NOT_LOADED)
        model_again(m, line);
}

static void library_online(struct ui_model *m)
{
    reload_online(m, &m->artists_state, "browse artists");
    for (size_t i = 0; i < m->nartists; i++) {
        char *line = browse_line("albums", m->artists[i].id);
        reload_online(m, &m->artists[i].albums_state, line);
        free(line);
    }
    for (size_t i = 0; i < m->nalbums; i++) {
        char *line = browse_line("tracks", m->albums[i].album_id);
        reload_online(m, &m->albums[i].state, line);
        free(line);
    }
}

static void service_changed(struct ui_model *m, int state, int64_t now)
{
    static const char *const words[] = {[MQ_SERVICE_OFFLINE] = "service offline",
                                        [MQ_SERVICE_CONNECTING] = "connecting to the service",
                                        [MQ_SERVICE_ONLINE] = "service online"};
    if (state < MQ_SERVICE_OFFLINE || state > MQ_SERVICE_ONLINE)
        return;
    int before = m->internal ? m->internal->service : -1;
    if (m->internal)
        m->internal->service = state;
    if (state == before)
        return;
    model_log(m, false, now, "%s", words[state]);
    if (state == MQ_SERVICE_ONLINE)
        library_online(m);
}

static const char *msg_text(const struct mq_msg *msg)
{
    return msg->kind == MQ_PAYLOAD_TEXT && msg->u.text ? msg->u.text : "";
}

void model_on_event(struct ui_model *m, const struct mq_msg *msg, int64_t now)
{
    model_touch(m);
    switch (msg->type) {
    case MQ_EV_QUEUE_CHANGED:
        model_again(m, "queue list");
        break;
    case MQ_EV_PLAYLISTS_CHANGED:
        playlists_changed(m);
        break;
    case MQ_EV_TRACK_CHANGED:
        track_changed(m, msg, now);
        break;
    case MQ_EV_SERVICE:
        service_changed(m, msg->kind == MQ_PAYLOAD_NUM ? (int)msg->u.num.a : -1, now);
        break;
    case MQ_EV_ERROR:
        model_log(m, true, now, "%s", msg_text(msg));
        break;
    case MQ_EV_STATUS:
        model_log(m, false, now, "%s", msg_text(msg));
        break;
    default:
        /* search and browse results come as answers (the TUI always asks
         * with a reply); the play state is in the snapshot */
        break;
    }
}

/* ---- what to ask (model_wants) ---- */

/* Asks line when needed (not loaded) or marked to be asked again, unless
 * it is already asked. Returns true when it was added now. */
static bool want(struct ui_model *m, struct model_lines *w, bool needed, const char *line)
{
    if (!needed && !is_again(m, line))
        return false;
    if (strv_has(m->asked, m->nasked, line))
        return false;
    if (m->internal)
        strv_remove(&m->internal->again, &m->internal->nagain, line);
    strv_push(&m->asked, &m->nasked, xstrdup(line));
    model_lines_push(w, xstrdup(line));
    return true;
}

/* want() for a list whose state says whether it was ever loaded. */
static void want_list(struct ui_model *m, struct model_lines *w, int *state, const char *line)
{
    if (want(m, w, *state == UI_NOT_LOADED, line) && *state == UI_NOT_LOADED)
        *state = UI_LOADING;
}

static void want_albums(struct ui_model *m, struct model_lines *w)
{
    for (size_t i = 0; i < m->nartists; i++) {
        struct ui_artist *a = &m->artists[i];
        if (!a->expanded)
            continue;
        char *line = browse_line("albums", a->id);
        want_list(m, w, &a->albums_state, line);
        free(line);
    }
}

static void want_album_tracks(struct ui_model *m, struct model_lines *w, uint64_t album_id)
{
    char *line = browse_line("tracks", album_id);
    const struct ui_album_tracks *a = model_album_find(m, album_id);
    if (want(m, w, !a || a->state == UI_NOT_LOADED, line) && (!a || a->state == UI_NOT_LOADED))
        model_album_get(m, album_id)->state = UI_LOADING;
    free(line);
}

/* The tracks of what the library's left cursor is on. */
static void want_lib_tracks(struct ui_model *m, struct model_lines *w)
{
    const struct ui_lib_row *row = model_lib_row(m);
    if (!row)
        return;
    if (row->is_album) {
        want_album_tracks(m, w, row->id);
        return;
    }
    const struct ui_artist *a = row->owner < m->nartists ? &m->artists[row->owner] : NULL;
    for (size_t i = 0; a && a->albums_state == UI_LOADED && i < a->nalbums; i++)
        want_album_tracks(m, w, a->album_ids[i]);
}

static void want_playlist_tracks(struct ui_model *m, struct model_lines *w)
{
    struct ui_playlist *p = model_playlist_shown(m);
    if (!p)
        return;
    char *line = playlist_tracks_line(p->name);
    want_list(m, w, &p->tracks_state, line);
    free(line);
}

size_t model_wants(struct ui_model *m, char ***lines)
{
    struct model_lines w = {0};
    want_list(m, &w, &m->artists_state, "browse artists");
    want_list(m, &w, &m->playlists_state, "playlist list");
    want_list(m, &w, &m->queue_state, "queue list");
    want_albums(m, &w);
    want_lib_tracks(m, &w);
    want_playlist_tracks(m, &w);
    *lines = w.v;
    return w.n;
}
