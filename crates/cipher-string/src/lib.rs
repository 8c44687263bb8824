//! OpenSSL 1.1.1d cipher strings, evaluated exactly, in pure Rust — with diagnostics for what
//! OpenSSL silently ignores and a projection onto what rustls can negotiate.
//!
//! ```
//! use cipher_string::CipherList;
//!
//! let list = CipherList::parse("ECDHE+AESGCM:-SHA1:@SECLEVEL=2")?;
//! let names: Vec<_> = list.suites().iter().map(|s| s.openssl_name()).collect();
//! assert_eq!(names, [
//!     "ECDHE-ECDSA-AES256-GCM-SHA384",
//!     "ECDHE-RSA-AES256-GCM-SHA384",
//!     "ECDHE-ECDSA-AES128-GCM-SHA256",
//!     "ECDHE-RSA-AES128-GCM-SHA256",
//! ]);
//! assert_eq!(list.security_level(), Some(2)); // kept, but not a filter
//!
//! // OpenSSL ignores unknown words; this crate says so.
//! let list = CipherList::parse("HIGH:3DES:RSA:DEFAULT")?;
//! for d in list.diagnostics() {
//!     println!("{d}"); // e.g. "bytes 14..21: `DEFAULT` is ignored: DEFAULT is only recognised at the start ..."
//! }
//! assert_eq!(list.diagnostics().len(), 2);
//!
//! // What OpenSSL refuses is a typed error with a byte offset.
//! let err = CipherList::parse("RSA:!").unwrap_err();
//! assert_eq!(err.offset(), Some(5));
//!
//! // With rustls (feature `rustls`, on by default): what survives, and why the rest does not.
//! # #[cfg(feature = "rustls")] {
//! let provider = rustls::crypto::ring::default_provider();
//! let projection = CipherList::parse("DEFAULT")?.rustls_suites(&provider);
//! assert_eq!(projection.suites().len(), 6);
//! assert!(CipherList::parse("RSA:!aNULL:!eNULL")?.rustls_suites(&provider).is_empty());
//! # }
//! # Ok::<(), cipher_string::Error>(())
//! ```
//!
//! # What "exact" means
//!
//! [`CipherList::parse`] gives the ordered list `SSL_CTX_set_cipher_list` produces in a
//! default OpenSSL 1.1.1d build (160 TLS <= 1.2 suites; no 3DES/RC4, no GOST), or the error
//! it raises. Its rules are those of `ssl/ssl_ciph.c`: separators `:` `,` `;` and space; the
//! operators bare (add), `!` (kill), `-` (delete: re-adding later puts the suites *before*
//! other new ones), `+` (move to the end); `A+B` as AND; `@STRENGTH`; `@SECLEVEL=n` (recorded,
//! not a filter); `DEFAULT` and `SUITEB...` only as prefixes of the whole string;
//! case-sensitive names; unknown words ignored together with the rest of their item. The
//! suite table is generated from the 1.1.1d source and the whole engine is checked against
//! the real `openssl ciphers` over a corpus of 8,000 strings (`tests/golden.rs`;
//! `cargo xtask oracle-ciphers` regenerates it).
//!
//! The TLS 1.3 suites are a separate list in 1.1.1 ([`Tls13Suites`], `SSL_CTX_set_ciphersuites`).
//!
//! # Not supported
//!
//! - Other OpenSSL builds: the suite set is that of a default 1.1.1d build. A build with
//!   `enable-weak-ssl-ciphers`, without Camellia, or with a GOST engine offers other suites
//!   for the same string (the table has their rows, but no oracle checks them yet).
//! - A NUL byte is an error here; OpenSSL, reading a C string, would stop at it.
//! - Security levels do not filter: `openssl ciphers` without `-s` does not either.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// pest_derive (the unit tests' reference scanner) without its `std` feature (which would pull
// in a stack-growing runtime the grammar does not need) writes `::alloc::` paths.
#[cfg(test)]
extern crate alloc;

mod data;
mod defaults;
mod diagnostic;
mod engine;
mod error;
mod parse;
#[cfg(feature = "rustls")]
mod projection;
mod suite;
#[allow(clippy::unreadable_literal)]
mod table;
mod tls13;

use std::fmt;
use std::str::FromStr;

pub use defaults::{
    Application, CURL_DEFAULT, CURL_DEFAULT_WIRE, Effective, Fallback, FallbackReason, WEB_SERVER_DEFAULT,
    XMPP_DEFAULT, effective_openssl,
};
#[cfg(feature = "rustls")]
pub use defaults::{EffectiveRustls, effective_rustls};
pub use diagnostic::{Diagnostic, DiagnosticKind, UnknownHint};
pub use error::{Error, Tls13Error};
#[cfg(feature = "rustls")]
pub use projection::{DropReason, Dropped, RustlsProjection};
pub use suite::Suite;
pub use tls13::{TLS13_DEFAULT, Tls13Suites};

/// The TLS <= 1.2 suites a cipher string selects, in OpenSSL 1.1.1d's order, with the
/// diagnostics collected on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CipherList {
    suites: Vec<Suite>,
    diagnostics: Vec<Diagnostic>,
    security_level: Option<u8>,
    suite_b: Option<&'static str>,
}

impl CipherList {
    /// Evaluates `cipher_string` as `SSL_CTX_set_cipher_list` in a default OpenSSL 1.1.1d
    /// build does. Errors are those OpenSSL raises (an invalid character or command, or no
    /// suite selected), with the byte offset where there is one.
    pub fn parse(cipher_string: &str) -> Result<Self, Error> {
        let e = engine::evaluate(cipher_string)?;
        Ok(Self {
            suites: e.suites.into_iter().map(Suite).collect(),
            diagnostics: e.diagnostics,
            security_level: e.security_level,
            suite_b: e.suite_b,
        })
    }

    pub(crate) fn empty() -> Self {
        Self {
            suites: Vec::new(),
            diagnostics: Vec::new(),
            security_level: None,
            suite_b: None,
        }
    }

    /// The suites, most preferred first (what `openssl ciphers -ciphersuites '' STRING` lists).
    pub fn suites(&self) -> &[Suite] {
        &self.suites
    }

    /// What was ignored or kept without effect, in string order.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// The last `@SECLEVEL=n`, if any. OpenSSL sets the context's security level from it,
    /// which matters at handshake time; it does not shorten this list.
    pub fn security_level(&self) -> Option<u8> {
        self.security_level
    }

    /// The Suite B prefix (`SUITEB128`, `SUITEB128ONLY`, `SUITEB128C2`, `SUITEB192`) the
    /// string started with, if any: OpenSSL then also restricts curves and signature
    /// algorithms to Suite B.
    pub fn suite_b(&self) -> Option<&'static str> {
        self.suite_b
    }

    /// The suites `provider` can negotiate, in this list's order, and what was dropped and
    /// why. TLS 1.3 suites are not part of a cipher string; see [`Tls13Suites::rustls_suites`].
    #[cfg(feature = "rustls")]
    pub fn rustls_suites(&self, provider: &rustls::crypto::CryptoProvider) -> RustlsProjection {
        RustlsProjection::new(&self.suites, provider)
    }
}

#[cfg(feature = "rustls")]
impl Tls13Suites {
    /// The TLS 1.3 suites `provider` can negotiate, in this list's order (rustls has no CCM
    /// suites).
    pub fn rustls_suites(&self, provider: &rustls::crypto::CryptoProvider) -> RustlsProjection {
        RustlsProjection::new(self.suites(), provider)
    }
}

impl FromStr for CipherList {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for CipherList {
    /// The OpenSSL names joined by `:` (what `openssl ciphers` prints without `-v`); itself a
    /// cipher string that selects the same list.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.suites.iter().enumerate() {
            if i > 0 {
                f.write_str(":")?;
            }
            f.write_str(s.openssl_name())?;
        }
        Ok(())
    }
}

/// The README's example, compiled and run as a doc test.
#[cfg(all(doctest, feature = "rustls"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
