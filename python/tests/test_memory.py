"""Memory mode (feed/drain, no sockets) and the callback transport (wrap_io)."""

from __future__ import annotations

import socket

import pytest

import embertls
from conftest import Peer, data_of, handshake_pair, memory_pair, pump, sha256


@pytest.fixture
def contexts(pki):
    return (embertls.create_client_context(cafile=pki["ca.pem"]),
            embertls.create_server_context(*pki.chain("ecdsa-p256")))


@pytest.mark.parametrize("version", [embertls.TLSVersion.TLSv1_2, embertls.TLSVersion.TLSv1_3])
def test_memory_pair(pki, version):
    client = embertls.create_client_context(cafile=pki["ca.pem"], minimum_version=version,
                                            maximum_version=version)
    server = embertls.create_server_context(*pki.chain("ecdsa-p256"))
    c, s = memory_pair(client, server)
    # Nothing moves by itself: the client's first call queues its ClientHello and wants
    # the answer.
    with pytest.raises(embertls.WantReadError):
        c.do_handshake()
    assert c.pending_output > 0
    with pytest.raises(embertls.WantReadError):
        s.do_handshake()  # nothing fed yet
    handshake_pair(c, s)
    expected = "TLSv1.3" if version == embertls.TLSVersion.TLSv1_3 else "TLSv1.2"
    assert c.version() == s.version() == expected
    assert c.cipher() == s.cipher()
    assert s.server_name() == "localhost"
    assert c.getpeercert(binary_form=True) == pki.leaf_der("ecdsa-p256")
    assert s.getpeercert() is None
    assert c.handshake_time > 0 and c.id != s.id
    material = c.export_keying_material(b"EXPERIMENTAL test", 32, b"ctx")
    assert material == s.export_keying_material(b"EXPERIMENTAL test", 32, b"ctx")
    assert material != c.export_keying_material(b"EXPERIMENTAL test", 32)

    # 1 MiB each way, in pieces, through the engine's flow control.
    # A write takes what fits (64 KiB ahead of the transport): the rest waits its turn.
    data = data_of(1 << 20, seed=11)
    got_s, got_c = bytearray(), bytearray()
    sent = echoed = 0
    while len(got_c) < len(data):
        try:
            if sent < len(data):
                sent += c.write(memoryview(data)[sent:sent + 100_000])
            if echoed < len(got_s):
                echoed += s.write(memoryview(got_s)[echoed:])
        except embertls.WantWriteError:
            pass
        pump(c, s)
        for conn, sink in ((s, got_s), (c, got_c)):
            try:
                while True:
                    chunk = conn.read(65536)
                    assert chunk
                    sink += chunk
            except embertls.WantReadError:
                pass
    assert sha256(bytes(got_c)) == sha256(data) == sha256(bytes(got_s))

    if version == embertls.TLSVersion.TLSv1_3:
        c.key_update()
        pump(c, s)
        c.write(b"after key update")
        pump(c, s)
        assert s.read() == b"after key update"

    # close_notify both ways: reads then give b"" for good.
    c.close_notify()
    pump(c, s)
    assert s.read() == b""
    s.close_notify()
    pump(c, s)
    assert c.read() == b"" and c.read() == b""
    with pytest.raises(embertls.WrongState):
        c.write(b"too late")


def test_feed_keeps_what_the_engine_cannot_take(contexts):
    """The engine takes no more input while decrypted data waits; feed() keeps the rest
    and feeds it once the data is read."""
    c, s = memory_pair(*contexts)
    handshake_pair(c, s)
    data = data_of(600_000, seed=5)
    sent = 0
    wire = bytearray()
    while sent < len(data):
        sent += c.write(memoryview(data)[sent:])
        wire += c.drain()
    assert s.feed(bytes(wire)) == len(wire)
    assert 0 < s.pending_input < len(wire)  # kept, not lost
    got = bytearray()
    while len(got) < len(data):
        got += s.read(1 << 20)
    assert got == data and s.pending_input == 0
    assert c.drain(10) == b""  # drain() with a limit, nothing pending


def test_truncation_and_garbage(contexts):
    c, s = memory_pair(*contexts)
    handshake_pair(c, s)
    c.write(b"partial")
    pump(c, s)
    s.feed_eof()  # the transport ended without close_notify
    assert s.read() == b"partial"
    with pytest.raises(embertls.UnexpectedEOF) as info:
        s.read()
    assert info.value.code == 201
    with pytest.raises(ValueError):
        s.feed(b"more")

    _, s2 = memory_pair(*contexts)
    s2.feed(b"GET / HTTP/1.1\r\n\r\n")
    with pytest.raises(embertls.DecodeError) as info:
        s2.do_handshake()
    assert info.value.code == 405 and "TLS" in info.value.detail
    assert s2.drain().startswith(b"\x15\x03")  # the alert that tells the peer


def test_alpn_in_memory(pki):
    client = embertls.create_client_context(cafile=pki["ca.pem"],
                                            alpn_protocols=[b"h2", "http/1.1"])
    server = embertls.create_server_context(*pki.chain("ecdsa-p256"),
                                            alpn_protocols=["http/1.1", "h2"])
    c, s = memory_pair(client, server)
    handshake_pair(c, s)
    assert c.selected_alpn_protocol() == s.selected_alpn_protocol() == "http/1.1"

    plain = embertls.create_client_context(cafile=pki["ca.pem"])
    c, s = memory_pair(plain, server)
    handshake_pair(c, s)
    assert c.selected_alpn_protocol() is None  # the client offered none

    other = embertls.create_client_context(cafile=pki["ca.pem"], alpn_protocols=["spdy/3"])
    with pytest.raises(embertls.NoALPNOverlap) as info:
        handshake_pair(*memory_pair(other, server))
    assert info.value.code == 403
    with pytest.raises(ValueError):
        embertls.Context().set_alpn_protocols(["a\0b"])
    with pytest.raises(embertls.InvalidArgument):
        embertls.Context().set_alpn_protocols([""])


def test_callback_transport(contexts):
    """wrap_io over a socketpair: every byte goes through Python callables."""
    client_ctx, server_ctx = contexts
    a, b = socket.socketpair()
    calls = {"read": 0, "write": 0}

    def read(n):
        calls["read"] += 1
        return a.recv(n)

    def write(data):
        calls["write"] += 1
        return a.send(data)

    def serve():
        with server_ctx.wrap_socket(b, server_side=True) as tls:
            while True:
                data = tls.recv(65536)
                if not data:
                    return
                tls.sendall(data)

    peer = Peer(serve)
    with client_ctx.wrap_io(read, write, server_hostname="localhost") as conn:
        conn.do_handshake()
        payload = data_of(200_000, seed=2)
        back = bytearray()
        for off in range(0, len(payload), 50_000):
            conn.sendall(payload[off:off + 50_000])
            while len(back) < off + 50_000:
                back += conn.recv(65536)
        assert back == payload
    peer.result()
    a.close()
    assert calls["read"] > 0 and calls["write"] > 0

    # Would-block and failures from the callables.
    def blocked(_n):
        raise BlockingIOError

    conn = client_ctx.wrap_io(blocked, lambda d: len(d), server_hostname="localhost")
    with pytest.raises(embertls.WantReadError):
        conn.do_handshake()

    def broken(_n):
        raise ConnectionResetError(104, "reset")

    conn = client_ctx.wrap_io(broken, lambda d: len(d), server_hostname="localhost")
    with pytest.raises(embertls.TransportError) as info:
        conn.do_handshake()
    assert info.value.code == 200 and info.value.errno == 104

    def buggy(_n):
        raise KeyError("a bug in the callable")

    conn = client_ctx.wrap_io(buggy, lambda d: len(d), server_hostname="localhost")
    with pytest.raises(KeyError) as info:
        conn.do_handshake()
    assert isinstance(info.value.__context__, embertls.TransportError)
