//! A sans-IO SIP user agent for one phone line: REGISTER with digest authentication, refresh
//! before expiry, failover along the RFC 3263 targets, un-REGISTER; the media-plane security
//! agreement of [`sip_mediasec`]; incoming INVITEs answered (challenged when `Auth_INVITE` is
//! on). It never opens a socket, reads a clock or asks DNS by itself: the host feeds it bytes
//! and time and does what [`Line::poll_output`] says, in the workspace's one shape
//! (`handle_*(now, …)`, `handle_timeout(now)`, `poll_output()`).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sip_ua::{Config, Event, Line, Output, SeededRng, Target, Transport};
//!
//! let mut config = Config::new("alice", "secret", "example.com");
//! config.expires = 60;
//! let registrar = Target { transport: Transport::Udp, addr: "192.0.2.1:5060".parse()? };
//! // Randomness is injected: a seeded source here; `SystemRng` on a phone.
//! let mut line = Line::new(config, vec![registrar], Box::new(SeededRng::new(7)))?;
//!
//! let now = Instant::now();
//! line.start(now);
//! assert_eq!(line.poll_output(), Some(Output::Connect(registrar)));
//! line.handle_connected(now, "192.0.2.10:5060".parse()?)?;          // UDP: nothing to do
//! let Some(Output::Transmit(register)) = line.poll_output() else { panic!("no REGISTER") };
//! let text = String::from_utf8(register.bytes)?;
//! assert!(text.contains("Contact: <sip:alice@192.0.2.10:5060;transport=udp>"));
//! // Timer E: the host sleeps until the timeout it was given.
//! assert_eq!(line.poll_output(), Some(Output::Timeout(Some(now + Duration::from_millis(500)))));
//!
//! // The registrar answers; two devices of alice are bound, ours for 60 s.
//! let branch = text.split("branch=").nth(1).and_then(|b| b.split(';').next()).ok_or("branch")?;
//! let ok = format!(
//!     "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch={branch}\r\n\
//!      From: <sip:alice@example.com>;tag=1\r\nTo: <sip:alice@example.com>;tag=2\r\n\
//!      Call-ID: x\r\nCSeq: 1 REGISTER\r\n\
//!      Contact: <sip:alice@192.0.2.99:5060>;expires=3546\r\n\
//!      Contact: <sip:alice@192.0.2.10:5060;transport=UDP>;expires=60\r\n\
//!      Content-Length: 0\r\n\r\n");
//! line.handle_message(now, "192.0.2.1:5060".parse()?, ok.as_bytes())?;
//! let events: Vec<_> = std::iter::from_fn(|| line.poll_output()).collect();
//! assert!(events.iter().any(|o| matches!(o, Output::Event(Event::Registered { expires: 60, .. }))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What it does, and where the rules come from:
//! - Registration (RFC 3261 §10): digest (401/407, a second challenge for the same nonce is a
//!   refusal), the lifetime of **our own** binding (the Contact equal to ours as a URI,
//!   §19.1.4; else `Expires`; else what we asked), a refresh halfway (at most 30 s before
//!   expiry), [`Line::unregister`] with `expires=0` on our Contact only.
//! - The REGISTER client transaction (§17.1.2): Timer E retransmissions over UDP, Timer F.
//! - Failover (RFC 3263 §4.3): a transport error ([`Line::handle_transport_error`]), Timer F
//!   or a 503 moves on to the next [`Target`] of [`locate`]'s list, with a fresh flow and a
//!   fresh security agreement; [`Event::Failover`] says so.
//! - mediasec ([`sip_mediasec`]): client-initiated (`MediaSec_Request` Yes) or server-initiated
//!   (No: a 421 with `Require: mediasec` or a 494 carrying `Security-Server` is answered with
//!   `Security-Verify`, RFC 3329 §2.3.2), `MediaSec_Over_TLS_Only` respected.
//! - Incoming INVITE: 200 with a minimal SDP answer, or with `Auth_INVITE` a 401 challenge,
//!   then 200 for good credentials and 403 otherwise; responses retransmitted over UDP until
//!   the ACK.
//! - Randomness from an [`Rng`]: a failing source makes the line refuse ([`Error::Rng`]) and
//!   send nothing, never zeros.
//!
//! Not here: dialogs and media (the INVITE is answered, not run), outbound proxies'
//! `Route` sets, RFC 5626 flows, IPv6 scope ids.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod line;
mod resolve;
mod rng;

pub use line::{Config, Error, Event, Failure, InviteOutcome, Line, Output, T1, T2, Transmit};
/// The line's signalling transport (the one of [`sip_mediasec`]).
pub use phone_secret::SecretString;
pub use resolve::{Located, Naptr, ResolveError, Resolver, Srv, Target, choose_naptr, locate, order_srv};
pub use rng::{Rng, RngError, SeededRng, SystemRng};
pub use sip_message::Transport;
