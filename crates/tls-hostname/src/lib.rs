//! Server identity for TLS clients on VoIP phones: which names a certificate presents, and
//! whether they identify the host the client meant to reach.
//!
//! ```
//! use tls_hostname::{CertificateNames, Profile, ReferenceName};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let der = include_bytes!("../tests/data/provisioning-cn.der");
//! // A provisioning server certificate whose subject is CN=pv.telco.net/mailto:admin@telco.net
//! let names = CertificateNames::from_der(der)?;
//! let host = ReferenceName::parse("pv.telco.net")?;
//! assert!(Profile::Strict.check(&names, &host).is_err());      // RFC 9525: SAN only
//! assert!(Profile::Provisioning.check(&names, &host).is_ok()); // the "host/extra" CN form
//! # Ok(()) }
//! ```
//!
//! Three [`Profile`]s say which presented names count: [`Profile::Strict`] (RFC 9525, SAN
//! only, the default), [`Profile::Phone`] (adds OpenSSL's subject-CN fallback) and
//! [`Profile::Provisioning`] (adds the `CN=host/anything` form of provisioning servers).
//! Each variant's documentation is its decision table.
//!
//! Not supported, on purpose: partial wildcards (`f*.example.com`), wildcards over public
//! suffixes, SRV-ID and URI-ID (RFC 9525 §6.5–6.6), and matching e-mail addresses for server
//! identity. The crate performs no I/O: DNS look-ups for [`DnsCrossCheck`] are the caller's.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod certificate;
mod checks;
mod der;
mod dns_check;
mod matching;
mod profile;
mod reference;
mod verifier;

pub use certificate::{CertificateError, CertificateNames, CertificateVersion, SanExtension};
pub use checks::{ChainCheck, ChainCheckFailure, Position};
pub use dns_check::{CrossCheckOutcome, DnsCrossCheck, provisioning_host};
pub use matching::{InvalidPresentedName, presented_dns_matches};
pub use profile::{NameCheckError, NameMatch, NameMismatch, PresentedName, Profile};
pub use reference::{DnsReference, ReferenceError, ReferenceName};
pub use verifier::{ConfigError, NameCheck, ServerIdentityVerifier, VerifiedIdentity, VerifyError};

/// rustls-pki-types (certificate, CRL and name types), re-exported from rustls.
pub use rustls::pki_types;
