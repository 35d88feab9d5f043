"""Connections: over a socket (TLSSocket), in memory (MemoryConnection) or through
Python callables (CallbackConnection).

All three share the handshake, read/write and the connection information of
:class:`Connection`. They differ only in how bytes move:

- TLSSocket hands the socket's file descriptor to embertls (``ember_conn_set_fd``), which
  reads and writes it itself; Python's socket timeouts are honoured by polling.
- MemoryConnection moves no bytes: you ``feed()`` what arrived and ``drain()`` what to send.
- CallbackConnection calls your ``read(n)`` and ``write(data)``.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno as _errno
import select
import socket
import threading
import time
from ctypes import byref, c_int, c_size_t, c_uint8, c_uint16, c_uint64, c_void_p
from typing import Callable, List, Optional, Tuple

from . import _callbacks, _lib, _x509
from ._util import (
    BytesLike,
    InBuffer,
    check_result,
    cstr,
    error_for,
    out_buffer,
    raise_for,
    read_text,
)
from .errors import (
    AlertReceived,
    Closed,
    Error,
    Result,
    TransportError,
    UnexpectedEOF,
    WantReadError,
    WantWriteError,
    WrongState,
)
from .info import alert_name, cipher_suite_name, group_name, protocol_version_name

_CHUNK = 16384


def _errno_of(exc: OSError) -> int:
    """What an I/O callback returns to embertls for ``exc``: BlockingIOError and
    InterruptedError may be raised without an errno, and the connection still needs to
    tell "wait" and "again" from a failure."""
    if isinstance(exc, BlockingIOError):
        return _errno.EAGAIN
    if isinstance(exc, InterruptedError):
        return _errno.EINTR
    return exc.errno or _errno.EIO


def _suite_bits(name: str) -> Optional[int]:
    if "AES_128" in name:
        return 128
    if "AES_256" in name or "CHACHA20" in name:
        return 256
    return None


class Connection:
    """What every kind of connection has: the handshake, application data, the
    connection's information, and close. Not made directly: see Context.wrap_socket(),
    wrap_bio(), wrap_io().

    A connection is used by one thread at a time. After a fatal error it is dead: every
    later call raises the same error.
    """

    _conn = None

    def __init__(self, context, server_side: Optional[bool], server_hostname: Optional[str]):
        if server_side is None:
            server_side = context.server_side
        if bool(server_side) != context.server_side:
            raise ValueError(f"a {context.role.name.lower()} context makes "
                             f"{'server' if context.server_side else 'client'} connections")
        if not server_side and not server_hostname:
            raise ValueError("a client needs server_hostname: the name sent to the server "
                             "and checked in its certificate")
        if server_side and server_hostname:
            raise ValueError("server_hostname is for clients only")
        self.context = context  # keeps the callbacks the config points to alive
        self.server_side = bool(server_side)
        self.server_hostname = server_hostname
        self._lib = context._lib
        # One thread at a time per connection (the C API's rule, which ctypes cannot
        # enforce): a second thread gets WrongState instead of undefined behaviour.
        self._lock = threading.RLock()
        self._handshake_done = False
        self._close_sent = False
        out = _lib.P_CONN()
        name = None if server_side else cstr(server_hostname, "server_hostname")
        # A client's trace callback sees its ClientHello from inside ember_conn_new.
        r = self._lib.ember_conn_new(context._cfg, name, byref(out))
        if r == Result.OK:
            self._conn = out  # before raise_for: __del__ frees it if a trace callback raised
        raise_for(r, context.last_error)

    def __del__(self):
        self._free()

    def _free(self) -> None:
        if self._conn is None:
            return
        with self._lock:
            conn, self._conn = self._conn, None
            if conn:
                try:
                    self._lib.ember_conn_free(conn)
                except Exception:  # noqa: BLE001 - interpreter shutdown
                    pass

    @contextlib.contextmanager
    def _held(self):
        """Holds the connection for this thread (reentrant); WrongState if another thread
        is using it, ValueError once it is closed."""
        if not self._lock.acquire(blocking=False):
            raise WrongState(detail="the connection is in use by another thread (a "
                                    "connection is used by one thread at a time)")
        try:
            if self._conn is None:
                raise ValueError("the connection is closed")
            yield self._conn
        finally:
            self._lock.release()

    def _call(self, fn, *args):
        """``fn(conn, *args)`` for one embertls function, the connection held."""
        with self._held() as conn:
            return fn(conn, *args)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    # -- results -------------------------------------------------------------------------

    def last_error(self) -> str:
        """The detail of the connection's last failure ("" when none)."""
        if self._conn is None:
            return ""
        with self._held() as conn:
            return read_text(self._lib.ember_conn_last_error, conn)[1]

    def _error(self, r: int) -> Error:
        if r == Result.WANT_READ:
            return WantReadError(r, "EMBER_WANT_READ", "the operation needs input")
        if r == Result.WANT_WRITE:
            return WantWriteError(r, "EMBER_WANT_WRITE", "the operation needs to write")
        if r == Result.CLOSED:
            return Closed(r, "EMBER_CLOSED", "the peer sent close_notify")
        err = error_for(r, self.last_error())
        if isinstance(err, TransportError):
            err.errno = self.os_error
        if isinstance(err, AlertReceived):
            alert = self.peer_alert()
            if alert is not None:
                err.alert, err.alert_name = alert
        return err

    def _check(self, r: int) -> None:
        """Returns for OK, raises for anything else; callbacks' exceptions first."""
        check_result(r, self._error)

    # -- the raw operations: one engine call each, WouldBlock raised --------------------

    def _before(self) -> None:
        """Hook run before each engine call (MemoryConnection feeds what it kept)."""

    def _handshake_once(self) -> None:
        self._before()
        self._check(self._call(self._lib.ember_conn_handshake))
        self._handshake_done = True

    def _read_once(self, address, n: int) -> int:
        """Reads into `address` (n bytes); 0 on close_notify."""
        self._before()
        out = c_size_t()
        r = self._call(self._lib.ember_conn_read, address, n, byref(out))
        if r == Result.OK or r == Result.CLOSED:
            _callbacks.raise_pending()
            self._handshake_done = True
            return out.value if r == Result.OK else 0
        self._check(r)
        return 0  # not reached

    def _write_once(self, address, n: int) -> int:
        self._before()
        out = c_size_t()
        self._check(self._call(self._lib.ember_conn_write, address, n, byref(out)))
        self._handshake_done = True
        return out.value

    def _flush_once(self) -> None:
        self._check(self._call(self._lib.ember_conn_flush))

    def _close_once(self) -> None:
        r = self._call(self._lib.ember_conn_close)
        if r in (Result.OK, Result.WANT_WRITE):
            self._close_sent = True  # WANT_WRITE: queued, flush() sends it
        self._check(r)

    def _run(self, op: Callable):
        """Runs one raw operation; TLSSocket overrides this to wait for its socket."""
        return op()

    # -- the public operations -----------------------------------------------------------

    def do_handshake(self) -> None:
        """Completes the handshake (read and write do it too when needed). Raises
        WantReadError/WantWriteError when non-blocking I/O would block, a CertificateError
        when the peer's certificate is refused, a HandshakeError when negotiation fails."""
        self._run(self._handshake_once)

    def read(self, len: int = 1024, buffer=None):  # noqa: A002 - ssl's signature
        """As ssl: up to ``len`` bytes of application data, or into ``buffer`` (returns
        the count). b"" (0) once the peer sent close_notify; UnexpectedEOF when its
        transport ended without it."""
        if buffer is not None:
            return self.recv_into(buffer, len)
        return self.recv(len)

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        """Up to ``buflen`` bytes of application data; b"" once the peer sent
        close_notify (a clean end). Raises UnexpectedEOF when the peer's transport ended
        without close_notify: the data may be truncated."""
        if flags:
            raise ValueError("flags are not supported")
        if buflen <= 0:
            return b""
        buf = ctypes.create_string_buffer(buflen)
        n = self._run(lambda: self._read_once(buf, buflen))
        return ctypes.string_at(buf, n)

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        """Reads into the writable ``buffer`` (at most ``nbytes`` bytes, or its size);
        returns the count, 0 once the peer sent close_notify."""
        if flags:
            raise ValueError("flags are not supported")
        array, n = out_buffer(buffer, nbytes)
        if n == 0:
            return 0
        return self._run(lambda: self._read_once(array, n))

    def write(self, data: BytesLike) -> int:
        """As send()."""
        return self.send(data)

    def send(self, data: BytesLike, flags: int = 0) -> int:
        """Encrypts and sends ``data``; returns how many bytes were taken. Blocking: all
        of them, written. Non-blocking: possibly fewer (pass the rest again), and taken
        bytes may wait in embertls until a later send/flush writes them (see
        pending_output and flush()); WantWriteError when none could be taken."""
        if flags:
            raise ValueError("flags are not supported")
        buf = InBuffer(data)
        if buf.length == 0:
            return 0
        return self._run(lambda: self._write_once(buf.address, buf.length))

    def sendall(self, data: BytesLike, flags: int = 0) -> None:
        """Sends all of ``data`` (blocking or timeout sockets; on a non-blocking one,
        prefer send(), since an exception here does not say how much was taken)."""
        if flags:
            raise ValueError("flags are not supported")
        buf = InBuffer(data)
        off = 0
        while off < buf.length:
            off += self._run(lambda: self._write_once(buf.at(off), buf.length - off))
        self.flush()

    def flush(self) -> None:
        """Writes every byte embertls holds for the transport (WantWriteError when a
        non-blocking socket is full; a no-op in memory mode, where drain() does that)."""
        self._run(self._flush_once)

    @property
    def pending_output(self) -> int:
        """Bytes waiting to be sent: what drain() would give (memory mode), what flush()
        still has to write (otherwise; wait for the socket to be writable while it is not
        0)."""
        if self._conn is None:
            return 0
        return self._call(self._lib.ember_conn_pending_output)

    def close_notify(self) -> None:
        """Sends close_notify (once): the clean end of our half. Writes are refused
        afterwards; reads go on until the peer's close_notify (recv gives b""). On a
        non-blocking socket, WantWriteError means it is queued: flush() later."""
        if self._close_sent:
            return
        try:
            self._close_once()
            return
        except WantWriteError:
            pass  # queued: flush it (waiting, with a timeout socket)
        self.flush()

    def close(self) -> None:
        """Sends close_notify when the handshake completed (best effort: errors are
        ignored) and frees the connection."""
        if self._conn is not None and self._handshake_done and not self._close_sent:
            try:
                self._close_once()
            except (Error, OSError):
                pass
        self._free()

    @property
    def closed(self) -> bool:
        return self._conn is None

    # -- information ---------------------------------------------------------------------

    def _u16(self, fn) -> Optional[int]:
        if self._conn is None:
            return None
        value = c_uint16()
        return value.value if self._call(fn, byref(value)) == Result.OK else None

    def version(self) -> Optional[str]:
        """The negotiated protocol, "TLSv1.2" or "TLSv1.3" (None before it is known)."""
        v = self._u16(self._lib.ember_conn_protocol_version)
        return None if v is None else protocol_version_name(v)

    def cipher(self) -> Optional[Tuple[str, str, Optional[int]]]:
        """As ssl: (suite name, protocol version, secret bits), e.g.
        ("TLS_AES_256_GCM_SHA384", "TLSv1.3", 256). Suite names are IANA's (ssl gives
        OpenSSL's names for TLS 1.2 suites)."""
        suite = self._u16(self._lib.ember_conn_cipher_suite)
        if suite is None:
            return None
        name = cipher_suite_name(suite) or f"0x{suite:04x}"
        return name, self.version() or "", _suite_bits(name)

    def group(self) -> Optional[str]:
        """The key-exchange group, e.g. "X25519" (None before the key exchange)."""
        g = self._u16(self._lib.ember_conn_kx_group)
        return None if g is None else group_name(g)

    def selected_alpn_protocol(self) -> Optional[str]:
        """The protocol agreed with ALPN, or None."""
        if self._conn is None:
            return None
        with self._held() as conn:
            r, text = read_text(self._lib.ember_conn_alpn, conn, 64)
        return text if r == Result.OK else None

    def server_name(self) -> Optional[str]:
        """Client: the name it was made with. Server: the name the client sent (SNI), or
        None."""
        if self._conn is None:
            return None
        with self._held() as conn:
            r, text = read_text(self._lib.ember_conn_server_name, conn)
        return text if r == Result.OK and text else None

    @property
    def session_reused(self) -> bool:
        """Whether the handshake resumed an earlier session (False before it completed)."""
        if self._conn is None:
            return False
        value = c_int()
        r = self._call(self._lib.ember_conn_is_resumed, byref(value))
        return r == Result.OK and value.value != 0

    @property
    def id(self) -> int:
        """The connection's id, the ``conn_id`` of its TraceEvents."""
        value = c_uint64()
        self._check(self._call(self._lib.ember_conn_id, byref(value)))
        return value.value

    @property
    def handshake_time(self) -> Optional[float]:
        """How long the handshake took, in seconds (None until it completed)."""
        if self._conn is None:
            return None
        value = c_uint64()
        if self._call(self._lib.ember_conn_handshake_ns, byref(value)) != Result.OK:
            return None
        return value.value / 1e9

    def peer_alert(self) -> Optional[Tuple[int, Optional[str]]]:
        """The fatal alert the peer sent, as (number, name), or None."""
        if self._conn is None:
            return None
        value = c_uint8()
        if self._call(self._lib.ember_conn_peer_alert, byref(value)) != Result.OK:
            return None
        return value.value, alert_name(value.value)

    def peer_chain(self) -> List[bytes]:
        """The certificates the peer presented (DER, its own first); [] when it presented
        none or they are not known yet."""
        if self._conn is None:
            return []
        count = c_size_t()
        if self._call(self._lib.ember_conn_peer_cert_count, byref(count)) != Result.OK:
            return []
        chain = []
        for i in range(count.value):
            der, length = c_void_p(), c_size_t()
            self._check(self._call(self._lib.ember_conn_peer_cert, i, byref(der),
                                   byref(length)))
            chain.append(ctypes.string_at(der, length.value))
        return chain

    def getpeercert(self, binary_form: bool = False):
        """As ssl: the peer's certificate, DER bytes with ``binary_form=True``, else a
        dict like ssl's (subject, issuer, version, serialNumber, notBefore, notAfter,
        subjectAltName). None when the peer presented none."""
        chain = self.peer_chain()
        if not chain:
            return None
        if binary_form:
            return chain[0]
        try:
            return _x509.decode(chain[0])
        except (ValueError, IndexError) as exc:
            raise ValueError(f"cannot show the peer's certificate as a dict ({exc}); "
                             "getpeercert(binary_form=True) gives its DER") from None

    def export_keying_material(self, label: BytesLike, length: int,
                               context: Optional[BytesLike] = None) -> bytes:
        """``length`` bytes of keying material for ``label`` (and ``context``), equal on
        both ends (RFC 5705 / RFC 8446 7.5)."""
        lab = InBuffer(label)
        ctx = InBuffer(context) if context is not None else None
        # No context is NULL; an empty one is a non-NULL pointer with length 0.
        ctx_address = None if ctx is None else (ctx.address or b"")
        out = ctypes.create_string_buffer(max(length, 1))
        self._check(self._call(
            self._lib.ember_conn_export_keying_material, lab.address, lab.length,
            ctx_address, ctx.length if ctx is not None else 0, out, length))
        return ctypes.string_at(out, length)

    def key_update(self) -> None:
        """TLS 1.3: moves both directions to fresh keys."""
        self._run(lambda: self._check(self._call(self._lib.ember_conn_key_update)))

    @property
    def os_error(self) -> int:
        """The errno behind the last TransportError (0 when none)."""
        return self._call(self._lib.ember_conn_os_error) if self._conn is not None else 0

    def summary(self) -> str:
        """"version=... suite=... group=... server_name=..." as the examples print it."""
        cipher = self.cipher()
        return (f"version={self.version() or '-'} suite={cipher[0] if cipher else '-'} "
                f"group={self.group() or '-'} server_name={self.server_name() or '-'}")


class TLSSocket(Connection):
    """TLS over a socket, shaped like ``ssl.SSLSocket``: send, sendall, recv, recv_into,
    close, version(), cipher(), selected_alpn_protocol(), getpeercert(), session_reused,
    and use as a context manager. Made by Context.wrap_socket().

    The socket's mode decides how calls behave: blocking, they block; with a timeout,
    they wait at most that long and raise socket.timeout; non-blocking, they raise
    WantReadError / WantWriteError (subclasses of embertls.WouldBlock, not of
    ssl.SSLWantReadError) and are called again once select() says the socket is ready.
    """

    def __init__(self, context, sock: socket.socket, server_side, server_hostname,
                 do_handshake_on_connect: bool = True, suppress_ragged_eofs: bool = False):
        if sock.type != socket.SOCK_STREAM:
            raise ValueError("TLS needs a stream socket")
        super().__init__(context, server_side, server_hostname)
        self._sock = sock
        self.do_handshake_on_connect = do_handshake_on_connect
        self.suppress_ragged_eofs = suppress_ragged_eofs
        try:
            self._check(self._call(self._lib.ember_conn_set_fd, sock.fileno()))
            if do_handshake_on_connect and sock.gettimeout() != 0.0 and self._connected():
                self.do_handshake()
        except BaseException:
            # As ssl: a socket whose handshake failed is closed (the alert was sent).
            self._free()
            sock.close()
            raise

    def _connected(self) -> bool:
        try:
            self._sock.getpeername()
            return True
        except OSError:
            return False

    def _run(self, op: Callable):
        timeout = self._sock.gettimeout()
        if not timeout:
            # None: a blocking descriptor, embertls blocks. 0.0: non-blocking,
            # WantReadError / WantWriteError reach the caller.
            return op()
        deadline = time.monotonic() + timeout
        while True:
            try:
                return op()
            except WantReadError:
                self._wait(select.POLLIN, deadline)
            except WantWriteError:
                self._wait(select.POLLOUT, deadline)

    def _wait(self, event: int, deadline: float) -> None:
        poller = select.poll()
        poller.register(self._sock.fileno(), event)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout("the TLS operation timed out")
            if poller.poll(max(1, int(left * 1000))):
                return

    def recv(self, buflen: int = 1024, flags: int = 0) -> bytes:
        try:
            return super().recv(buflen, flags)
        except UnexpectedEOF:
            if self.suppress_ragged_eofs:
                return b""
            raise

    def recv_into(self, buffer, nbytes: int = 0, flags: int = 0) -> int:
        try:
            return super().recv_into(buffer, nbytes, flags)
        except UnexpectedEOF:
            if self.suppress_ragged_eofs:
                return 0
            raise

    def send(self, data: BytesLike, flags: int = 0) -> int:
        n = super().send(data, flags)
        if self._sock.gettimeout():
            self.flush()  # as ssl: with a timeout, send returns once the data is written
        return n

    def connect(self, address) -> None:
        """Connects the socket, then (do_handshake_on_connect) completes the handshake."""
        self._sock.connect(address)
        if self.do_handshake_on_connect and self._sock.gettimeout() != 0.0:
            self.do_handshake()

    def close(self) -> None:
        """Sends close_notify if the handshake completed (best effort), frees the
        connection and closes the socket. The peer sees a clean end, not a truncation.
        Called while another thread is blocked in a call on this socket, it shuts the
        socket down to end that call (which then fails) and closes once it returned."""
        if not self._lock.acquire(blocking=False):
            # Another thread is inside a call on this connection (blocked in recv, say):
            # shutting the socket down wakes it (its call fails), then it lets go.
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._lock.acquire()
        try:
            if self._conn is not None and self._handshake_done and not self._close_sent:
                try:
                    if self._sock.gettimeout() == 0.0:
                        self._close_once()  # non-blocking: what the socket takes now
                    else:
                        self.close_notify()
                except (Error, OSError):
                    pass
            self._free()
        finally:
            self._lock.release()
        self._sock.close()

    def unwrap(self) -> socket.socket:
        """Sends close_notify, waits for the peer's (discarding data that arrives first),
        frees the TLS connection and returns the plain socket."""
        self.close_notify()
        buf = ctypes.create_string_buffer(_CHUNK)
        while self._run(lambda: self._read_once(buf, _CHUNK)) != 0:
            pass
        self._free()
        return self._sock

    # The socket's own methods.

    @property
    def socket(self) -> socket.socket:
        return self._sock

    def fileno(self) -> int:
        return self._sock.fileno()

    def getpeername(self):
        return self._sock.getpeername()

    def getsockname(self):
        return self._sock.getsockname()

    def settimeout(self, value) -> None:
        self._sock.settimeout(value)

    def gettimeout(self):
        return self._sock.gettimeout()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)


class MemoryConnection(Connection):
    """TLS with no transport: ``feed()`` the bytes that arrived from the peer,
    ``drain()`` the bytes to send to it, after every call. Calls never block: they raise
    WantReadError when they need more input. For event loops that own their buffers (like
    ssl.MemoryBIO). Made by Context.wrap_bio()."""

    def __init__(self, context, server_side=None, server_hostname=None):
        super().__init__(context, server_side, server_hostname)
        self._inbox = bytearray()
        self._eof_pending = False
        self._eof_fed = False

    def _push(self) -> None:
        """Feeds what the engine did not take yet: it takes fewer bytes than offered only
        while decrypted data waits to be read."""
        with self._held() as conn:
            out = c_size_t()
            while self._inbox:
                array = (ctypes.c_char * len(self._inbox)).from_buffer(self._inbox)
                r = self._lib.ember_conn_feed(conn, array, len(self._inbox), byref(out))
                del array  # releases the bytearray, which is resized next
                if r != Result.OK:
                    self._inbox.clear()
                    self._check(r)
                if out.value == 0:
                    break
                del self._inbox[:out.value]
            if self._eof_pending and not self._eof_fed and not self._inbox:
                self._eof_fed = True
                self._check(self._lib.ember_conn_feed(conn, None, 0, byref(out)))
        _callbacks.raise_pending()  # from callbacks that ran while bytes were processed

    _before = _push

    def feed(self, data: BytesLike) -> int:
        """Gives the connection bytes received from the peer; returns len(data): bytes the
        engine cannot take yet (decrypted data waits to be read) are kept and fed by the
        next call. Raises the connection's error when the bytes are bad (drain then, to
        send the alert it queued)."""
        if self._eof_pending:
            raise ValueError("feed() after feed_eof()")
        with self._held():
            pass  # closed or busy: refuse before keeping anything
        n = memoryview(data).nbytes
        self._inbox += data
        self._push()
        return n

    def feed_eof(self) -> None:
        """Tells the connection that the peer's transport ended (after the bytes fed)."""
        self._eof_pending = True
        self._push()

    def drain(self, max_bytes: Optional[int] = None) -> bytes:
        """The bytes to send to the peer (up to ``max_bytes``), b"" when none wait."""
        with self._held() as conn:
            want = self._lib.ember_conn_pending_output(conn)
            if max_bytes is not None:
                want = min(want, max_bytes)
            if want == 0:
                return b""
            buf = ctypes.create_string_buffer(want)
            out = c_size_t()
            self._check(self._lib.ember_conn_drain(conn, buf, want, byref(out)))
            return ctypes.string_at(buf, out.value)

    def close(self) -> None:
        """Frees the connection. For a clean end call close_notify() first and send what
        drain() then gives."""
        self._free()

    @property
    def pending_input(self) -> int:
        """Bytes fed but not yet taken by the engine."""
        return len(self._inbox)


class CallbackConnection(Connection):
    """TLS through two Python callables (``ember_conn_set_io``): ``read(n)`` returns up
    to n bytes (b"" at end of stream) and ``write(data)`` returns how many it took. Either
    raises BlockingIOError when it would block (the call raises WantReadError /
    WantWriteError), InterruptedError to be called again, another OSError to fail the
    connection with TransportError (its errno). Made by Context.wrap_io()."""

    def __init__(self, context, read: Callable[[int], bytes], write: Callable[[bytes], int],
                 server_side=None, server_hostname=None):
        super().__init__(context, server_side, server_hostname)

        def rd(_u, buf, n, out_n):
            try:
                data = read(n)
            except OSError as exc:
                return _errno_of(exc)
            if data is None:
                return _errno.EAGAIN
            data = bytes(data)
            if len(data) > n:
                raise ValueError(f"read({n}) returned {len(data)} bytes")
            ctypes.memmove(buf, data, len(data))
            out_n[0] = len(data)
            return 0

        def wr(_u, buf, n, out_n):
            try:
                taken = write(ctypes.string_at(buf, n))
            except OSError as exc:
                return _errno_of(exc)
            if taken is None:
                return _errno.EAGAIN
            if not 0 <= taken <= n:
                raise ValueError(f"write() returned {taken} for {n} bytes")
            out_n[0] = taken
            return 0

        # Only unexpected exceptions (not OSError) reach the guard: they are kept for the
        # caller, and the connection fails as on any transport error.
        self._io = (_lib.READ_CB(_callbacks.guard(rd, _errno.EIO)),
                    _lib.WRITE_CB(_callbacks.guard(wr, _errno.EIO)))
        try:
            self._check(self._call(self._lib.ember_conn_set_io, *self._io, None))
        except BaseException:
            self._free()
            raise
