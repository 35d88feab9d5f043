"""A TLS client that sends stdin to a server and copies the reply to stdout, like
examples-c/client.c:

    python -m embertls.client HOST:PORT [--servername NAME] [--ca FILE [--crl FILE]...]
                              [--cert FILE --key FILE] [--alpn PROTOCOL]... [--tls12|--tls13]
                              [--trace] [--keylog FILE]

The server's chain is verified against --ca (default: the Mozilla roots built into
embertls) and the name --servername (default: HOST). After the handshake it prints
``embertls: version=... suite=... group=... server_name=... handshake_ms=...`` (and
``alpn=...`` with --alpn) to stderr. On stdin EOF it sends close_notify and reads on until
the server's close_notify, so everything an echo server returns reaches stdout.

One non-blocking socket and a poll() loop serve both directions: a blocking client that
wrote all of stdin before reading would deadlock on a large input once the server's
replies filled its receive buffer.

Exit status: 0 success, 1 handshake failed, 2 usage error, 3 any other error.
"""

from __future__ import annotations

import argparse
import os
import select
import socket
import sys
import time

import embertls
from embertls import _cli


def parse_args(argv):
    p = argparse.ArgumentParser(prog="python -m embertls.client",
                                description="A TLS client: stdin to the server, its reply "
                                "to stdout (like examples-c/client).")
    p.add_argument("target", nargs="?", metavar="HOST:PORT", help="the server")
    p.add_argument("--connect", metavar="HOST:PORT", help="the server (as examples-c/client)")
    p.add_argument("--servername", metavar="NAME", help="the name sent (SNI) and verified (default: HOST)")
    p.add_argument("--ca", metavar="FILE", help="trust the roots in FILE (PEM) instead of the built-in ones")
    p.add_argument("--cert", metavar="FILE", help="a client certificate chain (PEM), for servers that ask")
    p.add_argument("--key", metavar="FILE", help="the private key of --cert (PEM)")
    _cli.add_common_options(p)
    args = p.parse_args(argv)
    target = args.target or args.connect
    if target is None or (args.target and args.connect):
        p.error("give the server once, as HOST:PORT")
    args.address = _cli.split_host_port(target)
    if args.address is None:
        p.error(f"{target}: not HOST:PORT")
    if (args.cert is None) != (args.key is None):
        p.error("--cert and --key go together")
    if args.crl and args.ca is None:
        p.error("--crl needs --ca")
    return args


def wait(sock, events: int) -> None:
    poller = select.poll()
    poller.register(sock, events)
    poller.poll()


def until_done(op, sock) -> None:
    """Calls ``op()`` until it stops blocking, waiting in between for exactly the
    direction embertls is blocked on."""
    while True:
        try:
            op()
            return
        except embertls.WantReadError:
            wait(sock, select.POLLIN)
        except embertls.WantWriteError:
            wait(sock, select.POLLOUT)


def transfer(tls: embertls.TLSSocket, sock) -> int:
    """Streams stdin to the server and its data to stdout until its close_notify."""
    stdin = sys.stdin.fileno()
    stdout = sys.stdout.buffer
    pending = b""
    stdin_open = True
    while True:
        while pending:
            try:
                pending = pending[tls.send(pending):]
            except embertls.WantWriteError:
                break
        if not stdin_open and not pending:
            close_notify(tls)
        try:
            tls.flush()
            want_write = False
        except embertls.WantWriteError:
            want_write = True
        poller = select.poll()
        poller.register(sock, select.POLLIN | (select.POLLOUT if want_write else 0))
        # Read more of stdin only once embertls took the last chunk: bounded memory.
        if stdin_open and not pending:
            poller.register(stdin, select.POLLIN)
        ready = dict(poller.poll())
        if sock.fileno() in ready:
            while True:
                try:
                    data = tls.recv(16384)
                except embertls.WouldBlock:
                    break
                if not data:  # the server's close_notify: answer with ours
                    close_notify(tls)
                    until_done(tls.flush, sock)  # our close_notify too, before we exit
                    return 0
                stdout.write(data)
                stdout.flush()
        if stdin in ready:
            chunk = os.read(stdin, 16384)
            if chunk:
                pending = chunk
            else:
                stdin_open = False


def close_notify(tls: embertls.TLSSocket) -> None:
    """Queues our close_notify (once; later calls do nothing); flush() sends it."""
    try:
        tls.close_notify()
    except embertls.WantWriteError:
        pass


def main(argv=None) -> int:
    args = parse_args(argv)
    host, port = args.address
    try:
        ctx = embertls.create_client_context()
        _cli.configure(ctx, args, args.ca)
        if args.cert:
            ctx.load_cert_chain(args.cert, args.key)
    except (embertls.Error, OSError) as err:
        _cli.report("setting up", err)
        return _cli.EXIT_ERROR
    try:
        sock = socket.create_connection((host, port))
    except OSError as err:
        print(f"embertls: connect {host}:{port}: {err.strerror or err}", file=sys.stderr)
        return _cli.EXIT_ERROR
    # Non-blocking only after connecting, which keeps connecting simple.
    sock.setblocking(False)
    with ctx.wrap_socket(sock, server_hostname=args.servername or host) as tls:
        start = time.monotonic()
        try:
            until_done(tls.do_handshake, sock)
        except embertls.Error as err:
            _cli.report("handshake failed", err)
            return _cli.EXIT_HANDSHAKE
        extra = f" handshake_ms={(time.monotonic() - start) * 1e3:.3f}"
        if args.alpn:
            extra += f" alpn={tls.selected_alpn_protocol() or '-'}"
        _cli.summary(tls, extra)
        try:
            return transfer(tls, sock)
        except embertls.Error as err:
            _cli.report("transfer failed", err)
            return _cli.EXIT_ERROR
        except OSError as err:
            print(f"embertls: {err}", file=sys.stderr)
            return _cli.EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
