//! The EAP peer state machine (RFC 4137 §4), for EAP-TLS: Identity, Notification, Nak,
//! Success/Failure with the decision rules, identifier handling and duplicate detection.
//!
//! The peer sees EAP packets only; the [`Supplicant`](crate::Supplicant) feeds it from EAPOL and
//! a RADIUS test client can feed it from EAP-Message attributes.

use std::collections::VecDeque;
use std::time::Instant;

use thiserror::Error;

use crate::config::Config;
use crate::eap::{self, Code, EapError, EapPacket, MethodType};
use crate::event::{Event, FailureReason};
use crate::fragment::FragmentError;
use crate::tls::{EapTls, Step};

/// What the peer wants done.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerOutput {
    /// Send this EAP Response.
    Response(Vec<u8>),
    /// Report this event.
    Event(Event),
}

/// Where the current conversation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConversationState {
    /// No request seen since the last restart.
    Idle,
    /// Requests are being answered.
    Running,
    /// EAP-Success accepted.
    Succeeded,
    /// Failed (EAP-Failure, method failure or a refused Success).
    Failed,
}

/// Why the peer dropped a packet without changing state (RFC 4137 DISCARD). None of these
/// authorizes anything; an authenticator that keeps sending them times out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Discarded {
    /// Not an EAP packet.
    #[error("malformed EAP packet: {0}")]
    Malformed(#[from] EapError),
    /// An EAP Response: peers only receive Requests, Success and Failure.
    #[error("EAP Response received by the peer")]
    Response,
    /// A Nak is only ever a Response.
    #[error("EAP Request of type Nak")]
    NakRequest,
    /// Success or Failure before any request.
    #[error("EAP {0:?} before any request")]
    NoConversation(Code),
    /// Success or Failure whose identifier matches neither the last request nor the next one.
    #[error("EAP {code:?} with identifier {got}, expected {expected} (or {expected}+1)")]
    WrongIdentifier {
        /// Success or Failure.
        code: Code,
        /// The identifier of the last request answered.
        expected: u8,
        /// The identifier received.
        got: u8,
    },
    /// A request for another method in the middle of EAP-TLS (RFC 4137: the method is fixed
    /// once selected).
    #[error("request for method {0:?} while EAP-TLS is in progress")]
    MethodMismatch(MethodType),
    /// An EAP-TLS framing error that drops the packet.
    #[error("EAP-TLS: {0}")]
    Fragment(#[from] FragmentError),
    /// Success or Failure after the conversation ended.
    #[error("EAP {0:?} after the conversation ended")]
    Finished(Code),
}

/// What [`Peer::handle_packet`] did with a packet it accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Handled {
    /// A new request, answered.
    Answered,
    /// A retransmitted request (same identifier): the last response was sent again.
    Retransmitted,
    /// Success or Failure, decided.
    Concluded,
}

/// The RFC 4137 EAP peer with EAP-TLS as its only method.
#[derive(Debug)]
pub struct Peer {
    config: Config,
    state: ConversationState,
    last_id: Option<u8>,
    last_response: Option<Vec<u8>>,
    method: Option<EapTls>,
    out: VecDeque<PeerOutput>,
    requests: usize,
}

impl Peer {
    /// A peer that has seen nothing yet.
    pub fn new(config: Config) -> Peer {
        Peer {
            config,
            state: ConversationState::Idle,
            last_id: None,
            last_response: None,
            method: None,
            out: VecDeque::new(),
            requests: 0,
        }
    }

    /// Forgets the current conversation (RFC 4137 eapRestart), e.g. on link-down or when the
    /// supplicant sends EAPOL-Start again.
    pub fn restart(&mut self) {
        self.state = ConversationState::Idle;
        self.last_id = None;
        self.last_response = None;
        self.method = None;
        self.requests = 0;
    }

    /// The conversation's state.
    pub fn state(&self) -> ConversationState {
        self.state
    }

    /// Requests answered in this conversation (retransmissions not counted).
    pub fn requests(&self) -> usize {
        self.requests
    }

    /// The next thing to do, if any.
    pub fn poll_output(&mut self) -> Option<PeerOutput> {
        self.out.pop_front()
    }

    /// Starts a conversation by itself, answering the authenticator's EAP-Request/Identity
    /// that is implied when there is no EAPOL (behind a RADIUS client, as `eapol_test` does):
    /// [`Event::Authenticating`] and the Identity response with identifier 0 come out of
    /// [`Peer::poll_output`], exactly as for a received Request/Identity with identifier 0. A
    /// conversation already running is forgotten first (RFC 4137 eapRestart).
    pub fn start(&mut self, now: Instant) {
        let _ = now; // the peer has no timers of its own; kept for the convention's shape
        self.restart();
        self.begin(0);
        let identity = eap::response(0, MethodType::Identity, self.config.identity.as_bytes());
        self.send(0, identity);
    }

    /// Processes one EAP packet from the authenticator, received at `now`.
    pub fn handle_packet(&mut self, now: Instant, bytes: &[u8]) -> Result<Handled, Discarded> {
        let _ = now; // the peer has no timers of its own; kept for the convention's shape
        let packet = EapPacket::parse(bytes)?;
        match packet.code() {
            Code::Response => Err(Discarded::Response),
            Code::Request => self.request(&packet),
            Code::Success | Code::Failure => self.outcome(&packet),
        }
    }

    fn request(&mut self, packet: &EapPacket<'_>) -> Result<Handled, Discarded> {
        let id = packet.identifier();
        if matches!(
            self.state,
            ConversationState::Succeeded | ConversationState::Failed
        ) {
            // A new authentication (re-authentication, or a retry after failure).
            self.restart();
        }
        if self.last_id == Some(id) {
            if let Some(response) = &self.last_response {
                self.out.push_back(PeerOutput::Response(response.clone()));
                return Ok(Handled::Retransmitted);
            }
        }
        let method = packet.method_type().unwrap_or(MethodType::Other(0));
        let data = packet.type_data();
        let response = match method {
            MethodType::Identity => {
                self.method = None;
                eap::response(id, MethodType::Identity, self.config.identity.as_bytes())
            }
            MethodType::Notification => {
                tracing::info!(
                    "EAP Notification: {}",
                    String::from_utf8_lossy(data).escape_debug()
                );
                eap::response(id, MethodType::Notification, &[])
            }
            MethodType::Nak => return Err(Discarded::NakRequest),
            MethodType::Tls => {
                let tls = self.method.get_or_insert_with(|| EapTls::new(&self.config.tls));
                match tls.process(data) {
                    Step::Respond(d) => eap::response(id, MethodType::Tls, &d),
                    Step::Discard(e) => return Err(Discarded::Fragment(e)),
                    Step::Fail { reason, respond } => {
                        self.begin(id);
                        if let Some(d) = respond {
                            self.send(id, eap::response(id, MethodType::Tls, &d));
                        }
                        self.fail(reason);
                        return Ok(Handled::Answered);
                    }
                }
            }
            MethodType::Expanded if self.method.is_none() => {
                // RFC 3748 §5.3.2: an Expanded Nak listing EAP-TLS as an expanded type.
                eap::response(
                    id,
                    MethodType::Expanded,
                    &[0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 13],
                )
            }
            other if self.method.is_none() => {
                let reason = declined_reason(other);
                tracing::info!("EAP: Nak of {other:?} ({reason}), offering EAP-TLS");
                self.out.push_back(PeerOutput::Event(Event::MethodDeclined {
                    requested: other,
                    reason,
                }));
                eap::response(id, MethodType::Nak, &[MethodType::Tls.value()])
            }
            other => return Err(Discarded::MethodMismatch(other)),
        };
        self.begin(id);
        self.send(id, response);
        Ok(Handled::Answered)
    }

    fn begin(&mut self, id: u8) {
        if self.state == ConversationState::Idle {
            self.state = ConversationState::Running;
            self.out.push_back(PeerOutput::Event(Event::Authenticating));
        }
        self.last_id = Some(id);
        self.requests += 1;
    }

    fn send(&mut self, id: u8, response: Vec<u8>) {
        self.last_id = Some(id);
        self.last_response = Some(response.clone());
        self.out.push_back(PeerOutput::Response(response));
    }

    fn fail(&mut self, reason: FailureReason) {
        self.state = ConversationState::Failed;
        self.out.push_back(PeerOutput::Event(Event::Failed { reason }));
    }

    fn outcome(&mut self, packet: &EapPacket<'_>) -> Result<Handled, Discarded> {
        let code = packet.code();
        let Some(expected) = self.last_id else {
            return Err(Discarded::NoConversation(code));
        };
        let got = packet.identifier();
        // RFC 4137 wants reqId == lastId; some authenticators use lastId + 1 (wpa_supplicant
        // accepts both). Anything else is discarded.
        if got != expected && got != expected.wrapping_add(1) {
            return Err(Discarded::WrongIdentifier { code, expected, got });
        }
        match self.state {
            ConversationState::Running => {}
            ConversationState::Failed if code == Code::Failure => return Ok(Handled::Concluded),
            _ => return Err(Discarded::Finished(code)),
        }
        if code == Code::Failure {
            self.fail(FailureReason::EapFailure);
            return Ok(Handled::Concluded);
        }
        let decision = match &self.method {
            Some(tls) => tls.success().cloned(),
            None => Err(FailureReason::UnexpectedSuccess),
        };
        match decision {
            Ok(keys) => {
                self.state = ConversationState::Succeeded;
                self.out
                    .push_back(PeerOutput::Event(Event::Authenticated(Box::new(keys))));
            }
            Err(reason) => self.fail(reason),
        }
        Ok(Handled::Concluded)
    }
}

/// Why a method the server proposed is answered with a Nak.
fn declined_reason(method: MethodType) -> &'static str {
    match method {
        MethodType::Fast => {
            "EAP-FAST is not implemented: it needs a TLS 1.2 client that sends the PAC-Opaque in \
             the SessionTicket extension and takes its master secret from the PAC-Key (RFC 4851 \
             §5.1), which rustls does not expose; EAP-TLS offered instead"
        }
        _ => "method not implemented; EAP-TLS offered instead",
    }
}
