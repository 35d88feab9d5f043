/* Filling a trust store: one DER certificate, a directory of PEM files, the system's roots
 * (through SSL_CERT_FILE), the built-in Mozilla roots; the counts each reports, ember_trust_count,
 * the one copy kept of a root added twice, bad input and a frozen store.
 *
 * The PKI's roots/ directory (tests/all/support.rs, Pki::generate) holds ca.pem, a hashed link to
 * it, unknown-ca.pem (a second CA), three files that give no certificate (empty.pem, garbage.txt,
 * not-a-cert.pem) and a subdirectory that must not be read. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What roots/ gives: two CAs; three files skipped; the link names ca.pem a second time. */
enum { ROOTS_ADDED = 2, ROOTS_SKIPPED = 3 };

/* A client trusting `trust` and a server presenting the PKI chain `cert` ("ecdsa-p256",
 * "unknown-ca", ...) shake hands in memory; *rc_c is the client's answer. The client's config
 * holds its own reference to the store, so the caller keeps and frees `trust`; the store is
 * frozen afterwards. */
static bool handshake_with(ember_trust *trust, const char *cert, ember_result *rc_c)
{
    bool ok = false;
    ember_config *cc = NULL, *sc = server_config(cert, NULL, 0, 0);
    ember_result rc_s;
    pair p = {0};
    CHECK(sc != NULL);
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cc));
    CHECK_RC(EMBER_OK, ember_config_set_trust(cc, trust));
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p.c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p.s));
    CHECK(drive_handshake(&p, rc_c, &rc_s));
    ok = true;
out:
    pair_free(&p);
    ember_config_free(cc);
    ember_config_free(sc);
    return ok;
}

/* handshake_with, expecting the client's answer `want`. */
static bool handshake_gives(ember_trust *trust, const char *cert, ember_result want)
{
    ember_result rc_c = EMBER_WANT_READ;
    CHECK(handshake_with(trust, cert, &rc_c));
    CHECK_MSG(rc_c == want, "handshake with %s: expected %s, got %s", cert, ember_result_name(want),
              ember_result_name(rc_c));
    return true;
out:
    return false;
}

/* ember_trust_count, checked for success. */
#define CHECK_COUNT(want, trust)                                                               \
    do {                                                                                       \
        size_t count_ = 12345;                                                                 \
        CHECK_RC(EMBER_OK, ember_trust_count((trust), &count_));                               \
        CHECK_EQ((want), count_);                                                              \
    } while (0)

/* The root as DER: added, kept once, verifies a chain that leads to it. */
static void case_der(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL;
    size_t len = 0;
    uint8_t *der = read_file(pki("ca.der"), &len);
    CHECK(der != NULL);
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_COUNT(0, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_der(trust, der, len));
    CHECK_COUNT(1, trust);
    /* The same root again, as DER and as PEM: one copy. */
    CHECK_RC(EMBER_OK, ember_trust_add_der(trust, der, len));
    CHECK_COUNT(1, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("ca.pem")));
    CHECK_COUNT(1, trust);
    /* The caller's buffer is not needed once the call returned. */
    memset(der, 0, len);
    CHECK(handshake_gives(trust, "ecdsa-p256", EMBER_OK));
    CHECK(handshake_gives(trust, "unknown-ca", EMBER_ERR_CERT_UNKNOWN_ISSUER));
    CHECK_COUNT(1, trust);
out:
    ember_trust_free(trust);
    free(der);
}

/* Bytes that are not one DER certificate: EMBER_ERR_BAD_CERTIFICATE, nothing added. */
static void case_der_bad(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL;
    size_t len = 0, pem_len = 0;
    uint8_t *der = read_file(pki("ca.der"), &len), *pem = read_file(pki("ca.pem"), &pem_len);
    const uint8_t garbage[] = "this is not a certificate";
    CHECK(der && pem);
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_der(NULL, der, len));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_der(trust, NULL, len));
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_trust_add_der(trust, garbage, sizeof garbage - 1));
    CHECK_CONTAINS(trust_detail(trust), "the DER input is not a valid certificate");
    printf("    garbage DER: %s\n", trust_detail(trust));
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_trust_add_der(trust, der, 0));
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_trust_add_der(trust, NULL, 0));
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_trust_add_der(trust, der, len / 2)); /* cut short */
    CHECK_RC(EMBER_ERR_BAD_CERTIFICATE, ember_trust_add_der(trust, pem, pem_len)); /* PEM, not DER */
    CHECK_COUNT(0, trust);
    CHECK(handshake_gives(trust, "ecdsa-p256", EMBER_ERR_CERT_UNKNOWN_ISSUER));
out:
    ember_trust_free(trust);
    free(der);
    free(pem);
}

/* roots/: what can be used is added, the rest skipped, counted and named in the detail. */
static void case_pem_dir(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL, *t2 = NULL;
    size_t added = 99, skipped = 99;
    char roots[4096];
    snprintf(roots, sizeof roots, "%s", pki("roots"));

    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_dir(trust, roots, &added, &skipped));
    CHECK_EQ(ROOTS_ADDED, added);
    CHECK_EQ(ROOTS_SKIPPED, skipped);
    CHECK_COUNT(ROOTS_ADDED, trust);
    /* Never silent: the detail counts the skipped files and names each with its reason. */
    const char *detail = trust_detail(trust);
    printf("    roots/: %s\n", detail);
    CHECK_CONTAINS(detail, roots);
    CHECK_CONTAINS(detail, "2 certificates added, 1 already held, 3 skipped");
    CHECK_CONTAINS(detail, "garbage.txt contains no PEM block");
    CHECK_CONTAINS(detail, "empty.pem is empty");
    CHECK_CONTAINS(detail, "certificate #1 in ");
    CHECK_CONTAINS(detail, "not-a-cert.pem is not a valid certificate");
    CHECK_MSG(strstr(detail, "subdir") == NULL, "the subdirectory was read: %s", detail);

    /* Again: everything is already held, which is still success. */
    added = skipped = 99;
    CHECK_RC(EMBER_OK, ember_trust_add_pem_dir(trust, roots, &added, &skipped));
    CHECK_EQ(0, added);
    CHECK_EQ(ROOTS_SKIPPED, skipped);
    CHECK_COUNT(ROOTS_ADDED, trust);

    /* A store that holds ca.pem already takes only the other CA. */
    CHECK_RC(EMBER_OK, ember_trust_new(&t2));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(t2, pki("ca.pem")));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_dir(t2, roots, &added, &skipped));
    CHECK_EQ(1, added);
    CHECK_EQ(ROOTS_SKIPPED, skipped);
    CHECK_COUNT(ROOTS_ADDED, t2);

    /* Both CAs verify: our chain, and the other hierarchy through its intermediate. */
    CHECK(handshake_gives(trust, "ecdsa-p256", EMBER_OK));
    CHECK(handshake_gives(trust, "unknown-ca", EMBER_OK));
out:
    ember_trust_free(trust);
    ember_trust_free(t2);
}

/* Writes `text` to dir/name; false (and a check failure) when it cannot. */
static bool write_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECK_MSG(f != NULL, "cannot create %s", path);
    fputs(text, f);
    CHECK_MSG(fclose(f) == 0, "cannot write %s", path);
    return true;
out:
    return false;
}

static void case_pem_dir_bad(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL;
    size_t added = 99, skipped = 99;
    char roots[4096], missing[4096], file[4096], junk[] = "/tmp/embertls-junk-XXXXXX";
    bool made = false;
    snprintf(roots, sizeof roots, "%s", pki("roots"));
    snprintf(missing, sizeof missing, "%s", pki("no-such-dir"));
    snprintf(file, sizeof file, "%s", pki("ca.pem"));
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_pem_dir(NULL, roots, &added, &skipped));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_pem_dir(trust, NULL, &added, &skipped));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_pem_dir(trust, roots, NULL, &skipped));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_pem_dir(trust, roots, &added, NULL));
    CHECK_COUNT(0, trust);

    /* Unreadable directories: EMBER_ERR_FILE, naming the path; the counts are left alone. */
    CHECK_RC(EMBER_ERR_FILE, ember_trust_add_pem_dir(trust, missing, &added, &skipped));
    CHECK_CONTAINS(trust_detail(trust), missing);
    printf("    missing dir: %s\n", trust_detail(trust));
    CHECK_RC(EMBER_ERR_FILE, ember_trust_add_pem_dir(trust, file, &added, &skipped));
    CHECK_CONTAINS(trust_detail(trust), file);
    CHECK_EQ(99, added);
    CHECK_EQ(99, skipped);

    /* Nothing usable: an empty directory, then one with only junk in it. */
    CHECK(mkdtemp(junk) != NULL);
    made = true;
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem_dir(trust, junk, &added, &skipped));
    CHECK_CONTAINS(trust_detail(trust), "holds no certificate");
    CHECK(write_text(junk, "words.pem", "no PEM here\n"));
    CHECK(write_text(junk, "key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem_dir(trust, junk, &added, &skipped));
    printf("    junk dir: %s\n", trust_detail(trust));
    CHECK_CONTAINS(trust_detail(trust), "holds no usable certificate (2 skipped: ");
    CHECK_CONTAINS(trust_detail(trust), "key.pem contains no CERTIFICATE block");
    CHECK_CONTAINS(trust_detail(trust), "words.pem");
    CHECK_EQ(99, added);
    CHECK_COUNT(0, trust);
out:
    if (made) {
        char path[4096];
        snprintf(path, sizeof path, "%s/words.pem", junk);
        unlink(path);
        snprintf(path, sizeof path, "%s/key.pem", junk);
        unlink(path);
        rmdir(junk);
    }
    ember_trust_free(trust);
}

/* The system's roots, pointed at our CA with SSL_CERT_FILE (this case runs in its own process). */
static void case_system(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL;
    size_t added = 99, skipped = 99;
    char missing[4096];
    snprintf(missing, sizeof missing, "%s", pki("no-such-bundle.pem"));
    CHECK(unsetenv("SSL_CERT_DIR") == 0);
    CHECK(setenv("SSL_CERT_FILE", pki("ca.pem"), 1) == 0);
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_system(NULL, &added, &skipped));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_system(trust, NULL, &skipped));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_system(trust, &added, NULL));
    CHECK_COUNT(0, trust);

    /* A bundle that is not there: nothing found, and the detail says where it looked. */
    CHECK(setenv("SSL_CERT_FILE", missing, 1) == 0);
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_system(trust, &added, &skipped));
    printf("    missing bundle: %s\n", trust_detail(trust));
    CHECK_CONTAINS(trust_detail(trust), missing);
    CHECK_EQ(99, added);
    CHECK_COUNT(0, trust);

    CHECK(setenv("SSL_CERT_FILE", pki("ca.pem"), 1) == 0);
    CHECK_RC(EMBER_OK, ember_trust_add_system(trust, &added, &skipped));
    CHECK_EQ(1, added);
    CHECK_EQ(0, skipped);
    CHECK_COUNT(1, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_system(trust, &added, &skipped));
    CHECK_EQ(0, added);
    CHECK_COUNT(1, trust);
    CHECK(handshake_gives(trust, "ecdsa-p256", EMBER_OK));
out:
    ember_trust_free(trust);
}

/* The built-in Mozilla roots: many, and none of them our test CA. */
static void case_builtin(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL, *mixed = NULL;
    size_t added = 0, again = 99, len = 0;
    uint8_t *der = read_file(pki("ca.der"), &len);
    CHECK(der != NULL);
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_builtin(NULL, &added));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_add_builtin(trust, NULL));
    CHECK_COUNT(0, trust);

    CHECK_RC(EMBER_OK, ember_trust_add_builtin(trust, &added));
    printf("    built-in roots: %zu\n", added);
    CHECK_MSG(added > 100, "only %zu built-in roots", added);
    CHECK_COUNT(added, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_builtin(trust, &again));
    CHECK_EQ(0, again);
    CHECK_COUNT(added, trust);
    CHECK(handshake_gives(trust, "ecdsa-p256", EMBER_ERR_CERT_UNKNOWN_ISSUER));

    /* Combined with our own root, both are trusted. */
    CHECK_RC(EMBER_OK, ember_trust_new(&mixed));
    CHECK_RC(EMBER_OK, ember_trust_add_der(mixed, der, len));
    CHECK_RC(EMBER_OK, ember_trust_add_builtin(mixed, &again));
    CHECK_EQ(added, again);
    CHECK_COUNT(added + 1, mixed);
    CHECK(handshake_gives(mixed, "ecdsa-p256", EMBER_OK));
out:
    ember_trust_free(trust);
    ember_trust_free(mixed);
    free(der);
}

/* ember_trust_count shows what the all-or-nothing PEM calls took. */
static void case_count(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL;
    size_t n = 0, ca_len = 0;
    uint8_t *ca = read_file(pki("ca.pem"), &ca_len);
    CHECK(ca != NULL);
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_count(NULL, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_trust_count(trust, NULL));
    CHECK_COUNT(0, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("rsa.pem"))); /* leaf + intermediate */
    CHECK_COUNT(2, trust);
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem(trust, ca, ca_len / 2));
    CHECK_RC(EMBER_ERR_BAD_PEM, ember_trust_add_pem_file(trust, pki("garbage.pem")));
    CHECK_COUNT(2, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_pem(trust, ca, ca_len));
    CHECK_COUNT(3, trust);
    /* A bundle holding a root already present adds only the new one. */
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("unknown-ca.pem")));
    CHECK_COUNT(5, trust);
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("ecdsa-p256.pem")));
    CHECK_COUNT(6, trust); /* its intermediate came with rsa.pem */
out:
    ember_trust_free(trust);
    free(ca);
}

/* Once a connection uses the store every way in is refused; counting still works. */
static void case_frozen(const void *arg)
{
    (void)arg;
    ember_trust *trust = NULL;
    size_t added = 99, skipped = 99, len = 0;
    uint8_t *der = read_file(pki("ca.der"), &len);
    CHECK(der != NULL);
    CHECK(setenv("SSL_CERT_FILE", pki("ca.pem"), 1) == 0);
    CHECK(unsetenv("SSL_CERT_DIR") == 0);
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("ca.pem")));
    CHECK(handshake_gives(trust, "ecdsa-p256", EMBER_OK));

    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_der(trust, der, len));
    CHECK_CONTAINS(trust_detail(trust), "can no longer change");
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_pem_dir(trust, pki("roots"), &added, &skipped));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_system(trust, &added, &skipped));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_trust_add_builtin(trust, &added));
    CHECK_EQ(99, added);
    CHECK_EQ(99, skipped);
    CHECK_COUNT(1, trust);
out:
    ember_trust_free(trust);
    free(der);
}

void run_trust_cases(void)
{
    run_case(case_der, NULL, "trust der");
    run_case(case_der_bad, NULL, "trust der bad_input");
    run_case(case_pem_dir, NULL, "trust pem_dir");
    run_case(case_pem_dir_bad, NULL, "trust pem_dir bad_input");
    run_case(case_system, NULL, "trust system SSL_CERT_FILE");
    run_case(case_builtin, NULL, "trust builtin");
    run_case(case_count, NULL, "trust count");
    run_case(case_frozen, NULL, "trust frozen");
}
