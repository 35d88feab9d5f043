//! The fixed test PKI the harnesses build their configs from (fuzz/pki/, made by
//! fuzz/pki/generate; see there what each file is).

macro_rules! pki {
    ($($name:ident = $file:literal;)*) => {
        $(pub const $name: &[u8] = include_bytes!(concat!("../pki/", $file));)*
    };
}

pki! {
    CA_PEM = "ca.pem";
    CA_DER = "ca.der";
    INTERMEDIATE_PEM = "intermediate.pem";
    SERVER_PEM = "server.pem";
    SERVER_LEAF_DER = "server-leaf.der";
    SERVER_KEY = "server.key";
    SERVER_SEC1_KEY = "server-sec1.key";
    OTHER_PEM = "other.pem";
    OTHER_KEY = "other.key";
    CLIENT_PEM = "client.pem";
    CLIENT_KEY = "client.key";
    CRL_INTERMEDIATE_PEM = "crl-intermediate.pem";
    CRL_INTERMEDIATE_DER = "crl-intermediate.der";
    CRL_ROOT_PEM = "crl-root.pem";
}

/// The session-ticket keys of the server configs: fixed, so that a ticket in a seed or a
/// crash input opens in every run.
pub const TICKET_KEYS: [u8; 80] = {
    let mut keys = [0u8; 80];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = i as u8;
        i += 1;
    }
    keys
};
