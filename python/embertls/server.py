"""A TLS echo server with one thread per client and blocking sockets, like
examples-c/server.c:

    python -m embertls.server --listen ADDR:PORT --cert FILE --key FILE [--tls12|--tls13]
                              [--max-conns N] [--client-ca FILE [--crl FILE]...
                              [--client-auth optional|required]] [--alpn PROTOCOL]...
                              [--trace] [--keylog FILE]

It prints ``listening on ADDR:PORT`` on stdout (the port the OS chose for port 0), then
for each connection ``embertls: version=... suite=... group=... server_name=...`` on
stderr (with ``client_certs=N`` when the client presented a verified certificate, and
``alpn=...`` with --alpn), and echoes until the client's close_notify, answered with ours.
A failed connection is reported as ``embertls: handshake failed: EMBER_ERR_...: detail``.

One context serves every thread: once it has made a connection it is frozen and safe to
share.

Exit status: 0 after --max-conns connections ended, 2 usage error, 3 setup error.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading

import embertls
from embertls import _cli


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m embertls.server",
                                description="A TLS echo server, a thread per client (like "
                                "examples-c/server).")
    p.add_argument("--listen", required=True, metavar="ADDR:PORT",
                   help="where to listen; port 0 lets the OS choose (printed on stdout)")
    p.add_argument("--cert", required=True, metavar="FILE", help="this server's chain (PEM, leaf first)")
    p.add_argument("--key", required=True, metavar="FILE", help="its private key (PEM)")
    p.add_argument("--max-conns", type=int, default=0, metavar="N",
                   help="exit after N connections (default: serve forever)")
    p.add_argument("--client-ca", metavar="FILE",
                   help="ask clients for a certificate and verify it against these roots")
    p.add_argument("--client-auth", choices=["optional", "required"],
                   help="optional: a client without a certificate is let in too")
    _cli.add_common_options(p)
    args = p.parse_args(argv)
    args.address = _cli.split_host_port(args.listen)
    if args.address is None:
        p.error(f"{args.listen}: not ADDR:PORT")
    if args.max_conns < 0:
        p.error("--max-conns must be positive")
    if args.client_ca is None and (args.crl or args.client_auth):
        p.error("--crl and --client-auth need --client-ca")
    return args


def echo(ctx: embertls.Context, sock: socket.socket, alpn: bool) -> None:
    """Echoes one client until its close_notify, then closes our side."""
    try:
        tls = ctx.wrap_socket(sock, server_side=True)
    except embertls.Error as err:
        _cli.report("handshake failed", err)
        return
    except OSError as err:
        print(f"embertls: handshake failed: {err}", file=sys.stderr, flush=True)
        return
    with tls:
        chain = tls.peer_chain()
        extra = f" client_certs={len(chain)}" if chain else ""
        if alpn:
            extra += f" alpn={tls.selected_alpn_protocol() or '-'}"
        _cli.summary(tls, extra)
        try:
            while True:
                data = tls.recv(16384)
                if not data:
                    break  # the client's close_notify; closing answers with ours
                tls.sendall(data)
        except embertls.Error as err:
            _cli.report("echo failed", err)
        except OSError as err:
            print(f"embertls: echo failed: {err}", file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        ctx = embertls.create_server_context(args.cert, args.key)
        _cli.configure(ctx, args, args.client_ca)
        if args.client_ca is not None:
            ctx.verify_mode = (embertls.CERT_OPTIONAL if args.client_auth == "optional"
                               else embertls.CERT_REQUIRED)
    except (embertls.Error, OSError) as err:
        _cli.report("setting up", err)
        return _cli.EXIT_ERROR
    host, port = args.address
    try:
        listener = socket.create_server((host, port), reuse_port=False,
                                        family=socket.AF_INET6 if ":" in host
                                        else socket.AF_INET)
    except OSError as err:
        print(f"embertls: listen on {args.listen}: {err.strerror or err}", file=sys.stderr)
        return _cli.EXIT_ERROR
    addr = listener.getsockname()
    shown = f"[{addr[0]}]" if ":" in addr[0] else addr[0]
    print(f"listening on {shown}:{addr[1]}", flush=True)

    threads = []
    accepted = 0
    with listener:
        while args.max_conns == 0 or accepted < args.max_conns:
            try:
                sock, _ = listener.accept()
            except InterruptedError:
                continue
            except OSError as err:
                print(f"embertls: accept: {err}", file=sys.stderr)
                break
            accepted += 1
            thread = threading.Thread(target=echo, args=(ctx, sock, bool(args.alpn)),
                                      daemon=True)
            thread.start()
            threads.append(thread)
    for thread in threads:
        thread.join()
    return 0 if args.max_conns and accepted == args.max_conns else _cli.EXIT_ERROR


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
