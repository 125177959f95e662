/* svc_fixture: a real Chorus service on loopback for the engine's tests —
 * a data directory with a few short imported tracks (encoded by FFmpeg,
 * transcoded and encrypted by the real import), one user, and chorusd's
 * service on a thread of its own that can be stopped and started again on
 * the same port (the service "killed and restarted").
 *
 * svcfix_login does what `chorus login` does for an engine's data
 * directory: a password login, a device credential from the service, and
 * both stored in that directory's chorus.db. */
#ifndef CHORUS_TESTS_SVC_FIXTURE_H
#define CHORUS_TESTS_SVC_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "net/svc.h"

#define SVCFIX_USER "ann"
#define SVCFIX_PASS "correct horse"

struct svcfix {
    char *dir; /* the service's data directory */
    struct svc_thread *srv;
    int port;
    char *address; /* "127.0.0.1:PORT" */
    int ntracks;
    double seconds;             /* all tracks together */
    uint64_t ticket_lifetime_s; /* for the next (re)start; 0: the service's default */
    struct clog *log;           /* the service's log, dir/service.log (debug) */
};

/* Imports ntracks tracks of seconds each ("Track 1".. by "Fixture Band",
 * album "Fixture Album", numbered) and starts the service. */
void svcfix_start(struct svcfix *f, const char *name, int ntracks, double seconds);
/* The same; noise: white noise instead of tones, so a track is as many
 * bytes as music of its length (tones compress to a sixth of that). */
void svcfix_start_music(struct svcfix *f, const char *name, int ntracks, double seconds,
                        bool noise);
/* Stops the service (the data stays). */
void svcfix_stop_service(struct svcfix *f);
/* Starts it again on the same port. */
void svcfix_restart_service(struct svcfix *f);
/* Stops the service and removes the data directory. */
void svcfix_free(struct svcfix *f);

/* Logs in as SVCFIX_USER with the identity of data_dir (made when
 * missing), asks for a device credential and stores it, with f->address,
 * in data_dir/chorus.db; pins the service's key in data_dir/service.pin. */
void svcfix_login(struct svcfix *f, const char *data_dir);

#endif
