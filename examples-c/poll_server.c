/*
 * poll_server: the echo server of server.c, written for an event loop.
 *
 *   poll_server --listen ADDR:PORT --cert FILE --key FILE [--tls12|--tls13] [--max-conns N]
 *
 * One thread, non-blocking sockets, poll(). The connections are in memory mode: embertls
 * never touches a socket here. We read bytes from the socket and feed them in with
 * ember_conn_feed, and take the bytes to send out with ember_conn_drain. This is how
 * embertls fits an event loop that owns its sockets and buffers (libuv, epoll, io_uring).
 *
 * For each client, whenever its socket is ready, the order is always:
 *   1. feed what arrived from the socket          (ember_conn_feed)
 *   2. drive the connection                       (ember_conn_handshake / _read / _write)
 *   3. drain what is pending and send it          (ember_conn_drain, send)
 * repeated while any step makes progress, because each can unblock another.
 *
 * Exit status: 0 after --max-conns connections ended, 2 usage error, 3 setup error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "embertls.h"

enum { EXIT_USAGE = 2, EXIT_ERROR = 3 };

/* At this many clients we stop accepting until one leaves. */
#define MAX_CLIENTS 256

/* Every buffer below has a fixed size; when one is full we stop filling it (no POLLIN,
 * no ember_conn_read) until the next stage has taken some. That back-pressure keeps
 * memory bounded when a client sends faster than it reads. */
struct client {
    int fd;
    ember_conn *conn;
    bool handshaken;
    bool sock_eof;  /* recv() returned 0 */
    bool eof_fed;   /* ...and the engine has been told with a zero-length feed */
    bool finishing; /* TLS is over (closed or failed): send what is left, then hang up */
    uint8_t in[16384];   /* received from the socket, not yet taken by ember_conn_feed */
    size_t in_len;
    uint8_t echo[16384]; /* plaintext read, not yet taken by ember_conn_write */
    size_t echo_off, echo_len;
    uint8_t out[16384];  /* drained from the engine, not yet taken by send() */
    size_t out_len;
};

static void usage(FILE *to)
{
    fprintf(to, "usage: poll_server --listen ADDR:PORT --cert FILE --key FILE "
                "[--tls12|--tls13] [--max-conns N]\n");
}

/* Prints "embertls: WHAT: EMBER_ERR_...: detail". */
static void report(const char *what, ember_result r, const ember_conn *conn)
{
    char detail[512] = "";
    size_t n;

    if (conn != NULL) {
        ember_result e = ember_conn_last_error(conn, detail, sizeof detail, &n);
        if (e != EMBER_OK && e != EMBER_ERR_BUFFER_TOO_SMALL)
            detail[0] = '\0';
    }
    fprintf(stderr, "embertls: %s: %s: %s\n", what, ember_result_name(r),
            detail[0] != '\0' ? detail : ember_result_str(r));
}

static const char *or_dash(const char *s)
{
    return s != NULL ? s : "-";
}

static void print_summary(const ember_conn *conn)
{
    uint16_t version, suite, group;
    char sni[256];
    size_t n;

    /* A client that sent no SNI (e.g. one connecting to an IP address) shows as "-". */
    if (ember_conn_server_name(conn, sni, sizeof sni, &n) != EMBER_OK || n == 0)
        strcpy(sni, "-");
    fprintf(stderr, "embertls: version=%s suite=%s group=%s server_name=%s\n",
            or_dash(ember_conn_protocol_version(conn, &version) == EMBER_OK
                        ? ember_protocol_version_name(version) : NULL),
            or_dash(ember_conn_cipher_suite(conn, &suite) == EMBER_OK
                        ? ember_cipher_suite_name(suite) : NULL),
            or_dash(ember_conn_kx_group(conn, &group) == EMBER_OK
                        ? ember_group_name(group) : NULL),
            sni);
}

/* Reads what the socket has, as far as c->in has room. False when the socket failed. */
static bool receive(struct client *c)
{
    while (c->in_len < sizeof c->in && !c->sock_eof) {
        ssize_t got = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
        if (got > 0) {
            c->in_len += (size_t)got;
        } else if (got == 0) {
            c->sock_eof = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else if (errno != EINTR) {
            fprintf(stderr, "embertls: recv: %s\n", strerror(errno));
            return false;
        }
    }
    return true;
}

/* Step 1: feed. A fatal error found while processing the bytes (a bad record, a rejected
 * certificate...) is not handled here: every later call returns it again, so step 2 meets
 * it and reports it as a handshake or echo failure. */
static void feed(struct client *c, bool *progress)
{
    size_t n;

    if (c->in_len > 0) {
        /* The engine may take only part (decrypted data waits to be read): the rest
         * stays in c->in for the next round, after step 2 has read. */
        if (ember_conn_feed(c->conn, c->in, c->in_len, &n) == EMBER_OK && n > 0) {
            memmove(c->in, c->in + n, c->in_len - n);
            c->in_len -= n;
            *progress = true;
        }
    } else if (c->sock_eof && !c->eof_fed) {
        /* Only after every byte that came before the EOF is in; the engine then decides
         * whether the end was clean (close_notify seen) or a truncation. */
        (void)ember_conn_feed(c->conn, c->in, 0, &n);
        c->eof_fed = true;
        *progress = true;
    }
}

/* Step 2: drive the handshake, then echo. */
static void advance(struct client *c, bool *progress)
{
    ember_result r;
    size_t n;

    if (!c->handshaken) {
        /* WANT_READ: needs more fed. WANT_WRITE: needs its output drained (step 3). */
        r = ember_conn_handshake(c->conn);
        if (r == EMBER_WANT_READ || r == EMBER_WANT_WRITE)
            return;
        if (r != EMBER_OK) {
            /* The engine has queued an alert; step 3 still sends it so the client
             * learns why. */
            report("handshake failed", r, c->conn);
            c->finishing = true;
            return;
        }
        print_summary(c->conn);
        c->handshaken = true;
        *progress = true;
    }

    /* Hand back the plaintext we hold before reading more. WANT_WRITE here means the
     * engine's output is full: step 3 drains it and the next round retries. */
    if (c->echo_off < c->echo_len) {
        r = ember_conn_write(c->conn, c->echo + c->echo_off, c->echo_len - c->echo_off, &n);
        if (r == EMBER_WANT_WRITE)
            return;
        if (r != EMBER_OK) {
            report("echo failed", r, c->conn);
            c->finishing = true;
            return;
        }
        c->echo_off += n;
        *progress |= n > 0;
        if (c->echo_off < c->echo_len)
            return;
    }

    r = ember_conn_read(c->conn, c->echo, sizeof c->echo, &n);
    if (r == EMBER_OK) {
        c->echo_off = 0;
        c->echo_len = n;
        *progress = true;
    } else if (r == EMBER_CLOSED) {
        /* The client said goodbye cleanly; everything it sent has been echoed (we read
         * only when c->echo is empty), so answer with our close_notify. */
        r = ember_conn_close(c->conn);
        if (r != EMBER_OK && r != EMBER_WANT_WRITE)
            report("close failed", r, c->conn);
        c->finishing = true;
        *progress = true;
    } else if (r != EMBER_WANT_READ && r != EMBER_WANT_WRITE) {
        report("echo failed", r, c->conn);
        c->finishing = true;
    }
}

/* Step 3: drain and send. Returns false when the socket failed. */
static bool send_pending(struct client *c, bool *progress)
{
    if (c->out_len < sizeof c->out && ember_conn_pending_output(c->conn) > 0) {
        size_t n;
        ember_result r = ember_conn_drain(c->conn, c->out + c->out_len,
                                          sizeof c->out - c->out_len, &n);
        if (r != EMBER_OK) {
            report("drain failed", r, c->conn);
            return false;
        }
        c->out_len += n;
        *progress |= n > 0;
    }
    while (c->out_len > 0) {
        /* MSG_NOSIGNAL: a client that hung up gives EPIPE here instead of killing us. */
        ssize_t sent = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);
        if (sent < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break; /* the rest goes when poll() reports POLLOUT */
            fprintf(stderr, "embertls: send: %s\n", strerror(errno));
            return false;
        }
        /* Partial sends are normal on a non-blocking socket: keep the rest. */
        memmove(c->out, c->out + sent, c->out_len - (size_t)sent);
        c->out_len -= (size_t)sent;
        *progress = true;
    }
    return true;
}

/* Runs steps 1-3 until nothing moves. Returns false when the client must be dropped
 * now; otherwise the client is done once it is finishing and everything was sent. */
static bool service(struct client *c)
{
    bool progress = true;

    while (progress) {
        progress = false;
        if (!c->finishing) {
            feed(c, &progress);
            advance(c, &progress);
        }
        if (!send_pending(c, &progress))
            return false;
    }
    return !(c->finishing && c->out_len == 0 && ember_conn_pending_output(c->conn) == 0);
}

static short wanted_events(const struct client *c)
{
    short events = 0;

    if (!c->finishing && !c->sock_eof && c->in_len < sizeof c->in)
        events |= POLLIN;
    if (c->out_len > 0)
        events |= POLLOUT;
    return events;
}

/* Splits "host:port" or "[ipv6]:port" in place. */
static bool split_host_port(char *s, char **host, char **port)
{
    char *colon = strrchr(s, ':');

    if (colon == NULL || colon == s || colon[1] == '\0')
        return false;
    *colon = '\0';
    *port = colon + 1;
    *host = s;
    size_t len = strlen(s);
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
        s[len - 1] = '\0';
        *host = s + 1;
    }
    return true;
}

static bool set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

/* Binds, listens and prints "listening on ADDR:PORT" with the port the OS chose when
 * PORT is 0, which is how tests find us. Returns the socket, or -1 after printing why. */
static int listen_on(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *addrs;
    int err = getaddrinfo(host, port, &hints, &addrs);

    if (err != 0) {
        fprintf(stderr, "embertls: resolve %s: %s\n", host, gai_strerror(err));
        return -1;
    }
    int fd = socket(addrs->ai_family, addrs->ai_socktype, addrs->ai_protocol);
    int on = 1;
    /* Lets a restarted server bind while old connections are in TIME_WAIT. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        bind(fd, addrs->ai_addr, addrs->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
        !set_nonblocking(fd)) {
        fprintf(stderr, "embertls: listen on %s:%s: %s\n", host, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(addrs);
        return -1;
    }
    freeaddrinfo(addrs);

    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    char ip[INET6_ADDRSTRLEN], serv[8];
    if (getsockname(fd, (struct sockaddr *)&addr, &len) < 0 ||
        getnameinfo((struct sockaddr *)&addr, len, ip, sizeof ip, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        fprintf(stderr, "embertls: getsockname: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    bool v6 = strchr(ip, ':') != NULL;
    printf("listening on %s%s%s:%s\n", v6 ? "[" : "", ip, v6 ? "]" : "", serv);
    /* stdout is a pipe under tests: without this the line would sit in our buffer. */
    fflush(stdout);
    return fd;
}

/* Wraps a freshly accepted socket; NULL after printing why it could not be set up. */
static struct client *new_client(int fd, const ember_config *cfg)
{
    struct client *c = calloc(1, sizeof *c);
    ember_result r;

    if (c == NULL || !set_nonblocking(fd)) {
        fprintf(stderr, "embertls: cannot set up a new client\n");
        free(c);
        return NULL;
    }
    /* No ember_conn_set_fd: the connection stays in memory mode and the socket ours. */
    if ((r = ember_conn_new(cfg, NULL, &c->conn)) != EMBER_OK) {
        report("creating connection", r, NULL);
        free(c);
        return NULL;
    }
    c->fd = fd;
    return c;
}

static void free_client(struct client *c)
{
    ember_conn_free(c->conn);
    close(c->fd);
    free(c);
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        { "listen", required_argument, NULL, 'l' },
        { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },
        { "tls12", no_argument, NULL, '2' },
        { "tls13", no_argument, NULL, '3' },
        { "max-conns", required_argument, NULL, 'm' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    char *listen_addr = NULL, *host, *port, *end;
    const char *cert = NULL, *key = NULL;
    uint16_t version = 0; /* 0: accept every version the library supports */
    unsigned long max_conns = 0; /* 0: serve forever */
    int opt;

    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'l': listen_addr = optarg; break;
        case 'c': cert = optarg; break;
        case 'k': key = optarg; break;
        case '2': version = EMBER_TLS1_2; break;
        case '3': version = EMBER_TLS1_3; break;
        case 'm':
            errno = 0;
            max_conns = strtoul(optarg, &end, 10);
            if (errno != 0 || *end != '\0' || optarg[0] == '-' || max_conns == 0) {
                usage(stderr);
                return EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind != argc || listen_addr == NULL || cert == NULL || key == NULL ||
        !split_host_port(listen_addr, &host, &port)) {
        usage(stderr);
        return EXIT_USAGE;
    }

    ember_config *cfg = NULL;
    ember_result r = ember_config_new(EMBER_ROLE_SERVER, &cfg);
    if (r != EMBER_OK) {
        report("creating config", r, NULL);
        return EXIT_ERROR;
    }
    if (version != 0 && (r = ember_config_set_versions(cfg, version, version)) != EMBER_OK) {
        report("setting versions", r, NULL);
        ember_config_free(cfg);
        return EXIT_ERROR;
    }
    if ((r = ember_config_add_cert_pem_file(cfg, cert, key)) != EMBER_OK) {
        char detail[512] = "";
        size_t n;
        ember_result e = ember_config_last_error(cfg, detail, sizeof detail, &n);
        fprintf(stderr, "embertls: loading certificate: %s: %s\n", ember_result_name(r),
                e == EMBER_OK || e == EMBER_ERR_BUFFER_TOO_SMALL ? detail : "");
        ember_config_free(cfg);
        return EXIT_ERROR;
    }

    int listener = listen_on(host, port);
    if (listener < 0) {
        ember_config_free(cfg);
        return EXIT_ERROR;
    }

    /* fds[0] is the listener, fds[i + 1] belongs to clients[i]. */
    struct client *clients[MAX_CLIENTS];
    struct pollfd fds[MAX_CLIENTS + 1];
    size_t nclients = 0;
    unsigned long accepted = 0, finished = 0;

    while (max_conns == 0 || finished < max_conns) {
        fds[0].fd = listener >= 0 && nclients < MAX_CLIENTS ? listener : -1;
        fds[0].events = POLLIN;
        for (size_t i = 0; i < nclients; i++) {
            fds[i + 1].fd = clients[i]->fd;
            fds[i + 1].events = wanted_events(clients[i]);
        }
        if (poll(fds, nclients + 1, -1) < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "embertls: poll: %s\n", strerror(errno));
            break;
        }

        for (size_t i = 0; i < nclients;) {
            struct client *c = clients[i];
            short revents = fds[i + 1].revents;
            bool alive = true;

            if (revents == 0) {
                i++;
                continue;
            }
            if ((revents & (POLLIN | POLLHUP | POLLERR)) && !c->finishing)
                alive = receive(c);
            if (alive)
                alive = service(c);
            if (alive) {
                i++;
                continue;
            }
            /* Done: move the last client into this slot and look at the slot again. */
            free_client(c);
            nclients--;
            clients[i] = clients[nclients];
            fds[i + 1] = fds[nclients + 1];
            finished++;
        }

        /* Take every client waiting in the backlog; the listener is non-blocking. */
        while ((fds[0].revents & POLLIN) && listener >= 0 && nclients < MAX_CLIENTS) {
            int fd = accept(listener, NULL, NULL);
            if (fd < 0) {
                if (errno == EINTR || errno == ECONNABORTED)
                    continue; /* that client already gave up; look for the next */
                if (errno != EAGAIN && errno != EWOULDBLOCK)
                    fprintf(stderr, "embertls: accept: %s\n", strerror(errno));
                break;
            }
            accepted++;
            struct client *c = new_client(fd, cfg);
            if (c != NULL) {
                /* Nothing to do until its ClientHello arrives: poll() will tell. */
                clients[nclients++] = c;
            } else {
                close(fd);
                finished++;
            }
            if (max_conns != 0 && accepted == max_conns) {
                /* Refuse further clients rather than leave them in the backlog. */
                close(listener);
                listener = -1;
            }
        }
    }

    while (nclients > 0)
        free_client(clients[--nclients]);
    if (listener >= 0)
        close(listener);
    ember_config_free(cfg);
    return max_conns != 0 && finished >= max_conns ? 0 : EXIT_ERROR;
}
