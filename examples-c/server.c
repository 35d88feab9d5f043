/*
 * server: a TLS echo server with one thread per client and blocking sockets.
 *
 *   server --listen ADDR:PORT --cert FILE --key FILE [--tls12|--tls13] [--max-conns N]
 *
 * This is the simplest way to use embertls: hand the connection a blocking socket with
 * ember_conn_set_fd and every call either completes or fails; WANT_READ / WANT_WRITE never
 * appear. One config serves every thread: once a connection has been made from it, a
 * config is immutable and safe to share.
 *
 * Exit status: 0 after --max-conns connections ended, 2 usage error, 3 setup error.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "embertls.h"

enum { EXIT_USAGE = 2, EXIT_ERROR = 3 };

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

static void usage(FILE *to)
{
    fprintf(to, "usage: server --listen ADDR:PORT --cert FILE --key FILE [--tls12|--tls13] "
                "[--max-conns N]\n");
}

/* Prints "embertls: WHAT: EMBER_ERR_...: detail" as one fprintf, so lines from
 * different threads never interleave. */
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

        print_summary(conn);
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
        bind(fd, addrs->ai_addr, addrs->ai_addrlen) < 0 || listen(fd, 64) < 0) {
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

    unsigned long accepted = 0;
    while (max_conns == 0 || accepted < max_conns) {
        int fd = accept(listener, NULL, NULL);
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
            job->cfg = cfg;
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
    close(listener);

    pthread_mutex_lock(&finished.lock);
    while (finished.count < accepted)
        pthread_cond_wait(&finished.changed, &finished.lock);
    pthread_mutex_unlock(&finished.lock);

    ember_config_free(cfg);
    return max_conns != 0 && accepted == max_conns ? 0 : EXIT_ERROR;
}
