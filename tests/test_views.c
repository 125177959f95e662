/* Tests for ui/views: what the screen shows for a model built by hand (no
 * model.c: each test fills a struct ui_model, draws it into a canvas at
 * 80x24 and 120x40 and reads the rows back).
 *
 * Checked: the formatting helpers (time, bytes, hit rate, track source,
 * peer order, log ring), the tabs, the status line's words, elapsed /
 * total, the now-playing bar, each view's rows and attributes (library
 * panes and cursors, playlists' offline mark, the queue's current row,
 * search, peers rows per sort, totals, chunk map and playhead, log,
 * help), the prompt row, the too-small message, wide characters keeping
 * columns aligned, the cut with "…" and which rows change between two
 * frames. */
#include "testutil.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"
#include "ui/views.h"

/* ---- a model by hand ---- */

static struct ui_track track(uint64_t id, const char *title, const char *artist, const char *album,
                             int number, int64_t ms)
{
    return (struct ui_track){.id = id,
                             .title = xstrdup(title),
                             .artist = xstrdup(artist),
                             .album = xstrdup(album),
                             .number = number,
                             .duration_ms = ms};
}

static void free_track(struct ui_track *t)
{
    free(t->title);
    free(t->artist);
    free(t->album);
}

static void free_tracks(struct ui_track *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_track(&t[i]);
    free(t);
}

static void free_model(struct ui_model *m)
{
    for (size_t i = 0; i < m->nartists; i++) {
        for (size_t k = 0; k < m->artists[i].nalbums; k++)
            free(m->artists[i].album_titles[k]);
        free(m->artists[i].album_titles);
        free(m->artists[i].album_ids);
        free(m->artists[i].name);
    }
    free(m->artists);
    for (size_t i = 0; i < m->nlib_rows; i++)
        free(m->lib_rows[i].name);
    free(m->lib_rows);
    for (size_t i = 0; i < m->nalbums; i++)
        free_tracks(m->albums[i].tracks, m->albums[i].n);
    free(m->albums);
    for (size_t i = 0; i < m->nplaylists; i++) {
        free(m->playlists[i].name);
        free_tracks(m->playlists[i].tracks, m->playlists[i].ntracks);
    }
    free(m->playlists);
    for (size_t i = 0; i < m->nqueue; i++)
        free_track(&m->queue[i].t);
    free(m->queue);
    free(m->search_query);
    free_tracks(m->results, m->nresults);
    for (size_t i = 0; i < m->nlog; i++)
        free(m->log[(m->log_start + i) % UI_LOG_MAX].text);
    free(m->find);
    memset(m, 0, sizeof(*m));
}

static struct ui_model *new_model(enum cmd_view view)
{
    struct ui_model *m = xcalloc(1, sizeof(*m));
    m->view = view;
    m->have_snap = true;
    m->snap.queue_pos = -1;
    return m;
}

static void drop_model(struct ui_model *m)
{
    free_model(m);
    free(m);
}

/* ---- reading the screen ---- */

static struct canvas *draw(struct ui_model *m, int w, int h, const struct ui_overlay *ov,
                           int *cursor)
{
    struct canvas *c = canvas_new(w, h);
    int col = views_draw(m, ov, c);
    if (cursor)
        *cursor = col;
    return c;
}

static bool row_has(const struct canvas *c, int y, const char *needle)
{
    char *text = canvas_row_text(c, y);
    bool found = strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void dump(const struct canvas *c)
{
    for (int y = 0; y < c->h; y++) {
        char *text = canvas_row_text(c, y);
        print_message("%2d|%s|\n", y, text);
        free(text);
    }
}

static void assert_row_has(const struct canvas *c, int y, const char *needle)
{
    if (!row_has(c, y, needle)) {
        print_message("row %d lacks '%s':\n", y, needle);
        dump(c);
    }
    assert_true(row_has(c, y, needle));
}

static void assert_row_lacks(const struct canvas *c, int y, const char *needle)
{
    if (row_has(c, y, needle))
        dump(c);
    assert_false(row_has(c, y, needle));
}

/* The first row holding needle, -1: none. */
static int find_row(const struct canvas *c, const char *needle)
{
    for (int y = 0; y < c->h; y++)
        if (row_has(c, y, needle))
            return y;
    return -1;
}

/* The display column where needle starts in row y, -1: not there. */
static int col_of(const struct canvas *c, int y, const char *needle)
{
    char *text = canvas_row_text(c, y);
    char *at = strstr(text, needle);
    int col = -1;
    if (at) {
        *at = '\0';
        col = text_width(text);
    }
    free(text);
    return col;
}

static int attr_at(const struct canvas *c, int y, int x)
{
    const struct canvas_cell *cell = canvas_cell(c, y, x);
    assert_non_null(cell);
    return cell->attr;
}

static const char *glyph_at(const struct canvas *c, int y, int x)
{
    const struct canvas_cell *cell = canvas_cell(c, y, x);
    assert_non_null(cell);
    return cell->text;
}

static int count_glyph(const struct canvas *c, int y, const char *glyph)
{
    int n = 0;
    for (int x = 0; x < c->w; x++)
        n += strcmp(glyph_at(c, y, x), glyph) == 0;
    return n;
}

static const int sizes[][2] = {{80, 24}, {120, 40}};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

/* ---- helpers ---- */

static void test_format_time_and_bytes(void **state)
{
    (void)state;
    char buf[32];
    static const struct {
        int64_t ms;
        const char *text;
    } times[] = {{0, "0:00"},       {999, "0:00"},        {83000, "1:23"}, {225000, "3:45"},
                 {600000, "10:00"}, {3723000, "1:02:03"}, {-1, "-:--"}};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        views_format_time(times[i].ms, buf, sizeof(buf));
        assert_string_equal(buf, times[i].text);
    }
    static const struct {
        uint64_t bytes;
        const char *text;
    } bytes[] = {{0, "0 B"},
                 {12, "12 B"},
                 {999, "999 B"},
                 {1000, "1.0 kB"},
                 {340000, "340 kB"},
                 {999499, "999 kB"},
                 {999500, "1.0 MB"},
                 {1200000, "1.2 MB"},
                 {12300000, "12.3 MB"},
                 {99940000, "99.9 MB"},
                 {99960000, "100 MB"},
                 {4200000000ULL, "4.2 GB"}};
    for (size_t i = 0; i < sizeof(bytes) / sizeof(bytes[0]); i++) {
        views_format_bytes(bytes[i].bytes, buf, sizeof(buf));
        assert_string_equal(buf, bytes[i].text);
    }
}

static void test_hit_rate(void **state)
{
    (void)state;
    struct mq_snapshot s = {0};
    assert_int_equal(views_hit_rate(&s), -1);
    s.cache_hits = 5;
    s.cache_misses = 3;
    assert_int_equal(views_hit_rate(&s), 62);
    s.cache_misses = 0;
    assert_int_equal(views_hit_rate(&s), 100);
    s.cache_hits = 0;
    s.cache_misses = 4;
    assert_int_equal(views_hit_rate(&s), 0);
}

static void set_cells(struct mq_snapshot *s, uint32_t from, uint32_t to, enum mq_chunk_src src)
{
    for (uint32_t i = from; i < to; i++)
        s->cells[i] = (uint8_t)src;
    if (to > s->ncells)
        s->ncells = to;
}

static void test_track_source(void **state)
{
    (void)state;
    struct mq_snapshot *s = xcalloc(1, sizeof(*s));
    char buf[128];
    views_track_source(s, buf, sizeof(buf));
    assert_string_equal(buf, "");
    s->has_track = true;
    set_cells(s, 0, 10, MQ_CHUNK_MISSING);
    views_track_source(s, buf, sizeof(buf));
    assert_string_equal(buf, ""); /* nothing arrived yet */
    set_cells(s, 0, 4, MQ_CHUNK_CACHE);
    views_track_source(s, buf, sizeof(buf));
    assert_string_equal(buf, "cache"); /* the missing cells do not count */
    set_cells(s, 0, 8, MQ_CHUNK_PEER);
    set_cells(s, 8, 10, MQ_CHUNK_SERVICE);
    views_track_source(s, buf, sizeof(buf));
    assert_string_equal(buf, "peers 80% · service 20%");
    set_cells(s, 0, 2, MQ_CHUNK_CACHE);
    set_cells(s, 2, 9, MQ_CHUNK_SERVICE);
    set_cells(s, 9, 10, MQ_CHUNK_PEER);
    views_track_source(s, buf, sizeof(buf));
    assert_string_equal(buf, "service 70% · cache 20% · peers 10%");
    set_cells(s, 0, 5, MQ_CHUNK_SERVICE);
    set_cells(s, 5, 10, MQ_CHUNK_CACHE);
    views_track_source(s, buf, sizeof(buf));
    assert_string_equal(buf, "cache 50% · service 50%"); /* a tie: cache first */
    s->has_track = false;
    views_track_source(s, buf, sizeof(buf));
    assert_string_equal(buf, "");
    free(s);
}

/* ---- the frame ---- */

static void playing_snapshot(struct mq_snapshot *s)
{
    s->state = MQ_PLAYING;
    s->has_track = true;
    s->track.id = 101;
    snprintf(s->track.title, sizeof(s->track.title), "Around the World");
    snprintf(s->track.artist, sizeof(s->track.artist), "Daft Punk");
    snprintf(s->track.album, sizeof(s->track.album), "Homework");
    s->track.duration_ms = 225000;
    s->duration_ms = 225000;
    s->position_ms = 83000;
    s->buffered_ahead_ms = 12300;
    set_cells(s, 0, 10, MQ_CHUNK_PEER);
    s->chunk_count = 10;
    s->chunks_per_cell = 1;
}

static void status_snapshot(struct mq_snapshot *s)
{
    s->peers_connected = 3;
    s->peers_max = 60;
    s->upload_slots_used = 1;
    s->upload_slots_max = 4;
    s->cache_hits = 5;
    s->cache_misses = 3;
    s->service = MQ_SERVICE_ONLINE;
    s->volume_percent = 80;
    s->rate_down_bps = 1200000;
    s->rate_up_bps = 340000;
}

static void test_tabs(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_QUEUE);
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        char *row = canvas_row_text(c, 0);
        const char *tabs = " 1 Library  2 Playlists  3 Queue  4 Search  5 Peers  6 Log ";
        assert_memory_equal(row, tabs, strlen(tabs));
        assert_int_equal(text_width(row), c->w);
        free(row);
        int queue = col_of(c, 0, " 3 Queue ");
        for (int x = queue; x < queue + 9; x++)
            assert_int_equal(attr_at(c, 0, x), UI_ATTR_TAB_ACTIVE);
        assert_int_equal(attr_at(c, 0, queue - 1), UI_ATTR_TABS);
        assert_int_equal(attr_at(c, 0, queue + 9), UI_ATTR_TABS);
        assert_int_equal(attr_at(c, 0, 0), UI_ATTR_TABS);
        assert_int_equal(attr_at(c, 0, c->w - 1), UI_ATTR_TABS);
        canvas_free(c);
    }
    drop_model(m);
}

static void test_status_line(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_LIBRARY);
    status_snapshot(&m->snap);
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        int y = c->h - 2;
        assert_row_has(c, y,
                       "peers 3/60 │ up 1/4 │ hit 62% │ online │ repeat off │ "
                       "shuffle off │ vol 80%");
        assert_int_equal(attr_at(c, y, 0), UI_ATTR_STATUS);
        assert_int_equal(attr_at(c, y, c->w - 1), UI_ATTR_STATUS);
        if (c->w >= 120) {
            assert_row_has(c, y, "↓ 1.2 MB/s");
            assert_row_has(c, y, "↑ 340 kB/s");
        }
        canvas_free(c);
    }
    /* the widest words still fit at 80 columns */
    m->snap.peers_connected = 60;
    m->snap.upload_slots_used = 4;
    m->snap.cache_misses = 0;
    m->snap.service = MQ_SERVICE_CONNECTING;
    m->snap.repeat = 2;
    m->snap.shuffle = true;
    m->snap.volume_percent = 100;
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    static const char *const words[] = {"peers 60/60", "up 4/4",     "hit 100%", "connecting",
                                        "repeat all",  "shuffle on", "vol 100%"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        assert_row_has(c, 22, words[i]);
    canvas_free(c);
    m->snap.cache_hits = 0;
    m->snap.service = MQ_SERVICE_OFFLINE;
    m->snap.repeat = 1;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 22, "hit -");
    assert_row_has(c, 22, "offline");
    assert_row_has(c, 22, "repeat one");
    canvas_free(c);
    drop_model(m);
}

static void test_now_playing_and_progress(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_QUEUE);
    playing_snapshot(&m->snap);
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        int bar = c->h - 4, prog = c->h - 3;
        assert_row_has(c, bar, "▶ Around the World — Daft Punk");
        assert_row_has(c, bar, "from peers · 12.3 s buffered");
        assert_int_equal(col_of(c, bar, "buffered") + 8, c->w - 1); /* right-aligned */
        for (int x = 0; x < c->w; x++)
            assert_int_equal(attr_at(c, bar, x), UI_ATTR_BAR);
        assert_row_has(c, prog, "1:23 / 3:45");
        int open = col_of(c, prog, "[");
        assert_true(open > col_of(c, prog, "3:45"));
        assert_string_equal(glyph_at(c, prog, open + 1), "=");
        assert_int_equal(attr_at(c, prog, open + 1), UI_ATTR_PROGRESS);
        int head = col_of(c, prog, ">");
        assert_int_equal(attr_at(c, prog, head), UI_ATTR_PROGRESS);
        assert_string_equal(glyph_at(c, prog, head + 1), "·");
        assert_int_equal(attr_at(c, prog, head + 1), UI_ATTR_DIM);
        int close = col_of(c, prog, "]");
        /* 83 of 225 seconds: about 37% of the bar done */
        int inner = close - open - 1, done = head - open - 1;
        assert_true(done * 100 / inner >= 35 && done * 100 / inner <= 38);
        canvas_free(c);
    }
    /* mixed sources, paused, buffering, stopped */
    set_cells(&m->snap, 8, 10, MQ_CHUNK_SERVICE);
    m->snap.state = MQ_PAUSED;
    struct canvas *c = draw(m, 120, 40, NULL, NULL);
    assert_row_has(c, 36, "‖ Around the World — Daft Punk");
    assert_row_has(c, 36, "from peers 80% · service 20% · 12.3 s buffered");
    canvas_free(c);
    /* at 80 columns the title gives way to the source, never the state */
    m->snap.state = MQ_BUFFERING;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 20, "⧗ buffering  Around the W");
    assert_row_has(c, 20, "from peers 80% · service 20% · 12.3 s buffered");
    canvas_free(c);
    c = draw(m, 120, 40, NULL, NULL);
    assert_row_has(c, 36, "⧗ buffering  Around the World — Daft Punk");
    canvas_free(c);
    memset(&m->snap, 0, sizeof(m->snap));
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 20, "■ stopped");
    assert_row_has(c, 21, "-:-- / -:--");
    assert_row_lacks(c, 21, "=");
    canvas_free(c);
    drop_model(m);
}

static void assert_blank_except(const struct canvas *c, int keep)
{
    for (int y = 0; y < c->h; y++) {
        if (y == keep)
            continue;
        char *text = canvas_row_text(c, y);
        assert_int_equal(strspn(text, " "), strlen(text));
        free(text);
    }
}

static void test_too_small(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_PEERS);
    playing_snapshot(&m->snap);
    struct ui_overlay ov = {.prompt = ":", .input = "x", .input_col = 1};
    int cursor;
    struct canvas *c = draw(m, 79, 24, &ov, &cursor);
    const char *msg = "Chorus needs a terminal of at least 80×24 (this one is 79×24)";
    assert_int_equal(cursor, -1);
    assert_int_equal(col_of(c, 12, msg), (79 - text_width(msg)) / 2);
    assert_blank_except(c, 12);
    canvas_free(c);
    c = draw(m, 80, 23, &ov, &cursor);
    assert_int_equal(cursor, -1);
    assert_row_has(c, 11, "at least 80×24 (this one is 80×23)");
    assert_blank_except(c, 11);
    canvas_free(c);
    c = draw(m, 30, 5, NULL, NULL); /* narrower than the message: cut */
    assert_row_has(c, 2, "Chorus needs a terminal of at…");
    canvas_free(c);
    c = draw(m, 80, 24, &ov, &cursor);
    assert_int_equal(cursor, 2);
    assert_int_equal(m->body_rows, 10); /* the peers table at 80x24 */
    canvas_free(c);
    drop_model(m);
}

/* ---- 1 library ---- */

static void add_lib_row(struct ui_model *m, bool is_album, uint64_t id, const char *name,
                        size_t owner)
{
    m->lib_rows = xrealloc(m->lib_rows, (m->nlib_rows + 1) * sizeof(*m->lib_rows));
    m->lib_rows[m->nlib_rows++] =
        (struct ui_lib_row){.is_album = is_album, .id = id, .name = xstrdup(name), .owner = owner};
}

static void add_artist(struct ui_model *m, uint64_t id, const char *name, bool expanded,
                       int albums_state, size_t nalbums, const uint64_t *ids,
                       const char *const *titles)
{
    m->artists = xrealloc(m->artists, (m->nartists + 1) * sizeof(*m->artists));
    struct ui_artist *a = &m->artists[m->nartists];
    *a = (struct ui_artist){.id = id,
                            .name = xstrdup(name),
                            .expanded = expanded,
                            .albums_state = albums_state,
                            .album_ids = xcalloc(nalbums + 1, sizeof(uint64_t)),
                            .album_titles = xcalloc(nalbums + 1, sizeof(char *)),
                            .nalbums = nalbums};
    for (size_t k = 0; k < nalbums; k++) {
        a->album_ids[k] = ids[k];
        a->album_titles[k] = xstrdup(titles[k]);
    }
    add_lib_row(m, false, id, name, m->nartists);
    if (expanded)
        for (size_t k = 0; k < nalbums; k++)
            add_lib_row(m, true, ids[k], titles[k], m->nartists);
    m->nartists++;
}

static struct ui_album_tracks *add_album(struct ui_model *m, uint64_t album_id, int state)
{
    m->albums = xrealloc(m->albums, (m->nalbums + 1) * sizeof(*m->albums));
    struct ui_album_tracks *a = &m->albums[m->nalbums++];
    *a = (struct ui_album_tracks){.album_id = album_id, .state = state};
    return a;
}

static void album_add_track(struct ui_album_tracks *a, struct ui_track t)
{
    a->tracks = xrealloc(a->tracks, (a->n + 1) * sizeof(*a->tracks));
    a->tracks[a->n++] = t;
}

/* Daft Punk (expanded: Discovery, Homework) and Justice (not expanded). */
static struct ui_model *library_model(void)
{
    struct ui_model *m = new_model(CMD_VIEW_LIBRARY);
    m->artists_state = UI_LOADED;
    static const uint64_t ids[] = {10, 11};
    static const char *const titles[] = {"Discovery", "Homework"};
    add_artist(m, 1, "Daft Punk", true, UI_LOADED, 2, ids, titles);
    add_artist(m, 2, "Justice", false, UI_NOT_LOADED, 0, NULL, NULL);
    struct ui_album_tracks *a = add_album(m, 10, UI_LOADED);
    album_add_track(a, track(100, "One More Time", "Daft Punk", "Discovery", 1, 320000));
    album_add_track(a, track(101, "Aerodynamic", "Daft Punk", "Discovery", 2, 207000));
    a = add_album(m, 11, UI_LOADED);
    album_add_track(a, track(110, "Revolution 909", "Daft Punk", "Homework", 3, 326000));
    return m;
}

static void test_library_panes(void **state)
{
    (void)state;
    struct ui_model *m = library_model();
    m->lib_left.cursor = 1; /* Discovery */
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        int sep = c->w / 3;
        assert_int_equal(m->body_rows, c->h - 5);
        for (int y = 1; y <= c->h - 5; y++)
            assert_string_equal(glyph_at(c, y, sep), "│");
        assert_string_equal(glyph_at(c, c->h - 4, sep), " ");
        assert_int_equal(col_of(c, 1, "▾ Daft Punk"), 1);
        assert_int_equal(col_of(c, 2, "Discovery"), 3);
        assert_int_equal(col_of(c, 3, "Homework"), 3);
        assert_int_equal(col_of(c, 4, "▸ Justice"), 1);
        /* the cursor row of the focused left pane, across the pane */
        assert_int_equal(attr_at(c, 2, 0), UI_ATTR_SELECTED);
        assert_int_equal(attr_at(c, 2, sep - 1), UI_ATTR_SELECTED);
        assert_int_equal(attr_at(c, 1, 0), UI_ATTR_NORMAL);
        /* right: the album's tracks, its cursor row without focus */
        assert_row_has(c, 1, " 1. One More Time");
        assert_row_has(c, 1, "5:20");
        assert_row_has(c, 2, " 2. Aerodynamic");
        assert_row_lacks(c, 3, "Revolution");
        assert_true(col_of(c, 1, "One More Time") > sep);
        assert_int_equal(col_of(c, 1, "5:20"), col_of(c, 2, "3:27"));
        assert_int_equal(attr_at(c, 1, sep + 1), UI_ATTR_CURSOR);
        assert_int_equal(attr_at(c, 1, c->w - 1), UI_ATTR_CURSOR);
        assert_int_equal(attr_at(c, 2, sep + 1), UI_ATTR_NORMAL);
        canvas_free(c);
    }

    /* focus right: the left cursor dims, the right one is selected, the
     * playing track is marked unless under the cursor */
    playing_snapshot(&m->snap);
    m->lib_focus_right = true;
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_int_equal(attr_at(c, 2, 0), UI_ATTR_CURSOR);
    assert_int_equal(attr_at(c, 1, 27), UI_ATTR_SELECTED);
    assert_int_equal(attr_at(c, 2, 27), UI_ATTR_PLAYING); /* #101 plays */
    canvas_free(c);
    m->lib_right.cursor = 1;
    c = draw(m, 80, 24, NULL, NULL);
    assert_int_equal(attr_at(c, 2, 27), UI_ATTR_SELECTED);
    assert_int_equal(attr_at(c, 1, 27), UI_ATTR_NORMAL);
    canvas_free(c);

    /* an artist row: every loaded track of its albums, in order */
    m->lib_left.cursor = 0;
    m->lib_right.cursor = 0;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "One More Time");
    assert_row_has(c, 2, "Aerodynamic");
    assert_row_has(c, 3, " 3. Revolution 909");
    canvas_free(c);
    /* an artist not expanded */
    m->lib_left.cursor = 3;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "its albums show when the artist is expanded");
    assert_int_equal(attr_at(c, 4, 0), UI_ATTR_CURSOR);
    canvas_free(c);
    /* an album still loading */
    free_tracks(m->albums[1].tracks, m->albums[1].n);
    m->albums[1].tracks = NULL;
    m->albums[1].n = 0;
    m->albums[1].state = UI_LOADING;
    m->lib_left.cursor = 2;
    c = draw(m, 80, 24, NULL, NULL);
    assert_true(col_of(c, 1, "loading…") > 26);
    canvas_free(c);
    drop_model(m);
}

static void test_library_states(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_LIBRARY);
    m->artists_state = UI_LOADING;
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_int_equal(col_of(c, 1, "loading…"), 1);
    canvas_free(c);
    m->artists_state = UI_LOAD_FAILED;
    m->snap.service = MQ_SERVICE_OFFLINE;
    c = draw(m, 120, 40, NULL, NULL);
    assert_row_has(c, 1, "the catalog cannot be reached: the service is offline");
    canvas_free(c);
    m->artists_state = UI_LOADED;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "no artists");
    canvas_free(c);
    drop_model(m);
}

static void test_library_scroll(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_LIBRARY);
    m->artists_state = UI_LOADED;
    for (int i = 0; i < 50; i++) {
        char name[32];
        snprintf(name, sizeof(name), "Artist %02d", i);
        add_artist(m, (uint64_t)i + 1, name, false, UI_NOT_LOADED, 0, NULL, NULL);
    }
    /* a top that would hide the cursor: the cursor shows anyway */
    m->lib_left.cursor = 40;
    m->lib_left.top = 0;
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 19, "Artist 40");
    assert_int_equal(attr_at(c, 19, 0), UI_ATTR_SELECTED);
    assert_row_has(c, 1, "Artist 22");
    canvas_free(c);
    m->lib_left.cursor = 3;
    m->lib_left.top = 45;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "Artist 03");
    assert_int_equal(attr_at(c, 1, 0), UI_ATTR_SELECTED);
    canvas_free(c);
    /* a top the model keeps is used as it is */
    m->lib_left.cursor = 12;
    m->lib_left.top = 10;
    c = draw(m, 120, 40, NULL, NULL);
    assert_row_has(c, 1, "Artist 10");
    assert_int_equal(attr_at(c, 3, 0), UI_ATTR_SELECTED);
    canvas_free(c);
    drop_model(m);
}

/* ---- 2 playlists ---- */

static void add_playlist(struct ui_model *m, const char *name, size_t count, bool offline,
                         int tracks_state)
{
    m->playlists = xrealloc(m->playlists, (m->nplaylists + 1) * sizeof(*m->playlists));
    m->playlists[m->nplaylists++] = (struct ui_playlist){.name = xstrdup(name),
                                                         .count = count,
                                                         .keep_offline = offline,
                                                         .tracks_state = tracks_state};
}

static void test_playlists(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_PLAYLISTS);
    m->playlists_state = UI_LOADED;
    add_playlist(m, "Road trip", 12, true, UI_LOADED);
    add_playlist(m, "Focus", 3, false, UI_LOADING);
    struct ui_playlist *pl = &m->playlists[0];
    pl->tracks = xcalloc(2, sizeof(*pl->tracks));
    pl->tracks[0] = track(7, "Digital Love", "Daft Punk", "Discovery", 3, 301000);
    pl->tracks[1] = track(8, "D.A.N.C.E.", "Justice", "†", 2, 242000);
    pl->ntracks = 2;
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        int sep = c->w / 3;
        assert_int_equal(col_of(c, 1, "Road trip"), 1);
        assert_int_equal(col_of(c, 1, "12 ⤓ "), sep - 5);
        assert_row_has(c, 2, "Focus");
        assert_int_equal(col_of(c, 2, "3"), sep - 4);
        assert_row_lacks(c, 2, "⤓");
        assert_int_equal(attr_at(c, 1, 0), UI_ATTR_SELECTED);
        assert_int_equal(attr_at(c, 1, sep - 1), UI_ATTR_SELECTED);
        /* the right pane: the tracks of the playlist under the cursor, by
         * position */
        assert_row_has(c, 1, " 1. Digital Love");
        assert_row_has(c, 2, " 2. D.A.N.C.E.");
        assert_int_equal(attr_at(c, 1, sep + 1), UI_ATTR_CURSOR);
        assert_int_equal(m->body_rows, c->h - 5);
        canvas_free(c);
    }
    m->pl_left.cursor = 1;
    m->pl_focus_right = true;
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_int_equal(attr_at(c, 2, 0), UI_ATTR_CURSOR);
    assert_true(col_of(c, 1, "loading…") > 26);
    canvas_free(c);
    free_model(m);
    m->view = CMD_VIEW_PLAYLISTS;
    m->playlists_state = UI_LOADED;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "no playlists");
    canvas_free(c);
    drop_model(m);
}

/* ---- 3 queue ---- */

static void add_queue_row(struct ui_model *m, struct ui_track t, bool current)
{
    m->queue = xrealloc(m->queue, (m->nqueue + 1) * sizeof(*m->queue));
    m->queue[m->nqueue++] = (struct ui_queue_row){.t = t, .current = current};
}

static void test_queue(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_QUEUE);
    m->queue_state = UI_LOADED;
    add_queue_row(m, track(1, "One More Time", "Daft Punk", "Discovery", 1, 320000), false);
    add_queue_row(m, track(2, "Genesis", "Justice", "†", 1, 234000), true);
    add_queue_row(m, track(3, "Phantom", "Justice", "†", 4, 262000), false);
    m->queue_scroll.cursor = 2;
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        assert_int_equal(m->body_rows, c->h - 6);
        /* the header: column titles over the columns of the rows */
        assert_int_equal(attr_at(c, 1, 0), UI_ATTR_HEADER);
        assert_int_equal(col_of(c, 1, "Title"), col_of(c, 2, "One More Time"));
        assert_int_equal(col_of(c, 1, "Artist"), col_of(c, 2, "Daft Punk"));
        assert_int_equal(col_of(c, 1, "Album"), col_of(c, 2, "Discovery"));
        assert_int_equal(col_of(c, 1, "Time") + 4, col_of(c, 2, "5:20") + 4);
        assert_row_has(c, 2, "    1. One More Time");
        assert_row_has(c, 3, " ▶  2. Genesis");
        assert_row_lacks(c, 2, "▶");
        assert_int_equal(attr_at(c, 3, 0), UI_ATTR_PLAYING);
        assert_int_equal(attr_at(c, 3, c->w - 1), UI_ATTR_PLAYING);
        assert_int_equal(attr_at(c, 4, 10), UI_ATTR_SELECTED);
        assert_int_equal(attr_at(c, 2, 10), UI_ATTR_NORMAL);
        canvas_free(c);
    }
    free_model(m);
    m->view = CMD_VIEW_QUEUE;
    m->queue_state = UI_LOADED;
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 2, "the queue is empty");
    canvas_free(c);
    drop_model(m);
}

/* ---- 4 search ---- */

static void test_search(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_SEARCH);
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_true(find_row(c, "press / to search the catalog") > 0);
    canvas_free(c);

    m->search_query = xstrdup("daft");
    m->results_state = UI_LOADING;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "Search: daft (searching…)");
    assert_row_has(c, 2, "loading…");
    canvas_free(c);

    m->results_state = UI_LOADED;
    m->results = xcalloc(2, sizeof(*m->results));
    m->results[0] = track(5, "Da Funk", "Daft Punk", "Homework", 2, 328000);
    m->results[1] = track(101, "Around the World", "Daft Punk", "Homework", 7, 429000);
    m->nresults = 2;
    playing_snapshot(&m->snap);
    for (size_t k = 0; k < NSIZES; k++) {
        c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        assert_row_has(c, 1, "Search: daft (2 results)");
        assert_int_equal(attr_at(c, 1, 0), UI_ATTR_HEADER);
        assert_row_has(c, 2, "    1. Da Funk");
        assert_row_has(c, 3, " ▶  2. Around the World");
        assert_int_equal(attr_at(c, 2, 1), UI_ATTR_SELECTED);
        assert_int_equal(attr_at(c, 3, 1), UI_ATTR_PLAYING);
        assert_row_has(c, 2, "Homework");
        assert_int_equal(m->body_rows, c->h - 6);
        canvas_free(c);
    }
    m->nresults = 1;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "Search: daft (1 result)");
    canvas_free(c);
    m->nresults = 2;
    drop_model(m);
}

/* ---- 5 peers ---- */

static void add_conn(struct mq_snapshot *s, const char *address, bool inbound, const char *st,
                     uint64_t rate_down, uint64_t rate_up, uint64_t bytes_down, uint64_t bytes_up,
                     int32_t rtt)
{
    struct mq_conn *p = &s->conns[s->nconns++];
    memset(p, 0, sizeof(*p));
    snprintf(p->address, sizeof(p->address), "%s", address);
    snprintf(p->state, sizeof(p->state), "%s", st);
    p->inbound = inbound;
    p->rate_down = rate_down;
    p->rate_up = rate_up;
    p->bytes_down = bytes_down;
    p->bytes_up = bytes_up;
    p->requests_in_flight = 2;
    p->chunks_served = 9;
    p->rtt_ms = rtt;
}

/* A (0) 10.0.0.9, B (1) 10.0.0.10, C (2) 10.0.0.2 */
static void three_conns(struct mq_snapshot *s)
{
    add_conn(s, "10.0.0.9:4100", false, "up", 50000, 1000, 5000000, 100000, 40);
    add_conn(s, "10.0.0.10:4100", true, "up", 200000, 0, 1000000, 2000000, -1);
    add_conn(s, "10.0.0.2:4100", false, "handshake", 0, 0, 0, 0, 90);
}

static void assert_order(struct ui_model *m, enum ui_peer_sort sort, int a, int b, int c)
{
    int order[MQ_MAX_CONNS];
    m->peer_sort = sort;
    assert_int_equal(views_peer_order(m, order), 3);
    assert_int_equal(order[0], a);
    assert_int_equal(order[1], b);
    assert_int_equal(order[2], c);
}

static void test_peer_order(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_PEERS);
    three_conns(&m->snap);
    assert_order(m, UI_SORT_RATE_DOWN, 1, 0, 2);
    assert_order(m, UI_SORT_RATE_UP, 0, 2, 1); /* B and C tie: by address */
    assert_order(m, UI_SORT_BYTES_DOWN, 0, 1, 2);
    assert_order(m, UI_SORT_BYTES_UP, 1, 0, 2);
    assert_order(m, UI_SORT_RTT, 0, 2, 1); /* unmeasured last */
    assert_order(m, UI_SORT_ADDRESS, 2, 0, 1);
    drop_model(m);
}

static void test_peers_rows(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_PEERS);
    three_conns(&m->snap);
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        assert_int_equal(attr_at(c, 1, 0), UI_ATTR_HEADER);
        assert_row_has(c, 1, "Down/s▼");
        assert_row_lacks(c, 1, "RTT▲");
        assert_row_has(c, 2, "10.0.0.10");
        assert_row_has(c, 3, "10.0.0.9");
        assert_row_has(c, 4, "10.0.0.2");
        /* B: inbound, 200 kB/s down, 1.0 MB down, 2.0 MB up, no RTT */
        assert_row_has(c, 2, " in ");
        assert_row_has(c, 2, "200 kB/s");
        assert_row_has(c, 2, "1.0 MB");
        assert_row_has(c, 2, "2.0 MB");
        assert_string_equal(glyph_at(c, 2, c->w - 1), "-");
        assert_row_has(c, 3, " out ");
        assert_row_has(c, 3, "40ms");
        assert_row_has(c, 4, "handshake");
        /* the columns line up under their titles (right-aligned ones end
         * where their titles end) */
        assert_int_equal(col_of(c, 1, "Address"), col_of(c, 2, "10.0.0.10"));
        assert_int_equal(col_of(c, 1, "State"), col_of(c, 4, "handshake"));
        assert_int_equal(col_of(c, 1, "Down/s▼") + 7, col_of(c, 2, "200 kB/s") + 8);
        assert_int_equal(attr_at(c, 2, 1), UI_ATTR_SELECTED);
        assert_int_equal(attr_at(c, 3, 1), UI_ATTR_NORMAL);
        /* requests in flight and chunks served where the address still
         * gets a whole IPv4 address and port */
        if (c->w >= 100) {
            assert_int_equal(col_of(c, 1, "Req") + 3, col_of(c, 2, "2      9") + 1);
            assert_int_equal(col_of(c, 1, "Served") + 6, col_of(c, 2, "9     -") + 1);
        } else {
            assert_row_lacks(c, 1, "Served");
            assert_true(col_of(c, 1, "Dir") - col_of(c, 1, "Address") >= 22);
        }
        canvas_free(c);
    }
    m->peer_sort = UI_SORT_RTT;
    m->peers_scroll.cursor = 2;
    struct canvas *c = draw(m, 120, 40, NULL, NULL);
    assert_row_has(c, 1, "RTT▲");
    assert_row_lacks(c, 1, "Down/s▼");
    assert_row_has(c, 2, "10.0.0.9");
    assert_row_has(c, 3, "10.0.0.2");
    assert_row_has(c, 4, "10.0.0.10");
    assert_int_equal(attr_at(c, 4, 1), UI_ATTR_SELECTED);
    canvas_free(c);
    /* more connections than rows: the list scrolls to the cursor */
    m->snap.nconns = 0;
    for (int i = 0; i < 30; i++) {
        char address[32];
        snprintf(address, sizeof(address), "10.0.1.%d:4100", i);
        add_conn(&m->snap, address, false, "up", 0, 0, 0, 0, 100 + i);
    }
    m->peers_scroll.cursor = 25;
    c = draw(m, 80, 24, NULL, NULL);
    assert_int_equal(m->body_rows, 10);
    assert_row_has(c, 11, "10.0.1.25:4100");
    assert_int_equal(attr_at(c, 11, 1), UI_ATTR_SELECTED);
    assert_row_has(c, 2, "10.0.1.16:4100");
    canvas_free(c);
    m->snap.nconns = 0;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 2, "no peer connections");
    canvas_free(c);
    drop_model(m);
}

static void test_peers_totals(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_PEERS);
    struct mq_snapshot *s = &m->snap;
    s->bytes_from_cache = 5500000;
    s->bytes_from_peers = 3600000;
    s->bytes_from_service = 900000;
    s->downloaded_peers = 3600000;
    s->downloaded_service = 900000;
    s->uploaded = 2100000;
    s->chunks_served = 7;
    s->busy_replies = 2;
    s->chunks_rejected = 1;
    s->peers_banned = 1;
    s->found_tracker = 4;
    s->found_search = 2;
    s->track_found_tracker = 3;
    s->track_found_search = 1;
    snprintf(s->p2p_listen, sizeof(s->p2p_listen), "0.0.0.0:4100");
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        int y = c->h - 5 - 6; /* the bottom block: the body's last 7 rows */
        assert_row_has(c, y, "cache 5.5 MB 55%  peers 3.6 MB 36%  service 900 kB 9%");
        assert_row_has(c, y + 1, "4.5 MB (peers 3.6 MB, service 900 kB)  uploaded 2.1 MB");
        assert_row_has(c, y + 2, "served 7  busy 2  rejected 1  peers banned 1");
        assert_row_has(c, y + 3, "this track: tracker 3, search 1 (all 4, 2)");
        assert_row_has(c, y + 3, "listening on 0.0.0.0:4100");
        assert_row_has(c, y + 4, "nothing plays");
        canvas_free(c);
    }
    s->p2p_listen[0] = '\0';
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 16, "not listening");
    canvas_free(c);
    drop_model(m);
}

static void test_chunk_map(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_PEERS);
    struct mq_snapshot *s = &m->snap;
    playing_snapshot(s);
    s->ncells = 0;
    set_cells(s, 0, 10, MQ_CHUNK_CACHE);
    set_cells(s, 10, 20, MQ_CHUNK_PEER);
    set_cells(s, 20, 30, MQ_CHUNK_SERVICE);
    set_cells(s, 30, 40, MQ_CHUNK_MISSING);
    s->chunk_count = 80;
    s->chunks_per_cell = 2;
    s->playhead_chunk = 25; /* cell 12 */
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        int legend = c->h - 5 - 2, marker = legend + 1, map = legend + 2;
        assert_row_has(c, legend, "chunk map (80 chunks):");
        assert_row_has(c, legend, "█ cache  ▓ peers  ▒ service  · missing  ▼ playhead");
        int x = col_of(c, legend, "█");
        assert_int_equal(attr_at(c, legend, x), UI_ATTR_CACHE);
        assert_row_has(c, map, " ██████████▓▓▓▓▓▓▓▓▓▓▒▒▒▒▒▒▒▒▒▒·········· ");
        assert_int_equal(attr_at(c, map, 1), UI_ATTR_CACHE);
        assert_int_equal(attr_at(c, map, 11), UI_ATTR_PEER);
        assert_int_equal(attr_at(c, map, 21), UI_ATTR_SERVICE);
        assert_int_equal(attr_at(c, map, 31), UI_ATTR_MISSING);
        /* the playhead: cell 12, column 13, marked above and drawn apart */
        assert_int_equal(col_of(c, marker, "▼"), 13);
        assert_int_equal(count_glyph(c, marker, "▼"), 1);
        assert_int_equal(attr_at(c, map, 13), UI_ATTR_PLAYHEAD);
        assert_string_equal(glyph_at(c, map, 13), "▓");
        assert_int_equal(attr_at(c, map, 12), UI_ATTR_PEER);
        canvas_free(c);
    }
    /* more cells than columns: a character holds a group and shows the
     * worst of it */
    s->ncells = 0;
    set_cells(s, 0, 400, MQ_CHUNK_CACHE);
    s->cells[200] = MQ_CHUNK_MISSING;
    s->cells[300] = MQ_CHUNK_SERVICE;
    s->cells[301] = MQ_CHUNK_PEER;
    s->chunks_per_cell = 1;
    s->chunk_count = 400;
    s->playhead_chunk = 399;
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_int_equal(count_glyph(c, 19, "·"), 1);
    assert_int_equal(count_glyph(c, 19, "▒"), 1);
    assert_int_equal(count_glyph(c, 19, "▓"), 0);
    assert_int_equal(count_glyph(c, 19, "█"), 76);
    assert_int_equal(col_of(c, 18, "▼"), 78);
    assert_int_equal(attr_at(c, 19, 78), UI_ATTR_PLAYHEAD);
    assert_int_equal(col_of(c, 19, "·"), 1 + 200 * 78 / 400);
    canvas_free(c);
    drop_model(m);
}

/* ---- 6 log, help ---- */

static void add_log(struct ui_model *m, bool error, int64_t when, const char *text)
{
    size_t at = (m->log_start + m->nlog) % UI_LOG_MAX;
    m->log[at] = (struct ui_log_line){.text = xstrdup(text), .error = error, .when = when};
    m->nlog++;
}

static void test_log(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_LOG);
    struct canvas *c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "nothing logged yet");
    canvas_free(c);
    /* a ring that wraps: the oldest at the end of the array */
    m->log_start = UI_LOG_MAX - 1;
    int64_t noon = 13 * 3600 + 5 * 60 + 7;
    add_log(m, false, noon, "first");
    add_log(m, true, noon + 1, "cannot reach the service");
    add_log(m, false, noon + 62, "third");
    assert_string_equal(views_log_line(m, 0)->text, "first");
    assert_ptr_equal(views_log_line(m, 0), &m->log[UI_LOG_MAX - 1]);
    assert_string_equal(views_log_line(m, 2)->text, "third");
    assert_null(views_log_line(m, 3));
    m->log_follow = true;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "13:05:07 first");
    assert_row_has(c, 2, "13:05:08 cannot reach the service");
    assert_row_has(c, 3, "13:06:09 third");
    assert_int_equal(attr_at(c, 2, 1), UI_ATTR_ERROR);
    assert_int_equal(attr_at(c, 3, 1), UI_ATTR_SELECTED); /* following the newest */
    assert_int_equal(attr_at(c, 1, 1), UI_ATTR_NORMAL);
    canvas_free(c);
    /* more lines than rows: following shows the newest at the bottom */
    for (int i = 3; i < 100; i++) {
        char text[32];
        snprintf(text, sizeof(text), "line %d", i);
        add_log(m, false, noon, text);
    }
    for (size_t k = 0; k < NSIZES; k++) {
        c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        int last = c->h - 5;
        assert_row_has(c, last, "line 99");
        assert_int_equal(attr_at(c, last, 0), UI_ATTR_SELECTED);
        char first[32];
        snprintf(first, sizeof(first), "line %d ", 100 - (c->h - 5));
        assert_row_has(c, 1, first);
        canvas_free(c);
    }
    m->log_follow = false;
    m->log_scroll.cursor = 1;
    c = draw(m, 80, 24, NULL, NULL);
    assert_row_has(c, 1, "first");
    assert_int_equal(attr_at(c, 2, 1), UI_ATTR_SELECTED);
    canvas_free(c);
    drop_model(m);
}

static void test_help(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_QUEUE);
    static const char *const lines[] = {"j, down   win-down", "k, up     win-up", "q         quit"};
    struct ui_overlay ov = {.help = true, .help_lines = lines, .nhelp = 3, .help_top = 1};
    struct canvas *c = draw(m, 80, 24, &ov, NULL);
    assert_row_has(c, 1, "Keys and commands (q or ? closes)");
    assert_int_equal(attr_at(c, 1, 0), UI_ATTR_HEADER);
    assert_row_has(c, 2, "k, up     win-up");
    assert_row_has(c, 3, "q         quit");
    assert_int_equal(find_row(c, "win-down"), -1);
    assert_int_equal(m->body_rows, 18);
    canvas_free(c);
    drop_model(m);
}

/* ---- the last row ---- */

static void test_prompt_and_message(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_LIBRARY);
    struct ui_overlay ov = {.prompt = ":", .input = "seek 1:30", .input_col = 9};
    int cursor;
    struct canvas *c = draw(m, 80, 24, &ov, &cursor);
    assert_int_equal(cursor, 10);
    assert_int_equal(col_of(c, 23, ":seek 1:30"), 0);
    canvas_free(c);
    ov.input = "日本";
    ov.input_col = 2;
    c = draw(m, 80, 24, &ov, &cursor);
    assert_int_equal(cursor, 3);
    canvas_free(c);

    /* longer than the row: scrolled so the cursor shows */
    char input[200];
    memset(input, 'a', 150);
    snprintf(input + 150, sizeof(input) - 150, "END");
    ov.input = input;
    ov.input_col = 153;
    for (size_t k = 0; k < NSIZES; k++) {
        c = draw(m, sizes[k][0], sizes[k][1], &ov, &cursor);
        assert_int_equal(cursor, c->w - 1);
        assert_int_equal(col_of(c, c->h - 1, "END"), c->w - 4);
        assert_string_equal(glyph_at(c, c->h - 1, 0), ":");
        canvas_free(c);
    }

    struct ui_overlay msg = {.message = "no such track: 'x'", .message_error = true};
    c = draw(m, 80, 24, &msg, &cursor);
    assert_int_equal(cursor, -1);
    assert_int_equal(col_of(c, 23, "no such track: 'x'"), 0);
    assert_int_equal(attr_at(c, 23, 0), UI_ATTR_ERROR);
    canvas_free(c);
    msg.message_error = false;
    c = draw(m, 80, 24, &msg, NULL);
    assert_int_equal(attr_at(c, 23, 0), UI_ATTR_NORMAL);
    canvas_free(c);
    drop_model(m);
}

/* ---- wide characters, truncation, frames ---- */

static void test_wide_titles_align(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_QUEUE);
    m->queue_state = UI_LOADED;
    add_queue_row(m, track(1, "Plain title", "Artist A", "Album A", 1, 60000), false);
    add_queue_row(m, track(2, "日本語のタイトル", "Artist B", "アルバム", 2, 61000), false);
    add_queue_row(m,
                  track(3, "日本語のタイトルがとても長い曲の名前です、そしてもっと長くなります",
                        "Artist C", "Album C", 3, 62000),
                  false);
    add_queue_row(m,
                  track(4, "A very long title that goes on and on far past its column", "D",
                        "Album D", 4, 63000),
                  false);
    for (size_t k = 0; k < NSIZES; k++) {
        struct canvas *c = draw(m, sizes[k][0], sizes[k][1], NULL, NULL);
        for (int y = 2; y <= 5; y++) {
            char *row = canvas_row_text(c, y);
            assert_int_equal(text_width(row), c->w);
            free(row);
        }
        int artist = col_of(c, 2, "Artist A");
        assert_int_equal(col_of(c, 3, "Artist B"), artist);
        assert_int_equal(col_of(c, 4, "Artist C"), artist);
        assert_int_equal(col_of(c, 3, "アルバム"), col_of(c, 2, "Album A"));
        assert_int_equal(col_of(c, 3, "1:01"), col_of(c, 2, "1:00"));
        /* cut with "…", the next column where it belongs */
        assert_row_has(c, 4, "…");
        assert_row_has(c, 5, "…");
        assert_int_equal(col_of(c, 5, "D   "), artist);
        canvas_free(c);
    }
    drop_model(m);
}

static void test_row_diff(void **state)
{
    (void)state;
    struct ui_model *m = new_model(CMD_VIEW_PEERS);
    playing_snapshot(&m->snap);
    status_snapshot(&m->snap);
    three_conns(&m->snap);
    struct canvas *a = draw(m, 80, 24, NULL, NULL);
    struct canvas *b = draw(m, 80, 24, NULL, NULL);
    for (int y = 0; y < 24; y++)
        assert_true(canvas_row_equal(a, b, y));
    canvas_free(b);
    /* a second later: only the progress row changes */
    m->snap.position_ms += 1000;
    b = draw(m, 80, 24, NULL, NULL);
    for (int y = 0; y < 24; y++)
        assert_int_equal(canvas_row_equal(a, b, y), y != 21);
    canvas_free(b);
    /* a peer's rate: its row only (the order stays) */
    m->snap.position_ms -= 1000;
    m->snap.conns[0].rate_down = 60000;
    b = draw(m, 80, 24, NULL, NULL);
    for (int y = 0; y < 24; y++)
        assert_int_equal(canvas_row_equal(a, b, y), y != 3);
    canvas_free(b);
    canvas_free(a);
    drop_model(m);
}

int main(void)
{
    /* the views measure by wcwidth under the locale the TUI sets; the log
     * view's times are local */
    assert_non_null(setlocale(LC_ALL, "C.UTF-8"));
    setenv("TZ", "UTC", 1);
    tzset();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format_time_and_bytes),
        cmocka_unit_test(test_hit_rate),
        cmocka_unit_test(test_track_source),
        cmocka_unit_test(test_tabs),
        cmocka_unit_test(test_status_line),
        cmocka_unit_test(test_now_playing_and_progress),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_library_panes),
        cmocka_unit_test(test_library_states),
        cmocka_unit_test(test_library_scroll),
        cmocka_unit_test(test_playlists),
        cmocka_unit_test(test_queue),
        cmocka_unit_test(test_search),
        cmocka_unit_test(test_peer_order),
        cmocka_unit_test(test_peers_rows),
        cmocka_unit_test(test_peers_totals),
        cmocka_unit_test(test_chunk_map),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_prompt_and_message),
        cmocka_unit_test(test_wide_titles_align),
        cmocka_unit_test(test_row_diff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
