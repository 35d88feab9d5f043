//! What a client's ClientHello offered, as seen by the server while it handles it.
//!
//! rustls shows the ClientHello only to the server's certificate resolver, which leaves the
//! offer in the connection's [`super::notes`].

use rustls::server::ClientHello;
use rustls::CipherSuite;

use super::names;

/// The parts of a ClientHello that explain a failed negotiation.
#[derive(Clone, Debug, Default)]
pub(crate) struct Offer {
    pub(crate) cipher_suites: Vec<CipherSuite>,
    /// The application protocols offered with ALPN, if the client used it.
    pub(crate) alpn: Option<Vec<Vec<u8>>>,
}

/// Called by the certificate resolver with the ClientHello being handled on this thread.
pub(crate) fn record(hello: &ClientHello<'_>) {
    let offer = Offer {
        cipher_suites: hello.cipher_suites().to_vec(),
        alpn: hello
            .alpn()
            .map(|protocols| protocols.map(<[u8]>::to_vec).collect()),
    };
    super::notes::write(|notes| notes.offer = Some(offer));
}

impl Offer {
    /// The offered application protocols, for a detail: `"h2", "http/1.1"`.
    pub(crate) fn describe_alpn(&self) -> Option<String> {
        let offered = self.alpn.as_ref()?;
        Some(
            offered
                .iter()
                .map(|p| format!("\"{}\"", String::from_utf8_lossy(p)))
                .collect::<Vec<_>>()
                .join(", "),
        )
    }

    /// Whether the client offered any suite this engine can negotiate.
    pub(crate) fn offers_a_supported_suite(&self) -> bool {
        super::provider()
            .cipher_suites
            .iter()
            .any(|ours| self.cipher_suites.contains(&ours.suite()))
    }

    /// Whether every suite the client offered is an RSA key-transport suite.
    pub(crate) fn offers_only_rsa_key_transport(&self) -> bool {
        let mut real = self.real_suites().peekable();
        real.peek().is_some() && real.all(|s| names::rsa_key_transport_suite_name(s).is_some())
    }

    /// The offered suites by IANA name (or number), at most a few.
    pub(crate) fn describe_suites(&self) -> String {
        const SHOWN: usize = 6;
        let named: Vec<String> = self.real_suites().map(suite_label).collect();
        match named.len() {
            0 => "no cipher suite at all".to_owned(),
            n if n <= SHOWN => named.join(", "),
            n => format!("{} and {} more", named[..SHOWN].join(", "), n - SHOWN),
        }
    }

    /// The offered suite ids, without the signalling values TLS_EMPTY_RENEGOTIATION_INFO_SCSV
    /// and TLS_FALLBACK_SCSV, which are not suites.
    fn real_suites(&self) -> impl Iterator<Item = u16> + '_ {
        self.cipher_suites
            .iter()
            .map(|s| u16::from(*s))
            .filter(|s| !matches!(s, 0x00ff | 0x5600))
    }
}

fn suite_label(suite: u16) -> String {
    names::cipher_suite_name(suite)
        .or_else(|| names::rsa_key_transport_suite_name(suite))
        .and_then(|name| name.to_str().ok())
        .map_or_else(|| format!("0x{suite:04x}"), str::to_owned)
}
