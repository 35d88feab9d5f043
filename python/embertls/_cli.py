"""What `python -m embertls.client` and `python -m embertls.server` share: the lines the
C examples print (and the tests read), and the options for trust and versions."""

from __future__ import annotations

import sys
from typing import Optional

import embertls

EXIT_HANDSHAKE, EXIT_USAGE, EXIT_ERROR = 1, 2, 3


def report(what: str, err: BaseException) -> None:
    """"embertls: WHAT: EMBER_ERR_...: detail", as examples-c/common.c prints it."""
    print(f"embertls: {what}: {err}", file=sys.stderr, flush=True)


def summary(conn: embertls.Connection, extra: str = "") -> None:
    """"embertls: version=... suite=... group=... server_name=..." then ``extra``."""
    print(f"embertls: {conn.summary()}{extra}", file=sys.stderr, flush=True)


def split_host_port(text: str):
    """("host", port) from HOST:PORT or [IPv6]:PORT; None when it is neither."""
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def add_common_options(p) -> None:
    p.add_argument("--tls12", action="store_const", const=embertls.TLSVersion.TLSv1_2,
                   dest="version", help="allow only TLS 1.2")
    p.add_argument("--tls13", action="store_const", const=embertls.TLSVersion.TLSv1_3,
                   dest="version", help="allow only TLS 1.3")
    p.add_argument("--alpn", action="append", default=[], metavar="PROTOCOL",
                   help="an ALPN protocol to offer/accept, most preferred first; repeatable")
    p.add_argument("--crl", action="append", default=[], metavar="FILE",
                   help="CRLs (PEM or DER) for the trusted roots; repeatable")
    p.add_argument("--trace", action="store_true",
                   help="print each handshake step to stderr as it happens")
    p.add_argument("--keylog", metavar="FILE",
                   help="append the NSS key log lines to FILE (Wireshark; debugging only)")


def configure(ctx: embertls.Context, args, ca: Optional[str]) -> None:
    """Applies the common options: raises embertls.Error for bad files."""
    if args.version is not None:
        ctx.set_versions(args.version, args.version)
    if ca is not None:
        ctx.load_verify_locations(cafile=ca)
        for crl in args.crl:
            ctx.load_crls(crlfile=crl)
    if args.alpn:
        ctx.set_alpn_protocols(args.alpn)
    if args.trace:
        # The events' clock is embertls' own (its zero is not time.monotonic_ns()'s):
        # times are shown from the first event of each connection.
        starts = {}

        def trace(event: embertls.TraceEvent) -> None:
            step = getattr(event.step, "name", str(event.step))
            ms = (event.time_ns - starts.setdefault(event.conn_id, event.time_ns)) / 1e6
            print(f"embertls: trace: conn={event.conn_id} +{ms:.3f}ms {step}: {event.text}",
                  file=sys.stderr, flush=True)

        ctx.set_trace_callback(trace)
    if args.keylog:
        ctx.keylog_filename = args.keylog
