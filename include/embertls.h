/*
 * embertls.h: the embertls C API. This header is its manual: anything not declared here is
 * not API. It is generated from src/capi by cbindgen; edit the Rust doc comments, not this.
 *
 * Objects: ember_config (what connections are made from), ember_trust (trusted roots),
 * ember_conn (one connection). Each is made by ember_<object>_new() and released by
 * ember_<object>_free(), which accepts NULL. No call takes ownership of an object passed to it.
 *
 * Results: every fallible function returns an ember_result and writes outputs through
 * out-pointers. ember_result_str() and ember_result_name() describe a code;
 * ember_conn_last_error() and ember_config_last_error() give the detail of a failure.
 *
 * Threads: no global initialisation is needed. A config and its trust store are frozen by
 * the first connection made from them and may then be shared by any number of threads; a
 * connection is used by one thread at a time.
 *
 * Callbacks run inside the embertls call that triggered them, on that call's thread. From
 * inside a connection's own callback, calls on that connection return
 * EMBER_ERR_WRONG_STATE and change nothing (the call in progress goes on), except
 * ember_conn_free(), which frees it when the call in progress returns.
 *
 * Failures: a connection that failed fatally stays failed. Every later call that would move
 * data or keys (handshake, read, write, flush, close, feed, key update, export) returns that
 * same error, except that ember_conn_read() first returns data received before the failure
 * and ember_conn_drain() still gives the alert to send to the peer. Facts already known
 * (version, suite, peer certificates, last error) stay readable.
 *
 * Strings in are NUL-terminated UTF-8; strings out are copied into the caller's buffer with
 * the full length reported, or are static.
 */

/* The include guard is written here, not by cbindgen, so that the macros before the
 * declarations and after them are inside it. */
#ifndef EMBERTLS_H
#define EMBERTLS_H

#define EMBER_VERSION_MAJOR 0
#define EMBER_VERSION_MINOR 1
#define EMBER_VERSION_PATCH 0
#define EMBER_VERSION_STRING "0.1.0"
/* MAJOR * 10000 + MINOR * 100 + PATCH, for #if comparisons. */
#define EMBER_VERSION_NUMBER (0 * 10000 + 1 * 100 + 0)

/* Protocol versions, as on the wire (ember_config_set_versions, ember_conn_protocol_version). */
#define EMBER_TLS1_2 0x0303
#define EMBER_TLS1_3 0x0304


#include <stdint.h>
#include <stddef.h>

/**
 * The length of one session ticket key (ember_config_set_ticket_keys()).
 */
#define EMBER_TICKET_KEY_LEN 80

/**
 * The largest session value a store is asked to keep (ember_session_get_cb's buffer).
 */
#define EMBER_SESSION_VALUE_MAX 16384

/**
 * ember_trust_set_revocation flag: check only the peer's own certificate against the CRLs,
 * not the intermediate CA certificates above it.
 */
#define EMBER_REVOCATION_END_ENTITY_ONLY 1

/**
 * ember_trust_set_revocation flag: a certificate whose issuer has no CRL in the store
 * passes, instead of failing with EMBER_ERR_CERT_REVOCATION_UNKNOWN.
 */
#define EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS 2

/**
 * ember_trust_set_revocation flag: a CRL whose nextUpdate time has passed is still used,
 * instead of failing with EMBER_ERR_CERT_REVOCATION_UNKNOWN.
 */
#define EMBER_REVOCATION_ALLOW_EXPIRED_CRL 4

/**
 * The outcome of every fallible embertls function.
 *
 * Values are fixed and grouped by hundreds so a caller can test a class with
 * EMBER_RESULT_CLASS(): 0–99 progress, 100s caller misuse or bad input, 200s I/O,
 * 300s certificate verdicts, 400s handshake and protocol failures, 500s internal.
 * Codes are never renumbered or removed; new codes are only appended to their group.
 */
typedef enum {
  /**
   * Success.
   */
  EMBER_OK = 0,
  /**
   * Non-blocking I/O would block reading: call again when the socket is readable
   * (memory mode: feed the bytes that arrive, then call again).
   */
  EMBER_WANT_READ = 1,
  /**
   * Non-blocking I/O would block writing: call again when the socket is writable
   * (memory mode: drain pending output, then call again).
   */
  EMBER_WANT_WRITE = 2,
  /**
   * The peer sent close_notify: the data stream ended cleanly.
   */
  EMBER_CLOSED = 3,
  /**
   * A pointer argument that must not be NULL was NULL.
   */
  EMBER_ERR_NULL_ARG = 100,
  /**
   * An argument has a value the function cannot use. This includes a length (or count)
   * larger than any object can be, such as SIZE_MAX: more than PTRDIFF_MAX bytes.
   */
  EMBER_ERR_INVALID_ARG = 101,
  /**
   * The output buffer is too small; the output was truncated.
   */
  EMBER_ERR_BUFFER_TOO_SMALL = 102,
  /**
   * The call is not allowed in the object's current state.
   */
  EMBER_ERR_WRONG_STATE = 103,
  /**
   * The config or trust store is in use by connections and can no longer change.
   */
  EMBER_ERR_CONFIG_FROZEN = 104,
  /**
   * PEM input is empty, malformed, or lacks the expected block.
   */
  EMBER_ERR_BAD_PEM = 105,
  /**
   * A private key is missing, malformed or of an unsupported type.
   */
  EMBER_ERR_BAD_KEY = 106,
  /**
   * A private key does not match its certificate.
   */
  EMBER_ERR_KEY_MISMATCH = 107,
  /**
   * A file could not be opened or read.
   */
  EMBER_ERR_FILE = 108,
  /**
   * A server config has no certificate.
   */
  EMBER_ERR_NO_CERTIFICATE = 109,
  /**
   * The call is meaningful only for the other role.
   */
  EMBER_ERR_WRONG_ROLE = 110,
  /**
   * A certificate given to embertls cannot be parsed.
   */
  EMBER_ERR_BAD_CERTIFICATE = 111,
  /**
   * A CRL given to embertls cannot be parsed or used.
   */
  EMBER_ERR_BAD_CRL = 112,
  /**
   * The transport failed; ember_conn_os_error() gives the errno.
   */
  EMBER_ERR_IO = 200,
  /**
   * The peer's transport ended without close_notify (truncation or a dropped connection).
   */
  EMBER_ERR_UNEXPECTED_EOF = 201,
  /**
   * The peer's certificate has expired.
   */
  EMBER_ERR_CERT_EXPIRED = 300,
  /**
   * The peer's certificate is not valid yet.
   */
  EMBER_ERR_CERT_NOT_YET_VALID = 301,
  /**
   * The peer's chain does not lead to a trusted root.
   */
  EMBER_ERR_CERT_UNKNOWN_ISSUER = 302,
  /**
   * A signature in the peer's chain does not verify, or the peer's handshake signature
   * (its proof of holding its certificate's key) does not.
   */
  EMBER_ERR_CERT_BAD_SIGNATURE = 303,
  /**
   * The peer's certificate is not valid for the expected host name or IP address.
   */
  EMBER_ERR_CERT_HOSTNAME_MISMATCH = 304,
  /**
   * The peer's certificate has been revoked.
   */
  EMBER_ERR_CERT_REVOKED = 305,
  /**
   * The revocation status of the peer's certificate is unknown.
   */
  EMBER_ERR_CERT_REVOCATION_UNKNOWN = 306,
  /**
   * The peer's chain uses an unsupported algorithm or critical extension.
   */
  EMBER_ERR_CERT_UNSUPPORTED = 307,
  /**
   * The application rejected the peer's chain.
   */
  EMBER_ERR_CERT_REJECTED = 308,
  /**
   * The peer's certificate is not correctly encoded.
   */
  EMBER_ERR_CERT_BAD_ENCODING = 309,
  /**
   * The peer's certificate is not allowed for this use (extended key usage).
   */
  EMBER_ERR_CERT_INVALID_PURPOSE = 310,
  /**
   * The peer presented no certificate although one is required.
   */
  EMBER_ERR_CERT_REQUIRED = 311,
  /**
   * The peer's certificate is invalid for another reason.
   */
  EMBER_ERR_CERT_INVALID = 312,
  /**
   * The peer's certificate is self-signed and is not a trusted root.
   */
  EMBER_ERR_CERT_SELF_SIGNED = 313,
  /**
   * The peer's chain lacks an intermediate certificate: the issuer of the last
   * certificate it sent is neither sent nor a trusted root.
   */
  EMBER_ERR_CERT_MISSING_INTERMEDIATE = 314,
  /**
   * The peers share no protocol version.
   */
  EMBER_ERR_NO_SHARED_VERSION = 400,
  /**
   * The peers share no cipher suite.
   */
  EMBER_ERR_NO_SHARED_CIPHER_SUITE = 401,
  /**
   * The peers share no key-exchange group.
   */
  EMBER_ERR_NO_SHARED_GROUP = 402,
  /**
   * The peers share no application protocol (ALPN).
   */
  EMBER_ERR_NO_ALPN_OVERLAP = 403,
  /**
   * The peer sent a fatal alert; ember_conn_peer_alert() says which.
   */
  EMBER_ERR_ALERT_RECEIVED = 404,
  /**
   * A message from the peer could not be decoded.
   */
  EMBER_ERR_DECODE = 405,
  /**
   * A record from the peer failed to decrypt or was too large.
   */
  EMBER_ERR_BAD_RECORD = 406,
  /**
   * The peer sent a message that is not allowed at this point.
   */
  EMBER_ERR_UNEXPECTED_MESSAGE = 407,
  /**
   * The peer broke the protocol in another way.
   */
  EMBER_ERR_PEER_MISBEHAVED = 408,
  /**
   * The peer lacks a feature the handshake needs.
   */
  EMBER_ERR_PEER_INCOMPATIBLE = 409,
  /**
   * Rust panicked inside embertls; the object involved is poisoned.
   */
  EMBER_ERR_PANIC = 500,
  /**
   * The object was poisoned by an earlier panic; it can only be freed.
   */
  EMBER_ERR_POISONED = 501,
  /**
   * A size limit was reached.
   */
  EMBER_ERR_RESOURCE_LIMIT = 502,
  /**
   * An internal failure that is neither the caller's nor the peer's fault.
   */
  EMBER_ERR_INTERNAL = 503,
} ember_result;

/**
 * Log levels, most severe first (ember_log_set_callback()).
 */
typedef enum {
  /**
   * Failures.
   */
  EMBER_LOG_ERROR = 1,
  /**
   * Something unexpected that the engine worked around.
   */
  EMBER_LOG_WARN = 2,
  /**
   * Milestones, e.g. a resumed session.
   */
  EMBER_LOG_INFO = 3,
  /**
   * Protocol detail: each message sent and received.
   */
  EMBER_LOG_DEBUG = 4,
  /**
   * Everything, including buffer-level detail.
   */
  EMBER_LOG_TRACE = 5,
} ember_log_level;

/**
 * A step of the handshake, as reported to the trace callback. Values are fixed; new steps
 * are only appended.
 */
typedef enum {
  /**
   * The client sent its ClientHello: the text lists the versions, suites and groups
   * offered, the key shares, the server name, ALPN, and whether it offers resumption.
   */
  EMBER_TRACE_CLIENT_HELLO_SENT = 1,
  /**
   * The server received a ClientHello (the same text, as the server read it).
   */
  EMBER_TRACE_CLIENT_HELLO_RECEIVED = 2,
  /**
   * The server sent its ServerHello: the version and suite chosen (or a HelloRetryRequest).
   * It is seen as its bytes leave the engine, with the rest of the server's first flight:
   * after the secrets the server derived while building that flight (KEYS_DERIVED).
   */
  EMBER_TRACE_SERVER_HELLO_SENT = 3,
  /**
   * The client received the ServerHello.
   */
  EMBER_TRACE_SERVER_HELLO_RECEIVED = 4,
  /**
   * The key exchange group was settled (TLS 1.3 key share, TLS 1.2 ServerKeyExchange).
   * Seen as the message is read, so a TLS 1.2 client reports it when the server's flight
   * arrives, before it verifies the certificate that came in the same flight.
   */
  EMBER_TRACE_KEY_EXCHANGE = 5,
  /**
   * A secret was derived; the text names it (its NSS key-log label), never its value.
   */
  EMBER_TRACE_KEYS_DERIVED = 6,
  /**
   * The peer's certificate chain arrived: how many certificates, their subjects.
   */
  EMBER_TRACE_CERTIFICATE_RECEIVED = 7,
  /**
   * One verification check and its verdict: chain, signatures and dates; host name;
   * revocation; the verification callback's decision; or the check that failed.
   */
  EMBER_TRACE_CERTIFICATE_CHECK = 8,
  /**
   * The peer proved it holds its certificate's key (the handshake signature verified).
   */
  EMBER_TRACE_SIGNATURE_VERIFIED = 9,
  /**
   * The peer's Finished was verified and ours sent.
   */
  EMBER_TRACE_FINISHED = 10,
  /**
   * The handshake completed: "full handshake" or "resumed session", with its duration.
   */
  EMBER_TRACE_COMPLETE = 11,
  /**
   * The handshake failed: the text is the detail ember_conn_last_error() gives.
   */
  EMBER_TRACE_FAILED = 12,
} ember_trace_step;

/**
 * Which end of a connection a config makes.
 */
typedef enum {
  /**
   * Connects, sends the server name, verifies the server's certificate.
   */
  EMBER_ROLE_CLIENT = 0,
  /**
   * Accepts, presents a certificate.
   */
  EMBER_ROLE_SERVER = 1,
} ember_role;

/**
 * Whether a server asks clients for a certificate (mutual TLS); see
 * ember_config_set_client_auth().
 */
typedef enum {
  /**
   * Clients are not asked for a certificate.
   */
  EMBER_CLIENT_AUTH_NONE = 0,
  /**
   * Clients are asked for a certificate; one without is let in, one whose certificate
   * does not verify is refused.
   */
  EMBER_CLIENT_AUTH_OPTIONAL = 1,
  /**
   * Every client must present a certificate that verifies against the trust store.
   */
  EMBER_CLIENT_AUTH_REQUIRED = 2,
} ember_client_auth;

/**
 * A connection configuration (opaque). Made by ember_config_new(), freed by
 * ember_config_free().
 */
typedef struct ember_config ember_config;

/**
 * One TLS connection (opaque). Made by ember_conn_new(), freed by ember_conn_free().
 */
typedef struct ember_conn ember_conn;

/**
 * A client session cache that several configs can share (opaque). Made by
 * ember_session_cache_new(), freed by ember_session_cache_free().
 */
typedef struct ember_session_cache ember_session_cache;

/**
 * A set of trusted root certificates (opaque). Made by ember_trust_new(), freed by
 * ember_trust_free().
 */
typedef struct ember_trust ember_trust;

/**
 * A borrowed run of bytes: `len` bytes at `data`. The layout is frozen: these two members,
 * in this order, for every future version.
 */
typedef struct {
  /**
   * The first byte (may be NULL only when `len` is 0).
   */
  const uint8_t *data;
  /**
   * How many bytes.
   */
  size_t len;
} ember_bytes;

/**
 * Verification callback (see ember_config_set_verify_callback()): decides on the chain the
 * server presented. `server_name` is the name the connection was made with (NUL-terminated);
 * `chain` holds `chain_len` DER certificates as the server sent them, its own first;
 * `builtin_verdict` is what embertls' own verification (webpki, against the config's trust
 * store) concluded: EMBER_OK, or the 300s code it would have failed with. Return 0 to accept
 * the chain. Return `builtin_verdict` itself (when it is not EMBER_OK) to uphold it: the
 * handshake then fails exactly as it would without a callback (that code, its detail, its
 * alert). Return any other non-zero value to reject the chain for a reason of the
 * callback's: EMBER_ERR_CERT_REJECTED, explained by the NUL-terminated reason of at most
 * `reason_len` bytes (NUL included) it may write to `reason`, which starts out "".
 * Every pointer is valid only during the call.
 */
typedef int (*ember_verify_cb)(void *userdata,
                               const char *server_name,
                               const ember_bytes *chain,
                               size_t chain_len,
                               ember_result builtin_verdict,
                               char *reason,
                               size_t reason_len);

/**
 * Read callback: read up to `len` bytes into `buf`, store the count in `*out_n` and return
 * 0; `*out_n = 0` with 0 means end of stream. Or return an errno value: EAGAIN/EWOULDBLOCK
 * when no data is available yet (the embertls call returns EMBER_WANT_READ), EINTR to be
 * called again at once, anything else for a failure (EMBER_ERR_IO).
 */
typedef int (*ember_read_cb)(void *userdata, uint8_t *buf, size_t len, size_t *out_n);

/**
 * Write callback: write some of the `len` bytes at `buf` (a partial write is fine), store
 * the count in `*out_n` and return 0. Or return an errno value: EAGAIN/EWOULDBLOCK when
 * nothing can be written now (EMBER_WANT_WRITE), EINTR to be called again at once,
 * anything else for a failure (EMBER_ERR_IO).
 */
typedef int (*ember_write_cb)(void *userdata, const uint8_t *buf, size_t len, size_t *out_n);

/**
 * Key-log callback (see ember_config_set_keylog_callback()): `line` is one line of the NSS
 * key log format, NUL-terminated, without a newline, e.g.
 * "CLIENT_HANDSHAKE_TRAFFIC_SECRET <client random, hex> <secret, hex>". Valid only during
 * the call.
 */
typedef void (*ember_keylog_cb)(void *userdata, const char *line);

/**
 * Log callback (see ember_log_set_callback()): one record at `level`, from `target` (the
 * engine module, e.g. "rustls::client::hs"), with its `message`; both strings
 * NUL-terminated and valid only during the call.
 */
typedef void (*ember_log_cb)(void *userdata,
                             ember_log_level level,
                             const char *target,
                             const char *message);

/**
 * Session store callback: keep `value` (`value_len` bytes) under `key` (`key_len` bytes),
 * replacing what is there. Return 0 when stored, non-zero otherwise (the session is then
 * simply not resumable). Both pointers are valid only during the call.
 */
typedef int (*ember_session_put_cb)(void *userdata,
                                    const uint8_t *key,
                                    size_t key_len,
                                    const uint8_t *value,
                                    size_t value_len);

/**
 * Session store callback: copy the value stored under `key` into `buf` (room for `buf_len`
 * bytes, EMBER_SESSION_VALUE_MAX) and its length into `*out_len`. Return 0 when found,
 * non-zero when there is none (or it does not fit).
 */
typedef int (*ember_session_get_cb)(void *userdata,
                                    const uint8_t *key,
                                    size_t key_len,
                                    uint8_t *buf,
                                    size_t buf_len,
                                    size_t *out_len);

/**
 * Session store callback: remove the value stored under `key`. Return 0 when a value was
 * removed, non-zero when there was none.
 */
typedef int (*ember_session_remove_cb)(void *userdata, const uint8_t *key, size_t key_len);

/**
 * Trace callback (see ember_config_set_trace_callback()): one step of the handshake of
 * connection `conn_id` (ember_conn_id()), observed at `time_ns` (nanoseconds on a monotonic
 * clock whose zero is fixed for the process: for ordering and durations, not the time of
 * day). `text` is a short NUL-terminated sentence, valid only during the call.
 */
typedef void (*ember_trace_cb)(void *userdata,
                               uint64_t conn_id,
                               uint64_t time_ns,
                               ember_trace_step step,
                               const char *text);

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * ember_cert_spki_sha256 writes the SHA-256 of the SubjectPublicKeyInfo of the certificate
 * in the `len` bytes at `der` to the 32 bytes at `out`: the value key pins are made of
 * (HPKP, curl's --pinnedpubkey "sha256//..."; from a PEM file:
 * `openssl x509 -in cert.pem -pubkey -noout | openssl pkey -pubin -outform der |
 * openssl dgst -sha256 -binary | base64`). A verification callback compares it with its
 * pins to accept a server by key, whatever CA issued its certificate.
 *
 * Returns EMBER_OK; EMBER_ERR_BAD_CERTIFICATE when the bytes are not a certificate (`out`
 * is left unchanged); EMBER_ERR_NULL_ARG when `out` is NULL, or `der` is NULL with
 * `len` > 0.
 *
 * Ownership: the caller keeps `der` and `out`. Threads: any thread, any time.
 */
ember_result ember_cert_spki_sha256(const uint8_t *der, size_t len, uint8_t *out);

/**
 * ember_cert_check_name checks that the certificate in the `len` bytes at `der` is valid
 * for `server_name` (a NUL-terminated DNS name, matched against the certificate's DNS
 * names, wildcards included, or an IP address, matched against its IP addresses), as the
 * built-in verification does. A verification callback that accepts a chain the built-in
 * verification refused (a pinned self-signed certificate) never had the name checked,
 * because verification stops at the chain: this lets it check the name itself.
 *
 * Returns EMBER_OK when the name matches; EMBER_ERR_CERT_HOSTNAME_MISMATCH when it does
 * not; EMBER_ERR_BAD_CERTIFICATE when the bytes are not a certificate;
 * EMBER_ERR_INVALID_ARG when `server_name` is neither a DNS name nor an IP address;
 * EMBER_ERR_NULL_ARG when `server_name` is NULL, or `der` is NULL with `len` > 0.
 *
 * Ownership: the caller keeps `der` and `server_name`. Threads: any thread, any time.
 */
ember_result ember_cert_check_name(const uint8_t *der, size_t len, const char *server_name);

/**
 * ember_config_new makes a config for `role` and writes it to `*out`. Defaults: TLS 1.2
 * and 1.3; a client trusts the built-in Mozilla roots; a server needs a certificate
 * (ember_config_add_cert_pem_file()) before connections can be made.
 *
 * A server config draws its session-ticket keys here, so worker processes forked after
 * this call resume each other's sessions (see ember_config_set_ticket_keys()).
 *
 * Returns EMBER_OK; EMBER_ERR_NULL_ARG when `out` is NULL; EMBER_ERR_INVALID_ARG when
 * `role` is neither EMBER_ROLE_CLIENT nor EMBER_ROLE_SERVER; EMBER_ERR_INTERNAL if the
 * system's random number generator fails.
 *
 * Ownership: the caller owns `*out` and frees it with ember_config_free(). Threads: a config
 * may be changed by one thread at a time until the first ember_conn_new() with it; from
 * then on it is frozen (setters return EMBER_ERR_CONFIG_FROZEN) and any number of threads
 * may make connections from it at once.
 */
ember_result ember_config_new(ember_role role, ember_config **out);

/**
 * ember_config_free releases the caller's reference to `cfg`. Connections made from it
 * keep what they need, so it may be freed right after the last ember_conn_new(). Passing
 * NULL is a harmless no-op.
 *
 * Threads: call it once no other thread is using this handle.
 */
void ember_config_free(ember_config *cfg);

/**
 * ember_config_set_versions limits connections to protocol versions `min` through `max`,
 * each EMBER_TLS1_2 or EMBER_TLS1_3. A peer with no version in the range fails the
 * handshake with EMBER_ERR_NO_SHARED_VERSION.
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG for another version value or `min` > `max`;
 * EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG for a NULL `cfg`.
 *
 * Threads: one thread at a time until the config is frozen, any number after.
 */
ember_result ember_config_set_versions(ember_config *cfg, uint16_t min, uint16_t max);

/**
 * ember_config_set_trust makes connections verify their peer against the roots in `trust`.
 * On a client they replace the built-in Mozilla roots. On a server they switch on client
 * authentication, required unless ember_config_set_client_auth() chose otherwise: every
 * client must present a certificate that chains to them, or the handshake fails with
 * EMBER_ERR_CERT_REQUIRED or another 300s code.
 *
 * The config keeps its own reference to `trust` (the caller may free its handle at once);
 * the store is frozen when the first connection is made from this config.
 *
 * Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
 * when `cfg` or `trust` is NULL.
 *
 * Threads: one thread at a time until the config is frozen, any number after.
 */
ember_result ember_config_set_trust(ember_config *cfg, const ember_trust *trust);

/**
 * ember_config_set_client_auth sets whether a server asks its clients for a certificate
 * (mutual TLS). EMBER_CLIENT_AUTH_REQUIRED: a client without a certificate fails the
 * handshake on the server with EMBER_ERR_CERT_REQUIRED (the client receives the alert
 * certificate_required, 116), one whose chain does not lead to the trust store's roots with
 * a 300s code such as EMBER_ERR_CERT_UNKNOWN_ISSUER (the client receives the matching alert,
 * e.g. unknown_ca, 48). EMBER_CLIENT_AUTH_OPTIONAL: as REQUIRED, except that a client
 * without a certificate is let in (ember_conn_peer_cert_count() then answers
 * EMBER_ERR_WRONG_STATE). EMBER_CLIENT_AUTH_NONE: no certificate is asked for, even with a
 * trust store. Without a call, a server with a trust store (ember_config_set_trust())
 * requires client certificates and one without asks for none.
 *
 * OPTIONAL and REQUIRED verify with the config's trust store, which may be set before or
 * after this call: without one, ember_conn_new() fails with EMBER_ERR_INVALID_ARG and
 * ember_config_last_error() says that a trust store is missing. A client presents the
 * first chain added with ember_config_add_cert_pem() or ember_config_add_cert_pem_file()
 * when a server asks for a certificate, and sends none when it has none.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a client config; EMBER_ERR_INVALID_ARG when
 * `mode` is not an ember_client_auth value; EMBER_ERR_CONFIG_FROZEN once connections were
 * made; EMBER_ERR_NULL_ARG for a NULL `cfg`. ember_config_last_error() explains a failure.
 *
 * Threads: as every setter, one thread at a time until the config is frozen.
 */
ember_result ember_config_set_client_auth(ember_config *cfg, ember_client_auth mode);

/**
 * ember_config_set_verify_callback lets `cb` decide on every server chain a client made from
 * `cfg` receives. embertls first verifies the chain itself (against the config's trust
 * store, or the built-in Mozilla roots) and passes its verdict to `cb` with the chain and
 * the server name; `cb`'s answer replaces that verdict: 0 accepts the chain, even one
 * embertls rejected (e.g. a pinned self-signed certificate, which also works with an empty
 * trust store), and non-zero rejects it, even one embertls accepted. Returning the verdict
 * it was given upholds it: the handshake fails as it would without the callback (that
 * code, detail and alert). Any other rejection fails the handshake with
 * EMBER_ERR_CERT_REJECTED, ember_conn_last_error() gives the callback's reason, and the
 * server receives the alert certificate_unknown (46). A callback that accepts a chain
 * embertls refused should check the name itself (ember_cert_check_name()): verification
 * stops at the first problem, so a refused chain's names were not checked. The callback never
 * replaces the check that the server holds the certificate's private key (the handshake
 * signature), which embertls always makes. It is called once per full handshake, during
 * ember_conn_handshake() (or the ember_conn_read()/ember_conn_write() that completes it).
 * A NULL `cb` removes a callback set before.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a server config; EMBER_ERR_CONFIG_FROZEN once
 * connections were made; EMBER_ERR_NULL_ARG for a NULL `cfg`.
 *
 * Ownership: `userdata` is passed to `cb` unchanged and never freed by embertls; it must stay
 * valid as long as connections made from `cfg` may handshake (until the last is freed).
 * Threads: `cb` runs on the thread that drives the handshake, so connections made from one
 * config on several threads call it concurrently: it and `userdata` must be safe for that.
 */
ember_result ember_config_set_verify_callback(ember_config *cfg,
                                              ember_verify_cb cb,
                                              void *userdata);

/**
 * ember_config_set_alpn sets the application protocols (ALPN, RFC 7301) that connections
 * made from `cfg` offer (client) or accept (server): `count` NUL-terminated names such as
 * "h2" and "http/1.1", most preferred first (a server picks the first of its own list that
 * the client offered). A client and a server that both use ALPN but share no protocol fail
 * the handshake with EMBER_ERR_NO_ALPN_OVERLAP; when either side does not use it, the
 * handshake completes without a protocol. `count` 0 turns ALPN off. The strings are copied.
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG for an empty name or one longer than 255 bytes
 * (nothing changes then); EMBER_ERR_CONFIG_FROZEN once connections were made;
 * EMBER_ERR_NULL_ARG when `cfg` is NULL, or `protocols` or one of its first `count`
 * entries is NULL.
 *
 * Threads: one thread at a time until the config is frozen.
 */
ember_result ember_config_set_alpn(ember_config *cfg, const char *const *protocols, size_t count);

/**
 * ember_config_set_cipher_suites limits the cipher suites connections made from `cfg`
 * offer (client) or accept (server) to the `count` IANA ids at `suites` (e.g. 0x1301
 * TLS_AES_128_GCM_SHA256, 0xc02b TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), in this order
 * of preference; a server picks by its own order. TLS 1.3 and TLS 1.2 suites are distinct:
 * list some of each for both versions. `count` 0 restores the defaults (every suite
 * embertls offers: AES-256-GCM, AES-128-GCM and ChaCha20-Poly1305, ECDHE only for TLS 1.2).
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG when an id is not a suite embertls offers (RSA
 * key transport and CBC suites never are) or is listed twice (nothing changes then; the
 * detail lists what is offered); EMBER_ERR_CONFIG_FROZEN once connections were made;
 * EMBER_ERR_NULL_ARG when `cfg` is NULL, or `suites` is NULL with `count` > 0. A list with
 * no suite for the versions the config allows makes ember_conn_new() fail with
 * EMBER_ERR_INVALID_ARG.
 *
 * Ownership: the ids are copied. Threads: one thread at a time until the config is frozen.
 */
ember_result ember_config_set_cipher_suites(ember_config *cfg,
                                            const uint16_t *suites,
                                            size_t count);

/**
 * ember_config_set_groups limits the key-exchange groups connections made from `cfg` use
 * to the `count` IANA ids at `groups` (0x001d X25519, 0x0017 secp256r1, 0x0018 secp384r1),
 * in this order of preference (a client sends a key share for the first). `count` 0
 * restores the defaults (all three, X25519 first).
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG when an id is not a group embertls offers or is
 * listed twice (nothing changes then); EMBER_ERR_CONFIG_FROZEN once connections were made;
 * EMBER_ERR_NULL_ARG when `cfg` is NULL, or `groups` is NULL with `count` > 0.
 *
 * Ownership: the ids are copied. Threads: one thread at a time until the config is frozen.
 */
ember_result ember_config_set_groups(ember_config *cfg, const uint16_t *groups, size_t count);

/**
 * ember_config_add_cert_pem_file loads a certificate chain (PEM, leaf first, then
 * intermediates) and its private key (PEM: PKCS#8 "PRIVATE KEY", PKCS#1 "RSA PRIVATE KEY"
 * or SEC1 "EC PRIVATE KEY"; RSA, ECDSA P-256/P-384 or Ed25519) from two files, and checks
 * that the key belongs to the leaf. Several chains may be added, in order of preference. A
 * server presents, among the chains whose leaf names the client's server name (SNI;
 * `*.example.com` covers one label) or among all when none does, the first whose key can
 * sign with a scheme the client accepts, else the first of them: one site may have an ECDSA
 * and an RSA certificate. A client presents the first chain that fits the server's accepted
 * signatures the same way when a server asks for a client certificate.
 *
 * Returns EMBER_OK; EMBER_ERR_FILE when a file cannot be read; EMBER_ERR_BAD_PEM when the
 * chain is empty, not PEM, or has no certificate; EMBER_ERR_BAD_KEY when the key file has
 * no private key or an unsupported one; EMBER_ERR_KEY_MISMATCH when the key is not the
 * leaf's; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG for a NULL
 * argument. Every failure is reported here, never later, and ember_config_last_error()
 * names the file and the problem.
 *
 * Threads: one thread at a time until the config is frozen, any number after.
 */
ember_result ember_config_add_cert_pem_file(ember_config *cfg,
                                            const char *chain_path,
                                            const char *key_path);

/**
 * ember_config_add_cert_pem is ember_config_add_cert_pem_file() for PEM held in memory:
 * `chain_len` bytes at `chain` and `key_len` bytes at `key`. Both are copied; the caller
 * keeps ownership of its buffers.
 *
 * Returns as ember_config_add_cert_pem_file() does, except EMBER_ERR_FILE.
 *
 * Threads: one thread at a time until the config is frozen, any number after.
 */
ember_result ember_config_add_cert_pem(ember_config *cfg,
                                       const uint8_t *chain,
                                       size_t chain_len,
                                       const uint8_t *key,
                                       size_t key_len);

/**
 * ember_config_last_error copies the detail of the config's last failure into `buf` (at
 * most `len` bytes, NUL-terminated) and the detail's full length into `*out_n`. Failures
 * of ember_conn_new() with this config are recorded here too (e.g. a server config without
 * a certificate). With no failure so far the detail is "".
 *
 * Returns EMBER_OK; EMBER_ERR_BUFFER_TOO_SMALL when the text was truncated (size the buffer
 * `*out_n + 1`); EMBER_ERR_NULL_ARG when `cfg` or `out_n` is NULL, or `buf` is NULL with
 * `len` > 0.
 *
 * Threads: one thread at a time until the config is frozen, any number after.
 */
ember_result ember_config_last_error(const ember_config *cfg, char *buf, size_t len, size_t *out_n);

/**
 * ember_conn_new makes a connection from `cfg` and writes it to `*out`. The first connection
 * freezes the config (and its trust store).
 *
 * `server_name`: for a client, required: the DNS name or IP literal (e.g. "example.com",
 * "127.0.0.1", "::1") sent as SNI and checked against the server's certificate; for a
 * server, must be NULL. The string is copied.
 *
 * The connection starts in memory mode (ember_conn_feed()/ember_conn_drain()); call
 * ember_conn_set_io() or ember_conn_set_fd() before the first handshake call to use a
 * transport instead.
 *
 * Returns EMBER_OK; EMBER_ERR_NULL_ARG when `cfg` or `out` is NULL, or a client has no
 * `server_name`; EMBER_ERR_INVALID_ARG when `server_name` is not a DNS name or IP address,
 * or is given to a server; EMBER_ERR_NO_CERTIFICATE when a server config has no certificate.
 * ember_config_last_error() explains a failure.
 *
 * Ownership: the caller owns `*out` and frees it with ember_conn_free(). The connection
 * keeps what it needs of the config: the config may be freed first. Threads: any thread may
 * make connections from one frozen config at once; each connection is then used by one
 * thread at a time (it may move between threads).
 */
ember_result ember_conn_new(const ember_config *cfg, const char *server_name, ember_conn **out);

/**
 * ember_conn_free releases the connection and everything it holds. It sends nothing: call
 * ember_conn_close() first for a clean close_notify. No callback is called during or after
 * it; a file descriptor given to ember_conn_set_fd() is not closed. Passing NULL is a
 * harmless no-op. Called from inside one of the connection's own callbacks, it frees the
 * connection when the embertls call that ran the callback returns (that call's result is
 * still reported; the handle must not be used afterwards).
 *
 * Threads: call it once no other thread is using this handle.
 */
void ember_conn_free(ember_conn *conn);

/**
 * ember_conn_set_io makes the connection read and write through `rd` and `wr`, each called
 * with `userdata` (see ember_read_cb and ember_write_cb). Blocking callbacks make every call
 * block; callbacks that return EAGAIN make calls return EMBER_WANT_READ/EMBER_WANT_WRITE.
 * Callbacks are called only from inside embertls calls on this connection, on the calling
 * thread, and never after ember_conn_free().
 *
 * Returns EMBER_OK; EMBER_ERR_NULL_ARG when `conn`, `rd` or `wr` is NULL (`userdata` may be
 * NULL); EMBER_ERR_WRONG_STATE when the I/O was already chosen or bytes already moved.
 * `userdata` stays the caller's and must outlive the connection's use of it.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_set_io(ember_conn *conn,
                               ember_read_cb rd,
                               ember_write_cb wr,
                               void *userdata);

/**
 * ember_conn_set_fd makes the connection read and write the file descriptor `fd` (a
 * connected socket or a pipe). A blocking descriptor makes every call block; with
 * O_NONBLOCK, calls return EMBER_WANT_READ/EMBER_WANT_WRITE, meaning: poll for
 * POLLIN/POLLOUT and call again. EINTR is retried. Writes use MSG_NOSIGNAL, so a peer that
 * went away gives EMBER_ERR_IO (EPIPE), not SIGPIPE.
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG for a negative `fd`; EMBER_ERR_NULL_ARG for a
 * NULL `conn`; EMBER_ERR_WRONG_STATE when the I/O was already chosen or bytes already moved.
 * The descriptor stays the caller's: embertls never closes it.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_set_fd(ember_conn *conn, int fd);

/**
 * ember_conn_feed gives the connection `len` bytes received from the peer (memory mode)
 * and stores in `*out_n` how many it took. It takes fewer than `len` only when decrypted
 * data waits to be read: call ember_conn_read(), then feed the rest. `len == 0` tells the
 * connection that the peer's transport reached end of stream. The bytes are copied.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE on a connection using a transport, or after end
 * of stream was fed; the connection's fatal error if processing the bytes failed (then
 * drain and send the alert it queued); EMBER_ERR_NULL_ARG for NULL `conn`/`out_n`, or
 * NULL `buf` with `len` > 0.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_feed(ember_conn *conn, const uint8_t *buf, size_t len, size_t *out_n);

/**
 * ember_conn_drain moves up to `len` bytes the connection wants sent to the peer into
 * `buf` (memory mode) and stores the count in `*out_n` (0 when nothing is pending). Send
 * them in order. Drain after every call on the connection: ember_conn_pending_output()
 * says how much is waiting. Draining still works after a fatal error, so the alert that
 * explains it can reach the peer.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE on a connection using a transport;
 * EMBER_ERR_NULL_ARG for NULL `conn`/`out_n`, or NULL `buf` with `len` > 0.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_drain(ember_conn *conn, uint8_t *buf, size_t len, size_t *out_n);

/**
 * ember_conn_pending_output returns how many bytes wait to be sent: in memory mode, what
 * ember_conn_drain() would give; with a transport, what ember_conn_flush() still has to
 * write (poll for POLLOUT while it is not 0). Returns 0 for NULL, for a poisoned
 * connection, and from inside one of the connection's own callbacks.
 *
 * Threads: one thread at a time per connection (it is const, but counting may move bytes
 * within the connection).
 */
size_t ember_conn_pending_output(const ember_conn *conn);

/**
 * Drive the handshake until it completes or needs I/O.
 *
 * Returns EMBER_OK once the handshake is complete (calling again is harmless);
 * EMBER_WANT_READ / EMBER_WANT_WRITE when non-blocking I/O would block (call again when
 * the socket is ready; in memory mode, feed what arrived and drain what is pending first);
 * a 300s code when the peer's certificate is rejected (the peer is sent the matching alert);
 * a 400s code when negotiation fails (EMBER_ERR_NO_SHARED_VERSION, ..._CIPHER_SUITE,
 * ..._GROUP, EMBER_ERR_ALERT_RECEIVED with ember_conn_peer_alert(), ...);
 * EMBER_ERR_UNEXPECTED_EOF when the peer went away mid-handshake; EMBER_ERR_IO when the
 * transport failed. After an error the connection is dead: later calls return the same code,
 * and ember_conn_last_error() says why. EMBER_ERR_NULL_ARG for a NULL `conn`.
 *
 * Threads: one thread at a time per connection. `conn` stays owned by the caller.
 */
ember_result ember_conn_handshake(ember_conn *conn);

/**
 * ember_conn_read reads decrypted application data into `buf` (up to `len` bytes) and
 * stores the count in `*out_n`. It completes the handshake first if needed, like
 * ember_conn_handshake().
 *
 * Returns EMBER_OK with `*out_n` > 0 (or 0 when `len` is 0); EMBER_CLOSED once the peer
 * sent close_notify and all its data was read (a clean end; it stays so);
 * EMBER_WANT_READ / EMBER_WANT_WRITE when non-blocking I/O would block;
 * EMBER_ERR_UNEXPECTED_EOF when the peer's transport ended without close_notify (the data
 * may be truncated: never treat it as a clean end); the handshake's errors; EMBER_ERR_IO;
 * EMBER_ERR_NULL_ARG for NULL `conn`/`out_n`, or NULL `buf` with `len` > 0. `*out_n` is 0
 * on every result but EMBER_OK. Data the peer sent before a fatal error (ahead of its alert,
 * or of a record that fails to decrypt) is not lost: reads return it first, then the error.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_read(ember_conn *conn, uint8_t *buf, size_t len, size_t *out_n);

/**
 * ember_conn_write encrypts application data from `buf` (`len` bytes) and stores in
 * `*out_n` how many bytes it accepted. It completes the handshake first if needed.
 *
 * With blocking I/O every byte is written before it returns (`*out_n` == `len`). With
 * non-blocking I/O or in memory mode it accepts what fits (up to 64 KiB ahead of the
 * transport) and may return EMBER_OK with `*out_n` < `len`: pass the rest again later.
 * Accepted bytes are the connection's: they are sent by later write, flush or close calls
 * (memory mode: drained), never lost or sent twice.
 *
 * Returns EMBER_OK; EMBER_WANT_WRITE when nothing could be accepted (poll for POLLOUT, or
 * drain, then call again); EMBER_WANT_READ while a non-blocking handshake waits for input;
 * EMBER_ERR_WRONG_STATE after ember_conn_close(); the handshake's errors; EMBER_ERR_IO;
 * EMBER_ERR_NULL_ARG for NULL `conn`/`out_n`, or NULL `buf` with `len` > 0.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_write(ember_conn *conn, const uint8_t *buf, size_t len, size_t *out_n);

/**
 * ember_conn_flush writes all pending output to the transport.
 *
 * Returns EMBER_OK when nothing is left (always, in memory mode, where output waits for
 * ember_conn_drain()); EMBER_WANT_WRITE when a non-blocking transport would block (poll for
 * POLLOUT, call again); the connection's fatal error; EMBER_ERR_NULL_ARG for a NULL `conn`.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_flush(ember_conn *conn);

/**
 * ember_conn_close sends close_notify (once) and flushes it: the clean end of our half of
 * the connection. Writes are refused afterwards (EMBER_ERR_WRONG_STATE); reads go on until
 * the peer's close_notify gives EMBER_CLOSED. The file descriptor is not closed.
 *
 * Returns EMBER_OK when close_notify was written (memory mode: is ready to drain);
 * EMBER_WANT_WRITE when a non-blocking transport would block (call ember_conn_flush()
 * later); the connection's fatal error; EMBER_ERR_NULL_ARG for a NULL `conn`.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_close(ember_conn *conn);

/**
 * ember_conn_last_error copies the detail of the connection's last failure into `buf` (at
 * most `len` bytes, NUL-terminated) and the detail's full length into `*out_n`, e.g. "the
 * peer's certificate is not valid for \"example.com\"; it is valid for other.example".
 * EMBER_WANT_READ, EMBER_WANT_WRITE and EMBER_CLOSED are not failures. With no failure so
 * far the detail is "".
 *
 * Returns EMBER_OK; EMBER_ERR_BUFFER_TOO_SMALL when the text was truncated (size the buffer
 * `*out_n + 1`); EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG when
 * `conn` or `out_n` is NULL, or `buf` is NULL with `len` > 0.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_last_error(const ember_conn *conn, char *buf, size_t len, size_t *out_n);

/**
 * ember_conn_os_error returns the errno behind the connection's last EMBER_ERR_IO (for
 * example ECONNRESET or EPIPE, or the value an I/O callback returned), or 0 when the last
 * failure was not an I/O error, or was one without an errno: a transport that broke its
 * contract (a callback reporting more bytes than it was given, a write of 0 bytes).
 * Returns 0 for NULL.
 *
 * Threads: one thread at a time per connection.
 */
int ember_conn_os_error(const ember_conn *conn);

/**
 * ember_conn_protocol_version stores the negotiated protocol version (EMBER_TLS1_2 or
 * EMBER_TLS1_3) in `*out_version`.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE before it is negotiated (the ServerHello);
 * EMBER_ERR_NULL_ARG for a NULL argument.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_protocol_version(const ember_conn *conn, uint16_t *out_version);

/**
 * ember_conn_cipher_suite stores the negotiated cipher suite's IANA id (e.g. 0x1301) in
 * `*out_suite`; ember_cipher_suite_name() names it.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE before it is negotiated; EMBER_ERR_NULL_ARG for a
 * NULL argument.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_cipher_suite(const ember_conn *conn, uint16_t *out_suite);

/**
 * ember_conn_kx_group stores the IANA id of the key-exchange group the handshake used
 * (0x001d X25519, 0x0017 secp256r1, 0x0018 secp384r1) in `*out_group`;
 * ember_group_name() names it.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE before the key exchange, and after a resumed
 * TLS 1.2 handshake, which has none (it reuses the session's keys); EMBER_ERR_NULL_ARG for a
 * NULL argument.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_kx_group(const ember_conn *conn, uint16_t *out_group);

/**
 * ember_conn_server_name copies the server name into `buf` (at most `len` bytes,
 * NUL-terminated) and its length into `*out_n`: on a client, the name the connection was
 * made with; on a server, the name the client sent (SNI).
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE on a server before the ClientHello or when the
 * client sent no name; EMBER_ERR_BUFFER_TOO_SMALL when the name was truncated;
 * EMBER_ERR_NULL_ARG when `conn` or `out_n` is NULL, or `buf` is NULL with `len` > 0.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_server_name(const ember_conn *conn, char *buf, size_t len, size_t *out_n);

/**
 * ember_conn_alpn copies the application protocol agreed with ALPN (e.g. "h2") into `buf`
 * (at most `len` bytes, NUL-terminated) and its length into `*out_n`.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE before the handshake chose one, or when none was
 * agreed (either side offered no ALPN; a client and server that both offered protocols but
 * share none fail the handshake with EMBER_ERR_NO_ALPN_OVERLAP instead);
 * EMBER_ERR_BUFFER_TOO_SMALL when the name was truncated; EMBER_ERR_POISONED for a poisoned
 * connection; EMBER_ERR_NULL_ARG when `conn` or `out_n` is NULL, or `buf` is NULL with
 * `len` > 0.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_alpn(const ember_conn *conn, char *buf, size_t len, size_t *out_n);

/**
 * ember_conn_is_resumed stores 1 in `*out_resumed` when the handshake resumed an earlier
 * session (a ticket or a session id), 0 when it was a full handshake.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE until the handshake has completed;
 * EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a NULL argument.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_is_resumed(const ember_conn *conn, int *out_resumed);

/**
 * ember_conn_handshake_ns stores how long the handshake took, in nanoseconds, in
 * `*out_ns`: from the first call that moved the connection (handshake, read, write, feed)
 * to the one that completed it, so it includes waiting for the peer and the network.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE until the handshake has completed;
 * EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a NULL argument.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_handshake_ns(const ember_conn *conn, uint64_t *out_ns);

/**
 * ember_conn_id stores the connection's id in `*out_id`: unique in the process, the
 * `conn_id` that trace events of this connection carry (ember_config_set_trace_callback()).
 *
 * Returns EMBER_OK; EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a
 * NULL argument.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_id(const ember_conn *conn, uint64_t *out_id);

/**
 * ember_conn_key_update moves both directions of a TLS 1.3 connection to fresh keys: it
 * sends a KeyUpdate message that also asks the peer to update its sending keys (RFC 8446
 * section 4.6.3). Use it on long-lived connections; embertls also updates keys by itself
 * before a key's safe limit of records is reached.
 *
 * Returns EMBER_OK once the KeyUpdate is sent or queued (non-blocking I/O, memory mode:
 * it leaves with the next flush, write or drain); EMBER_ERR_WRONG_STATE before the
 * handshake has completed, after ember_conn_close(), or on a TLS 1.2 connection, which has
 * no key update (nothing is sent, the connection stays usable); EMBER_ERR_IO and other
 * errors of ember_conn_flush() when sending fails; EMBER_ERR_NULL_ARG when `conn` is NULL.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_key_update(ember_conn *conn);

/**
 * ember_conn_export_keying_material fills `out` (`out_len` bytes) with keying material
 * exported from the connection's session (RFC 5705 for TLS 1.2, RFC 8446 section 7.5 for
 * TLS 1.3), for the `label_len`-byte `label` and, unless `context` is NULL, the
 * `context_len`-byte `context`; both peers get the same bytes for the same inputs, which
 * binds an application protocol to this TLS session (e.g. channel binding).
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE until the handshake has completed;
 * EMBER_ERR_INVALID_ARG when `out_len` is 0; the connection's error after a fatal one;
 * EMBER_ERR_NULL_ARG when `conn` is NULL, or `out`, `label` or a non-NULL `context` is NULL
 * with a length > 0. ember_conn_last_error() explains a failure.
 *
 * Ownership: the caller keeps every buffer. Threads: one thread at a time per connection.
 */
ember_result ember_conn_export_keying_material(ember_conn *conn,
                                               const uint8_t *label,
                                               size_t label_len,
                                               const uint8_t *context,
                                               size_t context_len,
                                               uint8_t *out,
                                               size_t out_len);

/**
 * ember_conn_peer_alert stores the TLS alert description the peer sent with its fatal alert
 * (e.g. 45, certificate_expired; ember_alert_name() names it) in `*out_alert`. A handshake
 * that failed with EMBER_ERR_ALERT_RECEIVED, EMBER_ERR_NO_SHARED_VERSION or
 * EMBER_ERR_NO_ALPN_OVERLAP may have one.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE when the peer sent no fatal alert;
 * EMBER_ERR_NULL_ARG for a NULL argument.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_peer_alert(const ember_conn *conn, uint8_t *out_alert);

/**
 * ember_conn_peer_cert_count stores the number of certificates in the chain the peer
 * presented (its leaf plus the intermediates it sent) in `*out_n`.
 *
 * The chain is known on a client once the server's certificate was received and verified,
 * and on a server once the client's certificate was (ember_config_set_client_auth()); it
 * stays readable after the handshake, after ember_conn_close() and after a later failure.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE before the chain is known, and on a server whose
 * client sent no certificate (no client authentication, or OPTIONAL without one);
 * EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a NULL argument.
 * Threads: as every function on a connection, one thread at a time.
 */
ember_result ember_conn_peer_cert_count(const ember_conn *conn, size_t *out_n);

/**
 * ember_conn_peer_cert stores a pointer to the DER encoding of certificate `index` of the
 * peer's chain in `*out_der` and its length in `*out_len`. Index 0 is the peer's own (leaf)
 * certificate, the following ones the intermediates in the order the peer sent them.
 *
 * Ownership: the bytes are borrowed from the connection and stay valid and unchanged until
 * ember_conn_free(); the caller must not free or modify them.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_STATE when the chain is not known (as for
 * ember_conn_peer_cert_count()); EMBER_ERR_INVALID_ARG when `index` is not below the
 * count; EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a NULL
 * argument. On failure the outputs are left unchanged.
 *
 * Threads: one thread at a time per connection.
 */
ember_result ember_conn_peer_cert(const ember_conn *conn,
                                  size_t index,
                                  const uint8_t **out_der,
                                  size_t *out_len);

/**
 * ember_result_str returns a short English sentence describing `r`, e.g. "the peer's
 * certificate has expired". For the detail of a particular failure use
 * ember_conn_last_error() or ember_config_last_error().
 *
 * The string is static: never NULL, never to be freed. A value that is not an ember_result
 * gives "unknown embertls result code". Any thread may call it.
 */
const char *ember_result_str(ember_result r);

/**
 * ember_result_name returns the identifier of `r` as written in this header, e.g.
 * "EMBER_ERR_CERT_EXPIRED", for logs that a program or a person greps.
 *
 * The string is static: never NULL, never to be freed. A value that is not an ember_result
 * gives "EMBER_UNKNOWN_RESULT". Any thread may call it.
 */
const char *ember_result_name(ember_result r);

/**
 * ember_config_set_keylog_callback hands every secret the connections made from `cfg`
 * derive to `cb`, as NSS key log lines (what Wireshark reads to decrypt a capture: write
 * each line and a newline to a file). A NULL `cb` stops it. This is for debugging: anyone
 * who reads the lines can read the traffic they belong to.
 *
 * The callback runs inside the embertls call that derived the secret, on that thread; it
 * must not call embertls functions on that connection.
 *
 * Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
 * when `cfg` is NULL.
 *
 * Ownership: `userdata` is passed to `cb` unchanged and never freed; it must stay valid as
 * long as connections made from `cfg` live. Threads: connections on several threads call
 * `cb` concurrently: it and `userdata` must be safe for that.
 */
ember_result ember_config_set_keylog_callback(ember_config *cfg,
                                              ember_keylog_cb cb,
                                              void *userdata);

/**
 * ember_config_set_sslkeylogfile makes connections made from `cfg` append their secrets
 * to the file named by the environment variable SSLKEYLOGFILE (read when the first
 * connection is made), in the NSS key log format, when `enable` is non-zero and the
 * variable is set; as curl, Firefox and OpenSSL-based tools do. Off by default: a library
 * must not write secrets to disk because of a variable alone. Errors writing the file are
 * ignored.
 *
 * Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
 * when `cfg` is NULL.
 *
 * Threads: one thread at a time until the config is frozen.
 */
ember_result ember_config_set_sslkeylogfile(ember_config *cfg, int enable);

/**
 * ember_log_set_callback sends the engine's log records (rustls' and embertls'), up to
 * `max_level` (an ember_log_level: EMBER_LOG_ERROR only errors, ... EMBER_LOG_TRACE
 * everything), to `cb`, for the whole process; a NULL `cb` stops it. Records are off
 * until this is called. Secrets never appear in them.
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `cb` is not NULL and `max_level` is not an
 * ember_log_level (with a NULL `cb` the level is ignored), or when other Rust code in the
 * process already installed a logger for the `log` crate (one per process; embertls does
 * not take it over).
 *
 * Ownership: `userdata` is passed to `cb` unchanged and never freed; it must stay valid
 * until the callback is replaced or removed. Threads: any thread may call this; `cb` runs on
 * whichever thread logs, concurrently: it and `userdata` must be safe for that.
 */
ember_result ember_log_set_callback(ember_log_cb cb, void *userdata, int max_level);

/**
 * ember_protocol_version_name returns the name of a protocol version: "TLSv1.2" for
 * EMBER_TLS1_2, "TLSv1.3" for EMBER_TLS1_3, NULL for any other value.
 *
 * The string is static, never to be freed. Any thread may call it.
 */
const char *ember_protocol_version_name(uint16_t version);

/**
 * ember_cipher_suite_name returns the IANA name of a cipher suite id, e.g.
 * "TLS_AES_128_GCM_SHA256" for 0x1301 or "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" for
 * 0xc02c; NULL for a suite embertls cannot negotiate.
 *
 * The string is static, never to be freed. Any thread may call it.
 */
const char *ember_cipher_suite_name(uint16_t suite);

/**
 * ember_group_name returns the IANA name of a key-exchange group id: "X25519" (0x001d),
 * "secp256r1" (0x0017), "secp384r1" (0x0018); NULL for a group embertls cannot negotiate.
 *
 * The string is static, never to be freed. Any thread may call it.
 */
const char *ember_group_name(uint16_t group);

/**
 * ember_alert_name returns the RFC name of a TLS alert description, e.g.
 * "certificate_expired" for 45 (see ember_conn_peer_alert()); NULL for an unassigned value.
 *
 * The string is static, never to be freed. Any thread may call it.
 */
const char *ember_alert_name(uint8_t alert);

/**
 * ember_session_cache_new makes a client session cache for the sessions of up to
 * `capacity` servers (when one more comes, the server remembered first is forgotten) and
 * writes it to `*out`. Give it to client configs
 * with ember_config_set_session_cache(): connections made from any of them resume sessions
 * that any of them obtained, provided they verify servers alike: the same ember_trust
 * object (or both the built-in roots), the same verification callback, and the same client
 * certificates, if any. rustls never resumes a session under a different trust policy.
 *
 * Sessions live in memory only and never outlive the process: rustls, the engine, cannot
 * turn a client session into bytes, so there is no way to save one to disk.
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `capacity` is 0 or above 1048576 (2^20);
 * EMBER_ERR_NULL_ARG when `out` is NULL.
 *
 * Ownership: the caller owns `*out` and frees it with ember_session_cache_free(); configs
 * keep their own reference. Threads: a cache may be used by any number of threads.
 */
ember_result ember_session_cache_new(size_t capacity, ember_session_cache **out);

/**
 * ember_session_cache_free releases the caller's reference to `cache`; configs that use it
 * keep theirs. Passing NULL is a harmless no-op.
 *
 * Threads: call it once no other thread is using this handle.
 */
void ember_session_cache_free(ember_session_cache *cache);

/**
 * ember_config_set_session_cache makes the client config `cfg` keep its sessions in
 * `cache`, shared with every other config given the same cache, instead of its own.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a server config (a server resumes from tickets
 * and its session store); EMBER_ERR_CONFIG_FROZEN once connections were made;
 * EMBER_ERR_NULL_ARG when `cfg` or `cache` is NULL.
 *
 * Ownership: the config keeps its own reference to `cache`. Threads: one thread at a time
 * until the config is frozen.
 */
ember_result ember_config_set_session_cache(ember_config *cfg, const ember_session_cache *cache);

/**
 * ember_config_set_session_cache_size sets how many sessions the config keeps in memory.
 * On a client: the capacity of the config's own cache (256 by default); 0 turns client
 * resumption off; this replaces a cache set with ember_config_set_session_cache(). On a
 * server: the capacity of the in-memory session store that resumes clients by session id
 * (TLS 1.2) and, with tickets off, by stateful TLS 1.3 tickets (256 by default); 0 keeps no
 * sessions; this replaces a store set with ember_config_set_session_store(). Tickets are
 * separate: see ember_config_set_tickets().
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `size` is above 1048576 (2^20; the cache's
 * table is allocated for its full size up front); EMBER_ERR_CONFIG_FROZEN once connections
 * were made; EMBER_ERR_NULL_ARG when `cfg` is NULL.
 *
 * Threads: one thread at a time until the config is frozen.
 */
ember_result ember_config_set_session_cache_size(ember_config *cfg, size_t size);

/**
 * ember_config_set_tickets turns session tickets on (`enable` non-zero, the default) or off
 * for the server config `cfg`. With tickets, a server resumes sessions without keeping any
 * state: the session travels, encrypted, in the ticket the client keeps.
 *
 * The ticket keys are drawn in ember_config_new() and rotate every 12 hours (a ticket is
 * accepted for 12 to 24 hours) by derivation from that draw, so every worker process forked
 * after ember_config_new() agrees on them without talking to the others. Servers on other
 * machines need keys of the application's: ember_config_set_ticket_keys(). Turning tickets
 * off and on again draws new keys.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a client config; EMBER_ERR_CONFIG_FROZEN once
 * connections were made; EMBER_ERR_INTERNAL if the system's random number generator fails;
 * EMBER_ERR_NULL_ARG when `cfg` is NULL.
 *
 * Threads: one thread at a time until the config is frozen.
 */
ember_result ember_config_set_tickets(ember_config *cfg, int enable);

/**
 * ember_config_set_ticket_keys makes the server config `cfg` seal and open session tickets
 * with the application's keys, so that servers given the same keys (a fleet behind a load
 * balancer) resume each other's sessions, and turns tickets on. `keys` holds one or more
 * keys of EMBER_TICKET_KEY_LEN (80) bytes each, as nginx's ssl_session_ticket_key files do
 * (`openssl rand 80`): 16 bytes of key name, 64 of secret. The first key seals new
 * tickets; every key opens the tickets it sealed. To rotate, make a new config with the new
 * key first and the previous ones after it. Keep the keys secret: they decrypt every
 * session resumed with them.
 *
 * The tickets are embertls' own (AES-256-GCM, keys derived from the secret with HKDF), not
 * nginx's: the file format is shared, the tickets are not.
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `len` is 0 or not a multiple of 80 (nothing
 * changes then); EMBER_ERR_WRONG_ROLE on a client config; EMBER_ERR_CONFIG_FROZEN once
 * connections were made; EMBER_ERR_NULL_ARG when `cfg` is NULL, or `keys` is NULL with
 * `len` > 0.
 *
 * Ownership: the bytes are copied. Threads: one thread at a time until the config is frozen.
 */
ember_result ember_config_set_ticket_keys(ember_config *cfg, const uint8_t *keys, size_t len);

/**
 * ember_config_set_ticket_key_file is ember_config_set_ticket_keys() with the keys read
 * from the file at `path` (a NUL-terminated UTF-8 path).
 *
 * Returns EMBER_OK; EMBER_ERR_FILE when the file cannot be read; otherwise as
 * ember_config_set_ticket_keys().
 *
 * Threads: one thread at a time until the config is frozen.
 */
ember_result ember_config_set_ticket_key_file(ember_config *cfg, const char *path);

/**
 * ember_config_set_session_store makes the server config `cfg` keep sessions in the
 * application's store (memcached, Redis, a table shared by worker processes) through three
 * callbacks, instead of its in-memory cache, so that servers sharing the store resume each
 * other's sessions by session id (TLS 1.2) or stateful ticket (TLS 1.3 with tickets off).
 * Keys are up to 32 bytes and values a few hundred bytes, at most EMBER_SESSION_VALUE_MAX;
 * both are opaque and values must be kept exactly. A TLS 1.3 session is used once: embertls
 * gets it, then removes it, and resumes only if the removal succeeded (so two servers can
 * never both accept one session). Keep values secret: they hold session keys.
 *
 * Returns EMBER_OK; EMBER_ERR_WRONG_ROLE on a client config; EMBER_ERR_CONFIG_FROZEN once
 * connections were made; EMBER_ERR_NULL_ARG when `cfg` or any callback is NULL.
 * ember_config_set_session_cache_size() replaces the store with an in-memory cache again.
 *
 * Ownership: `userdata` is passed to the callbacks unchanged and never freed; it must stay
 * valid as long as connections made from `cfg` live. Threads: the callbacks run on the
 * threads that drive connections, concurrently: they and `userdata` must be safe for that.
 */
ember_result ember_config_set_session_store(ember_config *cfg,
                                            ember_session_put_cb put,
                                            ember_session_get_cb get,
                                            ember_session_remove_cb remove,
                                            void *userdata);

/**
 * ember_config_set_trace_callback makes every connection made from `cfg` report its
 * handshake to `cb`, step by step as the steps happen (not reconstructed afterwards): the
 * hellos as their bytes leave the engine or arrive, each secret as it is derived, the
 * certificate checks as the verifier makes them, Finished and completion (or the failure)
 * as rustls reports them. A NULL `cb` stops tracing for connections made later.
 *
 * The callback runs inside the embertls call that observed the step (ember_conn_new() for
 * a client's ClientHello, then ember_conn_handshake()/read()/write()/feed()) on the thread
 * making that call. It must not call embertls functions on that connection.
 *
 * Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once connections were made; EMBER_ERR_NULL_ARG
 * when `cfg` is NULL.
 *
 * Ownership: `userdata` is passed to `cb` unchanged and never freed; it must stay valid as
 * long as connections made from `cfg` live. Threads: connections on several threads call
 * `cb` concurrently: it and `userdata` must be safe for that.
 */
ember_result ember_config_set_trace_callback(ember_config *cfg, ember_trace_cb cb, void *userdata);

/**
 * ember_trace_step_name returns the name of `step` as this header spells it without the
 * prefix, e.g. "CLIENT_HELLO_SENT", or NULL for a value that is not a step.
 *
 * The string is static: never to be freed. Any thread may call it.
 */
const char *ember_trace_step_name(uint32_t step);

/**
 * ember_trust_new makes an empty trust store and writes it to `*out`. An empty store
 * trusts nothing; add roots with ember_trust_add_pem(), ember_trust_add_pem_file(),
 * ember_trust_add_der(), ember_trust_add_pem_dir(), ember_trust_add_system() or
 * ember_trust_add_builtin(), then give it to a config with ember_config_set_trust().
 *
 * A store keeps each root once: adding a root it already holds (the same subject, key and
 * name constraints, e.g. the same certificate from another file) changes nothing and is
 * counted neither added nor skipped.
 *
 * Returns EMBER_OK, or EMBER_ERR_NULL_ARG when `out` is NULL.
 *
 * Ownership: the caller owns `*out` and frees it with ember_trust_free(). Threads: a store
 * may change until a connection is made from a config that uses it; from then on it is
 * frozen and may be shared by any number of threads.
 */
ember_result ember_trust_new(ember_trust **out);

/**
 * ember_trust_free releases the caller's reference to `trust`. Configs that were given the
 * store keep their own reference, so it may be freed right after ember_config_set_trust().
 * Passing NULL is a harmless no-op.
 *
 * Threads: call it once no other thread is using this handle.
 */
void ember_trust_free(ember_trust *trust);

/**
 * ember_trust_add_pem adds every CERTIFICATE block in the `len` bytes at `pem` as a
 * trusted root. The input is copied; the caller keeps ownership of `pem`. A root the store
 * already holds is kept once (ember_trust_count() tells how many it holds).
 *
 * All or nothing: returns EMBER_OK when every certificate was added; EMBER_ERR_BAD_PEM
 * when the input is empty, is not PEM, has no CERTIFICATE block, or holds a certificate
 * that cannot be parsed (nothing is added then); EMBER_ERR_CONFIG_FROZEN once a connection
 * uses the store; EMBER_ERR_NULL_ARG when `trust` is NULL, or `pem` is NULL with `len` > 0.
 * ember_trust_last_error() explains a failure.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_add_pem(ember_trust *trust, const uint8_t *pem, size_t len);

/**
 * ember_trust_add_pem_file adds every CERTIFICATE block in the PEM file at `path` (a
 * NUL-terminated UTF-8 path) as a trusted root, all or nothing.
 *
 * Returns EMBER_OK; EMBER_ERR_FILE when the file cannot be read (the detail names the path
 * and the OS error); otherwise as ember_trust_add_pem().
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_add_pem_file(ember_trust *trust, const char *path);

/**
 * ember_trust_add_der adds the one certificate in the `len` bytes at `der` (DER, e.g. from
 * an OS keychain) as a trusted root. The input is copied; the caller keeps ownership of
 * `der`. Adding a root the store already holds is a harmless no-op.
 *
 * Returns EMBER_OK; EMBER_ERR_BAD_CERTIFICATE when the bytes are not a certificate
 * (nothing is added then); EMBER_ERR_CONFIG_FROZEN once a connection uses the store;
 * EMBER_ERR_NULL_ARG when `trust` is NULL, or `der` is NULL with `len` > 0.
 * ember_trust_last_error() explains a failure.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_add_der(ember_trust *trust, const uint8_t *der, size_t len);

/**
 * ember_trust_add_pem_dir adds the certificates of every regular file in the directory
 * `dir` (a NUL-terminated UTF-8 path): not its subdirectories; symbolic links are
 * followed; files are read in name order. It suits directories such as /etc/ssl/certs,
 * whose hashed links name each root a second time (a root already held counts neither
 * added nor skipped).
 *
 * Lenient, unlike ember_trust_add_pem_file(): a file that cannot be read, is not PEM or has
 * no CERTIFICATE block is skipped, and so is each certificate that cannot be parsed (the
 * other certificates of its file are added). `*out_added` receives how many roots were new
 * to the store, `*out_skipped` how many entries were skipped; when it is not 0,
 * ember_trust_last_error() says how many and names the first few with the reason.
 *
 * Returns EMBER_OK when at least one usable certificate was found (new or already held);
 * EMBER_ERR_FILE when the directory cannot be read (the detail names it and the OS error);
 * EMBER_ERR_BAD_PEM when it holds no usable certificate (nothing is added then);
 * EMBER_ERR_CONFIG_FROZEN once a connection uses the store; EMBER_ERR_NULL_ARG when
 * `trust`, `dir`, `out_added` or `out_skipped` is NULL. The counts are written on EMBER_OK
 * only.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_add_pem_dir(ember_trust *trust,
                                     const char *dir,
                                     size_t *out_added,
                                     size_t *out_skipped);

/**
 * ember_trust_add_system adds the system's trusted roots: the PEM file named by the
 * environment variable SSL_CERT_FILE and the directories (colon-separated) named by
 * SSL_CERT_DIR when either is set, otherwise the platform's usual bundle (e.g.
 * /etc/ssl/certs/ca-certificates.crt). The environment is read at each call.
 *
 * Lenient and counted as ember_trust_add_pem_dir(): `*out_added` receives how many roots
 * were new to the store, `*out_skipped` how many certificates could not be parsed plus how
 * many files or directories could not be read; when it is not 0, ember_trust_last_error()
 * describes them.
 *
 * Returns EMBER_OK when at least one usable certificate was found (new or already held);
 * EMBER_ERR_BAD_PEM when none was (nothing is added then; the detail says where it
 * looked and what failed); EMBER_ERR_CONFIG_FROZEN once a connection uses the store;
 * EMBER_ERR_NULL_ARG when `trust`, `out_added` or `out_skipped` is NULL. The counts are
 * written on EMBER_OK only.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_add_system(ember_trust *trust, size_t *out_added, size_t *out_skipped);

/**
 * ember_trust_add_builtin adds the Mozilla roots built into embertls (webpki-roots), the
 * roots a client config without ember_config_set_trust() trusts, so that they can be
 * combined with others. `*out_added` receives how many were new to the store.
 *
 * Returns EMBER_OK; EMBER_ERR_CONFIG_FROZEN once a connection uses the store;
 * EMBER_ERR_NULL_ARG when `trust` or `out_added` is NULL.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_add_builtin(ember_trust *trust, size_t *out_added);

/**
 * ember_trust_add_crl adds the certificate revocation lists in the `len` bytes at `data`:
 * one CRL in DER, or every "X509 CRL" block of PEM. The input is copied; the caller keeps
 * ownership of `data`. A CRL the store already holds (the same bytes) is kept once.
 *
 * Once a store holds a CRL, every connection verifying a peer against it checks
 * revocation, as ember_trust_set_revocation() says: by default every certificate of the
 * peer's chain below the root must be covered by a current CRL from its issuer. A revoked
 * certificate fails the handshake with EMBER_ERR_CERT_REVOKED, whose detail names the
 * certificate (subject and serial), the CRL's issuer, the date and the reason; a certificate
 * no CRL covers, or an expired CRL, fails it with EMBER_ERR_CERT_REVOCATION_UNKNOWN. A store
 * without CRLs checks no revocation. The CRL's own signature is checked during the
 * handshake, against the issuer's key as found in the peer's chain.
 *
 * All or nothing: returns EMBER_OK when every CRL was added; EMBER_ERR_BAD_PEM when the
 * input is empty, is neither DER nor PEM, or has no X509 CRL block; EMBER_ERR_BAD_CRL when
 * a CRL cannot be parsed or uses what embertls does not support, e.g. a delta CRL (nothing
 * is added then); EMBER_ERR_CONFIG_FROZEN once a connection uses the store;
 * EMBER_ERR_NULL_ARG when `trust` is NULL, or `data` is NULL with `len` > 0.
 * ember_trust_last_error() explains a failure.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_add_crl(ember_trust *trust, const uint8_t *data, size_t len);

/**
 * ember_trust_add_crl_file adds the CRLs in the file at `path` (a NUL-terminated UTF-8
 * path; DER or PEM), all or nothing, as ember_trust_add_crl() does.
 *
 * Returns EMBER_OK; EMBER_ERR_FILE when the file cannot be read (the detail names the path
 * and the OS error); otherwise as ember_trust_add_crl().
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_add_crl_file(ember_trust *trust, const char *path);

/**
 * ember_trust_set_revocation sets how the store's CRLs are applied, as a bitwise OR of
 * EMBER_REVOCATION_* flags; 0 (the default) is the strictest policy: every certificate of
 * the chain below the root is checked, a certificate whose issuer has no CRL in the store
 * fails, and so does one whose CRL is past its nextUpdate time (as OpenSSL does with
 * X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL). The policy has no effect while the
 * store holds no CRL. A later call replaces the policy. The flags are independent:
 * EMBER_REVOCATION_ALLOW_UNKNOWN_STATUS does not make an expired CRL acceptable (that is
 * EMBER_REVOCATION_ALLOW_EXPIRED_CRL). A CRL whose signature does not verify against its
 * issuer in the peer's chain fails the handshake with EMBER_ERR_CERT_REVOCATION_UNKNOWN
 * whatever the flags (the peer receives the alert handshake_failure).
 *
 * Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `flags` has a bit that is not an
 * EMBER_REVOCATION_* flag (the policy is unchanged); EMBER_ERR_CONFIG_FROZEN once a
 * connection uses the store; EMBER_ERR_NULL_ARG when `trust` is NULL.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_set_revocation(ember_trust *trust, uint32_t flags);

/**
 * ember_trust_crl_count writes how many CRLs the store holds to `*out_n` (each once).
 *
 * Returns EMBER_OK, or EMBER_ERR_NULL_ARG when `trust` or `out_n` is NULL.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_crl_count(const ember_trust *trust, size_t *out_n);

/**
 * ember_trust_count writes how many roots the store holds to `*out_n` (each root once),
 * e.g. to see what an all-or-nothing ember_trust_add_pem_file() took. It also works on a
 * frozen store.
 *
 * Returns EMBER_OK, or EMBER_ERR_NULL_ARG when `trust` or `out_n` is NULL.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_count(const ember_trust *trust, size_t *out_n);

/**
 * ember_trust_last_error copies the detail of the store's last failed call, or of the last
 * ember_trust_add_pem_dir() / ember_trust_add_system() that skipped entries, into `buf` (at
 * most `len` bytes, NUL-terminated) and the detail's full length into `*out_n`. With no
 * failure so far the detail is "" .
 *
 * Returns EMBER_OK; EMBER_ERR_BUFFER_TOO_SMALL when the text was truncated (size the
 * buffer `*out_n + 1`); EMBER_ERR_NULL_ARG when `trust` or `out_n` is NULL, or `buf` is
 * NULL with `len` > 0.
 *
 * Threads: one thread at a time until the store is frozen, any number after.
 */
ember_result ember_trust_last_error(const ember_trust *trust, char *buf, size_t len, size_t *out_n);

/**
 * ember_version returns "embertls X.Y.Z (rustls A.B.C)": this library's version and the
 * version of the rustls engine inside it. Compare with the EMBER_VERSION_* macros to check
 * that the header and the library match.
 *
 * The string is static: never NULL, never to be freed. Any thread may call it.
 */
const char *ember_version(void);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus


/* The class of a result: 0 progress, 100 misuse, 200 I/O, 300 certificate, 400 handshake
 * or protocol, 500 internal. */
#define EMBER_RESULT_CLASS(r) ((((int)(r)) / 100) * 100)
#define EMBER_RESULT_IS_ERROR(r) (((int)(r)) >= 100)
#define EMBER_RESULT_IS_MISUSE(r) (EMBER_RESULT_CLASS(r) == 100)
#define EMBER_RESULT_IS_IO_ERROR(r) (EMBER_RESULT_CLASS(r) == 200)
#define EMBER_RESULT_IS_CERT_ERROR(r) (EMBER_RESULT_CLASS(r) == 300)
#define EMBER_RESULT_IS_HANDSHAKE_ERROR(r) (EMBER_RESULT_CLASS(r) == 400)
#define EMBER_RESULT_IS_INTERNAL_ERROR(r) (EMBER_RESULT_CLASS(r) == 500)

#endif /* EMBERTLS_H */
