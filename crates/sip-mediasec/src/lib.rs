//! Media-plane security agreement for a SIP UA: RFC 3329 security agreement carrying the
//! media mechanisms of draft-dawes-sipcore-mediasec-parameter (`sdes-srtp;mediasec`, ...), as
//! Deutsche Telekom and 3GPP (TS 24.229 §7.2A.7) run it. Sans-IO, in the workspace's driving
//! shape: the UA hands every request it is about to send to
//! [`Agreement::prepare_request`]`(now, request)` and every response it receives to
//! [`Agreement::handle_response`]`(now, response)`; the agreement adds the headers, says what to
//! do, and reports what it decided through [`Agreement::poll_output`]. It has no timers and
//! sends nothing of its own (the UA's transactions carry it).
//!
//! ```
//! use sip_message::{Message, Method, build::Request};
//! use sip_mediasec::{Agreement, Event, MediaSecurity, Output, Policy, Transport, Verdict};
//! use std::time::Instant;
//!
//! // MediaSec_Request = Yes, MediaSec_Over_TLS_Only = No, on a TLS line.
//! let mut agreement = Agreement::new(Policy::client_initiated(), Transport::Tls);
//!
//! let mut register = Request::new(Method::Register, "sip:tel.t-online.de");
//! agreement.prepare_request(Instant::now(), &mut register);
//! assert_eq!(register.headers.get_all("Security-Client").collect::<Vec<_>>(), ["sdes-srtp;mediasec"]);
//! assert_eq!(register.headers.get_all("Require").collect::<Vec<_>>(), ["mediasec"]);
//!
//! // The 401 carries the server's list on three lines.
//! let challenge = Message::parse(b"SIP/2.0 401 Unauthorized\r\n\
//! Via: SIP/2.0/TLS 192.0.2.10;branch=z9hG4bK1\r\nFrom: <sip:a@t-online.de>;tag=1\r\n\
//! To: <sip:a@t-online.de>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 REGISTER\r\n\
//! Security-Server: msrp-tls;mediasec\r\nSecurity-Server: sdes-srtp;mediasec\r\n\
//! Security-Server: dtls-srtp;mediasec\r\nContent-Length: 0\r\n\r\n")?;
//! assert_eq!(agreement.handle_response(Instant::now(), &challenge)?, Verdict::Continue);
//! assert!(matches!(
//!     agreement.poll_output(),
//!     Some(Output::Event(Event::ServerList { replaced: false, .. }))
//! ));
//! assert_eq!(agreement.poll_output(), None);
//!
//! // The authenticated retry mirrors that list exactly and still offers Security-Client.
//! let mut retry = Request::new(Method::Register, "sip:tel.t-online.de");
//! agreement.prepare_request(Instant::now(), &mut retry);
//! let verify: Vec<_> = retry.headers.get_all("Security-Verify").collect();
//! assert_eq!(verify, ["msrp-tls;mediasec", "sdes-srtp;mediasec", "dtls-srtp;mediasec"]);
//! assert!(retry.headers.contains("Security-Client"));
//!
//! // What the SDP offer should use.
//! assert_eq!(agreement.media(), Some(MediaSecurity::SdesSrtp));
//! assert_eq!(MediaSecurity::SdesSrtp.sdp_attributes(), ["a=3ge2ae:requested"]);
//! # Ok::<(), sip_message::Error>(())
//! ```
//!
//! The rules, and where they come from:
//! - Client-initiated (`MediaSec_Request` Yes): REGISTER carries `Security-Client` (one line per
//!   mechanism the phone supports, no `q`) and `Require` / `Proxy-Require: mediasec`.
//!   Server-initiated (No): nothing is offered, but a `Security-Server` list the server sends is
//!   honoured (Cisco MPP admin guide; TS 24.229 §5.1.1.2.1 stores it from a 200 OK too).
//! - A `Security-Server` list from a 401, 407, 421, 494 or 2xx **replaces** the stored one; it
//!   is never appended to (Asterisk issue #1731: duplicated Security-Verify, 403 from Telekom).
//! - Once a list is stored, every request except ACK, CANCEL and PRACK (RFC 3329 table 1)
//!   carries `Security-Verify` mirroring it: same mechanisms, same order, every parameter with
//!   its value as received, `q` included (Asterisk drops `q` and unknown mechanisms).
//! - `Security-Client` again on the REGISTER after a 401/407, not after a 494
//!   (draft-dawes-dispatch-mediasec-parameter-07 §6.1, Asterisk #48).
//! - `mediasec` is added to an existing `Require` / `Proxy-Require` line, never as a second
//!   line, on every request that carries a Security-* header (Asterisk #789).
//! - A 494 asks for a retry with the new list, at most [`Policy::max_494_retries`] times.
//! - A 421 whose `Require` lists `mediasec` is the server starting the negotiation (RFC 3329
//!   §2.3.2: a server that requires the agreement answers a request without the option tag
//!   with 421 and its `Security-Server` list). It is answered like a 494, in both modes: the
//!   retry mirrors the list in `Security-Verify` with `Require`/`Proxy-Require: mediasec` and
//!   no `Security-Client` (the server has chosen already); this is what "the phone handles
//!   the server's negotiation requests" means for `MediaSec_Request` = No.
//! - With `MediaSec_Over_TLS_Only` on a line that is not TLS, a 421 or 494 demanding mediasec
//!   is refused ([`Verdict::GiveUp`] and [`Event::Failed`] naming the setting): the setting
//!   forbids media-plane negotiation there, whoever starts it.
//! - `MediaSec_Over_TLS_Only`: on a non-TLS line the agreement does nothing at all and says so
//!   once with [`Event::Disabled`].
//!
//! Not here: `d-ver` (RFC 3329 digest verification of the list; no deployment uses it with
//! mediasec), IPsec (`ipsec-3gpp` is mirrored, never set up) and SDP itself.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::VecDeque;
use std::time::Instant;

use sip_message::build::Request;
use sip_message::{HeaderName, Message, Method, SecurityMechanism};

/// The option tag of the media-plane security extension.
pub const OPTION_TAG: &str = "mediasec";

/// The signalling transport of the line (sip-message's, re-exported).
pub use sip_message::Transport;

/// What the line is configured to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// `MediaSec_Request_n_`: true = client-initiated, false = server-initiated.
    pub request: bool,
    /// `MediaSec_Over_TLS_Only_n_`: negotiate only when the transport is TLS.
    pub over_tls_only: bool,
    /// The media mechanisms the phone supports, in preference order, as offered in
    /// Security-Client (default: `sdes-srtp;mediasec`).
    pub mechanisms: Vec<SecurityMechanism>,
    /// How many 494 responses in a row are answered with a retry (default 2).
    pub max_494_retries: u8,
}

impl Policy {
    /// Client-initiated, any transport, SDES-SRTP.
    pub fn client_initiated() -> Policy {
        Policy {
            request: true,
            over_tls_only: false,
            mechanisms: sdes_srtp(),
            max_494_retries: 2,
        }
    }

    /// Server-initiated, any transport, SDES-SRTP.
    pub fn server_initiated() -> Policy {
        Policy {
            request: false,
            ..Policy::client_initiated()
        }
    }
}

/// `sdes-srtp;mediasec` (a constant that always parses).
fn sdes_srtp() -> Vec<SecurityMechanism> {
    sip_message::security::parse_security_mechanisms("sdes-srtp;mediasec").unwrap_or_default()
}

/// The media protection the SDP layer should use, from the agreed list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MediaSecurity {
    /// `sdes-srtp`: RTP/SAVP with `a=crypto` keys (RFC 4568).
    SdesSrtp,
    /// `dtls-srtp`: UDP/TLS/RTP/SAVP with a fingerprint (RFC 5763).
    DtlsSrtp,
    /// `msrp-tls`: MSRP over TLS.
    MsrpTls,
    /// Another mediasec mechanism, by name.
    Other(String),
}

impl MediaSecurity {
    fn from_name(name: &str) -> MediaSecurity {
        match name.to_ascii_lowercase().as_str() {
            "sdes-srtp" => MediaSecurity::SdesSrtp,
            "dtls-srtp" => MediaSecurity::DtlsSrtp,
            "msrp-tls" => MediaSecurity::MsrpTls,
            _ => MediaSecurity::Other(name.to_owned()),
        }
    }

    /// The RTP profile of the `m=` line.
    pub fn rtp_profile(&self) -> Option<&'static str> {
        match self {
            MediaSecurity::SdesSrtp => Some("RTP/SAVP"),
            MediaSecurity::DtlsSrtp => Some("UDP/TLS/RTP/SAVP"),
            _ => None,
        }
    }

    /// Extra SDP media attributes: SDES media offered under mediasec carries the 3GPP
    /// end-to-access-edge marker (TS 24.229, as Asterisk and Telekom use it).
    pub fn sdp_attributes(&self) -> &'static [&'static str] {
        match self {
            MediaSecurity::SdesSrtp => &["a=3ge2ae:requested"],
            _ => &[],
        }
    }
}

/// What the agreement reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The agreement is switched off for this line, and why (a security fallback is never
    /// silent).
    Disabled {
        /// The setting and the reason.
        reason: &'static str,
    },
    /// A Security-Server list was stored; `replaced` when it differs from an earlier one.
    ServerList {
        /// The list as received.
        mechanisms: Vec<SecurityMechanism>,
        /// Whether an earlier, different list was replaced.
        replaced: bool,
    },
    /// A 2xx arrived while a list is stored: the agreement holds. `media` is what SDP should use
    /// (`None` if no mediasec mechanism is common).
    Agreed {
        /// The media mechanism.
        media: Option<MediaSecurity>,
    },
    /// The server keeps answering 494, or sent a 494 without a list.
    Failed {
        /// Why.
        reason: &'static str,
    },
}

/// What the host does next, from [`Agreement::poll_output`]. The agreement sends nothing and
/// sets no timer of its own, so there is no `Transmit` or `Timeout`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Report this (a security fallback is never silent).
    Event(Event),
}

/// What the UA should do after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing special: handle the response as usual (a 401/407 is answered with credentials
    /// as always; [`Agreement::prepare_request`] adds the headers).
    Continue,
    /// A 494, or a 421 requiring mediasec: resend the request (new CSeq); the retry will carry
    /// the new Security-Verify.
    Retry,
    /// A 494 or 421 that must not be retried again (no list, too many, or the policy forbids
    /// mediasec on this transport).
    GiveUp,
}

/// The last response that shapes the next request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    None,
    Challenge,
    SecurityRequired,
    Other,
}

/// The security agreement of one line with its next hop.
#[derive(Debug, Clone)]
pub struct Agreement {
    policy: Policy,
    enabled: bool,
    server: Option<Vec<SecurityMechanism>>,
    last: Last,
    retries: u8,
    agreed_reported: bool,
    events: VecDeque<Event>,
}

impl Agreement {
    /// An agreement for a line with this policy and transport.
    pub fn new(policy: Policy, transport: Transport) -> Agreement {
        let enabled = !policy.over_tls_only || transport == Transport::Tls;
        let mut events = VecDeque::new();
        if !enabled {
            events.push_back(Event::Disabled {
                reason: "MediaSec_Over_TLS_Only is Yes and the line's SIP transport is not TLS",
            });
            tracing::warn!("mediasec off: MediaSec_Over_TLS_Only=Yes and transport {transport:?} is not TLS");
        }
        Agreement {
            policy,
            enabled,
            server: None,
            last: Last::None,
            retries: 0,
            agreed_reported: false,
            events,
        }
    }

    /// Whether the agreement acts at all on this line.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// The stored Security-Server list.
    pub fn server_mechanisms(&self) -> Option<&[SecurityMechanism]> {
        self.server.as_deref()
    }

    /// The media mechanism to use: among the stored list's `mediasec` mechanisms that the
    /// phone supports, the one with the highest `q` (ties and no `q`: the server's order).
    pub fn media(&self) -> Option<MediaSecurity> {
        let list = self.server.as_ref()?;
        let supported = |m: &SecurityMechanism| {
            self.policy
                .mechanisms
                .iter()
                .any(|p| p.name().eq_ignore_ascii_case(m.name()))
        };
        let mut best: Option<&SecurityMechanism> = None;
        for m in list.iter().filter(|m| m.is_mediasec() && supported(m)) {
            match best {
                Some(b) if b.q().unwrap_or(0) >= m.q().unwrap_or(0) => {}
                _ => best = Some(m),
            }
        }
        best.map(|m| MediaSecurity::from_name(m.name()))
    }

    /// The next thing to report, if any; call after every input until `None`.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.events.pop_front().map(Output::Event)
    }

    /// Forgets the stored list (a new registration flow, e.g. after a transport change).
    pub fn reset(&mut self) {
        self.server = None;
        self.last = Last::None;
        self.retries = 0;
        self.agreed_reported = false;
    }

    /// Adds the security-agreement headers to a request about to be sent. Idempotent: any
    /// Security-Client / Security-Verify lines already in the request are replaced, so a
    /// request rebuilt for a retry never carries duplicates.
    pub fn prepare_request(&mut self, now: Instant, request: &mut Request) {
        let _ = now; // no timers; kept for the convention's shape
        if !self.enabled || matches!(request.method, Method::Ack | Method::Cancel | Method::Prack) {
            return;
        }
        request.headers.remove("Security-Client");
        request.headers.remove("Security-Verify");
        let offer =
            self.policy.request && request.method == Method::Register && self.last != Last::SecurityRequired;
        if offer {
            for m in &self.policy.mechanisms {
                request.headers.push("Security-Client", m.to_string());
            }
        }
        let verify = self.server.as_deref().unwrap_or_default();
        for m in verify {
            request.headers.push("Security-Verify", m.to_string());
        }
        if offer || !verify.is_empty() {
            request.headers.add_option_tag("Require", OPTION_TAG);
            request.headers.add_option_tag("Proxy-Require", OPTION_TAG);
        }
    }

    /// Takes a response to one of this line's requests into account. An error means the
    /// response's Security-Server header is malformed (the stored list is kept).
    pub fn handle_response(
        &mut self,
        now: Instant,
        response: &Message<'_>,
    ) -> Result<Verdict, sip_message::Error> {
        let _ = now; // no timers; kept for the convention's shape
        let Some(code) = response.status() else {
            return Ok(Verdict::Continue);
        };
        if code < 200 {
            return Ok(Verdict::Continue);
        }
        // RFC 3329 §2.3.2: a server that wants the agreement and was not offered it answers
        // 421 with `Require: <tag>` and its Security-Server list (494 when the client only
        // listed the tag in Supported).
        let demands = code == 494
            || (code == 421
                && response
                    .tokens(HeaderName::Require)
                    .is_ok_and(|tags| tags.iter().any(|t| t.eq_ignore_ascii_case(OPTION_TAG))));
        if !self.enabled {
            if demands {
                self.events.push_back(Event::Failed {
                    reason: "the server requires mediasec, which MediaSec_Over_TLS_Only = Yes forbids on a line that is not TLS",
                });
                return Ok(Verdict::GiveUp);
            }
            return Ok(Verdict::Continue);
        }
        let list = response.security_mechanisms(HeaderName::SecurityServer)?;
        let carries_list = matches!(code, 200..=299 | 401 | 407 | 421 | 494);
        if carries_list && !list.is_empty() {
            self.store(list);
        }
        self.last = match code {
            401 | 407 => Last::Challenge,
            _ if demands => Last::SecurityRequired,
            _ => Last::Other,
        };
        if demands {
            self.retries = self.retries.saturating_add(1);
            if self.server.is_none() {
                self.events.push_back(Event::Failed {
                    reason: if code == 494 {
                        "494 Security Agreement Required without a Security-Server list"
                    } else {
                        "421 Extension Required (mediasec) without a Security-Server list"
                    },
                });
                return Ok(Verdict::GiveUp);
            }
            if self.retries > self.policy.max_494_retries {
                self.events.push_back(Event::Failed {
                    reason: "the server keeps demanding the agreement (421/494) after the retries allowed",
                });
                return Ok(Verdict::GiveUp);
            }
            return Ok(Verdict::Retry);
        }
        if (200..300).contains(&code) {
            self.retries = 0;
            if self.server.is_some() && !self.agreed_reported {
                self.agreed_reported = true;
                let media = self.media();
                tracing::info!(?media, "mediasec agreed");
                self.events.push_back(Event::Agreed { media });
            }
        }
        Ok(Verdict::Continue)
    }

    fn store(&mut self, list: Vec<SecurityMechanism>) {
        let same = self
            .server
            .as_ref()
            .is_some_and(|old| old.len() == list.len() && old.iter().zip(&list).all(|(a, b)| a.matches(b)));
        if same {
            return;
        }
        let replaced = self.server.is_some();
        self.agreed_reported = false;
        self.events.push_back(Event::ServerList {
            mechanisms: list.clone(),
            replaced,
        });
        // Replace, never append (Asterisk #1731).
        self.server = Some(list);
    }
}
