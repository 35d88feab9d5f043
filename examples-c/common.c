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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
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

/* " alpn=... resumed=...[ exporter=...]": what --alpn and --export ask the summary to
 * show, and whether the session was resumed, appended to `buf` (`size` bytes in all). */
static void append_session_fields(ember_conn *conn, const struct observe *o, char *buf,
                                  size_t size)
{
    char alpn[256];
    size_t n, used = strlen(buf);
    int resumed = 0;

    /* EMBER_ERR_WRONG_STATE: no protocol was agreed (one side offered none). */
    if (ember_conn_alpn(conn, alpn, sizeof alpn, &n) != EMBER_OK)
        strcpy(alpn, "-");
    (void)ember_conn_is_resumed(conn, &resumed);
    used += (size_t)snprintf(buf + used, size - used, " alpn=%s resumed=%s", alpn,
                             resumed ? "yes" : "no");
    if (o->export_label == NULL || used >= size)
        return;

    /* Both peers derive the same bytes from the same label (no context here): an
     * application protocol can bind itself to this TLS session with them. */
    uint8_t material[MAX_EXPORT];
    ember_result r = ember_conn_export_keying_material(
        conn, (const uint8_t *)o->export_label, strlen(o->export_label), NULL, 0, material,
        o->export_len);
    if (r != EMBER_OK) {
        report("exporting keying material", r, conn);
        snprintf(buf + used, size - used, " exporter=-");
        return;
    }
    used += (size_t)snprintf(buf + used, size - used, " exporter=");
    for (size_t i = 0; i < o->export_len && used + 2 < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%02x", material[i]);
}

void print_summary(ember_conn *conn, const char *extra, const struct observe *o)
{
    uint16_t version, suite, group;
    char sni[256], fields[512];
    size_t n;

    /* On a server, a client that sent no SNI (e.g. one connecting to an IP address) shows
     * as "-". A client always has a name: ember_conn_new refuses an empty one. */
    if (ember_conn_server_name(conn, sni, sizeof sni, &n) != EMBER_OK || n == 0)
        strcpy(sni, "-");
    snprintf(fields, sizeof fields, "%s", extra);
    append_session_fields(conn, o, fields, sizeof fields);
    fprintf(stderr, "embertls: version=%s suite=%s group=%s server_name=%s%s\n",
            or_dash(ember_conn_protocol_version(conn, &version) == EMBER_OK
                        ? ember_protocol_version_name(version) : NULL),
            or_dash(ember_conn_cipher_suite(conn, &suite) == EMBER_OK
                        ? ember_cipher_suite_name(suite) : NULL),
            or_dash(ember_conn_kx_group(conn, &group) == EMBER_OK
                        ? ember_group_name(group) : NULL),
            sni, fields);
}

void print_server_summary(ember_conn *conn, const struct observe *o)
{
    char extra[32] = "";
    size_t n;

    /* Known only when the client presented a certificate and it was verified: not without
     * --client-ca, nor for a client that sent none under --client-auth optional. */
    if (ember_conn_peer_cert_count(conn, &n) == EMBER_OK)
        snprintf(extra, sizeof extra, " client_certs=%zu", n);
    print_summary(conn, extra, o);
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

bool split_list(struct repeated *list, const char *option, char *value)
{
    for (;;) {
        char *comma = strchr(value, ',');
        if (comma != NULL)
            *comma = '\0';
        if (!add_repeated(list, option, value))
            return false;
        if (comma == NULL)
            return true;
        value = comma + 1;
    }
}

bool parse_export(char *value, struct observe *o)
{
    /* The last colon: a label may hold colons itself. */
    char *colon = strrchr(value, ':'), *end;
    unsigned long len = 0;

    if (colon != NULL) {
        errno = 0;
        len = strtoul(colon + 1, &end, 10);
        if (errno != 0 || *end != '\0' || colon[1] == '\0' || colon[1] == '-')
            len = 0;
    }
    if (colon == NULL || colon == value || len == 0 || len > MAX_EXPORT) {
        fprintf(stderr, "embertls: --export %s: expected LABEL:LEN, LEN from 1 to %d\n",
                value, MAX_EXPORT);
        return false;
    }
    *colon = '\0';
    o->export_label = value;
    o->export_len = len;
    return true;
}

/* ------------------------------------------------------------------------------------
 * --trace: the handshake as a timeline
 *
 * embertls calls the trace callback at each step, as the step happens, with the
 * connection's id and a monotonic time in nanoseconds. Each line says how long after the
 * connection's first event the step came:
 *   embertls: trace +0.412 ms SERVER_HELLO_RECEIVED TLSv1.3 TLS_AES_256_GCM_SHA384
 * The callback runs on whichever thread drives the connection (server.c has one per
 * client), so the first times are kept under a lock. A few slots are enough: a slot is
 * looked up only during its connection's handshake, and the oldest is reused; with more
 * handshakes in flight at once than slots, a reused connection's times restart at 0.
 * ------------------------------------------------------------------------------------ */

#define TRACE_SLOTS 64

static struct {
    pthread_mutex_t lock;
    struct { uint64_t conn_id, first_ns; } slot[TRACE_SLOTS]; /* conn_id 0: free */
    size_t next;
} traced = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* The ember_trace_cb. `text` is borrowed for the call only. */
static void print_trace(void *userdata, uint64_t conn_id, uint64_t time_ns,
                        ember_trace_step step, const char *text)
{
    uint64_t first_ns = time_ns;
    size_t i;

    (void)userdata;
    pthread_mutex_lock(&traced.lock);
    for (i = 0; i < TRACE_SLOTS && traced.slot[i].conn_id != conn_id; i++)
        ;
    if (i < TRACE_SLOTS) {
        first_ns = traced.slot[i].first_ns;
    } else {
        /* This connection's first event (ids count from 1, so 0 never matches). */
        i = traced.next++ % TRACE_SLOTS;
        traced.slot[i].conn_id = conn_id;
        traced.slot[i].first_ns = time_ns;
    }
    pthread_mutex_unlock(&traced.lock);

    const char *name = ember_trace_step_name(step);
    /* One fprintf per line, so lines from several threads do not mix. */
    fprintf(stderr, "embertls: trace +%.3f ms %s %s\n", (double)(time_ns - first_ns) / 1e6,
            name != NULL ? name : "UNKNOWN_STEP", text);
}

/* --keylog: the ember_keylog_cb. Each line goes out in one write to a file opened with
 * O_APPEND, which keeps lines whole even when several threads (server.c) or processes
 * (server.c --fork, another program logging to the same file) append at once. */
static void append_keylog(void *userdata, const char *line)
{
    const int *fd = userdata;
    struct iovec parts[2] = {
        { .iov_base = (void *)line, .iov_len = strlen(line) },
        { .iov_base = (void *)"\n", .iov_len = 1 },
    };

    /* A key log is a debugging aid: a failed write must not fail the connection. */
    (void)!writev(*fd, parts, 2);
}

bool observe_config(ember_config *cfg, struct observe *o)
{
    ember_result r;

    /* Offered (client) or accepted (server) most preferred first. */
    if (o->alpn.count > 0 &&
        (r = ember_config_set_alpn(cfg, o->alpn.values, o->alpn.count)) != EMBER_OK) {
        report_config("setting ALPN", r, cfg);
        return false;
    }
    if (o->trace && (r = ember_config_set_trace_callback(cfg, print_trace, NULL)) != EMBER_OK) {
        report_config("setting the trace callback", r, cfg);
        return false;
    }
    if (o->keylog != NULL) {
        /* 0600: the file will hold the keys to the traffic. */
        o->keylog_fd = open(o->keylog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (o->keylog_fd < 0) {
            fprintf(stderr, "embertls: open %s: %s\n", o->keylog, strerror(errno));
            return false;
        }
        r = ember_config_set_keylog_callback(cfg, append_keylog, &o->keylog_fd);
        if (r != EMBER_OK) {
            report_config("setting the key-log callback", r, cfg);
            return false;
        }
    }
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

/* The synopsis; with `explain` (--help) what each option does too. `can_fork`: server.c,
 * which has --fork; poll_server serves every client from one thread and has not. */
static void server_usage(const char *prog, bool can_fork, FILE *to, bool explain)
{
    fprintf(to,
            "usage: %s --listen ADDR:PORT --cert FILE --key FILE [--cert FILE --key FILE]...\n"
            "       [--tls12|--tls13] [--max-conns N]%s [--alpn LIST]\n"
            "       [--ticket-key-file FILE|--no-tickets] [--trace] [--keylog FILE]\n"
            "       [--export LABEL:LEN] [--client-ca FILE [--crl FILE]...\n"
            "       [--client-auth optional|required]]\n", prog, can_fork ? " [--fork]" : "");
    if (!explain) {
        fprintf(to, "(%s --help explains the options)\n", prog);
        return;
    }
    fprintf(to,
            "  --listen ADDR:PORT\n"
            "                   where to listen; port 0 lets the OS choose (printed on stdout)\n"
            "  --cert, --key    this server's certificate chain (PEM, leaf first) and key.\n"
            "                   Repeat the pair for several sites: the certificate whose\n"
            "                   names match the name the client asks for (SNI) is presented,\n"
            "                   the first one when none matches or the client sends no name\n"
            "  --tls12, --tls13 allow only that protocol version (default: both)\n"
            "  --max-conns N    exit after N connections (default: serve forever)\n");
    if (can_fork)
        fprintf(to,
                "  --fork           serve each connection in a child process, forked after the\n"
                "                   config was made (as pre-fork servers do): the children share\n"
                "                   its session-ticket keys, so they resume each other's sessions\n");
    fprintf(to,
            "  --alpn LIST      the application protocols accepted (ALPN), comma-separated, most\n"
            "                   preferred first, e.g. h2,http/1.1; a client offering protocols\n"
            "                   but none of these is refused (no_application_protocol)\n"
            "  --ticket-key-file FILE\n"
            "                   seal and open session tickets with the 80-byte keys in FILE\n"
            "                   (openssl rand 80 > FILE; the first key seals): servers given\n"
            "                   the same file resume each other's sessions\n"
            "  --no-tickets     no session tickets: sessions are resumed only from this\n"
            "                   process's own memory\n"
            "  --trace          print each step of every handshake to stderr as it happens\n"
            "  --keylog FILE    append the connections' secrets to FILE (NSS key log format,\n"
            "                   for Wireshark); anyone who can read FILE can read the traffic\n"
            "  --export LABEL:LEN\n"
            "                   after each handshake, export LEN bytes (at most %d) of keying\n"
            "                   material for LABEL and show them as exporter=HEX\n"
            "  --client-ca FILE ask clients for a certificate and verify it against the roots\n"
            "                   in FILE (PEM); required unless --client-auth optional\n"
            "  --crl FILE       CRLs (PEM or DER) for --client-ca; may be repeated\n"
            "  --client-auth optional|required\n"
            "                   optional: a client without a certificate is let in too\n"
            "Each handshake prints a summary line to stderr: embertls: version=... suite=...\n"
            "group=... server_name=... [client_certs=N] alpn=... resumed=yes|no [exporter=...]\n",
            MAX_EXPORT);
}

/* What the command line asks of the server's config. */
struct server_options {
    struct repeated certs, keys; /* pairs: certs.values[i] goes with keys.values[i] */
    uint16_t version;
    const char *ticket_key_file; /* NULL: keys drawn by ember_config_new */
    bool no_tickets;
    const char *client_ca;      /* NULL: clients are not asked for a certificate */
    struct repeated crls;
    ember_client_auth client_auth;
};

/* Session resumption as the options ask. By default the library issues tickets sealed
 * with keys drawn in ember_config_new(): every process forked after it (server.c --fork)
 * can open them. A key file extends that to processes that share nothing but the file. */
static bool set_tickets(ember_config *cfg, const struct server_options *o)
{
    ember_result r = EMBER_OK;

    if (o->no_tickets)
        r = ember_config_set_tickets(cfg, 0);
    else if (o->ticket_key_file != NULL)
        r = ember_config_set_ticket_key_file(cfg, o->ticket_key_file);
    if (r != EMBER_OK) {
        report_config(o->no_tickets ? "turning tickets off" : "loading ticket keys", r, cfg);
        return false;
    }
    return true;
}

/* A server config with the certificate chains and keys loaded, sessions and `obs` set up
 * and, with --client-ca, the trust store client certificates are verified against; NULL
 * after printing why. */
static ember_config *server_config(const struct server_options *o, struct observe *obs)
{
    ember_config *cfg = new_config(EMBER_ROLE_SERVER, o->version);
    ember_result r;

    if (cfg == NULL)
        return NULL;
    /* With several, the client's SNI picks one; the first is the default. */
    for (size_t i = 0; i < o->certs.count; i++) {
        r = ember_config_add_cert_pem_file(cfg, o->certs.values[i], o->keys.values[i]);
        if (r != EMBER_OK) {
            /* The detail is on the config, not on a connection, so report() cannot fetch
             * it. */
            report_config("loading certificate", r, cfg);
            goto fail;
        }
    }
    if (!set_tickets(cfg, o) || !observe_config(cfg, obs))
        goto fail;
    if (o->client_ca != NULL) {
        /* A trust store on a server config switches client authentication on. */
        ember_trust *trust = load_trust(o->client_ca, &o->crls);
        if (trust == NULL)
            goto fail;
        r = ember_config_set_trust(cfg, trust);
        /* The config keeps its own reference to the store. */
        ember_trust_free(trust);
        if (r == EMBER_OK)
            r = ember_config_set_client_auth(cfg, o->client_auth);
        if (r != EMBER_OK) {
            report_config("setting client authentication", r, cfg);
            goto fail;
        }
    }
    return cfg;

fail:
    ember_config_free(cfg);
    return NULL;
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

bool start_server(const char *prog, int argc, char **argv, bool nonblocking, bool can_fork,
                  struct server_start *out, int *exit_status)
{
    static const struct option options[] = {
        { "listen", required_argument, NULL, 'l' },
        { "cert", required_argument, NULL, 'c' },
        { "key", required_argument, NULL, 'k' },
        { "tls12", no_argument, NULL, '2' },
        { "tls13", no_argument, NULL, '3' },
        { "max-conns", required_argument, NULL, 'm' },
        { "fork", no_argument, NULL, 'f' },
        { "alpn", required_argument, NULL, 'a' },
        { "ticket-key-file", required_argument, NULL, 'T' },
        { "no-tickets", no_argument, NULL, 'N' },
        { "trace", no_argument, NULL, 't' },
        { "keylog", required_argument, NULL, 'K' },
        { "export", required_argument, NULL, 'e' },
        { "client-ca", required_argument, NULL, 'A' },
        { "crl", required_argument, NULL, 'R' },
        { "client-auth", required_argument, NULL, 'M' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    struct server_options o = { .client_auth = EMBER_CLIENT_AUTH_REQUIRED };
    char *listen_addr = NULL, *host, *port, *end;
    bool client_auth_given = false;
    int opt;

    *out = (struct server_start){ .listener = -1, .observe = { .keylog_fd = -1 } };
    *exit_status = EXIT_USAGE;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'l': listen_addr = optarg; break;
        case 'c':
            if (!add_repeated(&o.certs, "--cert", optarg))
                return false;
            break;
        case 'k':
            if (!add_repeated(&o.keys, "--key", optarg))
                return false;
            break;
        case '2': o.version = EMBER_TLS1_2; break;
        case '3': o.version = EMBER_TLS1_3; break;
        case 'f':
            if (!can_fork) {
                server_usage(prog, can_fork, stderr, false);
                return false;
            }
            out->fork = true;
            break;
        case 'a':
            if (!split_list(&out->observe.alpn, "--alpn protocol", optarg))
                return false;
            break;
        case 'T': o.ticket_key_file = optarg; break;
        case 'N': o.no_tickets = true; break;
        case 't': out->observe.trace = true; break;
        case 'K': out->observe.keylog = optarg; break;
        case 'e':
            if (!parse_export(optarg, &out->observe))
                return false;
            break;
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
                server_usage(prog, can_fork, stderr, false);
                return false;
            }
            break;
        case 'm':
            errno = 0;
            out->max_conns = strtoul(optarg, &end, 10);
            /* strtoul accepts "-1" as ULONG_MAX, and 0 would mean "forever": refuse both
             * rather than serve a count nobody asked for. */
            if (errno != 0 || *end != '\0' || optarg[0] == '-' || out->max_conns == 0) {
                server_usage(prog, can_fork, stderr, false);
                return false;
            }
            break;
        case 'h':
            server_usage(prog, can_fork, stdout, true);
            *exit_status = 0;
            return false;
        default: server_usage(prog, can_fork, stderr, false); return false;
        }
    }
    /* Certificates and keys come in pairs. CRLs and a client-auth mode mean something only
     * for client certificates. Tickets cannot be both off and keyed. */
    if (optind != argc || listen_addr == NULL || o.certs.count == 0 ||
        o.certs.count != o.keys.count ||
        (o.client_ca == NULL && (o.crls.count > 0 || client_auth_given)) ||
        (o.no_tickets && o.ticket_key_file != NULL) ||
        !split_host_port(listen_addr, &host, &port)) {
        server_usage(prog, can_fork, stderr, false);
        return false;
    }

    *exit_status = EXIT_ERROR;
    /* The certificates and trust store are checked before binding, so a bad one never
     * shows a "listening on" line that a client could act on. */
    ember_config *cfg = server_config(&o, &out->observe);
    if (cfg == NULL)
        return false;
    int listener = listen_on(host, port, nonblocking);
    if (listener < 0) {
        ember_config_free(cfg);
        return false;
    }
    out->cfg = cfg;
    out->listener = listener;
    return true;
}
