/* Objects freed in every state and order: a connection with output pending, mid-handshake,
 * blocked on its transport, after a fatal error, after close; a config, trust store or session
 * cache freed while connections made from them live (and still handshake, verify and resume);
 * every order of freeing the four kinds of object. What these cases check themselves is that
 * the survivors keep working; that nothing is touched after it is freed, and that nothing
 * leaks, is for the memory checkers that run api_test (tests/all/sanitizers.rs). */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const uint16_t VERSIONS[] = {EMBER_TLS1_2, EMBER_TLS1_3};
static const char *vname(uint16_t v) { return v == EMBER_TLS1_3 ? "TLSv1.3" : "TLSv1.2"; }

/* ---- connections freed in every state ---- */

typedef enum {
    FREE_FRESH,              /* client: its ClientHello pending, never drained */
    FREE_SERVER_MID_FLIGHT,  /* server: ClientHello fed, its first flight pending */
    FREE_CLIENT_MID_HANDSHAKE, /* client: the server's flight fed, not processed */
    FREE_OPEN_BUSY,          /* open: plaintext unread, data and a key update not drained */
    FREE_FAILED,             /* the handshake failed; the alert is not drained */
    FREE_CLOSED,             /* close_notify queued, not drained */
    FREE_EOF_FED,            /* end of stream fed, not yet read */
    FREE_COUNT
} free_state;

static const char *const FREE_STATE_NAMES[FREE_COUNT] = {
    "fresh_client_hello_pending", "server_first_flight_pending", "client_mid_handshake",
    "open_with_unread_and_unsent_data", "failed_alert_pending", "closed_close_notify_pending",
    "eof_fed_unread",
};

typedef struct free_case {
    uint16_t version;
    free_state state;
} free_case;

static bool feed_all(ember_conn *c, bytes *q)
{
    size_t n = 0;
    while (q->len > 0) {
        CHECK_CONN_RC(c, EMBER_OK, ember_conn_feed(c, bytes_head(q), q->len, &n));
        CHECK(n > 0);
        bytes_pop(q, n);
    }
    return true;
out:
    return false;
}

static void case_conn_freed_in_state(const void *arg)
{
    const free_case *fc = arg;
    uint8_t data[20000];
    size_t n = 0;
    ember_result rc_c, rc_s;
    pair p;
    memset(data, 0x42, sizeof data);
    CHECK(make_pair(&p, &(pair_opts){.cert = fc->state == FREE_FAILED ? "expired" : NULL,
                                     .cmin = fc->version, .cmax = fc->version}));
    switch (fc->state) {
    case FREE_FRESH:
        CHECK(ember_conn_pending_output(p.c) > 0);
        break;
    case FREE_SERVER_MID_FLIGHT:
        CHECK(drain_into(p.c, &p.c2s) && feed_all(p.s, &p.c2s));
        CHECK_CONN_RC(p.s, EMBER_WANT_READ, ember_conn_handshake(p.s));
        CHECK(ember_conn_pending_output(p.s) > 0);
        break;
    case FREE_CLIENT_MID_HANDSHAKE:
        CHECK(drain_into(p.c, &p.c2s) && feed_all(p.s, &p.c2s));
        CHECK_CONN_RC(p.s, EMBER_WANT_READ, ember_conn_handshake(p.s));
        CHECK(drain_into(p.s, &p.s2c) && feed_all(p.c, &p.s2c));
        break;
    case FREE_OPEN_BUSY:
        CHECK(complete_handshake(&p));
        CHECK_CONN_RC(p.s, EMBER_OK, ember_conn_write(p.s, data, sizeof data, &n));
        CHECK(drain_into(p.s, &p.s2c) && feed_all(p.c, &p.s2c));
        CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_write(p.c, data, sizeof data, &n));
        if (fc->version == EMBER_TLS1_3)
            CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_key_update(p.c));
        CHECK(ember_conn_pending_output(p.c) > sizeof data);
        break;
    case FREE_FAILED:
        CHECK(drain_into(p.c, &p.c2s) && feed_all(p.s, &p.c2s));
        CHECK_CONN_RC(p.s, EMBER_WANT_READ, ember_conn_handshake(p.s));
        CHECK(drain_into(p.s, &p.s2c) && feed_all(p.c, &p.s2c));
        CHECK_CONN_RC(p.c, EMBER_ERR_CERT_EXPIRED, ember_conn_handshake(p.c));
        CHECK(ember_conn_pending_output(p.c) > 0);
        break;
    case FREE_CLOSED:
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_write(p.c, data, 100, &n));
        CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_close(p.c));
        CHECK(ember_conn_pending_output(p.c) > 100);
        break;
    case FREE_EOF_FED:
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.s, EMBER_OK, ember_conn_write(p.s, data, sizeof data, &n));
        CHECK(drain_into(p.s, &p.s2c) && feed_all(p.c, &p.s2c));
        CHECK_RC(EMBER_OK, ember_conn_feed(p.c, NULL, 0, &n));
        break;
    case FREE_COUNT:
        break;
    }
out:
    pair_free(&p); /* the client first, in whatever state the case left it */
}

/* ---- a connection blocked on its callbacks, freed ---- */

typedef struct tracked {
    unsigned long calls;
    bool freed;
} tracked;

static int blocked_read(void *ud, uint8_t *buf, size_t len, size_t *out_n)
{
    tracked *t = ud;
    (void)buf, (void)len, (void)out_n;
    if (t->freed)
        check_failed(__FILE__, __LINE__, "a read callback ran after ember_conn_free");
    t->calls++;
    return EAGAIN;
}

static int blocked_write(void *ud, const uint8_t *buf, size_t len, size_t *out_n)
{
    tracked *t = ud;
    (void)buf;
    if (t->freed)
        check_failed(__FILE__, __LINE__, "a write callback ran after ember_conn_free");
    t->calls++;
    /* Takes 10 bytes once, then blocks: output stays pending. */
    if (t->calls == 1) {
        *out_n = len < 10 ? len : 10;
        return 0;
    }
    return EAGAIN;
}

/* The userdata is heap memory freed right after the connection: a callback called during or
 * after ember_conn_free would be a use after free, which the sanitizers report. */
static void case_blocked_callbacks_freed(const void *arg)
{
    (void)arg;
    ember_config *cfg = client_config(0, 0, true);
    ember_conn *c = NULL;
    tracked *t = calloc(1, sizeof *t);
    CHECK(cfg && t);
    CHECK_RC(EMBER_OK, ember_conn_new(cfg, "localhost", &c));
    CHECK_RC(EMBER_OK, ember_conn_set_io(c, blocked_read, blocked_write, t));
    CHECK_CONN_RC(c, EMBER_WANT_WRITE, ember_conn_handshake(c));
    CHECK(ember_conn_pending_output(c) > 0);
    CHECK_CONN_RC(c, EMBER_WANT_WRITE, ember_conn_close(c));
    unsigned long calls = t->calls;
    t->freed = true;
    ember_conn_free(c);
    c = NULL;
    CHECK_EQ(calls, t->calls);
out:
    ember_conn_free(c);
    ember_config_free(cfg);
    free(t);
}

/* A non-blocking socket whose buffer is full: the connection is freed with output pending; the
 * descriptor stays open and the caller's. */
static void case_fd_freed_while_blocked(const void *arg)
{
    (void)arg;
    int sv[2] = {-1, -1};
    uint8_t data[16384];
    ember_config *cfg = client_config(0, 0, true);
    ember_conn *c = NULL;
    memset(data, 7, sizeof data);
    CHECK(cfg != NULL);
    CHECK_RC(EMBER_OK, ember_conn_new(cfg, "localhost", &c));
    ember_config_free(cfg);
    cfg = NULL;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    CHECK(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK) == 0);
    /* Fill the socket (nobody reads the other end) so the ClientHello cannot leave. */
    while (send(sv[0], data, sizeof data, MSG_NOSIGNAL | MSG_DONTWAIT) > 0)
        ;
    CHECK_RC(EMBER_OK, ember_conn_set_fd(c, sv[0]));
    CHECK_CONN_RC(c, EMBER_WANT_WRITE, ember_conn_handshake(c));
    CHECK(ember_conn_pending_output(c) > 0);
    ember_conn_free(c);
    c = NULL;
    CHECK_MSG(fcntl(sv[0], F_GETFD) >= 0, "the descriptor was closed by ember_conn_free");
out:
    ember_conn_free(c);
    ember_config_free(cfg);
    for (int i = 0; i < 2; i++)
        if (sv[i] >= 0)
            close(sv[i]);
}

/* ---- configs, trust stores and caches freed while connections live ---- */

typedef struct counters {
    unsigned long trace, keylog, verify;
} counters;

static void count_trace(void *ud, uint64_t id, uint64_t t, ember_trace_step step, const char *text)
{
    (void)id, (void)t, (void)step, (void)text;
    ((counters *)ud)->trace++;
}

static void count_keylog(void *ud, const char *line)
{
    (void)line;
    ((counters *)ud)->keylog++;
}

static int count_verify(void *ud, const char *name, const ember_bytes *chain, size_t n,
                        ember_result verdict, char *reason, size_t reason_len)
{
    (void)name, (void)chain, (void)n, (void)reason, (void)reason_len;
    ((counters *)ud)->verify++;
    return verdict == EMBER_OK ? 0 : (int)verdict;
}

/* Everything a config can hold, set on both configs; the trust stores and the session cache
 * freed before the first connection is made, the configs right after the second: the
 * handshakes still verify against the freed stores (both ways: the server asks for a client
 * certificate) and call every callback, and the second connection resumes the first's session
 * through the freed cache. */
static void case_everything_freed_before_use(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    counters *cnt = calloc(1, sizeof *cnt);
    ember_config *cc = NULL, *sc = NULL;
    ember_trust *ct = NULL, *st = NULL;
    ember_session_cache *cache = NULL;
    uint8_t keys[2 * EMBER_TICKET_KEY_LEN];
    const char *alpn[] = {"h2", "http/1.1"};
    pair p[2] = {{0}};
    ember_result rc_c, rc_s;
    int resumed = -1;
    memset(keys, 0x2b, sizeof keys);
    CHECK(cnt != NULL);
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cc));
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_SERVER, &sc));
    CHECK_RC(EMBER_OK, ember_config_set_versions(cc, version, version));
    CHECK_RC(EMBER_OK, ember_trust_new(&ct));
    CHECK_RC(EMBER_OK, ember_trust_new(&st));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(ct, pki("ca.pem")));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(st, pki("ca.pem")));
    CHECK_RC(EMBER_OK, ember_trust_add_crl_file(ct, pki("crls.pem")));
    CHECK_RC(EMBER_OK, ember_trust_set_revocation(ct, EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS));
    CHECK_RC(EMBER_OK, ember_config_set_trust(cc, ct));
    CHECK_RC(EMBER_OK, ember_config_set_trust(sc, st));
    CHECK_RC(EMBER_OK, ember_config_add_cert_pem_file(sc, pki("ecdsa-p256.pem"), pki("ecdsa-p256.key")));
    CHECK_RC(EMBER_OK, ember_config_add_cert_pem_file(cc, pki("rsa.pem"), pki("rsa.key")));
    CHECK_RC(EMBER_OK, ember_session_cache_new(16, &cache));
    CHECK_RC(EMBER_OK, ember_config_set_session_cache(cc, cache));
    CHECK_RC(EMBER_OK, ember_config_set_ticket_keys(sc, keys, sizeof keys));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(cc, alpn, 2));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(sc, alpn + 1, 1));
    CHECK_RC(EMBER_OK, ember_config_set_verify_callback(cc, count_verify, cnt));
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(cc, count_trace, cnt));
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(sc, count_trace, cnt));
    CHECK_RC(EMBER_OK, ember_config_set_keylog_callback(sc, count_keylog, cnt));
    ember_trust_free(ct);
    ember_trust_free(st);
    ember_session_cache_free(cache);
    ct = st = NULL;
    cache = NULL;
    for (int i = 0; i < 2; i++) {
        /* A ClientHello is made with its connection: the second is made once the first
         * connection's session is in the cache. */
        CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &p[i].c));
        CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p[i].s));
        if (i == 1) {
            ember_config_free(cc);
            ember_config_free(sc);
            cc = sc = NULL;
        }
        CHECK(drive_handshake(&p[i], &rc_c, &rc_s));
        CHECK_CONN_RC(p[i].c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p[i].s, EMBER_OK, rc_s);
        CHECK(exchange(&p[i]));
        CHECK_RC(EMBER_OK, ember_conn_is_resumed(p[i].c, &resumed));
        CHECK_EQ(i, resumed); /* the second resumed the first's session */
    }
    CHECK_EQ(1, cnt->verify);
    CHECK(cnt->trace > 10 && cnt->keylog >= 2);
out:
    for (int i = 0; i < 2; i++)
        pair_free(&p[i]);
    ember_trust_free(ct);
    ember_trust_free(st);
    ember_session_cache_free(cache);
    ember_config_free(cc);
    ember_config_free(sc);
    free(cnt);
}

/* A trust store freed after it was given to a config, before the config made anything; and a
 * second config given the same store after the first made a connection (frozen) still uses
 * it once its last handle is gone. */
static void case_trust_freed_while_in_use(const void *arg)
{
    (void)arg;
    ember_trust *t = NULL;
    ember_config *c1 = NULL, *c2 = NULL, *sc = server_config("rsa", NULL, 0, 0);
    ember_result rc_c, rc_s;
    pair p1 = {0}, p2 = {0};
    CHECK(sc != NULL);
    CHECK_RC(EMBER_OK, ember_trust_new(&t));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(t, pki("ca.pem")));
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &c1));
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &c2));
    CHECK_RC(EMBER_OK, ember_config_set_trust(c1, t));
    CHECK(pair_from(&p1, c1, sc, "localhost")); /* freezes t */
    CHECK_RC(EMBER_OK, ember_config_set_trust(c2, t));
    ember_trust_free(t);
    t = NULL;
    ember_config_free(c1);
    c1 = NULL;
    CHECK(pair_from(&p2, c2, sc, "localhost"));
    ember_config_free(c2);
    c2 = NULL;
    pair *ps[2] = {&p1, &p2};
    for (int i = 0; i < 2; i++) {
        CHECK(drive_handshake(ps[i], &rc_c, &rc_s));
        CHECK_CONN_RC(ps[i]->c, EMBER_OK, rc_c);
        CHECK_CONN_RC(ps[i]->s, EMBER_OK, rc_s);
    }
out:
    pair_free(&p1);
    pair_free(&p2);
    ember_trust_free(t);
    ember_config_free(c1);
    ember_config_free(c2);
    ember_config_free(sc);
}

/* The four kinds of object freed in each of the 24 orders, after a handshake. */
static void case_every_free_order(const void *arg)
{
    (void)arg;
    int perm[4] = {0, 1, 2, 3};
    for (int k = 0; k < 24; k++) {
        /* The k-th permutation of {trust, cache, config, conn} (factorial number system). */
        int pool[4] = {0, 1, 2, 3}, left = 4, code = k;
        for (int i = 0; i < 4; i++) {
            int fact = 1;
            for (int j = 2; j < left; j++)
                fact *= j;
            int pick = code / fact;
            code %= fact;
            perm[i] = pool[pick];
            for (int j = pick; j < left - 1; j++)
                pool[j] = pool[j + 1];
            left--;
        }
        ember_trust *t = NULL;
        ember_session_cache *cache = NULL;
        ember_config *cc = NULL, *sc = server_config("ecdsa-p384", NULL, 0, 0);
        ember_result rc_c, rc_s;
        pair p = {0};
        bool ok = false;
        CHECK(sc != NULL);
        CHECK_RC(EMBER_OK, ember_trust_new(&t));
        CHECK_RC(EMBER_OK, ember_trust_add_pem_file(t, pki("ca.pem")));
        CHECK_RC(EMBER_OK, ember_session_cache_new(4, &cache));
        CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cc));
        CHECK_RC(EMBER_OK, ember_config_set_trust(cc, t));
        CHECK_RC(EMBER_OK, ember_config_set_session_cache(cc, cache));
        CHECK(pair_from(&p, cc, sc, "localhost"));
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK(exchange(&p));
        ok = true;
    out:
        for (int i = 0; i < 4; i++) {
            switch (perm[i]) {
            case 0: ember_trust_free(t); t = NULL; break;
            case 1: ember_session_cache_free(cache); cache = NULL; break;
            case 2: ember_config_free(cc); cc = NULL; break;
            default: pair_free(&p); break;
            }
        }
        ember_config_free(sc);
        if (!ok) {
            printf("    (in free order %d %d %d %d)\n", perm[0], perm[1], perm[2], perm[3]);
            return;
        }
    }
}

/* Many connections from one config, the config freed first, the connections in a scattered
 * order, some of them half-way through their handshake. */
static void case_many_conns_scattered_free(const void *arg)
{
    (void)arg;
    enum { N = 24 };
    ember_config *cc = client_config(0, 0, true), *sc = server_config("ed25519", NULL, 0, 0);
    pair p[N];
    ember_result rc_c, rc_s;
    memset(p, 0, sizeof p);
    CHECK(cc && sc);
    for (int i = 0; i < N; i++)
        CHECK(pair_from(&p[i], cc, sc, "localhost"));
    ember_config_free(cc);
    ember_config_free(sc);
    cc = sc = NULL;
    for (int i = 0; i < N; i += 2) {
        CHECK(drive_handshake(&p[i], &rc_c, &rc_s));
        CHECK_CONN_RC(p[i].c, EMBER_OK, rc_c);
    }
    for (int i = 1; i < N; i += 4)
        CHECK_CONN_RC(p[i].c, EMBER_WANT_READ, ember_conn_handshake(p[i].c));
out:
    for (int i = 0; i < N; i++)
        pair_free(&p[(i * 7) % N]);
    ember_config_free(cc);
    ember_config_free(sc);
}

void run_lifetime_cases(void)
{
    static free_case fcs[2][FREE_COUNT];
    for (int v = 0; v < 2; v++) {
        for (int s = 0; s < FREE_COUNT; s++) {
            fcs[v][s] = (free_case){VERSIONS[v], (free_state)s};
            run_case(case_conn_freed_in_state, &fcs[v][s], "lifetime conn_freed %s %s",
                     FREE_STATE_NAMES[s], vname(VERSIONS[v]));
        }
        run_case(case_everything_freed_before_use, &VERSIONS[v], "lifetime everything_freed_before_use %s",
                 vname(VERSIONS[v]));
    }
    run_case(case_blocked_callbacks_freed, NULL, "lifetime conn_freed blocked_callbacks");
    run_case(case_fd_freed_while_blocked, NULL, "lifetime conn_freed fd_blocked");
    run_case(case_trust_freed_while_in_use, NULL, "lifetime trust_freed_while_in_use");
    run_case(case_every_free_order, NULL, "lifetime every_free_order");
    run_case(case_many_conns_scattered_free, NULL, "lifetime many_conns_scattered_free");
}
