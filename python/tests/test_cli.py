"""`python -m embertls.client` and `python -m embertls.server`, as the C examples are
tested: their output lines and exit statuses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TIMEOUT, data_of, ssl_echo, ssl_server

ROOT = Path(__file__).parents[1]


def env():
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def summaries(stderr: str):
    """The key=value fields of each "embertls: version=..." line."""
    return [dict(kv.split("=", 1) for kv in line[len("embertls: "):].split())
            for line in stderr.splitlines() if line.startswith("embertls: version=")]


def client(args, data: bytes = b""):
    return subprocess.run([sys.executable, "-m", "embertls.client", *args], input=data,
                          capture_output=True, env=env(), timeout=TIMEOUT)


@pytest.fixture
def server(pki):
    """Starts `python -m embertls.server` with extra options; yields (port, process)."""
    procs = []

    def start(*extra, conns=1, name="ecdsa-p256"):
        proc = subprocess.Popen(
            [sys.executable, "-m", "embertls.server", "--listen", "127.0.0.1:0",
             "--cert", pki[f"{name}.pem"], "--key", pki[f"{name}.key"],
             "--max-conns", str(conns), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), text=True)
        procs.append(proc)
        line = proc.stdout.readline()
        m = re.fullmatch(r"listening on 127\.0\.0\.1:(\d+)\n", line)
        assert m, f"server said {line!r}; stderr: {proc.stderr.read()}"
        return int(m.group(1)), proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_client_and_server(pki, server):
    data = data_of(500_000, seed=4)
    port, proc = server("--alpn", "h2", conns=2)
    common = [f"127.0.0.1:{port}", "--servername", "localhost", "--ca", pki["ca.pem"]]
    out = client(common + ["--alpn", "h2", "--trace"], data)
    assert out.returncode == 0, out.stderr
    assert out.stdout == data
    err = out.stderr.decode()
    [line] = summaries(err)
    assert line["version"] == "TLSv1.3" and line["server_name"] == "localhost"
    assert line["alpn"] == "h2" and float(line["handshake_ms"]) > 0
    assert "suite" in line and "group" in line
    assert "CLIENT_HELLO_SENT" in err and "COMPLETE: full handshake" in err

    out = client(["--connect", f"127.0.0.1:{port}", "--servername", "localhost",
                  "--ca", pki["ca.pem"], "--tls12"], b"hello")
    assert out.returncode == 0 and out.stdout == b"hello", out.stderr
    assert summaries(out.stderr.decode())[0]["version"] == "TLSv1.2"

    stdout, stderr = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, stderr
    lines = summaries(stderr)
    assert [s["version"] for s in lines] == ["TLSv1.3", "TLSv1.2"]
    assert all(s["server_name"] == "localhost" for s in lines)
    assert [s["alpn"] for s in lines] == ["h2", "-"]  # the second client offered none
    assert [line for line in stderr.splitlines() if "version=" not in line] == []


def test_client_against_ssl_server(pki):
    with ssl_server(pki, handler=ssl_echo) as (port, peer):
        out = client([f"127.0.0.1:{port}", "--servername", "localhost", "--ca",
                      pki["ca.pem"]], b"to python")
        assert out.returncode == 0, out.stderr
        assert out.stdout == b"to python"
        assert peer.result()[0]["received"] == 9


def test_client_handshake_failure(pki, server):
    port, proc = server(name="expired")
    out = client([f"127.0.0.1:{port}", "--servername", "localhost", "--ca", pki["ca.pem"]])
    assert out.returncode == 1
    err = out.stderr.decode()
    assert "embertls: handshake failed: EMBER_ERR_CERT_EXPIRED: " in err
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert "embertls: handshake failed: EMBER_ERR_ALERT_RECEIVED" in stderr


def test_mutual_tls_and_usage(pki, server):
    port, proc = server("--client-ca", pki["ca.pem"])
    out = client([f"127.0.0.1:{port}", "--servername", "localhost", "--ca", pki["ca.pem"],
                  "--cert", pki["clientonly.pem"], "--key", pki["clientonly.key"]], b"m")
    assert out.returncode == 0 and out.stdout == b"m", out.stderr
    _, stderr = proc.communicate(timeout=TIMEOUT)
    assert summaries(stderr)[0]["client_certs"] == "2"

    assert client(["nowhere"]).returncode == 2
    assert client(["127.0.0.1:1", "--cert", pki["clientonly.pem"]]).returncode == 2
    out = client(["127.0.0.1:1", "--ca", str(Path(pki["ca.pem"]).parent / "missing.pem")])
    assert out.returncode == 3 and b"EMBER_ERR_FILE" in out.stderr
    bad = subprocess.run([sys.executable, "-m", "embertls.server", "--listen",
                          "127.0.0.1:0", "--cert", pki["ecdsa-p256.pem"],
                          "--key", pki["expired.key"]], capture_output=True, env=env(),
                         timeout=TIMEOUT, text=True)
    assert bad.returncode == 3 and "EMBER_ERR_KEY_MISMATCH" in bad.stderr
    assert bad.stdout == ""  # no "listening on" line for a server that cannot serve
