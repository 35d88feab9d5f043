/*
 * The embertls peer: the benchmark loops (bench/harness.c) over embertls' C ABI in memory
 * mode (ember_conn_feed / ember_conn_drain), linked against libembertls.so.
 *
 * Configs as an application would make them: a server config with the certificate chain
 * (tickets on, as by default), a client config trusting ca.pem whose session cache is on
 * only for resumption (size 0 otherwise, so every handshake is a full one). A bulk figure
 * limits both sides to the measured suite with ember_config_set_cipher_suites.
 */
#include <stdio.h>
#include <stdlib.h>

#include "embertls.h"
#include "peer.h"

struct peer_ctx {
    ember_config *client, *server;
};

static void report(const char *what, ember_result r, const ember_conn *conn)
{
    char why[512] = "";
    size_t n;
    if (conn != NULL)
        ember_conn_last_error(conn, why, sizeof why, &n);
    fprintf(stderr, "embertls: %s: %s: %s\n", what, ember_result_name(r), why);
}

static void versions(char *buf, size_t len)
{
    snprintf(buf, len, "library=\"%s\"", ember_version());
}

static peer_ctx *setup(const struct setup *s)
{
    peer_ctx *ctx = calloc(1, sizeof *ctx);
    ember_trust *trust = NULL;
    ember_result r;

    if (ctx == NULL)
        return NULL;
    if ((r = ember_config_new(EMBER_ROLE_SERVER, &ctx->server)) != EMBER_OK ||
        (r = ember_config_add_cert_pem_file(ctx->server, s->chain, s->key)) != EMBER_OK ||
        (r = ember_config_new(EMBER_ROLE_CLIENT, &ctx->client)) != EMBER_OK ||
        (r = ember_trust_new(&trust)) != EMBER_OK ||
        (r = ember_trust_add_pem_file(trust, s->ca)) != EMBER_OK ||
        (r = ember_config_set_trust(ctx->client, trust)) != EMBER_OK ||
        (!s->resume && (r = ember_config_set_session_cache_size(ctx->client, 0)) != EMBER_OK) ||
        (s->suite != 0 &&
         ((r = ember_config_set_cipher_suites(ctx->client, &s->suite, 1)) != EMBER_OK ||
          (r = ember_config_set_cipher_suites(ctx->server, &s->suite, 1)) != EMBER_OK)) ||
        (s->tls12_only &&
         ((r = ember_config_set_versions(ctx->client, EMBER_TLS1_2, EMBER_TLS1_2)) != EMBER_OK ||
          (r = ember_config_set_versions(ctx->server, EMBER_TLS1_2, EMBER_TLS1_2)) != EMBER_OK))) {
        report("making the configs", r, NULL);
        ember_trust_free(trust);
        return NULL;
    }
    ember_trust_free(trust);
    return ctx;
}

static peer_conn *make(const ember_config *cfg, const char *name)
{
    ember_conn *conn;
    ember_result r = ember_conn_new(cfg, name, &conn);
    if (r != EMBER_OK) {
        report("ember_conn_new", r, NULL);
        return NULL;
    }
    return (peer_conn *)conn;
}

static peer_conn *client(peer_ctx *ctx)
{
    return make(ctx->client, "localhost");
}

static peer_conn *server(peer_ctx *ctx)
{
    return make(ctx->server, NULL);
}

static int handshake(peer_conn *c)
{
    ember_result r = ember_conn_handshake((ember_conn *)c);
    if (r == EMBER_OK)
        return 1;
    if (r == EMBER_WANT_READ || r == EMBER_WANT_WRITE)
        return 0;
    report("handshake", r, (ember_conn *)c);
    return -1;
}

static size_t drain(peer_conn *c, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    ember_result r = ember_conn_drain((ember_conn *)c, buf, cap, &n);
    if (r != EMBER_OK) {
        report("drain", r, (ember_conn *)c);
        return 0;
    }
    return n;
}

static long feed(peer_conn *c, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    ember_result r = ember_conn_feed((ember_conn *)c, buf, len, &n);
    if (r != EMBER_OK) {
        report("feed", r, (ember_conn *)c);
        return -1;
    }
    return (long)n;
}

static long conn_read(peer_conn *c, uint8_t *buf, size_t cap)
{
    size_t n = 0;
    ember_result r = ember_conn_read((ember_conn *)c, buf, cap, &n);
    if (r == EMBER_OK)
        return (long)n;
    if (r == EMBER_WANT_READ)
        return 0;
    report("read", r, (ember_conn *)c);
    return -1;
}

static long conn_write(peer_conn *c, const uint8_t *buf, size_t len)
{
    size_t n = 0;
    ember_result r = ember_conn_write((ember_conn *)c, buf, len, &n);
    if (r == EMBER_OK)
        return (long)n;
    if (r == EMBER_WANT_WRITE)
        return 0;
    report("write", r, (ember_conn *)c);
    return -1;
}

static void info(peer_conn *c, struct conn_info *out)
{
    const ember_conn *conn = (const ember_conn *)c;
    int resumed = 0;
    out->version = 0;
    out->suite = 0;
    ember_conn_protocol_version(conn, &out->version);
    ember_conn_cipher_suite(conn, &out->suite);
    ember_conn_is_resumed(conn, &resumed);
    out->resumed = resumed;
}

static void free_conn(peer_conn *c)
{
    ember_conn_free((ember_conn *)c);
}

static void teardown(peer_ctx *ctx)
{
    ember_config_free(ctx->client);
    ember_config_free(ctx->server);
    free(ctx);
}

const struct peer_ops peer_ops = {
    .name = "embertls",
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
