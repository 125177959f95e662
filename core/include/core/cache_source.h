/* cache_source: a chunk source (audio/track_stream.h) over the engine's
 * chunk cache — how the decoder thread reads what the engine stores. */
#ifndef CHORUS_CORE_CACHE_SOURCE_H
#define CHORUS_CORE_CACHE_SOURCE_H

#include "audio/track_stream.h"
#include "core/cache.h"

/* The engine's request hook for the cache source: ask the core for chunk
 * index of file id (id borrowed for the call). Runs on the decoder thread:
 * it must not block (post a message). */
typedef void (*tstream_request_fn)(void *ctx, const struct content_id *id, uint32_t index,
                                   enum tstream_priority prio, uint64_t gen);

/* A source over the chunk cache: present chunks are read from it (a
 * playback read: it counts the cache's hits and misses), missing ones are
 * asked for through request_fn and waited for with cache_read_wait;
 * cancel is cache_cancel_waits on the file. c is borrowed and must outlive
 * the stream; id is copied. Fills *ops and *ctx for tstream_config. */
void tstream_source_cache(struct cache *c, const struct content_id *id,
                          tstream_request_fn request_fn, void *request_ctx,
                          const struct tstream_source_ops **ops, void **ctx);

#endif
