//! `ember_conn`: one TLS connection, its I/O and its facts.

use std::cell::Cell;
use std::ffi::{c_char, c_int, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::boundary::{
    arg_buf, arg_bytes, arg_mut, arg_ref, arg_str, code, copy_text, free_handle, guard,
    guard_result, into_handle,
};
use super::config::ember_config;
use super::error::ember_result;
use super::transport::{ember_read_cb, ember_write_cb, Callbacks, Fd};
use crate::engine::{Conn, Role};

/// One TLS connection (opaque). Made by ember_conn_new(), freed by ember_conn_free().
pub struct ember_conn {
    conn: Conn,
    /// Whether a call is working on `conn` now. Only this field is touched until that is
    /// known: a call made from inside one of the connection's own callbacks must not make a
    /// second reference to the `Conn` the call in progress holds.
    state: Cell<HandleState>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum HandleState {
    Idle,
    /// A call is working on the connection (its callbacks may be running).
    InUse,
    /// ember_conn_free() was called from inside a callback: the call in progress frees the
    /// connection when it returns.
    FreeRequested,
    /// A call panicked; the connection can only be freed.
    Poisoned,
}

/// Whether a call may use the handle now: EMBER_ERR_WRONG_STATE from inside one of its own
/// callbacks (the header forbids it; the call in progress goes on unharmed),
/// EMBER_ERR_POISONED after a panic.
fn usable(state: HandleState) -> Result<(), ember_result> {
    match state {
        HandleState::Idle => Ok(()),
        HandleState::InUse | HandleState::FreeRequested => Err(ember_result::EMBER_ERR_WRONG_STATE),
        HandleState::Poisoned => Err(ember_result::EMBER_ERR_POISONED),
    }
}

/// Runs `body` on the connection behind `conn`, refusing a poisoned one or one already in
/// use (a call from inside its own callbacks). Afterwards the handle is idle again, freed if
/// ember_conn_free() was called meanwhile, or poisoned if `body` panicked (EMBER_ERR_PANIC;
/// a free requested meanwhile is then not done: the connection may be half-changed).
///
/// Inlined into each exported function: with the argument checks, this is all that the C
/// boundary adds to a call on the record path. The end of the call is a match on the
/// outcome rather than a Drop guard, whose drop ran out of line and cost twice as much per
/// call (callgrind).
///
/// # Safety
/// `conn` is NULL or a live handle from ember_conn_new used by no other thread now.
#[inline(always)]
unsafe fn with_conn<T>(
    conn: *mut ember_conn,
    body: impl FnOnce(&mut Conn) -> Result<T, ember_result>,
) -> Result<T, ember_result> {
    if conn.is_null() {
        return Err(ember_result::EMBER_ERR_NULL_ARG);
    }
    // SAFETY: a live handle per this function's contract; only the state field is borrowed.
    let state = unsafe { &(*conn).state };
    usable(state.get())?;
    state.set(HandleState::InUse);
    // SAFETY: no call holds the connection (checked above) and no other thread uses it
    // (contract), so this is the only reference to it until `body` returns.
    let outcome = catch_unwind(AssertUnwindSafe(|| body(unsafe { &mut (*conn).conn })));
    match (outcome, state.replace(HandleState::Idle)) {
        (Err(_panic), _) => {
            state.set(HandleState::Poisoned);
            Err(ember_result::EMBER_ERR_PANIC)
        }
        (Ok(result), HandleState::FreeRequested) => {
            // SAFETY: the call that borrowed the connection has returned; the application
            // asked for the free and will not use the handle again.
            unsafe { free_handle(conn) };
            result
        }
        (Ok(result), _) => result,
    }
}

/// Read-only access for the fact functions: refused from inside the connection's own
/// callbacks and after a panic.
///
/// # Safety
/// `conn` is NULL or a live handle from ember_conn_new not being changed by another thread.
unsafe fn conn_ref<'a>(conn: *const ember_conn) -> Result<&'a Conn, ember_result> {
    if conn.is_null() {
        return Err(ember_result::EMBER_ERR_NULL_ARG);
    }
    // SAFETY: a live handle per this function's contract; only the state field is borrowed.
    usable(unsafe { &(*conn).state }.get())?;
    // SAFETY: no call is changing the connection (checked above; other threads per contract).
    Ok(unsafe { &(*conn).conn })
}

/// Reads one fact of `conn` into `*out`, or EMBER_ERR_WRONG_STATE while it is unknown: the
/// body of every fact function.
///
/// # Safety
/// `conn` is NULL or a live handle from ember_conn_new not being changed by another thread;
/// `out` is NULL or writable.
unsafe fn fact<T>(
    conn: *const ember_conn,
    out: *mut T,
    read: impl FnOnce(&Conn) -> Option<T>,
) -> Result<(), ember_result> {
    // SAFETY: per this function's contract.
    let (conn, out) = unsafe { (conn_ref(conn)?, arg_mut(out)?) };
    put(out, read(conn))
}

/// Writes a known fact to `*out`, or EMBER_ERR_WRONG_STATE while it is unknown.
fn put<T>(out: &mut T, fact: Option<T>) -> Result<(), ember_result> {
    *out = fact.ok_or(ember_result::EMBER_ERR_WRONG_STATE)?;
    Ok(())
}

/// ember_conn_new makes a connection from `cfg` and writes it to `*out`. The first connection
/// freezes the config (and its trust store).
///
/// `server_name`: for a client, required: the DNS name or IP literal (e.g. "example.com",
/// "127.0.0.1", "::1") sent as SNI and checked against the server's certificate; for a
/// server, must be NULL. The string is copied.
///
/// The connection starts in memory mode (ember_conn_feed()/ember_conn_drain()); call
/// ember_conn_set_io() or ember_conn_set_fd() before the first handshake call to use a
/// transport instead.
///
/// Returns EMBER_OK; EMBER_ERR_NULL_ARG when `cfg` or `out` is NULL, or a client has no
/// `server_name`; EMBER_ERR_INVALID_ARG when `server_name` is not a DNS name or IP address,
/// or is given to a server; EMBER_ERR_NO_CERTIFICATE when a server config has no certificate.
/// ember_config_last_error() explains a failure.
///
/// Ownership: the caller owns `*out` and frees it with ember_conn_free(). The connection
/// keeps what it needs of the config: the config may be freed first. Threads: any thread may
/// make connections from one frozen config at once; each connection is then used by one
/// thread at a time (it may move between threads).
#[no_mangle]
pub extern "C" fn ember_conn_new(
    cfg: *const ember_config,
    server_name: *const c_char,
    out: *mut *mut ember_conn,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `cfg` is NULL or a live handle, `out` NULL or writable, per the header.
        let (cfg, out) = unsafe { (arg_ref(cfg)?, arg_mut(out)?) };
        let name = match (cfg.inner.role(), server_name.is_null()) {
            (Role::Client, true) => return Err(ember_result::EMBER_ERR_NULL_ARG),
            (_, true) => None,
            // SAFETY: non-NULL, so a C string per the header.
            (_, false) => Some(unsafe { arg_str(server_name)? }),
        };
        let conn = Conn::new(&cfg.inner, name).map_err(code)?;
        *out = into_handle(ember_conn {
            conn,
            state: Cell::new(HandleState::Idle),
        });
        Ok(())
    })
}

/// ember_conn_free releases the connection and everything it holds. It sends nothing: call
/// ember_conn_close() first for a clean close_notify. No callback is called during or after
/// it; a file descriptor given to ember_conn_set_fd() is not closed. Passing NULL is a
/// harmless no-op. Called from inside one of the connection's own callbacks, it frees the
/// connection when the embertls call that ran the callback returns (that call's result is
/// still reported; the handle must not be used afterwards).
///
/// Threads: call it once no other thread is using this handle.
#[no_mangle]
pub extern "C" fn ember_conn_free(conn: *mut ember_conn) {
    guard(|| {
        if conn.is_null() {
            return;
        }
        // SAFETY: `conn` came from ember_conn_new and was not freed, per the header; only
        // its state field is borrowed.
        let state = unsafe { &(*conn).state };
        match state.get() {
            HandleState::InUse => state.set(HandleState::FreeRequested),
            HandleState::FreeRequested => {} // asked twice from a callback: freed once
            // SAFETY: no call is using the connection, so this is the last use of the handle.
            HandleState::Idle | HandleState::Poisoned => unsafe { free_handle(conn) },
        }
    })
}

/// ember_conn_set_io makes the connection read and write through `rd` and `wr`, each called
/// with `userdata` (see ember_read_cb and ember_write_cb). Blocking callbacks make every call
/// block; callbacks that return EAGAIN make calls return EMBER_WANT_READ/EMBER_WANT_WRITE.
/// Callbacks are called only from inside embertls calls on this connection, on the calling
/// thread, and never after ember_conn_free().
///
/// Returns EMBER_OK; EMBER_ERR_NULL_ARG when `conn`, `rd` or `wr` is NULL (`userdata` may be
/// NULL); EMBER_ERR_WRONG_STATE when the I/O was already chosen or bytes already moved.
/// `userdata` stays the caller's and must outlive the connection's use of it.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_set_io(
    conn: *mut ember_conn,
    rd: ember_read_cb,
    wr: ember_write_cb,
    userdata: *mut c_void,
) -> ember_result {
    guard_result(|| {
        let (Some(read), Some(write)) = (rd, wr) else {
            return Err(ember_result::EMBER_ERR_NULL_ARG);
        };
        let transport = Box::new(Callbacks {
            read,
            write,
            userdata,
        });
        // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
        unsafe { with_conn(conn, |c| c.set_transport(transport).map_err(code)) }
    })
}

/// ember_conn_set_fd makes the connection read and write the file descriptor `fd` (a
/// connected socket or a pipe). A blocking descriptor makes every call block; with
/// O_NONBLOCK, calls return EMBER_WANT_READ/EMBER_WANT_WRITE, meaning: poll for
/// POLLIN/POLLOUT and call again. EINTR is retried. Writes use MSG_NOSIGNAL, so a peer that
/// went away gives EMBER_ERR_IO (EPIPE), not SIGPIPE.
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG for a negative `fd`; EMBER_ERR_NULL_ARG for a
/// NULL `conn`; EMBER_ERR_WRONG_STATE when the I/O was already chosen or bytes already moved.
/// The descriptor stays the caller's: embertls never closes it.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_set_fd(conn: *mut ember_conn, fd: c_int) -> ember_result {
    guard_result(|| {
        if fd < 0 {
            return Err(ember_result::EMBER_ERR_INVALID_ARG);
        }
        // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
        unsafe { with_conn(conn, |c| c.set_transport(Box::new(Fd(fd))).map_err(code)) }
    })
}

/// ember_conn_feed gives the connection `len` bytes received from the peer (memory mode)
/// and stores in `*out_n` how many it took. It takes fewer than `len` only when decrypted
/// data waits to be read: call ember_conn_read(), then feed the rest. `len == 0` tells the
/// connection that the peer's transport reached end of stream. The bytes are copied.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE on a connection using a transport, or after end
/// of stream was fed; the connection's fatal error if processing the bytes failed (then
/// drain and send the alert it queued); EMBER_ERR_NULL_ARG for NULL `conn`/`out_n`, or
/// NULL `buf` with `len` > 0.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_feed(
    conn: *mut ember_conn,
    buf: *const u8,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `buf` holds `len` bytes and `out_n` is writable, per the header.
        let (data, out_n) = unsafe { (arg_bytes(buf, len)?, arg_mut(out_n)?) };
        *out_n = 0;
        // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
        *out_n = unsafe { with_conn(conn, |c| c.feed(data).map_err(code))? };
        Ok(())
    })
}

/// ember_conn_drain moves up to `len` bytes the connection wants sent to the peer into
/// `buf` (memory mode) and stores the count in `*out_n` (0 when nothing is pending). Send
/// them in order. Drain after every call on the connection: ember_conn_pending_output()
/// says how much is waiting. Draining still works after a fatal error, so the alert that
/// explains it can reach the peer.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE on a connection using a transport;
/// EMBER_ERR_NULL_ARG for NULL `conn`/`out_n`, or NULL `buf` with `len` > 0.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_drain(
    conn: *mut ember_conn,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `buf` holds `len` writable bytes and `out_n` is writable, per the header.
        let (buf, out_n) = unsafe { (arg_buf(buf, len)?, arg_mut(out_n)?) };
        *out_n = 0;
        // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
        *out_n = unsafe { with_conn(conn, |c| c.drain(buf).map_err(code))? };
        Ok(())
    })
}

/// ember_conn_pending_output returns how many bytes wait to be sent: in memory mode, what
/// ember_conn_drain() would give; with a transport, what ember_conn_flush() still has to
/// write (poll for POLLOUT while it is not 0). Returns 0 for NULL, for a poisoned
/// connection, and from inside one of the connection's own callbacks.
///
/// Threads: one thread at a time per connection (it is const, but counting may move bytes
/// within the connection).
#[no_mangle]
pub extern "C" fn ember_conn_pending_output(conn: *const ember_conn) -> usize {
    // SAFETY: `conn` is NULL or a live handle used by this thread, per the header. Counting
    // moves the bytes within the connection (never observable): the handle is a Box we
    // made, so writing through the const pointer C holds is sound.
    guard(|| unsafe { with_conn(conn.cast_mut(), |c| Ok(c.pending_output())) }.unwrap_or(0))
}

/// Drive the handshake until it completes or needs I/O.
///
/// Returns EMBER_OK once the handshake is complete (calling again is harmless);
/// EMBER_WANT_READ / EMBER_WANT_WRITE when non-blocking I/O would block (call again when
/// the socket is ready; in memory mode, feed what arrived and drain what is pending first);
/// a 300s code when the peer's certificate is rejected (the peer is sent the matching alert);
/// a 400s code when negotiation fails (EMBER_ERR_NO_SHARED_VERSION, ..._CIPHER_SUITE,
/// ..._GROUP, EMBER_ERR_ALERT_RECEIVED with ember_conn_peer_alert(), ...);
/// EMBER_ERR_UNEXPECTED_EOF when the peer went away mid-handshake; EMBER_ERR_IO when the
/// transport failed. After an error the connection is dead: later calls return the same code,
/// and ember_conn_last_error() says why. EMBER_ERR_NULL_ARG for a NULL `conn`.
///
/// Threads: one thread at a time per connection. `conn` stays owned by the caller.
#[no_mangle]
pub extern "C" fn ember_conn_handshake(conn: *mut ember_conn) -> ember_result {
    // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
    guard_result(|| unsafe { with_conn(conn, |c| c.handshake().map_err(code)) })
}

/// ember_conn_read reads decrypted application data into `buf` (up to `len` bytes) and
/// stores the count in `*out_n`. It completes the handshake first if needed, like
/// ember_conn_handshake().
///
/// Returns EMBER_OK with `*out_n` > 0 (or 0 when `len` is 0); EMBER_CLOSED once the peer
/// sent close_notify and all its data was read (a clean end; it stays so);
/// EMBER_WANT_READ / EMBER_WANT_WRITE when non-blocking I/O would block;
/// EMBER_ERR_UNEXPECTED_EOF when the peer's transport ended without close_notify (the data
/// may be truncated: never treat it as a clean end); the handshake's errors; EMBER_ERR_IO;
/// EMBER_ERR_NULL_ARG for NULL `conn`/`out_n`, or NULL `buf` with `len` > 0. `*out_n` is 0
/// on every result but EMBER_OK. Data the peer sent before a fatal error (ahead of its alert,
/// or of a record that fails to decrypt) is not lost: reads return it first, then the error.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_read(
    conn: *mut ember_conn,
    buf: *mut u8,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `buf` holds `len` writable bytes and `out_n` is writable, per the header.
        let (buf, out_n) = unsafe { (arg_buf(buf, len)?, arg_mut(out_n)?) };
        *out_n = 0;
        // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
        *out_n = unsafe { with_conn(conn, |c| c.read(buf).map_err(code))? };
        Ok(())
    })
}

/// ember_conn_write encrypts application data from `buf` (`len` bytes) and stores in
/// `*out_n` how many bytes it accepted. It completes the handshake first if needed.
///
/// With blocking I/O every byte is written before it returns (`*out_n` == `len`). With
/// non-blocking I/O or in memory mode it accepts what fits (up to 64 KiB ahead of the
/// transport) and may return EMBER_OK with `*out_n` < `len`: pass the rest again later.
/// Accepted bytes are the connection's: they are sent by later write, flush or close calls
/// (memory mode: drained), never lost or sent twice.
///
/// Returns EMBER_OK; EMBER_WANT_WRITE when nothing could be accepted (poll for POLLOUT, or
/// drain, then call again); EMBER_WANT_READ while a non-blocking handshake waits for input;
/// EMBER_ERR_WRONG_STATE after ember_conn_close(); the handshake's errors; EMBER_ERR_IO;
/// EMBER_ERR_NULL_ARG for NULL `conn`/`out_n`, or NULL `buf` with `len` > 0.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_write(
    conn: *mut ember_conn,
    buf: *const u8,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `buf` holds `len` bytes and `out_n` is writable, per the header.
        let (data, out_n) = unsafe { (arg_bytes(buf, len)?, arg_mut(out_n)?) };
        *out_n = 0;
        // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
        *out_n = unsafe { with_conn(conn, |c| c.write(data).map_err(code))? };
        Ok(())
    })
}

/// ember_conn_flush writes all pending output to the transport.
///
/// Returns EMBER_OK when nothing is left (always, in memory mode, where output waits for
/// ember_conn_drain()); EMBER_WANT_WRITE when a non-blocking transport would block (poll for
/// POLLOUT, call again); the connection's fatal error; EMBER_ERR_NULL_ARG for a NULL `conn`.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_flush(conn: *mut ember_conn) -> ember_result {
    // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
    guard_result(|| unsafe { with_conn(conn, |c| c.flush().map_err(code)) })
}

/// ember_conn_close sends close_notify (once) and flushes it: the clean end of our half of
/// the connection. Writes are refused afterwards (EMBER_ERR_WRONG_STATE); reads go on until
/// the peer's close_notify gives EMBER_CLOSED. The file descriptor is not closed.
///
/// Returns EMBER_OK when close_notify was written (memory mode: is ready to drain);
/// EMBER_WANT_WRITE when a non-blocking transport would block (call ember_conn_flush()
/// later); the connection's fatal error; EMBER_ERR_NULL_ARG for a NULL `conn`.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_close(conn: *mut ember_conn) -> ember_result {
    // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
    guard_result(|| unsafe { with_conn(conn, |c| c.close().map_err(code)) })
}

/// ember_conn_last_error copies the detail of the connection's last failure into `buf` (at
/// most `len` bytes, NUL-terminated) and the detail's full length into `*out_n`, e.g. "the
/// peer's certificate is not valid for \"example.com\"; it is valid for other.example".
/// EMBER_WANT_READ, EMBER_WANT_WRITE and EMBER_CLOSED are not failures. With no failure so
/// far the detail is "".
///
/// Returns EMBER_OK; EMBER_ERR_BUFFER_TOO_SMALL when the text was truncated (size the buffer
/// `*out_n + 1`); EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG when
/// `conn` or `out_n` is NULL, or `buf` is NULL with `len` > 0.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_last_error(
    conn: *const ember_conn,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, per the header.
        let conn = unsafe { conn_ref(conn)? };
        let detail = conn.last_error().map_or("", |e| e.detail());
        // SAFETY: `buf`/`len`/`out_n` as the header describes.
        unsafe { copy_text(detail, buf, len, out_n) }
    })
}

/// ember_conn_os_error returns the errno behind the connection's last EMBER_ERR_IO (for
/// example ECONNRESET or EPIPE, or the value an I/O callback returned), or 0 when the last
/// failure was not an I/O error, or was one without an errno: a transport that broke its
/// contract (a callback reporting more bytes than it was given, a write of 0 bytes).
/// Returns 0 for NULL.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_os_error(conn: *const ember_conn) -> c_int {
    guard(|| {
        // SAFETY: `conn` is NULL or a live handle, per the header.
        let conn = unsafe { conn_ref(conn) };
        conn.ok()
            .and_then(Conn::last_error)
            .and_then(|e| e.os_error())
            .unwrap_or(0)
    })
}

/// ember_conn_protocol_version stores the negotiated protocol version (EMBER_TLS1_2 or
/// EMBER_TLS1_3) in `*out_version`.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE before it is negotiated (the ServerHello);
/// EMBER_ERR_NULL_ARG for a NULL argument.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_protocol_version(
    conn: *const ember_conn,
    out_version: *mut u16,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, `out_version` NULL or writable, per the header.
        unsafe { fact(conn, out_version, Conn::protocol_version) }
    })
}

/// ember_conn_cipher_suite stores the negotiated cipher suite's IANA id (e.g. 0x1301) in
/// `*out_suite`; ember_cipher_suite_name() names it.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE before it is negotiated; EMBER_ERR_NULL_ARG for a
/// NULL argument.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_cipher_suite(
    conn: *const ember_conn,
    out_suite: *mut u16,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, `out_suite` NULL or writable, per the header.
        unsafe { fact(conn, out_suite, Conn::cipher_suite) }
    })
}

/// ember_conn_kx_group stores the IANA id of the key-exchange group the handshake used
/// (0x001d X25519, 0x0017 secp256r1, 0x0018 secp384r1) in `*out_group`;
/// ember_group_name() names it.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE before the key exchange, and after a resumed
/// TLS 1.2 handshake, which has none (it reuses the session's keys); EMBER_ERR_NULL_ARG for a
/// NULL argument.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_kx_group(
    conn: *const ember_conn,
    out_group: *mut u16,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, `out_group` NULL or writable, per the header.
        unsafe { fact(conn, out_group, Conn::kx_group) }
    })
}

/// ember_conn_server_name copies the server name into `buf` (at most `len` bytes,
/// NUL-terminated) and its length into `*out_n`: on a client, the name the connection was
/// made with; on a server, the name the client sent (SNI).
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE on a server before the ClientHello or when the
/// client sent no name; EMBER_ERR_BUFFER_TOO_SMALL when the name was truncated;
/// EMBER_ERR_NULL_ARG when `conn` or `out_n` is NULL, or `buf` is NULL with `len` > 0.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_server_name(
    conn: *const ember_conn,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, per the header.
        let conn = unsafe { conn_ref(conn)? };
        let name = conn
            .server_name()
            .ok_or(ember_result::EMBER_ERR_WRONG_STATE)?;
        // SAFETY: `buf`/`len`/`out_n` as the header describes.
        unsafe { copy_text(name, buf, len, out_n) }
    })
}

/// ember_conn_alpn copies the application protocol agreed with ALPN (e.g. "h2") into `buf`
/// (at most `len` bytes, NUL-terminated) and its length into `*out_n`.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE before the handshake chose one, or when none was
/// agreed (either side offered no ALPN; a client and server that both offered protocols but
/// share none fail the handshake with EMBER_ERR_NO_ALPN_OVERLAP instead);
/// EMBER_ERR_BUFFER_TOO_SMALL when the name was truncated; EMBER_ERR_POISONED for a poisoned
/// connection; EMBER_ERR_NULL_ARG when `conn` or `out_n` is NULL, or `buf` is NULL with
/// `len` > 0.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_alpn(
    conn: *const ember_conn,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, per the header.
        let conn = unsafe { conn_ref(conn)? };
        let protocol = conn
            .alpn_protocol()
            .ok_or(ember_result::EMBER_ERR_WRONG_STATE)?;
        // Protocol ids are bytes; the registered ones are printable ASCII.
        let text = String::from_utf8_lossy(protocol);
        // SAFETY: `buf`/`len`/`out_n` as the header describes.
        unsafe { copy_text(&text, buf, len, out_n) }
    })
}

/// ember_conn_is_resumed stores 1 in `*out_resumed` when the handshake resumed an earlier
/// session (a ticket or a session id), 0 when it was a full handshake.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE until the handshake has completed;
/// EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a NULL argument.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_is_resumed(
    conn: *const ember_conn,
    out_resumed: *mut c_int,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, `out_resumed` NULL or writable, per the header.
        unsafe { fact(conn, out_resumed, |c| c.is_resumed().map(c_int::from)) }
    })
}

/// ember_conn_handshake_ns stores how long the handshake took, in nanoseconds, in
/// `*out_ns`: from the first call that moved the connection (handshake, read, write, feed)
/// to the one that completed it, so it includes waiting for the peer and the network.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE until the handshake has completed;
/// EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a NULL argument.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_handshake_ns(
    conn: *const ember_conn,
    out_ns: *mut u64,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, `out_ns` NULL or writable, per the header.
        unsafe { fact(conn, out_ns, Conn::handshake_duration_ns) }
    })
}

/// ember_conn_id stores the connection's id in `*out_id`: unique in the process, the
/// `conn_id` that trace events of this connection carry (ember_config_set_trace_callback()).
///
/// Returns EMBER_OK; EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a
/// NULL argument.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_id(conn: *const ember_conn, out_id: *mut u64) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, `out_id` NULL or writable, per the header.
        let (conn, out) = unsafe { (conn_ref(conn)?, arg_mut(out_id)?) };
        *out = conn.id();
        Ok(())
    })
}

/// ember_conn_key_update moves both directions of a TLS 1.3 connection to fresh keys: it
/// sends a KeyUpdate message that also asks the peer to update its sending keys (RFC 8446
/// section 4.6.3). Use it on long-lived connections; embertls also updates keys by itself
/// before a key's safe limit of records is reached.
///
/// Returns EMBER_OK once the KeyUpdate is sent or queued (non-blocking I/O, memory mode:
/// it leaves with the next flush, write or drain); EMBER_ERR_WRONG_STATE before the
/// handshake has completed, after ember_conn_close(), or on a TLS 1.2 connection, which has
/// no key update (nothing is sent, the connection stays usable); EMBER_ERR_IO and other
/// errors of ember_conn_flush() when sending fails; EMBER_ERR_NULL_ARG when `conn` is NULL.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_key_update(conn: *mut ember_conn) -> ember_result {
    // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
    guard_result(|| unsafe { with_conn(conn, |c| c.key_update().map_err(code)) })
}

/// ember_conn_export_keying_material fills `out` (`out_len` bytes) with keying material
/// exported from the connection's session (RFC 5705 for TLS 1.2, RFC 8446 section 7.5 for
/// TLS 1.3), for the `label_len`-byte `label` and, unless `context` is NULL, the
/// `context_len`-byte `context`; both peers get the same bytes for the same inputs, which
/// binds an application protocol to this TLS session (e.g. channel binding).
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE until the handshake has completed;
/// EMBER_ERR_INVALID_ARG when `out_len` is 0; the connection's error after a fatal one;
/// EMBER_ERR_NULL_ARG when `conn` is NULL, or `out`, `label` or a non-NULL `context` is NULL
/// with a length > 0. ember_conn_last_error() explains a failure.
///
/// Ownership: the caller keeps every buffer. Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_export_keying_material(
    conn: *mut ember_conn,
    label: *const u8,
    label_len: usize,
    context: *const u8,
    context_len: usize,
    out: *mut u8,
    out_len: usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: each buffer holds its length, per the header; `context` may be NULL.
        let (label, context, out) = unsafe {
            (
                arg_bytes(label, label_len)?,
                if context.is_null() {
                    None
                } else {
                    Some(arg_bytes(context, context_len)?)
                },
                arg_buf(out, out_len)?,
            )
        };
        // SAFETY: `conn` is NULL or a live handle used by this thread, per the header.
        unsafe {
            with_conn(conn, |c| {
                c.export_keying_material(label, context, out).map_err(code)
            })
        }
    })
}

/// ember_conn_peer_alert stores the TLS alert description the peer sent with its fatal alert
/// (e.g. 45, certificate_expired; ember_alert_name() names it) in `*out_alert`. A handshake
/// that failed with EMBER_ERR_ALERT_RECEIVED, EMBER_ERR_NO_SHARED_VERSION or
/// EMBER_ERR_NO_ALPN_OVERLAP may have one.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE when the peer sent no fatal alert;
/// EMBER_ERR_NULL_ARG for a NULL argument.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_peer_alert(
    conn: *const ember_conn,
    out_alert: *mut u8,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, `out_alert` NULL or writable, per the header.
        unsafe { fact(conn, out_alert, Conn::peer_alert) }
    })
}

/// ember_conn_peer_cert_count stores the number of certificates in the chain the peer
/// presented (its leaf plus the intermediates it sent) in `*out_n`.
///
/// The chain is known on a client once the server's certificate was received and verified,
/// and on a server once the client's certificate was (ember_config_set_client_auth()); it
/// stays readable after the handshake, after ember_conn_close() and after a later failure.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE before the chain is known, and on a server whose
/// client sent no certificate (no client authentication, or OPTIONAL without one);
/// EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a NULL argument.
/// Threads: as every function on a connection, one thread at a time.
#[no_mangle]
pub extern "C" fn ember_conn_peer_cert_count(
    conn: *const ember_conn,
    out_n: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, `out_n` NULL or writable, per the header.
        unsafe { fact(conn, out_n, |c| c.peer_certificates().map(<[Vec<u8>]>::len)) }
    })
}

/// ember_conn_peer_cert stores a pointer to the DER encoding of certificate `index` of the
/// peer's chain in `*out_der` and its length in `*out_len`. Index 0 is the peer's own (leaf)
/// certificate, the following ones the intermediates in the order the peer sent them.
///
/// Ownership: the bytes are borrowed from the connection and stay valid and unchanged until
/// ember_conn_free(); the caller must not free or modify them.
///
/// Returns EMBER_OK; EMBER_ERR_WRONG_STATE when the chain is not known (as for
/// ember_conn_peer_cert_count()); EMBER_ERR_INVALID_ARG when `index` is not below the
/// count; EMBER_ERR_POISONED for a poisoned connection; EMBER_ERR_NULL_ARG for a NULL
/// argument. On failure the outputs are left unchanged.
///
/// Threads: one thread at a time per connection.
#[no_mangle]
pub extern "C" fn ember_conn_peer_cert(
    conn: *const ember_conn,
    index: usize,
    out_der: *mut *const u8,
    out_len: *mut usize,
) -> ember_result {
    guard_result(|| {
        // SAFETY: `conn` is NULL or a live handle, the outputs NULL or writable, per the header.
        let (conn, out_der, out_len) =
            unsafe { (conn_ref(conn)?, arg_mut(out_der)?, arg_mut(out_len)?) };
        let chain = conn
            .peer_certificates()
            .ok_or(ember_result::EMBER_ERR_WRONG_STATE)?;
        let der = chain
            .get(index)
            .ok_or(ember_result::EMBER_ERR_INVALID_ARG)?;
        *out_der = der.as_ptr();
        *out_len = der.len();
        Ok(())
    })
}
