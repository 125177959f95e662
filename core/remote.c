/* remote: the engine's remote-control socket (core/remote.h has the
 * protocol) and the JSON every remote answer is made of.
 *
 * Owns: the listening uv_pipe_t, one struct rclient per connection (its
 * pipe, its partial input line, the last status line it was sent) and one
 * struct rreq per command in flight. A command's reply may come after its
 * client hung up, or after remote_close freed everything: the command
 * holds the request record, never the client. A client going away only
 * detaches its records (rreq.client = NULL); the reply then frees the
 * record and drops the answer.
 *
 * A client that half-closes after its requests (`nc -N`) still gets their
 * replies; the connection is shut down once the last one is written.
 *
 * Thread: the loop's, for everything here. Must never block (the checks of
 * remote_listen are a few stats and one non-blocking connect), never free
 * a client outside its close callback, never build JSON by hand. Writes go
 * through libuv, which uses write(2): the process must ignore SIGPIPE
 * (the engine does, core/engine.h). */
#include "core/remote.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/json.h"
#include "base/xmalloc.h"
#include "core/queue.h"
#include "remote_internal.h"

/* A client with this much output waiting is not reading: it is dropped. */
#define WRITE_QUEUE_MAX (1024 * 1024)
/* Least free room offered to each read. */
#define READ_CHUNK     4096
#define LISTEN_BACKLOG 16

struct rreq;

struct rclient {
    uv_pipe_t pipe; /* pipe.data = the client */
    struct remote *r;
    struct rclient *prev, *next; /* r->clients, until the close callback */
    struct rreq *reqs;           /* commands in flight for this client */
    char *in;                    /* input not yet split into lines */
    size_t in_len, in_cap;
    bool follow;       /* status --follow: a line per change */
    char *last_status; /* the last status line sent (follow) */
    bool eof;          /* the client sent everything it will send */
    bool done;         /* closing: nothing more is read or sent */
};

struct rreq {
    struct rclient *client; /* NULL once the client is gone */
    struct rreq *prev, *next;
};

struct remote {
    struct remote_config cfg; /* cfg.path is path */
    char *path;
    uv_pipe_t listener;
    dev_t dev; /* the socket file we bound: unlinked only if still ours */
    ino_t ino;
    struct rclient *clients;
    struct mq_snapshot snap; /* scratch for remote_notify */
    bool closing;
    unsigned pending_closes;
    void (*close_cb)(void *arg);
    void *close_arg;
};

struct rwrite {
    uv_write_t req; /* first: the uv_write_t * is the struct rwrite * */
    char *line;
};

/* ---- JSON ---- */

/* A NUL-terminated text of the snapshot, at most cap bytes. */
static json_t *fixed_text(const char *s, size_t cap)
{
    return json_text(s, strnlen(s, cap));
}

static json_t *json_u64(uint64_t v)
{
    return json_integer(v > (uint64_t)INT64_MAX ? INT64_MAX : (json_int_t)v);
}

static json_t *seconds(int64_t ms)
{
    return json_real((double)ms / 1000.0);
}

/* o[key] = v (a new reference, taken). */
static void put(json_t *o, const char *key, json_t *v)
{
    json_object_set_new(o, key, json_must(v));
}

/* {key1: v1, key2: v2}, both taken. */
static json_t *pair(const char *key1, json_t *v1, const char *key2, json_t *v2)
{
    json_t *o = json_must(json_object());
    put(o, key1, v1);
    put(o, key2, v2);
    return o;
}

static json_t *track_json(const struct mq_snapshot *s)
{
    if (!s->has_track)
        return json_null();
    const struct mq_track *t = &s->track;
    json_t *o = json_must(json_object());
    put(o, "id", json_u64(t->id));
    put(o, "title", fixed_text(t->title, sizeof(t->title)));
    put(o, "artist", fixed_text(t->artist, sizeof(t->artist)));
    put(o, "album", fixed_text(t->album, sizeof(t->album)));
    put(o, "duration", seconds(s->duration_ms > 0 ? s->duration_ms : t->duration_ms));
    return o;
}

/* The swarm's totals, in status and in peers: connections n/60, upload
 * slots k/4, bytes heard and playbacks by source, discovery answers,
 * chunks refused. */
static void put_swarm_totals(json_t *o, const struct mq_snapshot *s)
{
    json_t *bytes =
        pair("cache", json_u64(s->bytes_from_cache), "peers", json_u64(s->bytes_from_peers));
    put(bytes, "service", json_u64(s->bytes_from_service));
    put(o, "bytes", bytes);
    json_t *plays = pair("cache", json_u64(s->playbacks_from_cache), "peers",
                         json_u64(s->playbacks_from_peers));
    put(plays, "service", json_u64(s->playbacks_from_service));
    put(o, "playbacks", plays);
    put(o, "downloaded",
        pair("peers", json_u64(s->downloaded_peers), "service", json_u64(s->downloaded_service)));
    put(o, "uploaded", json_u64(s->uploaded));
    put(o, "peers",
        pair("connected", json_integer(s->peers_connected), "max", json_integer(s->peers_max)));
    put(o, "slots",
        pair("used", json_integer(s->upload_slots_used), "max", json_integer(s->upload_slots_max)));
    json_t *discovery =
        pair("tracker", json_u64(s->found_tracker), "search", json_u64(s->found_search));
    put(discovery, "track",
        pair("tracker", json_integer(s->track_found_tracker), "search",
             json_integer(s->track_found_search)));
    put(o, "discovery", discovery);
    json_t *chunks =
        pair("rejected", json_u64(s->chunks_rejected), "served", json_u64(s->chunks_served));
    put(chunks, "busy", json_u64(s->busy_replies));
    put(o, "chunks", chunks);
    json_t *p2p = json_must(json_object());
    put(p2p, "listen",
        s->p2p_listen[0] ? fixed_text(s->p2p_listen, sizeof(s->p2p_listen)) : json_null());
    put(p2p, "banned", json_u64(s->peers_banned));
    put(p2p, "rate_down", json_u64(s->rate_down_bps));
    put(p2p, "rate_up", json_u64(s->rate_up_bps));
    put(o, "p2p", p2p);
}

json_t *remote_status_json(const struct mq_snapshot *s)
{
    json_t *st = json_must(json_object());
    put(st, "state", json_string(mq_play_state_name(s->state)));
    put(st, "track", track_json(s));
    put(st, "position", seconds(s->position_ms));
    put(st, "buffered", seconds(s->buffered_ahead_ms));
    put(st, "volume", json_integer(s->volume_percent));
    put(st, "repeat", json_string(mq_repeat_name(s->repeat)));
    put(st, "shuffle", json_boolean(s->shuffle));
    put(st, "service", json_string(mq_service_state_name(s->service)));
    put(st, "service_since", json_integer(s->service_since));

    put_swarm_totals(st, s);

    uint64_t looked = s->cache_hits + s->cache_misses;
    json_t *cache = json_must(json_object());
    put(cache, "hit_rate", json_real(looked ? (double)s->cache_hits / (double)looked : 0.0));
    put(cache, "used", json_u64(s->cache_used));
    put(cache, "cap", json_u64(s->cache_cap));
    put(st, "cache", cache);
    put(st, "queue",
        pair("position", s->queue_pos >= 0 ? json_integer(s->queue_pos + 1) : json_null(), "length",
             json_u64(s->queue_len)));
    return st;
}

json_t *remote_peers_json(const struct mq_snapshot *s)
{
    json_t *conns = json_must(json_array());
    int n = s->nconns < 0 ? 0 : s->nconns > MQ_MAX_CONNS ? MQ_MAX_CONNS : s->nconns;
    for (int i = 0; i < n; i++) {
        const struct mq_conn *c = &s->conns[i];
        json_t *o = json_must(json_object());
        put(o, "address", fixed_text(c->address, sizeof(c->address)));
        put(o, "direction", json_string(c->inbound ? "in" : "out"));
        put(o, "state", fixed_text(c->state, sizeof(c->state)));
        put(o, "rate_down", json_u64(c->rate_down));
        put(o, "rate_up", json_u64(c->rate_up));
        put(o, "bytes_down", json_u64(c->bytes_down));
        put(o, "bytes_up", json_u64(c->bytes_up));
        put(o, "requests_in_flight", json_integer(c->requests_in_flight));
        put(o, "chunks_served", json_integer(c->chunks_served));
        put(o, "rtt_ms", c->rtt_ms >= 0 ? json_integer(c->rtt_ms) : json_null());
        json_array_append_new(conns, o);
    }
    json_t *out = json_must(json_object());
    put(out, "connections", conns);
    put_swarm_totals(out, s);
    return out;
}

/* {"ok": true, "message": ..., "data": ...}; data is borrowed. */
static json_t *reply_ok(const char *message, const json_t *data)
{
    json_t *reply = json_must(json_pack("{s:b}", "ok", 1));
    if (message)
        json_object_set_new(reply, "message", json_text0(message));
    /* data is the command's, borrowed for the reply call: the reference
     * taken here is dropped before the call returns. */
    if (data)
        json_object_set(reply, "data", (json_t *)data);
    return reply;
}

/* {"ok": false, "error": ..., "usage": ...}. */
static json_t *reply_error(const char *error, bool usage)
{
    return json_must(
        json_pack("{s:b, s:o, s:b}", "ok", 0, "error", json_text0(error), "usage", (int)usage));
}

/* ---- clients ---- */

static void client_close(struct rclient *c);
static void client_finish(struct rclient *c);

/* Stops everything a closing client does: nothing more is read or sent,
 * and the replies still to come are detached. */
static void client_stop(struct rclient *c)
{
    c->done = true;
    for (struct rreq *q = c->reqs, *next; q; q = next) {
        next = q->next;
        q->client = NULL;
        q->prev = q->next = NULL;
    }
    c->reqs = NULL;
    if (!uv_is_closing((uv_handle_t *)&c->pipe))
        uv_read_stop((uv_stream_t *)&c->pipe);
}

static void remote_closed_one(struct remote *r)
{
    if (--r->pending_closes > 0)
        return;
    void (*cb)(void *) = r->close_cb;
    void *arg = r->close_arg;
    free(r->path);
    free(r);
    if (cb)
        cb(arg);
}

static void on_client_closed(uv_handle_t *h)
{
    struct rclient *c = h->data;
    struct remote *r = c->r;
    if (c->prev)
        c->prev->next = c->next;
    else
        r->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c->in);
    free(c->last_status);
    free(c);
    if (r->closing)
        remote_closed_one(r);
}

/* Closes at once: output still queued is dropped. */
static void client_close(struct rclient *c)
{
    client_stop(c);
    if (!uv_is_closing((uv_handle_t *)&c->pipe))
        uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    uv_handle_t *h = (uv_handle_t *)req->handle;
    free(req);
    if (!uv_is_closing(h))
        uv_close(h, on_client_closed);
}

/* Closes once the output queued so far has been written. */
static void client_finish(struct rclient *c)
{
    if (c->done)
        return;
    client_stop(c);
    uv_shutdown_t *req = xmalloc(sizeof(*req));
    if (uv_shutdown(req, (uv_stream_t *)&c->pipe, on_shutdown) != 0) {
        free(req);
        client_close(c);
    }
}

static void on_written(uv_write_t *req, int status)
{
    struct rwrite *w = (struct rwrite *)req;
    struct rclient *c = req->handle->data;
    free(w->line);
    free(w);
    if (status < 0 && status != UV_ECANCELED && !c->done) {
        clog_debug(c->r->cfg.log, REMOTE_LOG_MODULE, "client gone: %s", uv_strerror(status));
        client_close(c);
    }
}

/* Queues text (len bytes, no newline) and a newline. */
static void client_send_text(struct rclient *c, const char *text, size_t len)
{
    if (c->done)
        return;
    uv_stream_t *s = (uv_stream_t *)&c->pipe;
    if (uv_stream_get_write_queue_size(s) > WRITE_QUEUE_MAX) {
        clog_warn(c->r->cfg.log, REMOTE_LOG_MODULE,
                  "a client does not read its replies (over %d bytes waiting): disconnected",
                  WRITE_QUEUE_MAX);
        client_close(c);
        return;
    }
    struct rwrite *w = xmalloc(sizeof(*w));
    w->line = xmalloc(len + 1);
    memcpy(w->line, text, len);
    w->line[len] = '\n';
    uv_buf_t buf = uv_buf_init(w->line, (unsigned)(len + 1));
    int rc = uv_write(&w->req, s, &buf, 1, on_written);
    if (rc < 0) {
        free(w->line);
        free(w);
        clog_debug(c->r->cfg.log, REMOTE_LOG_MODULE, "client gone: %s", uv_strerror(rc));
        client_close(c);
    }
}

/* One compact line of obj (released), or NULL (logged) if jansson cannot. */
static char *dump_line(struct remote *r, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT);
    json_decref(obj);
    if (!text)
        clog_error(r->cfg.log, REMOTE_LOG_MODULE, "a reply could not be encoded as JSON");
    return text;
}

/* Sends obj (released) as one line. A reply that cannot be encoded ends
 * the connection: the client sees it closed instead of waiting forever. */
static void client_send_json(struct rclient *c, json_t *obj)
{
    char *text = dump_line(c->r, obj);
    if (!text) {
        client_close(c);
        return;
    }
    client_send_text(c, text, strlen(text));
    free(text);
}

static const char *error_text(const struct remote *r, int err, char *buf, size_t size)
{
    if (r->cfg.error_text)
        return r->cfg.error_text(err);
    snprintf(buf, size, "error %d", err);
    return buf;
}

/* The status line followers get: {"ok": true, "data": STATUS}. */
static char *status_line(struct remote *r)
{
    r->cfg.snapshot(r->cfg.snapshot_ctx, &r->snap);
    json_t *status = remote_status_json(&r->snap);
    char *text = dump_line(r, reply_ok(NULL, status));
    json_decref(status);
    return text;
}

/* Sends text to a follower unless it is what it got last. */
static void follower_send(struct rclient *c, const char *text)
{
    if (!c->follow || c->done || (c->last_status && strcmp(c->last_status, text) == 0))
        return;
    client_send_text(c, text, strlen(text));
    free(c->last_status);
    c->last_status = xstrdup(text);
}

/* After a reply: a client that said all it had to say and waits for
 * nothing more is shut down. */
static void client_maybe_finish(struct rclient *c)
{
    if (c->eof && !c->reqs && !c->follow)
        client_finish(c);
}

/* cmd->reply of every command run for a client (cmd.h: once, on the loop). */
static void on_reply(void *ctx, const struct cmd_result *res)
{
    struct rreq *q = ctx;
    struct rclient *c = q->client;
    if (c) {
        if (q->prev)
            q->prev->next = q->next;
        else
            c->reqs = q->next;
        if (q->next)
            q->next->prev = q->prev;
    }
    free(q);
    if (!c)
        return; /* the client hung up, or the server closed: dropped */
    if (res->status == 0) {
        client_send_json(c, reply_ok(res->message, res->data));
    } else {
        char buf[32];
        const char *msg =
            res->message ? res->message : error_text(c->r, res->status, buf, sizeof(buf));
        client_send_json(c, reply_error(msg, res->status == CMD_EUSAGE));
    }
    client_maybe_finish(c);
}

/* Checks a request; fills argv (borrowed from req) and *follow. Returns
 * NULL or what is wrong with it. (json_loadb refuses "\u0000" in strings,
 * so the words are whole C strings.) */
_Static_assert(REMOTE_ARGV_MAX == 64, "the messages below say 64");
static const char *request_words(const json_t *req, char **argv, int *argc, bool *follow)
{
    if (!json_is_object(req))
        return "a request must be a JSON object";
    const json_t *words = json_object_get(req, "argv");
    if (!json_is_array(words) || json_array_size(words) < 1 ||
        json_array_size(words) > REMOTE_ARGV_MAX)
        return "\"argv\" must be an array of 1 to 64 strings";
    size_t i;
    const json_t *w;
    json_array_foreach(words, i, w)
    {
        if (!json_is_string(w))
            return "\"argv\" must be an array of 1 to 64 strings";
        argv[i] = (char *)json_string_value(w);
    }
    *argc = (int)json_array_size(words);
    const json_t *f = json_object_get(req, "follow");
    if (f && !json_is_boolean(f))
        return "\"follow\" must be true or false";
    *follow = json_is_true(f);
    return NULL;
}

/* Runs one request line (without its newline). */
static void client_line(struct rclient *c, const char *line, size_t len)
{
    struct remote *r = c->r;
    if (len && line[len - 1] == '\r')
        len--;
    if (len == 0)
        return;
    json_error_t jerr;
    json_t *req = json_loadb(line, len, 0, &jerr);
    if (!req) {
        char msg[JSON_ERROR_TEXT_LENGTH + 32];
        snprintf(msg, sizeof(msg), "the request is not JSON: %s", jerr.text);
        client_send_json(c, reply_error(msg, false));
        return;
    }
    char *argv[REMOTE_ARGV_MAX];
    int argc = 0;
    bool follow = false;
    const char *bad = request_words(req, argv, &argc, &follow);
    if (bad) {
        client_send_json(c, reply_error(bad, false));
    } else if (follow) {
        if (argc != 1 || strcmp(argv[0], "status") != 0) {
            client_send_json(c, reply_error("only status can be followed", true));
        } else {
            char *text = status_line(r);
            c->follow = true;
            free(c->last_status);
            c->last_status = NULL;
            if (text)
                follower_send(c, text);
            free(text);
        }
    } else {
        struct cmd *cmd = NULL;
        char *error = NULL;
        int rc = r->cfg.parse(argc, argv, &cmd, &error);
        if (rc != 0) {
            char buf[32];
            client_send_json(c, reply_error(error ? error : error_text(r, rc, buf, sizeof(buf)),
                                            rc == CMD_EUSAGE));
        } else {
            struct rreq *q = xcalloc(1, sizeof(*q));
            q->client = c;
            q->next = c->reqs;
            if (c->reqs)
                c->reqs->prev = q;
            c->reqs = q;
            cmd->reply = on_reply;
            cmd->reply_ctx = q;
            r->cfg.exec(r->cfg.exec_ctx, cmd); /* may reply, even close, right here */
        }
        free(error);
    }
    json_decref(req);
}

static void client_too_long(struct rclient *c)
{
    char msg[80];
    snprintf(msg, sizeof(msg), "the request is longer than %d bytes", REMOTE_LINE_MAX);
    client_send_json(c, reply_error(msg, false));
    client_finish(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct rclient *c = h->data;
    if (c->in_cap - c->in_len < READ_CHUNK) {
        size_t cap = 2 * c->in_cap;
        if (cap < c->in_len + READ_CHUNK)
            cap = c->in_len + READ_CHUNK;
        c->in = xrealloc(c->in, cap);
        c->in_cap = cap;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct rclient *c = s->data;
    if (nread == 0 || c->done)
        return;
    if (nread < 0) {
        if (nread != UV_EOF) {
            clog_debug(c->r->cfg.log, REMOTE_LOG_MODULE, "client gone: %s",
                       uv_strerror((int)nread));
            client_close(c);
            return;
        }
        /* The client sent all it will: a last line without a newline
         * counts; the replies still due are sent before closing. */
        c->eof = true;
        uv_read_stop(s);
        if (c->in_len > 0 && c->in_len <= REMOTE_LINE_MAX)
            client_line(c, c->in, c->in_len);
        c->in_len = 0;
        if (!c->done)
            client_maybe_finish(c);
        return;
    }
    size_t scan = c->in_len, start = 0;
    c->in_len += (size_t)nread;
    char *nl;
    while (!c->done && (nl = memchr(c->in + scan, '\n', c->in_len - scan)) != NULL) {
        size_t end = (size_t)(nl - c->in);
        if (end - start > REMOTE_LINE_MAX) {
            client_too_long(c);
            return;
        }
        client_line(c, c->in + start, end - start);
        start = scan = end + 1;
    }
    if (c->done)
        return;
    memmove(c->in, c->in + start, c->in_len - start);
    c->in_len -= start;
    if (c->in_len > REMOTE_LINE_MAX)
        client_too_long(c);
}

static void on_connection(uv_stream_t *server, int status)
{
    struct remote *r = server->data;
    if (status < 0) {
        clog_warn(r->cfg.log, REMOTE_LOG_MODULE, "accept: %s", uv_strerror(status));
        return;
    }
    struct rclient *c = xcalloc(1, sizeof(*c));
    c->r = r;
    uv_pipe_init(r->cfg.loop, &c->pipe, 0);
    c->pipe.data = c;
    c->next = r->clients;
    if (r->clients)
        r->clients->prev = c;
    r->clients = c;
    int rc = uv_accept(server, (uv_stream_t *)&c->pipe);
    if (rc != 0) {
        clog_warn(r->cfg.log, REMOTE_LOG_MODULE, "accept: %s", uv_strerror(rc));
        client_close(c);
        return;
    }
    uv_os_fd_t fd;
    unsigned long uid = 0;
    rc = uv_fileno((uv_handle_t *)&c->pipe, &fd);
    if (rc == 0)
        rc = remote_peer_uid(fd, &uid);
    if (rc != 0 || uid != (unsigned long)getuid()) {
        clog_warn(r->cfg.log, REMOTE_LOG_MODULE,
                  "refused a connection from uid %ld: not the engine's user (uid %lu)",
                  rc == 0 ? (long)uid : -1L, (unsigned long)getuid());
        client_send_json(
            c, reply_error("permission denied: this engine belongs to another user", false));
        client_finish(c);
        return;
    }
    rc = uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
    if (rc != 0)
        client_close(c);
}

/* ---- the socket file ---- */

char *remote_default_path(const char *configured)
{
    if (configured)
        return xstrdup(configured);
    const char *run = getenv("XDG_RUNTIME_DIR");
    if (run && run[0] == '/') {
        char *dir = paths_join(run, "chorus");
        char *path = paths_join(dir, "remote.sock");
        free(dir);
        return path;
    }
    return xasprintf("/tmp/chorus-%lu/remote.sock", (unsigned long)getuid());
}

static int fill_sockaddr(const char *path, struct sockaddr_un *sa)
{
    size_t len = strlen(path);
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (len == 0 || len >= sizeof(sa->sun_path))
        return REMOTE_EPATH;
    memcpy(sa->sun_path, path, len + 1);
    return 0;
}

int remote_connect_path(const char *path, bool nonblock)
{
    struct sockaddr_un sa;
    int rc = fill_sockaddr(path, &sa);
    if (rc != 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0)
        return -errno;
    while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (errno == EINTR)
            continue;
        rc = -errno;
        close(fd);
        return rc;
    }
    return fd;
}

int remote_peer_uid(int fd, unsigned long *uid)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
        return -errno;
    *uid = (unsigned long)cred.uid;
    return 0;
}

/* Makes the socket's directory (0700) if missing and checks that it is a
 * real directory of ours that nobody else can write to. */
static int check_dir(struct clog *log, const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = !slash          ? xstrdup(".")
                : slash == path ? xstrdup("/")
                                : xstrndup(path, (size_t)(slash - path));
    int rc = fs_mkdir_p(dir, 0700);
    struct stat st;
    if (rc == 0 && lstat(dir, &st) != 0)
        rc = -errno;
    if (rc != 0) {
        clog_error(log, REMOTE_LOG_MODULE, "cannot make the socket's directory %s: %s", dir,
                   fs_strerror(rc));
    } else if (!S_ISDIR(st.st_mode)) {
        clog_error(log, REMOTE_LOG_MODULE,
                   "refusing the socket's directory %s: it is not a directory (a symbolic "
                   "link?)",
                   dir);
        rc = REMOTE_EUNSAFE;
    } else if (st.st_uid != getuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        clog_error(log, REMOTE_LOG_MODULE,
                   "refusing the socket's directory %s: owner uid %lu, mode %04o; it must be "
                   "owned by uid %lu and writable by nobody else (chmod 700)",
                   dir, (unsigned long)st.st_uid, (unsigned)(st.st_mode & 07777),
                   (unsigned long)getuid());
        rc = REMOTE_EUNSAFE;
    }
    free(dir);
    return rc;
}

/* Removes a stale socket at path. Returns 0 (nothing in the way now),
 * REMOTE_ERUNNING when something answers there, -EEXIST when the path is
 * not a socket (left alone), or -errno. */
static int clear_stale(struct clog *log, const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -errno;
    if (!S_ISSOCK(st.st_mode)) {
        clog_error(log, REMOTE_LOG_MODULE, "%s exists and is not a socket: left alone", path);
        return -EEXIST;
    }
    int fd = remote_connect_path(path, true);
    if (fd >= 0 || fd == -EAGAIN) {
        if (fd >= 0)
            close(fd);
        clog_error(log, REMOTE_LOG_MODULE, "an engine already answers on %s", path);
        return REMOTE_ERUNNING;
    }
    if (fd != -ECONNREFUSED && fd != -ENOENT)
        return fd;
    if (unlink(path) != 0 && errno != ENOENT)
        return -errno;
    clog_info(log, REMOTE_LOG_MODULE, "replaced the stale socket %s (nobody answered)", path);
    return 0;
}

/* A listening-to-be socket bound at path, mode 0600 (bound under umask
 * 077, so it is never reachable by others, not even for an instant).
 * Returns the fd or an error. */
static int bind_socket(const char *path)
{
    struct sockaddr_un sa;
    int rc = fill_sockaddr(path, &sa);
    if (rc != 0)
        return rc;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    mode_t old = umask(077);
    rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ? -errno : 0;
    umask(old);
    if (rc == -EADDRINUSE)
        rc = REMOTE_ERUNNING; /* another engine bound it since clear_stale */
    else if (rc == 0 && chmod(path, 0600) != 0) {
        rc = -errno;
        unlink(path);
    }
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return fd;
}

/* Frees r after a failed start (the listener handle is closed). */
static void on_listener_failed(uv_handle_t *h)
{
    struct remote *r = h->data;
    free(r->path);
    free(r);
}

int remote_listen(const struct remote_config *cfg, struct remote **out)
{
    *out = NULL;
    if (!cfg->loop || !cfg->path || !cfg->exec || !cfg->snapshot || !cfg->parse)
        return -EINVAL;
    struct sockaddr_un sa;
    int rc = fill_sockaddr(cfg->path, &sa);
    if (rc != 0) {
        clog_error(cfg->log, REMOTE_LOG_MODULE, "the socket path must have 1 to %zu bytes: '%s'",
                   sizeof(sa.sun_path) - 1, cfg->path);
        return rc;
    }
    if ((rc = check_dir(cfg->log, cfg->path)) != 0 || (rc = clear_stale(cfg->log, cfg->path)) != 0)
        return rc;
    int fd = bind_socket(cfg->path);
    if (fd < 0) {
        clog_error(cfg->log, REMOTE_LOG_MODULE, "cannot bind %s: %s", cfg->path,
                   remote_strerror(fd));
        return fd;
    }
    struct stat st;
    if (lstat(cfg->path, &st) != 0)
        memset(&st, 0, sizeof(st));

    struct remote *r = xcalloc(1, sizeof(*r));
    r->cfg = *cfg;
    r->path = xstrdup(cfg->path);
    r->cfg.path = r->path;
    r->dev = st.st_dev;
    r->ino = st.st_ino;
    uv_pipe_init(cfg->loop, &r->listener, 0);
    r->listener.data = r;
    rc = uv_pipe_open(&r->listener, fd);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&r->listener, LISTEN_BACKLOG, on_connection);
    if (rc != 0) {
        /* Rare (the fd is fine): the handle is closed, and r freed, when the
         * loop runs next. */
        clog_error(cfg->log, REMOTE_LOG_MODULE, "cannot listen on %s: %s", cfg->path,
                   uv_strerror(rc));
        unlink(cfg->path);
        uv_os_fd_t owned;
        if (uv_fileno((uv_handle_t *)&r->listener, &owned) != 0)
            close(fd); /* uv_pipe_open failed: the fd is still ours */
        uv_close((uv_handle_t *)&r->listener, on_listener_failed);
        return rc;
    }
    clog_info(cfg->log, REMOTE_LOG_MODULE, "listening on %s", r->path);
    *out = r;
    return 0;
}

void remote_notify(struct remote *r)
{
    if (r->closing)
        return;
    bool any = false;
    for (struct rclient *c = r->clients; c && !any; c = c->next)
        any = c->follow && !c->done;
    if (!any)
        return;
    char *text = status_line(r);
    if (!text)
        return;
    /* Sending may close a client, which leaves the list in its callback. */
    for (struct rclient *c = r->clients; c; c = c->next)
        follower_send(c, text);
    free(text);
}

static void on_listener_closed(uv_handle_t *h)
{
    remote_closed_one(h->data);
}

void remote_close(struct remote *r, void (*cb)(void *arg), void *arg)
{
    r->closing = true;
    r->close_cb = cb;
    r->close_arg = arg;
    r->pending_closes = 1;
    uv_close((uv_handle_t *)&r->listener, on_listener_closed);
    for (struct rclient *c = r->clients; c; c = c->next) {
        r->pending_closes++;
        client_close(c);
    }
    /* Only our own socket: another engine may have replaced it since. */
    struct stat st;
    if (lstat(r->path, &st) == 0 && st.st_dev == r->dev && st.st_ino == r->ino)
        unlink(r->path);
    clog_info(r->cfg.log, REMOTE_LOG_MODULE, "closed %s", r->path);
}

const char *remote_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
    case REMOTE_ERUNNING:
        return "an engine is already running on that socket";
    case REMOTE_EUNSAFE:
        return "the socket's directory is not the user's own (it must be owned by the user and "
               "writable by nobody else)";
    case REMOTE_EPATH:
        return "the socket path is too long for a UNIX socket";
    case REMOTE_ENOENGINE:
        return "no engine is running";
    case REMOTE_EPROTO:
        return "the engine's answer is not a reply";
    default:
        /* libuv's codes (uv_listen, uv_pipe_bind); uv_strerror allocates
         * a string for a code it does not know, so only those */
        return err < 0 && err > -4096 ? uv_strerror(err) : "unknown remote error";
    }
}
