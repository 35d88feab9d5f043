"""Result codes as exceptions: the class, the exact code, the name and the detail."""

from __future__ import annotations

import ssl

import pytest

import embertls
from embertls import Result, errors
from conftest import connect, expect_failure, handshake_pair, memory_pair, ssl_failing_server

CERT_CASES = [
    # (server chain, name the client verifies, exception, code, words in the detail)
    ("expired", "localhost", embertls.CertificateExpired, 300, "expired"),
    ("notyet", "localhost", embertls.CertificateNotYetValid, 301, "not valid"),
    ("unknown-ca", "localhost", embertls.UnknownIssuer, 302, ""),
    ("badsig", "localhost", embertls.BadSignature, 303, ""),
    ("wronghost", "localhost", embertls.HostnameMismatch, 304, "other.example"),
    ("selfsigned", "localhost", embertls.SelfSigned, 313, ""),
]


@pytest.mark.parametrize("name,host,cls,code,words", CERT_CASES,
                         ids=[c[0] for c in CERT_CASES])
def test_certificate_errors_from_ssl_server(pki, name, host, cls, code, words):
    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    with ssl_failing_server(pki, name) as (port, peer):
        with pytest.raises(cls) as info:
            ctx.wrap_socket(connect(port), server_hostname=host)
        # The server was told why with an alert, so its handshake fails too.
        assert expect_failure(peer) is not None
    err = info.value
    assert isinstance(err, embertls.CertificateError) and isinstance(err, embertls.Error)
    assert err.code == code
    assert err.name == Result(code).c_name == embertls.result_name(code)
    assert words in err.detail and err.detail
    assert str(err) == f"{err.name}: {err.detail}"


def test_certificate_errors_in_memory(pki):
    """The same verdicts between two embertls ends, with no sockets."""
    client = embertls.create_client_context(cafile=pki["ca.pem"])
    for name, host, cls, code, _ in CERT_CASES:
        server = embertls.create_server_context(*pki.chain(name))
        c, s = memory_pair(client, server, host)
        with pytest.raises(cls) as info:
            handshake_pair(c, s)
        assert info.value.code == code
        # The failure is final: the next call says the same.
        with pytest.raises(cls):
            c.do_handshake()
        # The client queued the matching alert; the server reports receiving it.
        s.feed(c.drain())
        with pytest.raises(embertls.AlertReceived) as alert:
            s.do_handshake()
        assert alert.value.code == 404
        assert alert.value.alert is not None and alert.value.alert_name
        assert s.peer_alert() == (alert.value.alert, alert.value.alert_name)


def test_revoked(pki):
    client = embertls.Context("client")
    client.load_verify_locations(pki["ca.pem"])
    client.load_crls(crlfile=pki["crls.pem"], flags=embertls.REVOCATION_END_ENTITY_ONLY)
    assert client.trust_store.crl_count == 3
    server = embertls.create_server_context(*pki.chain("revoked"))
    with pytest.raises(embertls.Revoked) as info:
        handshake_pair(*memory_pair(client, server))
    assert info.value.code == 305 and "revoked" in info.value.detail


def test_no_shared_version(pki):
    client = embertls.create_client_context(cafile=pki["ca.pem"],
                                            minimum_version=embertls.TLSVersion.TLSv1_3)
    assert client.minimum_version == embertls.TLSVersion.TLSv1_3
    server = embertls.create_server_context(*pki.chain("ecdsa-p256"),
                                            maximum_version=ssl.TLSVersion.TLSv1_2)
    c, s = memory_pair(client, server)
    with pytest.raises(embertls.HandshakeError) as info:
        handshake_pair(c, s)
    assert info.value.code in (400, 404)


def test_config_errors(pki, tmp_path):
    ctx = embertls.Context(embertls.SERVER)
    with pytest.raises(embertls.FileError) as info:
        ctx.load_cert_chain(str(tmp_path / "missing.pem"), pki["ecdsa-p256.key"])
    assert info.value.code == 108 and "missing.pem" in info.value.detail
    with pytest.raises(embertls.KeyMismatch) as info:
        ctx.load_cert_chain(pki["ecdsa-p256.pem"], pki["expired.key"])
    assert info.value.code == 107
    with pytest.raises(embertls.BadPEM):
        ctx.load_cert_chain(pki["garbage.pem"], pki["ecdsa-p256.key"])
    with pytest.raises(embertls.BadKey):
        ctx.load_cert_chain(pki["ecdsa-p256.pem"], pki["ecdsa-p256.pem"])
    with pytest.raises(ValueError):
        ctx.load_cert_chain(pki["ecdsa-p256.pem"], pki["ecdsa-p256.key"], password="x")
    # A server without a certificate cannot make connections.
    with pytest.raises(embertls.NoCertificate) as info:
        ctx.wrap_bio()
    assert info.value.code == 109 and info.value.detail
    # Certificate and key in one file, as ssl allows.
    both = tmp_path / "both.pem"
    both.write_text(open(pki["ecdsa-p256.pem"]).read() + open(pki["ecdsa-p256.key"]).read())
    ctx.load_cert_chain(str(both))
    with pytest.raises(embertls.BadPEM):
        embertls.TrustStore().add_pem(b"not pem")
    with pytest.raises(embertls.BadCertificate):
        embertls.TrustStore().add_der(b"\x30\x03\x02\x01\x00")
    with pytest.raises(embertls.BadCRL):
        embertls.TrustStore().add_crl(b"\x30\x03\x02\x01\x00")
    with pytest.raises(ValueError):
        ctx.minimum_version = 0x0301  # TLS 1.0
    with pytest.raises(embertls.WrongRole) as info:
        ctx.session_cache = embertls.SessionCache(4)
    assert info.value.code == 110
    with pytest.raises(embertls.WrongRole):
        ctx.set_verify_callback(lambda *a: True)
    with pytest.raises(embertls.WrongRole):
        embertls.Context("client").set_tickets(False)
    with pytest.raises(embertls.InvalidArgument):
        embertls.SessionCache(0)


def test_frozen_after_first_connection(pki):
    ctx = embertls.create_client_context(cafile=pki["ca.pem"])
    ctx.wrap_bio(server_hostname="localhost")
    with pytest.raises(embertls.ConfigFrozen) as info:
        ctx.set_alpn_protocols(["h2"])
    assert info.value.code == 104 and isinstance(info.value, embertls.UsageError)
    with pytest.raises(embertls.ConfigFrozen):
        ctx.load_verify_locations(pki["ca.pem"])  # the store is frozen with the config


def test_connection_arguments(pki):
    client = embertls.create_client_context()
    server = embertls.create_server_context(*pki.chain("ecdsa-p256"))
    with pytest.raises(ValueError):
        client.wrap_bio()  # no server_hostname
    with pytest.raises(ValueError):
        server.wrap_bio(server_hostname="localhost")
    with pytest.raises(ValueError):
        client.wrap_bio(server_side=True)
    with pytest.raises(embertls.InvalidArgument) as info:
        client.wrap_bio(server_hostname="not a name!")
    assert info.value.code == 101
    with pytest.raises(ValueError):
        embertls.Context("neither")
    conn = server.wrap_bio()
    conn.close()
    with pytest.raises(ValueError):
        conn.do_handshake()
    assert conn.closed and conn.version() is None and conn.pending_output == 0


def test_error_classes():
    assert embertls.WantReadError().code == 1 and embertls.WantWriteError().code == 2
    assert issubclass(embertls.WantReadError, embertls.WouldBlock)
    assert issubclass(embertls.WouldBlock, embertls.Error)
    assert not issubclass(embertls.WouldBlock, ssl.SSLError)
    assert issubclass(embertls.UnexpectedEOF, embertls.TransportError)
    every = {cls.default_code for cls in errors.CODE_CLASSES.values()}
    for code in Result:
        cls = errors.error_class(code)
        assert (code in every) == (cls.default_code == code)
        assert issubclass(cls, {0: embertls.Error, 100: embertls.UsageError,
                                200: embertls.TransportError,
                                300: embertls.CertificateError,
                                400: embertls.HandshakeError,
                                500: embertls.InternalError}[errors.result_class(code)])
        if code >= 100:
            # The binding's table and the library's agree on every name.
            assert embertls.result_name(code) == code.c_name
            assert embertls.result_str(code)
    # A code newer than the binding still gets its class's exception.
    assert type(errors.make_error(399)) is embertls.CertificateError
    assert type(errors.make_error(450)) is embertls.HandshakeError
    assert embertls.result_name(399) == "EMBER_UNKNOWN_RESULT"
    err = embertls.CertificateExpired(detail="x")
    assert (err.code, err.name, err.detail) == (300, "EMBER_ERR_CERT_EXPIRED", "x")
    assert repr(err) == "CertificateExpired(300, 'EMBER_ERR_CERT_EXPIRED', 'x')"
