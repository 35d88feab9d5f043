"""Python callbacks: verification, trace, key log, session store, log. They stay alive as
long as the context, and their exceptions reach the caller."""

from __future__ import annotations

import base64
import gc
import hashlib
import subprocess
import threading
from pathlib import Path

import pytest

import embertls
from embertls import Result
from conftest import (
    connect,
    expect_failure,
    handshake_pair,
    memory_pair,
    pump,
    ssl_failing_server,
    ssl_server,
)


def server_for(pki, name="ecdsa-p256"):
    return embertls.create_server_context(*pki.chain(name))


def test_verify_callback_sees_name_chain_and_verdict(pki):
    calls = []

    def verify(server_name, chain, verdict):
        calls.append((server_name, chain, verdict, threading.get_ident()))
        return True

    client = embertls.create_client_context(cafile=pki["ca.pem"], verify_callback=verify)
    c, s = memory_pair(client, server_for(pki), "127.0.0.1")
    handshake_pair(c, s)
    [(name, chain, verdict, thread)] = calls
    assert name == "127.0.0.1"
    assert chain == c.peer_chain() and chain[0] == pki.leaf_der("ecdsa-p256")
    assert len(chain) == 2 and all(isinstance(der, bytes) for der in chain)
    assert verdict is Result.OK
    assert thread == threading.get_ident()  # on the thread that drove the handshake


def test_verify_callback_decides(pki):
    leaf = Path(pki["selfsigned.pem"]).read_text()
    import ssl

    pin = embertls.cert_spki_sha256(ssl.PEM_cert_to_DER_cert(leaf))

    def pinning(server_name, chain, verdict):
        if verdict not in (Result.OK, Result.ERR_CERT_SELF_SIGNED,
                           Result.ERR_CERT_UNKNOWN_ISSUER):
            return False  # uphold expired, wrong name...
        if embertls.cert_spki_sha256(chain[0]) != pin:
            return f"key {embertls.cert_spki_sha256(chain[0]).hex()[:16]} is not pinned"
        if verdict != Result.OK and not embertls.cert_check_name(chain[0], server_name):
            # Verification stopped at the chain: the name was never checked.
            return f"the pinned certificate is not valid for {server_name}"
        return True

    # An empty trust store trusts nothing; the pin accepts the self-signed server.
    client = embertls.Context(embertls.CLIENT)
    client.trust_store = embertls.TrustStore()
    client.set_verify_callback(pinning)
    c, s = memory_pair(client, server_for(pki, "selfsigned"))
    handshake_pair(c, s)
    assert c.version() == "TLSv1.3"

    # A key that is not pinned: rejected with the callback's reason.
    with pytest.raises(embertls.CertificateRejected) as info:
        handshake_pair(*memory_pair(client, server_for(pki, "ecdsa-p256")))
    assert info.value.code == 308 and "is not pinned" in info.value.detail

    # The pin does not excuse the wrong name.
    with pytest.raises(embertls.CertificateRejected) as info:
        handshake_pair(*memory_pair(client, server_for(pki, "selfsigned"), "other.example"))
    assert info.value.detail.endswith(": the pinned certificate is not valid for other.example")

    # False with a failed verdict upholds it: same class, code and detail as without.
    upholding = embertls.create_client_context(cafile=pki["ca.pem"],
                                               verify_callback=lambda *a: False)
    with pytest.raises(embertls.CertificateExpired) as info:
        handshake_pair(*memory_pair(upholding, server_for(pki, "expired")))
    assert info.value.code == 300 and "expired" in info.value.detail
    # ...and with a good chain it rejects.
    with pytest.raises(embertls.CertificateRejected) as info:
        handshake_pair(*memory_pair(upholding, server_for(pki)))
    assert "verification callback" in info.value.detail

    # Removing the callback restores the built-in decision.
    plain = embertls.create_client_context(cafile=pki["ca.pem"], verify_callback=pinning)
    plain.set_verify_callback(None)
    handshake_pair(*memory_pair(plain, server_for(pki)))


def test_spki_sha256_matches_openssl(pki):
    der = pki.leaf_der("ecdsa-p256")
    pubkey = subprocess.run(["openssl", "x509", "-in", pki["ecdsa-p256-leaf.pem"], "-pubkey",
                             "-noout"], check=True, capture_output=True).stdout
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pubkey,
                          check=True, capture_output=True).stdout
    assert embertls.cert_spki_sha256(der) == hashlib.sha256(spki).digest()
    assert base64.b64encode(embertls.cert_spki_sha256(der)).endswith(b"=")
    assert embertls.cert_check_name(der, "localhost")
    assert embertls.cert_check_name(der, "127.0.0.1")
    assert not embertls.cert_check_name(der, "example.com")
    with pytest.raises(embertls.BadCertificate):
        embertls.cert_spki_sha256(b"nope")
    with pytest.raises(embertls.InvalidArgument):
        embertls.cert_check_name(der, "not a name!")


def test_verify_callback_exception_is_reraised(pki):
    def verify(server_name, chain, verdict):
        raise ValueError("boom from the callback")

    client = embertls.create_client_context(cafile=pki["ca.pem"], verify_callback=verify)
    # Over a socket, against Python's ssl: the exception surfaces from wrap_socket.
    with ssl_failing_server(pki, "ecdsa-p256") as (port, peer):
        with pytest.raises(ValueError, match="boom from the callback") as info:
            client.wrap_socket(connect(port), server_hostname="localhost")
        assert expect_failure(peer) is not None  # told with an alert
    # The handshake failed because of it; that failure is the exception's context.
    context = info.value.__context__
    assert isinstance(context, embertls.CertificateRejected)
    assert "ValueError: boom from the callback" in context.detail
    # The traceback reaches into the callback.
    assert info.traceback[-1].name == "verify"

    # In memory mode too, and the connection stays failed without raising it twice.
    c, s = memory_pair(client, server_for(pki))
    with pytest.raises(ValueError):
        handshake_pair(c, s)
    with pytest.raises(embertls.CertificateRejected):
        c.do_handshake()


def test_trace_and_keylog(pki, tmp_path):
    events = []
    lines = []
    client = embertls.create_client_context(cafile=pki["ca.pem"])
    client.set_trace_callback(events.append)
    client.set_keylog_callback(lines.append)
    server = server_for(pki)
    server.keylog_filename = str(tmp_path / "keys.log")
    assert server.keylog_filename == str(tmp_path / "keys.log")
    c, s = memory_pair(client, server)
    # The ClientHello is traced from inside the connection's creation.
    assert [e.step for e in events] == [embertls.TraceStep.CLIENT_HELLO_SENT]
    handshake_pair(c, s)
    steps = [e.step for e in events]
    assert steps[-1] == embertls.TraceStep.COMPLETE
    assert embertls.TraceStep.CERTIFICATE_CHECK in steps
    assert all(e.conn_id == c.id for e in events)
    times = [e.time_ns for e in events]
    assert times == sorted(times)
    assert "full handshake" in events[-1].text
    labels = {line.split()[0] for line in lines}
    assert {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"} <= labels
    server_lines = (tmp_path / "keys.log").read_text().splitlines()
    assert sorted(server_lines) == sorted(lines)  # both ends derived the same secrets


def test_trace_callback_exception_is_reraised(pki):
    def trace(event):
        if event.step == embertls.TraceStep.COMPLETE:
            raise RuntimeError("trace callback failed")

    client = embertls.create_client_context(cafile=pki["ca.pem"])
    client.set_trace_callback(trace)
    c, s = memory_pair(client, server_for(pki))
    with pytest.raises(RuntimeError, match="trace callback failed"):
        handshake_pair(c, s)
    # The handshake itself succeeded (a trace callback cannot fail it).
    c.do_handshake()
    assert c.version() == "TLSv1.3"

    # An exception in the very first step comes out of the connection's creation.
    def first(event):
        raise KeyError(event.step.name)

    client2 = embertls.create_client_context(cafile=pki["ca.pem"])
    client2.set_trace_callback(first)
    with pytest.raises(KeyError, match="CLIENT_HELLO_SENT"):
        client2.wrap_bio(server_hostname="localhost")


def test_callbacks_outlive_their_references(pki):
    """The context keeps the ctypes callbacks alive: dropping every reference the test
    held (and collecting) must not leave C with a dangling function pointer."""
    seen = []

    def make_client():
        ctx = embertls.create_client_context(cafile=pki["ca.pem"])
        ctx.set_verify_callback(lambda name, chain, verdict: seen.append(name) or True)
        ctx.set_trace_callback(lambda event: seen.append(event.step))
        ctx.set_keylog_callback(lambda line: seen.append(line[:6]))
        return ctx.wrap_bio(server_hostname="localhost")

    c = make_client()  # the context is only reachable through the connection now
    gc.collect()
    s = server_for(pki).wrap_bio()
    gc.collect()
    handshake_pair(c, s)
    assert "localhost" in seen and embertls.TraceStep.COMPLETE in seen


def test_session_store_on_the_server(pki):
    store = {}
    server = server_for(pki)
    server.set_tickets(False)  # TLS 1.3 stateful tickets go to the store
    server.set_session_store(store)
    client = embertls.create_client_context(cafile=pki["ca.pem"])
    for attempt in range(2):
        c, s = memory_pair(client, server)
        handshake_pair(c, s)
        c.write(b"x")
        pump(c, s)
        assert s.read() == b"x"
        s.write(b"y")
        pump(c, s)
        assert c.read() == b"y"  # the client takes its ticket in
        assert c.session_reused == s.session_reused == (attempt == 1)
        assert store or attempt == 1

    class Broken(dict):
        def __setitem__(self, key, value):
            raise OSError("the store is down")

    broken = server_for(pki)
    broken.set_tickets(False)
    broken.set_session_store(Broken())
    c, s = memory_pair(embertls.create_client_context(cafile=pki["ca.pem"]), broken)
    with pytest.raises(OSError, match="the store is down"):
        handshake_pair(c, s)


def test_log_callback(pki):
    records = []
    embertls.set_log_callback(lambda level, target, message: records.append((level, target)),
                              embertls.LogLevel.DEBUG)
    try:
        handshake_pair(*memory_pair(embertls.create_client_context(cafile=pki["ca.pem"]),
                                    server_for(pki)))
    finally:
        embertls.set_log_callback(None)
    assert records
    assert all(isinstance(level, embertls.LogLevel) for level, _ in records)
    assert any(target.startswith("rustls") for _, target in records)
    count = len(records)
    handshake_pair(*memory_pair(embertls.create_client_context(cafile=pki["ca.pem"]),
                                server_for(pki)))
    assert len(records) == count  # stopped


def test_concurrent_handshakes_share_a_context(pki):
    """A frozen context serves several threads at once: both handshakes are inside the
    verification callback together (the GIL is released around embertls calls), and each
    thread's callback exception stays its own."""
    both_inside = threading.Barrier(2, timeout=10)
    calls = []

    def verify(name, chain, verdict):
        calls.append(threading.current_thread().name)
        both_inside.wait()
        if name == "127.0.0.1":
            raise LookupError("refused on this thread")
        return True

    client = embertls.create_client_context(cafile=pki["ca.pem"], verify_callback=verify)
    server = server_for(pki)
    results = {}

    def run(name):
        try:
            handshake_pair(*memory_pair(client, server, name))
            results[name] = "ok"
        except LookupError:
            results[name] = "LookupError"

    threads = [threading.Thread(target=run, args=(n,), name=n)
               for n in ("localhost", "127.0.0.1")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert results == {"localhost": "ok", "127.0.0.1": "LookupError"}
    assert sorted(calls) == ["127.0.0.1", "localhost"]


def test_ssl_server_sees_our_client_certificate_only_when_asked(pki):
    """A client certificate is sent only in answer to a CertificateRequest: a server that
    did not ask sees none (test_mutual_tls_our_client covers the one that asks)."""
    certfile, keyfile = pki.chain("clientonly")
    client = embertls.create_client_context(cafile=pki["ca.pem"], certfile=certfile,
                                            keyfile=keyfile)
    with ssl_server(pki) as (port, peer):
        with client.wrap_socket(connect(port), server_hostname="localhost") as tls:
            tls.sendall(b"ok")
            assert tls.recv(2) == b"ok"
        seen = peer.result()[0]
    assert seen["received"] == 2
    assert seen["peercert"] is None
