/* Every public function with bad input (NULL pointers, invalid values, bad files, wrong state),
 * the error detail buffers, the result-code table and the name lookups. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include <embertls.h> /* a second time: the header must survive double inclusion */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Every code of the header, with the identifier its name must equal. */
#define RESULT_CODES(X)                                                                        \
    X(EMBER_OK) X(EMBER_WANT_READ) X(EMBER_WANT_WRITE) X(EMBER_CLOSED)                         \
    X(EMBER_ERR_NULL_ARG) X(EMBER_ERR_INVALID_ARG) X(EMBER_ERR_BUFFER_TOO_SMALL)                \
    X(EMBER_ERR_WRONG_STATE) X(EMBER_ERR_CONFIG_FROZEN) X(EMBER_ERR_BAD_PEM)                    \
    X(EMBER_ERR_BAD_KEY) X(EMBER_ERR_KEY_MISMATCH) X(EMBER_ERR_FILE) X(EMBER_ERR_NO_CERTIFICATE) \
    X(EMBER_ERR_WRONG_ROLE) X(EMBER_ERR_BAD_CERTIFICATE) X(EMBER_ERR_BAD_CRL)                  \
    X(EMBER_ERR_IO) X(EMBER_ERR_UNEXPECTED_EOF)                                                \
    X(EMBER_ERR_CERT_EXPIRED) X(EMBER_ERR_CERT_NOT_YET_VALID) X(EMBER_ERR_CERT_UNKNOWN_ISSUER) \
    X(EMBER_ERR_CERT_BAD_SIGNATURE) X(EMBER_ERR_CERT_HOSTNAME_MISMATCH)                         \
    X(EMBER_ERR_CERT_REVOKED) X(EMBER_ERR_CERT_REVOCATION_UNKNOWN)                              \
    X(EMBER_ERR_CERT_UNSUPPORTED) X(EMBER_ERR_CERT_REJECTED) X(EMBER_ERR_CERT_BAD_ENCODING)    \
    X(EMBER_ERR_CERT_INVALID_PURPOSE) X(EMBER_ERR_CERT_REQUIRED) X(EMBER_ERR_CERT_INVALID)     \
    X(EMBER_ERR_CERT_SELF_SIGNED) X(EMBER_ERR_CERT_MISSING_INTERMEDIATE)                       \
    X(EMBER_ERR_NO_SHARED_VERSION) X(EMBER_ERR_NO_SHARED_CIPHER_SUITE)                          \
    X(EMBER_ERR_NO_SHARED_GROUP) X(EMBER_ERR_NO_ALPN_OVERLAP) X(EMBER_ERR_ALERT_RECEIVED)       \
    X(EMBER_ERR_DECODE) X(EMBER_ERR_BAD_RECORD) X(EMBER_ERR_UNEXPECTED_MESSAGE)                 \
    X(EMBER_ERR_PEER_MISBEHAVED) X(EMBER_ERR_PEER_INCOMPATIBLE)                                 \
    X(EMBER_ERR_PANIC) X(EMBER_ERR_POISONED) X(EMBER_ERR_RESOURCE_LIMIT) X(EMBER_ERR_INTERNAL)

static void case_result_table(const void *arg)
{
    (void)arg;
#define ROW(code) {code, #code},
    static const struct {
        ember_result code;
        const char *name;
    } rows[] = {RESULT_CODES(ROW)};
#undef ROW
    enum { NROWS = sizeof rows / sizeof rows[0] };
    for (int i = 0; i < NROWS; i++) {
        const char *str = ember_result_str(rows[i].code);
        CHECK_STR(rows[i].name, ember_result_name(rows[i].code));
        CHECK_MSG(str != NULL && *str != '\0', "ember_result_str(%s) is empty", rows[i].name);
        CHECK_MSG(strcmp(str, rows[i].name) != 0, "ember_result_str(%s) is only the name", rows[i].name);
        for (int j = 0; j < i; j++)
            CHECK_MSG(strcmp(str, ember_result_str(rows[j].code)) != 0,
                      "%s and %s share the text \"%s\"", rows[j].name, rows[i].name, str);
        int cls = (int)rows[i].code / 100 * 100;
        CHECK_EQ(cls, EMBER_RESULT_CLASS(rows[i].code));
        CHECK_EQ(cls >= 100, EMBER_RESULT_IS_ERROR(rows[i].code));
        CHECK_EQ(cls == 100, EMBER_RESULT_IS_MISUSE(rows[i].code));
        CHECK_EQ(cls == 200, EMBER_RESULT_IS_IO_ERROR(rows[i].code));
        CHECK_EQ(cls == 300, EMBER_RESULT_IS_CERT_ERROR(rows[i].code));
        CHECK_EQ(cls == 400, EMBER_RESULT_IS_HANDSHAKE_ERROR(rows[i].code));
        CHECK_EQ(cls == 500, EMBER_RESULT_IS_INTERNAL_ERROR(rows[i].code));
    }
    CHECK_STR("EMBER_UNKNOWN_RESULT", ember_result_name((ember_result)9999));
    CHECK_STR("unknown embertls result code", ember_result_str((ember_result)9999));
    CHECK_STR("EMBER_UNKNOWN_RESULT", ember_result_name((ember_result)4)); /* a gap in the 0s */
out:;
}

static void case_names(const void *arg)
{
    (void)arg;
    static const struct {
        uint16_t id;
        const char *name;
    } suites[] = {
        {0x1301, "TLS_AES_128_GCM_SHA256"},
        {0x1302, "TLS_AES_256_GCM_SHA384"},
        {0x1303, "TLS_CHACHA20_POLY1305_SHA256"},
        {0xC02B, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"},
        {0xC02C, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"},
        {0xCCA9, "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
        {0xC02F, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
        {0xC030, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"},
        {0xCCA8, "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
    };
    static const struct {
        uint8_t alert;
        const char *name;
    } alerts[] = {
        {0, "close_notify"}, {20, "bad_record_mac"}, {40, "handshake_failure"}, {42, "bad_certificate"},
        {45, "certificate_expired"}, {46, "certificate_unknown"}, {48, "unknown_ca"},
        {51, "decrypt_error"}, {70, "protocol_version"}, {80, "internal_error"},
        {109, "missing_extension"}, {112, "unrecognized_name"}, {116, "certificate_required"},
        {120, "no_application_protocol"},
    };
    const char *v = ember_version();
    CHECK(v != NULL);
    /* The library that runs is the one the header describes. */
    const char *prefix = "embertls " EMBER_VERSION_STRING " (rustls 0.23.";
    CHECK_MSG(strncmp(v, prefix, strlen(prefix)) == 0, "ember_version() = \"%s\", expected \"%s...\"", v, prefix);
    CHECK_EQ(EMBER_VERSION_MAJOR * 10000 + EMBER_VERSION_MINOR * 100 + EMBER_VERSION_PATCH, EMBER_VERSION_NUMBER);
#if defined(TLS1_2) || defined(TLS1_3)
    /* Everything the header defines carries the ember/EMBER prefix. */
    CHECK_MSG(0, "embertls.h defines unprefixed macros TLS1_2/TLS1_3 (collide with other headers)");
#endif
    for (size_t i = 0; i < sizeof alerts / sizeof alerts[0]; i++)
        CHECK_STR(alerts[i].name, ember_alert_name(alerts[i].alert));
    CHECK(ember_alert_name(255) == NULL);
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++)
        CHECK_STR(suites[i].name, ember_cipher_suite_name(suites[i].id));
    CHECK(ember_cipher_suite_name(0xFFFF) == NULL);
    CHECK_STR("X25519", ember_group_name(0x001d));
    CHECK_STR("secp256r1", ember_group_name(0x0017));
    CHECK_STR("secp384r1", ember_group_name(0x0018));
    CHECK(ember_group_name(0xFFFF) == NULL);
    CHECK_STR("TLSv1.2", ember_protocol_version_name(EMBER_TLS1_2));
    CHECK_STR("TLSv1.3", ember_protocol_version_name(EMBER_TLS1_3));
    CHECK(ember_protocol_version_name(0xFFFF) == NULL);
out:;
}

/* A malloc'd copy of exactly len bytes, so valgrind sees any read past the end. */
static uint8_t *exact_copy(const uint8_t *p, size_t len)
{
    uint8_t *q = malloc(len ? len : 1);
    if (q && len)
        memcpy(q, p, len);
    return q;
}

static void case_args_config(const void *arg)
{
    (void)arg;
    ember_config *cfg = NULL, *srv = NULL;
    ember_trust *trust = NULL;
    ember_conn *conn = NULL;
    uint8_t *chain = NULL, *key = NULL;
    size_t chain_len = 0, key_len = 0, n = 0;
    char buf[256];
    const uint8_t garbage[] = "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n";

    ember_config_free(NULL);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_new(EMBER_ROLE_CLIENT, NULL));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_new((ember_role)7, &cfg));
    CHECK(cfg == NULL);
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cfg));
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_SERVER, &srv));
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));

    /* Nothing failed yet: empty detail. */
    CHECK_RC(EMBER_OK, ember_config_last_error(cfg, buf, sizeof buf, &n));
    CHECK_EQ(0, n);
    CHECK_STR("", buf);

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_versions(NULL, EMBER_TLS1_2, EMBER_TLS1_3));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_versions(cfg, 0x0301, EMBER_TLS1_3));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_versions(cfg, EMBER_TLS1_3, EMBER_TLS1_2));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_versions(cfg, EMBER_TLS1_2, 0x0305));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_versions(cfg, 0, 0));
    CHECK(strlen(cfg_detail(cfg)) > 0);
    CHECK_RC(EMBER_OK, ember_config_set_versions(cfg, EMBER_TLS1_2, EMBER_TLS1_2));
    CHECK_RC(EMBER_OK, ember_config_set_versions(cfg, EMBER_TLS1_3, EMBER_TLS1_3));
    CHECK_RC(EMBER_OK, ember_config_set_versions(cfg, EMBER_TLS1_2, EMBER_TLS1_3));

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_trust(NULL, trust));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_trust(cfg, NULL));

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_last_error(NULL, buf, sizeof buf, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_last_error(cfg, NULL, sizeof buf, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_last_error(cfg, buf, sizeof buf, NULL));

    char chain_path[4096], key_path[4096]; /* copies: pki() reuses its buffers */
    snprintf(chain_path, sizeof chain_path, "%s", pki("rsa.pem"));
    snprintf(key_path, sizeof key_path, "%s", pki("rsa.key"));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem_file(NULL, chain_path, key_path));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem_file(srv, NULL, key_path));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem_file(srv, chain_path, NULL));

    /* Files: each failure names the file in the detail. */
    static const struct {
        const char *chain, *key;
        ember_result want;
        const char *named; /* file the detail must name, NULL: no file involved */
    } files[] = {
        {"does-not-exist.pem", "rsa.key", EMBER_ERR_FILE, "does-not-exist.pem"},
        {"rsa.pem", "does-not-exist.key", EMBER_ERR_FILE, "does-not-exist.key"},
        {"garbage.pem", "rsa.key", EMBER_ERR_BAD_PEM, "garbage.pem"},
        {"empty.pem", "rsa.key", EMBER_ERR_BAD_PEM, "empty.pem"},
        {"rsa.key", "rsa.key", EMBER_ERR_BAD_PEM, "rsa.key"},    /* no CERTIFICATE in it */
        {"rsa.pem", "garbage.pem", EMBER_ERR_BAD_KEY, "garbage.pem"}, /* no key in it */
        {"rsa.pem", "empty.pem", EMBER_ERR_BAD_KEY, "empty.pem"},
        {"rsa.pem", "ca.pem", EMBER_ERR_BAD_KEY, "ca.pem"},      /* PEM, but no key in it */
        {"rsa.pem", "ecdsa-p256.key", EMBER_ERR_KEY_MISMATCH, NULL},
        {"ecdsa-p256.pem", "ecdsa-p384.key", EMBER_ERR_KEY_MISMATCH, NULL},
    };
    /* Every row is tried (a mismatch is reported and the next row runs). */
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        const char *cp = pki(files[i].chain), *kp = pki(files[i].key);
        ember_result rc = ember_config_add_cert_pem_file(srv, cp, kp);
        const char *text = cfg_detail(srv);
        printf("    %s + %s: %s: %s\n", files[i].chain, files[i].key, ember_result_name(rc), text);
        if (rc != files[i].want)
            check_failed(__FILE__, __LINE__, "ember_config_add_cert_pem_file(%s, %s): expected %s, got %s",
                         files[i].chain, files[i].key, ember_result_name(files[i].want), ember_result_name(rc));
        else if (*text == '\0')
            check_failed(__FILE__, __LINE__, "no detail after %s", ember_result_name(rc));
        else if (files[i].named && !strstr(text, strcmp(files[i].named, files[i].chain) == 0 ? cp : kp))
            check_failed(__FILE__, __LINE__, "the detail does not name %s", files[i].named);
    }
    /* None of the failures left a half-added certificate behind. */
    CHECK_RC(EMBER_ERR_NO_CERTIFICATE, ember_conn_new(srv, NULL, &conn));
    CHECK(conn == NULL);
    CHECK(strlen(cfg_detail(srv)) > 0);

    /* The same from memory. */
    chain = read_file(chain_path, &chain_len);
    key = read_file(key_path, &key_len);
    CHECK(chain && key);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem(NULL, chain, chain_len, key, key_len));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem(srv, NULL, chain_len, key, key_len));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem(srv, chain, chain_len, NULL, key_len));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_config_add_cert_pem(srv, chain, 0, key, key_len));
    CHECK_RC(EMBER_ERR_BAD_KEY, ember_config_add_cert_pem(srv, chain, chain_len, key, 0));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_config_add_cert_pem(srv, garbage, sizeof garbage - 1, key, key_len));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_config_add_cert_pem(srv, chain, chain_len / 2, key, key_len));
    CHECK_RC(EMBER_ERR_BAD_KEY, ember_config_add_cert_pem(srv, chain, chain_len, chain, chain_len));
    CHECK_RC(EMBER_OK, ember_config_add_cert_pem(srv, chain, chain_len, key, key_len));
    CHECK_RC(EMBER_OK, ember_conn_new(srv, NULL, &conn));
out:
    ember_conn_free(conn);
    ember_config_free(cfg);
    ember_config_free(srv);
    ember_trust_free(trust);
    free(chain);
    free(key);
}

static void case_args_trust(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL, *t2 = NULL;
    uint8_t *ca = NULL, *keypem = NULL;
    size_t ca_len = 0, key_len = 0, n = 0;
    char buf[256];
    char missing[4096];
    snprintf(missing, sizeof missing, "%s", pki("no-such-ca.pem"));

    ember_trust_free(NULL);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_new(NULL));
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK(trust != NULL);
    CHECK_RC(EMBER_OK, ember_trust_last_error(trust, buf, sizeof buf, &n));
    CHECK_EQ(0, n);
    ca = read_file(pki("ca.pem"), &ca_len);
    keypem = read_file(pki("ecdsa-p256.key"), &key_len);
    CHECK(ca && keypem);

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_pem(NULL, ca, ca_len));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_pem(trust, NULL, ca_len));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem(trust, ca, 0));
    CHECK(strlen(trust_detail(trust)) > 0);
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem(trust, (const uint8_t *)"hello", 5));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem(trust, keypem, key_len)); /* no CERTIFICATE */
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem(trust, ca, ca_len / 2)); /* cut in the middle */

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_pem_file(NULL, pki("ca.pem")));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_pem_file(trust, NULL));
    CHECK_RC(EMBER_ERR_FILE, ember_trust_add_pem_file(trust, missing));
    CHECK_CONTAINS(trust_detail(trust), missing);
    printf("    missing file: %s\n", trust_detail(trust));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem_file(trust, pki("garbage.pem")));
    CHECK_CONTAINS(trust_detail(trust), pki("garbage.pem"));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem_file(trust, pki("empty.pem")));
    CHECK_CONTAINS(trust_detail(trust), pki("empty.pem"));

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_last_error(NULL, buf, sizeof buf, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_last_error(trust, NULL, sizeof buf, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_last_error(trust, buf, sizeof buf, NULL));

    /* A store that saw only failures still takes good input; a chain file adds all of it. */
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("rsa.pem")));
    CHECK_RC(EMBER_OK, ember_trust_new(&t2));
    uint8_t *exact = exact_copy(ca, ca_len);
    CHECK(exact != NULL);
    ember_result rc = ember_trust_add_pem(t2, exact, ca_len);
    free(exact);
    CHECK_RC(EMBER_OK, rc);
out:
    ember_trust_free(trust);
    ember_trust_free(t2);
    free(ca);
    free(keypem);
}

/* Server certificate and client trust both loaded from memory buffers of exact length. */
static void case_pem_from_memory(const void *arg)
{
    (void)arg;
    ember_config *sc = NULL, *cc = NULL;
    ember_trust *trust = NULL;
    uint8_t *chain = NULL, *key = NULL, *ca = NULL;
    size_t chain_len = 0, key_len = 0, ca_len = 0;
    ember_result rc_c, rc_s;
    pair p = {0};
    uint8_t *f1 = read_file(pki("ed25519.pem"), &chain_len), *f2 = read_file(pki("ed25519.key"), &key_len),
            *f3 = read_file(pki("ca.pem"), &ca_len);
    CHECK(f1 && f2 && f3);
    chain = exact_copy(f1, chain_len);
    key = exact_copy(f2, key_len);
    ca = exact_copy(f3, ca_len);
    CHECK(chain && key && ca);
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_SERVER, &sc));
    CHECK_RC(EMBER_OK, ember_config_add_cert_pem(sc, chain, chain_len, key, key_len));
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cc));
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_OK, ember_trust_add_pem(trust, ca, ca_len));
    CHECK_RC(EMBER_OK, ember_config_set_trust(cc, trust));
    /* The caller's buffers are not needed once the call returned. */
    memset(chain, 0, chain_len);
    memset(key, 0, key_len);
    memset(ca, 0, ca_len);
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p.c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p.s));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK(check_facts(p.c, EMBER_TLS1_3, 0x1302, 0x001d, "localhost"));
out:
    pair_free(&p);
    ember_config_free(sc);
    ember_config_free(cc);
    ember_trust_free(trust);
    free(f1);
    free(f2);
    free(f3);
    free(chain);
    free(key);
    free(ca);
}

static int never_read(void *ud, uint8_t *buf, size_t len, size_t *out_n)
{
    (void)ud, (void)buf, (void)len, (void)out_n;
    return EAGAIN;
}

static int never_write(void *ud, const uint8_t *buf, size_t len, size_t *out_n)
{
    (void)ud, (void)buf, (void)len, (void)out_n;
    return EAGAIN;
}

static void case_args_conn(const void *arg)
{
    (void)arg;
    ember_config *cc = client_config(0, 0, true), *sc = server_config("ecdsa-p256", NULL, 0, 0);
    ember_config *empty = NULL;
    ember_conn *conn = NULL;
    uint8_t buf[64];
    char text[64];
    uint16_t u16 = 0;
    uint8_t alert = 0;
    size_t n = 0;
    ember_result rc_c, rc_s;
    pair p = {0};
    CHECK(cc && sc);
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_SERVER, &empty));

    ember_conn_free(NULL);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_new(NULL, "localhost", &conn));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_new(cc, "localhost", NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_new(cc, NULL, &conn));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_conn_new(cc, "not a name!", &conn));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_conn_new(cc, "", &conn));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_conn_new(sc, "localhost", &conn));
    CHECK_RC(EMBER_ERR_NO_CERTIFICATE, ember_conn_new(empty, NULL, &conn));
    CHECK(conn == NULL);
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "::1", &conn)); /* IPv6 literals are names too */
    ember_conn_free(conn);
    conn = NULL;

    /* NULL connection: every function refuses; the two non-result ones answer 0. */
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_set_io(NULL, never_read, never_write, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_set_fd(NULL, 0));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_feed(NULL, buf, 1, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_drain(NULL, buf, sizeof buf, &n));
    CHECK_EQ(0, ember_conn_pending_output(NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_handshake(NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_read(NULL, buf, sizeof buf, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_write(NULL, buf, 1, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_flush(NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_close(NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_last_error(NULL, text, sizeof text, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_protocol_version(NULL, &u16));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_cipher_suite(NULL, &u16));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_kx_group(NULL, &u16));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_server_name(NULL, text, sizeof text, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_peer_alert(NULL, &alert));
    CHECK_EQ(0, ember_conn_os_error(NULL));

    CHECK(make_pair(&p, &(pair_opts){0}));
    /* NULL buffers and out-pointers on a live connection. */
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_set_io(p.c, NULL, never_write, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_set_io(p.c, never_read, NULL, NULL));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_conn_set_fd(p.c, -1));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_feed(p.c, NULL, 1, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_feed(p.c, buf, 1, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_drain(p.c, NULL, sizeof buf, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_drain(p.c, buf, sizeof buf, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_read(p.c, NULL, sizeof buf, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_read(p.c, buf, sizeof buf, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_write(p.c, NULL, 1, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_write(p.c, buf, 1, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_last_error(p.c, NULL, sizeof text, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_last_error(p.c, text, sizeof text, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_protocol_version(p.c, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_cipher_suite(p.c, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_kx_group(p.c, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_server_name(p.c, NULL, sizeof text, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_server_name(p.c, text, sizeof text, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_peer_alert(p.c, NULL));

    /* Before the handshake: facts unknown, except the name the client was made with. */
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_protocol_version(p.c, &u16));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_cipher_suite(p.s, &u16));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_kx_group(p.c, &u16));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_server_name(p.s, text, sizeof text, &n));
    CHECK_RC(EMBER_OK, ember_conn_server_name(p.c, text, sizeof text, &n));
    CHECK_STR("localhost", text);
    CHECK_RC(EMBER_ERR_BUFFER_TOO_SMALL, ember_conn_server_name(p.c, text, 4, &n));
    CHECK_STR("loc", text);
    CHECK_EQ(9, n);
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_peer_alert(p.c, &alert));
    CHECK_RC(EMBER_OK, ember_conn_last_error(p.c, text, sizeof text, &n));
    CHECK_EQ(0, n);
    CHECK_EQ(0, ember_conn_os_error(p.c));
    CHECK_RC(EMBER_OK, ember_conn_drain(p.s, buf, sizeof buf, &n)); /* nothing to send yet */
    CHECK_EQ(0, n);

    /* Misuse answered with an argument error leaves the connection usable. */
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK(check_facts(p.s, EMBER_TLS1_3, 0x1302, 0x001d, "localhost"));
    /* Zero-length reads and writes are no-ops, NULL buffer allowed. */
    n = 99;
    CHECK_RC(EMBER_OK, ember_conn_read(p.c, NULL, 0, &n));
    CHECK_EQ(0, n);
    n = 99;
    CHECK_RC(EMBER_OK, ember_conn_write(p.c, NULL, 0, &n));
    CHECK_EQ(0, n);
    CHECK_EQ(0, ember_conn_pending_output(p.c));
out:
    pair_free(&p);
    ember_conn_free(conn);
    ember_config_free(cc);
    ember_config_free(sc);
    ember_config_free(empty);
}

/* The I/O mode is chosen once, before the handshake; feed/drain belong to memory mode only. */
static void case_wrong_state(const void *arg)
{
    (void)arg;
    ember_config *cc = client_config(0, 0, true);
    ember_conn *fdc = NULL, *cbc = NULL, *mem = NULL;
    int sv[2] = {-1, -1};
    uint8_t buf[64];
    size_t n = 0;
    CHECK(cc != NULL);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &fdc));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &cbc));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &mem));

    CHECK_RC(EMBER_OK, ember_conn_set_fd(fdc, sv[0]));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_set_fd(fdc, sv[0]));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_set_io(fdc, never_read, never_write, NULL));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_feed(fdc, buf, 1, &n));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_drain(fdc, buf, sizeof buf, &n));

    CHECK_RC(EMBER_OK, ember_conn_set_io(cbc, never_read, never_write, NULL));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_set_io(cbc, never_read, never_write, NULL));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_set_fd(cbc, sv[1]));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_feed(cbc, buf, 1, &n));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_drain(cbc, buf, sizeof buf, &n));
    CHECK_RC(EMBER_WANT_WRITE, ember_conn_handshake(cbc));

    /* Once the handshake has started in memory mode, the mode is settled. */
    CHECK_RC(EMBER_WANT_READ, ember_conn_handshake(mem));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_set_io(mem, never_read, never_write, NULL));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_set_fd(mem, sv[1]));
    CHECK(ember_conn_pending_output(mem) > 0);
out:
    ember_conn_free(fdc);
    ember_conn_free(cbc);
    ember_conn_free(mem);
    ember_config_free(cc);
    for (int i = 0; i < 2; i++)
        if (sv[i] >= 0)
            close(sv[i]);
}

/* A config, and the trust store in it, are frozen once a connection was made from them. */
static void case_config_frozen(const void *arg)
{
    (void)arg;
    ember_config *cc = NULL, *sc = server_config("rsa", NULL, 0, 0);
    ember_trust *trust = NULL;
    ember_conn *c = NULL, *s = NULL, *c2 = NULL;
    uint8_t *chain = NULL, *key = NULL;
    size_t chain_len = 0, key_len = 0;
    CHECK(sc != NULL);
    chain = read_file(pki("ecdsa-p256.pem"), &chain_len);
    key = read_file(pki("ecdsa-p256.key"), &key_len);
    CHECK(chain && key);
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cc));
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("ca.pem")));
    CHECK_RC(EMBER_OK, ember_config_set_trust(cc, trust));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &s));

    for (int round = 0; round < 2; round++) {
        CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_versions(cc, EMBER_TLS1_2, EMBER_TLS1_2));
        CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_versions(sc, EMBER_TLS1_3, EMBER_TLS1_3));
        CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_trust(cc, trust));
        CHECK_RC(EMBER_ERR_CONFIG_FROZEN,
                 ember_config_add_cert_pem_file(sc, pki("ecdsa-p256.pem"), pki("ecdsa-p256.key")));
        CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_add_cert_pem(sc, chain, chain_len, key, key_len));
        CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_pem_file(trust, pki("unknown-ca.pem")));
        CHECK(strlen(cfg_detail(sc)) > 0);
        /* Frozen for good, also when the connections are gone. */
        ember_conn_free(c);
        ember_conn_free(s);
        c = s = NULL;
    }
    /* Frozen is not dead: it still makes connections. */
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &c2));
out:
    ember_conn_free(c);
    ember_conn_free(s);
    ember_conn_free(c2);
    ember_config_free(cc);
    ember_config_free(sc);
    ember_trust_free(trust);
    free(chain);
    free(key);
}

/* ember_*_last_error with a small buffer: EMBER_ERR_BUFFER_TOO_SMALL, the text cut to len-1
 * and NUL-terminated, nothing written past len, *out_n the full length. */
static bool check_small_buffers(const char *what, last_error_fn fn, const void *obj)
{
    char full[1024], buf[1024];
    size_t len = 0, n = 0;
    CHECK_RC(EMBER_OK, fn(obj, full, sizeof full, &len));
    CHECK_MSG(len > 8 && len == strlen(full), "%s: detail \"%s\", *out_n %zu", what, full, len);
    const size_t sizes[] = {1, 8, len, len + 1};
    for (size_t i = 0; i < 4; i++) {
        memset(buf, 'Z', sizeof buf);
        n = 0;
        ember_result want = sizes[i] > len ? EMBER_OK : EMBER_ERR_BUFFER_TOO_SMALL;
        ember_result got = fn(obj, buf, sizes[i], &n);
        CHECK_MSG(got == want, "%s, len %zu: expected %s, got %s", what, sizes[i], ember_result_name(want),
                  ember_result_name(got));
        CHECK_MSG(n == len, "%s, len %zu: *out_n = %zu, full length %zu", what, sizes[i], n, len);
        CHECK_MSG(buf[sizes[i] - 1] == '\0' && strncmp(buf, full, sizes[i] - 1) == 0,
                  "%s, len %zu: not the NUL-terminated start of the detail", what, sizes[i]);
        CHECK_MSG(buf[sizes[i]] == 'Z', "%s, len %zu: wrote past the buffer", what, sizes[i]);
    }
    memset(buf, 'Z', sizeof buf);
    CHECK_RC(EMBER_ERR_BUFFER_TOO_SMALL, fn(obj, buf, 0, &n));
    CHECK_EQ(len, n);
    CHECK_MSG(buf[0] == 'Z', "%s, len 0: wrote into the buffer", what);
    return true;
out:
    return false;
}

static void case_detail_buffers(const void *arg)
{
    (void)arg;
    ember_config *cfg = NULL;
    ember_trust *trust = NULL;
    ember_result rc_c, rc_s;
    pair p;
    CHECK(make_pair(&p, &(pair_opts){.cert = "wronghost"}));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_RC(EMBER_ERR_CERT_HOSTNAME_MISMATCH, rc_c);
    CHECK(check_small_buffers("ember_conn_last_error", conn_last_error, p.c));
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_SERVER, &cfg));
    CHECK_RC(EMBER_ERR_FILE, ember_config_add_cert_pem_file(cfg, pki("nope.pem"), pki("nope.key")));
    CHECK(check_small_buffers("ember_config_last_error", cfg_last_error, cfg));
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_ERR_FILE, ember_trust_add_pem_file(trust, pki("nope.pem")));
    CHECK(check_small_buffers("ember_trust_last_error", trust_last_error, trust));
out:
    pair_free(&p);
    ember_config_free(cfg);
    ember_trust_free(trust);
}

/* One config for several connections, freed before any of them is used. */
static void case_config_outlived(const void *arg)
{
    (void)arg;
    ember_config *cc = client_config(EMBER_TLS1_2, EMBER_TLS1_2, true);
    ember_config *sc = server_config("rsa", "rsa-pkcs1.key", 0, 0);
    ember_result rc_c, rc_s;
    pair p[3] = {{0}};
    CHECK(cc && sc);
    for (int i = 0; i < 3; i++) {
        CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p[i].c));
        CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p[i].s));
    }
    ember_config_free(cc);
    ember_config_free(sc);
    cc = sc = NULL;
    for (int i = 0; i < 3; i++) {
        CHECK(drive_handshake(&p[i], &rc_c, &rc_s));
        CHECK_CONN_RC(p[i].c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p[i].s, EMBER_OK, rc_s);
        CHECK(check_facts(p[i].c, EMBER_TLS1_2, 0xC030, 0x001d, "localhost"));
    }
out:
    for (int i = 0; i < 3; i++)
        pair_free(&p[i]);
    ember_config_free(cc);
    ember_config_free(sc);
}

void run_api_cases(void)
{
    run_case(case_result_table, NULL, "result_table");
    run_case(case_names, NULL, "version_and_names");
    run_case(case_args_config, NULL, "bad_input config");
    run_case(case_args_trust, NULL, "bad_input trust");
    run_case(case_args_conn, NULL, "bad_input conn");
    run_case(case_wrong_state, NULL, "wrong_state io_modes");
    run_case(case_config_frozen, NULL, "config_frozen");
    run_case(case_detail_buffers, NULL, "detail_buffer_too_small");
    run_case(case_pem_from_memory, NULL, "pem_from_memory ed25519");
    run_case(case_config_outlived, NULL, "config_freed_while_conns_live");
}
