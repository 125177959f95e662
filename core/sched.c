/* sched: the download scheduler — which chunk is asked of which source,
 * and when (DESIGN §5; the numbers are in core/fetch.h). Per file:
 *
 *  - Discovery. When a file opens, its holders are looked up at the
 *    tracker (LOOKUP on the service link) and searched for among the
 *    neighbours (peers_search: FIND, two hops). Every holder named is
 *    connected to (peers_connect). Discovery has concluded once the
 *    tracker answered (or cannot be asked) and SCHED_SEARCH_WAIT_MS passed
 *    since the search. While no holder is linked it is tried again every
 *    SCHED_REDISCOVER_MS.
 *  - Modes. PEERS: at least one linked holder. DISCOVERING: none yet, and
 *    discovery has not concluded. COLD: discovery concluded and no holder
 *    is linked nor on its way (a cold miss: the service is the only
 *    source); a holder named in the last SCHED_CONNECT_WAIT_MS is on its
 *    way.
 *  - Peers fetch the whole file, unthrottled: missing chunks from the
 *    playhead on (then the ones before it) go, in batches of
 *    SCHED_PEER_BATCH, to the linked holder expected to deliver soonest
 *    (bytes asked and not received, plus the batch, over its measured
 *    rate), while it has less than SCHED_PEER_DEPTH_MS of its rate asked.
 *    Requests carry the file's priority and the time until the playhead
 *    reaches their first chunk as the deadline.
 *  - The service, when the player allows it (fetch_set_playhead): in
 *    DISCOVERING mode only the first SCHED_START_MS of audio from the
 *    playhead — what is needed until peers answer; in PEERS mode only
 *    chunks within SCHED_URGENT_MS of the playhead that no peer is
 *    bringing. DESIGN §5 caps the service at ~15 s ahead while peers hold
 *    the track; 3 s is that cap made tight, because every byte the service
 *    sends a track peers could serve is overhead over the cold-miss floor
 *    (DESIGN §5: a service filling its whole 15 s window adds ~3 points).
 *    In COLD mode the whole file, FETCH_WINDOW_CHUNKS in flight.
 *  - Too slow. A peer request older than twice its expected time (at
 *    least SCHED_LATE_MIN_MS) is late: its chunks within SCHED_URGENT_MS
 *    of the playhead are asked again of the service (or, without it, of
 *    the best other holder); a late request's other chunks go to another
 *    holder after SCHED_STALE_MS. Whichever copy arrives first is kept and
 *    the other single-chunk requests for it are cancelled.
 *  - A chunk the decoder waits for (sched_urgent) is asked at once: of the
 *    service when allowed, else of the best holder.
 *
 * Loop thread only. */
#include <string.h>

#include "fetch_internal.h"

#define DEFAULT_CHUNK_MS 800u /* 16 KiB at 160 kbit/s, until the player says */

enum mode { M_DISCOVERING, M_PEERS, M_COLD };

static uint64_t now_ms(const struct fetch *f)
{
    return uv_now(f->loop);
}

static uint32_t chunk_ms(const struct ffile *file)
{
    return file->chunk_ms ? file->chunk_ms : DEFAULT_CHUNK_MS;
}

/* Chunks covering ms of audio (at least one). */
static uint32_t chunks_for(const struct ffile *file, uint32_t ms)
{
    uint32_t n = ms / chunk_ms(file);
    return n ? n : 1;
}

static uint32_t clamp_end(const struct ffile *file, uint64_t end)
{
    return end > file->m->chunk_count ? file->m->chunk_count : (uint32_t)end;
}

/* The linked holder source of file, for each i; returns the count. */
static unsigned linked_holders(struct ffile *file, struct source **out, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < file->nholders && n < max; i++) {
        if (file->holders[i].gone)
            continue;
        struct source *s = source_of_key(file->f, file->holders[i].key);
        if (s && s->peer && !s->ban)
            out[n++] = s;
    }
    return n;
}

/* A holder was named lately and its link may still come up: until it
 * does (or SCHED_CONNECT_WAIT_MS pass), the miss is not cold — the service
 * would otherwise stream the whole file while the links are made. */
static bool holder_on_its_way(const struct ffile *file)
{
    uint64_t now = now_ms(file->f);
    for (unsigned i = 0; i < file->nholders; i++)
        if (!file->holders[i].gone && now - file->holders[i].named_ms < SCHED_CONNECT_WAIT_MS)
            return true;
    return false;
}

static enum mode file_mode(struct ffile *file, unsigned holders)
{
    if (holders)
        return M_PEERS;
    if (!file->f->peers || (file->discovered_ms && !holder_on_its_way(file)))
        return M_COLD;
    return M_DISCOVERING;
}

static uint32_t deadline_of(const struct ffile *file, uint32_t first)
{
    if (first < file->playhead)
        return 0;
    uint64_t ms = (uint64_t)(first - file->playhead) * chunk_ms(file);
    return ms > UINT32_MAX ? UINT32_MAX : (uint32_t)(ms ? ms : 1);
}

/* The holder expected to deliver bytes soonest that has room, or NULL;
 * never `except`. */
static struct source *best_peer(struct source **hs, unsigned n, uint64_t bytes,
                                const struct source *except)
{
    struct fetch *f = n ? hs[0]->f : NULL;
    struct source *best = NULL;
    uint64_t best_eta = 0;
    for (unsigned i = 0; i < n; i++) {
        struct source *s = hs[i];
        if (s == except || s->busy_until > now_ms(f))
            continue;
        uint64_t depth = s->rate * SCHED_PEER_DEPTH_MS / 1000u;
        uint64_t floor = (uint64_t)SCHED_PEER_BATCH * MANIFEST_CHUNK_SIZE;
        if (depth < floor)
            depth = floor;
        if (s->inflight >= depth)
            continue;
        uint64_t eta = source_eta_ms(s, bytes);
        if (!best || eta < best_eta) {
            best = s;
            best_eta = eta;
        }
    }
    return best;
}

/* A run of up to max missing chunks from first, within [first, end). */
static uint32_t missing_run(struct ffile *file, uint32_t first, uint32_t end, uint32_t max)
{
    uint32_t count = 0;
    while (count < max && first + count < end && download_missing(file, first + count))
        count++;
    return count;
}

/* Gives the missing chunks, playhead first, to the best holders. */
static void pump_peers(struct ffile *file, struct source **hs, unsigned n)
{
    uint32_t total = file->m->chunk_count;
    for (uint32_t k = 0; k < total; k++) {
        uint32_t i = (file->playhead + k) % total;
        if (!download_missing(file, i))
            continue;
        uint32_t end = i < file->playhead ? file->playhead : total;
        uint32_t count = missing_run(file, i, end, SCHED_PEER_BATCH);
        uint64_t bytes = 0;
        for (uint32_t j = i; j < i + count; j++)
            bytes += manifest_chunk_len(file->m, j);
        struct source *s = best_peer(hs, n, bytes, NULL);
        if (!s)
            return;
        if (!source_request(s, file, i, count, deadline_of(file, i)))
            s->busy_until = now_ms(file->f) + 1000u; /* cannot send: skip it a while */
        k += count - 1;
    }
}

/* Asks the service for the missing chunks in [from, end). */
static void pump_service(struct ffile *file, uint32_t from, uint32_t end)
{
    struct fetch *f = file->f;
    struct source *s = &f->service;
    if (!s->client || s->busy_until > now_ms(f))
        return;
    uint64_t window = (uint64_t)FETCH_WINDOW_CHUNKS * file->m->chunk_size;
    for (uint32_t i = from; i < end && s->inflight < window; i++) {
        if (!download_missing(file, i))
            continue;
        uint32_t count = missing_run(file, i, end, FETCH_REQUEST_CHUNKS);
        if (!source_request(s, file, i, count, 0))
            return;
        i += count - 1;
    }
}

void sched_pump(struct ffile *file)
{
    struct fetch *f = file->f;
    if (!file->ready || file->zombie || f->closing || file->complete)
        return;
    struct source *hs[FETCH_MAX_HOLDERS];
    unsigned n = linked_holders(file, hs, FETCH_MAX_HOLDERS);
    enum mode mode = file_mode(file, n);
    if (n)
        pump_peers(file, hs, n);
    if (!file->service_ok)
        return;
    uint32_t total = file->m->chunk_count;
    switch (mode) {
    case M_PEERS:
        pump_service(file, file->playhead,
                     clamp_end(file, (uint64_t)file->playhead + chunks_for(file, SCHED_URGENT_MS)));
        break;
    case M_DISCOVERING:
        pump_service(file, file->playhead,
                     clamp_end(file, (uint64_t)file->playhead + chunks_for(file, SCHED_START_MS)));
        break;
    case M_COLD:
        pump_service(file, file->playhead, total);
        pump_service(file, 0, file->playhead);
        break;
    }
    download_check_complete(file);
}

/* Asks chunk index (and a few after it) again, of the service when
 * allowed, else of the best holder other than `slow`. */
static void ask_now(struct ffile *file, uint32_t index, const struct source *slow, bool rerequest)
{
    struct fetch *f = file->f;
    struct source *hs[FETCH_MAX_HOLDERS];
    unsigned n = linked_holders(file, hs, FETCH_MAX_HOLDERS);
    uint32_t count = 1;
    if (file->st[index] == CH_MISSING) {
        uint32_t more = missing_run(file, index + 1, file->m->chunk_count, FETCH_URGENT_CHUNKS - 1);
        count += more;
    }
    struct source *s = NULL;
    if (file->service_ok && f->service.client && slow != &f->service)
        s = &f->service;
    else
        s = best_peer(hs, n, manifest_chunk_len(file->m, index), slow);
    if (!s)
        return;
    uint32_t deadline = s == &f->service ? FETCH_URGENT_DEADLINE_MS : deadline_of(file, index);
    if (!source_request(s, file, index, count, deadline))
        return;
    if (rerequest) {
        file->stats.rerequests++;
        f->st.rerequests++;
    } else {
        file->stats.urgent_requests++;
        f->st.urgent_requests++;
    }
}

void sched_refetch(struct ffile *file, uint32_t index, const struct source *not_from)
{
    if (file->ready && index < file->m->chunk_count && file->st[index] != CH_WRITING &&
        file->st[index] != CH_STORED)
        ask_now(file, index, not_from, true);
}

static bool is_late(const struct freq *r, uint64_t now)
{
    uint64_t limit = 2 * r->expect_ms;
    if (limit < SCHED_LATE_MIN_MS)
        limit = SCHED_LATE_MIN_MS;
    return now - r->sent_ms > limit;
}

void sched_urgent(struct ffile *file, uint32_t index, uint8_t prio)
{
    struct fetch *f = file->f;
    (void)prio;
    if (!file->ready || file->zombie || index >= file->m->chunk_count)
        return;
    file->playhead = index;
    switch (file->st[index]) {
    case CH_WRITING:
        return;
    case CH_STORED:
        if (cache_has_chunk(f->cache, &file->id, index))
            return;
        file->st[index] = CH_MISSING; /* the cache dropped it (found corrupt) */
        file->stats.chunks_stored--;
        file->complete = false;
        ask_now(file, index, NULL, true);
        return;
    case CH_ASKED: {
        struct freq *r = source_covering(file, index);
        if (r && !is_late(r, now_ms(f)))
            return; /* on its way */
        ask_now(file, index, r ? r->src : NULL, true);
        return;
    }
    default:
        ask_now(file, index, NULL, false);
        sched_pump(file);
    }
}

/* Late peer requests of file: their urgent chunks to the service (or
 * another holder), the rest to another holder once stale. */
static void resend_late(struct ffile *file)
{
    struct fetch *f = file->f;
    uint64_t now = now_ms(f);
    uint32_t urgent_end =
        clamp_end(file, (uint64_t)file->playhead + chunks_for(file, SCHED_URGENT_MS));
    for (struct source *s = f->sources; s; s = s->next) {
        for (struct freq *r = s->reqs; r; r = r->next) {
            if (r->file != file || r->cancelled || !is_late(r, now))
                continue;
            bool stale = now - r->sent_ms > SCHED_STALE_MS;
            for (uint32_t i = r->first; i < r->first + r->count; i++) {
                if (r->arrived & (1u << (i - r->first)) || file->st[i] != CH_ASKED)
                    continue;
                struct freq *newest = source_covering(file, i);
                if (newest && newest != r)
                    continue; /* asked again already */
                bool urgent = i >= file->playhead && i < urgent_end;
                if (urgent || stale)
                    ask_now(file, i, s, true);
            }
        }
    }
}

/* ---- discovery ---- */

static void discover(struct ffile *file, bool first)
{
    struct fetch *f = file->f;
    if (!f->peers)
        return;
    if (f->client && !file->lookup_rid) {
        file->lookup_rid = svc_client_lookup(f->client, file->id.bytes);
        if (file->lookup_rid)
            f->st.lookups++;
    }
    if (first)
        file->tracker_answered = !file->lookup_rid;
    peers_search(f->peers, file->id.bytes);
    f->st.searches++;
    file->search_ms = now_ms(f);
}

void sched_discover(struct ffile *file)
{
    if (!file->f->peers) {
        file->discovered_ms = now_ms(file->f);
        return;
    }
    file->discovered_ms = 0;
    discover(file, true);
}

void sched_add_holder(struct ffile *file, const struct wire_peer *h, bool via_search)
{
    struct fetch *f = file->f;
    for (unsigned i = 0; i < file->nholders; i++)
        if (memcmp(file->holders[i].key, h->key, TLS_KEY_LEN) == 0)
            return;
    if (file->nholders < FETCH_MAX_HOLDERS) {
        memcpy(file->holders[file->nholders].key, h->key, TLS_KEY_LEN);
        file->holders[file->nholders].gone = false;
        file->holders[file->nholders].named_ms = now_ms(f);
        file->nholders++;
    }
    if (via_search) {
        file->stats.found_search++;
        f->st.found_search++;
    } else {
        file->stats.found_tracker++;
        f->st.found_tracker++;
    }
    if (source_of_key(f, h->key))
        sched_pump(file);
    else if (f->peers)
        peers_connect(f->peers, h);
}

static struct ffile *file_of_lookup(struct fetch *f, uint32_t rid)
{
    struct ffile *lists[2] = {f->files, f->zombies};
    for (int l = 0; l < 2; l++)
        for (struct ffile *file = lists[l]; file; file = file->next)
            if (file->lookup_rid == rid)
                return file;
    return NULL;
}

bool sched_on_peers(struct fetch *f, struct wire_msg *m)
{
    struct ffile *file = m->rid ? file_of_lookup(f, m->rid) : NULL;
    if (!file)
        return false;
    file->lookup_rid = 0;
    file->tracker_answered = true;
    if (file->zombie)
        return true;
    for (uint32_t i = 0; i < m->u.peers.count; i++)
        if (memcmp(m->u.peers.file_id, file->id.bytes, CONTENT_ID_LEN) == 0)
            sched_add_holder(file, &m->u.peers.peers[i], false);
    return true;
}

void sched_holder_gone(struct ffile *file, const uint8_t key[TLS_KEY_LEN])
{
    for (unsigned i = 0; i < file->nholders; i++)
        if (memcmp(file->holders[i].key, key, TLS_KEY_LEN) == 0)
            file->holders[i].gone = true;
}

void sched_tick(struct fetch *f)
{
    uint64_t now = now_ms(f);
    for (struct ffile *file = f->files; file && !f->closing; file = file->next) {
        if (file->zombie || file->complete)
            continue;
        if (!file->discovered_ms && file->tracker_answered && file->search_ms &&
            now - file->search_ms >= SCHED_SEARCH_WAIT_MS)
            file->discovered_ms = now;
        struct source *hs[FETCH_MAX_HOLDERS];
        unsigned n = linked_holders(file, hs, FETCH_MAX_HOLDERS);
        if (!n && f->peers && file->search_ms && now - file->search_ms >= SCHED_REDISCOVER_MS)
            discover(file, false);
        if (file->ready) {
            resend_late(file);
            sched_pump(file);
        }
    }
}
