/* Faults of the transport and of the peer, after (and during) the handshake: I/O callbacks that
 * fail with EIO in the middle of a record, say EINTR before every call, say EAGAIN for long
 * stretches, or move one byte at a time; a peer that truncates mid-record, sends garbage, a
 * record that does not decrypt, an oversized record, or a fatal alert. Each must end in the
 * code the header gives for it (and stay the answer), and what was acknowledged (accepted by
 * ember_conn_write, returned by ember_conn_read) is never lost, reordered or duplicated: the
 * payloads are a numbered sequence (a stream of big-endian 32-bit counters) checked byte for
 * byte at the offset each byte arrives at. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
    ALERT_BAD_RECORD_MAC = 20,
    ALERT_DECODE_ERROR = 50,
    REC_APPDATA = 23,
    CHUNK = 4096, /* the application writes this much per call: one record each */
};

static const uint16_t VERSIONS[] = {EMBER_TLS1_2, EMBER_TLS1_3};
static const char *vname(uint16_t v) { return v == EMBER_TLS1_3 ? "TLSv1.3" : "TLSv1.2"; }

/* ---- numbered payloads ---- */

/* Byte `off` of the stream 00 00 00 00 00 00 00 01 00 00 00 02 ...: counter off/4, big-endian. */
static uint8_t seq_byte(size_t off) { return (uint8_t)((off / 4) >> (8 * (3 - off % 4))); }

static void seq_fill(uint8_t *buf, size_t off, size_t len)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = seq_byte(off + i);
}

/* Whether buf holds the stream's bytes from `off` on; names the first wrong one. */
static bool seq_ok(const char *who, const uint8_t *buf, size_t off, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (buf[i] != seq_byte(off + i)) {
            check_failed(__FILE__, __LINE__,
                         "%s: stream byte %zu (counter %zu) is 0x%02x, expected 0x%02x: data lost, duplicated or reordered",
                         who, off + i, (off + i) / 4, buf[i], seq_byte(off + i));
            return false;
        }
    }
    return true;
}

/* Writes up to `len` more stream bytes from *sent on; *sent grows by what was accepted. */
static ember_result send_seq(ember_conn *c, size_t *sent, size_t len)
{
    uint8_t buf[CHUNK];
    size_t n = 0;
    if (len > sizeof buf)
        len = sizeof buf;
    seq_fill(buf, *sent, len);
    ember_result rc = ember_conn_write(c, buf, len, &n);
    if (rc == EMBER_OK)
        *sent += n;
    else if (n != 0)
        check_failed(__FILE__, __LINE__, "ember_conn_write: %s with *out_n = %zu", ember_result_name(rc), n);
    return rc;
}

/* Reads once; checks what came against the stream from *got on. */
static ember_result recv_seq(const char *who, ember_conn *c, size_t *got)
{
    uint8_t buf[3000]; /* not a divisor of a record: reads straddle records */
    size_t n = 99;
    ember_result rc = ember_conn_read(c, buf, sizeof buf, &n);
    if (rc == EMBER_OK) {
        if (n == 0 || n > sizeof buf)
            check_failed(__FILE__, __LINE__, "%s: ember_conn_read: EMBER_OK with *out_n = %zu", who, n);
        else if (seq_ok(who, buf, *got, n))
            *got += n;
    } else if (n != 0) {
        check_failed(__FILE__, __LINE__, "%s: ember_conn_read: %s with *out_n = %zu", who, ember_result_name(rc), n);
    }
    return rc;
}

/* Reads until anything but EMBER_OK; returns that. */
static ember_result recv_all(const char *who, ember_conn *c, size_t *got)
{
    ember_result rc;
    while ((rc = recv_seq(who, c, got)) == EMBER_OK)
        ;
    return rc;
}

/* ---- TLS records on a wire ---- */

typedef struct record {
    size_t off, len; /* the header's offset; the whole record, header included */
    uint8_t type;
} record;

/* Splits wire bytes into records (at most max); *partial gets the bytes of a cut-off last one. */
static size_t scan_records(const uint8_t *p, size_t len, record *out, size_t max, size_t *partial)
{
    size_t n = 0, off = 0;
    while (off + 5 <= len) {
        size_t rlen = 5 + ((size_t)p[off + 3] << 8 | p[off + 4]);
        if (off + rlen > len)
            break;
        if (n < max)
            out[n] = (record){off, rlen, p[off]};
        n++;
        off += rlen;
    }
    *partial = len - off;
    return n;
}

/* ---- a scriptable transport ---- */

/* One endpoint's callbacks over an in-memory wire. Reads take from `in`, writes append to `out`
 * (and to `log`, everything this end ever wrote). Each call first answers EINTR `eintr` times
 * and EAGAIN `eagain` times in a row (then moves bytes once); reads say EAGAIN while `in` is
 * empty. `max_io` caps the bytes per call (1: one at a time). After `read_budget` more bytes,
 * reads answer `read_fault` (0: end of stream); after `write_budget`, writes answer
 * `write_fault`. */
typedef struct fend {
    bytes *in, *out, log;
    unsigned eintr, eagain;
    unsigned eintr_left[2], eagain_left[2]; /* [0] reads, [1] writes */
    size_t max_io;
    size_t read_budget, write_budget; /* SIZE_MAX: unlimited */
    int read_fault, write_fault;
    int bogus; /* 1: report more bytes than asked; 2: return -1 */
    unsigned long calls, eintrs, eagains, faults;
} fend;

static void fend_init(fend *e, bytes *in, bytes *out)
{
    memset(e, 0, sizeof *e);
    e->in = in;
    e->out = out;
    e->read_budget = e->write_budget = SIZE_MAX;
}

/* EINTR and EAGAIN before the call that moves bytes; 0 when it may go ahead. */
static int fend_delay(fend *e, int dir)
{
    e->calls++;
    if (e->eintr_left[dir] > 0) {
        e->eintr_left[dir]--;
        e->eintrs++;
        return EINTR;
    }
    if (e->eagain_left[dir] > 0) {
        e->eagain_left[dir]--;
        e->eagains++;
        return EAGAIN;
    }
    e->eintr_left[dir] = e->eintr;
    e->eagain_left[dir] = e->eagain;
    return 0;
}

static int fend_read(void *ud, uint8_t *buf, size_t len, size_t *out_n)
{
    fend *e = ud;
    int err = fend_delay(e, 0);
    if (err)
        return err;
    if (e->bogus == 1) {
        *out_n = len + 1;
        return 0;
    }
    if (e->bogus == 2)
        return -1;
    if (e->read_budget == 0) {
        e->faults++;
        *out_n = 0;
        return e->read_fault;
    }
    size_t n = len;
    if (n > e->in->len)
        n = e->in->len;
    if (e->max_io && n > e->max_io)
        n = e->max_io;
    if (n > e->read_budget)
        n = e->read_budget;
    if (n == 0)
        return EAGAIN;
    memcpy(buf, bytes_head(e->in), n);
    bytes_pop(e->in, n);
    if (e->read_budget != SIZE_MAX)
        e->read_budget -= n;
    *out_n = n;
    return 0;
}

static int fend_write(void *ud, const uint8_t *buf, size_t len, size_t *out_n)
{
    fend *e = ud;
    int err = fend_delay(e, 1);
    if (err)
        return err;
    if (e->bogus == 1) {
        *out_n = len + 1;
        return 0;
    }
    if (e->bogus == 2)
        return -1;
    if (e->write_budget == 0) {
        e->faults++;
        return e->write_fault;
    }
    size_t n = len;
    if (e->max_io && n > e->max_io)
        n = e->max_io;
    if (n > e->write_budget)
        n = e->write_budget;
    bytes_push(e->out, buf, n);
    bytes_push(&e->log, buf, n);
    if (e->write_budget != SIZE_MAX)
        e->write_budget -= n;
    *out_n = n;
    return 0;
}

/* A pair over fends: ce is the client's end, se the server's. */
typedef struct wired {
    pair p;
    fend ce, se;
} wired;

static bool wired_new(wired *w, uint16_t version)
{
    memset(w, 0, sizeof *w);
    CHECK(make_pair(&w->p, &(pair_opts){.cmin = version, .cmax = version}));
    fend_init(&w->ce, &w->p.s2c, &w->p.c2s);
    fend_init(&w->se, &w->p.c2s, &w->p.s2c);
    CHECK_RC(EMBER_OK, ember_conn_set_io(w->p.c, fend_read, fend_write, &w->ce));
    CHECK_RC(EMBER_OK, ember_conn_set_io(w->p.s, fend_read, fend_write, &w->se));
    return true;
out:
    return false;
}

static void wired_free(wired *w)
{
    pair_free(&w->p);
    bytes_free(&w->ce.log);
    bytes_free(&w->se.log);
}

/* Both handshakes to EMBER_OK over the callbacks, whatever WANT_* they say on the way. */
static bool wired_handshake(wired *w)
{
    ember_result c = EMBER_WANT_READ, s = EMBER_WANT_READ;
    for (int round = 0; round < 100000 && (c != EMBER_OK || s != EMBER_OK); round++) {
        if (c != EMBER_OK)
            c = ember_conn_handshake(w->p.c);
        if (s != EMBER_OK)
            s = ember_conn_handshake(w->p.s);
        CHECK_MSG(c == EMBER_OK || c == EMBER_WANT_READ || c == EMBER_WANT_WRITE, "client handshake: %s (%s)",
                  ember_result_name(c), conn_detail(w->p.c));
        CHECK_MSG(s == EMBER_OK || s == EMBER_WANT_READ || s == EMBER_WANT_WRITE, "server handshake: %s (%s)",
                  ember_result_name(s), conn_detail(w->p.s));
    }
    CHECK_CONN_RC(w->p.c, EMBER_OK, c);
    CHECK_CONN_RC(w->p.s, EMBER_OK, s);
    return true;
out:
    return false;
}

/* After a fatal error every call answers it again; the detail explains it. */
static bool stays_dead(ember_conn *c, ember_result rc)
{
    uint8_t buf[16] = {0};
    size_t n = 99;
    CHECK_RC(rc, ember_conn_read(c, buf, sizeof buf, &n));
    CHECK_EQ(0, n);
    CHECK_RC(rc, ember_conn_write(c, buf, sizeof buf, &n));
    CHECK_EQ(0, n);
    CHECK_RC(rc, ember_conn_handshake(c));
    CHECK_RC(rc, ember_conn_flush(c));
    CHECK_RC(rc, ember_conn_close(c));
    CHECK_RC(rc, ember_conn_key_update(c));
    CHECK_MSG(strlen(conn_detail(c)) > 0, "no detail for %s", ember_result_name(rc));
    return true;
out:
    return false;
}

typedef struct vcase {
    uint16_t version;
} vcase;

/* ---- the transport fails in the middle of a record ---- */

/* The client's write callback fails with EIO once 4.5 records of data have gone out. */
static void case_write_eio_mid_record(const void *arg)
{
    const vcase *vc = arg;
    wired w;
    size_t sent = 0, got = 0, partial = 0;
    record recs[64];
    ember_result rc = EMBER_OK;
    CHECK(wired_new(&w, vc->version));
    CHECK(wired_handshake(&w));
    bytes_free(&w.ce.log);
    w.ce.write_budget = 4 * (CHUNK + 30) + CHUNK / 2;
    w.ce.write_fault = EIO;
    for (int i = 0; i < 100 && rc == EMBER_OK; i++) {
        rc = send_seq(w.p.c, &sent, CHUNK);
        if (rc == EMBER_OK)
            CHECK_RC(EMBER_WANT_READ, recv_all("server", w.p.s, &got));
    }
    CHECK_CONN_RC(w.p.c, EMBER_ERR_IO, rc);
    CHECK_EQ(EIO, ember_conn_os_error(w.p.c));
    CHECK(stays_dead(w.p.c, EMBER_ERR_IO));
    CHECK_EQ(EIO, ember_conn_os_error(w.p.c));
    /* The wire ends inside a record: the server gets every complete record, then the EOF is a
     * truncation. */
    size_t nrec = scan_records(bytes_head(&w.ce.log), w.ce.log.len, recs, 64, &partial);
    CHECK_MSG(partial > 0, "the fault did not cut a record (%zu records)", nrec);
    w.se.read_budget = w.p.c2s.len;
    w.se.read_fault = 0; /* then end of stream */
    CHECK_CONN_RC(w.p.s, EMBER_ERR_UNEXPECTED_EOF, recv_all("server", w.p.s, &got));
    CHECK_EQ(nrec * CHUNK, got);
    CHECK(got <= sent);
    CHECK(stays_dead(w.p.s, EMBER_ERR_UNEXPECTED_EOF));
    printf("    %zu bytes accepted, %zu records and %zu bytes of one more on the wire, %zu delivered\n",
           sent, nrec, partial, got);
out:
    wired_free(&w);
}

/* The client's read callback delivers 2.5 records, then fails with EIO. */
static void case_read_eio_mid_record(const void *arg)
{
    const vcase *vc = arg;
    wired w;
    size_t sent = 0, got = 0, partial = 0;
    record recs[64];
    CHECK(wired_new(&w, vc->version));
    CHECK(wired_handshake(&w));
    for (int i = 0; i < 5; i++)
        CHECK_CONN_RC(w.p.s, EMBER_OK, send_seq(w.p.s, &sent, CHUNK));
    CHECK_EQ(5 * CHUNK, sent);
    size_t nrec = scan_records(bytes_head(&w.p.s2c), w.p.s2c.len, recs, 64, &partial);
    CHECK(nrec >= 5 && nrec <= 64 && partial == 0);
    const record *third = &recs[nrec - 3]; /* the third of the five data records */
    CHECK_EQ(REC_APPDATA, third->type);
    w.ce.read_budget = third->off + third->len / 2;
    w.ce.read_fault = EIO;
    CHECK_CONN_RC(w.p.c, EMBER_ERR_IO, recv_all("client", w.p.c, &got));
    CHECK_EQ(2 * CHUNK, got);
    CHECK_EQ(EIO, ember_conn_os_error(w.p.c));
    CHECK(stays_dead(w.p.c, EMBER_ERR_IO));
out:
    wired_free(&w);
}

/* The client's first flight is cut by EIO after 100 bytes: its handshake fails with EMBER_ERR_IO,
 * and the server, seeing part of a ClientHello and then the end, with UNEXPECTED_EOF. */
static void case_write_eio_mid_handshake(const void *arg)
{
    const vcase *vc = arg;
    wired w;
    CHECK(wired_new(&w, vc->version));
    w.ce.write_budget = 100;
    w.ce.write_fault = EIO;
    CHECK_CONN_RC(w.p.c, EMBER_ERR_IO, ember_conn_handshake(w.p.c));
    CHECK_EQ(EIO, ember_conn_os_error(w.p.c));
    CHECK_EQ(100, w.p.c2s.len);
    CHECK(stays_dead(w.p.c, EMBER_ERR_IO));
    CHECK_CONN_RC(w.p.s, EMBER_WANT_READ, ember_conn_handshake(w.p.s));
    w.se.read_budget = 0;
    w.se.read_fault = 0;
    CHECK_CONN_RC(w.p.s, EMBER_ERR_UNEXPECTED_EOF, ember_conn_handshake(w.p.s));
    CHECK(stays_dead(w.p.s, EMBER_ERR_UNEXPECTED_EOF));
out:
    wired_free(&w);
}

/* ---- faults that are not failures: EINTR, EAGAIN, one byte at a time ---- */

typedef struct slow_case {
    uint16_t version;
    const char *what;
    unsigned eintr, eagain;
    size_t max_io, len;
    unsigned max_idle;
} slow_case;

/* A whole exchange (handshake, `len` numbered bytes each way, close both) through callbacks
 * that misbehave as the case says. The driver (run_sides) fails on any answer but EMBER_OK and
 * WANT_*; the numbered stream shows each byte arrived once, in order. */
static void case_slow_transport(const void *arg)
{
    const slow_case *sc = arg;
    uint8_t *c_tx = malloc(sc->len), *s_tx = malloc(sc->len), *c_rx = malloc(sc->len), *s_rx = malloc(sc->len);
    uint32_t rng = 0x9E3779B9u;
    wired w;
    CHECK(c_tx && s_tx && c_rx && s_rx);
    CHECK(wired_new(&w, sc->version));
    fend *ends[2] = {&w.ce, &w.se};
    for (int i = 0; i < 2; i++) {
        ends[i]->eintr = sc->eintr;
        ends[i]->eagain = sc->eagain;
        ends[i]->max_io = sc->max_io;
        for (int d = 0; d < 2; d++) {
            ends[i]->eintr_left[d] = sc->eintr;
            ends[i]->eagain_left[d] = sc->eagain;
        }
    }
    seq_fill(c_tx, 0, sc->len);
    seq_fill(s_tx, 0, sc->len);
    side cs = {.conn = w.p.c, .who = "client", .tx = c_tx, .tx_len = sc->len, .rx = c_rx, .rx_len = sc->len,
               .rng = &rng, .chunk = 3 * CHUNK};
    side ss = {.conn = w.p.s, .who = "server", .tx = s_tx, .tx_len = sc->len, .rx = s_rx, .rx_len = sc->len,
               .rng = &rng, .chunk = 3 * CHUNK};
    CHECK(run_sides(&cs, &ss, NULL, NULL, sc->max_idle));
    CHECK(seq_ok("server received", s_rx, 0, sc->len));
    CHECK(seq_ok("client received", c_rx, 0, sc->len));
    CHECK_EQ(0, w.p.c2s.len);
    CHECK_EQ(0, w.p.s2c.len);
    CHECK_EQ(0, ember_conn_os_error(w.p.c) + ember_conn_os_error(w.p.s));
    /* WANT_* and EINTR are not failures: no detail was recorded. */
    CHECK_STR("", conn_detail(w.p.c));
    CHECK_STR("", conn_detail(w.p.s));
    if (sc->eintr)
        CHECK(w.ce.eintrs > 50 && w.se.eintrs > 50);
    if (sc->eagain)
        CHECK(w.ce.eagains >= 10 * (unsigned long)sc->eagain && w.se.eagains >= 10 * (unsigned long)sc->eagain);
    printf("    callbacks: client %lu calls (%lu EINTR, %lu EAGAIN), server %lu calls (%lu EINTR, %lu EAGAIN)\n",
           w.ce.calls, w.ce.eintrs, w.ce.eagains, w.se.calls, w.se.eintrs, w.se.eagains);
out:
    wired_free(&w);
    free(c_tx);
    free(s_tx);
    free(c_rx);
    free(s_rx);
}

/* A write stalls (EAGAIN) once 64 KiB are ahead of the transport: ember_conn_write accepts what
 * fits, then says EMBER_WANT_WRITE with nothing accepted; what it accepted arrives exactly once
 * when the transport moves again. */
static void case_write_backpressure(const void *arg)
{
    const vcase *vc = arg;
    wired w;
    size_t sent = 0, got = 0;
    ember_result rc;
    CHECK(wired_new(&w, vc->version));
    CHECK(wired_handshake(&w));
    w.ce.write_budget = 0;
    w.ce.write_fault = EAGAIN;
    int blocked = 0;
    for (int i = 0; i < 1000 && blocked < 3; i++) {
        rc = send_seq(w.p.c, &sent, CHUNK);
        if (rc == EMBER_WANT_WRITE)
            blocked++;
        else
            CHECK_CONN_RC(w.p.c, EMBER_OK, rc);
    }
    CHECK_EQ(3, blocked);
    CHECK(sent >= 60 * 1024 && sent <= 68 * 1024);
    CHECK(ember_conn_pending_output(w.p.c) > sent);
    CHECK_CONN_RC(w.p.c, EMBER_WANT_WRITE, ember_conn_flush(w.p.c));
    CHECK_EQ(0, ember_conn_os_error(w.p.c));
    /* The transport moves again, a few bytes at a time. */
    w.ce.write_budget = SIZE_MAX;
    w.ce.max_io = 777;
    CHECK_CONN_RC(w.p.c, EMBER_OK, ember_conn_flush(w.p.c));
    CHECK_EQ(0, ember_conn_pending_output(w.p.c));
    CHECK_CONN_RC(w.p.s, EMBER_WANT_READ, recv_all("server", w.p.s, &got));
    CHECK_EQ(sent, got);
    for (int i = 0; i < 4; i++)
        CHECK_CONN_RC(w.p.c, EMBER_OK, send_seq(w.p.c, &sent, CHUNK));
    CHECK_CONN_RC(w.p.s, EMBER_WANT_READ, recv_all("server", w.p.s, &got));
    CHECK_EQ(sent, got);
out:
    wired_free(&w);
}

/* ---- callbacks that break their contract ---- */

typedef struct bogus_case {
    uint16_t version;
    int bogus;
    bool on_write; /* else on read */
} bogus_case;

/* A callback claiming more bytes than it was offered, or returning -1 (not an errno): the
 * library does not trust it; the call fails with EMBER_ERR_IO, for good. */
static void case_callback_breaks_contract(const void *arg)
{
    const bogus_case *bc = arg;
    wired w;
    ember_result rc = EMBER_WANT_READ;
    CHECK(wired_new(&w, bc->version));
    if (bc->on_write) {
        w.ce.bogus = bc->bogus;
        rc = ember_conn_handshake(w.p.c);
    } else {
        CHECK_CONN_RC(w.p.c, EMBER_WANT_READ, ember_conn_handshake(w.p.c));
        CHECK_CONN_RC(w.p.s, EMBER_WANT_READ, ember_conn_handshake(w.p.s));
        w.ce.bogus = bc->bogus;
        rc = ember_conn_handshake(w.p.c);
    }
    CHECK_CONN_RC(w.p.c, EMBER_ERR_IO, rc);
    printf("    detail: %s (errno %d)\n", conn_detail(w.p.c), ember_conn_os_error(w.p.c));
    /* -1 is passed on as it came; a count past the buffer has no errno. */
    CHECK_EQ(bc->bogus == 2 ? -1 : 0, ember_conn_os_error(w.p.c));
    CHECK(stays_dead(w.p.c, EMBER_ERR_IO));
out:
    wired_free(&w);
}

/* ---- the peer: truncation, garbage, oversized records, alerts (memory mode) ---- */

/* A handshaken memory pair; the server then writes `records` numbered records of CHUNK bytes,
 * drained into s2c (not fed yet). *records_at receives the offset of each in s2c. */
static bool open_with_data(pair *p, uint16_t version, int records, record *recs, size_t *nrec)
{
    size_t sent = 0, moved = 0, partial = 0;
    uint8_t buf[16384];
    size_t n = 0;
    CHECK(handshake_pair(p, version));
    /* Let the client take what came after the handshake (TLS 1.3 tickets) first. */
    CHECK_CONN_RC(p->c, EMBER_WANT_READ, ember_conn_read(p->c, buf, sizeof buf, &n));
    CHECK(shuttle(p->c, &p->c2s, p->s, NULL, &moved));
    CHECK_EQ(0, p->s2c.len);
    for (int i = 0; i < records; i++)
        CHECK_CONN_RC(p->s, EMBER_OK, send_seq(p->s, &sent, CHUNK));
    CHECK(drain_into(p->s, &p->s2c));
    *nrec = scan_records(bytes_head(&p->s2c), p->s2c.len, recs, 64, &partial);
    CHECK_EQ(records, *nrec);
    CHECK_EQ(0, partial);
    return true;
out:
    return false;
}

/* Feeds the client `len` bytes of s2c (all it takes). */
static bool feed_client(pair *p, size_t len)
{
    size_t off = 0, n = 0;
    while (off < len) {
        CHECK_CONN_RC(p->c, EMBER_OK, ember_conn_feed(p->c, bytes_head(&p->s2c) + off, len - off, &n));
        CHECK_MSG(n > 0, "the client took nothing of %zu bytes", len - off);
        off += n;
    }
    return true;
out:
    return false;
}

/* The stream ends in the middle of the third record: two records arrive, then truncation. */
static void case_truncated_mid_record(const void *arg)
{
    const vcase *vc = arg;
    record recs[64];
    size_t nrec = 0, got = 0, n = 0;
    pair p;
    CHECK(open_with_data(&p, vc->version, 4, recs, &nrec));
    CHECK(feed_client(&p, recs[2].off + recs[2].len / 2));
    CHECK_RC(EMBER_OK, ember_conn_feed(p.c, NULL, 0, &n));
    CHECK_CONN_RC(p.c, EMBER_ERR_UNEXPECTED_EOF, recv_all("client", p.c, &got));
    CHECK_EQ(2 * CHUNK, got);
    CHECK(stays_dead(p.c, EMBER_ERR_UNEXPECTED_EOF));
    /* The header alone of a record, then the end: the same. */
    pair_free(&p);
    got = 0;
    CHECK(open_with_data(&p, vc->version, 1, recs, &nrec));
    CHECK(feed_client(&p, 3));
    CHECK_RC(EMBER_OK, ember_conn_feed(p.c, NULL, 0, &n));
    CHECK_CONN_RC(p.c, EMBER_ERR_UNEXPECTED_EOF, recv_all("client", p.c, &got));
    CHECK_EQ(0, got);
out:
    pair_free(&p);
}

/* The same over callbacks: the read callback reports the end of stream mid-record. */
static void case_truncated_mid_record_callbacks(const void *arg)
{
    const vcase *vc = arg;
    wired w;
    size_t sent = 0, got = 0, partial = 0;
    record recs[64];
    CHECK(wired_new(&w, vc->version));
    CHECK(wired_handshake(&w));
    for (int i = 0; i < 3; i++)
        CHECK_CONN_RC(w.p.s, EMBER_OK, send_seq(w.p.s, &sent, CHUNK));
    size_t nrec = scan_records(bytes_head(&w.p.s2c), w.p.s2c.len, recs, 64, &partial);
    CHECK(nrec >= 3 && nrec <= 64);
    w.ce.read_budget = recs[nrec - 1].off + 7; /* the last record's header and 2 bytes */
    w.ce.read_fault = 0;
    CHECK_CONN_RC(w.p.c, EMBER_ERR_UNEXPECTED_EOF, recv_all("client", w.p.c, &got));
    CHECK_EQ(2 * CHUNK, got);
    CHECK_EQ(0, ember_conn_os_error(w.p.c));
    CHECK(stays_dead(w.p.c, EMBER_ERR_UNEXPECTED_EOF));
out:
    wired_free(&w);
}

typedef struct peer_case {
    uint16_t version;
    const char *what;
    int kind;            /* see make_bad_bytes */
    ember_result want;   /* the client's answer */
    uint8_t alert;       /* the alert the client sends the server about it */
    bool together;       /* the good records and the bad bytes come in one piece */
} peer_case;

enum {
    BAD_NOT_TLS,           /* an HTTP request where a record should be */
    BAD_RANDOM_RECORD,     /* an application_data record of random bytes */
    BAD_FLIPPED_BIT,       /* one bit of the third real record flipped */
    BAD_OVERSIZED,         /* a record header announcing 2^14 + 256 + 1 bytes, and them */
    BAD_OVERSIZED_MAX,     /* a record header announcing 0xffff bytes, and them */
    BAD_WRONG_VERSION,     /* a record header with version 0x0505 */
    BAD_EMPTY_APPDATA_RUN, /* many empty encrypted-looking records: a header with length 0 */
};

/* After two good records, the peer's stream goes bad as the case says: the two arrive intact,
 * then the client fails with the case's code and tells the server with the case's alert. The
 * good records are read before the bad bytes arrive, or (together) come in the same piece:
 * then rustls meets the bad bytes while the good records' data waits unread, and that data
 * must still be delivered before the error. */
static void case_bad_peer_bytes(const void *arg)
{
    const peer_case *pc = arg;
    record recs[64];
    size_t nrec = 0, got = 0, n = 0, moved = 0;
    uint8_t alert = 0;
    uint8_t *bad = NULL;
    size_t bad_len = 0;
    uint32_t rng = 12345;
    pair p;
    CHECK(open_with_data(&p, pc->version, 3, recs, &nrec));
    const size_t good_len = recs[2].off; /* two good records */
    if (!pc->together) {
        CHECK(feed_client(&p, good_len));
        CHECK_CONN_RC(p.c, EMBER_WANT_READ, recv_all("client", p.c, &got));
        CHECK_EQ(2 * CHUNK, got);
    }
    switch (pc->kind) {
    case BAD_NOT_TLS: {
        static const char http[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
        bad_len = sizeof http - 1;
        bad = malloc(bad_len);
        CHECK(bad);
        memcpy(bad, http, bad_len);
        break;
    }
    case BAD_RANDOM_RECORD:
    case BAD_OVERSIZED:
    case BAD_OVERSIZED_MAX:
    case BAD_WRONG_VERSION: {
        size_t body = pc->kind == BAD_RANDOM_RECORD   ? 100
                      : pc->kind == BAD_OVERSIZED     ? 16384 + 256 + 1
                      : pc->kind == BAD_OVERSIZED_MAX ? 0xffff
                                                      : 100;
        bad_len = 5 + body;
        bad = malloc(bad_len);
        CHECK(bad);
        bad[0] = REC_APPDATA;
        bad[1] = pc->kind == BAD_WRONG_VERSION ? 0x05 : 0x03;
        bad[2] = pc->kind == BAD_WRONG_VERSION ? 0x05 : 0x03;
        bad[3] = (uint8_t)(body >> 8);
        bad[4] = (uint8_t)body;
        for (size_t i = 5; i < bad_len; i++)
            bad[i] = (uint8_t)rng_next(&rng);
        break;
    }
    case BAD_FLIPPED_BIT:
        bad_len = recs[2].len;
        bad = malloc(bad_len);
        CHECK(bad);
        memcpy(bad, bytes_head(&p.s2c) + recs[2].off, bad_len);
        bad[bad_len / 2] ^= 0x10;
        break;
    case BAD_EMPTY_APPDATA_RUN:
        bad_len = 5 * 2000;
        bad = calloc(bad_len, 1);
        CHECK(bad);
        for (size_t i = 0; i < bad_len; i += 5) {
            bad[i] = REC_APPDATA;
            bad[i + 1] = bad[i + 2] = 0x03;
        }
        break;
    }
    if (pc->together) {
        uint8_t *both = malloc(good_len + bad_len);
        CHECK(both);
        memcpy(both, bytes_head(&p.s2c), good_len);
        memcpy(both + good_len, bad, bad_len);
        free(bad);
        bad = both;
        bad_len += good_len;
    }
    /* Fed in pieces, as a network would deliver them (each piece read before the next): the
     * verdict comes with the piece that completes the bad record (or its header). */
    ember_result rc = EMBER_OK;
    const size_t piece_max = pc->together ? bad_len : 1000;
    for (size_t off = 0; off < bad_len && rc == EMBER_OK;) {
        size_t piece = bad_len - off < piece_max ? bad_len - off : piece_max;
        n = 0;
        rc = ember_conn_feed(p.c, bad + off, piece, &n);
        if (rc != EMBER_OK) {
            /* The feed had to process (rustls' buffer was full) and met the bad bytes. */
            CHECK_CONN_RC(p.c, pc->want, rc);
            break;
        }
        CHECK_MSG(n > 0, "the client took nothing");
        off += n;
        rc = recv_all("client", p.c, &got);
        if (rc == EMBER_WANT_READ)
            rc = EMBER_OK;
    }
    /* Whatever came before the bad bytes, then the verdict (again, if it came already). */
    rc = recv_all("client", p.c, &got);
    CHECK_CONN_RC(p.c, pc->want, rc);
    CHECK_EQ(2 * CHUNK, got); /* nothing past the good records was delivered */
    printf("    client: %s: %s\n", ember_result_name(rc), conn_detail(p.c));
    CHECK(stays_dead(p.c, pc->want));
    /* The client told the server why. */
    CHECK(shuttle(p.c, &p.c2s, p.s, NULL, &moved));
    {
        uint8_t buf[64];
        ember_result srv = ember_conn_read(p.s, buf, sizeof buf, &n);
        CHECK_CONN_RC(p.s, EMBER_ERR_ALERT_RECEIVED, srv);
        CHECK_RC(EMBER_OK, ember_conn_peer_alert(p.s, &alert));
        CHECK_MSG(alert == pc->alert, "the server received alert %u (%s), expected %u (%s)", alert,
                  ember_alert_name(alert), pc->alert, ember_alert_name(pc->alert));
    }
out:
    free(bad);
    pair_free(&p);
}

/* The peer sends data, then fails and sends a fatal alert (encrypted, after the handshake):
 * the data arrives intact, then EMBER_ERR_ALERT_RECEIVED with the alert readable, for good. */
static void case_alert_after_handshake(const void *arg)
{
    const vcase *vc = arg;
    record recs[64];
    size_t nrec = 0, got = 0, n = 0, sent = 0;
    uint8_t alert = 0, buf[16384];
    pair p;
    CHECK(open_with_data(&p, vc->version, 3, recs, &nrec));
    /* The client writes a record; one bit of it flips on the way to the server, which fails
     * (bad_record_mac) and queues its alert after the three data records. */
    CHECK_CONN_RC(p.c, EMBER_OK, send_seq(p.c, &sent, 100));
    CHECK(drain_into(p.c, &p.c2s));
    CHECK(p.c2s.len > 50);
    p.c2s.data[p.c2s.off + p.c2s.len - 3] ^= 0x01;
    ember_result rc = ember_conn_feed(p.s, bytes_head(&p.c2s), p.c2s.len, &n);
    if (rc == EMBER_OK)
        rc = ember_conn_read(p.s, buf, sizeof buf, &n);
    CHECK_CONN_RC(p.s, EMBER_ERR_BAD_RECORD, rc);
    CHECK(drain_into(p.s, &p.s2c));
    size_t partial = 0;
    CHECK_EQ(4, scan_records(bytes_head(&p.s2c), p.s2c.len, recs, 64, &partial));
    /* All of it at once: the data first, then the alert. */
    CHECK(feed_client(&p, p.s2c.len));
    CHECK_CONN_RC(p.c, EMBER_ERR_ALERT_RECEIVED, recv_all("client", p.c, &got));
    CHECK_EQ(3 * CHUNK, got);
    CHECK_RC(EMBER_OK, ember_conn_peer_alert(p.c, &alert));
    CHECK_EQ(ALERT_BAD_RECORD_MAC, alert);
    CHECK_CONTAINS(conn_detail(p.c), "bad_record_mac");
    CHECK(stays_dead(p.c, EMBER_ERR_ALERT_RECEIVED));
    CHECK_RC(EMBER_ERR_ALERT_RECEIVED, ember_conn_feed(p.c, buf, 1, &n));
out:
    pair_free(&p);
}

/* The peer closes, and bytes follow its close_notify (more records, or junk), in the same
 * feed and in later ones: they are ignored (RFC 8446, section 6.1) and ember_conn_feed takes
 * them all. It used to take none of them and loop forever inside the call; the fuzz target
 * conn_server found it with a server that closed and then failed. */
static void case_bytes_after_close_notify(const void *arg)
{
    const vcase *vc = arg;
    pair p = {0};
    uint8_t buf[16384];
    size_t n = 0, len = 0;
    CHECK(handshake_pair(&p, vc->version));
    CHECK_CONN_RC(p.s, EMBER_OK, ember_conn_close(p.s));
    CHECK_RC(EMBER_OK, ember_conn_drain(p.s, buf, sizeof buf, &len));
    CHECK(len > 0 && len + 16 <= sizeof buf);
    memcpy(buf + len, "\x17\x03\x03\x00\x05junk", 10);
    len += 10;
    CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_feed(p.c, buf, len, &n));
    CHECK_EQ(len, n);
    CHECK_CONN_RC(p.c, EMBER_CLOSED, ember_conn_read(p.c, buf, sizeof buf, &n));
    CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_feed(p.c, (const uint8_t *)"more", 4, &n));
    CHECK_EQ(4, n);
    CHECK_CONN_RC(p.c, EMBER_CLOSED, ember_conn_read(p.c, buf, sizeof buf, &n));
out:
    pair_free(&p);
}

/* The client closes before the handshake completed: its close_notify reaches the server in
 * the middle of the handshake. TLS 1.3 ends the handshake there, named as a close and not as
 * a fatal alert; TLS 1.2 allows such warning alerts and the server waits on, until the end
 * of the stream. */
static void case_close_during_handshake(const void *arg)
{
    const vcase *vc = arg;
    pair_opts o = {.cmin = vc->version, .cmax = vc->version};
    pair p = {0};
    size_t moved = 0;
    uint8_t alert = 99;
    CHECK(make_pair(&p, &o));
    CHECK_CONN_RC(p.c, EMBER_WANT_READ, ember_conn_handshake(p.c));
    CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_close(p.c));
    CHECK(shuttle(p.c, &p.c2s, p.s, NULL, &moved));
    if (vc->version == EMBER_TLS1_2) {
        CHECK_CONN_RC(p.s, EMBER_WANT_READ, ember_conn_handshake(p.s));
        CHECK_CONN_RC(p.s, EMBER_OK, ember_conn_feed(p.s, NULL, 0, &moved));
        CHECK_CONN_RC(p.s, EMBER_ERR_UNEXPECTED_EOF, ember_conn_handshake(p.s));
        goto out;
    }
    CHECK_CONN_RC(p.s, EMBER_ERR_ALERT_RECEIVED, ember_conn_handshake(p.s));
    CHECK_RC(EMBER_OK, ember_conn_peer_alert(p.s, &alert));
    CHECK_EQ(0, alert);
    CHECK(strstr(conn_detail(p.s), "closed the connection (close_notify, 0) before the handshake "
                                   "completed") != NULL);
out:
    pair_free(&p);
}

/* ---- file descriptors ---- */

/* The peer's socket is gone: the write fails with EPIPE, and SIGPIPE (back to its default,
 * which kills) is not raised: MSG_NOSIGNAL. */
static void case_fd_peer_gone(const void *arg)
{
    (void)arg;
    int sv[2] = {-1, -1};
    ember_config *cfg = client_config(0, 0, true);
    ember_conn *c = NULL;
    void (*was)(int) = signal(SIGPIPE, SIG_DFL);
    CHECK(cfg != NULL);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    close(sv[1]);
    sv[1] = -1;
    CHECK_RC(EMBER_OK, ember_conn_new(cfg, "localhost", &c));
    CHECK_RC(EMBER_OK, ember_conn_set_fd(c, sv[0]));
    CHECK_CONN_RC(c, EMBER_ERR_IO, ember_conn_handshake(c));
    CHECK_EQ(EPIPE, ember_conn_os_error(c));
    CHECK(stays_dead(c, EMBER_ERR_IO));
out:
    signal(SIGPIPE, was);
    ember_conn_free(c);
    ember_config_free(cfg);
    for (int i = 0; i < 2; i++)
        if (sv[i] >= 0)
            close(sv[i]);
}

void run_fault_cases(void)
{
    static vcase vcs[2];
    static slow_case scs[2][4];
    static bogus_case bcs[2][4];
    static peer_case pcs[2][14];
    for (int v = 0; v < 2; v++) {
        uint16_t ver = VERSIONS[v];
        const char *vn = vname(ver);
        vcs[v] = (vcase){ver};
        run_case(case_write_eio_mid_record, &vcs[v], "fault write_eio_mid_record %s", vn);
        run_case(case_read_eio_mid_record, &vcs[v], "fault read_eio_mid_record %s", vn);
        run_case(case_write_eio_mid_handshake, &vcs[v], "fault write_eio_mid_handshake %s", vn);
        scs[v][0] = (slow_case){ver, "eintr_before_every_call", 3, 0, 0, 64 * 1024, 1000};
        scs[v][1] = (slow_case){ver, "eagain_stretches_of_1000", 0, 1000, 0, 32 * 1024, 100000};
        scs[v][2] = (slow_case){ver, "one_byte_at_a_time", 0, 0, 1, 20 * 1024, 100000};
        scs[v][3] = (slow_case){ver, "one_byte_eintr_eagain", 1, 2, 1, 8 * 1024, 100000};
        for (int i = 0; i < 4; i++)
            run_case(case_slow_transport, &scs[v][i], "fault %s %s", scs[v][i].what, vn);
        run_case(case_write_backpressure, &vcs[v], "fault write_backpressure %s", vn);
        bcs[v][0] = (bogus_case){ver, 1, true};
        bcs[v][1] = (bogus_case){ver, 1, false};
        bcs[v][2] = (bogus_case){ver, 2, true};
        bcs[v][3] = (bogus_case){ver, 2, false};
        for (int i = 0; i < 4; i++)
            run_case(case_callback_breaks_contract, &bcs[v][i], "fault callback_%s_%s %s",
                     bcs[v][i].on_write ? "write" : "read",
                     bcs[v][i].bogus == 1 ? "claims_more_than_asked" : "returns_minus_one", vn);
        run_case(case_truncated_mid_record, &vcs[v], "fault truncated_mid_record memory %s", vn);
        run_case(case_truncated_mid_record_callbacks, &vcs[v], "fault truncated_mid_record callbacks %s", vn);
        pcs[v][0] = (peer_case){ver, "not_tls", BAD_NOT_TLS, EMBER_ERR_DECODE, ALERT_DECODE_ERROR, false};
        pcs[v][1] = (peer_case){ver, "random_record", BAD_RANDOM_RECORD, EMBER_ERR_BAD_RECORD, ALERT_BAD_RECORD_MAC, false};
        pcs[v][2] = (peer_case){ver, "flipped_bit", BAD_FLIPPED_BIT, EMBER_ERR_BAD_RECORD, ALERT_BAD_RECORD_MAC, false};
        /* Past 2^14 + 256 bytes of ciphertext (TLS 1.3's limit; TLS 1.2 allows 2^14 + 2048):
         * rustls decrypts before it looks at the size, so random bytes fail as bad_record_mac
         * (a real oversized record, which would decrypt, is answered with record_overflow). */
        pcs[v][3] = (peer_case){ver, "oversized_record", BAD_OVERSIZED, EMBER_ERR_BAD_RECORD, ALERT_BAD_RECORD_MAC, false};
        /* Past 2^14 + 2048, every version's limit: refused from the header alone; rustls sends
         * decode_error. */
        pcs[v][4] = (peer_case){ver, "oversized_record_max", BAD_OVERSIZED_MAX, EMBER_ERR_BAD_RECORD, ALERT_DECODE_ERROR, false};
        pcs[v][5] = (peer_case){ver, "wrong_record_version", BAD_WRONG_VERSION, EMBER_ERR_DECODE, ALERT_DECODE_ERROR, false};
        pcs[v][6] = (peer_case){ver, "empty_records", BAD_EMPTY_APPDATA_RUN, EMBER_ERR_BAD_RECORD, ALERT_BAD_RECORD_MAC, false};
        for (int i = 0; i < 7; i++) {
            pcs[v][7 + i] = pcs[v][i];
            pcs[v][7 + i].together = true;
        }
        for (int i = 0; i < 14; i++)
            run_case(case_bad_peer_bytes, &pcs[v][i], "fault peer_%s%s %s -> %s alert %u", pcs[v][i].what,
                     pcs[v][i].together ? "_with_data" : "", vn, ember_result_name(pcs[v][i].want),
                     pcs[v][i].alert);
        run_case(case_alert_after_handshake, &vcs[v], "fault alert_after_handshake %s", vn);
        run_case(case_bytes_after_close_notify, &vcs[v], "fault bytes_after_close_notify %s", vn);
        run_case(case_close_during_handshake, &vcs[v], "fault close_during_handshake %s", vn);
    }
    run_case(case_fd_peer_gone, NULL, "fault fd_peer_gone EPIPE");
}
