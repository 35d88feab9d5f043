/*
 * The benchmark loops, shared by the C peers (bench/ember_peer.c, bench/openssl_peer.c);
 * bench/native.rs is the same code over rustls. Keep the three in step: a change to a loop
 * here is made there too.
 *
 *   PEER versions
 *   PEER hs   PKI_DIR ecdsa|rsa 13|12 full|resumed SECS
 *   PEER bulk PKI_DIR aes128|aes256|chacha CHUNK SECS
 *   PEER heap PKI_DIR CONNS
 *
 * Each prints one line per figure on stdout:
 *   result figure=hs13-ecdsa-full peer=embertls value=1234.5 unit=handshakes/s count=...
 * and exits 0; on failure it says why on stderr and exits 1, also when the library cannot
 * produce a figure (it refuses, or does not keep to, the one suite a bulk figure allows).
 *
 * PKI_DIR holds ca.pem (the roots), ecdsa.pem/.key and rsa.pem/.key (chain and key).
 */
#define _POSIX_C_SOURCE 200809L

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peer.h"

/* The wire: what one side drains and the other is fed. */
static uint8_t wire[64 * 1024];
/* Where decrypted data is read to. */
static uint8_t sink[16 * 1024];

static double clock_secs(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The CPU time this process has used. Rates are per CPU second, as openssl speed counts
 * them: time other programs take from the core is not charged to the peer. Each line also
 * gives the wall-clock time (wall=), which says how much of the core the peer had. */
static double now_secs(void)
{
    return clock_secs(CLOCK_PROCESS_CPUTIME_ID);
}

static void fail(const char *what)
{
    fprintf(stderr, "error: %s\n", what);
    exit(1);
}

/* Reads all decrypted data `c` has, adding the count to *got. */
static void read_all(const struct peer_ops *ops, peer_conn *c, unsigned long long *got)
{
    long n;
    while ((n = ops->read(c, sink, sizeof sink)) > 0)
        *got += (unsigned long long)n;
    if (n < 0)
        fail("read failed");
}

/* Moves everything `from` wants sent into `to`. When `to` stops taking bytes because
 * decrypted data fills it, that data is read (counted in *got). Returns the bytes moved. */
static size_t pass(const struct peer_ops *ops, peer_conn *from, peer_conn *to,
                   unsigned long long *got)
{
    size_t moved = 0, n;
    while ((n = ops->drain(from, wire, sizeof wire)) > 0) {
        size_t off = 0;
        while (off < n) {
            long took = ops->feed(to, wire + off, n - off);
            if (took < 0)
                fail("feed failed");
            off += (size_t)took;
            if (off < n) {
                unsigned long long before = *got;
                read_all(ops, to, got);
                if (took == 0 && *got == before)
                    fail("the receiver takes no bytes and has nothing to read");
            }
        }
        moved += n;
    }
    return moved;
}

/* Makes a client and a server connection and runs their handshake to its end: both sides
 * complete, and the client has read what the server sent after it (the tickets). */
static void connect_pair(const struct peer_ops *ops, peer_ctx *ctx, peer_conn **client,
                         peer_conn **server)
{
    unsigned long long got = 0;
    peer_conn *c = ops->client(ctx), *s = ops->server(ctx);

    if (c == NULL || s == NULL)
        fail("cannot make a connection");
    for (int round = 0;; round++) {
        if (round == 16)
            fail("the handshake makes no progress");
        int dc = ops->handshake(c);
        size_t moved = pass(ops, c, s, &got);
        int ds = ops->handshake(s);
        moved += pass(ops, s, c, &got);
        if (dc < 0 || ds < 0)
            fail("handshake failed");
        if (dc == 1 && ds == 1 && moved == 0)
            break;
    }
    read_all(ops, c, &got);
    if (got != 0 || pass(ops, c, s, &got) != 0)
        fail("unexpected bytes after the handshake");
    *client = c;
    *server = s;
}

static void pki_path(char *buf, size_t len, const char *dir, const char *name, const char *ext)
{
    if ((size_t)snprintf(buf, len, "%s/%s%s", dir, name, ext) >= len)
        fail("PKI path too long");
}

/* The configs of `s` with the certificates in `dir`: the chain and key of `cert` (ecdsa,
 * rsa) and the roots in ca.pem. */
static peer_ctx *setup_or_fail(const struct peer_ops *ops, const char *dir, const char *cert,
                               struct setup s)
{
    char chain[4096], key[4096], ca[4096];

    pki_path(chain, sizeof chain, dir, cert, ".pem");
    pki_path(key, sizeof key, dir, cert, ".key");
    pki_path(ca, sizeof ca, dir, "ca", ".pem");
    s.chain = chain;
    s.key = key;
    s.ca = ca;
    peer_ctx *ctx = ops->setup(&s);
    if (ctx == NULL)
        fail("cannot make the configs");
    return ctx;
}

/* Full or resumed handshakes per second. */
static void run_handshakes(const struct peer_ops *ops, const char *dir, const char *cert,
                           int tls, const char *mode, double secs)
{
    char figure[64];
    int resumed = strcmp(mode, "resumed") == 0;
    peer_ctx *ctx =
        setup_or_fail(ops, dir, cert, (struct setup){ .tls12_only = tls == 12, .resume = resumed });
    peer_conn *c, *srv;
    struct conn_info info;

    /* Warm up (and, for resumption, get the first ticket). */
    connect_pair(ops, ctx, &c, &srv);
    ops->free_conn(c);
    ops->free_conn(srv);

    unsigned long long count = 0;
    double start = now_secs(), wall = clock_secs(CLOCK_MONOTONIC), elapsed;
    do {
        connect_pair(ops, ctx, &c, &srv);
        ops->info(c, &info);
        if (info.resumed != resumed)
            fail(resumed ? "a handshake did not resume" : "a handshake resumed");
        ops->free_conn(c);
        ops->free_conn(srv);
        count++;
        elapsed = now_secs() - start;
    } while (elapsed < secs);

    wall = clock_secs(CLOCK_MONOTONIC) - wall;
    snprintf(figure, sizeof figure, "hs%d-%s-%s", tls, cert, mode);
    printf("result figure=%s peer=%s value=%.6g unit=handshakes/s count=%llu secs=%.4f "
           "wall=%.4f version=0x%04x suite=0x%04x\n",
           figure, ops->name, (double)count / elapsed, count, elapsed, wall, info.version,
           info.suite);
    ops->teardown(ctx);
}

/* Bulk data client to server: MB/s of plaintext the server reads. */
static void run_bulk(const struct peer_ops *ops, const char *dir, const char *suite_name,
                     size_t chunk, double secs)
{
    char figure[64];
    uint16_t suite = strcmp(suite_name, "aes128") == 0   ? 0x1301
                     : strcmp(suite_name, "aes256") == 0 ? 0x1302
                     : strcmp(suite_name, "chacha") == 0 ? 0x1303
                                                         : 0;
    if (suite == 0)
        fail("unknown suite (aes128, aes256, chacha)");
    if (chunk == 0 || chunk > sizeof wire / 2)
        fail("bad chunk size");
    snprintf(figure, sizeof figure, "bulk-%s-%zu", suite_name, chunk);
    peer_ctx *ctx = setup_or_fail(ops, dir, "ecdsa", (struct setup){ .suite = suite });
    peer_conn *c, *srv;
    struct conn_info info;

    connect_pair(ops, ctx, &c, &srv);
    ops->info(c, &info);
    if (info.suite != suite)
        fail("negotiated another suite");

    uint8_t *data = malloc(chunk);
    if (data == NULL)
        fail("out of memory");
    for (size_t i = 0; i < chunk; i++)
        data[i] = (uint8_t)(i * 131 + 7);
    /* Writes between two looks at the clock: 256 KiB. */
    size_t batch = chunk >= 256 * 1024 ? 1 : 256 * 1024 / chunk;
    unsigned long long sent = 0, got = 0;

    /* Warm up: one batch, not counted. */
    for (size_t i = 0; i < batch; i++) {
        if (ops->write(c, data, chunk) != (long)chunk)
            fail("a write was not taken whole");
        pass(ops, c, srv, &got);
        read_all(ops, srv, &got);
    }
    got = 0;
    double start = now_secs(), wall = clock_secs(CLOCK_MONOTONIC), elapsed;
    do {
        for (size_t i = 0; i < batch; i++) {
            if (ops->write(c, data, chunk) != (long)chunk)
                fail("a write was not taken whole");
            sent += chunk;
            pass(ops, c, srv, &got);
            read_all(ops, srv, &got);
        }
        elapsed = now_secs() - start;
    } while (elapsed < secs);
    wall = clock_secs(CLOCK_MONOTONIC) - wall;
    if (got != sent)
        fail("the server read a different number of bytes than the client wrote");

    printf("result figure=%s peer=%s value=%.6g unit=MB/s count=%llu secs=%.4f wall=%.4f "
           "version=0x%04x suite=0x%04x\n",
           figure, ops->name, (double)got / elapsed / 1e6, got, elapsed, wall, info.version,
           info.suite);
    free(data);
    ops->free_conn(c);
    ops->free_conn(srv);
    ops->teardown(ctx);
}

/* Heap held by an established, idle connection, each side apart: N pairs are connected,
 * then the servers are freed, then the clients; the heap each step gives back, over N. */
static void run_heap(const struct peer_ops *ops, const char *dir, long conns)
{
    if (conns <= 0)
        fail("CONNS must be positive");
    peer_ctx *ctx = setup_or_fail(ops, dir, "ecdsa", (struct setup){ 0 });
    peer_conn **clients = calloc((size_t)conns, sizeof *clients);
    peer_conn **servers = calloc((size_t)conns, sizeof *servers);
    peer_conn *c, *srv;

    if (clients == NULL || servers == NULL)
        fail("out of memory");
    for (int i = 0; i < 2; i++) {
        connect_pair(ops, ctx, &c, &srv);
        ops->free_conn(c);
        ops->free_conn(srv);
    }
    long long base = heap_live_bytes();
    for (long i = 0; i < conns; i++)
        connect_pair(ops, ctx, &clients[i], &servers[i]);
    long long all = heap_live_bytes();
    for (long i = 0; i < conns; i++)
        ops->free_conn(servers[i]);
    long long without_servers = heap_live_bytes();
    for (long i = 0; i < conns; i++)
        ops->free_conn(clients[i]);
    long long after = heap_live_bytes();

    printf("result figure=heap-client peer=%s value=%.6g unit=bytes count=%ld kept=%lld\n",
           ops->name, (double)(without_servers - after) / (double)conns, conns, after - base);
    printf("result figure=heap-server peer=%s value=%.6g unit=bytes count=%ld kept=%lld\n",
           ops->name, (double)(all - without_servers) / (double)conns, conns, after - base);
    free(clients);
    free(servers);
    ops->teardown(ctx);
}

static double positive(const char *arg, const char *what)
{
    char *end;
    double v = strtod(arg, &end);
    if (*end != '\0' || !(v > 0) || isinf(v)) {
        fprintf(stderr, "error: %s must be a positive number, not \"%s\"\n", what, arg);
        exit(2);
    }
    return v;
}

static int peer_main(const struct peer_ops *ops, int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    /* Only the heap figures need the count, which slows the other figures down (see
     * bench/count_alloc.c). */
    if (strcmp(cmd, "heap") == 0)
        heap_count_start();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(cmd, "versions") == 0 && argc == 2) {
        char buf[512];
        ops->versions(buf, sizeof buf);
        printf("versions peer=%s %s\n", ops->name, buf);
    } else if (strcmp(cmd, "hs") == 0 && argc == 7) {
        int tls = atoi(argv[4]);
        if ((strcmp(argv[3], "ecdsa") != 0 && strcmp(argv[3], "rsa") != 0) ||
            (tls != 12 && tls != 13) ||
            (strcmp(argv[5], "full") != 0 && strcmp(argv[5], "resumed") != 0))
            goto usage;
        run_handshakes(ops, argv[2], argv[3], tls, argv[5], positive(argv[6], "SECS"));
    } else if (strcmp(cmd, "bulk") == 0 && argc == 6) {
        run_bulk(ops, argv[2], argv[3], (size_t)positive(argv[4], "CHUNK"),
                 positive(argv[5], "SECS"));
    } else if (strcmp(cmd, "heap") == 0 && argc == 4) {
        run_heap(ops, argv[2], (long)positive(argv[3], "CONNS"));
    } else {
        goto usage;
    }
    return 0;

usage:
    fprintf(stderr, "usage: %s versions\n"
                    "       %s hs PKI_DIR ecdsa|rsa 13|12 full|resumed SECS\n"
                    "       %s bulk PKI_DIR aes128|aes256|chacha CHUNK SECS\n"
                    "       %s heap PKI_DIR CONNS\n",
            argv[0], argv[0], argv[0], argv[0]);
    return 2;
}

int main(int argc, char **argv)
{
    return peer_main(&peer_ops, argc, argv);
}
