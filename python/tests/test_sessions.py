"""Resumption through a SessionCache shared by client contexts."""

from __future__ import annotations

import ssl

import pytest

import embertls
from conftest import connect, echo_through, ember_server, ssl_server

VERSIONS = [pytest.param(ssl.TLSVersion.TLSv1_2, id="tls12"),
            pytest.param(ssl.TLSVersion.TLSv1_3, id="tls13")]


def exchange(ctx: embertls.Context, port: int) -> bool:
    """One connection: data both ways (a TLS 1.3 client receives its tickets while
    reading), a clean close; returns whether it resumed."""
    with ctx.wrap_socket(connect(port), server_hostname="localhost") as tls:
        assert echo_through(tls, b"session data") == b"session data"
        return tls.session_reused


@pytest.mark.parametrize("version", VERSIONS)
def test_shared_cache_resumes_with_ssl_server(pki, version):
    cache = embertls.SessionCache(16)
    trust = embertls.TrustStore()
    trust.load_verify_locations(pki["ca.pem"])
    first = embertls.create_client_context(trust_store=trust, session_cache=cache,
                                           maximum_version=version)
    second = embertls.create_client_context(trust_store=trust, session_cache=cache,
                                            maximum_version=version)
    assert first.session_cache is cache and first.trust_store is trust
    with ssl_server(pki, version=version, conns=2) as (port, peer):
        assert exchange(first, port) is False  # a full handshake
        assert exchange(second, port) is True  # the other context's session
        peer.result()


@pytest.mark.parametrize("version", VERSIONS)
def test_resumption_with_our_server(pki, version):
    server = embertls.create_server_context(*pki.chain("ecdsa-p256"), maximum_version=version)
    client = embertls.create_client_context(cafile=pki["ca.pem"], maximum_version=version)

    def handler(tls):
        data = tls.recv(100)
        tls.sendall(data)
        assert tls.recv(100) == b""
        return tls.session_reused

    with ember_server(server, conns=2, handler=handler) as (port, peer):
        assert [exchange(client, port), exchange(client, port)] == [False, True]
        assert peer.result() == [False, True]


def test_cache_is_shared_only_under_the_same_trust(pki):
    """rustls never resumes a session under another trust policy: two contexts with
    their own stores (even with the same roots) do not share sessions."""
    cache = embertls.SessionCache()
    first = embertls.create_client_context(cafile=pki["ca.pem"], session_cache=cache)
    second = embertls.create_client_context(cafile=pki["ca.pem"], session_cache=cache)
    with ssl_server(pki, conns=2) as (port, peer):
        assert exchange(first, port) is False
        assert exchange(second, port) is False  # another TrustStore object
        peer.result()


def test_no_resumption_when_the_cache_is_off(pki):
    client = embertls.create_client_context(cafile=pki["ca.pem"])
    client.set_session_cache_size(0)
    with ssl_server(pki, conns=2) as (port, peer):
        assert [exchange(client, port), exchange(client, port)] == [False, False]
        peer.result()


def test_ticket_keys_shared_between_servers(pki, tmp_path):
    """Two server contexts with the same ticket keys resume each other's sessions."""
    from conftest import handshake_pair, memory_pair, pump

    keys = bytes(range(80))
    servers = []
    for n in range(2):
        server = embertls.create_server_context(*pki.chain("ecdsa-p256"))
        if n == 0:
            server.set_ticket_keys(keys)
        else:
            (tmp_path / "keys").write_bytes(keys)
            server.load_ticket_keys(str(tmp_path / "keys"))
        servers.append(server)
    with pytest.raises(embertls.InvalidArgument):
        embertls.create_server_context().set_ticket_keys(b"short")
    client = embertls.create_client_context(cafile=pki["ca.pem"])
    resumed = []
    for server in servers:
        c, s = memory_pair(client, server)
        handshake_pair(c, s)
        s.write(b"t")
        pump(c, s)
        assert c.read() == b"t"
        resumed.append(c.session_reused)
    assert resumed == [False, True]
