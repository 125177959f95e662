/* engine_p2p: the engine's part in the swarm — the peer manager wired to
 * the fetch, the links' shaping, the tracker announcements, and the P2P
 * figures of the snapshot. Everything on the engine's loop.
 *
 * Shaping (net/shaper.h): [p2p] upload_rate / download_rate cap the peer
 * links; tests and the benchmark give the engine an emulated access link
 * (engine_config.link_rtt_ms, link_rate): both directions of every link —
 * peer and service — share one uplink and one downlink shaper. A peer
 * link adds half the round trip on receipt at each end (both ends are
 * engines); the service link, whose far end does not shape, adds half on
 * sending and half on receipt.
 *
 * Announcements (DESIGN §5): when the service link comes up, the files the
 * cache holds completely, most recently played first, at most
 * ENGINE_ANNOUNCE_MAX; afterwards each file the cache completes, and a
 * withdrawal for each it evicts. Only an engine that accepts peers and
 * serves them announces: the tracker hands out only peers that listen.
 *
 * The peer manager's link cap is [p2p] max_connections (peers_config
 * .max_conns; the snapshot's peers_max reports it).
 *
 * A listen address that cannot be bound (the port is taken) is a warning,
 * not a failure: the engine plays and downloads without accepting peers;
 * a malformed one fails engine_new. */
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "engine_internal.h"

#define MOD "p2p"

static struct shaper *shaper_if(uint64_t rate)
{
    return rate ? shaper_new(rate) : NULL;
}

/* True when sh does anything: no shaping is no conn_set_shaping at all. */
static bool shapes(const struct conn_shaping *sh)
{
    return sh->send[0] || sh->send[1] || sh->recv[0] || sh->recv[1] || sh->send_delay_ms ||
           sh->recv_delay_ms;
}

const struct conn_shaping *engine_service_shaping(const struct engine *e)
{
    return shapes(&e->service_shaping) ? &e->service_shaping : NULL;
}

void engine_p2p_shape(struct engine *e, const struct engine_config *cfg,
                      const struct chorus_settings *s)
{
    e->emu_up = shaper_if(cfg->link_rate);
    e->emu_down = shaper_if(cfg->link_rate);
    e->cap_up = shaper_if(s->p2p_upload_rate);
    e->cap_down = shaper_if(s->p2p_download_rate);
    e->peer_shaping = (struct conn_shaping){
        .send = {e->emu_up, e->cap_up},
        .recv = {e->emu_down, e->cap_down},
        .recv_delay_ms = cfg->link_rtt_ms / 2,
    };
    e->service_shaping = (struct conn_shaping){
        .send = {e->emu_up},
        .recv = {e->emu_down},
        .send_delay_ms = cfg->link_rtt_ms / 2,
        .recv_delay_ms = cfg->link_rtt_ms - cfg->link_rtt_ms / 2,
    };
}

int engine_p2p_start(struct engine *e, const struct engine_config *cfg,
                     const struct chorus_settings *s, char **error)
{
    e->upload = s->p2p_upload;
    struct peers_config pc = {
        .loop = &e->loop,
        .log = e->log,
        .cache = e->cache,
        .identity = e->identity,
        .listen = s->p2p_listen,
        .upload = s->p2p_upload,
        .shaping = shapes(&e->peer_shaping) ? &e->peer_shaping : NULL,
        .corrupt_uploads = cfg->corrupt_uploads,
        .max_conns = s->p2p_max_connections,
    };
    fetch_peer_callbacks(e->fetch, &pc.cb, &pc.ctx);
    int rc = peers_new(&pc, &e->peers);
    if (rc == PEERS_ELISTEN) {
        /* The port is taken (another engine?): play and download anyway,
         * as every P2P client does, and say so. */
        clog_warn(e->log, MOD, "cannot accept peers on %s (see above): downloading only",
                  s->p2p_listen);
        pc.listen = NULL;
        rc = peers_new(&pc, &e->peers);
    }
    if (rc < 0) {
        e->peers = NULL;
        *error = xasprintf("cannot accept peers on %s: %s (set [p2p] listen, or off)",
                           s->p2p_listen ? s->p2p_listen : "?", peers_strerror(rc));
        return rc;
    }
    fetch_set_peers(e->fetch, e->peers);
    if (peers_listen_port(e->peers))
        clog_info(e->log, MOD, "accepting peers on %s", peers_listen_address(e->peers));
    else
        clog_info(e->log, MOD, "not accepting peers (listen off): downloading only");
    return 0;
}

void engine_p2p_free_shapers(struct engine *e)
{
    shaper_free(e->emu_up);
    shaper_free(e->emu_down);
    shaper_free(e->cap_up);
    shaper_free(e->cap_down);
    e->emu_up = e->emu_down = e->cap_up = e->cap_down = NULL;
}

static bool announces(const struct engine *e)
{
    return e->peers && e->upload && peers_listen_port(e->peers) && e->link &&
           svclink_client(e->link);
}

static void announce(struct engine *e, const struct content_id *ids, size_t n, bool withdraw)
{
    if (!announces(e) || n == 0)
        return;
    struct svc_client *c = svclink_client(e->link);
    uint16_t port = peers_listen_port(e->peers);
    for (size_t at = 0; at < n; at += WIRE_MAX_IDS) {
        size_t k = n - at < WIRE_MAX_IDS ? n - at : WIRE_MAX_IDS;
        uint8_t(*v)[WIRE_ID_LEN] = xmalloc(k * WIRE_ID_LEN);
        for (size_t i = 0; i < k; i++)
            memcpy(v[i], ids[at + i].bytes, WIRE_ID_LEN);
        svc_client_announce(c, port, (const uint8_t(*)[WIRE_ID_LEN])v, (uint32_t)k, withdraw);
        free(v);
    }
}

static int by_recent_play(const void *a, const void *b)
{
    const struct cache_file_info *x = a, *y = b;
    return x->last_played_ms < y->last_played_ms   ? 1
           : x->last_played_ms > y->last_played_ms ? -1
                                                   : 0;
}

/* Everything the cache holds completely, most recently played first. */
static void announce_holdings(struct engine *e)
{
    struct cache_file_info *files = NULL;
    size_t n = cache_list_files(e->cache, &files);
    qsort(files, n, sizeof(*files), by_recent_play);
    struct content_id *ids = xmalloc((n ? n : 1) * sizeof(*ids));
    size_t k = 0;
    for (size_t i = 0; i < n && k < ENGINE_ANNOUNCE_MAX; i++)
        if (files[i].complete)
            ids[k++] = files[i].id;
    announce(e, ids, k, false);
    if (k)
        clog_info(e->log, MOD, "announced %zu complete files to the tracker", k);
    free(ids);
    free(files);
}

void engine_p2p_link(struct engine *e, struct svc_client *client)
{
    if (!e->peers)
        return;
    if (!client) {
        peers_set_ticket(e->peers, NULL, 0, NULL);
        return;
    }
    size_t len = 0;
    uint64_t expires = 0;
    const uint8_t *ticket = svc_client_ticket(client, &len, &expires);
    uint8_t key[TLS_KEY_LEN];
    if (!ticket || !svc_client_service_key(client, key))
        return;
    peers_set_ticket(e->peers, ticket, len, key);
    announce_holdings(e);
}

void engine_on_cache_event(void *ctx, enum cache_event ev, const struct content_id *id)
{
    struct engine *e = ctx;
    if (e->stopping)
        return;
    engine_keep_on_cache_event(e, ev, id);
    if (ev == CACHE_EV_COMPLETE)
        announce(e, id, 1, false);
    else
        announce(e, id, 1, true); /* evicted, or lost a chunk: it serves it no more */
}

void engine_p2p_snapshot(struct engine *e, struct mq_snapshot *s)
{
    s->peers_max = PEERS_MAX_CONNS;
    s->upload_slots_max = PEERS_UPLOAD_SLOTS;
    if (!e->peers)
        return;
    struct peers_stats ps;
    peers_get_stats(e->peers, &ps);
    s->peers_connected = (int)ps.links;
    s->peers_max = (int)ps.max_links; /* [p2p] max_connections */
    s->upload_slots_used = (int)ps.slots_used;
    s->uploaded = ps.bytes_up;
    snprintf(s->p2p_listen, sizeof(s->p2p_listen), "%s", peers_listen_address(e->peers));
    s->nconns = (int)peers_conn_table(e->peers, s->conns, MQ_MAX_CONNS);
    uint64_t up = 0, down = 0;
    for (int i = 0; i < s->nconns; i++) {
        up += s->conns[i].rate_up;
        down += s->conns[i].rate_down;
    }
    s->rate_up_bps = up;
    s->rate_down_bps = down;
    s->chunks_served = ps.chunks_served;
    s->busy_replies = ps.busy_replies;
}
