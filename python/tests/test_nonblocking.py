"""Non-blocking sockets: WantReadError / WantWriteError, and select() loops that finish."""

from __future__ import annotations

import select
import socket
import threading

import pytest

import embertls
from conftest import TIMEOUT, connect, data_of, listener, sha256, ssl_server


def wait_for(tls, err: embertls.WouldBlock) -> None:
    """Waits for the direction the exception names."""
    if isinstance(err, embertls.WantReadError):
        ready = select.select([tls], [], [], TIMEOUT)[0]
    else:
        ready = select.select([], [tls], [], TIMEOUT)[1]
    assert ready, "the socket never became ready"


def test_nonblocking_client_select_loop(pki):
    gate = threading.Event()
    data = data_of(300_000, seed=3)
    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    with ssl_server(pki, gate=gate) as (port, peer):
        raw = connect(port)
        raw.setblocking(False)
        # Non-blocking: wrap_socket does not handshake.
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        assert tls.version() is None
        # The server has not even accepted: our ClientHello is out, its answer cannot be.
        with pytest.raises(embertls.WantReadError) as info:
            tls.do_handshake()
        assert isinstance(info.value, embertls.WouldBlock)
        assert info.value.code == 1 and info.value.name == "EMBER_WANT_READ"
        gate.set()
        while True:
            try:
                tls.do_handshake()
                break
            except embertls.WouldBlock as err:
                wait_for(tls, err)
        assert tls.version() == "TLSv1.3"

        # Nothing was sent yet, so nothing can be read.
        with pytest.raises(embertls.WantReadError):
            tls.recv(100)

        # Send everything and read the echo back with one select loop.
        sent, back = 0, bytearray()
        buf = bytearray(65536)
        while len(back) < len(data):
            want_write = sent < len(data) or tls.pending_output > 0
            readable, writable, _ = select.select([tls], [tls] if want_write else [], [],
                                                  TIMEOUT)
            assert readable or writable, "stalled"
            if writable:
                try:
                    if sent < len(data):
                        sent += tls.send(memoryview(data)[sent:sent + 65536])
                    tls.flush()
                except embertls.WantWriteError:
                    pass
            if readable:
                try:
                    while True:
                        n = tls.recv_into(buf)
                        assert n, "the server closed early"
                        back += buf[:n]
                except embertls.WantReadError:
                    pass
        assert sha256(bytes(back)) == sha256(data)

        # close_notify both ways, still non-blocking.
        try:
            tls.close_notify()
        except embertls.WantWriteError:
            pass
        while True:
            try:
                assert tls.recv(100) == b""  # the server's close_notify
                break
            except embertls.WouldBlock as err:
                wait_for(tls, err)
        tls.close()
        assert peer.result()[0]["received"] == len(data)


def test_nonblocking_server_with_memory_connections(pki):
    """One thread, select(), memory mode: the shape of examples-c/poll_server.c. Two
    clients (Python's ssl, in threads) are served at once."""
    import ssl

    ctx = embertls.create_server_context(*pki.chain("ecdsa-p256"))
    lsock = listener()
    lsock.setblocking(False)
    port = lsock.getsockname()[1]

    def client(n: int):
        c = ssl.create_default_context(cafile=pki["ca.pem"])
        payload = data_of(50_000 + n, seed=n)
        with c.wrap_socket(connect(port), server_hostname="localhost",
                           suppress_ragged_eofs=False) as tls:
            tls.sendall(payload)
            back = bytearray()
            while len(back) < len(payload):
                back += tls.recv(65536)
            tls.unwrap()
        return sha256(bytes(back)) == sha256(payload)

    from conftest import Peer

    peers = [Peer(client, n) for n in range(2)]
    conns = {}  # socket -> MemoryConnection
    outbox = {}  # socket -> bytes drained but not yet sent
    closing = set()  # sockets whose connection sent its close_notify
    finished = 0
    with lsock:
        while finished < 2:
            waiting = [s for s in conns if outbox[s]]
            readable, writable, _ = select.select([lsock, *conns], waiting, [], TIMEOUT)
            assert readable or writable, "stalled"
            if lsock in readable:
                sock, _ = lsock.accept()
                sock.setblocking(False)
                conns[sock] = ctx.wrap_bio(server_side=True)
                outbox[sock] = b""
            for sock in [s for s in readable if s is not lsock]:
                conn = conns[sock]
                data = sock.recv(65536)
                if data:
                    conn.feed(data)
                else:
                    conn.feed_eof()
                try:
                    while True:
                        plain = conn.read(65536)
                        if not plain:  # the client's close_notify: answer with ours
                            conn.close_notify()
                            closing.add(sock)
                            break
                        conn.write(plain)
                except embertls.WantReadError:
                    pass
                outbox[sock] += conn.drain()  # after every call
            for sock in writable:
                outbox[sock] = outbox[sock][sock.send(outbox[sock]):]
            for sock in [s for s in closing if not outbox[s]]:
                conns.pop(sock).close()
                sock.close()
                closing.discard(sock)
                finished += 1
    assert all(p.result() for p in peers)


def test_timeout_on_handshake(pki):
    """A server that never answers: a socket timeout bounds the handshake."""
    lsock = listener()
    with lsock:
        raw = connect(lsock.getsockname()[1], timeout=0.2)
        ctx = embertls.create_client_context(cafile=pki["ca.pem"])
        with pytest.raises(socket.timeout):
            ctx.wrap_socket(raw, server_hostname="localhost")
        assert raw.fileno() == -1  # as ssl: a failed wrap closes the socket
