/* Misuse of every exported function: NULL for each pointer, zero and huge lengths, values no
 * enum has, the wrong role, the wrong state, a frozen config or trust store. Each call must
 * answer the result code its header comment promises, and never crash.
 *
 * One case per function, from the MISUSE table at the end: tests/all/capi.rs checks that the
 * table has a row for every name in packaging/embertls.symbols, so a new function cannot be
 * exported without misuse coverage. Rows share the rules for things many functions take
 * (input bytes, output text, out-pointers); a row lists what is particular to its function.
 * Expectations do not stop at the first mismatch: a row reports every call that answered
 * differently, with what the header promised. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Larger than any object can be (a C object is at most PTRDIFF_MAX bytes): refused with
 * EMBER_ERR_INVALID_ARG before any byte is touched. */
#define HUGE_LEN ((size_t)PTRDIFF_MAX + 1)

/* As CHECK_RC without the jump: every expectation of a row is tried. */
#define EXPECT(want, expr) expect_rc(__FILE__, __LINE__, #expr, (want), (expr))

static void expect_rc(const char *file, int line, const char *what, ember_result want, ember_result got)
{
    if (got != want)
        check_failed(file, line, "%s: expected %s, got %s", what, ember_result_name(want),
                     ember_result_name(got));
}

#define EXPECT_TRUE(cond)                                                                      \
    do {                                                                                       \
        if (!(cond))                                                                           \
            check_failed(__FILE__, __LINE__, "%s", #cond);                                     \
    } while (0)

/* ---- the objects rows misuse, made on first use and freed after the row ---- */

typedef struct fx {
    ember_config *ccfg, *scfg;         /* fresh: a client, a server with a certificate */
    ember_config *frozen_c, *frozen_s; /* a connection was made from each */
    ember_trust *trust, *frozen_trust; /* fresh; in frozen_c's use */
    ember_session_cache *cache;
    pair p13, p12; /* handshaken memory pairs, TLS 1.3 and TLS 1.2 */
    bool have13, have12;
    pair bad;     /* a client whose handshake failed (hostname mismatch), and its server */
    bool have_bad;
    ember_conn *fresh_c, *fresh_s; /* memory mode, no byte moved */
    ember_conn *cb, *fd;           /* callbacks / a socket chosen, no byte moved */
    int sv[2];
    uint8_t *der; /* the ecdsa-p256 leaf, DER */
    size_t der_len;
    char dir[64]; /* an empty directory */
} fx;

static int eagain_read(void *ud, uint8_t *buf, size_t len, size_t *out_n)
{
    (void)ud, (void)buf, (void)len, (void)out_n;
    return EAGAIN;
}

static int eagain_write(void *ud, const uint8_t *buf, size_t len, size_t *out_n)
{
    (void)ud, (void)buf, (void)len, (void)out_n;
    return EAGAIN;
}

static ember_config *fx_ccfg(fx *f)
{
    if (!f->ccfg)
        f->ccfg = client_config(0, 0, true);
    return f->ccfg;
}

static ember_config *fx_scfg(fx *f)
{
    if (!f->scfg)
        f->scfg = server_config("ecdsa-p256", NULL, 0, 0);
    return f->scfg;
}

static ember_trust *fx_trust(fx *f)
{
    if (!f->trust && ember_trust_new(&f->trust) != EMBER_OK)
        check_failed(__FILE__, __LINE__, "ember_trust_new failed");
    return f->trust;
}

static ember_session_cache *fx_cache(fx *f)
{
    if (!f->cache && ember_session_cache_new(4, &f->cache) != EMBER_OK)
        check_failed(__FILE__, __LINE__, "ember_session_cache_new failed");
    return f->cache;
}

/* A client config, its trust store and a server config, all frozen by a connection each. */
static bool fx_frozen(fx *f)
{
    ember_conn *c = NULL, *s = NULL;
    if (f->frozen_c)
        return true;
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &f->frozen_c));
    CHECK_RC(EMBER_OK, ember_trust_new(&f->frozen_trust));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(f->frozen_trust, pki("ca.pem")));
    CHECK_RC(EMBER_OK, ember_config_set_trust(f->frozen_c, f->frozen_trust));
    f->frozen_s = server_config("rsa", NULL, 0, 0);
    CHECK(f->frozen_s != NULL);
    CHECK_RC(EMBER_OK, ember_conn_new(f->frozen_c, "localhost", &c));
    CHECK_RC(EMBER_OK, ember_conn_new(f->frozen_s, NULL, &s));
    ember_conn_free(c);
    ember_conn_free(s);
    return true;
out:
    ember_conn_free(c);
    ember_conn_free(s);
    return false;
}

static bool handshaken(pair *p, uint16_t version, bool *have)
{
    if (!*have)
        *have = handshake_pair(p, version);
    return *have;
}

static pair *fx_p13(fx *f) { return handshaken(&f->p13, EMBER_TLS1_3, &f->have13) ? &f->p13 : NULL; }
static pair *fx_p12(fx *f) { return handshaken(&f->p12, EMBER_TLS1_2, &f->have12) ? &f->p12 : NULL; }

/* The client of a handshake that failed: its certificate is for other.example. */
static ember_conn *fx_failed(fx *f)
{
    ember_result rc_c, rc_s;
    if (f->have_bad)
        return f->bad.c;
    CHECK(make_pair(&f->bad, &(pair_opts){.cert = "wronghost"}));
    CHECK(drive_handshake(&f->bad, &rc_c, &rc_s));
    CHECK_CONN_RC(f->bad.c, EMBER_ERR_CERT_HOSTNAME_MISMATCH, rc_c);
    f->have_bad = true;
    return f->bad.c;
out:
    return NULL;
}

static ember_conn *fx_fresh_c(fx *f)
{
    if (!f->fresh_c && fx_ccfg(f))
        EXPECT(EMBER_OK, ember_conn_new(f->ccfg, "localhost", &f->fresh_c));
    return f->fresh_c;
}

static ember_conn *fx_fresh_s(fx *f)
{
    if (!f->fresh_s && fx_scfg(f))
        EXPECT(EMBER_OK, ember_conn_new(f->scfg, NULL, &f->fresh_s));
    return f->fresh_s;
}

static ember_conn *fx_cb(fx *f)
{
    if (!f->cb && fx_ccfg(f)) {
        EXPECT(EMBER_OK, ember_conn_new(f->ccfg, "localhost", &f->cb));
        EXPECT(EMBER_OK, ember_conn_set_io(f->cb, eagain_read, eagain_write, NULL));
    }
    return f->cb;
}

static ember_conn *fx_fd(fx *f)
{
    if (!f->fd && fx_ccfg(f)) {
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, f->sv) == 0);
        EXPECT(EMBER_OK, ember_conn_new(f->ccfg, "localhost", &f->fd));
        EXPECT(EMBER_OK, ember_conn_set_fd(f->fd, f->sv[0]));
    }
out:
    return f->fd;
}

static const uint8_t *fx_der(fx *f, size_t *len)
{
    if (!f->der)
        f->der = pem_file_der("ecdsa-p256-leaf.pem", &f->der_len);
    *len = f->der_len;
    return f->der;
}

static const char *fx_empty_dir(fx *f)
{
    if (!f->dir[0]) {
        snprintf(f->dir, sizeof f->dir, "/tmp/embertls-misuse-XXXXXX");
        if (!mkdtemp(f->dir)) {
            check_failed(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
            f->dir[0] = '\0';
        }
    }
    return f->dir;
}

static void fx_free(fx *f)
{
    ember_config_free(f->ccfg);
    ember_config_free(f->scfg);
    ember_config_free(f->frozen_c);
    ember_config_free(f->frozen_s);
    ember_trust_free(f->trust);
    ember_trust_free(f->frozen_trust);
    ember_session_cache_free(f->cache);
    if (f->have13)
        pair_free(&f->p13);
    if (f->have12)
        pair_free(&f->p12);
    if (f->have_bad)
        pair_free(&f->bad);
    ember_conn_free(f->fresh_c);
    ember_conn_free(f->fresh_s);
    ember_conn_free(f->cb);
    ember_conn_free(f->fd);
    for (int i = 0; i < 2; i++)
        if (f->sv[i] >= 0)
            close(f->sv[i]);
    free(f->der);
    if (f->dir[0])
        rmdir(f->dir);
}

/* ---- rules shared by many functions ---- */

static const uint8_t GARBAGE[] = "this is neither PEM nor DER\n\x01\x02\x03";
static uint8_t g_buf[256]; /* a real buffer, for calls that must not get as far as using it */

/* A function taking input bytes (ptr, len), with everything else valid. */
typedef ember_result (*bytes_in_fn)(fx *f, const uint8_t *p, size_t len);

/* NULL with a length: EMBER_ERR_NULL_ARG. NULL or not with length 0: `empty`, the function's
 * verdict on no input. A length no buffer can have: EMBER_ERR_INVALID_ARG, with or without the
 * bytes behind it. Bytes that are not what it wants: `garbage`. */
static void bytes_in_rules(const char *what, fx *f, bytes_in_fn fn, ember_result empty, ember_result garbage)
{
    struct {
        const uint8_t *p;
        size_t len;
        ember_result want;
        const char *how;
    } rows[] = {
        {NULL, 1, EMBER_ERR_NULL_ARG, "NULL, 1"},
        {NULL, 0, empty, "NULL, 0"},
        {g_buf, 0, empty, "buf, 0"},
        {g_buf, SIZE_MAX, EMBER_ERR_INVALID_ARG, "buf, SIZE_MAX"},
        {g_buf, HUGE_LEN, EMBER_ERR_INVALID_ARG, "buf, PTRDIFF_MAX + 1"},
        {GARBAGE, sizeof GARBAGE - 1, garbage, "garbage"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ember_result got = fn(f, rows[i].p, rows[i].len);
        if (got != rows[i].want)
            check_failed(__FILE__, __LINE__, "%s(%s): expected %s, got %s", what, rows[i].how,
                         ember_result_name(rows[i].want), ember_result_name(got));
    }
}

/* A function copying text out: (obj, buf, len, &n). */
typedef ember_result (*text_out_fn)(const void *obj, char *buf, size_t len, size_t *out_n);

/* NULL object or out_n, or NULL buffer with a length: EMBER_ERR_NULL_ARG. Length 0 (NULL
 * buffer allowed): EMBER_ERR_BUFFER_TOO_SMALL with the full length in *out_n. A length no
 * buffer can have: EMBER_ERR_INVALID_ARG, nothing written. A real buffer: EMBER_OK. */
static void text_out_rules(const char *what, text_out_fn fn, const void *obj)
{
    char buf[1024];
    size_t n = 0, full = 0;
    ember_result rc = fn(obj, buf, sizeof buf, &full);
    if (rc != EMBER_OK) {
        check_failed(__FILE__, __LINE__, "%s(obj, buf, %zu): expected EMBER_OK, got %s", what,
                     sizeof buf, ember_result_name(rc));
        return;
    }
    struct {
        const void *obj;
        char *buf;
        size_t len;
        size_t *out_n;
        ember_result want;
        const char *how;
    } rows[] = {
        {NULL, buf, sizeof buf, &n, EMBER_ERR_NULL_ARG, "NULL, buf, len, &n"},
        {obj, buf, sizeof buf, NULL, EMBER_ERR_NULL_ARG, "obj, buf, len, NULL"},
        {obj, NULL, 8, &n, EMBER_ERR_NULL_ARG, "obj, NULL, 8, &n"},
        {obj, NULL, 0, &n, EMBER_ERR_BUFFER_TOO_SMALL, "obj, NULL, 0, &n"},
        {obj, buf, SIZE_MAX, &n, EMBER_ERR_INVALID_ARG, "obj, buf, SIZE_MAX, &n"},
        {obj, buf, HUGE_LEN, &n, EMBER_ERR_INVALID_ARG, "obj, buf, PTRDIFF_MAX + 1, &n"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        memset(buf, 'Z', sizeof buf);
        n = 12345;
        rc = fn(rows[i].obj, rows[i].buf, rows[i].len, rows[i].out_n);
        if (rc != rows[i].want)
            check_failed(__FILE__, __LINE__, "%s(%s): expected %s, got %s", what, rows[i].how,
                         ember_result_name(rows[i].want), ember_result_name(rc));
        if (rows[i].want == EMBER_ERR_BUFFER_TOO_SMALL && n != full)
            check_failed(__FILE__, __LINE__, "%s(%s): *out_n = %zu, the full length is %zu", what,
                         rows[i].how, n, full);
        if (rows[i].want != EMBER_ERR_BUFFER_TOO_SMALL && rows[i].want != EMBER_OK && buf[0] != 'Z')
            check_failed(__FILE__, __LINE__, "%s(%s) wrote into the buffer", what, rows[i].how);
    }
}

static ember_result server_name_text(const void *c, char *b, size_t l, size_t *n) { return ember_conn_server_name(c, b, l, n); }
static ember_result alpn_text(const void *c, char *b, size_t l, size_t *n) { return ember_conn_alpn(c, b, l, n); }

/* Every setter of a frozen config answers EMBER_ERR_CONFIG_FROZEN (given arguments that would
 * otherwise be accepted), and every mutator of a frozen trust store too: see the rows. */

/* ---- names and codes: every value of the argument's type ---- */

static void m_alert_name(fx *f)
{
    (void)f;
    int named = 0;
    for (unsigned a = 0; a <= 255; a++) {
        const char *name = ember_alert_name((uint8_t)a);
        if (name && !*name)
            check_failed(__FILE__, __LINE__, "ember_alert_name(%u) is empty", a);
        named += name != NULL;
    }
    EXPECT_TRUE(named > 20 && named < 256);
    EXPECT_TRUE(ember_alert_name(255) == NULL);
}

static void names_over_u16(const char *what, const char *(*fn)(uint16_t), const char *prefix, int max_named)
{
    int named = 0;
    for (unsigned v = 0; v <= 0xFFFF; v++) {
        const char *name = fn((uint16_t)v);
        if (!name)
            continue;
        named++;
        if (strncmp(name, prefix, strlen(prefix)) != 0 || strlen(name) <= strlen(prefix))
            check_failed(__FILE__, __LINE__, "%s(0x%04x) = \"%s\"", what, v, name);
    }
    if (named == 0 || named > max_named)
        check_failed(__FILE__, __LINE__, "%s names %d values", what, named);
}

static void m_cipher_suite_name(fx *f)
{
    (void)f;
    names_over_u16("ember_cipher_suite_name", ember_cipher_suite_name, "TLS_", 16);
    EXPECT_TRUE(ember_cipher_suite_name(0) == NULL && ember_cipher_suite_name(0xFFFF) == NULL);
}

static void m_group_name(fx *f)
{
    (void)f;
    names_over_u16("ember_group_name", ember_group_name, "", 8);
    EXPECT_TRUE(ember_group_name(0) == NULL && ember_group_name(0xFFFF) == NULL);
}

static void m_protocol_version_name(fx *f)
{
    (void)f;
    names_over_u16("ember_protocol_version_name", ember_protocol_version_name, "TLSv1.", 2);
    EXPECT_TRUE(ember_protocol_version_name(0x0301) == NULL && ember_protocol_version_name(0x0302) == NULL);
}

static void m_trace_step_name(fx *f)
{
    (void)f;
    for (uint32_t s = 1; s <= 12; s++)
        EXPECT_TRUE(ember_trace_step_name(s) != NULL && *ember_trace_step_name(s));
    const uint32_t bad[] = {0, 13, 255, 0x80000000u, UINT32_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (ember_trace_step_name(bad[i]) != NULL)
            check_failed(__FILE__, __LINE__, "ember_trace_step_name(%u) is not NULL", bad[i]);
}

static const int NOT_RESULTS[] = {-1, 4, 99, 113, 202, 315, 410, 504, 600, INT_MAX, INT_MIN};

/* The header promises a fixed text, not NULL, for a value outside the enum: a program may log
 * whatever code it holds. */
static void unknown_code_text(const char *what, const char *(*fn)(ember_result), const char *want)
{
    for (size_t i = 0; i < sizeof NOT_RESULTS / sizeof NOT_RESULTS[0]; i++) {
        const char *text = fn((ember_result)NOT_RESULTS[i]);
        if (!text || strcmp(text, want) != 0)
            check_failed(__FILE__, __LINE__, "%s(%d) = %s", what, NOT_RESULTS[i], text ? text : "NULL");
    }
}

static void m_result_name(fx *f)
{
    (void)f;
    unknown_code_text("ember_result_name", ember_result_name, "EMBER_UNKNOWN_RESULT");
}

static void m_result_str(fx *f)
{
    (void)f;
    unknown_code_text("ember_result_str", ember_result_str, "unknown embertls result code");
}

static void m_version(fx *f)
{
    (void)f;
    const char *v = ember_version();
    EXPECT_TRUE(v != NULL && strncmp(v, "embertls ", 9) == 0);
    EXPECT_TRUE(v == ember_version()); /* static */
}

/* ---- certificates ---- */

static ember_result spki_in(fx *f, const uint8_t *p, size_t len)
{
    (void)f;
    uint8_t out[32];
    return ember_cert_spki_sha256(p, len, out);
}

static void m_cert_spki_sha256(fx *f)
{
    size_t len = 0;
    const uint8_t *der = fx_der(f, &len);
    uint8_t out[32], zero[32] = {0};
    if (!der)
        return;
    bytes_in_rules("ember_cert_spki_sha256", f, spki_in, EMBER_ERR_BAD_CERTIFICATE, EMBER_ERR_BAD_CERTIFICATE);
    EXPECT(EMBER_ERR_NULL_ARG, ember_cert_spki_sha256(der, len, NULL));
    memset(out, 0, sizeof out);
    EXPECT(EMBER_ERR_BAD_CERTIFICATE, ember_cert_spki_sha256(der, len - 1, out)); /* cut short */
    EXPECT_TRUE(memcmp(out, zero, 32) == 0); /* left unchanged */
    EXPECT(EMBER_OK, ember_cert_spki_sha256(der, len, out));
    EXPECT_TRUE(memcmp(out, zero, 32) != 0);
}

static ember_result check_name_in(fx *f, const uint8_t *p, size_t len)
{
    (void)f;
    return ember_cert_check_name(p, len, "localhost");
}

static void m_cert_check_name(fx *f)
{
    size_t len = 0;
    const uint8_t *der = fx_der(f, &len);
    if (!der)
        return;
    bytes_in_rules("ember_cert_check_name", f, check_name_in, EMBER_ERR_BAD_CERTIFICATE, EMBER_ERR_BAD_CERTIFICATE);
    EXPECT(EMBER_ERR_NULL_ARG, ember_cert_check_name(der, len, NULL));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_cert_check_name(der, len, ""));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_cert_check_name(der, len, "not a name!"));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_cert_check_name(der, len, "\xff\xfe")); /* not UTF-8 */
    EXPECT(EMBER_OK, ember_cert_check_name(der, len, "localhost"));
    EXPECT(EMBER_OK, ember_cert_check_name(der, len, "127.0.0.1"));
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_cert_check_name(der, len, "example.com"));
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_cert_check_name(der, len, "::1"));
}

/* ---- configs ---- */

static void m_config_new(fx *f)
{
    (void)f;
    ember_config *sentinel = (ember_config *)&g_buf, *cfg = sentinel;
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_new(EMBER_ROLE_CLIENT, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_new(EMBER_ROLE_SERVER, NULL));
    const int roles[] = {2, -1, 255, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        ember_result rc = ember_config_new((ember_role)roles[i], &cfg);
        if (rc != EMBER_ERR_INVALID_ARG)
            check_failed(__FILE__, __LINE__, "ember_config_new(%d): expected EMBER_ERR_INVALID_ARG, got %s",
                         roles[i], ember_result_name(rc));
        if (cfg != sentinel) {
            check_failed(__FILE__, __LINE__, "ember_config_new(%d) wrote *out", roles[i]);
            if (rc == EMBER_OK)
                ember_config_free(cfg);
            cfg = sentinel;
        }
    }
}

static void m_config_free(fx *f)
{
    (void)f;
    ember_config_free(NULL); /* a harmless no-op */
    ember_config *cfg = NULL;
    EXPECT(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cfg));
    ember_config_free(cfg);
}

static void m_config_set_versions(fx *f)
{
    ember_config *cfg = fx_ccfg(f);
    const uint16_t bad[][2] = {
        {0, 0}, {0x0301, EMBER_TLS1_3}, {0x0302, EMBER_TLS1_2}, {EMBER_TLS1_2, 0x0305},
        {EMBER_TLS1_3, EMBER_TLS1_2}, {0xFFFF, 0xFFFF}, {EMBER_TLS1_2, 0},
    };
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_versions(NULL, EMBER_TLS1_2, EMBER_TLS1_3));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_result rc = ember_config_set_versions(cfg, bad[i][0], bad[i][1]);
        if (rc != EMBER_ERR_INVALID_ARG)
            check_failed(__FILE__, __LINE__, "ember_config_set_versions(0x%04x, 0x%04x): expected EMBER_ERR_INVALID_ARG, got %s",
                         bad[i][0], bad[i][1], ember_result_name(rc));
    }
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_versions(f->frozen_c, EMBER_TLS1_3, EMBER_TLS1_3));
}

static void m_config_set_trust(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_trust(NULL, fx_trust(f)));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_trust(fx_ccfg(f), NULL));
    EXPECT(EMBER_OK, ember_config_set_trust(f->ccfg, f->trust));
    EXPECT(EMBER_OK, ember_config_set_trust(fx_scfg(f), f->trust)); /* switches on mTLS */
    if (fx_frozen(f)) {
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_trust(f->frozen_c, f->trust));
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_trust(f->frozen_s, f->trust));
    }
}

static void m_config_set_client_auth(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_client_auth(NULL, EMBER_CLIENT_AUTH_NONE));
    EXPECT(EMBER_ERR_WRONG_ROLE, ember_config_set_client_auth(fx_ccfg(f), EMBER_CLIENT_AUTH_REQUIRED));
    const int bad[] = {3, -1, 255, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_result rc = ember_config_set_client_auth(fx_scfg(f), (ember_client_auth)bad[i]);
        if (rc != EMBER_ERR_INVALID_ARG)
            check_failed(__FILE__, __LINE__, "ember_config_set_client_auth(%d): expected EMBER_ERR_INVALID_ARG, got %s",
                         bad[i], ember_result_name(rc));
    }
    EXPECT(EMBER_OK, ember_config_set_client_auth(f->scfg, EMBER_CLIENT_AUTH_OPTIONAL));
    /* OPTIONAL without a trust store: ember_conn_new refuses, naming the missing store. */
    ember_conn *conn = NULL;
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_new(f->scfg, NULL, &conn));
    EXPECT_TRUE(conn == NULL && strstr(cfg_detail(f->scfg), "trust") != NULL);
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_client_auth(f->frozen_s, EMBER_CLIENT_AUTH_NONE));
}

static int verify_accept(void *ud, const char *name, const ember_bytes *chain, size_t n,
                         ember_result verdict, char *reason, size_t reason_len)
{
    (void)ud, (void)name, (void)chain, (void)n, (void)verdict, (void)reason, (void)reason_len;
    return 0;
}

static void m_config_set_verify_callback(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_verify_callback(NULL, verify_accept, NULL));
    EXPECT(EMBER_ERR_WRONG_ROLE, ember_config_set_verify_callback(fx_scfg(f), verify_accept, NULL));
    EXPECT(EMBER_OK, ember_config_set_verify_callback(fx_ccfg(f), verify_accept, NULL));
    EXPECT(EMBER_OK, ember_config_set_verify_callback(f->ccfg, NULL, NULL)); /* removes it */
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_verify_callback(f->frozen_c, verify_accept, NULL));
}

/* The suite and group setters share one shape: (cfg, ids, count). */
typedef ember_result (*ids_setter)(ember_config *, const uint16_t *, size_t);

static void ids_misuse(fx *f, ids_setter set, const uint16_t *good, size_t n, uint16_t unknown)
{
    ember_config *cfg = fx_ccfg(f);
    const uint16_t bad[] = {unknown}, twice[] = {good[0], good[0]};
    EXPECT(EMBER_ERR_NULL_ARG, set(NULL, good, n));
    EXPECT(EMBER_ERR_NULL_ARG, set(cfg, NULL, 1));
    EXPECT(EMBER_ERR_INVALID_ARG, set(cfg, bad, 1));
    EXPECT(EMBER_ERR_INVALID_ARG, set(cfg, twice, 2));
    EXPECT(EMBER_ERR_INVALID_ARG, set(cfg, good, SIZE_MAX));
    EXPECT(EMBER_ERR_INVALID_ARG, set(cfg, good, HUGE_LEN / sizeof(uint16_t)));
    EXPECT(EMBER_OK, set(cfg, good, n));
    EXPECT(EMBER_OK, set(cfg, NULL, 0)); /* the defaults again */
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, set(f->frozen_s, good, n));
}

static void m_config_set_cipher_suites(fx *f)
{
    /* 0x0035: TLS_RSA_WITH_AES_256_CBC_SHA, RSA key transport, never offered. */
    static const uint16_t good[] = {0x1301, 0xc02b};
    ids_misuse(f, ember_config_set_cipher_suites, good, 2, 0x0035);
}

static void m_config_set_groups(fx *f)
{
    /* 0x0019: secp521r1, which ring does not implement. */
    static const uint16_t good[] = {0x001d, 0x0017};
    ids_misuse(f, ember_config_set_groups, good, 2, 0x0019);
}

static void m_config_set_alpn(fx *f)
{
    ember_config *cfg = fx_ccfg(f);
    char long_name[300];
    memset(long_name, 'a', sizeof long_name);
    long_name[256] = '\0'; /* 256 bytes: one too many */
    const char *ok[] = {"h2", "http/1.1"}, *with_null[] = {"h2", NULL}, *empty[] = {""},
               *too_long[] = {long_name};
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_alpn(NULL, ok, 2));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_alpn(cfg, NULL, 1));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_alpn(cfg, with_null, 2));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_alpn(cfg, empty, 1));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_alpn(cfg, too_long, 1));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_alpn(cfg, ok, SIZE_MAX));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_alpn(cfg, ok, HUGE_LEN / sizeof(char *)));
    long_name[255] = '\0';
    EXPECT(EMBER_OK, ember_config_set_alpn(cfg, too_long, 1)); /* 255 bytes fit */
    EXPECT(EMBER_OK, ember_config_set_alpn(cfg, ok, 2));
    EXPECT(EMBER_OK, ember_config_set_alpn(cfg, NULL, 0)); /* off again */
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_alpn(f->frozen_s, ok, 2));
}

static ember_result cert_chain_in(fx *f, const uint8_t *p, size_t len)
{
    size_t key_len = 0;
    uint8_t *key = read_file(pki("ecdsa-p256.key"), &key_len);
    ember_result rc = key ? ember_config_add_cert_pem(fx_scfg(f), p, len, key, key_len) : EMBER_ERR_INTERNAL;
    free(key);
    return rc;
}

static ember_result cert_key_in(fx *f, const uint8_t *p, size_t len)
{
    size_t chain_len = 0;
    uint8_t *chain = read_file(pki("ecdsa-p256.pem"), &chain_len);
    ember_result rc = chain ? ember_config_add_cert_pem(fx_scfg(f), chain, chain_len, p, len) : EMBER_ERR_INTERNAL;
    free(chain);
    return rc;
}

static void m_config_add_cert_pem(fx *f)
{
    size_t chain_len = 0, key_len = 0;
    uint8_t *chain = read_file(pki("ecdsa-p256.pem"), &chain_len), *key = read_file(pki("ecdsa-p256.key"), &key_len);
    if (!chain || !key)
        goto out;
    bytes_in_rules("ember_config_add_cert_pem(chain)", f, cert_chain_in, EMBER_ERR_BAD_PEM, EMBER_ERR_BAD_PEM);
    bytes_in_rules("ember_config_add_cert_pem(key)", f, cert_key_in, EMBER_ERR_BAD_KEY, EMBER_ERR_BAD_KEY);
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem(NULL, chain, chain_len, key, key_len));
    EXPECT(EMBER_OK, ember_config_add_cert_pem(fx_ccfg(f), chain, chain_len, key, key_len)); /* a client's */
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_add_cert_pem(f->frozen_s, chain, chain_len, key, key_len));
out:
    free(chain);
    free(key);
}

static void m_config_add_cert_pem_file(fx *f)
{
    char chain[4096], key[4096];
    snprintf(chain, sizeof chain, "%s", pki("ecdsa-p256.pem"));
    snprintf(key, sizeof key, "%s", pki("ecdsa-p256.key"));
    ember_config *cfg = fx_scfg(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem_file(NULL, chain, key));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem_file(cfg, NULL, key));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem_file(cfg, chain, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_add_cert_pem_file(cfg, NULL, NULL));
    EXPECT(EMBER_ERR_FILE, ember_config_add_cert_pem_file(cfg, "", key));
    EXPECT(EMBER_ERR_FILE, ember_config_add_cert_pem_file(cfg, chain, ""));
    EXPECT(EMBER_ERR_FILE, ember_config_add_cert_pem_file(cfg, fx_empty_dir(f), key)); /* a directory */
    EXPECT(EMBER_ERR_FILE, ember_config_add_cert_pem_file(cfg, chain, f->dir));
    /* An endless "file" is read up to the 64 MiB limit, not until memory runs out. */
    EXPECT(EMBER_ERR_FILE, ember_config_add_cert_pem_file(cfg, "/dev/zero", key));
    char why[512] = "";
    size_t why_len = 0;
    ember_config_last_error(cfg, why, sizeof why, &why_len);
    EXPECT_TRUE(strstr(why, "/dev/zero is longer than 64 MiB") != NULL);
    /* Paths are UTF-8 (the header's rule for every string). */
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_add_cert_pem_file(cfg, "/tmp/\xff.pem", key));
    EXPECT(EMBER_OK, ember_config_add_cert_pem_file(cfg, chain, key));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_add_cert_pem_file(f->frozen_s, chain, key));
}

static void m_config_last_error(fx *f)
{
    ember_config *cfg = fx_scfg(f);
    if (!cfg)
        return;
    EXPECT(EMBER_ERR_FILE, ember_config_add_cert_pem_file(cfg, pki("nope.pem"), pki("nope.key")));
    text_out_rules("ember_config_last_error", cfg_last_error, cfg);
}

static void keylog_cb(void *ud, const char *line) { (void)ud, (void)line; }

static void m_config_set_keylog_callback(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_keylog_callback(NULL, keylog_cb, NULL));
    EXPECT(EMBER_OK, ember_config_set_keylog_callback(fx_ccfg(f), keylog_cb, NULL));
    EXPECT(EMBER_OK, ember_config_set_keylog_callback(f->ccfg, NULL, NULL));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_keylog_callback(f->frozen_c, keylog_cb, NULL));
}

static void m_config_set_sslkeylogfile(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_sslkeylogfile(NULL, 1));
    EXPECT(EMBER_OK, ember_config_set_sslkeylogfile(fx_ccfg(f), -1)); /* any non-zero: on */
    EXPECT(EMBER_OK, ember_config_set_sslkeylogfile(f->ccfg, INT_MIN));
    EXPECT(EMBER_OK, ember_config_set_sslkeylogfile(f->ccfg, 0));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_sslkeylogfile(f->frozen_c, 0));
}

static void trace_cb(void *ud, uint64_t id, uint64_t t, ember_trace_step step, const char *text)
{
    (void)ud, (void)id, (void)t, (void)step, (void)text;
}

static void m_config_set_trace_callback(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_trace_callback(NULL, trace_cb, NULL));
    EXPECT(EMBER_OK, ember_config_set_trace_callback(fx_scfg(f), trace_cb, NULL));
    EXPECT(EMBER_OK, ember_config_set_trace_callback(f->scfg, NULL, NULL));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_trace_callback(f->frozen_s, trace_cb, NULL));
}

/* ---- sessions ---- */

/* The largest in-memory session cache a config or an ember_session_cache accepts. */
#define SESSION_CACHE_MAX ((size_t)1 << 20)

static void m_session_cache_new(fx *f)
{
    (void)f;
    ember_session_cache *sentinel = (ember_session_cache *)&g_buf, *cache = sentinel;
    EXPECT(EMBER_ERR_NULL_ARG, ember_session_cache_new(8, NULL));
    const size_t bad[] = {0, SESSION_CACHE_MAX + 1, HUGE_LEN, SIZE_MAX};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_result rc = ember_session_cache_new(bad[i], &cache);
        if (rc != EMBER_ERR_INVALID_ARG)
            check_failed(__FILE__, __LINE__, "ember_session_cache_new(%zu): expected EMBER_ERR_INVALID_ARG, got %s",
                         bad[i], ember_result_name(rc));
        if (cache != sentinel) {
            check_failed(__FILE__, __LINE__, "ember_session_cache_new(%zu) wrote *out", bad[i]);
            if (rc == EMBER_OK)
                ember_session_cache_free(cache);
            cache = sentinel;
        }
    }
    EXPECT(EMBER_OK, ember_session_cache_new(SESSION_CACHE_MAX, &cache));
    if (cache != sentinel)
        ember_session_cache_free(cache);
}

static void m_session_cache_free(fx *f)
{
    (void)f;
    ember_session_cache_free(NULL);
}

static void m_config_set_session_cache(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_session_cache(NULL, fx_cache(f)));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_session_cache(fx_ccfg(f), NULL));
    EXPECT(EMBER_ERR_WRONG_ROLE, ember_config_set_session_cache(fx_scfg(f), f->cache));
    EXPECT(EMBER_OK, ember_config_set_session_cache(f->ccfg, f->cache));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_session_cache(f->frozen_c, f->cache));
}

/* A size past the maximum is refused, and the config keeps working: the connection made from
 * it (which builds the cache) succeeds. */
static void m_config_set_session_cache_size(fx *f)
{
    ember_conn *c = NULL, *s = NULL;
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_session_cache_size(NULL, 8));
    const size_t bad[] = {SESSION_CACHE_MAX + 1, HUGE_LEN, SIZE_MAX};
    for (int role = 0; role < 2; role++) {
        ember_config *cfg = role ? fx_scfg(f) : fx_ccfg(f);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            ember_result rc = ember_config_set_session_cache_size(cfg, bad[i]);
            if (rc != EMBER_ERR_INVALID_ARG)
                check_failed(__FILE__, __LINE__, "ember_config_set_session_cache_size(%s, %zu): expected EMBER_ERR_INVALID_ARG, got %s",
                             role ? "server" : "client", bad[i], ember_result_name(rc));
        }
        EXPECT(EMBER_OK, ember_config_set_session_cache_size(cfg, 0));
        EXPECT(EMBER_OK, ember_config_set_session_cache_size(cfg, SESSION_CACHE_MAX));
    }
    EXPECT(EMBER_OK, ember_conn_new(f->ccfg, "localhost", &c));
    EXPECT(EMBER_OK, ember_conn_new(f->scfg, NULL, &s));
    EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_session_cache_size(f->ccfg, 8));
    ember_conn_free(c);
    ember_conn_free(s);
}

static int store_put(void *ud, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    (void)ud, (void)k, (void)kl, (void)v, (void)vl;
    return 1;
}

static int store_get(void *ud, const uint8_t *k, size_t kl, uint8_t *b, size_t bl, size_t *n)
{
    (void)ud, (void)k, (void)kl, (void)b, (void)bl, (void)n;
    return 1;
}

static int store_remove(void *ud, const uint8_t *k, size_t kl)
{
    (void)ud, (void)k, (void)kl;
    return 1;
}

static void m_config_set_session_store(fx *f)
{
    ember_config *s = fx_scfg(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_session_store(NULL, store_put, store_get, store_remove, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_session_store(s, NULL, store_get, store_remove, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_session_store(s, store_put, NULL, store_remove, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_session_store(s, store_put, store_get, NULL, NULL));
    EXPECT(EMBER_ERR_WRONG_ROLE, ember_config_set_session_store(fx_ccfg(f), store_put, store_get, store_remove, NULL));
    EXPECT(EMBER_OK, ember_config_set_session_store(s, store_put, store_get, store_remove, NULL));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_session_store(f->frozen_s, store_put, store_get, store_remove, NULL));
}

static void m_config_set_tickets(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_tickets(NULL, 1));
    EXPECT(EMBER_ERR_WRONG_ROLE, ember_config_set_tickets(fx_ccfg(f), 1));
    EXPECT(EMBER_OK, ember_config_set_tickets(fx_scfg(f), 0));
    EXPECT(EMBER_OK, ember_config_set_tickets(f->scfg, -1));
    EXPECT(EMBER_OK, ember_config_set_tickets(f->scfg, INT_MIN));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_tickets(f->frozen_s, 1));
}

static ember_result ticket_keys_in(fx *f, const uint8_t *p, size_t len)
{
    return ember_config_set_ticket_keys(fx_scfg(f), p, len);
}

static void m_config_set_ticket_keys(fx *f)
{
    uint8_t keys[2 * EMBER_TICKET_KEY_LEN];
    memset(keys, 0x5a, sizeof keys);
    /* No input and garbage (not a multiple of 80 bytes) are both an invalid length. */
    bytes_in_rules("ember_config_set_ticket_keys", f, ticket_keys_in, EMBER_ERR_INVALID_ARG, EMBER_ERR_INVALID_ARG);
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_ticket_keys(NULL, keys, EMBER_TICKET_KEY_LEN));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_keys(fx_scfg(f), keys, EMBER_TICKET_KEY_LEN - 1));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_keys(f->scfg, keys, EMBER_TICKET_KEY_LEN + 1));
    /* A multiple of 80 that no buffer can hold. */
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_keys(f->scfg, keys, (SIZE_MAX / 80) * 80));
    EXPECT(EMBER_ERR_WRONG_ROLE, ember_config_set_ticket_keys(fx_ccfg(f), keys, EMBER_TICKET_KEY_LEN));
    EXPECT(EMBER_OK, ember_config_set_ticket_keys(f->scfg, keys, sizeof keys));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_ticket_keys(f->frozen_s, keys, EMBER_TICKET_KEY_LEN));
}

static void m_config_set_ticket_key_file(fx *f)
{
    uint8_t keys[EMBER_TICKET_KEY_LEN + 1];
    char good[64] = "", odd[64] = "", empty[64] = "";
    memset(keys, 0x33, sizeof keys);
    if (!temp_file(good, keys, EMBER_TICKET_KEY_LEN) || !temp_file(odd, keys, sizeof keys) ||
        !temp_file(empty, keys, 0))
        goto out;
    ember_config *s = fx_scfg(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_ticket_key_file(NULL, good));
    EXPECT(EMBER_ERR_NULL_ARG, ember_config_set_ticket_key_file(s, NULL));
    EXPECT(EMBER_ERR_FILE, ember_config_set_ticket_key_file(s, pki("no-such-keys")));
    EXPECT(EMBER_ERR_FILE, ember_config_set_ticket_key_file(s, fx_empty_dir(f)));
    EXPECT(EMBER_ERR_FILE, ember_config_set_ticket_key_file(s, "/dev/zero"));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_key_file(s, odd));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_key_file(s, empty));
    EXPECT(EMBER_ERR_WRONG_ROLE, ember_config_set_ticket_key_file(fx_ccfg(f), good));
    EXPECT(EMBER_OK, ember_config_set_ticket_key_file(s, good));
    if (fx_frozen(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_config_set_ticket_key_file(f->frozen_s, good));
out:
    if (good[0])
        unlink(good);
    if (odd[0])
        unlink(odd);
    if (empty[0])
        unlink(empty);
}

/* ---- the process-wide log callback ---- */

static void log_cb(void *ud, ember_log_level level, const char *target, const char *message)
{
    (void)ud, (void)level, (void)target, (void)message;
}

static void m_log_set_callback(fx *f)
{
    (void)f;
    const int bad[] = {0, 6, -1, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_result rc = ember_log_set_callback(log_cb, NULL, bad[i]);
        if (rc != EMBER_ERR_INVALID_ARG)
            check_failed(__FILE__, __LINE__, "ember_log_set_callback(cb, %d): expected EMBER_ERR_INVALID_ARG, got %s",
                         bad[i], ember_result_name(rc));
    }
    EXPECT(EMBER_OK, ember_log_set_callback(log_cb, NULL, EMBER_LOG_TRACE));
    /* Removing the callback ignores the level. */
    EXPECT(EMBER_OK, ember_log_set_callback(NULL, NULL, 0));
    EXPECT(EMBER_OK, ember_log_set_callback(NULL, NULL, -1));
    EXPECT(EMBER_OK, ember_log_set_callback(NULL, NULL, EMBER_LOG_ERROR));
}

/* ---- trust stores ---- */

static void m_trust_new(fx *f)
{
    (void)f;
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_new(NULL));
}

static void m_trust_free(fx *f)
{
    (void)f;
    ember_trust_free(NULL);
}

static ember_result trust_pem_in(fx *f, const uint8_t *p, size_t len) { return ember_trust_add_pem(fx_trust(f), p, len); }
static ember_result trust_der_in(fx *f, const uint8_t *p, size_t len) { return ember_trust_add_der(fx_trust(f), p, len); }
static ember_result trust_crl_in(fx *f, const uint8_t *p, size_t len) { return ember_trust_add_crl(fx_trust(f), p, len); }

/* A trust store answers EMBER_ERR_CONFIG_FROZEN to every change once a connection uses it. */
static bool frozen_trust(fx *f) { return fx_frozen(f) && f->frozen_trust; }

static void m_trust_add_pem(fx *f)
{
    size_t len = 0;
    uint8_t *ca = read_file(pki("ca.pem"), &len);
    bytes_in_rules("ember_trust_add_pem", f, trust_pem_in, EMBER_ERR_BAD_PEM, EMBER_ERR_BAD_PEM);
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_pem(NULL, ca, len));
    EXPECT(EMBER_OK, ember_trust_add_pem(fx_trust(f), ca, len));
    if (frozen_trust(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_pem(f->frozen_trust, ca, len));
    free(ca);
}

static void m_trust_add_der(fx *f)
{
    size_t len = 0;
    uint8_t *ca = pem_file_der("ca.pem", &len);
    bytes_in_rules("ember_trust_add_der", f, trust_der_in, EMBER_ERR_BAD_CERTIFICATE, EMBER_ERR_BAD_CERTIFICATE);
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_der(NULL, ca, len));
    if (ca)
        EXPECT(EMBER_ERR_BAD_CERTIFICATE, ember_trust_add_der(fx_trust(f), ca, len - 1));
    EXPECT(EMBER_OK, ember_trust_add_der(fx_trust(f), ca, len));
    if (frozen_trust(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_der(f->frozen_trust, ca, len));
    free(ca);
}

static void m_trust_add_crl(fx *f)
{
    size_t len = 0, cert_len = 0;
    uint8_t *crl = read_file(pki("crl-intermediate.pem"), &len), *cert = read_file(pki("ca.pem"), &cert_len);
    bytes_in_rules("ember_trust_add_crl", f, trust_crl_in, EMBER_ERR_BAD_PEM, EMBER_ERR_BAD_PEM);
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_crl(NULL, crl, len));
    EXPECT(EMBER_ERR_BAD_PEM, ember_trust_add_crl(fx_trust(f), cert, cert_len)); /* no X509 CRL block */
    EXPECT(EMBER_OK, ember_trust_add_crl(f->trust, crl, len));
    if (frozen_trust(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_crl(f->frozen_trust, crl, len));
    free(crl);
    free(cert);
}

/* The file loaders: NULLs, a missing file, a directory, a path that is not UTF-8, frozen. */
static void file_loader_rules(const char *what, fx *f, ember_result (*fn)(ember_trust *, const char *),
                              const char *good_file)
{
    char good[4096];
    snprintf(good, sizeof good, "%s", pki(good_file));
    struct {
        ember_trust *trust;
        const char *path;
        ember_result want;
        const char *how;
    } rows[] = {
        {NULL, good, EMBER_ERR_NULL_ARG, "NULL, path"},
        {fx_trust(f), NULL, EMBER_ERR_NULL_ARG, "trust, NULL"},
        {f->trust, "", EMBER_ERR_FILE, "trust, \"\""},
        {f->trust, pki("no-such-file.pem"), EMBER_ERR_FILE, "trust, missing"},
        {f->trust, fx_empty_dir(f), EMBER_ERR_FILE, "trust, a directory"},
        {f->trust, "/dev/zero", EMBER_ERR_FILE, "trust, an endless file"},
        {f->trust, "/tmp/\xff\xfe.pem", EMBER_ERR_INVALID_ARG, "trust, not UTF-8"},
        {f->trust, good, EMBER_OK, "trust, good"},
        {frozen_trust(f) ? f->frozen_trust : NULL, good, EMBER_ERR_CONFIG_FROZEN, "frozen trust, good"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ember_result rc = fn(rows[i].trust, rows[i].path);
        if (rc != rows[i].want)
            check_failed(__FILE__, __LINE__, "%s(%s): expected %s, got %s", what, rows[i].how,
                         ember_result_name(rows[i].want), ember_result_name(rc));
    }
}

static void m_trust_add_pem_file(fx *f)
{
    file_loader_rules("ember_trust_add_pem_file", f, ember_trust_add_pem_file, "ca.pem");
}

static void m_trust_add_crl_file(fx *f)
{
    file_loader_rules("ember_trust_add_crl_file", f, ember_trust_add_crl_file, "crl-intermediate.der");
}

static void m_trust_add_pem_dir(fx *f)
{
    size_t added = 77, skipped = 77;
    char roots[4096];
    snprintf(roots, sizeof roots, "%s", pki("roots"));
    ember_trust *t = fx_trust(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_pem_dir(NULL, roots, &added, &skipped));
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_pem_dir(t, NULL, &added, &skipped));
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_pem_dir(t, roots, NULL, &skipped));
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_pem_dir(t, roots, &added, NULL));
    EXPECT(EMBER_ERR_FILE, ember_trust_add_pem_dir(t, pki("no-such-dir"), &added, &skipped));
    EXPECT(EMBER_ERR_FILE, ember_trust_add_pem_dir(t, pki("ca.pem"), &added, &skipped)); /* a file */
    EXPECT(EMBER_ERR_FILE, ember_trust_add_pem_dir(t, "", &added, &skipped));
    EXPECT(EMBER_ERR_BAD_PEM, ember_trust_add_pem_dir(t, fx_empty_dir(f), &added, &skipped));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_trust_add_pem_dir(t, "/tmp/\xff", &added, &skipped));
    EXPECT_TRUE(added == 77 && skipped == 77); /* written on EMBER_OK only */
    EXPECT(EMBER_OK, ember_trust_add_pem_dir(t, roots, &added, &skipped));
    EXPECT_TRUE(added == 2);
    if (frozen_trust(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_pem_dir(f->frozen_trust, roots, &added, &skipped));
}

static void restore_env(const char *name, const char *saved)
{
    if (saved)
        setenv(name, saved, 1);
    else
        unsetenv(name);
}

static void m_trust_add_system(fx *f)
{
    size_t added = 77, skipped = 77;
    char *file = getenv("SSL_CERT_FILE") ? strdup(getenv("SSL_CERT_FILE")) : NULL;
    char *dir = getenv("SSL_CERT_DIR") ? strdup(getenv("SSL_CERT_DIR")) : NULL;
    ember_trust *t = fx_trust(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_system(NULL, &added, &skipped));
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_system(t, NULL, &skipped));
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_system(t, &added, NULL));
    /* Nothing usable where the environment points: EMBER_ERR_BAD_PEM, counts untouched. */
    setenv("SSL_CERT_FILE", pki("no-such-bundle.pem"), 1);
    setenv("SSL_CERT_DIR", fx_empty_dir(f), 1);
    EXPECT(EMBER_ERR_BAD_PEM, ember_trust_add_system(t, &added, &skipped));
    EXPECT_TRUE(added == 77 && skipped == 77);
    setenv("SSL_CERT_FILE", pki("ca.pem"), 1);
    EXPECT(EMBER_OK, ember_trust_add_system(t, &added, &skipped));
    EXPECT_TRUE(added == 1);
    if (frozen_trust(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_system(f->frozen_trust, &added, &skipped));
    restore_env("SSL_CERT_FILE", file);
    restore_env("SSL_CERT_DIR", dir);
    free(file);
    free(dir);
}

static void m_trust_add_builtin(fx *f)
{
    size_t added = 0;
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_builtin(NULL, &added));
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_add_builtin(fx_trust(f), NULL));
    EXPECT(EMBER_OK, ember_trust_add_builtin(f->trust, &added));
    EXPECT_TRUE(added > 50);
    EXPECT(EMBER_OK, ember_trust_add_builtin(f->trust, &added));
    EXPECT_TRUE(added == 0); /* each root once */
    if (frozen_trust(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_builtin(f->frozen_trust, &added));
}

static void m_trust_set_revocation(fx *f)
{
    const uint32_t bad[] = {8, 0x10, 0x80000000u, UINT32_MAX, 8 | EMBER_REVOCATION_END_ENTITY_ONLY};
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_set_revocation(NULL, 0));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ember_result rc = ember_trust_set_revocation(fx_trust(f), bad[i]);
        if (rc != EMBER_ERR_INVALID_ARG)
            check_failed(__FILE__, __LINE__, "ember_trust_set_revocation(0x%x): expected EMBER_ERR_INVALID_ARG, got %s",
                         bad[i], ember_result_name(rc));
    }
    EXPECT(EMBER_OK, ember_trust_set_revocation(f->trust, EMBER_REVOCATION_END_ENTITY_ONLY |
                                                              EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS |
                                                              EMBER_REVOCATION_ALLOW_EXPIRED_CRL));
    if (frozen_trust(f))
        EXPECT(EMBER_ERR_CONFIG_FROZEN, ember_trust_set_revocation(f->frozen_trust, 0));
}

static void m_trust_count(fx *f)
{
    size_t n = 77;
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_count(NULL, &n));
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_count(fx_trust(f), NULL));
    EXPECT(EMBER_OK, ember_trust_count(f->trust, &n));
    EXPECT_TRUE(n == 0);
    if (frozen_trust(f)) {
        EXPECT(EMBER_OK, ember_trust_count(f->frozen_trust, &n)); /* works on a frozen store */
        EXPECT_TRUE(n == 1);
    }
}

static void m_trust_crl_count(fx *f)
{
    size_t n = 77;
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_crl_count(NULL, &n));
    EXPECT(EMBER_ERR_NULL_ARG, ember_trust_crl_count(fx_trust(f), NULL));
    EXPECT(EMBER_OK, ember_trust_crl_count(f->trust, &n));
    EXPECT_TRUE(n == 0);
}

static void m_trust_last_error(fx *f)
{
    ember_trust *t = fx_trust(f);
    if (!t)
        return;
    EXPECT(EMBER_ERR_BAD_PEM, ember_trust_add_pem(t, GARBAGE, sizeof GARBAGE - 1));
    text_out_rules("ember_trust_last_error", trust_last_error, t);
}

/* ---- connections ---- */

static void m_conn_new(fx *f)
{
    ember_conn *sentinel = (ember_conn *)&g_buf, *conn = sentinel;
    ember_config *empty = NULL;
    char long_name[300];
    memset(long_name, 'a', sizeof long_name);
    long_name[sizeof long_name - 1] = '\0';
    ember_config *c = fx_ccfg(f), *s = fx_scfg(f);
    struct {
        const ember_config *cfg;
        const char *name;
        ember_conn **out;
        ember_result want;
        const char *how;
    } rows[] = {
        {NULL, "localhost", &conn, EMBER_ERR_NULL_ARG, "NULL config"},
        {c, "localhost", NULL, EMBER_ERR_NULL_ARG, "NULL out"},
        {c, NULL, &conn, EMBER_ERR_NULL_ARG, "client without a name"},
        {s, "localhost", &conn, EMBER_ERR_INVALID_ARG, "server given a name"},
        {c, "", &conn, EMBER_ERR_INVALID_ARG, "empty name"},
        {c, "two words", &conn, EMBER_ERR_INVALID_ARG, "not a DNS name"},
        {c, "\xff\xfe", &conn, EMBER_ERR_INVALID_ARG, "not UTF-8"},
        {c, long_name, &conn, EMBER_ERR_INVALID_ARG, "299-byte name"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ember_result rc = ember_conn_new(rows[i].cfg, rows[i].name, rows[i].out);
        if (rc != rows[i].want)
            check_failed(__FILE__, __LINE__, "ember_conn_new(%s): expected %s, got %s", rows[i].how,
                         ember_result_name(rows[i].want), ember_result_name(rc));
        if (conn != sentinel) {
            check_failed(__FILE__, __LINE__, "ember_conn_new(%s) wrote *out", rows[i].how);
            if (rc == EMBER_OK)
                ember_conn_free(conn);
            conn = sentinel;
        }
    }
    EXPECT(EMBER_OK, ember_config_new(EMBER_ROLE_SERVER, &empty));
    EXPECT(EMBER_ERR_NO_CERTIFICATE, ember_conn_new(empty, NULL, &conn));
    EXPECT_TRUE(conn == sentinel);
    ember_config_free(empty);
}

static void m_conn_free(fx *f)
{
    (void)f;
    ember_conn_free(NULL);
}

static void m_conn_set_io(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_set_io(NULL, eagain_read, eagain_write, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_set_io(fx_fresh_c(f), NULL, eagain_write, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_set_io(f->fresh_c, eagain_read, NULL, NULL));
    /* Twice; after set_fd; after bytes moved; after a fatal error (its code, as every call). */
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_set_io(fx_cb(f), eagain_read, eagain_write, NULL));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_set_io(fx_fd(f), eagain_read, eagain_write, NULL));
    EXPECT(EMBER_WANT_READ, ember_conn_handshake(f->fresh_c));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_set_io(f->fresh_c, eagain_read, eagain_write, NULL));
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_set_io(fx_failed(f), eagain_read, eagain_write, NULL));
}

static void m_conn_set_fd(fx *f)
{
    ember_conn *conn = NULL;
    int fds[2] = {-1, -1};
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_set_fd(NULL, 0));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_set_fd(fx_fresh_c(f), -1));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_set_fd(f->fresh_c, INT_MIN));
    ember_conn *fd = fx_fd(f); /* before reading f->sv: fx_fd makes the socket */
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_set_fd(fd, f->sv[0]));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_set_fd(fx_cb(f), 0));
    EXPECT(EMBER_WANT_READ, ember_conn_handshake(f->fresh_c));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_set_fd(f->fresh_c, 0));
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_set_fd(fx_failed(f), 0));
    /* A descriptor that is not open is taken; the first I/O says EMBER_ERR_IO, EBADF. */
    if (pipe(fds) == 0) {
        close(fds[0]);
        close(fds[1]);
        EXPECT(EMBER_OK, ember_conn_new(fx_ccfg(f), "localhost", &conn));
        EXPECT(EMBER_OK, ember_conn_set_fd(conn, fds[0]));
        EXPECT(EMBER_ERR_IO, ember_conn_handshake(conn));
        EXPECT_TRUE(ember_conn_os_error(conn) == EBADF);
        EXPECT(EMBER_ERR_IO, ember_conn_handshake(conn));
        ember_conn_free(conn);
    }
}

static void m_conn_feed(fx *f)
{
    uint8_t buf[16] = {0};
    size_t n = 99;
    pair *p = fx_p13(f);
    ember_conn *fresh = fx_fresh_s(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_feed(NULL, buf, 1, &n));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_feed(fresh, buf, 1, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_feed(fresh, NULL, 1, &n));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_feed(fresh, buf, SIZE_MAX, &n));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_feed(fresh, buf, HUGE_LEN, &n));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_feed(fx_cb(f), buf, 1, &n));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_feed(fx_fd(f), buf, 1, &n));
    if (p) {
        /* End of stream, then anything more: refused, and the end stays the answer. */
        EXPECT(EMBER_OK, ember_conn_feed(p->c, NULL, 0, &n));
        EXPECT_TRUE(n == 0);
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_feed(p->c, buf, 1, &n));
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_feed(p->c, NULL, 0, &n));
        EXPECT(EMBER_ERR_UNEXPECTED_EOF, ember_conn_read(p->c, buf, sizeof buf, &n));
    }
    /* After a fatal error: its code, and nothing taken. */
    n = 99;
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_feed(fx_failed(f), buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0);
}

static void m_conn_drain(fx *f)
{
    uint8_t buf[4096];
    size_t n = 99;
    ember_conn *c = fx_fresh_c(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_drain(NULL, buf, sizeof buf, &n));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_drain(c, buf, sizeof buf, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_drain(c, NULL, 1, &n));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_drain(c, buf, SIZE_MAX, &n));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_drain(c, buf, HUGE_LEN, &n));
    /* Nothing pending: EMBER_OK with 0, any number of times. */
    EXPECT(EMBER_OK, ember_conn_drain(fx_fresh_s(f), buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0);
    EXPECT(EMBER_OK, ember_conn_drain(f->fresh_s, buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0);
    /* Room for nothing: EMBER_OK with 0, the output stays. */
    EXPECT(EMBER_WANT_READ, ember_conn_handshake(c));
    size_t pending = ember_conn_pending_output(c);
    EXPECT_TRUE(pending > 0);
    n = 99;
    EXPECT(EMBER_OK, ember_conn_drain(c, NULL, 0, &n));
    EXPECT_TRUE(n == 0 && ember_conn_pending_output(c) == pending);
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_drain(fx_cb(f), buf, sizeof buf, &n));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_drain(fx_fd(f), buf, sizeof buf, &n));
    /* After a fatal error draining still works (drive_handshake sent the alert already). */
    EXPECT(EMBER_OK, ember_conn_drain(fx_failed(f), buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0);
}

static void m_conn_pending_output(fx *f)
{
    EXPECT_TRUE(ember_conn_pending_output(NULL) == 0);
    EXPECT_TRUE(ember_conn_pending_output(fx_fresh_s(f)) == 0);
    /* A client's ClientHello is ready from ember_conn_new on, whatever its I/O. */
    EXPECT_TRUE(ember_conn_pending_output(fx_fresh_c(f)) > 0);
    EXPECT_TRUE(ember_conn_pending_output(fx_cb(f)) > 0);
}

static void m_conn_handshake(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_handshake(NULL));
    EXPECT(EMBER_WANT_READ, ember_conn_handshake(fx_fresh_s(f)));
    EXPECT(EMBER_WANT_READ, ember_conn_handshake(f->fresh_s)); /* nothing fed: still waiting */
    EXPECT(EMBER_WANT_WRITE, ember_conn_handshake(fx_cb(f)));
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_handshake(fx_failed(f)));
    pair *p = fx_p13(f);
    if (p) {
        EXPECT(EMBER_OK, ember_conn_handshake(p->c));
        EXPECT(EMBER_OK, ember_conn_close(p->c));
        EXPECT(EMBER_OK, ember_conn_handshake(p->c)); /* harmless once complete, even closed */
    }
}

static void m_conn_read(fx *f)
{
    uint8_t buf[64];
    size_t n = 99;
    ember_conn *c = fx_fresh_c(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_read(NULL, buf, sizeof buf, &n));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_read(c, buf, sizeof buf, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_read(c, NULL, 1, &n));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_read(c, buf, SIZE_MAX, &n));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_read(c, buf, HUGE_LEN, &n));
    /* Before the handshake in memory mode: it starts it and waits for the peer. */
    n = 99;
    EXPECT(EMBER_WANT_READ, ember_conn_read(c, buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0 && ember_conn_pending_output(c) > 0);
    n = 99;
    EXPECT(EMBER_WANT_READ, ember_conn_read(fx_fresh_s(f), buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0 && ember_conn_pending_output(f->fresh_s) == 0);
    n = 99;
    EXPECT(EMBER_WANT_WRITE, ember_conn_read(fx_cb(f), buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0);
    n = 99;
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_read(fx_failed(f), buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0);
    pair *p = fx_p13(f);
    if (p) {
        n = 99;
        EXPECT(EMBER_OK, ember_conn_read(p->c, NULL, 0, &n));
        EXPECT_TRUE(n == 0);
        n = 99;
        EXPECT(EMBER_WANT_READ, ember_conn_read(p->c, buf, sizeof buf, &n)); /* nothing sent */
        EXPECT_TRUE(n == 0);
        /* Our own close does not end reading; the peer's close_notify does, for good. */
        EXPECT(EMBER_OK, ember_conn_close(p->c));
        EXPECT(EMBER_WANT_READ, ember_conn_read(p->c, buf, sizeof buf, &n));
        EXPECT(EMBER_OK, ember_conn_close(p->s));
        size_t moved = 0;
        EXPECT_TRUE(shuttle(p->s, &p->s2c, p->c, NULL, &moved));
        for (int i = 0; i < 3; i++) {
            n = 99;
            EXPECT(EMBER_CLOSED, ember_conn_read(p->c, buf, sizeof buf, &n));
            EXPECT_TRUE(n == 0);
        }
    }
}

static void m_conn_write(fx *f)
{
    uint8_t buf[64] = {0};
    size_t n = 99;
    ember_conn *c = fx_fresh_c(f);
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_write(NULL, buf, 1, &n));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_write(c, buf, 1, NULL));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_write(c, NULL, 1, &n));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_write(c, buf, SIZE_MAX, &n));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_write(c, buf, HUGE_LEN, &n));
    n = 99;
    EXPECT(EMBER_WANT_READ, ember_conn_write(c, buf, sizeof buf, &n)); /* the handshake first */
    EXPECT_TRUE(n == 0);
    n = 99;
    EXPECT(EMBER_WANT_READ, ember_conn_write(fx_fresh_s(f), buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0);
    n = 99;
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_write(fx_failed(f), buf, sizeof buf, &n));
    EXPECT_TRUE(n == 0);
    pair *p = fx_p12(f);
    if (p) {
        n = 99;
        EXPECT(EMBER_OK, ember_conn_write(p->c, NULL, 0, &n));
        EXPECT_TRUE(n == 0 && ember_conn_pending_output(p->c) == 0);
        EXPECT(EMBER_OK, ember_conn_close(p->c));
        size_t pending = ember_conn_pending_output(p->c);
        n = 99;
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_write(p->c, buf, sizeof buf, &n));
        EXPECT_TRUE(n == 0 && ember_conn_pending_output(p->c) == pending);
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_write(p->c, buf, sizeof buf, &n)); /* stays so */
        /* Refused, not fatal: reading still works. */
        EXPECT(EMBER_WANT_READ, ember_conn_read(p->c, buf, sizeof buf, &n));
    }
}

static void m_conn_flush(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_flush(NULL));
    EXPECT(EMBER_WANT_READ, ember_conn_handshake(fx_fresh_c(f)));
    EXPECT(EMBER_OK, ember_conn_flush(f->fresh_c)); /* memory mode: output waits for drain */
    EXPECT_TRUE(ember_conn_pending_output(f->fresh_c) > 0);
    EXPECT(EMBER_OK, ember_conn_flush(fx_fresh_s(f)));
    EXPECT(EMBER_WANT_WRITE, ember_conn_flush(fx_cb(f))); /* its transport says EAGAIN */
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_flush(fx_failed(f)));
}

static void m_conn_close(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_close(NULL));
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_close(fx_failed(f)));
    /* Before the handshake, and twice: close_notify is queued once. */
    EXPECT(EMBER_OK, ember_conn_close(fx_fresh_s(f)));
    size_t pending = ember_conn_pending_output(f->fresh_s);
    EXPECT(EMBER_OK, ember_conn_close(f->fresh_s));
    EXPECT_TRUE(ember_conn_pending_output(f->fresh_s) == pending);
    /* A blocked transport: close_notify waits for a flush. */
    EXPECT(EMBER_WANT_WRITE, ember_conn_close(fx_cb(f)));
    EXPECT(EMBER_WANT_WRITE, ember_conn_flush(f->cb));
}

static void m_conn_last_error(fx *f)
{
    ember_conn *c = fx_failed(f);
    if (c)
        text_out_rules("ember_conn_last_error", conn_last_error, c);
}

static void m_conn_os_error(fx *f)
{
    EXPECT_TRUE(ember_conn_os_error(NULL) == 0);
    EXPECT_TRUE(ember_conn_os_error(fx_fresh_c(f)) == 0);
    EXPECT_TRUE(ember_conn_os_error(fx_failed(f)) == 0); /* not an I/O error */
}

/* The functions that store one fact through an out-pointer. */
typedef ember_result (*fact_fn)(const ember_conn *conn, void *out);
static ember_result f_version(const ember_conn *c, void *o) { return ember_conn_protocol_version(c, o); }
static ember_result f_suite(const ember_conn *c, void *o) { return ember_conn_cipher_suite(c, o); }
static ember_result f_group(const ember_conn *c, void *o) { return ember_conn_kx_group(c, o); }
static ember_result f_resumed(const ember_conn *c, void *o) { return ember_conn_is_resumed(c, o); }
static ember_result f_ns(const ember_conn *c, void *o) { return ember_conn_handshake_ns(c, o); }
static ember_result f_id(const ember_conn *c, void *o) { return ember_conn_id(c, o); }
static ember_result f_alert(const ember_conn *c, void *o) { return ember_conn_peer_alert(c, o); }
static ember_result f_count(const ember_conn *c, void *o) { return ember_conn_peer_cert_count(c, o); }

/* NULL connection or out-pointer: EMBER_ERR_NULL_ARG. A fresh connection: `before` (the fact is
 * not known yet), the out-pointer untouched unless EMBER_OK. After the handshake: EMBER_OK. */
static void fact_rules(const char *what, fx *f, fact_fn fn, ember_result before, bool known_after)
{
    uint64_t out = 0x7777777777777777ull;
    ember_result rc;
    if ((rc = fn(NULL, &out)) != EMBER_ERR_NULL_ARG)
        check_failed(__FILE__, __LINE__, "%s(NULL, &out): expected EMBER_ERR_NULL_ARG, got %s", what, ember_result_name(rc));
    if ((rc = fn(fx_fresh_c(f), NULL)) != EMBER_ERR_NULL_ARG)
        check_failed(__FILE__, __LINE__, "%s(conn, NULL): expected EMBER_ERR_NULL_ARG, got %s", what, ember_result_name(rc));
    if ((rc = fn(f->fresh_c, &out)) != before)
        check_failed(__FILE__, __LINE__, "%s(fresh conn): expected %s, got %s", what, ember_result_name(before),
                     ember_result_name(rc));
    if (rc != EMBER_OK && out != 0x7777777777777777ull)
        check_failed(__FILE__, __LINE__, "%s(fresh conn) wrote the out-pointer on %s", what, ember_result_name(rc));
    pair *p = fx_p13(f);
    if (p && known_after && (rc = fn(p->c, &out)) != EMBER_OK)
        check_failed(__FILE__, __LINE__, "%s(open conn): expected EMBER_OK, got %s", what, ember_result_name(rc));
}

static void m_conn_protocol_version(fx *f) { fact_rules("ember_conn_protocol_version", f, f_version, EMBER_ERR_WRONG_STATE, true); }
static void m_conn_cipher_suite(fx *f) { fact_rules("ember_conn_cipher_suite", f, f_suite, EMBER_ERR_WRONG_STATE, true); }
static void m_conn_kx_group(fx *f) { fact_rules("ember_conn_kx_group", f, f_group, EMBER_ERR_WRONG_STATE, true); }
static void m_conn_is_resumed(fx *f) { fact_rules("ember_conn_is_resumed", f, f_resumed, EMBER_ERR_WRONG_STATE, true); }
static void m_conn_handshake_ns(fx *f) { fact_rules("ember_conn_handshake_ns", f, f_ns, EMBER_ERR_WRONG_STATE, true); }

static void m_conn_id(fx *f)
{
    uint64_t a = 0, b = 0;
    fact_rules("ember_conn_id", f, f_id, EMBER_OK, true);
    EXPECT(EMBER_OK, ember_conn_id(fx_fresh_c(f), &a));
    EXPECT(EMBER_OK, ember_conn_id(fx_fresh_s(f), &b));
    EXPECT_TRUE(a != b);
}

static void m_conn_peer_alert(fx *f)
{
    uint8_t alert = 0;
    fact_rules("ember_conn_peer_alert", f, f_alert, EMBER_ERR_WRONG_STATE, false);
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_peer_alert(fx_failed(f), &alert)); /* it sent one */
    EXPECT(EMBER_OK, ember_conn_peer_alert(f->bad.s, &alert));
    EXPECT_TRUE(alert == 42); /* bad_certificate */
}

static void m_conn_peer_cert_count(fx *f)
{
    size_t n = 0;
    fact_rules("ember_conn_peer_cert_count", f, f_count, EMBER_ERR_WRONG_STATE, true);
    pair *p = fx_p13(f);
    if (p)
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_peer_cert_count(p->s, &n)); /* no client auth */
}

static void m_conn_peer_cert(fx *f)
{
    const uint8_t *sentinel = g_buf, *der = sentinel;
    size_t len = 77, count = 0;
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_peer_cert(NULL, 0, &der, &len));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_peer_cert(fx_fresh_c(f), 0, NULL, &len));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_peer_cert(f->fresh_c, 0, &der, NULL));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_peer_cert(f->fresh_c, 0, &der, &len));
    pair *p = fx_p13(f);
    if (p && ember_conn_peer_cert_count(p->c, &count) == EMBER_OK) {
        EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_peer_cert(p->c, count, &der, &len));
        EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_peer_cert(p->c, SIZE_MAX, &der, &len));
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_peer_cert(p->s, 0, &der, &len));
    }
    EXPECT_TRUE(der == sentinel && len == 77); /* left unchanged on failure */
}

static void m_conn_server_name(fx *f)
{
    char buf[16];
    size_t n = 0;
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_server_name(fx_fresh_s(f), buf, sizeof buf, &n));
    if (fx_fresh_c(f))
        text_out_rules("ember_conn_server_name", server_name_text, f->fresh_c);
}

static void m_conn_alpn(fx *f)
{
    char buf[16];
    size_t n = 0;
    ember_config *cc = client_config(0, 0, true), *sc = server_config("ecdsa-p256", NULL, 0, 0);
    const char *protocols[] = {"h2"};
    pair p = {0};
    ember_result rc_c, rc_s;
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_alpn(NULL, buf, sizeof buf, &n));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_alpn(fx_fresh_c(f), buf, sizeof buf, &n));
    if (fx_p13(f))
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_alpn(f->p13.c, buf, sizeof buf, &n)); /* none agreed */
    CHECK(cc && sc);
    CHECK_RC(EMBER_OK, ember_config_set_alpn(cc, protocols, 1));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(sc, protocols, 1));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_RC(EMBER_OK, rc_c);
    text_out_rules("ember_conn_alpn", alpn_text, p.c);
out:
    pair_free(&p);
    ember_config_free(cc);
    ember_config_free(sc);
}

static void m_conn_key_update(fx *f)
{
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_key_update(NULL));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_key_update(fx_fresh_c(f)));
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH, ember_conn_key_update(fx_failed(f)));
    pair *p12 = fx_p12(f), *p13 = fx_p13(f);
    if (p12) {
        size_t pending = ember_conn_pending_output(p12->c);
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_key_update(p12->c)); /* TLS 1.2 has none */
        EXPECT_TRUE(ember_conn_pending_output(p12->c) == pending);    /* nothing sent */
        EXPECT_TRUE(exchange(p12));                                     /* still usable */
    }
    if (p13) {
        EXPECT(EMBER_OK, ember_conn_key_update(p13->c));
        EXPECT(EMBER_OK, ember_conn_close(p13->c));
        EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_key_update(p13->c));
    }
}

static void m_conn_export_keying_material(fx *f)
{
    const uint8_t label[] = "EXPERIMENTAL misuse", ctx[] = "ctx";
    uint8_t out[32];
    const size_t ll = sizeof label - 1;
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_export_keying_material(NULL, label, ll, NULL, 0, out, sizeof out));
    EXPECT(EMBER_ERR_WRONG_STATE, ember_conn_export_keying_material(fx_fresh_c(f), label, ll, NULL, 0, out, sizeof out));
    EXPECT(EMBER_ERR_CERT_HOSTNAME_MISMATCH,
           ember_conn_export_keying_material(fx_failed(f), label, ll, NULL, 0, out, sizeof out));
    pair *p = fx_p13(f);
    if (!p)
        return;
    ember_conn *c = p->c;
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_export_keying_material(c, NULL, ll, NULL, 0, out, sizeof out));
    EXPECT(EMBER_ERR_NULL_ARG, ember_conn_export_keying_material(c, label, ll, NULL, 0, NULL, sizeof out));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_export_keying_material(c, label, ll, NULL, 0, out, 0));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_export_keying_material(c, label, ll, NULL, 0, NULL, 0));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_export_keying_material(c, label, SIZE_MAX, NULL, 0, out, sizeof out));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_export_keying_material(c, label, ll, ctx, SIZE_MAX, out, sizeof out));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_export_keying_material(c, label, ll, NULL, 0, out, SIZE_MAX));
    EXPECT(EMBER_ERR_INVALID_ARG, ember_conn_export_keying_material(c, label, ll, NULL, 0, out, HUGE_LEN));
    /* A NULL context is no context, whatever its length; an empty label is a label. */
    EXPECT(EMBER_OK, ember_conn_export_keying_material(c, label, ll, NULL, 99, out, sizeof out));
    EXPECT(EMBER_OK, ember_conn_export_keying_material(c, NULL, 0, ctx, 0, out, sizeof out));
}

/* ---- the table ---- */

typedef void (*misuse_fn)(fx *f);

/* One row per exported function: {"name", m_<name without the ember_ prefix>}. */
static const struct {
    const char *name;
    misuse_fn fn;
} MISUSE[] = {
    {"ember_alert_name", m_alert_name},
    {"ember_cert_check_name", m_cert_check_name},
    {"ember_cert_spki_sha256", m_cert_spki_sha256},
    {"ember_cipher_suite_name", m_cipher_suite_name},
    {"ember_config_add_cert_pem", m_config_add_cert_pem},
    {"ember_config_add_cert_pem_file", m_config_add_cert_pem_file},
    {"ember_config_free", m_config_free},
    {"ember_config_last_error", m_config_last_error},
    {"ember_config_new", m_config_new},
    {"ember_config_set_alpn", m_config_set_alpn},
    {"ember_config_set_cipher_suites", m_config_set_cipher_suites},
    {"ember_config_set_client_auth", m_config_set_client_auth},
    {"ember_config_set_groups", m_config_set_groups},
    {"ember_config_set_keylog_callback", m_config_set_keylog_callback},
    {"ember_config_set_session_cache", m_config_set_session_cache},
    {"ember_config_set_session_cache_size", m_config_set_session_cache_size},
    {"ember_config_set_session_store", m_config_set_session_store},
    {"ember_config_set_sslkeylogfile", m_config_set_sslkeylogfile},
    {"ember_config_set_ticket_key_file", m_config_set_ticket_key_file},
    {"ember_config_set_ticket_keys", m_config_set_ticket_keys},
    {"ember_config_set_tickets", m_config_set_tickets},
    {"ember_config_set_trace_callback", m_config_set_trace_callback},
    {"ember_config_set_trust", m_config_set_trust},
    {"ember_config_set_verify_callback", m_config_set_verify_callback},
    {"ember_config_set_versions", m_config_set_versions},
    {"ember_conn_alpn", m_conn_alpn},
    {"ember_conn_cipher_suite", m_conn_cipher_suite},
    {"ember_conn_close", m_conn_close},
    {"ember_conn_drain", m_conn_drain},
    {"ember_conn_export_keying_material", m_conn_export_keying_material},
    {"ember_conn_feed", m_conn_feed},
    {"ember_conn_flush", m_conn_flush},
    {"ember_conn_free", m_conn_free},
    {"ember_conn_handshake", m_conn_handshake},
    {"ember_conn_handshake_ns", m_conn_handshake_ns},
    {"ember_conn_id", m_conn_id},
    {"ember_conn_is_resumed", m_conn_is_resumed},
    {"ember_conn_key_update", m_conn_key_update},
    {"ember_conn_kx_group", m_conn_kx_group},
    {"ember_conn_last_error", m_conn_last_error},
    {"ember_conn_new", m_conn_new},
    {"ember_conn_os_error", m_conn_os_error},
    {"ember_conn_peer_alert", m_conn_peer_alert},
    {"ember_conn_peer_cert", m_conn_peer_cert},
    {"ember_conn_peer_cert_count", m_conn_peer_cert_count},
    {"ember_conn_pending_output", m_conn_pending_output},
    {"ember_conn_protocol_version", m_conn_protocol_version},
    {"ember_conn_read", m_conn_read},
    {"ember_conn_server_name", m_conn_server_name},
    {"ember_conn_set_fd", m_conn_set_fd},
    {"ember_conn_set_io", m_conn_set_io},
    {"ember_conn_write", m_conn_write},
    {"ember_group_name", m_group_name},
    {"ember_log_set_callback", m_log_set_callback},
    {"ember_protocol_version_name", m_protocol_version_name},
    {"ember_result_name", m_result_name},
    {"ember_result_str", m_result_str},
    {"ember_session_cache_free", m_session_cache_free},
    {"ember_session_cache_new", m_session_cache_new},
    {"ember_trace_step_name", m_trace_step_name},
    {"ember_trust_add_builtin", m_trust_add_builtin},
    {"ember_trust_add_crl", m_trust_add_crl},
    {"ember_trust_add_crl_file", m_trust_add_crl_file},
    {"ember_trust_add_der", m_trust_add_der},
    {"ember_trust_add_pem", m_trust_add_pem},
    {"ember_trust_add_pem_dir", m_trust_add_pem_dir},
    {"ember_trust_add_pem_file", m_trust_add_pem_file},
    {"ember_trust_add_system", m_trust_add_system},
    {"ember_trust_count", m_trust_count},
    {"ember_trust_crl_count", m_trust_crl_count},
    {"ember_trust_free", m_trust_free},
    {"ember_trust_last_error", m_trust_last_error},
    {"ember_trust_new", m_trust_new},
    {"ember_trust_set_revocation", m_trust_set_revocation},
    {"ember_version", m_version},
};

static void case_misuse(const void *arg)
{
    misuse_fn fn = *(const misuse_fn *)arg;
    fx f;
    memset(&f, 0, sizeof f);
    f.sv[0] = f.sv[1] = -1;
    fn(&f);
    fx_free(&f);
}

/* ---- a callback calling back into its own connection ---- */

typedef struct reentry {
    ember_conn *conn;
    int calls;
    ember_result last_error, write, handshake;
} reentry;

static void reentrant_trace(void *ud, uint64_t id, uint64_t t, ember_trace_step step, const char *text)
{
    reentry *r = ud;
    uint8_t data[4] = {0};
    char buf[8];
    size_t n = 0;
    (void)id, (void)t, (void)step, (void)text;
    if (!r->conn || r->calls++ > 0)
        return;
    r->last_error = ember_conn_last_error(r->conn, buf, sizeof buf, &n);
    r->write = ember_conn_write(r->conn, data, sizeof data, &n);
    r->handshake = ember_conn_handshake(r->conn);
}

/* Calls on a connection from inside its own callbacks answer EMBER_ERR_WRONG_STATE and change
 * nothing: the handshake goes on and completes, and the connection is not poisoned. */
static void case_reentrant_callback(const void *arg)
{
    (void)arg;
    reentry r = {0};
    ember_config *cc = client_config(0, 0, true), *sc = server_config("ecdsa-p256", NULL, 0, 0);
    ember_result rc_c, rc_s;
    pair p = {0};
    CHECK(cc && sc);
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(cc, reentrant_trace, &r));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    r.conn = p.c;
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK(r.calls > 0);
    printf("    from inside the callback: last_error %s, write %s, handshake %s\n",
           ember_result_name(r.last_error), ember_result_name(r.write), ember_result_name(r.handshake));
    CHECK_RC(EMBER_ERR_WRONG_STATE, r.last_error);
    CHECK_RC(EMBER_ERR_WRONG_STATE, r.write);
    CHECK_RC(EMBER_ERR_WRONG_STATE, r.handshake);
    r.conn = NULL;
    CHECK(exchange(&p));
out:
    pair_free(&p);
    ember_config_free(cc);
    ember_config_free(sc);
}

typedef struct freeing {
    ember_conn *conn;
    int frees;
} freeing;

static void freeing_trace(void *ud, uint64_t id, uint64_t t, ember_trace_step step, const char *text)
{
    freeing *f = ud;
    (void)id, (void)t, (void)step, (void)text;
    if (f->conn != NULL && f->frees++ == 0) {
        ember_conn_free(f->conn);
        ember_conn_free(f->conn); /* asked twice: still freed once */
    }
}

/* ember_conn_free() from inside the connection's own callback frees it when the call that ran
 * the callback returns: that call still reports its own result, and nothing leaks or is used
 * after being freed (the sanitizer and valgrind runs of this case check). */
static void case_free_from_a_callback(const void *arg)
{
    (void)arg;
    freeing f = {0};
    ember_config *cc = client_config(0, 0, true), *sc = server_config("ecdsa-p256", NULL, 0, 0);
    pair p = {0};
    size_t moved = 0;
    CHECK(cc && sc);
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(cc, freeing_trace, &f));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK(shuttle(p.c, &p.c2s, p.s, NULL, &moved));
    CHECK_RC(EMBER_WANT_READ, ember_conn_handshake(p.s));
    CHECK(shuttle(p.s, &p.s2c, p.c, NULL, &moved));
    /* The server's flight is processed, step by step, inside this call; its first traced step
     * frees the connection. */
    f.conn = p.c;
    CHECK_RC(EMBER_OK, ember_conn_handshake(p.c));
    CHECK(f.frees > 1); /* the steps after the free were still reported */
    p.c = NULL;
out:
    pair_free(&p);
    ember_config_free(cc);
    ember_config_free(sc);
}

void run_misuse_cases(void)
{
    for (size_t i = 0; i < sizeof MISUSE / sizeof MISUSE[0]; i++)
        run_case(case_misuse, &MISUSE[i].fn, "misuse %s", MISUSE[i].name);
    run_case(case_reentrant_callback, NULL, "misuse reentrant_call_from_a_callback");
    run_case(case_free_from_a_callback, NULL, "misuse free_from_a_callback");
}
