/* Tests for core/remote: the status and peers JSON (every field, parsed
 * back; the UTF-8 repair is base/json's: test_json), and the socket end
 * to end with a real uv loop serving on its own thread and remote_run or
 * raw sockets as clients: replies (message, data, errors, a reply from a
 * timer), hang-ups before a reply, pipelining, follow, malformed lines,
 * stale and live sockets, unsafe directories and other users. The command
 * table is not part of this module: a small parser of a few words stands
 * in for it. */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/xmalloc.h"
#include "core/queue.h"
#include "core/remote.h"

#define WAIT_MS     5000 /* longest wait for something that must come */
#define QUIET_MS    300  /* how long "nothing comes" is watched */
#define LATER_MS    150  /* the delayed command's delay */
#define NOBODY_UID  65534
#define FOLLOW_SPAM 5000 /* status changes sent to a follower that does not read */

/* ---- the stand-in command table ---- */

static void test_cmd_free(struct cmd *c)
{
    free(c->text);
    free(c);
}

/* pause | next | status | peers | search QUERY | volume N */
static int test_parse(int argc, char *const *argv, struct cmd **out, char **error)
{
    static const struct {
        const char *name;
        enum cmd_id id;
        int nargs;
    } words[] = {
        {"pause", CMD_PAUSE, 0},      {"next", CMD_NEXT, 0},     {"status", CMD_STATUS, 0},
        {"peers", CMD_PEERS, 0},      {"search", CMD_SEARCH, 1}, {"volume", CMD_VOLUME, 1},
        {"queue", CMD_QUEUE_LIST, 1},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (strcmp(argv[0], words[i].name) != 0)
            continue;
        if (argc - 1 != words[i].nargs) {
            *error = xasprintf("%s: expected %d argument(s)", argv[0], words[i].nargs);
            return CMD_EUSAGE;
        }
        struct cmd *c = xcalloc(1, sizeof(*c));
        c->id = words[i].id;
        if (c->id == CMD_SEARCH)
            c->text = xstrdup(argv[1]);
        if (c->id == CMD_VOLUME) {
            char *end;
            c->a = strtol(argv[1], &end, 10);
            if (!*argv[1] || *end) {
                free(c);
                *error = xasprintf("volume: expected N, got '%s'", argv[1]);
                return CMD_EUSAGE;
            }
        }
        *out = c;
        return 0;
    }
    *error = xasprintf("unknown command '%s'", argv[0]);
    return CMD_EUSAGE;
}

static const char *test_error_text(int err)
{
    return err == CMD_EEMPTY ? "nothing to play" : "some other error";
}

/* ---- the serving side: a uv loop on its own thread ---- */

struct fx {
    char *dir;  /* /tmp/chorus-test-XXXXXX */
    char *sock; /* dir/r.sock */
    uv_loop_t loop;
    uv_async_t wake;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    void (*call)(struct fx *fx, void *arg); /* under lock: the next job for the loop */
    void *call_arg;
    bool call_done;
    struct remote *r;
    struct mq_snapshot snap; /* loop thread (jobs run there) */
    int later_fired;         /* under lock: delayed replies sent */
    int closed;              /* under lock: remote_close callbacks */
};

struct later {
    uv_timer_t timer;
    struct cmd *cmd;
    struct fx *fx;
};

static void reply(struct cmd *c, int status, const char *message, json_t *data)
{
    struct cmd_result res = {.id = c->id, .status = status, .message = message, .data = data};
    c->reply(c->reply_ctx, &res);
    json_decref(data);
    test_cmd_free(c);
}

static void bump(struct fx *fx, int *counter)
{
    pthread_mutex_lock(&fx->lock);
    (*counter)++;
    pthread_cond_broadcast(&fx->cond);
    pthread_mutex_unlock(&fx->lock);
}

static void free_handle(uv_handle_t *h)
{
    free(h->data);
}

static void on_later(uv_timer_t *t)
{
    struct later *l = t->data;
    reply(l->cmd, 0, "Next.", NULL);
    bump(l->fx, &l->fx->later_fired);
    uv_close((uv_handle_t *)t, free_handle);
}

static void test_exec(void *ctx, struct cmd *c)
{
    struct fx *fx = ctx;
    switch (c->id) {
    case CMD_PAUSE:
        reply(c, 0, "Paused.", NULL);
        break;
    case CMD_STATUS:
        reply(c, 0, NULL, remote_status_json(&fx->snap));
        break;
    case CMD_PEERS:
        reply(c, 0, NULL, remote_peers_json(&fx->snap));
        break;
    case CMD_SEARCH:
        reply(c, 0, NULL,
              json_pack("[{s:i, s:s, s:s}, {s:i, s:s, s:s}]", "id", 7, "title", c->text, "artist",
                        "Tester", "id", 8, "title", "Second", "artist", "Tester"));
        break;
    case CMD_QUEUE_LIST:
        reply(c, 0, NULL,
              json_pack("[{s:i, s:s, s:s, s:b}, {s:i, s:s, s:s, s:b}]", "id", 1, "title", "A",
                        "artist", "B", "current", 1, "id", 2, "title", "C", "artist", "C",
                        "current", 0));
        break;
    case CMD_VOLUME:
        if (c->a > 200)
            reply(c, CMD_EEMPTY, NULL, NULL);
        else if (c->a > 100)
            reply(c, CMD_EUNKNOWN, "volume: out of range", NULL);
        else
            reply(c, 0, "Volume set.", NULL);
        break;
    case CMD_NEXT: {
        struct later *l = xcalloc(1, sizeof(*l));
        l->cmd = c;
        l->fx = fx;
        uv_timer_init(&fx->loop, &l->timer);
        l->timer.data = l;
        uv_timer_start(&l->timer, on_later, LATER_MS, 0);
        break;
    }
    default:
        reply(c, CMD_EUNKNOWN, "unexpected command", NULL);
    }
}

static void test_snapshot(void *ctx, struct mq_snapshot *out)
{
    struct fx *fx = ctx;
    *out = fx->snap;
}

/* A snapshot with every field set, and text that JSON must escape or
 * repair: quotes, a control character, a byte that is not UTF-8. */
static void fill_snapshot(struct mq_snapshot *s)
{
    memset(s, 0, sizeof(*s));
    s->state = MQ_PLAYING;
    s->has_track = true;
    s->track.id = 42;
    strcpy(s->track.title, "Say \"hi\"\x01 \xff end");
    strcpy(s->track.artist, "\xc3\x84rtist");
    strcpy(s->track.album, "Album\n2");
    s->track.duration_ms = 296000;
    s->position_ms = 83500;
    s->buffered_ahead_ms = 12250;
    s->volume_percent = 80;
    s->repeat = QUEUE_REPEAT_ALL;
    s->shuffle = true;
    s->queue_pos = 2;
    s->queue_len = 10;
    s->service = MQ_SERVICE_ONLINE;
    s->service_since = 1700000000;
    s->bytes_from_cache = 1001;
    s->bytes_from_peers = 1002;
    s->bytes_from_service = 1003;
    s->downloaded_peers = 2001;
    s->downloaded_service = 2002;
    s->uploaded = 3001;
    s->cache_hits = 3;
    s->cache_misses = 1;
    s->cache_used = 4000;
    s->cache_cap = 5000;
    s->peers_connected = 3;
    s->peers_max = 60;
    s->upload_slots_used = 2;
    s->upload_slots_max = 4;
    strcpy(s->p2p_listen, "127.0.0.1:4100");
    s->playbacks_from_cache = 5;
    s->playbacks_from_peers = 6;
    s->playbacks_from_service = 7;
    s->found_tracker = 8;
    s->found_search = 9;
    s->track_found_tracker = 5;
    s->track_found_search = 4;
    s->chunks_rejected = 10;
    s->peers_banned = 11;
    s->chunks_served = 12;
    s->busy_replies = 13;
    s->rate_down_bps = 14;
    s->rate_up_bps = 15;
    s->nconns = 2;
    strcpy(s->conns[0].address, "10.0.0.2:4100");
    s->conns[0].inbound = true;
    strcpy(s->conns[0].state, "ready");
    s->conns[0].rate_down = 100;
    s->conns[0].rate_up = 200;
    s->conns[0].bytes_down = 300;
    s->conns[0].bytes_up = 400;
    s->conns[0].requests_in_flight = 5;
    s->conns[0].chunks_served = 6;
    s->conns[0].rtt_ms = 12;
    strcpy(s->conns[1].address, "10.0.0.3:4100");
    strcpy(s->conns[1].state, "handshake");
    s->conns[1].rtt_ms = -1;
}

static void on_wake(uv_async_t *a)
{
    struct fx *fx = a->data;
    pthread_mutex_lock(&fx->lock);
    void (*call)(struct fx *, void *) = fx->call;
    void *arg = fx->call_arg;
    fx->call = NULL;
    pthread_mutex_unlock(&fx->lock);
    if (!call)
        return;
    call(fx, arg);
    pthread_mutex_lock(&fx->lock);
    fx->call_done = true;
    pthread_cond_broadcast(&fx->cond);
    pthread_mutex_unlock(&fx->lock);
}

static void *loop_main(void *p)
{
    struct fx *fx = p;
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    return NULL;
}

/* Runs fn(fx, arg) on the loop's thread and waits for it. */
static void fx_call(struct fx *fx, void (*fn)(struct fx *, void *), void *arg)
{
    pthread_mutex_lock(&fx->lock);
    fx->call = fn;
    fx->call_arg = arg;
    fx->call_done = false;
    pthread_mutex_unlock(&fx->lock);
    uv_async_send(&fx->wake);
    pthread_mutex_lock(&fx->lock);
    while (!fx->call_done)
        pthread_cond_wait(&fx->cond, &fx->lock);
    pthread_mutex_unlock(&fx->lock);
}

/* Waits until *counter (under fx->lock) reaches n. */
static void fx_wait_for(struct fx *fx, const int *counter, int n)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WAIT_MS / 1000 * 2;
    pthread_mutex_lock(&fx->lock);
    int rc = 0;
    while (*counter < n && rc == 0)
        rc = pthread_cond_timedwait(&fx->cond, &fx->lock, &deadline);
    int got = *counter;
    pthread_mutex_unlock(&fx->lock);
    assert_int_equal(got, n);
}

struct listen_job {
    const char *path;
    struct remote *r;
    int rc;
};

static void listen_on_loop(struct fx *fx, void *arg)
{
    struct listen_job *job = arg;
    struct remote_config cfg = {
        .loop = &fx->loop,
        .path = job->path,
        .exec = test_exec,
        .exec_ctx = fx,
        .snapshot = test_snapshot,
        .snapshot_ctx = fx,
        .parse = test_parse,
        .error_text = test_error_text,
    };
    job->rc = remote_listen(&cfg, &job->r);
}

/* remote_listen on the loop; returns its result, *out the server. */
static int fx_listen(struct fx *fx, const char *path, struct remote **out)
{
    struct listen_job job = {.path = path};
    fx_call(fx, listen_on_loop, &job);
    *out = job.r;
    return job.rc;
}

static void on_remote_closed(void *arg)
{
    struct fx *fx = arg;
    bump(fx, &fx->closed);
}

static void close_on_loop(struct fx *fx, void *arg)
{
    remote_close(arg, on_remote_closed, fx);
}

/* remote_close on the loop; waits for its callback. */
static void fx_close(struct fx *fx, struct remote *r)
{
    pthread_mutex_lock(&fx->lock);
    int n = fx->closed + 1;
    pthread_mutex_unlock(&fx->lock);
    fx_call(fx, close_on_loop, r);
    fx_wait_for(fx, &fx->closed, n);
}

static struct fx *fx_new(void)
{
    struct fx *fx = xcalloc(1, sizeof(*fx));
    fx->dir = xstrdup("/tmp/chorus-test-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    fx->sock = xasprintf("%s/r.sock", fx->dir);
    fill_snapshot(&fx->snap);
    pthread_mutex_init(&fx->lock, NULL);
    pthread_cond_init(&fx->cond, NULL);
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_int_equal(uv_async_init(&fx->loop, &fx->wake, on_wake), 0);
    fx->wake.data = fx;
    assert_int_equal(pthread_create(&fx->thread, NULL, loop_main, fx), 0);
    return fx;
}

/* fx_new, serving on fx->sock. */
static struct fx *fx_serving(void)
{
    struct fx *fx = fx_new();
    assert_int_equal(fx_listen(fx, fx->sock, &fx->r), 0);
    return fx;
}

static void stop_on_loop(struct fx *fx, void *arg)
{
    uv_close((uv_handle_t *)&fx->wake, NULL);
}

/* Closes the server if any, lets the loop finish (timers still pending
 * fire first) and checks that no handle is left. */
static void fx_free(struct fx *fx)
{
    if (fx->r)
        fx_close(fx, fx->r);
    fx_call(fx, stop_on_loop, NULL);
    pthread_join(fx->thread, NULL);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    pthread_mutex_destroy(&fx->lock);
    pthread_cond_destroy(&fx->cond);
    testutil_rmtree(fx->dir);
    free(fx->dir);
    free(fx->sock);
    free(fx);
}

static void notify_on_loop(struct fx *fx, void *arg)
{
    remote_notify(fx->r);
}

static void pause_and_notify(struct fx *fx, void *arg)
{
    fx->snap.state = MQ_PAUSED;
    remote_notify(fx->r);
}

static void spam_notify(struct fx *fx, void *arg)
{
    for (int i = 0; i < FOLLOW_SPAM; i++) {
        fx->snap.position_ms = 1000 * i;
        remote_notify(fx->r);
    }
}

/* ---- clients ---- */

struct run {
    int status;
    char *out, *err;
    size_t out_len, err_len;
};

static struct run run_argv(const char *path, bool json, const char *const *words)
{
    struct run res = {0};
    FILE *out = open_memstream(&res.out, &res.out_len);
    FILE *err = open_memstream(&res.err, &res.err_len);
    int argc = 0;
    while (words[argc])
        argc++;
    res.status = remote_run(path, argc, (char *const *)words, json, false, out, err);
    fclose(out);
    fclose(err);
    return res;
}

#define RUN(path, json, ...) run_argv((path), (json), (const char *const[]){__VA_ARGS__, NULL})

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

/* Runs a command and checks exit status, output and errors. */
static void expect_run(struct run r, int status, const char *out, const char *err)
{
    assert_string_equal(r.out, out);
    assert_string_equal(r.err, err);
    assert_int_equal(r.status, status);
    run_free(&r);
}

/* A client speaking the protocol by hand. */
struct raw {
    int fd;
    char buf[64 * 1024];
    size_t len;
};

static struct raw *raw_connect(const char *path)
{
    struct raw *c = xcalloc(1, sizeof(*c));
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(c->fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return c;
}

static void raw_close(struct raw *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

/* Sends all of text, or as much as the server takes before it hangs up. */
static void raw_send(struct raw *c, const char *text, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, text, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        text += n;
        len -= (size_t)n;
    }
}

static void raw_send_str(struct raw *c, const char *text)
{
    raw_send(c, text, strlen(text));
}

/* The next line as JSON (*out, owned by the caller): 1; 0 when the server
 * hung up; -1 when nothing came within timeout_ms. */
static int raw_line(struct raw *c, int timeout_ms, json_t **out)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl) {
            json_error_t jerr;
            *out = json_loadb(c->buf, (size_t)(nl - c->buf), 0, &jerr);
            if (!*out)
                fail_msg("server sent a line that is not JSON: %s", jerr.text);
            c->len -= (size_t)(nl + 1 - c->buf);
            memmove(c->buf, nl + 1, c->len);
            return 1;
        }
        assert_true(c->len < sizeof(c->buf));
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        if (poll(&pfd, 1, timeout_ms) == 0)
            return -1;
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
        if (n <= 0)
            return 0;
        c->len += (size_t)n;
    }
}

/* The next reply, which must come. */
static json_t *raw_reply(struct raw *c)
{
    json_t *j = NULL;
    assert_int_equal(raw_line(c, WAIT_MS, &j), 1);
    assert_true(json_is_object(j));
    assert_true(json_is_boolean(json_object_get(j, "ok")));
    return j;
}

static void expect_ok_message(json_t *reply_obj, const char *message)
{
    assert_true(json_is_true(json_object_get(reply_obj, "ok")));
    assert_string_equal(json_string_value(json_object_get(reply_obj, "message")), message);
    assert_null(json_object_get(reply_obj, "data"));
    json_decref(reply_obj);
}

/* An error reply whose text contains part, with the given usage flag. */
static void expect_error(json_t *reply_obj, const char *part, bool usage)
{
    assert_true(json_is_false(json_object_get(reply_obj, "ok")));
    const char *error = json_string_value(json_object_get(reply_obj, "error"));
    assert_non_null(error);
    if (!strstr(error, part))
        fail_msg("error '%s' does not contain '%s'", error, part);
    assert_int_equal(json_is_true(json_object_get(reply_obj, "usage")), usage);
    assert_null(json_object_get(reply_obj, "message"));
    json_decref(reply_obj);
}

static void expect_hangup(struct raw *c)
{
    json_t *j = NULL;
    int rc = raw_line(c, WAIT_MS, &j);
    json_decref(j);
    assert_int_equal(rc, 0);
}

static void expect_quiet(struct raw *c)
{
    json_t *j = NULL;
    int rc = raw_line(c, QUIET_MS, &j);
    json_decref(j);
    assert_int_equal(rc, -1);
}

static const char *state_of(const json_t *reply_obj)
{
    return json_string_value(json_object_get(json_object_get(reply_obj, "data"), "state"));
}

/* ---- JSON ---- */

static const json_t *get(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!v)
        fail_msg("missing member '%s'", key);
    return v;
}

static void expect_int(const json_t *o, const char *key, json_int_t want)
{
    const json_t *v = get(o, key);
    assert_true(json_is_integer(v));
    assert_int_equal(json_integer_value(v), want);
}

static void expect_real(const json_t *o, const char *key, double want)
{
    const json_t *v = get(o, key);
    assert_true(json_is_real(v));
    assert_float_equal(json_real_value(v), want, 1e-9);
}

static void expect_str(const json_t *o, const char *key, const char *want)
{
    const json_t *v = get(o, key);
    assert_true(json_is_string(v));
    assert_int_equal(json_string_length(v), strlen(want));
    assert_memory_equal(json_string_value(v), want, strlen(want));
}

static const json_t *expect_obj(const json_t *o, const char *key, size_t members)
{
    const json_t *v = get(o, key);
    assert_true(json_is_object(v));
    assert_int_equal(json_object_size(v), members);
    return v;
}

/* The swarm's totals, in status and in peers (see fill_snapshot). */
static void expect_swarm_totals(const json_t *o)
{
    const json_t *bytes = expect_obj(o, "bytes", 3);
    expect_int(bytes, "cache", 1001);
    expect_int(bytes, "peers", 1002);
    expect_int(bytes, "service", 1003);
    const json_t *plays = expect_obj(o, "playbacks", 3);
    expect_int(plays, "cache", 5);
    expect_int(plays, "peers", 6);
    expect_int(plays, "service", 7);
    const json_t *down = expect_obj(o, "downloaded", 2);
    expect_int(down, "peers", 2001);
    expect_int(down, "service", 2002);
    expect_int(o, "uploaded", 3001);
    const json_t *peers = expect_obj(o, "peers", 2);
    expect_int(peers, "connected", 3);
    expect_int(peers, "max", 60);
    const json_t *slots = expect_obj(o, "slots", 2);
    expect_int(slots, "used", 2);
    expect_int(slots, "max", 4);
    const json_t *disc = expect_obj(o, "discovery", 3);
    expect_int(disc, "tracker", 8);
    expect_int(disc, "search", 9);
    const json_t *this_track = expect_obj(disc, "track", 2);
    expect_int(this_track, "tracker", 5);
    expect_int(this_track, "search", 4);
    const json_t *chunks = expect_obj(o, "chunks", 3);
    expect_int(chunks, "rejected", 10);
    expect_int(chunks, "served", 12);
    expect_int(chunks, "busy", 13);
    const json_t *p2p = expect_obj(o, "p2p", 4);
    expect_str(p2p, "listen", "127.0.0.1:4100");
    expect_int(p2p, "banned", 11);
    expect_int(p2p, "rate_down", 14);
    expect_int(p2p, "rate_up", 15);
}

static void test_status_json_fields(void **state)
{
    (void)state;
    struct mq_snapshot s;
    fill_snapshot(&s);
    json_t *st = testutil_json_round_trip(remote_status_json(&s));
    assert_int_equal(json_object_size(st), 20);
    expect_str(st, "state", "playing");
    const json_t *track = expect_obj(st, "track", 5);
    expect_int(track, "id", 42);
    expect_str(track, "title", "Say \"hi\"\x01 \xef\xbf\xbd end");
    expect_str(track, "artist", "\xc3\x84rtist");
    expect_str(track, "album", "Album\n2");
    expect_real(track, "duration", 296.0);
    expect_real(st, "position", 83.5);
    expect_real(st, "buffered", 12.25);
    expect_int(st, "volume", 80);
    expect_str(st, "repeat", "all");
    assert_true(json_is_true(get(st, "shuffle")));
    expect_str(st, "service", "online");
    expect_int(st, "service_since", 1700000000);
    expect_swarm_totals(st);
    const json_t *cache = expect_obj(st, "cache", 3);
    expect_real(cache, "hit_rate", 0.75);
    expect_int(cache, "used", 4000);
    expect_int(cache, "cap", 5000);
    const json_t *queue = expect_obj(st, "queue", 2);
    expect_int(queue, "position", 3);
    expect_int(queue, "length", 10);
    json_decref(st);

    /* The other values of every enumeration, and the nulls. */
    s.state = MQ_STOPPED;
    s.has_track = false;
    s.repeat = QUEUE_REPEAT_OFF;
    s.shuffle = false;
    s.queue_pos = -1;
    s.queue_len = 0;
    s.service = MQ_SERVICE_OFFLINE;
    s.cache_hits = s.cache_misses = 0;
    s.p2p_listen[0] = '\0';
    st = testutil_json_round_trip(remote_status_json(&s));
    assert_int_equal(json_object_size(st), 20);
    expect_str(st, "state", "stopped");
    assert_true(json_is_null(get(st, "track")));
    expect_str(st, "repeat", "off");
    assert_true(json_is_false(get(st, "shuffle")));
    expect_str(st, "service", "offline");
    expect_real(get(st, "cache"), "hit_rate", 0.0);
    assert_true(json_is_null(get(get(st, "p2p"), "listen")));
    assert_true(json_is_null(get(get(st, "queue"), "position")));
    expect_int(get(st, "queue"), "length", 0);
    json_decref(st);

    const struct {
        enum mq_play_state state;
        enum mq_service_state service;
        int repeat;
        const char *names[3];
    } others[] = {
        {MQ_PAUSED, MQ_SERVICE_CONNECTING, QUEUE_REPEAT_ONE, {"paused", "connecting", "one"}},
        {MQ_BUFFERING, MQ_SERVICE_ONLINE, 17, {"buffering", "online", "off"}},
    };
    for (size_t i = 0; i < 2; i++) {
        s.state = others[i].state;
        s.service = others[i].service;
        s.repeat = others[i].repeat;
        st = remote_status_json(&s);
        expect_str(st, "state", others[i].names[0]);
        expect_str(st, "service", others[i].names[1]);
        expect_str(st, "repeat", others[i].names[2]);
        json_decref(st);
    }
}

static void test_peers_json_fields(void **state)
{
    (void)state;
    struct mq_snapshot s;
    fill_snapshot(&s);
    json_t *p = testutil_json_round_trip(remote_peers_json(&s));
    assert_int_equal(json_object_size(p), 10);
    expect_swarm_totals(p);
    const json_t *conns = get(p, "connections");
    assert_true(json_is_array(conns));
    assert_int_equal(json_array_size(conns), 2);
    const json_t *c = json_array_get(conns, 0);
    assert_int_equal(json_object_size(c), 10);
    expect_str(c, "address", "10.0.0.2:4100");
    expect_str(c, "direction", "in");
    expect_str(c, "state", "ready");
    expect_int(c, "rate_down", 100);
    expect_int(c, "rate_up", 200);
    expect_int(c, "bytes_down", 300);
    expect_int(c, "bytes_up", 400);
    expect_int(c, "requests_in_flight", 5);
    expect_int(c, "chunks_served", 6);
    expect_int(c, "rtt_ms", 12);
    c = json_array_get(conns, 1);
    expect_str(c, "direction", "out");
    expect_str(c, "state", "handshake");
    assert_true(json_is_null(get(c, "rtt_ms")));
    json_decref(p);

    s.nconns = 0;
    p = remote_peers_json(&s);
    assert_int_equal(json_array_size(get(p, "connections")), 0);
    json_decref(p);
}

static void test_default_path(void **state)
{
    (void)state;
    char *saved = getenv("XDG_RUNTIME_DIR") ? xstrdup(getenv("XDG_RUNTIME_DIR")) : NULL;
    char *tmp = xasprintf("/tmp/chorus-%lu/remote.sock", (unsigned long)getuid());

    char *p = remote_default_path("relative/r.sock");
    assert_string_equal(p, "relative/r.sock");
    free(p);
    setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
    p = remote_default_path(NULL);
    assert_string_equal(p, "/run/user/7/chorus/remote.sock");
    free(p);
    setenv("XDG_RUNTIME_DIR", "/run/user/7/", 1);
    p = remote_default_path(NULL);
    assert_string_equal(p, "/run/user/7/chorus/remote.sock");
    free(p);
    const char *ignored[] = {"run/user/7", ""};
    for (size_t i = 0; i < 2; i++) {
        setenv("XDG_RUNTIME_DIR", ignored[i], 1);
        p = remote_default_path(NULL);
        assert_string_equal(p, tmp);
        free(p);
    }
    unsetenv("XDG_RUNTIME_DIR");
    p = remote_default_path(NULL);
    assert_string_equal(p, tmp);
    free(p);

    if (saved)
        setenv("XDG_RUNTIME_DIR", saved, 1);
    free(saved);
    free(tmp);
}

static void test_strerror_names_codes(void **state)
{
    (void)state;
    const int codes[] = {REMOTE_ERUNNING, REMOTE_EUNSAFE, REMOTE_EPATH, REMOTE_ENOENGINE,
                         REMOTE_EPROTO};
    for (size_t i = 0; i < 5; i++)
        assert_null(strstr(remote_strerror(codes[i]), "nknown"));
    assert_non_null(remote_strerror(-ENOENT));
}

/* ---- end to end ---- */

static void test_commands_end_to_end(void **state)
{
    (void)state;
    struct fx *fx = fx_serving();
    const char *sock = fx->sock;

    expect_run(RUN(sock, false, "pause"), REMOTE_EXIT_OK, "Paused.\n", "");
    expect_run(RUN(sock, true, "pause"), REMOTE_EXIT_OK, "", "");
    expect_run(RUN(sock, false, "status"), REMOTE_EXIT_OK,
               "playing  \xc3\x84rtist \xe2\x80\x94 Say \"hi\"  \xef\xbf\xbd end  1:23 / 4:56  "
               "vol 80  repeat all  shuffle on  service online\n",
               "");

    /* --json: the data, one compact line, the same as the engine made. */
    struct run r = RUN(sock, true, "status");
    assert_int_equal(r.status, REMOTE_EXIT_OK);
    assert_string_equal(r.err, "");
    assert_non_null(strchr(r.out, '\n'));
    assert_string_equal(strchr(r.out, '\n'), "\n");
    json_t *want = remote_status_json(&fx->snap);
    char *want_text = json_dumps(want, JSON_COMPACT);
    assert_int_equal(strlen(r.out), strlen(want_text) + 1);
    assert_memory_equal(r.out, want_text, strlen(want_text));
    free(want_text);
    json_decref(want);
    run_free(&r);

    expect_run(RUN(sock, false, "search", "Blue Song"), REMOTE_EXIT_OK,
               "#7  Tester \xe2\x80\x94 Blue Song\n#8  Tester \xe2\x80\x94 Second\n", "");
    expect_run(RUN(sock, true, "search", "Blue Song"), REMOTE_EXIT_OK,
               "[{\"id\":7,\"title\":\"Blue Song\",\"artist\":\"Tester\"},"
               "{\"id\":8,\"title\":\"Second\",\"artist\":\"Tester\"}]\n",
               "");
    /* the queue marks its current track; an artist named as its title once */
    expect_run(RUN(sock, false, "queue", "list"), REMOTE_EXIT_OK,
               "* #1  B \xe2\x80\x94 A\n  #2  C\n", "");
    expect_run(RUN(sock, false, "peers"), REMOTE_EXIT_OK,
               "peers 3/60  slots 2/4  heard cache 1001 peers 1002 service 1003  found tracker 8 "
               "search 9  rejected 10\n"
               "address 10.0.0.2:4100  direction in  state ready  rate_down 100  rate_up 200  "
               "bytes_down 300  bytes_up 400  requests_in_flight 5  chunks_served 6  rtt_ms 12\n"
               "address 10.0.0.3:4100  direction out  state handshake  rate_down 0  rate_up 0  "
               "bytes_down 0  bytes_up 0  requests_in_flight 0  chunks_served 0  rtt_ms null\n",
               "");

    /* Errors: the parser's (usage), the command's (with and without a
     * message), and none at all sent. */
    expect_run(RUN(sock, false, "volume", "x"), REMOTE_EXIT_USAGE, "",
               "chorus remote: volume: expected N, got 'x'\n");
    expect_run(RUN(sock, true, "bogus"), REMOTE_EXIT_USAGE, "",
               "chorus remote: unknown command 'bogus'\n");
    expect_run(RUN(sock, false, "volume", "150"), REMOTE_EXIT_FAILED, "",
               "chorus remote: volume: out of range\n");
    expect_run(RUN(sock, false, "volume", "300"), REMOTE_EXIT_FAILED, "",
               "chorus remote: nothing to play\n");
    struct run none = run_argv(sock, false, (const char *const[]){NULL});
    assert_int_equal(none.status, REMOTE_EXIT_USAGE);
    run_free(&none);

    /* A reply that comes later, from a timer. */
    expect_run(RUN(sock, false, "next"), REMOTE_EXIT_OK, "Next.\n", "");
    fx_wait_for(fx, &fx->later_fired, 1);
    fx_free(fx);
}

static void test_pipelined_replies_in_completion_order(void **state)
{
    (void)state;
    struct fx *fx = fx_serving();
    struct raw *c = raw_connect(fx->sock);
    raw_send_str(c, "{\"argv\":[\"next\"]}\n{\"argv\":[\"pause\"]}\r\n\n{\"argv\":[\"search\","
                    "\"x\"]}\n");
    expect_ok_message(raw_reply(c), "Paused.");
    json_t *search = raw_reply(c);
    assert_true(json_is_array(json_object_get(search, "data")));
    assert_null(json_object_get(search, "message"));
    json_decref(search);
    expect_ok_message(raw_reply(c), "Next.");
    raw_close(c);
    fx_free(fx);
}

static void test_hangup_before_delayed_reply(void **state)
{
    (void)state;
    struct fx *fx = fx_serving();

    /* Half-closed after the request: the reply still comes, then the end. */
    struct raw *c = raw_connect(fx->sock);
    raw_send_str(c, "{\"argv\":[\"next\"]}");
    shutdown(c->fd, SHUT_WR);
    expect_ok_message(raw_reply(c), "Next.");
    expect_hangup(c);
    raw_close(c);
    fx_wait_for(fx, &fx->later_fired, 1);

    /* Gone at once: the reply finds nobody. */
    c = raw_connect(fx->sock);
    raw_send_str(c, "{\"argv\":[\"next\"]}\n");
    raw_close(c);
    fx_wait_for(fx, &fx->later_fired, 2);

    /* Gone with a reply unread (the server sees a reset, and frees the
     * client long before the delayed reply). */
    c = raw_connect(fx->sock);
    raw_send_str(c, "{\"argv\":[\"next\"]}\n{\"argv\":[\"pause\"]}\n");
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
    raw_close(c);
    fx_wait_for(fx, &fx->later_fired, 3);

    expect_run(RUN(fx->sock, false, "pause"), REMOTE_EXIT_OK, "Paused.\n", "");
    fx_free(fx);
}

static void test_close_with_reply_pending(void **state)
{
    (void)state;
    struct fx *fx = fx_serving();
    struct raw *c = raw_connect(fx->sock);
    raw_send_str(c, "{\"argv\":[\"next\"]}\n{\"argv\":[\"pause\"]}\n");
    expect_ok_message(raw_reply(c), "Paused."); /* so next is in flight */
    fx_close(fx, fx->r);
    fx->r = NULL;
    assert_int_equal(access(fx->sock, F_OK), -1);
    expect_hangup(c);
    raw_close(c);
    fx_wait_for(fx, &fx->later_fired, 1); /* replies to a freed server */
    fx_free(fx);
}

static void test_follow_sends_changes_only(void **state)
{
    (void)state;
    struct fx *fx = fx_serving();
    struct raw *c = raw_connect(fx->sock);
    raw_send_str(c, "{\"argv\":[\"status\"],\"follow\":true}\n");
    json_t *first = raw_reply(c);
    assert_true(json_is_true(json_object_get(first, "ok")));
    assert_string_equal(state_of(first), "playing");
    json_t *want = remote_status_json(&fx->snap);
    assert_true(json_equal(json_object_get(first, "data"), want));
    json_decref(want);
    json_decref(first);

    fx_call(fx, notify_on_loop, NULL);
    expect_quiet(c);
    fx_call(fx, pause_and_notify, NULL);
    json_t *second = raw_reply(c);
    assert_string_equal(state_of(second), "paused");
    json_decref(second);
    fx_call(fx, notify_on_loop, NULL);
    expect_quiet(c);

    /* Only status follows. */
    struct raw *other = raw_connect(fx->sock);
    raw_send_str(other, "{\"argv\":[\"pause\"],\"follow\":true}\n");
    expect_error(raw_reply(other), "only status", true);
    raw_close(other);

    raw_close(c);
    fx_free(fx);
}

struct follow_run {
    const char *path;
    FILE *out;
    int status;
};

static void *follow_main(void *p)
{
    struct follow_run *f = p;
    FILE *err = fopen("/dev/null", "w");
    f->status = remote_run(f->path, 1, (char *const[]){"status"}, false, true, f->out, err);
    fclose(err);
    fclose(f->out);
    return NULL;
}

/* One line of text from fd (a pipe), within WAIT_MS; NULL at its end. */
static char *pipe_line(FILE *in)
{
    struct pollfd pfd = {.fd = fileno(in), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, WAIT_MS), 1);
    char *line = NULL;
    size_t cap = 0;
    if (getline(&line, &cap, in) < 0) {
        free(line);
        return NULL;
    }
    return line;
}

static void test_follow_client_until_engine_closes(void **state)
{
    (void)state;
    struct fx *fx = fx_serving();
    int p[2];
    assert_int_equal(pipe(p), 0);
    struct follow_run f = {.path = fx->sock, .out = fdopen(p[1], "w")};
    FILE *in = fdopen(p[0], "r");
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, follow_main, &f), 0);

    /* a JSON line per change, --json or not: follow is for status bars */
    char *line = pipe_line(in);
    assert_non_null(line);
    json_t *j = json_loads(line, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "playing");
    json_decref(j);
    free(line);
    fx_call(fx, pause_and_notify, NULL);
    line = pipe_line(in);
    assert_non_null(line);
    j = json_loads(line, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "paused");
    json_decref(j);
    free(line);

    fx_close(fx, fx->r);
    fx->r = NULL;
    pthread_join(thread, NULL);
    assert_int_equal(f.status, REMOTE_EXIT_OK);
    assert_null(pipe_line(in));
    fclose(in);
    fx_free(fx);
}

static void test_follower_not_reading_is_dropped(void **state)
{
    (void)state;
    struct fx *fx = fx_serving();
    struct raw *c = raw_connect(fx->sock);
    raw_send_str(c, "{\"argv\":[\"status\"],\"follow\":true}\n");
    json_decref(raw_reply(c));
    fx_call(fx, spam_notify, NULL);
    int lines = 0, rc;
    json_t *j = NULL;
    while ((rc = raw_line(c, WAIT_MS, &j)) == 1) {
        json_decref(j);
        lines++;
    }
    assert_int_equal(rc, 0); /* disconnected */
    assert_true(lines > 0 && lines < FOLLOW_SPAM);
    raw_close(c);
    expect_run(RUN(fx->sock, false, "pause"), REMOTE_EXIT_OK, "Paused.\n", "");
    fx_free(fx);
}

static void test_malformed_lines(void **state)
{
    (void)state;
    struct fx *fx = fx_serving();
    struct raw *c = raw_connect(fx->sock);
    static const struct {
        const char *line;
        const char *error;
    } bad[] = {
        {"{\"argv\": 5}\n", "\"argv\" must be an array"},
        {"not json\n", "not JSON"},
        {"[1, 2]\n", "must be a JSON object"},
        {"{\"argv\": []}\n", "\"argv\" must be an array"},
        {"{\"argv\": [\"pause\", 3]}\n", "\"argv\" must be an array"},
        {"{\"argv\": [\"pa\\u0000use\"]}\n", "not JSON"},
        {"{\"argv\": [\"pause\"], \"follow\": \"yes\"}\n", "\"follow\" must be"},
        {"{\"follow\": true}\n", "\"argv\" must be an array"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        raw_send_str(c, bad[i].line);
        expect_error(raw_reply(c), bad[i].error, false);
    }
    /* Sixty-five words are too many; sixty-four reach the parser. */
    char *words = xstrdup("{\"argv\":[\"pause\"");
    for (int i = 1; i < REMOTE_ARGV_MAX + 1; i++) {
        char *more = xasprintf("%s,\"w\"", words);
        free(words);
        words = more;
        if (i == REMOTE_ARGV_MAX - 1) {
            char *line = xasprintf("%s]}\n", words);
            raw_send_str(c, line);
            free(line);
            expect_error(raw_reply(c), "pause: expected 0", true);
        }
    }
    char *line = xasprintf("%s]}\n", words);
    raw_send_str(c, line);
    free(line);
    free(words);
    expect_error(raw_reply(c), "\"argv\" must be an array", false);

    /* The connection still serves; unknown members are ignored. */
    raw_send_str(c, "{\"argv\":[\"pause\"],\"extra\":1}\n");
    expect_ok_message(raw_reply(c), "Paused.");
    raw_send_str(c, "{\"argv\":[\"nope\"]}\n");
    expect_error(raw_reply(c), "unknown command 'nope'", true);

    /* A 100 KiB line: an error, then the end of the connection. */
    size_t len = 100 * 1024;
    char *huge = xmalloc(len + 1);
    memset(huge, 'a', len);
    memcpy(huge, "{\"argv\":[\"", 10);
    memcpy(huge + len - 4, "\"]}\n", 4);
    raw_send(c, huge, len);
    free(huge);
    expect_error(raw_reply(c), "longer than 65536", false);
    expect_hangup(c);
    raw_close(c);

    expect_run(RUN(fx->sock, false, "pause"), REMOTE_EXIT_OK, "Paused.\n", "");
    fx_free(fx);
}

/* A socket file nobody listens on, as a killed engine leaves it. */
static void make_stale_socket(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    close(fd);
}

static void test_stale_socket_replaced_live_one_kept(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    make_stale_socket(fx->sock);
    struct run stale = RUN(fx->sock, false, "pause");
    assert_int_equal(stale.status, REMOTE_EXIT_NOENGINE);
    run_free(&stale);
    assert_int_equal(fx_listen(fx, fx->sock, &fx->r), 0);
    struct stat st;
    assert_int_equal(lstat(fx->sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    expect_run(RUN(fx->sock, false, "pause"), REMOTE_EXIT_OK, "Paused.\n", "");

    struct remote *second = NULL;
    assert_int_equal(fx_listen(fx, fx->sock, &second), REMOTE_ERUNNING);
    assert_null(second);
    expect_run(RUN(fx->sock, false, "pause"), REMOTE_EXIT_OK, "Paused.\n", "");
    fx_close(fx, fx->r);
    fx->r = NULL;
    assert_int_equal(access(fx->sock, F_OK), -1);
    fx_free(fx);
}

static void test_directory_made_private(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    char *sub = xasprintf("%s/a/b", fx->dir);
    char *path = xasprintf("%s/r.sock", sub);
    assert_int_equal(fx_listen(fx, path, &fx->r), 0);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    expect_run(RUN(path, false, "pause"), REMOTE_EXIT_OK, "Paused.\n", "");
    fx_close(fx, fx->r);
    fx->r = NULL;
    assert_int_equal(access(path, F_OK), -1);
    free(sub);
    free(path);
    fx_free(fx);
}

static void expect_listen_fails(struct fx *fx, const char *path, int err)
{
    struct remote *r = NULL;
    assert_int_equal(fx_listen(fx, path, &r), err);
    assert_null(r);
}

static void test_unsafe_directories_refused(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    const struct {
        const char *name;
        mode_t mode;
    } dirs[] = {{"open", 0777}, {"group", 0770}, {"others", 0702}};
    for (size_t i = 0; i < 3; i++) {
        char *dir = xasprintf("%s/%s", fx->dir, dirs[i].name);
        char *path = xasprintf("%s/r.sock", dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chmod(dir, dirs[i].mode), 0);
        expect_listen_fails(fx, path, REMOTE_EUNSAFE);
        assert_int_equal(access(path, F_OK), -1);
        free(dir);
        free(path);
    }
    /* A symbolic link to a private directory is not the directory. */
    char *real = xasprintf("%s/real", fx->dir), *link = xasprintf("%s/link", fx->dir);
    char *path = xasprintf("%s/r.sock", link);
    assert_int_equal(mkdir(real, 0700), 0);
    assert_int_equal(symlink(real, link), 0);
    expect_listen_fails(fx, path, REMOTE_EUNSAFE);
    free(real);
    free(link);
    free(path);
    if (getuid() == 0) {
        char *dir = xasprintf("%s/nobodys", fx->dir);
        path = xasprintf("%s/r.sock", dir);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(chown(dir, NOBODY_UID, NOBODY_UID), 0);
        expect_listen_fails(fx, path, REMOTE_EUNSAFE);
        free(dir);
        free(path);
    }
    fx_free(fx);
}

static void test_bad_paths(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    char *longp = xasprintf("%s/%0200d.sock", fx->dir, 0);
    expect_listen_fails(fx, longp, REMOTE_EPATH);
    struct run r = RUN(longp, false, "pause");
    assert_int_equal(r.status, REMOTE_EXIT_FAILED);
    assert_non_null(strstr(r.err, "too long"));
    run_free(&r);
    free(longp);

    /* Not a socket: left alone. */
    testutil_write_file(fx->sock, "keep", 4);
    expect_listen_fails(fx, fx->sock, -EEXIST);
    size_t len;
    char *data = testutil_read_file(fx->sock, &len);
    assert_int_equal(len, 4);
    free(data);
    fx_free(fx);
}

static void test_no_engine(void **state)
{
    (void)state;
    struct fx *fx = fx_new();
    char *want = xasprintf("chorus remote: no engine is running (socket %s)\n", fx->sock);
    expect_run(RUN(fx->sock, false, "status"), REMOTE_EXIT_NOENGINE, "", want);
    make_stale_socket(fx->sock);
    expect_run(RUN(fx->sock, true, "status"), REMOTE_EXIT_NOENGINE, "", want);
    free(want);
    fx_free(fx);
}

/* Runs body(arg) in a child process as the nobody user; returns what it
 * returned (through a pipe: under valgrind, a child's exit status is
 * valgrind's). Only async-signal-safe calls in the child. */
static int as_nobody(int (*body)(void *arg), void *arg)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        unsigned char result = 90;
        if (setgid(NOBODY_UID) == 0 && setuid(NOBODY_UID) == 0)
            result = (unsigned char)body(arg);
        if (write(p[1], &result, 1) != 1)
            _exit(1);
        _exit(0);
    }
    close(p[1]);
    unsigned char result = 99;
    if (read(p[0], &result, 1) != 1)
        result = 99;
    close(p[0]);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return result;
}

static int nobody_connects(void *arg)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, arg, sizeof(sa.sun_path) - 1);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return 1;
    char buf[512];
    size_t len = 0;
    ssize_t n;
    while (len < sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return strstr(buf, "\"ok\":false") && strstr(buf, "another user") ? 0 : 2;
}

struct nobody_listener {
    const char *path;
    int ready;   /* write end: a byte once listening */
    int release; /* read end: EOF means exit */
};

static int nobody_listens(void *arg)
{
    struct nobody_listener *l = arg;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strncpy(sa.sun_path, l->path, sizeof(sa.sun_path) - 1);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || chmod(l->path, 0666) != 0 ||
        listen(fd, 4) != 0)
        return 1;
    char c = 1;
    if (write(l->ready, &c, 1) != 1)
        return 2;
    while (read(l->release, &c, 1) > 0)
        ;
    return 0;
}

static void test_other_users_refused(void **state)
{
    (void)state;
    if (getuid() != 0)
        skip(); /* needs a second uid */
    struct fx *fx = fx_new();
    assert_int_equal(chmod(fx->dir, 0755), 0);

    /* The engine refuses a client of another uid (even when the socket
     * was made reachable to it). */
    char *pub = xasprintf("%s/pub", fx->dir), *path = xasprintf("%s/pub/r.sock", fx->dir);
    assert_int_equal(mkdir(pub, 0755), 0);
    assert_int_equal(fx_listen(fx, path, &fx->r), 0);
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(as_nobody(nobody_connects, path), 0);
    expect_run(RUN(path, false, "pause"), REMOTE_EXIT_OK, "Paused.\n", "");

    /* The client refuses an engine of another uid. */
    char *open_dir = xasprintf("%s/open", fx->dir), *theirs = xasprintf("%s/open/r.sock", fx->dir);
    assert_int_equal(mkdir(open_dir, 0777), 0);
    assert_int_equal(chmod(open_dir, 0777), 0);
    int ready[2], release[2];
    assert_int_equal(pipe(ready), 0);
    assert_int_equal(pipe(release), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(ready[0]);
        close(release[1]);
        struct nobody_listener l = {theirs, ready[1], release[0]};
        if (setgid(NOBODY_UID) != 0 || setuid(NOBODY_UID) != 0)
            _exit(90);
        _exit(nobody_listens(&l));
    }
    close(ready[1]);
    close(release[0]);
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    struct run r = RUN(theirs, false, "pause");
    assert_int_equal(r.status, REMOTE_EXIT_FAILED);
    assert_non_null(strstr(r.err, "belongs to another user"));
    run_free(&r);
    close(release[1]);
    close(ready[0]);
    assert_int_equal(waitpid(pid, NULL, 0), pid);

    free(pub);
    free(path);
    free(open_dir);
    free(theirs);
    fx_free(fx);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as the engine does (core/engine.h) */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_json_fields),
        cmocka_unit_test(test_peers_json_fields),
        cmocka_unit_test(test_default_path),
        cmocka_unit_test(test_strerror_names_codes),
        cmocka_unit_test(test_commands_end_to_end),
        cmocka_unit_test(test_pipelined_replies_in_completion_order),
        cmocka_unit_test(test_hangup_before_delayed_reply),
        cmocka_unit_test(test_close_with_reply_pending),
        cmocka_unit_test(test_follow_sends_changes_only),
        cmocka_unit_test(test_follow_client_until_engine_closes),
        cmocka_unit_test(test_follower_not_reading_is_dropped),
        cmocka_unit_test(test_malformed_lines),
        cmocka_unit_test(test_stale_socket_replaced_live_one_kept),
        cmocka_unit_test(test_directory_made_private),
        cmocka_unit_test(test_unsafe_directories_refused),
        cmocka_unit_test(test_bad_paths),
        cmocka_unit_test(test_no_engine),
        cmocka_unit_test(test_other_users_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
