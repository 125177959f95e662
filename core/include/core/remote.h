/* remote: the engine's remote-control socket and its client (`chorus
 * remote`): the command table over a UNIX socket (DESIGN §1).
 *
 * Protocol, one JSON object per line both ways (jansson builds and parses
 * every line):
 *   client -> engine  {"argv": ["seek", "+10"]}            one command
 *                     {"argv": ["status"], "follow": true} a line per change
 *   engine -> client  {"ok": true, "message": "...", "data": {...}}
 *                     {"ok": false, "error": "...", "usage": true|false}
 * The server parses argv with the command table (cmd_parse_argv) and runs
 * it through the same handler as the UI's commands; the reply comes when
 * the command is done. With "follow", the server sends the status object
 * (remote_status_json) at once and again whenever a published snapshot
 * changes what it shows, until the client hangs up.
 *
 * Details of the lines:
 *  - A line ends with "\n" (a "\r" before it is dropped; blank lines are
 *    skipped). A line longer than REMOTE_LINE_MAX bytes gets an error
 *    reply, then the connection is closed.
 *  - argv is an array of 1 to REMOTE_ARGV_MAX strings; "follow" a boolean
 *    (default false); other members are ignored. A line that is not such
 *    an object gets an error reply and the connection stays usable.
 *  - "usage" is true when the command line itself is wrong (CMD_EUSAGE:
 *    `chorus remote` exits with REMOTE_EXIT_USAGE), false for any other
 *    failure. "message" and "data" are left out when the command has none.
 *  - Requests may be pipelined on one connection: each gets exactly one
 *    reply, in the order the commands finish (a slow search may answer
 *    after a later pause), not necessarily the order they were sent.
 *  - Following: only argv ["status"] can be followed. Every status line is
 *    a reply, {"ok": true, "data": STATUS}; a line is sent only when its
 *    text differs from the last one sent on that connection. A client that
 *    does not read (over 1 MiB of lines waiting) is disconnected.
 *
 * Where: remote.socket in chorus.conf, else $XDG_RUNTIME_DIR/chorus/
 * remote.sock, else /tmp/chorus-$UID/remote.sock. The directory is made
 * 0700 and must be owned by the user and not writable by others (checked:
 * REMOTE_EUNSAFE otherwise); the socket is 0600; a connecting process of
 * another uid (SO_PEERCRED) is refused. A socket file nobody answers on
 * (an engine killed with SIGKILL) is stale: it is replaced. One that
 * answers belongs to a running engine: REMOTE_ERUNNING.
 *
 * Threads: the server's functions on its loop's thread; the client's
 * (remote_run) on any thread, blocking. */
#ifndef CHORUS_CORE_REMOTE_H
#define CHORUS_CORE_REMOTE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <uv.h>

#include "base/log.h"
#include "base/paths.h"
#include "core/cmd.h"
#include "core/mq.h"

enum {
    REMOTE_ERUNNING = -7300,  /* an engine answers on that socket already */
    REMOTE_EUNSAFE = -7301,   /* the socket's directory is not the user's own, 0700 */
    REMOTE_EPATH = -7302,     /* the path is too long for a UNIX socket */
    REMOTE_ENOENGINE = -7303, /* client: nothing listens there */
    REMOTE_EPROTO = -7304,    /* client: the engine's answer is not a reply */
};

/* Longest request line, without its "\n", and most words in argv. */
#define REMOTE_LINE_MAX (64 * 1024)
#define REMOTE_ARGV_MAX 64

/* Exit statuses of `chorus remote` (chorus(1)). */
enum {
    REMOTE_EXIT_OK = 0,
    REMOTE_EXIT_FAILED = 1,
    REMOTE_EXIT_USAGE = 2,
    REMOTE_EXIT_NOENGINE = 3
};

/* The socket path: configured (not NULL) as it is, else the default above.
 * Owned by the caller. */
char *remote_default_path(const char *configured);

/* ---- server (the engine's side) ---- */

struct remote_config {
    uv_loop_t *loop;
    const char *path; /* copied */
    struct clog *log; /* borrowed; may be NULL */
    /* Runs a command (the engine's handler): takes ownership of c and
     * calls c->reply exactly once, on the loop, now or later. */
    void (*exec)(void *ctx, struct cmd *c);
    void *exec_ctx;
    /* The latest snapshot (for status --follow). */
    void (*snapshot)(void *ctx, struct mq_snapshot *out);
    void *snapshot_ctx;
    /* Turns a request's words into a command; required (the engine passes
     * cmd_parse_argv; tests their own). Same contract as cmd_parse_argv:
     * 0 with *out set, or an error (CMD_EUSAGE: a usage error) with *error
     * set to a line for the user (may be NULL). Both owned by the caller. */
    int (*parse)(int argc, char *const *argv, struct cmd **out, char **error);
    /* Names a failed command's status when its reply carries no message
     * (the engine passes chorus_strerror). May be NULL: "error N". */
    const char *(*error_text)(int err);
};

struct remote;

/* Checks the directory, replaces a stale socket, binds and listens.
 * Returns 0 or REMOTE_E* / a negative libuv code (-EINVAL: no loop, path,
 * exec, snapshot or parse; -EEXIST: something that is not a socket is in
 * the way, left alone). The caller owns *out. */
int remote_listen(const struct remote_config *cfg, struct remote **out);

/* A new snapshot was published: followers get a line if their view
 * changed. Loop thread. */
void remote_notify(struct remote *r);

/* Closes the listener and every client (pending replies are dropped when
 * they come), unlinks the socket, then cb(arg) on the loop and frees r. */
void remote_close(struct remote *r, void (*cb)(void *arg), void *arg);

/* The status object of `chorus remote status --json` (chorus(1) lists
 * every field) from a snapshot. New reference. */
json_t *remote_status_json(const struct mq_snapshot *s);
/* {"connections": [...]} of `chorus remote peers --json`. New reference. */
json_t *remote_peers_json(const struct mq_snapshot *s);

/* ---- client (`chorus remote`) ---- */

/* Sends argv (the command's words, e.g. {"seek", "+10"}) to the engine at
 * path and prints the answer: with json, the reply's data as JSON (one
 * line); without, the message or a readable rendering of the data. With
 * follow, prints a JSON line per change (json or not: it is for status
 * bars) until the engine goes or a signal.
 * Errors go to err with the reason. Returns a REMOTE_EXIT_* status. */
int remote_run(const char *path, int argc, char *const *argv, bool json, bool follow, FILE *out,
               FILE *err);

const char *remote_strerror(int err);

#endif
