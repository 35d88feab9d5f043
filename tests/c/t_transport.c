/* The three I/O modes end to end: memory pairs over every certificate kind, callbacks over a
 * hostile transport, file descriptors (blocking in a thread, non-blocking with poll), clean
 * close and truncation. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define X25519 0x001d

static const uint16_t VERSIONS[] = {EMBER_TLS1_2, EMBER_TLS1_3};

static const char *vname(uint16_t v) { return v == EMBER_TLS1_3 ? "TLSv1.3" : "TLSv1.2"; }

/* ---- memory mode ---- */

typedef struct pair_case {
    uint16_t version;
    const char *cert, *key;
} pair_case;

/* Handshake, facts on both sides, 1 MiB one way and 256 KiB + 7 the other, close both. */
static void case_memory_pair(const void *arg)
{
    const pair_case *pc = arg;
    const size_t c_len = 1u << 20, s_len = (256u << 10) + 7;
    uint8_t *c_tx = malloc(c_len), *s_rx = malloc(c_len), *s_tx = malloc(s_len), *c_rx = malloc(s_len);
    ember_result rc_c, rc_s;
    uint16_t v = 0;
    uint8_t byte = 0;
    size_t n = 0;
    pair p;
    CHECK(make_pair(&p, &(pair_opts){.cert = pc->cert, .key = pc->key, .cmin = pc->version,
                                     .cmax = pc->version, .smin = pc->version, .smax = pc->version}));
    CHECK(c_tx && s_rx && s_tx && c_rx);

    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_protocol_version(p.c, &v));
    CHECK_CONN_RC(p.c, EMBER_WANT_READ, ember_conn_handshake(p.c));
    CHECK(ember_conn_pending_output(p.c) > 0); /* the ClientHello, waiting to be drained */
    CHECK_CONN_RC(p.s, EMBER_WANT_READ, ember_conn_handshake(p.s));
    CHECK_EQ(0, ember_conn_pending_output(p.s));
    CHECK(drive_handshake(&p, &rc_c, &rc_s));
    CHECK_CONN_RC(p.c, EMBER_OK, rc_c);
    CHECK_CONN_RC(p.s, EMBER_OK, rc_s);
    CHECK_RC(EMBER_OK, ember_conn_handshake(p.c)); /* harmless once complete */
    CHECK_EQ(0, ember_conn_pending_output(p.c));

    uint16_t suite = expected_suite(pc->version, pc->cert);
    CHECK(check_facts(p.c, pc->version, suite, X25519, "localhost"));
    CHECK(check_facts(p.s, pc->version, suite, X25519, "localhost"));

    fill_pattern(c_tx, c_len, 11);
    fill_pattern(s_tx, s_len, 12);
    side cs = {.conn = p.c, .who = "client", .tx = c_tx, .tx_len = c_len, .rx = c_rx, .rx_len = s_len};
    side ss = {.conn = p.s, .who = "server", .tx = s_tx, .tx_len = s_len, .rx = s_rx, .rx_len = c_len};
    CHECK(run_sides(&cs, &ss, memory_between, &p, 2));
    CHECK(same_bytes("client -> server", c_tx, s_rx, c_len));
    CHECK(same_bytes("server -> client", s_tx, c_rx, s_len));

    /* Both closed: the peer's close_notify stays the answer, and writing is refused. */
    CHECK_RC(EMBER_CLOSED, ember_conn_read(p.s, &byte, 1, &n));
    CHECK_RC(EMBER_CLOSED, ember_conn_read(p.c, &byte, 1, &n));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_write(p.c, c_tx, 1, &n));
    CHECK(check_facts(p.c, pc->version, suite, X25519, "localhost"));
out:
    pair_free(&p);
    free(c_tx);
    free(s_rx);
    free(s_tx);
    free(c_rx);
}

/* Moves everything pending both ways (memory mode, nobody dead). */
static bool settle(pair *p)
{
    size_t moved = 0;
    return shuttle(p->c, &p->c2s, p->s, NULL, &moved) && shuttle(p->s, &p->s2c, p->c, NULL, &moved);
}

static bool read_exact(ember_conn *conn, const char *want)
{
    char buf[64] = {0};
    size_t n = 0;
    CHECK_CONN_RC(conn, EMBER_OK, ember_conn_read(conn, (uint8_t *)buf, sizeof buf - 1, &n));
    CHECK_EQ(strlen(want), n);
    CHECK_STR(want, buf);
    return true;
out:
    return false;
}

static bool write_all(ember_conn *conn, const char *text)
{
    size_t n = 0;
    CHECK_CONN_RC(conn, EMBER_OK, ember_conn_write(conn, (const uint8_t *)text, strlen(text), &n));
    CHECK_EQ(strlen(text), n);
    return true;
out:
    return false;
}

/* One side closes; the other reads EMBER_CLOSED (not an error), and in TLS 1.3 (half-close)
 * still writes an answer the closer can read before it sees EMBER_CLOSED in turn. */
static void case_clean_close(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    uint8_t buf[16];
    size_t n = 0;
    pair p;
    CHECK(handshake_pair(&p, version));
    CHECK(write_all(p.c, "last words"));
    CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_close(p.c));
    CHECK(ember_conn_pending_output(p.c) > 0);
    CHECK(settle(&p));
    CHECK(read_exact(p.s, "last words"));
    CHECK_CONN_RC(p.s, EMBER_CLOSED, ember_conn_read(p.s, buf, sizeof buf, &n));
    CHECK_RC(EMBER_CLOSED, ember_conn_read(p.s, buf, sizeof buf, &n));
    if (version == EMBER_TLS1_3) {
        CHECK(write_all(p.s, "goodbye"));
        CHECK(settle(&p));
        CHECK(read_exact(p.c, "goodbye"));
    }
    CHECK_CONN_RC(p.s, EMBER_OK, ember_conn_close(p.s));
    CHECK(settle(&p));
    CHECK_CONN_RC(p.c, EMBER_CLOSED, ember_conn_read(p.c, buf, sizeof buf, &n));
    /* The transport's EOF after close_notify is the normal end, not truncation. */
    CHECK_RC(EMBER_OK, ember_conn_feed(p.c, NULL, 0, &n));
    CHECK_RC(EMBER_CLOSED, ember_conn_read(p.c, buf, sizeof buf, &n));
    CHECK_MSG(ember_conn_last_error(p.c, (char *)buf, sizeof buf, &n) == EMBER_OK && n == 0,
              "a clean close left the error detail \"%s\"", conn_detail(p.c));
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_write(p.c, buf, 1, &n));
    CHECK_MSG(strlen(conn_detail(p.c)) > 0, "no detail for the write after close");
out:
    pair_free(&p);
}

/* EOF from the transport without close_notify: data already received is still delivered,
 * then EMBER_ERR_UNEXPECTED_EOF, and it stays the answer. */
static void case_truncation_memory(const void *arg)
{
    bool null_buf = *(const bool *)arg;
    uint8_t buf[16];
    char text[256];
    size_t n = 99;
    pair p;
    CHECK(handshake_pair(&p, EMBER_TLS1_3));
    CHECK(write_all(p.s, "partial"));
    CHECK(settle(&p));
    CHECK_RC(EMBER_OK, ember_conn_feed(p.c, null_buf ? NULL : buf, 0, &n));
    CHECK_EQ(0, n);
    CHECK_RC(EMBER_ERR_WRONG_STATE, ember_conn_feed(p.c, buf, 1, &n)); /* nothing after the end */
    CHECK(read_exact(p.c, "partial"));
    n = 99;
    CHECK_CONN_RC(p.c, EMBER_ERR_UNEXPECTED_EOF, ember_conn_read(p.c, buf, sizeof buf, &n));
    CHECK_EQ(0, n);
    CHECK_RC(EMBER_ERR_UNEXPECTED_EOF, ember_conn_read(p.c, buf, sizeof buf, &n));
    CHECK_RC(EMBER_OK, ember_conn_last_error(p.c, text, sizeof text, &n));
    CHECK_MSG(n > 0, "no detail for the truncation");
out:
    pair_free(&p);
}

/* The peer's transport ends in the middle of the handshake. */
static void case_truncation_handshake(const void *arg)
{
    (void)arg;
    size_t n = 0, moved = 0;
    pair p;
    CHECK(make_pair(&p, &(pair_opts){0}));
    CHECK_CONN_RC(p.c, EMBER_WANT_READ, ember_conn_handshake(p.c));
    CHECK(shuttle(p.c, &p.c2s, p.s, NULL, &moved));
    CHECK_RC(EMBER_OK, ember_conn_feed(p.c, NULL, 0, &n));
    CHECK_CONN_RC(p.c, EMBER_ERR_UNEXPECTED_EOF, ember_conn_handshake(p.c));
    CHECK_RC(EMBER_ERR_UNEXPECTED_EOF, ember_conn_handshake(p.c));
    /* The server got a ClientHello and then EOF. */
    CHECK_RC(EMBER_OK, ember_conn_feed(p.s, NULL, 0, &n));
    CHECK_CONN_RC(p.s, EMBER_ERR_UNEXPECTED_EOF, ember_conn_handshake(p.s));
out:
    pair_free(&p);
}

/* ---- callback mode ---- */

/* One direction of each endpoint of an in-memory wire whose callbacks move 1..7 bytes at a
 * time, say EAGAIN at random (and whenever nothing is there) and sometimes EINTR. */
typedef struct wire_end {
    bytes *in, *out;
    uint32_t *rng;
    int read_errno, write_errno; /* forced failure, 0 for none */
    bool in_eof;                 /* after in drains, reads report EOF */
    unsigned long reads, writes, eagain, eintr, zero_len;
} wire_end;

/* What both callbacks do first: count the call (in *calls), answer a forced errno, count a
 * zero-length request and, with an rng, say EINTR or EAGAIN at random or move 1..7 bytes.
 * Returns the errno to answer with, or 0 with *n the bytes (at most len) to move. */
static int hostile_start(wire_end *e, unsigned long *calls, int forced_errno, size_t len, size_t *n)
{
    *n = len;
    (*calls)++;
    if (forced_errno)
        return forced_errno;
    if (len == 0)
        e->zero_len++;
    if (e->rng) {
        uint32_t r = rng_next(e->rng);
        if (r % 16 == 0) {
            e->eintr++;
            return EINTR;
        }
        if (r % 16 < 4) {
            e->eagain++;
            return EAGAIN;
        }
        *n = 1 + (r >> 8) % 7;
    }
    if (*n > len)
        *n = len;
    return 0;
}

static int hostile_read(void *ud, uint8_t *buf, size_t len, size_t *out_n)
{
    wire_end *e = ud;
    size_t n;
    int err = hostile_start(e, &e->reads, e->read_errno, len, &n);
    if (err)
        return err;
    if (e->in->len == 0 && !e->in_eof) {
        e->eagain++;
        return EAGAIN;
    }
    if (n > e->in->len)
        n = e->in->len; /* 0 at the end of stream */
    if (n > 0) {
        memcpy(buf, bytes_head(e->in), n);
        bytes_pop(e->in, n);
    }
    *out_n = n;
    return 0;
}

static int hostile_write(void *ud, const uint8_t *buf, size_t len, size_t *out_n)
{
    wire_end *e = ud;
    size_t n;
    int err = hostile_start(e, &e->writes, e->write_errno, len, &n);
    if (err)
        return err;
    bytes_push(e->out, buf, n);
    *out_n = n;
    return 0;
}

typedef struct hostile_case {
    uint16_t version;
    uint32_t seed;
} hostile_case;

static void case_callback_hostile(const void *arg)
{
    const hostile_case *hc = arg;
    const size_t len = 200u << 10;
    uint8_t *c_tx = malloc(len), *s_rx = malloc(len), *s_tx = malloc(len), *c_rx = malloc(len);
    uint32_t rng = hc->seed;
    pair p;
    wire_end ce = {.in = &p.s2c, .out = &p.c2s, .rng = &rng};
    wire_end se = {.in = &p.c2s, .out = &p.s2c, .rng = &rng};
    CHECK(make_pair(&p, &(pair_opts){.cert = "rsa", .cmin = hc->version, .cmax = hc->version}));
    CHECK(c_tx && s_rx && s_tx && c_rx);
    CHECK_RC(EMBER_OK, ember_conn_set_io(p.c, hostile_read, hostile_write, &ce));
    CHECK_RC(EMBER_OK, ember_conn_set_io(p.s, hostile_read, hostile_write, &se));
    fill_pattern(c_tx, len, 21);
    fill_pattern(s_tx, len, 22);
    side cs = {.conn = p.c, .who = "client", .tx = c_tx, .tx_len = len, .rx = c_rx, .rx_len = len,
               .rng = &rng, .chunk = 20000};
    side ss = {.conn = p.s, .who = "server", .tx = s_tx, .tx_len = len, .rx = s_rx, .rx_len = len,
               .rng = &rng, .chunk = 20000};
    CHECK(run_sides(&cs, &ss, NULL, NULL, 100000));
    CHECK(same_bytes("client -> server", c_tx, s_rx, len));
    CHECK(same_bytes("server -> client", s_tx, c_rx, len));
    CHECK_EQ(0, p.c2s.len); /* nothing left over or duplicated on the wire */
    CHECK_EQ(0, p.s2c.len);
    uint16_t suite = expected_suite(hc->version, "rsa");
    CHECK(check_facts(p.c, hc->version, suite, X25519, "localhost"));
    CHECK(check_facts(p.s, hc->version, suite, X25519, "localhost"));
    /* The transport really was hostile, and the library never asked it for 0 bytes. */
    CHECK(ce.eagain > 100 && ce.eintr > 100 && se.eagain > 100 && se.eintr > 100);
    CHECK_EQ(0, ce.zero_len + se.zero_len);
    CHECK_EQ(0, ember_conn_os_error(p.c));
out:
    pair_free(&p);
    free(c_tx);
    free(s_rx);
    free(s_tx);
    free(c_rx);
}

/* Each flight leaves in one write when the transport takes all of it: written record by
 * record, the second small write would wait for a TCP peer's delayed ACK of the first
 * (Nagle's algorithm), 40 ms a flight on Linux. */
static void case_one_write_per_flight(const void *arg)
{
    uint16_t v = *(const uint16_t *)arg;
    pair p;
    wire_end ce = {.in = &p.s2c, .out = &p.c2s}, se = {.in = &p.c2s, .out = &p.s2c};
    CHECK(make_pair(&p, &(pair_opts){.cmin = v, .cmax = v}));
    CHECK_RC(EMBER_OK, ember_conn_set_io(p.c, hostile_read, hostile_write, &ce));
    CHECK_RC(EMBER_OK, ember_conn_set_io(p.s, hostile_read, hostile_write, &se));
    /* ClientHello; the server's whole first flight; the client's last flight (it completes in
     * TLS 1.3); TLS 1.2: the server's tickets and Finished. */
    CHECK_CONN_RC(p.c, EMBER_WANT_READ, ember_conn_handshake(p.c));
    CHECK_EQ(1, ce.writes);
    CHECK_CONN_RC(p.s, EMBER_WANT_READ, ember_conn_handshake(p.s));
    CHECK_EQ(1, se.writes);
    CHECK_CONN_RC(p.c, v == EMBER_TLS1_3 ? EMBER_OK : EMBER_WANT_READ, ember_conn_handshake(p.c));
    CHECK_EQ(2, ce.writes);
    CHECK_CONN_RC(p.s, EMBER_OK, ember_conn_handshake(p.s));
    CHECK_EQ(2, se.writes);
    CHECK_CONN_RC(p.c, EMBER_OK, ember_conn_handshake(p.c));
    CHECK_EQ(2, ce.writes);
out:
    pair_free(&p);
}

/* What the callbacks' return values become: EAGAIN -> WANT_*, EIO/EPIPE -> EMBER_ERR_IO with
 * the errno kept, 0 bytes read -> EOF. */
static void case_callback_errno(const void *arg)
{
    (void)arg;
    ember_config *cfg = client_config(0, 0, true);
    ember_conn *c[5] = {NULL};
    bytes in[5] = {{0}}, sink[5] = {{0}};
    wire_end e[5];
    char text[256];
    size_t n = 0;
    CHECK(cfg != NULL);
    for (int i = 0; i < 5; i++) {
        e[i] = (wire_end){.in = &in[i], .out = &sink[i]};
        CHECK_RC(EMBER_OK, ember_conn_new(cfg, "localhost", &c[i]));
        CHECK_RC(EMBER_OK, ember_conn_set_io(c[i], hostile_read, hostile_write, &e[i]));
    }
    e[0].read_errno = EIO;
    e[1].write_errno = EPIPE;
    e[2].read_errno = EAGAIN;
    e[3].write_errno = EWOULDBLOCK;
    e[4].in_eof = true;

    CHECK_EQ(0, ember_conn_os_error(c[0]));
    CHECK_CONN_RC(c[0], EMBER_ERR_IO, ember_conn_handshake(c[0]));
    CHECK(e[0].writes > 0 && sink[0].len > 0); /* the ClientHello went out before the read */
    CHECK_EQ(EIO, ember_conn_os_error(c[0]));
    CHECK_RC(EMBER_ERR_IO, ember_conn_handshake(c[0]));
    CHECK_RC(EMBER_ERR_IO, ember_conn_read(c[0], (uint8_t *)text, sizeof text, &n));
    CHECK_EQ(EIO, ember_conn_os_error(c[0]));
    CHECK_RC(EMBER_OK, ember_conn_last_error(c[0], text, sizeof text, &n));
    CHECK_MSG(n > 0, "no detail for the I/O error");

    CHECK_CONN_RC(c[1], EMBER_ERR_IO, ember_conn_handshake(c[1]));
    CHECK_EQ(EPIPE, ember_conn_os_error(c[1]));

    CHECK_CONN_RC(c[2], EMBER_WANT_READ, ember_conn_handshake(c[2]));
    CHECK_EQ(0, ember_conn_os_error(c[2]));
    CHECK_CONN_RC(c[3], EMBER_WANT_WRITE, ember_conn_handshake(c[3]));
    CHECK_EQ(0, ember_conn_os_error(c[3]));
    /* Would-block is not fatal: once the callback lets the bytes through, the flight goes out. */
    e[3].write_errno = 0;
    CHECK_CONN_RC(c[3], EMBER_WANT_READ, ember_conn_handshake(c[3]));
    CHECK(sink[3].len > 0);

    CHECK_CONN_RC(c[4], EMBER_ERR_UNEXPECTED_EOF, ember_conn_handshake(c[4]));
    CHECK_EQ(0, ember_conn_os_error(c[4]));
out:
    for (int i = 0; i < 5; i++) {
        ember_conn_free(c[i]);
        bytes_free(&in[i]);
        bytes_free(&sink[i]);
    }
    ember_config_free(cfg);
}

/* ---- fd mode ---- */

typedef struct fd_server {
    int fd;
    uint16_t version;
    const uint8_t *want_req, *resp;
    size_t req_len, resp_len;
    bool truncate; /* close the fd right after the handshake, without close_notify */
    bool ok;
} fd_server;

static bool read_full(ember_conn *conn, uint8_t *buf, size_t len)
{
    size_t got = 0, n = 0;
    while (got < len) {
        CHECK_CONN_RC(conn, EMBER_OK, ember_conn_read(conn, buf + got, len - got, &n));
        CHECK(n > 0 && n <= len - got);
        got += n;
    }
    return true;
out:
    return false;
}

/* Blocking server thread: handshake, read the request, send the response, read until the
 * client's close_notify, close. The fd is closed on every path so the client never hangs. */
static void *fd_server_main(void *arg)
{
    fd_server *fs = arg;
    ember_conn *conn = NULL;
    uint8_t *req = malloc(fs->req_len ? fs->req_len : 1), byte;
    size_t n = 0;
    ember_config *cfg = server_config("ecdsa-p256", NULL, fs->version, fs->version);
    CHECK(cfg != NULL && req != NULL);
    CHECK_RC(EMBER_OK, ember_conn_new(cfg, NULL, &conn));
    CHECK_RC(EMBER_OK, ember_conn_set_fd(conn, fs->fd));
    CHECK_CONN_RC(conn, EMBER_OK, ember_conn_handshake(conn));
    if (fs->truncate) {
        close(fs->fd);
        fs->fd = -1;
        fs->ok = true;
        goto out;
    }
    CHECK(check_facts(conn, fs->version, expected_suite(fs->version, "ecdsa"), X25519, "localhost"));
    CHECK(read_full(conn, req, fs->req_len));
    CHECK(same_bytes("request", fs->want_req, req, fs->req_len));
    CHECK_CONN_RC(conn, EMBER_OK, ember_conn_write(conn, fs->resp, fs->resp_len, &n));
    CHECK_EQ(fs->resp_len, n); /* blocking: all of it */
    CHECK_CONN_RC(conn, EMBER_CLOSED, ember_conn_read(conn, &byte, 1, &n));
    CHECK_CONN_RC(conn, EMBER_OK, ember_conn_close(conn));
    fs->ok = true;
out:
    if (fs->fd >= 0)
        close(fs->fd);
    ember_conn_free(conn);
    ember_config_free(cfg);
    free(req);
    return NULL;
}

typedef struct fd_case {
    uint16_t version;
    bool truncate;
} fd_case;

/* Blocking socketpair, server in a thread. With truncate: the server drops the socket after the
 * handshake, and the client's read must say EMBER_ERR_UNEXPECTED_EOF. */
static void case_fd_blocking(const void *arg)
{
    const fd_case *fc = arg;
    const size_t req_len = 300u << 10, resp_len = (700u << 10) + 3;
    uint8_t *req = malloc(req_len), *resp = malloc(resp_len), *got = malloc(resp_len), byte;
    int sv[2] = {-1, -1};
    pthread_t th;
    bool started = false;
    ember_conn *conn = NULL;
    size_t n = 0;
    fd_server fs = {0};
    ember_config *cfg = client_config(fc->version, fc->version, true);
    CHECK(cfg != NULL && req && resp && got);
    fill_pattern(req, req_len, 31);
    fill_pattern(resp, resp_len, 32);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    fs = (fd_server){.fd = sv[1], .version = fc->version, .want_req = req, .req_len = req_len,
                     .resp = resp, .resp_len = resp_len, .truncate = fc->truncate};
    sv[1] = -1; /* the thread owns it now */
    CHECK(pthread_create(&th, NULL, fd_server_main, &fs) == 0);
    started = true;

    CHECK_RC(EMBER_OK, ember_conn_new(cfg, "localhost", &conn));
    CHECK_RC(EMBER_OK, ember_conn_set_fd(conn, sv[0]));
    CHECK_CONN_RC(conn, EMBER_OK, ember_conn_handshake(conn));
    CHECK(check_facts(conn, fc->version, expected_suite(fc->version, "ecdsa"), X25519, "localhost"));
    if (fc->truncate) {
        CHECK_CONN_RC(conn, EMBER_ERR_UNEXPECTED_EOF, ember_conn_read(conn, &byte, 1, &n));
        CHECK_RC(EMBER_ERR_UNEXPECTED_EOF, ember_conn_read(conn, &byte, 1, &n));
    } else {
        CHECK_CONN_RC(conn, EMBER_OK, ember_conn_write(conn, req, req_len, &n));
        CHECK_EQ(req_len, n);
        CHECK(read_full(conn, got, resp_len));
        CHECK(same_bytes("response", resp, got, resp_len));
        CHECK_CONN_RC(conn, EMBER_OK, ember_conn_close(conn));
        CHECK_CONN_RC(conn, EMBER_CLOSED, ember_conn_read(conn, &byte, 1, &n));
    }
    CHECK_EQ(0, ember_conn_os_error(conn));
out:
    if (sv[0] >= 0)
        close(sv[0]); /* unblocks the thread if the client side failed early */
    if (started) {
        pthread_join(th, NULL);
        if (!fs.ok)
            check_failed(__FILE__, __LINE__, "the server thread failed (see above)");
    }
    ember_conn_free(conn);
    ember_config_free(cfg);
    free(req);
    free(resp);
    free(got);
}

static bool poll_between(void *ctx, side *a, side *b, bool *progress)
{
    const int *fds = ctx;
    if (*progress)
        return true; /* something moved: step again before waiting on the sockets */
    struct pollfd pf[2] = {
        {.fd = fds[0], .events = (short)((a->want_read ? POLLIN : 0) | (a->want_write ? POLLOUT : 0))},
        {.fd = fds[1], .events = (short)((b->want_read ? POLLIN : 0) | (b->want_write ? POLLOUT : 0))},
    };
    for (int i = 0; i < 2; i++)
        if (!pf[i].events)
            pf[i].fd = -1;
    if (pf[0].fd < 0 && pf[1].fd < 0)
        return true;
    int r = poll(pf, 2, 10000); /* a hang guard, not a timing assertion */
    if (r < 0 && errno == EINTR)
        return true;
    CHECK_MSG(r > 0, "poll: %s; client: hs=%d sent %zu got %zu want r=%d w=%d pending %zu; server: hs=%d sent %zu got %zu want r=%d w=%d pending %zu",
              r == 0 ? "both sides blocked for 10 s" : strerror(errno), a->hs_done, a->tx_done, a->rx_done,
              a->want_read, a->want_write, ember_conn_pending_output(a->conn), b->hs_done, b->tx_done,
              b->rx_done, b->want_read, b->want_write, ember_conn_pending_output(b->conn));
    *progress = true;
    return true;
out:
    return false;
}

/* Non-blocking socketpair, both ends in this thread, WANT_READ/WANT_WRITE answered by poll(). */
static void case_fd_nonblocking(const void *arg)
{
    uint16_t version = *(const uint16_t *)arg;
    const size_t len = 1u << 20;
    uint8_t *c_tx = malloc(len), *s_rx = malloc(len), *s_tx = malloc(len), *c_rx = malloc(len);
    int sv[2] = {-1, -1};
    pair p;
    CHECK(make_pair(&p, &(pair_opts){.cert = "ecdsa-p384", .cmin = version, .cmax = version}));
    CHECK(c_tx && s_rx && s_tx && c_rx);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    for (int i = 0; i < 2; i++)
        CHECK(fcntl(sv[i], F_SETFL, fcntl(sv[i], F_GETFL) | O_NONBLOCK) == 0);
    CHECK_RC(EMBER_OK, ember_conn_set_fd(p.c, sv[0]));
    CHECK_RC(EMBER_OK, ember_conn_set_fd(p.s, sv[1]));
    fill_pattern(c_tx, len, 41);
    fill_pattern(s_tx, len, 42);
    side cs = {.conn = p.c, .who = "client", .tx = c_tx, .tx_len = len, .rx = c_rx, .rx_len = len};
    side ss = {.conn = p.s, .who = "server", .tx = s_tx, .tx_len = len, .rx = s_rx, .rx_len = len};
    CHECK(run_sides(&cs, &ss, poll_between, sv, 1000));
    CHECK(same_bytes("client -> server", c_tx, s_rx, len));
    CHECK(same_bytes("server -> client", s_tx, c_rx, len));
    uint16_t suite = expected_suite(version, "ecdsa");
    CHECK(check_facts(p.c, version, suite, X25519, "localhost"));
    CHECK(check_facts(p.s, version, suite, X25519, "localhost"));
out:
    pair_free(&p);
    for (int i = 0; i < 2; i++)
        if (sv[i] >= 0)
            close(sv[i]);
    free(c_tx);
    free(s_rx);
    free(s_tx);
    free(c_rx);
}

void run_transport_cases(void)
{
    static const struct {
        const char *cert, *key;
    } certs[] = {
        {"ecdsa-p256", NULL}, {"ecdsa-p384", NULL}, {"rsa", NULL}, {"ed25519", NULL},
        {"rsa", "rsa-pkcs1.key"}, {"ecdsa-p256", "ecdsa-p256-sec1.key"},
    };
    static pair_case pcs[2][6];
    static hostile_case hcs[2];
    static fd_case fcs[2][2];
    static const bool null_buf[2] = {true, false};

    for (int v = 0; v < 2; v++) {
        for (int i = 0; i < 6; i++) {
            pcs[v][i] = (pair_case){VERSIONS[v], certs[i].cert, certs[i].key};
            run_case(case_memory_pair, &pcs[v][i], "memory_pair %s %s%s%s", vname(VERSIONS[v]),
                     certs[i].cert, certs[i].key ? " key=" : "", certs[i].key ? certs[i].key : "");
        }
    }
    for (int v = 0; v < 2; v++)
        run_case(case_clean_close, &VERSIONS[v], "clean_close %s", vname(VERSIONS[v]));
    for (int i = 0; i < 2; i++)
        run_case(case_truncation_memory, &null_buf[i], "truncation_memory feed(%s, 0)",
                 null_buf[i] ? "NULL" : "buf");
    run_case(case_truncation_handshake, NULL, "truncation_mid_handshake");
    for (int v = 0; v < 2; v++) {
        hcs[v] = (hostile_case){VERSIONS[v], 0x2545F491u + (uint32_t)v};
        run_case(case_callback_hostile, &hcs[v], "callback_hostile %s seed=0x%08x", vname(VERSIONS[v]),
                 hcs[v].seed);
    }
    run_case(case_callback_errno, NULL, "callback_errno");
    for (int v = 0; v < 2; v++)
        run_case(case_one_write_per_flight, &VERSIONS[v], "one_write_per_flight %s", vname(VERSIONS[v]));
    for (int v = 0; v < 2; v++) {
        for (int t = 0; t < 2; t++) {
            fcs[v][t] = (fd_case){VERSIONS[v], t == 1};
            run_case(case_fd_blocking, &fcs[v][t], "%s %s", t ? "truncation_socket" : "fd_blocking_thread",
                     vname(VERSIONS[v]));
        }
        run_case(case_fd_nonblocking, &VERSIONS[v], "fd_nonblocking_poll %s", vname(VERSIONS[v]));
    }
}
