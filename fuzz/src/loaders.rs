//! The loaders target: every parser of the C API over the input's bytes. The first byte
//! picks the parser (its low 3 bits), whether what loaded is then used in a handshake
//! (bit 3), and a variant (the high 4 bits):
//!
//! 0. trust store PEM (ember_trust_add_pem)
//! 1. trust store DER (ember_trust_add_der)
//! 2. CRLs, DER or PEM (ember_trust_add_crl), next to the fixed root; the variant is the
//!    revocation policy
//! 3. a certificate chain and key (ember_config_add_cert_pem): a 2-byte chain length, the
//!    chain, then the key; variant bit 0: a client config instead of a server's
//! 4. the ember_cert_* functions: a 1-byte name length, the name, then the DER
//! 5. server names (ember_conn_new, ember_cert_check_name)
//! 6. the config setters that take lists and values (versions, ALPN, suites, groups,
//!    ticket keys, session cache size, client authentication)
//! 7. the file variants of 0, 2 and 3, ember_config_set_ticket_key_file and
//!    ember_trust_add_pem_dir, through a temporary file, each checked against its
//!    in-memory twin.
//!
//! Results must be codes the header gives for each function, and what it promises (all
//! or nothing, counts, outputs left unchanged on failure) must hold.

use std::ffi::{c_int, CStr, CString};
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::configs;
use crate::endpoint::{Endpoint, Side};
use crate::exchange::exchange;
use crate::ffi::{self, ember_result, OK};
use crate::handles::{cipher_suite_named, group_named, Config, Trust};
use crate::pki;
use crate::script::Input;

pub fn run(data: &[u8]) {
    configs::reset();
    let mut input = Input::new(data);
    let selector = input.byte();
    let use_it = selector & 8 != 0;
    let variant = selector >> 4;
    match selector & 7 {
        0 => trust_pem(input.rest(), use_it),
        1 => trust_der(input.rest(), use_it),
        2 => crls(input.rest(), u32::from(variant), use_it),
        3 => {
            let len = usize::from(input.u16());
            let chain = input.take(len);
            cert_and_key(chain, input.rest(), variant & 1 == 0, use_it);
        }
        4 => {
            let len = usize::from(input.byte());
            let name = c_string(input.take(len));
            cert_functions(input.rest(), &name);
        }
        5 => server_name(input.rest(), use_it),
        6 => setters(&mut input, variant & 1 == 0, use_it),
        _ => files(input.rest(), variant),
    }
}

/// The bytes up to the first NUL, as a C string.
fn c_string(bytes: &[u8]) -> CString {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    CString::new(&bytes[..end]).expect("cut at the first NUL")
}

/// A load into a fresh store: OK with something added, or one of `failures` with nothing
/// added and a reason given (the header's "all or nothing").
fn judge_load(what: &str, r: ember_result, trust: &Trust, added: usize, failures: &[ember_result]) {
    ffi::expect(what, r, |r| r == OK || failures.contains(&r));
    if r == OK {
        assert!(added > 0, "{what} returned OK and added nothing");
    } else {
        assert_eq!(added, 0, "{what} failed with {r} but kept {added} item(s)");
        assert!(
            !trust.last_error().is_empty(),
            "{what} failed with {r} and gave no reason"
        );
    }
}

const TRUST_PEM_FAILURES: [ember_result; 1] = [ffi::ERR_BAD_PEM];
const CRL_FAILURES: [ember_result; 2] = [ffi::ERR_BAD_PEM, ffi::ERR_BAD_CRL];
const CERT_FAILURES: [ember_result; 3] =
    [ffi::ERR_BAD_PEM, ffi::ERR_BAD_KEY, ffi::ERR_KEY_MISMATCH];

fn trust_pem(bytes: &[u8], use_it: bool) {
    let trust = Trust::new();
    let r = trust.add_pem(bytes);
    judge_load(
        "ember_trust_add_pem",
        r,
        &trust,
        trust.count(),
        &TRUST_PEM_FAILURES,
    );
    if r == OK && use_it {
        verify_server_with(&trust);
    }
}

fn trust_der(bytes: &[u8], use_it: bool) {
    let trust = Trust::new();
    let r = trust.add_der(bytes);
    let added = trust.count();
    judge_load(
        "ember_trust_add_der",
        r,
        &trust,
        added,
        &[ffi::ERR_BAD_CERTIFICATE],
    );
    assert!(
        added <= 1,
        "ember_trust_add_der added {added} roots from one certificate"
    );
    if r == OK && use_it {
        verify_server_with(&trust);
    }
}

fn crls(bytes: &[u8], policy: u32, use_it: bool) {
    let trust = Trust::fixed(false);
    let r = trust.add_crl(bytes);
    judge_load(
        "ember_trust_add_crl",
        r,
        &trust,
        trust.crl_count(),
        &CRL_FAILURES,
    );
    let set = trust.set_revocation(policy);
    ffi::expect("ember_trust_set_revocation", set, |r| {
        r == if policy < 8 { OK } else { ffi::ERR_INVALID_ARG }
    });
    if r == OK && use_it {
        verify_server_with(&trust);
    }
}

/// A client trusting `trust` meets a server of the fixed PKI.
fn verify_server_with(trust: &Trust) {
    let cfg = Config::new(ffi::ROLE_CLIENT);
    cfg.must("ember_config_set_trust", cfg.set_trust(trust));
    client_meets_server(&cfg, configs::server(0, false), c"localhost");
}

fn client_meets_server(client: &Config, server: &Config, name: &CStr) {
    exchange(
        Endpoint::new(client, Side::Client, name, false, 16384),
        Endpoint::new(server, Side::Server, name, false, 16384),
    );
}

fn cert_and_key(chain: &[u8], key: &[u8], server: bool, use_it: bool) {
    let cfg = Config::new(if server {
        ffi::ROLE_SERVER
    } else {
        ffi::ROLE_CLIENT
    });
    let r = cfg.add_cert(chain, key);
    ffi::expect("ember_config_add_cert_pem", r, |r| {
        r == OK || CERT_FAILURES.contains(&r)
    });
    if r != OK {
        assert!(
            !cfg.last_error().is_empty(),
            "ember_config_add_cert_pem failed without a reason"
        );
        return;
    }
    if !use_it {
        return;
    }
    if server {
        // A client that accepts any chain: the handshake then signs with the loaded key and
        // the client checks that signature against the loaded leaf.
        client_meets_server(configs::client(2, false), &cfg, c"localhost");
    } else {
        // A server that asks for a client certificate and verifies it, CRLs included.
        let trust = Trust::fixed(false);
        cfg.must("ember_config_set_trust", cfg.set_trust(&trust));
        client_meets_server(&cfg, configs::server(0, false), c"localhost");
    }
}

/// ember_cert_spki_sha256 and ember_cert_check_name on `der`, which anyone may have chosen
/// (the verification callbacks call this on the chains peers send).
pub fn cert_functions(der: &[u8], name: &CStr) {
    let mut pin = [0xa5u8; 32];
    // SAFETY: `der` is valid for its length; `pin` has the 32 bytes the function writes.
    let r = unsafe { ffi::ember_cert_spki_sha256(der.as_ptr(), der.len(), pin.as_mut_ptr()) };
    ffi::expect("ember_cert_spki_sha256", r, |r| {
        r == OK || r == ffi::ERR_BAD_CERTIFICATE
    });
    if r != OK {
        assert_eq!(
            pin, [0xa5; 32],
            "ember_cert_spki_sha256 failed and changed its output"
        );
    }
    // SAFETY: `der` is valid for its length; `name` is NUL-terminated.
    let r = unsafe { ffi::ember_cert_check_name(der.as_ptr(), der.len(), name.as_ptr()) };
    ffi::expect("ember_cert_check_name", r, |r| {
        matches!(
            r,
            OK | ffi::ERR_CERT_HOSTNAME_MISMATCH | ffi::ERR_BAD_CERTIFICATE | ffi::ERR_INVALID_ARG
        )
    });
}

/// A server name, as ember_conn_new and ember_cert_check_name both read it: the header
/// gives them the same rule (a DNS name or an IP address), so they must agree on it.
fn server_name(bytes: &[u8], use_it: bool) {
    let name = c_string(bytes);
    let cfg = configs::client(0, false);
    let made = Endpoint::make(cfg, Some(&name));
    let leaf = pki::SERVER_LEAF_DER;
    // SAFETY: `leaf` is valid for its length; `name` is NUL-terminated.
    let checked = unsafe { ffi::ember_cert_check_name(leaf.as_ptr(), leaf.len(), name.as_ptr()) };
    ffi::expect("ember_cert_check_name", checked, |r| {
        matches!(
            r,
            OK | ffi::ERR_CERT_HOSTNAME_MISMATCH | ffi::ERR_INVALID_ARG
        )
    });
    let conn = match made {
        Ok(conn) => conn,
        Err(r) => {
            ffi::expect("ember_conn_new", r, |r| r == ffi::ERR_INVALID_ARG);
            assert_eq!(
                checked,
                ffi::ERR_INVALID_ARG,
                "ember_conn_new refused the name {name:?} that ember_cert_check_name accepted"
            );
            return;
        }
    };
    assert_ne!(
        checked,
        ffi::ERR_INVALID_ARG,
        "ember_cert_check_name refused the name {name:?} that ember_conn_new accepted"
    );
    let client = Endpoint::from_handle(conn, Side::Client, Some(&name), false, 16384);
    client.facts();
    if use_it {
        exchange(
            client,
            Endpoint::new(configs::server(0, true), Side::Server, &name, true, 16384),
        );
    }
}

/// The setters that validate lists and values, then a connection (and, if asked, an
/// exchange) made from what they accepted. Which calls succeed is what the header says.
fn setters(input: &mut Input, server: bool, use_it: bool) {
    let cfg = Config::new(if server {
        ffi::ROLE_SERVER
    } else {
        ffi::ROLE_CLIENT
    });
    if server {
        cfg.must(
            "ember_config_add_cert_pem",
            cfg.add_cert(pki::SERVER_PEM, pki::SERVER_KEY),
        );
    }
    let set = |what: &str, r: ember_result, valid: bool| {
        ffi::expect(what, r, |r| {
            r == if valid { OK } else { ffi::ERR_INVALID_ARG }
        });
        r == OK
    };

    let (min, max) = (input.u16(), input.u16());
    let r = cfg.set_versions(min, max);
    let known = |v| v == ffi::TLS1_2 || v == ffi::TLS1_3;
    let versions = if set(
        "ember_config_set_versions",
        r,
        known(min) && known(max) && min <= max,
    ) {
        min..=max
    } else {
        ffi::TLS1_2..=ffi::TLS1_3
    };

    let protocols: Vec<&[u8]> = (0..input.byte() % 4)
        .map(|_| {
            let len = usize::from(input.u16() % 300);
            input.take(len)
        })
        .map(|p| &p[..p.iter().position(|&b| b == 0).unwrap_or(p.len())])
        .collect();
    let valid = protocols.iter().all(|p| (1..=255).contains(&p.len()));
    set("ember_config_set_alpn", cfg.set_alpn(&protocols), valid);

    let ids =
        |input: &mut Input| -> Vec<u16> { (0..input.byte() % 6).map(|_| input.u16()).collect() };
    let distinct = |list: &[u16]| list.iter().enumerate().all(|(i, x)| !list[..i].contains(x));
    let suites = ids(input);
    let r = cfg.set_cipher_suites(&suites);
    let suites_set = set(
        "ember_config_set_cipher_suites",
        r,
        suites.iter().all(|&s| cipher_suite_named(s)) && distinct(&suites),
    );
    let groups = ids(input);
    let r = cfg.set_groups(&groups);
    set(
        "ember_config_set_groups",
        r,
        groups.iter().all(|&g| group_named(g)) && distinct(&groups),
    );

    // Valid sizes stay small: the cache's table is allocated for its full size up front.
    let (kind, small) = (input.byte(), usize::from(input.byte()));
    let size = match kind % 3 {
        0 => small,
        1 => (1 << 20) + 1 + small,
        _ => usize::MAX - small,
    };
    let r = cfg.set_session_cache_size(size);
    set("ember_config_set_session_cache_size", r, size <= 1 << 20);

    let keys_len = usize::from(input.byte()) * 2;
    let keys = input.take(keys_len);
    let r = cfg.set_ticket_keys(keys);
    let keys_valid = !keys.is_empty() && keys.len().is_multiple_of(ffi::TICKET_KEY_LEN);
    ffi::expect("ember_config_set_ticket_keys", r, |r| {
        match (server, keys_valid) {
            (true, true) => r == OK,
            (true, false) => r == ffi::ERR_INVALID_ARG,
            (false, true) => r == ffi::ERR_WRONG_ROLE,
            (false, false) => r == ffi::ERR_WRONG_ROLE || r == ffi::ERR_INVALID_ARG,
        }
    });

    let mode = c_int::from(input.byte() % 4);
    let r = cfg.set_client_auth(mode);
    ffi::expect("ember_config_set_client_auth", r, |r| {
        match (server, mode < 3) {
            (true, true) => r == OK,
            (true, false) => r == ffi::ERR_INVALID_ARG,
            (false, true) => r == ffi::ERR_WRONG_ROLE,
            (false, false) => r == ffi::ERR_WRONG_ROLE || r == ffi::ERR_INVALID_ARG,
        }
    });
    // Client authentication without a trust store: the header says ember_conn_new refuses.
    let needs_trust = server && (mode == 1 || mode == 2);

    // "A list with no suite for the versions the config allows makes ember_conn_new() fail"
    let tls13 = |s: &u16| s >> 8 == 0x13;
    let usable = !suites_set
        || suites.is_empty()
        || suites
            .iter()
            .any(|s| versions.contains(&if tls13(s) { ffi::TLS1_3 } else { ffi::TLS1_2 }));
    let name = c"localhost";
    let made = Endpoint::make(&cfg, (!server).then_some(name));
    let expected = if usable && !needs_trust {
        OK
    } else {
        ffi::ERR_INVALID_ARG
    };
    let r = made.as_ref().err().copied().unwrap_or(OK);
    assert_eq!(
        r,
        expected,
        "ember_conn_new after the setters: {}",
        cfg.last_error()
    );
    let Ok(conn) = made else { return };
    let side = if server { Side::Server } else { Side::Client };
    let end = Endpoint::from_handle(conn, side, Some(name), false, 16384);
    if !use_it {
        return;
    }
    if server {
        exchange(
            Endpoint::new(configs::client(0, false), Side::Client, name, false, 16384),
            end,
        );
    } else {
        exchange(
            end,
            Endpoint::new(configs::server(0, false), Side::Server, name, false, 16384),
        );
    }
}

/// A directory of this process's own, holding the file the file variants read. It is
/// beside the fuzz target's executable (in fuzz/target/, which `cargo clean` empties):
/// libFuzzer ends a process with exit(), which runs no Rust cleanup.
fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the executable's path");
        let dir = exe
            .with_file_name("scratch")
            .join(std::process::id().to_string());
        std::fs::create_dir_all(&dir).expect("a scratch directory");
        dir
    })
}

/// The file variants read what their in-memory twins are given: they must answer alike.
fn files(bytes: &[u8], variant: u8) {
    let path = scratch().join("input");
    std::fs::write(&path, bytes).expect("the scratch file is writable");
    let c_path = CString::new(path.to_str().expect("temp paths are UTF-8")).expect("no NUL");
    let c_dir = CString::new(scratch().to_str().expect("UTF-8")).expect("no NUL");
    let twins = |what: &str, from_file: ember_result, in_memory: ember_result| {
        ffi::expect(what, from_file, |r| r == in_memory);
    };
    match variant % 5 {
        0 => {
            let (a, b) = (Trust::new(), Trust::new());
            let r = a.add_pem_file(&c_path);
            twins("ember_trust_add_pem_file", r, b.add_pem(bytes));
            judge_load(
                "ember_trust_add_pem_file",
                r,
                &a,
                a.count(),
                &TRUST_PEM_FAILURES,
            );
        }
        1 => {
            let (a, b) = (Trust::new(), Trust::new());
            let r = a.add_crl_file(&c_path);
            twins("ember_trust_add_crl_file", r, b.add_crl(bytes));
            judge_load(
                "ember_trust_add_crl_file",
                r,
                &a,
                a.crl_count(),
                &CRL_FAILURES,
            );
        }
        2 => {
            // One file for both: a PEM file holding the chain and the key is common.
            let (a, b) = (Config::new(ffi::ROLE_SERVER), Config::new(ffi::ROLE_SERVER));
            let r = a.add_cert_file(&c_path, &c_path);
            twins(
                "ember_config_add_cert_pem_file",
                r,
                b.add_cert(bytes, bytes),
            );
        }
        3 => {
            let (a, b) = (Config::new(ffi::ROLE_SERVER), Config::new(ffi::ROLE_SERVER));
            let r = a.set_ticket_key_file(&c_path);
            twins(
                "ember_config_set_ticket_key_file",
                r,
                b.set_ticket_keys(bytes),
            );
        }
        _ => {
            let (a, b) = (Trust::new(), Trust::new());
            let (r, added, _skipped) = a.add_pem_dir(&c_dir);
            ffi::expect("ember_trust_add_pem_dir", r, |r| {
                r == OK || r == ffi::ERR_BAD_PEM
            });
            // Lenient where ember_trust_add_pem is all or nothing.
            if b.add_pem(bytes) == OK {
                ffi::expect(
                    "ember_trust_add_pem_dir on a file ember_trust_add_pem takes",
                    r,
                    |r| r == OK,
                );
            }
            if r == OK {
                assert_eq!(
                    added,
                    a.count(),
                    "ember_trust_add_pem_dir's count of added roots"
                );
                assert!(
                    added > 0,
                    "ember_trust_add_pem_dir returned OK and added nothing"
                );
            } else {
                assert_eq!(
                    a.count(),
                    0,
                    "ember_trust_add_pem_dir failed and kept roots"
                );
            }
        }
    }
}
