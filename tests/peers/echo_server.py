#!/usr/bin/env python3
"""TLS echo server for the interop tests (Python's ssl module, i.e. OpenSSL).

Binds 127.0.0.1 on a port chosen by the OS and prints that port on stdout. For each
connection it prints one line to stderr:

    python: version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 sni=localhost client_cert=- resumed=no

(client_cert: the common name of the client's verified certificate, "-" for none;
resumed: whether the client resumed a session) then echoes until the client's
close_notify and answers with its own (unwrap). A transport EOF without close_notify is
an error here (exit 1): the tests rely on this to prove that the client ended the
connection properly.

--truncate: echo the first chunk, then shut the TCP connection down without
close_notify, so the client sees a truncated stream.

--client-ca FILE: require a client certificate that chains to the roots in FILE
(CERT_REQUIRED); a client without one, or with one that does not verify, fails the
handshake (exit 1).

--ciphers (TLS 1.2, OpenSSL names), --ciphersuites (TLS 1.3) and --groups limit what the
server accepts.
"""

import argparse
import socket
import sys

import openssl_conf


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cert", required=True, help="PEM chain, leaf first")
    p.add_argument("--key", required=True, help="PEM private key")
    p.add_argument("--version", choices=["tls12", "tls13"], help="only this TLS version")
    p.add_argument("--conns", type=int, default=1, help="connections to serve, then exit")
    p.add_argument("--truncate", action="store_true")
    p.add_argument("--client-ca", help="PEM roots; require client certificates from them")
    p.add_argument("--ciphers", help="TLS 1.2 cipher suites accepted (OpenSSL names)")
    p.add_argument("--ciphersuites", help="TLS 1.3 cipher suites accepted")
    p.add_argument("--groups", help="key-exchange groups accepted, e.g. X25519:P-256")
    p.add_argument("--timeout", type=float, default=60.0, help="per-socket timeout, seconds")
    return p.parse_args()


def make_context(args):
    # Imported here: OpenSSL reads the configuration openssl_conf.restrict() wrote when the
    # ssl module is loaded.
    import ssl

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.version:
        version = {"tls12": ssl.TLSVersion.TLSv1_2, "tls13": ssl.TLSVersion.TLSv1_3}
        ctx.minimum_version = ctx.maximum_version = version[args.version]
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(cafile=args.client_ca)
    return ctx


def common_name(cert):
    """The commonName of a certificate as getpeercert() gives it; "-" for none."""
    for rdn in (cert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return value
    return "-"


def serve(ctx, raw, truncate, seen_sni):
    seen_sni.clear()
    tls = ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False)
    name, _, _ = tls.cipher()
    sni = seen_sni[0] if seen_sni else "-"
    client = common_name(tls.getpeercert())
    resumed = "yes" if tls.session_reused else "no"
    print(f"python: version={tls.version()} cipher={name} sni={sni} client_cert={client} "
          f"resumed={resumed}", file=sys.stderr, flush=True)
    if truncate:
        data = tls.recv(65536)
        tls.sendall(data)
        # Detaching leaves the TLS state behind without a close_notify; shutting down
        # only our direction and draining keeps the kernel from answering with a RST,
        # so the client sees a plain EOF.
        timeout = tls.gettimeout()
        plain = socket.socket(fileno=tls.detach())
        plain.settimeout(timeout)
        plain.shutdown(socket.SHUT_WR)
        while plain.recv(65536):
            pass
        plain.close()
        return
    while True:
        data = tls.recv(65536)
        if not data:
            break
        tls.sendall(data)
    tls.unwrap().close()


def main():
    args = parse_args()
    openssl_conf.restrict(args.ciphersuites, args.groups)
    import ssl

    ctx = make_context(args)
    seen_sni = []
    ctx.sni_callback = lambda _sslobj, name, _ctx: seen_sni.append(name or "-")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        print(listener.getsockname()[1], flush=True)
        for _ in range(args.conns):
            raw, _ = listener.accept()
            raw.settimeout(args.timeout)
            try:
                serve(ctx, raw, args.truncate, seen_sni)
            except (ssl.SSLError, OSError) as e:
                print(f"python: connection failed: {e!r}", file=sys.stderr, flush=True)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
