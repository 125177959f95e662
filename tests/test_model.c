/* Tests for ui/model: fed with the JSON the engine answers (built with
 * jansson in the shapes of core/engine_cmd.c), the model must ask for
 * what it lacks (model_wants), keep its cursors on the items they were
 * on, turn every row command of every view into the exact engine lines,
 * log what the engine says, and keep at most UI_LOG_MAX log lines. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "ui/model.h"

/* ---- JSON as the engine makes it ---- */

/* track_json: the library offline, playlists, queue, search. */
static json_t *track(uint64_t id, const char *title, const char *artist, const char *album,
                     int number, double seconds)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)id));
    json_object_set_new(o, "title", json_string(title));
    json_object_set_new(o, "artist", json_string(artist));
    json_object_set_new(o, "album", json_string(album));
    json_object_set_new(o, "number", json_integer(number));
    json_object_set_new(o, "duration", json_real(seconds));
    return o;
}

/* on_browse: what the service's catalog answers. */
static json_t *item(uint64_t id, const char *kind, const char *title, const char *artist)
{
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer((json_int_t)id));
    json_object_set_new(o, "kind", json_string(kind));
    json_object_set_new(o, "title", json_string(title));
    json_object_set_new(o, "artist", json_string(artist));
    return o;
}

static json_t *with_position(json_t *o, size_t position)
{
    json_object_set_new(o, "position", json_integer((json_int_t)position));
    return o;
}

static json_t *playlist(const char *name, size_t tracks, bool keep)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(name));
    json_object_set_new(o, "tracks", json_integer((json_int_t)tracks));
    json_object_set_new(o, "keep_offline", json_boolean(keep));
    json_object_set_new(o, "cached", json_integer(0));
    return o;
}

/* An answer with status 0 (takes data). */
static void answer(struct ui_model *m, const char *line, json_t *data)
{
    model_on_result(m, line, 0, NULL, data);
    json_decref(data);
}

/* ---- the fixture: a library, two playlists, a queue ---- */

/* Air (#1): Moon Safari (#10: #100..#102), Talkie Walkie (#11: #110,
 * #111); Björk (#2); The Cure (#3). */
static json_t *artists_json(void)
{
    json_t *a = json_array();
    json_array_append_new(a, item(1, "artist", "Air", ""));
    json_array_append_new(a, item(2, "artist", "Björk", ""));
    json_array_append_new(a, item(3, "artist", "The Cure", ""));
    return a;
}

static json_t *moon_safari(void)
{
    json_t *a = json_array();
    json_array_append_new(a, track(100, "La femme d'argent", "Air", "Moon Safari", 1, 428.0));
    json_array_append_new(a, track(101, "Sexy Boy", "Air", "Moon Safari", 2, 298.5));
    json_array_append_new(a, track(102, "All I Need", "Air", "Moon Safari", 3, 268.0));
    return a;
}

/* Online: items without album, number or duration. */
static json_t *talkie_walkie(void)
{
    json_t *a = json_array();
    json_array_append_new(a, item(110, "track", "Venus", "Air"));
    json_array_append_new(a, item(111, "track", "Cherry Blossom Girl", "Air"));
    return a;
}

static json_t *mix_tracks(void)
{
    json_t *a = json_array();
    json_array_append_new(a, with_position(track(101, "Sexy Boy", "Air", "Moon Safari", 2, 1), 1));
    json_array_append_new(a, with_position(track(200, "Hyperballad", "Björk", "Post", 3, 1), 2));
    json_array_append_new(
        a, with_position(track(300, "Lullaby", "The Cure", "Disintegration", 5, 1), 3));
    return a;
}

static json_t *playlists_json(bool mix_kept)
{
    json_t *a = json_array();
    json_array_append_new(a, playlist("Mix", 3, mix_kept));
    json_array_append_new(a, playlist("Road trip", 0, false));
    return a;
}

/* The queue: ids and titles, the current one. */
static json_t *queue_json(const uint64_t *ids, size_t n, size_t current)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        char title[32];
        snprintf(title, sizeof(title), "Song %llu", (unsigned long long)ids[i]);
        json_t *o = with_position(track(ids[i], title, "Someone", "Something", 1, 60), i + 1);
        json_object_set_new(o, "current", json_boolean(i == current));
        json_array_append_new(a, o);
    }
    return a;
}

static void free_lines(char **lines, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
}

/* The lines model_wants gives must be exactly want (NULL-terminated). */
#define expect_wants(m, ...) expect_wants_(m, (const char *[]){__VA_ARGS__, NULL})
static void expect_wants_(struct ui_model *m, const char **want)
{
    char **lines = NULL;
    size_t n = model_wants(m, &lines), i = 0;
    for (; want[i]; i++) {
        if (i >= n)
            fail_msg("model_wants: missing '%s' (got %zu lines)", want[i], n);
        assert_string_equal(lines[i], want[i]);
    }
    if (n != i)
        fail_msg("model_wants: %zu lines, expected %zu (extra: '%s')", n, i, lines[i]);
    free_lines(lines, n);
}

static long run(struct ui_model *m, enum cmd_id id, const char *arg, char ***lines, char **error)
{
    struct cmd c = {.id = id};
    return model_action(m, &c, arg, lines, error);
}

static void act(struct ui_model *m, enum cmd_id id)
{
    char **lines = NULL, *error = NULL;
    long n = run(m, id, NULL, &lines, &error);
    if (n < 0)
        fail_msg("%s: %s", cmd_def_of(id)->name, error);
    free_lines(lines, n > 0 ? (size_t)n : 0);
}

static void view(struct ui_model *m, enum cmd_view v)
{
    char **lines = NULL, *error = NULL;
    struct cmd c = {.id = CMD_VIEW, .a = v};
    assert_int_equal(model_action(m, &c, NULL, &lines, &error), 0);
    assert_null(lines);
    assert_int_equal(m->view, v);
}

/* model_action must answer exactly the lines want (NULL-terminated). */
#define expect_lines(m, id, arg, ...) expect_lines_(m, id, arg, (const char *[]){__VA_ARGS__, NULL})
static void expect_lines_(struct ui_model *m, enum cmd_id id, const char *arg, const char **want)
{
    char **lines = NULL, *error = NULL;
    long n = run(m, id, arg, &lines, &error);
    if (n < 0)
        fail_msg("%s: failed: %s", cmd_def_of(id)->name, error);
    long i = 0;
    for (; want[i]; i++) {
        if (i >= n)
            fail_msg("%s: missing '%s'", cmd_def_of(id)->name, want[i]);
        assert_string_equal(lines[i], want[i]);
    }
    if (n != i)
        fail_msg("%s: %ld lines, expected %ld (extra: '%s')", cmd_def_of(id)->name, n, i, lines[i]);
    assert_null(error);
    free_lines(lines, (size_t)n);
}

/* model_action must refuse with an error that contains text. */
static void expect_error(struct ui_model *m, enum cmd_id id, const char *arg, const char *text)
{
    char **lines = (char **)1, *error = NULL;
    assert_int_equal(run(m, id, arg, &lines, &error), -1);
    assert_null(lines);
    assert_non_null(error);
    if (!strstr(error, text))
        fail_msg("%s: error '%s' lacks '%s'", cmd_def_of(id)->name, error, text);
    free(error);
}

static const struct ui_log_line *newest_log(const struct ui_model *m)
{
    assert_true(m->nlog > 0);
    return &m->log[(m->log_start + m->nlog - 1) % UI_LOG_MAX];
}

static void expect_log(const struct ui_model *m, bool error, const char *text)
{
    const struct ui_log_line *l = newest_log(m);
    if (!strstr(l->text, text))
        fail_msg("newest log line '%s' lacks '%s'", l->text, text);
    assert_int_equal(l->error, error);
}

/* A fresh model with everything loaded: Air expanded with both albums'
 * tracks, the playlists and Mix's tracks, a queue of 5. */
static void loaded(struct ui_model *m)
{
    static const uint64_t q[] = {101, 200, 300, 110, 111};
    model_init(m);
    m->body_rows = 5;
    expect_wants(m, "browse artists", "playlist list", "queue list");
    answer(m, "browse artists", artists_json());
    answer(m, "playlist list", playlists_json(false));
    answer(m, "queue list", queue_json(q, 5, 0));
    act(m, CMD_WIN_ACTIVATE); /* opens Air */
    expect_wants(m, "browse albums #1", "playlist list Mix");
    json_t *albums = json_array();
    json_array_append_new(albums, item(10, "album", "Moon Safari", "Air"));
    json_array_append_new(albums, item(11, "album", "Talkie Walkie", "Air"));
    answer(m, "browse albums #1", albums);
    answer(m, "playlist list Mix", mix_tracks());
    expect_wants(m, "browse tracks #10", "browse tracks #11");
    answer(m, "browse tracks #10", moon_safari());
    answer(m, "browse tracks #11", talkie_walkie());
    expect_wants(m, NULL);
}

/* ---- asking ---- */

static void test_wants_from_fresh(void **state)
{
    struct ui_model m;
    model_init(&m);
    expect_wants(&m, "browse artists", "playlist list", "queue list");
    assert_int_equal(m.artists_state, UI_LOADING);
    assert_int_equal(m.playlists_state, UI_LOADING);
    assert_int_equal(m.queue_state, UI_LOADING);
    expect_wants(&m, NULL); /* asked once until answered */
    assert_int_equal(m.nasked, 3);

    answer(&m, "browse artists", artists_json());
    assert_int_equal(m.artists_state, UI_LOADED);
    assert_int_equal(m.nartists, 3);
    assert_string_equal(m.artists[1].name, "Björk");
    assert_int_equal(m.nlib_rows, 3);
    expect_wants(&m, NULL); /* nothing open yet */

    /* win-activate on an artist opens it: its albums are wanted */
    act(&m, CMD_WIN_ACTIVATE);
    assert_true(m.artists[0].expanded);
    expect_wants(&m, "browse albums #1");
    assert_int_equal(m.artists[0].albums_state, UI_LOADING);
    json_t *albums = json_array();
    json_array_append_new(albums, item(10, "album", "Moon Safari", "Air"));
    json_array_append_new(albums, item(11, "album", "Talkie Walkie", "Air"));
    answer(&m, "browse albums #1", albums);
    assert_int_equal(m.nlib_rows, 5);
    assert_false(m.lib_rows[0].is_album);
    assert_true(m.lib_rows[1].is_album);
    assert_int_equal(m.lib_rows[2].id, 11);
    assert_string_equal(m.lib_rows[2].name, "Talkie Walkie");
    assert_int_equal(m.lib_rows[2].owner, 0);
    assert_int_equal(m.lib_rows[3].id, 2);
    assert_int_equal(m.lib_left.cursor, 0);
    /* on the artist: the tracks of all its albums, for the right pane */
    expect_wants(&m, "browse tracks #10", "browse tracks #11");
    answer(&m, "browse tracks #11", talkie_walkie());
    /* on an album: its tracks (#10 is still asked) */
    act(&m, CMD_WIN_DOWN);
    expect_wants(&m, NULL);
    answer(&m, "browse tracks #10", moon_safari());
    assert_int_equal(m.nasked, 2); /* playlist list, queue list */
    const struct ui_album_tracks *a = &m.albums[0];
    assert_int_equal(a->album_id, 10);
    assert_int_equal(a->state, UI_LOADED);
    assert_int_equal(a->n, 3);
    assert_string_equal(a->tracks[1].title, "Sexy Boy");
    assert_int_equal(a->tracks[1].number, 2);
    assert_int_equal(a->tracks[1].duration_ms, 298500);
    /* online items: the album from the artist's list, the rest unknown */
    const struct ui_album_tracks *b = &m.albums[1];
    assert_int_equal(b->album_id, 11);
    assert_string_equal(b->tracks[0].album, "Talkie Walkie");
    assert_string_equal(b->tracks[0].artist, "Air");
    assert_int_equal(b->tracks[0].number, 0);
    assert_int_equal(b->tracks[0].duration_ms, 0);

    /* playlists: the one under the cursor has its tracks wanted */
    answer(&m, "playlist list", playlists_json(false));
    expect_wants(&m, "playlist list Mix");
    answer(&m, "playlist list Mix", mix_tracks());
    assert_int_equal(m.playlists[0].tracks_state, UI_LOADED);
    assert_int_equal(m.playlists[0].ntracks, 3);
    view(&m, CMD_VIEW_PLAYLISTS);
    act(&m, CMD_WIN_DOWN);
    expect_wants(&m, "playlist list 'Road trip'");
    assert_int_equal(m.playlists[1].tracks_state, UI_LOADING);
    model_free(&m);
}

static void test_answers_not_asked_and_stale_search(void **state)
{
    struct ui_model m;
    model_init(&m);
    /* a list the user asked on the `:` line fills the model too */
    json_t *q = json_array();
    json_array_append_new(q, track(5, "Five", "A", "B", 1, 2));
    answer(&m, "search five", q);
    assert_string_equal(m.search_query, "five");
    assert_int_equal(m.nresults, 1);
    assert_int_equal(m.results_state, UI_LOADED);

    /* the answer of an older search does not replace the latest one's */
    view(&m, CMD_VIEW_SEARCH);
    expect_lines(&m, CMD_SEARCH_START, "new", "search new");
    assert_int_equal(m.results_state, UI_LOADING);
    assert_int_equal(m.nresults, 0);
    json_t *old = json_array();
    json_array_append_new(old, track(6, "Six", "A", "B", 1, 2));
    answer(&m, "search old", old);
    assert_int_equal(m.nresults, 0);
    assert_string_equal(m.search_query, "new");
    answer(&m, "search new", json_array());
    assert_int_equal(m.results_state, UI_LOADED);
    model_free(&m);
}

/* ---- cursors ---- */

static void test_cursor_moves_and_pages(void **state)
{
    static const uint64_t ids[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    struct ui_model m;
    model_init(&m);
    m.body_rows = 5;
    answer(&m, "queue list", queue_json(ids, 12, 0));
    view(&m, CMD_VIEW_QUEUE);
    size_t rows = 0;
    assert_ptr_equal(model_focus(&m, &rows), &m.queue_scroll);
    assert_int_equal(rows, 12);
    act(&m, CMD_WIN_UP); /* stays on the first */
    assert_int_equal(m.queue_scroll.cursor, 0);
    for (int i = 0; i < 4; i++)
        act(&m, CMD_WIN_DOWN);
    assert_int_equal(m.queue_scroll.cursor, 4);
    assert_int_equal(m.queue_scroll.top, 0);
    act(&m, CMD_WIN_DOWN); /* past the page: it scrolls by one */
    assert_int_equal(m.queue_scroll.cursor, 5);
    assert_int_equal(m.queue_scroll.top, 1);
    act(&m, CMD_WIN_PAGE_DOWN);
    assert_int_equal(m.queue_scroll.cursor, 10);
    assert_int_equal(m.queue_scroll.top, 6);
    act(&m, CMD_WIN_PAGE_DOWN); /* clamped to the last */
    assert_int_equal(m.queue_scroll.cursor, 11);
    assert_int_equal(m.queue_scroll.top, 7);
    act(&m, CMD_WIN_DOWN);
    assert_int_equal(m.queue_scroll.cursor, 11);
    act(&m, CMD_WIN_PAGE_UP);
    assert_int_equal(m.queue_scroll.cursor, 6);
    assert_int_equal(m.queue_scroll.top, 6);
    act(&m, CMD_WIN_UP);
    assert_int_equal(m.queue_scroll.cursor, 5);
    assert_int_equal(m.queue_scroll.top, 5);
    act(&m, CMD_WIN_TOP);
    assert_int_equal(m.queue_scroll.cursor, 0);
    assert_int_equal(m.queue_scroll.top, 0);
    act(&m, CMD_WIN_BOTTOM);
    assert_int_equal(m.queue_scroll.cursor, 11);
    assert_int_equal(m.queue_scroll.top, 7);
    /* a page is at least a row */
    m.body_rows = 0;
    act(&m, CMD_WIN_PAGE_UP);
    assert_int_equal(m.queue_scroll.cursor, 10);
    assert_int_equal(m.queue_scroll.top, 10);

    /* views without rows: nothing moves, nothing breaks */
    view(&m, CMD_VIEW_PEERS);
    assert_ptr_equal(model_focus(&m, &rows), &m.peers_scroll);
    assert_int_equal(rows, 0);
    act(&m, CMD_WIN_DOWN);
    act(&m, CMD_WIN_BOTTOM);
    assert_int_equal(m.peers_scroll.cursor, 0);
    model_free(&m);
}

static void test_focus_and_panes(void **state)
{
    struct ui_model m;
    loaded(&m);
    size_t rows;
    /* library: left, then right (Air: its 5 tracks) */
    assert_ptr_equal(model_focus(&m, &rows), &m.lib_left);
    assert_int_equal(rows, 5);
    act(&m, CMD_WIN_NEXT);
    assert_true(m.lib_focus_right);
    assert_ptr_equal(model_focus(&m, &rows), &m.lib_right);
    assert_int_equal(rows, 5);
    act(&m, CMD_WIN_BOTTOM);
    assert_int_equal(m.lib_right.cursor, 4);
    /* the left cursor moving shows other tracks: the right pane starts over */
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    assert_int_equal(m.lib_right.cursor, 0);
    act(&m, CMD_WIN_NEXT);
    assert_ptr_equal(model_focus(&m, &rows), &m.lib_right);
    assert_int_equal(rows, 3); /* Moon Safari */

    /* playlists: left, then the tracks of the one under the cursor */
    view(&m, CMD_VIEW_PLAYLISTS);
    assert_ptr_equal(model_focus(&m, &rows), &m.pl_left);
    assert_int_equal(rows, 2);
    act(&m, CMD_WIN_NEXT);
    assert_ptr_equal(model_focus(&m, &rows), &m.pl_right);
    assert_int_equal(rows, 3);

    /* the other views have one list; win-next does nothing there */
    view(&m, CMD_VIEW_QUEUE);
    act(&m, CMD_WIN_NEXT);
    assert_ptr_equal(model_focus(&m, &rows), &m.queue_scroll);
    assert_int_equal(rows, 5);
    view(&m, CMD_VIEW_SEARCH);
    assert_ptr_equal(model_focus(&m, &rows), &m.search_scroll);
    assert_int_equal(rows, 0);
    view(&m, CMD_VIEW_PEERS);
    struct mq_snapshot *s = xcalloc(1, sizeof(*s));
    s->nconns = 7;
    model_set_snapshot(&m, s);
    assert_true(m.have_snap);
    assert_ptr_equal(model_focus(&m, &rows), &m.peers_scroll);
    assert_int_equal(rows, 7);
    act(&m, CMD_WIN_BOTTOM);
    assert_int_equal(m.peers_scroll.cursor, 6);
    s->nconns = 2; /* connections went: the cursor stays on a row */
    model_set_snapshot(&m, s);
    assert_int_equal(m.peers_scroll.cursor, 1);
    free(s);
    view(&m, CMD_VIEW_LOG);
    assert_ptr_equal(model_focus(&m, &rows), &m.log_scroll);
    assert_int_equal(rows, m.nlog);
    model_free(&m);
}

/* ---- row commands ---- */

static void test_activate(void **state)
{
    struct ui_model m;
    loaded(&m);
    /* library left: an artist opens and closes, no line */
    expect_lines(&m, CMD_WIN_ACTIVATE, NULL, NULL);
    assert_false(m.artists[0].expanded);
    assert_int_equal(m.nlib_rows, 3);
    expect_lines(&m, CMD_WIN_ACTIVATE, NULL, NULL);
    assert_int_equal(m.nlib_rows, 5);
    expect_wants(&m, NULL); /* the albums are there already */
    /* an album plays from its first track */
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_ACTIVATE, NULL, "play #100", "queue add #101", "queue add #102");
    /* library right: from the track on, the rest of the pane after it */
    act(&m, CMD_WIN_UP);
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_ACTIVATE, NULL, "play #102", "queue add #110", "queue add #111");
    /* an album whose tracks are not here yet */
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_BOTTOM); /* The Cure */
    act(&m, CMD_WIN_ACTIVATE);
    expect_wants(&m, "browse albums #3");
    json_t *albums = json_array();
    json_array_append_new(albums, item(30, "album", "Disintegration", "The Cure"));
    answer(&m, "browse albums #3", albums);
    act(&m, CMD_WIN_DOWN);
    expect_error(&m, CMD_WIN_ACTIVATE, NULL, "the album's tracks are still loading");
    expect_wants(&m, "browse tracks #30"); /* the album under the cursor */
    expect_error(&m, CMD_WIN_ACTIVATE, NULL, "the album's tracks are still loading");
    answer(&m, "browse tracks #30", json_array());
    expect_error(&m, CMD_WIN_ACTIVATE, NULL, "the album has no tracks");

    /* playlists: load it and play from the first, or from the track */
    view(&m, CMD_VIEW_PLAYLISTS);
    expect_lines(&m, CMD_WIN_ACTIVATE, NULL, "playlist load Mix", "queue play 1");
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_ACTIVATE, NULL, "playlist load Mix", "queue play 2");
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    expect_error(&m, CMD_WIN_ACTIVATE, NULL, "'Road trip' is empty");

    /* queue: its position */
    view(&m, CMD_VIEW_QUEUE);
    act(&m, CMD_WIN_DOWN);
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_ACTIVATE, NULL, "queue play 3");

    /* search: the result and the ones after it */
    view(&m, CMD_VIEW_SEARCH);
    expect_error(&m, CMD_WIN_ACTIVATE, NULL, "nothing to play here");
    json_t *r = json_array();
    json_array_append_new(r, track(7, "Seven", "X", "Y", 1, 1));
    json_array_append_new(r, track(8, "Eight", "X", "Y", 2, 1));
    json_array_append_new(r, track(9, "Nine", "X", "Y", 3, 1));
    expect_lines(&m, CMD_SEARCH_START, "x", "search x");
    answer(&m, "search x", r);
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_ACTIVATE, NULL, "play #8", "queue add #9");

    view(&m, CMD_VIEW_PEERS);
    expect_error(&m, CMD_WIN_ACTIVATE, NULL, "nothing to play here");
    view(&m, CMD_VIEW_LOG);
    expect_error(&m, CMD_WIN_ACTIVATE, NULL, "nothing to play here");
    model_free(&m);
}

static void test_add_queue(void **state)
{
    struct ui_model m;
    loaded(&m);
    /* an artist: all its loaded tracks; an album: its tracks */
    expect_lines(&m, CMD_WIN_ADD_QUEUE, NULL, "queue add #100", "queue add #101", "queue add #102",
                 "queue add #110", "queue add #111");
    act(&m, CMD_WIN_DOWN);
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_ADD_QUEUE, NULL, "queue add #110", "queue add #111");
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_ADD_QUEUE, NULL, "queue add #111");
    /* an artist whose albums are not here */
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    expect_error(&m, CMD_WIN_ADD_QUEUE, NULL, "not loaded yet");

    view(&m, CMD_VIEW_PLAYLISTS);
    expect_lines(&m, CMD_WIN_ADD_QUEUE, NULL, "queue add #101", "queue add #200", "queue add #300");
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_BOTTOM);
    expect_lines(&m, CMD_WIN_ADD_QUEUE, NULL, "queue add #300");
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN); /* Road trip: its tracks not asked yet */
    expect_error(&m, CMD_WIN_ADD_QUEUE, NULL, "still loading");

    view(&m, CMD_VIEW_QUEUE);
    act(&m, CMD_WIN_BOTTOM);
    expect_lines(&m, CMD_WIN_ADD_QUEUE, NULL, "queue add #111");

    view(&m, CMD_VIEW_SEARCH);
    json_t *r = json_array();
    json_array_append_new(r, track(7, "Seven", "X", "Y", 1, 1));
    answer(&m, "search seven", r);
    expect_lines(&m, CMD_WIN_ADD_QUEUE, NULL, "queue add #7");

    view(&m, CMD_VIEW_PEERS);
    expect_error(&m, CMD_WIN_ADD_QUEUE, NULL, "no tracks here");
    model_free(&m);
}

static void test_add_playlist(void **state)
{
    struct ui_model m;
    loaded(&m);
    act(&m, CMD_WIN_DOWN); /* Moon Safari */
    expect_error(&m, CMD_WIN_ADD_PLAYLIST, NULL, "win-add-playlist needs a playlist name");
    expect_error(&m, CMD_WIN_ADD_PLAYLIST, "", "win-add-playlist needs a playlist name");
    /* an existing playlist: no create */
    expect_lines(&m, CMD_WIN_ADD_PLAYLIST, "Mix", "playlist add Mix #100", "playlist add Mix #101",
                 "playlist add Mix #102");
    expect_lines(&m, CMD_WIN_ADD_PLAYLIST, "Road trip", "playlist add 'Road trip' #100",
                 "playlist add 'Road trip' #101", "playlist add 'Road trip' #102");
    /* a new one is created first */
    act(&m, CMD_WIN_NEXT);
    expect_lines(&m, CMD_WIN_ADD_PLAYLIST, "It's new", "playlist create 'It'\\''s new'",
                 "playlist add 'It'\\''s new' #100");
    view(&m, CMD_VIEW_QUEUE);
    expect_lines(&m, CMD_WIN_ADD_PLAYLIST, "Fresh", "playlist create Fresh",
                 "playlist add Fresh #101");
    /* nothing to add from the playlists themselves */
    view(&m, CMD_VIEW_PLAYLISTS);
    expect_error(&m, CMD_WIN_ADD_PLAYLIST, "Mix", "in a playlist already");
    expect_error(&m, CMD_WIN_ADD_PLAYLIST, NULL, "in a playlist already");
    view(&m, CMD_VIEW_LOG);
    expect_error(&m, CMD_WIN_ADD_PLAYLIST, "Mix", "no tracks here");
    model_free(&m);
}

static void test_remove(void **state)
{
    struct ui_model m;
    loaded(&m);
    assert_null(model_remove_question(&m));
    expect_error(&m, CMD_WIN_REMOVE, NULL,
                 "win-remove: nothing to remove here (the library is the catalog's)");

    view(&m, CMD_VIEW_QUEUE);
    act(&m, CMD_WIN_DOWN);
    char *q = model_remove_question(&m);
    assert_string_equal(q, "Remove 'Song 200' from the queue?");
    free(q);
    expect_lines(&m, CMD_WIN_REMOVE, NULL, "queue remove 2");
    /* the row goes at once, so the next key acts on what is shown */
    assert_int_equal(m.nqueue, 4);
    assert_int_equal(m.queue[1].t.id, 300);
    expect_lines(&m, CMD_WIN_REMOVE, NULL, "queue remove 2");
    assert_int_equal(m.queue[1].t.id, 110);

    view(&m, CMD_VIEW_PLAYLISTS);
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    q = model_remove_question(&m);
    assert_string_equal(q, "Remove 'Hyperballad' from playlist 'Mix'?");
    free(q);
    expect_lines(&m, CMD_WIN_REMOVE, NULL, "playlist remove Mix 2");
    assert_int_equal(m.playlists[0].ntracks, 2);
    assert_int_equal(m.playlists[0].tracks[1].id, 300);

    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    q = model_remove_question(&m);
    assert_string_equal(q, "Delete playlist 'Road trip'?");
    free(q);
    expect_lines(&m, CMD_WIN_REMOVE, NULL, "playlist delete 'Road trip'");
    assert_int_equal(m.nplaylists, 1);
    assert_int_equal(m.pl_left.cursor, 0);

    view(&m, CMD_VIEW_SEARCH);
    assert_null(model_remove_question(&m));
    expect_error(&m, CMD_WIN_REMOVE, NULL, "nothing to remove here");
    model_free(&m);
}

static void test_move(void **state)
{
    struct ui_model m;
    loaded(&m);
    expect_error(&m, CMD_WIN_MOVE_DOWN, NULL, "win-move-down");

    view(&m, CMD_VIEW_QUEUE);
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_MOVE_DOWN, NULL, "queue move 2 3");
    assert_int_equal(m.queue_scroll.cursor, 2);
    assert_int_equal(m.queue[2].t.id, 200); /* the row moved with the cursor */
    assert_int_equal(m.queue[1].t.id, 300);
    expect_lines(&m, CMD_WIN_MOVE_UP, NULL, "queue move 3 2");
    assert_int_equal(m.queue_scroll.cursor, 1);
    expect_lines(&m, CMD_WIN_MOVE_UP, NULL, "queue move 2 1");
    assert_int_equal(m.queue_scroll.cursor, 0);
    assert_int_equal(m.queue[0].t.id, 200);
    expect_error(&m, CMD_WIN_MOVE_UP, NULL, "already the first row");
    act(&m, CMD_WIN_BOTTOM);
    expect_error(&m, CMD_WIN_MOVE_DOWN, NULL, "already the last row");

    /* the engine's answer keeps the cursor on the moved track */
    act(&m, CMD_WIN_TOP);
    expect_lines(&m, CMD_WIN_MOVE_DOWN, NULL, "queue move 1 2");
    answer(&m, "queue list", queue_json((const uint64_t[]){101, 200, 300, 110, 111}, 5, 0));
    assert_int_equal(m.queue_scroll.cursor, 1);
    assert_int_equal(m.queue[1].t.id, 200);

    view(&m, CMD_VIEW_PLAYLISTS);
    expect_error(&m, CMD_WIN_MOVE_DOWN, NULL, "only rows of the queue or of a playlist move");
    act(&m, CMD_WIN_NEXT);
    expect_lines(&m, CMD_WIN_MOVE_DOWN, NULL, "playlist move Mix 1 2");
    assert_int_equal(m.pl_right.cursor, 1);
    assert_int_equal(m.playlists[0].tracks[1].id, 101);
    expect_lines(&m, CMD_WIN_MOVE_UP, NULL, "playlist move Mix 2 1");
    assert_int_equal(m.pl_right.cursor, 0);
    model_free(&m);
}

static void test_keep(void **state)
{
    struct ui_model m;
    loaded(&m);
    expect_error(&m, CMD_WIN_KEEP, NULL, "win-keep: choose a playlist first (view 2)");
    view(&m, CMD_VIEW_PLAYLISTS);
    expect_lines(&m, CMD_WIN_KEEP, NULL, "playlist keep Mix on");
    assert_true(m.playlists[0].keep_offline);
    /* a second press before the list comes back turns it off again */
    expect_lines(&m, CMD_WIN_KEEP, NULL, "playlist keep Mix off");
    /* what the engine lists wins; the right pane acts on its playlist */
    answer(&m, "playlist list", playlists_json(true));
    assert_true(m.playlists[0].keep_offline);
    act(&m, CMD_WIN_NEXT);
    expect_lines(&m, CMD_WIN_KEEP, NULL, "playlist keep Mix off");
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN);
    expect_lines(&m, CMD_WIN_KEEP, NULL, "playlist keep 'Road trip' on");
    /* an engine that lists no keep_offline: off */
    json_t *a = json_array();
    json_t *p = json_object();
    json_object_set_new(p, "name", json_string("Old"));
    json_object_set_new(p, "tracks", json_integer(1));
    json_array_append_new(a, p);
    answer(&m, "playlist list", a);
    assert_false(m.playlists[0].keep_offline);
    assert_int_equal(m.playlists[0].count, 1);
    assert_int_equal(m.pl_left.cursor, 0);
    expect_lines(&m, CMD_WIN_KEEP, NULL, "playlist keep Old on");
    model_free(&m);
}

static void test_sort_and_tui_commands(void **state)
{
    struct ui_model m;
    model_init(&m);
    expect_error(&m, CMD_WIN_SORT, NULL, "win-sort");
    view(&m, CMD_VIEW_PEERS);
    for (int i = 1; i <= UI_SORT_COUNT; i++) {
        expect_lines(&m, CMD_WIN_SORT, NULL, NULL);
        assert_int_equal(m.peer_sort, i % UI_SORT_COUNT);
    }
    /* the TUI's own: no line */
    static const enum cmd_id own[] = {CMD_HELP, CMD_COMMAND_MODE, CMD_REFRESH, CMD_QUIT};
    for (size_t i = 0; i < sizeof(own) / sizeof(*own); i++)
        expect_lines(&m, own[i], NULL, NULL);
    /* an engine command is not the model's */
    expect_error(&m, CMD_PLAY, NULL, "'play'");
    model_free(&m);
}

/* ---- find ---- */

static void test_find(void **state)
{
    struct ui_model m;
    loaded(&m);
    expect_error(&m, CMD_SEARCH_NEXT, NULL, "no search yet: press / first");
    expect_error(&m, CMD_SEARCH_PREV, NULL, "no search yet: press / first");
    /* library left: names, from the row after the cursor, ignoring case */
    expect_lines(&m, CMD_SEARCH_START, "the", NULL);
    assert_string_equal(m.find, "the");
    assert_int_equal(m.lib_left.cursor, 4); /* The Cure */
    expect_error(&m, CMD_SEARCH_START, "zzz", "not found: zzz");
    assert_int_equal(m.lib_left.cursor, 4);
    expect_lines(&m, CMD_SEARCH_START, "a", NULL); /* wraps: Air */
    assert_int_equal(m.lib_left.cursor, 0);
    expect_lines(&m, CMD_SEARCH_NEXT, NULL, NULL); /* Moon Safari */
    assert_int_equal(m.lib_left.cursor, 1);
    expect_lines(&m, CMD_SEARCH_PREV, NULL, NULL);
    assert_int_equal(m.lib_left.cursor, 0);
    expect_lines(&m, CMD_SEARCH_PREV, NULL, NULL); /* wraps back: Talkie Walkie */
    assert_int_equal(m.lib_left.cursor, 2);
    /* the right pane: title, artist, album */
    act(&m, CMD_WIN_TOP);
    act(&m, CMD_WIN_NEXT);
    expect_lines(&m, CMD_SEARCH_START, "VENUS", NULL);
    assert_int_equal(m.lib_right.cursor, 3);
    expect_lines(&m, CMD_SEARCH_START, "moon safari", NULL);
    assert_int_equal(m.lib_right.cursor, 0);

    /* the queue; a single match stays found */
    view(&m, CMD_VIEW_QUEUE);
    expect_lines(&m, CMD_SEARCH_START, "song 110", NULL);
    assert_int_equal(m.queue_scroll.cursor, 3);
    expect_lines(&m, CMD_SEARCH_NEXT, NULL, NULL);
    assert_int_equal(m.queue_scroll.cursor, 3);

    /* playlists, both panes */
    view(&m, CMD_VIEW_PLAYLISTS);
    expect_lines(&m, CMD_SEARCH_START, "trip", NULL);
    assert_int_equal(m.pl_left.cursor, 1);
    expect_lines(&m, CMD_SEARCH_NEXT, NULL, NULL);
    assert_int_equal(m.pl_left.cursor, 1);
    act(&m, CMD_WIN_TOP);
    act(&m, CMD_WIN_NEXT);
    expect_lines(&m, CMD_SEARCH_START, "björk", NULL);
    assert_int_equal(m.pl_right.cursor, 1);

    /* the log: its text */
    view(&m, CMD_VIEW_LOG);
    model_log(&m, false, 1, "first note");
    model_log(&m, true, 2, "some error");
    model_log(&m, false, 3, "second note");
    expect_lines(&m, CMD_SEARCH_START, "error", NULL);
    assert_int_equal(m.log_scroll.cursor, m.nlog - 2);
    assert_false(m.log_follow);

    /* the search view searches the catalog */
    view(&m, CMD_VIEW_SEARCH);
    expect_lines(&m, CMD_SEARCH_START, "daft  punk", "search daft punk");
    assert_string_equal(m.search_query, "daft punk");
    assert_int_equal(m.results_state, UI_LOADING);
    expect_lines(&m, CMD_SEARCH_START, "it's", "search 'it'\\''s'");
    assert_string_equal(m.search_query, "it's");
    expect_error(&m, CMD_SEARCH_START, "  ", "search: type what to look for");
    json_t *r = json_array();
    json_array_append_new(r, track(7, "It's Oh So Quiet", "Björk", "Post", 1, 1));
    json_array_append_new(r, track(8, "Army of Me", "Björk", "Post", 2, 1));
    answer(&m, "search 'it'\\''s'", r);
    assert_int_equal(m.results_state, UI_LOADED);
    assert_int_equal(m.nresults, 2);
    /* n in the search view finds the last find in the results */
    expect_error(&m, CMD_SEARCH_NEXT, NULL, "not found: error");
    free(m.find);
    m.find = xstrdup("army");
    expect_lines(&m, CMD_SEARCH_NEXT, NULL, NULL);
    assert_int_equal(m.search_scroll.cursor, 1);
    expect_lines(&m, CMD_SEARCH_PREV, NULL, NULL);
    assert_int_equal(m.search_scroll.cursor, 1);
    model_free(&m);
}

/* A connection of the snapshot, as the engine fills it. */
static void conn(struct mq_snapshot *s, const char *address, const char *st, uint64_t rate_down)
{
    struct mq_conn *c = &s->conns[s->nconns++];
    snprintf(c->address, sizeof(c->address), "%s", address);
    snprintf(c->state, sizeof(c->state), "%s", st);
    c->rate_down = rate_down;
    c->rtt_ms = -1;
}

/* The peers view finds a connection by its address or state, its rows in
 * the order the view draws them (views_peer_order). */
static void test_find_peers(void **state)
{
    struct ui_model m;
    model_init(&m);
    m.body_rows = 10;
    view(&m, CMD_VIEW_PEERS);
    expect_error(&m, CMD_SEARCH_START, "10.0", "not found: 10.0"); /* no connections yet */
    struct mq_snapshot *s = xcalloc(1, sizeof(*s));
    conn(s, "10.0.0.1:4000", "active", 100);
    conn(s, "192.168.1.5:4000", "choked", 300);
    conn(s, "10.0.0.2:4000", "handshake", 200);
    model_set_snapshot(&m, s);
    /* by download rate: 192.168.1.5, 10.0.0.2, 10.0.0.1 */
    assert_int_equal(m.peer_sort, UI_SORT_RATE_DOWN);
    expect_lines(&m, CMD_SEARCH_START, "10.0.", NULL);
    assert_int_equal(m.peers_scroll.cursor, 1); /* 10.0.0.2 */
    expect_lines(&m, CMD_SEARCH_NEXT, NULL, NULL);
    assert_int_equal(m.peers_scroll.cursor, 2); /* 10.0.0.1 */
    expect_lines(&m, CMD_SEARCH_NEXT, NULL, NULL);
    assert_int_equal(m.peers_scroll.cursor, 1); /* wraps */
    expect_lines(&m, CMD_SEARCH_PREV, NULL, NULL);
    assert_int_equal(m.peers_scroll.cursor, 2);
    /* the state, ignoring case */
    expect_lines(&m, CMD_SEARCH_START, "CHOKED", NULL);
    assert_int_equal(m.peers_scroll.cursor, 0);
    expect_error(&m, CMD_SEARCH_START, "zzz", "not found: zzz");
    assert_int_equal(m.peers_scroll.cursor, 0);
    /* sorted by address the same text is on another row */
    act(&m, CMD_WIN_TOP);
    m.peer_sort = UI_SORT_ADDRESS; /* 10.0.0.1, 10.0.0.2, 192.168.1.5 */
    expect_lines(&m, CMD_SEARCH_START, "192.168", NULL);
    assert_int_equal(m.peers_scroll.cursor, 2);
    /* an address that fills its field has no NUL: read within it (it
     * sorts last) */
    memset(s->conns[0].address, 'a', sizeof(s->conns[0].address));
    model_set_snapshot(&m, s);
    act(&m, CMD_WIN_TOP);
    expect_lines(&m, CMD_SEARCH_START, "aaaa", NULL);
    assert_int_equal(m.peers_scroll.cursor, 2);
    free(s);
    model_free(&m);
}

/* ---- the log ---- */

static void test_log_ring(void **state)
{
    struct ui_model m;
    model_init(&m);
    m.body_rows = 10;
    assert_true(m.log_follow);
    for (int i = 0; i < UI_LOG_MAX + 10; i++)
        model_log(&m, i % 2 == 0, 1000 + i, "line %d", i);
    assert_int_equal(m.nlog, UI_LOG_MAX);
    const struct ui_log_line *oldest = &m.log[m.log_start];
    assert_string_equal(oldest->text, "line 10");
    assert_int_equal(oldest->when, 1010);
    assert_true(oldest->error);
    char last[32];
    snprintf(last, sizeof(last), "line %d", UI_LOG_MAX + 9);
    assert_string_equal(newest_log(&m)->text, last);
    /* following: the cursor on the newest, the page ending there */
    assert_int_equal(m.log_scroll.cursor, UI_LOG_MAX - 1);
    assert_int_equal(m.log_scroll.top, UI_LOG_MAX - 10);

    /* not following: the cursor stays on its line as old ones go */
    view(&m, CMD_VIEW_LOG);
    act(&m, CMD_WIN_UP);
    assert_false(m.log_follow);
    size_t at = m.log_scroll.cursor;
    char *text = xstrdup(m.log[(m.log_start + at) % UI_LOG_MAX].text);
    model_log(&m, false, 1, "more");
    model_log(&m, false, 1, "and more");
    assert_int_equal(m.log_scroll.cursor, at - 2);
    assert_string_equal(m.log[(m.log_start + m.log_scroll.cursor) % UI_LOG_MAX].text, text);
    free(text);
    /* back on the newest: following again */
    act(&m, CMD_WIN_BOTTOM);
    assert_true(m.log_follow);
    model_log(&m, false, 1, "newest");
    assert_int_equal(m.log_scroll.cursor, UI_LOG_MAX - 1);
    model_free(&m);
}

/* ---- events ---- */

static void send_event(struct ui_model *m, struct mq_msg *msg)
{
    model_on_event(m, msg, 4242);
    mq_msg_free(msg);
}

static void test_events(void **state)
{
    struct ui_model m;
    loaded(&m);
    /* the queue changed: asked again, its rows kept meanwhile */
    send_event(&m, mq_msg_new(MQ_EV_QUEUE_CHANGED));
    expect_wants(&m, "queue list");
    assert_int_equal(m.queue_state, UI_LOADED);
    assert_int_equal(m.nqueue, 5);
    /* changed again while the answer is on its way: asked once more after */
    send_event(&m, mq_msg_new(MQ_EV_QUEUE_CHANGED));
    expect_wants(&m, NULL);
    answer(&m, "queue list", queue_json((const uint64_t[]){1}, 1, 0));
    expect_wants(&m, "queue list");
    answer(&m, "queue list", queue_json((const uint64_t[]){1, 2}, 2, 1));
    expect_wants(&m, NULL);
    assert_true(m.queue[1].current);
    assert_false(m.queue[0].current);

    /* a track plays: logged, and the queue's current row moved */
    struct mq_track *t = xcalloc(1, sizeof(*t));
    t->id = 101;
    strcpy(t->title, "Sexy Boy");
    strcpy(t->artist, "Air");
    send_event(&m, mq_msg_new_blob(MQ_EV_TRACK_CHANGED, t, free));
    expect_log(&m, false, "playing Sexy Boy — Air");
    assert_int_equal(newest_log(&m)->when, 4242);
    expect_wants(&m, "queue list");
    answer(&m, "queue list", json_array());
    send_event(&m, mq_msg_new_blob(MQ_EV_TRACK_CHANGED, NULL, NULL));
    expect_log(&m, false, "nothing plays");
    expect_wants(&m, "queue list");

    /* playlists changed: the list and the tracks loaded */
    send_event(&m, mq_msg_new(MQ_EV_PLAYLISTS_CHANGED));
    expect_wants(&m, "playlist list", "playlist list Mix");
    assert_int_equal(m.playlists[0].ntracks, 3); /* shown until the answer */

    send_event(&m, mq_msg_new_text(MQ_EV_ERROR, "the disk is full"));
    expect_log(&m, true, "the disk is full");
    send_event(&m, mq_msg_new_text(MQ_EV_STATUS, "cache trimmed"));
    expect_log(&m, false, "cache trimmed");
    /* not the TUI's: nothing logged, nothing wanted */
    size_t nlog = m.nlog;
    send_event(&m,
               mq_msg_new_blob(MQ_EV_SEARCH_RESULTS, json_array(), (void (*)(void *))json_decref));
    send_event(&m,
               mq_msg_new_blob(MQ_EV_BROWSE_RESULTS, json_array(), (void (*)(void *))json_decref));
    send_event(&m, mq_msg_new_num(MQ_EV_STATE, MQ_PLAYING, 0));
    assert_int_equal(m.nlog, nlog);
    expect_wants(&m, NULL);
    model_free(&m);
}

static void test_service_events(void **state)
{
    struct ui_model m;
    model_init(&m);
    expect_wants(&m, "browse artists", "playlist list", "queue list");
    model_on_result(&m, "browse artists", CMD_EOFFLINE, "the service did not answer", NULL);
    assert_int_equal(m.artists_state, UI_LOAD_FAILED);
    expect_log(&m, true, "the service did not answer");
    expect_wants(&m, NULL); /* a failure is not asked again by itself */
    send_event(&m, mq_msg_new_num(MQ_EV_SERVICE, MQ_SERVICE_CONNECTING, 0));
    expect_log(&m, false, "connecting");
    expect_wants(&m, NULL);
    send_event(&m, mq_msg_new_num(MQ_EV_SERVICE, MQ_SERVICE_ONLINE, 0));
    expect_log(&m, false, "online");
    expect_wants(&m, "browse artists");
    assert_int_equal(m.artists_state, UI_LOADING);
    /* online while the answer is on its way: asked again after it, as
     * it may be the offline one */
    send_event(&m, mq_msg_new_num(MQ_EV_SERVICE, MQ_SERVICE_OFFLINE, 0));
    expect_log(&m, false, "offline");
    send_event(&m, mq_msg_new_num(MQ_EV_SERVICE, MQ_SERVICE_ONLINE, 0));
    expect_wants(&m, NULL);
    answer(&m, "browse artists", json_array());
    expect_wants(&m, "browse artists");
    answer(&m, "browse artists", artists_json());
    /* the same state twice: logged once */
    size_t nlog = m.nlog;
    send_event(&m, mq_msg_new_num(MQ_EV_SERVICE, MQ_SERVICE_ONLINE, 0));
    assert_int_equal(m.nlog, nlog);
    expect_wants(&m, NULL);
    model_free(&m);
}

/* ---- failures and notes ---- */

static void test_failures_logged(void **state)
{
    struct ui_model m;
    loaded(&m);
    model_on_result(&m, "play #7", CMD_EUNKNOWN, "no track #7 known here", NULL);
    expect_log(&m, true, "no track #7 known here");
    model_on_result(&m, "queue play 9", CMD_EUNKNOWN, NULL, NULL);
    expect_log(&m, true, cmd_strerror(CMD_EUNKNOWN));
    model_on_result(&m, "queue add #8", 0, "1 track", NULL);
    expect_log(&m, false, "1 track");
    size_t nlog = m.nlog;
    model_on_result(&m, "pause", 0, NULL, NULL); /* nothing to say */
    model_on_result(&m, "stop", 0, "", NULL);
    assert_int_equal(m.nlog, nlog);

    /* each list marks its own failure */
    model_on_result(&m, "browse albums #2", CMD_EOFFLINE, "offline", NULL);
    assert_int_equal(m.artists[1].albums_state, UI_LOAD_FAILED);
    model_on_result(&m, "browse tracks #55", CMD_EOFFLINE, "offline", NULL);
    bool found = false;
    for (size_t i = 0; i < m.nalbums; i++)
        if (m.albums[i].album_id == 55)
            found = m.albums[i].state == UI_LOAD_FAILED;
    assert_true(found);
    model_on_result(&m, "playlist list Mix", CMD_EUNKNOWN, "no such playlist", NULL);
    assert_int_equal(m.playlists[0].tracks_state, UI_LOAD_FAILED);
    expect_log(&m, true, "no such playlist");
    model_on_result(&m, "playlist list", CMD_EBUSY, NULL, NULL);
    assert_int_equal(m.playlists_state, UI_LOAD_FAILED);
    model_on_result(&m, "queue list", CMD_EBUSY, NULL, NULL);
    assert_int_equal(m.queue_state, UI_LOAD_FAILED);
    view(&m, CMD_VIEW_SEARCH);
    expect_lines(&m, CMD_SEARCH_START, "q", "search q");
    model_on_result(&m, "search q", CMD_EOFFLINE, "offline", NULL);
    assert_int_equal(m.results_state, UI_LOAD_FAILED);
    expect_wants(&m, NULL);

    /* an edit the engine refused: what it edited is asked again */
    model_on_result(&m, "queue remove 9", CMD_EUNKNOWN, NULL, NULL);
    model_on_result(&m, "playlist move Mix 1 9", CMD_EUNKNOWN, NULL, NULL);
    expect_wants(&m, "playlist list", "queue list", "playlist list Mix");
    model_free(&m);
}

/* ---- cursors across reloads ---- */

static void test_cursor_kept_on_reload(void **state)
{
    struct ui_model m;
    loaded(&m);
    /* the queue: on the same track wherever it went; else the same row */
    view(&m, CMD_VIEW_QUEUE);
    act(&m, CMD_WIN_DOWN);
    act(&m, CMD_WIN_DOWN); /* #300 */
    answer(&m, "queue list", queue_json((const uint64_t[]){9, 8, 101, 200, 300, 110}, 6, 0));
    assert_int_equal(m.queue_scroll.cursor, 4);
    assert_int_equal(m.queue[4].t.id, 300);
    answer(&m, "queue list", queue_json((const uint64_t[]){9, 8, 101, 200, 110}, 5, 0));
    assert_int_equal(m.queue_scroll.cursor, 4);
    answer(&m, "queue list", queue_json((const uint64_t[]){9, 8}, 2, 0));
    assert_int_equal(m.queue_scroll.cursor, 1);
    assert_int_equal(m.queue_scroll.top, 0);

    /* the library: the artist, and the album, under the cursor */
    view(&m, CMD_VIEW_LIBRARY);
    act(&m, CMD_WIN_DOWN);
    act(&m, CMD_WIN_DOWN); /* Talkie Walkie */
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_DOWN); /* Cherry Blossom Girl */
    json_t *a = json_array();
    json_array_append_new(a, item(4, "artist", "ABBA", ""));
    json_array_append_new(a, item(1, "artist", "Air", ""));
    json_array_append_new(a, item(3, "artist", "The Cure", ""));
    answer(&m, "browse artists", a);
    assert_int_equal(m.nlib_rows, 5); /* Air still open */
    assert_int_equal(m.lib_left.cursor, 3);
    assert_int_equal(m.lib_rows[3].id, 11);
    assert_int_equal(m.lib_right.cursor, 1); /* the same track */
    /* the album's tracks again, one more before: the same track */
    json_t *t = talkie_walkie();
    json_array_insert_new(t, 0, item(109, "track", "Intro", "Air"));
    answer(&m, "browse tracks #11", t);
    assert_int_equal(m.lib_right.cursor, 2);

    /* the playlists: the same name, the right pane with it */
    view(&m, CMD_VIEW_PLAYLISTS);
    act(&m, CMD_WIN_NEXT);
    act(&m, CMD_WIN_BOTTOM); /* Lullaby */
    json_t *p = json_array();
    json_array_append_new(p, playlist("A first", 0, false));
    json_array_append_new(p, playlist("Mix", 3, false));
    answer(&m, "playlist list", p);
    assert_int_equal(m.pl_left.cursor, 1);
    assert_int_equal(m.playlists[1].tracks_state, UI_LOADED); /* kept */
    assert_int_equal(m.pl_right.cursor, 2);
    json_t *mt = mix_tracks();
    json_array_remove(mt, 0);
    answer(&m, "playlist list Mix", mt);
    assert_int_equal(m.pl_right.cursor, 1);
    assert_int_equal(m.playlists[1].tracks[1].id, 300);

    /* the search results */
    view(&m, CMD_VIEW_SEARCH);
    json_t *r = json_array();
    json_array_append_new(r, track(7, "Seven", "X", "Y", 1, 1));
    json_array_append_new(r, track(8, "Eight", "X", "Y", 2, 1));
    answer(&m, "search x", r);
    act(&m, CMD_WIN_DOWN);
    r = json_array();
    json_array_append_new(r, track(6, "Six", "X", "Y", 1, 1));
    json_array_append_new(r, track(7, "Seven", "X", "Y", 1, 1));
    json_array_append_new(r, track(8, "Eight", "X", "Y", 2, 1));
    answer(&m, "search x", r);
    assert_int_equal(m.search_scroll.cursor, 2);
    model_free(&m);
}

/* ---- names for completion ---- */

static bool has(const char **v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static void test_names(void **state)
{
    struct ui_model m;
    loaded(&m);
    const char **tracks, **artists, **playlists;
    size_t nt, na, np;
    model_names(&m, &tracks, &nt, &artists, &na, &playlists, &np);
    /* 5 album tracks, Mix adds 2, the queue 5 (Song 101...): each once */
    assert_int_equal(nt, 12);
    assert_true(has(tracks, nt, "Sexy Boy"));
    assert_true(has(tracks, nt, "Lullaby"));
    assert_true(has(tracks, nt, "Song 110"));
    for (size_t i = 1; i < nt; i++)
        assert_true(strcmp(tracks[i - 1], tracks[i]) < 0);
    assert_int_equal(na, 4); /* Air, Björk, The Cure, Someone */
    assert_true(has(artists, na, "Björk"));
    assert_int_equal(np, 2);
    assert_string_equal(playlists[0], "Mix");
    assert_string_equal(playlists[1], "Road trip");
    /* after a change, asked again: rebuilt */
    json_t *r = json_array();
    json_array_append_new(r, track(7, "Seven", "Nobody", "Y", 1, 1));
    answer(&m, "search seven", r);
    model_names(&m, &tracks, &nt, &artists, &na, &playlists, &np);
    assert_int_equal(nt, 13);
    assert_true(has(tracks, nt, "Seven"));
    assert_true(has(artists, na, "Nobody"));
    model_free(&m);

    /* an empty model has none */
    model_init(&m);
    model_names(&m, &tracks, &nt, &artists, &na, &playlists, &np);
    assert_int_equal(nt + na + np, 0);
    model_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wants_from_fresh),
        cmocka_unit_test(test_answers_not_asked_and_stale_search),
        cmocka_unit_test(test_cursor_moves_and_pages),
        cmocka_unit_test(test_focus_and_panes),
        cmocka_unit_test(test_activate),
        cmocka_unit_test(test_add_queue),
        cmocka_unit_test(test_add_playlist),
        cmocka_unit_test(test_remove),
        cmocka_unit_test(test_move),
        cmocka_unit_test(test_keep),
        cmocka_unit_test(test_sort_and_tui_commands),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_find_peers),
        cmocka_unit_test(test_log_ring),
        cmocka_unit_test(test_events),
        cmocka_unit_test(test_service_events),
        cmocka_unit_test(test_failures_logged),
        cmocka_unit_test(test_cursor_kept_on_reload),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
