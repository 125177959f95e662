/* tls: Ed25519 identities, TLS 1.3 contexts and memory-BIO sessions.
 *
 * Owns the OpenSSL objects of identities, contexts and sessions. A session
 * runs on whichever thread feeds it (one at a time); it never does I/O and
 * never blocks. Trust is in keys, not certificates: the verify callback
 * accepts any self-signed certificate but insists on an Ed25519 key (and on
 * the expected one when the caller named it). OpenSSL's error queue is
 * per thread, so every call clears it first and copies the reason of a
 * failure into the session. */
#include "net/tls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/buffer.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "base/fsutil.h"
#include "base/manifest.h"
#include "base/xmalloc.h"

struct tls_identity {
    EVP_PKEY *pkey;
    X509 *cert;
    uint8_t pub[TLS_KEY_LEN];
};

struct tls_ctx {
    SSL_CTX *ssl_ctx;
    bool server;
};

struct tls_session {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    bool established;
    bool dead;
    bool has_expect;
    bool has_peer;
    bool key_rejected; /* the verify callback refused the peer's key */
    uint8_t expect[TLS_KEY_LEN];
    uint8_t peer[TLS_KEY_LEN];
    char detail[160];
};

const char *tls_strerror(int err)
{
    switch (err) {
    case TLS_EIO:
        return "cannot read or write the key file";
    case TLS_EKEYFILE:
        return "key file does not hold an Ed25519 private key";
    case TLS_ECRYPTO:
        return "TLS/crypto library failure";
    case TLS_EHANDSHAKE:
        return "TLS handshake failed";
    case TLS_EPEERKEY:
        return "peer's key is not the expected Ed25519 key";
    case TLS_ECLOSED:
        return "peer closed the TLS session";
    case TLS_ESTATE:
        return "TLS handshake not finished";
    default:
        return "unknown TLS error";
    }
}

/* ---- identity ---- */

/* A self-signed X.509 v3 certificate for pkey. Its fields carry no meaning
 * to Chorus; only the key does. */
static X509 *make_cert(EVP_PKEY *pkey)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    uint64_t serial;
    if (RAND_bytes((unsigned char *)&serial, sizeof(serial)) != 1)
        goto fail;
    serial &= 0x7fffffffffffffffull;
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_set_version(x, 2) || !ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), serial) ||
        !X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 24 * 3600) ||
        !X509_set_pubkey(x, pkey) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"chorus", -1,
                                    -1, 0) ||
        !X509_set_issuer_name(x, name) || X509_sign(x, pkey, NULL) <= 0)
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

/* Takes ownership of pkey. */
static int identity_from_pkey(EVP_PKEY *pkey, struct tls_identity **out)
{
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        EVP_PKEY_free(pkey);
        return TLS_EKEYFILE;
    }
    struct tls_identity *id = xcalloc(1, sizeof(*id));
    id->pkey = pkey;
    size_t len = TLS_KEY_LEN;
    if (!EVP_PKEY_get_raw_public_key(pkey, id->pub, &len) || len != TLS_KEY_LEN ||
        !(id->cert = make_cert(pkey))) {
        tls_identity_free(id);
        return TLS_ECRYPTO;
    }
    *out = id;
    return 0;
}

int tls_identity_generate(struct tls_identity **out)
{
    ERR_clear_error();
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (!pkey)
        return TLS_ECRYPTO;
    return identity_from_pkey(pkey, out);
}

int tls_identity_load(const char *path, struct tls_identity **out)
{
    uint8_t *data;
    size_t len;
    int rc = fs_read_file(path, 64 * 1024, &data, &len);
    if (rc < 0)
        return rc == -ENOENT ? rc : TLS_EIO;
    ERR_clear_error();
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    OPENSSL_cleanse(data, len);
    free(data);
    if (!pkey)
        return TLS_EKEYFILE;
    return identity_from_pkey(pkey, out);
}

int tls_identity_save(const struct tls_identity *id, const char *path)
{
    ERR_clear_error();
    BIO *bio = BIO_new(BIO_s_mem());
    if (!bio)
        return TLS_ECRYPTO;
    int rc = TLS_ECRYPTO;
    if (PEM_write_bio_PrivateKey(bio, id->pkey, NULL, NULL, 0, NULL, NULL)) {
        char *pem;
        long n = BIO_get_mem_data(bio, &pem);
        rc = fs_write_atomic(path, pem, (size_t)n, 0600) == 0 ? 0 : TLS_EIO;
        OPENSSL_cleanse(pem, (size_t)n);
    }
    BIO_free(bio);
    return rc;
}

int tls_identity_load_or_create(const char *path, struct tls_identity **out, bool *created)
{
    if (created)
        *created = false;
    int rc = tls_identity_load(path, out);
    if (rc != -ENOENT)
        return rc;
    if ((rc = tls_identity_generate(out)) < 0)
        return rc;
    if ((rc = tls_identity_save(*out, path)) < 0) {
        tls_identity_free(*out);
        *out = NULL;
        return rc;
    }
    if (created)
        *created = true;
    return 0;
}

void tls_identity_free(struct tls_identity *id)
{
    if (!id)
        return;
    EVP_PKEY_free(id->pkey);
    X509_free(id->cert);
    free(id);
}

void tls_identity_public_key(const struct tls_identity *id, uint8_t out[TLS_KEY_LEN])
{
    memcpy(out, id->pub, TLS_KEY_LEN);
}

int tls_identity_sign(const struct tls_identity *id, const uint8_t *msg, size_t len,
                      uint8_t sig[TLS_SIG_LEN])
{
    ERR_clear_error();
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t siglen = TLS_SIG_LEN;
    int ok = md && EVP_DigestSignInit(md, NULL, NULL, NULL, id->pkey) == 1 &&
             EVP_DigestSign(md, sig, &siglen, msg, len) == 1 && siglen == TLS_SIG_LEN;
    EVP_MD_CTX_free(md);
    return ok ? 0 : TLS_ECRYPTO;
}

bool tls_ed25519_verify(const uint8_t key[TLS_KEY_LEN], const uint8_t *msg, size_t len,
                        const uint8_t sig[TLS_SIG_LEN])
{
    ERR_clear_error();
    EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, key, TLS_KEY_LEN);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool ok = pk && md && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
              EVP_DigestVerify(md, sig, TLS_SIG_LEN, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return ok;
}

/* Keys are written like content ids: 64 lower-case hex digits. */
_Static_assert(TLS_KEY_LEN == CONTENT_ID_LEN, "a key is as long as a content id");

void tls_key_to_hex(const uint8_t key[TLS_KEY_LEN], char *out)
{
    struct content_id id;
    memcpy(id.bytes, key, TLS_KEY_LEN);
    content_id_to_hex(&id, out);
}

int tls_key_from_hex(const char *hex, uint8_t key[TLS_KEY_LEN])
{
    struct content_id id;
    if (strlen(hex) != 2 * TLS_KEY_LEN || content_id_from_hex(hex, &id) != 0)
        return -1;
    memcpy(key, id.bytes, TLS_KEY_LEN);
    return 0;
}

/* ---- context ---- */

/* The raw Ed25519 key of a certificate; false for any other key type. */
static bool cert_key(X509 *cert, uint8_t out[TLS_KEY_LEN])
{
    EVP_PKEY *pk = cert ? X509_get0_pubkey(cert) : NULL;
    size_t len = TLS_KEY_LEN;
    return pk && EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519 &&
           EVP_PKEY_get_raw_public_key(pk, out, &len) && len == TLS_KEY_LEN;
}

/* Chain validation means nothing for self-signed keys: accept whatever
 * OpenSSL thinks of the chain, but the leaf must hold an Ed25519 key, and
 * the expected one if the session names it. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *x)
{
    (void)preverify_ok;
    if (X509_STORE_CTX_get_error_depth(x) != 0)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(x, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct tls_session *s = ssl ? SSL_get_app_data(ssl) : NULL;
    uint8_t key[TLS_KEY_LEN];
    if (!s)
        return 0;
    if (!cert_key(X509_STORE_CTX_get_current_cert(x), key)) {
        s->key_rejected = true;
        snprintf(s->detail, sizeof(s->detail), "peer certificate key is not Ed25519");
        return 0;
    }
    if (s->has_expect && CRYPTO_memcmp(key, s->expect, TLS_KEY_LEN) != 0) {
        s->key_rejected = true;
        snprintf(s->detail, sizeof(s->detail), "peer key is not the expected key");
        return 0;
    }
    return 1;
}

int tls_ctx_new(const struct tls_identity *id, bool server, struct tls_ctx **out)
{
    ERR_clear_error();
    SSL_CTX *c = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (!c)
        return TLS_ECRYPTO;
    /* TLS 1.3 only; no session tickets or cache (one long-lived connection
     * per pair of hosts, and no post-handshake messages to handle); release
     * idle buffers since a service holds many mostly quiet connections. */
    if (!SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) ||
        SSL_CTX_use_certificate(c, id->cert) != 1 || SSL_CTX_use_PrivateKey(c, id->pkey) != 1 ||
        SSL_CTX_check_private_key(c) != 1 || !SSL_CTX_set_num_tickets(c, 0)) {
        SSL_CTX_free(c);
        return TLS_ECRYPTO;
    }
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    struct tls_ctx *ctx = xcalloc(1, sizeof(*ctx));
    ctx->ssl_ctx = c;
    ctx->server = server;
    *out = ctx;
    return 0;
}

void tls_ctx_free(struct tls_ctx *ctx)
{
    if (!ctx)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

/* ---- session ---- */

static void set_detail(struct tls_session *s, const char *what)
{
    if (s->detail[0])
        return; /* keep the first, most specific reason */
    unsigned long e = ERR_peek_last_error();
    if (e) {
        char buf[120];
        ERR_error_string_n(e, buf, sizeof(buf));
        snprintf(s->detail, sizeof(s->detail), "%s: %s", what, buf);
    } else {
        snprintf(s->detail, sizeof(s->detail), "%s", what);
    }
}

/* OpenSSL allocation failure: treated like xmalloc treats its own. */
static void *openssl_oom_check(void *p)
{
    if (!p) {
        fprintf(stderr, "chorus: out of memory (OpenSSL)\n");
        abort();
    }
    return p;
}

static BIO *mem_bio_new(void)
{
    BIO *b = openssl_oom_check(BIO_new(BIO_s_mem()));
    BIO_set_mem_eof_return(b, -1); /* empty means "wait", not EOF */
    return b;
}

struct tls_session *tls_session_new(struct tls_ctx *ctx, const uint8_t *expect_key)
{
    ERR_clear_error();
    struct tls_session *s = xcalloc(1, sizeof(*s));
    s->ssl = openssl_oom_check(SSL_new(ctx->ssl_ctx));
    s->rbio = mem_bio_new();
    s->wbio = mem_bio_new();
    SSL_set_bio(s->ssl, s->rbio, s->wbio);
    SSL_set_app_data(s->ssl, s);
    if (expect_key) {
        s->has_expect = true;
        memcpy(s->expect, expect_key, TLS_KEY_LEN);
    }
    if (ctx->server)
        SSL_set_accept_state(s->ssl);
    else
        SSL_set_connect_state(s->ssl);
    return s;
}

void tls_session_free(struct tls_session *s)
{
    if (!s)
        return;
    SSL_free(s->ssl); /* frees both BIOs */
    free(s);
}

static int handshake(struct tls_session *s)
{
    int rc = SSL_do_handshake(s->ssl);
    if (rc == 1) {
        if (!cert_key(SSL_get0_peer_certificate(s->ssl), s->peer)) {
            s->dead = true;
            set_detail(s, "peer presented no Ed25519 certificate");
            return TLS_EPEERKEY;
        }
        s->has_peer = true;
        s->established = true;
        return 0;
    }
    int e = SSL_get_error(s->ssl, rc);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    s->dead = true;
    set_detail(s, "handshake");
    return s->key_rejected ? TLS_EPEERKEY : TLS_EHANDSHAKE;
}

int tls_session_start(struct tls_session *s)
{
    ERR_clear_error();
    if (SSL_is_server(s->ssl))
        return 0;
    return handshake(s);
}

int tls_session_feed(struct tls_session *s, const uint8_t *data, size_t len)
{
    if (s->dead)
        return TLS_EHANDSHAKE;
    ERR_clear_error();
    if (len && BIO_write(s->rbio, data, (int)len) != (int)len)
        return TLS_ECRYPTO;
    if (!s->established)
        return handshake(s);
    return 0;
}

bool tls_session_established(const struct tls_session *s)
{
    return s->established;
}

bool tls_session_peer_key(const struct tls_session *s, uint8_t out[TLS_KEY_LEN])
{
    if (!s->has_peer)
        return false;
    memcpy(out, s->peer, TLS_KEY_LEN);
    return true;
}

int tls_session_read(struct tls_session *s, uint8_t *buf, size_t cap)
{
    if (s->dead)
        return TLS_ECRYPTO;
    if (!s->established)
        return 0;
    ERR_clear_error();
    size_t n = 0;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    if (SSL_read_ex(s->ssl, buf, cap, &n) == 1)
        return (int)n;
    int e = SSL_get_error(s->ssl, 0);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    s->dead = true;
    if (e == SSL_ERROR_ZERO_RETURN)
        return TLS_ECLOSED;
    set_detail(s, "read");
    return TLS_ECRYPTO;
}

int tls_session_write(struct tls_session *s, const uint8_t *data, size_t len)
{
    if (s->dead)
        return TLS_ECRYPTO;
    if (!s->established)
        return TLS_ESTATE;
    ERR_clear_error();
    size_t n = 0;
    if (len == 0)
        return 0;
    if (SSL_write_ex(s->ssl, data, len, &n) != 1 || n != len) {
        s->dead = true;
        set_detail(s, "write");
        return TLS_ECRYPTO;
    }
    return 0;
}

void tls_session_shutdown(struct tls_session *s)
{
    if (s->dead || !s->established)
        return;
    ERR_clear_error();
    SSL_shutdown(s->ssl);
    ERR_clear_error();
}

size_t tls_session_output_pending(const struct tls_session *s)
{
    return BIO_ctrl_pending(s->wbio);
}

size_t tls_session_take_output(struct tls_session *s, uint8_t *buf, size_t cap)
{
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    int n = BIO_read(s->wbio, buf, (int)cap);
    return n > 0 ? (size_t)n : 0;
}

/* A memory BIO keeps the largest buffer it ever held: after one 64 KiB
 * chunk or a full write window, a quiet session would pin that for good.
 * An empty one grown past this is worth replacing. */
#define TLS_BIO_KEEP (4u * 1024)

static bool bio_oversized(BIO *b)
{
    BUF_MEM *bm = NULL;
    if (BIO_ctrl_pending(b) != 0 || BIO_get_mem_ptr(b, &bm) <= 0 || !bm)
        return false;
    return bm->max > TLS_BIO_KEEP;
}

void tls_session_shrink(struct tls_session *s)
{
    if (!s->established || s->dead)
        return;
    if (bio_oversized(s->rbio)) {
        s->rbio = mem_bio_new();
        SSL_set0_rbio(s->ssl, s->rbio); /* frees the old one */
    }
    if (bio_oversized(s->wbio)) {
        s->wbio = mem_bio_new();
        SSL_set0_wbio(s->ssl, s->wbio);
    }
}

const char *tls_session_error_detail(const struct tls_session *s)
{
    return s->detail;
}
