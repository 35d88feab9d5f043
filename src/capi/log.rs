//! The engine's log records for C: one callback for the process.

use std::ffi::{c_char, c_int, c_void, CString};
use std::sync::Arc;

use super::boundary::{code, guard_result, Userdata};
use super::error::ember_result;
use crate::engine::logging::{self, LogSink};

/// Log levels, most severe first (ember_log_set_callback()).
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_log_level {
    /// Failures.
    EMBER_LOG_ERROR = 1,
    /// Something unexpected that the engine worked around.
    EMBER_LOG_WARN = 2,
    /// Milestones, e.g. a resumed session.
    EMBER_LOG_INFO = 3,
    /// Protocol detail: each message sent and received.
    EMBER_LOG_DEBUG = 4,
    /// Everything, including buffer-level detail.
    EMBER_LOG_TRACE = 5,
}

/// Log callback (see ember_log_set_callback()): one record at `level`, from `target` (the
/// engine module, e.g. "rustls::client::hs"), with its `message`; both strings
/// NUL-terminated and valid only during the call.
pub type ember_log_cb = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        level: ember_log_level,
        target: *const c_char,
        message: *const c_char,
    ),
>;

type LogFn = unsafe extern "C" fn(*mut c_void, ember_log_level, *const c_char, *const c_char);

/// ember_log_set_callback sends the engine's log records (rustls' and embertls'), up to
/// `max_level` (an ember_log_level: EMBER_LOG_ERROR only errors, ... EMBER_LOG_TRACE
/// everything), to `cb`, for the whole process; a NULL `cb` stops it. Records are off
/// until this is called. Secrets never appear in them.
///
/// Returns EMBER_OK; EMBER_ERR_INVALID_ARG when `cb` is not NULL and `max_level` is not an
/// ember_log_level (with a NULL `cb` the level is ignored), or when other Rust code in the
/// process already installed a logger for the `log` crate (one per process; embertls does
/// not take it over).
///
/// Ownership: `userdata` is passed to `cb` unchanged and never freed; it must stay valid
/// until the callback is replaced or removed. Threads: any thread may call this; `cb` runs on
/// whichever thread logs, concurrently: it and `userdata` must be safe for that.
#[no_mangle]
pub extern "C" fn ember_log_set_callback(
    cb: ember_log_cb,
    userdata: *mut c_void,
    max_level: c_int,
) -> ember_result {
    guard_result(|| {
        let max = match max_level {
            1 => log::LevelFilter::Error,
            2 => log::LevelFilter::Warn,
            3 => log::LevelFilter::Info,
            4 => log::LevelFilter::Debug,
            5 => log::LevelFilter::Trace,
            _ if cb.is_none() => log::LevelFilter::Off,
            _ => return Err(ember_result::EMBER_ERR_INVALID_ARG),
        };
        let sink = cb.map(|cb| sink(cb, Userdata(userdata)));
        logging::set_sink(sink, max).map_err(code)
    })
}

fn sink(call: LogFn, userdata: Userdata) -> Arc<LogSink> {
    Arc::new(move |level: log::Level, target: &str, message: &str| {
        let level = match level {
            log::Level::Error => ember_log_level::EMBER_LOG_ERROR,
            log::Level::Warn => ember_log_level::EMBER_LOG_WARN,
            log::Level::Info => ember_log_level::EMBER_LOG_INFO,
            log::Level::Debug => ember_log_level::EMBER_LOG_DEBUG,
            log::Level::Trace => ember_log_level::EMBER_LOG_TRACE,
        };
        let target = CString::new(target.replace('\0', "")).unwrap_or_default();
        let message = CString::new(message.replace('\0', "")).unwrap_or_default();
        // SAFETY: the callback was given for this signature; both strings live through the call.
        unsafe { call(userdata.ptr(), level, target.as_ptr(), message.as_ptr()) }
    })
}
