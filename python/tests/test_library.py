"""Finding libembertls, checking its version, refusing another major version."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import embertls
from embertls import _lib

PACKAGE = Path(embertls.__file__).parent


def test_version():
    text = embertls.library_version_string()
    assert text.startswith("embertls ") and "(rustls " in text
    major, minor, patch = embertls.library_version()
    assert f"{major}.{minor}.{patch}" in text
    assert major == _lib.BINDING_MAJOR
    assert embertls.__version__ == _lib.BINDING_VERSION
    assert os.path.samefile(embertls.library_path(), os.environ["EMBERTLS_LIBRARY"])


def test_names():
    assert embertls.protocol_version_name(0x0304) == "TLSv1.3"
    assert embertls.protocol_version_name(0x0301) is None
    assert embertls.cipher_suite_name(0x1301) == "TLS_AES_128_GCM_SHA256"
    assert embertls.group_name(0x001D) == "X25519"
    assert embertls.alert_name(45) == "certificate_expired"
    assert embertls.info.trace_step_name(1) == "CLIENT_HELLO_SENT"
    for step in embertls.TraceStep:
        assert embertls.info.trace_step_name(step) == step.name


def test_other_major_version_is_refused():
    with pytest.raises(embertls.LibraryVersionError) as info:
        _lib.check_version("embertls 1.0.0 (rustls 0.23.1)", "/x/libembertls.so")
    err = info.value
    assert "needs major version 0" in str(err) and "/x/libembertls.so" in str(err)
    assert err.library_version == "embertls 1.0.0 (rustls 0.23.1)"
    assert isinstance(err, embertls.LibraryError)
    with pytest.raises(embertls.LibraryVersionError, match="cannot tell"):
        _lib.check_version("libfoo 2", "/x/libfoo.so")
    assert _lib.check_version(f"embertls {_lib.BINDING_MAJOR}.99.1 (rustls 0.23.0)", "x") \
        == (_lib.BINDING_MAJOR, 99, 1)


class FakeFunction:
    def __init__(self, result=None):
        self.result = result
        self.argtypes = self.restype = None

    def __call__(self, *args):
        return self.result


class FakeLibrary:
    """A stand-in for a ctypes.CDLL: only the functions given."""

    def __init__(self, **functions):
        self.__dict__.update(functions)


def test_declare_checks_the_version_first():
    fake = FakeLibrary(ember_version=FakeFunction(b"embertls 7.0.0 (rustls 9.9.9)"))
    with pytest.raises(embertls.LibraryVersionError, match="is embertls 7.0.0"):
        _lib.declare(fake, "fake.so")
    assert fake.ember_version.restype is _lib.c_char_p  # declared before the call

    same_major = FakeLibrary(
        ember_version=FakeFunction(f"embertls {_lib.BINDING_MAJOR}.0.1 (rustls 1)".encode()),
        ember_result_str=FakeFunction())
    with pytest.raises(embertls.LibraryError, match="lacks ember_result_name") as info:
        _lib.declare(same_major, "old.so")
    assert not isinstance(info.value, embertls.LibraryVersionError)
    assert same_major.ember_result_str.argtypes == [_lib.c_int]

    with pytest.raises(embertls.LibraryError, match="not an embertls library"):
        _lib.declare(FakeLibrary(), "libc.so")


def test_every_function_of_the_header_is_declared():
    header = (Path(__file__).parents[2] / "include" / "embertls.h").read_text()
    import re

    declared = set(re.findall(r"^(?:const )?\w+ \*?(ember_\w+)\(", header, re.M))
    assert declared == set(_lib._PROTOTYPES)
    lib = _lib.get()
    for name, (restype, argtypes) in _lib._PROTOTYPES.items():
        fn = getattr(lib, name)
        assert fn.restype is restype and fn.argtypes == argtypes, name


def run_python(code: str, env: dict, cwd=None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "EMBERTLS_LIBRARY"}
    return subprocess.run([sys.executable, "-c", code], env={**base, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=30)


PROBE = """
import embertls
try:
    embertls.Context()
    print("loaded", embertls.library_path())
except embertls.LibraryError as e:
    print(type(e).__name__, e)
"""


def test_a_library_of_another_major_version_is_refused(tmp_path):
    """A real shared library whose ember_version() says 1.2.3, loaded through
    EMBERTLS_LIBRARY in a fresh interpreter."""
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / "fake.c"
    src.write_text('const char *ember_version(void) { return "embertls 1.2.3 (rustls 0.23.0)"; }\n')
    fake = tmp_path / "libembertls.so"
    subprocess.run([cc, "-shared", "-fPIC", "-o", str(fake), str(src)], check=True)
    out = run_python(PROBE, {"EMBERTLS_LIBRARY": str(fake),
                             "PYTHONPATH": str(PACKAGE.parent)})
    assert out.stdout.startswith("LibraryVersionError"), out
    assert "embertls 1.2.3" in out.stdout and "needs major version 0" in out.stdout


def test_where_the_library_is_found(tmp_path):
    real = os.environ["EMBERTLS_LIBRARY"]
    # EMBERTLS_LIBRARY naming nothing is an error, not a reason to look elsewhere.
    out = run_python(PROBE, {"EMBERTLS_LIBRARY": str(tmp_path / "nothing.so"),
                             "PYTHONPATH": str(PACKAGE.parent)})
    assert out.stdout.startswith("LibraryError cannot load"), out

    # Next to the package.
    copy = tmp_path / "site"
    shutil.copytree(PACKAGE, copy / "embertls")
    shutil.copy(real, copy / "embertls" / "libembertls.so")
    out = run_python(PROBE, {"PYTHONPATH": str(copy)}, cwd=tmp_path)
    assert out.stdout.strip() == f"loaded {copy / 'embertls' / 'libembertls.so'}", out

    # The system's library path (here LD_LIBRARY_PATH), by name.
    out = run_python(PROBE, {"PYTHONPATH": str(PACKAGE.parent),
                             "LD_LIBRARY_PATH": str(Path(real).parent)})
    assert out.stdout.strip() in ("loaded libembertls.so.0", "loaded libembertls.so"), out

    # Nowhere: the message says how to fix it.
    out = run_python(PROBE, {"PYTHONPATH": str(PACKAGE.parent), "LD_LIBRARY_PATH": ""},
                     cwd=tmp_path)
    if out.stdout.startswith("loaded"):
        pytest.skip("a libembertls is installed on this system")
    assert out.stdout.startswith("LibraryError cannot find libembertls"), out
    assert "EMBERTLS_LIBRARY" in out.stdout


@pytest.mark.parametrize("name", ["ecdsa-p256-leaf", "rsa-leaf", "ed25519-leaf", "wronghost-leaf",
                                  "expired-leaf", "selfsigned", "ca", "revoked-leaf"])
def test_certificate_dict_matches_ssl(pki, name):
    """getpeercert()'s dict is decoded by the binding; ssl's own decoder (the private
    helper ssl's tests use) reads the same certificates the same way."""
    import ssl

    from embertls import _x509

    path = pki[f"{name}.pem"]
    ours = _x509.decode(ssl.PEM_cert_to_DER_cert(Path(path).read_text()))
    theirs = ssl._ssl._test_decode_cert(path)
    for key in ("subject", "issuer", "version", "serialNumber", "notBefore", "notAfter",
                "subjectAltName"):
        assert ours.get(key) == theirs.get(key), key
