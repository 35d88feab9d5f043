#!/usr/bin/env python3
"""TLS client for the interop tests (Python's ssl module, i.e. OpenSSL).

Reads all of stdin, sends it in --chunk sized pieces and reads back each piece's echo
before sending the next (so neither side's buffers can fill up and deadlock), then
sends close_notify and waits for the server's. Verifies the server against --ca and
--servername; with --cert and --key, presents that certificate chain when the server asks
for one. Prints to stdout:

    version=TLSv1.3
    cipher=TLS_AES_256_GCM_SHA384
    received=1048576
    sha256=<hex digest of everything that came back>
"""

import argparse
import hashlib
import socket
import ssl
import sys

VERSIONS = {"tls12": ssl.TLSVersion.TLSv1_2, "tls13": ssl.TLSVersion.TLSv1_3}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--connect", required=True, help="HOST:PORT")
    p.add_argument("--ca", required=True, help="PEM trust roots")
    p.add_argument("--servername", help="SNI and name to verify (default: HOST)")
    p.add_argument("--version", choices=sorted(VERSIONS), help="only this TLS version")
    p.add_argument("--cert", help="PEM client certificate chain, leaf first (needs --key)")
    p.add_argument("--key", help="PEM private key of --cert")
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


def main():
    args = parse_args()
    host, _, port = args.connect.rpartition(":")
    data = sys.stdin.buffer.read()

    ctx = ssl.create_default_context(cafile=args.ca)
    if args.version:
        ctx.minimum_version = ctx.maximum_version = VERSIONS[args.version]
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)

    digest = hashlib.sha256()
    received = 0
    raw = socket.create_connection((host, int(port)), timeout=args.timeout)
    with ctx.wrap_socket(raw, server_hostname=args.servername or host,
                         suppress_ragged_eofs=False) as tls:
        version, cipher = tls.version(), tls.cipher()[0]
        for off in range(0, len(data), args.chunk):
            chunk = data[off:off + args.chunk]
            tls.sendall(chunk)
            echoed = recv_exactly(tls, len(chunk))
            digest.update(echoed)
            received += len(echoed)
        tls.unwrap().close()

    print(f"version={version}")
    print(f"cipher={cipher}")
    print(f"received={received}")
    print(f"sha256={digest.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
