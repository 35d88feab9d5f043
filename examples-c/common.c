/*
 * common.c: see common.h. Everything here prints its own errors, so callers only decide
 * what to do next.
 */
#define _POSIX_C_SOURCE 200809L

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One fprintf per line: stderr is unbuffered, and a line built from several calls could
 * interleave with another thread's in server.c. */
void report(const char *what, ember_result r, const ember_conn *conn)
{
    char detail[512] = "";
    size_t n;

    if (conn != NULL) {
        ember_result e = ember_conn_last_error(conn, detail, sizeof detail, &n);
        /* A truncated detail is still worth printing. */
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

void print_summary(const ember_conn *conn, const char *extra)
{
    uint16_t version, suite, group;
    char sni[256];
    size_t n;

    /* On a server, a client that sent no SNI (e.g. one connecting to an IP address) shows
     * as "-". A client always has a name: ember_conn_new refuses an empty one. */
    if (ember_conn_server_name(conn, sni, sizeof sni, &n) != EMBER_OK || n == 0)
        strcpy(sni, "-");
    fprintf(stderr, "embertls: version=%s suite=%s group=%s server_name=%s%s\n",
            or_dash(ember_conn_protocol_version(conn, &version) == EMBER_OK
                        ? ember_protocol_version_name(version) : NULL),
            or_dash(ember_conn_cipher_suite(conn, &suite) == EMBER_OK
                        ? ember_cipher_suite_name(suite) : NULL),
            or_dash(ember_conn_kx_group(conn, &group) == EMBER_OK
                        ? ember_group_name(group) : NULL),
            sni, extra);
}

ember_config *new_config(ember_role role, uint16_t version)
{
    ember_config *cfg = NULL;
    ember_result r = ember_config_new(role, &cfg);

    if (r != EMBER_OK) {
        report("creating config", r, NULL);
        return NULL;
    }
    if (version != 0 && (r = ember_config_set_versions(cfg, version, version)) != EMBER_OK) {
        report("setting versions", r, NULL);
        ember_config_free(cfg);
        return NULL;
    }
    return cfg;
}

bool split_host_port(char *s, char **host, char **port)
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

bool set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

static void server_usage(const char *prog, FILE *to)
{
    fprintf(to, "usage: %s --listen ADDR:PORT --cert FILE --key FILE [--tls12|--tls13] "
                "[--max-conns N]\n", prog);
}

/* A server config with the certificate chain and key loaded; NULL after printing why. */
static ember_config *server_config(const char *cert, const char *key, uint16_t version)
{
    ember_config *cfg = new_config(EMBER_ROLE_SERVER, version);
    ember_result r;

    if (cfg == NULL)
        return NULL;
    if ((r = ember_config_add_cert_pem_file(cfg, cert, key)) != EMBER_OK) {
        /* The detail is on the config, not on a connection, so report() cannot fetch it. */
        char detail[512] = "";
        size_t n;
        ember_result e = ember_config_last_error(cfg, detail, sizeof detail, &n);
        fprintf(stderr, "embertls: loading certificate: %s: %s\n", ember_result_name(r),
                e == EMBER_OK || e == EMBER_ERR_BUFFER_TOO_SMALL ? detail : "");
        ember_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* Binds, listens and prints "listening on ADDR:PORT" with the port the OS chose when
 * PORT is 0, which is how tests find us. Returns the socket, or -1 after printing why. */
static int listen_on(const char *host, const char *port, bool nonblocking)
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
    /* SO_REUSEADDR lets a restarted server bind while old connections are in TIME_WAIT.
     * A listener that cannot be made non-blocking is as useless to poll_server as one
     * that cannot bind, so it fails the same way, before the line below announces it. */
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0 ||
        bind(fd, addrs->ai_addr, addrs->ai_addrlen) < 0 || listen(fd, 64) < 0 ||
        (nonblocking && !set_nonblocking(fd))) {
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

bool start_server(const char *prog, int argc, char **argv, bool nonblocking,
                  struct server_start *out, int *exit_status)
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
    uint16_t version = 0;
    unsigned long max_conns = 0;
    int opt;

    *exit_status = EXIT_USAGE;
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
            /* strtoul accepts "-1" as ULONG_MAX, and 0 would mean "forever": refuse both
             * rather than serve a count nobody asked for. */
            if (errno != 0 || *end != '\0' || optarg[0] == '-' || max_conns == 0) {
                server_usage(prog, stderr);
                return false;
            }
            break;
        case 'h':
            server_usage(prog, stdout);
            *exit_status = 0;
            return false;
        default: server_usage(prog, stderr); return false;
        }
    }
    if (optind != argc || listen_addr == NULL || cert == NULL || key == NULL ||
        !split_host_port(listen_addr, &host, &port)) {
        server_usage(prog, stderr);
        return false;
    }

    *exit_status = EXIT_ERROR;
    /* The certificate is checked before binding, so a bad one never shows a
     * "listening on" line that a client could act on. */
    ember_config *cfg = server_config(cert, key, version);
    if (cfg == NULL)
        return false;
    int listener = listen_on(host, port, nonblocking);
    if (listener < 0) {
        ember_config_free(cfg);
        return false;
    }
    out->cfg = cfg;
    out->listener = listener;
    out->max_conns = max_conns;
    return true;
}
