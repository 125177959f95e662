/* remote_client: `chorus remote` — one request over the engine's socket
 * and its answer printed (core/remote.h has the protocol).
 *
 * Owns nothing beyond one call: a blocking AF_UNIX socket and its line
 * buffer. Runs on the caller's thread and blocks until the answer (with
 * follow: until the engine hangs up or a signal interrupts the read).
 * Must never raise SIGPIPE (it sends with MSG_NOSIGNAL) and never copy a
 * control character of the engine's answer (titles come from tags and
 * peers) to out in the human-readable form: those become spaces. */
#include "core/remote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/json.h"
#include "base/xmalloc.h"
#include "remote_internal.h"

/* Longest answer line accepted (a search answer can be large). */
#define REPLY_LINE_MAX (64 * 1024 * 1024)
#define READ_CHUNK     16384

struct reader {
    int fd;
    char *buf;
    size_t len, cap, start; /* buf[start, len) is not consumed yet */
};

/* The next line (without "\n"; a last one without it counts), valid until
 * the next call. Returns 1, 0 at the end, -EMSGSIZE for an endless line,
 * or -errno (-EINTR only when stop_on_signal). */
static int reader_line(struct reader *rd, bool stop_on_signal, const char **line, size_t *len)
{
    for (;;) {
        char *nl =
            rd->len > rd->start ? memchr(rd->buf + rd->start, '\n', rd->len - rd->start) : NULL;
        if (nl) {
            *line = rd->buf + rd->start;
            *len = (size_t)(nl - *line);
            rd->start = (size_t)(nl - rd->buf) + 1;
            return 1;
        }
        if (rd->start > 0) {
            memmove(rd->buf, rd->buf + rd->start, rd->len - rd->start);
            rd->len -= rd->start;
            rd->start = 0;
        }
        if (rd->len >= REPLY_LINE_MAX)
            return -EMSGSIZE;
        if (rd->cap - rd->len < READ_CHUNK) {
            rd->cap = rd->cap ? 2 * rd->cap : 4 * READ_CHUNK;
            rd->buf = xrealloc(rd->buf, rd->cap);
        }
        ssize_t n = recv(rd->fd, rd->buf + rd->len, rd->cap - rd->len, 0);
        if (n > 0) {
            rd->len += (size_t)n;
        } else if (n == 0) {
            if (rd->len == 0)
                return 0;
            *line = rd->buf;
            *len = rd->len;
            rd->start = rd->len;
            return 1;
        } else if (errno != EINTR || stop_on_signal) {
            return -errno;
        }
    }
}

static int send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- the human-readable form ---- */

/* s with control characters (C0, DEL and the C1 range) as spaces. */
static void put_text(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7F) {
            fputc(' ', out);
        } else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
            fputc(' ', out);
            p++;
        } else {
            fputc(*p, out);
        }
    }
}

static const char *member_text(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static double member_number(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* M:SS, or H:MM:SS from an hour on. */
static void put_clock(FILE *out, double seconds)
{
    long t = seconds > 0 ? (long)seconds : 0;
    if (t >= 3600)
        fprintf(out, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        fprintf(out, "%ld:%02ld", t / 60, t % 60);
}

/* "playing  Artist — Title  1:23 / 4:56  vol 80  repeat off  shuffle off
 * service online" from a status object. */
static void print_status(FILE *out, const json_t *st)
{
    put_text(out, member_text(st, "state"));
    const json_t *track = json_object_get(st, "track");
    if (json_is_object(track)) {
        fputs("  ", out);
        const char *artist = member_text(track, "artist");
        if (*artist) {
            put_text(out, artist);
            fputs(" \u2014 ", out);
        }
        put_text(out, member_text(track, "title"));
        fputs("  ", out);
        put_clock(out, member_number(st, "position"));
        fputs(" / ", out);
        put_clock(out, member_number(track, "duration"));
    }
    fprintf(out, "  vol %d  repeat ", (int)member_number(st, "volume"));
    put_text(out, member_text(st, "repeat"));
    fprintf(out, "  shuffle %s  service ",
            json_is_true(json_object_get(st, "shuffle")) ? "on" : "off");
    put_text(out, member_text(st, "service"));
    fputc('\n', out);
}

/* v for a reader, within a line: a string as its text, anything else as
 * compact JSON. */
static void put_value(FILE *out, const json_t *v)
{
    if (json_is_string(v)) {
        put_text(out, json_string_value(v));
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (text)
            fputs(text, out);
        free(text);
    }
}

/* One line for an item of a list: "#ID  Artist — Title", its name, or its
 * plain members as "key value". */
static void print_item(FILE *out, json_t *item)
{
    const char *title = json_string_value(json_object_get(item, "title"));
    const char *name = title ? title : json_string_value(json_object_get(item, "name"));
    if (name) {
        /* the queue marks the track it is on, as rtorrent marks its row */
        if (json_is_boolean(json_object_get(item, "current")))
            fputs(json_is_true(json_object_get(item, "current")) ? "* " : "  ", out);
        const json_t *id = json_object_get(item, "id");
        if (json_is_integer(id))
            fprintf(out, "#%" JSON_INTEGER_FORMAT "  ", json_integer_value(id));
        /* an artist (browse) is its own title: not "Name — Name" */
        const char *artist = title ? member_text(item, "artist") : "";
        if (*artist && strcmp(artist, name) != 0) {
            put_text(out, artist);
            fputs(" \u2014 ", out);
        }
        put_text(out, name);
    } else if (json_is_object(item)) {
        const char *key, *sep = "";
        json_t *v;
        json_object_foreach(item, key, v)
        {
            if (json_is_object(v) || json_is_array(v))
                continue;
            fputs(sep, out);
            put_text(out, key);
            fputc(' ', out);
            put_value(out, v);
            sep = "  ";
        }
    } else {
        put_value(out, item);
    }
    fputc('\n', out);
}

static json_int_t member_int(const json_t *o, const char *a, const char *b)
{
    return json_integer_value(json_object_get(json_object_get(o, a), b));
}

/* The peers answer: a line of totals, then a line per connection. */
static void print_peers(FILE *out, const json_t *p)
{
    fprintf(out,
            "peers %" JSON_INTEGER_FORMAT "/%" JSON_INTEGER_FORMAT "  slots %" JSON_INTEGER_FORMAT
            "/%" JSON_INTEGER_FORMAT "  heard cache %" JSON_INTEGER_FORMAT
            " peers %" JSON_INTEGER_FORMAT " service %" JSON_INTEGER_FORMAT
            "  found tracker %" JSON_INTEGER_FORMAT " search %" JSON_INTEGER_FORMAT
            "  rejected %" JSON_INTEGER_FORMAT "\n",
            member_int(p, "peers", "connected"), member_int(p, "peers", "max"),
            member_int(p, "slots", "used"), member_int(p, "slots", "max"),
            member_int(p, "bytes", "cache"), member_int(p, "bytes", "peers"),
            member_int(p, "bytes", "service"), member_int(p, "discovery", "tracker"),
            member_int(p, "discovery", "search"), member_int(p, "chunks", "rejected"));
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(p, "connections"), i, item)
    {
        print_item(out, item);
    }
}

/* A list (or an object holding only a list) a line per item; the peers
 * answer as print_peers; anything else as indented JSON. */
static void print_data(FILE *out, json_t *data)
{
    if (json_is_object(data) && json_is_array(json_object_get(data, "connections"))) {
        print_peers(out, data);
        return;
    }
    if (json_is_object(data) && json_object_size(data) == 1) {
        json_t *only = json_object_iter_value(json_object_iter(data));
        if (json_is_array(only))
            data = only;
    }
    if (json_is_array(data)) {
        size_t i;
        json_t *item;
        json_array_foreach(data, i, item)
        {
            print_item(out, item);
        }
        return;
    }
    if (json_is_string(data)) {
        put_text(out, json_string_value(data));
        fputc('\n', out);
    } else {
        json_write_line(out, data, true);
    }
}

/* ---- one call ---- */

/* Prints one reply line. Returns its REMOTE_EXIT_* status, or -1 when the
 * line is not a reply. */
static int print_reply(const char *line, size_t len, bool json, bool is_status, FILE *out,
                       FILE *err)
{
    json_t *reply = json_loadb(line, len, 0, NULL);
    const json_t *ok = json_object_get(reply, "ok");
    int status = -1;
    if (!json_is_boolean(ok)) {
        /* not a reply */
    } else if (json_is_false(ok)) {
        const char *error = json_string_value(json_object_get(reply, "error"));
        fputs("chorus remote: ", err);
        put_text(err, error ? error : "failed");
        fputc('\n', err);
        status =
            json_is_true(json_object_get(reply, "usage")) ? REMOTE_EXIT_USAGE : REMOTE_EXIT_FAILED;
    } else {
        const char *message = json_string_value(json_object_get(reply, "message"));
        json_t *data = json_object_get(reply, "data");
        if (json && data) {
            json_write_line(out, data, false);
        } else if (!json && message) {
            put_text(out, message);
            fputc('\n', out);
        } else if (!json && is_status && json_is_object(data)) {
            print_status(out, data);
        } else if (!json && data) {
            print_data(out, data);
        }
        status = REMOTE_EXIT_OK;
    }
    json_decref(reply);
    fflush(out);
    return status;
}

/* {"argv": [...], "follow": follow} and its newline. */
static char *request_line(int argc, char *const *argv, bool follow)
{
    json_t *words = json_must(json_array());
    for (int i = 0; i < argc; i++)
        json_array_append_new(words, json_text0(argv[i]));
    json_t *req = json_must(json_pack("{s:o, s:b}", "argv", words, "follow", (int)follow));
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (!text)
        json_must(NULL); /* only out of memory makes it fail */
    char *line = xasprintf("%s\n", text);
    free(text);
    return line;
}

/* The answers of one request: the first reply, or with follow every line
 * until the engine hangs up. */
static int read_replies(int fd, bool json, bool follow, bool is_status, FILE *out, FILE *err)
{
    struct reader rd = {.fd = fd};
    int status = REMOTE_EXIT_OK;
    for (;;) {
        const char *line = NULL;
        size_t len = 0;
        int rc = reader_line(&rd, follow, &line, &len);
        if (rc == 0 && !follow) {
            fputs("chorus remote: the engine closed the connection without answering\n", err);
            status = REMOTE_EXIT_FAILED;
        } else if (rc == -EINTR || rc == 0) {
            status = REMOTE_EXIT_OK; /* followed until a signal or the engine's end */
        } else if (rc < 0) {
            fprintf(err, "chorus remote: %s\n",
                    rc == -EMSGSIZE ? remote_strerror(REMOTE_EPROTO) : strerror(-rc));
            status = REMOTE_EXIT_FAILED;
        } else if (len == 0 || (len == 1 && line[0] == '\r')) {
            continue;
        } else if ((status = print_reply(line, len, json, is_status, out, err)) < 0) {
            fprintf(err, "chorus remote: %s\n", remote_strerror(REMOTE_EPROTO));
            status = REMOTE_EXIT_FAILED;
        } else if (follow && status == REMOTE_EXIT_OK) {
            continue;
        }
        break;
    }
    free(rd.buf);
    return status;
}

int remote_run(const char *path, int argc, char *const *argv, bool json, bool follow, FILE *out,
               FILE *err)
{
    if (argc < 1 || argc > REMOTE_ARGV_MAX) {
        fprintf(err, "chorus remote: expected a command (1 to %d words)\n", REMOTE_ARGV_MAX);
        return REMOTE_EXIT_USAGE;
    }
    int fd = remote_connect_path(path, false);
    if (fd == -ENOENT || fd == -ECONNREFUSED) {
        fprintf(err, "chorus remote: no engine is running (socket %s)\n", path);
        return REMOTE_EXIT_NOENGINE;
    }
    if (fd < 0) {
        fprintf(err, "chorus remote: cannot connect to %s: %s\n", path,
                fd == REMOTE_EPATH ? remote_strerror(fd) : strerror(-fd));
        return REMOTE_EXIT_FAILED;
    }
    /* The engine refuses other users; refuse an engine of another user
     * too (someone else's socket where ours should be). */
    unsigned long uid;
    if (remote_peer_uid(fd, &uid) == 0 && uid != (unsigned long)getuid()) {
        fprintf(err, "chorus remote: the socket %s belongs to another user (uid %lu): refused\n",
                path, uid);
        close(fd);
        return REMOTE_EXIT_FAILED;
    }
    char *req = request_line(argc, argv, follow);
    int rc = send_all(fd, req, strlen(req));
    free(req);
    int status;
    if (rc != 0) {
        fprintf(err, "chorus remote: cannot send to %s: %s\n", path, strerror(-rc));
        status = REMOTE_EXIT_FAILED;
    } else {
        /* status --follow is for status bars: a JSON line per change */
        status = read_replies(fd, json || follow, follow, follow || strcmp(argv[0], "status") == 0,
                              out, err);
    }
    close(fd);
    return status;
}
