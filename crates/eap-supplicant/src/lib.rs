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
//! # EAP-FAST: declined, not implemented
//! A request for EAP-FAST (type 43) is answered with a Legacy Nak offering EAP-TLS (13), and the
//! host gets [`Event::MethodDeclined`] with the method and the reason (the agent shows it as
//! `declined_methods`); if the server insists, it sends EAP-Failure. Nothing here pretends to do
//! EAP-FAST. It cannot be built on rustls 0.23, which lacks each of:
//! * the PAC-Opaque in the ClientHello's SessionTicket extension and a master secret taken from
//!   the PAC-Key, `T-PRF(PAC-Key, "PAC to master secret label hash", server_random ||
//!   client_random, 48)` (RFC 4851 §5.1), instead of a key exchange: rustls has no way to set a
//!   ticket's bytes or the master secret (nothing like OpenSSL's `SSL_set_session_ticket_ext` and
//!   `SSL_set_session_secret_cb`, which hostap uses);
//! * the TLS 1.2 key block beyond the traffic keys, where the `session_key_seed` lies (RFC 4851
//!   §5.1; hostap skips `2 × (MAC + key + IV)` bytes);
//! * the suites EAP-FAST servers negotiate: `TLS_DH_anon_WITH_AES_128_CBC_SHA` for anonymous
//!   provisioning (RFC 5422), `TLS_DHE_RSA_/TLS_RSA_WITH_AES_*_CBC_SHA` for authenticated
//!   provisioning and resumption (hostapd's EAP-FAST server accepts only CBC and RC4 suites);
//!   rustls has only AEAD suites with (EC)DHE.
//!
//! It needs a purpose-built TLS 1.2 client (as hostap's `src/tls/tlsv1_client*.c`) on RustCrypto
//! primitives (AES-CBC, HMAC-SHA1, RSA encryption, finite-field DH; MD4 and DES for the inner
//! MSCHAPv2), then on top: the TLV layer (Result, Intermediate-Result, Crypto-Binding with the
//! Compound MAC from the IMCK chain, PAC TLVs), the inner EAP-MSCHAPv2 and EAP-GTC, a PAC store
//! compatible with wpa_supplicant's text and binary formats, and MSK/EMSK from the S-IMCK. The
//! interop oracle would be hostapd 2.10 (Debian bookworm's FreeRADIUS 3.2.1 EAP-FAST is broken
//! with OpenSSL 3, upstream FreeRADIUS issue 5706).
//!
//! # Not supported
//! * TLS 1.0/1.1 and non-AEAD suites (rustls), encrypted private keys, OCSP/CRL checks.
//! * Certificate validity is checked against the system clock (rustls reads it); everything else
//!   takes time as an input.

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
pub use phone_secret::SecretBytes;
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
