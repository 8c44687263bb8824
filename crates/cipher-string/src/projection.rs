//! Projection onto what a rustls [`CryptoProvider`] can negotiate.

use std::fmt;

use rustls::SupportedCipherSuite;
use rustls::crypto::CryptoProvider;

use crate::data::{A_ECDSA, A_RSA, E_AESGCM, E_CHACHA20, K_ECDHE};
use crate::suite::Suite;

/// The rustls suites a cipher list allows, in the list's order, and what was dropped.
#[derive(Debug, Clone)]
pub struct RustlsProjection {
    suites: Vec<SupportedCipherSuite>,
    dropped: Vec<Dropped>,
}

impl RustlsProjection {
    pub(crate) fn new(list: &[Suite], provider: &CryptoProvider) -> Self {
        let mut suites = Vec::new();
        let mut dropped = Vec::new();
        for &suite in list {
            match provider
                .cipher_suites
                .iter()
                .find(|cs| u16::from(cs.suite()) == suite.id())
            {
                Some(cs) => {
                    if !suites
                        .iter()
                        .any(|s: &SupportedCipherSuite| s.suite() == cs.suite())
                    {
                        suites.push(*cs);
                    }
                }
                None => dropped.push(Dropped {
                    suite,
                    reason: DropReason::of(suite),
                }),
            }
        }
        Self { suites, dropped }
    }

    /// The suites to put in `CryptoProvider::cipher_suites`, in the cipher string's order.
    pub fn suites(&self) -> &[SupportedCipherSuite] {
        &self.suites
    }

    /// The suites of the OpenSSL list that the provider cannot negotiate, with the reason.
    pub fn dropped(&self) -> &[Dropped] {
        &self.dropped
    }

    /// No suite survived.
    pub fn is_empty(&self) -> bool {
        self.suites.is_empty()
    }

    /// The IANA names of the kept suites, in order.
    pub fn iana_names(&self) -> Vec<&'static str> {
        self.suites.iter().filter_map(|s| s.suite().as_str()).collect()
    }

    /// A copy of `provider` whose `cipher_suites` are exactly this projection's (TLS 1.3
    /// suites of the provider are kept first unless `tls13` says otherwise).
    pub fn apply_to(
        &self,
        provider: &CryptoProvider,
        tls13: Option<&[SupportedCipherSuite]>,
    ) -> CryptoProvider {
        let mut p = provider.clone();
        let tls13: Vec<SupportedCipherSuite> = match tls13 {
            Some(t) => t.to_vec(),
            None => provider
                .cipher_suites
                .iter()
                .copied()
                .filter(|s| s.tls13().is_some())
                .collect(),
        };
        p.cipher_suites = tls13.into_iter().chain(self.suites.iter().copied()).collect();
        p
    }
}

/// A suite of the OpenSSL list that rustls does not offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// The suite.
    pub suite: Suite,
    /// Why rustls cannot negotiate it.
    pub reason: DropReason,
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.suite.openssl_name(), self.reason)
    }
}

/// Why rustls cannot negotiate a suite. rustls offers, for TLS 1.2, only ECDHE key exchange
/// with ECDSA or RSA signatures and AES-GCM or ChaCha20-Poly1305.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DropReason {
    /// Static RSA, DHE, PSK, SRP... key exchange (rustls does only ECDHE; static RSA has no
    /// forward secrecy, and finite-field DHE is not implemented).
    KeyExchange(&'static str),
    /// Anonymous, DSS or PSK-only authentication.
    Authentication(&'static str),
    /// A cipher rustls does not implement: CBC modes, CCM, Camellia, ARIA, SEED, IDEA, NULL.
    Cipher(&'static str),
    /// A suite rustls knows, but the given provider does not offer (a custom provider, or
    /// rustls built without the `tls12` feature).
    NotInProvider,
}

impl DropReason {
    fn of(suite: Suite) -> Self {
        let d = suite.0;
        if d.mkey != K_ECDHE && d.min_tls != 0x0304 {
            DropReason::KeyExchange(d.kx)
        } else if d.auth & (A_RSA | A_ECDSA) == 0 && d.min_tls != 0x0304 {
            DropReason::Authentication(d.au)
        } else if d.enc & (E_AESGCM | E_CHACHA20) == 0 {
            DropReason::Cipher(d.enc_text)
        } else {
            DropReason::NotInProvider
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::KeyExchange(kx) => {
                write!(f, "key exchange {kx} is not offered by rustls (ECDHE only)")
            }
            DropReason::Authentication(au) => {
                write!(f, "authentication {au} is not offered by rustls (ECDSA, RSA)")
            }
            DropReason::Cipher(enc) => {
                write!(
                    f,
                    "cipher {enc} is not offered by rustls (AES-GCM, ChaCha20-Poly1305)"
                )
            }
            DropReason::NotInProvider => write!(f, "not in the given rustls CryptoProvider"),
        }
    }
}
