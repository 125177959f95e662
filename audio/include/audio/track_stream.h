/* track_stream: the bytes of one encrypted file, decrypted on the fly
 * (DESIGN.md §2, §3), for the decoder thread.
 *
 * A tstream reads whole chunks through a chunk source (below), checks each
 * has the length the file size implies, decrypts it (AES-128-CTR at the
 * chunk's byte offset, core/content_crypto.h) and serves byte reads and
 * seeks from it. It works on complete, partial and still-arriving files:
 * a missing chunk is asked for (with the stream's priority) and the read
 * blocks until the source has it.
 *
 * Generation: every stream carries a counter. tstream_interrupt (seek,
 * track change, stop — any thread) bumps it and wakes a blocked read,
 * which returns TSTREAM_EABORTED. The interrupt is sticky: every read
 * fails the same way until the reader calls tstream_rearm, so an interrupt
 * that lands between two reads is never lost. Requests carry the
 * generation, so the engine can drop requests made before a seek.
 *
 * Threads: tstream_read, tstream_seek and tstream_rearm from one reader
 * thread (the decoder's); everything else from any thread. */
#ifndef CHORUS_AUDIO_TRACK_STREAM_H
#define CHORUS_AUDIO_TRACK_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/content_crypto.h"
#include "base/manifest.h"

/* Errors (negative). Sources may also return their own codes (chorus_strerror names them). */
enum {
    TSTREAM_EMISSING = -3100, /* source: the chunk is not there (yet) */
    TSTREAM_EABORTED = -3101, /* the stream was interrupted */
    TSTREAM_EINVAL = -3102,   /* bad argument or seek target */
    TSTREAM_ECORRUPT = -3103, /* a chunk of the wrong length */
    TSTREAM_ECRYPTO = -3104,  /* decryption failed (OpenSSL) */
};

/* Request priority, as the engine ranks requests (DESIGN.md §5). */
enum tstream_priority {
    TSTREAM_PRIO_NOW = 0,  /* the playing track (or the one the decoder is opening) */
    TSTREAM_PRIO_NEXT = 1, /* the next track, prefetched */
};

/* A chunk source: where a stream gets its encrypted chunks. gen is the
 * stream's generation at the time of the call. */
struct tstream_source_ops {
    /* Reads chunk index into buf (cap bytes, at least the chunk's length)
     * and sets *len. When it is absent and wait_ms != 0, waits up to
     * wait_ms (< 0: for ever) for it to arrive or for cancel. Returns 0,
     * TSTREAM_EMISSING when it is still absent, or another negative code.
     * Reader thread. */
    int (*read)(void *ctx, uint32_t index, uint8_t *buf, size_t cap, size_t *len, int wait_ms,
                uint64_t gen);
    /* Asks the engine for a missing chunk. Must not block. Reader thread. */
    void (*request)(void *ctx, uint32_t index, enum tstream_priority prio, uint64_t gen);
    /* Wakes a read waiting in this source (it returns TSTREAM_EMISSING
     * early). Any thread. */
    void (*cancel)(void *ctx);
    /* Releases ctx; may be NULL. */
    void (*destroy)(void *ctx);
};

struct tstream_config {
    uint64_t file_size;
    uint32_t chunk_size; /* 0: MANIFEST_CHUNK_SIZE */
    struct content_key key;
    const struct tstream_source_ops *ops;
    void *ctx; /* owned by the stream from tstream_new on (ops->destroy) */
    enum tstream_priority priority;
};

struct tstream;

/* Creates a stream at offset 0. Takes ownership of cfg->ctx, even on
 * failure (NULL: chunk_size or file_size out of range). The caller owns the
 * result (tstream_free). */
struct tstream *tstream_new(const struct tstream_config *cfg);
/* NULL is ignored. No read may be in progress. */
void tstream_free(struct tstream *ts);

/* Reads up to len bytes at the current offset: returns the count (> 0),
 * 0 at the end of the file, or a negative error. Blocks while the chunk is
 * missing. */
int tstream_read(struct tstream *ts, void *buf, size_t len);
/* Moves the offset (whence: SEEK_SET, SEEK_CUR, SEEK_END); never reads.
 * Returns the new offset or TSTREAM_EINVAL for a negative one. */
int64_t tstream_seek(struct tstream *ts, int64_t offset, int whence);
uint64_t tstream_size(const struct tstream *ts);
/* The reader's offset (any thread: the latest value). */
uint64_t tstream_tell(const struct tstream *ts);

void tstream_interrupt(struct tstream *ts);
bool tstream_interrupted(const struct tstream *ts);
void tstream_rearm(struct tstream *ts);
uint64_t tstream_generation(const struct tstream *ts);

void tstream_set_priority(struct tstream *ts, enum tstream_priority prio);

/* fn(ctx) is called on the reader thread about every 50 ms while a read
 * waits for a missing chunk (the decoder keeps reporting what the output
 * does meanwhile). NULL clears it. Reader thread, between reads. */
void tstream_set_wait_hook(struct tstream *ts, void (*fn)(void *ctx), void *ctx);

struct tstream_stats {
    uint64_t bytes_read;  /* served to the reader */
    uint64_t chunks_read; /* chunks fetched from the source (re-reads included) */
    uint64_t stalls;      /* reads that found their chunk missing */
    uint64_t stall_ns;    /* time spent waiting for missing chunks */
    uint64_t requests;    /* requests made (re-requests included) */
};
void tstream_get_stats(const struct tstream *ts, struct tstream_stats *out);

const char *tstream_strerror(int err);

/* ---- chunk sources ---- */

/* An encrypted file held in memory whose chunks are made present one by
 * one: for tools and benchmarks that play a file without a cache, and for
 * tests that withhold chunks. Reference-counted: tstream_mem_new returns a
 * reference for the caller; each source made from it holds another. */
struct tstream_mem;

/* Copies len bytes of (encrypted) file data. all_present: every chunk is
 * there from the start; otherwise none is. */
struct tstream_mem *tstream_mem_new(const uint8_t *data, size_t len, uint32_t chunk_size,
                                    bool all_present);
void tstream_mem_unref(struct tstream_mem *m);
/* Makes chunks [first, first + count) present and wakes waiting reads.
 * Any thread. */
void tstream_mem_release(struct tstream_mem *m, uint32_t first, uint32_t count);
/* Requests received so far (any thread). */
uint64_t tstream_mem_requests(const struct tstream_mem *m);
/* A source over m (takes a reference). */
void tstream_source_mem(struct tstream_mem *m, const struct tstream_source_ops **ops, void **ctx);

#endif
