"""embertls against Python's ssl module (OpenSSL), both directions, over real sockets."""

from __future__ import annotations

import socket
import ssl
import time
from pathlib import Path

import pytest

import embertls
from conftest import (
    TIMEOUT,
    Peer,
    connect,
    data_of,
    echo_through,
    ember_server,
    sha256,
    ssl_echo,
    ssl_server,
)

VERSIONS = [
    pytest.param(ssl.TLSVersion.TLSv1_2, "TLSv1.2", id="tls12"),
    pytest.param(ssl.TLSVersion.TLSv1_3, "TLSv1.3", id="tls13"),
]


@pytest.mark.parametrize("version,name", VERSIONS)
def test_our_client_ssl_server(pki, version, name):
    data = data_of(1 << 20, seed=7)
    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    with ssl_server(pki, version=version) as (port, peer):
        with ctx.wrap_socket(connect(port), server_hostname="localhost") as tls:
            assert tls.version() == name
            suite, proto, bits = tls.cipher()
            assert proto == name and bits in (128, 256) and suite.startswith("TLS_")
            assert tls.group() in ("X25519", "secp256r1", "secp384r1")
            assert tls.getpeercert(binary_form=True) == pki.leaf_der("ecdsa-p256")
            assert len(tls.peer_chain()) == 2
            assert tls.server_name() == "localhost"
            assert tls.session_reused is False
            back = echo_through(tls, data)
            tls.unwrap()
        seen = peer.result()[0]
    assert sha256(back) == sha256(data)
    assert seen["received"] == len(data)
    assert seen["version"] == name


@pytest.mark.parametrize("version,name", VERSIONS)
def test_ssl_client_our_server(pki, version, name):
    data = data_of(1 << 20, seed=8)
    ctx = embertls.create_server_context(*pki.chain("ecdsa-p256"))
    client = ssl.create_default_context(cafile=pki["ca.pem"])
    client.minimum_version = client.maximum_version = version
    with ember_server(ctx) as (port, peer):
        with client.wrap_socket(connect(port), server_hostname="localhost",
                                suppress_ragged_eofs=False) as tls:
            assert tls.version() == name
            back = echo_through(tls, data)
            tls.unwrap()
        seen = peer.result()[0]
    assert sha256(back) == sha256(data)
    assert seen["received"] == len(data)
    assert seen["version"] == name
    assert seen["sni"] == "localhost"
    assert seen["chain"] == []  # no client certificate asked for


def test_rsa_p384_and_ed25519_servers(pki):
    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    for name in ("rsa", "ecdsa-p384", "ed25519"):
        with ssl_server(pki, name) as (port, peer):
            with ctx.wrap_socket(connect(port), server_hostname="127.0.0.1") as tls:
                assert echo_through(tls, b"x" * 1000) == b"x" * 1000
                assert tls.getpeercert(binary_form=True) == pki.leaf_der(name)
            peer.result()


def test_getpeercert_dict_matches_ssl(pki):
    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    with ssl_server(pki) as (port, peer):
        with ctx.wrap_socket(connect(port), server_hostname="localhost") as tls:
            ours = tls.getpeercert()
        peer.result()
    # ssl's own decoder, on the same certificate (the private helper ssl's tests use).
    theirs = ssl._ssl._test_decode_cert(pki["ecdsa-p256-leaf.pem"])
    for key in ("subject", "issuer", "version", "serialNumber", "notBefore", "notAfter",
                "subjectAltName"):
        assert ours[key] == theirs[key], key


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_alpn_with_ssl_peers(pki, version):
    client = embertls.create_client_context(cafile=pki["ca.pem"],
                                            alpn_protocols=["h2", "http/1.1"])
    with ssl_server(pki, version=version, alpn=["http/1.1", "h2"]) as (port, peer):
        with client.wrap_socket(connect(port), server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "http/1.1"  # the server's preference
        assert peer.result()[0]["alpn"] == "http/1.1"

    server = embertls.create_server_context(*pki.chain("ecdsa-p256"),
                                            alpn_protocols=["h2", "http/1.1"])
    ssl_client = ssl.create_default_context(cafile=pki["ca.pem"])
    ssl_client.set_alpn_protocols(["http/1.1", "h2"])
    with ember_server(server) as (port, peer):
        with ssl_client.wrap_socket(connect(port), server_hostname="localhost") as tls:
            assert tls.selected_alpn_protocol() == "h2"
            tls.unwrap()
        assert peer.result()[0]["alpn"] == "h2"


def test_no_alpn_overlap(pki):
    server = embertls.create_server_context(*pki.chain("ecdsa-p256"), alpn_protocols=["h2"])

    def handler(tls):  # pragma: no cover - the handshake fails first
        return tls

    ssl_client = ssl.create_default_context(cafile=pki["ca.pem"])
    ssl_client.set_alpn_protocols(["http/1.1"])
    lsock = socket.create_server(("127.0.0.1", 0))
    with lsock, connect(lsock.getsockname()[1]) as raw:
        conn, _ = lsock.accept()
        peer = Peer(lambda: ssl_client.wrap_socket(raw, server_hostname="localhost"))
        with pytest.raises(embertls.NoALPNOverlap) as info:
            server.wrap_socket(conn, server_side=True)
        assert info.value.code == 403
        assert isinstance(info.value, embertls.HandshakeError)
        with pytest.raises(ssl.SSLError):
            peer.result()


def test_mutual_tls_our_server(pki):
    ctx = embertls.create_server_context(*pki.chain("ecdsa-p256"),
                                         client_cafile=pki["ca.pem"])
    assert ctx.verify_mode == embertls.CERT_REQUIRED
    client = ssl.create_default_context(cafile=pki["ca.pem"])
    client.load_cert_chain(*pki.chain("clientonly"))
    with ember_server(ctx) as (port, peer):
        with client.wrap_socket(connect(port), server_hostname="localhost") as tls:
            tls.sendall(b"ping")
            assert tls.recv(4) == b"ping"
            tls.unwrap()
        seen = peer.result()[0]
    assert seen["chain"][0] == pki.leaf_der("clientonly")


def test_mutual_tls_our_client(pki):
    ctx = embertls.create_client_context(cafile=pki["ca.pem"],
                                         certfile=pki["ecdsa-p256.pem"],
                                         keyfile=pki["ecdsa-p256.key"])
    with ssl_server(pki, client_ca=pki["ca.pem"],
                    handler=lambda tls: (tls.getpeercert(binary_form=True), ssl_echo(tls))
                    ) as (port, peer):
        with ctx.wrap_socket(connect(port), server_hostname="localhost") as tls:
            assert echo_through(tls, b"hello") == b"hello"
        peercert, _ = peer.result()[0]
    assert peercert == pki.leaf_der("ecdsa-p256")


def test_timeout_socket_and_truncation(pki):
    """A socket with a timeout behaves as a blocking one that gives up; a server that
    drops the connection without close_notify is a truncation, never a clean end."""
    def truncate(tls):
        tls.sendall(tls.recv(100))
        plain = socket.socket(fileno=tls.detach())
        plain.settimeout(TIMEOUT)
        plain.shutdown(socket.SHUT_WR)
        while plain.recv(100):
            pass
        plain.close()

    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    for suppress in (False, True):
        with ssl_server(pki, handler=truncate) as (port, peer):
            raw = connect(port, timeout=5.0)
            tls = ctx.wrap_socket(raw, server_hostname="localhost",
                                  suppress_ragged_eofs=suppress)
            tls.sendall(b"abc")
            assert tls.recv(3) == b"abc"
            if suppress:
                assert tls.recv(10) == b""
            else:
                with pytest.raises(embertls.UnexpectedEOF) as info:
                    tls.recv(10)
                assert info.value.code == 201
                assert isinstance(info.value, embertls.TransportError)
            tls.close()
            peer.result()

    # Nothing comes: the read times out as socket reads do.
    with ssl_server(pki, handler=lambda tls: tls.recv(10)) as (port, peer):
        with ctx.wrap_socket(connect(port), server_hostname="localhost") as tls:
            tls.settimeout(0.3)
            assert tls.gettimeout() == 0.3
            with pytest.raises(socket.timeout):
                tls.recv(10)
            tls.sendall(b"done")
        peer.result()


def test_load_default_certs_and_cadata(pki, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", pki["ca.pem"])
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    system = embertls.Context(embertls.CLIENT)
    assert system.load_default_certs() == 1
    pem = embertls.create_client_context(cadata=Path(pki["ca.pem"]).read_text())
    der = embertls.create_client_context(cadata=Path(pki["ca.der"]).read_bytes() * 2)
    assert len(der.trust_store) == 1
    capath = embertls.create_client_context(capath=pki.dir / "roots")
    assert len(capath.trust_store) == 2  # ca.pem (twice, kept once) and unknown-ca.pem
    for ctx in (system, pem, der, capath):
        with ssl_server(pki) as (port, peer):
            with ctx.wrap_socket(connect(port), server_hostname="localhost") as tls:
                assert tls.version() == "TLSv1.3"
            peer.result()
    # The built-in Mozilla roots do not know our test CA.
    builtin = embertls.create_client_context()
    with ssl_server(pki) as (port, peer):
        with pytest.raises(embertls.CertificateError):
            builtin.wrap_socket(connect(port), server_hostname="localhost")
        peer.join(TIMEOUT)


def test_one_thread_at_a_time_and_close_from_another(pki):
    """A blocking recv holds the connection: another thread's send is refused with
    WrongState (never two threads inside embertls on one connection), and close() from
    another thread ends the recv instead of waiting forever."""
    def sink(tls):
        try:
            while tls.recv(100):
                pass
        except (ssl.SSLError, OSError):
            pass  # we close abruptly below

    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    with ssl_server(pki, handler=sink) as (port, peer):
        raw = connect(port)
        raw.settimeout(None)  # blocking: embertls blocks inside the call
        tls = ctx.wrap_socket(raw, server_hostname="localhost")
        reader = Peer(tls.recv, 100)  # the server never sends: this blocks
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                tls.send(b"x")
            except embertls.WrongState as err:
                assert "another thread" in err.detail
                break
            assert time.monotonic() < deadline, "the reader never started"
            time.sleep(0.01)
        tls.close()
        with pytest.raises((embertls.Error, ValueError)):
            reader.result()
        peer.result()


def test_wrap_before_connect(pki):
    """As ssl: wrap an unconnected socket, then connect() does the handshake."""
    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    with ssl_server(pki) as (port, peer):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(TIMEOUT)
        with ctx.wrap_socket(sock, server_hostname="localhost") as tls:
            assert tls.version() is None
            tls.connect(("127.0.0.1", port))
            assert tls.version() == "TLSv1.3"
            assert tls.getpeername()[1] == port and tls.fileno() == sock.fileno()
            tls.sendall(b"connected")
            assert tls.recv(9) == b"connected"
        assert sock.fileno() == -1  # closing the TLSSocket closed the socket
        peer.result()
