/*
 * client: a TLS client that sends stdin to a server and copies the reply to stdout.
 *
 *   client --connect HOST:PORT [--connect HOST:PORT]... [--servername NAME]
 *          [--ca FILE [--crl FILE]...] [--cert FILE --key FILE] [--pin-sha256 BASE64]...
 *          [--tls12|--tls13] [--alpn LIST] [--trace] [--keylog FILE] [--export LABEL:LEN]
 *          [--key-update]
 *
 * Trust: the server's chain is verified against the roots in --ca (default: the built-in
 * Mozilla roots) and, when --crl files are given, their revocation lists. --cert/--key is
 * the certificate the client presents when the server asks for one (mutual TLS).
 * --pin-sha256 accepts the server by its key instead of by its CA: see check_pins().
 *
 * After each handshake it prints a summary line to stderr:
 *   embertls: version=TLSv1.3 suite=... group=... server_name=... handshake_ms=...
 *             alpn=h2|- resumed=yes|no [exporter=HEX]
 *
 * On stdin EOF it sends close_notify and keeps reading until the server's close_notify,
 * so everything an echo server returns reaches stdout.
 *
 * Several --connect: the client connects to each address in turn, one connection after
 * the other, all made from ONE config. The config keeps the sessions its connections
 * obtained, so a later connection to a server (by --servername, default HOST) resumes the
 * session of an earlier one: resumed=yes in its summary, if the server agrees. stdin is
 * then read to its end first, and the same bytes are sent on every connection; each
 * connection's reply goes to stdout in turn. With one --connect, stdin is streamed as it
 * arrives. The client stops at the first connection that fails.
 *
 * --key-update: once the handshake is done, before sending anything, the client moves both
 * directions to fresh keys (ember_conn_key_update: a KeyUpdate that asks the server to
 * update too). TLS 1.2 has no key update: the client then reports
 * "embertls: key update: EMBER_ERR_WRONG_STATE: ..." and carries on with the keys it has,
 * as the library leaves the connection usable; the exit status does not change.
 *
 * --trace prints each step of the handshake to stderr as it happens, with the time since
 * the connection's first step, e.g.
 *   embertls: trace +0.412 ms SERVER_HELLO_RECEIVED TLSv1.3 TLS_AES_256_GCM_SHA384
 * --keylog FILE appends the connection's secrets to FILE for Wireshark (NSS key log).
 * --export LABEL:LEN adds exporter=HEX to the summary: LEN bytes of keying material that
 * the server derives too (RFC 5705 / RFC 8446 7.5).
 *
 * The socket is non-blocking and one poll() loop serves both directions. A blocking
 * client that wrote all of stdin before reading would deadlock on a large input: the
 * server stops reading once its replies fill our receive buffer, and we would never
 * read them because we are still blocked writing.
 *
 * Exit status: 0 success, 1 handshake failed, 2 usage error, 3 any other error. In TLS 1.3
 * a server judges our certificate (or its absence) after our side of the handshake is
 * complete, so its refusal is a read failure (3, EMBER_ERR_ALERT_RECEIVED, e.g.
 * certificate_required), where TLS 1.2 gives 1.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

/* The synopsis; with `explain` (--help) what each option does too. */
static void usage(FILE *to, bool explain)
{
    fprintf(to,
            "usage: client --connect HOST:PORT [--connect HOST:PORT]... [--servername NAME]\n"
            "              [--ca FILE [--crl FILE]...] [--cert FILE --key FILE]\n"
            "              [--pin-sha256 BASE64]... [--tls12|--tls13] [--alpn LIST] [--trace]\n"
            "              [--keylog FILE] [--export LABEL:LEN] [--key-update]\n");
    if (!explain) {
        fprintf(to, "(client --help explains the options)\n");
        return;
    }
    fprintf(to,
            "  --connect HOST:PORT\n"
            "                     the server ([IPv6]:PORT for an IPv6 address). Repeat it to\n"
            "                     connect to each in turn with one config, so that later\n"
            "                     connections resume earlier sessions; stdin is then read to\n"
            "                     its end first and sent on every connection\n"
            "  --servername NAME  the name sent (SNI) and verified (default: HOST)\n"
            "  --ca FILE          trust the roots in FILE (PEM) instead of the built-in ones\n"
            "  --crl FILE         CRLs (PEM or DER) for the --ca roots; may be repeated\n"
            "  --cert, --key      a client certificate chain (PEM) and key, for servers that\n"
            "                     ask for one\n"
            "  --pin-sha256 BASE64\n"
            "                     accept the server only if the SHA-256 of its public key\n"
            "                     (SubjectPublicKeyInfo, base64) is one of these pins. A pin\n"
            "                     stands in for a CA: a pinned server that no trusted CA\n"
            "                     vouches for (e.g. a self-signed one) is accepted on its key\n"
            "                     alone. Other refusals (expired, wrong host name, revoked...)\n"
            "                     stand. May be repeated (e.g. a key and its successor).\n"
            "                     Make a pin with: openssl x509 -in cert.pem -pubkey -noout |\n"
            "                     openssl pkey -pubin -outform der | openssl dgst -sha256\n"
            "                     -binary | base64\n"
            "  --tls12, --tls13   offer only that protocol version (default: both)\n"
            "  --alpn LIST        offer these application protocols (ALPN), comma-separated,\n"
            "                     in order of preference, e.g. h2,http/1.1\n"
            "  --trace            print each step of the handshake to stderr as it happens\n"
            "  --keylog FILE      append the connection secrets to FILE (NSS key log format,\n"
            "                     for Wireshark); anyone who can read FILE can read the traffic\n"
            "  --export LABEL:LEN after the handshake, export LEN bytes (at most %d) of keying\n"
            "                     material for LABEL and show them as exporter=HEX\n"
            "  --key-update       after the handshake, update the keys of both directions\n"
            "                     before sending (TLS 1.3; on TLS 1.2 the refusal is reported\n"
            "                     and the connection goes on with its keys)\n"
            "Each handshake prints a summary line to stderr: embertls: version=... suite=...\n"
            "group=... server_name=... handshake_ms=... alpn=... resumed=yes|no [exporter=...]\n",
            MAX_EXPORT);
}

/* Returns a connected TCP socket, or -1 after printing why. */
static int connect_to(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *addrs;
    int err = getaddrinfo(host, port, &hints, &addrs);

    if (err != 0) {
        fprintf(stderr, "embertls: resolve %s: %s\n", host, gai_strerror(err));
        return -1;
    }
    int fd = -1;
    /* Try every address getaddrinfo gave (IPv6 and IPv4) until one accepts. */
    for (struct addrinfo *a = addrs; a != NULL; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        err = errno;
        close(fd);
        fd = -1;
        errno = err;
    }
    if (fd < 0)
        fprintf(stderr, "embertls: connect %s:%s: %s\n", host, port, strerror(errno));
    freeaddrinfo(addrs);
    return fd;
}

/* ------------------------------------------------------------------------------------
 * Key pinning (--pin-sha256)
 *
 * A pin is the SHA-256 of a server's SubjectPublicKeyInfo, base64-encoded: the form of
 * HPKP and of curl's --pinnedpubkey "sha256//...". It names a key, not a certificate, so it
 * survives the renewal of a certificate for the same key.
 *
 * What a pin decides, in check_pins() below:
 *   - It stands in for a CA. A chain that embertls refused only because no trusted CA
 *     vouches for it (EMBER_ERR_CERT_UNKNOWN_ISSUER, EMBER_ERR_CERT_SELF_SIGNED,
 *     EMBER_ERR_CERT_MISSING_INTERMEDIATE) is accepted when its key is pinned: that is how
 *     a self-signed server is trusted. embertls stopped at that first problem and never
 *     checked the certificate's names, so the callback checks the server name itself with
 *     ember_cert_check_name().
 *   - It adds to a CA's word: a chain that verified is still refused when its key matches
 *     no pin, so a certificate from the right CA for another key is refused too.
 *   - It overrides nothing else: an expired certificate, the wrong host name, a revoked
 *     certificate... stay refused whatever the pin says. The callback upholds those
 *     verdicts by returning them, so the handshake fails exactly as without a pin
 *     (EMBER_ERR_CERT_EXPIRED, its detail, its alert).
 *   - It never replaces the handshake signature, which embertls checks whatever the
 *     callback answers: a server that shows a pinned certificate without holding its
 *     private key fails.
 * A refusal for a reason of the callback's own (no pin matches, the name does not) fails
 * the handshake with EMBER_ERR_CERT_REJECTED, whose detail is the reason we give.
 * ------------------------------------------------------------------------------------ */

/* A SHA-256 in base64: 32 bytes give 44 characters, the last one '='. */
#define PIN_LEN 44

/* Standard base64 (RFC 4648, with '=' padding): every 3 bytes in give 4 characters out.
 * `out` must have room for 4 * ((len + 2) / 3) + 1 bytes; it is NUL-terminated. */
static void base64_encode(const uint8_t *in, size_t len, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    for (size_t i = 0; i < len; i += 3) {
        /* Up to three bytes as one 24-bit number, missing bytes as zeros. */
        uint32_t n = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            n |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            n |= in[i + 2];
        /* Four 6-bit digits; '=' stands for the digits of missing bytes. */
        *out++ = alphabet[(n >> 18) & 63];
        *out++ = alphabet[(n >> 12) & 63];
        *out++ = i + 1 < len ? alphabet[(n >> 6) & 63] : '=';
        *out++ = i + 2 < len ? alphabet[n & 63] : '=';
    }
    *out = '\0';
}

/* The verification callback (ember_verify_cb): embertls has verified the chain and passes
 * its verdict; our answer replaces it. 0 accepts; returning builtin_verdict upholds it;
 * another non-zero value rejects with EMBER_ERR_CERT_REJECTED and the reason we write (at
 * most `reason_len` bytes, NUL included). `chain` is borrowed for the call only. */
static int check_pins(void *userdata, const char *server_name, const ember_bytes *chain,
                      size_t chain_len, ember_result builtin_verdict, char *reason,
                      size_t reason_len)
{
    const struct repeated *pins = userdata; /* the --pin-sha256 values */
    uint8_t spki_sha256[32];
    char pin[PIN_LEN + 1];

    switch (builtin_verdict) {
    case EMBER_OK:                            /* a trusted CA vouches: the pin must agree */
    case EMBER_ERR_CERT_UNKNOWN_ISSUER:       /* no trusted CA vouches: the pin may */
    case EMBER_ERR_CERT_SELF_SIGNED:
    case EMBER_ERR_CERT_MISSING_INTERMEDIATE:
        break;
    default:
        return (int)builtin_verdict; /* expired, revoked...: a pin does not override it */
    }
    /* chain[0] is the server's own certificate, the one whose key signs the handshake. */
    if (chain_len == 0 ||
        ember_cert_spki_sha256(chain[0].data, chain[0].len, spki_sha256) != EMBER_OK) {
        snprintf(reason, reason_len, "the server's certificate cannot be read");
        return 1;
    }
    base64_encode(spki_sha256, sizeof spki_sha256, pin);
    bool pinned = false;
    for (size_t i = 0; i < pins->count && !pinned; i++)
        pinned = strcmp(pin, pins->values[i]) == 0;
    if (!pinned) {
        snprintf(reason, reason_len,
                 "the server's key (SPKI SHA-256 %s) matches no --pin-sha256", pin);
        return 1;
    }
    /* A verified chain had its name checked; one the pin vouches for did not. */
    if (builtin_verdict != EMBER_OK &&
        ember_cert_check_name(chain[0].data, chain[0].len, server_name) != EMBER_OK) {
        snprintf(reason, reason_len, "the pinned certificate is not valid for \"%s\"",
                 server_name);
        return 1;
    }
    return 0;
}

/* What the command line asks of the client's config. */
struct client_options {
    const char *ca_file;         /* NULL: the built-in Mozilla roots */
    struct repeated crls;
    const char *cert, *key;      /* NULL: no client certificate */
    struct repeated pins;        /* none: no callback, embertls' verdict stands */
    uint16_t version;            /* 0: every version the library supports */
    struct observe observe;      /* --alpn, --trace, --keylog, --export */
    bool key_update;             /* --key-update */
};

/* Builds the client config; NULL after printing why. `o` must outlive the config's
 * connections: the pin callback reads o->pins during their handshakes, the key-log
 * callback o->observe.keylog_fd. The config keeps the sessions of its connections (256 by
 * default), which is what lets a second --connect resume. */
static ember_config *make_config(struct client_options *o)
{
    ember_config *cfg = new_config(EMBER_ROLE_CLIENT, o->version);
    ember_result r;

    if (cfg == NULL)
        return NULL;
    if (o->ca_file != NULL) {
        /* Our own roots replace the built-in Mozilla ones, as for a private PKI. */
        ember_trust *trust = load_trust(o->ca_file, &o->crls);
        if (trust == NULL)
            goto fail;
        r = ember_config_set_trust(cfg, trust);
        /* The config keeps its own reference to the store. */
        ember_trust_free(trust);
        if (r != EMBER_OK) {
            report_config("setting trust", r, cfg);
            goto fail;
        }
    }
    if (o->cert != NULL &&
        (r = ember_config_add_cert_pem_file(cfg, o->cert, o->key)) != EMBER_OK) {
        report_config("loading client certificate", r, cfg);
        goto fail;
    }
    if (o->pins.count > 0 &&
        (r = ember_config_set_verify_callback(cfg, check_pins, &o->pins)) != EMBER_OK) {
        report_config("setting the pin callback", r, cfg);
        goto fail;
    }
    if (!observe_config(cfg, &o->observe))
        goto fail;
    return cfg;

fail:
    ember_config_free(cfg);
    return NULL;
}

/* Waits until fd is ready for `events`; false on a poll error. */
static bool wait_for(int fd, short events)
{
    struct pollfd p = { .fd = fd, .events = events };

    while (poll(&p, 1, -1) < 0) {
        if (errno != EINTR)
            return false;
    }
    return true;
}

static bool write_all(int fd, const uint8_t *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        buf += n;
        len -= (size_t)n;
    }
    return true;
}

static int handshake(ember_conn *conn, int sock, const struct client_options *o)
{
    struct timespec start, end;
    ember_result r;

    clock_gettime(CLOCK_MONOTONIC, &start);
    /* The engine says which direction it is blocked on; wait for exactly that. */
    while ((r = ember_conn_handshake(conn)) != EMBER_OK) {
        if (r != EMBER_WANT_READ && r != EMBER_WANT_WRITE) {
            report("handshake failed", r, conn);
            return EXIT_HANDSHAKE;
        }
        if (!wait_for(sock, r == EMBER_WANT_READ ? POLLIN : POLLOUT)) {
            fprintf(stderr, "embertls: poll: %s\n", strerror(errno));
            return EXIT_ERROR;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double ms = (double)(end.tv_sec - start.tv_sec) * 1e3 +
                (double)(end.tv_nsec - start.tv_nsec) / 1e6;

    char extra[64];
    snprintf(extra, sizeof extra, " handshake_ms=%.3f", ms);
    print_summary(conn, extra, &o->observe);

    if (o->key_update) {
        /* Non-blocking: the KeyUpdate may only be queued; transfer() flushes it ahead of
         * our data. TLS 1.2 refuses (EMBER_ERR_WRONG_STATE) and the connection stays as it
         * was, so we say so and go on. */
        r = ember_conn_key_update(conn);
        if (r == EMBER_ERR_WRONG_STATE) {
            report("key update", r, conn);
        } else if (r != EMBER_OK && r != EMBER_WANT_WRITE) {
            report("key update failed", r, conn);
            return EXIT_ERROR;
        }
    }
    return 0;
}

/* After the server's close_notify: answer with ours (unless already sent) and wait until
 * it is on the wire, so the server sees a clean close rather than a reset. */
static int finish(ember_conn *conn, int sock, bool close_sent)
{
    ember_result r = close_sent ? ember_conn_flush(conn) : ember_conn_close(conn);

    while (r == EMBER_WANT_WRITE) {
        if (!wait_for(sock, POLLOUT))
            break;
        r = ember_conn_flush(conn);
    }
    if (r != EMBER_OK) {
        report("close failed", r, conn);
        return EXIT_ERROR;
    }
    return 0;
}

/* What a connection sends: stdin as it arrives (`replay` NULL), or the `replay_len` bytes
 * at `replay`, all of stdin read beforehand so that every --connect can send them. */
struct input {
    const uint8_t *replay;
    size_t replay_len;
};

/* Sends the input to the server and the server's data to stdout until its close_notify. */
static int transfer(ember_conn *conn, int sock, const struct input *input)
{
    uint8_t chunk[16384], buf[16384];
    bool stdin_open = input->replay == NULL, close_sent = false;
    /* What remains to be given to the engine: in[in_off..in_len). */
    const uint8_t *in = stdin_open ? chunk : input->replay;
    size_t in_off = 0, in_len = stdin_open ? 0 : input->replay_len;

    for (;;) {
        ember_result r;
        size_t n;

        /* A non-blocking write may take only part of the buffer (the socket is full);
         * the rest stays in `in` and is offered again after the next poll. */
        while (in_off < in_len) {
            r = ember_conn_write(conn, in + in_off, in_len - in_off, &n);
            if (r == EMBER_WANT_WRITE)
                break;
            if (r != EMBER_OK) {
                report("write failed", r, conn);
                return EXIT_ERROR;
            }
            in_off += n;
        }
        if (!stdin_open && in_off == in_len && !close_sent) {
            r = ember_conn_close(conn);
            if (r != EMBER_OK && r != EMBER_WANT_WRITE) {
                report("close failed", r, conn);
                return EXIT_ERROR;
            }
            close_sent = true;
        }
        /* Bytes the engine accepted may not be on the wire yet; flush says whether we
         * have to wait for the socket to become writable. */
        r = ember_conn_flush(conn);
        if (r != EMBER_OK && r != EMBER_WANT_WRITE) {
            report("write failed", r, conn);
            return EXIT_ERROR;
        }

        struct pollfd fds[2] = {
            { .fd = sock, .events = POLLIN | (r == EMBER_WANT_WRITE ? POLLOUT : 0) },
            /* Read more of stdin only once the engine has taken the last chunk: that is
             * what keeps memory bounded when the server reads slower than we do. */
            { .fd = stdin_open && in_off == in_len ? STDIN_FILENO : -1, .events = POLLIN },
        };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "embertls: poll: %s\n", strerror(errno));
            return EXIT_ERROR;
        }

        /* Readable, hang-up or error: ember_conn_read tells which. Read until the engine
         * wants more from the socket, since one poll wake-up may carry several records. */
        while (fds[0].revents != 0) {
            r = ember_conn_read(conn, buf, sizeof buf, &n);
            if (r == EMBER_WANT_READ || r == EMBER_WANT_WRITE)
                break;
            if (r == EMBER_CLOSED)
                return finish(conn, sock, close_sent);
            if (r != EMBER_OK) {
                report("read failed", r, conn);
                return EXIT_ERROR;
            }
            if (!write_all(STDOUT_FILENO, buf, n)) {
                fprintf(stderr, "embertls: write stdout: %s\n", strerror(errno));
                return EXIT_ERROR;
            }
        }

        if (fds[1].revents != 0) {
            ssize_t got = read(STDIN_FILENO, chunk, sizeof chunk);
            if (got > 0) {
                in_off = 0;
                in_len = (size_t)got;
            } else if (got == 0) {
                stdin_open = false;
            } else if (errno != EINTR && errno != EAGAIN) {
                fprintf(stderr, "embertls: read stdin: %s\n", strerror(errno));
                return EXIT_ERROR;
            }
        }
    }
}

/* Reads all of stdin into `*input` (malloc'd; the caller frees input->replay). False
 * after printing why. */
static bool read_stdin(struct input *input)
{
    uint8_t *data = NULL;
    size_t len = 0, cap = 0;

    for (;;) {
        if (len == cap) {
            size_t grown = cap == 0 ? 16384 : cap * 2;
            uint8_t *bigger = realloc(data, grown);
            if (bigger == NULL) {
                fprintf(stderr, "embertls: stdin does not fit in memory\n");
                free(data);
                return false;
            }
            data = bigger;
            cap = grown;
        }
        ssize_t got = read(STDIN_FILENO, data + len, cap - len);
        if (got == 0)
            break;
        if (got < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "embertls: read stdin: %s\n", strerror(errno));
            free(data);
            return false;
        }
        len += (size_t)got;
    }
    input->replay = data;
    input->replay_len = len;
    return true;
}

/* A --connect address. */
struct target {
    char *host, *port;
};

/* One connection from `cfg` to `t` as `servername` (NULL: its host): handshake, summary,
 * transfer. Returns the exit status it deserves. */
static int run_connection(const ember_config *cfg, const struct target *t,
                          const char *servername, const struct client_options *o,
                          const struct input *input)
{
    const char *host = t->host, *port = t->port;
    ember_conn *conn = NULL;
    ember_result r = ember_conn_new(cfg, servername != NULL ? servername : host, &conn);
    if (r != EMBER_OK) {
        report("creating connection", r, NULL);
        return EXIT_ERROR;
    }

    int status = EXIT_ERROR;
    int sock = connect_to(host, port);
    if (sock >= 0) {
        /* Non-blocking only after connect(), which keeps connecting simple. */
        if (!set_nonblocking(sock))
            fprintf(stderr, "embertls: fcntl: %s\n", strerror(errno));
        else if ((r = ember_conn_set_fd(conn, sock)) != EMBER_OK)
            report("attaching socket", r, conn);
        else if ((status = handshake(conn, sock, o)) == 0)
            status = transfer(conn, sock, input);
        close(sock);
    }
    /* A TLS 1.3 session ticket arrives after the handshake; the config kept it as it came,
     * so the next connection can use it after this one is gone. */
    ember_conn_free(conn);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "servername", required_argument, NULL, 's' },
        { "ca", required_argument, NULL, 'a' },
        { "crl", required_argument, NULL, 'r' },
        { "cert", required_argument, NULL, 'C' },
        { "key", required_argument, NULL, 'k' },
        { "pin-sha256", required_argument, NULL, 'p' },
        { "tls12", no_argument, NULL, '2' },
        { "tls13", no_argument, NULL, '3' },
        { "alpn", required_argument, NULL, 'A' },
        { "trace", no_argument, NULL, 't' },
        { "keylog", required_argument, NULL, 'K' },
        { "export", required_argument, NULL, 'e' },
        { "key-update", no_argument, NULL, 'u' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct client_options o = { .observe = { .keylog_fd = -1 } };
    struct target targets[MAX_REPEATED];
    size_t ntargets = 0;
    const char *servername = NULL;
    int opt;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'c':
            if (ntargets == MAX_REPEATED) {
                fprintf(stderr, "embertls: at most %d --connect options\n", MAX_REPEATED);
                return EXIT_USAGE;
            }
            if (!split_host_port(optarg, &targets[ntargets].host, &targets[ntargets].port)) {
                usage(stderr, false);
                return EXIT_USAGE;
            }
            ntargets++;
            break;
        case 's': servername = optarg; break;
        case 'a': o.ca_file = optarg; break;
        case 'r':
            if (!add_repeated(&o.crls, "--crl", optarg))
                return EXIT_USAGE;
            break;
        case 'C': o.cert = optarg; break;
        case 'k': o.key = optarg; break;
        case 'p':
            /* Catch a pin in another form (hex, "sha256//...") here rather than have it
             * match nothing later. */
            if (strlen(optarg) != PIN_LEN || optarg[PIN_LEN - 1] != '=') {
                fprintf(stderr, "embertls: --pin-sha256 %s: not a base64 SHA-256 "
                                "(%d characters ending in '=')\n", optarg, PIN_LEN);
                return EXIT_USAGE;
            }
            if (!add_repeated(&o.pins, "--pin-sha256", optarg))
                return EXIT_USAGE;
            break;
        case '2': o.version = EMBER_TLS1_2; break;
        case '3': o.version = EMBER_TLS1_3; break;
        case 'A':
            if (!split_list(&o.observe.alpn, "--alpn protocol", optarg))
                return EXIT_USAGE;
            break;
        case 't': o.observe.trace = true; break;
        case 'K': o.observe.keylog = optarg; break;
        case 'e':
            if (!parse_export(optarg, &o.observe))
                return EXIT_USAGE;
            break;
        case 'u': o.key_update = true; break;
        case 'h': usage(stdout, true); return 0;
        default: usage(stderr, false); return EXIT_USAGE;
        }
    }
    /* CRLs belong to the --ca roots; a certificate needs its key and the other way round. */
    if (optind != argc || ntargets == 0 || (o.crls.count > 0 && o.ca_file == NULL) ||
        (o.cert == NULL) != (o.key == NULL)) {
        usage(stderr, false);
        return EXIT_USAGE;
    }

    /* embertls writes to the socket with MSG_NOSIGNAL; this covers our own writes to
     * stdout, so a closed pipe there is reported (EPIPE) instead of killing us. */
    signal(SIGPIPE, SIG_IGN);

    /* One connection streams stdin; several send all of it, each. */
    struct input input = { NULL, 0 };
    if (ntargets > 1 && !read_stdin(&input))
        return EXIT_ERROR;

    /* One config for every connection: its session cache is what later connections resume
     * from. */
    ember_config *cfg = make_config(&o);
    if (cfg == NULL) {
        free((void *)input.replay);
        return EXIT_ERROR;
    }
    int status = 0;
    for (size_t i = 0; i < ntargets && status == 0; i++)
        status = run_connection(cfg, &targets[i], servername, &o, &input);
    ember_config_free(cfg);
    free((void *)input.replay);
    return status;
}
