/* svc: the service's loop side — clients, requests, chunk pumping, tracker.
 *
 * Owns the listener, a sweep timer, a timer that brings the listener back
 * after an accept pause, the generation re-check timer, every client and
 * its connection, the
 * open store, catalog connections, accounts database, tracker and the
 * service identity. Runs on one libuv loop thread; the only code that runs
 * elsewhere is the work function of a job (struct job) or of the
 * generation re-check (struct gen_check) on the threadpool, which touches
 * the store, a catalog connection it was handed, the accounts database
 * and its own record — never a client, the tracker or the loop. Results come back in the job's after-work callback on the
 * loop. A client whose connection closes while jobs are out is kept
 * (refs) until the last one returns; the service itself finishes closing
 * only when no job is out.
 *
 * It must never block the loop on disk, SQLite or scrypt, never queue more
 * chunk data for a client than its connection drains (the pump refills on
 * conn's on_writable), and never let one client's misbehaviour cost more
 * than closing that client's connection. */
#include "net/svc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <openssl/crypto.h>

#include "library/catalog.h"
#include "base/errcode.h"
#include "base/manifest.h"
#include "library/store.h"
#include "base/xmalloc.h"
#include "net/account.h"
#include "net/conn.h"
#include "net/ticket.h"
#include "net/tracker.h"
#include "net/wire.h"

#define MOD              "svc"
#define FEED_BYTES       (512u * 1024) /* chunk data queued + being read, per client */
#define FILE_CACHE_SLOTS 4096u
#define NO_DEADLINE      ((1ull << 40) - 1)

struct svc;
struct client;

/* One chunk request (GET_CHUNKS) of a client. */
struct chunk_req {
    struct chunk_req *next;
    uint32_t rid;
    struct content_id file;
    uint32_t next_index, end;
    uint8_t prio;
    uint64_t deadline; /* loop ms, NO_DEADLINE when none */
    uint64_t order;    /* arrival */
    unsigned inflight; /* jobs (stat or reads) referring to it */
    bool active;       /* the file's chunk count is known and the range valid */
    bool dead;         /* cancelled or failed: send nothing more */
};

/* Queues whose jobs wait for a turn (the other kinds start at once). */
enum { Q_LOGIN, Q_CATALOG, NQUEUES };

/* One client's jobs waiting in one queue, and its place in that queue's
 * ring of waiting clients. */
struct client_wait {
    struct job *head, *tail;
    struct client *next; /* in the ring */
    bool in_ring;
};

/* ---- what the service keeps per source address and per account ----
 * Entries of three kinds in one hash table: an address (its connections,
 * its pending logins, its failures, and its place in the login queue), an
 * account (its failures from any address) and an account at an address
 * (its failures from there, and its logins waiting in the queue). An
 * entry lives while a client or a login job holds it, or while it
 * remembers failures (failure_memory_ms). Entries for accounts are made
 * for any name a client sends, so their number is bounded by the rate of
 * password checks (the login queue) times failure_memory_ms. */
enum ent_kind { ENT_ADDR, ENT_ACCOUNT, ENT_ACCOUNT_AT };

#define ADDR_KEY_LEN 17u /* family + 16 bytes */
#define ENT_KEY_MAX  (ADDR_KEY_LEN + WIRE_MAX_USER)
#define ENT_BUCKETS  4096u

struct ent {
    struct ent *hnext; /* in its hash bucket */
    uint8_t kind;
    uint8_t klen;
    uint8_t key[ENT_KEY_MAX];
    bool exempt;               /* ENT_ADDR, ENT_ACCOUNT_AT: a loopback address, not limited */
    unsigned refs;             /* clients (ENT_ADDR) and login jobs holding it */
    unsigned conns;            /* ENT_ADDR: connections now */
    unsigned refused;          /* ENT_ADDR: connections refused (for the log) */
    unsigned pending;          /* logins queued or running */
    unsigned failures;         /* failed logins not yet forgotten */
    uint64_t last_fail, until; /* loop ms: the last failure; no attempt before until */
    /* the login queue: an address in the queue's ring holds the ring of
     * its accounts with logins waiting; an account at an address holds
     * its waiting jobs (one per connection) */
    struct ent *turn_next;
    bool in_ring;
    struct ent *ring_head, *ring_tail;
    struct job *head, *tail;
};

struct client {
    struct svc *svc;
    struct conn *conn; /* NULL once closed */
    struct client *prev, *next;
    char addr[64]; /* address and port, for the log */
    char host[64]; /* the address alone */
    uint8_t family, ip[16];
    uint8_t key[TLS_KEY_LEN];
    bool hello, authed;
    bool by_password; /* authed by a LOGIN on this connection (not a ticket or credential) */
    char user[WIRE_MAX_USER + 1];
    uint32_t generation; /* the user's credential generation at login */
    struct tracker_peer *tp;
    struct chunk_req *reqs;
    unsigned nreqs;
    unsigned reads; /* chunk reads in flight */
    unsigned jobs;  /* other jobs in flight */
    unsigned refs;  /* jobs (of any kind) holding this client */
    bool login_busy;
    struct client_wait wait[NQUEUES];
    unsigned login_failures;
    struct ent *ent;            /* its address's entry */
    uint8_t akey[ADDR_KEY_LEN]; /* its address as a key (an IPv6 address by its /64) */
    uint64_t login_clock; /* the login timeout runs from here: connected, or the last login done */
    uint64_t order;
    uint64_t chunks_sent;
};

enum job_kind {
    JOB_LOGIN,         /* LOGIN: scrypt, in the login queue */
    JOB_DEVICE_LOGIN,  /* LOGIN_DEVICE: a SQLite lookup, starts at once */
    JOB_TICKET,        /* HELLO's ticket: its user's generation, starts at once */
    JOB_DEVICE_ADD,    /* GET_DEVICE */
    JOB_DEVICE_REVOKE, /* REVOKE_DEVICE */
    JOB_BROWSE,
    JOB_SEARCH,
    JOB_MANIFEST,
    JOB_KEY,
    JOB_STAT,
    JOB_CHUNK,
};

struct job {
    uv_work_t work;
    struct job *next; /* in a job queue */
    struct svc *svc;
    struct client *cl;
    enum job_kind kind;
    uint32_t rid;
    struct content_id file;
    struct chunk_req *req;
    uint32_t index;
    struct catalog *cat;
    /* inputs */
    char *user, *password, *query, *label;
    uint8_t *cred; /* device credential (LOGIN_DEVICE, REVOKE_DEVICE) */
    size_t cred_len;
    uint8_t key[TLS_KEY_LEN]; /* the client's TLS key */
    uint32_t generation;      /* the user's credential generation (in, or out of a login) */
    uint8_t browse_kind;
    uint64_t parent;
    uint32_t offset, limit;
    /* outputs */
    int err;         /* negative module error, 0 on success */
    uint16_t code;   /* WIRE_ERR_* to answer with, 0 on success */
    const char *why; /* the ERROR's text (static); NULL: the code's name */
    uint8_t *frame;
    size_t frame_len;
    uint32_t chunk_count;
    /* login jobs: the entries they count as pending in (NULL: none) */
    struct ent *addr, *account, *account_at;
};

/* Jobs that may not take the whole threadpool: at most max run at once,
 * and the rest wait their turn round robin by client — each turn starts
 * the oldest waiting job of the next client in the ring, so a client that
 * queued many jobs delays another's by at most one job per turn. The
 * login queue takes turns by address first (login_enqueue). */
struct job_queue {
    unsigned running, max;
    struct client *ring_head, *ring_tail; /* clients with jobs waiting */
    struct ent *addr_head, *addr_tail;    /* Q_LOGIN: addresses with logins waiting */
};

struct file_slot {
    bool used;
    uint8_t id[CONTENT_ID_LEN];
    uint32_t chunk_count;
};

struct svc {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t sweep;
    uv_timer_t relisten;           /* accepting again after a pause (out of descriptors) */
    uv_timer_t recheck;            /* logged-in users' generations */
    bool recheck_busy;             /* a generation check is out */
    struct sockaddr_storage bound; /* where the listener listens */
    struct clog *log;
    char *data_dir;
    uint64_t ticket_lifetime_s, login_timeout_ms, handshake_timeout_ms, send_timeout_ms;
    unsigned max_clients;
    /* limits (svc.h) */
    unsigned max_conns_per_addr, max_logins_per_addr;
    unsigned login_failures, addr_failures, account_failures;
    uint64_t backoff_ms, backoff_max_ms, account_backoff_max_ms, failure_memory_ms;
    bool limit_loopback;
    struct ent **ents; /* ENT_BUCKETS hash chains */
    size_t max_body;   /* the largest request body */
    struct tls_identity *id;
    struct tls_ctx *ctx;
    uint8_t pub[TLS_KEY_LEN];
    struct store *store;
    struct catalog *cats[SVC_CATALOG_CONNECTIONS];
    unsigned ncats_free;
    struct catalog *cats_free[SVC_CATALOG_CONNECTIONS];
    struct account_db *accounts;
    struct tracker *tracker;
    struct job_queue queues[NQUEUES];
    struct client *clients;
    unsigned jobs; /* all jobs out (queued or running) */
    uint64_t order;
    struct file_slot *files; /* chunk counts of recently asked files */
    struct svc_stats st;
    bool listening; /* the listener handle is open */
    bool closing;
    int handles_open;
    void (*close_cb)(struct svc *s, void *arg);
    void *close_arg;
};

const char *svc_strerror(int err)
{
    if (errcode_in_block(err, MANIFEST_EFORMAT))
        return manifest_strerror(err);
    if (errcode_in_block(err, STORE_ENOTFOUND))
        return store_strerror(err);
    if (errcode_in_block(err, CATALOG_ESQL))
        return catalog_strerror(err);
    if (errcode_in_block(err, TICKET_EFORMAT))
        return ticket_strerror(err);
    if (errcode_in_block(err, ACCOUNT_EDB))
        return account_strerror(err);
    return conn_strerror(err); /* conn, tls, wire, libuv/errno */
}

/* ---- replies ---- */

static void send_msg(struct client *cl, const struct wire_msg *m)
{
    if (!cl->conn)
        return;
    int rc = conn_send(cl->conn, m, CONN_PRIO_CONTROL, 0);
    if (rc < 0 && rc != CONN_ECLOSED)
        clog_error(cl->svc->log, MOD, "%s: cannot send %s: %s", cl->addr, wire_type_name(m->type),
                   svc_strerror(rc));
    cl->svc->st.requests++;
}

static void send_error(struct client *cl, uint32_t rid, uint16_t code, const char *text)
{
    struct wire_msg m = {.type = WIRE_ERROR, .rid = rid};
    m.u.error.code = code;
    m.u.error.message = (char *)(text ? text : wire_error_name(code));
    send_msg(cl, &m);
}

static void send_ok(struct client *cl, uint32_t rid)
{
    struct wire_msg m = {.type = WIRE_OK, .rid = rid};
    send_msg(cl, &m);
}

static void send_frame(struct client *cl, struct job *j, uint64_t prio, uint32_t tag)
{
    if (cl->conn)
        conn_send_frame(cl->conn, j->frame, j->frame_len, prio, tag);
    else
        free(j->frame);
    j->frame = NULL;
}

/* A client broke the protocol: tell it why and close its connection. */
static void protocol_close(struct client *cl, const char *why)
{
    clog_warn(cl->svc->log, MOD, "%s: protocol error: %s", cl->addr, why);
    send_error(cl, 0, WIRE_ERR_PROTOCOL, why);
    if (cl->conn)
        conn_close_after_flush(cl->conn, CONN_EPROTO);
}

/* ---- the file cache (chunk counts) ---- */

static struct file_slot *file_slot(struct svc *s, const struct content_id *id)
{
    return &s->files[(id->bytes[0] | (unsigned)id->bytes[1] << 8) % FILE_CACHE_SLOTS];
}

static bool file_cached(struct svc *s, const struct content_id *id, uint32_t *count)
{
    struct file_slot *f = file_slot(s, id);
    if (!f->used || memcmp(f->id, id->bytes, CONTENT_ID_LEN) != 0)
        return false;
    *count = f->chunk_count;
    return true;
}

static void file_remember(struct svc *s, const struct content_id *id, uint32_t count)
{
    struct file_slot *f = file_slot(s, id);
    f->used = true;
    memcpy(f->id, id->bytes, CONTENT_ID_LEN);
    f->chunk_count = count;
}

/* ---- clients' lifetime ---- */

static void maybe_finish_close(struct svc *s);

static void free_req(struct client *cl, struct chunk_req *r)
{
    struct chunk_req **pp = &cl->reqs;
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
    cl->nreqs--;
    free(r);
}

/* Drops a request that has nothing more to do and no job out. */
static void maybe_free_req(struct client *cl, struct chunk_req *r)
{
    if (r->inflight == 0 && (r->dead || (r->active && r->next_index == r->end)))
        free_req(cl, r);
}

static void maybe_free_client(struct client *cl)
{
    if (cl->conn || cl->refs)
        return;
    while (cl->reqs)
        free_req(cl, cl->reqs);
    free(cl);
}

static uint64_t now_ms(struct svc *s)
{
    return uv_now(s->loop);
}

static void set_authed(struct client *cl, const char *user)
{
    struct svc *s = cl->svc;
    cl->authed = true;
    snprintf(cl->user, sizeof(cl->user), "%s", user);
    if (!cl->tp)
        cl->tp = tracker_peer_add(s->tracker, cl->family, cl->ip, cl->key, now_ms(s));
}

/* ---- per-address and per-account entries ---- */

static struct ent **ent_bucket(struct svc *s, uint8_t kind, const uint8_t *key, size_t len)
{
    uint32_t h = 2166136261u ^ kind; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 16777619u;
    return &s->ents[h % ENT_BUCKETS];
}

/* The entry of kind for cl's address and/or user (NULL user: ""); made
 * when missing if create, else NULL then. */
static struct ent *ent_lookup(struct svc *s, enum ent_kind kind, const struct client *cl,
                              const char *user, bool create)
{
    uint8_t key[ENT_KEY_MAX];
    size_t n = 0, ulen = user ? strnlen(user, WIRE_MAX_USER) : 0;
    if (kind != ENT_ACCOUNT) {
        memcpy(key, cl->akey, ADDR_KEY_LEN);
        n = ADDR_KEY_LEN;
    }
    if (kind != ENT_ADDR) {
        memcpy(key + n, user, ulen);
        n += ulen;
    }
    struct ent **b = ent_bucket(s, (uint8_t)kind, key, n);
    for (struct ent *e = *b; e; e = e->hnext)
        if (e->kind == kind && e->klen == n && memcmp(e->key, key, n) == 0)
            return e;
    if (!create)
        return NULL;
    struct ent *e = xcalloc(1, sizeof(*e));
    e->kind = (uint8_t)kind;
    e->klen = (uint8_t)n;
    memcpy(e->key, key, n);
    /* 127.0.0.0/8 and ::1 (v4-mapped loopback arrives as family 4) */
    static const uint8_t v6_loopback[16] = {[15] = 1};
    bool loopback =
        cl->akey[0] == 4 ? cl->akey[1] == 127 : memcmp(cl->akey + 1, v6_loopback, 16) == 0;
    e->exempt = kind != ENT_ACCOUNT && loopback && !s->limit_loopback;
    e->hnext = *b;
    *b = e;
    return e;
}

/* Frees e when nothing holds it and it remembers no failure. */
static void ent_maybe_free(struct svc *s, struct ent *e)
{
    if (e->refs || e->in_ring || e->failures)
        return;
    struct ent **pp = ent_bucket(s, e->kind, e->key, e->klen);
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    free(e);
}

static void ent_unref(struct svc *s, struct ent *e)
{
    if (!e)
        return;
    e->refs--;
    ent_maybe_free(s, e);
}

/* Forgets failures older than failure_memory_ms, and entries left with
 * nothing to remember. */
static void ents_expire(struct svc *s, uint64_t now)
{
    for (size_t i = 0; i < ENT_BUCKETS; i++) {
        struct ent *e = s->ents[i];
        while (e) {
            struct ent *next = e->hnext;
            if (e->failures && now - e->last_fail >= s->failure_memory_ms) {
                e->failures = 0;
                e->until = 0;
                ent_maybe_free(s, e);
            }
            e = next;
        }
    }
}

/* Milliseconds e's back-off holds a new attempt back (0: none). While in
 * back-off, one check at a time: the guesser cannot queue a burst before
 * the failures are counted. */
static uint64_t backoff_left(const struct ent *e, unsigned threshold, uint64_t now)
{
    if (!e || e->exempt || e->failures < threshold)
        return 0;
    if (e->until > now)
        return e->until - now;
    return e->pending ? 1 : 0;
}

/* A failed login for e: counted, and past threshold the next attempt
 * waits backoff_ms doubled per further failure, up to cap; each new delay
 * is logged once. */
static void note_failure(struct svc *s, struct ent *e, unsigned threshold, uint64_t cap,
                         const char *what, uint64_t now)
{
    if (!e || e->exempt)
        return;
    e->failures++;
    e->last_fail = now;
    if (e->failures < threshold)
        return;
    unsigned step = e->failures - threshold;
    uint64_t delay = step < 40 ? s->backoff_ms << step : cap;
    if (delay > cap)
        delay = cap;
    bool grew = step == 0 || step >= 40 || (s->backoff_ms << (step - 1)) < cap;
    e->until = now + delay;
    if (grew)
        clog_warn(s->log, MOD, "%s: %u failed logins: next attempt in %llu ms at the earliest",
                  what, e->failures, (unsigned long long)delay);
}

static void ent_reset(struct svc *s, struct ent *e)
{
    if (!e)
        return;
    e->failures = 0;
    e->until = 0;
    ent_maybe_free(s, e);
}

/* A login job counts as pending in (and holds) e. */
static struct ent *ent_pend(struct ent *e)
{
    e->refs++;
    e->pending++;
    return e;
}

static void ent_unpend(struct svc *s, struct ent *e)
{
    if (!e)
        return;
    e->pending--;
    ent_unref(s, e);
}

/* ---- jobs ---- */

static void job_work(uv_work_t *w);
static void job_done(uv_work_t *w, int status);

static struct job *job_new(struct client *cl, enum job_kind kind, uint32_t rid)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->svc = cl->svc;
    j->cl = cl;
    j->kind = kind;
    j->rid = rid;
    j->work.data = j;
    cl->refs++;
    cl->svc->jobs++;
    return j;
}

static void job_start(struct job *j)
{
    struct svc *s = j->svc;
    if (j->kind == JOB_BROWSE || j->kind == JOB_SEARCH)
        j->cat = s->cats_free[--s->ncats_free];
    int rc = uv_queue_work(s->loop, &j->work, job_work, job_done);
    if (rc < 0) { /* only when the loop is closing: never in practice */
        clog_error(s->log, MOD, "cannot queue work: %s", uv_strerror(rc));
        abort();
    }
}

/* The queue a kind of job waits in; -1: it starts at once. */
static int queue_of(enum job_kind kind)
{
    if (kind == JOB_LOGIN)
        return Q_LOGIN;
    if (kind == JOB_BROWSE || kind == JOB_SEARCH)
        return Q_CATALOG;
    return -1;
}

static void ring_append(struct job_queue *q, struct client *cl, int qi)
{
    cl->wait[qi].next = NULL;
    cl->wait[qi].in_ring = true;
    if (q->ring_tail)
        q->ring_tail->wait[qi].next = cl;
    else
        q->ring_head = cl;
    q->ring_tail = cl;
}

static void ent_ring_append(struct ent **head, struct ent **tail, struct ent *e)
{
    e->turn_next = NULL;
    e->in_ring = true;
    if (*tail)
        (*tail)->turn_next = e;
    else
        *head = e;
    *tail = e;
}

static struct ent *ent_ring_pop(struct ent **head, struct ent **tail)
{
    struct ent *e = *head;
    *head = e->turn_next;
    if (!*head)
        *tail = NULL;
    e->in_ring = false;
    return e;
}

/* The login queue takes turns by address, then by account within the
 * address, then by connection (each has one login at most): a flood from
 * one address or for one account delays another address's login by at
 * most one check per address with logins waiting. */
static void login_enqueue(struct job_queue *q, struct job *j)
{
    struct ent *g = j->account_at, *a = j->addr;
    if (g->tail)
        g->tail->next = j;
    else
        g->head = j;
    g->tail = j;
    if (!g->in_ring)
        ent_ring_append(&a->ring_head, &a->ring_tail, g);
    if (!a->in_ring)
        ent_ring_append(&q->addr_head, &q->addr_tail, a);
}

static struct job *login_pop(struct job_queue *q)
{
    if (!q->addr_head)
        return NULL;
    struct ent *a = ent_ring_pop(&q->addr_head, &q->addr_tail);
    struct ent *g = ent_ring_pop(&a->ring_head, &a->ring_tail);
    struct job *j = g->head;
    g->head = j->next;
    if (!g->head)
        g->tail = NULL;
    j->next = NULL;
    if (g->head)
        ent_ring_append(&a->ring_head, &a->ring_tail, g);
    if (a->ring_head)
        ent_ring_append(&q->addr_head, &q->addr_tail, a);
    return j;
}

static void job_submit(struct job *j)
{
    int qi = queue_of(j->kind);
    if (qi < 0) {
        job_start(j);
        return;
    }
    struct job_queue *q = &j->svc->queues[qi];
    if (q->running < q->max) {
        q->running++;
        job_start(j);
        return;
    }
    if (qi == Q_LOGIN) {
        login_enqueue(q, j);
        return;
    }
    struct client_wait *w = &j->cl->wait[qi];
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    if (!w->in_ring)
        ring_append(q, j->cl, qi);
}

/* Passwords and credentials must not stay in freed memory (a plain
 * memset before free may be dropped as a dead store). */
static void wipe_free(void *p, size_t n)
{
    if (p)
        OPENSSL_cleanse(p, n);
    free(p);
}

static void job_free(struct job *j)
{
    ent_unpend(j->svc, j->addr);
    ent_unpend(j->svc, j->account);
    ent_unpend(j->svc, j->account_at);
    free(j->user);
    wipe_free(j->password, j->password ? strlen(j->password) : 0);
    wipe_free(j->cred, j->cred_len);
    free(j->query);
    free(j->label);
    free(j->frame);
    free(j);
}

/* Encodes m into the job's reply frame (worker side). */
static void job_reply(struct job *j, const struct wire_msg *m)
{
    int rc = wire_encode(m, &j->frame, &j->frame_len);
    if (rc < 0) {
        j->err = rc;
        j->code = WIRE_ERR_INTERNAL;
    }
}

static uint16_t store_code(int err)
{
    if (err == STORE_ENOTFOUND)
        return WIRE_ERR_NOT_FOUND;
    if (err == STORE_ERANGE)
        return WIRE_ERR_BAD_REQUEST;
    return WIRE_ERR_INTERNAL;
}

/* Copies s into buf, cut to WIRE_MAX_STR bytes at a UTF-8 boundary. */
static char *clip(const char *s, char buf[WIRE_MAX_STR + 1])
{
    size_t n = s ? strlen(s) : 0;
    if (n > WIRE_MAX_STR) {
        n = WIRE_MAX_STR;
        while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
            n--;
    }
    if (n)
        memcpy(buf, s, n);
    buf[n] = 0;
    return buf;
}

struct item_strings {
    char title[WIRE_MAX_STR + 1], artist[WIRE_MAX_STR + 1], album[WIRE_MAX_STR + 1];
};

static void track_item(const struct catalog_track *t, struct wire_item *it, struct item_strings *s)
{
    it->kind = WIRE_KIND_TRACK;
    it->id = (uint64_t)t->id;
    it->parent = (uint64_t)t->album_id;
    it->number = (uint16_t)(t->track_number > 0 && t->track_number < 65536 ? t->track_number : 0);
    it->disc = (uint16_t)(t->disc_number > 0 && t->disc_number < 65536 ? t->disc_number : 0);
    it->duration_ms =
        (uint32_t)(t->duration_ms > 0 && t->duration_ms < UINT32_MAX ? t->duration_ms : 0);
    it->has_file = true;
    memcpy(it->file_id, t->file_id.bytes, WIRE_ID_LEN);
    it->title = clip(t->title, s->title);
    it->artist = clip(t->artist, s->artist);
    it->album = clip(t->album, s->album);
}

/* BROWSE and SEARCH on a catalog connection of the job's own. */
static void work_catalog(struct job *j)
{
    struct wire_msg m = {.type = WIRE_ITEMS, .rid = j->rid};
    size_t cap = j->limit;
    struct wire_item *items = xcalloc(cap ? cap : 1, sizeof(*items));
    struct item_strings *strs = xcalloc(cap ? cap : 1, sizeof(*strs));
    size_t n = 0;
    int rc = 0;
    if (j->kind == JOB_SEARCH) {
        struct catalog_track_list l = {0};
        rc = catalog_search(j->cat, j->query, j->limit, &l);
        for (size_t i = 0; rc == 0 && i < l.count && n < cap; i++, n++)
            track_item(&l.items[i], &items[n], &strs[n]);
        catalog_track_list_free(&l);
    } else if (j->browse_kind == WIRE_KIND_ARTIST) {
        struct catalog_artist_list l = {0};
        rc = catalog_list_artists(j->cat, &l);
        for (size_t i = j->offset; rc == 0 && i < l.count && n < cap; i++, n++) {
            items[n].kind = WIRE_KIND_ARTIST;
            items[n].id = (uint64_t)l.items[i].id;
            items[n].title = clip(l.items[i].name, strs[n].title);
            items[n].artist = items[n].title;
        }
        catalog_artist_list_free(&l);
    } else if (j->browse_kind == WIRE_KIND_ALBUM) {
        struct catalog_album_list l = {0};
        rc = catalog_artist_albums(j->cat, (int64_t)j->parent, &l);
        for (size_t i = j->offset; rc == 0 && i < l.count && n < cap; i++, n++) {
            const struct catalog_album *a = &l.items[i];
            items[n].kind = WIRE_KIND_ALBUM;
            items[n].id = (uint64_t)a->id;
            items[n].parent = (uint64_t)a->artist_id;
            items[n].year = (uint16_t)(a->year > 0 && a->year < 65536 ? a->year : 0);
            items[n].duration_ms =
                (uint32_t)(a->duration_ms > 0 && a->duration_ms < UINT32_MAX ? a->duration_ms : 0);
            items[n].title = clip(a->title, strs[n].title);
            items[n].artist = clip(a->artist, strs[n].artist);
            items[n].album = items[n].title;
        }
        catalog_album_list_free(&l);
    } else {
        struct catalog_track_list l = {0};
        rc = catalog_album_tracks(j->cat, (int64_t)j->parent, &l);
        for (size_t i = j->offset; rc == 0 && i < l.count && n < cap; i++, n++)
            track_item(&l.items[i], &items[n], &strs[n]);
        catalog_track_list_free(&l);
    }
    if (rc < 0) {
        j->err = rc;
        j->code = WIRE_ERR_INTERNAL;
    } else {
        m.u.items.count = (uint32_t)n;
        m.u.items.items = items;
        job_reply(j, &m);
    }
    free(items);
    free(strs);
}

/* LOGIN and LOGIN_DEVICE: the check, then the same TICKET for both. */
static void work_login(struct job *j)
{
    struct svc *s = j->svc;
    int rc = j->kind == JOB_LOGIN
                 ? account_verify(s->accounts, j->user, j->password, &j->generation)
                 : account_device_check(s->accounts, j->user, j->cred, j->cred_len, j->key,
                                        &j->generation);
    if (rc < 0) {
        j->err = rc;
        j->code = rc == ACCOUNT_EDENIED ? WIRE_ERR_LOGIN : WIRE_ERR_INTERNAL;
        /* the same words whatever was wrong: no hint which */
        if (rc == ACCOUNT_EDENIED && j->kind == JOB_DEVICE_LOGIN)
            j->why = "device credential refused";
        return;
    }
    struct ticket t = {0};
    snprintf(t.user, sizeof(t.user), "%s", j->user);
    memcpy(t.key, j->key, TLS_KEY_LEN);
    t.issued = (uint64_t)time(NULL);
    t.expires = t.issued + s->ticket_lifetime_s;
    t.generation = j->generation;
    uint8_t *buf;
    size_t len;
    if ((rc = ticket_sign(s->id, &t, &buf, &len)) < 0) {
        j->err = rc;
        j->code = WIRE_ERR_INTERNAL;
        return;
    }
    struct wire_msg m = {.type = WIRE_TICKET, .rid = j->rid};
    m.u.ticket.expires = t.expires;
    m.u.ticket.ticket = buf;
    m.u.ticket.ticket_len = len;
    job_reply(j, &m);
    free(buf);
}

/* GET_DEVICE (a new credential bound to the client's key) and
 * REVOKE_DEVICE, for the logged-in user. */
static void work_device(struct job *j)
{
    struct account_db *db = j->svc->accounts;
    struct wire_msg m = {.type = WIRE_OK, .rid = j->rid};
    uint8_t cred[ACCOUNT_CRED_LEN];
    int rc;
    if (j->kind == JOB_DEVICE_REVOKE) {
        rc = account_device_revoke(db, j->user, j->cred, j->cred_len);
    } else {
        rc = account_device_add(db, j->user, j->generation, j->key, j->label, cred);
        m.type = WIRE_DEVICE;
        m.u.device.issued = (uint64_t)time(NULL);
        m.u.device.cred = cred;
        m.u.device.cred_len = sizeof(cred);
    }
    if (rc == 0) {
        job_reply(j, &m);
    } else {
        j->err = rc;
        if (rc == ACCOUNT_EDENIED) { /* deleted or revoked after this login */
            j->code = WIRE_ERR_AUTH_REQUIRED;
            j->why = "the account no longer exists or its credentials were revoked";
        } else if (rc == ACCOUNT_EDEVICES || rc == ACCOUNT_ELABEL) {
            j->code = WIRE_ERR_BAD_REQUEST;
            j->why = account_strerror(rc);
        } else {
            j->code = WIRE_ERR_INTERNAL;
        }
    }
    OPENSSL_cleanse(cred, sizeof(cred));
}

/* GET_MANIFEST (the reply) and the chunk count GET_CHUNKS needs. */
static int work_manifest(struct job *j)
{
    uint8_t *buf;
    size_t len;
    struct manifest *mf;
    int rc = store_read_manifest_raw(j->svc->store, &j->file, &buf, &len);
    if (rc < 0)
        return rc;
    if ((rc = manifest_decode(buf, len, NULL, &mf)) == 0) {
        j->chunk_count = mf->chunk_count;
        manifest_free(mf);
    }
    if (rc == 0 && j->kind == JOB_MANIFEST) {
        if (len > WIRE_MAX_MANIFEST) {
            rc = MANIFEST_ETOOBIG; /* a file of over 512 MiB: it cannot travel */
        } else {
            struct wire_msg m = {.type = WIRE_MANIFEST, .rid = j->rid};
            memcpy(m.u.manifest.file_id, j->file.bytes, WIRE_ID_LEN);
            m.u.manifest.data = buf;
            m.u.manifest.len = len;
            job_reply(j, &m);
        }
    }
    free(buf);
    return rc;
}

static int work_key(struct job *j)
{
    struct content_key key;
    int rc = store_read_key(j->svc->store, &j->file, &key);
    if (rc < 0)
        return rc;
    struct wire_msg m = {.type = WIRE_KEY, .rid = j->rid};
    memcpy(m.u.key.file_id, j->file.bytes, WIRE_ID_LEN);
    memcpy(m.u.key.key, key.bytes, WIRE_KEY_LEN);
    job_reply(j, &m);
    memset(&key, 0, sizeof(key));
    return 0;
}

static int work_chunk(struct job *j)
{
    uint8_t *data = xmalloc(STORE_CHUNK_SIZE);
    size_t len = 0;
    int rc = store_read_chunk(j->svc->store, &j->file, j->index, data, &len);
    if (rc == 0) {
        struct wire_msg m = {.type = WIRE_CHUNK, .rid = j->rid};
        memcpy(m.u.chunk.file_id, j->file.bytes, WIRE_ID_LEN);
        m.u.chunk.index = j->index;
        m.u.chunk.data = data;
        m.u.chunk.len = len;
        job_reply(j, &m);
    }
    free(data);
    return rc;
}

static void work_store(struct job *j)
{
    int rc;
    if (j->kind == JOB_MANIFEST || j->kind == JOB_STAT)
        rc = work_manifest(j);
    else if (j->kind == JOB_KEY)
        rc = work_key(j);
    else
        rc = work_chunk(j);
    if (rc < 0) {
        j->err = rc;
        j->code = store_code(rc);
    }
}

static void job_work(uv_work_t *w)
{
    struct job *j = w->data;
    switch (j->kind) {
    case JOB_LOGIN:
    case JOB_DEVICE_LOGIN:
        work_login(j);
        break;
    case JOB_DEVICE_ADD:
    case JOB_DEVICE_REVOKE:
        work_device(j);
        break;
    case JOB_TICKET: {
        uint32_t now_gen = 0;
        j->err = account_generation(j->svc->accounts, j->user, &now_gen);
        if (j->err == 0 && now_gen != j->generation)
            j->err = TICKET_EREVOKED;
        else if (j->err == ACCOUNT_EDENIED)
            j->err = TICKET_EREVOKED; /* the user is gone */
        break;
    }
    case JOB_BROWSE:
    case JOB_SEARCH:
        work_catalog(j);
        break;
    default:
        work_store(j);
        break;
    }
}

/* ---- chunk pumping ---- */

static uint64_t data_prio(const struct chunk_req *r)
{
    return 1 + ((uint64_t)r->prio << 40) + r->deadline;
}

static bool more_urgent(const struct chunk_req *a, const struct chunk_req *b)
{
    if (a->prio != b->prio)
        return a->prio < b->prio;
    if (a->deadline != b->deadline)
        return a->deadline < b->deadline;
    return a->order < b->order;
}

/* Starts chunk reads for the most urgent requests while the client's
 * connection has room (called again as it drains). */
static void pump(struct client *cl)
{
    if (!cl->conn || conn_closing(cl->conn) || cl->svc->closing)
        return;
    while (cl->reads < SVC_READS_PER_CLIENT &&
           conn_queued_bytes(cl->conn) + (size_t)cl->reads * STORE_CHUNK_SIZE < FEED_BYTES) {
        struct chunk_req *best = NULL;
        for (struct chunk_req *r = cl->reqs; r; r = r->next)
            if (r->active && !r->dead && r->next_index < r->end && (!best || more_urgent(r, best)))
                best = r;
        if (!best)
            return;
        struct job *j = job_new(cl, JOB_CHUNK, best->rid);
        j->file = best->file;
        j->req = best;
        j->index = best->next_index++;
        best->inflight++;
        cl->reads++;
        job_submit(j);
    }
}

/* A request's file is known to have count chunks: check its range. */
static void activate(struct client *cl, struct chunk_req *r, uint32_t count)
{
    if (r->next_index >= count || r->end > count) {
        send_error(cl, r->rid, WIRE_ERR_BAD_REQUEST, "chunk range beyond the end of the file");
        r->dead = true;
        return;
    }
    r->active = true;
    if (cl->conn)
        conn_want_writable(cl->conn);
}

static void done_chunk(struct client *cl, struct job *j)
{
    struct svc *s = cl->svc;
    struct chunk_req *r = j->req;
    cl->reads--;
    r->inflight--;
    if (cl->conn && !r->dead) {
        if (j->code) {
            if (j->code == WIRE_ERR_INTERNAL)
                clog_error(s->log, MOD, "%s: reading chunk %u: %s", cl->addr, j->index,
                           svc_strerror(j->err));
            send_error(cl, r->rid, j->code, NULL);
            r->dead = true;
            conn_cancel(cl->conn, r->rid);
        } else {
            s->st.chunks_served++;
            s->st.bytes_served += j->frame_len;
            cl->chunks_sent++;
            send_frame(cl, j, data_prio(r), r->rid);
        }
    }
    maybe_free_req(cl, r);
    pump(cl);
}

static void done_stat(struct client *cl, struct job *j)
{
    struct chunk_req *r = j->req;
    r->inflight--;
    if (j->code == 0)
        file_remember(cl->svc, &j->file, j->chunk_count);
    if (cl->conn && !r->dead) {
        if (j->code) {
            send_error(cl, r->rid, j->code, NULL);
            r->dead = true;
        } else {
            activate(cl, r, j->chunk_count);
        }
    }
    maybe_free_req(cl, r);
}

/* The oldest waiting job of the client whose turn it is (NULL when none
 * waits); that client goes to the back of the ring if it has more. */
static struct job *queue_pop(struct svc *s, int qi)
{
    struct job_queue *q = &s->queues[qi];
    if (qi == Q_LOGIN)
        return login_pop(q);
    struct client *cl = q->ring_head;
    if (!cl)
        return NULL;
    struct client_wait *w = &cl->wait[qi];
    q->ring_head = w->next;
    if (!q->ring_head)
        q->ring_tail = NULL;
    w->in_ring = false;
    struct job *j = w->head;
    w->head = j->next;
    if (!w->head)
        w->tail = NULL;
    j->next = NULL;
    if (w->head)
        ring_append(q, cl, qi);
    return j;
}

/* Releases a queued job that will not run (its client left, or the
 * service is closing). */
static void discard_job(struct svc *s, struct job *j)
{
    struct client *cl = j->cl;
    cl->jobs--;
    if (j->kind == JOB_LOGIN || j->kind == JOB_DEVICE_LOGIN)
        cl->login_busy = false;
    cl->refs--;
    s->jobs--;
    job_free(j);
    maybe_free_client(cl);
}

/* Starts the next waiting job whose client is still connected: a client
 * that queued logins or searches and left costs nothing more. */
static void start_queued(struct svc *s, int qi)
{
    struct job *next;
    while ((next = queue_pop(s, qi))) {
        if (next->cl->conn) {
            s->queues[qi].running++;
            job_start(next);
            return;
        }
        discard_job(s, next);
    }
}

/* A login attempt of cl failed or was refused: answered, and after
 * SVC_MAX_LOGIN_FAILURES of them the connection goes. */
static void login_failed(struct client *cl, uint32_t rid, uint16_t code, const char *why)
{
    cl->login_failures++;
    send_error(cl, rid, code, why);
    if (cl->conn && cl->login_failures >= SVC_MAX_LOGIN_FAILURES)
        conn_close_after_flush(cl->conn, 0);
}

/* Counts a login's outcome in its entries: a wrong password or credential
 * is a failure of the address (and, for a password, of the account there
 * and everywhere); a success clears the account's. */
static void note_login(struct svc *s, struct job *j)
{
    if (j->code == 0) {
        ent_reset(s, j->account);
        ent_reset(s, j->account_at);
        return;
    }
    if (j->code != WIRE_ERR_LOGIN)
        return;
    uint64_t now = now_ms(s);
    char what[WIRE_MAX_USER + 96];
    const char *host = j->cl->host;
    snprintf(what, sizeof(what), "address %s", host);
    note_failure(s, j->addr, s->addr_failures, s->backoff_max_ms, what, now);
    if (j->kind != JOB_LOGIN)
        return;
    snprintf(what, sizeof(what), "account '%s' from %s", j->user, host);
    note_failure(s, j->account_at, s->login_failures, s->backoff_max_ms, what, now);
    snprintf(what, sizeof(what), "account '%s'", j->user);
    note_failure(s, j->account, s->account_failures, s->account_backoff_max_ms, what, now);
}

/* LOGIN and LOGIN_DEVICE: failures of both count towards one limit. */
static void done_login(struct client *cl, struct job *j)
{
    struct svc *s = cl->svc;
    bool device = j->kind == JOB_DEVICE_LOGIN;
    const char *how = device ? " with a device credential" : "";
    cl->jobs--;
    cl->login_busy = false;
    note_login(s, j);
    if (!cl->conn)
        return;
    cl->login_clock = now_ms(s);
    if (j->code == 0) {
        if (device)
            s->st.device_logins_ok++;
        else
            s->st.logins_ok++;
        set_authed(cl, j->user);
        cl->generation = j->generation;
        cl->by_password = !device;
        clog_info(s->log, MOD, "%s: %s logged in%s", cl->addr, j->user, how);
        send_frame(cl, j, CONN_PRIO_CONTROL, 0);
        return;
    }
    if (device)
        s->st.device_logins_failed++;
    else
        s->st.logins_failed++;
    if (j->code == WIRE_ERR_INTERNAL)
        clog_error(s->log, MOD, "%s: login of '%s'%s: %s", cl->addr, j->user, how,
                   svc_strerror(j->err));
    else
        clog_warn(s->log, MOD, "%s: login of '%s'%s refused (%u failures)", cl->addr, j->user, how,
                  cl->login_failures + 1);
    login_failed(cl, j->rid, j->code, j->why);
}

/* What a job of this kind does, for the log. */
static const char *job_what(enum job_kind kind)
{
    switch (kind) {
    case JOB_KEY:
        return "key";
    case JOB_DEVICE_ADD:
        return "issuing a device credential";
    case JOB_DEVICE_REVOKE:
        return "revoking a device credential";
    default:
        return "read";
    }
}

/* BROWSE, SEARCH, GET_MANIFEST, GET_KEY, GET_DEVICE, REVOKE_DEVICE: one
 * reply frame or an error. */
static void done_reply(struct client *cl, struct job *j)
{
    struct svc *s = cl->svc;
    cl->jobs--;
    if (j->kind == JOB_MANIFEST && j->code == 0)
        file_remember(s, &j->file, j->chunk_count);
    if (!cl->conn)
        return;
    if (j->code) {
        if (j->code == WIRE_ERR_INTERNAL)
            clog_error(s->log, MOD, "%s: %s: %s", cl->addr, job_what(j->kind),
                       svc_strerror(j->err));
        send_error(cl, j->rid, j->code, j->why);
    } else {
        if (j->kind == JOB_DEVICE_ADD || j->kind == JOB_DEVICE_REVOKE)
            clog_info(s->log, MOD, "%s %s: device credential %s", cl->addr, cl->user,
                      j->kind == JOB_DEVICE_ADD ? "issued" : "revoked");
        s->st.requests++;
        send_frame(cl, j, CONN_PRIO_CONTROL, 0);
    }
}

static void done_ticket(struct client *cl, struct job *j);

static void job_done(uv_work_t *w, int status)
{
    (void)status;
    struct job *j = w->data;
    struct svc *s = j->svc;
    struct client *cl = j->cl;

    if (j->cat)
        s->cats_free[s->ncats_free++] = j->cat;
    int qi = queue_of(j->kind);
    if (qi >= 0) {
        s->queues[qi].running--;
        if (!s->closing)
            start_queued(s, qi);
    }
    switch (j->kind) {
    case JOB_CHUNK:
        done_chunk(cl, j);
        break;
    case JOB_STAT:
        done_stat(cl, j);
        break;
    case JOB_LOGIN:
    case JOB_DEVICE_LOGIN:
        done_login(cl, j);
        break;
    case JOB_TICKET:
        done_ticket(cl, j);
        break;
    default:
        done_reply(cl, j);
        break;
    }
    cl->refs--;
    s->jobs--;
    job_free(j);
    maybe_free_client(cl);
    maybe_finish_close(s);
}

/* ---- requests ---- */

static bool take_job_slot(struct client *cl, uint32_t rid)
{
    if (cl->jobs >= SVC_MAX_JOBS_PER_CLIENT) {
        send_error(cl, rid, WIRE_ERR_BUSY, "too many requests in flight");
        return false;
    }
    cl->jobs++;
    return true;
}

static void send_hello(struct client *cl)
{
    struct wire_msg r = {.type = WIRE_HELLO};
    r.u.hello.version = WIRE_VERSION;
    r.u.hello.role = WIRE_ROLE_SERVICE;
    r.u.hello.flags = cl->authed ? WIRE_HELLO_AUTHENTICATED : 0;
    send_msg(cl, &r);
}

static void refuse_ticket(struct client *cl, int err)
{
    cl->svc->st.tickets_refused++;
    clog_warn(cl->svc->log, MOD, "%s: ticket refused: %s", cl->addr, ticket_strerror(err));
    send_error(cl, 0, err == TICKET_EEXPIRED ? WIRE_ERR_TICKET_EXPIRED : WIRE_ERR_TICKET,
               ticket_strerror(err));
}

/* HELLO's ticket checked against the accounts: then HELLO is answered. */
static void done_ticket(struct client *cl, struct job *j)
{
    struct svc *s = cl->svc;
    cl->login_busy = false;
    if (!cl->conn)
        return;
    if (j->err == 0) {
        set_authed(cl, j->user);
        cl->generation = j->generation;
        clog_info(s->log, MOD, "%s: %s resumed with a ticket", cl->addr, j->user);
    } else if (errcode_in_block(j->err, TICKET_EFORMAT)) {
        refuse_ticket(cl, j->err);
    } else {
        clog_error(s->log, MOD, "%s: checking a ticket: %s", cl->addr, svc_strerror(j->err));
        send_error(cl, 0, WIRE_ERR_INTERNAL, NULL);
    }
    send_hello(cl);
}

static void handle_hello(struct client *cl, struct wire_msg *m)
{
    struct svc *s = cl->svc;
    if (m->u.hello.version != WIRE_VERSION) {
        char why[80];
        snprintf(why, sizeof(why), "protocol version %u not supported (this service speaks %u)",
                 m->u.hello.version, WIRE_VERSION);
        clog_warn(s->log, MOD, "%s: %s", cl->addr, why);
        send_error(cl, 0, WIRE_ERR_VERSION, why);
        conn_close_after_flush(cl->conn, 0);
        return;
    }
    if (m->u.hello.role != WIRE_ROLE_CLIENT && m->u.hello.role != WIRE_ROLE_PEER) {
        protocol_close(cl, "HELLO with a role other than client or peer");
        return;
    }
    cl->hello = true;
    if (m->u.hello.ticket_len) {
        struct ticket t;
        int rc = ticket_verify(m->u.hello.ticket, m->u.hello.ticket_len, s->pub, cl->key,
                               (uint64_t)time(NULL), 0, &t);
        if (rc == 0) {
            /* Its generation needs the database: the answer waits for
             * the job, and a LOGIN meanwhile is busy. */
            struct job *j = job_new(cl, JOB_TICKET, 0);
            j->user = xstrdup(t.user);
            j->generation = t.generation;
            cl->login_busy = true;
            job_submit(j);
            return;
        }
        refuse_ticket(cl, rc);
    }
    send_hello(cl);
}

/* The per-address cap on pending logins and the back-offs: true when
 * the attempt was answered ERROR BUSY without a check. An attempt held
 * by a back-off counts as a failure of the connection (a guesser's
 * connection goes after a few); one held by the cap does not (it is
 * not that connection's doing). */
static bool login_held(struct client *cl, const char *user, bool device, uint32_t rid)
{
    struct svc *s = cl->svc;
    struct ent *a = cl->ent;
    if (!a->exempt && a->pending >= s->max_logins_per_addr) {
        s->st.logins_held++;
        clog_debug(s->log, MOD, "%s: login held: %u pending from this address", cl->addr,
                   a->pending);
        send_error(cl, rid, WIRE_ERR_BUSY, "too many logins pending from this address");
        return true;
    }
    uint64_t now = now_ms(s), wait = backoff_left(a, s->addr_failures, now);
    if (!device) {
        uint64_t w =
            backoff_left(ent_lookup(s, ENT_ACCOUNT_AT, cl, user, false), s->login_failures, now);
        wait = w > wait ? w : wait;
        w = backoff_left(ent_lookup(s, ENT_ACCOUNT, cl, user, false), s->account_failures, now);
        wait = w > wait ? w : wait;
    }
    if (wait == 0)
        return false;
    s->st.logins_held++;
    char why[80];
    snprintf(why, sizeof(why), "too many failed logins: try again in %llu s",
             (unsigned long long)((wait + 999) / 1000));
    clog_debug(s->log, MOD, "%s: login of '%s' held back: %s", cl->addr, user, why);
    login_failed(cl, rid, WIRE_ERR_BUSY, why);
    return true;
}

/* LOGIN (scrypt, in the login queue) and LOGIN_DEVICE (a cheap lookup
 * that starts at once): one at a time per connection, none on a
 * connection already logged in. */
static void handle_login(struct client *cl, struct wire_msg *m)
{
    struct svc *s = cl->svc;
    bool device = m->type == WIRE_LOGIN_DEVICE;
    const char *user = device ? m->u.device.user : m->u.login.user;
    if (!user)
        user = "";
    if (cl->authed) {
        clog_warn(s->log, MOD, "%s %s: %s on a logged-in connection refused", cl->addr, cl->user,
                  wire_type_name(m->type));
        login_failed(cl, m->rid, WIRE_ERR_BAD_REQUEST, "already logged in on this connection");
        return;
    }
    if (cl->login_busy) {
        send_error(cl, m->rid, WIRE_ERR_BUSY, "a login is already in progress");
        return;
    }
    if (login_held(cl, user, device, m->rid) || !take_job_slot(cl, m->rid))
        return;
    cl->login_busy = true;
    struct job *j = job_new(cl, device ? JOB_DEVICE_LOGIN : JOB_LOGIN, m->rid);
    j->addr = ent_pend(cl->ent);
    if (!device) {
        j->account = ent_pend(ent_lookup(s, ENT_ACCOUNT, cl, user, true));
        j->account_at = ent_pend(ent_lookup(s, ENT_ACCOUNT_AT, cl, user, true));
    }
    if (device) {
        j->user = m->u.device.user;
        j->cred = m->u.device.cred;
        j->cred_len = m->u.device.cred_len;
        m->u.device.user = NULL; /* taken */
        m->u.device.cred = NULL;
    } else {
        j->user = m->u.login.user;
        j->password = m->u.login.password;
        m->u.login.user = m->u.login.password = NULL; /* taken */
    }
    memcpy(j->key, cl->key, TLS_KEY_LEN);
    job_submit(j);
}

/* GET_DEVICE and REVOKE_DEVICE, for the user logged in on cl. */
static void handle_device(struct client *cl, struct wire_msg *m)
{
    bool add = m->type == WIRE_GET_DEVICE;
    /* Only a password login makes a credential: a ticket outlives a
     * password change (until it expires), and a stolen credential must
     * not breed more of itself. */
    if (add && !cl->by_password) {
        send_error(cl, m->rid, WIRE_ERR_AUTH_REQUIRED,
                   "a device credential needs a password login on this connection");
        return;
    }
    if (!take_job_slot(cl, m->rid))
        return;
    struct job *j = job_new(cl, add ? JOB_DEVICE_ADD : JOB_DEVICE_REVOKE, m->rid);
    j->user = xstrdup(cl->user);
    j->generation = cl->generation;
    memcpy(j->key, cl->key, TLS_KEY_LEN);
    j->label = m->u.device.label;
    j->cred = m->u.device.cred;
    j->cred_len = m->u.device.cred_len;
    m->u.device.label = NULL; /* taken */
    m->u.device.cred = NULL;
    job_submit(j);
}

static void handle_browse(struct client *cl, struct wire_msg *m)
{
    bool search = m->type == WIRE_SEARCH;
    /* limit 1..WIRE_MAX_ITEMS and kind 1..3: checked by the codec */
    uint32_t limit = search ? m->u.search.limit : m->u.browse.limit;
    if (!take_job_slot(cl, m->rid))
        return;
    struct job *j = job_new(cl, search ? JOB_SEARCH : JOB_BROWSE, m->rid);
    j->limit = limit;
    if (search) {
        j->query = m->u.search.query;
        m->u.search.query = NULL;
    } else {
        j->browse_kind = m->u.browse.kind;
        j->parent = m->u.browse.parent;
        j->offset = m->u.browse.offset;
    }
    job_submit(j);
}

static void handle_file(struct client *cl, struct wire_msg *m)
{
    if (!take_job_slot(cl, m->rid))
        return;
    struct job *j = job_new(cl, m->type == WIRE_GET_KEY ? JOB_KEY : JOB_MANIFEST, m->rid);
    memcpy(j->file.bytes, m->u.file.file_id, CONTENT_ID_LEN);
    job_submit(j);
}

static void handle_get_chunks(struct client *cl, struct wire_msg *m)
{
    struct svc *s = cl->svc;
    /* count 1..WIRE_MAX_RANGE, first + count without overflow and the
     * priority: checked by the codec (a frame out of range never gets here) */
    uint32_t first = m->u.get_chunks.first, count = m->u.get_chunks.count;
    if (m->rid == 0) {
        send_error(cl, m->rid, WIRE_ERR_BAD_REQUEST, "GET_CHUNKS needs rid > 0");
        return;
    }
    for (struct chunk_req *r = cl->reqs; r; r = r->next)
        if (r->rid == m->rid && !r->dead) {
            send_error(cl, m->rid, WIRE_ERR_BAD_REQUEST, "a request with this rid is open");
            return;
        }
    if (cl->nreqs >= SVC_MAX_REQUESTS) {
        send_error(cl, m->rid, WIRE_ERR_BUSY, "too many chunk requests open");
        return;
    }
    struct chunk_req *r = xcalloc(1, sizeof(*r));
    r->rid = m->rid;
    memcpy(r->file.bytes, m->u.get_chunks.file_id, CONTENT_ID_LEN);
    r->next_index = first;
    r->end = first + count;
    r->prio = m->u.get_chunks.priority;
    r->deadline =
        m->u.get_chunks.deadline_ms ? now_ms(s) + m->u.get_chunks.deadline_ms : NO_DEADLINE;
    if (r->deadline > NO_DEADLINE)
        r->deadline = NO_DEADLINE;
    r->order = cl->order++;
    r->next = cl->reqs;
    cl->reqs = r;
    cl->nreqs++;
    uint32_t chunks;
    if (file_cached(s, &r->file, &chunks)) {
        activate(cl, r, chunks);
        maybe_free_req(cl, r);
        return;
    }
    struct job *j = job_new(cl, JOB_STAT, m->rid);
    j->file = r->file;
    j->req = r;
    r->inflight++;
    job_submit(j);
}

static void handle_cancel(struct client *cl, struct wire_msg *m)
{
    for (struct chunk_req *r = cl->reqs; r; r = r->next) {
        if (r->rid == m->rid && !r->dead) {
            r->dead = true;
            conn_cancel(cl->conn, r->rid);
            maybe_free_req(cl, r);
            break;
        }
    }
    send_ok(cl, m->rid); /* after it, no CHUNK of this rid arrives */
}

static void handle_announce(struct client *cl, struct wire_msg *m)
{
    struct svc *s = cl->svc;
    if (!m->u.announce.withdraw && m->u.announce.port == 0) {
        send_error(cl, m->rid, WIRE_ERR_BAD_REQUEST, "ANNOUNCE needs the port peers connect to");
        return;
    }
    if (m->u.announce.withdraw)
        tracker_withdraw(s->tracker, cl->tp, (const uint8_t(*)[WIRE_ID_LEN])m->u.announce.file_ids,
                         m->u.announce.count);
    else
        tracker_announce(s->tracker, cl->tp, m->u.announce.port,
                         (const uint8_t(*)[WIRE_ID_LEN])m->u.announce.file_ids, m->u.announce.count,
                         now_ms(s));
    s->st.announces++;
    send_ok(cl, m->rid);
}

static void handle_lookup(struct client *cl, struct wire_msg *m)
{
    struct svc *s = cl->svc;
    struct wire_msg r = {.type = WIRE_PEERS, .rid = m->rid};
    memcpy(r.u.peers.file_id, m->u.file.file_id, WIRE_ID_LEN);
    r.u.peers.count = (uint32_t)tracker_lookup(s->tracker, m->u.file.file_id, cl->tp, now_ms(s),
                                               r.u.peers.peers, WIRE_MAX_PEERS);
    s->st.lookups++;
    send_msg(cl, &r);
}

static void on_message(struct conn *c, struct wire_msg *m, void *arg)
{
    (void)c;
    struct client *cl = arg;
    struct svc *s = cl->svc;
    if (cl->tp)
        tracker_peer_touch(cl->tp, now_ms(s));
    if (!cl->hello) {
        if (m->type == WIRE_HELLO)
            handle_hello(cl, m);
        else
            protocol_close(cl, "the first message must be HELLO");
        return;
    }
    switch (m->type) {
    case WIRE_PING: {
        struct wire_msg r = {.type = WIRE_PONG, .rid = m->rid};
        send_msg(cl, &r);
        return;
    }
    case WIRE_LOGIN:
    case WIRE_LOGIN_DEVICE:
        handle_login(cl, m);
        return;
    case WIRE_GET_DEVICE:
    case WIRE_REVOKE_DEVICE:
    case WIRE_BROWSE:
    case WIRE_SEARCH:
    case WIRE_GET_MANIFEST:
    case WIRE_GET_KEY:
    case WIRE_GET_CHUNKS:
    case WIRE_CANCEL:
    case WIRE_ANNOUNCE:
    case WIRE_LOOKUP:
        break;
    case WIRE_HELLO:
        protocol_close(cl, "HELLO sent twice");
        return;
    default:
        send_error(cl, m->rid, WIRE_ERR_PROTOCOL, "not a request");
        return;
    }
    if (!cl->authed) {
        send_error(cl, m->rid, WIRE_ERR_AUTH_REQUIRED, NULL);
        return;
    }
    switch (m->type) {
    case WIRE_GET_DEVICE:
    case WIRE_REVOKE_DEVICE:
        handle_device(cl, m);
        break;
    case WIRE_BROWSE:
    case WIRE_SEARCH:
        handle_browse(cl, m);
        break;
    case WIRE_GET_MANIFEST:
    case WIRE_GET_KEY:
        handle_file(cl, m);
        break;
    case WIRE_GET_CHUNKS:
        handle_get_chunks(cl, m);
        break;
    case WIRE_CANCEL:
        handle_cancel(cl, m);
        break;
    case WIRE_ANNOUNCE:
        handle_announce(cl, m);
        break;
    default: /* WIRE_LOOKUP */
        handle_lookup(cl, m);
        break;
    }
}

/* ---- connections ---- */

static void on_established(struct conn *c, void *arg)
{
    struct client *cl = arg;
    conn_peer_key(c, cl->key);
    clog_debug(cl->svc->log, MOD, "%s: TLS established", cl->addr);
}

static void on_writable(struct conn *c, void *arg)
{
    (void)c;
    pump(arg);
}

static void on_close(struct conn *c, int err, void *arg)
{
    (void)c;
    struct client *cl = arg;
    struct svc *s = cl->svc;
    uint64_t in = 0, out = 0;
    conn_stats(c, &in, &out);
    if (err == 0 || err == CONN_EEOF)
        clog_info(s->log, MOD, "%s%s%s: disconnected (%llu chunks, %llu bytes out)", cl->addr,
                  cl->authed ? " " : "", cl->user, (unsigned long long)cl->chunks_sent,
                  (unsigned long long)out);
    else
        clog_info(s->log, MOD, "%s%s%s: closed: %s", cl->addr, cl->authed ? " " : "", cl->user,
                  svc_strerror(err));
    if (err == CONN_EPROTO)
        s->st.protocol_errors++;
    cl->conn = NULL;
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        s->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    s->st.clients--;
    cl->ent->conns--;
    ent_unref(s, cl->ent);
    cl->ent = NULL;
    if (cl->tp)
        tracker_peer_remove(s->tracker, cl->tp);
    cl->tp = NULL;
    for (struct chunk_req *r = cl->reqs; r; r = r->next)
        r->dead = true;
    maybe_free_client(cl);
    maybe_finish_close(s);
}

static const struct conn_callbacks client_callbacks = {
    .on_established = on_established,
    .on_message = on_message,
    .on_writable = on_writable,
    .on_close = on_close,
};

static void reject_closed(uv_handle_t *h)
{
    free(h);
}

static void pause_accepting(struct svc *s, int err);

/* cl's address as an entry key: an IPv4 address (also one mapped into
 * IPv6) whole, an IPv6 address by its /64 prefix. */
static void set_addr_key(struct client *cl)
{
    static const uint8_t v4_mapped[12] = {[10] = 0xff, [11] = 0xff};
    memset(cl->akey, 0, sizeof(cl->akey));
    if (cl->family == 6 && memcmp(cl->ip, v4_mapped, 12) == 0) {
        cl->akey[0] = 4;
        memcpy(cl->akey + 1, cl->ip + 12, 4);
    } else if (cl->family == 6) {
        static const uint8_t loopback[16] = {[15] = 1};
        cl->akey[0] = 6;
        /* ::1 whole, so that it is told from the rest of ::/64 */
        memcpy(cl->akey + 1, cl->ip, memcmp(cl->ip, loopback, 16) == 0 ? 16 : 8);
    } else {
        cl->akey[0] = 4;
        memcpy(cl->akey + 1, cl->ip, 4);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct svc *s = server->data;
    if (status == UV_EMFILE || status == UV_ENFILE) {
        /* libuv's spare descriptor did not help: it would call us again
         * and again without returning to the loop */
        pause_accepting(s, status);
        return;
    }
    if (status < 0) {
        clog_warn(s->log, MOD, "accept: %s", uv_strerror(status));
        return;
    }
    if (s->closing || s->st.clients >= s->max_clients) {
        /* take it off the backlog and hang up */
        uv_tcp_t *t = xmalloc(sizeof(*t));
        uv_tcp_init(s->loop, t);
        if (uv_accept(server, (uv_stream_t *)t) == 0 && !s->closing &&
            s->st.clients_refused++ % 1000 == 0)
            clog_warn(s->log, MOD, "refusing connections: %u clients connected (%llu refused)",
                      (unsigned)s->st.clients, (unsigned long long)s->st.clients_refused);
        uv_close((uv_handle_t *)t, reject_closed);
        return;
    }
    struct client *cl = xcalloc(1, sizeof(*cl));
    cl->svc = s;
    int rc = conn_accept(server, s->ctx, &client_callbacks, cl, &cl->conn);
    if (rc < 0) {
        clog_warn(s->log, MOD, "accept: %s", svc_strerror(rc));
        free(cl);
        return;
    }
    conn_set_handshake_timeout(cl->conn, s->handshake_timeout_ms);
    conn_set_max_body(cl->conn, s->max_body);
    struct sockaddr_storage ss;
    if (conn_peer_addr(cl->conn, &ss) == 0) {
        conn_format_addr(&ss, cl->addr, sizeof(cl->addr));
        if (ss.ss_family == AF_INET) {
            cl->family = 4;
            memcpy(cl->ip, &((struct sockaddr_in *)&ss)->sin_addr, 4);
            uv_ip4_name((struct sockaddr_in *)&ss, cl->host, sizeof(cl->host));
        } else {
            cl->family = 6;
            memcpy(cl->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
            uv_ip6_name((struct sockaddr_in6 *)&ss, cl->host, sizeof(cl->host));
        }
    } else {
        snprintf(cl->addr, sizeof(cl->addr), "?");
        snprintf(cl->host, sizeof(cl->host), "?");
        cl->family = 4;
    }
    set_addr_key(cl);
    cl->ent = ent_lookup(s, ENT_ADDR, cl, NULL, true);
    cl->ent->refs++;
    bool over = !cl->ent->exempt && cl->ent->conns >= s->max_conns_per_addr;
    cl->ent->conns++;
    cl->login_clock = now_ms(s);
    cl->next = s->clients;
    if (s->clients)
        s->clients->prev = cl;
    s->clients = cl;
    s->st.clients++;
    s->st.clients_total++;
    if (over) {
        /* hung up before TLS; the client's own cleanup runs in on_close */
        s->st.addr_refused++;
        if (cl->ent->refused++ % 1000 == 0)
            clog_warn(s->log, MOD, "%s: refusing connections: %u from this address (%u refused)",
                      cl->host, cl->ent->conns - 1, cl->ent->refused);
        conn_close(cl->conn, 0);
        return;
    }
    clog_debug(s->log, MOD, "%s: connected", cl->addr);
}

/* Drops silent peers' tracker entries, connections that never logged in
 * and connections whose peer stopped reading (their queued replies would
 * otherwise be held for as long as the peer likes). */
static void sweep_cb(uv_timer_t *t)
{
    struct svc *s = t->data;
    uint64_t now = now_ms(s);
    size_t gone = tracker_expire(s->tracker, now);
    ents_expire(s, now);
    if (gone)
        clog_debug(s->log, MOD, "tracker: %zu entries of silent peers expired", gone);
    for (struct client *cl = s->clients; cl; cl = cl->next) {
        if (!cl->conn || conn_closing(cl->conn))
            continue;
        /* a login waiting in the queue or being checked is not timed out */
        if (!cl->authed && !cl->login_busy && now - cl->login_clock > s->login_timeout_ms) {
            clog_info(s->log, MOD, "%s: closing: no login within %llu ms", cl->addr,
                      (unsigned long long)s->login_timeout_ms);
            conn_close(cl->conn, CONN_ETIMEOUT);
        } else if (conn_send_stall_ms(cl->conn) > s->send_timeout_ms) {
            s->st.send_timeouts++;
            clog_warn(s->log, MOD, "%s%s%s: closing: not reading (%zu bytes unsent for %llu ms)",
                      cl->addr, cl->authed ? " " : "", cl->user, conn_queued_bytes(cl->conn),
                      (unsigned long long)conn_send_stall_ms(cl->conn));
            conn_close(cl->conn, CONN_ETIMEOUT);
        }
    }
}

/* ---- the generation re-check ----
 * One job for the whole service: the distinct users logged in now (sorted,
 * so each is read once and found again by bsearch), read on the
 * threadpool; back on the loop, connections whose user's generation moved
 * on, or whose user is gone, are closed. */

struct gen_check {
    uv_work_t work;
    struct svc *svc;
    size_t n;
    char (*users)[WIRE_MAX_USER + 1];
    uint32_t *gens;
    bool *known; /* false: no such user (or the read failed: see err) */
    int err;
};

static int cmp_user(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void gen_check_work(uv_work_t *w)
{
    struct gen_check *g = w->data;
    for (size_t i = 0; i < g->n; i++) {
        int rc = account_generation(g->svc->accounts, g->users[i], &g->gens[i]);
        g->known[i] = rc == 0;
        if (rc < 0 && rc != ACCOUNT_EDENIED)
            g->err = rc;
    }
}

static void gen_check_free(struct gen_check *g)
{
    free(g->users);
    free(g->gens);
    free(g->known);
    free(g);
}

static void gen_check_done(uv_work_t *w, int status)
{
    (void)status;
    struct gen_check *g = w->data;
    struct svc *s = g->svc;
    s->jobs--;
    s->recheck_busy = false;
    if (g->err) /* a database fault is no reason to drop anyone */
        clog_error(s->log, MOD, "re-checking credentials: %s", svc_strerror(g->err));
    for (struct client *cl = s->clients; cl && !s->closing && !g->err; cl = cl->next) {
        if (!cl->authed || !cl->conn || conn_closing(cl->conn))
            continue;
        char(*u)[WIRE_MAX_USER + 1] =
            bsearch(cl->user, g->users, g->n, sizeof(*g->users), cmp_user);
        if (!u) /* logged in after the check began */
            continue;
        size_t i = (size_t)(u - g->users);
        if (g->known[i] && g->gens[i] == cl->generation)
            continue;
        clog_info(s->log, MOD, "%s %s: closing: credentials revoked (%s)", cl->addr, cl->user,
                  g->known[i] ? "password changed or chorusd revoke" : "user deleted");
        send_error(cl, 0, WIRE_ERR_TICKET, ticket_strerror(TICKET_EREVOKED));
        conn_close_after_flush(cl->conn, 0);
    }
    gen_check_free(g);
    maybe_finish_close(s);
}

static void recheck_cb(uv_timer_t *t)
{
    struct svc *s = t->data;
    if (s->recheck_busy || s->closing)
        return;
    size_t n = 0;
    for (struct client *cl = s->clients; cl; cl = cl->next)
        n += cl->authed && cl->conn;
    if (n == 0)
        return;
    struct gen_check *g = xcalloc(1, sizeof(*g));
    g->svc = s;
    g->work.data = g;
    g->users = xcalloc(n, sizeof(*g->users));
    for (struct client *cl = s->clients; cl; cl = cl->next)
        if (cl->authed && cl->conn)
            memcpy(g->users[g->n++], cl->user, sizeof(cl->user));
    qsort(g->users, g->n, sizeof(*g->users), cmp_user);
    size_t distinct = 0;
    for (size_t i = 0; i < g->n; i++)
        if (distinct == 0 || strcmp(g->users[i], g->users[distinct - 1]) != 0)
            memmove(g->users[distinct++], g->users[i], sizeof(*g->users));
    g->n = distinct;
    g->gens = xcalloc(distinct, sizeof(*g->gens));
    g->known = xcalloc(distinct, sizeof(*g->known));
    if (uv_queue_work(s->loop, &g->work, gen_check_work, gen_check_done) < 0) {
        gen_check_free(g);
        return;
    }
    s->recheck_busy = true;
    s->jobs++;
}

/* The sweep runs once a second, or more often when a timeout is shorter
 * (tests), so no deadline is overrun by more than about a quarter. */
static uint64_t sweep_period(const struct svc *s, uint64_t tracker_silence_ms)
{
    uint64_t p = 1000, shortest[] = {s->login_timeout_ms, s->send_timeout_ms, tracker_silence_ms};
    for (size_t i = 0; i < sizeof(shortest) / sizeof(shortest[0]); i++)
        if (shortest[i] && shortest[i] / 4 < p)
            p = shortest[i] / 4;
    return p < 10 ? 10 : p;
}

/* Each client costs one file descriptor and the service needs up to
 * SVC_FD_RESERVE more (databases, store files, the loop): serving more
 * clients than the open-files limit allows would make accepts and disk
 * reads fail at random, so the cap follows the limit. */
static unsigned fd_cap(struct svc *s, unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= (rlim_t)want + SVC_FD_RESERVE)
        return want;
    unsigned room = rl.rlim_cur > SVC_FD_RESERVE ? (unsigned)(rl.rlim_cur - SVC_FD_RESERVE) : 1;
    clog_warn(s->log, MOD,
              "the open-files limit is %llu: serving at most %u clients instead of %u"
              " (raise it with ulimit -n)",
              (unsigned long long)rl.rlim_cur, room, want);
    return room;
}

/* The largest body of any frame a client may send (ANNOUNCE): the service
 * refuses longer frames from the header instead of buffering them. */
static size_t max_request_body(void)
{
    static const uint8_t requests[] = {
        WIRE_HELLO,         WIRE_PING,    WIRE_LOGIN,      WIRE_LOGIN_DEVICE, WIRE_GET_DEVICE,
        WIRE_REVOKE_DEVICE, WIRE_BROWSE,  WIRE_SEARCH,     WIRE_CANCEL,       WIRE_LOOKUP,
        WIRE_GET_MANIFEST,  WIRE_GET_KEY, WIRE_GET_CHUNKS, WIRE_ANNOUNCE,
    };
    size_t max = 0;
    for (size_t i = 0; i < sizeof(requests); i++)
        if (wire_max_body(requests[i]) > max)
            max = wire_max_body(requests[i]);
    return max;
}

/* ---- creation and shutdown ---- */

static int open_parts(struct svc *s)
{
    int rc;
    char *path;
    if ((rc = store_open(s->data_dir, &s->store)) < 0) {
        clog_error(s->log, MOD, "cannot open the store in %s: %s", s->data_dir, svc_strerror(rc));
        return rc;
    }
    path = xasprintf("%s/%s", s->data_dir, SVC_CATALOG_NAME);
    for (unsigned i = 0; i < SVC_CATALOG_CONNECTIONS; i++) {
        if ((rc = catalog_open(path, &s->cats[i])) < 0) {
            clog_error(s->log, MOD, "cannot open the catalog %s: %s", path, svc_strerror(rc));
            free(path);
            return rc;
        }
        s->cats_free[s->ncats_free++] = s->cats[i];
    }
    free(path);
    path = xasprintf("%s/%s", s->data_dir, SVC_ACCOUNTS_NAME);
    rc = account_open(path, &s->accounts);
    if (rc < 0)
        clog_error(s->log, MOD, "cannot open the accounts database %s: %s", path, svc_strerror(rc));
    free(path);
    if (rc < 0)
        return rc;
    path = xasprintf("%s/%s", s->data_dir, SVC_KEY_NAME);
    bool created = false;
    rc = tls_identity_load_or_create(path, &s->id, &created);
    if (rc < 0) {
        clog_error(s->log, MOD, "cannot load or create the service key %s: %s", path,
                   svc_strerror(rc));
        free(path);
        return rc;
    }
    tls_identity_public_key(s->id, s->pub);
    char hex[2 * TLS_KEY_LEN + 1];
    tls_key_to_hex(s->pub, hex);
    clog_info(s->log, MOD, "%s service key %s (%s)", created ? "created" : "loaded", hex, path);
    free(path);
    if ((rc = tls_ctx_new(s->id, true, &s->ctx)) < 0) {
        clog_error(s->log, MOD, "cannot set up TLS: %s", svc_strerror(rc));
        return rc;
    }
    return 0;
}

/* Binds the (open) listener to s->bound and listens; then s->bound holds
 * the port actually bound, so listening again takes the same one. */
static int listen_bound(struct svc *s)
{
    int rc, len = sizeof(s->bound);
    if ((rc = uv_tcp_bind(&s->listener, (struct sockaddr *)&s->bound, 0)) < 0 ||
        (rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection)) < 0 ||
        (rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&s->bound, &len)) < 0)
        return rc;
    return 0;
}

static int start_listening(struct svc *s, const char *addr, uint16_t port)
{
    int rc = strchr(addr, ':') ? uv_ip6_addr(addr, port, (struct sockaddr_in6 *)&s->bound)
                               : uv_ip4_addr(addr, port, (struct sockaddr_in *)&s->bound);
    if (rc < 0) {
        clog_error(s->log, MOD, "invalid listen address '%s'", addr);
        return rc;
    }
    if ((rc = listen_bound(s)) < 0) {
        clog_error(s->log, MOD, "cannot listen on %s port %u: %s", addr, port, uv_strerror(rc));
        return rc;
    }
    clog_info(s->log, MOD, "listening on %s port %d", addr, svc_port(s));
    return 0;
}

/* ---- pausing accepts when the process runs out of descriptors ----
 * The only way out of libuv's accept loop is to close the listener; it
 * listens again on the same address after SVC_ACCEPT_PAUSE_MS. Connected
 * clients are served meanwhile; connections waiting in the backlog are
 * reset. */

static void relisten_cb(uv_timer_t *t);

static void listener_paused(uv_handle_t *h)
{
    struct svc *s = h->data;
    s->handles_open--;
    if (s->closing)
        maybe_finish_close(s);
    else
        uv_timer_start(&s->relisten, relisten_cb, SVC_ACCEPT_PAUSE_MS, 0);
}

static void pause_accepting(struct svc *s, int err)
{
    if (!s->listening || s->closing)
        return;
    s->st.accept_pauses++;
    clog_error(s->log, MOD, "accept: %s: not accepting connections for %u ms", uv_strerror(err),
               SVC_ACCEPT_PAUSE_MS);
    s->listening = false;
    uv_close((uv_handle_t *)&s->listener, listener_paused);
}

static void relisten_cb(uv_timer_t *t)
{
    struct svc *s = t->data;
    uv_tcp_init(s->loop, &s->listener);
    s->listener.data = s;
    s->handles_open++;
    s->listening = true;
    int rc = listen_bound(s);
    if (rc < 0) {
        pause_accepting(s, rc);
        return;
    }
    clog_info(s->log, MOD, "accepting connections again on port %d", svc_port(s));
}

static void free_parts(struct svc *s)
{
    tls_ctx_free(s->ctx);
    tls_identity_free(s->id);
    account_close(s->accounts);
    for (unsigned i = 0; i < SVC_CATALOG_CONNECTIONS; i++)
        catalog_free(s->cats[i]);
    store_free(s->store);
    tracker_free(s->tracker);
    for (size_t i = 0; s->ents && i < ENT_BUCKETS; i++)
        while (s->ents[i]) {
            struct ent *e = s->ents[i];
            s->ents[i] = e->hnext;
            free(e);
        }
    free(s->ents);
    free(s->files);
    free(s->data_dir);
    free(s);
}

static void handle_closed(uv_handle_t *h)
{
    struct svc *s = h->data;
    s->handles_open--;
    if (!s->closing && s->handles_open == 0) /* svc_new failed */
        free_parts(s);
    else
        maybe_finish_close(s);
}

int svc_new(uv_loop_t *loop, const struct svc_config *cfg, struct svc **out)
{
    struct svc *s = xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->log = cfg->log;
    s->data_dir = xstrdup(cfg->data_dir);
    s->ticket_lifetime_s = cfg->ticket_lifetime_s ? cfg->ticket_lifetime_s : SVC_TICKET_LIFETIME_S;
    s->login_timeout_ms = cfg->login_timeout_ms ? cfg->login_timeout_ms : SVC_LOGIN_TIMEOUT_MS;
    s->handshake_timeout_ms =
        cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : CONN_HANDSHAKE_MS;
    s->send_timeout_ms = cfg->send_timeout_ms ? cfg->send_timeout_ms : SVC_SEND_TIMEOUT_MS;
    s->max_clients = fd_cap(s, cfg->max_clients ? cfg->max_clients : SVC_MAX_CLIENTS);
    s->st.max_clients = s->max_clients;
#define OR(v, def) ((v) ? (v) : (def))
    s->max_conns_per_addr = OR(cfg->max_conns_per_addr, SVC_MAX_CONNS_PER_ADDR);
    s->max_logins_per_addr = OR(cfg->max_logins_per_addr, SVC_MAX_LOGINS_PER_ADDR);
    s->login_failures = OR(cfg->login_failures, SVC_LOGIN_FAILURES);
    s->addr_failures = OR(cfg->addr_failures, SVC_ADDR_FAILURES);
    s->account_failures = OR(cfg->account_failures, SVC_ACCOUNT_FAILURES);
    s->backoff_ms = OR(cfg->backoff_ms, SVC_BACKOFF_MS);
    s->backoff_max_ms = OR(cfg->backoff_max_ms, SVC_BACKOFF_MAX_MS);
    s->account_backoff_max_ms = OR(cfg->account_backoff_max_ms, SVC_ACCOUNT_BACKOFF_MAX_MS);
    s->failure_memory_ms = OR(cfg->failure_memory_ms, SVC_FAILURE_MEMORY_MS);
#undef OR
    s->limit_loopback = cfg->limit_loopback;
    s->ents = xcalloc(ENT_BUCKETS, sizeof(*s->ents));
    s->max_body = max_request_body();
    s->tracker = tracker_new(cfg->tracker_silence_ms);
    s->files = xcalloc(FILE_CACHE_SLOTS, sizeof(*s->files));
    s->queues[Q_LOGIN].max = SVC_MAX_LOGINS;
    s->queues[Q_CATALOG].max = SVC_CATALOG_CONNECTIONS;
    uv_tcp_init(loop, &s->listener);
    uv_timer_init(loop, &s->sweep);
    uv_timer_init(loop, &s->relisten);
    uv_timer_init(loop, &s->recheck);
    s->listener.data = s->sweep.data = s->relisten.data = s->recheck.data = s;
    s->handles_open = 4;
    s->listening = true;

    int rc = open_parts(s);
    if (rc == 0)
        rc = start_listening(s, cfg->listen_addr ? cfg->listen_addr : "0.0.0.0", cfg->port);
    if (rc < 0) {
        uv_close((uv_handle_t *)&s->listener, handle_closed);
        uv_close((uv_handle_t *)&s->sweep, handle_closed);
        uv_close((uv_handle_t *)&s->relisten, handle_closed);
        uv_close((uv_handle_t *)&s->recheck, handle_closed);
        return rc;
    }
    uint64_t period = sweep_period(s, cfg->tracker_silence_ms);
    uv_timer_start(&s->sweep, sweep_cb, period, period);
    uint64_t recheck =
        cfg->generation_check_ms ? cfg->generation_check_ms : SVC_GENERATION_CHECK_MS;
    uv_timer_start(&s->recheck, recheck_cb, recheck, recheck);
    *out = s;
    return 0;
}

int svc_port(const struct svc *s)
{
    if (s->bound.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&s->bound)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&s->bound)->sin_port);
}

void svc_public_key(const struct svc *s, uint8_t out[TLS_KEY_LEN])
{
    memcpy(out, s->pub, TLS_KEY_LEN);
}

void svc_get_stats(const struct svc *s, struct svc_stats *out)
{
    *out = s->st;
    out->tracker_entries = tracker_entry_count(s->tracker);
    out->tracker_files = tracker_file_count(s->tracker);
}

static void maybe_finish_close(struct svc *s)
{
    if (!s->closing || s->clients || s->jobs || s->handles_open || !s->close_cb)
        return;
    void (*cb)(struct svc *, void *) = s->close_cb;
    s->close_cb = NULL;
    clog_info(s->log, MOD, "stopped (%llu clients served, %llu chunks, %llu bytes of chunk frames)",
              (unsigned long long)s->st.clients_total, (unsigned long long)s->st.chunks_served,
              (unsigned long long)s->st.bytes_served);
    cb(s, s->close_arg);
}

/* Jobs still waiting in a queue will not run: release them. */
static void drop_queued(struct svc *s, int qi)
{
    struct job *j;
    while ((j = queue_pop(s, qi)))
        discard_job(s, j);
}

void svc_close(struct svc *s, void (*cb)(struct svc *s, void *arg), void *arg)
{
    if (s->closing)
        return;
    s->closing = true;
    s->close_cb = cb;
    s->close_arg = arg;
    clog_info(s->log, MOD, "shutting down: closing %u connections", (unsigned)s->st.clients);
    if (s->listening) /* else it is paused: closed or closing already */
        uv_close((uv_handle_t *)&s->listener, handle_closed);
    s->listening = false;
    uv_close((uv_handle_t *)&s->sweep, handle_closed);
    uv_close((uv_handle_t *)&s->relisten, handle_closed);
    uv_close((uv_handle_t *)&s->recheck, handle_closed);
    for (int qi = 0; qi < NQUEUES; qi++)
        drop_queued(s, qi);
    for (struct client *cl = s->clients; cl; cl = cl->next)
        conn_close(cl->conn, 0);
    maybe_finish_close(s);
}

void svc_free(struct svc *s)
{
    if (s)
        free_parts(s);
}
