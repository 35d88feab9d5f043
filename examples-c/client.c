/*
 * client: a TLS client that sends stdin to a server and copies the reply to stdout.
 *
 *   client --connect HOST:PORT [--servername NAME] [--ca FILE] [--tls12|--tls13]
 *
 * On stdin EOF it sends close_notify and keeps reading until the server's close_notify,
 * so everything an echo server returns reaches stdout.
 *
 * The socket is non-blocking and one poll() loop serves both directions. A blocking
 * client that wrote all of stdin before reading would deadlock on a large input: the
 * server stops reading once its replies fill our receive buffer, and we would never
 * read them because we are still blocked writing.
 *
 * Exit status: 0 success, 1 handshake failed, 2 usage error, 3 any other error.
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

static void usage(FILE *to)
{
    fprintf(to, "usage: client --connect HOST:PORT [--servername NAME] [--ca FILE] "
                "[--tls12|--tls13]\n");
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

/* Builds the client config; NULL after printing why. */
static ember_config *make_config(const char *ca_file, uint16_t version)
{
    ember_config *cfg = new_config(EMBER_ROLE_CLIENT, version);
    ember_trust *trust = NULL;
    ember_result r;

    if (cfg == NULL || ca_file == NULL)
        return cfg;
    /* Our own roots replace the built-in Mozilla ones, as for a private PKI. */
    if ((r = ember_trust_new(&trust)) != EMBER_OK) {
        report("creating trust store", r, NULL);
        goto fail;
    }
    if ((r = ember_trust_add_pem_file(trust, ca_file)) != EMBER_OK) {
        /* The detail is on the store, not on a connection, so report() cannot fetch it. */
        char detail[512] = "";
        size_t n;
        ember_result e = ember_trust_last_error(trust, detail, sizeof detail, &n);
        fprintf(stderr, "embertls: loading %s: %s: %s\n", ca_file, ember_result_name(r),
                e == EMBER_OK || e == EMBER_ERR_BUFFER_TOO_SMALL ? detail : "");
        goto fail;
    }
    if ((r = ember_config_set_trust(cfg, trust)) != EMBER_OK) {
        report("setting trust", r, NULL);
        goto fail;
    }
    /* The config keeps its own reference to the store. */
    ember_trust_free(trust);
    return cfg;

fail:
    ember_trust_free(trust);
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

static int handshake(ember_conn *conn, int sock)
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
    print_summary(conn, extra);
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

/* Streams stdin to the server and the server's data to stdout until its close_notify. */
static int transfer(ember_conn *conn, int sock)
{
    uint8_t in[16384], buf[16384];
    size_t in_off = 0, in_len = 0;
    bool stdin_open = true, close_sent = false;

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
            ssize_t got = read(STDIN_FILENO, in, sizeof in);
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

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "connect", required_argument, NULL, 'c' },
        { "servername", required_argument, NULL, 's' },
        { "ca", required_argument, NULL, 'a' },
        { "tls12", no_argument, NULL, '2' },
        { "tls13", no_argument, NULL, '3' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char *target = NULL, *host, *port;
    const char *servername = NULL, *ca_file = NULL;
    uint16_t version = 0; /* 0: let the library offer every version it supports */
    int opt;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'c': target = optarg; break;
        case 's': servername = optarg; break;
        case 'a': ca_file = optarg; break;
        case '2': version = EMBER_TLS1_2; break;
        case '3': version = EMBER_TLS1_3; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc || target == NULL || !split_host_port(target, &host, &port)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (servername == NULL)
        servername = host;

    /* embertls writes to the socket with MSG_NOSIGNAL; this covers our own writes to
     * stdout, so a closed pipe there is reported (EPIPE) instead of killing us. */
    signal(SIGPIPE, SIG_IGN);

    ember_config *cfg = make_config(ca_file, version);
    if (cfg == NULL)
        return EXIT_ERROR;

    ember_conn *conn = NULL;
    ember_result r = ember_conn_new(cfg, servername, &conn);
    /* The connection holds its own reference to the config. */
    ember_config_free(cfg);
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
        else if ((status = handshake(conn, sock)) == 0)
            status = transfer(conn, sock);
        close(sock);
    }
    ember_conn_free(conn);
    return status;
}
