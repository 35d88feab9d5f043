/*
 * The OpenSSL peer: the benchmark loops (bench/harness.c) over libssl with two memory BIOs
 * per connection (the program moves bytes between them, as it would between a socket and
 * the BIOs), linked with -lssl -lcrypto.
 *
 * Configs as an application would make them, otherwise OpenSSL's defaults: the server
 * loads the chain and key (stateless tickets on, two per TLS 1.3 handshake, as rustls);
 * the client verifies the chain against ca.pem and the name "localhost" (sent as SNI too).
 * For resumption the client keeps the last session a ticket gave it and offers it on the
 * next connection; otherwise its session cache is off. Bulk figures allow the one TLS 1.3
 * suite measured on both sides. Buffers are OpenSSL's defaults (no
 * SSL_MODE_RELEASE_BUFFERS).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>

#include "peer.h"

struct peer_ctx {
    SSL_CTX *client, *server;
};

/* The session the last ticket gave the client (resumption only). */
static SSL_SESSION *last_session;

static void report(const char *what)
{
    char buf[256];
    unsigned long e;
    fprintf(stderr, "openssl: %s\n", what);
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        fprintf(stderr, "  %s\n", buf);
    }
}

static void versions(char *buf, size_t len)
{
    snprintf(buf, len, "library=\"%s\" header=\"%s\"", OpenSSL_version(OPENSSL_VERSION),
             OPENSSL_VERSION_TEXT);
}

static int keep_session(SSL *ssl, SSL_SESSION *session)
{
    (void)ssl;
    SSL_SESSION_free(last_session);
    last_session = session;
    return 1; /* the reference is ours */
}

static const char *suite_name(uint16_t suite)
{
    switch (suite) {
    case 0x1301: return "TLS_AES_128_GCM_SHA256";
    case 0x1302: return "TLS_AES_256_GCM_SHA384";
    case 0x1303: return "TLS_CHACHA20_POLY1305_SHA256";
    default: return NULL;
    }
}

static peer_ctx *setup(const struct setup *s)
{
    peer_ctx *ctx = calloc(1, sizeof *ctx);
    int max = s->tls12_only ? TLS1_2_VERSION : TLS1_3_VERSION;

    if (ctx == NULL)
        return NULL;
    ctx->server = SSL_CTX_new(TLS_server_method());
    ctx->client = SSL_CTX_new(TLS_client_method());
    if (ctx->server == NULL || ctx->client == NULL ||
        SSL_CTX_use_certificate_chain_file(ctx->server, s->chain) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx->server, s->key, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx->server) != 1 ||
        SSL_CTX_load_verify_locations(ctx->client, s->ca, NULL) != 1) {
        report("making the contexts");
        return NULL;
    }
    SSL_CTX_set_verify(ctx->client, SSL_VERIFY_PEER, NULL);
    for (int i = 0; i < 2; i++) {
        SSL_CTX *c = i == 0 ? ctx->client : ctx->server;
        if (SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION) != 1 ||
            SSL_CTX_set_max_proto_version(c, max) != 1 ||
            (s->suite != 0 && (suite_name(s->suite) == NULL ||
                               SSL_CTX_set_ciphersuites(c, suite_name(s->suite)) != 1))) {
            report("setting versions and suites");
            return NULL;
        }
    }
    if (s->resume) {
        SSL_CTX_set_session_cache_mode(ctx->client,
                                       SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx->client, keep_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx->client, SSL_SESS_CACHE_OFF);
    }
    return ctx;
}

static peer_conn *make(SSL_CTX *sslctx, int is_client)
{
    SSL *ssl = SSL_new(sslctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());

    if (ssl == NULL || rbio == NULL || wbio == NULL) {
        report("SSL_new");
        return NULL;
    }
    SSL_set_bio(ssl, rbio, wbio);
    if (is_client) {
        SSL_set_connect_state(ssl);
        if (SSL_set_tlsext_host_name(ssl, "localhost") != 1 ||
            SSL_set1_host(ssl, "localhost") != 1 ||
            (last_session != NULL && SSL_set_session(ssl, last_session) != 1)) {
            report("setting up the client");
            SSL_free(ssl);
            return NULL;
        }
    } else {
        SSL_set_accept_state(ssl);
    }
    return (peer_conn *)ssl;
}

static peer_conn *client(peer_ctx *ctx)
{
    return make(ctx->client, 1);
}

static peer_conn *server(peer_ctx *ctx)
{
    return make(ctx->server, 0);
}

/* 0 for "would block", -1 (reported) for a failure. */
static int blocked_or_failed(SSL *ssl, int ret, const char *what)
{
    int e = SSL_get_error(ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    char buf[64];
    snprintf(buf, sizeof buf, "%s: SSL_get_error %d", what, e);
    report(buf);
    return -1;
}

static int handshake(peer_conn *c)
{
    SSL *ssl = (SSL *)c;
    int ret = SSL_do_handshake(ssl);
    return ret == 1 ? 1 : blocked_or_failed(ssl, ret, "handshake");
}

static size_t drain(peer_conn *c, uint8_t *buf, size_t cap)
{
    int n = BIO_read(SSL_get_wbio((SSL *)c), buf, (int)cap);
    return n > 0 ? (size_t)n : 0;
}

static long feed(peer_conn *c, const uint8_t *buf, size_t len)
{
    int n = BIO_write(SSL_get_rbio((SSL *)c), buf, (int)len);
    if (n < 0) {
        report("BIO_write");
        return -1;
    }
    return n;
}

static long conn_read(peer_conn *c, uint8_t *buf, size_t cap)
{
    SSL *ssl = (SSL *)c;
    int n = SSL_read(ssl, buf, (int)cap);
    return n > 0 ? n : blocked_or_failed(ssl, n, "read");
}

static long conn_write(peer_conn *c, const uint8_t *buf, size_t len)
{
    SSL *ssl = (SSL *)c;
    int n = SSL_write(ssl, buf, (int)len);
    return n > 0 ? n : blocked_or_failed(ssl, n, "write");
}

static void info(peer_conn *c, struct conn_info *out)
{
    SSL *ssl = (SSL *)c;
    const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
    out->version = (uint16_t)SSL_version(ssl);
    out->suite = cipher != NULL ? SSL_CIPHER_get_protocol_id(cipher) : 0;
    out->resumed = SSL_session_reused(ssl);
}

static void free_conn(peer_conn *c)
{
    /* The other peers free a connection without a close_notify and keep its sessions.
     * OpenSSL marks the session of a connection freed in that state not resumable, unless
     * the connection is marked shut down (the quiet-shutdown idiom). */
    SSL_set_shutdown((SSL *)c, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free((SSL *)c);
}

static void teardown(peer_ctx *ctx)
{
    SSL_CTX_free(ctx->client);
    SSL_CTX_free(ctx->server);
    SSL_SESSION_free(last_session);
    last_session = NULL;
    free(ctx);
}

const struct peer_ops peer_ops = {
    .name = "openssl",
    .versions = versions,
    .setup = setup,
    .client = client,
    .server = server,
    .handshake = handshake,
    .drain = drain,
    .feed = feed,
    .read = conn_read,
    .write = conn_write,
    .info = info,
    .free_conn = free_conn,
    .teardown = teardown,
};
