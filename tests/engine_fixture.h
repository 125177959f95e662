/* engine_fixture: one engine under test (core/engine.h) in this process,
 * driven by commands of the command table through its message queue —
 * what test_engine and test_swarm share. Every engine takes a free peer
 * port on 127.0.0.1 (p2p.listen), so many run side by side; eng.link
 * (set before eng_open / eng_online) gives it an emulated access link. */
#ifndef CHORUS_TESTS_ENGINE_FIXTURE_H
#define CHORUS_TESTS_ENGINE_FIXTURE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "base/settings.h"
#include "core/cmd.h"
#include "core/engine.h"
#include "svc_fixture.h"

#define ENG_WAIT_MS 30000 /* generous: sanitizer builds are slow */

/* engine_config's test-only link options. */
struct eng_link {
    uint32_t rtt_ms;
    uint64_t rate; /* bytes per second each way; 0: unlimited */
    bool corrupt;  /* every chunk it serves is corrupted */
};

struct eng {
    char *home, *data, *cache, *out;
    struct chorus_settings s;
    struct clog *log;
    struct engine *e;
    struct eng_link link;
};

/* Starts x's engine on its settings, data and cache. */
void eng_start(struct eng *x);
/* An engine on home's data and cache with the given output (audio.output);
 * option (may be NULL) is one more chorus.conf setting; link (may be
 * NULL: none) its emulated access link. */
void eng_open_linked(struct eng *x, const char *home, const char *output, const char *option,
                     const struct eng_link *link);
void eng_open_with(struct eng *x, const char *home, const char *output, const char *option);
void eng_open(struct eng *x, const char *home, const char *output);
/* Stops the engine and frees x's parts (the home stays). */
void eng_close(struct eng *x);
/* A new user's home named name, logged in to f, its engine online. */
void eng_online_linked(struct eng *x, struct svcfix *f, const char *name, const char *output,
                       const char *option, const struct eng_link *link);
void eng_online(struct eng *x, struct svcfix *f, const char *name, const char *output);
/* Closes the engine and removes its home. */
void eng_remove(struct eng *x);

/* Runs line and returns its status; *data (may be NULL) gets the JSON
 * answer (json_decref). */
int eng_run(struct eng *x, const char *line, json_t **data);
/* The same, failing the test unless it succeeds. */
void eng_ok(struct eng *x, const char *line);
/* The status JSON (json_decref). */
json_t *eng_status(struct eng *x);
/* Polls the status until pred holds (then returns it) or ENG_WAIT_MS
 * pass (then fails the test, naming what). */
json_t *eng_wait(struct eng *x, bool (*pred)(json_t *st, const void *arg), const void *arg,
                 const char *what);
/* Waits for the state named. */
void eng_expect(struct eng *x, const char *state);

/* Status readers and predicates for eng_wait. */
const char *str_of(json_t *o, const char *k);
const char *title_of(json_t *st);
double pos_of(json_t *st);
bool is_state(json_t *st, const void *want);
bool playing_title(json_t *st, const void *title);
bool is_service(json_t *st, const void *want);
bool past(json_t *st, const void *secs);
/* Stopped after playing something (the wav output plays unpaced, so
 * "playing" may never be seen). */
bool played_and_stopped(json_t *st, const void *arg);

void sleep_ms(int ms);

/* A line of x's engine log contains text. */
bool eng_log_has(const struct eng *x, const char *text);

/* The two WAVE files hold the same audio, sample for sample (and more
 * than a second of it). */
void assert_same_audio(const char *wav_a, const char *wav_b);

#endif
