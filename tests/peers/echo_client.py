#!/usr/bin/env python3
"""TLS client for the interop tests (Python's ssl module, i.e. OpenSSL).

Reads all of stdin, sends it in --chunk sized pieces and reads back each piece's echo
before sending the next (so neither side's buffers can fill up and deadlock), then
sends close_notify and waits for the server's. Verifies the server against --ca and
--servername; with --cert and --key, presents that certificate chain when the server asks
for one. Prints to stdout:

    version=TLSv1.3
    cipher=TLS_AES_256_GCM_SHA384
    resumed=no
    received=1048576
    sha256=<hex digest of everything that came back>

--ciphers (TLS 1.2, OpenSSL names), --ciphersuites (TLS 1.3) and --groups limit what the
client offers. --resume connects a second time offering the first connection's session
and sends stdin again; each connection's lines are printed, the second's after an empty
line (resumed=yes when the server resumed the session).
"""

import argparse
import socket
import sys

import openssl_conf


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--connect", required=True, help="HOST:PORT")
    p.add_argument("--ca", required=True, help="PEM trust roots")
    p.add_argument("--servername", help="SNI and name to verify (default: HOST)")
    p.add_argument("--version", choices=["tls12", "tls13"], help="only this TLS version")
    p.add_argument("--cert", help="PEM client certificate chain, leaf first (needs --key)")
    p.add_argument("--key", help="PEM private key of --cert")
    p.add_argument("--ciphers", help="TLS 1.2 cipher suites offered (OpenSSL names)")
    p.add_argument("--ciphersuites", help="TLS 1.3 cipher suites offered")
    p.add_argument("--groups", help="key-exchange groups offered, e.g. X25519:P-256")
    p.add_argument("--resume", action="store_true",
                   help="connect twice, resuming the first session")
    p.add_argument("--chunk", type=int, default=16384)
    p.add_argument("--timeout", type=float, default=60.0, help="socket timeout, seconds")
    args = p.parse_args()
    if (args.cert is None) != (args.key is None):
        p.error("--cert and --key go together")
    return args


def recv_exactly(tls, n):
    parts = []
    while n > 0:
        part = tls.recv(min(n, 65536))
        if not part:
            raise ConnectionError(f"stream ended with {n} echoed bytes missing")
        parts.append(part)
        n -= len(part)
    return b"".join(parts)


def make_context(args):
    # Imported here: OpenSSL reads the configuration openssl_conf.restrict() wrote when the
    # ssl module is loaded.
    import ssl

    ctx = ssl.create_default_context(cafile=args.ca)
    if args.version:
        version = {"tls12": ssl.TLSVersion.TLSv1_2, "tls13": ssl.TLSVersion.TLSv1_3}
        ctx.minimum_version = ctx.maximum_version = version[args.version]
    if args.ciphers:
        ctx.set_ciphers(args.ciphers)
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    return ctx


def echo(ctx, args, host, port, data, session):
    """One connection: sends `data`, checks its echo; returns its report and session."""
    # Imported after openssl_conf.restrict(): hashlib initialises OpenSSL too.
    import hashlib

    digest = hashlib.sha256()
    received = 0
    raw = socket.create_connection((host, int(port)), timeout=args.timeout)
    with ctx.wrap_socket(raw, server_hostname=args.servername or host,
                         suppress_ragged_eofs=False, session=session) as tls:
        version, cipher = tls.version(), tls.cipher()[0]
        for off in range(0, len(data), args.chunk):
            chunk = data[off:off + args.chunk]
            tls.sendall(chunk)
            echoed = recv_exactly(tls, len(chunk))
            digest.update(echoed)
            received += len(echoed)
        # A TLS 1.3 ticket arrived with the echo: the session can be resumed now.
        session = tls.session
        resumed = tls.session_reused
        tls.unwrap().close()
    report = [
        f"version={version}",
        f"cipher={cipher}",
        f"resumed={'yes' if resumed else 'no'}",
        f"received={received}",
        f"sha256={digest.hexdigest()}",
    ]
    return report, session


def main():
    args = parse_args()
    openssl_conf.restrict(args.ciphersuites, args.groups)
    host, _, port = args.connect.rpartition(":")
    data = sys.stdin.buffer.read()
    ctx = make_context(args)

    report, session = echo(ctx, args, host, port, data, None)
    print("\n".join(report))
    if args.resume:
        report, _ = echo(ctx, args, host, port, data, session)
        print()
        print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
