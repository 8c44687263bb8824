//! A sans-IO IEEE 802.1X supplicant for wired devices: EAPOL frames, the supplicant PAE state
//! machine, the RFC 4137 EAP peer and EAP-TLS (RFC 5216 with TLS 1.2, RFC 9190 with TLS 1.3) on
//! rustls.
//!
//! The crate opens no socket and reads no clock: the host feeds it link changes, received EAPOL
//! PDUs and the current time, and drains [`Supplicant::poll_output`] for frames to send, events
//! to show and the next timer.
//!
//! ```
//! use std::time::Instant;
//! use eap_supplicant::{Config, EapTlsConfig, Event, Output, Supplicant};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let ca_pem = rcgen::generate_simple_self_signed(vec!["ca.example".into()])?.cert.pem();
//! let tls = EapTlsConfig::builder(ca_pem.as_bytes()).build()?;
//! let mut supplicant = Supplicant::new(Config::new("phone@example.org", tls));
//! let now = Instant::now();
//!
//! supplicant.link_up(now); // EAPOL-Start goes out at once
//! assert_eq!(supplicant.poll_output(), Some(Output::Transmit(vec![3, 1, 0, 0])));
//!
//! // The switch asks for the identity: EAPOL v2, EAP-Request/Identity, identifier 7.
//! supplicant.handle_frame(now, &[2, 0, 0, 5, 1, 7, 0, 5, 1])?;
//! assert_eq!(supplicant.poll_output(), Some(Output::Event(Event::Authenticating)));
//! assert_eq!(supplicant.poll_output(), Some(Output::Transmit(
//!     [&[3, 0, 0, 22, 2, 7, 0, 22, 1][..], b"phone@example.org"].concat())));
//! assert!(matches!(supplicant.poll_output(), Some(Output::Timeout(_)))); // authPeriod
//! # Ok(()) }
//! ```
//!
//! Without EAPOL (for example behind a RADIUS client, as `eapol_test` does), drive a [`Peer`]
//! with EAP packets directly.
//!
//! # Keys
//! On success, [`Event::Authenticated`] carries the MSK, EMSK and Session-Id:
//! * TLS 1.2 (RFC 5216 §2.3): `TLS-PRF-128(master_secret, "client EAP encryption",
//!   client.random || server.random)`, which is rustls' exporter with the context *absent*;
//!   Session-Id = `0x0D || client.random || server.random`.
//! * TLS 1.3 (RFC 9190 §2.3): the exporter with label `EXPORTER_EAP_TLS_Key_Material` and context
//!   `0x0D`; Session-Id = `0x0D || TLS-Exporter("EXPORTER_EAP_TLS_Method-Id", 0x0D, 64)`. EAP-Success
//!   is accepted only after the server's one-byte `0x00` commitment message (or a close_notify).
//!
//! Keys are [`Secret`]s: `<redacted>` when printed, zeroized when dropped.
//!
//! # Not supported
//! * EAP-FAST: rustls has no hook to set the master secret from a PAC and no CBC or anonymous-DH
//!   suites, which EAP-FAST servers require; it needs a purpose-built TLS 1.2 client.
//! * TLS 1.0/1.1 and non-AEAD suites (rustls), encrypted private keys, OCSP/CRL checks.
//! * Certificate validity is checked against the system clock (rustls reads it); everything else
//!   takes time as an input.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
pub mod eap;
pub mod eapol;
mod event;
mod peer;
mod secret;
mod supplicant;
pub mod tls;

pub use config::{
    Config, ConfigError, DEFAULT_FRAGMENT_SIZE, DEFAULT_MAX_MESSAGE_LEN, EapTlsConfig, EapTlsConfigBuilder,
    MIN_FRAGMENT_SIZE, PaeTimers, ServerNameMatch, TlsVersions, certificates_from_bytes,
    private_key_from_bytes,
};
pub use event::{Authenticated, Event, FailureReason, Protocol, TlsVersion};
pub use peer::{ConversationState, Discarded, Handled, Peer, PeerOutput};
pub use secret::Secret;
pub use supplicant::{FrameError, FrameHandled, Output, PaeState, Supplicant};

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
