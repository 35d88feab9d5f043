"""Shared fixtures: the test PKI, peers in threads (Python's ssl module and embertls
itself), and helpers for moving data.

`cargo test --test all python` runs this suite with EMBERTLS_LIBRARY (the library cargo
built) and EMBERTLS_TEST_PKI (the PKI tests/all/support.rs generated: ca.pem, then
NAME.pem / NAME-leaf.pem / NAME.key for ecdsa-p256, expired, wronghost, unknown-ca,
selfsigned, ...). Every socket is on 127.0.0.1, port 0.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import socket
import ssl
import threading
from pathlib import Path

import pytest

import embertls

TIMEOUT = 20.0  # seconds: a hung peer fails its test instead of hanging the run


def pytest_configure(config):
    if not os.environ.get("EMBERTLS_TEST_PKI"):
        pytest.exit(
            "EMBERTLS_TEST_PKI is not set. Run these tests with `cargo test --test all "
            "python`, or make a PKI with `EMBERTLS_KEEP_PKI=/tmp/pki cargo test --test all "
            "python_keep_pki -- --ignored` and set EMBERTLS_TEST_PKI=/tmp/pki (and "
            "EMBERTLS_LIBRARY=target/debug/libembertls.so).", returncode=4)


class Pki:
    """The directory of the test PKI; ``pki["ca.pem"]`` is the path of a file in it."""

    def __init__(self, path: str):
        self.dir = Path(path)

    def __getitem__(self, name: str) -> str:
        path = self.dir / name
        assert path.is_file(), f"the test PKI has no {name}"
        return str(path)

    def chain(self, name: str):
        """(NAME.pem, NAME.key)."""
        return self[f"{name}.pem"], self[f"{name}.key"]

    def leaf_der(self, name: str) -> bytes:
        return ssl.PEM_cert_to_DER_cert(Path(self[f"{name}-leaf.pem"]).read_text())


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki(os.environ["EMBERTLS_TEST_PKI"])


def data_of(size: int, seed: int = 1) -> bytes:
    """Deterministic pseudo-random bytes."""
    return random.Random(seed).getrandbits(8 * size).to_bytes(size, "little") if size else b""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Peer(threading.Thread):
    """Runs fn(*args) in a daemon thread; result() joins it and re-raises its exception."""

    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self.fn, self.args = fn, args
        self.value = None
        self.error = None
        self.start()

    def run(self):
        try:
            self.value = self.fn(*self.args)
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            self.error = exc

    def result(self, timeout: float = TIMEOUT):
        self.join(timeout)
        assert not self.is_alive(), "the peer thread did not finish"
        if self.error is not None:
            raise self.error
        return self.value


def listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(TIMEOUT)
    return sock


def ssl_echo(tls: ssl.SSLSocket) -> dict:
    """Echoes until the peer's close_notify, answers with ours; reports what it saw."""
    seen = {"version": tls.version(), "cipher": tls.cipher()[0],
            "alpn": tls.selected_alpn_protocol(), "received": 0,
            "peercert": tls.getpeercert(binary_form=True)}
    while True:
        data = tls.recv(65536)
        if not data:
            break
        seen["received"] += len(data)
        tls.sendall(data)
    try:
        tls.unwrap().close()  # our close_notify in answer
    except (ssl.SSLZeroReturnError, BrokenPipeError, ConnectionResetError):
        pass  # the client closed its socket right after its close_notify: fine
    return seen


@contextlib.contextmanager
def ssl_server(pki: Pki, name: str = "ecdsa-p256", version=None, alpn=None, conns: int = 1,
               handler=ssl_echo, client_ca=None, gate: threading.Event = None):
    """Python's ssl module serving NAME.pem in a thread: ``handler(tls)`` per connection.
    Yields (port, peer); peer.result() is the list of what the handlers returned. With
    ``gate``, each accept waits for it to be set first."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*pki.chain(name))
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = version
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    lsock = listener()

    def serve():
        results = []
        with lsock:
            for _ in range(conns):
                if gate is not None:
                    assert gate.wait(TIMEOUT)
                raw, _ = lsock.accept()
                raw.settimeout(TIMEOUT)
                with ctx.wrap_socket(raw, server_side=True, suppress_ragged_eofs=False) as tls:
                    results.append(handler(tls))
        return results

    yield lsock.getsockname()[1], Peer(serve)


def ssl_failing_server(pki: Pki, name: str, **kwargs):
    """An ssl server whose one handshake is expected to fail (our client refuses it)."""
    def handler(tls):  # pragma: no cover - the handshake fails before
        return tls.version()

    return ssl_server(pki, name, handler=handler, **kwargs)


def expect_failure(peer: Peer):
    """The peer's exception (it must have failed), or None when it did not."""
    try:
        peer.result()
    except (ssl.SSLError, OSError) as exc:
        return exc
    return None


def ember_echo(tls: embertls.TLSSocket) -> dict:
    """Our echo server's handler: echoes until close_notify (closing answers with ours)."""
    seen = {"version": tls.version(), "cipher": tls.cipher(), "sni": tls.server_name(),
            "alpn": tls.selected_alpn_protocol(), "chain": tls.peer_chain(), "received": 0}
    while True:
        data = tls.recv(65536)
        if not data:
            break
        seen["received"] += len(data)
        tls.sendall(data)
    return seen


@contextlib.contextmanager
def ember_server(ctx: embertls.Context, conns: int = 1, handler=ember_echo):
    """embertls serving in a thread with blocking sockets. Yields (port, peer)."""
    lsock = listener()

    def serve():
        results = []
        with lsock:
            for _ in range(conns):
                raw, _ = lsock.accept()
                raw.settimeout(None)
                with ctx.wrap_socket(raw, server_side=True) as tls:
                    results.append(handler(tls))
        return results

    yield lsock.getsockname()[1], Peer(serve)


def connect(port: int, timeout=TIMEOUT) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def echo_through(tls, data: bytes, chunk: int = 65536) -> bytes:
    """Sends ``data`` piece by piece, reading each piece's echo before the next (so
    neither side's buffers fill up); returns what came back."""
    back = bytearray()
    for off in range(0, len(data), chunk):
        piece = data[off:off + chunk]
        tls.sendall(piece)
        want = len(back) + len(piece)
        while len(back) < want:
            got = tls.recv(want - len(back))
            assert got, "the stream ended early"
            back += got
    return bytes(back)


def memory_pair(client_ctx: embertls.Context, server_ctx: embertls.Context,
                server_hostname: str = "localhost"):
    return (client_ctx.wrap_bio(server_hostname=server_hostname),
            server_ctx.wrap_bio(server_side=True))


def pump(a: embertls.MemoryConnection, b: embertls.MemoryConnection) -> None:
    """Moves every pending byte between a and b until neither has any."""
    moved = True
    while moved:
        moved = False
        for src, dst in ((a, b), (b, a)):
            data = src.drain()
            if data:
                dst.feed(data)
                moved = True


def handshake_pair(client: embertls.MemoryConnection, server: embertls.MemoryConnection,
                   rounds: int = 10) -> None:
    """Drives both handshakes to completion (raising the first real error)."""
    done = {id(client): False, id(server): False}
    for _ in range(rounds):
        for conn in (client, server):
            if not done[id(conn)]:
                try:
                    conn.do_handshake()
                    done[id(conn)] = True
                except embertls.WantReadError:
                    pass
        pump(client, server)
        if all(done.values()):
            return
    raise AssertionError("the handshake did not complete")
