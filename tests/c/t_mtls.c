/* Client certificates (mTLS) and the peer chain: ember_config_set_client_auth (required,
 * optional, none, the default with and without a trust store), what each side reports when the
 * client has no certificate or an untrusted one, ember_conn_peer_cert_count/ember_conn_peer_cert
 * on both sides, and bad input. Then the client's verification callback
 * (ember_config_set_verify_callback): what it is shown, accepting, rejecting with and without a
 * reason, pinning a chain the built-in verification rejects, removing it, bad input.
 *
 * The server presents the PKI chain ecdsa-p256 (leaf + intermediate) and the client, when it
 * has one, ecdsa-p384 (leaf + intermediate), so the chain each side reads is told apart from its
 * own. The expected DER is decoded here from the PKI's PEM files (X-leaf.pem holds the leaf
 * alone, intermediate.pem the intermediate), so the peer chain is compared byte for byte. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Certificate `index` of conn's peer chain equals the first certificate of the PEM `file`, and
 * the borrowed pointer is the one *seen was (when non-NULL and set): the DER never moves. */
static bool peer_cert_is(const ember_conn *conn, size_t index, const char *file,
                         const uint8_t **seen)
{
    size_t want_len = 0, len = 0;
    const uint8_t *der = NULL;
    uint8_t *want = pem_file_der(file, &want_len);
    bool ok = false;
    CHECK(want != NULL);
    CHECK_CONN_RC(conn, EMBER_OK, ember_conn_peer_cert(conn, index, &der, &len));
    CHECK(der != NULL);
    CHECK_EQ(want_len, len);
    CHECK(same_bytes(file, want, der, len));
    if (seen) {
        if (*seen)
            CHECK_MSG(*seen == der, "peer cert %zu moved from %p to %p", index, (const void *)*seen,
                      (const void *)der);
        *seen = der;
    }
    ok = true;
out:
    free(want);
    return ok;
}

/* The peer chain of conn is the PKI chain `name` (NAME-leaf.pem, then intermediate.pem). */
static bool peer_chain_is(const ember_conn *conn, const char *name, const uint8_t *seen[2])
{
    char leaf[64];
    size_t n = 99;
    snprintf(leaf, sizeof leaf, "%s-leaf.pem", name);
    CHECK_CONN_RC(conn, EMBER_OK, ember_conn_peer_cert_count(conn, &n));
    CHECK_EQ(2, n);
    CHECK(peer_cert_is(conn, 0, leaf, seen ? &seen[0] : NULL));
    CHECK(peer_cert_is(conn, 1, "intermediate.pem", seen ? &seen[1] : NULL));
    return true;
out:
    return false;
}

/* No peer chain is known: both accessors answer EMBER_ERR_WRONG_STATE. */
static bool no_peer_chain(const ember_conn *conn)
{
    size_t n = 99, len = 77;
    const uint8_t *der = (const uint8_t *)"x";
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_peer_cert_count(conn, &n));
    CHECK_EQ(99, n);
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_peer_cert(conn, 0, &der, &len));
    CHECK_EQ(77, len);
    return true;
out:
    return false;
}

typedef struct mtls_opts {
    int mode;               /* an ember_client_auth value, or -1 to leave the default */
    bool server_trust;      /* the server trusts ca.pem */
    const char *client_cert; /* PKI chain the client presents, NULL for none */
    uint16_t version;       /* 0: both versions */
} mtls_opts;

/* A server (ecdsa-p256, trusting ca.pem when asked) and a client (trusting ca.pem, presenting
 * o->client_cert) in memory mode. The configs are freed here; the connections keep them. */
static bool mtls_pair(pair *p, const mtls_opts *o)
{
    bool ok = false;
    ember_trust *trust = NULL;
    memset(p, 0, sizeof *p);
    ember_config *sc = server_config("ecdsa-p256", NULL, o->version, o->version);
    ember_config *cc = client_config(o->version, o->version, true);
    CHECK(sc != NULL && cc != NULL);
    if (o->server_trust) {
        CHECK_RC(EMBER_OK, ember_trust_new(&trust));
        CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("ca.pem")));
        CHECK_RC(EMBER_OK, ember_config_set_trust(sc, trust));
    }
    if (o->mode >= 0)
        CHECK_RC(EMBER_OK, ember_config_set_client_auth(sc, (ember_client_auth)o->mode));
    if (o->client_cert) {
        char chain[64], key[64];
        snprintf(chain, sizeof chain, "%s.pem", o->client_cert);
        snprintf(key, sizeof key, "%s.key", o->client_cert);
        CHECK_RC(EMBER_OK, ember_config_add_cert_pem_file(cc, pki(chain), pki(key)));
    }
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p->c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p->s));
    ok = true;
out:
    ember_trust_free(trust);
    ember_config_free(sc);
    ember_config_free(cc);
    if (!ok)
        pair_free(p);
    return ok;
}

static const char *version_name(uint16_t v) { return v == EMBER_TLS1_2 ? "TLS1.2" : "TLS1.3"; }

/* Required, client presents a chain that leads to ca.pem: both complete, each reads the
 * other's chain exactly, before the handshake neither knows it, and the borrowed DER stays put
 * through data, close_notify and the end of the stream. */
static void case_required_ok(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    mtls_opts o = {EMBER_CLIENT_AUTH_REQUIRED, true, "ecdsa-p384", version};
    pair p = {0};
    ember_result rc_c, rc_s;
    const uint8_t *seen_c[2] = {0}, *seen_s[2] = {0};
    CHECK(mtls_pair(&p, &o));
    CHECK(no_peer_chain(p.c) && no_peer_chain(p.s));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    uint16_t v = 0;
    CHECK_RC(EMBER_OK, ember_conn_protocol_version(p.s, &v));
    CHECK_EQ(version, v);
    CHECK(peer_chain_is(p.s, "ecdsa-p384", seen_s)); /* what the client presented */
    CHECK(peer_chain_is(p.c, "ecdsa-p256", seen_c)); /* what the server presented */
    CHECK(exchange(&p));
    CHECK(peer_chain_is(p.s, "ecdsa-p384", seen_s));
    CHECK(peer_chain_is(p.c, "ecdsa-p256", seen_c));
out:
    pair_free(&p);
}

/* The default with a trust store is REQUIRED: a client without a certificate fails. Explicit
 * REQUIRED alike. The server: EMBER_ERR_CERT_REQUIRED. The client receives the alert
 * certificate_required (116) in both versions, but when differs: in TLS 1.3 the client's
 * handshake is complete once it sent its Finished, so the alert comes with its next read; in
 * TLS 1.2 the client waits for the server's Finished, and its handshake reports the alert. */
static void case_required_no_cert(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    for (int mode = -1; mode <= EMBER_CLIENT_AUTH_REQUIRED; mode += 3) {
        mtls_opts o = {mode, true, NULL, version};
        pair p = {0};
        ember_result rc_c, rc_s;
        CHECK(mtls_pair(&p, &o));
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.s, EMBER_ERR_CERT_REQUIRED, rc_s);
        CHECK_CONTAINS(conn_detail(p.s), "presented no certificate");
        CHECK(no_peer_chain(p.s));
        CHECK(client_hears_refusal(p.c, version, rc_c, 116, "certificate_required (116)"));
        /* The client had verified the server's chain before the alert: it stays readable. */
        CHECK(peer_chain_is(p.c, "ecdsa-p256", NULL));
    out:
        pair_free(&p);
    }
}

/* A client certificate from another CA: the server EMBER_ERR_CERT_UNKNOWN_ISSUER and no peer
 * chain; the client receives unknown_ca (48), when as in case_required_no_cert. */
static void case_untrusted(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    for (int mode = EMBER_CLIENT_AUTH_OPTIONAL; mode <= EMBER_CLIENT_AUTH_REQUIRED; mode++) {
        mtls_opts o = {mode, true, "unknown-ca", version};
        pair p = {0};
        ember_result rc_c, rc_s;
        CHECK(mtls_pair(&p, &o));
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.s, EMBER_ERR_CERT_UNKNOWN_ISSUER, rc_s);
        CHECK(no_peer_chain(p.s));
        CHECK(client_hears_refusal(p.c, version, rc_c, 48, "unknown_ca (48)"));
    out:
        pair_free(&p);
    }
}

/* Optional: a client without a certificate gets in and the server has no peer chain; a client
 * with one is verified and its chain read. */
static void case_optional(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    const char *certs[2] = {NULL, "ecdsa-p384"};
    for (int i = 0; i < 2; i++) {
        mtls_opts o = {EMBER_CLIENT_AUTH_OPTIONAL, true, certs[i], version};
        pair p = {0};
        ember_result rc_c, rc_s;
        CHECK(mtls_pair(&p, &o));
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
        CHECK(peer_chain_is(p.c, "ecdsa-p256", NULL));
        if (certs[i])
            CHECK(peer_chain_is(p.s, certs[i], NULL));
        else
            CHECK(no_peer_chain(p.s));
        CHECK(exchange(&p));
    out:
        pair_free(&p);
    }
}

/* No client authentication: without a trust store (the default), and NONE with one. A client
 * with a certificate sends none; the server has no peer chain, the client has the server's. */
static void case_none(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    mtls_opts opts[2] = {{-1, false, "ecdsa-p384", version},
                         {EMBER_CLIENT_AUTH_NONE, true, "ecdsa-p384", version}};
    for (int i = 0; i < 2; i++) {
        pair p = {0};
        ember_result rc_c, rc_s;
        CHECK(mtls_pair(&p, &opts[i]));
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
        CHECK(no_peer_chain(p.s));
        CHECK(peer_chain_is(p.c, "ecdsa-p256", NULL));
    out:
        pair_free(&p);
    }
}

/* OPTIONAL or REQUIRED without a trust store: the setter succeeds (the store may come later),
 * ember_conn_new fails with EMBER_ERR_INVALID_ARG and says what is missing; a store set
 * afterwards makes the config usable. */
static void case_no_trust(const void *arg)
{
    (void)arg;
    for (int mode = EMBER_CLIENT_AUTH_OPTIONAL; mode <= EMBER_CLIENT_AUTH_REQUIRED; mode++) {
        ember_config *sc = server_config("ecdsa-p256", NULL, 0, 0);
        ember_conn *conn = NULL;
        ember_trust *trust = NULL;
        CHECK(sc != NULL);
        CHECK_RC(EMBER_OK, ember_config_set_client_auth(sc, (ember_client_auth)mode));
        CHECK_RC(EMBER_ERR_INVALID_ARG, ember_conn_new(sc, NULL, &conn));
        CHECK(conn == NULL);
        CHECK_CONTAINS(cfg_detail(sc), mode == EMBER_CLIENT_AUTH_REQUIRED ? "is required" : "is optional");
        CHECK_CONTAINS(cfg_detail(sc), "no trust store");
        CHECK_CONTAINS(cfg_detail(sc), "ember_config_set_trust");
        printf("    %s without trust: %s\n", mode == EMBER_CLIENT_AUTH_REQUIRED ? "required" : "optional",
               cfg_detail(sc));
        /* The failed attempt did not freeze the config. */
        CHECK_RC(EMBER_OK, ember_trust_new(&trust));
        CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("ca.pem")));
        CHECK_RC(EMBER_OK, ember_config_set_trust(sc, trust));
        CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &conn));
    out:
        ember_conn_free(conn);
        ember_trust_free(trust);
        ember_config_free(sc);
    }
}

/* Bad input: NULLs, a mode that is not an ember_client_auth, a client config, a frozen
 * config, an index past the chain. Failed calls leave the outputs alone. */
static void case_bad_input(const void *arg)
{
    (void)arg;
    ember_config *sc = server_config("ecdsa-p256", NULL, 0, 0), *cc = client_config(0, 0, true);
    ember_conn *conn = NULL;
    mtls_opts o = {-1, false, NULL, 0};
    pair p = {0};
    ember_result rc_c, rc_s;
    size_t n = 0, len = 5;
    const uint8_t *der = NULL, *sentinel = (const uint8_t *)"sentinel";
    CHECK(sc != NULL && cc != NULL);

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_client_auth(NULL, EMBER_CLIENT_AUTH_REQUIRED));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_client_auth(sc, (ember_client_auth)3));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_client_auth(sc, (ember_client_auth)-1));
    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_client_auth(cc, EMBER_CLIENT_AUTH_NONE));
    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_client_auth(cc, EMBER_CLIENT_AUTH_REQUIRED));
    CHECK_CONTAINS(cfg_detail(cc), "server setting");
    /* A client config stays usable, and WRONG_ROLE beats CONFIG_FROZEN. */
    CHECK_RC(EMBER_OK, ember_config_set_client_auth(sc, EMBER_CLIENT_AUTH_NONE));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &conn));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_client_auth(sc, EMBER_CLIENT_AUTH_NONE));
    ember_conn_free(conn);
    conn = NULL;
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &conn));
    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_client_auth(cc, EMBER_CLIENT_AUTH_NONE));

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_peer_cert_count(NULL, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_peer_cert_count(conn, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_peer_cert(NULL, 0, &der, &len));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_peer_cert(conn, 0, NULL, &len));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_peer_cert(conn, 0, &der, NULL));

    CHECK(mtls_pair(&p, &o));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_RC(EMBER_OK, ember_conn_peer_cert_count(p.c, &n));
    CHECK_EQ(2, n);
    der = sentinel;
    len = 5;
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_conn_peer_cert(p.c, 2, &der, &len));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_conn_peer_cert(p.c, (size_t)-1, &der, &len));
    CHECK(der == sentinel);
    CHECK_EQ(5, len);
    CHECK_RC(EMBER_OK, ember_conn_peer_cert(p.c, 1, &der, &len));
    CHECK(der != sentinel && len > 0);
out:
    pair_free(&p);
    ember_conn_free(conn);
    ember_config_free(sc);
    ember_config_free(cc);
}

/* ---- the verification callback ---- */

typedef struct verify_ctx {
    int calls;
    char server_name[64];
    size_t chain_len;
    ember_result verdict;
    bool chain_ok;            /* chain[] equals the PKI chain `expect_chain` */
    const char *expect_chain; /* PKI chain name the server presents */
    const char *pin;          /* accept only this PKI chain's leaf (any verdict); NULL: answer */
    int answer;               /* returned when pin is NULL */
    const char *reason;       /* written on rejection (NULL: nothing); "fill" fills the buffer */
    size_t reason_len;
} verify_ctx;

/* Whether DER `got` equals the first certificate of the PEM `file`. */
static bool der_is(const ember_bytes *got, const char *file)
{
    size_t len = 0;
    uint8_t *want = pem_file_der(file, &len);
    bool same = want && got->data && got->len == len && memcmp(want, got->data, len) == 0;
    free(want);
    return same;
}

static int record_verify(void *userdata, const char *server_name, const ember_bytes *chain,
                         size_t chain_len, ember_result verdict, char *reason, size_t reason_len)
{
    verify_ctx *v = userdata;
    char leaf[64];
    v->calls++;
    snprintf(v->server_name, sizeof v->server_name, "%s", server_name ? server_name : "(NULL)");
    v->chain_len = chain_len;
    v->verdict = verdict;
    v->reason_len = reason_len;
    if (v->expect_chain) {
        bool unknown = strcmp(v->expect_chain, "unknown-ca") == 0;
        snprintf(leaf, sizeof leaf, "%s-leaf.pem", v->expect_chain);
        v->chain_ok = chain_len == 2 && der_is(&chain[0], leaf) &&
                      der_is(&chain[1], unknown ? "unknown-intermediate.pem" : "intermediate.pem");
    }
    int rc = v->answer;
    if (v->pin) {
        snprintf(leaf, sizeof leaf, "%s-leaf.pem", v->pin);
        rc = chain_len > 0 && der_is(&chain[0], leaf) ? 0 : 1;
    }
    if (rc != 0 && v->reason) {
        if (reason_len > 0 && reason[0] != '\0')
            return -99; /* the buffer must start out "" */
        if (strcmp(v->reason, "fill") == 0)
            memset(reason, 'x', reason_len); /* no NUL at all */
        else
            snprintf(reason, reason_len, "%s", v->reason);
    }
    return rc;
}

typedef struct verify_opts {
    const char *server_cert; /* PKI chain the server presents */
    bool empty_trust;        /* the client's trust store has no root at all */
    uint16_t version;        /* 0: both */
} verify_opts;

/* Client (trusting ca.pem, or an empty store) with the callback, against a server presenting
 * o->server_cert; returns both answers. */
static bool verify_handshake(const verify_opts *o, verify_ctx *v, pair *p, ember_result *rc_c,
                             ember_result *rc_s)
{
    bool ok = false;
    ember_trust *trust = NULL;
    ember_config *sc = server_config(o->server_cert, NULL, o->version, o->version);
    ember_config *cc = client_config(o->version, o->version, !o->empty_trust);
    memset(p, 0, sizeof *p);
    CHECK(sc != NULL && cc != NULL);
    if (o->empty_trust) {
        CHECK_RC(EMBER_OK, ember_trust_new(&trust));
        CHECK_RC(EMBER_OK, ember_config_set_trust(cc, trust));
    }
    CHECK_RC(EMBER_OK, ember_config_set_verify_callback(cc, record_verify, v));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p->c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p->s));
    CHECK(drive_handshake(p, rc_c, rc_s));
    ok = true;
out:
    ember_trust_free(trust);
    ember_config_free(sc);
    ember_config_free(cc);
    return ok;
}

/* Accepting a chain the built-in verification accepts: the callback is called once, shown the
 * server name, the exact chain and EMBER_OK, and the connection works. */
static void case_verify_accept(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    verify_opts o = {"ecdsa-p256", false, version};
    verify_ctx v = {.expect_chain = "ecdsa-p256", .answer = 0};
    pair p = {0};
    ember_result rc_c, rc_s;
    CHECK(verify_handshake(&o, &v, &p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK_EQ(1, v.calls);
    CHECK_STR("localhost", v.server_name);
    CHECK_EQ(2, v.chain_len);
    CHECK(v.chain_ok);
    CHECK_RC(EMBER_OK, v.verdict);
    CHECK(peer_chain_is(p.c, "ecdsa-p256", NULL));
    CHECK(exchange(&p));
out:
    pair_free(&p);
}

/* Rejecting: EMBER_ERR_CERT_REJECTED with the reason in the detail (a reason that fills the
 * whole buffer without a NUL is cut to reason_len - 1 bytes; none gives a plain sentence);
 * the server receives certificate_unknown (46). The callback is shown the built-in verdict
 * whatever it is: EMBER_OK, EMBER_ERR_CERT_EXPIRED, EMBER_ERR_CERT_HOSTNAME_MISMATCH. */
static void case_verify_reject(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    static const struct {
        const char *cert, *reason;
        ember_result verdict;
    } rows[] = {
        {"ecdsa-p256", "pinned key mismatch", EMBER_OK},
        {"ecdsa-p256", NULL, EMBER_OK},
        {"ecdsa-p256", "fill", EMBER_OK},
        {"expired", "too old", EMBER_ERR_CERT_EXPIRED},
        {"wronghost", "wrong host", EMBER_ERR_CERT_HOSTNAME_MISMATCH},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        verify_opts o = {rows[i].cert, false, version};
        verify_ctx v = {.expect_chain = rows[i].cert, .answer = 7, .reason = rows[i].reason};
        pair p = {0};
        ember_result rc_c, rc_s;
        uint8_t alert = 0;
        CHECK(verify_handshake(&o, &v, &p, &rc_c, &rc_s));
        CHECK_EQ(1, v.calls);
        CHECK(v.chain_ok);
        CHECK_RC(rows[i].verdict, v.verdict);
        CHECK_CONN_RC(p.c, EMBER_ERR_CERT_REJECTED, rc_c);
        CHECK_CONTAINS(conn_detail(p.c), "the verification callback rejected the peer's certificate");
        if (!rows[i].reason) {
            CHECK_STR("the verification callback rejected the peer's certificate", conn_detail(p.c));
        } else if (strcmp(rows[i].reason, "fill") == 0) {
            char want[600];
            size_t n = 0, full = 0;
            CHECK(v.reason_len > 1 && v.reason_len < 500);
            CHECK_RC(EMBER_ERR_BUFFER_TOO_SMALL, ember_conn_last_error(p.c, NULL, 0, &full));
            n = (size_t)snprintf(want, sizeof want, "%s",
                                 "the verification callback rejected the peer's certificate: ");
            memset(want + n, 'x', v.reason_len - 1);
            want[n + v.reason_len - 1] = '\0';
            CHECK_EQ(strlen(want), full);
            CHECK_STR(want, conn_detail(p.c));
        } else {
            CHECK_CONTAINS(conn_detail(p.c), rows[i].reason);
        }
        CHECK(no_peer_chain(p.c));
        CHECK_CONN_RC(p.s, EMBER_ERR_ALERT_RECEIVED, rc_s);
        CHECK_RC(EMBER_OK, ember_conn_peer_alert(p.s, &alert));
        CHECK_EQ(46, alert);
    out:
        pair_free(&p);
    }
}

/* Pinning: a chain from an unknown CA, rejected by the built-in verification
 * (EMBER_ERR_CERT_UNKNOWN_ISSUER), is accepted because its leaf is the pinned one, with ca.pem
 * trusted and with an empty trust store; another leaf is refused. The server still proves it
 * holds the key (the handshake signature is always checked). */
static void case_verify_pin(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    for (int empty = 0; empty <= 1; empty++) {
        verify_opts o = {"unknown-ca", empty, version};
        verify_ctx v = {.expect_chain = "unknown-ca", .pin = "unknown-ca"};
        pair p = {0};
        ember_result rc_c, rc_s;
        CHECK(verify_handshake(&o, &v, &p, &rc_c, &rc_s));
        CHECK_EQ(1, v.calls);
        CHECK(v.chain_ok);
        CHECK_RC(EMBER_ERR_CERT_UNKNOWN_ISSUER, v.verdict);
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
        CHECK(exchange(&p));
        pair_free(&p);

        /* The pin does not match the leaf of ecdsa-p256, trusted or not. */
        verify_opts o2 = {"ecdsa-p256", empty, version};
        verify_ctx v2 = {.expect_chain = "ecdsa-p256", .pin = "unknown-ca"};
        CHECK(verify_handshake(&o2, &v2, &p, &rc_c, &rc_s));
        CHECK_RC(empty ? EMBER_ERR_CERT_UNKNOWN_ISSUER : EMBER_OK, v2.verdict);
        CHECK_CONN_RC(p.c, EMBER_ERR_CERT_REJECTED, rc_c);
    out:
        pair_free(&p);
    }
}

/* Bad input, the role, a frozen config, and NULL removing the callback. */
static void case_verify_bad_input(const void *arg)
{
    (void)arg;
    verify_ctx v = {.answer = 0};
    ember_config *sc = server_config("unknown-ca", NULL, 0, 0), *cc = client_config(0, 0, true);
    pair p = {0};
    ember_result rc_c, rc_s;
    CHECK(sc != NULL && cc != NULL);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_verify_callback(NULL, record_verify, &v));
    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_verify_callback(sc, record_verify, &v));
    CHECK_CONTAINS(cfg_detail(sc), "client setting");
    /* Set, then removed: the built-in verdict stands and the callback is never called. */
    CHECK_RC(EMBER_OK, ember_config_set_verify_callback(cc, record_verify, &v));
    CHECK_RC(EMBER_OK, ember_config_set_verify_callback(cc, NULL, NULL));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p.c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p.s));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_verify_callback(cc, record_verify, &v));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_ERR_CERT_UNKNOWN_ISSUER, rc_c);
    CHECK_EQ(0, v.calls);
out:
    pair_free(&p);
    ember_config_free(sc);
    ember_config_free(cc);
}

void run_mtls_cases(void)
{
    static const uint16_t versions[] = {EMBER_TLS1_2, EMBER_TLS1_3};
    for (size_t i = 0; i < 2; i++) {
        const char *v = version_name(versions[i]);
        run_case(case_required_ok, &versions[i], "mtls required ok %s", v);
        run_case(case_required_no_cert, &versions[i], "mtls required no_cert %s", v);
        run_case(case_untrusted, &versions[i], "mtls untrusted %s", v);
        run_case(case_optional, &versions[i], "mtls optional %s", v);
        run_case(case_none, &versions[i], "mtls none %s", v);
        run_case(case_verify_accept, &versions[i], "verify accept %s", v);
        run_case(case_verify_reject, &versions[i], "verify reject %s", v);
        run_case(case_verify_pin, &versions[i], "verify pin %s", v);
    }
    run_case(case_no_trust, NULL, "mtls no_trust");
    run_case(case_bad_input, NULL, "mtls bad_input");
    run_case(case_verify_bad_input, NULL, "verify bad_input");
}
