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
//! // Certificate validity is checked at the time the host's clock gives (here the system's).
//! let clock = std::sync::Arc::new(eap_supplicant::DefaultTimeProvider);
//! let tls = EapTlsConfig::builder(ca_pem.as_bytes(), clock).build()?;
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
//! with EAP packets directly: [`Peer::start`]`(now)` answers the implied EAP-Request/Identity,
//! then [`Peer::handle_packet`]`(now, bytes)` takes each request and [`Peer::poll_output`]
//! hands out responses and events.
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
//! Keys are [`SecretBytes`] (the workspace's one secret type, `phone-secret`): `<redacted>` when printed, zeroized when dropped.
//!
//! # EAP-FAST (feature `fast`, on by default)
//! [`Config::fast`] (or [`Config::with_fast`] next to EAP-TLS) answers EAP-FAST (type 43) with
//! [`fast`]: RFC 4851 phase 1 on the crate's own TLS 1.2 client ([`fast::tls12`]; rustls cannot
//! put a PAC-Opaque into the SessionTicket extension, take the master secret from the PAC-Key or
//! negotiate the CBC / anonymous-DH suites EAP-FAST servers use), phase 2 TLVs with the inner
//! EAP-MSCHAPv2 or EAP-GTC, the Crypto-Binding Compound MAC (a mismatch fails the
//! conversation), `MSK = T-PRF(S-IMCK[j], "Session Key Generating Function", 64)` and
//! Session-Id `0x2B || client.random || server.random`. PACs (RFC 5422) are provisioned
//! anonymously (anonymous DH, MSCHAPv2 challenges from the key block; the server then sends
//! EAP-Failure and the next authentication uses the PAC) or with the server's certificate checked
//! against a CA; [`Event::PacProvisioned`] hands the PAC to the host, which keeps it in
//! wpa_supplicant's text or binary PAC file format ([`fast::write_text`], [`fast::write_binary`],
//! [`fast::read_pac_file`]). Tested against hostapd 2.10's EAP-FAST server, with
//! `eapol_test` using this crate's PAC files and the other way round. Without a FAST
//! configuration (or without the feature) a FAST request gets a Nak and
//! [`Event::MethodDeclined`].
//!
//! # Not supported
//! * TLS 1.0/1.1 and non-AEAD suites (rustls), encrypted private keys, OCSP/CRL checks.
//! * Nothing reads a clock: monotonic time comes in as `now`, wall-clock time (certificate
//!   validity, EAP-FAST PAC lifetimes) from the [`TimeProvider`] the host hands to
//!   [`EapTlsConfig::builder`] and [`fast::FastConfig::new`].

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod config;
pub mod eap;
pub mod eapol;
mod event;
#[cfg(feature = "fast")]
pub mod fast;
mod fragment;
mod peer;
mod supplicant;
pub mod tls;
mod verifier;

pub use config::{
    Config, ConfigError, DEFAULT_FRAGMENT_SIZE, DEFAULT_MAX_MESSAGE_LEN, EapTlsConfig, EapTlsConfigBuilder,
    MIN_FRAGMENT_SIZE, PaeTimers, TlsVersions, certificates_from_bytes, private_key_from_bytes,
};
pub use event::{Authenticated, Event, FailureReason, Protocol, TlsVersion};
pub use peer::{ConversationState, Discarded, Handled, Peer, PeerOutput};
pub use phone_secret::{SecretBytes, SecretString};
/// The clock for certificate validity ([`EapTlsConfig::builder`]): implement
/// [`TimeProvider`] over the host's time, or pass [`DefaultTimeProvider`] (the system clock).
pub use rustls::pki_types::UnixTime;
pub use rustls::time_provider::{DefaultTimeProvider, TimeProvider};
pub use supplicant::{FrameError, FrameHandled, Output, PaeState, Supplicant};
pub use verifier::ServerNameMatch;

/// The README's example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
