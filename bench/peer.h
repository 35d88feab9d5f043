/*
 * One benchmark peer: a TLS library seen through the few operations the loops need.
 *
 * bench/harness.c holds the loops (handshakes, bulk transfer, heap per connection) and
 * main(); bench/ember_peer.c and bench/openssl_peer.c each define `peer_ops` for their
 * library. bench/native.rs runs the same loops over rustls directly, so the three
 * programs do the same work in the same order and print the same lines.
 *
 * Both ends of every connection live in this one process and talk through one buffer in
 * memory (the "wire"): what one side drains is fed to the other, as an event loop moves
 * bytes between a socket and a memory BIO.
 */
#ifndef BENCH_PEER_H
#define BENCH_PEER_H

#include <stddef.h>
#include <stdint.h>

/* What the configs of one run are made of. */
struct setup {
    const char *chain; /* the server's certificate chain (PEM: leaf, then intermediate) */
    const char *key;   /* its private key (PEM, PKCS#8) */
    const char *ca;    /* the roots the client trusts (PEM) */
    int tls12_only;    /* both sides allow TLS 1.2 only (otherwise 1.2 and 1.3) */
    int resume;        /* the client keeps the sessions (tickets) servers give it */
    uint16_t suite;    /* the one TLS 1.3 suite both sides allow (IANA id), 0: defaults */
};

/* What a connection negotiated. */
struct conn_info {
    uint16_t version; /* 0x0303, 0x0304 */
    uint16_t suite;   /* IANA id, e.g. 0x1301 */
    int resumed;      /* 1 when the handshake resumed a session */
};

typedef struct peer_ctx peer_ctx;   /* the library's client and server configs */
typedef struct peer_conn peer_conn; /* one connection, either role */

struct peer_ops {
    const char *name;
    /* "library=... " fields for the versions line. */
    void (*versions)(char *buf, size_t len);
    /* NULL after printing why to stderr. */
    peer_ctx *(*setup)(const struct setup *s);
    /* A client connection to "localhost" / a server connection; NULL after printing why. */
    peer_conn *(*client)(peer_ctx *ctx);
    peer_conn *(*server)(peer_ctx *ctx);
    /* Drives the handshake: 1 complete, 0 waiting for the peer, -1 failed (printed). */
    int (*handshake)(peer_conn *c);
    /* Moves up to `cap` bytes the connection wants sent into `buf`; 0 when none. */
    size_t (*drain)(peer_conn *c, uint8_t *buf, size_t cap);
    /* Gives the connection bytes from its peer; returns how many it took (fewer only when
     * decrypted data waits to be read), -1 when processing them failed (printed). */
    long (*feed)(peer_conn *c, const uint8_t *buf, size_t len);
    /* Reads decrypted data: > 0 bytes, 0 when none is ready, -1 failed (printed). */
    long (*read)(peer_conn *c, uint8_t *buf, size_t cap);
    /* Encrypts data: the count accepted, -1 failed (printed). */
    long (*write)(peer_conn *c, const uint8_t *buf, size_t len);
    void (*info)(peer_conn *c, struct conn_info *out);
    void (*free_conn)(peer_conn *c);
    void (*teardown)(peer_ctx *ctx);
};

/* The library the program is linked with: ember_peer.c or openssl_peer.c. */
extern const struct peer_ops peer_ops;

/* bench/count_alloc.c counts glibc's usable size of each live block, from
 * heap_count_start() on; heap_live_bytes() is the count now. */
void heap_count_start(void);
long long heap_live_bytes(void);

#endif
