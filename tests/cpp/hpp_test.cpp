/*
 * hpp_test: include/embertls.hpp exercised in-process, in memory mode (a client and a
 * server Conn that feed each other), so every case is deterministic and needs no socket.
 *
 *   hpp_test PKI_DIR      (the test PKI of tests/all/support.rs)
 *
 * Prints "ok NAME" or "FAIL NAME: why" per case, then "N passed, M failed"; exits non-zero
 * when a case failed. tests/all/cpp.rs builds it as C++17 and as C++20 and runs it.
 */
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>
#if __cplusplus >= 202002L
#include <span>
#endif

#include "embertls.hpp"

using embertls::Config;
using embertls::Conn;
using embertls::status;
using embertls::Trust;

namespace {

std::string g_pki;

std::string pki(std::string_view file)
{
    return g_pki + "/" + std::string(file);
}

/* A failed expectation: the case stops and reports `what`. */
struct failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};

template <class T, class U>
void expect_eq(const T &want, const U &got, const char *what)
{
    if (!(want == got)) {
        std::ostringstream text;
        text << what << ": expected " << want << ", got " << got;
        throw failure(text.str());
    }
}

void expect(bool cond, const char *what)
{
    if (!cond)
        throw failure(what);
}

/* Runs `body`, which must throw E with `code`; returns the exception for more checks. */
template <class E>
E expect_throw(ember_result code, const std::function<void()> &body, const char *what)
{
    try {
        body();
    } catch (const E &e) {
        if (e.code() != code)
            throw failure(std::string(what) + ": expected " + ember_result_name(code) + ", got " +
                          e.what());
        return e;
    } catch (const embertls::error &e) {
        throw failure(std::string(what) + ": the wrong exception class for " + e.what());
    }
    throw failure(std::string(what) + ": nothing was thrown");
}

/* Feeds all of `bytes` to `to`. */
void feed_all(Conn &to, const std::vector<std::uint8_t> &bytes)
{
    std::size_t off = 0;
    while (off < bytes.size()) {
        std::size_t n = to.feed(bytes.data() + off, bytes.size() - off);
        expect(n > 0, "feed took nothing");
        off += n;
    }
}

/* Moves pending bytes both ways until neither side has any. */
void pump(Conn &client, Conn &server)
{
    for (int round = 0; round < 50; round++) {
        std::vector<std::uint8_t> to_server = client.drain();
        std::vector<std::uint8_t> to_client = server.drain();
        if (to_server.empty() && to_client.empty())
            return;
        feed_all(server, to_server);
        feed_all(client, to_client);
    }
    throw failure("the pair never went quiet");
}

/* Drives both handshakes to completion; returns the client's first status, which must be
 * want_read (the ClientHello is queued, the reply not yet fed). */
status handshake_pair(Conn &client, Conn &server)
{
    status first = client.handshake();
    status c = first, s = status::want_read;
    for (int round = 0; round < 20 && !(c == status::ok && s == status::ok); round++) {
        pump(client, server);
        if (s != status::ok)
            s = server.handshake();
        pump(client, server);
        if (c != status::ok)
            c = client.handshake();
    }
    expect(c == status::ok && s == status::ok, "the handshake did not complete");
    pump(client, server);
    return first;
}

Config server_config(std::string_view chain = "ecdsa-p256")
{
    Config cfg = Config::server();
    cfg.add_cert_pem_file(pki(std::string(chain) + ".pem"), pki(std::string(chain) + ".key"));
    return cfg;
}

Config client_config()
{
    Trust trust;
    trust.add_pem_file(pki("ca.pem"));
    Config cfg = Config::client();
    cfg.set_trust(trust); /* the config keeps its own reference; `trust` dies here */
    return cfg;
}

/* Reads what `from` has for us, pumping as needed, until `want` bytes came. */
std::string read_n(Conn &from, Conn &other, std::size_t want)
{
    std::string got;
    std::array<char, 4096> buf{};
    for (int round = 0; round < 50 && got.size() < want; round++) {
        embertls::io_result r = from.read(buf);
        if (r)
            got.append(buf.data(), r.bytes);
        else if (r.state == status::want_read)
            pump(from, other);
        else
            throw failure("read ended early");
    }
    return got;
}

// ---------------------------------------------------------------------------------------
// Cases
// ---------------------------------------------------------------------------------------

void memory_pair_handshake_and_facts()
{
    Config scfg = server_config();
    scfg.set_alpn({"h2"});
    Config ccfg = client_config();
    ccfg.set_alpn({"h2", "http/1.1"});
    Conn client(ccfg, "localhost");
    Conn server(scfg);
    /* The configs may go: the connections keep what they need. */
    { Config gone = std::move(scfg); }
    { Config gone = std::move(ccfg); }

    expect(handshake_pair(client, server) == status::want_read,
           "the first client handshake() returns want_read instead of throwing");
    expect(client.handshake() == status::ok, "handshake() again is harmless");
    expect_eq(std::string("TLSv1.3"), std::string(client.protocol_version_name()), "version");
    expect_eq(EMBER_TLS1_3, client.protocol_version(), "version number");
    expect(!client.cipher_suite_name().empty(), "suite name");
    expect_eq(client.cipher_suite(), server.cipher_suite(), "the same suite on both sides");
    expect_eq(std::string(embertls::cipher_suite_name(client.cipher_suite())),
              std::string(client.cipher_suite_name()), "suite name both ways");
    expect(!client.kx_group_name().empty(), "group name");
    expect_eq(std::string("localhost"), server.server_name().value_or("-"), "SNI on the server");
    expect_eq(std::string("localhost"), client.server_name().value_or("-"), "name on the client");
    expect_eq(std::string("h2"), client.alpn().value_or("(none)"), "ALPN on the client");
    expect_eq(std::string("h2"), server.alpn().value_or("(none)"), "ALPN on the server");
    expect(!client.resumed(), "a first handshake is full");
    expect(client.handshake_ns() > 0, "handshake time");
    expect(client.id() != server.id(), "connection ids differ");
    expect(!client.peer_alert().has_value(), "no alert");
    expect_eq(0, client.os_error(), "no OS error");
    expect_eq(std::string(), client.last_error(), "no detail without a failure");

    expect_eq(std::size_t(2), client.peer_cert_count(), "leaf and intermediate");
    embertls::bytes_view leaf = client.peer_cert(0);
    expect(leaf.size() > 100 && leaf[0] == 0x30, "the leaf is DER");
    expect(embertls::cert_check_name(leaf, "localhost"), "the leaf is for localhost");
    expect(!embertls::cert_check_name(leaf, "other.example"), "and not for other.example");
    expect_eq(std::size_t(32), embertls::cert_spki_sha256(leaf).size(), "SPKI hash");
    expect_throw<embertls::misuse_error>(EMBER_ERR_INVALID_ARG, [&] { client.peer_cert(5); },
                                         "peer_cert past the chain");
    expect_throw<embertls::misuse_error>(EMBER_ERR_WRONG_STATE, [&] { server.peer_cert_count(); },
                                         "a server without client auth has no peer chain");

    std::vector<std::uint8_t> a = client.export_keying_material(32, "EXPORTER-test", "ctx");
    std::vector<std::uint8_t> b = server.export_keying_material(32, "EXPORTER-test", "ctx");
    expect(a == b && a.size() == 32, "both sides export the same keying material");
}

void data_both_ways_and_clean_close()
{
    Conn client(client_config(), "localhost");
    Conn server(server_config());
    handshake_pair(client, server);

    /* A string literal goes without its NUL; a vector of bytes as it is. */
    expect_eq(std::size_t(4), client.write("ping").bytes, "write(literal)");
    pump(client, server);
    expect_eq(std::string("ping"), read_n(server, client, 4), "the server reads ping");
    std::vector<std::uint8_t> pong{'p', 'o', 'n', 'g'};
    expect_eq(std::size_t(4), server.write(pong).bytes, "write(vector)");
    pump(client, server);
    expect_eq(std::string("pong"), read_n(client, server, 4), "the client reads pong");

    std::array<std::uint8_t, 16> buf{};
    embertls::io_result r = client.read(buf);
    expect(!r && r.state == status::want_read && r.bytes == 0,
           "reading with nothing fed is want_read, not an exception");

    expect(client.close() == status::ok, "close");
    expect_throw<embertls::misuse_error>(EMBER_ERR_WRONG_STATE, [&] { client.write("late"); },
                                         "write after close");
    pump(client, server);
    r = server.read(buf);
    expect(r.state == status::closed, "the server sees close_notify as closed");
    expect(server.read(buf).state == status::closed, "and it stays closed");
}

void certificate_failure_throws_cert_error()
{
    Conn client(client_config(), "localhost");
    Conn server(server_config("expired"));
    embertls::cert_error e = expect_throw<embertls::cert_error>(
        EMBER_ERR_CERT_EXPIRED, [&] { handshake_pair(client, server); }, "an expired server");
    expect_eq(std::string("EMBER_ERR_CERT_EXPIRED"), std::string(e.name()), "name()");
    expect_eq(300, e.result_class(), "result_class()");
    expect(e.detail().find("expired") != std::string::npos, "the detail says expired");
    expect_eq(std::string("EMBER_ERR_CERT_EXPIRED: ") + e.detail(), std::string(e.what()),
              "what() is NAME: detail");
    expect_eq(e.detail(), client.last_error(), "the connection keeps the detail");
    /* A failure is final: the same code again. */
    expect_throw<embertls::cert_error>(EMBER_ERR_CERT_EXPIRED, [&] { client.handshake(); },
                                       "the failure stays");
    /* The server was sent the alert: feed it what the client drained. */
    feed_all(server, client.drain());
    embertls::handshake_error alert = expect_throw<embertls::handshake_error>(
        EMBER_ERR_ALERT_RECEIVED, [&] { server.handshake(); }, "the server gets the alert");
    expect_eq(std::string("certificate_expired"),
              std::string(embertls::alert_name(server.peer_alert().value_or(0))), "which alert");
    (void)alert;
}

void alpn_mismatch_throws_handshake_error()
{
    Config scfg = server_config();
    scfg.set_alpn(std::vector<std::string>{"imap"});
    Config ccfg = client_config();
    ccfg.set_alpn(std::vector<std::string>{"h2"});
    Conn client(ccfg, "localhost");
    Conn server(scfg);
    expect_throw<embertls::handshake_error>(EMBER_ERR_NO_ALPN_OVERLAP,
                                            [&] { handshake_pair(client, server); },
                                            "no shared protocol");
}

void version_limits()
{
    Config scfg = server_config();
    scfg.set_versions(EMBER_TLS1_2, EMBER_TLS1_2);
    Conn client(client_config(), "localhost");
    Conn server(scfg);
    handshake_pair(client, server);
    expect_eq(std::string("TLSv1.2"), std::string(client.protocol_version_name()), "TLS 1.2");
    expect_throw<embertls::misuse_error>(EMBER_ERR_WRONG_STATE, [&] { client.key_update(); },
                                         "no key update in TLS 1.2");
    expect_throw<embertls::misuse_error>(
        EMBER_ERR_INVALID_ARG, [] { Config::client().set_versions(EMBER_TLS1_3, EMBER_TLS1_2); },
        "min > max");
}

void resumption_through_a_shared_cache()
{
    embertls::SessionCache cache(8);
    Config scfg = server_config();
    Config ccfg = client_config();
    ccfg.set_session_cache(cache);
    { embertls::SessionCache gone = std::move(cache); } /* the config keeps its reference */

    for (int i = 0; i < 2; i++) {
        Conn client(ccfg, "localhost");
        Conn server(scfg);
        handshake_pair(client, server);
        /* TLS 1.3 tickets come after the handshake: data makes the client read them. */
        server.write("x");
        pump(client, server);
        expect_eq(std::string("x"), read_n(client, server, 1), "data");
        expect_eq(i == 1, client.resumed(), i == 0 ? "full first" : "resumed second");
    }
}

void misuse_is_reported_with_detail()
{
    Trust trust;
    embertls::misuse_error e = expect_throw<embertls::misuse_error>(
        EMBER_ERR_FILE, [&] { trust.add_pem_file("/nonexistent/ca.pem"); }, "a missing file");
    expect(e.detail().find("/nonexistent/ca.pem") != std::string::npos, "the detail names it");
    expect_throw<embertls::misuse_error>(EMBER_ERR_BAD_PEM, [&] { trust.add_pem("not PEM"); },
                                         "not PEM");
    expect_eq(std::size_t(0), trust.count(), "all or nothing");
    trust.add_pem_file(pki("ca.pem")).add_crl_file(pki("crl-intermediate.pem"));
    expect_eq(std::size_t(1), trust.count(), "one root");
    expect_eq(std::size_t(1), trust.crl_count(), "one CRL");
    trust.set_revocation(EMBER_REVOCATION_END_ENTITY_ONLY);

    expect_throw<embertls::misuse_error>(
        EMBER_ERR_WRONG_ROLE, [] { Config::client().set_client_auth(EMBER_CLIENT_AUTH_REQUIRED); },
        "client auth on a client");
    expect_throw<embertls::misuse_error>(
        EMBER_ERR_INVALID_ARG, [] { Config::client().set_alpn({""}); }, "an empty ALPN name");
    expect_throw<embertls::misuse_error>(
        EMBER_ERR_NO_CERTIFICATE, [] { Conn server(Config::server()); }, "a server without a cert");
    expect_throw<embertls::misuse_error>(
        EMBER_ERR_KEY_MISMATCH,
        [] { Config::server().add_cert_pem_file(pki("ecdsa-p256.pem"), pki("ecdsa-p384.key")); },
        "a key that is not the certificate's");

    Config cfg = client_config();
    Conn conn(cfg, "localhost");
    expect_throw<embertls::misuse_error>(EMBER_ERR_CONFIG_FROZEN,
                                         [&] { cfg.set_versions(EMBER_TLS1_3, EMBER_TLS1_3); },
                                         "a frozen config");
    expect_throw<embertls::misuse_error>(EMBER_ERR_WRONG_STATE, [&] { conn.protocol_version(); },
                                         "the version before the handshake");
    expect(!conn.alpn().has_value(), "no ALPN before the handshake");
}

void owners_move_and_release()
{
    static_assert(!std::is_copy_constructible_v<Conn> && !std::is_copy_assignable_v<Conn>);
    static_assert(!std::is_copy_constructible_v<Config> && !std::is_copy_constructible_v<Trust>);
    static_assert(std::is_nothrow_move_constructible_v<Conn> &&
                  std::is_nothrow_move_assignable_v<Config>);

    Config cfg = client_config();
    Conn a(cfg, "localhost");
    Conn b = std::move(a);
    expect(!a.valid() && b.valid(), "a move leaves the source empty");
    a = std::move(b);
    expect(a.valid() && !b.valid(), "move assignment");
    ember_conn *raw = a.release();
    expect(raw != nullptr && !a.valid(), "release gives up the handle");
    Conn again(raw); /* and an owner takes it back */
    expect(again.get() == raw, "adopted");
    expect_eq(std::size_t(0), b.pending_output(), "a moved-from Conn answers 0");
}

void library_version()
{
    std::string_view v = embertls::version();
    expect(v.substr(0, 9) == "embertls ", "version() starts with embertls");
    expect(v.find(EMBER_VERSION_STRING) != std::string_view::npos, "header and library agree");
    expect_eq(std::string("EMBER_ERR_CERT_EXPIRED"),
              std::string(embertls::result_name(EMBER_ERR_CERT_EXPIRED)), "result_name");
    expect(embertls::protocol_version_name(0x0301).empty(), "an unknown version has no name");
}

#if __cplusplus >= 202002L
void cpp20_spans()
{
    Conn client(client_config(), "localhost");
    Conn server(server_config());
    handshake_pair(client, server);
    std::array<std::byte, 3> out{std::byte{'a'}, std::byte{'b'}, std::byte{'c'}};
    expect_eq(std::size_t(3), client.write(std::span<const std::byte>(out)).bytes, "write(span)");
    pump(client, server);
    std::array<std::byte, 8> in{};
    embertls::io_result r = server.read(std::span<std::byte>(in));
    expect(r && r.bytes == 3 && in[2] == std::byte{'c'}, "read(span)");
    std::span<const std::uint8_t> leaf = client.peer_cert(0);
    expect(leaf.size() > 100, "bytes_view is a span");
}
#endif

} // namespace

int main(int argc, char **argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: hpp_test PKI_DIR\n");
        return 2;
    }
    g_pki = argv[1];
    const std::pair<const char *, void (*)()> cases[] = {
        {"memory_pair_handshake_and_facts", memory_pair_handshake_and_facts},
        {"data_both_ways_and_clean_close", data_both_ways_and_clean_close},
        {"certificate_failure_throws_cert_error", certificate_failure_throws_cert_error},
        {"alpn_mismatch_throws_handshake_error", alpn_mismatch_throws_handshake_error},
        {"version_limits", version_limits},
        {"resumption_through_a_shared_cache", resumption_through_a_shared_cache},
        {"misuse_is_reported_with_detail", misuse_is_reported_with_detail},
        {"owners_move_and_release", owners_move_and_release},
        {"library_version", library_version},
#if __cplusplus >= 202002L
        {"cpp20_spans", cpp20_spans},
#endif
    };
    int passed = 0, failed = 0;
    for (const auto &[name, body] : cases) {
        try {
            body();
            std::printf("ok %s\n", name);
            passed++;
        } catch (const std::exception &e) {
            std::printf("FAIL %s: %s\n", name, e.what());
            failed++;
        }
    }
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
