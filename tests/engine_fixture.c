/* engine_fixture: one engine under test, driven by commands of the
 * command table through its message queue, its status read as the JSON
 * `status` answers (see engine_fixture.h). */
#include "engine_fixture.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "audio_fixtures.h"
#include "base/xmalloc.h"
#include "testutil.h"

void eng_start(struct eng *x)
{
    struct engine_config cfg = {
        .settings = &x->s,
        .data_dir = x->data,
        .cache_dir = x->cache,
        .remote_socket = "", /* the in-process tests talk through the mq */
        .log = x->log,
        .seed = 42,
        .link_rtt_ms = x->link.rtt_ms,
        .link_rate = x->link.rate,
        .corrupt_uploads = x->link.corrupt,
    };
    char *error = NULL;
    int rc = engine_new(&cfg, &x->e, &error);
    if (rc < 0)
        print_error("engine_new: %s\n", error ? error : "?");
    free(error);
    assert_int_equal(rc, 0);
}

/* An engine on home's data and cache with the given output; option (may
 * be NULL) is one more chorus.conf setting. */
void eng_open_linked(struct eng *x, const char *home, const char *output, const char *option,
                     const struct eng_link *link)
{
    memset(x, 0, sizeof(*x));
    if (link)
        x->link = *link;
    x->home = xstrdup(home);
    x->data = xasprintf("%s/data", home);
    x->cache = xasprintf("%s/cache", home);
    settings_init(&x->s);
    char *opt = xasprintf("audio.output=%s", output);
    assert_int_equal(settings_set_option(&x->s, opt, NULL), 0);
    free(opt);
    assert_int_equal(settings_set_option(&x->s, "audio.prebuffer=50", NULL), 0);
    /* many engines in one process: each takes a free port */
    assert_int_equal(settings_set_option(&x->s, "p2p.listen=127.0.0.1:0", NULL), 0);
    if (option)
        assert_int_equal(settings_set_option(&x->s, option, NULL), 0);
    char *logp = xasprintf("%s/engine.log", home);
    int err;
    x->log = clog_new(logp, CLOG_DEBUG, &err);
    free(logp);
    eng_start(x);
}

void eng_open_with(struct eng *x, const char *home, const char *output, const char *option)
{
    eng_open_linked(x, home, output, option, NULL);
}

void eng_open(struct eng *x, const char *home, const char *output)
{
    eng_open_with(x, home, output, NULL);
}

void eng_close(struct eng *x)
{
    engine_free(x->e);
    x->e = NULL;
    clog_free(x->log);
    settings_close(&x->s);
    free(x->home);
    free(x->data);
    free(x->cache);
    free(x->out);
}

/* A command and its reply, across threads. */
struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    int status;
    char *message;
    json_t *data;
};

static void on_reply(void *ctx, const struct cmd_result *r)
{
    struct waiter *w = ctx;
    pthread_mutex_lock(&w->mu);
    w->status = r->status;
    w->message = r->message ? xstrdup(r->message) : NULL;
    w->data = r->data ? json_deep_copy(r->data) : NULL; /* the engine's thread keeps its own */
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

/* Runs line on x and returns its status; *data (may be NULL) gets the
 * JSON answer (json_decref). */
int eng_run(struct eng *x, const char *line, json_t **data)
{
    struct cmd *c;
    char *error = NULL;
    if (cmd_parse(line, &c, &error) < 0)
        fail_msg("%s: %s", line, error);
    struct waiter w = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
    c->reply = on_reply;
    c->reply_ctx = &w;
    assert_int_equal(engine_send(x->e, c), 0);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ENG_WAIT_MS / 1000;
    pthread_mutex_lock(&w.mu);
    while (!w.done)
        if (pthread_cond_timedwait(&w.cv, &w.mu, &until) != 0)
            fail_msg("no reply to '%s'", line);
    pthread_mutex_unlock(&w.mu);
    if (w.status < 0)
        print_message("%s -> %d %s\n", line, w.status, w.message ? w.message : "");
    free(w.message);
    if (data)
        *data = w.data;
    else
        json_decref(w.data);
    return w.status;
}

void eng_ok(struct eng *x, const char *line)
{
    assert_int_equal(eng_run(x, line, NULL), 0);
}

json_t *eng_status(struct eng *x)
{
    json_t *st = NULL;
    assert_int_equal(eng_run(x, "status", &st), 0);
    assert_non_null(st);
    return st;
}

const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

const char *title_of(json_t *st)
{
    json_t *t = json_object_get(st, "track");
    return json_is_object(t) ? str_of(t, "title") : "";
}

double pos_of(json_t *st)
{
    return json_number_value(json_object_get(st, "position"));
}

void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The end of x's engine log, for a test that failed. */
static void print_log_tail(const struct eng *x)
{
    char *cmd = xasprintf("tail -n 40 '%s/engine.log' >&2", x->home);
    if (system(cmd) != 0)
        print_message("(no engine log in %s)\n", x->home);
    free(cmd);
}

bool eng_log_has(const struct eng *x, const char *text)
{
    char *path = xasprintf("%s/engine.log", x->home);
    FILE *f = fopen(path, "r");
    free(path);
    if (!f)
        return false;
    char line[4096];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

/* Polls status until pred holds (then returns it) or fails the test. */
json_t *eng_wait(struct eng *x, bool (*pred)(json_t *st, const void *arg), const void *arg,
                 const char *what)
{
    uint64_t end = testutil_now_ns() + (uint64_t)ENG_WAIT_MS * 1000000u;
    for (;;) {
        json_t *st = eng_status(x);
        if (pred(st, arg))
            return st;
        if (testutil_now_ns() > end) {
            char *dump = json_dumps(st, JSON_COMPACT);
            print_log_tail(x);
            fail_msg("waited for %s; status %s", what, dump);
        }
        json_decref(st);
        sleep_ms(50);
    }
}

bool is_state(json_t *st, const void *want)
{
    return strcmp(str_of(st, "state"), want) == 0;
}

bool playing_title(json_t *st, const void *title)
{
    return is_state(st, "playing") && strcmp(title_of(st), title) == 0;
}

bool is_service(json_t *st, const void *want)
{
    return strcmp(str_of(st, "service"), want) == 0;
}

bool past(json_t *st, const void *secs)
{
    return is_state(st, "playing") && pos_of(st) >= *(const double *)secs;
}

/* Stopped after playing something (the wav output plays unpaced, so
 * "playing" may never be seen). */
bool played_and_stopped(json_t *st, const void *arg)
{
    (void)arg;
    json_t *b = json_object_get(st, "bytes");
    json_int_t played = json_integer_value(json_object_get(b, "cache")) +
                        json_integer_value(json_object_get(b, "peers")) +
                        json_integer_value(json_object_get(b, "service"));
    return is_state(st, "stopped") && played > 0;
}

void eng_expect(struct eng *x, const char *state)
{
    json_decref(eng_wait(x, is_state, state, state));
}

/* A new user's home named name, logged in, its engine online. */
void eng_online_linked(struct eng *x, struct svcfix *f, const char *name, const char *output,
                       const char *option, const struct eng_link *link)
{
    char *home = testutil_tempdir(name);
    char *data = xasprintf("%s/data", home);
    svcfix_login(f, data);
    eng_open_linked(x, home, output, option, link);
    json_decref(eng_wait(x, is_service, "online", "the service link"));
    free(data);
    free(home);
}

void eng_online(struct eng *x, struct svcfix *f, const char *name, const char *output)
{
    eng_online_linked(x, f, name, output, NULL, NULL);
}

/* Closes the engine and removes its home. */
void eng_remove(struct eng *x)
{
    char *home = xstrdup(x->home);
    eng_close(x);
    testutil_rmtree(home);
    free(home);
}

static float *wav_samples(const char *path, int64_t *n)
{
    struct fixture_info info;
    float *s = NULL;
    assert_int_equal(fixture_decode_file(path, &info, &s), 0);
    *n = info.frames * info.channels;
    return s;
}

void assert_same_audio(const char *wav_a, const char *wav_b)
{
    int64_t n1, n2;
    float *a = wav_samples(wav_a, &n1), *b = wav_samples(wav_b, &n2);
    assert_true(n1 > 44100);
    assert_int_equal(n1, n2);
    assert_memory_equal(a, b, (size_t)n1 * sizeof(float));
    free(a);
    free(b);
}
