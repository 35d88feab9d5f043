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

/* The three last-error functions share one signature but for the object's type. */
typedef ember_result (*last_error_fn)(const void *obj, char *buf, size_t len, size_t *out_n);

static ember_result conn_error(const void *o, char *b, size_t l, size_t *n)
{
    return ember_conn_last_error(o, b, l, n);
}

static ember_result config_error(const void *o, char *b, size_t l, size_t *n)
{
    return ember_config_last_error(o, b, l, n);
}

static ember_result trust_error(const void *o, char *b, size_t l, size_t *n)
{
    return ember_trust_last_error(o, b, l, n);
}

/* Prints "embertls: WHAT: NAME: detail", the detail being obj's last error (the generic
 * sentence when there is none). One fprintf per line: stderr is unbuffered, and a line built
 * from several calls could interleave with another thread's in server.c. */
static void report_from(const char *what, ember_result r, last_error_fn last_error,
                        const void *obj)
{
    char detail[512] = "";
    size_t n;

    if (obj != NULL) {
        ember_result e = last_error(obj, detail, sizeof detail, &n);
        /* A truncated detail is still worth printing. */
        if (e != EMBER_OK && e != EMBER_ERR_BUFFER_TOO_SMALL)
            detail[0] = '\0';
    }
    fprintf(stderr, "embertls: %s: %s: %s\n", what, ember_result_name(r),
            detail[0] != '\0' ? detail : ember_result_str(r));
}

void report(const char *what, ember_result r, const ember_conn *conn)
{
    report_from(what, r, conn_error, conn);
}

void report_config(const char *what, ember_result r, const ember_config *cfg)
{
    report_from(what, r, config_error, cfg);
}

/* As report(), for a failure whose detail is on a trust store (a file that is not PEM...). */
static void report_trust(const char *what, ember_result r, const ember_trust *trust)
{
    report_from(what, r, trust_error, trust);
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

void print_server_summary(const ember_conn *conn)
{
    char extra[32] = "";
    size_t n;

    /* Known only when the client presented a certificate and it was verified: not without
     * --client-ca, nor for a client that sent none under --client-auth optional. */
    if (ember_conn_peer_cert_count(conn, &n) == EMBER_OK)
        snprintf(extra, sizeof extra, " client_certs=%zu", n);
    print_summary(conn, extra);
}

bool add_repeated(struct repeated *list, const char *option, const char *value)
{
    if (list->count == MAX_REPEATED) {
        fprintf(stderr, "embertls: at most %d %s options\n", MAX_REPEATED, option);
        return false;
    }
    list->values[list->count++] = value;
    return true;
}

ember_trust *load_trust(const char *ca_file, const struct repeated *crls)
{
    ember_trust *trust = NULL;
    ember_result r = ember_trust_new(&trust);
    char what[512];

    if (r != EMBER_OK) {
        report("creating trust store", r, NULL);
        return NULL;
    }
    /* All or nothing: a file with one bad certificate adds none, rather than leave us
     * trusting less than the file says. */
    if ((r = ember_trust_add_pem_file(trust, ca_file)) != EMBER_OK) {
        snprintf(what, sizeof what, "loading %s", ca_file);
        report_trust(what, r, trust);
        ember_trust_free(trust);
        return NULL;
    }
    /* With CRLs in the store, every certificate below the root must be covered by a
     * current CRL from its issuer (ember_trust_set_revocation() can relax that). */
    for (size_t i = 0; i < crls->count; i++) {
        if ((r = ember_trust_add_crl_file(trust, crls->values[i])) != EMBER_OK) {
            snprintf(what, sizeof what, "loading CRLs from %s", crls->values[i]);
            report_trust(what, r, trust);
            ember_trust_free(trust);
            return NULL;
        }
    }
    return trust;
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

/* The synopsis; with `explain` (--help) what each option does too. */
static void server_usage(const char *prog, FILE *to, bool explain)
{
    fprintf(to,
            "usage: %s --listen ADDR:PORT --cert FILE --key FILE [--tls12|--tls13]\n"
            "       [--max-conns N] [--client-ca FILE [--crl FILE]...\n"
            "       [--client-auth optional|required]]\n", prog);
    if (!explain) {
        fprintf(to, "(%s --help explains the options)\n", prog);
        return;
    }
    fprintf(to,
            "  --listen ADDR:PORT\n"
            "                   where to listen; port 0 lets the OS choose (printed on stdout)\n"
            "  --cert, --key    this server's certificate chain (PEM, leaf first) and key\n"
            "  --tls12, --tls13 allow only that protocol version (default: both)\n"
            "  --max-conns N    exit after N connections (default: serve forever)\n"
            "  --client-ca FILE ask clients for a certificate and verify it against the roots\n"
            "                   in FILE (PEM); required unless --client-auth optional\n"
            "  --crl FILE       CRLs (PEM or DER) for --client-ca; may be repeated\n"
            "  --client-auth optional|required\n"
            "                   optional: a client without a certificate is let in too\n");
}

/* What the command line asks of the server's config. */
struct server_options {
    const char *cert, *key;
    uint16_t version;
    const char *client_ca;      /* NULL: clients are not asked for a certificate */
    struct repeated crls;
    ember_client_auth client_auth;
};

/* A server config with the certificate chain and key loaded and, with --client-ca, the
 * trust store client certificates are verified against; NULL after printing why. */
static ember_config *server_config(const struct server_options *o)
{
    ember_config *cfg = new_config(EMBER_ROLE_SERVER, o->version);
    ember_result r;

    if (cfg == NULL)
        return NULL;
    if ((r = ember_config_add_cert_pem_file(cfg, o->cert, o->key)) != EMBER_OK) {
        /* The detail is on the config, not on a connection, so report() cannot fetch it. */
        report_config("loading certificate", r, cfg);
        ember_config_free(cfg);
        return NULL;
    }
    if (o->client_ca != NULL) {
        /* A trust store on a server config switches client authentication on. */
        ember_trust *trust = load_trust(o->client_ca, &o->crls);
        if (trust == NULL) {
            ember_config_free(cfg);
            return NULL;
        }
        r = ember_config_set_trust(cfg, trust);
        /* The config keeps its own reference to the store. */
        ember_trust_free(trust);
        if (r == EMBER_OK)
            r = ember_config_set_client_auth(cfg, o->client_auth);
        if (r != EMBER_OK) {
            report_config("setting client authentication", r, cfg);
            ember_config_free(cfg);
            return NULL;
        }
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
        { "client-ca", required_argument, NULL, 'A' },
        { "crl", required_argument, NULL, 'R' },
        { "client-auth", required_argument, NULL, 'M' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct server_options o = { .client_auth = EMBER_CLIENT_AUTH_REQUIRED };
    char *listen_addr = NULL, *host, *port, *end;
    bool client_auth_given = false;
    unsigned long max_conns = 0;
    int opt;

    *exit_status = EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'l': listen_addr = optarg; break;
        case 'c': o.cert = optarg; break;
        case 'k': o.key = optarg; break;
        case '2': o.version = EMBER_TLS1_2; break;
        case '3': o.version = EMBER_TLS1_3; break;
        case 'A': o.client_ca = optarg; break;
        case 'R':
            if (!add_repeated(&o.crls, "--crl", optarg))
                return false;
            break;
        case 'M':
            client_auth_given = true;
            if (strcmp(optarg, "required") == 0) {
                o.client_auth = EMBER_CLIENT_AUTH_REQUIRED;
            } else if (strcmp(optarg, "optional") == 0) {
                o.client_auth = EMBER_CLIENT_AUTH_OPTIONAL;
            } else {
                server_usage(prog, stderr, false);
                return false;
            }
            break;
        case 'm':
            errno = 0;
            max_conns = strtoul(optarg, &end, 10);
            /* strtoul accepts "-1" as ULONG_MAX, and 0 would mean "forever": refuse both
             * rather than serve a count nobody asked for. */
            if (errno != 0 || *end != '\0' || optarg[0] == '-' || max_conns == 0) {
                server_usage(prog, stderr, false);
                return false;
            }
            break;
        case 'h':
            server_usage(prog, stdout, true);
            *exit_status = 0;
            return false;
        default: server_usage(prog, stderr, false); return false;
        }
    }
    /* CRLs and a client-auth mode mean something only for client certificates. */
    if (optind != argc || listen_addr == NULL || o.cert == NULL || o.key == NULL ||
        (o.client_ca == NULL && (o.crls.count > 0 || client_auth_given)) ||
        !split_host_port(listen_addr, &host, &port)) {
        server_usage(prog, stderr, false);
        return false;
    }

    *exit_status = EXIT_ERROR;
    /* The certificate and trust store are checked before binding, so a bad one never
     * shows a "listening on" line that a client could act on. */
    ember_config *cfg = server_config(&o);
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
