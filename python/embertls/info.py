"""Process-wide information and certificate helpers: versions, names of codes, SPKI pins,
name checks."""

from __future__ import annotations

import ctypes
from typing import Optional, Tuple

from . import _lib
from ._util import BytesLike, InBuffer, cstr, raise_for, static_str


def library_version_string() -> str:
    """What ``ember_version()`` says: "embertls X.Y.Z (rustls A.B.C)"."""
    return static_str(_lib.get().ember_version()) or ""


def library_version() -> Tuple[int, int, int]:
    """The loaded library's (major, minor, patch)."""
    parsed = _lib.parse_version(library_version_string())
    assert parsed is not None  # checked when the library was loaded
    return parsed


def result_name(code: int) -> str:
    """The identifier of a result code, e.g. "EMBER_ERR_CERT_EXPIRED"."""
    return static_str(_lib.get().ember_result_name(int(code))) or ""


def result_str(code: int) -> str:
    """The library's sentence for a result code."""
    return static_str(_lib.get().ember_result_str(int(code))) or ""


def protocol_version_name(version: int) -> Optional[str]:
    """"TLSv1.2" for 0x0303, "TLSv1.3" for 0x0304, else None."""
    return static_str(_lib.get().ember_protocol_version_name(int(version) & 0xFFFF))


def cipher_suite_name(suite: int) -> Optional[str]:
    """The IANA name of a cipher suite id embertls can negotiate, else None."""
    return static_str(_lib.get().ember_cipher_suite_name(int(suite) & 0xFFFF))


def group_name(group: int) -> Optional[str]:
    """The IANA name of a key-exchange group id, e.g. "X25519", else None."""
    return static_str(_lib.get().ember_group_name(int(group) & 0xFFFF))


def alert_name(alert: int) -> Optional[str]:
    """The RFC name of a TLS alert, e.g. "certificate_expired" for 45, else None."""
    return static_str(_lib.get().ember_alert_name(int(alert) & 0xFF))


def trace_step_name(step: int) -> Optional[str]:
    """The name of a trace step, e.g. "CLIENT_HELLO_SENT", else None."""
    return static_str(_lib.get().ember_trace_step_name(int(step) & 0xFFFFFFFF))


def cert_spki_sha256(der: BytesLike) -> bytes:
    """The SHA-256 of the certificate's SubjectPublicKeyInfo: what key pins are made of
    (base64 it to compare with curl's / HPKP's "sha256//..." pins)."""
    buf = InBuffer(der)
    out = ctypes.create_string_buffer(32)
    raise_for(_lib.get().ember_cert_spki_sha256(buf.address, buf.length, out))
    return out.raw


def cert_check_name(der: BytesLike, server_name: str) -> bool:
    """Whether the certificate is valid for ``server_name`` (DNS name, wildcards, or IP
    address), as the built-in verification checks it. Raises for a certificate that cannot
    be parsed or a name that is neither DNS name nor IP address."""
    buf = InBuffer(der)
    r = _lib.get().ember_cert_check_name(buf.address, buf.length,
                                         cstr(server_name, "server_name"))
    if r == 304:  # EMBER_ERR_CERT_HOSTNAME_MISMATCH
        return False
    raise_for(r)
    return True
