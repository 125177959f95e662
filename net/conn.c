/* conn: a TLS connection carrying wire frames on a libuv TCP stream.
 *
 * Owns its three libuv handles (tcp; a timer for the handshake and final
 * flush deadlines and, in between, for the quiet spell after which TLS
 * frees the buffers a burst grew; an idle handle that defers flushing to
 * the next loop iteration so frames queued together leave together), its
 * TLS session, its frame parser and its send queue (a binary heap by
 * priority, then queueing order). Runs on the loop's thread only. It must never block, never hand
 * more than CONN_WRITE_WINDOW bytes to the socket ahead of the peer
 * reading them (that would defeat the priorities), and never call a
 * callback after on_close. The struct is freed only after all three
 * handles have closed; libuv runs cancelled write callbacks before the
 * stream's close callback, so a write callback never sees freed memory.
 *
 * Link emulation (conn_set_shaping, its own section below) adds a fourth
 * handle, a timer, and two FIFOs of bytes held back under TLS: ciphertext
 * waiting for its time to be written, and bytes read waiting for their
 * time to reach TLS. Without it none of that exists and nothing changes.
 *
 * Read buffers are shared by the conns of one loop (struct loop_bufs), so
 * a quiet connection costs no buffer at all (issue 13: hundreds of
 * engines with up to 60 links each in one process). A socket read lands
 * in the loop's rbuf and is handed to TLS (or copied into the shaping
 * FIFO) before any callback runs. Decrypted bytes land in the loop's
 * plain buffer and messages are delivered from there one at a time; when
 * backpressure pauses input in the middle, what is left moves to a heap
 * buffer of the conn's own (c->left), exactly that size, freed once it
 * is delivered. Partial frames never stay there: the wire parser keeps
 * them, and TLS keeps records split across reads. Sharing plain is safe
 * because decrypting (process_input) runs only from this loop's libuv
 * callbacks (read, write done, shaping timer), never from a conn function
 * an owner's callback may call, and libuv does not nest runs of a loop.
 * Per loop rather than per thread: the buffers go when the loop's last
 * conn goes (no thread-exit destructor, which the main thread never
 * runs), a conn may be created on another thread than the one that runs
 * its loop (before the loop's thread starts), and a thread running a
 * second loop inside a callback (a blocking client helper) would share a
 * per-thread plain buffer that still holds undelivered bytes. The cost is
 * a mutex taken when a conn is created and when it is freed.
 * Measured with chorus-bench service --idle 500 (1000 conns, both ends of
 * 500 loopback TLS connections): see the README's Benchmarks section. */
#include "net/conn.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/errcode.h"
#include "base/xmalloc.h"

struct frame {
    uint64_t prio, seq;
    uint32_t tag;
    uint8_t *buf;
    size_t len;
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_idle_t idle;
    uv_connect_t connect_req;
    struct conn_shape *shape; /* link emulation (conn_set_shaping); NULL: none */
    struct conn_callbacks cb;
    void *arg;
    struct tls_session *tls;
    struct wire_parser *parser;

    struct frame *heap;
    size_t heap_n, heap_cap;
    uint64_t seq;
    size_t queued;   /* plaintext bytes in the heap */
    size_t inflight; /* ciphertext bytes in libuv writes */

    bool read_started; /* the socket is connected and may be read */
    bool reading;
    bool established;
    bool tls_dead;    /* TLS failed: nothing more can be encrypted */
    bool finishing;   /* conn_close_after_flush: draining */
    bool closing;     /* handles are closing */
    bool silent;      /* creation failed: close without on_close */
    bool notify_sent; /* close_notify queued */
    bool idle_armed;
    bool want_writable;
    bool paused;        /* input held back by backpressure */
    bool shrink_armed;  /* the timer waits for a quiet spell (note_activity) */
    uint64_t active_at; /* loop ms: bytes last moved */
    struct loop_bufs *bufs;
    uint8_t *left; /* decrypted, not yet delivered (paused); NULL: none */
    size_t left_off, left_len;
    int close_err;
    int handles_open;
    uint64_t handshake_ms;
    uint64_t bytes_in, bytes_out;
    uint64_t progress_at; /* loop ms: last write done, or output began to wait */
    uint64_t skipped;     /* frames of unknown types skipped (conn_set_skip_unknown) */
};

struct wreq {
    uv_write_t req;
    struct conn *c;
    size_t len;
    uint8_t data[];
};

/* Link emulation, defined in its own section below. */
static size_t write_window(const struct conn *c);
static void shape_hold_output(struct conn *c);
static void shape_hold_input(struct conn *c, const uint8_t *data, size_t len, int end);
static bool shape_recv_full(const struct conn *c);
static void shape_note_reading(struct conn *c, bool reading, size_t queued);
static bool shape_may_resume(const struct conn *c, size_t queued);
static void shape_close(struct conn *c);

const char *conn_strerror(int err)
{
    switch (err) {
    case 0:
        return "closed";
    case CONN_EEOF:
        return "connection closed by peer";
    case CONN_ETIMEOUT:
        return "timed out";
    case CONN_EPROTO:
        return "peer sent a malformed frame";
    case CONN_ECLOSED:
        return "connection is closing";
    default:
        break;
    }
    if (errcode_in_block(err, TLS_EIO))
        return tls_strerror(err);
    if (errcode_in_block(err, WIRE_ETOOBIG))
        return wire_strerror(err);
    if (err < 0 && err > -4096)
        return uv_strerror(err);
    return "unknown connection error";
}

/* ---- read buffers shared by the conns of one loop ---- */

#define CONN_RBUF_LEN  (64u * 1024) /* one socket read */
#define CONN_PLAIN_LEN (32u * 1024) /* one tls_session_read */

struct loop_bufs {
    struct loop_bufs *next;
    const uv_loop_t *loop;
    unsigned users; /* conns of this loop not yet freed */
    uint8_t rbuf[CONN_RBUF_LEN];
    uint8_t plain[CONN_PLAIN_LEN];
};

/* Every loop with conns; conns are created and freed on many threads. */
static pthread_mutex_t bufs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct loop_bufs *bufs_list;

/* The buffers of loop, made for its first conn. */
static struct loop_bufs *loop_bufs_take(const uv_loop_t *loop)
{
    pthread_mutex_lock(&bufs_lock);
    struct loop_bufs *b = bufs_list;
    while (b && b->loop != loop)
        b = b->next;
    if (!b) {
        b = xmalloc(sizeof(*b));
        b->loop = loop;
        b->users = 0;
        b->next = bufs_list;
        bufs_list = b;
    }
    b->users++;
    pthread_mutex_unlock(&bufs_lock);
    return b;
}

/* Released with the loop's last conn. */
static void loop_bufs_drop(struct loop_bufs *b)
{
    pthread_mutex_lock(&bufs_lock);
    if (--b->users == 0) {
        struct loop_bufs **pp = &bufs_list;
        while (*pp != b)
            pp = &(*pp)->next;
        *pp = b->next;
        free(b);
    }
    pthread_mutex_unlock(&bufs_lock);
}

/* ---- send heap ---- */

static bool frame_before(const struct frame *a, const struct frame *b)
{
    return a->prio < b->prio || (a->prio == b->prio && a->seq < b->seq);
}

static void sift_up(struct frame *h, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!frame_before(&h[i], &h[p]))
            break;
        struct frame t = h[i];
        h[i] = h[p];
        h[p] = t;
        i = p;
    }
}

static void sift_down(struct frame *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && frame_before(&h[l], &h[m]))
            m = l;
        if (r < n && frame_before(&h[r], &h[m]))
            m = r;
        if (m == i)
            break;
        struct frame t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static void heap_push(struct conn *c, struct frame f)
{
    if (conn_queued_bytes(c) == 0)
        c->progress_at = uv_now(c->tcp.loop);
    if (c->heap_n == c->heap_cap) {
        c->heap_cap = c->heap_cap ? 2 * c->heap_cap : 16;
        c->heap = xrealloc(c->heap, c->heap_cap * sizeof(*c->heap));
    }
    c->heap[c->heap_n] = f;
    sift_up(c->heap, c->heap_n++);
    c->queued += f.len;
}

static struct frame heap_pop(struct conn *c)
{
    struct frame top = c->heap[0];
    c->heap[0] = c->heap[--c->heap_n];
    sift_down(c->heap, c->heap_n, 0);
    c->queued -= top.len;
    return top;
}

static void heap_clear(struct conn *c)
{
    for (size_t i = 0; i < c->heap_n; i++)
        free(c->heap[i].buf);
    c->heap_n = 0;
    c->queued = 0;
}

size_t conn_cancel(struct conn *c, uint32_t tag)
{
    size_t kept = 0, dropped = 0;
    for (size_t i = 0; i < c->heap_n; i++) {
        if (c->heap[i].tag == tag) {
            c->queued -= c->heap[i].len;
            free(c->heap[i].buf);
            dropped++;
        } else {
            c->heap[kept++] = c->heap[i];
        }
    }
    c->heap_n = kept;
    for (size_t i = kept / 2; i-- > 0;)
        sift_down(c->heap, kept, i);
    return dropped;
}

/* ---- closing ---- */

static void handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles_open > 0)
        return;
    if (!c->silent)
        c->cb.on_close(c, c->close_err, c->arg);
    heap_clear(c);
    free(c->heap);
    tls_session_free(c->tls);
    wire_parser_free(c->parser);
    free(c->shape);
    free(c->left);
    loop_bufs_drop(c->bufs);
    free(c);
}

void conn_close(struct conn *c, int err)
{
    if (c->closing)
        return;
    if (!c->finishing || c->close_err == 0)
        c->close_err = err;
    c->closing = true;
    heap_clear(c);
    shape_close(c);
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    uv_close((uv_handle_t *)&c->idle, handle_closed);
}

static void maybe_finish(struct conn *c)
{
    if (c->finishing && !c->closing && c->heap_n == 0 && c->inflight == 0)
        conn_close(c, c->close_err);
}

static void timer_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    conn_close(c, c->finishing ? c->close_err : CONN_ETIMEOUT);
}

/* Quiet for CONN_SHRINK_MS: TLS lets go of the buffers a burst grew. */
static void shrink_timer_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    uint64_t quiet = uv_now(c->tcp.loop) - c->active_at;
    if (quiet < CONN_SHRINK_MS) {
        uv_timer_start(&c->timer, shrink_timer_cb, CONN_SHRINK_MS - quiet, 0);
        return;
    }
    c->shrink_armed = false;
    tls_session_shrink(c->tls);
}

/* Bytes moved: the shrink waits for the next quiet spell. The timer is the
 * one of the handshake and final-flush deadlines, free in between; a
 * transfer costs a clock read per event and a timer start per second. */
static void note_activity(struct conn *c)
{
    c->active_at = uv_now(c->tcp.loop);
    if (!c->shrink_armed && c->established && !c->finishing && !c->closing) {
        uv_timer_start(&c->timer, shrink_timer_cb, CONN_SHRINK_MS, 0);
        c->shrink_armed = true;
    }
}

static void start_finishing(struct conn *c, int err)
{
    c->finishing = true;
    c->shrink_armed = false; /* the timer is the flush deadline's now */
    c->close_err = err;
    if (c->reading)
        uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = false;
    uv_timer_start(&c->timer, timer_cb, CONN_CLOSE_FLUSH_MS, 0);
}

/* ---- writing ---- */

static void flush(struct conn *c);
static void update_reading(struct conn *c);

static void notify_writable(struct conn *c)
{
    if (c->established && !c->finishing && !c->closing && c->cb.on_writable &&
        conn_queued_bytes(c) < CONN_LOW_WATER)
        c->cb.on_writable(c, c->arg);
}

static void write_cb(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct conn *c = w->c;
    c->inflight -= w->len;
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c, status);
        return;
    }
    c->progress_at = uv_now(c->tcp.loop);
    flush(c);
    maybe_finish(c);
    if (c->closing)
        return;
    update_reading(c);
    notify_writable(c);
    note_activity(c);
}

/* Hands whatever TLS produced to the socket in one write. */
static void write_output(struct conn *c)
{
    if (c->closing || !c->read_started)
        return;
    size_t n = tls_session_output_pending(c->tls);
    if (n == 0)
        return;
    if (c->shape) {
        shape_hold_output(c);
        return;
    }
    struct wreq *w = xmalloc(sizeof(*w) + n);
    w->c = c;
    w->len = tls_session_take_output(c->tls, w->data, n);
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb);
    if (rc < 0) {
        free(w);
        conn_close(c, rc);
        return;
    }
    c->inflight += w->len;
    c->bytes_out += w->len;
}

/* TLS failed: nothing more can be encrypted; send the alert and close. */
static void fail(struct conn *c, int err)
{
    c->tls_dead = true;
    heap_clear(c);
    if (!c->finishing)
        start_finishing(c, err);
    write_output(c);
    maybe_finish(c);
}

/* Encrypts queued frames, most urgent first, while the socket has less
 * than the write window (CONN_WRITE_WINDOW unless shaped) in flight. */
static void flush(struct conn *c)
{
    if (c->closing)
        return;
    if (c->established && !c->tls_dead) {
        size_t batch = 0;
        size_t window = write_window(c);
        while (c->heap_n && c->inflight + batch < window) {
            struct frame f = heap_pop(c);
            int rc = tls_session_write(c->tls, f.buf, f.len);
            batch += f.len;
            free(f.buf);
            if (rc < 0) {
                fail(c, rc);
                return;
            }
        }
        if (c->finishing && c->heap_n == 0 && !c->notify_sent) {
            tls_session_shutdown(c->tls);
            c->notify_sent = true;
        }
    }
    write_output(c);
}

static void idle_cb(uv_idle_t *h)
{
    struct conn *c = h->data;
    uv_idle_stop(h);
    c->idle_armed = false;
    flush(c);
    maybe_finish(c);
    if (c->closing)
        return;
    if (c->want_writable) {
        c->want_writable = false;
        notify_writable(c);
    }
}

static void arm_idle(struct conn *c)
{
    if (!c->idle_armed && !c->closing) {
        uv_idle_start(&c->idle, idle_cb);
        c->idle_armed = true;
    }
}

int conn_send_frame(struct conn *c, uint8_t *frame, size_t len, uint64_t prio, uint32_t tag)
{
    if (c->closing || c->finishing) {
        free(frame);
        return CONN_ECLOSED;
    }
    heap_push(c,
              (struct frame){.prio = prio, .seq = c->seq++, .tag = tag, .buf = frame, .len = len});
    arm_idle(c);
    /* Only ever stop reading here; reading resumes as writes complete
     * (update_reading), never from inside a message callback. */
    if (c->reading && conn_queued_bytes(c) >= CONN_HIGH_WATER) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
    return 0;
}

int conn_send(struct conn *c, const struct wire_msg *m, uint64_t prio, uint32_t tag)
{
    if (c->closing || c->finishing)
        return CONN_ECLOSED;
    uint8_t *frame;
    size_t len;
    int rc = wire_encode(m, &frame, &len);
    if (rc < 0)
        return rc;
    return conn_send_frame(c, frame, len, prio, tag);
}

size_t conn_queued_bytes(const struct conn *c)
{
    return c->queued + c->inflight;
}

void conn_want_writable(struct conn *c)
{
    c->want_writable = true;
    arm_idle(c);
}

void conn_close_after_flush(struct conn *c, int err)
{
    if (c->closing || c->finishing)
        return;
    start_finishing(c, err);
    if (!c->established)
        heap_clear(c); /* nothing can be encrypted yet */
    flush(c);
    maybe_finish(c);
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)suggested;
    struct conn *c = h->data;
    *buf = uv_buf_init((char *)c->bufs->rbuf, sizeof(c->bufs->rbuf));
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void process_input(struct conn *c);

/* Reads the socket only while less than CONN_HIGH_WATER waits to go out;
 * below CONN_LOW_WATER it first handles what is already decrypted. A
 * shaped conn also waits while too much received input is held back. */
static void update_reading(struct conn *c)
{
    if (c->closing || c->finishing || !c->read_started)
        return;
    size_t q = conn_queued_bytes(c);
    if (c->reading && (q >= CONN_HIGH_WATER || shape_recv_full(c))) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        shape_note_reading(c, false, q);
    } else if (!c->reading && (q < CONN_LOW_WATER || shape_may_resume(c, q))) {
        if (c->paused) {
            c->paused = false;
            process_input(c);
            if (c->closing || c->finishing || c->paused)
                return;
        }
        if (shape_recv_full(c))
            return;
        if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) == 0) {
            c->reading = true;
            shape_note_reading(c, true, q);
        }
    }
}

static void protocol_error(struct conn *c, int err)
{
    heap_clear(c); /* the error goes out first, nothing else does */
    struct wire_msg m = {.type = WIRE_ERROR, .rid = 0};
    m.u.error.code = WIRE_ERR_PROTOCOL;
    m.u.error.message = (char *)wire_strerror(err);
    conn_send(c, &m, CONN_PRIO_CONTROL, 0);
    conn_close_after_flush(c, CONN_EPROTO);
}

/* Decrypted bytes being delivered: the conn's leftover (c->left) or the
 * loop's plain buffer. */
struct plain_span {
    uint8_t *data;
    size_t off, len;
};

/* Decrypts the next bytes into the loop's plain buffer (the leftover, all
 * delivered, goes). False when TLS has nothing more, or failed. */
static bool decrypt(struct conn *c, struct plain_span *in)
{
    if (in->data && in->data == c->left) {
        free(c->left);
        c->left = NULL;
    }
    *in = (struct plain_span){0};
    int n = tls_session_read(c->tls, c->bufs->plain, sizeof(c->bufs->plain));
    if (n < 0)
        fail(c, n == TLS_ECLOSED ? CONN_EEOF : n);
    if (n <= 0)
        return false;
    *in = (struct plain_span){.data = c->bufs->plain, .len = (size_t)n};
    return true;
}

/* Input stopped: what was not delivered stays with the conn — in its own
 * heap buffer of exactly that size, since the loop's plain buffer is
 * another conn's next. A closing conn reads nothing more: dropped. */
static void keep_leftover(struct conn *c, const struct plain_span *in)
{
    if (in->data && in->data == c->left) {
        c->left_off = in->off;
        if (in->off == in->len) {
            free(c->left);
            c->left = NULL;
        }
        return;
    }
    if (in->off == in->len || c->closing || c->finishing)
        return;
    c->left_len = in->len - in->off;
    c->left_off = 0;
    c->left = xmalloc(c->left_len);
    memcpy(c->left, in->data + in->off, c->left_len);
}

/* Decrypts and delivers messages one at a time. When the send queue is
 * over CONN_HIGH_WATER it stops between two messages: the rest stays in
 * c->left and in TLS until the queue drains, so a peer that pipelines
 * requests without reading the answers is held back. */
static void process_input(struct conn *c)
{
    struct plain_span in = {c->left, c->left_off, c->left_len};
    while (c->established && !c->closing && !c->finishing) {
        if (conn_queued_bytes(c) >= CONN_HIGH_WATER) {
            c->paused = true;
            break;
        }
        if (in.off == in.len && !decrypt(c, &in))
            break;
        struct wire_msg m;
        size_t used;
        int rc = wire_parser_feed(c->parser, in.data + in.off, in.len - in.off, &used, &m);
        in.off += used;
        if (rc < 0) {
            protocol_error(c, rc);
            break;
        }
        if (rc == WIRE_MSG) {
            c->cb.on_message(c, &m, c->arg);
            wire_msg_clear(&m);
        } else if (rc == WIRE_SKIPPED) {
            c->skipped++;
        }
    }
    keep_leftover(c, &in);
}

/* Bytes from the socket (or, shaped, their time come) go to TLS. */
static void input(struct conn *c, const uint8_t *data, size_t len)
{
    bool was_established = c->established;
    int rc = tls_session_feed(c->tls, data, len);
    if (rc < 0) {
        fail(c, rc);
        return;
    }
    write_output(c); /* handshake messages */
    if (!was_established && tls_session_established(c->tls)) {
        c->established = true;
        uv_timer_stop(&c->timer);
        if (c->cb.on_established)
            c->cb.on_established(c, c->arg);
        if (c->closing || c->finishing)
            return;
        flush(c); /* frames queued before the handshake */
    }
    if (!c->paused)
        process_input(c);
    if (!c->closing)
        write_output(c);
    update_reading(c);
    note_activity(c);
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = s->data;
    if (c->closing || c->finishing)
        return;
    if (nread < 0) {
        int err = nread == UV_EOF ? CONN_EEOF : (int)nread;
        if (c->shape)
            shape_hold_input(c, NULL, 0, err); /* after the bytes before it */
        else
            conn_close(c, err);
        return;
    }
    if (nread == 0)
        return;
    c->bytes_in += (uint64_t)nread;
    if (c->shape)
        shape_hold_input(c, (const uint8_t *)buf->base, (size_t)nread, 0);
    else
        input(c, (const uint8_t *)buf->base, (size_t)nread);
}

/* ---- link emulation (conn_set_shaping) ---- */

/* Held bytes go in slices of at most this much, each with its own time,
 * so a slow link delivers a steady stream, not whole windows at once. */
#define SHAPE_SLICE (16u * 1024)
/* The smallest shaped write window: one largest CHUNK frame. */
#define SHAPE_MIN_WINDOW (WIRE_HEADER_LEN + WIRE_ID_LEN + 8u + WIRE_MAX_CHUNK)

struct held {
    struct held *next;
    uint64_t due_us; /* uv_hrtime() / 1000 */
    size_t len;
    int end; /* input only: the socket ended here (len 0), with this code */
    uint8_t data[];
};

struct held_fifo {
    struct held *head, *tail;
    size_t bytes;
};

struct conn_shape {
    uv_timer_t timer; /* fires when the first held slice is due */
    struct conn_shaping cfg;
    struct held_fifo out; /* ciphertext, counted in c->inflight */
    struct held_fifo in;  /* bytes read, not yet fed to TLS */
    bool in_ended;        /* the socket's end is held: read no more */
    bool recv_stopped;    /* reading stopped for the held input alone */
};

static uint64_t shape_now_us(void)
{
    return uv_hrtime() / 1000;
}

static void fifo_push(struct held_fifo *q, struct held *h)
{
    h->next = NULL;
    if (q->tail)
        q->tail->next = h;
    else
        q->head = h;
    q->tail = h;
    q->bytes += h->len;
}

static struct held *fifo_pop(struct held_fifo *q)
{
    struct held *h = q->head;
    q->head = h->next;
    if (!q->head)
        q->tail = NULL;
    q->bytes -= h->len;
    return h;
}

static void fifo_clear(struct held_fifo *q)
{
    while (q->head)
        free(fifo_pop(q));
}

/* Books len bytes on the shapers of one direction: the time they may move,
 * never before what is already held there (a byte stream stays in order,
 * even when a shaper's rate was lowered to unlimited meanwhile). */
static uint64_t shape_due(const struct held_fifo *q, struct shaper *const sh[2], uint32_t delay_ms,
                          size_t len)
{
    uint64_t now = shape_now_us(), due = now;
    for (int i = 0; i < 2; i++) {
        if (sh[i]) {
            uint64_t t = shaper_reserve(sh[i], now, len);
            if (t > due)
                due = t;
        }
    }
    due += (uint64_t)delay_ms * 1000;
    if (q->tail && q->tail->due_us > due)
        due = q->tail->due_us;
    return due;
}

static void shape_timer_cb(uv_timer_t *t);

/* Arms the timer for the first held slice (stops it when none is held). */
static void shape_arm(struct conn *c)
{
    struct conn_shape *sh = c->shape;
    uint64_t first = UINT64_MAX;
    if (sh->out.head)
        first = sh->out.head->due_us;
    if (sh->in.head && sh->in.head->due_us < first)
        first = sh->in.head->due_us;
    if (first == UINT64_MAX) {
        uv_timer_stop(&sh->timer);
        return;
    }
    uint64_t now = shape_now_us();
    uv_timer_start(&sh->timer, shape_timer_cb, first > now ? (first - now + 999) / 1000 : 0, 0);
}

/* The write window: what the send shapers pass in CONN_SHAPE_WINDOW_MS plus
 * send_delay_ms (the bytes in the emulated pipe), at least one largest
 * frame, at most CONN_WRITE_WINDOW. */
static size_t write_window(const struct conn *c)
{
    if (!c->shape)
        return CONN_WRITE_WINDOW;
    uint64_t rate = 0;
    for (int i = 0; i < 2; i++) {
        uint64_t r = c->shape->cfg.send[i] ? shaper_rate(c->shape->cfg.send[i]) : 0;
        if (r && (rate == 0 || r < rate))
            rate = r;
    }
    if (rate == 0)
        return CONN_WRITE_WINDOW;
    uint64_t w = rate * (CONN_SHAPE_WINDOW_MS + c->shape->cfg.send_delay_ms) / 1000;
    if (w < SHAPE_MIN_WINDOW)
        w = SHAPE_MIN_WINDOW;
    return w < CONN_WRITE_WINDOW ? (size_t)w : CONN_WRITE_WINDOW;
}

/* Instead of writing it, holds what TLS produced until its time. */
static void shape_hold_output(struct conn *c)
{
    struct conn_shape *sh = c->shape;
    size_t n;
    while ((n = tls_session_output_pending(c->tls)) > 0) {
        if (n > SHAPE_SLICE)
            n = SHAPE_SLICE;
        struct held *h = xmalloc(sizeof(*h) + n);
        h->len = tls_session_take_output(c->tls, h->data, n);
        h->end = 0;
        h->due_us = shape_due(&sh->out, sh->cfg.send, sh->cfg.send_delay_ms, h->len);
        fifo_push(&sh->out, h);
        c->inflight += h->len;
    }
    shape_arm(c);
}

/* Writes the held output that is due, in one write. */
static void shape_release_output(struct conn *c, uint64_t now)
{
    struct held_fifo *q = &c->shape->out;
    size_t n = 0;
    for (struct held *h = q->head; h && h->due_us <= now; h = h->next)
        n += h->len;
    if (n == 0)
        return;
    struct wreq *w = xmalloc(sizeof(*w) + n);
    w->c = c;
    w->len = 0;
    while (w->len < n) {
        struct held *h = fifo_pop(q);
        memcpy(w->data + w->len, h->data, h->len);
        w->len += h->len;
        free(h);
    }
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_cb);
    if (rc < 0) {
        c->inflight -= w->len;
        free(w);
        conn_close(c, rc);
        return;
    }
    c->bytes_out += w->len;
}

/* Holds bytes read (or, end != 0, the socket's end) until their time;
 * stops reading while more than CONN_SHAPE_RECV_HOLD bytes wait. */
static void shape_hold_input(struct conn *c, const uint8_t *data, size_t len, int end)
{
    struct conn_shape *sh = c->shape;
    size_t off = 0;
    do {
        size_t n = len - off < SHAPE_SLICE ? len - off : SHAPE_SLICE;
        struct held *h = xmalloc(sizeof(*h) + n);
        if (n)
            memcpy(h->data, data + off, n);
        h->len = n;
        h->end = end && off + n == len ? end : 0;
        h->due_us = shape_due(&sh->in, sh->cfg.recv, sh->cfg.recv_delay_ms, n);
        fifo_push(&sh->in, h);
        off += n;
    } while (off < len);
    if (end)
        sh->in_ended = true;
    if (c->reading && shape_recv_full(c)) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
        shape_note_reading(c, false, conn_queued_bytes(c));
    }
    shape_arm(c);
}

static bool shape_recv_full(const struct conn *c)
{
    return c->shape && (c->shape->in_ended || c->shape->in.bytes > CONN_SHAPE_RECV_HOLD);
}

/* Reading stops for two reasons: output over CONN_HIGH_WATER (it resumes
 * below CONN_LOW_WATER) and held input. Stopped for held input alone, it
 * resumes as soon as that is below CONN_SHAPE_RECV_HOLD while output
 * stays under CONN_HIGH_WATER: waiting for CONN_LOW_WATER there would
 * deadlock two ends that each keep more than that queued for the other. */
static void shape_note_reading(struct conn *c, bool reading, size_t queued)
{
    if (c->shape)
        c->shape->recv_stopped = !reading && queued < CONN_HIGH_WATER;
}

static bool shape_may_resume(const struct conn *c, size_t queued)
{
    return c->shape && c->shape->recv_stopped && queued < CONN_HIGH_WATER;
}

static void shape_timer_cb(uv_timer_t *t)
{
    struct conn *c = t->data;
    struct conn_shape *sh = c->shape;
    uint64_t now = shape_now_us();
    shape_release_output(c, now);
    while (!c->closing && !c->finishing && sh->in.head && sh->in.head->due_us <= now) {
        struct held *h = fifo_pop(&sh->in);
        int end = h->end;
        if (h->len)
            input(c, h->data, h->len);
        free(h);
        if (end && !c->closing && !c->finishing)
            conn_close(c, end);
    }
    if (c->closing)
        return;
    if (c->finishing)
        fifo_clear(&sh->in); /* input is ignored from now on */
    shape_arm(c);
}

/* conn_close: held bytes go, the timer closes with the other handles. */
static void shape_close(struct conn *c)
{
    struct conn_shape *sh = c->shape;
    if (!sh)
        return;
    c->inflight -= sh->out.bytes;
    fifo_clear(&sh->out);
    fifo_clear(&sh->in);
    uv_close((uv_handle_t *)&sh->timer, handle_closed);
}

void conn_set_shaping(struct conn *c, const struct conn_shaping *s)
{
    if (!s || c->closing)
        return;
    if (!c->shape) {
        c->shape = xcalloc(1, sizeof(*c->shape));
        uv_timer_init(c->tcp.loop, &c->shape->timer);
        c->shape->timer.data = c;
        c->handles_open++;
    }
    c->shape->cfg = *s;
}

/* ---- creation ---- */

static struct conn *conn_alloc(uv_loop_t *loop, struct tls_ctx *ctx, const uint8_t *expect_key,
                               const struct conn_callbacks *cb, void *arg)
{
    struct conn *c = xcalloc(1, sizeof(*c));
    c->bufs = loop_bufs_take(loop);
    c->cb = *cb;
    c->arg = arg;
    c->tls = tls_session_new(ctx, expect_key);
    c->parser = wire_parser_new();
    c->handshake_ms = CONN_HANDSHAKE_MS;
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    uv_idle_init(loop, &c->idle);
    c->tcp.data = c->timer.data = c->idle.data = c;
    c->connect_req.data = c;
    c->handles_open = 3;
    return c;
}

static int start_io(struct conn *c)
{
    uv_tcp_nodelay(&c->tcp, 1);
    /* a peer that vanished without a FIN is noticed, not kept forever */
    uv_tcp_keepalive(&c->tcp, 1, CONN_KEEPALIVE_S);
    c->read_started = true;
    int rc = uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    if (rc < 0)
        return rc;
    c->reading = true;
    if ((rc = tls_session_start(c->tls)) < 0)
        return rc;
    write_output(c); /* ClientHello */
    return 0;
}

/* The last step of conn_accept and conn_connect: a failed conn goes away
 * without any callback; a good one gets its handshake deadline. */
static int finish_create(struct conn *c, int rc, struct conn **out)
{
    if (rc < 0) {
        c->silent = true;
        conn_close(c, rc);
        return rc;
    }
    uv_timer_start(&c->timer, timer_cb, c->handshake_ms, 0);
    *out = c;
    return 0;
}

int conn_accept(uv_stream_t *server, struct tls_ctx *ctx, const struct conn_callbacks *cb,
                void *arg, struct conn **out)
{
    struct conn *c = conn_alloc(server->loop, ctx, NULL, cb, arg);
    int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc == 0)
        rc = start_io(c);
    return finish_create(c, rc, out);
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing)
        return;
    if (status == 0)
        status = start_io(c);
    if (status < 0)
        conn_close(c, status);
}

int conn_connect(uv_loop_t *loop, const struct sockaddr *addr, struct tls_ctx *ctx,
                 const uint8_t *expect_key, const struct conn_callbacks *cb, void *arg,
                 struct conn **out)
{
    return conn_connect_from(loop, NULL, addr, ctx, expect_key, cb, arg, out);
}

int conn_connect_from(uv_loop_t *loop, const struct sockaddr *from, const struct sockaddr *addr,
                      struct tls_ctx *ctx, const uint8_t *expect_key,
                      const struct conn_callbacks *cb, void *arg, struct conn **out)
{
    struct conn *c = conn_alloc(loop, ctx, expect_key, cb, arg);
    int rc = from ? uv_tcp_bind(&c->tcp, from, 0) : 0;
    if (rc == 0)
        rc = uv_tcp_connect(&c->connect_req, &c->tcp, addr, connect_cb);
    return finish_create(c, rc, out);
}

void conn_set_handshake_timeout(struct conn *c, uint64_t ms)
{
    c->handshake_ms = ms;
    if (!c->established && !c->closing && !c->finishing)
        uv_timer_start(&c->timer, timer_cb, ms, 0);
}

void conn_set_max_body(struct conn *c, size_t max)
{
    wire_parser_set_max_body(c->parser, max);
}

void conn_set_skip_unknown(struct conn *c, bool skip)
{
    wire_parser_set_skip_unknown(c->parser, skip);
}

uint64_t conn_skipped_frames(const struct conn *c)
{
    return c->skipped;
}

/* ---- queries ---- */

uint64_t conn_send_stall_ms(const struct conn *c)
{
    if (conn_queued_bytes(c) == 0)
        return 0;
    uint64_t now = uv_now(c->tcp.loop);
    return now > c->progress_at ? now - c->progress_at : 0;
}

bool conn_closing(const struct conn *c)
{
    return c->closing || c->finishing;
}

bool conn_established(const struct conn *c)
{
    return c->established;
}

bool conn_peer_key(const struct conn *c, uint8_t out[TLS_KEY_LEN])
{
    return tls_session_peer_key(c->tls, out);
}

int conn_peer_addr(const struct conn *c, struct sockaddr_storage *out)
{
    int len = sizeof(*out);
    memset(out, 0, sizeof(*out));
    return uv_tcp_getpeername(&c->tcp, (struct sockaddr *)out, &len);
}

void conn_format_addr(const struct sockaddr_storage *addr, char *buf, size_t cap)
{
    char ip[64] = "?";
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        uv_ip4_name(a, ip, sizeof(ip));
        snprintf(buf, cap, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    } else if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        uv_ip6_name(a, ip, sizeof(ip));
        snprintf(buf, cap, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    } else {
        snprintf(buf, cap, "?");
    }
}

void conn_stats(const struct conn *c, uint64_t *bytes_in, uint64_t *bytes_out)
{
    if (bytes_in)
        *bytes_in = c->bytes_in;
    if (bytes_out)
        *bytes_out = c->bytes_out;
}
