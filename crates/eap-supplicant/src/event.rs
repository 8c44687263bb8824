//! What the supplicant reports to its host.

use std::fmt;

use thiserror::Error;

use crate::eap::MethodType;
use crate::fragment::FragmentError;
use phone_secret::SecretBytes;

/// The authentication protocol, as the phone's status page names it (SPEC §12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// EAP-TLS (RFC 5216, RFC 9190).
    EapTls,
    /// EAP-FAST (RFC 4851), with feature `fast` and a [`FastConfig`](crate::fast::FastConfig);
    /// otherwise a request for it is answered with a Nak and reported as
    /// [`Event::MethodDeclined`].
    EapFast,
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Protocol::EapTls => "EAP-TLS",
            Protocol::EapFast => "EAP-FAST",
        })
    }
}

/// The TLS version an EAP-TLS conversation negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsVersion {
    /// TLS 1.2: keys per RFC 5216.
    Tls12,
    /// TLS 1.3: keys per RFC 9190.
    Tls13,
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TlsVersion::Tls12 => "TLSv1.2",
            TlsVersion::Tls13 => "TLSv1.3",
        })
    }
}

/// A successful authentication and the keys it exported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// The EAP method.
    pub protocol: Protocol,
    /// The TLS version negotiated.
    pub tls_version: TlsVersion,
    /// The TLS cipher suite negotiated, in IANA spelling.
    pub cipher_suite: String,
    /// The Master Session Key (64 bytes).
    pub msk: SecretBytes,
    /// The Extended Master Session Key (64 bytes).
    pub emsk: SecretBytes,
    /// The EAP Session-Id (RFC 5247): 0x0D followed by 64 bytes.
    pub session_id: Vec<u8>,
}

/// Why an authentication failed. Every variant fails closed: the port stays unauthorized.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum FailureReason {
    /// The authenticator sent EAP-Failure.
    #[error("the server sent EAP-Failure")]
    EapFailure,
    /// EAP-Success arrived before the method had authenticated the server and derived keys
    /// (a canned or early Success, RFC 4137 decision FAIL).
    #[error("EAP-Success before the method finished: refused")]
    UnexpectedSuccess,
    /// TLS 1.3: EAP-Success without the server's protected success indication (RFC 9190 §2.5).
    #[error("EAP-Success without the TLS 1.3 commitment message (RFC 9190 §2.5): refused")]
    MissingCommitment,
    /// The TLS handshake failed; certificate errors land here.
    #[error("TLS: {0}")]
    Tls(rustls::Error),
    /// An EAP-TLS fragment broke the framing rules.
    #[error("EAP-TLS framing: {0}")]
    Fragmentation(FragmentError),
    /// The server sent TLS application data other than the one-byte commitment.
    #[error("unexpected TLS application data of {0} bytes")]
    UnexpectedApplicationData(usize),
    /// EAP-FAST failed (phase 1 TLS, phase 2 TLVs, Crypto-Binding, the inner method, a PAC).
    #[cfg(feature = "fast")]
    #[error("EAP-FAST: {0}")]
    Fast(crate::fast::FastError),
    /// No request arrived within authPeriod (or the host's transport timed out).
    #[error("no answer from the authenticator")]
    Timeout,
}

/// A state change the host shows or acts on.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// An authentication started (the status page shows `Authenticating`).
    Authenticating,
    /// The port is authorized; the keys are in the payload.
    Authenticated(Box<Authenticated>),
    /// The authentication failed; the supplicant waits heldPeriod before trying again.
    Failed {
        /// Why.
        reason: FailureReason,
    },
    /// 802.1X was turned off (EAPOL-Logoff sent); the status page shows `Disabled`.
    Disabled,
    /// The server proposed an EAP method this supplicant does not implement; a Nak offering
    /// EAP-TLS went back. The conversation goes on: the server may switch to EAP-TLS, or fail.
    MethodDeclined {
        /// The method the server asked for.
        requested: MethodType,
        /// Why it was declined, for the status page and the logs.
        reason: &'static str,
    },
    /// EAP-FAST provisioned a PAC: store it (with [`store_pac`](crate::fast::store_pac)) and
    /// write the PAC file; after anonymous provisioning the server ends with EAP-Failure and the
    /// next authentication uses this PAC (RFC 5422 §3.2.2).
    #[cfg(feature = "fast")]
    PacProvisioned(Box<crate::fast::Pac>),
    /// maxStart EAPOL-Starts went unanswered: no authenticator on this port (IEEE 802.1X-2004
    /// §8.2.11: the port is treated as authorized).
    NoAuthenticator,
}
