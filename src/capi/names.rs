//! Names for the numbers the connection-fact functions return.

use std::ffi::c_char;

use super::boundary::{guard, static_name};
use crate::engine::names;

/// ember_protocol_version_name returns the name of a protocol version: "TLSv1.2" for
/// EMBER_TLS1_2, "TLSv1.3" for EMBER_TLS1_3, NULL for any other value.
///
/// The string is static, never to be freed. Any thread may call it.
#[no_mangle]
pub extern "C" fn ember_protocol_version_name(version: u16) -> *const c_char {
    guard(|| static_name(names::version_name(version)))
}

/// ember_cipher_suite_name returns the IANA name of a cipher suite id, e.g.
/// "TLS_AES_128_GCM_SHA256" for 0x1301 or "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" for
/// 0xc02c; NULL for a suite embertls cannot negotiate.
///
/// The string is static, never to be freed. Any thread may call it.
#[no_mangle]
pub extern "C" fn ember_cipher_suite_name(suite: u16) -> *const c_char {
    guard(|| static_name(names::cipher_suite_name(suite)))
}

/// ember_group_name returns the IANA name of a key-exchange group id: "X25519" (0x001d),
/// "secp256r1" (0x0017), "secp384r1" (0x0018); NULL for a group embertls cannot negotiate.
///
/// The string is static, never to be freed. Any thread may call it.
#[no_mangle]
pub extern "C" fn ember_group_name(group: u16) -> *const c_char {
    guard(|| static_name(names::group_name(group)))
}

/// ember_alert_name returns the RFC name of a TLS alert description, e.g.
/// "certificate_expired" for 45 (see ember_conn_peer_alert()); NULL for an unassigned value.
///
/// The string is static, never to be freed. Any thread may call it.
#[no_mangle]
pub extern "C" fn ember_alert_name(alert: u8) -> *const c_char {
    guard(|| static_name(names::alert_name(alert)))
}
