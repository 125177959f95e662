/* wire: the Chorus frame codec (DESIGN.md §4; man chorus-protocol(7)).
 *
 * One protocol for client<->service and peer<->peer, carried inside TLS.
 * Every frame is
 *
 *     u32 body_len | u8 type | body[body_len]
 *
 * (big-endian integers) and every body starts with a u32 request id (rid)
 * that ties a reply to its request. Each type has a hard maximum body
 * length (wire_max_body); the parser checks the declared length against it
 * from the 5-byte header, before it allocates anything, and refuses unknown
 * types there too.
 *
 * The parser is pure: bytes in, messages out, no I/O and no clock, so it is
 * unit-tested and fuzzed without sockets. Any thread; a parser or message is
 * used by one thread at a time. */
#ifndef CHORUS_NET_WIRE_H
#define CHORUS_NET_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION    1u
#define WIRE_HEADER_LEN 5u
#define WIRE_ID_LEN     32u        /* file ids and Ed25519 public keys */
#define WIRE_KEY_LEN    16u        /* AES-128 content key */
#define WIRE_MAX_FRAME  (1u << 20) /* any body, whatever its type */
#define WIRE_MAX_USER   64u
#define WIRE_MAX_PASS   1024u
#define WIRE_MAX_LABEL  64u  /* device label in GET_DEVICE */
#define WIRE_MIN_CRED   32u  /* device credential, any message carrying one */
#define WIRE_MAX_CRED   128u /* (the service issues 32 bytes; room to grow) */
#define WIRE_MAX_TICKET 512u
#define WIRE_MAX_ERRMSG 256u
#define WIRE_MAX_QUERY  256u
#define WIRE_MAX_STR    256u   /* each string of a catalog item */
#define WIRE_MAX_ITEMS  1000u  /* items in one ITEMS reply (and BROWSE/SEARCH limit) */
#define WIRE_MAX_CHUNK  65536u /* data bytes in one CHUNK */
#define WIRE_MAX_RANGE  4096u  /* chunks asked in one GET_CHUNKS */
#define WIRE_MAX_IDS    1024u  /* file ids in one ANNOUNCE */
#define WIRE_MAX_PEERS  10u    /* peers in one PEERS or FOUND */
#define WIRE_MAX_HOPS   2u     /* FIND: how far a search is flooded (DESIGN §5) */
/* A manifest travels whole in one frame. */
#define WIRE_MAX_MANIFEST (WIRE_MAX_FRAME - 4u - WIRE_ID_LEN - 4u)

enum wire_type {
    WIRE_HELLO = 1,          /* both ways, first frame after the TLS handshake */
    WIRE_ERROR = 2,          /* reply: the request rid failed (rid 0: the connection) */
    WIRE_OK = 3,             /* reply: the request rid succeeded, nothing to return */
    WIRE_PING = 4,           /* keep-alive; answered by PONG with the same rid */
    WIRE_PONG = 5,           /* */
    WIRE_LOGIN = 10,         /* user + password -> TICKET or ERROR */
    WIRE_TICKET = 11,        /* reply to LOGIN and LOGIN_DEVICE */
    WIRE_GET_DEVICE = 12,    /* logged in: a long-lived credential for this device -> DEVICE */
    WIRE_DEVICE = 13,        /* reply to GET_DEVICE */
    WIRE_LOGIN_DEVICE = 14,  /* user + device credential -> TICKET or ERROR */
    WIRE_REVOKE_DEVICE = 15, /* logged in: a device credential logs in nobody from now on -> OK */
    WIRE_BROWSE = 20,        /* list artists / albums of an artist / tracks of an album */
    WIRE_SEARCH = 21,        /* full-text search */
    WIRE_ITEMS = 22,         /* reply to BROWSE and SEARCH */
    WIRE_GET_MANIFEST = 30,  /* file id -> MANIFEST */
    WIRE_MANIFEST = 31,      /* */
    WIRE_GET_KEY = 32,       /* file id -> KEY */
    WIRE_KEY = 33,           /* */
    WIRE_GET_CHUNKS = 34,    /* a range of chunks -> one CHUNK per chunk */
    WIRE_CHUNK = 35,         /* */
    WIRE_CANCEL = 36,        /* stop the chunk request whose rid this carries */
    WIRE_ANNOUNCE = 40,      /* tracker: files held complete (or withdrawn) -> OK */
    WIRE_LOOKUP = 41,        /* tracker: who holds a file -> PEERS */
    WIRE_PEERS = 42,         /* */
    WIRE_FIND = 43,          /* peer -> peer: who holds this file? flooded WIRE_MAX_HOPS deep */
    WIRE_FOUND = 44,         /* peer -> peer: holders, routed back the way the FIND came */
};

/* Roles announced in HELLO. */
enum wire_role {
    WIRE_ROLE_CLIENT = 1,  /* a player talking to the service */
    WIRE_ROLE_SERVICE = 2, /* chorusd */
    WIRE_ROLE_PEER = 3,    /* a player talking to another player */
};

/* HELLO flags. */
#define WIRE_HELLO_AUTHENTICATED 0x01u /* service -> client: the ticket was accepted */

/* BROWSE kinds, also the kind of each item. */
enum wire_kind {
    WIRE_KIND_ARTIST = 1,
    WIRE_KIND_ALBUM = 2, /* BROWSE: albums of artist `parent` */
    WIRE_KIND_TRACK = 3, /* BROWSE: tracks of album `parent` */
};

/* Request priorities (GET_CHUNKS), most urgent first. */
enum wire_priority {
    WIRE_PRIO_PLAYING = 0,    /* the track that is playing now */
    WIRE_PRIO_PREFETCH = 1,   /* the start of the next track */
    WIRE_PRIO_BACKGROUND = 2, /* everything else */
};
#define WIRE_PRIO_MAX WIRE_PRIO_BACKGROUND

/* Error codes carried by ERROR frames (u16 on the wire). */
enum wire_error_code {
    WIRE_ERR_PROTOCOL = 1,       /* malformed frame or message out of order */
    WIRE_ERR_VERSION = 2,        /* HELLO version not supported */
    WIRE_ERR_AUTH_REQUIRED = 3,  /* log in (or present a ticket) first */
    WIRE_ERR_LOGIN = 4,          /* wrong user, password or device credential */
    WIRE_ERR_TICKET = 5,         /* ticket malformed, forged or for another key */
    WIRE_ERR_TICKET_EXPIRED = 6, /* ticket past its expiry */
    WIRE_ERR_NOT_FOUND = 7,      /* no such file, artist or album */
    WIRE_ERR_BAD_REQUEST = 8,    /* arguments out of range */
    WIRE_ERR_BUSY = 9,           /* too many requests in flight; retry later */
    WIRE_ERR_INTERNAL = 10,      /* the service failed (disk, database) */
};

/* Codec errors (negative returns). */
enum {
    WIRE_ETOOBIG = -6000, /* declared length above the type's maximum */
    WIRE_ETYPE = -6001,   /* unknown frame type */
    WIRE_EFORMAT = -6002, /* body does not match its type's layout */
    WIRE_ELIMIT = -6003,  /* encode: a field exceeds its limit */
};

/* Parser results (non-negative). */
enum {
    WIRE_NEED_MORE = 0, /* every byte consumed, no complete frame yet */
    WIRE_MSG = 1,       /* one message decoded */
    WIRE_SKIPPED = 2,   /* a frame of an unknown type was skipped (wire_parser_set_skip_unknown) */
};

struct wire_item {
    uint8_t kind; /* enum wire_kind */
    uint64_t id;
    uint64_t parent; /* album: its artist; track: its album; artist: 0 */
    uint16_t number; /* track number, 0 when unknown */
    uint16_t disc;   /* disc number, 0 when unknown */
    uint16_t year;   /* album year, 0 when unknown */
    uint32_t duration_ms;
    bool has_file; /* tracks: file_id is set */
    uint8_t file_id[WIRE_ID_LEN];
    char *title;  /* artist name, album title or track title */
    char *artist; /* may be "" */
    char *album;  /* may be "" */
};

struct wire_peer {
    uint8_t family;   /* 4 or 6 (FOUND also 0: see there) */
    uint8_t addr[16]; /* IPv4 in the first 4 bytes */
    uint16_t port;
    uint8_t key[WIRE_ID_LEN]; /* the peer's Ed25519 public key */
};

/* One message. Pointers of a message filled by the parser or wire_decode
 * are owned by the message: release them with wire_msg_clear. For
 * wire_encode the pointers are only read (the caller keeps ownership; do
 * not call wire_msg_clear on such a message). */
struct wire_msg {
    uint8_t type; /* enum wire_type */
    uint32_t rid;
    union {
        struct {
            uint16_t version;
            uint8_t role;  /* enum wire_role (1..3) */
            uint8_t flags; /* WIRE_HELLO_* */
            uint8_t *ticket;
            size_t ticket_len; /* 0: no ticket */
            /* role WIRE_ROLE_PEER only (on the wire only then): the port
             * this peer accepts peers on, 0 when it accepts none */
            uint16_t listen_port;
        } hello;
        struct {
            uint16_t code; /* enum wire_error_code */
            char *message;
        } error;
        struct {
            char *user;
            char *password;
        } login;
        struct {
            uint64_t expires; /* unix seconds */
            uint8_t *ticket;
            size_t ticket_len;
        } ticket;
        /* GET_DEVICE, DEVICE, LOGIN_DEVICE, REVOKE_DEVICE: each type uses
         * the fields marked with it; the others stay zero. */
        struct {
            char *label;     /* GET_DEVICE: 0..WIRE_MAX_LABEL bytes (NULL encodes as "") */
            char *user;      /* LOGIN_DEVICE: 0..WIRE_MAX_USER bytes */
            uint64_t issued; /* DEVICE: unix seconds */
            uint8_t *cred;   /* DEVICE, LOGIN_DEVICE, REVOKE_DEVICE */
            size_t cred_len; /* WIRE_MIN_CRED..WIRE_MAX_CRED */
        } device;
        struct {
            uint8_t kind; /* enum wire_kind (1..3) */
            uint64_t parent;
            uint32_t offset;
            uint32_t limit; /* 1..WIRE_MAX_ITEMS */
        } browse;
        struct {
            uint32_t limit; /* 1..WIRE_MAX_ITEMS */
            char *query;
        } search;
        struct {
            uint32_t count;
            struct wire_item *items;
        } items;
        /* GET_MANIFEST, GET_KEY, LOOKUP */
        struct {
            uint8_t file_id[WIRE_ID_LEN];
        } file;
        struct {
            uint8_t file_id[WIRE_ID_LEN];
            uint8_t *data;
            size_t len;
        } manifest;
        struct {
            uint8_t file_id[WIRE_ID_LEN];
            uint8_t key[WIRE_KEY_LEN];
        } key;
        struct {
            uint8_t file_id[WIRE_ID_LEN];
            uint32_t first;       /* first + count must not pass UINT32_MAX */
            uint32_t count;       /* 1..WIRE_MAX_RANGE */
            uint8_t priority;     /* enum wire_priority, 0..WIRE_PRIO_MAX */
            uint32_t deadline_ms; /* from receipt; 0: none */
        } get_chunks;
        struct {
            uint8_t file_id[WIRE_ID_LEN];
            uint32_t index;
            uint8_t *data;
            size_t len; /* 1..WIRE_MAX_CHUNK */
        } chunk;
        struct {
            uint16_t port; /* the announcer's listening port for peers */
            bool withdraw; /* true: no longer holds these files */
            uint32_t count;
            uint8_t (*file_ids)[WIRE_ID_LEN];
        } announce;
        /* PEERS (count 0..WIRE_MAX_PEERS) and FOUND (1..WIRE_MAX_PEERS;
         * an entry of family 0 means "the sender of this frame, at its
         * address as the receiver sees it": a holder answering a FIND
         * does not know its own address; its addr is all zero and its
         * port the sender's listen port) */
        struct {
            uint8_t file_id[WIRE_ID_LEN];
            uint64_t query_id; /* FOUND only */
            uint32_t count;
            struct wire_peer peers[WIRE_MAX_PEERS];
        } peers;
        struct {
            uint64_t query_id; /* chosen at random by the asker; relays keep it */
            uint8_t file_id[WIRE_ID_LEN];
            uint8_t hops; /* 1..WIRE_MAX_HOPS: a receiver forwards with hops-1 while > 0 */
        } find;
    } u;
};

/* Largest body a frame of this type may declare; 0 for an unknown type. */
size_t wire_max_body(uint8_t type);

/* Name of a frame type ("HELLO"), or "?" when unknown. */
const char *wire_type_name(uint8_t type);

/* Name of an ERROR code ("not found"), or "unknown error". */
const char *wire_error_name(uint16_t code);

const char *wire_strerror(int err);

/* Serialises m into a new frame (header included) owned by the caller.
 * Checks every limit and range the parser checks (counts, priorities,
 * limits, kinds, roles, hops, families), so a frame that encodes also
 * parses, into the same message. Fields that are not on the wire for the
 * type must be zero (HELLO listen_port unless role is WIRE_ROLE_PEER,
 * PEERS query_id). Returns 0 or WIRE_ELIMIT / WIRE_ETYPE. */
int wire_encode(const struct wire_msg *m, uint8_t **frame, size_t *len);

/* Decodes one body of the given type (the frame without its header) into
 * out, which owns what it points to afterwards. Every field's range is
 * checked here (the ranges noted in struct wire_msg), so a receiver never
 * sees a count, priority, limit, kind or role out of range: such a body is
 * WIRE_EFORMAT like a short one. Returns 0 or WIRE_ETYPE / WIRE_ETOOBIG /
 * WIRE_EFORMAT (out then holds nothing). */
int wire_decode(uint8_t type, const uint8_t *body, size_t len, struct wire_msg *out);

/* Releases what a decoded message points to and zeroes it; passwords and
 * device credentials are wiped before their memory is freed. */
void wire_msg_clear(struct wire_msg *m);

/* Incremental parser. */
struct wire_parser;

struct wire_parser *wire_parser_new(void);
void wire_parser_free(struct wire_parser *p);

/* Consumes bytes from buf[0..len). Sets *used to the bytes consumed and
 * returns WIRE_NEED_MORE (all of them consumed, no complete frame yet),
 * WIRE_MSG (one message in *out, owned by the caller; call again with the
 * rest of the buffer), WIRE_SKIPPED (one frame of an unknown type consumed,
 * *out zeroed; only with wire_parser_set_skip_unknown; call again with the
 * rest) or a negative WIRE_E* error, after which the parser
 * refuses everything (the stream cannot be resynchronised). The body buffer
 * is allocated only after the header passed its checks. */
int wire_parser_feed(struct wire_parser *p, const uint8_t *buf, size_t len, size_t *used,
                     struct wire_msg *out);

/* Lowers the largest body the parser accepts, whatever the type: a frame
 * declaring more is refused from its header with WIRE_ETOOBIG, like one
 * over its type's own maximum. For a receiver that only takes small
 * frames (the service takes only requests, the largest being ANNOUNCE), so
 * no peer can make it buffer a 1 MiB body it would refuse anyway. 0 (the
 * default) leaves each type's maximum. */
void wire_parser_set_max_body(struct wire_parser *p, size_t max);

/* Frames of types this codec does not know are consumed and reported as
 * WIRE_SKIPPED (their body is not kept; its declared length must still be
 * within WIRE_MAX_FRAME and the parser's max body) instead of WIRE_ETYPE:
 * for a link whose peer announced a newer protocol version. */
void wire_parser_set_skip_unknown(struct wire_parser *p, bool skip);

/* The protocol version that introduced type (1 for every type today); 0
 * for an unknown type. A sender does not send a type the receiver's
 * version lacks. */
uint16_t wire_type_version(uint8_t type);

/* True for the types a peer may send on a peer link: HELLO, ERROR, OK,
 * PING, PONG, GET_CHUNKS, CHUNK, CANCEL, FIND, FOUND. */
bool wire_peer_type(uint8_t type);

/* The largest body of any type a peer may send (a full CHUNK): the cap
 * peer links put on frames. */
size_t wire_peer_max_body(void);

/* Bytes of the current partial frame held by the parser. */
size_t wire_parser_pending(const struct wire_parser *p);

#endif
