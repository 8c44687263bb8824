//! SIP messages (RFC 3261) from bytes and back: parse, validate, build, Digest authentication
//! (RFC 2617 / RFC 8760, MD5 and SHA-256) and the RFC 3329 security-agreement headers with the
//! 3GPP media-plane (`mediasec`) extensions. No I/O, no clocks, no panics on any input.
//!
//! ```
//! use sip_message::{HeaderName, Message, digest::{Challenge, DigestRequest}};
//!
//! let bytes = b"SIP/2.0 401 Unauthorized\r\n\
//! Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds\r\n\
//! From: <sip:alice@example.com>;tag=1928301774\r\n\
//! To: <sip:alice@example.com>;tag=a6c85cf\r\n\
//! Call-ID: a84b4c76e66710\r\n\
//! CSeq: 1 REGISTER\r\n\
//! WWW-Authenticate: Digest realm=\"example.com\", nonce=\"5a3f\", qop=\"auth\", algorithm=SHA-256\r\n\
//! Security-Server: msrp-tls;mediasec\r\n\
//! Security-Server: sdes-srtp;mediasec, dtls-srtp;mediasec\r\n\
//! Content-Length: 0\r\n\r\n";
//!
//! let msg = Message::parse(bytes)?;
//! msg.validate()?;
//! assert_eq!(msg.status(), Some(401));
//! assert_eq!(msg.cseq()?.number, 1);
//!
//! // Repeated header lines and comma lists fold into one ordered list.
//! let server = msg.security_mechanisms(HeaderName::SecurityServer)?;
//! let names: Vec<_> = server.iter().map(|m| m.name()).collect();
//! assert_eq!(names, ["msrp-tls", "sdes-srtp", "dtls-srtp"]);
//!
//! // Answer the challenge.
//! let challenge = Challenge::parse(&msg.header("WWW-Authenticate").ok_or("no challenge")?.value())?;
//! let request = DigestRequest { username: "alice", password: "secret", method: "REGISTER", uri: "sip:example.com" };
//! let credentials = challenge.respond(&request, "0a4f113b", 1)?;
//! assert_eq!(credentials.response.len(), 64); // SHA-256 in hex
//!
//! // Bad input is a typed error with a byte offset, never a panic.
//! let err = Message::parse(b"INVITE  sip:bob@example.com SIP/2.0\r\n\r\n").unwrap_err();
//! assert_eq!(err.offset, 7);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What it does:
//! - [`Message::parse`] (one datagram) and [`Message::parse_stream`] (a TCP/TLS buffer) borrow
//!   from the input: header values are slices of it, folded lines included, so every error has
//!   the real byte offset. Inputs are bounded by [`Limits`] (header count, line length, body).
//! - Typed access to what a UA needs: Via, From, To, Call-ID, CSeq, Contact, Max-Forwards,
//!   Expires, Require/Proxy-Require/Supported, Content-Length, WWW-/Proxy-Authenticate,
//!   Authorization, Security-Client/-Server/-Verify. Compact forms (`v`, `i`, `m`, `l`...) and
//!   any case are recognised.
//! - [`Message::validate`] checks what a UA must reject (RFC 3261 §8.2, the RFC 4475 torture
//!   cases): mandatory headers once each, ranges, CSeq method, a Request-URI without headers...
//! - [`build::Request`] / [`build::Response`] write messages with a correct Content-Length;
//!   [`build::Headers::add_option_tag`] appends to an existing `Require` line.
//!
//! What it does not: SDP, multipart bodies, `auth-int`, RFC 3329 `d-ver` computation, and any
//! transaction or dialog state (that lives with the caller; see `sip-mediasec` for the
//! security-agreement state machine).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod build;
pub mod digest;
mod error;
mod grammar;
mod header;
mod message;
mod method;
pub mod security;
mod transport;
mod uri;

pub use error::{Error, ErrorKind};
pub use grammar::Param;
pub use header::{
    CSeq, HeaderName, MAGIC_COOKIE, MediaType, NameAddr, Via, parse_call_id, parse_cseq, parse_media_type,
    parse_name_addr, parse_name_addr_list, parse_tokens, parse_via,
};
pub use message::{Framing, Header, Limits, Message, StartLine, Version};
pub use method::Method;
pub use security::SecurityMechanism;
pub use transport::Transport;
pub use uri::{SipUri, Uri};
