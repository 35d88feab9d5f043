/* Shared pieces of the C API test program (api_test): the check macros, the case runner and
 * the helpers that build configs and connection pairs and drive them over the three I/O modes.
 *
 * A check that fails prints file:line with what was expected and what came back, then jumps to
 * the `out:` label of the enclosing function, so each function frees what it made in one place.
 * Helpers that run checks return bool (true = every check held). */
#ifndef EMBERTLS_TEST_CHECK_H
#define EMBERTLS_TEST_CHECK_H

#include <embertls.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define ATTR_PRINTF(f, a) __attribute__((format(printf, f, a)))

void check_failed(const char *file, int line, const char *fmt, ...) ATTR_PRINTF(3, 4);

/* Every check below is a CHECK_MSG: on failure, the message and the jump to `out:`. */
#define CHECK_MSG(cond, ...)                                                                   \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            check_failed(__FILE__, __LINE__, __VA_ARGS__);                                     \
            goto out;                                                                          \
        }                                                                                      \
    } while (0)

#define CHECK(cond) CHECK_MSG(cond, "%s", #cond)

#define CHECK_RC(want, expr)                                                                   \
    do {                                                                                       \
        ember_result want_ = (want), got_ = (expr);                                            \
        CHECK_MSG(got_ == want_, "%s: expected %s, got %s", #expr, ember_result_name(want_),   \
                  ember_result_name(got_));                                                    \
    } while (0)

/* As CHECK_RC, and on failure also prints the connection's ember_conn_last_error text. */
#define CHECK_CONN_RC(conn, want, expr)                                                        \
    do {                                                                                       \
        ember_result want_ = (want), got_ = (expr);                                            \
        CHECK_MSG(got_ == want_, "%s: expected %s, got %s (detail: %s)", #expr,                \
                  ember_result_name(want_), ember_result_name(got_), conn_detail(conn));       \
    } while (0)

#define CHECK_EQ(want, got)                                                                    \
    do {                                                                                       \
        unsigned long long w_ = (unsigned long long)(want), g_ = (unsigned long long)(got);    \
        CHECK_MSG(w_ == g_, "%s: expected %llu (0x%llx), got %llu (0x%llx)", #got, w_, w_, g_, \
                  g_);                                                                         \
    } while (0)

#define CHECK_STR(want, got)                                                                   \
    do {                                                                                       \
        const char *w_ = (want), *g_ = (got);                                                  \
        CHECK_MSG(g_ != NULL && strcmp(w_, g_) == 0, "%s: expected \"%s\", got %s%s%s", #got,  \
                  w_, g_ ? "\"" : "", g_ ? g_ : "NULL", g_ ? "\"" : "");                       \
    } while (0)

#define CHECK_CONTAINS(hay, needle)                                                            \
    do {                                                                                       \
        const char *h_ = (hay), *n_ = (needle);                                                \
        CHECK_MSG(h_ != NULL && strstr(h_, n_) != NULL,                                        \
                  "%s: expected text containing \"%s\", got \"%s\"", #hay, n_,                 \
                  h_ ? h_ : "(NULL)");                                                         \
    } while (0)

/* ---- the runner (api_test.c) ---- */

typedef void (*case_fn)(const void *arg);
/* Runs fn(arg) as one test case named by the format (in a child process unless
 * EMBER_TEST_NOFORK is set, so a crash or hang fails that case only) and prints its line. */
void run_case(case_fn fn, const void *arg, const char *name_fmt, ...) ATTR_PRINTF(3, 4);

/* ---- helpers (harness.c) ---- */

extern const char *g_pki_dir;

/* Path of a file in the PKI directory; the result lives until 8 more calls. */
const char *pki(const char *file);
/* ember_conn/config/trust_last_error behind one signature (obj: the connection, config or trust
 * store), for code that treats the three alike. */
typedef ember_result (*last_error_fn)(const void *obj, char *buf, size_t len, size_t *out_n);
ember_result conn_last_error(const void *conn, char *buf, size_t len, size_t *out_n);
ember_result cfg_last_error(const void *cfg, char *buf, size_t len, size_t *out_n);
ember_result trust_last_error(const void *trust, char *buf, size_t len, size_t *out_n);
/* The last error detail of a connection, config or trust store ("" for none or NULL), for
 * messages and checks; each lives until the next call of the same function. */
const char *conn_detail(const ember_conn *conn);
const char *cfg_detail(const ember_config *cfg);
const char *trust_detail(const ember_trust *trust);
/* Whole file into a malloc'd buffer, with a NUL after its *len bytes (NULL and a check failure
 * when unreadable). */
uint8_t *read_file(const char *path, size_t *len);
/* The first PEM block (a certificate, a CRL, ...) of the PKI file `file`, decoded to DER into
 * a malloc'd buffer (NULL and a check failure on failure). */
uint8_t *pem_file_der(const char *file, size_t *out_len);

/* Writes len bytes to a new file under /tmp (mkstemp) and its path to path (64 bytes); the
 * caller unlinks it. */
bool temp_file(char *path, const uint8_t *data, size_t len);

/* xorshift32: tests draw their "random" sizes and failures from a fixed seed. */
uint32_t rng_next(uint32_t *state);
void fill_pattern(uint8_t *buf, size_t len, uint32_t seed);
/* Byte-for-byte comparison that reports the first difference. */
bool same_bytes(const char *what, const uint8_t *want, const uint8_t *got, size_t len);

/* A growable FIFO of bytes: the wire between two endpoints. */
typedef struct bytes {
    uint8_t *data;
    size_t off, len, cap; /* live bytes are data[off .. off+len) */
} bytes;
void bytes_push(bytes *b, const uint8_t *p, size_t n);
void bytes_pop(bytes *b, size_t n);
const uint8_t *bytes_head(const bytes *b);
void bytes_free(bytes *b);

/* Configs. versions 0/0 leave the library default (TLS 1.2 and 1.3). cert is a PKI base name
 * ("rsa" -> rsa.pem); key a PKI file name, NULL for "<cert>.key". */
ember_config *server_config(const char *cert, const char *key, uint16_t min, uint16_t max);
ember_config *client_config(uint16_t min, uint16_t max, bool trust_ca);

typedef struct pair_opts {
    const char *cert, *key;        /* default "ecdsa-p256" and its key */
    uint16_t cmin, cmax, smin, smax; /* 0: library default */
    const char *server_name;       /* default "localhost" */
    bool builtin_roots;            /* client keeps the built-in Mozilla roots */
} pair_opts;

/* A client and a server connection in memory mode plus the bytes in flight between them.
 * make_pair frees the configs and the trust store as soon as the connections exist: the
 * connections must keep what they need alive. */
typedef struct pair {
    ember_conn *c, *s;
    bytes c2s, s2c;
} pair;
bool make_pair(pair *p, const pair_opts *o);
/* A memory-mode pair from configs the caller made (and keeps): for cases that make several
 * connections from one config, as resumption needs. */
bool pair_from(pair *p, const ember_config *cc, const ember_config *sc, const char *server_name);
void pair_free(pair *p);

/* Memory mode: drains everything `from` has pending into q and feeds q to `to` as far as `to`
 * takes it (ember_conn_feed may take less; the rest stays in q). *moved grows by the bytes
 * drained plus fed. A dead destination (*to_dead) is not fed; with to_dead non-NULL, a feed
 * that fails with the connection's fatal error marks it dead, with NULL that is a failure. */
bool shuttle(ember_conn *from, bytes *q, ember_conn *to, bool *to_dead, size_t *moved);
/* Memory mode: everything `from` has pending, appended to q and fed to no one, for cases that
 * hold bytes back, alter them or feed them later. */
bool drain_into(ember_conn *from, bytes *q);
/* Calls ember_conn_handshake on both sides and shuttles until both have a final answer (OK or
 * an error) and nothing moves; returns both answers (WANT_* if it stalled). */
bool drive_handshake(pair *p, ember_result *rc_c, ember_result *rc_s);
/* drive_handshake, which must end with EMBER_OK on both sides. */
bool complete_handshake(pair *p);
/* make_pair limited to one version, then complete_handshake: an open connection each side. */
bool handshake_pair(pair *p, uint16_t version);

/* Room for a connection's detail text in check_failed_handshake. */
enum { DETAIL_LEN = 1024 };
/* A handshake that must fail, seen from both ends. One side (the client when client_detects,
 * else the server) finds the problem: its handshake answers `detected` and it sends `alert`.
 * The other is told: it answers `told`, with that alert readable from ember_conn_peer_alert,
 * while the detecting side received none. Both details are non-empty, printed and returned in
 * detected_text and told_text (DETAIL_LEN bytes each) for the caller's checks; both
 * connections keep their code. */
bool check_failed_handshake(pair *p, bool client_detects, ember_result detected, ember_result told,
                            uint8_t alert, char *detected_text, char *told_text);
/* The client of a refused client certificate hears it through the server's alert: with its next
 * read in TLS 1.3 (its handshake completed when it sent Finished), from the handshake itself in
 * TLS 1.2 (it waits for the server's Finished). rc_c is its handshake's answer; the alert must
 * be `want` and the detail contain want_text. */
bool client_hears_refusal(ember_conn *c, uint16_t version, ember_result rc_c, uint8_t want,
                          const char *want_text);
/* Sends a few bytes each way and closes both sides cleanly: the connection really works. */
bool exchange(pair *p);
/* One connection from cc to sc (memory mode, client for server_name): ember_conn_is_resumed
 * answers EMBER_ERR_WRONG_STATE on both sides before the handshake, the handshake completes on
 * both, then data goes both ways, which makes the client process what came after its handshake
 * (TLS 1.3 session tickets, which only then reach its cache). Reports whether each side resumed
 * and, when ids is non-NULL, the connections' ids (client, server). */
bool connect_once(const ember_config *cc, const ember_config *sc, const char *server_name,
                  int *resumed_c, int *resumed_s, uint64_t ids[2]);

/* One endpoint of a data exchange: handshake, send tx, receive rx_len bytes into rx, close,
 * read until the peer's close_notify. Works the same over memory, callbacks and fds. */
typedef struct side {
    ember_conn *conn;
    const char *who;
    const uint8_t *tx;
    size_t tx_len, tx_done;
    uint8_t *rx;
    size_t rx_len, rx_done;
    uint32_t *rng;  /* when set, each read/write asks for a random 1..chunk bytes */
    size_t chunk;   /* max bytes per read/write call, 0 = no limit */
    bool hs_done, flushed, close_called, close_flushed, peer_closed;
    bool want_read, want_write; /* what the last step was blocked on */
} side;

/* Transport work between two rounds of steps; sets *progress when bytes moved. */
typedef bool (*between_fn)(void *ctx, side *a, side *b, bool *progress);
bool memory_between(void *ctx, side *a, side *b, bool *progress); /* ctx: pair* */
/* Steps a and b alternately until both are done; fails after max_idle rounds without progress. */
bool run_sides(side *a, side *b, between_fn between, void *ctx, unsigned max_idle);
/* Checks version, suite (and its name), group (and its name) and server name of an open conn. */
bool check_facts(const ember_conn *conn, uint16_t version, uint16_t suite, uint16_t group,
                 const char *server_name);
/* The suite the library's defaults must pick for a version and a certificate key type. */
uint16_t expected_suite(uint16_t version, const char *cert);

/* ---- case groups: each runs its cases through run_case ---- */
void run_transport_cases(void); /* t_transport.c */
void run_failure_cases(void);   /* t_failures.c */
void run_api_cases(void);       /* t_api.c */
void run_trust_cases(void);     /* t_trust.c */
void run_mtls_cases(void);      /* t_mtls.c */
void run_revocation_cases(void); /* t_revocation.c */
void run_session_cases(void);   /* t_sessions.c */
void run_trace_cases(void);     /* t_trace.c */
void run_misuse_cases(void);    /* t_misuse.c */
void run_fault_cases(void);     /* t_faults.c */
void run_lifetime_cases(void);  /* t_lifetime.c */
void run_selftest_cases(void);  /* t_selftest.c: only with EMBER_TEST_SELFTEST=1 */

#endif
