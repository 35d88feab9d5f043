/*
 * cpp_client: the smallest useful TLS client, in C++ with embertls.hpp.
 *
 *   cpp_client --connect HOST:PORT [--servername NAME] [--ca FILE]
 *
 * Connects, verifies the server (against the roots in --ca, default the built-in Mozilla
 * roots, as NAME, default HOST), prints a one-line summary of the handshake to stderr,
 * sends all of stdin, closes its side with close_notify, and copies the reply to stdout
 * until the server's close_notify.
 *
 * It uses a blocking socket and sends the whole request before reading the reply, which
 * suits request/response protocols. A peer that answers while it still reads (an echo
 * server fed megabytes) needs both directions at once: see client.c's poll() loop.
 *
 * Exit status: 0 success, 1 handshake failed, 2 usage error, 3 any other error; the same
 * as client.c.
 *
 *   c++ -std=c++17 -Iinclude examples-c/cpp_client.cpp -Ltarget/release -lembertls
 *   (or `make cpp-example` at the top of the tree)
 */
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "embertls.hpp"

namespace {

enum exit_status { EXIT_OK = 0, EXIT_HANDSHAKE = 1, EXIT_USAGE = 2, EXIT_ERROR = 3 };

struct options {
    std::string host, port, servername, ca;
};

void usage()
{
    std::cerr << "usage: cpp_client --connect HOST:PORT [--servername NAME] [--ca FILE]\n";
}

/* Parses the command line into `o`; false on a usage error. */
bool parse(int argc, char **argv, options &o)
{
    std::string target;
    for (int i = 1; i < argc; i++) {
        std::string_view arg = argv[i];
        if (i + 1 == argc)
            return false; /* every option takes a value */
        std::string value = argv[++i];
        if (arg == "--connect")
            target = value;
        else if (arg == "--servername")
            o.servername = value;
        else if (arg == "--ca")
            o.ca = value;
        else
            return false;
    }
    /* HOST:PORT, or [IPv6]:PORT. */
    std::size_t colon = target.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == target.size())
        return false;
    o.host = target.substr(0, colon);
    o.port = target.substr(colon + 1);
    if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']')
        o.host = o.host.substr(1, o.host.size() - 2);
    if (o.servername.empty())
        o.servername = o.host;
    return true;
}

/* A connected TCP socket, or -1 after saying why. */
int connect_to(const std::string &host, const std::string &port)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *addrs = nullptr;
    if (int err = getaddrinfo(host.c_str(), port.c_str(), &hints, &addrs); err != 0) {
        std::cerr << "embertls: resolve " << host << ": " << gai_strerror(err) << "\n";
        return -1;
    }
    int fd = -1, err = 0;
    for (addrinfo *a = addrs; a != nullptr && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
            err = errno;
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(addrs);
    if (fd < 0)
        std::cerr << "embertls: connect " << host << ":" << port << ": " << std::strerror(err)
                  << "\n";
    return fd;
}

/* "embertls: version=... suite=... group=... server_name=... handshake_ms=...", as
 * client.c prints it (the tests read it). */
void print_summary(const embertls::Conn &conn)
{
    std::optional<std::string> name = conn.server_name();
    std::fprintf(stderr,
                 "embertls: version=%s suite=%s group=%s server_name=%s handshake_ms=%.3f\n",
                 std::string(conn.protocol_version_name()).c_str(),
                 std::string(conn.cipher_suite_name()).c_str(),
                 std::string(conn.kx_group_name()).c_str(), name ? name->c_str() : "-",
                 static_cast<double>(conn.handshake_ns()) / 1e6);
}

/* Writes all of `data` to stdout; false (after saying why) when stdout fails. */
bool write_stdout(const char *data, std::size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDOUT_FILENO, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            std::cerr << "embertls: write stdout: " << std::strerror(errno) << "\n";
            return false;
        }
        data += n;
        len -= static_cast<std::size_t>(n);
    }
    return true;
}

/* Handshake, request, reply, over the connected socket `fd`. */
int talk(embertls::Conn &conn, int fd)
{
    conn.set_fd(fd); /* blocking: every call below waits for the network */
    try {
        conn.handshake();
    } catch (const embertls::error &e) {
        std::cerr << "embertls: handshake failed: " << e.what() << "\n";
        return EXIT_HANDSHAKE;
    }
    print_summary(conn);

    try {
        /* The request: all of stdin. A blocking write sends every byte before returning. */
        std::string request(std::istreambuf_iterator<char>(std::cin), {});
        conn.write(request);
        conn.close(); /* close_notify: the server sees the clean end of our data */

        std::vector<char> buf(16384);
        for (;;) {
            embertls::io_result got = conn.read(buf);
            if (got.state == embertls::status::closed)
                return EXIT_OK; /* the server's close_notify: everything arrived */
            if (!got) {         /* want_read/want_write: only a non-blocking socket says so */
                std::cerr << "embertls: the socket is not blocking\n";
                return EXIT_ERROR;
            }
            if (!write_stdout(buf.data(), got.bytes))
                return EXIT_ERROR;
        }
    } catch (const embertls::error &e) {
        /* A server that refuses our data, resets the connection, or ends it without
         * close_notify (io_error EMBER_ERR_UNEXPECTED_EOF: the reply may be truncated). */
        std::cerr << "embertls: transfer failed: " << e.what() << "\n";
        return EXIT_ERROR;
    }
}

} // namespace

int main(int argc, char **argv)
{
    options o;
    if (!parse(argc, argv, o)) {
        usage();
        return EXIT_USAGE;
    }
    /* A closed stdout is reported (EPIPE) rather than killing us; embertls's own socket
     * writes never raise SIGPIPE. */
    std::signal(SIGPIPE, SIG_IGN);

    try {
        auto cfg = embertls::Config::client();
        if (!o.ca.empty()) {
            embertls::Trust trust;
            trust.add_pem_file(o.ca);
            cfg.set_trust(trust); /* the config keeps its own reference */
        }
        embertls::Conn conn(cfg, o.servername); /* keeps what it needs of cfg */

        int fd = connect_to(o.host, o.port);
        if (fd < 0)
            return EXIT_ERROR;
        int status = EXIT_ERROR;
        try {
            status = talk(conn, fd);
        } catch (...) {
            close(fd);
            throw;
        }
        close(fd);
        return status;
    } catch (const embertls::error &e) {
        /* e.what() is "NAME: detail", e.g. "EMBER_ERR_FILE: cannot read ca.pem: ..." */
        std::cerr << "embertls: " << e.what() << "\n";
        return EXIT_ERROR;
    }
}
