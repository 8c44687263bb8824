//! A sans-IO RADIUS client for EAP over RADIUS (RFC 2865, RFC 3579, RFC 2548), the way
//! `eapol_test` or a switch talks to an authentication server: it builds Access-Requests
//! carrying the peer's EAP packets, accepts only replies whose Response Authenticator and
//! Message-Authenticator check (compared in constant time), decrypts the MS-MPPE keys into the
//! MSK, and retransmits on timeout. It never opens a socket or reads a clock: the host feeds
//! datagrams and the time, and sends what [`Client::poll_output`] hands out.
//!
//! ```
//! use std::time::Instant;
//! use radius_client::{
//!     Client, Code, Config, Event, Output, Packet, PacketBuilder, ReplyCode, SharedSecret, attr,
//! };
//!
//! let secret = || SharedSecret::from(b"testing123".to_vec());
//! // Use the system CSPRNG here; a failing source makes `send_eap` refuse.
//! let mut rng = |buf: &mut [u8]| -> Result<(), radius_client::RandomError> {
//!     buf.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8);
//!     Ok(())
//! };
//! let mut client = Client::new(Config::default(), secret(), &mut rng)?;
//! let now = Instant::now();
//! let identity = [2, 0, 0, 10, 1, b'p', b'h', b'o', b'n', b'e']; // EAP-Response/Identity
//! client.send_eap(now, "phone", &identity, &mut rng)?;
//! let Some(Output::Transmit(request)) = client.poll_output() else { panic!() };
//! assert!(matches!(client.poll_output(), Some(Output::Timeout(_))));
//!
//! // The server (here built with the same codec) answers with an Access-Challenge.
//! let req = Packet::parse(&request)?;
//! assert_eq!(req.eap_message(), identity);
//! let mut challenge = PacketBuilder::new(Code::AccessChallenge, req.identifier(), [0; 16]);
//! challenge.attribute(attr::STATE, b"round-1")?.eap_message(&[1, 1, 0, 6, 13, 0x20])?;
//! let reply = challenge.finish_reply(&secret(), &req.authenticator())?;
//!
//! client.handle_datagram(now, &reply);
//! let Some(Output::Event(Event::Reply(r))) = client.poll_output() else { panic!() };
//! assert_eq!((r.code, r.eap.as_slice()), (ReplyCode::Challenge, &[1, 1, 0, 6, 13, 0x20][..]));
//!
//! // A forged copy (wrong secret) is dropped, never taken for the server's answer.
//! client.send_eap(now, "phone", &[2, 1, 0, 6, 13, 0], &mut rng)?;
//! let Some(Output::Transmit(next)) = client.poll_output() else { panic!() };
//! assert_eq!(Packet::parse(&next)?.attribute(attr::STATE), Some(&b"round-1"[..]));
//! let id = Packet::parse(&next)?.identifier();
//! let forged = PacketBuilder::new(Code::AccessAccept, id, [0; 16])
//!     .finish_reply(&SharedSecret::from(b"guess".to_vec()), &Packet::parse(&next)?.authenticator())?;
//! client.handle_datagram(now, &forged);
//! assert!(matches!(client.poll_output(), Some(Output::Event(Event::Dropped(_)))));
//! assert!(client.is_waiting());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Scope: the Access exchange an EAP client needs (no Accounting, no CoA, no PAP/CHAP
//! User-Password hiding, no RadSec). One request outstanding at a time.
#![forbid(unsafe_code)]

mod client;
mod error;
pub mod mppe;
mod packet;

pub use client::{Client, Config, Event, Msk, Output, Random, Reply, ReplyCode};
pub use error::{DecodeError, DropReason, EncodeError, RandomError, SendError, VerifyError};
pub use packet::{
    Attribute, Attributes, Code, MAX_ATTRIBUTE_VALUE, MAX_PACKET, MIN_PACKET, Packet, PacketBuilder, attr,
    verify_message_authenticator, verify_response_authenticator,
};
pub use phone_secret::SecretBytes;
/// The RADIUS shared secret: the workspace's one secret type (`phone-secret`), zeroized on
/// drop, `<redacted>` in `Debug`, compared in constant time.
pub type SharedSecret = SecretBytes;
