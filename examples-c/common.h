/*
 * common: what the three examples share and what has nothing to do with how they move
 * bytes: the error and summary lines the tests read, address parsing, trust stores, the
 * options that watch a connection (--alpn, --trace, --keylog, --export), and for the two
 * servers their command line, config and listening socket.
 *
 * It lives apart so that client.c, server.c and poll_server.c each show one way of
 * driving a connection (non-blocking fd, blocking fd, memory mode) and little else.
 */
#ifndef EMBERTLS_EXAMPLES_COMMON_H
#define EMBERTLS_EXAMPLES_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "embertls.h"

/* The exit statuses the tests check. Only the client has a handshake to fail before it
 * exits; the servers report failed handshakes and carry on. */
enum { EXIT_HANDSHAKE = 1, EXIT_USAGE = 2, EXIT_ERROR = 3 };

/* Prints "embertls: WHAT: EMBER_ERR_...: detail" to stderr. The detail comes from `conn`
 * when there is one (it may be NULL), because it names the actual cause (which date,
 * which name...); otherwise it is the generic text of `r`. */
void report(const char *what, ember_result r, const ember_conn *conn);

/* As report(), for a failure whose detail is on a config (loading a certificate...). */
void report_config(const char *what, ember_result r, const ember_config *cfg);

/* The values of a repeatable option (--crl FILE --crl FILE ...), pointing into argv. */
#define MAX_REPEATED 16
struct repeated {
    const char *values[MAX_REPEATED];
    size_t count;
};

/* Appends `value`; false (after printing why) when `option` was given too often. */
bool add_repeated(struct repeated *list, const char *option, const char *value);

/* Splits a comma-separated list ("h2,http/1.1", as --alpn takes it) in place, appending
 * each item (empty ones too: the library says why it refuses them); false (after printing
 * why) when there are too many. */
bool split_list(struct repeated *list, const char *option, char *value);

/* The keying material --export asks for, at most this many bytes. */
#define MAX_EXPORT 64

/* What the options shared by all three examples ask of a config and its connections:
 *   --alpn LIST        application protocols offered (client) or accepted (server)
 *   --trace            each handshake step printed to stderr as it happens
 *   --keylog FILE      the connection secrets appended to FILE (NSS key log format)
 *   --export LABEL:LEN keying material exported after the handshake (summary: exporter=)
 * It must outlive the config's connections: the key-log callback writes to keylog_fd.
 * The strings point into argv. */
struct observe {
    struct repeated alpn;     /* none: no ALPN */
    bool trace;
    const char *keylog;       /* NULL: no key log */
    int keylog_fd;            /* opened by observe_config(), open until the program exits */
    const char *export_label; /* NULL: no exporter= field */
    size_t export_len;
};

/* Parses --export's "LABEL:LEN" (LEN 1 to MAX_EXPORT) into `o`; false after printing why. */
bool parse_export(char *value, struct observe *o);

/* Applies `o` to `cfg`: ALPN, the trace and key-log callbacks (opening the key-log file).
 * False after printing why. */
bool observe_config(ember_config *cfg, struct observe *o);

/* Prints "embertls: version=... suite=... group=... server_name=..." followed by `extra`
 * (the client adds its handshake time) and then by " alpn=PROTO|- resumed=yes|no" and,
 * when --export asked for it, " exporter=HEX", to stderr, after a completed handshake.
 * Fields are only ever added at the end: tests and scripts read them by name. */
void print_summary(ember_conn *conn, const char *extra, const struct observe *o);

/* print_summary() for a server: " client_certs=N" (the length of the chain the client
 * presented) comes first in `extra` when a client certificate was verified. */
void print_server_summary(ember_conn *conn, const struct observe *o);

/* A trust store holding the roots in the PEM file `ca_file` and the CRLs in each of the
 * files `crls` (PEM or DER). NULL after printing why. The caller frees it; a config given
 * it keeps its own reference. */
ember_trust *load_trust(const char *ca_file, const struct repeated *crls);

/* A config for `role` limited to `version` (EMBER_TLS1_2 or EMBER_TLS1_3; 0 allows every
 * version the library supports). NULL after printing why. */
ember_config *new_config(ember_role role, uint16_t version);

/* Splits "host:port" or "[ipv6]:port" in place; false when `s` is neither. */
bool split_host_port(char *s, char **host, char **port);

bool set_nonblocking(int fd);

/* A server ready to accept: both servers start the same way and differ only after. */
struct server_start {
    ember_config *cfg;       /* the caller frees it */
    int listener;            /* bound and listening; the caller closes it */
    unsigned long max_conns; /* exit after this many connections; 0: serve forever */
    bool fork;               /* --fork (server.c only): a process per connection */
    struct observe observe;  /* what --alpn, --trace, --keylog and --export asked for */
};

/* Parses `prog --listen ADDR:PORT --cert FILE --key FILE [--cert FILE --key FILE]...
 * [--tls12|--tls13] [--max-conns N] [--alpn LIST] [--ticket-key-file FILE|--no-tickets]
 * [--trace] [--keylog FILE] [--export LABEL:LEN] [--client-ca FILE [--crl FILE]...
 * [--client-auth optional|required]]` (and `--fork` when `can_fork`), loads the
 * certificates (and the trust store for client certificates) into a server config, binds
 * and prints "listening on ADDR:PORT" to stdout. `nonblocking` gives a listener whose
 * accept() never waits. `out` must stay where it is while the config is in use: the
 * config's key-log callback refers to out->observe.
 *
 * Returns true with `*out` filled in; false when main should return `*exit_status` at
 * once (0 after --help, EXIT_USAGE or EXIT_ERROR after printing why). */
bool start_server(const char *prog, int argc, char **argv, bool nonblocking, bool can_fork,
                  struct server_start *out, int *exit_status);

#endif
