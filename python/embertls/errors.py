"""Result codes and the exceptions they become.

Every embertls failure is raised as an :class:`Error` carrying the C result code
(``.code``, e.g. 300), its identifier (``.name``, e.g. ``"EMBER_ERR_CERT_EXPIRED"``) and the
detail the library gave (``.detail``, e.g. ``"the peer's certificate expired at ..."``).
The class says what kind of failure it is, following the code's hundreds::

    Error
    +-- WouldBlock                  1, 2: non-blocking I/O would block
    |   +-- WantReadError           EMBER_WANT_READ
    |   +-- WantWriteError          EMBER_WANT_WRITE
    +-- Closed                      3: the peer closed (where b"" cannot say so)
    +-- UsageError                  100s: misuse or bad input (file, PEM, key, state...)
    |   +-- InvalidArgument, WrongState, ConfigFrozen, BadPEM, BadKey, KeyMismatch,
    |       FileError, NoCertificate, WrongRole, BadCertificate, BadCRL
    +-- TransportError              200s: the transport failed (``.errno``)
    |   +-- UnexpectedEOF           201: the peer went away without close_notify
    +-- CertificateError            300s: the peer's certificate was refused
    |   +-- CertificateExpired, CertificateNotYetValid, UnknownIssuer, BadSignature,
    |       HostnameMismatch, Revoked, RevocationUnknown, UnsupportedCertificate,
    |       CertificateRejected, BadCertificateEncoding, InvalidPurpose,
    |       CertificateRequired, InvalidCertificate, SelfSigned, MissingIntermediate
    +-- HandshakeError              400s: negotiation or protocol failure
    |   +-- NoSharedVersion, NoSharedCipherSuite, NoSharedGroup, NoALPNOverlap,
    |       AlertReceived (``.alert``, ``.alert_name``), DecodeError, BadRecord,
    |       UnexpectedMessage, PeerMisbehaved, PeerIncompatible
    +-- InternalError               500s
        +-- Panic, Poisoned, ResourceLimit

WouldBlock is our own class, not a subclass of ``ssl.SSLWantReadError``: code written for
``ssl`` must catch ``embertls.WantReadError`` (or ``embertls.WouldBlock``) instead.
"""

from __future__ import annotations

import enum
from typing import Dict, Optional, Type


class Result(enum.IntEnum):
    """The C ``ember_result`` codes (without the ``EMBER_`` prefix)."""

    OK = 0
    WANT_READ = 1
    WANT_WRITE = 2
    CLOSED = 3
    ERR_NULL_ARG = 100
    ERR_INVALID_ARG = 101
    ERR_BUFFER_TOO_SMALL = 102
    ERR_WRONG_STATE = 103
    ERR_CONFIG_FROZEN = 104
    ERR_BAD_PEM = 105
    ERR_BAD_KEY = 106
    ERR_KEY_MISMATCH = 107
    ERR_FILE = 108
    ERR_NO_CERTIFICATE = 109
    ERR_WRONG_ROLE = 110
    ERR_BAD_CERTIFICATE = 111
    ERR_BAD_CRL = 112
    ERR_IO = 200
    ERR_UNEXPECTED_EOF = 201
    ERR_CERT_EXPIRED = 300
    ERR_CERT_NOT_YET_VALID = 301
    ERR_CERT_UNKNOWN_ISSUER = 302
    ERR_CERT_BAD_SIGNATURE = 303
    ERR_CERT_HOSTNAME_MISMATCH = 304
    ERR_CERT_REVOKED = 305
    ERR_CERT_REVOCATION_UNKNOWN = 306
    ERR_CERT_UNSUPPORTED = 307
    ERR_CERT_REJECTED = 308
    ERR_CERT_BAD_ENCODING = 309
    ERR_CERT_INVALID_PURPOSE = 310
    ERR_CERT_REQUIRED = 311
    ERR_CERT_INVALID = 312
    ERR_CERT_SELF_SIGNED = 313
    ERR_CERT_MISSING_INTERMEDIATE = 314
    ERR_NO_SHARED_VERSION = 400
    ERR_NO_SHARED_CIPHER_SUITE = 401
    ERR_NO_SHARED_GROUP = 402
    ERR_NO_ALPN_OVERLAP = 403
    ERR_ALERT_RECEIVED = 404
    ERR_DECODE = 405
    ERR_BAD_RECORD = 406
    ERR_UNEXPECTED_MESSAGE = 407
    ERR_PEER_MISBEHAVED = 408
    ERR_PEER_INCOMPATIBLE = 409
    ERR_PANIC = 500
    ERR_POISONED = 501
    ERR_RESOURCE_LIMIT = 502
    ERR_INTERNAL = 503

    @property
    def c_name(self) -> str:
        """The identifier in embertls.h, e.g. "EMBER_ERR_CERT_EXPIRED"."""
        return "EMBER_" + self.name


def result_class(code: int) -> int:
    """The class of a code, as EMBER_RESULT_CLASS(): 0, 100, 200, 300, 400 or 500."""
    return (int(code) // 100) * 100


class Error(Exception):
    """An embertls failure: ``code`` (the C ember_result), ``name`` (its identifier, e.g.
    "EMBER_ERR_CERT_EXPIRED") and ``detail`` (the library's explanation). ``str()`` gives
    "NAME: detail", as the C examples print it."""

    #: The code a subclass stands for, used when none is given.
    default_code: int = Result.ERR_INTERNAL

    def __init__(self, code: Optional[int] = None, name: Optional[str] = None,
                 detail: str = ""):
        self.code = int(self.default_code if code is None else code)
        if name is None:
            try:
                name = Result(self.code).c_name
            except ValueError:
                name = "EMBER_UNKNOWN_RESULT"
        self.name = name
        self.detail = detail
        super().__init__(self.code, name, detail)

    def __str__(self) -> str:
        return f"{self.name}: {self.detail}" if self.detail else self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code}, {self.name!r}, {self.detail!r})"


class WouldBlock(Error):
    """Non-blocking I/O would block: wait for the socket (or feed/drain in memory mode)
    and call again."""

    default_code = Result.WANT_READ


class WantReadError(WouldBlock):
    """EMBER_WANT_READ: call again once the socket is readable (memory mode: after feeding
    the bytes that arrived)."""

    default_code = Result.WANT_READ


class WantWriteError(WouldBlock):
    """EMBER_WANT_WRITE: call again once the socket is writable (memory mode: after
    draining)."""

    default_code = Result.WANT_WRITE


class Closed(Error):
    """EMBER_CLOSED where a clean end cannot be reported as b"" (e.g. the peer sent
    close_notify before the handshake completed)."""

    default_code = Result.CLOSED


class UsageError(Error):
    """100s: the call was misused or given input embertls cannot use."""

    default_code = Result.ERR_INVALID_ARG


class InvalidArgument(UsageError):
    default_code = Result.ERR_INVALID_ARG


class WrongState(UsageError):
    default_code = Result.ERR_WRONG_STATE


class ConfigFrozen(UsageError):
    """The context is in use by connections and can no longer change."""

    default_code = Result.ERR_CONFIG_FROZEN


class BadPEM(UsageError):
    default_code = Result.ERR_BAD_PEM


class BadKey(UsageError):
    default_code = Result.ERR_BAD_KEY


class KeyMismatch(UsageError):
    default_code = Result.ERR_KEY_MISMATCH


class FileError(UsageError):
    default_code = Result.ERR_FILE


class NoCertificate(UsageError):
    default_code = Result.ERR_NO_CERTIFICATE


class WrongRole(UsageError):
    default_code = Result.ERR_WRONG_ROLE


class BadCertificate(UsageError):
    """A certificate given to embertls (not the peer's) cannot be parsed."""

    default_code = Result.ERR_BAD_CERTIFICATE


class BadCRL(UsageError):
    default_code = Result.ERR_BAD_CRL


class TransportError(Error):
    """200s: the transport failed. ``errno`` is the OS error behind EMBER_ERR_IO (0 when
    unknown)."""

    default_code = Result.ERR_IO

    def __init__(self, code: Optional[int] = None, name: Optional[str] = None,
                 detail: str = "", errno: int = 0):
        super().__init__(code, name, detail)
        self.errno = errno


class UnexpectedEOF(TransportError):
    """The peer's transport ended without close_notify: the data may be truncated."""

    default_code = Result.ERR_UNEXPECTED_EOF


class CertificateError(Error):
    """300s: the peer's certificate (chain) was refused."""

    default_code = Result.ERR_CERT_INVALID


class CertificateExpired(CertificateError):
    default_code = Result.ERR_CERT_EXPIRED


class CertificateNotYetValid(CertificateError):
    default_code = Result.ERR_CERT_NOT_YET_VALID


class UnknownIssuer(CertificateError):
    default_code = Result.ERR_CERT_UNKNOWN_ISSUER


class BadSignature(CertificateError):
    default_code = Result.ERR_CERT_BAD_SIGNATURE


class HostnameMismatch(CertificateError):
    default_code = Result.ERR_CERT_HOSTNAME_MISMATCH


class Revoked(CertificateError):
    default_code = Result.ERR_CERT_REVOKED


class RevocationUnknown(CertificateError):
    default_code = Result.ERR_CERT_REVOCATION_UNKNOWN


class UnsupportedCertificate(CertificateError):
    default_code = Result.ERR_CERT_UNSUPPORTED


class CertificateRejected(CertificateError):
    """The verification callback rejected the chain; the detail is its reason."""

    default_code = Result.ERR_CERT_REJECTED


class BadCertificateEncoding(CertificateError):
    default_code = Result.ERR_CERT_BAD_ENCODING


class InvalidPurpose(CertificateError):
    default_code = Result.ERR_CERT_INVALID_PURPOSE


class CertificateRequired(CertificateError):
    default_code = Result.ERR_CERT_REQUIRED


class InvalidCertificate(CertificateError):
    default_code = Result.ERR_CERT_INVALID


class SelfSigned(CertificateError):
    default_code = Result.ERR_CERT_SELF_SIGNED


class MissingIntermediate(CertificateError):
    default_code = Result.ERR_CERT_MISSING_INTERMEDIATE


class HandshakeError(Error):
    """400s: the handshake or the protocol failed."""

    default_code = Result.ERR_PEER_MISBEHAVED


class NoSharedVersion(HandshakeError):
    default_code = Result.ERR_NO_SHARED_VERSION


class NoSharedCipherSuite(HandshakeError):
    default_code = Result.ERR_NO_SHARED_CIPHER_SUITE


class NoSharedGroup(HandshakeError):
    default_code = Result.ERR_NO_SHARED_GROUP


class NoALPNOverlap(HandshakeError):
    default_code = Result.ERR_NO_ALPN_OVERLAP


class AlertReceived(HandshakeError):
    """The peer sent a fatal alert: ``alert`` is its number (e.g. 42) and ``alert_name``
    its RFC name (e.g. "bad_certificate"), both None when unknown."""

    default_code = Result.ERR_ALERT_RECEIVED
    alert: Optional[int] = None
    alert_name: Optional[str] = None


class DecodeError(HandshakeError):
    default_code = Result.ERR_DECODE


class BadRecord(HandshakeError):
    default_code = Result.ERR_BAD_RECORD


class UnexpectedMessage(HandshakeError):
    default_code = Result.ERR_UNEXPECTED_MESSAGE


class PeerMisbehaved(HandshakeError):
    default_code = Result.ERR_PEER_MISBEHAVED


class PeerIncompatible(HandshakeError):
    default_code = Result.ERR_PEER_INCOMPATIBLE


class InternalError(Error):
    """500s: a failure that is neither the caller's nor the peer's."""

    default_code = Result.ERR_INTERNAL


class Panic(InternalError):
    default_code = Result.ERR_PANIC


class Poisoned(InternalError):
    default_code = Result.ERR_POISONED


class ResourceLimit(InternalError):
    default_code = Result.ERR_RESOURCE_LIMIT


_BY_CLASS: Dict[int, Type[Error]] = {
    0: WouldBlock,
    100: UsageError,
    200: TransportError,
    300: CertificateError,
    400: HandshakeError,
    500: InternalError,
}

#: The exception class of each code (the class of its hundreds for a code not listed).
CODE_CLASSES: Dict[int, Type[Error]] = {
    cls.default_code: cls
    for cls in [
        WantReadError, WantWriteError, Closed,
        InvalidArgument, WrongState, ConfigFrozen, BadPEM, BadKey, KeyMismatch, FileError,
        NoCertificate, WrongRole, BadCertificate, BadCRL,
        TransportError, UnexpectedEOF,
        CertificateExpired, CertificateNotYetValid, UnknownIssuer, BadSignature,
        HostnameMismatch, Revoked, RevocationUnknown, UnsupportedCertificate,
        CertificateRejected, BadCertificateEncoding, InvalidPurpose, CertificateRequired,
        InvalidCertificate, SelfSigned, MissingIntermediate,
        NoSharedVersion, NoSharedCipherSuite, NoSharedGroup, NoALPNOverlap, AlertReceived,
        DecodeError, BadRecord, UnexpectedMessage, PeerMisbehaved, PeerIncompatible,
        InternalError, Panic, Poisoned, ResourceLimit,
    ]
}
CODE_CLASSES[Result.ERR_NULL_ARG] = UsageError
CODE_CLASSES[Result.ERR_BUFFER_TOO_SMALL] = UsageError


def error_class(code: int) -> Type[Error]:
    """The exception class for ``code``."""
    cls = CODE_CLASSES.get(int(code))
    if cls is None:
        cls = _BY_CLASS.get(result_class(code), Error)
    return cls


def make_error(code: int, name: Optional[str] = None, detail: str = "") -> Error:
    """An exception of the right class for ``code``."""
    return error_class(code)(code, name, detail)


__all__ = ["Result", "result_class", "error_class", "make_error", "CODE_CLASSES"] + sorted(
    name for name, obj in list(globals().items())
    if isinstance(obj, type) and issubclass(obj, Error))
