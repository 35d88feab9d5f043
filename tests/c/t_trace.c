/* Observability: the handshake trace (ember_config_set_trace_callback, ember_trace_step_name),
 * the NSS key log (ember_config_set_keylog_callback, ember_config_set_sslkeylogfile) and the
 * engine's log records (ember_log_set_callback).
 *
 * Each callback records into a table, and the cases check the table against what the
 * connection itself reports (ember_conn_id, the negotiated suite and group, the handshake
 * duration, ember_conn_last_error) and against the other side's table. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint16_t VERSIONS[] = {EMBER_TLS1_2, EMBER_TLS1_3};

static const char *vname(uint16_t v) { return v == EMBER_TLS1_3 ? "TLSv1.3" : "TLSv1.2"; }

enum { ALERT_CERTIFICATE_EXPIRED = 45 };

/* The secrets a full handshake derives, by their NSS key-log labels. */
static const char *const LABELS13[] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                                       "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0",
                                       "EXPORTER_SECRET"};
static const char *const LABELS12[] = {"CLIENT_RANDOM"};

/* ---- the trace recorder ---- */

enum { MAX_EVENTS = 256, TEXT_MAX = 1024 };

typedef struct trace_event {
    uint64_t id, time_ns;
    ember_trace_step step;
    char text[TEXT_MAX];
} trace_event;

typedef struct trace_log {
    trace_event ev[MAX_EVENTS];
    size_t n;
    bool overflow; /* an event did not fit, or its text was cut */
} trace_log;

static trace_log g_trace;

static void on_trace(void *ud, uint64_t id, uint64_t time_ns, ember_trace_step step, const char *text)
{
    trace_log *log = ud;
    if (log->n == MAX_EVENTS || !text || strlen(text) >= TEXT_MAX) {
        log->overflow = true;
        return;
    }
    trace_event *e = &log->ev[log->n++];
    e->id = id;
    e->time_ns = time_ns;
    e->step = step;
    snprintf(e->text, sizeof e->text, "%s", text);
}

static void print_events(const trace_log *log, uint64_t id)
{
    for (size_t i = 0; i < log->n; i++)
        if (log->ev[i].id == id)
            printf("      [%llu] %llu %s: %s\n", (unsigned long long)id,
                   (unsigned long long)log->ev[i].time_ns, ember_trace_step_name(log->ev[i].step),
                   log->ev[i].text);
}

static size_t count_steps(const trace_log *log, uint64_t id, ember_trace_step step)
{
    size_t n = 0;
    for (size_t i = 0; i < log->n; i++)
        n += log->ev[i].id == id && log->ev[i].step == step;
    return n;
}

/* The first event of connection id with this step (NULL: none). */
static const trace_event *first_step(const trace_log *log, uint64_t id, ember_trace_step step)
{
    for (size_t i = 0; i < log->n; i++)
        if (log->ev[i].id == id && log->ev[i].step == step)
            return &log->ev[i];
    return NULL;
}

static const trace_event *last_event(const trace_log *log, uint64_t id)
{
    const trace_event *last = NULL;
    for (size_t i = 0; i < log->n; i++)
        if (log->ev[i].id == id)
            last = &log->ev[i];
    return last;
}

/* The text of the only event of connection id with this step; a check failure when there is
 * not exactly one. */
static const char *only_text(const trace_log *log, uint64_t id, ember_trace_step step)
{
    size_t n = count_steps(log, id, step);
    CHECK_MSG(n == 1, "connection %llu: %zu %s events, expected 1", (unsigned long long)id, n,
              ember_trace_step_name(step));
    return first_step(log, id, step)->text;
out:
    return "";
}

/* The steps of connection id include `want` in this order (others may come between). */
static bool steps_in_order(const trace_log *log, uint64_t id, const ember_trace_step *want, size_t n)
{
    size_t at = 0;
    for (size_t i = 0; i < log->n && at < n; i++)
        if (log->ev[i].id == id && log->ev[i].step == want[at])
            at++;
    if (at < n) {
        check_failed(__FILE__, __LINE__, "connection %llu: no %s after the earlier steps",
                     (unsigned long long)id, ember_trace_step_name(want[at]));
        print_events(log, id);
        return false;
    }
    return true;
}

/* Every event belongs to one of the two connections, nothing overflowed, and time never goes
 * back: per connection, and across the whole log, which one thread filled in call order. */
static bool well_formed(const trace_log *log, const uint64_t ids[2])
{
    CHECK(!log->overflow);
    CHECK(log->n > 0);
    for (size_t i = 0; i < log->n; i++) {
        const trace_event *e = &log->ev[i];
        CHECK_MSG(e->id == ids[0] || e->id == ids[1],
                  "event %zu (%s) has conn_id %llu, not %llu or %llu", i,
                  ember_trace_step_name(e->step), (unsigned long long)e->id,
                  (unsigned long long)ids[0], (unsigned long long)ids[1]);
        CHECK_MSG(ember_trace_step_name(e->step) != NULL, "event %zu has step %d", i, (int)e->step);
        CHECK_MSG(e->text[0] != '\0', "event %zu (%s) has no text", i, ember_trace_step_name(e->step));
        if (i > 0)
            CHECK_MSG(e->time_ns >= log->ev[i - 1].time_ns,
                      "event %zu (%s) at %llu ns comes after one at %llu ns", i,
                      ember_trace_step_name(e->step), (unsigned long long)e->time_ns,
                      (unsigned long long)log->ev[i - 1].time_ns);
    }
    return true;
out:
    return false;
}

/* Both configs trace into g_trace. */
static bool traced_configs(uint16_t v, const char *cert, ember_config **cc, ember_config **sc)
{
    memset(&g_trace, 0, sizeof g_trace);
    *sc = server_config(cert, NULL, v, v);
    *cc = client_config(v, v, true);
    CHECK(*sc != NULL && *cc != NULL);
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(*cc, on_trace, &g_trace));
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(*sc, on_trace, &g_trace));
    return true;
out:
    return false;
}

/* The duration of conn's handshake as the COMPLETE text writes it: "<ms>.<us> ms". */
static void duration_text(const ember_conn *conn, char *buf, size_t len)
{
    uint64_t ns = 0;
    buf[0] = '\0';
    if (ember_conn_handshake_ns(conn, &ns) == EMBER_OK)
        snprintf(buf, len, " in %llu.%03llu ms", (unsigned long long)(ns / 1000000),
                 (unsigned long long)(ns / 1000 % 1000));
}

/* A full handshake, then a resumed one, traced on both sides. In a full handshake the client
 * reports each step once and in protocol order (TLS 1.2 reads the ServerKeyExchange with the
 * ServerHello's flight, before the chain is verified, so KEY_EXCHANGE comes before
 * CERTIFICATE_RECEIVED there; its master secret is derived after the signature check). The
 * server reports the secrets it derives while handling the ClientHello before its ServerHello
 * is seen leaving: the hello is scanned from the bytes the engine queues afterwards. */
static void case_trace_handshake(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    bool tls13 = v == EMBER_TLS1_3;
    ember_config *cc = NULL, *sc = NULL;
    pair p = {0};
    ember_result rc_c, rc_s;
    uint64_t ids[2] = {0};
    uint16_t suite = 0, group = 0;
    int rc = -1, rs = -1;
    char c_ms[64], s_ms[64], want[128];
    bool done = false;
    CHECK(traced_configs(v, "ecdsa-p256", &cc, &sc));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK_RC(EMBER_OK, ember_conn_id(p.c, &ids[0]));
    CHECK_RC(EMBER_OK, ember_conn_id(p.s, &ids[1]));
    /* The client's hello was queued by ember_conn_new, and reported then. */
    CHECK_EQ(1, g_trace.n);
    CHECK_EQ(EMBER_TRACE_CLIENT_HELLO_SENT, g_trace.ev[0].step);
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK_RC(EMBER_OK, ember_conn_cipher_suite(p.c, &suite));
    CHECK_RC(EMBER_OK, ember_conn_kx_group(p.c, &group));
    duration_text(p.c, c_ms, sizeof c_ms);
    duration_text(p.s, s_ms, sizeof s_ms);
    CHECK(exchange(&p)); /* nothing traced after the handshake */
    pair_free(&p);
    CHECK(well_formed(&g_trace, ids));

    static const ember_trace_step client13[] = {
        EMBER_TRACE_CLIENT_HELLO_SENT, EMBER_TRACE_SERVER_HELLO_RECEIVED, EMBER_TRACE_KEY_EXCHANGE,
        EMBER_TRACE_KEYS_DERIVED, EMBER_TRACE_CERTIFICATE_RECEIVED, EMBER_TRACE_CERTIFICATE_CHECK,
        EMBER_TRACE_SIGNATURE_VERIFIED, EMBER_TRACE_FINISHED, EMBER_TRACE_COMPLETE};
    static const ember_trace_step client12[] = {
        EMBER_TRACE_CLIENT_HELLO_SENT, EMBER_TRACE_SERVER_HELLO_RECEIVED, EMBER_TRACE_KEY_EXCHANGE,
        EMBER_TRACE_CERTIFICATE_RECEIVED, EMBER_TRACE_CERTIFICATE_CHECK, EMBER_TRACE_SIGNATURE_VERIFIED,
        EMBER_TRACE_KEYS_DERIVED, EMBER_TRACE_FINISHED, EMBER_TRACE_COMPLETE};
    static const ember_trace_step server[] = {
        EMBER_TRACE_CLIENT_HELLO_RECEIVED, EMBER_TRACE_SERVER_HELLO_SENT, EMBER_TRACE_KEY_EXCHANGE,
        EMBER_TRACE_FINISHED, EMBER_TRACE_COMPLETE};
    CHECK(steps_in_order(&g_trace, ids[0], tls13 ? client13 : client12, 9));
    CHECK(steps_in_order(&g_trace, ids[1], server, 5));
    CHECK_EQ(0, count_steps(&g_trace, ids[0], EMBER_TRACE_FAILED));
    CHECK_EQ(0, count_steps(&g_trace, ids[1], EMBER_TRACE_FAILED));
    CHECK_EQ(EMBER_TRACE_COMPLETE, last_event(&g_trace, ids[0])->step);
    CHECK_EQ(EMBER_TRACE_COMPLETE, last_event(&g_trace, ids[1])->step);
    /* A server without client authentication verifies no chain. */
    CHECK_EQ(0, count_steps(&g_trace, ids[1], EMBER_TRACE_CERTIFICATE_RECEIVED));
    CHECK_EQ(0, count_steps(&g_trace, ids[1], EMBER_TRACE_SIGNATURE_VERIFIED));

    /* What each step says. The server read the hello the client sent, and the client the
     * ServerHello the server sent: same bytes, same text. */
    const char *hello = only_text(&g_trace, ids[0], EMBER_TRACE_CLIENT_HELLO_SENT);
    CHECK_STR(hello, only_text(&g_trace, ids[1], EMBER_TRACE_CLIENT_HELLO_RECEIVED));
    CHECK_CONTAINS(hello, tls13 ? "versions TLSv1.3" : "versions TLSv1.2");
    CHECK_CONTAINS(hello, "X25519");
    CHECK_CONTAINS(hello, "server_name localhost");
    CHECK(strstr(hello, "alpn") == NULL && strstr(hello, "offers resumption") == NULL);
    if (tls13)
        CHECK_CONTAINS(hello, "key shares X25519");
    const char *sh = only_text(&g_trace, ids[0], EMBER_TRACE_SERVER_HELLO_RECEIVED);
    CHECK_STR(sh, only_text(&g_trace, ids[1], EMBER_TRACE_SERVER_HELLO_SENT));
    snprintf(want, sizeof want, "%s %s", vname(v), ember_cipher_suite_name(suite));
    CHECK_STR(want, sh); /* e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384": not resuming */
    const char *kx = only_text(&g_trace, ids[0], EMBER_TRACE_KEY_EXCHANGE);
    CHECK_STR(kx, only_text(&g_trace, ids[1], EMBER_TRACE_KEY_EXCHANGE));
    CHECK_CONTAINS(kx, ember_group_name(group));
    CHECK_CONTAINS(kx, tls13 ? "key share" : "ServerKeyExchange");
    const char *chain = only_text(&g_trace, ids[0], EMBER_TRACE_CERTIFICATE_RECEIVED);
    CHECK_CONTAINS(chain, "2 certificate");
    CHECK_CONTAINS(chain, "CN=localhost");
    CHECK_CONTAINS(chain, "CN=embertls test intermediate");
    bool host_checked = false;
    for (size_t i = 0; i < g_trace.n; i++)
        if (g_trace.ev[i].id == ids[0] && g_trace.ev[i].step == EMBER_TRACE_CERTIFICATE_CHECK) {
            CHECK(strstr(g_trace.ev[i].text, "failed") == NULL);
            host_checked |= strstr(g_trace.ev[i].text, "host name \"localhost\": ok") != NULL;
        }
    CHECK_MSG(host_checked, "no CERTIFICATE_CHECK says the host name \"localhost\" is ok");
    CHECK_CONTAINS(only_text(&g_trace, ids[0], EMBER_TRACE_SIGNATURE_VERIFIED),
                   tls13 ? "CertificateVerify" : "ServerKeyExchange");
    /* Secrets by name, each once per side: the five TLS 1.3 secrets, the TLS 1.2 master. */
    size_t nlabels = tls13 ? 5 : 1;
    for (int side = 0; side < 2; side++) {
        CHECK_EQ(nlabels, count_steps(&g_trace, ids[side], EMBER_TRACE_KEYS_DERIVED));
        for (size_t l = 0; l < nlabels; l++) {
            char named[64];
            size_t found = 0;
            snprintf(named, sizeof named, "(%s)", tls13 ? LABELS13[l] : LABELS12[l]);
            for (size_t i = 0; i < g_trace.n; i++)
                found += g_trace.ev[i].id == ids[side] && g_trace.ev[i].step == EMBER_TRACE_KEYS_DERIVED &&
                         strstr(g_trace.ev[i].text, named) != NULL;
            CHECK_MSG(found == 1, "%s: %zu KEYS_DERIVED events name %s", side ? "server" : "client",
                      found, named);
        }
    }
    CHECK_STR("server Finished verified; client Finished sent",
              only_text(&g_trace, ids[0], EMBER_TRACE_FINISHED));
    CHECK_STR("client Finished verified; server Finished sent",
              only_text(&g_trace, ids[1], EMBER_TRACE_FINISHED));
    /* COMPLETE gives the duration ember_conn_handshake_ns reports. */
    snprintf(want, sizeof want, "full handshake%s", c_ms);
    CHECK_STR(want, only_text(&g_trace, ids[0], EMBER_TRACE_COMPLETE));
    snprintf(want, sizeof want, "full handshake%s", s_ms);
    CHECK_STR(want, only_text(&g_trace, ids[1], EMBER_TRACE_COMPLETE));

    /* Resumed: offered in the hello, accepted (the ServerHello says so: TLS 1.3 with
     * pre_shared_key, TLS 1.2 by echoing the client's session id), no chain and no handshake
     * signature, and COMPLETE says so on both sides. */
    memset(&g_trace, 0, sizeof g_trace);
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, ids));
    CHECK(rc == 1 && rs == 1);
    CHECK(well_formed(&g_trace, ids));
    CHECK_CONTAINS(only_text(&g_trace, ids[0], EMBER_TRACE_CLIENT_HELLO_SENT),
                   tls13 ? "offers resumption (pre_shared_key)" : "offers resumption (session ticket)");
    sh = only_text(&g_trace, ids[0], EMBER_TRACE_SERVER_HELLO_RECEIVED);
    CHECK_CONTAINS(sh, "(resuming a session)");
    CHECK_EQ(0, count_steps(&g_trace, ids[0], EMBER_TRACE_CERTIFICATE_RECEIVED));
    CHECK_EQ(0, count_steps(&g_trace, ids[0], EMBER_TRACE_CERTIFICATE_CHECK));
    CHECK_EQ(0, count_steps(&g_trace, ids[0], EMBER_TRACE_SIGNATURE_VERIFIED));
    /* TLS 1.2 resumes without a new key exchange; TLS 1.3 (psk_dhe_ke) makes one. */
    CHECK_EQ(tls13 ? 1 : 0, count_steps(&g_trace, ids[0], EMBER_TRACE_KEY_EXCHANGE));
    CHECK_CONTAINS(only_text(&g_trace, ids[0], EMBER_TRACE_COMPLETE), "resumed session in ");
    CHECK_CONTAINS(only_text(&g_trace, ids[1], EMBER_TRACE_COMPLETE), "resumed session in ");
    done = true;
out:
    if (!done) {
        print_events(&g_trace, ids[0]);
        print_events(&g_trace, ids[1]);
    }
    pair_free(&p);
    ember_config_free(cc);
    ember_config_free(sc);
}

/* A handshake that fails (the server's certificate has expired): each side's trace ends with
 * one FAILED event whose text is the detail ember_conn_last_error gives, the client's after the
 * certificate check that failed; nothing finishes, and the calls that find the connection dead
 * afterwards report no second failure. */
static void case_trace_failed(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    ember_config *cc = NULL, *sc = NULL;
    pair p = {0};
    uint64_t ids[2] = {0};
    char texts[2][DETAIL_LEN];
    bool done = false;
    CHECK(traced_configs(v, "expired", &cc, &sc));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK_RC(EMBER_OK, ember_conn_id(p.c, &ids[0]));
    CHECK_RC(EMBER_OK, ember_conn_id(p.s, &ids[1]));
    CHECK(check_failed_handshake(&p, true, EMBER_ERR_CERT_EXPIRED, EMBER_ERR_ALERT_RECEIVED,
                                 ALERT_CERTIFICATE_EXPIRED, texts[0], texts[1]));
    CHECK(well_formed(&g_trace, ids));
    for (int side = 0; side < 2; side++) {
        const trace_event *last = last_event(&g_trace, ids[side]);
        CHECK(last != NULL);
        CHECK_EQ(EMBER_TRACE_FAILED, last->step);
        CHECK_STR(texts[side], last->text);
        CHECK_EQ(1, count_steps(&g_trace, ids[side], EMBER_TRACE_FAILED));
        CHECK_EQ(0, count_steps(&g_trace, ids[side], EMBER_TRACE_FINISHED));
        CHECK_EQ(0, count_steps(&g_trace, ids[side], EMBER_TRACE_COMPLETE));
    }
    static const ember_trace_step client[] = {
        EMBER_TRACE_CLIENT_HELLO_SENT, EMBER_TRACE_SERVER_HELLO_RECEIVED,
        EMBER_TRACE_CERTIFICATE_RECEIVED, EMBER_TRACE_CERTIFICATE_CHECK, EMBER_TRACE_FAILED};
    CHECK(steps_in_order(&g_trace, ids[0], client, 5));
    /* The failed check is the one right before FAILED, and names the failure. */
    const trace_event *last = last_event(&g_trace, ids[0]);
    CHECK_EQ(EMBER_TRACE_CERTIFICATE_CHECK, (last - 1)->step);
    CHECK_CONTAINS((last - 1)->text, "failed");
    CHECK_CONTAINS((last - 1)->text, texts[0]);
    CHECK_EQ(0, count_steps(&g_trace, ids[0], EMBER_TRACE_SIGNATURE_VERIFIED));
    done = true;
out:
    if (!done) {
        print_events(&g_trace, ids[0]);
        print_events(&g_trace, ids[1]);
    }
    pair_free(&p);
    ember_config_free(cc);
    ember_config_free(sc);
}

/* The ClientHello's text lists the protocols offered with ALPN, on both sides. */
static void case_trace_alpn(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    const char *offered[] = {"h2", "http/1.1"}, *accepted[] = {"http/1.1"};
    ember_config *cc = NULL, *sc = NULL;
    uint64_t ids[2] = {0};
    int rc = -1, rs = -1;
    CHECK(traced_configs(v, "ecdsa-p256", &cc, &sc));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(cc, offered, 2));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(sc, accepted, 1));
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, ids));
    CHECK(well_formed(&g_trace, ids));
    CHECK_CONTAINS(only_text(&g_trace, ids[0], EMBER_TRACE_CLIENT_HELLO_SENT), "; alpn h2,http/1.1");
    CHECK_CONTAINS(only_text(&g_trace, ids[1], EMBER_TRACE_CLIENT_HELLO_RECEIVED), "; alpn h2,http/1.1");
out:
    ember_config_free(cc);
    ember_config_free(sc);
}

static void case_trace_step_names(const void *arg)
{
    (void)arg;
    static const struct {
        ember_trace_step step;
        const char *name;
    } steps[] = {
        {EMBER_TRACE_CLIENT_HELLO_SENT, "CLIENT_HELLO_SENT"},
        {EMBER_TRACE_CLIENT_HELLO_RECEIVED, "CLIENT_HELLO_RECEIVED"},
        {EMBER_TRACE_SERVER_HELLO_SENT, "SERVER_HELLO_SENT"},
        {EMBER_TRACE_SERVER_HELLO_RECEIVED, "SERVER_HELLO_RECEIVED"},
        {EMBER_TRACE_KEY_EXCHANGE, "KEY_EXCHANGE"},
        {EMBER_TRACE_KEYS_DERIVED, "KEYS_DERIVED"},
        {EMBER_TRACE_CERTIFICATE_RECEIVED, "CERTIFICATE_RECEIVED"},
        {EMBER_TRACE_CERTIFICATE_CHECK, "CERTIFICATE_CHECK"},
        {EMBER_TRACE_SIGNATURE_VERIFIED, "SIGNATURE_VERIFIED"},
        {EMBER_TRACE_FINISHED, "FINISHED"},
        {EMBER_TRACE_COMPLETE, "COMPLETE"},
        {EMBER_TRACE_FAILED, "FAILED"},
    };
    /* The values are fixed by the header: 1 to 12, in this order. */
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        CHECK_EQ(i + 1, steps[i].step);
        CHECK_STR(steps[i].name, ember_trace_step_name(steps[i].step));
    }
    CHECK(ember_trace_step_name(0) == NULL);
    CHECK(ember_trace_step_name(13) == NULL);
    CHECK(ember_trace_step_name(UINT32_MAX) == NULL);
out:;
}

/* Only traced configs report; a callback set and then removed reports nothing; NULL and a
 * frozen config are refused. */
static void case_trace_config(const void *arg)
{
    (void)arg;
    ember_config *cc = client_config(0, 0, true), *quiet = client_config(0, 0, true);
    ember_config *sc = server_config("ecdsa-p256", NULL, 0, 0);
    uint64_t ids[2] = {0};
    int rc = -1, rs = -1;
    memset(&g_trace, 0, sizeof g_trace);
    CHECK(cc && quiet && sc);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_trace_callback(NULL, on_trace, &g_trace));
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(cc, on_trace, &g_trace));
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(quiet, on_trace, &g_trace));
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(quiet, NULL, NULL));

    CHECK(connect_once(quiet, sc, "localhost", &rc, &rs, ids));
    CHECK_EQ(0, g_trace.n);
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, ids));
    CHECK(g_trace.n > 0);
    for (size_t i = 0; i < g_trace.n; i++)
        CHECK_EQ(ids[0], g_trace.ev[i].id); /* the client's events only */
    CHECK_EQ(1, count_steps(&g_trace, ids[0], EMBER_TRACE_COMPLETE));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_trace_callback(cc, NULL, NULL));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_trace_callback(sc, on_trace, &g_trace));
out:
    ember_config_free(cc);
    ember_config_free(quiet);
    ember_config_free(sc);
}

/* ---- the key log ---- */

enum { MAX_LINES = 32, LINE_MAX = 512 };

typedef struct key_log {
    char lines[MAX_LINES][LINE_MAX];
    size_t n;
    bool overflow;
} key_log;

static void on_keylog(void *ud, const char *line)
{
    key_log *kl = ud;
    if (kl->n == MAX_LINES || !line || strlen(line) >= LINE_MAX) {
        kl->overflow = true;
        return;
    }
    snprintf(kl->lines[kl->n++], LINE_MAX, "%s", line);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
            return false;
    return true;
}

/* One NSS key log line: "LABEL <client random: 32 bytes, hex> <secret: secret_len bytes, hex>".
 * The label goes to label (64 bytes), the client random's hex to random (65 bytes). */
static bool parse_line(const char *line, size_t secret_len, char *label, char *random)
{
    const char *sp1 = strchr(line, ' '), *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
    CHECK_MSG(sp1 && sp2 && sp1 > line && (size_t)(sp1 - line) < 64, "not \"LABEL random secret\": %s", line);
    snprintf(label, 64, "%.*s", (int)(sp1 - line), line);
    CHECK_MSG(sp2 - sp1 - 1 == 64 && is_hex(sp1 + 1, 64), "client random is not 64 hex digits: %s", line);
    snprintf(random, 65, "%.64s", sp1 + 1);
    CHECK_MSG(strlen(sp2 + 1) == 2 * secret_len && is_hex(sp2 + 1, 2 * secret_len),
              "secret is not %zu hex digits: %s", 2 * secret_len, line);
    return true;
out:
    return false;
}

/* The line of kl with this label (NULL: none; a check failure when there are several). */
static const char *line_for(const key_log *kl, const char *label)
{
    const char *found = NULL;
    size_t len = strlen(label);
    for (size_t i = 0; i < kl->n; i++)
        if (strncmp(kl->lines[i], label, len) == 0 && kl->lines[i][len] == ' ') {
            CHECK_MSG(found == NULL, "two %s lines", label);
            found = kl->lines[i];
        }
    return found;
out:
    return NULL;
}

/* The client's lines are exactly one per expected label, well formed, all with one client
 * random (written to random), and the server logged the very same line for each. */
static bool client_lines_match(const key_log *kc, const key_log *ks, uint16_t v, char *random)
{
    const char *const *labels = v == EMBER_TLS1_3 ? LABELS13 : LABELS12;
    size_t n = v == EMBER_TLS1_3 ? 5 : 1;
    char label[64], rnd[65];
    CHECK(!kc->overflow && !ks->overflow);
    CHECK_EQ(n, kc->n);
    random[0] = '\0';
    for (size_t i = 0; i < kc->n; i++) {
        /* Both suites negotiated here hash with SHA-384: 48-byte secrets, and the TLS 1.2
         * master secret is always 48 bytes. */
        CHECK(parse_line(kc->lines[i], 48, label, rnd));
        if (i == 0)
            snprintf(random, 65, "%s", rnd);
        CHECK_STR(random, rnd);
    }
    for (size_t l = 0; l < n; l++) {
        const char *c = line_for(kc, labels[l]), *s = line_for(ks, labels[l]);
        CHECK_MSG(c != NULL, "the client logged no %s", labels[l]);
        CHECK_MSG(s != NULL, "the server logged no %s", labels[l]);
        CHECK_STR(c, s);
    }
    return true;
out:
    return false;
}

/* Both sides log the secrets of a full handshake (TLS 1.3: the five traffic and exporter
 * secrets; TLS 1.2: the master secret as CLIENT_RANDOM), the same lines on both sides; a
 * resumed handshake logs its own (with a new client random), and the trace, which names each
 * secret as it is derived, never shows one. */
static void case_keylog(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    static key_log kc, ks;
    char first_random[65], second_random[65];
    ember_config *cc = NULL, *sc = NULL;
    uint64_t ids[2] = {0};
    int rc = -1, rs = -1;
    memset(&kc, 0, sizeof kc);
    memset(&ks, 0, sizeof ks);
    CHECK(traced_configs(v, "ecdsa-p256", &cc, &sc));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_keylog_callback(NULL, on_keylog, &kc));
    CHECK_RC(EMBER_OK, ember_config_set_keylog_callback(cc, on_keylog, &kc));
    CHECK_RC(EMBER_OK, ember_config_set_keylog_callback(sc, on_keylog, &ks));
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, ids));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_keylog_callback(cc, NULL, NULL));
    CHECK(client_lines_match(&kc, &ks, v, first_random));
    CHECK_EQ(kc.n, ks.n);
    for (size_t i = 0; i < kc.n; i++) {
        const char *secret = strrchr(kc.lines[i], ' ') + 1;
        for (size_t e = 0; e < g_trace.n; e++)
            CHECK_MSG(strstr(g_trace.ev[e].text, secret) == NULL, "the trace shows a secret: %s",
                      g_trace.ev[e].text);
    }

    memset(&kc, 0, sizeof kc);
    memset(&ks, 0, sizeof ks);
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, ids));
    CHECK(rc == 1 && rs == 1);
    /* The server may log more (rustls derives the client's early traffic secret for every
     * TLS 1.3 resumption, early data or not): the client's lines are all on its side. */
    CHECK(client_lines_match(&kc, &ks, v, second_random));
    CHECK(strcmp(first_random, second_random) != 0);
out:
    ember_config_free(cc);
    ember_config_free(sc);
}

/* A key-log callback removed with NULL before the first connection logs nothing. */
static void case_keylog_removed(const void *arg)
{
    (void)arg;
    static key_log kc;
    ember_config *cc = client_config(0, 0, true), *sc = server_config("ecdsa-p256", NULL, 0, 0);
    int rc = -1, rs = -1;
    memset(&kc, 0, sizeof kc);
    CHECK(cc && sc);
    CHECK_RC(EMBER_OK, ember_config_set_keylog_callback(cc, on_keylog, &kc));
    CHECK_RC(EMBER_OK, ember_config_set_keylog_callback(cc, NULL, NULL));
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, NULL));
    CHECK_EQ(0, kc.n);
out:
    ember_config_free(cc);
    ember_config_free(sc);
}

/* The lines of kl, each followed by a newline, equal the file at path. */
static bool file_has_lines(const char *path, const key_log *kl)
{
    size_t len = 0, at = 0;
    uint8_t *data = read_file(path, &len);
    bool ok = false;
    CHECK(data != NULL);
    for (size_t i = 0; i < kl->n; i++) {
        size_t n = strlen(kl->lines[i]);
        CHECK_MSG(at + n + 1 <= len && memcmp(data + at, kl->lines[i], n) == 0 && data[at + n] == '\n',
                  "%s: line %zu is not \"%s\"", path, i, kl->lines[i]);
        at += n + 1;
    }
    CHECK_MSG(at == len, "%s: %zu bytes beyond the %zu lines of the callback", path, len - at, kl->n);
    ok = true;
out:
    free(data);
    return ok;
}

/* SSLKEYLOGFILE, once enabled, receives the lines the callback gets, in the NSS format with a
 * newline each; the variable is read when the first connection is made (a later change is not
 * followed); a config that did not enable it writes nothing, and neither does an enabled one
 * without the variable. */
static void case_sslkeylogfile(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    static key_log kc;
    char path[64] = "", later[64] = "";
    size_t len = 99;
    uint8_t *data = NULL;
    ember_config *cc = client_config(v, v, true), *plain = client_config(v, v, true);
    ember_config *unset = client_config(v, v, true), *sc = server_config("ecdsa-p256", NULL, v, v);
    int rc = -1, rs = -1;
    memset(&kc, 0, sizeof kc);
    CHECK(cc && plain && unset && sc);
    CHECK(temp_file(path, NULL, 0) && temp_file(later, NULL, 0));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_sslkeylogfile(NULL, 1));
    CHECK_RC(EMBER_OK, ember_config_set_keylog_callback(cc, on_keylog, &kc));
    CHECK_RC(EMBER_OK, ember_config_set_sslkeylogfile(cc, 1));
    CHECK_RC(EMBER_OK, ember_config_set_sslkeylogfile(unset, 1));
    CHECK(setenv("SSLKEYLOGFILE", path, 1) == 0);
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, NULL));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_sslkeylogfile(cc, 0));
    CHECK(setenv("SSLKEYLOGFILE", later, 1) == 0);
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, NULL)); /* still into path */
    CHECK(connect_once(plain, sc, "localhost", &rc, &rs, NULL));
    CHECK(unsetenv("SSLKEYLOGFILE") == 0);
    CHECK(connect_once(unset, sc, "localhost", &rc, &rs, NULL));
    CHECK_EQ(v == EMBER_TLS1_3 ? 10 : 2, kc.n);
    CHECK(file_has_lines(path, &kc));
    data = read_file(later, &len);
    CHECK(data != NULL);
    CHECK_EQ(0, len);
out:
    unsetenv("SSLKEYLOGFILE");
    if (path[0])
        unlink(path);
    if (later[0])
        unlink(later);
    free(data);
    ember_config_free(cc);
    ember_config_free(plain);
    ember_config_free(unset);
    ember_config_free(sc);
}

/* ---- the log callback ---- */

typedef struct log_rec {
    size_t n, by_level[6], bad_level, empty_target, rustls;
    bytes text; /* every message, each followed by a newline */
} log_rec;

static void on_log(void *ud, ember_log_level level, const char *target, const char *message)
{
    log_rec *r = ud;
    r->n++;
    if (level >= EMBER_LOG_ERROR && level <= EMBER_LOG_TRACE)
        r->by_level[level]++;
    else
        r->bad_level++;
    if (!target || !target[0])
        r->empty_target++;
    else if (strncmp(target, "rustls::", 8) == 0)
        r->rustls++;
    if (message)
        bytes_push(&r->text, (const uint8_t *)message, strlen(message));
    bytes_push(&r->text, (const uint8_t *)"\n", 1);
}

/* The process's log records: refused levels, every level up to TRACE from rustls' modules
 * during a handshake (and never a secret the key log shows), a lower maximum filtering, a
 * replaced callback no longer called, NULL stopping the records. */
static void case_log(const void *arg)
{
    (void)arg;
    static log_rec r, r2, none;
    static key_log kc;
    ember_config *cc = client_config(0, 0, true), *sc = server_config("ecdsa-p256", NULL, 0, 0);
    ember_config *cc2 = client_config(0, 0, true), *cc3 = client_config(0, 0, true);
    int rc = -1, rs = -1;
    memset(&r, 0, sizeof r);
    memset(&r2, 0, sizeof r2);
    memset(&none, 0, sizeof none);
    memset(&kc, 0, sizeof kc);
    CHECK(cc && sc && cc2 && cc3);
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_log_set_callback(on_log, &none, 0));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_log_set_callback(on_log, &none, 6));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_log_set_callback(on_log, &none, -1));

    CHECK_RC(EMBER_OK, ember_config_set_keylog_callback(cc, on_keylog, &kc));
    CHECK_RC(EMBER_OK, ember_log_set_callback(on_log, &r, EMBER_LOG_TRACE));
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, NULL));
    CHECK_EQ(0, none.n); /* the refused calls installed nothing */
    CHECK(r.n > 0);
    CHECK_EQ(0, r.bad_level);
    CHECK_EQ(0, r.empty_target);
    CHECK(r.rustls > 0);
    CHECK(r.by_level[EMBER_LOG_TRACE] > 0 && r.by_level[EMBER_LOG_DEBUG] > 0);
    bytes_push(&r.text, (const uint8_t *)"", 1);
    CHECK(kc.n > 0);
    for (size_t i = 0; i < kc.n; i++) {
        const char *secret = strrchr(kc.lines[i], ' ') + 1;
        CHECK_MSG(strstr((const char *)bytes_head(&r.text), secret) == NULL,
                  "a log record shows the secret of %s", kc.lines[i]);
    }

    size_t before = r.n;
    CHECK_RC(EMBER_OK, ember_log_set_callback(on_log, &r2, EMBER_LOG_DEBUG));
    CHECK(connect_once(cc2, sc, "localhost", &rc, &rs, NULL));
    CHECK_EQ(before, r.n);
    CHECK(r2.n > 0);
    CHECK_EQ(0, r2.by_level[EMBER_LOG_TRACE]);

    before = r2.n;
    CHECK_RC(EMBER_OK, ember_log_set_callback(NULL, NULL, 0));
    CHECK(connect_once(cc3, sc, "localhost", &rc, &rs, NULL));
    CHECK_EQ(before, r2.n);
out:
    ember_log_set_callback(NULL, NULL, 0);
    bytes_free(&r.text);
    bytes_free(&r2.text);
    bytes_free(&none.text);
    ember_config_free(cc);
    ember_config_free(cc2);
    ember_config_free(cc3);
    ember_config_free(sc);
}

/* A handshake that completes and fails in the same call: the server's last flight arrives
 * with a record no key opens right behind it (the fuzz target conn_server found this with a
 * close_notify the client sent too early, which the server answered with an alert). The
 * handshake did complete, so every fact says so: the duration, resumption, and the COMPLETE
 * event; the failure is the call's answer, not a failed handshake. */
static void case_trace_completed_then_failed(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    ember_config *cc = NULL, *sc = NULL;
    pair p = {0};
    uint64_t id = 0, ns = 0;
    int resumed = -1;
    uint8_t buf[16384];
    size_t n = 0;
    ember_result rc_c = EMBER_WANT_READ;
    bool done = false;
    /* An application-data record: nobody holds the key that would open it. */
    uint8_t garbage[5 + 32] = {23, 3, 3, 0, 32};
    memset(garbage + 5, 0x5a, 32);
    CHECK(traced_configs(v, "ecdsa-p256", &cc, &sc));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK_RC(EMBER_OK, ember_conn_id(p.c, &id));
    /* The client completes on the server's first flight in TLS 1.3, on its second in 1.2. */
    for (int flight = 0; flight <= (v == EMBER_TLS1_3 ? 0 : 1); flight++) {
        size_t moved = 0;
        CHECK_RC(EMBER_WANT_READ, ember_conn_handshake(p.c));
        CHECK(shuttle(p.c, &p.c2s, p.s, NULL, &moved));
        ember_result rc_s = ember_conn_handshake(p.s);
        CHECK(rc_s == EMBER_WANT_READ || rc_s == EMBER_OK);
        CHECK_CONN_RC(p.s, EMBER_OK, ember_conn_drain(p.s, buf, sizeof buf, &n));
        CHECK(n > 0 && n + sizeof garbage <= sizeof buf);
        if (flight == (v == EMBER_TLS1_3 ? 0 : 1)) {
            memcpy(buf + n, garbage, sizeof garbage);
            n += sizeof garbage;
        }
        size_t taken = 0;
        rc_c = ember_conn_feed(p.c, buf, n, &taken);
        CHECK(rc_c == EMBER_OK || rc_c == EMBER_ERR_BAD_RECORD);
    }
    rc_c = ember_conn_handshake(p.c);
    CHECK_CONN_RC(p.c, EMBER_ERR_BAD_RECORD, rc_c);
    CHECK_RC(EMBER_OK, ember_conn_is_resumed(p.c, &resumed));
    CHECK_EQ(0, resumed);
    CHECK_RC(EMBER_OK, ember_conn_handshake_ns(p.c, &ns));
    CHECK_EQ(1, count_steps(&g_trace, id, EMBER_TRACE_COMPLETE));
    CHECK_EQ(0, count_steps(&g_trace, id, EMBER_TRACE_FAILED));
    done = true;
out:
    if (!done)
        print_events(&g_trace, id);
    pair_free(&p);
    ember_config_free(cc);
    ember_config_free(sc);
}

void run_trace_cases(void)
{
    for (int v = 0; v < 2; v++) {
        const char *name = vname(VERSIONS[v]);
        run_case(case_trace_handshake, &VERSIONS[v], "trace %s full_then_resumed", name);
        run_case(case_trace_failed, &VERSIONS[v], "trace %s failed_handshake", name);
        run_case(case_trace_completed_then_failed, &VERSIONS[v], "trace %s completed_then_failed",
                 name);
        run_case(case_trace_alpn, &VERSIONS[v], "trace %s alpn", name);
        run_case(case_keylog, &VERSIONS[v], "keylog %s", name);
        run_case(case_sslkeylogfile, &VERSIONS[v], "keylog %s sslkeylogfile", name);
    }
    run_case(case_trace_step_names, NULL, "trace step_names");
    run_case(case_trace_config, NULL, "trace config");
    run_case(case_keylog_removed, NULL, "keylog removed");
    run_case(case_log, NULL, "log callback");
}
