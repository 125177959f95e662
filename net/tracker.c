/* tracker: per-file lists of recent announcers.
 *
 * Owns every file record, entry and peer handle. Each entry (one peer
 * holding one file) sits in two doubly linked lists, its file's and its
 * peer's, both most recent first, so dropping a file's oldest entry, a
 * peer's oldest entry or all of a disconnected peer's entries costs O(1)
 * per entry. Runs on one thread (the service loop); no I/O, no clock. It
 * must never let one peer or one file grow without bound. */
#include "net/tracker.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/xmalloc.h"

struct tfile;

/* An entry's place in one of its two lists. */
struct link {
    struct entry *prev, *next;
};

/* A list of entries, most recent first. */
struct chain {
    struct entry *head, *tail;
    size_t count;
};

struct entry {
    struct tfile *file;
    struct tracker_peer *peer;
    struct link in_file, in_peer;
};

#define IN_FILE offsetof(struct entry, in_file)
#define IN_PEER offsetof(struct entry, in_peer)

struct tfile {
    uint8_t id[WIRE_ID_LEN];
    struct tfile *hnext;
    struct chain entries;
};

struct tracker_peer {
    struct tracker_peer *prev, *next;
    uint8_t family;
    uint8_t addr[16];
    uint8_t key[WIRE_ID_LEN];
    uint16_t port;
    uint64_t last_seen;
    struct chain entries;
};

struct tracker {
    uint64_t silence_ms;
    uint64_t seed;
    struct tfile **buckets;
    size_t nbuckets, nfiles, nentries;
    struct tracker_peer *peers;
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static size_t bucket_of(const struct tracker *t, const uint8_t id[WIRE_ID_LEN])
{
    uint64_t h = t->seed;
    for (size_t i = 0; i < WIRE_ID_LEN; i += 8) {
        uint64_t w;
        memcpy(&w, id + i, 8);
        h = mix(h ^ w);
    }
    return (size_t)(h & (t->nbuckets - 1));
}

struct tracker *tracker_new(uint64_t silence_ms)
{
    struct tracker *t = xcalloc(1, sizeof(*t));
    t->silence_ms = silence_ms ? silence_ms : TRACKER_SILENCE_MS;
    if (RAND_bytes((unsigned char *)&t->seed, sizeof(t->seed)) != 1)
        t->seed = (uint64_t)(uintptr_t)t ^ 0x9e3779b97f4a7c15ull;
    t->nbuckets = 256;
    t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
    return t;
}

static struct tfile *find_file(const struct tracker *t, const uint8_t id[WIRE_ID_LEN])
{
    for (struct tfile *f = t->buckets[bucket_of(t, id)]; f; f = f->hnext)
        if (memcmp(f->id, id, WIRE_ID_LEN) == 0)
            return f;
    return NULL;
}

static void grow(struct tracker *t)
{
    size_t old_n = t->nbuckets;
    struct tfile **old = t->buckets;
    t->nbuckets *= 2;
    t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
    for (size_t i = 0; i < old_n; i++) {
        struct tfile *f = old[i];
        while (f) {
            struct tfile *next = f->hnext;
            size_t b = bucket_of(t, f->id);
            f->hnext = t->buckets[b];
            t->buckets[b] = f;
            f = next;
        }
    }
    free(old);
}

static struct tfile *get_file(struct tracker *t, const uint8_t id[WIRE_ID_LEN])
{
    struct tfile *f = find_file(t, id);
    if (f)
        return f;
    if (t->nfiles >= t->nbuckets)
        grow(t);
    f = xcalloc(1, sizeof(*f));
    memcpy(f->id, id, WIRE_ID_LEN);
    size_t b = bucket_of(t, id);
    f->hnext = t->buckets[b];
    t->buckets[b] = f;
    t->nfiles++;
    return f;
}

static void drop_file(struct tracker *t, struct tfile *f)
{
    struct tfile **pp = &t->buckets[bucket_of(t, f->id)];
    while (*pp != f)
        pp = &(*pp)->hnext;
    *pp = f->hnext;
    t->nfiles--;
    free(f);
}

/* ---- the two lists ---- */

/* The link at offset off (IN_FILE or IN_PEER) of e. */
static struct link *link_of(struct entry *e, size_t off)
{
    return (struct link *)((char *)e + off);
}

static void chain_unlink(struct chain *c, struct entry *e, size_t off)
{
    struct link *l = link_of(e, off);
    if (l->prev)
        link_of(l->prev, off)->next = l->next;
    else
        c->head = l->next;
    if (l->next)
        link_of(l->next, off)->prev = l->prev;
    else
        c->tail = l->prev;
    l->prev = l->next = NULL;
    c->count--;
}

static void chain_push(struct chain *c, struct entry *e, size_t off)
{
    struct link *l = link_of(e, off);
    l->prev = NULL;
    l->next = c->head;
    if (c->head)
        link_of(c->head, off)->prev = e;
    else
        c->tail = e;
    c->head = e;
    c->count++;
}

static void remove_entry(struct tracker *t, struct entry *e)
{
    struct tfile *f = e->file;
    chain_unlink(&f->entries, e, IN_FILE);
    chain_unlink(&e->peer->entries, e, IN_PEER);
    free(e);
    t->nentries--;
    if (f->entries.count == 0)
        drop_file(t, f);
}

static void remove_all(struct tracker *t, struct tracker_peer *p)
{
    while (p->entries.head)
        remove_entry(t, p->entries.head);
}

/* ---- peers ---- */

struct tracker_peer *tracker_peer_add(struct tracker *t, uint8_t family, const uint8_t addr[16],
                                      const uint8_t key[WIRE_ID_LEN], uint64_t now)
{
    struct tracker_peer *p = xcalloc(1, sizeof(*p));
    p->family = family;
    memcpy(p->addr, addr, 16);
    memcpy(p->key, key, WIRE_ID_LEN);
    p->last_seen = now;
    p->next = t->peers;
    if (t->peers)
        t->peers->prev = p;
    t->peers = p;
    return p;
}

void tracker_peer_remove(struct tracker *t, struct tracker_peer *p)
{
    remove_all(t, p);
    if (p->prev)
        p->prev->next = p->next;
    else
        t->peers = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p);
}

void tracker_peer_touch(struct tracker_peer *p, uint64_t now)
{
    if (now > p->last_seen)
        p->last_seen = now;
}

void tracker_free(struct tracker *t)
{
    if (!t)
        return;
    while (t->peers)
        tracker_peer_remove(t, t->peers);
    free(t->buckets);
    free(t);
}

/* ---- announce, withdraw, lookup ---- */

static struct entry *find_entry(const struct tfile *f, const struct tracker_peer *p)
{
    for (struct entry *e = f->entries.head; e; e = e->in_file.next)
        if (e->peer == p)
            return e;
    return NULL;
}

void tracker_announce(struct tracker *t, struct tracker_peer *p, uint16_t port,
                      const uint8_t (*ids)[WIRE_ID_LEN], size_t n, uint64_t now)
{
    p->port = port;
    tracker_peer_touch(p, now);
    for (size_t i = 0; i < n; i++) {
        struct tfile *f = get_file(t, ids[i]);
        struct entry *e = find_entry(f, p);
        if (e) {
            chain_unlink(&f->entries, e, IN_FILE);
            chain_unlink(&p->entries, e, IN_PEER);
        } else {
            e = xcalloc(1, sizeof(*e));
            e->file = f;
            e->peer = p;
            t->nentries++;
        }
        chain_push(&f->entries, e, IN_FILE);
        chain_push(&p->entries, e, IN_PEER);
        if (f->entries.count > TRACKER_KEEP)
            remove_entry(t, f->entries.tail); /* the least recent announcer */
        if (p->entries.count > TRACKER_MAX_FILES_PER_PEER)
            remove_entry(t, p->entries.tail);
    }
}

void tracker_withdraw(struct tracker *t, struct tracker_peer *p, const uint8_t (*ids)[WIRE_ID_LEN],
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct tfile *f = find_file(t, ids[i]);
        struct entry *e = f ? find_entry(f, p) : NULL;
        if (e)
            remove_entry(t, e);
    }
}

static bool silent(const struct tracker *t, const struct tracker_peer *p, uint64_t now)
{
    return now > p->last_seen && now - p->last_seen > t->silence_ms;
}

size_t tracker_lookup(struct tracker *t, const uint8_t id[WIRE_ID_LEN],
                      const struct tracker_peer *asker, uint64_t now, struct wire_peer *out,
                      size_t max)
{
    if (max > TRACKER_RETURN)
        max = TRACKER_RETURN;
    struct tfile *f = find_file(t, id);
    size_t n = 0;
    for (struct entry *e = f ? f->entries.head : NULL; e && n < max; e = e->in_file.next) {
        const struct tracker_peer *p = e->peer;
        if (p == asker || (asker && memcmp(p->key, asker->key, WIRE_ID_LEN) == 0) ||
            silent(t, p, now))
            continue;
        out[n].family = p->family;
        memcpy(out[n].addr, p->addr, 16);
        out[n].port = p->port;
        memcpy(out[n].key, p->key, WIRE_ID_LEN);
        n++;
    }
    return n;
}

size_t tracker_expire(struct tracker *t, uint64_t now)
{
    size_t before = t->nentries;
    for (struct tracker_peer *p = t->peers; p; p = p->next)
        if (p->entries.head && silent(t, p, now))
            remove_all(t, p);
    return before - t->nentries;
}

size_t tracker_entry_count(const struct tracker *t)
{
    return t->nentries;
}

size_t tracker_file_count(const struct tracker *t)
{
    return t->nfiles;
}
