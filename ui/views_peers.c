/* views_peers: the peers view, the diagnostics screen (as rtorrent's and
 * transmission's peer lists).
 *
 * Owns: the order of the connection rows (views_peer_order), their
 * columns, and the fixed block at the bottom of the body: the bytes played
 * by source, the transfer and chunk counters, discovery, the listen
 * address and the chunk map of the playing track.
 *
 * The chunk map takes one character per cell of the snapshot; when there
 * are more cells than columns a character stands for a group of cells and
 * shows the worst of them (missing > service > peer > cache): the map is
 * there to show where playback may stall, and a hole or a slow fetch
 * inside a group is exactly what an average would hide. Each source has
 * its own glyph as well as its own colour, so the map reads the same in
 * monochrome.
 *
 * Threads: one (the UI's); pure. Reads the model, never changes it. */
#include <stdio.h>
#include <string.h>

#include "views_internal.h"

#define BOTTOM_ROWS 7 /* totals, transfers, chunks, discovery, legend, marker, map */

/* ---- order ---- */

static int compare_desc(uint64_t a, uint64_t b)
{
    return a > b ? -1 : a < b ? 1 : 0;
}

/* Ascending, unmeasured (-1) last. */
static int compare_rtt(int32_t a, int32_t b)
{
    if ((a < 0) != (b < 0))
        return a < 0 ? 1 : -1;
    return a < b ? -1 : a > b ? 1 : 0;
}

static int compare_conns(const struct mq_conn *a, const struct mq_conn *b, enum ui_peer_sort sort)
{
    int r = 0;
    switch (sort) {
    case UI_SORT_RATE_DOWN:
        r = compare_desc(a->rate_down, b->rate_down);
        break;
    case UI_SORT_RATE_UP:
        r = compare_desc(a->rate_up, b->rate_up);
        break;
    case UI_SORT_BYTES_DOWN:
        r = compare_desc(a->bytes_down, b->bytes_down);
        break;
    case UI_SORT_BYTES_UP:
        r = compare_desc(a->bytes_up, b->bytes_up);
        break;
    case UI_SORT_RTT:
        r = compare_rtt(a->rtt_ms, b->rtt_ms);
        break;
    case UI_SORT_ADDRESS:
    case UI_SORT_COUNT:
        break;
    }
    /* natural order: 10.0.0.9 before 10.0.0.10 */
    return r ? r : strverscmp(a->address, b->address);
}

int views_peer_order(const struct ui_model *m, int order[MQ_MAX_CONNS])
{
    const struct mq_snapshot *s = &m->snap;
    int n = s->nconns < 0 ? 0 : s->nconns > MQ_MAX_CONNS ? MQ_MAX_CONNS : s->nconns;
    /* insertion sort: at most 64 rows, and stable */
    for (int i = 0; i < n; i++) {
        int j = i;
        for (; j > 0 && compare_conns(&s->conns[i], &s->conns[order[j - 1]], m->peer_sort) < 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    return n;
}

/* ---- the connection table ---- */

enum peer_col {
    COL_ADDRESS,
    COL_DIR,
    COL_STATE,
    COL_RATE_DOWN,
    COL_RATE_UP,
    COL_BYTES_DOWN,
    COL_BYTES_UP,
    COL_REQUESTS,
    COL_SERVED,
    COL_RTT,
    NCOLS
};

static const struct {
    const char *title;
    int width; /* 0: the rest of the row */
    bool right;
    int sort;      /* the enum ui_peer_sort it marks, -1: none */
    bool optional; /* left out when the address would not fit */
} cols[NCOLS] = {
    [COL_ADDRESS] = {"Address", 0, false, UI_SORT_ADDRESS, false},
    [COL_DIR] = {"Dir", 3, false, -1, false},
    [COL_STATE] = {"State", 9, false, -1, false},
    [COL_RATE_DOWN] = {"Down/s", 9, true, UI_SORT_RATE_DOWN, false},
    [COL_RATE_UP] = {"Up/s", 9, true, UI_SORT_RATE_UP, false},
    [COL_BYTES_DOWN] = {"Down", 7, true, UI_SORT_BYTES_DOWN, false},
    [COL_BYTES_UP] = {"Up", 7, true, UI_SORT_BYTES_UP, false},
    [COL_REQUESTS] = {"Req", 3, true, -1, true},
    [COL_SERVED] = {"Served", 6, true, -1, true},
    [COL_RTT] = {"RTT", 5, true, UI_SORT_RTT, false},
};

/* "255.255.255.255:65535": below this the optional columns give way (at
 * 80 columns; the totals below the table still count chunks served) */
#define ADDRESS_MIN 21

#define CELL_MAX 80

/* The columns but the address, with a gap before each; optional ones
 * only when with_optional. */
static int fixed_width(bool with_optional)
{
    int fixed = 0;
    for (int k = 1; k < NCOLS; k++)
        if (with_optional || !cols[k].optional)
            fixed += cols[k].width + 1;
    return fixed;
}

/* Where each column starts and how wide it is (0: left out) in a row of
 * a, after a one-column margin. */
static void peer_columns(const struct view_area *a, int x[NCOLS], int w[NCOLS])
{
    bool all = a->w - 1 - fixed_width(true) >= ADDRESS_MIN;
    w[COL_ADDRESS] = a->w - 1 - fixed_width(all);
    x[COL_ADDRESS] = a->x + 1;
    int next = x[COL_ADDRESS] + w[COL_ADDRESS];
    for (int k = 1; k < NCOLS; k++) {
        w[k] = all || !cols[k].optional ? cols[k].width : 0;
        x[k] = w[k] ? next + 1 : next;
        next = x[k] + w[k];
    }
}

static bool sort_ascending(enum ui_peer_sort sort)
{
    return sort == UI_SORT_RTT || sort == UI_SORT_ADDRESS;
}

static void draw_peer_header(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    int x[NCOLS], w[NCOLS];
    peer_columns(a, x, w);
    canvas_fill(c, a->y, a->x, a->w, UI_ATTR_HEADER);
    for (int k = 0; k < NCOLS; k++) {
        char title[32];
        bool sorted = cols[k].sort == (int)m->peer_sort;
        snprintf(title, sizeof(title), "%s%s", cols[k].title,
                 !sorted                        ? ""
                 : sort_ascending(m->peer_sort) ? "▲"
                                                : "▼");
        canvas_put_fit(c, a->y, x[k], w[k], UI_ATTR_HEADER, title, cols[k].right);
    }
}

static void format_rate(uint64_t bps, char *buf, size_t size)
{
    char bytes[32];
    views_format_bytes(bps, bytes, sizeof(bytes));
    snprintf(buf, size, "%s/s", bytes);
}

static void format_rtt(int32_t ms, char *buf, size_t size)
{
    if (ms < 0)
        snprintf(buf, size, "-");
    else if (ms < 1000)
        snprintf(buf, size, "%dms", (int)ms);
    else
        snprintf(buf, size, "%.1fs", ms / 1000.0);
}

/* A fixed-size text field of the snapshot, which may fill its array. */
#define FIELD(f) (int)strnlen((f), sizeof(f)), (f)

static void peer_cells(const struct mq_conn *p, char cell[NCOLS][CELL_MAX])
{
    snprintf(cell[COL_ADDRESS], CELL_MAX, "%.*s", FIELD(p->address));
    snprintf(cell[COL_DIR], CELL_MAX, "%s", p->inbound ? "in" : "out");
    snprintf(cell[COL_STATE], CELL_MAX, "%.*s", FIELD(p->state));
    format_rate(p->rate_down, cell[COL_RATE_DOWN], CELL_MAX);
    format_rate(p->rate_up, cell[COL_RATE_UP], CELL_MAX);
    views_format_bytes(p->bytes_down, cell[COL_BYTES_DOWN], CELL_MAX);
    views_format_bytes(p->bytes_up, cell[COL_BYTES_UP], CELL_MAX);
    snprintf(cell[COL_REQUESTS], CELL_MAX, "%u", (unsigned)p->requests_in_flight);
    snprintf(cell[COL_SERVED], CELL_MAX, "%u", (unsigned)p->chunks_served);
    format_rtt(p->rtt_ms, cell[COL_RTT], CELL_MAX);
}

static void draw_peer_row(struct canvas *c, const struct view_area *a, int y,
                          const struct mq_conn *p, enum ui_attr attr)
{
    int x[NCOLS], w[NCOLS];
    char cell[NCOLS][CELL_MAX];
    peer_columns(a, x, w);
    peer_cells(p, cell);
    canvas_fill(c, y, a->x, a->w, attr);
    for (int k = 0; k < NCOLS; k++)
        canvas_put_fit(c, y, x[k], w[k], attr, cell[k], cols[k].right);
}

/* The header and the rows in a; returns the rows the list gets. */
static int draw_peer_table(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    draw_peer_header(m, c, a);
    struct view_area list = {.y = a->y + 1, .x = a->x, .w = a->w, .h = a->h - 1};
    int order[MQ_MAX_CONNS];
    size_t n = (size_t)views_peer_order(m, order);
    if (n == 0) {
        views_note(c, &list, "no peer connections");
        return list.h;
    }
    size_t top = views_list_top(&m->peers_scroll, n, list.h);
    size_t cursor = views_list_cursor(&m->peers_scroll, n);
    for (int r = 0; r < list.h && top + (size_t)r < n; r++) {
        size_t i = top + (size_t)r;
        draw_peer_row(c, &list, list.y + r, &m->snap.conns[order[i]],
                      views_row_attr(i == cursor, true, false));
    }
    return list.h;
}

/* ---- the bottom block ---- */

static unsigned percent_of(uint64_t part, uint64_t total)
{
    return total ? (unsigned)((part * 100 + total / 2) / total) : 0;
}

/* "played  cache 12.3 MB 55%  peers 8.1 MB 36%  service 800 kB 9%" */
static void draw_totals(const struct mq_snapshot *s, struct canvas *c, const struct view_area *a,
                        int y)
{
    uint64_t total = s->bytes_from_cache + s->bytes_from_peers + s->bytes_from_service;
    char cache[32], peers[32], service[32];
    views_format_bytes(s->bytes_from_cache, cache, sizeof(cache));
    views_format_bytes(s->bytes_from_peers, peers, sizeof(peers));
    views_format_bytes(s->bytes_from_service, service, sizeof(service));
    canvas_putf(c, y, a->x + 1, a->w - 1, UI_ATTR_NORMAL,
                "played   cache %s %u%%  peers %s %u%%  service %s %u%%", cache,
                percent_of(s->bytes_from_cache, total), peers,
                percent_of(s->bytes_from_peers, total), service,
                percent_of(s->bytes_from_service, total));
}

static void draw_transfers(const struct mq_snapshot *s, struct canvas *c, const struct view_area *a,
                           int y)
{
    char all[32], peers[32], service[32], up[32];
    views_format_bytes(s->downloaded_peers + s->downloaded_service, all, sizeof(all));
    views_format_bytes(s->downloaded_peers, peers, sizeof(peers));
    views_format_bytes(s->downloaded_service, service, sizeof(service));
    views_format_bytes(s->uploaded, up, sizeof(up));
    canvas_putf(c, y, a->x + 1, a->w - 1, UI_ATTR_NORMAL,
                "fetched  %s (peers %s, service %s)  uploaded %s", all, peers, service, up);
}

static void draw_chunk_counters(const struct mq_snapshot *s, struct canvas *c,
                                const struct view_area *a, int y)
{
    canvas_putf(c, y, a->x + 1, a->w - 1, UI_ATTR_NORMAL,
                "chunks   served %llu  busy %llu  rejected %llu  peers banned %llu",
                (unsigned long long)s->chunks_served, (unsigned long long)s->busy_replies,
                (unsigned long long)s->chunks_rejected, (unsigned long long)s->peers_banned);
}

static void draw_discovery(const struct mq_snapshot *s, struct canvas *c, const struct view_area *a,
                           int y)
{
    char listen[96];
    if (s->p2p_listen[0])
        snprintf(listen, sizeof(listen), "listening on %.*s", FIELD(s->p2p_listen));
    else
        snprintf(listen, sizeof(listen), "not listening for peers");
    canvas_putf(c, y, a->x + 1, a->w - 1, UI_ATTR_NORMAL,
                "found    this track: tracker %u, search %u (all %llu, %llu) │ %s",
                s->track_found_tracker, s->track_found_search, (unsigned long long)s->found_tracker,
                (unsigned long long)s->found_search, listen);
}

/* How each source looks on the map, indexed by enum mq_chunk_src. */
static const struct {
    const char *glyph, *name;
    enum ui_attr attr;
    int rank; /* the worst wins a group */
} looks[] = {
    [MQ_CHUNK_MISSING] = {"·", "missing", UI_ATTR_MISSING, 3},
    [MQ_CHUNK_CACHE] = {"█", "cache", UI_ATTR_CACHE, 0},
    [MQ_CHUNK_PEER] = {"▓", "peers", UI_ATTR_PEER, 1},
    [MQ_CHUNK_SERVICE] = {"▒", "service", UI_ATTR_SERVICE, 2},
};
#define NLOOKS (sizeof(looks) / sizeof(looks[0]))

static uint8_t known_source(uint8_t v)
{
    return v < NLOOKS ? v : MQ_CHUNK_MISSING;
}

/* The worst source of cells [lo, hi). */
static uint8_t worst_source(const uint8_t *cells, uint32_t lo, uint32_t hi)
{
    uint8_t worst = known_source(cells[lo]);
    for (uint32_t i = lo + 1; i < hi; i++) {
        uint8_t v = known_source(cells[i]);
        if (looks[v].rank > looks[worst].rank)
            worst = v;
    }
    return worst;
}

static uint32_t map_cells(const struct mq_snapshot *s)
{
    return s->ncells < MQ_MAX_CELLS ? s->ncells : MQ_MAX_CELLS;
}

/* The character (of chars, over n cells) holding the playhead; -1: none.
 * Character i holds cells [i*n/chars, (i+1)*n/chars). */
static long playhead_char(const struct mq_snapshot *s, uint32_t n, uint32_t chars)
{
    uint64_t cell = s->chunks_per_cell ? s->playhead_chunk / s->chunks_per_cell : s->playhead_chunk;
    if (cell >= n)
        return -1;
    return (long)(((cell + 1) * chars - 1) / n);
}

static void draw_legend(const struct mq_snapshot *s, struct canvas *c, const struct view_area *a,
                        int y)
{
    int x = a->x + 1, end = a->x + a->w;
    x += canvas_putf(c, y, x, end - x, UI_ATTR_HEADER,
                     "chunk map (%u chunks):", (unsigned)s->chunk_count);
    static const uint8_t order[] = {MQ_CHUNK_CACHE, MQ_CHUNK_PEER, MQ_CHUNK_SERVICE,
                                    MQ_CHUNK_MISSING};
    for (size_t k = 0; k < sizeof(order); k++) {
        x += canvas_put(c, y, x, end - x, UI_ATTR_NORMAL, "  ");
        x += canvas_put(c, y, x, end - x, looks[order[k]].attr, looks[order[k]].glyph);
        x += canvas_putf(c, y, x, end - x, UI_ATTR_NORMAL, " %s", looks[order[k]].name);
    }
    x += canvas_put(c, y, x, end - x, UI_ATTR_NORMAL, "  ");
    x += canvas_put(c, y, x, end - x, UI_ATTR_PLAYHEAD, "▼");
    canvas_put(c, y, x, end - x, UI_ATTR_NORMAL, " playhead");
}

/* The legend at y, the playhead's "▼" at y + 1 and the map at y + 2. */
static void draw_chunk_map(const struct mq_snapshot *s, struct canvas *c, const struct view_area *a,
                           int y)
{
    uint32_t n = map_cells(s);
    if (!s->has_track || n == 0) {
        canvas_put(c, y, a->x + 1, a->w - 1, UI_ATTR_HEADER,
                   s->has_track ? "chunk map: not known yet" : "chunk map: nothing plays");
        return;
    }
    draw_legend(s, c, a, y);
    uint32_t width = (uint32_t)(a->w - 2), chars = n < width ? n : width;
    long play = playhead_char(s, n, chars);
    int x = a->x + 1;
    for (uint32_t i = 0; i < chars; i++) {
        uint8_t src = worst_source(s->cells, i * n / chars, (i + 1) * n / chars);
        enum ui_attr attr = (long)i == play ? UI_ATTR_PLAYHEAD : looks[src].attr;
        canvas_put(c, y + 2, x + (int)i, 1, attr, looks[src].glyph);
    }
    if (play >= 0)
        canvas_put(c, y + 1, x + (int)play, 1, UI_ATTR_PLAYHEAD, "▼");
}

int views_draw_peers(const struct ui_model *m, struct canvas *c, const struct view_area *a)
{
    /* the table, a blank row, the bottom block */
    struct view_area table = {.y = a->y, .x = a->x, .w = a->w, .h = a->h - BOTTOM_ROWS - 1};
    int rows = draw_peer_table(m, c, &table);
    const struct mq_snapshot *s = &m->snap;
    int y = a->y + a->h - BOTTOM_ROWS;
    draw_totals(s, c, a, y);
    draw_transfers(s, c, a, y + 1);
    draw_chunk_counters(s, c, a, y + 2);
    draw_discovery(s, c, a, y + 3);
    draw_chunk_map(s, c, a, y + 4);
    return rows;
}
