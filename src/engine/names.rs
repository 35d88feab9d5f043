//! IANA names for the numbers TLS puts on the wire: versions, cipher suites, groups, alerts.
//!
//! These are the registry names (what RFCs, Wireshark and OpenSSL's `-ciphersuites` use), not
//! rustls' Rust identifiers, so that a program's log lines match everyone else's. They are
//! NUL-terminated because they are handed out as static strings.

use std::ffi::CStr;

/// The name of a protocol version, e.g. "TLSv1.3" for 0x0304.
pub fn version_name(version: u16) -> Option<&'static CStr> {
    Some(match version {
        0x0303 => c"TLSv1.2",
        0x0304 => c"TLSv1.3",
        _ => return None,
    })
}

/// The IANA name of a cipher suite embertls can negotiate.
pub fn cipher_suite_name(suite: u16) -> Option<&'static CStr> {
    Some(match suite {
        0x1301 => c"TLS_AES_128_GCM_SHA256",
        0x1302 => c"TLS_AES_256_GCM_SHA384",
        0x1303 => c"TLS_CHACHA20_POLY1305_SHA256",
        0xc02b => c"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c => c"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xcca9 => c"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        0xc02f => c"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc030 => c"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca8 => c"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => return None,
    })
}

/// The IANA name of an RSA key-transport suite: the suites embertls refuses because they
/// have no forward secrecy, named so that the refusal can say what the peer offered.
pub fn rsa_key_transport_suite_name(suite: u16) -> Option<&'static CStr> {
    Some(match suite {
        0x000a => c"TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        0x002f => c"TLS_RSA_WITH_AES_128_CBC_SHA",
        0x0035 => c"TLS_RSA_WITH_AES_256_CBC_SHA",
        0x003c => c"TLS_RSA_WITH_AES_128_CBC_SHA256",
        0x003d => c"TLS_RSA_WITH_AES_256_CBC_SHA256",
        0x009c => c"TLS_RSA_WITH_AES_128_GCM_SHA256",
        0x009d => c"TLS_RSA_WITH_AES_256_GCM_SHA384",
        0xc09c => c"TLS_RSA_WITH_AES_128_CCM",
        0xc09d => c"TLS_RSA_WITH_AES_256_CCM",
        _ => return None,
    })
}

/// The IANA name of a key-exchange group embertls can negotiate.
pub fn group_name(group: u16) -> Option<&'static CStr> {
    Some(match group {
        0x0017 => c"secp256r1",
        0x0018 => c"secp384r1",
        0x001d => c"X25519",
        _ => return None,
    })
}

/// The RFC 8446 / RFC 5246 name of an alert description, e.g. "certificate_expired".
pub fn alert_name(alert: u8) -> Option<&'static CStr> {
    Some(match alert {
        0 => c"close_notify",
        10 => c"unexpected_message",
        20 => c"bad_record_mac",
        21 => c"decryption_failed",
        22 => c"record_overflow",
        30 => c"decompression_failure",
        40 => c"handshake_failure",
        41 => c"no_certificate",
        42 => c"bad_certificate",
        43 => c"unsupported_certificate",
        44 => c"certificate_revoked",
        45 => c"certificate_expired",
        46 => c"certificate_unknown",
        47 => c"illegal_parameter",
        48 => c"unknown_ca",
        49 => c"access_denied",
        50 => c"decode_error",
        51 => c"decrypt_error",
        60 => c"export_restriction",
        70 => c"protocol_version",
        71 => c"insufficient_security",
        80 => c"internal_error",
        86 => c"inappropriate_fallback",
        90 => c"user_canceled",
        100 => c"no_renegotiation",
        109 => c"missing_extension",
        110 => c"unsupported_extension",
        111 => c"certificate_unobtainable",
        112 => c"unrecognized_name",
        113 => c"bad_certificate_status_response",
        114 => c"bad_certificate_hash_value",
        115 => c"unknown_psk_identity",
        116 => c"certificate_required",
        120 => c"no_application_protocol",
        121 => c"ech_required",
        _ => return None,
    })
}
