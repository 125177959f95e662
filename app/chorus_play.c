/* chorus play: logs in to the service, finds tracks, and plays them
 * headless — streamed from the service through the chunk cache into the
 * decoder and out of a sink, with a live status line and a summary.
 *
 * Wiring only: the settings and paths (chorus_env), the client's identity
 * and the service's pinned key, the cache, the connection and login, the
 * catalog query (search, or --all: every track in library order) run
 * with the client's blocking helpers before anything plays; then one
 * libuv loop runs the fetch (net/fetch.h), the player (app/player.h), the
 * status line and the signals until the queue ends or SIGINT/SIGTERM
 * stops it. Teardown frees in dependency order: player (decoder thread),
 * fetch (cache writes in flight), output, cache (flushed), connection. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "audio/decoder.h"
#include "audio/sink.h"
#include "chorus_commands.h"
#include "chorus_env.h"
#include "core/cache.h"
#include "core/errors.h"
#include "base/xmalloc.h"
#include "net/client.h"
#include "core/fetch.h"
#include "net/svc.h"
#include "net/tls.h"
#include "password.h"
#include "core/player.h"

#define WHO             "chorus play"
#define IDENTITY_NAME   "identity.key"
#define PIN_NAME        "service.pin"
#define CONNECT_MS      10000
#define REPLY_MS        30000 /* scrypt on a busy service takes a while */
#define SLICE_MS        200   /* blocking waits check for a signal this often */
#define STATUS_MS       250
#define STATUS_PLAIN_MS 5000 /* not a terminal: a status line this often */
#define DEFAULT_LIMIT   10
#define BROWSE_PAGE     WIRE_MAX_ITEMS

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: chorus play [--service HOST:PORT] [--user NAME] [--password-file FILE]\n"
            "                   [--output SINK] [--limit N] (QUERY... | --all)\n"
            "\n"
            "Logs in to the service, finds the tracks matching every word of QUERY (or,\n"
            "with --all, every track in library order), prints them as a numbered list\n"
            "and plays up to N of them, streamed through the cache, with a status line.\n"
            "\n"
            "  -s, --service HOST:PORT   the service (default: service.address, 127.0.0.1:4170)\n"
            "  -u, --user NAME           log in as NAME (default: service.user, else $USER)\n"
            "  -p, --password-file FILE  the password is FILE's first line (default:\n"
            "                            $CHORUS_PASSWORD, else asked on the terminal, else\n"
            "                            the first line of standard input)\n"
            "  -O, --output SINK         portaudio[:DEVICE], null[:SPEED], bench[:SPEED] or\n"
            "                            wav:FILE (default: audio.output)\n"
            "  -n, --limit N             play at most N tracks (default: %d for a QUERY, all\n"
            "                            of them with --all)\n"
            "  -a, --all                 every track, by artist, album and track number\n"
            "  -h, --help                this help\n"
            "\n"
            "See chorus(1).\n",
            DEFAULT_LIMIT);
}

struct play {
    struct chorus_env env;
    uv_loop_t loop;
    bool loop_ready;
    uv_signal_t sigint, sigterm;
    uv_timer_t status_timer;
    bool handles_ready;
    struct tls_identity *identity;
    struct cache *cache;
    struct svc_client *client;
    struct fetch *fetch;
    struct aout *out;
    struct player *player;
    bool player_closed, fetch_closed;
    bool interrupted; /* a signal came */
    bool tty;
    bool status_shown;   /* a status line is on the terminal */
    uint64_t last_plain; /* ms of the last plain status line */
    uint64_t start_ms;
    char *address, *host;
    uint16_t port;
    char *pin_path;       /* used when service.key is not set */
    bool has_service_key; /* service.key given: only that key is accepted */
    uint8_t service_key[TLS_KEY_LEN];
    struct player_track *tracks;
    size_t given; /* tracks handed to the player so far */
    size_t ntracks;
};

/* ---- small helpers ---- */

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fmt_time(int64_t ms, char *buf, size_t cap)
{
    if (ms < 0) {
        snprintf(buf, cap, "-:--");
        return;
    }
    int64_t s = (ms + 500) / 1000;
    snprintf(buf, cap, "%lld:%02lld", (long long)(s / 60), (long long)(s % 60));
}

static double percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* "HOST:PORT", "[V6]:PORT", "HOST" (port 4170) into a new host string. */
/* ---- blocking steps before playback (the loop runs inside them) ---- */

static void on_signal(uv_signal_t *h, int signum)
{
    struct play *a = h->data;
    if (a->interrupted)
        return;
    a->interrupted = true;
    if (a->player)
        player_stop(a->player);
    uv_stop(&a->loop);
}

static void report_closed(struct play *a, const char *doing)
{
    int err = svc_client_error(a->client);
    if (err == CLIENT_EPIN && a->has_service_key)
        fprintf(stderr, WHO ": the service at %s does not hold the key set in service.key\n",
                a->address);
    else if (err == CLIENT_EPIN)
        fprintf(stderr,
                WHO ": the service at %s does not hold the key pinned in %s (another server, "
                    "or its key changed); if you trust it, remove that file and run again\n",
                a->address, a->pin_path);
    else
        fprintf(stderr, WHO ": %s %s: %s\n", doing, a->address,
                err ? svc_client_strerror(err) : "the connection closed");
}

/* Waits for the reply to rid (to `what`, for messages) in slices, so that
 * a signal ends the wait. A failure is reported, an interruption not.
 * Returns 0 (*out is the caller's to clear) or -1. */
static int wait_reply(struct play *a, uint32_t rid, struct wire_msg *out, const char *what)
{
    int rc = rid ? CLIENT_ETIMEOUT : CLIENT_ECLOSED;
    for (uint64_t waited = 0; rc == CLIENT_ETIMEOUT && !a->interrupted && waited < REPLY_MS;
         waited += SLICE_MS)
        rc = svc_client_wait(a->client, rid, out, SLICE_MS);
    if (rc == 0)
        return 0;
    if (a->interrupted)
        return -1;
    if (rc == CLIENT_ETIMEOUT)
        fprintf(stderr, WHO ": the service at %s did not answer %s in time\n", a->address, what);
    else
        report_closed(a, "lost the connection to");
    return -1;
}

static int connect_service(struct play *a)
{
    struct svc_client_opts o = {
        .host = a->host,
        .port = a->port,
        .identity = a->identity,
        .service_key = a->has_service_key ? a->service_key : NULL,
        .pin_file = a->has_service_key ? NULL : a->pin_path,
    };
    int rc = svc_client_new(&a->loop, &o, &a->client);
    if (rc < 0) {
        fprintf(stderr, WHO ": cannot reach the service at %s: %s\n", a->address,
                rc == CLIENT_EPIN ? "the pin file is not a key" : svc_client_strerror(rc));
        a->client = NULL;
        return -1;
    }
    for (uint64_t waited = 0; !svc_client_ready(a->client); waited += SLICE_MS) {
        rc = svc_client_wait_ready(a->client, SLICE_MS);
        if (rc == 0 || (rc == CLIENT_ETIMEOUT && !a->interrupted && waited < CONNECT_MS))
            continue;
        if (a->interrupted)
            return -1;
        if (rc == CLIENT_ETIMEOUT)
            fprintf(stderr, WHO ": the service at %s did not answer within %d s\n", a->address,
                    CONNECT_MS / 1000);
        else
            report_closed(a, "cannot reach the service at");
        return -1;
    }
    return 0;
}

static int login(struct play *a, const char *user, const char *password)
{
    struct wire_msg m;
    if (wait_reply(a, svc_client_login(a->client, user, password), &m, "the login") < 0)
        return -1;
    int rc = 0;
    if (m.type == WIRE_ERROR) {
        if (m.u.error.code == WIRE_ERR_LOGIN)
            fprintf(stderr, WHO ": login refused: wrong user or password for '%s' at %s\n", user,
                    a->address);
        else
            fprintf(stderr, WHO ": login failed: %s%s%s\n", wire_error_name(m.u.error.code),
                    m.u.error.message ? ": " : "", m.u.error.message ? m.u.error.message : "");
        rc = -1;
    } else if (m.type != WIRE_TICKET) {
        fprintf(stderr, WHO ": the service answered the login with %s\n", wire_type_name(m.type));
        rc = -1;
    }
    wire_msg_clear(&m);
    return rc;
}

/* Appends the track items of m to the queue, up to limit. */
static void take_tracks(struct play *a, struct wire_msg *m, size_t limit)
{
    for (uint32_t i = 0; i < m->u.items.count && a->ntracks < limit; i++) {
        struct wire_item *it = &m->u.items.items[i];
        if (it->kind != WIRE_KIND_TRACK || !it->has_file)
            continue;
        struct player_track *t = &a->tracks[a->ntracks++];
        memcpy(t->id.bytes, it->file_id, CONTENT_ID_LEN);
        t->title = xstrdup(it->title ? it->title : "");
        t->artist = xstrdup(it->artist ? it->artist : "");
        t->album = xstrdup(it->album ? it->album : "");
        t->duration_ms = it->duration_ms;
    }
}

/* One catalog request and its ITEMS reply into *m (the caller clears it). */
static int catalog_request(struct play *a, uint32_t rid, struct wire_msg *m)
{
    if (wait_reply(a, rid, m, "a catalog request") < 0)
        return -1;
    if (m->type != WIRE_ITEMS) {
        fprintf(stderr, WHO ": the catalog request failed: %s\n",
                m->type == WIRE_ERROR ? wire_error_name(m->u.error.code) : wire_type_name(m->type));
        wire_msg_clear(m);
        return -1;
    }
    return 0;
}

/* Every track, by album artist, album and track number, up to limit. */
static int browse_all(struct play *a, size_t limit)
{
    struct wire_msg artists, albums, tracks;
    if (catalog_request(a, svc_client_browse(a->client, WIRE_KIND_ARTIST, 0, 0, BROWSE_PAGE),
                        &artists) < 0)
        return -1;
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < artists.u.items.count && a->ntracks < limit; i++) {
        uint64_t artist = artists.u.items.items[i].id;
        rc = catalog_request(
            a, svc_client_browse(a->client, WIRE_KIND_ALBUM, artist, 0, BROWSE_PAGE), &albums);
        for (uint32_t j = 0; rc == 0 && j < albums.u.items.count && a->ntracks < limit; j++) {
            uint64_t album = albums.u.items.items[j].id;
            rc = catalog_request(
                a, svc_client_browse(a->client, WIRE_KIND_TRACK, album, 0, BROWSE_PAGE), &tracks);
            if (rc == 0) {
                take_tracks(a, &tracks, limit);
                wire_msg_clear(&tracks);
            }
        }
        if (rc == 0)
            wire_msg_clear(&albums);
    }
    wire_msg_clear(&artists);
    return rc;
}

static int find_tracks(struct play *a, const char *query, size_t limit)
{
    a->tracks = xcalloc(limit, sizeof(*a->tracks));
    if (!query)
        return browse_all(a, limit);
    struct wire_msg m;
    if (catalog_request(a, svc_client_search(a->client, query, (uint32_t)limit), &m) < 0)
        return -1;
    take_tracks(a, &m, limit);
    wire_msg_clear(&m);
    return 0;
}

/* ---- the status line ---- */

static unsigned terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        return ws.ws_col;
    return 80;
}

/* Cuts s to at most cols characters (UTF-8 aware). */
static void fit(char *s, unsigned cols)
{
    unsigned n = 0;
    for (char *p = s; *p; p++) {
        if (((unsigned char)*p & 0xC0) != 0x80 && n++ == cols) {
            *p = 0;
            return;
        }
    }
}

static void clear_status(struct play *a)
{
    if (a->tty && a->status_shown) {
        fputs("\r\033[K", stdout);
        a->status_shown = false;
    }
}

static void print_status(struct play *a)
{
    struct player_status st;
    player_get_status(a->player, &st);
    if (st.state == PLAYER_DONE)
        return;
    static const char *const names[] = {"opening", "buffering", "playing", "done"};
    const struct player_track *t = player_track_at(a->player, st.tag);
    char pos[32], dur[32], line[512];
    fmt_time(st.position_ms, pos, sizeof(pos));
    fmt_time(st.duration_ms, dur, sizeof(dur));
    uint64_t size = st.file.file_size;
    snprintf(line, sizeof(line),
             "%s %zu/%zu %s \u2014 %s  %s/%s  buffer %.1fs  loaded %.0f%%  "
             "cache %.0f%% service %.0f%%  underruns %llu",
             names[st.state], (size_t)st.tag + 1, a->ntracks, t->artist, t->title, pos, dur,
             (double)st.buffered_ms / 1000.0, percent(st.file.chunks_stored, st.file.chunk_count),
             percent(st.file.bytes_cached, size), percent(st.file.bytes_service, size),
             (unsigned long long)st.underruns);
    if (a->tty) {
        fit(line, terminal_columns() - 3); /* room for an echoed ^C */
        printf("\r\033[K%s", line);
        a->status_shown = true;
    } else {
        printf("  %s\n", line);
    }
    fflush(stdout);
}

static void on_status_timer(uv_timer_t *t)
{
    struct play *a = t->data;
    if (!a->player)
        return;
    uint64_t now = mono_ms();
    if (!a->tty && now - a->last_plain < STATUS_PLAIN_MS)
        return;
    a->last_plain = now;
    print_status(a);
}

/* Hands the player the next track of the list: to play now (first, or
 * after a gap) or to follow the one playing. The player's tags then equal
 * the list's indexes. */
static void give_next(struct play *a, bool now)
{
    if (a->given >= a->ntracks)
        return;
    const struct player_track *t = &a->tracks[a->given++];
    if (now)
        player_play(a->player, t, 0);
    else
        player_set_next(a->player, t);
}

static void on_player_event(void *ctx, const struct player_event *ev)
{
    struct play *a = ctx;
    const struct player_track *t =
        ev->type != PLAYER_EV_IDLE ? player_track_at(a->player, ev->tag) : NULL;
    size_t index = (size_t)ev->tag;
    switch (ev->type) {
    case PLAYER_EV_READY:
        break;
    case PLAYER_EV_TRACK_START:
        if (a->given == index + 1)
            give_next(a, false);
        clear_status(a);
        printf("[%zu/%zu] %s \u2014 %s (%s)%s\n", index + 1, a->ntracks, t->artist, t->title,
               t->album, ev->result->cache_hit ? ", from the cache" : "");
        fflush(stdout);
        break;
    case PLAYER_EV_TRACK_END:
        if (ev->result->state == PLAYER_T_FAILED) {
            clear_status(a);
            fflush(stdout);
            fprintf(stderr, WHO ": track %zu (%s \u2014 %s) failed: %s\n", index + 1, t->artist,
                    t->title, chorus_strerror(ev->result->error));
            if (a->given == index + 1)
                give_next(a, true); /* it never started: nothing follows it yet */
        }
        break;
    case PLAYER_EV_IDLE:
        if (a->given < a->ntracks)
            give_next(a, true);
        else
            uv_stop(&a->loop);
        break;
    }
}

/* ---- the summary ---- */

/* One row: the figures first, then the track, cut to the terminal. */
static void print_row(struct play *a, size_t i, const struct player_result *r)
{
    const struct player_track *t = player_track_at(a->player, i);
    char name[512], when[32], first[32], dec[32], c[32], s[32];
    fmt_time(r->state == PLAYER_T_FAILED && r->played_ms == 0 ? -1 : r->played_ms, when,
             sizeof(when));
    snprintf(first, sizeof(first), "-");
    snprintf(dec, sizeof(dec), "-");
    if (r->state == PLAYER_T_FAILED)
        snprintf(first, sizeof(first), "failed");
    else if (r->gapless)
        snprintf(first, sizeof(first), "gapless");
    else if (r->latency_ns > 0) {
        snprintf(first, sizeof(first), "%.0f ms", (double)r->latency_ns / 1e6);
        snprintf(dec, sizeof(dec), "%.1f ms", (double)r->ttfa_ns / 1e6);
    }
    snprintf(name, sizeof(name), "%s \u2014 %s", t->artist, t->title);
    if (a->tty)
        fit(name, terminal_columns() > 80 ? terminal_columns() - 63 : 17);
    printf("%3zu %5s %11s %8s %9llu %9s %9s  %s\n", i + 1, when, first, dec,
           (unsigned long long)r->underruns, cache_format_size(r->fetch.bytes_cached, c, sizeof(c)),
           cache_format_size(r->fetch.bytes_service, s, sizeof(s)), name);
}

static int print_summary(struct play *a)
{
    clear_status(a);
    size_t n = player_count(a->player);
    size_t played = 0, failed = 0, shown = 0, hits = 0;
    uint64_t underruns = 0, from_cache = 0, from_service = 0, music_ms = 0;
    printf("\n%3s %5s %11s %8s %9s %9s %9s  %s\n", "#", "time", "first audio", "decoder",
           "underruns", "cache", "service", "track");
    for (size_t i = 0; i < n; i++) {
        const struct player_result *r = player_result_at(a->player, i);
        if (r->state == PLAYER_T_PENDING || r->state == PLAYER_T_SKIPPED)
            continue;
        shown++;
        hits += r->cache_hit;
        played += r->state == PLAYER_T_PLAYED;
        failed += r->state == PLAYER_T_FAILED;
        underruns += r->underruns;
        from_cache += r->fetch.bytes_cached;
        from_service += r->fetch.bytes_service;
        music_ms += (uint64_t)(r->played_ms > 0 ? r->played_ms : 0);
        print_row(a, i, r);
    }
    char c[32], s[32], m[32];
    fmt_time((int64_t)music_ms, m, sizeof(m));
    printf("\nPlayed %zu of %zu tracks (%s of music)%s; %llu underruns.\n", played, a->ntracks, m,
           failed ? ", some failed" : "", (unsigned long long)underruns);
    printf("Bytes: %s from the cache (%.0f%%), %s from the service (%.0f%%).\n",
           cache_format_size(from_cache, c, sizeof(c)),
           percent(from_cache, from_cache + from_service),
           cache_format_size(from_service, s, sizeof(s)),
           percent(from_service, from_cache + from_service));
    printf("Cache hit rate: %zu of %zu playbacks (%.0f%%).\n", hits, shown, percent(hits, shown));
    fflush(stdout);
    return failed ? 1 : 0;
}

/* ---- set-up and teardown ---- */

static void set_flag(void *arg)
{
    *(bool *)arg = true;
}

static void teardown(struct play *a)
{
    if (a->player)
        player_close(a->player, set_flag, &a->player_closed);
    else
        a->player_closed = true;
    if (a->fetch)
        fetch_close(a->fetch, set_flag, &a->fetch_closed);
    else
        a->fetch_closed = true;
    while (!(a->player_closed && a->fetch_closed))
        uv_run(&a->loop, UV_RUN_ONCE);
    a->player = NULL;
    a->fetch = NULL;
    aout_free(a->out);
    cache_free(a->cache);
    if (a->client)
        svc_client_close(a->client);
    if (a->handles_ready) {
        uv_close((uv_handle_t *)&a->sigint, NULL);
        uv_close((uv_handle_t *)&a->sigterm, NULL);
        uv_close((uv_handle_t *)&a->status_timer, NULL);
    }
    if (a->loop_ready) {
        uv_run(&a->loop, UV_RUN_DEFAULT);
        if (uv_loop_close(&a->loop) != 0)
            fprintf(stderr, WHO ": internal error: handles left open on the loop\n");
    }
    tls_identity_free(a->identity);
    for (size_t i = 0; i < a->ntracks; i++) {
        free((char *)a->tracks[i].title);
        free((char *)a->tracks[i].artist);
        free((char *)a->tracks[i].album);
    }
    free(a->tracks);
    free(a->address);
    free(a->host);
    free(a->pin_path);
    chorus_env_close(&a->env);
}

/* service.key, when set, replaces trust on first contact. */
static int read_service_key(struct play *a)
{
    const char *hex = a->env.settings.service_key;
    if (!hex)
        return 0;
    if (tls_key_from_hex(hex, a->service_key) != 0) {
        fprintf(stderr,
                WHO ": service.key: expected the 64 hex digits chorusd serve prints, "
                    "got \"%s\"\n",
                hex);
        return -1;
    }
    a->has_service_key = true;
    return 0;
}

static int open_identity(struct play *a)
{
    int rc = paths_ensure(a->env.paths, PATHS_DATA);
    char *path = paths_file(a->env.paths, PATHS_DATA, IDENTITY_NAME);
    a->pin_path = paths_file(a->env.paths, PATHS_DATA, PIN_NAME);
    if (rc == 0)
        rc = tls_identity_load_or_create(path, &a->identity, NULL);
    if (rc < 0)
        fprintf(stderr, WHO ": cannot load or create the identity %s: %s\n", path,
                rc == TLS_EIO || rc == TLS_EKEYFILE || rc == TLS_ECRYPTO ? tls_strerror(rc)
                                                                         : strerror(-rc));
    free(path);
    return rc < 0 ? -1 : 0;
}

static int open_cache(struct play *a)
{
    const struct chorus_settings *s = &a->env.settings;
    const char *dir = s->cache_dir ? s->cache_dir : paths_dir(a->env.paths, PATHS_CACHE);
    struct cache_config cfg = {
        .dir = dir, .cap_bytes = s->cache_size, .loop = &a->loop, .log = a->env.log};
    int rc = cache_open(&cfg, &a->cache);
    if (rc < 0) {
        fprintf(stderr, WHO ": cannot open the cache %s: %s%s\n", dir, cache_strerror(rc),
                rc == CACHE_ELOCKED ? " (is another chorus running?)" : "");
        a->cache = NULL;
        return -1;
    }
    return 0;
}

static void print_queue(struct play *a)
{
    for (size_t i = 0; i < a->ntracks; i++) {
        char d[32];
        fmt_time(a->tracks[i].duration_ms > 0 ? a->tracks[i].duration_ms : -1, d, sizeof(d));
        printf("%3zu. %s \u2014 %s (%s) %s\n", i + 1, a->tracks[i].artist, a->tracks[i].title,
               a->tracks[i].album, d);
    }
    fflush(stdout);
}

/* From the queue to the end of playback. Returns the exit status. */
static int play_queue(struct play *a)
{
    const struct chorus_settings *s = &a->env.settings;
    struct aout_config oc = {.spec = s->audio_output, .fallback = true, .log = a->env.log};
    int rc = aout_open(&oc, &a->out);
    if (rc < 0) {
        fprintf(stderr, WHO ": cannot open the output '%s': %s\n", s->audio_output,
                aout_strerror(rc));
        a->out = NULL;
        return 1;
    }
    if (aout_notice(a->out))
        fprintf(stderr, WHO ": %s\n", aout_notice(a->out));
    struct fetch_config fc = {
        .loop = &a->loop, .client = a->client, .cache = a->cache, .log = a->env.log};
    if ((rc = fetch_new(&fc, &a->fetch)) < 0) {
        fprintf(stderr, WHO ": %s\n", fetch_strerror(rc));
        a->fetch = NULL;
        return 1;
    }
    struct player_config pc = {
        .loop = &a->loop,
        .cache = a->cache,
        .fetch = a->fetch,
        .out = a->out,
        .buffer_ms = (unsigned)s->audio_buffer_ms,
        .prebuffer_ms = (unsigned)s->audio_prebuffer_ms,
        .log = a->env.log,
        .on_event = on_player_event,
        .event_ctx = a,
    };
    if ((rc = player_new(&pc, &a->player)) < 0) {
        fprintf(stderr, WHO ": cannot start the decoder: %s\n", dec_strerror(rc));
        a->player = NULL;
        return 1;
    }
    a->last_plain = mono_ms();
    uv_timer_start(&a->status_timer, on_status_timer, STATUS_MS, STATUS_MS);
    give_next(a, true);
    give_next(a, false);
    if (!a->interrupted)
        uv_run(&a->loop, UV_RUN_DEFAULT);
    player_stop(a->player); /* after a signal: the heard track is kept as stopped */
    int status = print_summary(a);
    if (a->interrupted)
        printf("Stopped.\n");
    return status;
}

static int run(struct play *a, const char *user_opt, const char *pw_file, const char *query,
               size_t limit)
{
    const struct chorus_settings *s = &a->env.settings;
    a->address = xstrdup(s->service_address ? s->service_address : "127.0.0.1:4170");
    if (svc_address_parse(a->address, &a->host, &a->port) < 0) {
        fprintf(stderr, WHO ": service.address: expected HOST:PORT, got \"%s\"\n", a->address);
        return 2;
    }
    const char *user = user_opt ? user_opt : s->service_user ? s->service_user : getenv("USER");
    if (!user || !*user) {
        fprintf(stderr, WHO ": no user name: use --user or service.user in chorus.conf\n");
        return 2;
    }
    if (strlen(user) > WIRE_MAX_USER) {
        fprintf(stderr, WHO ": the user name is longer than %u bytes\n", WIRE_MAX_USER);
        return 2;
    }
    if (read_service_key(a) < 0)
        return 2;
    char *password = password_for_login(WHO, pw_file, user, a->address);
    if (!password)
        return 1;
    if (strlen(password) > WIRE_MAX_PASS) {
        fprintf(stderr, WHO ": the password is longer than %u bytes\n", WIRE_MAX_PASS);
        password_wipe(password);
        return 1;
    }
    /* libuv writes to sockets with write(): a service that hangs up must
     * not kill the player. */
    signal(SIGPIPE, SIG_IGN);
    if (open_identity(a) < 0) {
        password_wipe(password);
        return 1;
    }
    uv_loop_init(&a->loop);
    a->loop_ready = true;
    uv_signal_init(&a->loop, &a->sigint);
    uv_signal_init(&a->loop, &a->sigterm);
    uv_timer_init(&a->loop, &a->status_timer);
    a->sigint.data = a->sigterm.data = a->status_timer.data = a;
    uv_signal_start(&a->sigint, on_signal, SIGINT);
    uv_signal_start(&a->sigterm, on_signal, SIGTERM);
    a->handles_ready = true;
    a->tty = isatty(STDOUT_FILENO);

    int rc = open_cache(a) < 0 || connect_service(a) < 0 ? -1 : login(a, user, password);
    password_wipe(password);
    if (rc < 0 || find_tracks(a, query, limit) < 0)
        return a->interrupted ? 0 : 1;
    if (a->ntracks == 0) {
        if (query)
            fprintf(stderr, WHO ": no track matches \"%s\"\n", query);
        else
            fprintf(stderr, WHO ": the catalog at %s has no tracks\n", a->address);
        return 1;
    }
    print_queue(a);
    return play_queue(a);
}

int chorus_play_main(int argc, char **argv)
{
    static const struct option options[] = {
        {"service", required_argument, NULL, 's'},
        {"user", required_argument, NULL, 'u'},
        {"password-file", required_argument, NULL, 'p'},
        {"output", required_argument, NULL, 'O'},
        {"limit", required_argument, NULL, 'n'},
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *service = NULL, *user = NULL, *pw_file = NULL, *output = NULL;
    long limit = 0; /* 0: not given */
    bool all = false;
    int c;
    char *end;
    while ((c = getopt_long(argc, argv, "s:u:p:O:n:ah", options, NULL)) != -1) {
        switch (c) {
        case 's':
            service = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'p':
            pw_file = optarg;
            break;
        case 'O':
            output = optarg;
            break;
        case 'n':
            errno = 0;
            limit = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || limit < 1 || limit > (long)WIRE_MAX_ITEMS) {
                fprintf(stderr, WHO ": --limit wants 1 to %u, not '%s'\n", WIRE_MAX_ITEMS, optarg);
                return 2;
            }
            break;
        case 'a':
            all = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (all == (optind < argc)) {
        fprintf(stderr, WHO ": %s\n",
                all ? "--all plays everything: give no QUERY with it"
                    : "what to play? give a "
                      "QUERY or --all");
        usage(stderr);
        return 2;
    }
    char *query = NULL;
    for (int i = optind; i < argc; i++) {
        char *q = query ? xasprintf("%s %s", query, argv[i]) : xstrdup(argv[i]);
        free(query);
        query = q;
    }
    if (query && strlen(query) > WIRE_MAX_QUERY) {
        fprintf(stderr, WHO ": the query is longer than %u bytes\n", WIRE_MAX_QUERY);
        free(query);
        return 2;
    }

    struct play a;
    memset(&a, 0, sizeof(a));
    int status = chorus_env_open(&a.env, "play");
    if (status == 0 && service) {
        char *opt = xasprintf("service.address=%s", service);
        status = chorus_env_set(&a.env, "play", opt);
        free(opt);
    }
    if (status == 0 && output) {
        char *opt = xasprintf("audio.output=%s", output);
        status = chorus_env_set(&a.env, "play", opt);
        free(opt);
    }
    if (status == 0)
        status = run(&a, user, pw_file, query,
                     limit ? (size_t)limit
                     : all ? (size_t)WIRE_MAX_ITEMS
                           : DEFAULT_LIMIT);
    teardown(&a);
    free(query);
    return status;
}
