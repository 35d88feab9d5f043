/* Certificate revocation and the chain failures that have codes of their own.
 *
 * CRLs in a trust store (ember_trust_add_crl, ember_trust_add_crl_file, ember_trust_crl_count,
 * bad input, a frozen store) and the policy that applies them (ember_trust_set_revocation): a
 * revoked leaf or intermediate, a certificate no CRL covers, an expired CRL, a CRL whose
 * signature does not verify, each with the exact code on both sides, the alert on the wire and a
 * detail that names the certificate at fault. Then the refined "unknown issuer" family
 * (self-signed, missing intermediate, untrusted root), a wrong extended key usage and an
 * algorithm ring cannot verify; the same verdicts on a server verifying client certificates;
 * the verification callback shown those verdicts and pinning by key (ember_cert_spki_sha256);
 * and the handshake signature, checked even when the callback accepts every chain.
 *
 * The PKI (tests/all/support.rs, Pki): ca.pem -> intermediate.pem -> leaves. `revoked` (serial
 * 0e:b0:01) is revoked by crl-intermediate.pem (.der: the same CRL in DER), KeyCompromise;
 * `revoked-ica` is a leaf under revoked-intermediate.pem (serial 0e:b0:02), which crl-root.pem
 * revokes, CACompromise; crl-revoked-intermediate.pem comes from that intermediate and is
 * empty; crl-intermediate-expired.pem is empty and past its nextUpdate; crls.pem holds
 * crl-intermediate, crl-root and crl-revoked-intermediate. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TLS alert numbers (RFC 8446 section 6 / RFC 5246 section 7.2). */
enum {
    ALERT_HANDSHAKE_FAILURE = 40,
    ALERT_UNSUPPORTED_CERTIFICATE = 43,
    ALERT_CERTIFICATE_REVOKED = 44,
    ALERT_CERTIFICATE_UNKNOWN = 46,
    ALERT_UNKNOWN_CA = 48,
    ALERT_DECRYPT_ERROR = 51,
};

/* The names details use for the PKI's CAs. */
#define INTERMEDIATE "CN=embertls test intermediate"
#define ROOT "CN=embertls test root"
#define REVOKED_ICA "CN=embertls revoked intermediate"

static const uint16_t versions[2] = {EMBER_TLS1_2, EMBER_TLS1_3};

/* ---- reading certificates and CRLs: just enough DER to find dates and keys ---- */

typedef struct span {
    const uint8_t *p, *end;
} span;

/* Reads the next TLV of d: its tag, its contents (inner) and its whole encoding (whole); either
 * may be NULL. False when d does not hold a whole TLV. */
static bool der_read(span *d, uint8_t *tag, span *inner, span *whole)
{
    const uint8_t *start = d->p, *q = d->p + 2;
    if (d->end - d->p < 2)
        return false;
    size_t len = d->p[1];
    if (len & 0x80) {
        size_t octets = len & 0x7f;
        if (octets == 0 || octets > 3 || (size_t)(d->end - q) < octets)
            return false;
        len = 0;
        for (size_t i = 0; i < octets; i++)
            len = len << 8 | *q++;
    }
    if ((size_t)(d->end - q) < len)
        return false;
    *tag = start[0];
    if (inner)
        *inner = (span){q, q + len};
    if (whole)
        *whole = (span){start, q + len};
    d->p = q + len;
    return true;
}

static uint8_t der_peek(const span *d) { return d->p < d->end ? d->p[0] : 0; }

/* A UTCTime (tag 0x17) or GeneralizedTime (0x18) as embertls' details print dates,
 * "YYYY-MM-DDTHH:MM:SSZ" (RFC 5280 4.1.2.5.1: two-digit years 50..99 are 19xx). */
static bool der_time(uint8_t tag, const span *t, char out[32])
{
    const char *s = (const char *)t->p;
    size_t n = (size_t)(t->end - t->p);
    if (tag == 0x17 && n == 13 && s[12] == 'Z') {
        snprintf(out, 32, "%s%.2s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s[0] >= '5' ? "19" : "20", s,
                 s + 2, s + 4, s + 6, s + 8, s + 10);
        return true;
    }
    if (tag == 0x18 && n == 15 && s[14] == 'Z') {
        snprintf(out, 32, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 8, s + 10, s + 12);
        return true;
    }
    return false;
}

/* The nextUpdate of a DER CRL and the revocationDate of its first entry ("" when it has none;
 * RFC 5280 5.1), as der_time prints them. */
static bool crl_dates(const uint8_t *crl, size_t len, char next_update[32], char revoked_on[32])
{
    span d = {crl, crl + len}, list, tbs, entries, entry, t;
    uint8_t tag;
    revoked_on[0] = '\0';
    CHECK(der_read(&d, &tag, &list, NULL) && tag == 0x30);
    CHECK(der_read(&list, &tag, &tbs, NULL) && tag == 0x30);
    if (der_peek(&tbs) == 0x02)
        CHECK(der_read(&tbs, &tag, NULL, NULL)); /* version */
    for (int i = 0; i < 3; i++)                  /* signature, issuer, thisUpdate */
        CHECK(der_read(&tbs, &tag, NULL, NULL));
    CHECK(der_read(&tbs, &tag, &t, NULL) && der_time(tag, &t, next_update));
    if (der_peek(&tbs) != 0x30)
        return true; /* no revokedCertificates */
    CHECK(der_read(&tbs, &tag, &entries, NULL));
    CHECK(der_read(&entries, &tag, &entry, NULL) && tag == 0x30);
    CHECK(der_read(&entry, &tag, NULL, NULL) && tag == 0x02); /* serial */
    CHECK(der_read(&entry, &tag, &t, NULL) && der_time(tag, &t, revoked_on));
    return true;
out:
    return false;
}

/* The whole SubjectPublicKeyInfo of a DER certificate (RFC 5280 4.1). */
static bool cert_spki(const uint8_t *cert, size_t len, span *spki)
{
    span d = {cert, cert + len}, c, tbs;
    uint8_t tag;
    CHECK(der_read(&d, &tag, &c, NULL) && tag == 0x30);
    CHECK(der_read(&c, &tag, &tbs, NULL) && tag == 0x30);
    if (der_peek(&tbs) == 0xA0)
        CHECK(der_read(&tbs, &tag, NULL, NULL)); /* version */
    for (int i = 0; i < 5; i++)                  /* serial, signature, issuer, validity, subject */
        CHECK(der_read(&tbs, &tag, NULL, NULL));
    CHECK(der_read(&tbs, &tag, NULL, spki) && tag == 0x30);
    return true;
out:
    return false;
}

/* SHA-256 (FIPS 180-4): the test's own, so that ember_cert_spki_sha256 is checked against the
 * definition pins are made by (openssl ... | openssl dgst -sha256), not against itself. */
static uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void sha256(const uint8_t *msg, size_t len, uint8_t out[32])
{
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    /* The padded message: msg, 0x80, zeros, the bit length in 8 bytes, a multiple of 64. */
    size_t blocks = (len + 9 + 63) / 64, total = blocks * 64;
    for (size_t b = 0; b < blocks; b++) {
        uint32_t w[64], v[8];
        for (int i = 0; i < 64; i++) {
            size_t at = b * 64 + (size_t)i;
            uint32_t byte = at < len ? msg[at] : at == len ? 0x80 : 0;
            if (at >= total - 8)
                byte = (uint32_t)(((uint64_t)len * 8) >> (8 * (total - 1 - at))) & 0xff;
            w[i / 4] = (i % 4 ? w[i / 4] << 8 : 0) | byte;
        }
        for (int i = 16; i < 64; i++)
            w[i] = w[i - 16] + (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 7] +
                   (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10));
        memcpy(v, h, sizeof v);
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = v[7] + (ror(v[4], 6) ^ ror(v[4], 11) ^ ror(v[4], 25)) +
                          ((v[4] & v[5]) ^ (~v[4] & v[6])) + k[i] + w[i];
            uint32_t t2 = (ror(v[0], 2) ^ ror(v[0], 13) ^ ror(v[0], 22)) +
                          ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));
            memmove(v + 1, v, 7 * sizeof v[0]);
            v[4] += t1;
            v[0] = t1 + t2;
        }
        for (int i = 0; i < 8; i++)
            h[i] += v[i];
    }
    for (int i = 0; i < 32; i++)
        out[i] = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
}

/* ember_cert_spki_sha256 of the first certificate of a PKI PEM file. */
static bool spki_of_file(const char *file, uint8_t out[32])
{
    size_t len = 0;
    uint8_t *der = pem_file_der(file, &len);
    bool ok = false;
    CHECK(der != NULL);
    CHECK_RC(EMBER_OK, ember_cert_spki_sha256(der, len, out));
    ok = true;
out:
    free(der);
    return ok;
}

/* ---- trust stores and pairs ---- */

/* What one side trusts: a PKI root file (NULL: nothing, an empty store), PKI CRL files, CRL
 * bytes from memory, and the revocation policy (0 keeps the default). */
typedef struct trust_spec {
    const char *roots;
    const char *crls[3];
    const uint8_t *crl_mem;
    size_t crl_mem_len;
    uint32_t flags;
} trust_spec;

/* A trust store with ca.pem: alone, with CRL files, with CRL files and a policy. */
#define CA_ONLY {.roots = "ca.pem"}
#define CA_AND(...) {.roots = "ca.pem", .crls = {__VA_ARGS__}}
#define CA_AND_FLAGS(f, ...) {.roots = "ca.pem", .crls = {__VA_ARGS__}, .flags = (f)}

static ember_trust *make_trust(const trust_spec *t)
{
    ember_trust *trust = NULL;
    ember_result rc;
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    if (t->roots)
        CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki(t->roots)));
    for (size_t i = 0; i < sizeof t->crls / sizeof t->crls[0] && t->crls[i]; i++) {
        rc = ember_trust_add_crl_file(trust, pki(t->crls[i]));
        CHECK_MSG(rc == EMBER_OK, "ember_trust_add_crl_file(%s): %s (%s)", t->crls[i],
                  ember_result_name(rc), trust_detail(trust));
    }
    if (t->crl_mem)
        CHECK_RC(EMBER_OK, ember_trust_add_crl(trust, t->crl_mem, t->crl_mem_len));
    if (t->flags)
        CHECK_RC(EMBER_OK, ember_trust_set_revocation(trust, t->flags));
    return trust;
out:
    ember_trust_free(trust);
    return NULL;
}

typedef struct rev_opts {
    const char *cert, *key;  /* the server's PKI chain (<cert>.pem) and key (NULL: <cert>.key) */
    trust_spec client_trust; /* what the client verifies the server with */
    trust_spec server_trust; /* with roots: the server requires client certificates it verifies */
    const char *client_cert; /* the PKI chain the client presents (NULL: none) */
    ember_verify_cb verify;  /* the client's verification callback (NULL: none) */
    void *verify_data;
    uint16_t version; /* both sides use only this version */
} rev_opts;

/* A client and a server in memory mode as o says. The configs and stores are freed here; the
 * connections keep what they need. */
static bool rev_pair(pair *p, const rev_opts *o)
{
    bool ok = false;
    ember_trust *ct = NULL, *st = NULL;
    memset(p, 0, sizeof *p);
    ember_config *sc = server_config(o->cert, o->key, o->version, o->version);
    ember_config *cc = client_config(o->version, o->version, false);
    CHECK(sc != NULL && cc != NULL);
    CHECK((ct = make_trust(&o->client_trust)) != NULL);
    CHECK_RC(EMBER_OK, ember_config_set_trust(cc, ct));
    if (o->server_trust.roots) {
        CHECK((st = make_trust(&o->server_trust)) != NULL);
        CHECK_RC(EMBER_OK, ember_config_set_trust(sc, st));
    }
    if (o->client_cert) {
        char chain[64], key[64];
        snprintf(chain, sizeof chain, "%s.pem", o->client_cert);
        snprintf(key, sizeof key, "%s.key", o->client_cert);
        CHECK_RC(EMBER_OK, ember_config_add_cert_pem_file(cc, pki(chain), pki(key)));
    }
    if (o->verify)
        CHECK_RC(EMBER_OK, ember_config_set_verify_callback(cc, o->verify, o->verify_data));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p->c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p->s));
    ok = true;
out:
    ember_trust_free(ct);
    ember_trust_free(st);
    ember_config_free(sc);
    ember_config_free(cc);
    if (!ok)
        pair_free(p);
    return ok;
}

/* "certificate_revoked (44)": how a detail names an alert. */
static const char *alert_text(uint8_t alert)
{
    static char buf[64];
    snprintf(buf, sizeof buf, "%s (%u)", ember_alert_name(alert), alert);
    return buf;
}

/* ---- the client verifying the server: revocation and chain verdicts ---- */

typedef struct verdict_case {
    const char *name;
    const char *cert, *key; /* the server's chain and key, as rev_opts */
    trust_spec trust;       /* the client's */
    ember_result want;      /* the client's answer */
    uint8_t alert;          /* sent to the server when want is an error */
    const char *has[4];     /* the client's detail contains each */
    const char *crl_dates;  /* a PKI CRL file: the detail gives its first entry's revocation date
                             * ("on DATE") or, for an expired CRL, its nextUpdate */
    uint16_t version;
} verdict_case;

static void case_verdict(const void *arg)
{
    const verdict_case *vc = arg;
    rev_opts o = {.cert = vc->cert, .key = vc->key, .client_trust = vc->trust, .version = vc->version};
    char text[DETAIL_LEN], server_text[DETAIL_LEN];
    uint8_t *crl = NULL;
    pair p;
    CHECK(rev_pair(&p, &o));
    if (vc->want == EMBER_OK) {
        ember_result rc_c, rc_s;
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
        CHECK(exchange(&p));
        goto out;
    }
    CHECK(check_failed_handshake(&p, true, vc->want, EMBER_ERR_ALERT_RECEIVED, vc->alert, text,
                                 server_text));
    CHECK_CONTAINS(server_text, alert_text(vc->alert));
    for (size_t i = 0; i < sizeof vc->has / sizeof vc->has[0] && vc->has[i]; i++)
        CHECK_CONTAINS(text, vc->has[i]);
    if (vc->crl_dates) {
        /* Revoked: the date of the entry; expired: the CRL's nextUpdate. Read from the CRL. */
        char next_update[32], revoked_on[32], want[64];
        size_t len = 0;
        CHECK((crl = pem_file_der(vc->crl_dates, &len)) != NULL);
        CHECK(crl_dates(crl, len, next_update, revoked_on));
        if (vc->want == EMBER_ERR_CERT_REVOKED)
            snprintf(want, sizeof want, "on %s (reason: ", revoked_on);
        else
            snprintf(want, sizeof want, "expired at %s", next_update);
        CHECK_CONTAINS(text, want);
    }
out:
    free(crl);
    pair_free(&p);
}

/* The CRL files of a trust spec, for case names. */
static const char *crl_names(const trust_spec *t)
{
    static char buf[256];
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < 3 && t->crls[i]; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "+" : "", t->crls[i]);
    if (t->crl_mem)
        snprintf(buf + n, sizeof buf - n, "%s(memory)", n ? "+" : "");
    return n || t->crl_mem ? buf : "no CRL";
}

/* The EMBER_REVOCATION_* flags, for case names. */
static const char *flag_names(uint32_t flags)
{
    static char buf[128];
    static const struct {
        uint32_t flag;
        const char *name;
    } names[] = {{EMBER_REVOCATION_END_ENTITY_ONLY, "END_ENTITY_ONLY"},
                 {EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS, "ALLOW_UNKNOWN_STATUS"},
                 {EMBER_REVOCATION_ALLOW_EXPIRED_CRL, "ALLOW_EXPIRED_CRL"}};
    size_t n = 0;
    snprintf(buf, sizeof buf, "strict");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (flags & names[i].flag)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "|" : "", names[i].name);
    return buf;
}

static const verdict_case revocation_base[] = {
    /* Without CRLs nothing is checked: even the revoked certificate passes. */
    {.name = "no CRLs", .cert = "revoked", .trust = CA_ONLY, .want = EMBER_OK},
    /* Every certificate below the root covered by a current CRL, none revoked. */
    {.name = "covered", .cert = "ecdsa-p256", .trust = CA_AND("crls.pem"), .want = EMBER_OK},
    {.name = "revoked leaf", .cert = "revoked", .trust = CA_AND("crls.pem"),
     .want = EMBER_ERR_CERT_REVOKED, .alert = ALERT_CERTIFICATE_REVOKED,
     .has = {"the peer's certificate \"CN=localhost\" (serial 0e:b0:01)",
             "was revoked by \"" INTERMEDIATE "\"", "(reason: KeyCompromise)"},
     .crl_dates = "crl-intermediate.pem"},
    /* END_ENTITY_ONLY still checks the leaf. */
    {.name = "revoked leaf", .cert = "revoked",
     .trust = CA_AND_FLAGS(EMBER_REVOCATION_END_ENTITY_ONLY, "crl-intermediate.pem"),
     .want = EMBER_ERR_CERT_REVOKED, .alert = ALERT_CERTIFICATE_REVOKED,
     .has = {"(serial 0e:b0:01)", "(reason: KeyCompromise)"}, .crl_dates = "crl-intermediate.pem"},
    /* A revoked leaf under an intermediate no CRL covers: webpki checks the chain from the
     * root down and stops at the intermediate's unknown status, but a known revocation is
     * the better verdict (as OpenSSL gives it), so the leaf is reported revoked. The alert
     * stays the one webpki's verdict implies. */
    {.name = "revoked leaf, intermediate uncovered", .cert = "revoked",
     .trust = CA_AND("crl-intermediate.der"), .want = EMBER_ERR_CERT_REVOKED,
     .alert = ALERT_UNKNOWN_CA, .has = {"(serial 0e:b0:01)", "(reason: KeyCompromise)"}},
    /* A revoked leaf whose CRL is absent passes only when unknown status is allowed. */
    {.name = "revoked leaf, its CRL absent", .cert = "revoked",
     .trust = CA_AND_FLAGS(EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS, "crl-root.pem"), .want = EMBER_OK},
    {.name = "revoked intermediate", .cert = "revoked-ica", .trust = CA_AND("crls.pem"),
     .want = EMBER_ERR_CERT_REVOKED, .alert = ALERT_CERTIFICATE_REVOKED,
     .has = {"the intermediate CA certificate \"" REVOKED_ICA "\" (serial 0e:b0:02)",
             "was revoked by \"" ROOT "\"", "(reason: CACompromise)"},
     .crl_dates = "crl-root.pem"},
    /* Only the leaf is checked: its (empty) CRL clears it, the intermediate is not looked at. */
    {.name = "revoked intermediate", .cert = "revoked-ica",
     .trust = CA_AND_FLAGS(EMBER_REVOCATION_END_ENTITY_ONLY, "crls.pem"), .want = EMBER_OK},
    /* The strict default: the intermediate (issued by the root) is covered by no CRL. */
    {.name = "intermediate uncovered", .cert = "ecdsa-p256", .trust = CA_AND("crl-intermediate.pem"),
     .want = EMBER_ERR_CERT_REVOCATION_UNKNOWN, .alert = ALERT_UNKNOWN_CA,
     .has = {"the revocation status of \"" INTERMEDIATE "\"", "its issuer \"" ROOT "\"",
             "EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS"}},
    {.name = "intermediate uncovered", .cert = "ecdsa-p256",
     .trust = CA_AND_FLAGS(EMBER_REVOCATION_END_ENTITY_ONLY, "crl-intermediate.pem"), .want = EMBER_OK},
    {.name = "intermediate uncovered", .cert = "ecdsa-p256",
     .trust = CA_AND_FLAGS(EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS, "crl-intermediate.pem"),
     .want = EMBER_OK},
    /* The leaf's issuer has no CRL: checking the leaf alone does not help. */
    {.name = "leaf uncovered", .cert = "ecdsa-p256", .trust = CA_AND("crl-root.pem"),
     .want = EMBER_ERR_CERT_REVOCATION_UNKNOWN, .alert = ALERT_UNKNOWN_CA,
     .has = {"the revocation status of \"CN=localhost\"", "its issuer \"" INTERMEDIATE "\"",
             "EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS"}},
    {.name = "leaf uncovered", .cert = "ecdsa-p256",
     .trust = CA_AND_FLAGS(EMBER_REVOCATION_END_ENTITY_ONLY, "crl-root.pem"),
     .want = EMBER_ERR_CERT_REVOCATION_UNKNOWN, .alert = ALERT_UNKNOWN_CA,
     .has = {"the revocation status of \"CN=localhost\""}},
    /* An expired CRL: unknown status unless expired CRLs are allowed; allowing unknown status
     * is a different thing and does not let it pass. */
    {.name = "expired CRL", .cert = "ecdsa-p256",
     .trust = CA_AND("crl-intermediate-expired.pem", "crl-root.pem"),
     .want = EMBER_ERR_CERT_REVOCATION_UNKNOWN, .alert = ALERT_UNKNOWN_CA,
     .has = {"the CRL from \"" INTERMEDIATE "\"", "EMBER_REVOCATION_ALLOW_EXPIRED_CRL"},
     .crl_dates = "crl-intermediate-expired.pem"},
    {.name = "expired CRL", .cert = "ecdsa-p256",
     .trust = CA_AND_FLAGS(EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS, "crl-intermediate-expired.pem",
                           "crl-root.pem"),
     .want = EMBER_ERR_CERT_REVOCATION_UNKNOWN, .alert = ALERT_UNKNOWN_CA, .has = {"expired"}},
    {.name = "expired CRL", .cert = "ecdsa-p256",
     .trust = CA_AND_FLAGS(EMBER_REVOCATION_ALLOW_EXPIRED_CRL, "crl-intermediate-expired.pem",
                           "crl-root.pem"),
     .want = EMBER_OK},
    /* The chain's own faults come before revocation: CRLs change nothing for them. */
    {.name = "self-signed with CRLs", .cert = "selfsigned", .trust = CA_AND("crls.pem"),
     .want = EMBER_ERR_CERT_SELF_SIGNED, .alert = ALERT_UNKNOWN_CA, .has = {"self-signed"}},
};

static const verdict_case chain_base[] = {
    /* The three ways webpki's "unknown issuer" comes about, told apart; all send unknown_ca. */
    {.name = "self-signed", .cert = "selfsigned", .trust = CA_ONLY,
     .want = EMBER_ERR_CERT_SELF_SIGNED, .alert = ALERT_UNKNOWN_CA,
     .has = {"\"CN=embertls self-signed\"", "is self-signed"}},
    {.name = "leaf without intermediate", .cert = "ecdsa-p256-leaf", .key = "ecdsa-p256.key",
     .trust = CA_ONLY, .want = EMBER_ERR_CERT_MISSING_INTERMEDIATE, .alert = ALERT_UNKNOWN_CA,
     .has = {"no certificate for \"" INTERMEDIATE "\"", "\"CN=localhost\""}},
    {.name = "untrusted root", .cert = "unknown-ca", .trust = CA_ONLY,
     .want = EMBER_ERR_CERT_UNKNOWN_ISSUER, .alert = ALERT_UNKNOWN_CA,
     .has = {"\"CN=embertls untrusted root\"", "not in the trust store"}},
    /* A leaf for clients only (extendedKeyUsage clientAuth) may not serve. */
    {.name = "client-only leaf", .cert = "clientonly", .trust = CA_ONLY,
     .want = EMBER_ERR_CERT_INVALID_PURPOSE, .alert = ALERT_UNSUPPORTED_CERTIFICATE,
     .has = {"not allowed", "server authentication"}},
    /* Signed with ECDSA P-521/SHA-512, which ring cannot verify, under a trusted P-521 root.
     * rustls sends decrypt_error for a signature algorithm it cannot verify, as for a bad
     * signature. */
    {.name = "P-521 signature", .cert = "p521", .trust = {.roots = "p521-ca.pem"},
     .want = EMBER_ERR_CERT_UNSUPPORTED, .alert = ALERT_DECRYPT_ERROR, .has = {"support"}},
};

enum {
    NREVOCATION = sizeof revocation_base / sizeof revocation_base[0],
    NCHAIN = sizeof chain_base / sizeof chain_base[0],
};

/* ---- a CRL whose signature does not verify ---- */

/* A client trusting ca.pem, crl-root.pem and the CRL `crl` (len bytes) under the policy
 * `flags`, against a server presenting `cert`: the CRL's signature does not verify, so the
 * revocation status is unknown. rustls sends handshake_failure for a CRL it cannot use (not a
 * certificate verdict, so none of the certificate alerts). */
static bool unusable_crl(uint16_t version, const char *cert, const uint8_t *crl, size_t len,
                         uint32_t flags)
{
    trust_spec t = {.roots = "ca.pem", .crls = {"crl-root.pem"}, .crl_mem = crl, .crl_mem_len = len,
                    .flags = flags};
    rev_opts o = {.cert = cert, .client_trust = t, .version = version};
    char text[DETAIL_LEN], server_text[DETAIL_LEN];
    bool ok = false;
    pair p;
    printf("    %s, %s\n", cert, flag_names(flags));
    CHECK(rev_pair(&p, &o));
    CHECK(check_failed_handshake(&p, true, EMBER_ERR_CERT_REVOCATION_UNKNOWN,
                                 EMBER_ERR_ALERT_RECEIVED, ALERT_HANDSHAKE_FAILURE, text,
                                 server_text));
    CHECK_CONTAINS(text, "a CRL in the trust store cannot be used: its signature does not verify");
    ok = true;
out:
    pair_free(&p);
    return ok;
}

/* crl-intermediate.der with the last byte of its signature flipped: it parses, its issuer and
 * entries are intact (it still lists the revoked leaf), only the signature is wrong. It must
 * count for nothing: neither clear the good leaf nor revoke the revoked one (it could have been
 * written by anyone), and allowing unknown status must not turn it into "no CRL". */
static void case_crl_bad_signature(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    size_t len = 0;
    uint8_t *crl = read_file(pki("crl-intermediate.der"), &len);
    CHECK(crl != NULL && len > 0);
    crl[len - 1] ^= 0x01;
    CHECK(unusable_crl(version, "ecdsa-p256", crl, len, 0));
    CHECK(unusable_crl(version, "revoked", crl, len, 0));
    CHECK(unusable_crl(version, "ecdsa-p256", crl, len, EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS));
    CHECK(unusable_crl(version, "revoked", crl, len, EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS));
out:
    free(crl);
}

/* ---- client certificates (mTLS): the server's verdicts ---- */

typedef struct mtls_case {
    const char *name;
    const char *client_cert; /* the PKI chain the client presents */
    trust_spec trust;        /* the server's */
    ember_result want;       /* the server's answer */
    uint8_t alert;           /* what the client hears */
    const char *has[3];      /* the server's detail contains each */
    uint16_t version;
} mtls_case;

static void case_mtls(const void *arg)
{
    const mtls_case *mc = arg;
    rev_opts o = {.cert = "ecdsa-p256", .client_trust = CA_ONLY, .server_trust = mc->trust,
                  .client_cert = mc->client_cert, .version = mc->version};
    ember_result rc_c, rc_s;
    pair p;
    CHECK(rev_pair(&p, &o));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.s, mc->want, rc_s);
    if (mc->want == EMBER_OK) {
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK(exchange(&p));
        goto out;
    }
    printf("    server detail: %s\n", conn_detail(p.s));
    for (size_t i = 0; i < sizeof mc->has / sizeof mc->has[0] && mc->has[i]; i++)
        CHECK_CONTAINS(conn_detail(p.s), mc->has[i]);
    CHECK(client_hears_refusal(p.c, mc->version, rc_c, mc->alert, alert_text(mc->alert)));
out:
    pair_free(&p);
}

static const mtls_case mtls_base[] = {
    {.name = "covered", .client_cert = "ecdsa-p384", .trust = CA_AND("crls.pem"), .want = EMBER_OK},
    {.name = "revoked leaf", .client_cert = "revoked", .trust = CA_AND("crls.pem"),
     .want = EMBER_ERR_CERT_REVOKED, .alert = ALERT_CERTIFICATE_REVOKED,
     .has = {"the peer's certificate \"CN=localhost\" (serial 0e:b0:01)", "(reason: KeyCompromise)"}},
    {.name = "revoked intermediate", .client_cert = "revoked-ica", .trust = CA_AND("crls.pem"),
     .want = EMBER_ERR_CERT_REVOKED, .alert = ALERT_CERTIFICATE_REVOKED,
     .has = {"the intermediate CA certificate \"" REVOKED_ICA "\"", "0e:b0:02"}},
    {.name = "intermediate uncovered", .client_cert = "ecdsa-p384",
     .trust = CA_AND("crl-intermediate.pem"), .want = EMBER_ERR_CERT_REVOCATION_UNKNOWN,
     .alert = ALERT_UNKNOWN_CA, .has = {"\"" INTERMEDIATE "\"", "ALLOW_UNKNOWN_STATUS"}},
    /* A leaf for servers only (extendedKeyUsage serverAuth) may not be a client's. */
    {.name = "server-only leaf", .client_cert = "serveronly", .trust = CA_ONLY,
     .want = EMBER_ERR_CERT_INVALID_PURPOSE, .alert = ALERT_UNSUPPORTED_CERTIFICATE,
     .has = {"not allowed", "client authentication"}},
    {.name = "self-signed", .client_cert = "selfsigned", .trust = CA_ONLY,
     .want = EMBER_ERR_CERT_SELF_SIGNED, .alert = ALERT_UNKNOWN_CA, .has = {"self-signed"}},
};
enum { NMTLS = sizeof mtls_base / sizeof mtls_base[0] };

/* ---- the verification callback: refined verdicts, pinning by key ---- */

typedef struct pin_ctx {
    bool any;           /* accept every chain */
    uint8_t pin[32];    /* else accept a leaf with this SPKI SHA-256 only */
    int calls;
    ember_result verdict;
    size_t chain_len;
    int answer; /* what it returned */
} pin_ctx;

static int pin_verify(void *userdata, const char *server_name, const ember_bytes *chain,
                      size_t chain_len, ember_result verdict, char *reason, size_t reason_len)
{
    pin_ctx *v = userdata;
    uint8_t spki[32];
    (void)server_name;
    v->calls++;
    v->verdict = verdict;
    v->chain_len = chain_len;
    v->answer = 1;
    if (v->any || (chain_len > 0 &&
                   ember_cert_spki_sha256(chain[0].data, chain[0].len, spki) == EMBER_OK &&
                   memcmp(spki, v->pin, sizeof spki) == 0))
        v->answer = 0;
    if (v->answer)
        snprintf(reason, reason_len, "key not pinned");
    return v->answer;
}

typedef struct pin_case {
    const char *name;
    const char *cert, *key; /* the server's */
    trust_spec trust;       /* the client's */
    const char *pin;        /* the PKI file whose certificate's key is pinned */
    ember_result verdict;   /* what the callback must be shown */
    size_t chain_len;       /* and how many certificates */
    bool accepted;
    uint16_t version;
} pin_case;

/* The callback is shown the refined built-in verdict and decides: a pinned key gets in whatever
 * the verdict (even a revoked certificate: the callback replaces the chain decision), anything
 * else is refused with EMBER_ERR_CERT_REJECTED and certificate_unknown (46). */
static void case_pin(const void *arg)
{
    const pin_case *pc = arg;
    pin_ctx v = {0};
    rev_opts o = {.cert = pc->cert, .key = pc->key, .client_trust = pc->trust,
                  .verify = pin_verify, .verify_data = &v, .version = pc->version};
    char text[DETAIL_LEN], server_text[DETAIL_LEN];
    pair p;
    memset(&p, 0, sizeof p);
    CHECK(spki_of_file(pc->pin, v.pin));
    CHECK(rev_pair(&p, &o));
    if (pc->accepted) {
        ember_result rc_c, rc_s;
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
        CHECK(exchange(&p));
    } else {
        CHECK(check_failed_handshake(&p, true, EMBER_ERR_CERT_REJECTED, EMBER_ERR_ALERT_RECEIVED,
                                     ALERT_CERTIFICATE_UNKNOWN, text, server_text));
        CHECK_CONTAINS(text, "key not pinned");
    }
    CHECK_EQ(1, v.calls);
    CHECK_RC(pc->verdict, v.verdict);
    CHECK_EQ(pc->chain_len, v.chain_len);
    CHECK_EQ(pc->accepted ? 0 : 1, v.answer);
out:
    pair_free(&p);
}

static const pin_case pin_base[] = {
    {.name = "self-signed pinned", .cert = "selfsigned", .trust = CA_ONLY, .pin = "selfsigned.pem",
     .verdict = EMBER_ERR_CERT_SELF_SIGNED, .chain_len = 1, .accepted = true},
    /* Pinning needs no root at all. */
    {.name = "self-signed pinned, empty store", .cert = "selfsigned", .trust = {.roots = NULL},
     .pin = "selfsigned.pem", .verdict = EMBER_ERR_CERT_SELF_SIGNED, .chain_len = 1,
     .accepted = true},
    {.name = "self-signed, other pin", .cert = "selfsigned", .trust = CA_AND("crls.pem"),
     .pin = "ecdsa-p256-leaf.pem", .verdict = EMBER_ERR_CERT_SELF_SIGNED, .chain_len = 1},
    {.name = "revoked pinned", .cert = "revoked", .trust = CA_AND("crls.pem"),
     .pin = "revoked-leaf.pem", .verdict = EMBER_ERR_CERT_REVOKED, .chain_len = 2, .accepted = true},
    {.name = "revoked, other pin", .cert = "revoked", .trust = CA_AND("crls.pem"),
     .pin = "selfsigned.pem", .verdict = EMBER_ERR_CERT_REVOKED, .chain_len = 2},
    {.name = "revoked intermediate, other pin", .cert = "revoked-ica", .trust = CA_AND("crls.pem"),
     .pin = "selfsigned.pem", .verdict = EMBER_ERR_CERT_REVOKED, .chain_len = 2},
    {.name = "uncovered, other pin", .cert = "ecdsa-p256", .trust = CA_AND("crl-intermediate.pem"),
     .pin = "selfsigned.pem", .verdict = EMBER_ERR_CERT_REVOCATION_UNKNOWN, .chain_len = 2},
    {.name = "leaf without intermediate, other pin", .cert = "ecdsa-p256-leaf",
     .key = "ecdsa-p256.key", .trust = CA_ONLY, .pin = "selfsigned.pem",
     .verdict = EMBER_ERR_CERT_MISSING_INTERMEDIATE, .chain_len = 1},
    {.name = "verified, other pin", .cert = "ecdsa-p256", .trust = CA_AND("crls.pem"),
     .pin = "selfsigned.pem", .verdict = EMBER_OK, .chain_len = 2},
};
enum { NPIN = sizeof pin_base / sizeof pin_base[0] };

/* ---- the handshake signature, always checked ---- */

/* Flips the last byte of the signature of the one ServerKeyExchange (handshake type 12) in the
 * TLS records queued in q. The records and the messages in them are walked by their headers,
 * and the message's ECDHE layout (RFC 8422 5.4: curve type 3, group, point; then the scheme,
 * the signature's length and the signature) is checked on the way, so the byte flipped is
 * surely the signature's and not the key share's. */
static bool tamper_ske_signature(bytes *q)
{
    uint8_t *w = q->data + q->off;
    int found = 0;
    for (size_t off = 0; off < q->len;) {
        CHECK_MSG(q->len - off >= 5, "a partial record header at %zu of %zu bytes", off, q->len);
        size_t rlen = (size_t)w[off + 3] << 8 | w[off + 4];
        uint8_t *rec = w + off + 5;
        CHECK_MSG(q->len - off - 5 >= rlen, "a partial record at %zu", off);
        for (size_t h = 0; w[off] == 22 && h < rlen;) {
            CHECK_MSG(rlen - h >= 4, "a handshake header split across records");
            size_t hlen = (size_t)rec[h + 1] << 16 | (size_t)rec[h + 2] << 8 | rec[h + 3];
            uint8_t *body = rec + h + 4;
            CHECK_MSG(rlen - h - 4 >= hlen, "a handshake message split across records");
            if (rec[h] == 12) {
                CHECK_MSG(hlen >= 4 && body[0] == 3, "ServerKeyExchange not for a named curve");
                size_t sig_at = 4 + (size_t)body[3];
                CHECK(hlen >= sig_at + 4);
                size_t sig_len = (size_t)body[sig_at + 2] << 8 | body[sig_at + 3];
                CHECK_EQ(hlen, sig_at + 4 + sig_len);
                printf("    ServerKeyExchange: scheme 0x%02x%02x, %zu-byte signature\n", body[sig_at],
                       body[sig_at + 1], sig_len);
                body[hlen - 1] ^= 0x01;
                found++;
            }
            h += 4 + hlen;
        }
        off += 5 + rlen;
    }
    CHECK_EQ(1, found);
    return true;
out:
    return false;
}

/* TLS 1.2, a client whose callback accepts every chain. The server's first flight is caught
 * between the two and, when tampering, the ServerKeyExchange signature altered: the client calls
 * the callback (which accepts), then checks that signature and fails, sending decrypt_error.
 * Untampered, the same setup works: the flipped byte is what fails it. TLS 1.3 has no such test
 * here: its CertificateVerify is encrypted, so a flipped byte fails decryption first. */
static void case_signature(const void *arg)
{
    const char *cert = arg;
    bool self_signed = strcmp(cert, "selfsigned") == 0;
    for (int tamper = 0; tamper <= 1; tamper++) {
        pin_ctx v = {.any = true};
        rev_opts o = {.cert = cert, .client_trust = CA_ONLY, .verify = pin_verify,
                      .verify_data = &v, .version = EMBER_TLS1_2};
        char text[DETAIL_LEN], server_text[DETAIL_LEN];
        ember_result rc_c, rc_s;
        size_t moved = 0;
        pair p;
        CHECK(rev_pair(&p, &o));
        CHECK_CONN_RC(p.c, EMBER_WANT_READ, ember_conn_handshake(p.c));
        CHECK(shuttle(p.c, &p.c2s, p.s, NULL, &moved)); /* ClientHello */
        CHECK_CONN_RC(p.s, EMBER_WANT_READ, ember_conn_handshake(p.s));
        CHECK(drain_into(p.s, &p.s2c)); /* ServerHello .. ServerHelloDone, not fed yet */
        if (tamper) {
            CHECK(tamper_ske_signature(&p.s2c));
            CHECK(check_failed_handshake(&p, true, EMBER_ERR_CERT_BAD_SIGNATURE,
                                         EMBER_ERR_ALERT_RECEIVED, ALERT_DECRYPT_ERROR, text,
                                         server_text));
            /* The detail blames the handshake signature, not the (accepted) chain. */
            CHECK_CONTAINS(text, "ServerKeyExchange signature does not verify");
        } else {
            CHECK(drive_handshake(&p, &rc_c, &rc_s));
            CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
            CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
            CHECK(exchange(&p));
        }
        /* The callback saw the chain first and accepted it. */
        CHECK_EQ(1, v.calls);
        CHECK_EQ(0, v.answer);
        CHECK_RC(self_signed ? EMBER_ERR_CERT_SELF_SIGNED : EMBER_OK, v.verdict);
    out:
        pair_free(&p);
    }
}

/* ---- loading CRLs ---- */

/* ember_trust_crl_count, checked for success. */
#define CHECK_CRLS(want, trust)                                                                \
    do {                                                                                       \
        size_t crls_ = 12345;                                                                  \
        CHECK_RC(EMBER_OK, ember_trust_crl_count((trust), &crls_));                            \
        CHECK_EQ((want), crls_);                                                               \
    } while (0)

/* A client trusting `trust` (ca.pem in it) against a server presenting `cert`: the client's
 * answer must be `want`. The store is frozen afterwards. */
static bool verdict_with(ember_trust *trust, const char *cert, ember_result want)
{
    bool ok = false;
    ember_config *cc = client_config(0, 0, false), *sc = server_config(cert, NULL, 0, 0);
    ember_result rc_c, rc_s;
    pair p = {0};
    CHECK(cc != NULL && sc != NULL);
    CHECK_RC(EMBER_OK, ember_config_set_trust(cc, trust));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p.c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p.s));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_MSG(rc_c == want, "%s: expected %s, got %s (%s)", cert, ember_result_name(want),
              ember_result_name(rc_c), conn_detail(p.c));
    ok = true;
out:
    pair_free(&p);
    ember_config_free(cc);
    ember_config_free(sc);
    return ok;
}

/* DER and PEM, from memory and from files; each CRL kept once, however it came. */
static void case_crl_add(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL, *all = NULL;
    size_t der_len = 0, pem_len = 0, bundle_len = 0;
    uint8_t *der = read_file(pki("crl-intermediate.der"), &der_len);
    uint8_t *pem = read_file(pki("crl-intermediate.pem"), &pem_len);
    uint8_t *bundle = read_file(pki("crls.pem"), &bundle_len);
    CHECK(der && pem && bundle);
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_CRLS(0, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_crl(trust, der, der_len));
    CHECK_CRLS(1, trust);
    /* The same CRL again: as DER, as PEM, from both files. */
    CHECK_RC(EMBER_OK, ember_trust_add_crl(trust, der, der_len));
    CHECK_RC(EMBER_OK, ember_trust_add_crl(trust, pem, pem_len));
    CHECK_RC(EMBER_OK, ember_trust_add_crl_file(trust, pki("crl-intermediate.pem")));
    CHECK_RC(EMBER_OK, ember_trust_add_crl_file(trust, pki("crl-intermediate.der")));
    CHECK_CRLS(1, trust);
    /* crls.pem brings the root's and the revoked intermediate's; the expired CRL is another
     * CRL from the same issuer (different bytes), kept beside the current one. */
    CHECK_RC(EMBER_OK, ember_trust_add_crl_file(trust, pki("crls.pem")));
    CHECK_CRLS(3, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_crl_file(trust, pki("crl-intermediate-expired.pem")));
    CHECK_CRLS(4, trust);
    /* CRLs are not roots. */
    size_t roots = 99;
    CHECK_RC(EMBER_OK, ember_trust_count(trust, &roots));
    CHECK_EQ(0, roots);

    /* The PEM bundle from memory; the caller's buffers are not needed once the calls return:
     * the CRLs loaded from them still revoke. */
    CHECK_RC(EMBER_OK, ember_trust_new(&all));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(all, pki("ca.pem")));
    CHECK_RC(EMBER_OK, ember_trust_add_crl(all, bundle, bundle_len));
    CHECK_CRLS(3, all);
    memset(bundle, 0, bundle_len);
    CHECK(verdict_with(all, "revoked", EMBER_ERR_CERT_REVOKED));
    CHECK(verdict_with(all, "revoked-ica", EMBER_ERR_CERT_REVOKED));
    CHECK(verdict_with(all, "ecdsa-p256", EMBER_OK));
    CHECK_CRLS(3, all); /* counting works on a frozen store */
    ember_trust_free(all);
    all = NULL;

    /* The CRL in DER from memory, then wiped: it revokes, and covers the leaf. */
    CHECK_RC(EMBER_OK, ember_trust_new(&all));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(all, pki("ca.pem")));
    CHECK_RC(EMBER_OK, ember_trust_add_crl(all, der, der_len));
    CHECK_RC(EMBER_OK, ember_trust_set_revocation(all, EMBER_REVOCATION_END_ENTITY_ONLY));
    memset(der, 0, der_len);
    CHECK(verdict_with(all, "revoked", EMBER_ERR_CERT_REVOKED));
    CHECK(verdict_with(all, "ecdsa-p256", EMBER_OK));
out:
    ember_trust_free(trust);
    ember_trust_free(all);
    free(der);
    free(pem);
    free(bundle);
}

/* Input that gives no usable CRL: the exact code, a detail that says what is wrong, nothing
 * added, and the store still usable. */
static void case_crl_bad_input(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL;
    size_t garbage_len = 0, ca_len = 0, der_len = 0, pem_len = 0, cert_len = 0;
    uint8_t *garbage = read_file(pki("garbage.pem"), &garbage_len);
    uint8_t *ca = read_file(pki("ca.pem"), &ca_len);
    uint8_t *der = read_file(pki("crl-intermediate.der"), &der_len);
    uint8_t *pem = read_file(pki("crl-intermediate.pem"), &pem_len);
    uint8_t *cert = read_file(pki("ca.der"), &cert_len);
    uint8_t *mixed = NULL;
    /* A SEQUENCE holding INTEGER 0: DER, but no CRL. As PEM: "MAMCAQA=". */
    static const uint8_t not_crl[] = {0x30, 0x03, 0x02, 0x01, 0x00};
    static const char bad_block[] = "-----BEGIN X509 CRL-----\nMAMCAQA=\n-----END X509 CRL-----\n";
    CHECK(garbage && ca && der && pem && cert);
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_OK, ember_trust_add_crl_file(trust, pki("crl-root.pem")));
    CHECK_CRLS(1, trust);

    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_crl(trust, garbage, garbage_len));
    CHECK_CONTAINS(trust_detail(trust), "PEM");
    printf("    garbage: %s\n", trust_detail(trust));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_crl_file(trust, pki("garbage.pem")));
    CHECK_CONTAINS(trust_detail(trust), "garbage.pem");
    /* PEM, but certificates, not CRLs. */
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_crl(trust, ca, ca_len));
    CHECK_CONTAINS(trust_detail(trust), "no X509 CRL block");
    printf("    ca.pem: %s\n", trust_detail(trust));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_crl_file(trust, pki("ca.pem")));
    CHECK_CONTAINS(trust_detail(trust), "ca.pem");
    CHECK_CONTAINS(trust_detail(trust), "no X509 CRL block");
    /* Empty: no bytes, a NULL pointer with no bytes, whitespace, an empty file. */
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_crl(trust, der, 0));
    CHECK_CONTAINS(trust_detail(trust), "empty");
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_crl(trust, NULL, 0));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_crl(trust, (const uint8_t *)" \n", 2));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_crl_file(trust, pki("empty.pem")));
    CHECK_CONTAINS(trust_detail(trust), "empty");
    /* DER that is not a CRL: a bare SEQUENCE, a certificate, a CRL cut short. */
    CHECK_RC(EMBER_ERR_BAD_CRL, ember_trust_add_crl(trust, not_crl, sizeof not_crl));
    CHECK_CONTAINS(trust_detail(trust), "not a CRL");
    printf("    not a CRL: %s\n", trust_detail(trust));
    CHECK_RC(EMBER_ERR_BAD_CRL, ember_trust_add_crl(trust, cert, cert_len));
    CHECK_RC(EMBER_ERR_BAD_CRL, ember_trust_add_crl(trust, der, der_len / 2));
    CHECK_RC(EMBER_ERR_BAD_CRL, ember_trust_add_crl_file(trust, pki("ca.der")));
    CHECK_CONTAINS(trust_detail(trust), "ca.der");
    /* All or nothing: a good CRL followed by a bad block adds neither. */
    mixed = malloc(pem_len + sizeof bad_block);
    CHECK(mixed != NULL);
    memcpy(mixed, pem, pem_len);
    memcpy(mixed + pem_len, bad_block, sizeof bad_block - 1);
    CHECK_RC(EMBER_ERR_BAD_CRL, ember_trust_add_crl(trust, mixed, pem_len + sizeof bad_block - 1));
    CHECK_CONTAINS(trust_detail(trust), "CRL #2");
    printf("    good + bad: %s\n", trust_detail(trust));
    /* A file that is not there. */
    CHECK_RC(EMBER_ERR_FILE, ember_trust_add_crl_file(trust, pki("no-such-crl.pem")));
    CHECK_CONTAINS(trust_detail(trust), "no-such-crl.pem");
    printf("    missing file: %s\n", trust_detail(trust));
    /* NULL where a pointer is required. */
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_crl(NULL, der, der_len));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_crl(trust, NULL, der_len));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_crl_file(NULL, pki("crl-root.pem")));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_crl_file(trust, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_set_revocation(NULL, 0));
    size_t n = 7;
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_crl_count(NULL, &n));
    CHECK_EQ(7, n);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_crl_count(trust, NULL));
    /* None of it added anything, and the store still takes a good CRL. */
    CHECK_CRLS(1, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_crl(trust, pem, pem_len));
    CHECK_CRLS(2, trust);
out:
    ember_trust_free(trust);
    free(garbage);
    free(ca);
    free(der);
    free(pem);
    free(cert);
    free(mixed);
}

/* Flags that are not EMBER_REVOCATION_* are refused and leave the policy as it was; a later
 * call replaces the policy. */
static void case_revocation_flags(const void *arg)
{
    (void)arg;
    trust_spec t = CA_AND_FLAGS(EMBER_REVOCATION_END_ENTITY_ONLY, "crls.pem");
    ember_trust *trust = make_trust(&t), *strict = NULL;
    CHECK(trust != NULL);
    static const uint32_t bad[] = {8, 0x10, 0x80000000u, 0xffffffffu,
                                   8 | EMBER_REVOCATION_END_ENTITY_ONLY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_RC(EMBER_ERR_INVALID_ARG, ember_trust_set_revocation(trust, bad[i]));
        CHECK_CONTAINS(trust_detail(trust), "unknown revocation flags");
    }
    printf("    %s\n", trust_detail(trust));
    /* Still END_ENTITY_ONLY: the revoked intermediate is not looked at. */
    CHECK(verdict_with(trust, "revoked-ica", EMBER_OK));

    /* Every valid combination is taken; the last one set counts (back to strict here). */
    CHECK((strict = make_trust(&t)) != NULL);
    for (uint32_t flags = 0; flags <= 7; flags++)
        CHECK_RC(EMBER_OK, ember_trust_set_revocation(strict, flags));
    CHECK_RC(EMBER_OK, ember_trust_set_revocation(strict, 0));
    CHECK(verdict_with(strict, "revoked-ica", EMBER_ERR_CERT_REVOKED));
out:
    ember_trust_free(trust);
    ember_trust_free(strict);
}

/* A connection made from a config using the store freezes it: no CRL can be added and the
 * policy cannot change; the count and the CRLs stay as they were. */
static void case_crl_frozen(const void *arg)
{
    (void)arg;
    size_t len = 0;
    uint8_t *der = read_file(pki("crl-intermediate.der"), &len);
    trust_spec t = CA_AND("crl-root.pem");
    ember_trust *trust = make_trust(&t);
    ember_config *cc = client_config(0, 0, false);
    ember_conn *conn = NULL;
    CHECK(der && trust && cc);
    CHECK_RC(EMBER_OK, ember_config_set_trust(cc, trust));
    /* Giving it to a config does not freeze it yet; a connection does. */
    CHECK_RC(EMBER_OK, ember_trust_set_revocation(trust, EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &conn));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_crl(trust, der, len));
    CHECK_CONTAINS(trust_detail(trust), "can no longer change");
    printf("    %s\n", trust_detail(trust));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_crl_file(trust, pki("crl-intermediate.pem")));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_trust_set_revocation(trust, 0));
    CHECK_CONTAINS(trust_detail(trust), "can no longer change");
    CHECK_CRLS(1, trust);
    /* The policy in force is the one set before: the leaf's issuer has no CRL, allowed. */
    CHECK(verdict_with(trust, "revoked", EMBER_OK));
out:
    ember_conn_free(conn);
    ember_config_free(cc);
    ember_trust_free(trust);
    free(der);
}

/* ---- ember_cert_spki_sha256 ---- */

static void case_spki(const void *arg)
{
    (void)arg;
    static const uint8_t abc_sha256[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    static const char *const files[] = {"ecdsa-p256-leaf.pem", "ecdsa-p384-leaf.pem", "rsa-leaf.pem",
                                        "ed25519-leaf.pem", "selfsigned.pem", "ca.pem"};
    enum { NFILES = sizeof files / sizeof files[0] };
    uint8_t got[NFILES][32], again[32], want[32], out[32], md[32];
    uint8_t *der = NULL, *crl = NULL;
    size_t len = 0, crl_len = 0;

    /* The test's own SHA-256 first (FIPS 180-2 example "abc"). */
    sha256((const uint8_t *)"abc", 3, md);
    CHECK(same_bytes("SHA-256(\"abc\")", abc_sha256, md, 32));

    for (size_t i = 0; i < NFILES; i++) {
        der = pem_file_der(files[i], &len);
        CHECK(der != NULL);
        span spki;
        CHECK_MSG(cert_spki(der, len, &spki), "no SubjectPublicKeyInfo found in %s", files[i]);
        sha256(spki.p, (size_t)(spki.end - spki.p), want);
        CHECK_RC(EMBER_OK, ember_cert_spki_sha256(der, len, got[i]));
        CHECK(same_bytes(files[i], want, got[i], 32));
        /* The same certificate, the same 32 bytes. */
        memset(again, 0, sizeof again);
        CHECK_RC(EMBER_OK, ember_cert_spki_sha256(der, len, again));
        CHECK(same_bytes(files[i], got[i], again, 32));
        for (size_t j = 0; j < i; j++)
            CHECK_MSG(memcmp(got[i], got[j], 32) != 0, "%s and %s give the same pin", files[i],
                      files[j]);
        free(der);
        der = NULL;
    }
    /* The leaf at the head of a chain file is the same certificate as the leaf file. */
    CHECK(spki_of_file("ecdsa-p256.pem", again));
    CHECK(same_bytes("ecdsa-p256.pem", got[0], again, 32));

    /* Not a certificate: the output is left alone. */
    der = pem_file_der("ecdsa-p256-leaf.pem", &len);
    crl = read_file(pki("crl-intermediate.der"), &crl_len);
    CHECK(der && crl);
    memset(out, 0xa5, sizeof out);
    memset(want, 0xa5, sizeof want);
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_cert_spki_sha256((const uint8_t *)"garbage", 7, out));
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_cert_spki_sha256(der, len / 2, out));
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_cert_spki_sha256(crl, crl_len, out));
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_cert_spki_sha256(der, 0, out));
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_cert_spki_sha256(NULL, 0, out));
    CHECK(same_bytes("out after failures", want, out, 32));
    /* NULL where a pointer is required. */
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_cert_spki_sha256(der, len, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_cert_spki_sha256(NULL, len, out));
    CHECK(same_bytes("out after NULL_ARG", want, out, 32));
out:
    free(der);
    free(crl);
}

void run_revocation_cases(void)
{
    static verdict_case revocation[2][NREVOCATION], chain[2][NCHAIN];
    static mtls_case mtls[2][NMTLS];
    static pin_case pins[2][NPIN];

    run_case(case_crl_add, NULL, "crl add");
    run_case(case_crl_bad_input, NULL, "crl bad_input");
    run_case(case_revocation_flags, NULL, "crl revocation_flags");
    run_case(case_crl_frozen, NULL, "crl frozen");
    run_case(case_spki, NULL, "cert spki_sha256");
    for (int v = 0; v < 2; v++) {
        const char *vn = ember_protocol_version_name(versions[v]);
        for (int i = 0; i < NREVOCATION; i++) {
            verdict_case *c = &revocation[v][i];
            *c = revocation_base[i];
            c->version = versions[v];
            run_case(case_verdict, c, "revocation %s %s: %s, %s, %s -> %s", vn, c->name, c->cert,
                     crl_names(&c->trust), flag_names(c->trust.flags), ember_result_name(c->want));
        }
        run_case(case_crl_bad_signature, &versions[v], "revocation %s CRL with a bad signature", vn);
        for (int i = 0; i < NCHAIN; i++) {
            verdict_case *c = &chain[v][i];
            *c = chain_base[i];
            c->version = versions[v];
            run_case(case_verdict, c, "chain %s %s: %s -> %s alert %u", vn, c->name, c->cert,
                     ember_result_name(c->want), c->alert);
        }
        for (int i = 0; i < NMTLS; i++) {
            mtls_case *c = &mtls[v][i];
            *c = mtls_base[i];
            c->version = versions[v];
            run_case(case_mtls, c, "revocation mtls %s %s: %s, %s -> %s", vn, c->name,
                     c->client_cert, crl_names(&c->trust), ember_result_name(c->want));
        }
        for (int i = 0; i < NPIN; i++) {
            pin_case *c = &pins[v][i];
            *c = pin_base[i];
            c->version = versions[v];
            run_case(case_pin, c, "verify %s %s: %s, verdict %s", vn, c->name, c->cert,
                     ember_result_name(c->verdict));
        }
    }
    run_case(case_signature, "ecdsa-p256", "verify TLSv1.2 tampered ServerKeyExchange, ecdsa-p256");
    run_case(case_signature, "selfsigned", "verify TLSv1.2 tampered ServerKeyExchange, selfsigned");
}
