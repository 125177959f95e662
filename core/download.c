/* download: one file's chunks — which are missing, asked, being written
 * or stored, and where each came from — and their writes into the cache
 * (see fetch_internal.h). Every chunk is checked against the manifest
 * before it is written (the cache checks again): a peer's bad chunk marks
 * the peer for a ban, carried out by whoever handed the chunk in once it
 * is done with the source. Loop thread
 * only; never blocks (writes go through cache_write_async). */
#include <stdlib.h>
#include <string.h>

#include "fetch_internal.h"
#include "base/xmalloc.h"

struct wctx {
    struct ffile *file;
    uint32_t index;
    uint32_t len;
    enum cache_source kind;
};

void download_init(struct ffile *file)
{
    struct fetch *f = file->f;
    uint32_t n = file->m->chunk_count;
    file->st = xcalloc(n, 1);
    file->src = xcalloc(n, 1);
    uint8_t *bits = NULL;
    uint32_t count = 0;
    if (cache_chunk_map(f->cache, &file->id, &bits, &count) == 0) {
        for (uint32_t i = 0; i < n && i < count; i++) {
            if (bits[i / 8] & (1u << (i % 8))) {
                file->st[i] = CH_STORED;
                file->src[i] = FETCH_CH_CACHE;
                file->stats.chunks_cached++;
                file->stats.bytes_cached += manifest_chunk_len(file->m, i);
            }
        }
    }
    free(bits);
    file->stats.file_size = file->m->file_size;
    file->stats.chunk_count = n;
    file->stats.chunks_stored = file->stats.chunks_cached;
}

bool download_missing(struct ffile *file, uint32_t i)
{
    if (file->st[i] != CH_MISSING)
        return false;
    if (cache_has_chunk(file->f->cache, &file->id, i)) {
        file->st[i] = CH_STORED; /* stored by someone else meanwhile */
        file->src[i] = FETCH_CH_CACHE;
        file->stats.chunks_stored++;
        return false;
    }
    return true;
}

void download_check_complete(struct ffile *file)
{
    if (!file->ready || file->complete || file->zombie ||
        file->stats.chunks_stored < file->m->chunk_count)
        return;
    file->complete = true;
    char sid[13];
    fetch_id_short(&file->id, sid);
    clog_info(file->f->log, MOD,
              "%s: complete: %u chunks, %u were cached, %u from peers, %u from the service "
              "(%u requests, %u urgent, %u refused) in %llu ms",
              sid, file->m->chunk_count, file->stats.chunks_cached, file->stats.chunks_peers,
              file->stats.chunks_service, file->stats.requests, file->stats.urgent_requests,
              file->stats.bad_chunks,
              (unsigned long long)(uv_now(file->f->loop) - file->opened_ms));
    struct fetch_event ev;
    fetch_fill_event(file, &ev, FETCH_EV_COMPLETE);
    fetch_deliver_event(file, &ev, NULL);
}

/* A chunk that is not the manifest's: counted; the file fails after too
 * many (a service that keeps sending garbage), a peer is cut off. */
static void refused(struct ffile *file, uint32_t index, enum cache_source kind)
{
    struct fetch *f = file->f;
    char sid[13];
    fetch_id_short(&file->id, sid);
    file->stats.bad_chunks++;
    f->st.bad_chunks++;
    clog_warn(f->log, MOD, "%s: chunk %u from the %s does not match the manifest: refused", sid,
              index, kind == CACHE_SRC_PEER ? "peer" : "service");
    if (kind == CACHE_SRC_SERVICE && file->stats.bad_chunks >= FETCH_MAX_BAD_CHUNKS)
        fetch_fail(file, FETCH_EBADDATA);
}

/* A refused chunk is asked again at once, of someone else than from when
 * that was a peer. */
static void refetch(struct ffile *file, uint32_t index, const struct source *from)
{
    if (!file->zombie)
        sched_refetch(file, index, from && from->kind == CACHE_SRC_PEER ? from : NULL);
}

static void write_done(void *ctx, int status)
{
    struct wctx *w = ctx;
    struct ffile *file = w->file;
    struct fetch *f = file->f;
    file->pending--;
    f->pending--;
    if (!file->zombie) {
        if (status == 0) {
            file->st[w->index] = CH_STORED;
            file->stats.chunks_stored++;
            if (w->kind == CACHE_SRC_SERVICE) {
                file->src[w->index] = FETCH_CH_SERVICE;
                file->stats.chunks_service++;
                file->stats.bytes_service += w->len;
                f->st.bytes_service += w->len;
            } else {
                file->src[w->index] = FETCH_CH_PEER;
                file->stats.chunks_peers++;
                file->stats.bytes_peers += w->len;
                f->st.bytes_peers += w->len;
            }
            f->st.chunks_received++;
            f->st.bytes_received += w->len;
        } else if (status == CACHE_EBADCHUNK) {
            file->st[w->index] = CH_MISSING;
            refused(file, w->index, w->kind);
            refetch(file, w->index, NULL);
        } else {
            file->st[w->index] = CH_MISSING;
            fetch_fail(file, status);
        }
        if (!file->zombie) {
            download_check_complete(file);
            sched_pump(file);
        }
    }
    free(w);
    fetch_reap(f);
    fetch_maybe_finish_close(f);
}

bool download_take(struct ffile *file, uint32_t index, const uint8_t *data, size_t len,
                   struct source *src)
{
    struct fetch *f = file->f;
    if (!file->ready || file->zombie || f->closing || index >= file->m->chunk_count)
        return false;
    uint8_t s = file->st[index];
    if (s == CH_WRITING || s == CH_STORED) {
        file->stats.duplicates++;
        f->st.duplicates++;
        return false;
    }
    enum cache_source kind = src ? src->kind : CACHE_SRC_PEER;
    if (src && src->kind == CACHE_SRC_PEER && !manifest_verify_chunk(file->m, index, data, len)) {
        refused(file, index, kind);
        src->ban = true; /* by the caller, once it is done with src */
        refetch(file, index, src);
        return false;
    }
    struct wctx *w = xmalloc(sizeof(*w));
    *w = (struct wctx){.file = file, .index = index, .len = (uint32_t)len, .kind = kind};
    int rc = cache_write_async(f->cache, &file->id, index, data, len, kind, write_done, w);
    if (rc < 0) {
        free(w);
        fetch_fail(file, rc);
        return false;
    }
    if (s == CH_ASKED)
        file->asked--;
    file->st[index] = CH_WRITING;
    file->pending++;
    f->pending++;
    return true;
}
