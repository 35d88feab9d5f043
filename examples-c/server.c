/*
 * server: a TLS echo server with one thread per client and blocking sockets, or with
 * --fork one process per client.
 *
 *   server --listen ADDR:PORT --cert FILE --key FILE [--cert FILE --key FILE]...
 *          [--tls12|--tls13] [--max-conns N] [--fork] [--alpn LIST]
 *          [--ticket-key-file FILE|--no-tickets] [--trace] [--keylog FILE]
 *          [--export LABEL:LEN] [--client-ca FILE [--crl FILE]...
 *          [--client-auth optional|required]]
 *
 * This is the simplest way to use embertls: hand the connection a blocking socket with
 * ember_conn_set_fd and every call either completes or fails; WANT_READ / WANT_WRITE never
 * appear. One config serves every thread: once a connection has been made from it, a
 * config is immutable and safe to share.
 *
 * --fork serves each client in a child process instead, forked after the config was made
 * as pre-fork servers (nginx, Apache's prefork) do. The session-ticket keys are drawn in
 * ember_config_new(), before any fork, so every child seals and opens tickets with the
 * same keys: a client whose first connection went to one child resumes its session in
 * another. What a child learns after the fork stays in that child, though: with
 * --no-tickets, sessions live in each child's own memory and a client served by a sibling
 * next time does a full handshake. Across machines (or unrelated processes), give every
 * server the same --ticket-key-file.
 *
 * Several --cert/--key pairs make one server for several names: the certificate whose
 * names match the client's SNI is presented, the first one otherwise.
 *
 * With --client-ca the server asks every client for a certificate (mutual TLS) and verifies
 * it against those roots and the --crl lists: a client without one, or with one that does
 * not verify, fails the handshake (reported here, e.g. EMBER_ERR_CERT_REQUIRED). Each
 * connection's summary line then shows client_certs=N, the length of the chain the
 * client presented. The options and the config are set up in common.c (start_server).
 *
 * Exit status: 0 after --max-conns connections ended, 2 usage error, 3 setup error. A
 * handshake or echo that fails is reported and is no reason to stop: it does not change the
 * status. With --fork, a child exits 3 when it could not even set its connection up, and
 * the server exits 3 when any child exited other than with 0 (or was killed by a signal),
 * after saying which.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* Finished connections, so main can wait for --max-conns of them before exiting. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned long count;
} finished = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

struct job {
    const struct server_start *srv;
    int fd;
};

/* Echoes one client until its close_notify, then closes our side. Returns 0, or EXIT_ERROR
 * when the connection could not even be set up; what the client does wrong (a failed
 * handshake, a reset) is reported and is not our failure. */
static int echo(const struct server_start *srv, int fd)
{
    ember_conn *conn = NULL;
    ember_result r = ember_conn_new(srv->cfg, NULL, &conn);

    if (r != EMBER_OK) {
        report("creating connection", r, NULL);
        return EXIT_ERROR;
    }
    if ((r = ember_conn_set_fd(conn, fd)) != EMBER_OK) {
        report("attaching socket", r, conn);
        ember_conn_free(conn);
        return EXIT_ERROR;
    }
    if ((r = ember_conn_handshake(conn)) != EMBER_OK) {
        report("handshake failed", r, conn);
    } else {
        uint8_t buf[16384];
        size_t n, written;

        print_server_summary(conn, &srv->observe);
        /* Blocking mode: read waits for data, write sends all of it before returning. */
        while ((r = ember_conn_read(conn, buf, sizeof buf, &n)) == EMBER_OK) {
            if ((r = ember_conn_write(conn, buf, n, &written)) != EMBER_OK)
                break;
        }
        if (r == EMBER_CLOSED) {
            /* The client said goodbye cleanly: answer with our close_notify. */
            if ((r = ember_conn_close(conn)) != EMBER_OK)
                report("close failed", r, conn);
        } else {
            report("echo failed", r, conn);
        }
    }
    ember_conn_free(conn);
    return 0;
}

static void count_finished(void)
{
    pthread_mutex_lock(&finished.lock);
    finished.count++;
    pthread_cond_signal(&finished.changed);
    pthread_mutex_unlock(&finished.lock);
}

static void *serve(void *arg)
{
    struct job *job = arg;

    (void)echo(job->srv, job->fd);
    close(job->fd);
    free(job);
    /* Last thing this thread does: once counted, main may free the config and exit. */
    count_finished();
    return NULL;
}

/* Serves `fd` on a thread of its own. */
static void serve_in_thread(const struct server_start *srv, int fd)
{
    pthread_t thread;
    struct job *job = malloc(sizeof *job);

    if (job != NULL) {
        job->srv = srv;
        job->fd = fd;
    }
    /* Detached: nobody joins; main learns of the end through `finished`. */
    if (job == NULL || pthread_create(&thread, NULL, serve, job) != 0) {
        fprintf(stderr, "embertls: cannot start a thread for a new client\n");
        free(job);
        close(fd);
        count_finished();
        return;
    }
    pthread_detach(thread);
}

/* --fork: the children still running, and whether any has failed. */
static unsigned long children;
static bool child_failed;

/* Serves `fd` in a child process. The child inherits the config, ticket keys included,
 * as it was when the server started: nothing it learns (sessions in its memory) comes
 * back to the parent or reaches its siblings. */
static void serve_in_child(struct server_start *srv, int fd)
{
    pid_t pid = fork();

    if (pid == 0) {
        /* The child serves this client only: the listener is the parent's business. */
        close(srv->listener);
        int status = echo(srv, fd);
        close(fd);
        ember_config_free(srv->cfg);
        exit(status);
    }
    if (pid < 0) {
        fprintf(stderr, "embertls: fork: %s\n", strerror(errno));
        child_failed = true;
    } else {
        children++;
    }
    /* The child has its own copy of the socket. */
    close(fd);
}

/* Collects the children that have exited (all of them, waiting, with `block`), noting a
 * failure for any that did not exit with 0. */
static void reap_children(bool block)
{
    while (children > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, block ? 0 : WNOHANG);
        if (pid == 0)
            return; /* none has exited yet */
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            fprintf(stderr, "embertls: waitpid: %s\n", strerror(errno));
            child_failed = true;
            return;
        }
        children--;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        child_failed = true;
        if (WIFSIGNALED(status))
            fprintf(stderr, "embertls: worker %ld killed by signal %d\n", (long)pid,
                    WTERMSIG(status));
        else
            fprintf(stderr, "embertls: worker %ld exited with status %d\n", (long)pid,
                    WEXITSTATUS(status));
    }
}

int main(int argc, char **argv)
{
    struct server_start srv;
    int status;

    /* A blocking listener: this thread does nothing but wait in accept(). */
    if (!start_server("server", argc, argv, false, true, &srv, &status))
        return status;

    unsigned long accepted = 0;
    while (srv.max_conns == 0 || accepted < srv.max_conns) {
        int fd = accept(srv.listener, NULL, NULL);
        if (fd < 0) {
            /* A client that gave up before we accepted it is no reason to stop. */
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            fprintf(stderr, "embertls: accept: %s\n", strerror(errno));
            break;
        }
        accepted++;
        if (srv.fork) {
            serve_in_child(&srv, fd);
            /* No zombies pile up while we serve forever. */
            reap_children(false);
        } else {
            serve_in_thread(&srv, fd);
        }
    }
    /* Refuse further clients rather than leave them hanging in the backlog. */
    close(srv.listener);

    if (srv.fork) {
        reap_children(true);
    } else {
        pthread_mutex_lock(&finished.lock);
        while (finished.count < accepted)
            pthread_cond_wait(&finished.changed, &finished.lock);
        pthread_mutex_unlock(&finished.lock);
    }

    ember_config_free(srv.cfg);
    return srv.max_conns != 0 && accepted == srv.max_conns && !child_failed ? 0 : EXIT_ERROR;
}
