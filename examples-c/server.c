/*
 * server: a TLS echo server with one thread per client and blocking sockets.
 *
 *   server --listen ADDR:PORT --cert FILE --key FILE [--tls12|--tls13] [--max-conns N]
 *          [--client-ca FILE [--crl FILE]... [--client-auth optional|required]]
 *
 * This is the simplest way to use embertls: hand the connection a blocking socket with
 * ember_conn_set_fd and every call either completes or fails; WANT_READ / WANT_WRITE never
 * appear. One config serves every thread: once a connection has been made from it, a
 * config is immutable and safe to share.
 *
 * With --client-ca the server asks every client for a certificate (mutual TLS) and verifies
 * it against those roots and the --crl lists: a client without one, or with one that does
 * not verify, fails the handshake (reported here, e.g. EMBER_ERR_CERT_REQUIRED). Each
 * connection's summary line then ends with client_certs=N, the length of the chain the
 * client presented. The options and the config are set up in common.c (start_server).
 *
 * Exit status: 0 after --max-conns connections ended, 2 usage error, 3 setup error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

/* Finished connections, so main can wait for --max-conns of them before exiting. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned long count;
} finished = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0 };

struct job {
    const ember_config *cfg;
    int fd;
};

/* Echoes one client until its close_notify, then closes our side. */
static void echo(const ember_config *cfg, int fd)
{
    ember_conn *conn = NULL;
    ember_result r = ember_conn_new(cfg, NULL, &conn);

    if (r != EMBER_OK) {
        report("creating connection", r, NULL);
        return;
    }
    if ((r = ember_conn_set_fd(conn, fd)) != EMBER_OK) {
        report("attaching socket", r, conn);
    } else if ((r = ember_conn_handshake(conn)) != EMBER_OK) {
        report("handshake failed", r, conn);
    } else {
        uint8_t buf[16384];
        size_t n, written;

        print_server_summary(conn);
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

    echo(job->cfg, job->fd);
    close(job->fd);
    free(job);
    /* Last thing this thread does: once counted, main may free the config and exit. */
    count_finished();
    return NULL;
}

int main(int argc, char **argv)
{
    struct server_start srv;
    int status;

    /* A blocking listener: this thread does nothing but wait in accept(). */
    if (!start_server("server", argc, argv, false, &srv, &status))
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

        pthread_t thread;
        struct job *job = malloc(sizeof *job);
        if (job != NULL) {
            job->cfg = srv.cfg;
            job->fd = fd;
        }
        /* Detached: nobody joins; main learns of the end through `finished`. */
        if (job == NULL || pthread_create(&thread, NULL, serve, job) != 0) {
            fprintf(stderr, "embertls: cannot start a thread for a new client\n");
            free(job);
            close(fd);
            count_finished();
            continue;
        }
        pthread_detach(thread);
    }
    /* Refuse further clients rather than leave them hanging in the backlog. */
    close(srv.listener);

    pthread_mutex_lock(&finished.lock);
    while (finished.count < accepted)
        pthread_cond_wait(&finished.changed, &finished.lock);
    pthread_mutex_unlock(&finished.lock);

    ember_config_free(srv.cfg);
    return srv.max_conns != 0 && accepted == srv.max_conns ? 0 : EXIT_ERROR;
}
