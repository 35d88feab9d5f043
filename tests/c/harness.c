/* Helpers shared by the cases: PKI paths, byte queues, configs, memory-mode pairs, and the
 * endpoint driver (side_step/run_sides) that runs a whole exchange over any I/O mode. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *g_pki_dir;

const char *pki(const char *file)
{
    static char bufs[8][4096];
    static unsigned next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s/%s", g_pki_dir, file);
    return b;
}

ember_result conn_last_error(const void *o, char *b, size_t l, size_t *n) { return ember_conn_last_error(o, b, l, n); }
ember_result cfg_last_error(const void *o, char *b, size_t l, size_t *n) { return ember_config_last_error(o, b, l, n); }
ember_result trust_last_error(const void *o, char *b, size_t l, size_t *n) { return ember_trust_last_error(o, b, l, n); }

static const char *detail_text(char *buf, size_t size, last_error_fn fn, const void *obj)
{
    size_t n = 0;
    buf[0] = '\0';
    if (obj)
        fn(obj, buf, size, &n);
    return buf;
}

const char *conn_detail(const ember_conn *conn)
{
    static char buf[1024];
    return detail_text(buf, sizeof buf, conn_last_error, conn);
}

const char *cfg_detail(const ember_config *cfg)
{
    static char buf[1024];
    return detail_text(buf, sizeof buf, cfg_last_error, cfg);
}

const char *trust_detail(const ember_trust *trust)
{
    static char buf[1024];
    return detail_text(buf, sizeof buf, trust_last_error, trust);
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "out of memory\n");
        abort();
    }
    return q;
}

uint8_t *read_file(const char *path, size_t *len)
{
    uint8_t *data = NULL;
    size_t n = 0, cap = 0;
    FILE *f = fopen(path, "rb");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    for (;;) {
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            data = xrealloc(data, cap);
        }
        size_t got = fread(data + n, 1, cap - n, f);
        if (got == 0)
            break;
        n += got;
    }
    CHECK_MSG(!ferror(f), "cannot read %s", path);
    fclose(f);
    /* A NUL after the contents, so text files can be searched with the string functions
     * (strstr read past the end of a file that fills its buffer exactly; ASan's
     * strict_string_checks saw it). */
    if (n == cap)
        data = xrealloc(data, n + 1);
    data[n] = '\0';
    *len = n;
    return data;
out:
    if (f)
        fclose(f);
    free(data);
    return NULL;
}

uint8_t *pem_file_der(const char *file, size_t *out_len)
{
    size_t len = 0, n = 0;
    uint32_t acc = 0;
    int bits = 0;
    uint8_t *der = NULL;
    uint8_t *pem = read_file(pki(file), &len);
    CHECK(pem != NULL);
    const char *begin = strstr((const char *)pem, "-----BEGIN ");
    CHECK_MSG(begin != NULL, "%s has no PEM block", file);
    begin = strchr(begin, '\n');
    const char *end = strstr(begin, "-----END");
    CHECK(begin != NULL && end != NULL);
    der = malloc((size_t)(end - begin));
    CHECK(der != NULL);
    for (const char *p = begin; p < end; p++) {
        static const char alphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *at = *p ? strchr(alphabet, *p) : NULL;
        if (!at)
            continue; /* newlines and '=' padding */
        acc = (acc << 6) | (uint32_t)(at - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            der[n++] = (uint8_t)(acc >> bits);
        }
    }
    free(pem);
    *out_len = n;
    return der;
out:
    free(pem);
    free(der);
    return NULL;
}

bool temp_file(char *path, const uint8_t *data, size_t len)
{
    snprintf(path, 64, "/tmp/embertls-test-XXXXXX");
    int fd = mkstemp(path);
    CHECK_MSG(fd >= 0, "mkstemp: %s", strerror(errno));
    CHECK_MSG(len == 0 || write(fd, data, len) == (ssize_t)len, "writing %s: %s", path, strerror(errno));
    close(fd);
    return true;
out:
    if (fd >= 0) {
        close(fd);
        unlink(path);
    }
    path[0] = '\0';
    return false;
}

uint32_t rng_next(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

void fill_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    uint32_t st = seed ? seed : 1;
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(rng_next(&st) >> 24);
}

bool same_bytes(const char *what, const uint8_t *want, const uint8_t *got, size_t len)
{
    if (memcmp(want, got, len) == 0)
        return true;
    size_t i = 0;
    while (want[i] == got[i])
        i++;
    check_failed(__FILE__, __LINE__, "%s: %zu bytes differ first at offset %zu (want 0x%02x, got 0x%02x)",
                 what, len, i, want[i], got[i]);
    return false;
}

void bytes_push(bytes *b, const uint8_t *p, size_t n)
{
    if (n == 0)
        return;
    if (b->off > 0 && b->off >= b->cap / 2) {
        memmove(b->data, b->data + b->off, b->len);
        b->off = 0;
    }
    if (b->off + b->len + n > b->cap) {
        b->cap = 2 * (b->off + b->len + n);
        b->data = xrealloc(b->data, b->cap);
    }
    memcpy(b->data + b->off + b->len, p, n);
    b->len += n;
}

void bytes_pop(bytes *b, size_t n)
{
    b->off += n;
    b->len -= n;
    if (b->len == 0)
        b->off = 0;
}

const uint8_t *bytes_head(const bytes *b) { return b->data ? b->data + b->off : b->data; }

void bytes_free(bytes *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

ember_config *server_config(const char *cert, const char *key, uint16_t min, uint16_t max)
{
    ember_config *cfg = NULL;
    char chain[128], keyfile[128];
    snprintf(chain, sizeof chain, "%s.pem", cert);
    snprintf(keyfile, sizeof keyfile, "%s.key", cert);
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_SERVER, &cfg));
    CHECK(cfg != NULL);
    if (min || max)
        CHECK_RC(EMBER_OK, ember_config_set_versions(cfg, min, max));
    ember_result rc = ember_config_add_cert_pem_file(cfg, pki(chain), pki(key ? key : keyfile));
    CHECK_MSG(rc == EMBER_OK, "ember_config_add_cert_pem_file(%s, %s): %s (%s)", chain,
              key ? key : keyfile, ember_result_name(rc), cfg_detail(cfg));
    return cfg;
out:
    ember_config_free(cfg);
    return NULL;
}

ember_config *client_config(uint16_t min, uint16_t max, bool trust_ca)
{
    ember_config *cfg = NULL;
    ember_trust *trust = NULL;
    CHECK_RC(EMBER_OK, ember_config_new(EMBER_ROLE_CLIENT, &cfg));
    CHECK(cfg != NULL);
    if (min || max)
        CHECK_RC(EMBER_OK, ember_config_set_versions(cfg, min, max));
    if (trust_ca) {
        CHECK_RC(EMBER_OK, ember_trust_new(&trust));
        CHECK(trust != NULL);
        CHECK_RC(EMBER_OK, ember_trust_add_pem_file(trust, pki("ca.pem")));
        CHECK_RC(EMBER_OK, ember_config_set_trust(cfg, trust));
    }
    /* The config holds its own reference to the trust store. */
    ember_trust_free(trust);
    return cfg;
out:
    ember_trust_free(trust);
    ember_config_free(cfg);
    return NULL;
}

bool make_pair(pair *p, const pair_opts *o)
{
    bool ok = false;
    memset(p, 0, sizeof *p);
    ember_config *sc = server_config(o->cert ? o->cert : "ecdsa-p256", o->key, o->smin, o->smax);
    ember_config *cc = client_config(o->cmin, o->cmax, !o->builtin_roots);
    CHECK(sc != NULL && cc != NULL);
    CHECK_RC(EMBER_OK, ember_conn_new(cc, o->server_name ? o->server_name : "localhost", &p->c));
    CHECK_RC(EMBER_OK, ember_conn_new(sc, NULL, &p->s));
    CHECK(p->c != NULL && p->s != NULL);
    ok = true;
out:
    /* Freed while the connections live on: each connection keeps its config. */
    ember_config_free(sc);
    ember_config_free(cc);
    if (!ok)
        pair_free(p);
    return ok;
}

bool pair_from(pair *p, const ember_config *cc, const ember_config *sc, const char *server_name)
{
    memset(p, 0, sizeof *p);
    CHECK_MSG(ember_conn_new(cc, server_name, &p->c) == EMBER_OK, "client ember_conn_new: %s",
              cfg_detail(cc));
    CHECK_MSG(ember_conn_new(sc, NULL, &p->s) == EMBER_OK, "server ember_conn_new: %s",
              cfg_detail(sc));
    return true;
out:
    pair_free(p);
    return false;
}

void pair_free(pair *p)
{
    ember_conn_free(p->c);
    ember_conn_free(p->s);
    bytes_free(&p->c2s);
    bytes_free(&p->s2c);
    p->c = p->s = NULL;
}

bool drain_into(ember_conn *from, bytes *q)
{
    uint8_t buf[16384];
    size_t n;
    do {
        n = 0;
        CHECK_CONN_RC(from, EMBER_OK, ember_conn_drain(from, buf, sizeof buf, &n));
        CHECK(n <= sizeof buf);
        bytes_push(q, buf, n);
    } while (n > 0);
    return true;
out:
    return false;
}

bool shuttle(ember_conn *from, bytes *q, ember_conn *to, bool *to_dead, size_t *moved)
{
    size_t n, queued = q->len;
    CHECK(drain_into(from, q));
    *moved += q->len - queued;
    CHECK_EQ(0, ember_conn_pending_output(from));
    while (q->len > 0 && !(to_dead && *to_dead)) {
        n = 0;
        ember_result rc = ember_conn_feed(to, bytes_head(q), q->len, &n);
        if (rc != EMBER_OK && to_dead && EMBER_RESULT_IS_ERROR(rc) && !EMBER_RESULT_IS_MISUSE(rc)) {
            *to_dead = true; /* processing failed; the next call on `to` reports it */
            break;
        }
        CHECK_CONN_RC(to, EMBER_OK, rc);
        CHECK(n <= q->len);
        if (n == 0)
            break; /* its receive buffer is full until it is read */
        bytes_pop(q, n);
        *moved += n;
    }
    if (to_dead && *to_dead)
        bytes_pop(q, q->len);
    return true;
out:
    return false;
}

static bool is_final(ember_result r) { return r != EMBER_WANT_READ && r != EMBER_WANT_WRITE; }

bool drive_handshake(pair *p, ember_result *rc_c, ember_result *rc_s)
{
    ember_result c = EMBER_WANT_READ, s = EMBER_WANT_READ;
    bool c_dead = false, s_dead = false;
    for (int round = 0; round < 1000; round++) {
        bool changed = false;
        if (!is_final(c)) {
            c = ember_conn_handshake(p->c);
            changed |= is_final(c);
        }
        if (!is_final(s)) {
            s = ember_conn_handshake(p->s);
            changed |= is_final(s);
        }
        bool c_was = c_dead, s_was = s_dead;
        c_dead |= is_final(c) && c != EMBER_OK;
        s_dead |= is_final(s) && s != EMBER_OK;
        size_t moved = 0;
        if (!shuttle(p->c, &p->c2s, p->s, &s_dead, &moved) || !shuttle(p->s, &p->s2c, p->c, &c_dead, &moved))
            return false;
        changed |= c_dead != c_was || s_dead != s_was;
        if (moved == 0 && !changed)
            break;
    }
    *rc_c = c;
    *rc_s = s;
    return true;
}

bool complete_handshake(pair *p)
{
    ember_result rc_c, rc_s;
    CHECK(drive_handshake(p, &rc_c, &rc_s));
    CHECK_CONN_RC(p->c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p->s, EMBER_OK, rc_s);
    return true;
out:
    return false;
}

bool handshake_pair(pair *p, uint16_t version)
{
    return make_pair(p, &(pair_opts){.cmin = version, .cmax = version}) && complete_handshake(p);
}

/* ---- failed handshakes, refusals and a working connection (see check.h) ---- */

/* After a fatal error every later call answers with the same code. */
static bool check_dead(ember_conn *conn, ember_result rc)
{
    uint8_t buf[8] = {0};
    size_t n = 0;
    CHECK_RC(rc, ember_conn_handshake(conn));
    CHECK_RC(rc, ember_conn_read(conn, buf, sizeof buf, &n));
    CHECK_RC(rc, ember_conn_write(conn, buf, sizeof buf, &n));
    return true;
out:
    return false;
}

static bool detail_of(const ember_conn *conn, char *text, size_t len)
{
    size_t n = 0;
    CHECK_RC(EMBER_OK, ember_conn_last_error(conn, text, len, &n));
    CHECK_EQ(strlen(text), n);
    CHECK_MSG(n > 0, "empty ember_conn_last_error after a failure");
    return true;
out:
    return false;
}

bool check_failed_handshake(pair *p, bool client_detects, ember_result detected, ember_result told,
                            uint8_t alert, char *detected_text, char *told_text)
{
    ember_result rc_c, rc_s;
    uint8_t peer_alert = 0;
    ember_conn *det = client_detects ? p->c : p->s, *other = client_detects ? p->s : p->c;
    const char *det_who = client_detects ? "client" : "server";
    const char *other_who = client_detects ? "server" : "client";
    CHECK(drive_handshake(p, &rc_c, &rc_s));
    ember_result rc_det = client_detects ? rc_c : rc_s, rc_other = client_detects ? rc_s : rc_c;
    CHECK_CONN_RC(det, detected, rc_det);
    CHECK_CONN_RC(other, told, rc_other);
    CHECK_RC(EMBER_OK, ember_conn_peer_alert(other, &peer_alert));
    CHECK_EQ(alert, peer_alert);
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_peer_alert(det, &peer_alert)); /* none came to it */
    CHECK(detail_of(det, detected_text, DETAIL_LEN));
    printf("    %s detail: %s\n", det_who, detected_text);
    CHECK(detail_of(other, told_text, DETAIL_LEN));
    printf("    %s detail: %s\n", other_who, told_text);
    CHECK(check_dead(det, detected));
    CHECK(check_dead(other, told));
    return true;
out:
    return false;
}

bool client_hears_refusal(ember_conn *c, uint16_t version, ember_result rc_c, uint8_t want,
                          const char *want_text)
{
    uint8_t alert = 0, buf[8];
    size_t n = 0;
    if (version == EMBER_TLS1_3) {
        CHECK_CONN_RC(c, EMBER_OK, rc_c);
        CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_peer_alert(c, &alert));
        CHECK_CONN_RC(c, EMBER_ERR_ALERT_RECEIVED, ember_conn_read(c, buf, sizeof buf, &n));
    } else {
        CHECK_CONN_RC(c, EMBER_ERR_ALERT_RECEIVED, rc_c);
    }
    CHECK_RC(EMBER_OK, ember_conn_peer_alert(c, &alert));
    CHECK_EQ(want, alert);
    CHECK_CONTAINS(conn_detail(c), want_text);
    return true;
out:
    return false;
}

bool exchange(pair *p)
{
    uint8_t buf[16];
    size_t n = 0, moved = 0;
    CHECK_CONN_RC(p->c, EMBER_OK, ember_conn_write(p->c, (const uint8_t *)"ping", 4, &n));
    CHECK(shuttle(p->c, &p->c2s, p->s, NULL, &moved));
    CHECK_CONN_RC(p->s, EMBER_OK, ember_conn_read(p->s, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK_CONN_RC(p->s, EMBER_OK, ember_conn_write(p->s, (const uint8_t *)"pong", 4, &n));
    CHECK_CONN_RC(p->s, EMBER_OK, ember_conn_close(p->s));
    CHECK(shuttle(p->s, &p->s2c, p->c, NULL, &moved));
    CHECK_CONN_RC(p->c, EMBER_OK, ember_conn_read(p->c, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "pong", 4) == 0);
    CHECK_RC(EMBER_CLOSED, ember_conn_read(p->c, buf, sizeof buf, &n));
    return true;
out:
    return false;
}

bool connect_once(const ember_config *cc, const ember_config *sc, const char *server_name,
                  int *resumed_c, int *resumed_s, uint64_t ids[2])
{
    pair p;
    int r = 0;
    bool ok = false;
    CHECK(pair_from(&p, cc, sc, server_name));
    if (ids) {
        CHECK_RC(EMBER_OK, ember_conn_id(p.c, &ids[0]));
        CHECK_RC(EMBER_OK, ember_conn_id(p.s, &ids[1]));
    }
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_is_resumed(p.c, &r));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_is_resumed(p.s, &r));
    CHECK(complete_handshake(&p));
    CHECK(exchange(&p));
    CHECK_RC(EMBER_OK, ember_conn_is_resumed(p.c, resumed_c));
    CHECK_RC(EMBER_OK, ember_conn_is_resumed(p.s, resumed_s));
    ok = true;
out:
    pair_free(&p);
    return ok;
}

bool memory_between(void *ctx, side *a, side *b, bool *progress)
{
    pair *p = ctx;
    size_t moved = 0;
    (void)a;
    (void)b;
    if (!shuttle(p->c, &p->c2s, p->s, NULL, &moved) || !shuttle(p->s, &p->s2c, p->c, NULL, &moved))
        return false;
    if (moved)
        *progress = true;
    return true;
}

/* Records a WANT_* answer; anything else is reported and ends the exchange. */
static bool note_block(side *s, const char *op, ember_result rc)
{
    if (rc == EMBER_WANT_READ) {
        s->want_read = true;
        return true;
    }
    if (rc == EMBER_WANT_WRITE) {
        s->want_write = true;
        return true;
    }
    check_failed(__FILE__, __LINE__, "%s: %s: unexpected %s (detail: %s)", s->who, op,
                 ember_result_name(rc), conn_detail(s->conn));
    return false;
}

static size_t io_len(side *s, size_t left)
{
    size_t n = left;
    if (s->chunk && n > s->chunk)
        n = s->chunk;
    if (s->rng && n > 1)
        n = 1 + rng_next(s->rng) % n;
    return n;
}

static bool side_done(const side *s) { return s->close_flushed && s->peer_closed; }

/* One non-blocking round for one endpoint: handshake; then write what is left, flush, and once
 * everything expected has arrived close (and flush the close_notify); and read in every round
 * until the peer's close_notify. */
static bool side_step(side *s, bool *progress)
{
    ember_result rc;
    size_t n = 0;
    s->want_read = s->want_write = false;
    if (!s->hs_done) {
        rc = ember_conn_handshake(s->conn);
        if (rc != EMBER_OK)
            return note_block(s, "ember_conn_handshake", rc);
        s->hs_done = *progress = true;
    }
    if (s->tx_done < s->tx_len) {
        size_t len = io_len(s, s->tx_len - s->tx_done);
        rc = ember_conn_write(s->conn, s->tx + s->tx_done, len, &n);
        if (rc == EMBER_OK) {
            CHECK_MSG(n > 0 && n <= len, "%s: ember_conn_write of %zu bytes: EMBER_OK with *out_n = %zu",
                      s->who, len, n);
            s->tx_done += n;
            *progress = true;
        } else if (!note_block(s, "ember_conn_write", rc)) {
            return false;
        }
    } else if (!s->flushed) {
        rc = ember_conn_flush(s->conn);
        if (rc == EMBER_OK)
            s->flushed = *progress = true;
        else if (!note_block(s, "ember_conn_flush", rc))
            return false;
    } else if (!s->close_called && s->rx_done == s->rx_len) {
        rc = ember_conn_close(s->conn);
        if (rc == EMBER_OK || rc == EMBER_WANT_WRITE) {
            s->close_called = *progress = true;
            s->close_flushed = rc == EMBER_OK;
            s->want_write = rc == EMBER_WANT_WRITE;
        } else if (!note_block(s, "ember_conn_close", rc)) {
            return false;
        }
    } else if (s->close_called && !s->close_flushed) {
        rc = ember_conn_flush(s->conn);
        if (rc == EMBER_OK)
            s->close_flushed = *progress = true;
        else if (!note_block(s, "ember_conn_flush after close", rc))
            return false;
    }
    if (!s->peer_closed) {
        uint8_t extra[64];
        size_t room = s->rx_len - s->rx_done;
        size_t len = room ? io_len(s, room) : sizeof extra;
        n = 99;
        rc = ember_conn_read(s->conn, room ? s->rx + s->rx_done : extra, len, &n);
        if (rc == EMBER_OK) {
            CHECK_MSG(room > 0, "%s: %zu bytes beyond the %zu expected arrived", s->who, n, s->rx_len);
            CHECK_MSG(n > 0 && n <= len, "%s: ember_conn_read into %zu bytes: EMBER_OK with *out_n = %zu",
                      s->who, len, n);
            s->rx_done += n;
            *progress = true;
        } else if (rc == EMBER_CLOSED) {
            CHECK_MSG(room == 0, "%s: EMBER_CLOSED after %zu of %zu bytes", s->who, s->rx_done, s->rx_len);
            s->peer_closed = *progress = true;
        } else if (!note_block(s, "ember_conn_read", rc)) {
            return false;
        }
        CHECK_MSG(rc == EMBER_OK || n == 0, "%s: ember_conn_read: %s with *out_n = %zu", s->who,
                  ember_result_name(rc), n);
    }
    return true;
out:
    return false;
}

bool run_sides(side *a, side *b, between_fn between, void *ctx, unsigned max_idle)
{
    unsigned idle = 0;
    while (!side_done(a) || !side_done(b)) {
        bool progress = false;
        if (!side_done(a) && !side_step(a, &progress))
            return false;
        if (!side_done(b) && !side_step(b, &progress))
            return false;
        if (between && !between(ctx, a, b, &progress))
            return false;
        if (progress) {
            idle = 0;
        } else if (++idle > max_idle) {
            const side *e[2] = {a, b};
            for (int i = 0; i < 2; i++)
                check_failed(__FILE__, __LINE__,
                             "stalled: %s hs=%d sent %zu/%zu got %zu/%zu close=%d/%d peer_closed=%d want r=%d w=%d",
                             e[i]->who, e[i]->hs_done, e[i]->tx_done, e[i]->tx_len, e[i]->rx_done,
                             e[i]->rx_len, e[i]->close_called, e[i]->close_flushed, e[i]->peer_closed,
                             e[i]->want_read, e[i]->want_write);
            return false;
        }
    }
    return true;
}

uint16_t expected_suite(uint16_t version, const char *cert)
{
    if (version == EMBER_TLS1_3)
        return 0x1302; /* TLS_AES_256_GCM_SHA384: first in rustls' default order */
    return strncmp(cert, "rsa", 3) == 0 ? 0xC030 : 0xC02C;
}

static const char *suite_name(uint16_t suite)
{
    switch (suite) {
    case 0x1301: return "TLS_AES_128_GCM_SHA256";
    case 0x1302: return "TLS_AES_256_GCM_SHA384";
    case 0x1303: return "TLS_CHACHA20_POLY1305_SHA256";
    case 0xC02B: return "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256";
    case 0xC02C: return "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384";
    case 0xC030: return "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384";
    default: return "?";
    }
}

static const char *group_name(uint16_t group)
{
    switch (group) {
    case 0x001d: return "X25519";
    case 0x0017: return "secp256r1";
    case 0x0018: return "secp384r1";
    default: return "?";
    }
}

bool check_facts(const ember_conn *conn, uint16_t version, uint16_t suite, uint16_t group,
                 const char *server_name)
{
    uint16_t v = 0, cs = 0, g = 0;
    char name[256];
    size_t n = 0;
    CHECK_RC(EMBER_OK, ember_conn_protocol_version(conn, &v));
    CHECK_EQ(version, v);
    CHECK_STR(version == EMBER_TLS1_3 ? "TLSv1.3" : "TLSv1.2", ember_protocol_version_name(v));
    CHECK_RC(EMBER_OK, ember_conn_cipher_suite(conn, &cs));
    CHECK_EQ(suite, cs);
    CHECK_STR(suite_name(suite), ember_cipher_suite_name(cs));
    CHECK_RC(EMBER_OK, ember_conn_kx_group(conn, &g));
    CHECK_EQ(group, g);
    CHECK_STR(group_name(group), ember_group_name(g));
    CHECK_RC(EMBER_OK, ember_conn_server_name(conn, name, sizeof name, &n));
    CHECK_STR(server_name, name);
    CHECK_EQ(strlen(server_name), n);
    return true;
out:
    return false;
}
