/*
 * poll_server: the echo server of server.c, written for an event loop.
 *
 *   poll_server --listen ADDR:PORT --cert FILE --key FILE [--cert FILE --key FILE]...
 *               [--tls12|--tls13] [--max-conns N] [--alpn LIST]
 *               [--ticket-key-file FILE|--no-tickets] [--trace] [--keylog FILE]
 *               [--export LABEL:LEN] [--client-ca FILE [--crl FILE]...
 *               [--client-auth optional|required]]
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
 * The options are server.c's (common.c parses them for both), but for --fork: here one
 * process serves everyone. The trace and key-log callbacks run inside the calls of step 2
 * (and of step 1: feeding bytes may complete a step), on this one thread.
 *
 * Exit status: 0 after --max-conns connections ended, 2 usage error, 3 setup error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

/* At this many clients we stop accepting until one leaves. */
#define MAX_CLIENTS 256

/* Every buffer below has a fixed size; when one is full we stop filling it (no POLLIN,
 * no ember_conn_read) until the next stage has taken some. That back-pressure keeps
 * memory bounded when a client sends faster than it reads. */
struct client {
    int fd;
    ember_conn *conn;
    const struct observe *observe; /* what the summary line shows */
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
        print_server_summary(c->conn, c->observe);
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

/* Wraps a freshly accepted socket; NULL after printing why it could not be set up. */
static struct client *new_client(int fd, const struct server_start *srv)
{
    struct client *c = calloc(1, sizeof *c);
    ember_result r;

    if (c == NULL || !set_nonblocking(fd)) {
        fprintf(stderr, "embertls: cannot set up a new client\n");
        free(c);
        return NULL;
    }
    /* No ember_conn_set_fd: the connection stays in memory mode and the socket ours. */
    if ((r = ember_conn_new(srv->cfg, NULL, &c->conn)) != EMBER_OK) {
        report("creating connection", r, NULL);
        free(c);
        return NULL;
    }
    c->fd = fd;
    c->observe = &srv->observe;
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
    struct server_start srv;
    int status;

    /* A non-blocking listener: accept() must never stall the one thread that serves
     * every client. */
    if (!start_server("poll_server", argc, argv, true, false, &srv, &status))
        return status;
    int listener = srv.listener; /* -1 once --max-conns clients have been accepted */

    /* fds[0] is the listener, fds[i + 1] belongs to clients[i]. */
    struct client *clients[MAX_CLIENTS];
    struct pollfd fds[MAX_CLIENTS + 1];
    size_t nclients = 0;
    unsigned long accepted = 0, finished = 0;

    while (srv.max_conns == 0 || finished < srv.max_conns) {
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
            struct client *c = new_client(fd, &srv);
            if (c != NULL) {
                /* Nothing to do until its ClientHello arrives: poll() will tell. */
                clients[nclients++] = c;
            } else {
                close(fd);
                finished++;
            }
            if (srv.max_conns != 0 && accepted == srv.max_conns) {
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
    ember_config_free(srv.cfg);
    return srv.max_conns != 0 && finished >= srv.max_conns ? 0 : EXIT_ERROR;
}
