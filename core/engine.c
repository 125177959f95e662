/* engine: one player core on a thread of its own (see core/engine.h).
 *
 * Owns its uv_loop and everything on it: the message queue's core side,
 * chorus.db, the chunk cache, the identity, the audio output, the fetch,
 * the player, the service link, the remote socket, the play queue and a
 * 100 ms tick that publishes the snapshot (only when it changed) and saves
 * the position every few seconds. Commands (core/cmd.h) arrive from the
 * mq or the remote socket and run here, in engine_cmd.c; the player state
 * machine (what plays next) is in engine_play.c, the playlists kept
 * offline in engine_keep.c; this file is lifetime, wiring and the
 * snapshot.
 *
 * It must never block its loop on the network (the service link resolves
 * and connects asynchronously) and never touch its state from another
 * thread: engine_send goes through the mq, engine_stop through it too. */
#include "engine_internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/fsutil.h"
#include "base/xmalloc.h"
#include "core/errors.h"

#define TICK_MS          100u  /* snapshot at most MQ_SNAPSHOT_HZ times a second */
#define SAVE_POSITION_MS 5000u /* the resume point in chorus.db */
#define IDENTITY_NAME    "identity.key"
#define PIN_NAME         "service.pin"
#define OWNER_NAME       "engine.socket" /* in the cache dir: the running engine's socket */
#define DEFAULT_ADDRESS  "127.0.0.1:4170"

const char *engine_strerror(int err)
{
    switch (err) {
    case ENGINE_ERUNNING:
        return "another engine is running on this cache directory";
    case ENGINE_EINVAL:
        return "the engine's configuration is not usable";
    case ENGINE_ESTOPPED:
        return "the engine has stopped";
    default:
        return "unknown engine error";
    }
}

/* ---- the snapshot ---- */

static void copy_text(char *dst, const char *src)
{
    size_t n = strlen(src ? src : "");
    if (n >= MQ_TEXT_MAX) {
        n = MQ_TEXT_MAX - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--; /* cut on a UTF-8 boundary */
    }
    memcpy(dst, src ? src : "", n);
    dst[n] = 0;
}

void engine_track_info(const struct clientdb_track *t, struct mq_track *out)
{
    memset(out, 0, sizeof(*out));
    out->id = t->id;
    copy_text(out->title, t->title);
    copy_text(out->artist, t->artist);
    copy_text(out->album, t->album);
    out->duration_ms = t->duration_ms;
}

/* Where chunk i of the playing file came from, as a map cell mark. */
static uint8_t chunk_mark(struct engine *e, uint32_t i)
{
    switch (player_chunk_source(e->player, e->cur_tag, i)) {
    case FETCH_CH_CACHE:
        return MQ_CHUNK_CACHE;
    case FETCH_CH_PEER:
        return MQ_CHUNK_PEER;
    case FETCH_CH_SERVICE:
        return MQ_CHUNK_SERVICE;
    default: /* the player let the file go: what was there at the start was cached */
        return e->cur.map_at_open && i < e->cur.map_count &&
                       (e->cur.map_at_open[i / 8] & (1u << (i % 8)))
                   ? MQ_CHUNK_CACHE
                   : MQ_CHUNK_SERVICE;
    }
}

/* The chunk map of the playing file: a cell is missing when any of its
 * chunks is, else marked by the farthest source of its chunks (cache <
 * peers < service). */
static void fill_chunk_map(struct engine *e, struct mq_snapshot *s)
{
    s->chunk_count = s->ncells = s->chunks_per_cell = 0;
    if (!e->cur.track.has_file)
        return;
    uint8_t *bits = NULL;
    uint32_t count = 0;
    if (cache_chunk_map(e->cache, &e->cur.track.file, &bits, &count) < 0)
        return;
    uint32_t per = (count + MQ_MAX_CELLS - 1) / MQ_MAX_CELLS;
    if (per == 0)
        per = 1;
    s->chunk_count = count;
    s->chunks_per_cell = per;
    s->ncells = (count + per - 1) / per;
    for (uint32_t c = 0; c < s->ncells; c++) {
        uint8_t mark = MQ_CHUNK_MISSING;
        for (uint32_t i = c * per; i < (c + 1) * per && i < count; i++) {
            if (!(bits[i / 8] & (1u << (i % 8)))) {
                mark = MQ_CHUNK_MISSING;
                break;
            }
            uint8_t m = chunk_mark(e, i);
            if (m > mark)
                mark = m;
        }
        s->cells[c] = mark;
    }
    if (s->duration_ms > 0)
        s->playhead_chunk =
            (uint32_t)((uint64_t)count * (uint64_t)s->position_ms / (uint64_t)s->duration_ms);
    free(bits);
}

static void build_snapshot(struct engine *e, struct mq_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->state = e->state;
    if (e->cur.valid) {
        s->has_track = true;
        s->track = e->cur.info;
        s->duration_ms = e->cur.info.duration_ms;
    }
    if (e->state == MQ_PLAYING || e->state == MQ_BUFFERING || e->state == MQ_PAUSED) {
        struct player_status ps;
        player_get_status(e->player, &ps);
        if (ps.state != PLAYER_DONE && ps.tag == e->cur_tag) {
            s->position_ms = ps.position_ms;
            s->buffered_ahead_ms = ps.buffered_ms;
            if (ps.duration_ms > 0)
                s->duration_ms = ps.duration_ms;
            if (e->state != MQ_PAUSED)
                s->state = ps.state == PLAYER_PLAYING ? MQ_PLAYING : MQ_BUFFERING;
            s->track_found_tracker = ps.file.found_tracker;
            s->track_found_search = ps.file.found_search;
        } else {
            s->position_ms = e->cur.start_ms;
        }
    } else if (e->cur.valid) {
        s->position_ms = e->cur.start_ms; /* a restored resume point */
    }
    /* a seek past the end reads as the end until the next track starts */
    if (s->duration_ms > 0 && s->position_ms > s->duration_ms)
        s->position_ms = s->duration_ms;
    s->volume_percent = e->volume;
    s->repeat = queue_repeat(e->queue);
    s->shuffle = queue_shuffle(e->queue);
    s->queue_pos = queue_cursor(e->queue);
    s->queue_len = queue_len(e->queue);
    s->service = svclink_state(e->link);
    s->service_since = svclink_since(e->link);
    struct cache_stats cs;
    cache_stats(e->cache, &cs);
    uint64_t heard[FETCH_CH_COUNT], plays[FETCH_CH_COUNT];
    player_heard(e->player, heard, plays);
    s->bytes_from_cache = heard[FETCH_CH_CACHE];
    s->bytes_from_peers = heard[FETCH_CH_PEER];
    s->bytes_from_service = heard[FETCH_CH_SERVICE];
    s->playbacks_from_cache = plays[FETCH_CH_CACHE];
    s->playbacks_from_peers = plays[FETCH_CH_PEER];
    s->playbacks_from_service = plays[FETCH_CH_SERVICE];
    s->cache_hits = cs.play_hits - e->base.play_hits;
    s->cache_misses = cs.play_misses - e->base.play_misses;
    s->cache_used = cs.used_bytes;
    s->cache_evicted_files = cs.evicted_files - e->base.evicted_files;
    s->cache_corrupt_chunks = cs.corrupt_chunks - e->base.corrupt_chunks;
    s->cache_cap = cs.cap_bytes;
    struct fetch_stats fs;
    fetch_get_stats(e->fetch, &fs);
    s->downloaded_service = fs.bytes_service;
    s->downloaded_peers = fs.bytes_peers;
    s->found_tracker = fs.found_tracker;
    s->found_search = fs.found_search;
    s->chunks_rejected = fs.bad_chunks;
    s->peers_banned = fs.peers_banned;
    engine_p2p_snapshot(e, s);
    fill_chunk_map(e, s);
}

static void on_tick(uv_timer_t *t)
{
    struct engine *e = t->data;
    struct mq_snapshot *s = xmalloc(sizeof(*s));
    build_snapshot(e, s);
    if (memcmp(s, &e->snap, sizeof(*s)) != 0) {
        e->snap = *s;
        mq_publish_snapshot(e->mq, s);
        if (e->remote)
            remote_notify(e->remote);
    }
    free(s);
    engine_keep_pump(e); /* downloads wait while a track buffers */
    if (svclink_state(e->link) == MQ_SERVICE_OFFLINE)
        /* a track opened offline that only the service can unlock fails
         * now, saying why, instead of waiting for a link */
        fetch_fail_unready(e->fetch, FETCH_ENOKEY);
    uint64_t now = uv_now(&e->loop);
    if (e->state != MQ_STOPPED && now - e->saved_at >= SAVE_POSITION_MS) {
        e->saved_at = now;
        engine_save_position(e);
    }
}

static void remote_snapshot(void *ctx, struct mq_snapshot *out)
{
    struct engine *e = ctx;
    build_snapshot(e, out);
}

void engine_current_snapshot(struct engine *e, struct mq_snapshot *out)
{
    build_snapshot(e, out);
}

/* ---- the service link ---- */

static void on_link(void *ctx, enum mq_service_state state, struct svc_client *client,
                    const char *why)
{
    struct engine *e = ctx;
    fetch_set_client(e->fetch, client);
    engine_p2p_link(e, client);
    if (state == MQ_SERVICE_OFFLINE)
        /* What cannot play without the service fails now rather than
         * waiting for a link that may not come back for a minute. */
        fetch_fail_unready(e->fetch, FETCH_ENOKEY);
    mq_post_event(e->mq, mq_msg_new_num(MQ_EV_SERVICE, state, 0));
    if (client)
        engine_keep_sync(e); /* what could not be fetched offline */
    if (why && state == MQ_SERVICE_OFFLINE)
        clog_info(e->log, "engine", "service offline: %s", why);
}

static bool lookup_file(void *ctx, const struct content_id *id, uint8_t **manifest, size_t *len,
                        struct content_key *key)
{
    struct engine *e = ctx;
    return clientdb_get_file(e->db, id, manifest, manifest ? len : NULL, key) == 0;
}

/* ---- commands from the mq ---- */

static void on_command(void *ctx, struct mq_msg *msg)
{
    struct engine *e = ctx;
    switch (msg->type) {
    case MQ_CMD_QUIT:
        engine_begin_stop(e);
        break;
    case MQ_CMD_PING:
        mq_post_event(e->mq, mq_msg_new_num(MQ_EV_PONG, msg->u.num.a, 0));
        break;
    case MQ_CMD_RUN: {
        struct cmd *c = msg->u.blob.ptr;
        msg->u.blob.ptr = NULL; /* ownership goes to the handler */
        engine_exec(e, c);
        break;
    }
    default:
        break;
    }
    mq_msg_free(msg);
}

static void remote_exec(void *ctx, struct cmd *c)
{
    engine_exec(ctx, c);
}

/* ---- lifetime ---- */

static void part_closed(void *arg)
{
    struct engine *e = arg;
    e->parts_open--;
}

static void handle_closed(uv_handle_t *h)
{
    part_closed(h->data);
}

/* Closes every part, in order: nothing new comes in, the player stops
 * (joining the decoder), downloads end, the link goes. The loop then runs
 * dry and engine_run returns. */
void engine_begin_stop(struct engine *e)
{
    if (e->stopping)
        return;
    e->stopping = true;
    clog_info(e->log, "engine", "stopping");
    engine_save_position(e);
    mq_post_event(e->mq, mq_msg_new(MQ_EV_QUITTING));
    if (e->remote) {
        e->parts_open++;
        remote_close(e->remote, part_closed, e);
        e->remote = NULL;
    }
    engine_keep_stop(e);
    e->parts_open += 4;
    player_close(e->player, part_closed, e);
    fetch_close(e->fetch, part_closed, e);
    if (e->peers) {
        e->parts_open++;
        peers_close(e->peers, part_closed, e);
        e->peers = NULL;
    }
    svclink_close(e->link, part_closed, e);
    uv_close((uv_handle_t *)&e->tick, handle_closed);
    mq_close(e->mq);
}

static void *engine_run(void *arg)
{
    struct engine *e = arg;
    uv_run(&e->loop, UV_RUN_DEFAULT);
    /* Anything left (cache callbacks, closes) finishes here. */
    while (e->parts_open > 0 || cache_pending(e->cache) > 0)
        uv_run(&e->loop, UV_RUN_ONCE);
    pthread_mutex_lock(&e->lock);
    e->done = true;
    pthread_cond_broadcast(&e->cond);
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

static char *resolve_dir(const char *given, const char *setting, const struct paths *p,
                         enum paths_kind kind)
{
    if (given)
        return xstrdup(given);
    if (setting)
        return xstrdup(setting);
    return p ? xstrdup(paths_dir(p, kind)) : NULL;
}

char *engine_running_socket(const char *cache_dir)
{
    char *path = xasprintf("%s/%s", cache_dir, OWNER_NAME);
    size_t len = 0;
    uint8_t *data = NULL;
    int rc = fs_read_file(path, 4096, &data, &len);
    free(path);
    if (rc < 0)
        return NULL;
    char *text = xstrndup((const char *)data, len);
    free(data);
    text[strcspn(text, "\n")] = 0;
    return text;
}

static void record_owner(struct engine *e)
{
    char *path = xasprintf("%s/%s", e->cache_dir, OWNER_NAME);
    fs_write_atomic(path, e->socket_path, strlen(e->socket_path), 0600);
    free(path);
}

static int fail_new(struct engine *e, int rc, char **error, char *msg)
{
    clog_error(e->log, "engine", "%s", msg);
    if (error)
        *error = msg;
    else
        free(msg);
    engine_free_parts(e);
    return rc;
}

static int open_link(struct engine *e, const struct chorus_settings *s)
{
    struct clientdb_login login = {0};
    bool have_login = clientdb_get_login(e->db, &login) == 0;
    const char *address = s->service_address            ? s->service_address
                          : have_login && login.address ? login.address
                                                        : DEFAULT_ADDRESS;
    uint8_t key[TLS_KEY_LEN];
    bool has_key = s->service_key && tls_key_from_hex(s->service_key, key) == 0;
    char *pin = xasprintf("%s/%s", e->data_dir, PIN_NAME);
    struct svclink_config lc = {
        .loop = &e->loop,
        .log = e->log,
        .identity = e->identity,
        .address = address,
        .service_key = has_key ? key : NULL,
        .pin_file = pin,
        .user = have_login ? login.user : NULL,
        .credential = have_login ? login.credential : NULL,
        .credential_len = have_login ? login.credential_len : 0,
        .on_state = on_link,
        .ctx = e,
        .shaping = engine_service_shaping(e),
    };
    int rc = svclink_new(&lc, &e->link);
    free(pin);
    clientdb_login_clear(&login);
    return rc;
}

int engine_new(const struct engine_config *cfg, struct engine **out, char **error)
{
    const struct chorus_settings *s = cfg->settings;
    struct engine *e = xcalloc(1, sizeof(*e));
    e->log = cfg->log;
    e->report_playbacks = cfg->report_playbacks;
    e->volume = 100;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->cond, NULL);
    e->data_dir = resolve_dir(cfg->data_dir, NULL, cfg->paths, PATHS_DATA);
    e->cache_dir = resolve_dir(cfg->cache_dir, s->cache_dir, cfg->paths, PATHS_CACHE);
    if (!e->data_dir || !e->cache_dir)
        return fail_new(e, ENGINE_EINVAL, error, xstrdup("no data or cache directory"));
    e->socket_path =
        cfg->remote_socket ? xstrdup(cfg->remote_socket) : remote_default_path(s->remote_socket);
    /* libuv writes to sockets with write(): a peer that hangs up must not
     * kill the process (process-wide, and harmless to set again). */
    signal(SIGPIPE, SIG_IGN);

    int rc = fs_mkdir_p(e->data_dir, 0700);
    if (rc < 0)
        return fail_new(e, rc, error, xasprintf("cannot make %s: %s", e->data_dir, strerror(-rc)));
    uv_loop_init(&e->loop);
    e->loop_ready = true;

    struct cache_config cc = {.dir = e->cache_dir,
                              .cap_bytes = s->cache_size,
                              .verify_every_read = cfg->verify_every_read,
                              .max_open_files = s->cache_max_open_files,
                              .loop = &e->loop,
                              .log = e->log,
                              .on_event = engine_on_cache_event,
                              .event_ctx = e};
    if ((rc = cache_open(&cc, &e->cache)) < 0) {
        e->cache = NULL;
        if (rc == CACHE_ELOCKED) {
            char *other = engine_running_socket(e->cache_dir);
            char *msg =
                xasprintf("an engine is already running on %s%s%s", e->cache_dir,
                          other ? "; reach it with chorus remote -S " : "", other ? other : "");
            free(other);
            return fail_new(e, ENGINE_ERUNNING, error, msg);
        }
        return fail_new(
            e, rc, error,
            xasprintf("cannot open the cache %s: %s", e->cache_dir, cache_strerror(rc)));
    }
    cache_stats(e->cache, &e->base);

    char *db_path = xasprintf("%s/%s", e->data_dir, CLIENTDB_FILE_NAME);
    rc = clientdb_open(db_path, e->log, &e->db);
    if (rc < 0) {
        e->db = NULL;
        char *msg = xasprintf("cannot open %s: %s", db_path, clientdb_strerror(rc));
        free(db_path);
        return fail_new(e, rc, error, msg);
    }
    free(db_path);

    char *id_path = xasprintf("%s/%s", e->data_dir, IDENTITY_NAME);
    rc = tls_identity_load_or_create(id_path, &e->identity, NULL);
    if (rc < 0) {
        e->identity = NULL;
        char *msg =
            xasprintf("cannot load or create the identity %s: %s", id_path, tls_strerror(rc));
        free(id_path);
        return fail_new(e, rc, error, msg);
    }
    free(id_path);

    struct aout_config oc = {.spec = s->audio_output, .fallback = true, .log = e->log};
    if ((rc = aout_open(&oc, &e->out)) < 0) {
        e->out = NULL;
        return fail_new(
            e, rc, error,
            xasprintf("cannot open the output '%s': %s", s->audio_output, aout_strerror(rc)));
    }
    if (aout_notice(e->out))
        clog_warn(e->log, "engine", "%s", aout_notice(e->out));

    e->mq = mq_new(&e->loop, on_command, e, &rc);
    if (!e->mq)
        return fail_new(e, rc, error,
                        xasprintf("cannot make the message queue: %s", uv_strerror(rc)));
    engine_p2p_shape(e, cfg, s);
    if (open_link(e, s) < 0)
        return fail_new(e, ENGINE_EINVAL, error,
                        xasprintf("service.address: expected HOST:PORT, got \"%s\"",
                                  s->service_address ? s->service_address : "?"));
    struct fetch_config fc = {.loop = &e->loop,
                              .cache = e->cache,
                              .log = e->log,
                              .on_other = svclink_on_other,
                              .other_arg = e->link,
                              .lookup = lookup_file,
                              .lookup_ctx = e};
    if ((rc = fetch_new(&fc, &e->fetch)) < 0)
        return fail_new(e, rc, error, xasprintf("cannot start downloads: %s", fetch_strerror(rc)));
    char *why = NULL;
    if ((rc = engine_p2p_start(e, cfg, s, &why)) < 0)
        return fail_new(e, rc, error, why);
    struct player_config pc = {
        .loop = &e->loop,
        .cache = e->cache,
        .fetch = e->fetch,
        .out = e->out,
        .buffer_ms = (unsigned)s->audio_buffer_ms,
        .prebuffer_ms = (unsigned)s->audio_prebuffer_ms,
        .log = e->log,
        .on_event = engine_on_player,
        .event_ctx = e,
    };
    if ((rc = player_new(&pc, &e->player)) < 0)
        return fail_new(e, rc, error, xasprintf("cannot start the decoder: %s", dec_strerror(rc)));
    e->queue = queue_new(cfg->seed ? cfg->seed : (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)e);
    engine_restore(e);
    engine_keep_sync(e); /* pins now; downloads once the link is up */

    if (*e->socket_path) {
        struct remote_config rcfg = {
            .loop = &e->loop,
            .path = e->socket_path,
            .log = e->log,
            .parse = cmd_parse_argv,
            .error_text = chorus_strerror,
            .exec = remote_exec,
            .exec_ctx = e,
            .snapshot = remote_snapshot,
            .snapshot_ctx = e,
        };
        if ((rc = remote_listen(&rcfg, &e->remote)) < 0) {
            e->remote = NULL;
            return fail_new(e, rc == REMOTE_ERUNNING ? ENGINE_ERUNNING : rc, error,
                            xasprintf("cannot listen on %s: %s", e->socket_path,
                                      rc == REMOTE_ERUNNING ? "an engine answers there already"
                                                            : remote_strerror(rc)));
        }
        record_owner(e);
    }
    uv_timer_init(&e->loop, &e->tick);
    e->tick.data = e;
    uv_timer_start(&e->tick, on_tick, TICK_MS, TICK_MS);
    if ((rc = pthread_create(&e->thread, NULL, engine_run, e)) != 0)
        return fail_new(e, -rc, error,
                        xasprintf("cannot start the engine thread: %s", strerror(rc)));
    e->thread_started = true;
    clog_info(e->log, "engine", "started: data %s, cache %s, socket %s, output %s", e->data_dir,
              e->cache_dir, *e->socket_path ? e->socket_path : "(none)", aout_name(e->out));
    *out = e;
    return 0;
}

/* Releases what engine_new opened when it failed before the thread ran:
 * the parts are closed on the loop, run here to completion. */
void engine_free_parts(struct engine *e)
{
    if (e->loop_ready) {
        if (e->player)
            e->parts_open++, player_close(e->player, part_closed, e);
        if (e->fetch)
            e->parts_open++, fetch_close(e->fetch, part_closed, e);
        if (e->peers)
            e->parts_open++, peers_close(e->peers, part_closed, e);
        if (e->link)
            e->parts_open++, svclink_close(e->link, part_closed, e);
        if (e->mq)
            mq_close(e->mq);
        while (e->parts_open > 0 || (e->cache && cache_pending(e->cache) > 0))
            uv_run(&e->loop, UV_RUN_ONCE);
        if (e->mq)
            mq_free(e->mq);
        cache_free(e->cache);
        uv_run(&e->loop, UV_RUN_DEFAULT);
        uv_loop_close(&e->loop);
    }
    engine_p2p_free_shapers(e); /* after every connection that used them */
    queue_free(e->queue);
    engine_keep_free(e);
    clientdb_close(e->db);
    aout_free(e->out);
    tls_identity_free(e->identity);
    free(e->data_dir);
    free(e->cache_dir);
    free(e->socket_path);
    clientdb_track_clear(&e->cur.track);
    free(e->cur.map_at_open);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->cond);
    free(e);
}

int engine_send(struct engine *e, struct cmd *c)
{
    if (mq_send_command(e->mq, mq_msg_new_blob(MQ_CMD_RUN, c, (void (*)(void *))cmd_free)) == 0)
        return 0;
    return ENGINE_ESTOPPED; /* the message and the command were freed */
}

struct mq *engine_mq(struct engine *e)
{
    return e->mq;
}

void engine_stop(struct engine *e)
{
    mq_send_command(e->mq, mq_msg_new(MQ_CMD_QUIT));
}

bool engine_stopped(struct engine *e)
{
    pthread_mutex_lock(&e->lock);
    bool done = e->done;
    pthread_mutex_unlock(&e->lock);
    return done;
}

void engine_wait(struct engine *e)
{
    pthread_mutex_lock(&e->lock);
    while (!e->done)
        pthread_cond_wait(&e->cond, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

void engine_free(struct engine *e)
{
    if (!e)
        return;
    if (e->thread_started) {
        engine_stop(e);
        pthread_join(e->thread, NULL);
        e->thread_started = false;
        mq_free(e->mq);
        e->mq = NULL;
        e->player = NULL;
        e->fetch = NULL;
        e->link = NULL;
        char *owner = xasprintf("%s/%s", e->cache_dir, OWNER_NAME);
        unlink(owner);
        free(owner);
    }
    engine_free_parts(e);
}

const char *engine_socket(const struct engine *e)
{
    return e->socket_path;
}
