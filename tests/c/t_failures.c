/* Handshakes that must fail, with the exact code on each side, the alert on the wire, a detail
 * that explains it, and the error sticking to the dead connection. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* TLS alert numbers (RFC 8446 section 6 / RFC 5246 section 7.2). */
enum {
    ALERT_BAD_CERTIFICATE = 42,
    ALERT_CERTIFICATE_EXPIRED = 45,
    ALERT_UNKNOWN_CA = 48,
    ALERT_DECRYPT_ERROR = 51,
    ALERT_PROTOCOL_VERSION = 70,
};

static const char *vname(uint16_t v) { return v == EMBER_TLS1_3 ? "TLSv1.3" : "TLSv1.2"; }

/* Counts "YYYY-MM-DD" dates in a text and tells whether one of them is in year `year`. */
static int count_dates(const char *s, int year, bool *has_year)
{
    int count = 0;
    *has_year = false;
    for (; *s; s++) {
        const char *p = s;
        bool date = true;
        for (int i = 0; i < 10 && date; i++)
            date = p[i] && ((i == 4 || i == 7) ? p[i] == '-' : isdigit((unsigned char)p[i]));
        if (date) {
            count++;
            if (atoi(p) == year)
                *has_year = true;
            s += 9;
        }
    }
    return count;
}

typedef struct cert_case {
    const char *cert;
    ember_result want;
    uint8_t alert;
    const char *server_name; /* NULL: "localhost" */
    bool builtin_roots;
    const char *detail_has;  /* the detail must contain this */
    const char *detail_has2; /* and this */
    bool dates;              /* the detail must carry the validity date and the current date */
    uint16_t version;
} cert_case;

static void case_cert_failure(const void *arg)
{
    const cert_case *cc = arg;
    char text[DETAIL_LEN], server_text[DETAIL_LEN];
    pair p;
    CHECK(make_pair(&p, &(pair_opts){.cert = cc->cert, .server_name = cc->server_name,
                                     .builtin_roots = cc->builtin_roots, .cmin = cc->version,
                                     .cmax = cc->version}));
    CHECK(EMBER_RESULT_IS_CERT_ERROR(cc->want)); /* the client must answer exactly this */
    CHECK(check_failed_handshake(&p, true, cc->want, EMBER_ERR_ALERT_RECEIVED, cc->alert, text,
                                 server_text));
    if (cc->detail_has)
        CHECK_CONTAINS(text, cc->detail_has);
    if (cc->detail_has2)
        CHECK_CONTAINS(text, cc->detail_has2);
    if (cc->dates) {
        time_t now = time(NULL);
        struct tm tm;
        bool has_year;
        gmtime_r(&now, &tm);
        int dates = count_dates(text, tm.tm_year + 1900, &has_year);
        CHECK_MSG(dates >= 2 && has_year,
                  "detail should give the certificate's date and now (%d, as YYYY-MM-DD): \"%s\"",
                  tm.tm_year + 1900, text);
    }
out:
    pair_free(&p);
}

/* A certificate for 127.0.0.1 (IP SAN) verifies against an IP-literal server name, and the
 * client does not send the IP as SNI (RFC 6066 section 3 allows host names only). */
static void case_ip_literal(const void *arg)
{
    (void)arg;
    ember_result rc_c, rc_s;
    char name[64];
    size_t n = 0;
    pair p;
    CHECK(make_pair(&p, &(pair_opts){.cert = "rsa", .server_name = "127.0.0.1"}));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    /* Defaults on both sides: TLS 1.3. */
    CHECK(check_facts(p.c, EMBER_TLS1_3, 0x1302, 0x001d, "127.0.0.1"));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_server_name(p.s, name, sizeof name, &n));
out:
    pair_free(&p);
}

typedef struct version_case {
    uint16_t client, server;
} version_case;

/* No common version: the server (which chooses) detects it and sends protocol_version; the
 * client, told so by that alert, reports the same cause, with the alert readable. */
static void case_no_shared_version(const void *arg)
{
    const version_case *vc = arg;
    char server_text[DETAIL_LEN], text[DETAIL_LEN];
    pair p;
    CHECK(make_pair(&p, &(pair_opts){.cmin = vc->client, .cmax = vc->client, .smin = vc->server,
                                     .smax = vc->server}));
    CHECK(check_failed_handshake(&p, false, EMBER_ERR_NO_SHARED_VERSION, EMBER_ERR_NO_SHARED_VERSION,
                                 ALERT_PROTOCOL_VERSION, server_text, text));
    CHECK_CONTAINS(text, "protocol_version");
out:
    pair_free(&p);
}

void run_failure_cases(void)
{
    /* The header's example detail: ...not valid for "example.com"; it is valid for other.example */
    static const cert_case base[] = {
        /* RFC 8446 6.2: certificate_expired "has expired or is not currently valid". */
        {"expired", EMBER_ERR_CERT_EXPIRED, ALERT_CERTIFICATE_EXPIRED, NULL, false, NULL, NULL, true, 0},
        {"notyet", EMBER_ERR_CERT_NOT_YET_VALID, ALERT_CERTIFICATE_EXPIRED, NULL, false, NULL, NULL, true, 0},
        {"wronghost", EMBER_ERR_CERT_HOSTNAME_MISMATCH, ALERT_BAD_CERTIFICATE, NULL, false, "\"localhost\"",
         "valid for other.example", false, 0},
        {"wronghost", EMBER_ERR_CERT_HOSTNAME_MISMATCH, ALERT_BAD_CERTIFICATE, "127.0.0.1", false,
         "\"127.0.0.1\"", "valid for other.example", false, 0},
        {"unknown-ca", EMBER_ERR_CERT_UNKNOWN_ISSUER, ALERT_UNKNOWN_CA, NULL, false, NULL, NULL, false, 0},
        /* A chain signature that does not verify is sent as decrypt_error, as OpenSSL
         * (X509_V_ERR_CERT_SIGNATURE_FAILURE) and rustls both do, so peers log the same thing. */
        {"badsig", EMBER_ERR_CERT_BAD_SIGNATURE, ALERT_DECRYPT_ERROR, NULL, false, NULL, NULL, false, 0},
        /* The built-in Mozilla roots do not include our test CA. */
        {"ecdsa-p256", EMBER_ERR_CERT_UNKNOWN_ISSUER, ALERT_UNKNOWN_CA, NULL, true, NULL, NULL, false, 0},
    };
    enum { NBASE = sizeof base / sizeof base[0] };
    static cert_case cases[2][NBASE];
    static const uint16_t versions[2] = {EMBER_TLS1_2, EMBER_TLS1_3};
    static const version_case vcs[] = {
        {EMBER_TLS1_3, EMBER_TLS1_2},
        {EMBER_TLS1_2, EMBER_TLS1_3},
    };

    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < NBASE; i++) {
            cases[v][i] = base[i];
            cases[v][i].version = versions[v];
            run_case(case_cert_failure, &cases[v][i], "cert_failure %s %s%s%s%s -> %s alert %u",
                     vname(versions[v]), base[i].cert, base[i].server_name ? " name=" : "",
                     base[i].server_name ? base[i].server_name : "",
                     base[i].builtin_roots ? " builtin-roots" : "", ember_result_name(base[i].want),
                     base[i].alert);
        }
    }
    run_case(case_ip_literal, NULL, "ip_literal_server_name");
    for (size_t i = 0; i < sizeof vcs / sizeof vcs[0]; i++)
        run_case(case_no_shared_version, &vcs[i], "no_shared_version client=%s server=%s",
                 vname(vcs[i].client), vname(vcs[i].server));
}
