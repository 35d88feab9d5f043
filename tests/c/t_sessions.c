/* Sessions and the connection facts around them: client session caches (own, shared, off),
 * server tickets (keys drawn by the config, keys of the application, keys shared by worker
 * processes forked after ember_config_new), the server session store behind callbacks, ALPN,
 * certificates chosen by SNI, key update, the keying material exporter, ember_conn_handshake_ns
 * and ember_conn_id.
 *
 * Resumption is read from ember_conn_is_resumed on both ends: a session resumes only when the
 * client kept it and the server can open it again, so each case changes one side of that and
 * checks both answers. connect_once (harness.c) lets TLS 1.3 tickets, which arrive after the
 * handshake, reach the client before the connection goes away. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const uint16_t VERSIONS[] = {EMBER_TLS1_2, EMBER_TLS1_3};

static const char *vname(uint16_t v) { return v == EMBER_TLS1_3 ? "TLSv1.3" : "TLSv1.2"; }

/* TLS alert numbers (RFC 8446 section 6). */
enum { ALERT_BAD_CERTIFICATE = 42, ALERT_NO_APPLICATION_PROTOCOL = 120 };

/* A client config for one version trusting ca.pem through `trust` (the caller's store object,
 * so that several configs can share it), keeping sessions in `cache` when non-NULL. */
static ember_config *client_with(uint16_t v, const ember_trust *trust, const ember_session_cache *cache)
{
    ember_config *cfg = NULL;
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cfg));
    CHECK_RC(EMBER_OK, ember_config_set_versions(cfg, v, v));
    CHECK_RC(EMBER_OK, ember_config_set_trust(cfg, trust));
    if (cache)
        CHECK_RC(EMBER_OK, ember_config_set_session_cache(cfg, cache));
    return cfg;
out:
    ember_config_free(cfg);
    return NULL;
}

static ember_trust *ca_trust(void)
{
    ember_trust *trust = NULL;
    CHECK_RC(EMBER_OK, ember_trust_new(&trust));
    CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("ca.pem")));
    return trust;
out:
    ember_trust_free(trust);
    return NULL;
}

/* Connects and requires the given resumption answer on both sides. */
static bool connect_expect(const ember_config *cc, const ember_config *sc, int want)
{
    int c = -1, s = -1;
    CHECK(connect_once(cc, sc, "localhost", &c, &s, NULL));
    CHECK_MSG(c == want && s == want, "resumed: expected %d on both sides, got client %d server %d",
              want, c, s);
    return true;
out:
    return false;
}

/* ---- client cache, server store and tickets ---- */

typedef struct resume_case {
    const char *name;
    int client_cache; /* -1: default; else the client's ember_config_set_session_cache_size */
    int tickets;      /* -1: default; else ember_config_set_tickets on the server */
    int server_cache; /* -1: default; else the server's ember_config_set_session_cache_size */
    int want;         /* whether the second connection resumes */
    uint16_t version;
} resume_case;

/* Three connections from one client config to one server config: the first is always a full
 * handshake; the second (and a third, from a session the second may have renewed) resume
 * exactly when both the client's cache and one of the server's ways of resuming are on. */
static void case_resume(const void *arg)
{
    const resume_case *rc = arg;
    ember_config *sc = server_config("ecdsa-p256", NULL, rc->version, rc->version);
    ember_config *cc = client_config(rc->version, rc->version, true);
    CHECK(sc != NULL && cc != NULL);
    if (rc->client_cache >= 0)
        CHECK_RC(EMBER_OK, ember_config_set_session_cache_size(cc, (size_t)rc->client_cache));
    if (rc->tickets >= 0)
        CHECK_RC(EMBER_OK, ember_config_set_tickets(sc, rc->tickets));
    if (rc->server_cache >= 0)
        CHECK_RC(EMBER_OK, ember_config_set_session_cache_size(sc, (size_t)rc->server_cache));
    CHECK(connect_expect(cc, sc, 0));
    CHECK(connect_expect(cc, sc, rc->want));
    CHECK(connect_expect(cc, sc, rc->want));
out:
    ember_config_free(sc);
    ember_config_free(cc);
}

static void ignore_trace(void *userdata, uint64_t conn_id, uint64_t time_ns,
                         ember_trace_step step, const char *text)
{
    (void)userdata, (void)conn_id, (void)time_ns, (void)step, (void)text;
}

/* Client configs sharing one ember_session_cache resume each other's sessions when they verify
 * alike: the same trust store object. rustls resumes a session only through the verifier that
 * accepted it, so a config with another store object (even with the same roots) makes a full
 * handshake, and so does one with its own cache. Tracing makes no difference, nor does each
 * config loading the same client certificate from the file itself. The caller's cache handle
 * is freed at once: the configs keep the cache alive. */
static void case_shared_cache(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    ember_session_cache *cache = NULL;
    ember_trust *trust = ca_trust(), *other = ca_trust();
    ember_config *sc = server_config("ecdsa-p256", NULL, v, v);
    ember_config *a = NULL, *b = NULL, *c = NULL, *own = NULL, *resized = NULL;
    ember_config *traced = NULL, *cert1 = NULL, *cert2 = NULL;
    CHECK(trust != NULL && other != NULL && sc != NULL);
    CHECK_RC(EMBER_OK, ember_session_cache_new(8, &cache));
    CHECK(cache != NULL);
    a = client_with(v, trust, cache);
    b = client_with(v, trust, cache);
    c = client_with(v, other, cache);
    own = client_with(v, trust, NULL);
    resized = client_with(v, trust, cache);
    traced = client_with(v, trust, cache);
    cert1 = client_with(v, trust, cache);
    cert2 = client_with(v, trust, cache);
    CHECK(a && b && c && own && resized && traced && cert1 && cert2);
    CHECK_RC(EMBER_OK, ember_config_set_trace_callback(traced, ignore_trace, NULL));
    CHECK_RC(EMBER_OK, ember_config_add_cert_pem_file(cert1, pki("ecdsa-p256.pem"),
                                                      pki("ecdsa-p256.key")));
    CHECK_RC(EMBER_OK, ember_config_add_cert_pem_file(cert2, pki("ecdsa-p256.pem"),
                                                      pki("ecdsa-p256.key")));
    /* A size replaces the shared cache with the config's own. */
    CHECK_RC(EMBER_OK, ember_config_set_session_cache_size(resized, 16));
    ember_session_cache_free(cache);
    cache = NULL;

    CHECK(connect_expect(a, sc, 0));
    CHECK(connect_expect(own, sc, 0));
    CHECK(connect_expect(resized, sc, 0));
    CHECK(connect_expect(b, sc, 1)); /* a's session, from the shared cache */
    CHECK(connect_expect(a, sc, 1));
    CHECK(connect_expect(traced, sc, 1));
    /* The cache keeps the newest session per server: from here on, the latest config's. */
    CHECK(connect_expect(c, sc, 0));
    CHECK(connect_expect(cert1, sc, 0)); /* presents a certificate: a setup of its own */
    CHECK(connect_expect(cert2, sc, 1)); /* the same certificate, loaded again */
out:
    ember_session_cache_free(cache);
    ember_trust_free(trust);
    ember_trust_free(other);
    ember_config_free(sc);
    ember_config_free(a);
    ember_config_free(b);
    ember_config_free(c);
    ember_config_free(own);
    ember_config_free(resized);
    ember_config_free(traced);
    ember_config_free(cert1);
    ember_config_free(cert2);
}

/* ---- the server session store behind callbacks ---- */

enum { STORE_SLOTS = 8, STORE_KEY_MAX = 64 };

typedef struct store_entry {
    bool used;
    uint8_t key[STORE_KEY_MAX];
    size_t key_len;
    uint8_t *value;
    size_t value_len;
} store_entry;

/* A table of sessions with counters of each call; refuse_* make a call fail. */
typedef struct session_store {
    store_entry e[STORE_SLOTS];
    int puts, gets, gets_found, removes, removes_found;
    bool refuse_get, refuse_remove;
    size_t key_len_max, value_len_max, get_buf_len;
    size_t lookup_key_len_max; /* the longest key given to get or remove */
} session_store;

static store_entry *store_find(session_store *st, const uint8_t *key, size_t key_len)
{
    for (int i = 0; i < STORE_SLOTS; i++)
        if (st->e[i].used && st->e[i].key_len == key_len && memcmp(st->e[i].key, key, key_len) == 0)
            return &st->e[i];
    return NULL;
}

static int store_put(void *ud, const uint8_t *key, size_t key_len, const uint8_t *value,
                     size_t value_len)
{
    session_store *st = ud;
    st->puts++;
    if (key_len > st->key_len_max)
        st->key_len_max = key_len;
    if (value_len > st->value_len_max)
        st->value_len_max = value_len;
    if (key_len > STORE_KEY_MAX)
        return 1;
    store_entry *slot = store_find(st, key, key_len);
    for (int i = 0; !slot && i < STORE_SLOTS; i++)
        if (!st->e[i].used)
            slot = &st->e[i];
    if (!slot)
        return 1; /* full: the session is simply not resumable */
    free(slot->value);
    slot->value = malloc(value_len ? value_len : 1);
    if (!slot->value)
        return 1;
    memcpy(slot->value, value, value_len);
    memcpy(slot->key, key, key_len);
    slot->key_len = key_len;
    slot->value_len = value_len;
    slot->used = true;
    return 0;
}

static int store_get(void *ud, const uint8_t *key, size_t key_len, uint8_t *buf, size_t buf_len,
                     size_t *out_len)
{
    session_store *st = ud;
    st->gets++;
    st->get_buf_len = buf_len;
    if (key_len > st->lookup_key_len_max)
        st->lookup_key_len_max = key_len;
    store_entry *slot = store_find(st, key, key_len);
    if (st->refuse_get || !slot || slot->value_len > buf_len)
        return 1;
    memcpy(buf, slot->value, slot->value_len);
    *out_len = slot->value_len;
    st->gets_found++;
    return 0;
}

static int store_remove(void *ud, const uint8_t *key, size_t key_len)
{
    session_store *st = ud;
    st->removes++;
    if (key_len > st->lookup_key_len_max)
        st->lookup_key_len_max = key_len;
    store_entry *slot = store_find(st, key, key_len);
    if (st->refuse_remove || !slot)
        return 1;
    free(slot->value);
    memset(slot, 0, sizeof *slot);
    st->removes_found++;
    return 0;
}

static void store_clear(session_store *st)
{
    for (int i = 0; i < STORE_SLOTS; i++)
        free(st->e[i].value);
    memset(st, 0, sizeof *st);
}

typedef struct store_case {
    const char *name;
    bool refuse_get, refuse_remove;
    bool replaced; /* ember_config_set_session_cache_size after the store: the store is unused */
    uint16_t version;
} store_case;

/* Tickets off, so the server resumes only from its session store, here the application's
 * table. The first handshake stores the session (TLS 1.2: under its session id; TLS 1.3: one
 * entry per stateful ticket the server sends, which rustls makes 2 of); the second looks it up.
 * A TLS 1.3 session is single use: get, then remove, and only a successful removal resumes;
 * TLS 1.2 session ids are reusable and never removed. */
static void case_store(const void *arg)
{
    const store_case *kind = arg;
    bool tls13 = kind->version == EMBER_TLS1_3;
    session_store st;
    memset(&st, 0, sizeof st);
    st.refuse_get = kind->refuse_get;
    st.refuse_remove = kind->refuse_remove;
    ember_config *sc = server_config("ecdsa-p256", NULL, kind->version, kind->version);
    ember_config *cc = client_config(kind->version, kind->version, true);
    int c = -1, s = -1;
    CHECK(sc != NULL && cc != NULL);
    CHECK_RC(EMBER_OK, ember_config_set_tickets(sc, 0));
    CHECK_RC(EMBER_OK, ember_config_set_session_store(sc, store_put, store_get, store_remove, &st));
    if (kind->replaced)
        CHECK_RC(EMBER_OK, ember_config_set_session_cache_size(sc, 16));

    CHECK(connect_once(cc, sc, "localhost", &c, &s, NULL));
    CHECK_EQ(0, c);
    CHECK_EQ(0, s);
    int first_puts = st.puts;
    if (kind->replaced) {
        CHECK_EQ(0, st.puts);
    } else {
        CHECK_EQ(tls13 ? 2 : 1, st.puts);
        /* Keys are session ids or ticket ids (up to 32 bytes, per the header); values a few
         * hundred bytes. */
        CHECK(st.key_len_max > 0 && st.key_len_max <= 32);
        CHECK(st.value_len_max > 0 && st.value_len_max <= EMBER_SESSION_VALUE_MAX);
    }
    CHECK_EQ(0, st.gets);
    CHECK_EQ(0, st.removes);

    CHECK(connect_once(cc, sc, "localhost", &c, &s, NULL));
    bool want = kind->replaced || (!kind->refuse_get && !(tls13 && kind->refuse_remove));
    CHECK_MSG(c == want && s == want, "resumed: expected %d on both sides, got client %d server %d",
              want, c, s);
    if (kind->replaced) {
        CHECK_EQ(0, st.puts + st.gets + st.removes);
    } else {
        CHECK_EQ(1, st.gets);
        CHECK_EQ(kind->refuse_get ? 0 : 1, st.gets_found);
        CHECK_EQ(EMBER_SESSION_VALUE_MAX, st.get_buf_len);
        /* Removal follows a successful get, in TLS 1.3 only. */
        CHECK_EQ(tls13 && !kind->refuse_get ? 1 : 0, st.removes);
        CHECK_EQ(tls13 && !kind->refuse_get && !kind->refuse_remove ? 1 : 0, st.removes_found);
        /* A new session is stored after a full handshake, and after a TLS 1.3 resumption (its
         * new tickets); a resumed TLS 1.2 session is already stored. */
        CHECK_EQ(first_puts + (tls13 || !want ? first_puts : 0), st.puts);
    }
out:
    ember_config_free(sc);
    ember_config_free(cc);
    store_clear(&st);
}

/* Adds `extra` bytes to the first PSK identity of the ClientHello record in hello[0..*len)
 * (room for cap bytes), fixing every length around it. */
static bool lengthen_psk_identity(uint8_t *hello, size_t *len, size_t cap, size_t extra)
{
    size_t at = 5 + 4 + 2 + 32, exts_at, n = *len;
    CHECK(n > at && hello[0] == 22 && hello[5] == 1 && n + extra <= cap);
    at += 1 + hello[at];                                  /* session id */
    at += 2 + ((size_t)hello[at] << 8 | hello[at + 1]);  /* cipher suites */
    at += 1 + hello[at];                                  /* compression methods */
    exts_at = at;
    at += 2;
    size_t psk = 0;
    while (at + 4 <= n) {
        size_t type = (size_t)hello[at] << 8 | hello[at + 1];
        size_t ext_len = (size_t)hello[at + 2] << 8 | hello[at + 3];
        if (type == 41)
            psk = at;
        at += 4 + ext_len;
    }
    CHECK_MSG(psk != 0, "the ClientHello offers no pre_shared_key");
    /* pre_shared_key: identities<7..2^16-1> (identity<1..2^16-1>, u32 age), then binders. */
    size_t id_len_at = psk + 4 + 2;
    size_t id_end = id_len_at + 2 + ((size_t)hello[id_len_at] << 8 | hello[id_len_at + 1]);
    memmove(hello + id_end + extra, hello + id_end, n - id_end);
    memset(hello + id_end, 'A', extra);
    size_t fields[][2] = {{id_len_at, 2}, {psk + 4, 2}, {psk + 2, 2}, {exts_at, 2}, {6, 3}, {3, 2}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        size_t v = 0;
        for (size_t b = 0; b < fields[i][1]; b++)
            v = v << 8 | hello[fields[i][0] + b];
        v += extra;
        for (size_t b = fields[i][1]; b-- > 0; v >>= 8)
            hello[fields[i][0] + b] = (uint8_t)v;
    }
    *len = n + extra;
    return true;
out:
    return false;
}

/* A TLS 1.3 client names the session it resumes with a PSK identity of its choosing, up to
 * 2^16 - 1 bytes, which rustls looks up in the session store as a key; the header promises the
 * application keys of at most 32 bytes, so a longer identity must not reach it (a store with
 * a 32-byte key buffer would overflow). The fuzz target conn_server found this. */
static void case_store_long_psk_identity(const void *arg)
{
    (void)arg;
    session_store st;
    memset(&st, 0, sizeof st);
    ember_config *sc = server_config("ecdsa-p256", NULL, EMBER_TLS1_3, EMBER_TLS1_3);
    ember_config *cc = client_config(EMBER_TLS1_3, EMBER_TLS1_3, true);
    ember_conn *c = NULL, *s = NULL;
    uint8_t hello[4096];
    size_t len = 0, n = 0;
    int rc = -1, rs = -1;
    CHECK(sc != NULL && cc != NULL);
    CHECK_RC(EMBER_OK, ember_config_set_tickets(sc, 0));
    CHECK_RC(EMBER_OK, ember_config_set_session_store(sc, store_put, store_get, store_remove, &st));
    CHECK(connect_once(cc, sc, "localhost", &rc, &rs, NULL));
    CHECK(st.puts > 0);
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &s));
    CHECK_RC(EMBER_WANT_READ, ember_conn_handshake(c));
    CHECK_RC(EMBER_OK, ember_conn_drain(c, hello, sizeof hello, &len));
    CHECK(lengthen_psk_identity(hello, &len, sizeof hello, 200));
    ember_result r = ember_conn_feed(s, hello, len, &n);
    if (r == EMBER_OK)
        r = ember_conn_handshake(s);
    CHECK_MSG(st.lookup_key_len_max <= 32, "the store was asked for a key of %zu bytes",
              st.lookup_key_len_max);
    /* Not resumed (no such session): a full handshake goes on, or the binder fails. */
    CHECK_MSG(r == EMBER_WANT_READ || EMBER_RESULT_IS_HANDSHAKE_ERROR(r), "server: %s",
              ember_result_name(r));
out:
    ember_conn_free(c);
    ember_conn_free(s);
    ember_config_free(sc);
    ember_config_free(cc);
    store_clear(&st);
}

/* ---- ticket keys ---- */

/* A server config for version v sealing tickets with `len` bytes of keys (0: its own). */
static ember_config *keyed_server(uint16_t v, const uint8_t *keys, size_t len)
{
    ember_config *cfg = server_config("ecdsa-p256", NULL, v, v);
    CHECK(cfg != NULL);
    if (len)
        CHECK_RC(EMBER_OK, ember_config_set_ticket_keys(cfg, keys, len));
    return cfg;
out:
    ember_config_free(cfg);
    return NULL;
}

/* A fresh client connects to `first` (a full handshake) and then to `second`; want: whether
 * `second` resumes the session `first` gave, on both sides. */
static bool first_then(uint16_t v, const ember_config *first, const ember_config *second, int want)
{
    ember_config *cc = client_config(v, v, true);
    bool ok = false;
    CHECK(cc != NULL && first != NULL && second != NULL);
    CHECK(connect_expect(cc, first, 0));
    CHECK(connect_expect(cc, second, want));
    ok = true;
out:
    ember_config_free(cc);
    return ok;
}

/* Servers given the same 80-byte key resume each other's sessions; another key does not; of
 * several keys the first seals and every one opens; the key file reads the same bytes. */
static void case_ticket_keys(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    uint8_t ka[EMBER_TICKET_KEY_LEN], kx[EMBER_TICKET_KEY_LEN], xa[2 * EMBER_TICKET_KEY_LEN];
    char path[64] = "";
    fill_pattern(ka, sizeof ka, 1);
    fill_pattern(kx, sizeof kx, 2);
    memcpy(xa, kx, sizeof kx); /* x seals, a still opens: a fleet mid-rotation */
    memcpy(xa + sizeof kx, ka, sizeof ka);
    ember_config *a = keyed_server(v, ka, sizeof ka), *b = keyed_server(v, ka, sizeof ka);
    ember_config *x = keyed_server(v, kx, sizeof kx), *rotated = keyed_server(v, xa, sizeof xa);
    ember_config *own = keyed_server(v, NULL, 0), *from_file = NULL, *reenabled = NULL, *off = NULL;
    CHECK(a && b && x && rotated && own);
    CHECK(temp_file(path, ka, sizeof ka));
    from_file = keyed_server(v, NULL, 0);
    CHECK(from_file != NULL);
    CHECK_RC(EMBER_OK, ember_config_set_ticket_key_file(from_file, path));
    /* Keys turn tickets back on; turning them off afterwards wins. */
    reenabled = keyed_server(v, NULL, 0);
    off = keyed_server(v, ka, sizeof ka);
    CHECK(reenabled != NULL && off != NULL);
    CHECK_RC(EMBER_OK, ember_config_set_tickets(reenabled, 0));
    CHECK_RC(EMBER_OK, ember_config_set_ticket_keys(reenabled, ka, sizeof ka));
    CHECK_RC(EMBER_OK, ember_config_set_tickets(off, 0));

    CHECK(first_then(v, a, b, 1));
    CHECK(first_then(v, b, a, 1));
    CHECK(first_then(v, a, x, 0));
    CHECK(first_then(v, a, own, 0));
    CHECK(first_then(v, own, a, 0));
    CHECK(first_then(v, a, rotated, 1)); /* the second key opens a's tickets */
    CHECK(first_then(v, rotated, x, 1)); /* the first key seals */
    CHECK(first_then(v, rotated, a, 0)); /* ... and the second never does */
    CHECK(first_then(v, a, from_file, 1));
    CHECK(first_then(v, from_file, b, 1));
    CHECK(first_then(v, a, reenabled, 1));
    CHECK(first_then(v, a, off, 0));
out:
    if (path[0])
        unlink(path);
    ember_config_free(a);
    ember_config_free(b);
    ember_config_free(x);
    ember_config_free(rotated);
    ember_config_free(own);
    ember_config_free(from_file);
    ember_config_free(reenabled);
    ember_config_free(off);
}

/* Key lengths that are not a multiple of 80, missing files and NULLs are refused, and a refused
 * call changes nothing: the server still seals with the key it had. */
static void case_ticket_keys_bad_input(const void *arg)
{
    (void)arg;
    uint8_t ka[2 * EMBER_TICKET_KEY_LEN + 1];
    char short_file[64] = "", empty_file[64] = "";
    fill_pattern(ka, sizeof ka, 1);
    ember_config *a = keyed_server(EMBER_TLS1_3, ka, EMBER_TICKET_KEY_LEN);
    ember_config *b = keyed_server(EMBER_TLS1_3, ka, EMBER_TICKET_KEY_LEN);
    CHECK(a != NULL && b != NULL);
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_keys(b, ka + 1, 79));
    CHECK_CONTAINS(cfg_detail(b), "79 bytes");
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_keys(b, ka + 1, 81));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_keys(b, ka + 1, 2 * EMBER_TICKET_KEY_LEN + 1));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_keys(b, ka + 1, 0));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_ticket_keys(b, NULL, EMBER_TICKET_KEY_LEN));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_ticket_keys(NULL, ka, EMBER_TICKET_KEY_LEN));
    CHECK_RC(EMBER_ERR_FILE, ember_config_set_ticket_key_file(b, "/nonexistent/embertls/ticket.key"));
    CHECK_CONTAINS(cfg_detail(b), "/nonexistent/embertls/ticket.key");
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_ticket_key_file(b, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_ticket_key_file(NULL, "x"));
    CHECK(temp_file(short_file, ka + 1, 79));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_key_file(b, short_file));
    CHECK(temp_file(empty_file, ka, 0));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_ticket_key_file(b, empty_file));
    CHECK(first_then(EMBER_TLS1_3, a, b, 1));
out:
    if (short_file[0])
        unlink(short_file);
    if (empty_file[0])
        unlink(empty_file);
    ember_config_free(a);
    ember_config_free(b);
}

/* ---- ticket keys shared by forked workers ---- */

typedef struct fork_case {
    uint16_t version;
    bool frozen;  /* a connection was made from the server config before the fork */
    bool tickets; /* false: tickets off, the control: nothing resumes across processes */
} fork_case;

/* The server end of one connection, in a worker process: handshake over the socket, tell the
 * client whether it resumed (one byte), close, and wait for the client's close_notify.
 * Returns the worker's exit status. */
static int worker(const ember_config *sc, int fd)
{
    ember_conn *s = NULL;
    int resumed = -1, status = 1;
    uint8_t byte, buf[8];
    size_t n = 0;
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &s));
    CHECK_RC(EMBER_OK, ember_conn_set_fd(s, fd));
    CHECK_CONN_RC(s, EMBER_OK, ember_conn_handshake(s));
    CHECK_RC(EMBER_OK, ember_conn_is_resumed(s, &resumed));
    byte = (uint8_t)resumed;
    CHECK_CONN_RC(s, EMBER_OK, ember_conn_write(s, &byte, 1, &n));
    CHECK_CONN_RC(s, EMBER_OK, ember_conn_close(s));
    CHECK_CONN_RC(s, EMBER_CLOSED, ember_conn_read(s, buf, sizeof buf, &n));
    status = 0;
out:
    ember_conn_free(s);
    return status;
}

/* One connection from cc (in this process) to a worker forked now, serving from sc. */
static bool served_by_worker(ember_config *cc, ember_config *sc, int *resumed_c, int *resumed_s)
{
    int sv[2] = {-1, -1}, status = 0;
    pid_t pid = -1;
    ember_conn *c = NULL;
    uint8_t byte = 0xff, buf[8];
    size_t n = 0;
    bool ok = false;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fflush(stdout);
    pid = fork();
    CHECK_MSG(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(sv[0]);
        alarm(10); /* alarms are not inherited: a hang guard of its own */
        status = worker(sc, sv[1]);
        /* The worker's copies, released so that a leak checker following the fork finds
         * nothing lost; _exit, as the worker must not run the case process's exit handlers. */
        ember_config_free(sc);
        ember_config_free(cc);
        _exit(status);
    }
    close(sv[1]);
    sv[1] = -1;
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &c));
    CHECK_RC(EMBER_OK, ember_conn_set_fd(c, sv[0]));
    CHECK_CONN_RC(c, EMBER_OK, ember_conn_handshake(c));
    /* Reading the byte also reads the TLS 1.3 tickets sent before it. */
    CHECK_CONN_RC(c, EMBER_OK, ember_conn_read(c, &byte, 1, &n));
    CHECK_EQ(1, n);
    CHECK_CONN_RC(c, EMBER_CLOSED, ember_conn_read(c, buf, sizeof buf, &n));
    CHECK_CONN_RC(c, EMBER_OK, ember_conn_close(c));
    CHECK_RC(EMBER_OK, ember_conn_is_resumed(c, resumed_c));
    *resumed_s = byte;
    CHECK(waitpid(pid, &status, 0) == pid);
    pid = -1;
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "worker failed (status 0x%x)", status);
    ok = true;
out:
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
    }
    ember_conn_free(c);
    if (sv[0] >= 0)
        close(sv[0]);
    if (sv[1] >= 0)
        close(sv[1]);
    return ok;
}

/* A server config made before fork(): each connection is served by a new worker process, as a
 * pre-forking server does. The second worker never saw the first's session, yet opens its
 * ticket: the ticket keys were drawn in ember_config_new, before the fork. With tickets off the
 * first worker's in-memory session dies with it and nothing resumes. */
static void case_fork_workers(const void *arg)
{
    const fork_case *fc = arg;
    ember_config *sc = server_config("ecdsa-p256", NULL, fc->version, fc->version);
    ember_config *cc = client_config(fc->version, fc->version, true);
    ember_conn *freezer = NULL;
    int c = -1, s = -1;
    CHECK(sc != NULL && cc != NULL);
    if (!fc->tickets)
        CHECK_RC(EMBER_OK, ember_config_set_tickets(sc, 0));
    if (fc->frozen) {
        /* Its first connection freezes the config for good, even once freed. */
        CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &freezer));
        ember_conn_free(freezer);
        freezer = NULL;
        CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_tickets(sc, 1));
    }
    CHECK(served_by_worker(cc, sc, &c, &s));
    CHECK_EQ(0, c);
    CHECK_EQ(0, s);
    CHECK(served_by_worker(cc, sc, &c, &s));
    CHECK_MSG(c == fc->tickets && s == fc->tickets,
              "resumed: expected %d on both sides, got client %d server %d", fc->tickets, c, s);
out:
    ember_conn_free(freezer);
    ember_config_free(sc);
    ember_config_free(cc);
}

/* ---- bad input for the session setters ---- */

static void case_session_bad_input(const void *arg)
{
    (void)arg;
    ember_session_cache *cache = NULL, *none = NULL;
    ember_config *sc = server_config("ecdsa-p256", NULL, 0, 0), *cc = client_config(0, 0, true);
    ember_conn *c = NULL, *s = NULL;
    session_store st;
    uint8_t key[EMBER_TICKET_KEY_LEN] = {0};
    int r = 0;
    memset(&st, 0, sizeof st);
    CHECK(sc != NULL && cc != NULL);

    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_session_cache_new(0, &none));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_session_cache_new(1, NULL));
    CHECK_RC(EMBER_OK, ember_session_cache_new(1, &cache));
    ember_session_cache_free(NULL);

    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_session_cache(sc, cache));
    CHECK_CONTAINS(cfg_detail(sc), "client setting");
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_session_cache(NULL, cache));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_session_cache(cc, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_session_cache_size(NULL, 1));

    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_tickets(cc, 1));
    CHECK_CONTAINS(cfg_detail(cc), "server setting");
    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_tickets(cc, 0));
    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_ticket_keys(cc, key, sizeof key));
    CHECK_RC(EMBER_ERR_WRONG_ROLE, ember_config_set_ticket_key_file(cc, pki("ca.pem")));
    CHECK_RC(EMBER_ERR_WRONG_ROLE,
             ember_config_set_session_store(cc, store_put, store_get, store_remove, &st));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_tickets(NULL, 1));
    CHECK_RC(EMBER_ERR_NULL_ARG,
             ember_config_set_session_store(NULL, store_put, store_get, store_remove, &st));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_session_store(sc, NULL, store_get, store_remove, &st));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_session_store(sc, store_put, NULL, store_remove, &st));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_session_store(sc, store_put, store_get, NULL, &st));
    /* userdata may be NULL: it is only passed along. The size replaces the store again. */
    CHECK_RC(EMBER_OK, ember_config_set_session_store(sc, store_put, store_get, store_remove, NULL));
    CHECK_RC(EMBER_OK, ember_config_set_session_cache_size(sc, 0));

    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_is_resumed(NULL, &r));

    /* Frozen by the first connection. */
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &s));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_is_resumed(c, NULL));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_session_cache(cc, cache));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_session_cache_size(cc, 1));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_session_cache_size(sc, 1));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_tickets(sc, 0));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_ticket_keys(sc, key, sizeof key));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_ticket_key_file(sc, pki("ca.pem")));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN,
             ember_config_set_session_store(sc, store_put, store_get, store_remove, &st));
    /* The store was replaced by a size of 0 before freezing: never called. */
    CHECK_EQ(0, st.puts + st.gets + st.removes);
out:
    ember_conn_free(c);
    ember_conn_free(s);
    ember_session_cache_free(cache);
    ember_session_cache_free(none);
    ember_config_free(sc);
    ember_config_free(cc);
    store_clear(&st);
}

/* ---- ALPN ---- */

/* Sets a comma-separated list of protocols (NULL: leaves ALPN off). */
static bool set_alpn_list(ember_config *cfg, const char *list)
{
    char copy[256];
    const char *names[8];
    size_t count = 0;
    if (!list)
        return true;
    snprintf(copy, sizeof copy, "%s", list);
    for (char *save = NULL, *tok = strtok_r(copy, ",", &save); tok && count < 8;
         tok = strtok_r(NULL, ",", &save))
        names[count++] = tok;
    CHECK_RC(EMBER_OK, ember_config_set_alpn(cfg, names, count));
    return true;
out:
    return false;
}

/* The agreed protocol of conn is want (NULL: none, EMBER_ERR_WRONG_STATE). */
static bool alpn_is(const ember_conn *conn, const char *want)
{
    char buf[300];
    size_t n = 0;
    if (!want) {
        CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_alpn(conn, buf, sizeof buf, &n));
        return true;
    }
    CHECK_RC(EMBER_OK, ember_conn_alpn(conn, buf, sizeof buf, &n));
    CHECK_STR(want, buf);
    CHECK_EQ(strlen(want), n);
    return true;
out:
    return false;
}

typedef struct alpn_case {
    const char *client, *server; /* comma-separated, NULL: ALPN off */
    const char *want;            /* agreed protocol; NULL: none */
    bool no_overlap;             /* the handshake fails with EMBER_ERR_NO_ALPN_OVERLAP */
    uint16_t version;
} alpn_case;

static void case_alpn(const void *arg)
{
    const alpn_case *ac = arg;
    ember_config *sc = server_config("ecdsa-p256", NULL, ac->version, ac->version);
    ember_config *cc = client_config(ac->version, ac->version, true);
    ember_result rc_c, rc_s;
    pair p = {0};
    CHECK(sc != NULL && cc != NULL);
    CHECK(set_alpn_list(cc, ac->client) && set_alpn_list(sc, ac->server));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK(alpn_is(p.c, NULL) && alpn_is(p.s, NULL)); /* nothing chosen yet */
    if (ac->no_overlap) {
        char s_text[DETAIL_LEN], c_text[DETAIL_LEN];
        uint8_t out[8];
        uint64_t ns = 0;
        int r = 0;
        /* The server chooses, so it finds there is no overlap; the client hears it from the
         * alert no_application_protocol and names the same cause. */
        CHECK(check_failed_handshake(&p, false, EMBER_ERR_NO_ALPN_OVERLAP, EMBER_ERR_NO_ALPN_OVERLAP,
                                     ALERT_NO_APPLICATION_PROTOCOL, s_text, c_text));
        CHECK(alpn_is(p.c, NULL) && alpn_is(p.s, NULL));
        /* Nothing completed: no duration, no resumption answer; the exporter reports the
         * connection's error. */
        CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_handshake_ns(p.s, &ns));
        CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_is_resumed(p.c, &r));
        CHECK_RC(EMBER_ERR_NO_ALPN_OVERLAP,
                 ember_conn_export_keying_material(p.s, (const uint8_t *)"x", 1, NULL, 0, out, sizeof out));
    } else {
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
        CHECK(alpn_is(p.c, ac->want) && alpn_is(p.s, ac->want));
        CHECK(exchange(&p));
        CHECK(alpn_is(p.c, ac->want) && alpn_is(p.s, ac->want)); /* still known after close */
    }
out:
    pair_free(&p);
    ember_config_free(sc);
    ember_config_free(cc);
}

/* A detail quotes what the peer chose, here the protocols a client offered, with its control
 * characters escaped: the text stays one printable line whose length is the one reported (a
 * NUL inside a certificate's name cut the text short of it; the fuzz target conn_client found
 * that one, which C cannot offer as ALPN). */
static void case_alpn_escaped_in_detail(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    ember_config *sc = server_config("ecdsa-p256", NULL, v, v);
    ember_config *cc = client_config(v, v, true);
    const char *offered[] = {"h2\n\x1b[1m"}, *accepted[] = {"http/1.1"};
    char s_text[DETAIL_LEN], c_text[DETAIL_LEN];
    pair p = {0};
    CHECK(sc != NULL && cc != NULL);
    CHECK_RC(EMBER_OK, ember_config_set_alpn(cc, offered, 1));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(sc, accepted, 1));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK(check_failed_handshake(&p, false, EMBER_ERR_NO_ALPN_OVERLAP, EMBER_ERR_NO_ALPN_OVERLAP,
                                 ALERT_NO_APPLICATION_PROTOCOL, s_text, c_text));
    CHECK_CONTAINS(s_text, "\"h2\\n\\u{1b}[1m\"");
    for (const char *c = s_text; *c; c++)
        CHECK_MSG((unsigned char)*c >= 0x20, "control character 0x%02x in the detail", *c);
out:
    pair_free(&p);
    ember_config_free(sc);
    ember_config_free(cc);
}

/* Names of 1 to 255 bytes; a refused list changes nothing; count 0 turns ALPN off; the caller's
 * buffer is reported too small with the full length. */
static void case_alpn_bad_input(const void *arg)
{
    (void)arg;
    char long_name[257], buf[16];
    const char *empty[] = {"h2", ""}, *with_null[] = {"h2", NULL}, *bad_after[] = {"x", ""};
    const char *h2[] = {"h2"}, *http[] = {"http/1.1"}, *one[1];
    ember_config *sc = server_config("ecdsa-p256", NULL, 0, 0), *cc = client_config(0, 0, true);
    ember_config *scratch = client_config(0, 0, true), *off = client_config(0, 0, true);
    pair p = {0}, q = {0};
    ember_result rc_c, rc_s;
    size_t n = 0;
    CHECK(sc && cc && scratch && off);
    memset(long_name, 'a', sizeof long_name);
    long_name[256] = '\0';
    one[0] = long_name;
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_alpn(scratch, one, 1));
    CHECK_CONTAINS(cfg_detail(scratch), "256 bytes");
    long_name[255] = '\0';
    CHECK_RC(EMBER_OK, ember_config_set_alpn(scratch, one, 1));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_alpn(scratch, empty, 2));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_alpn(scratch, with_null, 2));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_alpn(scratch, NULL, 1));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_alpn(NULL, h2, 1));

    /* cc offers h2; a refused list (its "x" never applied) leaves that; the server agrees. */
    CHECK_RC(EMBER_OK, ember_config_set_alpn(cc, h2, 1));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_alpn(cc, bad_after, 2));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(sc, (const char *[]){"x", "h2"}, 2));
    /* off offered http/1.1, then count 0 (with a NULL list) turned ALPN off: no overlap error. */
    CHECK_RC(EMBER_OK, ember_config_set_alpn(off, http, 1));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(off, NULL, 0));

    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK(alpn_is(p.c, "h2") && alpn_is(p.s, "h2"));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_alpn(cc, http, 1));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_alpn(sc, http, 1));

    CHECK(pair_from(&q, off, sc, "localhost"));
    CHECK(drive_handshake(&q, &rc_c, &rc_s));
    CHECK_CONN_RC(q.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(q.s, EMBER_OK, rc_s);
    CHECK(alpn_is(q.c, NULL) && alpn_is(q.s, NULL));

    /* Buffers: "h2" needs 3 bytes; smaller ones get what fits, NUL-terminated, and the length. */
    CHECK_RC(EMBER_ERR_BUFFER_TOO_SMALL, ember_conn_alpn(p.c, buf, 2, &n));
    CHECK_EQ(2, n);
    CHECK_STR("h", buf);
    n = 0;
    CHECK_RC(EMBER_ERR_BUFFER_TOO_SMALL, ember_conn_alpn(p.s, NULL, 0, &n));
    CHECK_EQ(2, n);
    CHECK_RC(EMBER_OK, ember_conn_alpn(p.c, buf, 3, &n));
    CHECK_STR("h2", buf);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_alpn(NULL, buf, sizeof buf, &n));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_alpn(p.c, buf, sizeof buf, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_alpn(p.c, NULL, 5, &n));
out:
    pair_free(&p);
    pair_free(&q);
    ember_config_free(sc);
    ember_config_free(cc);
    ember_config_free(scratch);
    ember_config_free(off);
}

/* A long name (255 bytes, the most ALPN allows) is agreed and read back whole; an 8-byte
 * buffer gets 7 bytes of it and the full length. */
static void case_alpn_long_name(const void *arg)
{
    (void)arg;
    char name[256], buf[300];
    const char *list[] = {"h2", name};
    ember_config *sc = server_config("ecdsa-p256", NULL, 0, 0), *cc = client_config(0, 0, true);
    pair p = {0};
    ember_result rc_c, rc_s;
    size_t n = 0;
    CHECK(sc && cc);
    for (int i = 0; i < 255; i++)
        name[i] = (char)('a' + i % 26);
    name[255] = '\0';
    CHECK_RC(EMBER_OK, ember_config_set_alpn(cc, list, 2));
    CHECK_RC(EMBER_OK, ember_config_set_alpn(sc, list + 1, 1));
    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK(alpn_is(p.c, name) && alpn_is(p.s, name));
    CHECK_RC(EMBER_ERR_BUFFER_TOO_SMALL, ember_conn_alpn(p.c, buf, 8, &n));
    CHECK_EQ(255, n);
    CHECK_STR("abcdefg", buf);
    CHECK_RC(EMBER_ERR_BUFFER_TOO_SMALL, ember_conn_alpn(p.c, buf, 255, &n));
    CHECK_EQ(255, n);
    CHECK_EQ(254, strlen(buf));
out:
    pair_free(&p);
    ember_config_free(sc);
    ember_config_free(cc);
}

/* ---- certificates chosen by SNI ---- */

typedef struct sni_case {
    const char *first, *second; /* PKI names, added in this order (the first by file) */
    const char *server_name;    /* the client's */
    const char *want_leaf;      /* PKI leaf file the client must receive; NULL: it fails */
    const char *sni;            /* what the server reads with ember_conn_server_name; NULL: none */
    uint16_t version;
} sni_case;

/* A server with two certificates: the one whose subjectAltName has the client's server name is
 * presented; with no match, or no SNI (an IP address is never sent as SNI), the first. The
 * leaf the client received is compared byte for byte with the PKI's. wronghost is valid for
 * other.example only, ecdsa-p256 for localhost and 127.0.0.1. */
static void case_sni(const void *arg)
{
    const sni_case *sn = arg;
    char chain_path[64], key_path[64], name[64];
    uint8_t *chain = NULL, *key = NULL, *want = NULL;
    size_t chain_len = 0, key_len = 0, want_len = 0, n = 0, der_len = 0;
    const uint8_t *der = NULL;
    ember_config *sc = server_config(sn->first, NULL, sn->version, sn->version);
    ember_config *cc = client_config(sn->version, sn->version, true);
    pair p = {0};
    ember_result rc_c, rc_s;
    CHECK(sc != NULL && cc != NULL);
    snprintf(chain_path, sizeof chain_path, "%s.pem", sn->second);
    snprintf(key_path, sizeof key_path, "%s.key", sn->second);
    chain = read_file(pki(chain_path), &chain_len);
    key = read_file(pki(key_path), &key_len);
    CHECK(chain != NULL && key != NULL);
    CHECK_RC(EMBER_OK, ember_config_add_cert_pem(sc, chain, chain_len, key, key_len));
    CHECK(pair_from(&p, cc, sc, sn->server_name));
    if (sn->want_leaf) {
        CHECK(drive_handshake(&p, &rc_c, &rc_s));
        CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
        CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
        want = pem_file_der(sn->want_leaf, &want_len);
        CHECK(want != NULL);
        CHECK_RC(EMBER_OK, ember_conn_peer_cert(p.c, 0, &der, &der_len));
        CHECK_EQ(want_len, der_len);
        CHECK(same_bytes(sn->want_leaf, want, der, der_len));
        CHECK(exchange(&p));
    } else {
        char c_text[DETAIL_LEN], s_text[DETAIL_LEN];
        /* The default certificate (wronghost) went out: the client names its only host. */
        CHECK(check_failed_handshake(&p, true, EMBER_ERR_CERT_HOSTNAME_MISMATCH,
                                     EMBER_ERR_ALERT_RECEIVED, ALERT_BAD_CERTIFICATE, c_text, s_text));
        CHECK_CONTAINS(c_text, "valid for other.example");
    }
    if (sn->sni) {
        CHECK_RC(EMBER_OK, ember_conn_server_name(p.s, name, sizeof name, &n));
        CHECK_STR(sn->sni, name);
        CHECK_EQ(strlen(sn->sni), n);
    } else {
        CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_server_name(p.s, name, sizeof name, &n));
    }
out:
    pair_free(&p);
    free(chain);
    free(key);
    free(want);
    ember_config_free(sc);
    ember_config_free(cc);
}

/* ---- key update ---- */

/* len bytes from `from` arrive intact at `to`. */
static bool send_over(pair *p, bool from_client, size_t len, uint32_t seed)
{
    ember_conn *from = from_client ? p->c : p->s, *to = from_client ? p->s : p->c;
    bytes *q = from_client ? &p->c2s : &p->s2c;
    uint8_t tx[4096], rx[4096];
    size_t n = 0, got = 0, moved = 0;
    fill_pattern(tx, len, seed);
    CHECK_CONN_RC(from, EMBER_OK, ember_conn_write(from, tx, len, &n));
    CHECK_EQ(len, n);
    CHECK(shuttle(from, q, to, NULL, &moved));
    while (got < len) {
        CHECK_CONN_RC(to, EMBER_OK, ember_conn_read(to, rx + got, sizeof rx - got, &n));
        got += n;
    }
    CHECK(same_bytes("data after key update", tx, rx, len));
    /* Whatever the reader owes in return (its own KeyUpdate) goes back now. */
    CHECK(shuttle(to, from_client ? &p->s2c : &p->c2s, from, NULL, &moved));
    return true;
out:
    return false;
}

/* TLS 1.3: keys update on request from either side, several times and from both at once, and
 * data keeps flowing both ways. The KeyUpdate is queued at once (memory mode: pending output). */
static void case_key_update(const void *arg)
{
    (void)arg;
    pair p = {0};
    ember_result rc_c, rc_s;
    CHECK(make_pair(&p, &(pair_opts){.cmin = EMBER_TLS1_3, .cmax = EMBER_TLS1_3}));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_key_update(p.s)); /* before the handshake */
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK(send_over(&p, true, 10, 1)); /* the client also takes in the server's tickets */
    for (int round = 0; round < 6; round++) {
        ember_conn *who = round % 2 ? p.s : p.c;
        CHECK_EQ(0, ember_conn_pending_output(who));
        CHECK_CONN_RC(who, EMBER_OK, ember_conn_key_update(who));
        CHECK(ember_conn_pending_output(who) > 0);
        CHECK(send_over(&p, round % 2 == 0, 100 + (size_t)round, 10 + (uint32_t)round));
        CHECK(send_over(&p, round % 2 != 0, 3000, 20 + (uint32_t)round));
    }
    /* Both sides at once. */
    CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_key_update(p.c));
    CHECK_CONN_RC(p.s, EMBER_OK, ember_conn_key_update(p.s));
    CHECK(send_over(&p, true, 4000, 40));
    CHECK(send_over(&p, false, 4000, 41));
    CHECK(exchange(&p)); /* and a clean close */
    /* After close: no more writes, so no key update. */
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_key_update(p.s));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_key_update(NULL));
out:
    pair_free(&p);
}

/* TLS 1.2 has no key update: refused, nothing sent, the connection still works. */
static void case_key_update_tls12(const void *arg)
{
    (void)arg;
    pair p = {0};
    ember_result rc_c, rc_s;
    CHECK(make_pair(&p, &(pair_opts){.cmin = EMBER_TLS1_2, .cmax = EMBER_TLS1_2}));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_key_update(p.c));
    CHECK_CONTAINS(conn_detail(p.c), "TLS 1.3");
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_key_update(p.s));
    CHECK_EQ(0, ember_conn_pending_output(p.c));
    CHECK_EQ(0, ember_conn_pending_output(p.s));
    CHECK(exchange(&p));
out:
    pair_free(&p);
}

/* A key update refused before the handshake moves nothing: the connection can still choose
 * its I/O (ember_conn_set_io: EMBER_ERR_WRONG_STATE only "when the I/O was already chosen or
 * bytes already moved"), and the handshake then works. */
static int no_read(void *ud, uint8_t *buf, size_t len, size_t *out_n)
{
    (void)ud, (void)buf, (void)len, (void)out_n;
    return EAGAIN;
}

static int no_write(void *ud, const uint8_t *buf, size_t len, size_t *out_n)
{
    (void)ud, (void)buf, (void)len, (void)out_n;
    return EAGAIN;
}

static void case_key_update_before_handshake(const void *arg)
{
    (void)arg;
    ember_config *cc = client_config(0, 0, true);
    ember_conn *c = NULL;
    CHECK(cc != NULL);
    CHECK_RC(EMBER_OK, ember_conn_new(cc, "localhost", &c));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_key_update(c));
    CHECK_CONN_RC(c, EMBER_OK, ember_conn_set_io(c, no_read, no_write, NULL));
    CHECK_RC(EMBER_WANT_WRITE, ember_conn_handshake(c));
out:
    ember_conn_free(c);
    ember_config_free(cc);
}

/* ---- exporter ---- */

static bool export(ember_conn *conn, const char *label, const void *context, size_t context_len,
                   uint8_t *out, size_t out_len)
{
    CHECK_CONN_RC(conn, EMBER_OK,
                  ember_conn_export_keying_material(conn, (const uint8_t *)label, strlen(label),
                                                    context, context_len, out, out_len));
    return true;
out:
    return false;
}

/* Both sides export the same bytes for the same label and context, other bytes for another
 * label, another context, or another session. No context and an empty one: RFC 8446 section
 * 7.5 defines the TLS 1.3 exporter with "no context" as the empty context, so the two agree;
 * RFC 5705 (TLS 1.2) mixes the context and its length into the PRF only when a context is
 * given, so the two differ. */
static void case_exporter(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    const char *label = "EXPERIMENTAL embertls test";
    uint8_t c1[32], s1[32], other_label[32], other_ctx[32], none_c[32], none_s[32], empty[32],
        none_len[32], again[32], zero[32] = {0}, c64[64], s64[64];
    pair p = {0}, q = {0};
    ember_result rc_c, rc_s;
    CHECK(make_pair(&p, &(pair_opts){.cmin = v, .cmax = v}));
    CHECK(make_pair(&q, &(pair_opts){.cmin = v, .cmax = v}));
    CHECK_RC(EMBER_ERR_WRONG_STATE,
             ember_conn_export_keying_material(p.c, (const uint8_t *)"x", 1, NULL, 0, c1, sizeof c1));
    CHECK_RC(EMBER_ERR_WRONG_STATE,
             ember_conn_export_keying_material(p.s, (const uint8_t *)"x", 1, NULL, 0, s1, sizeof s1));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK(drive_handshake(&q, &rc_c, &rc_s));
    CHECK_CONN_RC(q.c, EMBER_OK, rc_c);

    CHECK(export(p.c, label, "ctx", 3, c1, sizeof c1));
    CHECK(export(p.s, label, "ctx", 3, s1, sizeof s1));
    CHECK(same_bytes("client vs server export", c1, s1, sizeof c1));
    CHECK(memcmp(c1, zero, sizeof c1) != 0);
    CHECK(export(p.s, "EXPERIMENTAL other", "ctx", 3, other_label, sizeof other_label));
    CHECK(memcmp(c1, other_label, sizeof c1) != 0);
    CHECK(export(p.s, label, "cty", 3, other_ctx, sizeof other_ctx));
    CHECK(memcmp(c1, other_ctx, sizeof c1) != 0);
    CHECK(export(q.c, label, "ctx", 3, again, sizeof again));
    CHECK(memcmp(c1, again, sizeof c1) != 0);

    CHECK(export(p.c, label, NULL, 0, none_c, sizeof none_c));
    CHECK(export(p.s, label, NULL, 0, none_s, sizeof none_s));
    CHECK(same_bytes("export without context", none_c, none_s, sizeof none_c));
    CHECK(export(p.s, label, "", 0, empty, sizeof empty));
    if (v == EMBER_TLS1_3)
        CHECK(same_bytes("TLS 1.3: no context = empty context", none_c, empty, sizeof empty));
    else
        CHECK_MSG(memcmp(none_c, empty, sizeof empty) != 0,
                  "TLS 1.2: no context and an empty context must differ (RFC 5705)");
    /* A NULL context means none, whatever its length says. */
    CHECK(export(p.c, label, NULL, 5, none_len, sizeof none_len));
    CHECK(same_bytes("NULL context with a length", none_c, none_len, sizeof none_len));

    CHECK(export(p.c, label, "ctx", 3, c64, sizeof c64));
    CHECK(export(p.s, label, "ctx", 3, s64, sizeof s64));
    CHECK(same_bytes("64-byte export", c64, s64, sizeof c64));

    CHECK_RC(EMBER_ERR_INVALID_ARG,
             ember_conn_export_keying_material(p.c, (const uint8_t *)"x", 1, NULL, 0, c1, 0));
    CHECK_RC(EMBER_ERR_INVALID_ARG,
             ember_conn_export_keying_material(p.c, (const uint8_t *)"x", 1, NULL, 0, NULL, 0));
    CHECK_RC(EMBER_ERR_NULL_ARG,
             ember_conn_export_keying_material(p.c, (const uint8_t *)"x", 1, NULL, 0, NULL, 32));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_export_keying_material(p.c, NULL, 3, NULL, 0, c1, 32));
    CHECK_RC(EMBER_ERR_NULL_ARG,
             ember_conn_export_keying_material(NULL, (const uint8_t *)"x", 1, NULL, 0, c1, 32));
    /* The connection still works after the refusals. */
    CHECK(exchange(&p));
out:
    pair_free(&p);
    pair_free(&q);
}

/* ---- handshake duration and connection ids ---- */

static void case_duration_and_id(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    pair p = {0}, q = {0};
    ember_result rc_c, rc_s;
    uint64_t ns_c = 0, ns_s = 0, again = 0, id[4] = {0};
    CHECK(make_pair(&p, &(pair_opts){.cmin = v, .cmax = v}));
    CHECK(make_pair(&q, &(pair_opts){.cmin = v, .cmax = v}));
    CHECK_RC(EMBER_OK, ember_conn_id(p.c, &id[0]));
    CHECK_RC(EMBER_OK, ember_conn_id(p.s, &id[1]));
    CHECK_RC(EMBER_OK, ember_conn_id(q.c, &id[2]));
    CHECK_RC(EMBER_OK, ember_conn_id(q.s, &id[3]));
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            CHECK_MSG(id[i] != id[j], "connections %d and %d share the id %llu", i, j,
                      (unsigned long long)id[i]);
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_handshake_ns(p.c, &ns_c));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_handshake_ns(p.s, &ns_s));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK_RC(EMBER_OK, ember_conn_handshake_ns(p.c, &ns_c));
    CHECK_RC(EMBER_OK, ember_conn_handshake_ns(p.s, &ns_s));
    CHECK(ns_c > 0 && ns_s > 0);
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_handshake_ns(q.c, &again)); /* q never moved */
    CHECK(exchange(&p));
    /* Fixed once the handshake completed; the id never changes. */
    CHECK_RC(EMBER_OK, ember_conn_handshake_ns(p.c, &again));
    CHECK_EQ(ns_c, again);
    CHECK_RC(EMBER_OK, ember_conn_id(p.c, &again));
    CHECK_EQ(id[0], again);
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_handshake_ns(NULL, &again));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_handshake_ns(p.c, NULL));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_id(NULL, &again));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_conn_id(p.c, NULL));
out:
    pair_free(&p);
    pair_free(&q);
}

/* ---- cipher suites and groups ---- */

/* The client's choice of suites and groups is what both sides negotiate, for TLS 1.3 and
 * TLS 1.2 suites alike; ids embertls does not offer, repeated ids and NULL lists are refused
 * without changing anything, and an empty list restores the defaults. */
static void case_suites_and_groups(const void *arg)
{
    (void)arg;
    static const uint16_t chacha13[] = {0x1303}, ecdsa12[] = {0xc02c, 0xc02b};
    static const uint16_t p384[] = {0x0018}, rsa_kx[] = {0x1301, 0x009c}, twice[] = {0x001d, 0x001d};
    pair p = {0};
    ember_result rc_c, rc_s;
    ember_config *sc = server_config("ecdsa-p256", NULL, 0, 0);
    ember_config *cc = client_config(0, 0, true);
    ember_config *cc12 = client_config(EMBER_TLS1_2, EMBER_TLS1_2, true);
    ember_config *bad = client_config(EMBER_TLS1_3, EMBER_TLS1_3, true);
    CHECK(sc && cc && cc12 && bad);
    CHECK_RC(EMBER_OK, ember_config_set_cipher_suites(cc, chacha13, 1));
    CHECK_RC(EMBER_OK, ember_config_set_groups(cc, p384, 1));
    CHECK_RC(EMBER_OK, ember_config_set_cipher_suites(cc12, ecdsa12, 2));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_cipher_suites(cc, rsa_kx, 2));
    CHECK_CONTAINS(cfg_detail(cc), "0x009c");
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_groups(cc, twice, 2));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_cipher_suites(cc, NULL, 1));
    CHECK_RC(EMBER_ERR_NULL_ARG, ember_config_set_groups(NULL, p384, 1));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_config_set_groups(cc, p384, SIZE_MAX));

    CHECK(pair_from(&p, cc, sc, "localhost"));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK(check_facts(p.c, EMBER_TLS1_3, 0x1303, 0x0018, "localhost"));
    CHECK_RC(EMBER_ERR_CONFIG_FROZEN, ember_config_set_groups(cc, NULL, 0));
    pair_free(&p);

    CHECK(pair_from(&p, cc12, sc, "localhost"));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK(check_facts(p.c, EMBER_TLS1_2, 0xc02c, 0x001d, "localhost"));
    pair_free(&p);

    /* TLS 1.2 suites on a TLS 1.3-only config: nothing to offer, refused at ember_conn_new. */
    memset(&p, 0, sizeof p);
    CHECK_RC(EMBER_OK, ember_config_set_cipher_suites(bad, ecdsa12, 2));
    CHECK_RC(EMBER_ERR_INVALID_ARG, ember_conn_new(bad, "localhost", &p.c));
    CHECK_CONTAINS(cfg_detail(bad), "ember_config_set_cipher_suites");
    /* An empty list restores the defaults. */
    CHECK_RC(EMBER_OK, ember_config_set_cipher_suites(bad, NULL, 0));
    CHECK_RC(EMBER_OK, ember_conn_new(bad, "localhost", &p.c));
out:
    pair_free(&p);
    ember_config_free(sc);
    ember_config_free(cc);
    ember_config_free(cc12);
    ember_config_free(bad);
}

void run_session_cases(void)
{
    run_case(case_suites_and_groups, NULL, "negotiation suites_and_groups");
    static const resume_case base[] = {
        {"default", -1, -1, -1, 1, 0},
        {"client_cache=1", 1, -1, -1, 1, 0},
        {"client_cache=0", 0, -1, -1, 0, 0},
        {"tickets_off", -1, 0, -1, 1, 0},
        {"server_cache=0", -1, -1, 0, 1, 0},
        {"tickets_off server_cache=0", -1, 0, 0, 0, 0},
    };
    enum { NBASE = sizeof base / sizeof base[0] };
    static resume_case resume[2][NBASE];
    static const store_case store_base[] = {
        {"found", false, false, false, 0},
        {"get_refused", true, false, false, 0},
        {"remove_refused", false, true, false, 0},
        {"replaced_by_cache_size", false, false, true, 0},
    };
    enum { NSTORE = sizeof store_base / sizeof store_base[0] };
    static store_case stores[2][NSTORE];
    static fork_case forks[2][3];
    static const alpn_case alpn_base[] = {
        {"h2,http/1.1", "http/1.1", "http/1.1", false, 0},
        {"h2,http/1.1", "http/1.1,h2", "http/1.1", false, 0}, /* the server's preference */
        {"http/1.1,h2", "h2,http/1.1", "h2", false, 0},
        {"h2", "http/1.1", NULL, true, 0},
        {"h2,http/1.1", NULL, NULL, false, 0},
        {NULL, "h2,http/1.1", NULL, false, 0},
    };
    enum { NALPN = sizeof alpn_base / sizeof alpn_base[0] };
    static alpn_case alpns[2][NALPN];
    static const sni_case sni_base[] = {
        {"wronghost", "ecdsa-p256", "localhost", "ecdsa-p256-leaf.pem", "localhost", 0},
        {"wronghost", "ecdsa-p256", "other.example", "wronghost-leaf.pem", "other.example", 0},
        {"wronghost", "ecdsa-p256", "Other.Example", "wronghost-leaf.pem", "other.example", 0},
        {"wronghost", "ecdsa-p256", "127.0.0.1", NULL, NULL, 0},
        {"wronghost", "ecdsa-p256", "unknown.example", NULL, "unknown.example", 0},
        {"ecdsa-p256", "wronghost", "localhost", "ecdsa-p256-leaf.pem", "localhost", 0},
        {"ecdsa-p256", "wronghost", "other.example", "wronghost-leaf.pem", "other.example", 0},
        {"ecdsa-p256", "wronghost", "127.0.0.1", "ecdsa-p256-leaf.pem", NULL, 0},
    };
    enum { NSNI = sizeof sni_base / sizeof sni_base[0] };
    static sni_case snis[2][NSNI];

    for (int v = 0; v < 2; v++) {
        uint16_t ver = VERSIONS[v];
        for (int i = 0; i < NBASE; i++) {
            resume[v][i] = base[i];
            resume[v][i].version = ver;
            run_case(case_resume, &resume[v][i], "resume %s %s -> %s", vname(ver), base[i].name,
                     base[i].want ? "resumed" : "full");
        }
        run_case(case_shared_cache, &VERSIONS[v], "resume %s shared_cache", vname(ver));
        run_case(case_ticket_keys, &VERSIONS[v], "ticket_keys %s", vname(ver));
        for (int i = 0; i < 3; i++) {
            forks[v][i] = (fork_case){ver, i == 1, i != 2};
            run_case(case_fork_workers, &forks[v][i], "ticket_keys %s forked_workers%s%s", vname(ver),
                     i == 1 ? " frozen_before_fork" : "", i == 2 ? " tickets_off -> full" : "");
        }
        for (int i = 0; i < NSTORE; i++) {
            stores[v][i] = store_base[i];
            stores[v][i].version = ver;
            run_case(case_store, &stores[v][i], "session_store %s %s", vname(ver), store_base[i].name);
        }
        for (int i = 0; i < NALPN; i++) {
            alpns[v][i] = alpn_base[i];
            alpns[v][i].version = ver;
            run_case(case_alpn, &alpns[v][i], "alpn %s client=%s server=%s -> %s", vname(ver),
                     alpn_base[i].client ? alpn_base[i].client : "(none)",
                     alpn_base[i].server ? alpn_base[i].server : "(none)",
                     alpn_base[i].no_overlap ? "EMBER_ERR_NO_ALPN_OVERLAP"
                     : alpn_base[i].want    ? alpn_base[i].want
                                            : "(none)");
        }
        if (ver == EMBER_TLS1_3)
            run_case(case_store_long_psk_identity, NULL, "session_store %s long_psk_identity",
                     vname(ver));
        run_case(case_alpn_escaped_in_detail, &VERSIONS[v], "alpn %s control_characters_escaped_in_detail",
                 vname(ver));
        for (int i = 0; i < NSNI; i++) {
            snis[v][i] = sni_base[i];
            snis[v][i].version = ver;
            run_case(case_sni, &snis[v][i], "sni %s certs=%s,%s name=%s -> %s", vname(ver),
                     sni_base[i].first, sni_base[i].second, sni_base[i].server_name,
                     sni_base[i].want_leaf ? sni_base[i].want_leaf : "first, hostname mismatch");
        }
        run_case(case_exporter, &VERSIONS[v], "exporter %s", vname(ver));
        run_case(case_duration_and_id, &VERSIONS[v], "handshake_ns_and_id %s", vname(ver));
    }
    run_case(case_session_bad_input, NULL, "session bad_input");
    run_case(case_ticket_keys_bad_input, NULL, "ticket_keys bad_input");
    run_case(case_alpn_bad_input, NULL, "alpn bad_input");
    run_case(case_alpn_long_name, NULL, "alpn long_name");
    run_case(case_key_update, NULL, "key_update TLSv1.3");
    run_case(case_key_update_tls12, NULL, "key_update TLSv1.2 -> EMBER_ERR_WRONG_STATE");
    run_case(case_key_update_before_handshake, NULL, "key_update before_handshake");
}
