"""embertls for Python: TLS from libembertls (rustls on ring) through ctypes.

Shaped like the standard ``ssl`` module::

    import socket, embertls

    ctx = embertls.create_client_context(cafile="ca.pem")
    with socket.create_connection(("localhost", 8443)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"hello")
            print(tls.version(), tls.cipher(), tls.recv(1024))

- :class:`Context` (client or server): trust (load_verify_locations, load_default_certs,
  load_crls, TrustStore), our certificate (load_cert_chain), versions, ALPN, a
  verification callback, sessions (SessionCache, tickets, a server session store), trace
  and key-log callbacks. Frozen once it has made a connection.
- ``ctx.wrap_socket(sock, server_hostname=...)`` gives a :class:`TLSSocket` (blocking,
  timeout or non-blocking sockets); ``ctx.wrap_bio()`` a :class:`MemoryConnection`
  (feed/drain, for event loops); ``ctx.wrap_io(read, write)`` a
  :class:`CallbackConnection`.
- Failures raise :class:`Error` subclasses carrying ``code``, ``name`` and ``detail``
  (see :mod:`embertls.errors`).

The library is found through ``EMBERTLS_LIBRARY``, next to this package, or the system's
library path (see :mod:`embertls._lib`), and must have this binding's major version.
"""

from ._lib import (
    BINDING_VERSION as __version__,
    LibraryError,
    LibraryVersionError,
    library_path,
    load_library,
)
from .connection import CallbackConnection, Connection, MemoryConnection, TLSSocket
from .context import (
    CERT_NONE,
    CERT_OPTIONAL,
    CERT_REQUIRED,
    CLIENT,
    REVOCATION_ALLOW_EXPIRED_CRL,
    REVOCATION_ALLOW_UNKNOWN_STATUS,
    REVOCATION_END_ENTITY_ONLY,
    SERVER,
    TICKET_KEY_LEN,
    Context,
    LogLevel,
    Role,
    SessionCache,
    TLSVersion,
    TraceEvent,
    TraceStep,
    TrustStore,
    VerifyMode,
    create_client_context,
    create_server_context,
    log_to_logging,
    set_log_callback,
)
from .errors import *  # noqa: F401,F403 - the exception classes and Result
from .errors import Error, Result
from .info import (
    alert_name,
    cert_check_name,
    cert_spki_sha256,
    cipher_suite_name,
    group_name,
    library_version,
    library_version_string,
    protocol_version_name,
    result_name,
    result_str,
)

__all__ = [
    "__version__", "LibraryError", "LibraryVersionError", "library_path", "load_library",
    "Connection", "TLSSocket", "MemoryConnection", "CallbackConnection",
    "Context", "TrustStore", "SessionCache", "Role", "CLIENT", "SERVER", "TLSVersion",
    "VerifyMode", "CERT_NONE", "CERT_OPTIONAL", "CERT_REQUIRED", "TraceStep", "TraceEvent",
    "LogLevel", "REVOCATION_END_ENTITY_ONLY", "REVOCATION_ALLOW_UNKNOWN_STATUS",
    "REVOCATION_ALLOW_EXPIRED_CRL", "TICKET_KEY_LEN", "create_client_context",
    "create_server_context", "set_log_callback", "log_to_logging",
    "Error", "Result", "library_version", "library_version_string", "result_name",
    "result_str", "protocol_version_name", "cipher_suite_name", "group_name", "alert_name",
    "cert_spki_sha256", "cert_check_name",
]
from . import errors as _errors  # noqa: E402

__all__ += [name for name in _errors.__all__ if name not in __all__]
