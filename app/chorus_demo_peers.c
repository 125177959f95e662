/* chorus_demo_peers: the background peers of `chorus --demo` — real
 * engines in this process, each in its own home under DIR/peers/N, that
 * listen on their own schedule so the user's engine finds a live swarm
 * (app/chorus_demo.h; chorus(1), DEMO).
 *
 * Each peer has a thread of its own that drives its engine with commands
 * of the table, as a listener would:
 *  - Its cache is small (its albums and a quarter of the library, at
 *    least two tracks more), so it evicts and fetches again. On the first
 *    run (and whenever the library or the number of peers changed:
 *    DIR/peers/N/.filled says) it fills it with its albums — the
 *    library's albums but the first dealt round the peers (holds_album) —
 *    by playing them at 64 times real time (the null:64 output, no
 *    emulated link), then reopens at real time behind its access link.
 *    What its cache holds is modelled (held: filled and played tracks,
 *    the latest first, cut at its cap as the cache evicts) and kept in
 *    DIR/peers/N/.held for the next run.
 *  - Then sessions, until the demo stops: an album in order (35%), the
 *    swarm's hits (popular tracks drawn from a fixed Zipf ranking, as 88%
 *    of plays hit a few tracks), or something played nearby a moment ago
 *    that it does not hold (20%). The first album is new to the swarm:
 *    no session of a peer's own picks it. Most tracks are heard to the
 *    end; some are skipped after a few seconds, some seeked, some paused;
 *    a rest of 3 to 20 s follows a session. Each generator is seeded from
 *    the clock.
 *  - A friend tunes in: a watcher thread reads the user's status every
 *    second; once a track has played FOLLOW_AFTER_S seconds (by then the
 *    user's engine holds it whole and has announced it), a peer plays
 *    next one of the user's tracks, the one the fewest peers hold (the
 *    first album's are held by the user's engine alone at first), and
 *    fetches it from the user's engine; while that engine uploads
 *    nothing, another peer every RETIP_S (the model may be wrong). So the
 *    user sees their upload slots in use within a minute of pressing
 *    play.
 *
 * Locking: sw->mu guards stopping, the tips, the trending list and the
 * peers' held lists and ready flags; sw->cv wakes the sleeping threads
 * (stop, tip). The engines are reached through demo_engine (any thread). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "chorus_demo.h"
#include "chorus_login.h"

#define MOD            "demo"
#define FILL_NAME      ".filled"
#define FILL_OUTPUT    "null:64"
#define HELD_NAME      ".held"
#define ONLINE_MS      30000
#define FOLLOW_AFTER_S 15.0
#define RETIP_S        12.0 /* no upload since the tip: another friend tunes in */
#define TRENDING_MAX   8
#define SESSION_MAX    6

/* The peers' access links, dealt in turn: 3 and 4 Mbit/s. */
static const uint64_t peer_rates[] = {375000, 500000};

enum wake { WAKE_TIME, WAKE_TIP, WAKE_STOP };

struct demo_peer {
    struct demo_swarm *sw;
    unsigned index; /* 1-based, as its directory */
    char *home, *data, *cache, *label;
    struct clog *log;
    struct demo_engine *de;
    pthread_t thread;
    bool thread_started;
    bool fill;    /* its cache is to be filled this run */
    uint64_t rng; /* its own thread's */
    uint64_t cap; /* its cache's */
    size_t session[SESSION_MAX], session_len, session_pos;
    /* under sw->mu */
    size_t *held; /* what its cache holds as far as the demo can tell: the */
    size_t nheld; /* tracks filled and played, latest first, cut at its cap */
    long tip;     /* a track to play next (-1: none) */
    bool ready;   /* on its schedule, or given up */
    bool running;
};

struct demo_swarm {
    const struct demo_library *lib;
    char *address, *key_hex;
    struct clog *log; /* the demo's own lines */
    struct demo_peer *peers;
    unsigned npeers;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    bool stopping;
    long trending[TRENDING_MAX]; /* tracks played lately, newest first */
    size_t ntrending;
    unsigned next_tip;
    struct demo_engine *user;
    pthread_t watcher;
    bool watching;
};

/* ---- waiting ---- */

/* Sleeps ms unless the demo stops or (a ready peer) gets a tip first. */
static enum wake peer_sleep(struct demo_peer *p, double ms)
{
    struct demo_swarm *sw = p->sw;
    struct timespec until = demo_after_ms(ms);
    enum wake w = WAKE_TIME;
    pthread_mutex_lock(&sw->mu);
    for (;;) {
        if (sw->stopping) {
            w = WAKE_STOP;
            break;
        }
        if (p->ready && p->tip >= 0) {
            w = WAKE_TIP;
            break;
        }
        if (pthread_cond_timedwait(&sw->cv, &sw->mu, &until) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&sw->mu);
    return w;
}

static bool stopping(struct demo_swarm *sw)
{
    pthread_mutex_lock(&sw->mu);
    bool s = sw->stopping;
    pthread_mutex_unlock(&sw->mu);
    return s;
}

/* ---- a peer's engine ---- */

/* Album a is one of peer k's (0-based) to fill: the albums dealt round
 * the peers, all but the first — the one the user's queue starts with:
 * the user's first plays come from the service, and then the peers that
 * follow the user fetch them from the user's engine alone, the only
 * holder. (A library of one album goes to every other peer.) */
static bool holds_album(const struct demo_swarm *sw, unsigned k, size_t a)
{
    size_t n = sw->lib->nalbums;
    if (n == 1)
        return k % 2 == 1;
    if (a == 0)
        return false;
    return n - 1 >= sw->npeers ? (a - 1) % sw->npeers == k : a - 1 == k % (n - 1);
}

static void set_option(struct demo_peer *p, struct chorus_settings *s, char *option)
{
    char *why = NULL;
    if (settings_set_option(s, option, &why) != 0)
        clog_error(p->log, MOD, "%s: %s", option, why ? why : "refused");
    free(why);
    free(option);
}

/* Its albums and a quarter of the library, or two of the longest tracks
 * more than its albums when that is more: small enough that it evicts. */
static uint64_t cache_cap(const struct demo_swarm *sw, unsigned k)
{
    const struct demo_library *lib = sw->lib;
    uint64_t albums = 0, longest = 0;
    for (size_t t = 0; t < lib->ntracks; t++) {
        if (holds_album(sw, k, lib->tracks[t].album))
            albums += lib->tracks[t].bytes;
        longest = lib->tracks[t].bytes > longest ? lib->tracks[t].bytes : longest;
    }
    uint64_t room = lib->bytes / 4 > 2 * longest ? lib->bytes / 4 : 2 * longest;
    return albums + room;
}

/* Opens the peer's engine: filling (fast, no emulated link) or
 * listening (real time behind its access link). */
static int peer_open(struct demo_peer *p, bool filling)
{
    struct demo_swarm *sw = p->sw;
    struct chorus_settings s;
    settings_init(&s);
    set_option(p, &s, xasprintf("audio.output=%s", filling ? FILL_OUTPUT : "null"));
    set_option(p, &s, xstrdup("p2p.listen=127.0.0.1:0"));
    set_option(p, &s, xasprintf("service.address=%s", sw->address));
    set_option(p, &s, xasprintf("service.key=%s", sw->key_hex));
    set_option(p, &s, xasprintf("service.user=%s", DEMO_USER));
    s.cache_size = p->cap;
    struct engine_config cfg = {
        .settings = &s,
        .data_dir = p->data,
        .cache_dir = p->cache,
        .remote_socket = "",
        .log = p->log,
        .seed = p->index,
        .link_rtt_ms = filling ? 0 : DEMO_LINK_RTT_MS,
        .link_rate = filling ? 0 : peer_rates[(p->index - 1) % 2],
    };
    int rc = 0;
    char *error = NULL;
    p->de = demo_engine_new(&cfg, &rc, &error);
    settings_close(&s);
    if (!p->de) {
        fprintf(stderr, "chorus: demo peer %u: %s\n", p->index, error ? error : "cannot start");
        clog_error(sw->log, MOD, "peer %u: %s", p->index, error ? error : "cannot start");
    }
    free(error);
    return p->de ? 0 : -1;
}

static void peer_close(struct demo_peer *p)
{
    demo_engine_free(p->de);
    p->de = NULL;
}

static bool is_online(json_t *st)
{
    return st && strcmp(demo_json_str(st, "service"), "online") == 0;
}

/* Waits for the service link, then records every track of the catalog
 * in chorus.db (queue add --all; the queue is cleared again), so `play
 * #ID` knows them. */
static int peer_online(struct demo_peer *p)
{
    for (int waited = 0;; waited += 200) {
        json_t *st = demo_engine_status(p->de);
        bool online = is_online(st);
        json_decref(st);
        if (online)
            break;
        if (waited >= ONLINE_MS) {
            clog_error(p->sw->log, MOD, "peer %u: the service link did not come up", p->index);
            return -1;
        }
        if (peer_sleep(p, 200) == WAKE_STOP)
            return -1;
    }
    if (demo_engine_run(p->de, "queue clear") < 0 ||
        demo_engine_run(p->de, "queue add --all") < 0 ||
        demo_engine_run(p->de, "queue clear") < 0) {
        clog_error(p->sw->log, MOD, "peer %u: the catalog did not answer", p->index);
        return -1;
    }
    return 0;
}

/* ---- filling its cache ---- */

static char *fill_marker(const struct demo_peer *p)
{
    return xasprintf("%s/%s", p->home, FILL_NAME);
}

/* What the marker holds once the fill is done. */
static char *fill_spec(const struct demo_peer *p)
{
    return xasprintf("%s peers=%u\n", p->sw->lib->spec, p->sw->npeers);
}

static bool fill_done_before(const struct demo_peer *p)
{
    char *path = fill_marker(p), *want = fill_spec(p);
    uint8_t *data = NULL;
    size_t len = 0;
    bool same = fs_read_file(path, 4096, &data, &len) == 0 && len == strlen(want) &&
                memcmp(data, want, len) == 0;
    free(data);
    free(want);
    free(path);
    return same;
}

static long long heard_bytes(json_t *st)
{
    return demo_json_int(st, "bytes", "cache") + demo_json_int(st, "bytes", "peers") +
           demo_json_int(st, "bytes", "service");
}

/* Plays track t to its end (fast). */
static int play_through(struct demo_peer *p, size_t t)
{
    const struct demo_track *tr = &p->sw->lib->tracks[t];
    json_t *st = demo_engine_status(p->de);
    long long before = st ? heard_bytes(st) : 0;
    json_decref(st);
    char line[64];
    snprintf(line, sizeof(line), "play #%llu", (unsigned long long)tr->id);
    if (demo_engine_run(p->de, line) < 0)
        return -1;
    double limit_ms = 60000 + tr->seconds * 1000; /* real time and a minute: something is wrong */
    for (double waited = 0; waited < limit_ms; waited += 100) {
        if (peer_sleep(p, 100) == WAKE_STOP)
            return -1;
        st = demo_engine_status(p->de);
        bool done =
            st && strcmp(demo_json_str(st, "state"), "stopped") == 0 && heard_bytes(st) > before;
        json_decref(st);
        if (done)
            return 0;
    }
    clog_warn(p->sw->log, MOD, "peer %u: track #%llu did not play through", p->index,
              (unsigned long long)tr->id);
    return 0;
}

static int peer_fill(struct demo_peer *p)
{
    const struct demo_library *lib = p->sw->lib;
    for (size_t a = 0; a < lib->nalbums; a++) {
        if (!holds_album(p->sw, p->index - 1, a))
            continue;
        for (size_t t = lib->albums[a].first; t < lib->albums[a].first + lib->albums[a].count; t++)
            if (play_through(p, t) < 0)
                return -1;
    }
    demo_engine_run(p->de, "queue clear");
    char *path = fill_marker(p), *spec = fill_spec(p);
    int rc = fs_write_atomic(path, spec, strlen(spec), 0600);
    if (rc < 0)
        clog_warn(p->sw->log, MOD, "cannot write %s: %s", path, fs_strerror(rc));
    free(spec);
    free(path);
    clog_info(p->sw->log, MOD, "peer %u: cache filled with its albums", p->index);
    return 0;
}

/* ---- what its cache holds (sw->mu held) ---- */

static bool holds(const struct demo_peer *p, size_t t)
{
    for (size_t i = 0; i < p->nheld; i++)
        if (p->held[i] == t)
            return true;
    return false;
}

/* Track t was played: first in line, and the least recently played go
 * past the cap, as the cache evicts them. */
static void hold(struct demo_peer *p, size_t t)
{
    size_t n = 0;
    for (size_t i = 0; i < p->nheld; i++)
        if (p->held[i] != t)
            p->held[n++] = p->held[i];
    memmove(p->held + 1, p->held, n * sizeof(*p->held));
    p->held[0] = t;
    p->nheld = n + 1;
    uint64_t bytes = 0;
    for (size_t i = 0; i < p->nheld; i++) {
        bytes += p->sw->lib->tracks[p->held[i]].bytes;
        if (i > 0 && bytes > p->cap) {
            p->nheld = i;
            break;
        }
    }
}

static char *held_path(const struct demo_peer *p)
{
    return xasprintf("%s/%s", p->home, HELD_NAME);
}

/* The last run's list (catalog ids, latest first), when the fill is the
 * same; else its albums, as the fill plays them. */
static void held_load(struct demo_peer *p)
{
    const struct demo_library *lib = p->sw->lib;
    p->held = xcalloc(lib->ntracks, sizeof(*p->held));
    char *path = held_path(p);
    FILE *f = p->fill ? NULL : fopen(path, "r");
    free(path);
    if (f) {
        size_t *ids = xcalloc(lib->ntracks, sizeof(*ids)), n = 0;
        unsigned long long id;
        while (n < lib->ntracks && fscanf(f, "%llu", &id) == 1) {
            long t = demo_library_find(lib, id);
            if (t >= 0)
                ids[n++] = (size_t)t;
        }
        fclose(f);
        for (size_t i = n; i-- > 0;) /* the oldest first: the latest end up in front */
            hold(p, ids[i]);
        free(ids);
        return;
    }
    for (size_t t = 0; t < lib->ntracks; t++)
        if (holds_album(p->sw, p->index - 1, lib->tracks[t].album))
            hold(p, t);
}

static void held_save(struct demo_peer *p)
{
    char *path = held_path(p);
    size_t cap = 24 * (p->nheld + 1), len = 0;
    char *text = xmalloc(cap);
    text[0] = 0;
    for (size_t i = 0; i < p->nheld; i++)
        len += (size_t)snprintf(text + len, cap - len, "%llu\n",
                                (unsigned long long)p->sw->lib->tracks[p->held[i]].id);
    int rc = fs_write_atomic(path, text, len, 0600);
    if (rc < 0)
        clog_warn(p->sw->log, MOD, "cannot write %s: %s", path, fs_strerror(rc));
    free(text);
    free(path);
}

/* ---- the swarm's listening habits ---- */

static void trending_add(struct demo_swarm *sw, long t)
{
    size_t n = 0;
    long keep[TRENDING_MAX];
    for (size_t i = 0; i < sw->ntrending && n < TRENDING_MAX - 1; i++)
        if (sw->trending[i] != t)
            keep[n++] = sw->trending[i];
    sw->trending[0] = t;
    memcpy(sw->trending + 1, keep, n * sizeof(*keep));
    sw->ntrending = n + 1;
}

/* A track index by popularity: rank r drawn with weight 1/(r+1). */
static size_t pick_popular(struct demo_peer *p)
{
    const struct demo_library *lib = p->sw->lib;
    double total = 0;
    for (size_t r = 0; r < lib->ntracks; r++)
        total += 1.0 / (double)(r + 1);
    double x = demo_uniform(&p->rng, 0, total);
    for (size_t r = 0; r < lib->ntracks; r++) {
        x -= 1.0 / (double)(r + 1);
        if (x <= 0)
            return lib->popular[r];
    }
    return lib->popular[lib->ntracks - 1];
}

static bool in_session(const struct demo_peer *p, size_t t)
{
    for (size_t i = 0; i < p->session_len; i++)
        if (p->session[i] == t)
            return true;
    return false;
}

/* The first album is new to the swarm (holds_album): peers come to it
 * only by following someone (a tip, something played nearby). */
static bool new_to_swarm(const struct demo_library *lib, size_t t)
{
    return lib->nalbums > 1 && lib->tracks[t].album == 0;
}

static void session_popular(struct demo_peer *p, size_t want)
{
    size_t tries = 0;
    while (p->session_len < want && tries++ < 50) {
        size_t t = pick_popular(p);
        if (!in_session(p, t) && !new_to_swarm(p->sw->lib, t))
            p->session[p->session_len++] = t;
    }
}

static void session_album(struct demo_peer *p)
{
    const struct demo_library *lib = p->sw->lib;
    size_t skip = lib->nalbums > 1; /* the album new to the swarm */
    size_t a = skip + (size_t)(demo_rand(&p->rng) % (lib->nalbums - skip));
    const struct demo_album *al = &lib->albums[a];
    for (size_t i = 0; i < al->count && i < SESSION_MAX; i++)
        p->session[p->session_len++] = al->first + i;
}

/* Something played nearby lately that this peer has not heard; -1: none. */
static long trending_unheard(struct demo_peer *p)
{
    long t = -1;
    pthread_mutex_lock(&p->sw->mu);
    for (size_t i = 0; i < p->sw->ntrending && t < 0; i++)
        if (!holds(p, (size_t)p->sw->trending[i]))
            t = p->sw->trending[i];
    pthread_mutex_unlock(&p->sw->mu);
    return t;
}

static void new_session(struct demo_peer *p)
{
    p->session_len = p->session_pos = 0;
    double u = demo_uniform(&p->rng, 0, 1);
    long nearby = trending_unheard(p);
    if (u < 0.35) {
        session_album(p);
    } else if (u < 0.55 && nearby >= 0) {
        p->session[p->session_len++] = (size_t)nearby;
        session_popular(p, 1 + (size_t)(demo_rand(&p->rng) % 3));
    } else {
        session_popular(p, 2 + (size_t)(demo_rand(&p->rng) % 4));
    }
}

/* The tip, taken (-1: none). */
static long take_tip(struct demo_peer *p)
{
    pthread_mutex_lock(&p->sw->mu);
    long t = p->tip;
    p->tip = -1;
    pthread_mutex_unlock(&p->sw->mu);
    return t;
}

static bool is_stopped(struct demo_peer *p)
{
    json_t *st = demo_engine_status(p->de);
    bool stopped = !st || strcmp(demo_json_str(st, "state"), "stopped") == 0;
    json_decref(st);
    return stopped;
}

/* A tip came while listening: a few seconds, as people take, then off. */
static enum wake tuning_in(struct demo_peer *p)
{
    struct timespec until = demo_after_ms(demo_uniform(&p->rng, 2000, 6000));
    enum wake w = WAKE_TIP;
    pthread_mutex_lock(&p->sw->mu);
    while (!p->sw->stopping &&
           pthread_cond_timedwait(&p->sw->cv, &p->sw->mu, &until) != ETIMEDOUT) {
    }
    if (p->sw->stopping)
        w = WAKE_STOP;
    pthread_mutex_unlock(&p->sw->mu);
    return w;
}

/* How this play of a track goes. */
struct listening {
    double until_s; /* stop listening after this long (the end comes first) */
    double seek_at_s, seek_by_s;
    double pause_at_s, pause_s;
};

static struct listening plan_listening(struct demo_peer *p, double seconds)
{
    struct listening l = {.until_s = seconds + 10, .seek_at_s = -1, .pause_at_s = -1};
    if (demo_uniform(&p->rng, 0, 1) < 0.2) /* skipped after a few seconds */
        l.until_s = demo_uniform(&p->rng, 5, seconds < 25 ? (seconds > 6 ? seconds : 6) : 25);
    if (demo_uniform(&p->rng, 0, 1) < 0.12) {
        l.seek_at_s = demo_uniform(&p->rng, 2, l.until_s / 2);
        l.seek_by_s = demo_uniform(&p->rng, 10, 40);
    }
    if (demo_uniform(&p->rng, 0, 1) < 0.08) {
        l.pause_at_s = demo_uniform(&p->rng, 2, l.until_s * 0.7);
        l.pause_s = demo_uniform(&p->rng, 3, 10);
    }
    return l;
}

/* Plays track t and listens as planned; returns why it ended. */
static enum wake listen_to(struct demo_peer *p, size_t t)
{
    struct demo_swarm *sw = p->sw;
    const struct demo_track *tr = &sw->lib->tracks[t];
    char line[64];
    snprintf(line, sizeof(line), "play #%llu", (unsigned long long)tr->id);
    if (demo_engine_run(p->de, line) < 0)
        return peer_sleep(p, 1000);
    pthread_mutex_lock(&sw->mu);
    hold(p, t);
    trending_add(sw, (long)t);
    pthread_mutex_unlock(&sw->mu);
    struct listening l = plan_listening(p, tr->seconds);
    for (double s = 1; s <= l.until_s; s++) {
        enum wake w = peer_sleep(p, 1000);
        if (w == WAKE_TIP)
            return tuning_in(p);
        if (w == WAKE_STOP)
            return w;
        if (l.seek_at_s >= 0 && s >= l.seek_at_s) {
            snprintf(line, sizeof(line), "seek +%d", (int)l.seek_by_s);
            demo_engine_run(p->de, line);
            l.seek_at_s = -1;
        }
        if (l.pause_at_s >= 0 && s >= l.pause_at_s) {
            demo_engine_run(p->de, "pause");
            w = peer_sleep(p, l.pause_s * 1000);
            demo_engine_run(p->de, "resume");
            if (w != WAKE_TIME)
                return w == WAKE_TIP ? tuning_in(p) : w;
            l.pause_at_s = -1;
        }
        if ((int)s % 2 == 0 && is_stopped(p))
            return WAKE_TIME; /* the end of the track */
    }
    return WAKE_TIME;
}

static void listen_forever(struct demo_peer *p)
{
    for (;;) {
        long t = take_tip(p);
        if (t < 0 && p->session_pos < p->session_len)
            t = (long)p->session[p->session_pos++];
        if (t >= 0) {
            if (listen_to(p, (size_t)t) == WAKE_STOP)
                return;
            continue;
        }
        demo_engine_run(p->de, "stop");
        if (peer_sleep(p, demo_uniform(&p->rng, 3000, 20000)) == WAKE_STOP)
            return;
        new_session(p);
    }
}

static void set_ready(struct demo_peer *p, bool running)
{
    pthread_mutex_lock(&p->sw->mu);
    p->ready = true;
    p->running = running;
    pthread_cond_broadcast(&p->sw->cv);
    pthread_mutex_unlock(&p->sw->mu);
}

static void *peer_main(void *arg)
{
    struct demo_peer *p = arg;
    bool ok = true;
    if (p->fill) {
        ok = peer_open(p, true) == 0 && peer_online(p) == 0 && peer_fill(p) == 0;
        peer_close(p);
    }
    ok = ok && peer_open(p, false) == 0 && peer_online(p) == 0;
    if (ok)
        clog_info(p->sw->log, MOD, "peer %u listening", p->index);
    set_ready(p, ok);
    if (ok)
        listen_forever(p);
    return NULL;
}

/* ---- the swarm ---- */

/* The peer's home, its log and its login (the password is this run's). */
static int peer_prepare(struct demo_swarm *sw, struct demo_peer *p, const char *dir,
                        const struct demo_swarm_config *cfg)
{
    p->home = xasprintf("%s/peers/%u", dir, p->index);
    p->data = xasprintf("%s/data", p->home);
    p->cache = xasprintf("%s/cache", p->home);
    p->label = xasprintf("demo-peer-%u", p->index);
    p->tip = -1;
    p->rng = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull + p->index;
    p->cap = cache_cap(sw, p->index - 1);
    int rc = fs_mkdir_p(p->home, 0700);
    if (rc < 0) {
        fprintf(stderr, "chorus: cannot make %s: %s\n", p->home, fs_strerror(rc));
        return -1;
    }
    char *log_path = xasprintf("%s/peer.log", p->home);
    int err = 0;
    p->log = clog_new(log_path, CLOG_INFO, &err);
    clog_set_rotation(p->log, CLOG_DEFAULT_MAX_BYTES, CLOG_DEFAULT_KEEP);
    free(log_path);
    char *error = NULL;
    if (chorus_login_device(cfg->env, p->data, cfg->address, DEMO_USER, cfg->password, p->label,
                            &error) < 0) {
        fprintf(stderr, "chorus: demo peer %u cannot log in: %s\n", p->index, error);
        free(error);
        return -1;
    }
    p->fill = !fill_done_before(p);
    held_load(p);
    return 0;
}

struct demo_swarm *demo_swarm_start(const struct demo_swarm_config *cfg)
{
    struct demo_swarm *sw = xcalloc(1, sizeof(*sw));
    sw->lib = cfg->lib;
    sw->address = xstrdup(cfg->address);
    sw->key_hex = xstrdup(cfg->key_hex);
    sw->log = cfg->env->log;
    pthread_mutex_init(&sw->mu, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&sw->cv, &attr);
    pthread_condattr_destroy(&attr);
    sw->npeers = cfg->npeers;
    sw->peers = xcalloc(sw->npeers ? sw->npeers : 1, sizeof(*sw->peers));
    unsigned filling = 0;
    for (unsigned i = 0; i < sw->npeers; i++) {
        struct demo_peer *p = &sw->peers[i];
        p->sw = sw;
        p->index = i + 1;
        if (peer_prepare(sw, p, cfg->dir, cfg) < 0) {
            demo_swarm_stop(sw);
            return NULL;
        }
        filling += p->fill;
    }
    if (filling)
        fprintf(stderr,
                "demo: filling the caches of %u background peer%s with their albums "
                "(once: later runs reuse them)\n",
                filling, filling == 1 ? "" : "s");
    for (unsigned i = 0; i < sw->npeers; i++) {
        struct demo_peer *p = &sw->peers[i];
        p->thread_started = pthread_create(&p->thread, NULL, peer_main, p) == 0;
        if (!p->thread_started)
            set_ready(p, false);
    }
    return sw;
}

bool demo_swarm_ready(struct demo_swarm *sw)
{
    pthread_mutex_lock(&sw->mu);
    bool ready = true;
    for (unsigned i = 0; i < sw->npeers; i++)
        ready = ready && sw->peers[i].ready;
    pthread_mutex_unlock(&sw->mu);
    return ready;
}

unsigned demo_swarm_running(struct demo_swarm *sw)
{
    unsigned n = 0;
    pthread_mutex_lock(&sw->mu);
    for (unsigned i = 0; i < sw->npeers; i++)
        n += sw->peers[i].running;
    pthread_mutex_unlock(&sw->mu);
    return n;
}

/* How many listening peers hold track t (sw->mu held). */
static unsigned holders(const struct demo_swarm *sw, size_t t)
{
    unsigned n = 0;
    for (unsigned i = 0; i < sw->npeers; i++)
        n += sw->peers[i].running && holds(&sw->peers[i], t);
    return n;
}

/* Gives track t to the next listening peer that does not hold it (sw->mu
 * held). False when every one holds it or has a tip already. */
static bool tip_a_peer(struct demo_swarm *sw, size_t t)
{
    for (unsigned i = 0; i < sw->npeers; i++) {
        unsigned k = (sw->next_tip + i) % sw->npeers;
        struct demo_peer *p = &sw->peers[k];
        if (p->running && !holds(p, t) && p->tip < 0) {
            p->tip = (long)t;
            sw->next_tip = k + 1;
            clog_info(sw->log, MOD, "peer %u tunes in to what the user played (#%llu)", p->index,
                      (unsigned long long)sw->lib->tracks[t].id);
            pthread_cond_broadcast(&sw->cv);
            return true;
        }
    }
    return false;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* What the user played this run, and what came of passing it on. */
struct follow {
    bool *played;       /* per track: heard FOLLOW_AFTER_S s (the user's engine holds it) */
    uint64_t current;   /* the catalog id of the last track passed on */
    long long uploaded; /* the user's upload total at the last tip */
    double tipped_at;   /* when */
};

/* Passes on one of the user's tracks: of those played, the one the fewest
 * peers hold (the latest on a tie), so the peer that takes it fetches it
 * from the user's engine, if possible alone. */
static void pass_on(struct demo_swarm *sw, struct follow *f, size_t latest)
{
    pthread_mutex_lock(&sw->mu);
    long best = (long)latest;
    unsigned fewest = holders(sw, latest);
    for (size_t t = 0; t < sw->lib->ntracks; t++) {
        unsigned n = f->played[t] ? holders(sw, t) : UINT32_MAX;
        if (n < fewest) {
            fewest = n;
            best = (long)t;
        }
    }
    trending_add(sw, (long)latest);
    tip_a_peer(sw, (size_t)best);
    pthread_mutex_unlock(&sw->mu);
}

/* One look at the user's status: each track heard FOLLOW_AFTER_S seconds
 * is a reason to pass one on; while the user's engine uploads nothing,
 * another every RETIP_S (the model of the caches may be wrong). */
static void follow_user(struct demo_swarm *sw, json_t *st, struct follow *f)
{
    uint64_t id = demo_json_track_id(st);
    long t = id ? demo_library_find(sw->lib, id) : -1;
    double pos = json_number_value(json_object_get(st, "position"));
    long long uploaded = demo_json_int(st, NULL, "uploaded");
    if (strcmp(demo_json_str(st, "state"), "stopped") == 0 || t < 0 || pos < FOLLOW_AFTER_S)
        return;
    f->played[t] = true;
    bool fresh = id != f->current;
    if (!fresh && (uploaded != f->uploaded || now_s() - f->tipped_at < RETIP_S))
        return;
    f->current = id;
    f->uploaded = uploaded;
    f->tipped_at = now_s();
    pass_on(sw, f, (size_t)t);
}

static void *watch_user(void *arg)
{
    struct demo_swarm *sw = arg;
    struct follow f = {.played = xcalloc(sw->lib->ntracks, sizeof(*f.played))};
    while (!stopping(sw)) {
        json_t *st = demo_engine_status(sw->user);
        if (!st && engine_stopped(demo_engine_handle(sw->user)))
            break; /* the user quit */
        if (st)
            follow_user(sw, st, &f);
        json_decref(st);
        struct timespec until = demo_after_ms(1000);
        pthread_mutex_lock(&sw->mu);
        if (!sw->stopping)
            pthread_cond_timedwait(&sw->cv, &sw->mu, &until);
        pthread_mutex_unlock(&sw->mu);
    }
    free(f.played);
    return NULL;
}

void demo_swarm_watch(struct demo_swarm *sw, struct demo_engine *user)
{
    sw->user = user;
    sw->watching = pthread_create(&sw->watcher, NULL, watch_user, sw) == 0;
}

void demo_swarm_stop(struct demo_swarm *sw)
{
    if (!sw)
        return;
    pthread_mutex_lock(&sw->mu);
    sw->stopping = true;
    pthread_cond_broadcast(&sw->cv);
    pthread_mutex_unlock(&sw->mu);
    if (sw->watching)
        pthread_join(sw->watcher, NULL);
    for (unsigned i = 0; i < sw->npeers; i++) {
        struct demo_peer *p = &sw->peers[i];
        if (p->thread_started)
            pthread_join(p->thread, NULL);
        peer_close(p); /* its state saved */
        if (p->held)
            held_save(p);
        clog_free(p->log);
        free(p->held);
        free(p->home);
        free(p->data);
        free(p->cache);
        free(p->label);
    }
    free(sw->peers);
    free(sw->address);
    free(sw->key_hex);
    pthread_cond_destroy(&sw->cv);
    pthread_mutex_destroy(&sw->mu);
    free(sw);
}
