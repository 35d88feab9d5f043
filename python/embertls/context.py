"""Contexts (what connections are made from), trust stores and session caches.

A :class:`Context` wraps one ``ember_config``. Like ``ssl.SSLContext`` it is configured
first and then makes connections; unlike it, the first connection freezes it: later
changes raise :class:`~embertls.ConfigFrozen` (the C config becomes immutable so that any
number of threads may share it). Configure everything, then wrap sockets.
"""

from __future__ import annotations

import ctypes
import enum
import threading
from ctypes import byref, c_size_t
from typing import Callable, Iterable, List, NamedTuple, Optional, Union

from . import _callbacks, _lib, _x509
from ._util import BytesLike, InBuffer, PathLike, cstr, fspath, raise_for, read_text, static_str
from .errors import Result


class Role(enum.IntEnum):
    """Which end of a connection a context makes (``ember_role``)."""

    CLIENT = 0
    SERVER = 1


CLIENT = Role.CLIENT
SERVER = Role.SERVER


class TLSVersion(enum.IntEnum):
    """Protocol versions, as on the wire (equal to ``ssl.TLSVersion``'s values, so those
    are accepted too)."""

    TLSv1_2 = 0x0303
    TLSv1_3 = 0x0304
    MINIMUM_SUPPORTED = 0x0303
    MAXIMUM_SUPPORTED = 0x0304


class VerifyMode(enum.IntEnum):
    """Whether a server asks clients for a certificate (``ember_client_auth``); the values
    equal ``ssl.CERT_NONE``/``CERT_OPTIONAL``/``CERT_REQUIRED``."""

    CERT_NONE = 0
    CERT_OPTIONAL = 1
    CERT_REQUIRED = 2


CERT_NONE = VerifyMode.CERT_NONE
CERT_OPTIONAL = VerifyMode.CERT_OPTIONAL
CERT_REQUIRED = VerifyMode.CERT_REQUIRED

#: Revocation flags (TrustStore.set_revocation_flags): check only the peer's own
#: certificate; let a certificate no CRL covers pass; use a CRL past its nextUpdate.
REVOCATION_END_ENTITY_ONLY = 1
REVOCATION_ALLOW_UNKNOWN_STATUS = 2
REVOCATION_ALLOW_EXPIRED_CRL = 4

#: The length of one session ticket key (Context.set_ticket_keys).
TICKET_KEY_LEN = 80


class TraceStep(enum.IntEnum):
    """A step of the handshake (``ember_trace_step``)."""

    CLIENT_HELLO_SENT = 1
    CLIENT_HELLO_RECEIVED = 2
    SERVER_HELLO_SENT = 3
    SERVER_HELLO_RECEIVED = 4
    KEY_EXCHANGE = 5
    KEYS_DERIVED = 6
    CERTIFICATE_RECEIVED = 7
    CERTIFICATE_CHECK = 8
    SIGNATURE_VERIFIED = 9
    FINISHED = 10
    COMPLETE = 11
    FAILED = 12


class TraceEvent(NamedTuple):
    """One step reported to a trace callback: the connection's ``id``
    (TLSSocket.id), a monotonic timestamp in nanoseconds, the step (a TraceStep, or an
    int for a step newer than this binding) and a short sentence."""

    conn_id: int
    time_ns: int
    step: Union[TraceStep, int]
    text: str


class LogLevel(enum.IntEnum):
    """Log levels, most severe first (``ember_log_level``)."""

    ERROR = 1
    WARN = 2
    INFO = 3
    DEBUG = 4
    TRACE = 5


def _version(value) -> int:
    v = int(value)
    if v == -2:  # ssl.TLSVersion.MINIMUM_SUPPORTED
        return TLSVersion.TLSv1_2
    if v == -1:  # ssl.TLSVersion.MAXIMUM_SUPPORTED
        return TLSVersion.TLSv1_3
    if v not in (TLSVersion.TLSv1_2, TLSVersion.TLSv1_3):
        raise ValueError(f"embertls supports TLS 1.2 and 1.3 only, not {value!r}")
    return v


def _split_der(data: bytes) -> List[bytes]:
    """Splits concatenated DER certificates (each a SEQUENCE) as ssl's cadata allows."""
    out = []
    i = 0
    try:
        while i < len(data):
            tag, _, end = _x509._tlv(data, i)
            if tag != 0x30:
                raise _x509.DERError("not a SEQUENCE")
            out.append(data[i:end])
            i = end
    except _x509.DERError:
        raise ValueError("cadata bytes are not DER certificates") from None
    return out


class TrustStore:
    """Trusted roots and CRLs (``ember_trust``). A context makes its own when
    ``load_verify_locations`` is called; make one explicitly to share it between contexts
    (client contexts resume each other's sessions only when they use the same store: see
    SessionCache). Frozen, like a context, once a connection uses it."""

    def __init__(self):
        self._lib = _lib.get()
        out = _lib.P_TRUST()
        raise_for(self._lib.ember_trust_new(byref(out)))
        self._trust = out

    def __del__(self):
        trust, self._trust = getattr(self, "_trust", None), None
        if trust:
            try:
                self._lib.ember_trust_free(trust)
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass

    def last_error(self) -> str:
        """The detail of the store's last failure ("" when none)."""
        return read_text(self._lib.ember_trust_last_error, self._trust)[1]

    def _check(self, r: int) -> None:
        raise_for(r, self.last_error)

    def load_verify_locations(self, cafile: Optional[PathLike] = None,
                              capath: Optional[PathLike] = None,
                              cadata: Union[str, BytesLike, None] = None) -> None:
        """As ``ssl.SSLContext.load_verify_locations``: the PEM file ``cafile`` (all or
        nothing), every certificate file in the directory ``capath`` (lenient: unreadable
        files are skipped), and ``cadata``, PEM text (str) or DER bytes (one or more
        certificates)."""
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        if cafile is not None:
            self.add_pem_file(cafile)
        if capath is not None:
            self.add_pem_dir(capath)
        if cadata is not None:
            if isinstance(cadata, str):
                self.add_pem(cadata.encode("ascii"))
            else:
                for der in _split_der(bytes(cadata)):
                    self.add_der(der)

    def add_pem(self, pem: BytesLike) -> None:
        """Adds every CERTIFICATE block of ``pem`` (all or nothing)."""
        buf = InBuffer(pem)
        self._check(self._lib.ember_trust_add_pem(self._trust, buf.address, buf.length))

    def add_pem_file(self, path: PathLike) -> None:
        """Adds every certificate of the PEM file at ``path`` (all or nothing)."""
        self._check(self._lib.ember_trust_add_pem_file(self._trust, fspath(path)))

    def add_der(self, der: BytesLike) -> None:
        """Adds one DER certificate."""
        buf = InBuffer(der)
        self._check(self._lib.ember_trust_add_der(self._trust, buf.address, buf.length))

    def add_pem_dir(self, path: PathLike) -> "tuple[int, int]":
        """Adds the certificates of every file in the directory ``path``; returns (added,
        skipped). ``last_error()`` names skipped entries."""
        added, skipped = c_size_t(), c_size_t()
        self._check(self._lib.ember_trust_add_pem_dir(self._trust, fspath(path),
                                                      byref(added), byref(skipped)))
        return added.value, skipped.value

    def add_system(self) -> "tuple[int, int]":
        """Adds the system's roots (SSL_CERT_FILE / SSL_CERT_DIR, else the platform's
        bundle); returns (added, skipped)."""
        added, skipped = c_size_t(), c_size_t()
        self._check(self._lib.ember_trust_add_system(self._trust, byref(added),
                                                     byref(skipped)))
        return added.value, skipped.value

    def add_builtin(self) -> int:
        """Adds the Mozilla roots built into embertls; returns how many were new."""
        added = c_size_t()
        self._check(self._lib.ember_trust_add_builtin(self._trust, byref(added)))
        return added.value

    def add_crl(self, data: BytesLike) -> None:
        """Adds CRLs (one DER CRL, or every X509 CRL block of PEM). With CRLs, every
        certificate below the root must be covered by a current CRL (see
        set_revocation_flags)."""
        buf = InBuffer(data)
        self._check(self._lib.ember_trust_add_crl(self._trust, buf.address, buf.length))

    def add_crl_file(self, path: PathLike) -> None:
        """Adds the CRLs of the file at ``path`` (DER or PEM)."""
        self._check(self._lib.ember_trust_add_crl_file(self._trust, fspath(path)))

    def set_revocation_flags(self, flags: int) -> None:
        """Relaxes the CRL policy with REVOCATION_* flags (0: the strictest)."""
        self._check(self._lib.ember_trust_set_revocation(self._trust, int(flags)))

    def __len__(self) -> int:
        n = c_size_t()
        self._check(self._lib.ember_trust_count(self._trust, byref(n)))
        return n.value

    @property
    def crl_count(self) -> int:
        n = c_size_t()
        self._check(self._lib.ember_trust_crl_count(self._trust, byref(n)))
        return n.value


class SessionCache:
    """A client session cache for up to ``capacity`` servers, shared by the client
    contexts given it (``Context.session_cache = cache``). A context resumes a session
    another obtained only when both verify servers alike: the same TrustStore object (or
    both the built-in roots), the same verification callback and client certificate.
    Sessions live in memory only."""

    def __init__(self, capacity: int = 256):
        self._lib = _lib.get()
        out = _lib.P_CACHE()
        raise_for(self._lib.ember_session_cache_new(capacity, byref(out)))
        self._cache = out
        self.capacity = capacity

    def __del__(self):
        cache, self._cache = getattr(self, "_cache", None), None
        if cache:
            try:
                self._lib.ember_session_cache_free(cache)
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass


VerifyCallback = Callable[[str, List[bytes], Union[Result, int]], Union[bool, str, None]]


class Context:
    """What connections are made from: role, trust, certificate, versions, ALPN,
    callbacks, sessions. ``Context(CLIENT)`` or ``Context(SERVER)`` (also "client" /
    "server"); see also create_client_context() and create_server_context().

    Threads: configure from one thread; once a connection is made the context is frozen
    and may be used by any number of threads (callbacks then run concurrently on them).
    """

    def __init__(self, role: Union[Role, str, int] = Role.CLIENT):
        if isinstance(role, str):
            try:
                role = Role[role.upper()]
            except KeyError:
                raise ValueError(f"role must be 'client' or 'server', not {role!r}") from None
        self.role = Role(role)
        self._lib = _lib.get()
        out = _lib.P_CONFIG()
        raise_for(self._lib.ember_config_new(self.role, byref(out)))
        self._cfg = out
        self._callbacks = {}  # what C holds pointers to: CFUNCTYPE objects, kept alive
        self._trust: Optional[TrustStore] = None
        self._session_cache: Optional[SessionCache] = None
        self._min, self._max = TLSVersion.TLSv1_2, TLSVersion.TLSv1_3
        self._keylog_filename = None
        self._verify_mode = CERT_REQUIRED
        if self.role == Role.SERVER:
            # As ssl: a server asks for no client certificate unless verify_mode says so,
            # even once it has a trust store (which alone would require one).
            self._set_client_auth(CERT_NONE)

    def __del__(self):
        cfg, self._cfg = getattr(self, "_cfg", None), None
        if cfg:
            try:
                self._lib.ember_config_free(cfg)
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass

    def __repr__(self) -> str:
        return f"<embertls.Context {self.role.name.lower()}>"

    # -- errors --------------------------------------------------------------------------

    def last_error(self) -> str:
        """The detail of the config's last failure ("" when none), including failures to
        make a connection from it."""
        return read_text(self._lib.ember_config_last_error, self._cfg)[1]

    def _check(self, r: int) -> None:
        raise_for(r, self.last_error)

    @property
    def server_side(self) -> bool:
        return self.role == Role.SERVER

    # -- versions ------------------------------------------------------------------------

    @property
    def minimum_version(self) -> TLSVersion:
        return TLSVersion(self._min)

    @minimum_version.setter
    def minimum_version(self, value) -> None:
        self.set_versions(value, self._max)

    @property
    def maximum_version(self) -> TLSVersion:
        return TLSVersion(self._max)

    @maximum_version.setter
    def maximum_version(self, value) -> None:
        self.set_versions(self._min, value)

    def set_versions(self, minimum, maximum) -> None:
        """Sets both bounds at once (e.g. to move the range from 1.2-1.2 to 1.3-1.3)."""
        lo, hi = _version(minimum), _version(maximum)
        self._check(self._lib.ember_config_set_versions(self._cfg, lo, hi))
        self._min, self._max = lo, hi

    # -- trust ---------------------------------------------------------------------------

    @property
    def trust_store(self) -> Optional[TrustStore]:
        """The TrustStore peers are verified against (None: a client trusts the built-in
        Mozilla roots, a server has none). Assign one to share it between contexts."""
        return self._trust

    @trust_store.setter
    def trust_store(self, store: TrustStore) -> None:
        self._check(self._lib.ember_config_set_trust(self._cfg, store._trust))
        self._trust = store

    def _own_trust(self) -> TrustStore:
        if self._trust is None:
            self.trust_store = TrustStore()
        return self._trust

    def load_verify_locations(self, cafile: Optional[PathLike] = None,
                              capath: Optional[PathLike] = None,
                              cadata: Union[str, BytesLike, None] = None) -> None:
        """Trust the roots in ``cafile`` (PEM), the directory ``capath`` and/or ``cadata``
        (PEM str or DER bytes), as ssl does. On a client they replace the built-in Mozilla
        roots."""
        self._own_trust().load_verify_locations(cafile, capath, cadata)

    def load_default_certs(self, purpose=None) -> int:
        """Trust the system's roots (SSL_CERT_FILE / SSL_CERT_DIR, else the platform's
        bundle). Returns how many roots were added. (A client with no trust configured
        trusts the Mozilla roots built into embertls; this uses the system's instead.)"""
        del purpose  # ssl's argument; the roots serve either end
        return self._own_trust().add_system()[0]

    def load_builtin_certs(self) -> int:
        """Trust the Mozilla roots built into embertls as well as the others loaded."""
        return self._own_trust().add_builtin()

    def load_crls(self, crlfile: Optional[PathLike] = None,
                  crldata: Optional[BytesLike] = None, flags: Optional[int] = None) -> None:
        """Check revocation against the CRLs of ``crlfile`` / ``crldata`` (PEM or DER);
        ``flags`` (REVOCATION_*) relaxes the policy."""
        store = self._own_trust()
        if crlfile is not None:
            store.add_crl_file(crlfile)
        if crldata is not None:
            store.add_crl(crldata)
        if flags is not None:
            store.set_revocation_flags(flags)

    @property
    def verify_mode(self) -> VerifyMode:
        """Client: always CERT_REQUIRED (embertls always verifies the server; a
        verification callback can accept what it refused). Server: whether clients are
        asked for a certificate (mutual TLS), CERT_NONE by default; CERT_OPTIONAL and
        CERT_REQUIRED verify it against the trust store."""
        return VerifyMode(self._verify_mode)

    @verify_mode.setter
    def verify_mode(self, mode) -> None:
        mode = VerifyMode(int(mode))
        if self.role == Role.CLIENT:
            if mode != CERT_REQUIRED:
                raise ValueError("a client always verifies the server; use "
                                 "set_verify_callback() to accept a chain embertls refuses")
            return
        self._set_client_auth(mode)

    def _set_client_auth(self, mode: VerifyMode) -> None:
        self._check(self._lib.ember_config_set_client_auth(self._cfg, int(mode)))
        self._verify_mode = mode

    @property
    def check_hostname(self) -> bool:
        """True on a client: the server's certificate is always checked against the
        server_hostname. Read-only."""
        return self.role == Role.CLIENT

    # -- our certificate -----------------------------------------------------------------

    def load_cert_chain(self, certfile: PathLike, keyfile: Optional[PathLike] = None,
                        password=None) -> None:
        """Our certificate chain (PEM, leaf first) and private key (PEM; in ``certfile``
        when ``keyfile`` is None). A server presents it; a client presents it when a
        server asks. Encrypted keys are not supported (``password`` must be None)."""
        if password is not None:
            raise ValueError("embertls does not read encrypted private keys")
        key = certfile if keyfile is None else keyfile
        self._check(self._lib.ember_config_add_cert_pem_file(self._cfg, fspath(certfile),
                                                             fspath(key)))

    def load_cert_chain_pem(self, chain: Union[str, BytesLike],
                            key: Union[str, BytesLike]) -> None:
        """load_cert_chain() for PEM held in memory."""
        if isinstance(chain, str):
            chain = chain.encode("ascii")
        if isinstance(key, str):
            key = key.encode("ascii")
        c, k = InBuffer(chain), InBuffer(key)
        self._check(self._lib.ember_config_add_cert_pem(self._cfg, c.address, c.length,
                                                        k.address, k.length))

    # -- ALPN ----------------------------------------------------------------------------

    def set_alpn_protocols(self, protocols: Iterable[Union[str, bytes]]) -> None:
        """The application protocols offered (client) or accepted (server), most preferred
        first, e.g. ["h2", "http/1.1"]. An empty list turns ALPN off."""
        names = [cstr(p, "ALPN protocol") for p in protocols]
        array = (ctypes.c_char_p * max(len(names), 1))(*names)
        self._check(self._lib.ember_config_set_alpn(self._cfg, array, len(names)))

    # -- verification callback -----------------------------------------------------------

    def set_verify_callback(self, callback: Optional[VerifyCallback]) -> None:
        """Lets ``callback(server_name, chain, verdict)`` decide on each server chain (a
        client only): ``chain`` is a list of DER certificates, the server's own first;
        ``verdict`` is embertls' own conclusion, Result.OK or the 300s Result it would
        fail with. Return True to accept the chain (even one embertls refused: pinning;
        check the name yourself with cert_check_name()); False (or None) to refuse it,
        upholding embertls' verdict when it failed (same error, same detail) or failing
        with CertificateRejected otherwise; a str to refuse it with that reason
        (CertificateRejected). An exception raised by the callback refuses the chain and
        is re-raised by the call that drove the handshake. The handshake signature is
        checked whatever the callback says. None removes the callback."""
        def verify(_userdata, server_name, chain, chain_len, verdict, reason, reason_len):
            def refuse(text: str) -> int:
                raw = text.encode("utf-8")[:max(reason_len - 1, 0)]
                raw = raw.decode("utf-8", "ignore").encode("utf-8") + b"\0"
                if reason and reason_len > 0:
                    ctypes.memmove(reason, raw, len(raw))
                return 1

            try:
                ders = [ctypes.string_at(chain[i].data, chain[i].len) for i in range(chain_len)]
                name = server_name.decode("utf-8", "replace") if server_name else ""
                try:
                    builtin = Result(verdict)
                except ValueError:
                    builtin = verdict
                answer = callback(name, ders, builtin)
                if isinstance(answer, str):
                    return refuse(answer or "rejected by the verification callback")
                if answer:
                    return 0
                if verdict != Result.OK:
                    return int(verdict)  # upholds embertls' own verdict
                return refuse("rejected by the verification callback")
            except BaseException as exc:  # noqa: BLE001 - nothing may cross into C
                _callbacks.keep(exc)
                return refuse(f"the verification callback raised {type(exc).__name__}: {exc}")

        self._set_callback("verify", self._lib.ember_config_set_verify_callback,
                           _lib.VERIFY_CB, callback, verify)

    # -- sessions ------------------------------------------------------------------------

    @property
    def session_cache(self) -> Optional[SessionCache]:
        """The SessionCache this client context shares (None: its own, 256 sessions)."""
        return self._session_cache

    @session_cache.setter
    def session_cache(self, cache: SessionCache) -> None:
        self._check(self._lib.ember_config_set_session_cache(self._cfg, cache._cache))
        self._session_cache = cache

    def set_session_cache_size(self, size: int) -> None:
        """How many sessions the context keeps in memory (client: its own cache, 0 turns
        resumption off; server: the session-id / stateful-ticket store)."""
        self._check(self._lib.ember_config_set_session_cache_size(self._cfg, size))
        self._session_cache = None

    def set_tickets(self, enable: bool) -> None:
        """Server: session tickets on (the default) or off."""
        self._check(self._lib.ember_config_set_tickets(self._cfg, 1 if enable else 0))

    def set_ticket_keys(self, keys: BytesLike) -> None:
        """Server: seal tickets with these keys (one or more of TICKET_KEY_LEN bytes, the
        first sealing), so servers given the same keys resume each other's sessions."""
        buf = InBuffer(keys)
        self._check(self._lib.ember_config_set_ticket_keys(self._cfg, buf.address, buf.length))

    def load_ticket_keys(self, path: PathLike) -> None:
        """set_ticket_keys() with the keys read from a file (e.g. ``openssl rand 80``)."""
        self._check(self._lib.ember_config_set_ticket_key_file(self._cfg, fspath(path)))

    def set_session_store(self, store) -> None:
        """Server: keep sessions in ``store``, a mapping of bytes to bytes (a dict, or an
        object with ``__setitem__``, ``get`` and ``pop`` in front of memcached or Redis),
        instead of the in-memory cache. Called concurrently from the threads that drive
        handshakes. An exception it raises means "not stored / not found" and is re-raised
        by the call that drove the handshake."""
        def key_of(key, key_len):
            return ctypes.string_at(key, key_len)

        def put(_u, key, key_len, value, value_len):
            store[key_of(key, key_len)] = ctypes.string_at(value, value_len)
            return 0

        def get(_u, key, key_len, buf, buf_len, out_len):
            value = store.get(key_of(key, key_len))
            if value is None or len(value) > buf_len:
                return 1
            value = bytes(value)
            ctypes.memmove(buf, value, len(value))
            out_len[0] = len(value)
            return 0

        def remove(_u, key, key_len):
            return 0 if store.pop(key_of(key, key_len), None) is not None else 1

        cbs = (_lib.SESSION_PUT_CB(_callbacks.guard(put, 1)),
               _lib.SESSION_GET_CB(_callbacks.guard(get, 1)),
               _lib.SESSION_REMOVE_CB(_callbacks.guard(remove, 1)))
        self._check(self._lib.ember_config_set_session_store(self._cfg, *cbs, None))
        self._callbacks["session_store"] = cbs

    # -- observability -------------------------------------------------------------------

    def set_trace_callback(self, callback: Optional[Callable[[TraceEvent], None]]) -> None:
        """Reports each handshake step to ``callback(event)`` (a TraceEvent) as it
        happens, on the thread driving the connection. An exception it raises is
        re-raised by the embertls call during which it ran (after that call completed).
        None stops tracing for connections made later."""
        def trace(_u, conn_id, time_ns, step, text):
            try:
                step = TraceStep(step)
            except ValueError:
                pass
            callback(TraceEvent(conn_id, time_ns, step,
                                text.decode("utf-8", "replace") if text else ""))

        self._set_callback("trace", self._lib.ember_config_set_trace_callback, _lib.TRACE_CB,
                           callback, _callbacks.guard(trace, None))

    def set_keylog_callback(self, callback: Optional[Callable[[str], None]]) -> None:
        """Hands each secret the connections derive to ``callback(line)``, one NSS key log
        line without newline (what Wireshark reads). For debugging only. None stops it."""
        def keylog(_u, line):
            callback(line.decode("ascii", "replace"))

        self._set_callback("keylog", self._lib.ember_config_set_keylog_callback,
                           _lib.KEYLOG_CB, callback, _callbacks.guard(keylog, None))

    def _set_callback(self, key: str, setter, cftype, callback: Optional[Callable],
                      adapter: Callable) -> None:
        """Has C call ``adapter`` (what wraps the user's ``callback``), or nothing when
        ``callback`` is None."""
        cfunc = cftype() if callback is None else cftype(adapter)
        self._check(setter(self._cfg, cfunc, None))
        if callback is None:
            self._callbacks.pop(key, None)
        else:
            self._callbacks[key] = cfunc

    @property
    def keylog_filename(self) -> Optional[str]:
        """As ssl: append the NSS key log lines to this file (None: off)."""
        return self._keylog_filename

    @keylog_filename.setter
    def keylog_filename(self, path: Optional[str]) -> None:
        if path is None:
            self.set_keylog_callback(None)
            self._keylog_filename = None
            return
        lock = threading.Lock()
        with open(path, "a", encoding="ascii"):
            pass  # fail now, not in the middle of a handshake

        def write(line: str) -> None:
            with lock, open(path, "a", encoding="ascii") as f:
                f.write(line + "\n")

        self.set_keylog_callback(write)
        self._keylog_filename = path

    def set_sslkeylogfile(self, enable: bool) -> None:
        """Honour the SSLKEYLOGFILE environment variable (off by default)."""
        self._check(self._lib.ember_config_set_sslkeylogfile(self._cfg, 1 if enable else 0))

    # -- connections ---------------------------------------------------------------------

    def wrap_socket(self, sock, server_side: Optional[bool] = None,
                    server_hostname: Optional[str] = None,
                    do_handshake_on_connect: bool = True,
                    suppress_ragged_eofs: bool = False):
        """A TLSSocket over the connected (or later connected) socket ``sock``. A client
        needs ``server_hostname``: the name sent (SNI) and checked in the server's
        certificate. The TLSSocket takes ``sock`` over: closing one closes the other.
        With a blocking socket or one with a timeout, the handshake runs now
        (``do_handshake_on_connect``); with a non-blocking one, it runs in the first calls,
        which raise WantReadError/WantWriteError until it is done."""
        from .connection import TLSSocket

        return TLSSocket(self, sock, server_side, server_hostname, do_handshake_on_connect,
                         suppress_ragged_eofs)

    def wrap_bio(self, server_side: Optional[bool] = None,
                 server_hostname: Optional[str] = None):
        """A MemoryConnection: no socket; feed it the bytes received, drain the bytes to
        send (for event loops that own their I/O). Unlike ssl.wrap_bio it takes no
        MemoryBIO objects: it holds its buffers itself."""
        from .connection import MemoryConnection

        return MemoryConnection(self, server_side, server_hostname)

    def wrap_io(self, read: Callable[[int], bytes], write: Callable[[bytes], int],
                server_side: Optional[bool] = None, server_hostname: Optional[str] = None):
        """A CallbackConnection that moves bytes through ``read(n) -> bytes`` (b"" at end
        of stream) and ``write(data) -> int`` (how many bytes were taken): TLS over any
        transport. Either may raise BlockingIOError (the call then raises
        WantReadError/WantWriteError) or another OSError (TransportError with its errno)."""
        from .connection import CallbackConnection

        return CallbackConnection(self, read, write, server_side, server_hostname)


def create_client_context(cafile: Optional[PathLike] = None,
                          capath: Optional[PathLike] = None,
                          cadata: Union[str, BytesLike, None] = None, *,
                          trust_store: Optional[TrustStore] = None,
                          alpn_protocols: Optional[Iterable[str]] = None,
                          minimum_version=None, maximum_version=None,
                          session_cache: Optional[SessionCache] = None,
                          verify_callback: Optional[VerifyCallback] = None,
                          certfile: Optional[PathLike] = None,
                          keyfile: Optional[PathLike] = None) -> Context:
    """A client context (as ssl.create_default_context()): trusting ``cafile`` /
    ``capath`` / ``cadata`` or ``trust_store`` when given, else the Mozilla roots built
    into embertls; TLS 1.2 and 1.3 unless limited; with a client certificate when
    ``certfile`` is given."""
    ctx = Context(Role.CLIENT)
    if trust_store is not None:
        ctx.trust_store = trust_store
    if cafile is not None or capath is not None or cadata is not None:
        ctx.load_verify_locations(cafile, capath, cadata)
    _common(ctx, alpn_protocols, minimum_version, maximum_version)
    if session_cache is not None:
        ctx.session_cache = session_cache
    if verify_callback is not None:
        ctx.set_verify_callback(verify_callback)
    if certfile is not None:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


def create_server_context(certfile: Optional[PathLike] = None,
                          keyfile: Optional[PathLike] = None, *,
                          alpn_protocols: Optional[Iterable[str]] = None,
                          minimum_version=None, maximum_version=None,
                          client_cafile: Optional[PathLike] = None,
                          verify_mode=None) -> Context:
    """A server context presenting ``certfile``/``keyfile``; with ``client_cafile`` it
    requires client certificates from those roots (``verify_mode`` CERT_REQUIRED unless
    given)."""
    ctx = Context(Role.SERVER)
    if certfile is not None:
        ctx.load_cert_chain(certfile, keyfile)
    _common(ctx, alpn_protocols, minimum_version, maximum_version)
    if client_cafile is not None:
        ctx.load_verify_locations(client_cafile)
        ctx.verify_mode = CERT_REQUIRED if verify_mode is None else verify_mode
    elif verify_mode is not None:
        ctx.verify_mode = verify_mode
    return ctx


def _common(ctx: Context, alpn, minimum, maximum) -> None:
    if minimum is not None or maximum is not None:
        ctx.set_versions(minimum if minimum is not None else ctx.minimum_version,
                         maximum if maximum is not None else ctx.maximum_version)
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)


# -- process-wide ------------------------------------------------------------------------

_log_callback = None


def set_log_callback(callback: Optional[Callable[[LogLevel, str, str], None]],
                     level: int = LogLevel.INFO) -> None:
    """Sends the engine's log records (rustls' and embertls') up to ``level`` to
    ``callback(level, target, message)``, for the whole process; None stops it. The
    callback runs on whichever thread logs; an exception it raises is re-raised by the
    next embertls call on that thread."""
    global _log_callback
    lib = _lib.get()
    if callback is None:
        raise_for(lib.ember_log_set_callback(_lib.LOG_CB(), None, int(level)))
        _log_callback = None
        return

    def log(_u, lvl, target, message):
        try:
            lvl = LogLevel(lvl)
        except ValueError:
            pass
        callback(lvl, static_str(target) or "", static_str(message) or "")

    cfunc = _lib.LOG_CB(_callbacks.guard(log, None))
    raise_for(lib.ember_log_set_callback(cfunc, None, int(level)))
    _log_callback = cfunc


def log_to_logging(logger=None, level: int = LogLevel.INFO) -> None:
    """set_log_callback() into Python's logging (the logger "embertls" by default)."""
    import logging

    logger = logger or logging.getLogger("embertls")
    levels = {LogLevel.ERROR: logging.ERROR, LogLevel.WARN: logging.WARNING,
              LogLevel.INFO: logging.INFO, LogLevel.DEBUG: logging.DEBUG,
              LogLevel.TRACE: logging.DEBUG}

    def forward(lvl, target, message):
        logger.log(levels.get(lvl, logging.DEBUG), "%s: %s", target, message)

    set_log_callback(forward, level)
