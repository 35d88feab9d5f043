//! The two C-side transports: the embedder's callbacks, and a file descriptor.

use std::ffi::{c_int, c_void};
use std::io;

use crate::engine::Transport;

/// Read callback: read up to `len` bytes into `buf`, store the count in `*out_n` and return
/// 0; `*out_n = 0` with 0 means end of stream. Or return an errno value: EAGAIN/EWOULDBLOCK
/// when no data is available yet (the embertls call returns EMBER_WANT_READ), EINTR to be
/// called again at once, anything else for a failure (EMBER_ERR_IO).
pub type ember_read_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        buf: *mut u8,
        len: usize,
        out_n: *mut usize,
    ) -> c_int,
>;

/// Write callback: write some of the `len` bytes at `buf` (a partial write is fine), store
/// the count in `*out_n` and return 0. Or return an errno value: EAGAIN/EWOULDBLOCK when
/// nothing can be written now (EMBER_WANT_WRITE), EINTR to be called again at once,
/// anything else for a failure (EMBER_ERR_IO).
pub type ember_write_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        buf: *const u8,
        len: usize,
        out_n: *mut usize,
    ) -> c_int,
>;

/// The embedder's callbacks and the pointer they are given.
pub(crate) struct Callbacks {
    pub(crate) read: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> c_int,
    pub(crate) write: unsafe extern "C" fn(*mut c_void, *const u8, usize, *mut usize) -> c_int,
    pub(crate) userdata: *mut c_void,
}

impl Transport for Callbacks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut n = 0;
        // SAFETY: the callback was given by the embedder for exactly this signature; `buf`
        // is valid for `buf.len()` writable bytes and `n` is a live usize.
        let rc = unsafe { (self.read)(self.userdata, buf.as_mut_ptr(), buf.len(), &mut n) };
        callback_outcome(rc, n, buf.len())
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut n = 0;
        // SAFETY: as for read; `buf` is valid for `buf.len()` readable bytes.
        let rc = unsafe { (self.write)(self.userdata, buf.as_ptr(), buf.len(), &mut n) };
        callback_outcome(rc, n, buf.len())
    }
}

/// A callback's return value as an I/O result. A count larger than the buffer is a
/// callback bug, reported as such rather than trusted.
fn callback_outcome(rc: c_int, n: usize, len: usize) -> io::Result<usize> {
    match rc {
        0 if n <= len => Ok(n),
        0 => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the I/O callback reported {n} bytes for a {len}-byte buffer"),
        )),
        errno => Err(io::Error::from_raw_os_error(errno)),
    }
}

/// A file descriptor the caller owns: a socket, a pipe, blocking or not.
pub(crate) struct Fd(pub(crate) c_int);

impl Transport for Fd {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // SAFETY: `buf` is valid for `buf.len()` writable bytes; a stale fd only makes read fail.
        let n = unsafe { libc::read(self.0, buf.as_mut_ptr().cast(), buf.len()) };
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }

    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // send() with MSG_NOSIGNAL turns a peer's reset into EPIPE instead of a SIGPIPE that
        // would kill the embedder's process; write() serves descriptors that are not sockets.
        // SAFETY: `buf` is valid for `buf.len()` readable bytes.
        let n = unsafe { libc::send(self.0, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOTSOCK) {
            // SAFETY: as above.
            let n = unsafe { libc::write(self.0, buf.as_ptr().cast(), buf.len()) };
            return usize::try_from(n).map_err(|_| io::Error::last_os_error());
        }
        usize::try_from(n).map_err(|_| io::Error::last_os_error())
    }
}
