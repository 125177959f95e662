/* conn: one Chorus connection — TCP on a libuv loop, TLS 1.3 (tls.h), wire
 * frames (wire.h) — with a priority send queue and backpressure.
 *
 * Used by the service for each client, by the client library, and by the
 * peer layer for each peer: all messages between two hosts are multiplexed
 * on one long-lived connection.
 *
 * Sending: conn_send queues a frame with a priority (lower is sooner, FIFO
 * among equals; CONN_PRIO_CONTROL goes first) and a tag (conn_cancel drops
 * the still-queued frames of a tag). Queued frames are encrypted only as
 * the socket drains, at most CONN_WRITE_WINDOW bytes ahead, so an urgent
 * frame queued later still overtakes bulk data that has not left yet.
 * Frames queued during one loop iteration go out together in one write.
 *
 * Backpressure: while more than CONN_HIGH_WATER bytes wait to go out, the
 * connection stops reading (a peer that does not read what it asked for
 * cannot make us buffer without bound); below CONN_LOW_WATER it reads
 * again, and on_writable tells the owner it may queue more bulk data.
 *
 * Liveness: TCP keep-alive probes a connection idle for CONN_KEEPALIVE_S,
 * so a peer that vanished without a FIN is noticed; conn_send_stall_ms
 * tells the owner how long output has waited on a peer that stopped
 * reading (the owner decides when to give up).
 *
 * Frame-level protocol errors (oversized, unknown type, malformed) are
 * answered here with ERROR (rid 0, WIRE_ERR_PROTOCOL) and the connection is
 * closed; the owner sees on_close with CONN_EPROTO.
 *
 * Threads: everything runs on the loop's thread. Callbacks may call any
 * conn function, including conn_close, on any connection. */
#ifndef CHORUS_NET_CONN_H
#define CHORUS_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "net/shaper.h"
#include "net/tls.h"
#include "net/wire.h"

#define CONN_PRIO_CONTROL   0u
#define CONN_WRITE_WINDOW   (256u * 1024) /* bytes handed to the socket, not yet written */
#define CONN_HIGH_WATER     (1024u * 1024)
#define CONN_LOW_WATER      (256u * 1024)
#define CONN_HANDSHAKE_MS   10000u /* TLS must complete within this */
#define CONN_CLOSE_FLUSH_MS 2000u  /* conn_close_after_flush gives up after this */
#define CONN_KEEPALIVE_S    60u    /* TCP keep-alive probes after this much idle time */
#define CONN_SHRINK_MS      1000u  /* quiet this long: TLS frees the buffers a burst grew */

enum {
    CONN_EEOF = -6400,     /* the peer closed the connection */
    CONN_ETIMEOUT = -6401, /* handshake (or final flush) took too long */
    CONN_EPROTO = -6402,   /* the peer sent a malformed frame */
    CONN_ECLOSED = -6403,  /* the connection is closing: nothing more is sent */
};

/* Text for CONN_*, and for the TLS_*, WIRE_* and libuv codes on_close may
 * carry. */
const char *conn_strerror(int err);

struct conn;

struct conn_callbacks {
    /* TLS is up; conn_peer_key works from now on. May be NULL. */
    void (*on_established)(struct conn *c, void *arg);
    /* One decoded message. The conn clears m after the callback returns; a
     * callback that wants to keep a pointer field takes it and sets the
     * field to NULL. */
    void (*on_message)(struct conn *c, struct wire_msg *m, void *arg);
    /* Less than CONN_LOW_WATER bytes wait to go out (after a write
     * completes, or soon after conn_want_writable). May be NULL. */
    void (*on_writable)(struct conn *c, void *arg);
    /* The last callback, exactly once for every conn that was returned:
     * err is 0 after a plain conn_close(c, 0), else why it closed. The conn
     * is freed when this returns. */
    void (*on_close)(struct conn *c, int err, void *arg);
};

/* Accepts a pending connection on server (from a uv_connection_cb) and
 * starts the server side of TLS. cb is copied; arg is passed to every
 * callback. On error nothing was created and no callback will run. */
int conn_accept(uv_stream_t *server, struct tls_ctx *ctx, const struct conn_callbacks *cb,
                void *arg, struct conn **out);

/* Connects to addr and starts the client side of TLS. When expect_key is
 * not NULL the peer must present exactly that Ed25519 key (else on_close
 * with TLS_EPEERKEY). Connection failures arrive through on_close. */
int conn_connect(uv_loop_t *loop, const struct sockaddr *addr, struct tls_ctx *ctx,
                 const uint8_t *expect_key, const struct conn_callbacks *cb, void *arg,
                 struct conn **out);
/* The same from the local address from (port 0: any; NULL: as
 * conn_connect); a bind error is returned at once. */
int conn_connect_from(uv_loop_t *loop, const struct sockaddr *from, const struct sockaddr *addr,
                      struct tls_ctx *ctx, const uint8_t *expect_key,
                      const struct conn_callbacks *cb, void *arg, struct conn **out);

/* Encodes m and queues it. Returns 0, a WIRE_E* encode error, or
 * CONN_ECLOSED when the connection is closing. Messages queued before the
 * handshake finishes are sent right after it. */
int conn_send(struct conn *c, const struct wire_msg *m, uint64_t prio, uint32_t tag);

/* Queues an encoded frame; takes ownership of frame (freed even on error). */
int conn_send_frame(struct conn *c, uint8_t *frame, size_t len, uint64_t prio, uint32_t tag);

/* Drops the queued (not yet encrypted) frames of tag; returns how many. */
size_t conn_cancel(struct conn *c, uint32_t tag);

/* Bytes queued plus bytes handed to the socket and not yet written. */
size_t conn_queued_bytes(const struct conn *c);

/* Asks for an on_writable call soon (from the loop, not from here). */
void conn_want_writable(struct conn *c);

/* Closes now: queued frames are dropped, on_close(err) follows from the
 * loop. Further calls are ignored. */
void conn_close(struct conn *c, int err);

/* Stops reading, sends what is queued and a TLS close_notify, then closes
 * (on_close(err)); gives up after CONN_CLOSE_FLUSH_MS. */
void conn_close_after_flush(struct conn *c, int err);

/* True once conn_close or conn_close_after_flush was called (or the
 * connection failed). */
bool conn_closing(const struct conn *c);

bool conn_established(const struct conn *c);

/* The peer's Ed25519 key (false before the handshake). */
bool conn_peer_key(const struct conn *c, uint8_t out[TLS_KEY_LEN]);

/* The peer's address; returns 0 or a libuv error. */
int conn_peer_addr(const struct conn *c, struct sockaddr_storage *out);

/* "1.2.3.4:5678" / "[::1]:5678" into buf. */
void conn_format_addr(const struct sockaddr_storage *addr, char *buf, size_t cap);

/* Bytes received and sent on the socket (TLS overhead included). */
void conn_stats(const struct conn *c, uint64_t *bytes_in, uint64_t *bytes_out);

/* Handshake timeout for this conn (default CONN_HANDSHAKE_MS); call right
 * after creating it. */
void conn_set_handshake_timeout(struct conn *c, uint64_t ms);

/* Refuses frames whose body is longer than max like oversized frames
 * (wire_parser_set_max_body): for a receiver that only takes small
 * messages. Default: each type's own maximum. */
void conn_set_max_body(struct conn *c, size_t max);

/* Link emulation and rate caps, under TLS (the bytes shaped are the ones
 * on the socket). Outgoing bytes leave no sooner than every send shaper
 * allows, plus send_delay_ms; incoming bytes reach TLS no sooner than
 * every recv shaper allows, plus recv_delay_ms (an end of stream arrives
 * after the bytes before it). While more than CONN_SHAPE_RECV_HOLD bytes
 * received wait their time the socket is not read, so a capped download
 * slows the sender through TCP itself. The write window shrinks to what
 * the slowest send shaper passes in CONN_SHAPE_WINDOW_MS + send_delay_ms
 * (the bytes in the emulated pipe), at least one largest CHUNK frame and
 * at most CONN_WRITE_WINDOW, so an urgent frame still overtakes bulk data
 * as it would on a real link. Held outgoing bytes count in
 * conn_queued_bytes and in conn_send_stall_ms, conn_close_after_flush
 * sends them too, and conn_stats counts bytes when they really enter or
 * leave the socket. Tests and the benchmark set delays (a peer link whose
 * two ends each add rtt/2 on receive has that round trip); the engine's
 * rate caps set shapers only. A shaper may be shared by many conns (one
 * access link) and its rate changed at any time (shaper_set_rate).
 * s is copied; NULL entries are ignored; the shapers are borrowed and
 * must outlive the conn. s NULL, or a closing conn: no effect. Call right
 * after creating the conn (before any byte moves); a later call replaces
 * the settings for the bytes that follow. Unshaped (the default), a conn
 * holds nothing back. */
#define CONN_SHAPE_RECV_HOLD (256u * 1024)
#define CONN_SHAPE_WINDOW_MS 100u
struct conn_shaping {
    struct shaper *send[2], *recv[2];
    uint32_t send_delay_ms, recv_delay_ms;
};
void conn_set_shaping(struct conn *c, const struct conn_shaping *s);

/* Version gating (peer links): frames of types this codec does not know
 * are skipped (counted) instead of closing the connection. */
void conn_set_skip_unknown(struct conn *c, bool skip);
uint64_t conn_skipped_frames(const struct conn *c);

/* How long (ms, loop time) bytes have been waiting to go out without the
 * socket taking any: 0 while nothing waits. A peer that stopped reading
 * makes this grow; its owner decides when to give up on it. */
uint64_t conn_send_stall_ms(const struct conn *c);

#endif
