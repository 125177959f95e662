/* views: the whole screen for a model (see ui/views.h for the layout).
 *
 * Owns: the frame around the body — the tabs row, the now-playing bar,
 * the progress bar, the status line, the prompt row, the too-small
 * message — the dispatch of the body to the view on screen (the bodies
 * are in views_lists.c and views_peers.c) and the formatting helpers
 * every part shares (time, bytes, hit rate, track source).
 *
 * Everything goes through the canvas by display columns (canvas_put_fit
 * cuts with "…"), so a title in CJK keeps the columns after it in place.
 * The views read the model and its snapshot and never change them, except
 * body_rows, which tells the model how many rows its lists got.
 *
 * Threads: one (the UI's); pure: no I/O, no engine calls, no model.c. */
#include "ui/views.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "views_internal.h"

#define NOW_PLAYING_MIN_LEFT 30 /* columns the title keeps beside the source */

void views_format_time(int64_t ms, char *buf, size_t size)
{
    if (ms < 0) {
        snprintf(buf, size, "-:--");
        return;
    }
    int64_t s = ms / 1000;
    int64_t h = s / 3600, m = s / 60 % 60, sec = s % 60;
    if (h > 0)
        snprintf(buf, size, "%lld:%02lld:%02lld", (long long)h, (long long)m, (long long)sec);
    else
        snprintf(buf, size, "%lld:%02lld", (long long)m, (long long)sec);
}

void views_format_bytes(uint64_t bytes, char *buf, size_t size)
{
    static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
    size_t unit = 0;
    double value = (double)bytes;
    /* 999.5 and more would print as "1000": the next unit says it in
     * fewer columns */
    while (value >= 999.5 && unit + 1 < sizeof(units) / sizeof(units[0])) {
        value /= 1000.0;
        unit++;
    }
    if (unit == 0)
        snprintf(buf, size, "%llu B", (unsigned long long)bytes);
    else if (value < 99.95)
        snprintf(buf, size, "%.1f %s", value, units[unit]);
    else
        snprintf(buf, size, "%.0f %s", value, units[unit]);
}

int views_hit_rate(const struct mq_snapshot *s)
{
    uint64_t all = s->cache_hits + s->cache_misses;
    if (all == 0)
        return -1;
    return (int)(s->cache_hits * 100 / all);
}

/* The sources of the playing track in the order views_track_source names
 * them when their shares are equal. */
static const struct {
    enum mq_chunk_src src;
    const char *name;
} sources[] = {{MQ_CHUNK_CACHE, "cache"}, {MQ_CHUNK_PEER, "peers"}, {MQ_CHUNK_SERVICE, "service"}};
#define NSOURCES (sizeof(sources) / sizeof(sources[0]))

void views_track_source(const struct mq_snapshot *s, char *buf, size_t size)
{
    if (size == 0)
        return;
    buf[0] = '\0';
    if (!s->has_track)
        return;
    uint64_t count[NSOURCES] = {0}, total = 0;
    uint32_t ncells = s->ncells < MQ_MAX_CELLS ? s->ncells : MQ_MAX_CELLS;
    for (uint32_t i = 0; i < ncells; i++)
        for (size_t k = 0; k < NSOURCES; k++)
            if (s->cells[i] == sources[k].src) {
                count[k]++;
                total++;
            }
    if (total == 0)
        return;
    /* largest share first; a stable selection keeps ties in table order */
    bool done[NSOURCES] = {false};
    size_t len = 0, named = 0;
    for (size_t round = 0; round < NSOURCES; round++) {
        size_t best = NSOURCES;
        for (size_t k = 0; k < NSOURCES; k++)
            if (!done[k] && count[k] > 0 && (best == NSOURCES || count[k] > count[best]))
                best = k;
        if (best == NSOURCES)
            break;
        done[best] = true;
        if (count[best] == total) {
            snprintf(buf, size, "%s", sources[best].name);
            return;
        }
        unsigned pct = (unsigned)((count[best] * 100 + total / 2) / total);
        int n = snprintf(buf + len, size - len, "%s%s %u%%", named ? " · " : "", sources[best].name,
                         pct);
        if (n < 0 || (size_t)n >= size - len)
            return;
        len += (size_t)n;
        named++;
    }
}

void views_note(struct canvas *c, const struct view_area *a, const char *text)
{
    if (a->h > 0)
        canvas_put_fit(c, a->y, a->x + 1, a->w - 1, UI_ATTR_DIM, text, false);
}

/* " 1 Library  2 Playlists ..." — each tab " N Name ", the current one
 * marked, the rest of the row in the tabs colour. */
static void draw_tabs(const struct ui_model *m, struct canvas *c)
{
    canvas_fill(c, 0, 0, c->w, UI_ATTR_TABS);
    int x = 0;
    for (int v = 0; v < CMD_VIEW_COUNT; v++) {
        char label[32];
        snprintf(label, sizeof(label), " %d %s ", v + 1, cmd_view_name((enum cmd_view)v));
        label[3] = (char)toupper((unsigned char)label[3]);
        enum ui_attr attr = (int)m->view == v ? UI_ATTR_TAB_ACTIVE : UI_ATTR_TABS;
        x += canvas_put(c, 0, x, c->w - x, attr, label);
    }
}

static int draw_body(const struct ui_model *m, const struct ui_overlay *ov, struct canvas *c,
                     const struct view_area *a)
{
    if (ov->help)
        return views_draw_help(ov, c, a);
    switch (m->view) {
    case CMD_VIEW_LIBRARY:
        return views_draw_library(m, c, a);
    case CMD_VIEW_PLAYLISTS:
        return views_draw_playlists(m, c, a);
    case CMD_VIEW_QUEUE:
        return views_draw_queue(m, c, a);
    case CMD_VIEW_SEARCH:
        return views_draw_search(m, c, a);
    case CMD_VIEW_PEERS:
        return views_draw_peers(m, c, a);
    case CMD_VIEW_LOG:
        return views_draw_log(m, c, a);
    case CMD_VIEW_COUNT:
        break;
    }
    return a->h;
}

static const char *state_glyph(enum mq_play_state state)
{
    switch (state) {
    case MQ_PLAYING:
        return "▶";
    case MQ_PAUSED:
        return "‖";
    case MQ_BUFFERING:
        return "⧗";
    case MQ_STOPPED:
        break;
    }
    return "■";
}

/* Row H-4: "▶ Title — Artist" at the left, "from peers · 12.3 s
 * buffered" at the right. */
static void draw_now_playing(const struct mq_snapshot *s, struct canvas *c, int y)
{
    canvas_fill(c, y, 0, c->w, UI_ATTR_BAR);
    if (!s->has_track) {
        canvas_put(c, y, 1, c->w - 2, UI_ATTR_BAR, "■ stopped");
        return;
    }
    char source[128], right[192];
    views_track_source(s, source, sizeof(source));
    double ahead = (double)(s->buffered_ahead_ms > 0 ? s->buffered_ahead_ms : 0) / 1000.0;
    snprintf(right, sizeof(right), "%s%s%s%.1f s buffered", source[0] ? "from " : "", source,
             source[0] ? " · " : "", ahead);
    int rw = text_width(right);
    if (rw > c->w - NOW_PLAYING_MIN_LEFT)
        rw = c->w - NOW_PLAYING_MIN_LEFT;
    canvas_put_fit(c, y, c->w - 1 - rw, rw, UI_ATTR_BAR, right, true);

    /* the state word before the title, so a cut title never hides it */
    char left[3 * MQ_TEXT_MAX + 64];
    snprintf(left, sizeof(left), "%s %s%s%s%s", state_glyph(s->state),
             s->state == MQ_BUFFERING ? "buffering  " : "", s->track.title,
             s->track.artist[0] ? " — " : "", s->track.artist);
    canvas_put_fit(c, y, 1, c->w - rw - 4, UI_ATTR_BAR, left, false);
}

/* "[=====>·····]" in w columns from x; fraction done in [0, 1]. */
static void draw_bar(struct canvas *c, int y, int x, int w, double done, bool playing)
{
    int inner = w - 2;
    if (inner < 1)
        return;
    int ndone = (int)(done * inner);
    canvas_put(c, y, x, 1, UI_ATTR_NORMAL, "[");
    for (int i = 0; i < inner; i++) {
        const char *glyph = i < ndone ? "=" : i == ndone && playing ? ">" : "·";
        canvas_put(c, y, x + 1 + i, 1, i <= ndone && playing ? UI_ATTR_PROGRESS : UI_ATTR_DIM,
                   glyph);
    }
    canvas_put(c, y, x + 1 + inner, 1, UI_ATTR_NORMAL, "]");
}

/* Row H-3: " 1:23 / 3:45  [=====>·····]". */
static void draw_progress(const struct mq_snapshot *s, struct canvas *c, int y)
{
    int64_t total = s->duration_ms > 0 ? s->duration_ms : s->track.duration_ms;
    int64_t pos = s->position_ms < 0 ? 0 : s->position_ms;
    char elapsed[32], whole[32], times[80];
    views_format_time(s->has_track ? pos : -1, elapsed, sizeof(elapsed));
    views_format_time(s->has_track && total > 0 ? total : -1, whole, sizeof(whole));
    snprintf(times, sizeof(times), " %s / %s ", elapsed, whole);
    int x = canvas_put(c, y, 0, c->w, UI_ATTR_NORMAL, times) + 1;
    double done = s->has_track && total > 0 ? (double)(pos < total ? pos : total) / total : 0.0;
    draw_bar(c, y, x, c->w - x - 1, done, s->has_track);
}

/* The status line's words joined by sep into buf. */
static void status_words(const struct mq_snapshot *s, const char *sep, char *buf, size_t size)
{
    char hit[16];
    int rate = views_hit_rate(s);
    if (rate < 0)
        snprintf(hit, sizeof(hit), "hit -");
    else
        snprintf(hit, sizeof(hit), "hit %d%%", rate);
    snprintf(buf, size, "peers %d/%d%sup %d/%d%s%s%s%s%srepeat %s%sshuffle %s%svol %d%%",
             s->peers_connected, s->peers_max, sep, s->upload_slots_used, s->upload_slots_max, sep,
             hit, sep, mq_service_state_name(s->service), sep, mq_repeat_name(s->repeat), sep,
             s->shuffle ? "on" : "off", sep, s->volume_percent);
}

/* Row H-2: the modes and counters at the left, the rates at the right
 * when they fit (the peers view shows them too). */
static void draw_status(const struct mq_snapshot *s, struct canvas *c, int y)
{
    canvas_fill(c, y, 0, c->w, UI_ATTR_STATUS);
    char left[256], right[96], down[32], up[32];
    status_words(s, " │ ", left, sizeof(left));
    if (text_width(left) > c->w - 2)
        status_words(s, "│", left, sizeof(left));
    int lw = canvas_put(c, y, 1, c->w - 2, UI_ATTR_STATUS, left);
    views_format_bytes(s->rate_down_bps, down, sizeof(down));
    views_format_bytes(s->rate_up_bps, up, sizeof(up));
    snprintf(right, sizeof(right), "↓ %s/s  ↑ %s/s", down, up);
    int rw = text_width(right);
    if (1 + lw + 3 + rw + 1 <= c->w)
        canvas_put(c, y, c->w - 1 - rw, rw, UI_ATTR_STATUS, right);
}

/* Row H-1: the prompt and what is typed after it, scrolled sideways so
 * the cursor shows; else the message. Returns the cursor's column or -1. */
static int draw_last_row(const struct ui_overlay *ov, struct canvas *c, int y)
{
    if (!ov->prompt) {
        if (ov->message)
            canvas_put_fit(c, y, 0, c->w, ov->message_error ? UI_ATTR_ERROR : UI_ATTR_NORMAL,
                           ov->message, false);
        return -1;
    }
    const char *input = ov->input ? ov->input : "";
    int pw = text_width(ov->prompt);
    if (pw > c->w - 8)
        pw = c->w - 8; /* a long question still leaves room to type */
    int col = ov->input_col < 0 ? 0 : ov->input_col;
    int room = c->w - pw - 1; /* the cursor may stand after the last column */
    int shift = col > room ? col - room : 0;
    /* the input from before the prompt's end; the prompt then covers what
     * scrolled out to the left */
    canvas_put(c, y, pw - shift, room + shift, UI_ATTR_NORMAL, input);
    canvas_put_fit(c, y, 0, pw, UI_ATTR_NORMAL, ov->prompt, false);
    return pw + col - shift;
}

static void draw_too_small(struct canvas *c)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "Chorus needs a terminal of at least %d×%d (this one is %d×%d)",
             VIEWS_MIN_W, VIEWS_MIN_H, c->w, c->h);
    int w = text_width(msg);
    if (w > c->w)
        w = c->w;
    canvas_put_fit(c, c->h / 2, (c->w - w) / 2, w, UI_ATTR_NORMAL, msg, false);
}

int views_draw(struct ui_model *m, const struct ui_overlay *ov, struct canvas *c)
{
    static const struct ui_overlay none;
    if (!ov)
        ov = &none;
    canvas_clear(c);
    if (c->w < VIEWS_MIN_W || c->h < VIEWS_MIN_H) {
        draw_too_small(c);
        m->body_rows = 1; /* nothing shows; paging still moves */
        return -1;
    }
    draw_tabs(m, c);
    struct view_area body = {.y = 1, .x = 0, .w = c->w, .h = c->h - 5};
    m->body_rows = draw_body(m, ov, c, &body);
    draw_now_playing(&m->snap, c, c->h - 4);
    draw_progress(&m->snap, c, c->h - 3);
    draw_status(&m->snap, c, c->h - 2);
    return draw_last_row(ov, c, c->h - 1);
}
