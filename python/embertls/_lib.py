"""Finding and loading libembertls.so, checking its version, declaring its functions.

The library is looked for, in this order:

1. the file named by the environment variable ``EMBERTLS_LIBRARY`` (and only there when it
   is set: a wrong path is an error, not a reason to pick some other library);
2. next to this package (``libembertls.so.MAJOR`` or ``libembertls.so`` in the directory of
   ``embertls/__init__.py``), for a wheel or a vendored copy;
3. the system's library path, as the dynamic loader searches it (``LD_LIBRARY_PATH``,
   ``/etc/ld.so.cache``...): ``libembertls.so.MAJOR`` (the soname), ``libembertls.so``,
   then whatever ``ctypes.util.find_library("embertls")`` finds.

It is loaded on first use (the first Context, TrustStore, ...), not at import, so that a
program can set ``EMBERTLS_LIBRARY`` or call :func:`load_library` after importing.

A library whose major version differs from the binding's is refused with
:class:`LibraryVersionError`: its ABI may differ in ways ctypes cannot detect.

Every function is declared with explicit ``argtypes`` and ``restype``: ctypes' defaults
(int arguments, int result) would truncate pointers and ``size_t`` on 64-bit systems.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_int,
    c_size_t,
    c_uint8,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Optional, Tuple

#: The version of this binding. Its major version must equal the library's.
BINDING_VERSION = "0.1.0"
BINDING_MAJOR = int(BINDING_VERSION.split(".")[0])


class LibraryError(Exception):
    """libembertls could not be found or loaded, or lacks a function the binding needs."""


class LibraryVersionError(LibraryError):
    """The library's version is not one this binding can use (another major version, or a
    version string it cannot read). ``library_version`` holds what ``ember_version()``
    said."""

    def __init__(self, message: str, path: str, library_version: str):
        super().__init__(message)
        self.path = path
        self.library_version = library_version


# ---------------------------------------------------------------------------------------
# Types of the C API
# ---------------------------------------------------------------------------------------


class ember_config(Structure):
    """Opaque."""


class ember_conn(Structure):
    """Opaque."""


class ember_trust(Structure):
    """Opaque."""


class ember_session_cache(Structure):
    """Opaque."""


class ember_bytes(Structure):
    """The frozen ``ember_bytes {const uint8_t *data; size_t len;}``."""

    _fields_ = [("data", c_void_p), ("len", c_size_t)]


P_CONFIG = POINTER(ember_config)
P_CONN = POINTER(ember_conn)
P_TRUST = POINTER(ember_trust)
P_CACHE = POINTER(ember_session_cache)
P_SIZE = POINTER(c_size_t)

# Enums (ember_result, ember_role, ...) are C enums: passed and returned as int.
RESULT = c_int

# Callback types; a NULL callback is the type called without argument (TRACE_CB()), as
# ctypes refuses None for a CFUNCTYPE parameter. Byte buffers are c_void_p (an address)
# so that no copy is made: a callback reads exactly `len` bytes with ctypes.string_at and
# writes with ctypes.memmove.
VERIFY_CB = CFUNCTYPE(c_int, c_void_p, c_char_p, POINTER(ember_bytes), c_size_t, c_int,
                      c_void_p, c_size_t)
READ_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, P_SIZE)
WRITE_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, P_SIZE)
KEYLOG_CB = CFUNCTYPE(None, c_void_p, c_char_p)
LOG_CB = CFUNCTYPE(None, c_void_p, c_int, c_char_p, c_char_p)
SESSION_PUT_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t)
SESSION_GET_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t, c_void_p, c_size_t, P_SIZE)
SESSION_REMOVE_CB = CFUNCTYPE(c_int, c_void_p, c_void_p, c_size_t)
TRACE_CB = CFUNCTYPE(None, c_void_p, c_uint64, c_uint64, c_int, c_char_p)

# name -> (restype, argtypes), one entry per function of include/embertls.h.
_PROTOTYPES = {
    # version, names
    "ember_version": (c_char_p, []),
    "ember_result_str": (c_char_p, [RESULT]),
    "ember_result_name": (c_char_p, [RESULT]),
    "ember_protocol_version_name": (c_char_p, [c_uint16]),
    "ember_cipher_suite_name": (c_char_p, [c_uint16]),
    "ember_group_name": (c_char_p, [c_uint16]),
    "ember_alert_name": (c_char_p, [c_uint8]),
    "ember_trace_step_name": (c_char_p, [c_uint32]),
    # certificates
    "ember_cert_spki_sha256": (RESULT, [c_void_p, c_size_t, c_void_p]),
    "ember_cert_check_name": (RESULT, [c_void_p, c_size_t, c_char_p]),
    # config
    "ember_config_new": (RESULT, [c_int, POINTER(P_CONFIG)]),
    "ember_config_free": (None, [P_CONFIG]),
    "ember_config_set_versions": (RESULT, [P_CONFIG, c_uint16, c_uint16]),
    "ember_config_set_cipher_suites": (RESULT, [P_CONFIG, POINTER(c_uint16), c_size_t]),
    "ember_config_set_groups": (RESULT, [P_CONFIG, POINTER(c_uint16), c_size_t]),
    "ember_config_set_trust": (RESULT, [P_CONFIG, P_TRUST]),
    "ember_config_set_client_auth": (RESULT, [P_CONFIG, c_int]),
    "ember_config_set_verify_callback": (RESULT, [P_CONFIG, VERIFY_CB, c_void_p]),
    "ember_config_set_alpn": (RESULT, [P_CONFIG, POINTER(c_char_p), c_size_t]),
    "ember_config_add_cert_pem_file": (RESULT, [P_CONFIG, c_char_p, c_char_p]),
    "ember_config_add_cert_pem": (RESULT, [P_CONFIG, c_void_p, c_size_t, c_void_p, c_size_t]),
    "ember_config_last_error": (RESULT, [P_CONFIG, c_void_p, c_size_t, P_SIZE]),
    "ember_config_set_keylog_callback": (RESULT, [P_CONFIG, KEYLOG_CB, c_void_p]),
    "ember_config_set_sslkeylogfile": (RESULT, [P_CONFIG, c_int]),
    "ember_config_set_session_cache": (RESULT, [P_CONFIG, P_CACHE]),
    "ember_config_set_session_cache_size": (RESULT, [P_CONFIG, c_size_t]),
    "ember_config_set_tickets": (RESULT, [P_CONFIG, c_int]),
    "ember_config_set_ticket_keys": (RESULT, [P_CONFIG, c_void_p, c_size_t]),
    "ember_config_set_ticket_key_file": (RESULT, [P_CONFIG, c_char_p]),
    "ember_config_set_session_store": (RESULT, [P_CONFIG, SESSION_PUT_CB, SESSION_GET_CB,
                                                SESSION_REMOVE_CB, c_void_p]),
    "ember_config_set_trace_callback": (RESULT, [P_CONFIG, TRACE_CB, c_void_p]),
    "ember_log_set_callback": (RESULT, [LOG_CB, c_void_p, c_int]),
    # session cache
    "ember_session_cache_new": (RESULT, [c_size_t, POINTER(P_CACHE)]),
    "ember_session_cache_free": (None, [P_CACHE]),
    # trust
    "ember_trust_new": (RESULT, [POINTER(P_TRUST)]),
    "ember_trust_free": (None, [P_TRUST]),
    "ember_trust_add_pem": (RESULT, [P_TRUST, c_void_p, c_size_t]),
    "ember_trust_add_pem_file": (RESULT, [P_TRUST, c_char_p]),
    "ember_trust_add_der": (RESULT, [P_TRUST, c_void_p, c_size_t]),
    "ember_trust_add_pem_dir": (RESULT, [P_TRUST, c_char_p, P_SIZE, P_SIZE]),
    "ember_trust_add_system": (RESULT, [P_TRUST, P_SIZE, P_SIZE]),
    "ember_trust_add_builtin": (RESULT, [P_TRUST, P_SIZE]),
    "ember_trust_add_crl": (RESULT, [P_TRUST, c_void_p, c_size_t]),
    "ember_trust_add_crl_file": (RESULT, [P_TRUST, c_char_p]),
    "ember_trust_set_revocation": (RESULT, [P_TRUST, c_uint32]),
    "ember_trust_crl_count": (RESULT, [P_TRUST, P_SIZE]),
    "ember_trust_count": (RESULT, [P_TRUST, P_SIZE]),
    "ember_trust_last_error": (RESULT, [P_TRUST, c_void_p, c_size_t, P_SIZE]),
    # connections
    "ember_conn_new": (RESULT, [P_CONFIG, c_char_p, POINTER(P_CONN)]),
    "ember_conn_free": (None, [P_CONN]),
    "ember_conn_set_io": (RESULT, [P_CONN, READ_CB, WRITE_CB, c_void_p]),
    "ember_conn_set_fd": (RESULT, [P_CONN, c_int]),
    "ember_conn_feed": (RESULT, [P_CONN, c_void_p, c_size_t, P_SIZE]),
    "ember_conn_drain": (RESULT, [P_CONN, c_void_p, c_size_t, P_SIZE]),
    "ember_conn_pending_output": (c_size_t, [P_CONN]),
    "ember_conn_handshake": (RESULT, [P_CONN]),
    "ember_conn_read": (RESULT, [P_CONN, c_void_p, c_size_t, P_SIZE]),
    "ember_conn_write": (RESULT, [P_CONN, c_void_p, c_size_t, P_SIZE]),
    "ember_conn_flush": (RESULT, [P_CONN]),
    "ember_conn_close": (RESULT, [P_CONN]),
    "ember_conn_last_error": (RESULT, [P_CONN, c_void_p, c_size_t, P_SIZE]),
    "ember_conn_os_error": (c_int, [P_CONN]),
    "ember_conn_protocol_version": (RESULT, [P_CONN, POINTER(c_uint16)]),
    "ember_conn_cipher_suite": (RESULT, [P_CONN, POINTER(c_uint16)]),
    "ember_conn_kx_group": (RESULT, [P_CONN, POINTER(c_uint16)]),
    "ember_conn_server_name": (RESULT, [P_CONN, c_void_p, c_size_t, P_SIZE]),
    "ember_conn_alpn": (RESULT, [P_CONN, c_void_p, c_size_t, P_SIZE]),
    "ember_conn_is_resumed": (RESULT, [P_CONN, POINTER(c_int)]),
    "ember_conn_handshake_ns": (RESULT, [P_CONN, POINTER(c_uint64)]),
    "ember_conn_id": (RESULT, [P_CONN, POINTER(c_uint64)]),
    "ember_conn_key_update": (RESULT, [P_CONN]),
    "ember_conn_export_keying_material": (RESULT, [P_CONN, c_void_p, c_size_t, c_void_p,
                                                   c_size_t, c_void_p, c_size_t]),
    "ember_conn_peer_alert": (RESULT, [P_CONN, POINTER(c_uint8)]),
    "ember_conn_peer_cert_count": (RESULT, [P_CONN, P_SIZE]),
    "ember_conn_peer_cert": (RESULT, [P_CONN, c_size_t, POINTER(c_void_p), P_SIZE]),
}

_VERSION_RE = re.compile(r"^embertls (\d+)\.(\d+)\.(\d+)(\S*) \(rustls ([^)]+)\)$")


def parse_version(text: str) -> Optional[Tuple[int, int, int]]:
    """(major, minor, patch) from ``ember_version()``'s "embertls X.Y.Z (rustls A.B.C)",
    or None when the text has another form."""
    m = _VERSION_RE.match(text)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def check_version(text: str, path: str) -> Tuple[int, int, int]:
    """Returns the library version in ``text`` (what ``ember_version()`` said), or raises
    LibraryVersionError when this binding must not use it."""
    version = parse_version(text)
    if version is None:
        raise LibraryVersionError(
            f"{path}: ember_version() returned {text!r}, not \"embertls X.Y.Z (rustls A.B.C)\": "
            "this binding cannot tell whether it is compatible",
            path, text)
    if version[0] != BINDING_MAJOR:
        raise LibraryVersionError(
            f"{path} is {text}, but this binding (embertls-python {BINDING_VERSION}) needs "
            f"major version {BINDING_MAJOR}: install the matching library or binding, or "
            "point EMBERTLS_LIBRARY at it",
            path, text)
    return version


def declare(cdll, path: str) -> None:
    """Sets argtypes/restype of every function, after checking the version."""
    try:
        version_fn = cdll.ember_version
    except AttributeError:
        raise LibraryError(f"{path} has no ember_version(): not an embertls library") from None
    version_fn.argtypes = []
    version_fn.restype = c_char_p
    raw = version_fn()
    text = raw.decode("utf-8", "replace") if raw is not None else "<NULL>"
    check_version(text, path)
    missing = []
    for name, (restype, argtypes) in _PROTOTYPES.items():
        try:
            fn = getattr(cdll, name)
        except AttributeError:
            missing.append(name)
            continue
        fn.restype = restype
        fn.argtypes = argtypes
    if missing:
        raise LibraryError(
            f"{path} ({text}) lacks {', '.join(missing)}: it is older than this binding "
            f"(embertls-python {BINDING_VERSION}) needs")


_lock = threading.Lock()
_loaded = None  # (cdll, path)


def _candidates():
    """(what to dlopen, how it was found) in search order."""
    env = os.environ.get("EMBERTLS_LIBRARY")
    if env:
        return [(env, "EMBERTLS_LIBRARY")]
    here = os.path.dirname(os.path.abspath(__file__))
    found = []
    for name in (f"libembertls.so.{BINDING_MAJOR}", "libembertls.so"):
        path = os.path.join(here, name)
        if os.path.exists(path):
            found.append((path, "next to the package"))
    found.append((f"libembertls.so.{BINDING_MAJOR}", "the system library path"))
    found.append(("libembertls.so", "the system library path"))
    return found


def _open(path: str, how: str):
    try:
        cdll = ctypes.CDLL(path)
    except OSError as e:
        raise LibraryError(f"cannot load {path} ({how}): {e}") from None
    declare(cdll, path)
    return cdll


def load_library(path: Optional[str] = None):
    """Loads libembertls (from ``path`` when given, else by the search described in this
    module's documentation), checks its version and declares its functions. Returns the
    ctypes library. Later calls return the library already loaded; a ``path`` naming
    another file than the loaded one raises LibraryError."""
    global _loaded
    with _lock:
        if _loaded is not None:
            if path is not None and os.path.realpath(path) != os.path.realpath(_loaded[1]):
                raise LibraryError(f"embertls is already loaded from {_loaded[1]}")
            return _loaded[0]
        if path is not None:
            cdll = _open(path, "given to load_library")
            _loaded = (cdll, path)
            return cdll
        tried = []
        for target, how in _candidates():
            if how == "the system library path":
                try:
                    cdll = ctypes.CDLL(target)
                except OSError as e:
                    tried.append(f"{target} ({how}): {e}")
                    continue
                declare(cdll, target)
            else:
                cdll = _open(target, how)
            _loaded = (cdll, target)
            return cdll
        found = ctypes.util.find_library("embertls")
        if found:
            cdll = _open(found, "ctypes.util.find_library")
            _loaded = (cdll, found)
            return cdll
        raise LibraryError(
            "cannot find libembertls: set EMBERTLS_LIBRARY to the path of libembertls.so, "
            "put it next to the embertls package, or install it where the dynamic loader "
            "looks. Tried: " + "; ".join(tried))


def get():
    """The loaded library (loading it on first use)."""
    loaded = _loaded
    if loaded is not None:
        return loaded[0]
    return load_library()


def library_path() -> str:
    """Where the loaded library came from (loading it on first use)."""
    get()
    return _loaded[1]
