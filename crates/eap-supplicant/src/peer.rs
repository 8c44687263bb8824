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

/// The method selected for the conversation (RFC 4137: fixed once selected).
#[derive(Debug)]
enum Method {
    Tls(Box<EapTls>),
    #[cfg(feature = "fast")]
    Fast(Box<crate::fast::method::EapFast>),
}

impl Method {
    fn success(&self) -> Result<&crate::event::Authenticated, FailureReason> {
        match self {
            Method::Tls(m) => m.success(),
            #[cfg(feature = "fast")]
            Method::Fast(m) => m.success(),
        }
    }
}

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
    method: Option<Method>,
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
        let packet = EapPacket::parse(bytes)?;
        match packet.code() {
            Code::Response => Err(Discarded::Response),
            Code::Request => self.request(now, &packet),
            Code::Success | Code::Failure => self.outcome(&packet),
        }
    }

    fn request(&mut self, now: Instant, packet: &EapPacket<'_>) -> Result<Handled, Discarded> {
        #[cfg(not(feature = "fast"))]
        let _ = now; // only EAP-FAST's TLS client takes the time
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
            MethodType::Tls if self.config.tls.is_some() => {
                if !matches!(self.method, Some(Method::Tls(_)) | None) {
                    return Err(Discarded::MethodMismatch(MethodType::Tls));
                }
                let step = match &mut self.method {
                    Some(Method::Tls(tls)) => tls.process(data),
                    _ => {
                        let Some(config) = self.config.tls.as_ref() else {
                            return Err(Discarded::MethodMismatch(MethodType::Tls));
                        };
                        let mut tls = Box::new(EapTls::new(config));
                        let step = tls.process(data);
                        self.method = Some(Method::Tls(tls));
                        step
                    }
                };
                match self.step(id, MethodType::Tls, step) {
                    Ok(Some(r)) => r,
                    Ok(None) => return Ok(Handled::Answered),
                    Err(e) => return Err(e),
                }
            }
            #[cfg(feature = "fast")]
            MethodType::Fast if self.config.fast.is_some() => {
                if !matches!(self.method, Some(Method::Fast(_)) | None) {
                    return Err(Discarded::MethodMismatch(MethodType::Fast));
                }
                let step = match &mut self.method {
                    Some(Method::Fast(fast)) => fast.process(now, data),
                    _ => {
                        let Some(config) = self.config.fast.as_ref() else {
                            return Err(Discarded::MethodMismatch(MethodType::Fast));
                        };
                        let mut fast = Box::new(crate::fast::method::EapFast::new(config));
                        let step = fast.process(now, data);
                        self.method = Some(Method::Fast(fast));
                        step
                    }
                };
                if let Some(Method::Fast(fast)) = &mut self.method {
                    for event in fast.take_events() {
                        self.out.push_back(PeerOutput::Event(event));
                    }
                }
                match self.step(id, MethodType::Fast, step) {
                    Ok(Some(r)) => r,
                    Ok(None) => return Ok(Handled::Answered),
                    Err(e) => return Err(e),
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
                tracing::info!("EAP: Nak of {other:?} ({reason})");
                self.out.push_back(PeerOutput::Event(Event::MethodDeclined {
                    requested: other,
                    reason,
                }));
                eap::response(id, MethodType::Nak, &self.offered())
            }
            other => return Err(Discarded::MethodMismatch(other)),
        };
        self.begin(id);
        self.send(id, response);
        Ok(Handled::Answered)
    }

    /// The methods a Nak offers: EAP-TLS when configured, then EAP-FAST.
    fn offered(&self) -> Vec<u8> {
        let mut v = Vec::new();
        if self.config.tls.is_some() {
            v.push(MethodType::Tls.value());
        }
        #[cfg(feature = "fast")]
        if self.config.fast.is_some() {
            v.push(MethodType::Fast.value());
        }
        v
    }

    /// A method step: `Ok(Some(response))` to send and record, `Ok(None)` when it was sent
    /// already (failure), `Err` to discard.
    fn step(&mut self, id: u8, method: MethodType, step: Step) -> Result<Option<Vec<u8>>, Discarded> {
        match step {
            Step::Respond(d) => Ok(Some(eap::response(id, method, &d))),
            Step::Discard(e) => Err(Discarded::Fragment(e)),
            Step::Fail { reason, respond } => {
                self.begin(id);
                if let Some(d) = respond {
                    self.send(id, eap::response(id, method, &d));
                }
                self.fail(reason);
                Ok(None)
            }
        }
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
            Some(method) => method.success().cloned(),
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
        MethodType::Fast if cfg!(feature = "fast") => {
            "EAP-FAST is not configured on this phone (no inner identity and password); the \
             configured method is offered instead"
        }
        MethodType::Fast => {
            "EAP-FAST is not built in (eap-supplicant without feature `fast`); the configured \
             method is offered instead"
        }
        MethodType::Tls => "EAP-TLS is not configured on this phone; EAP-FAST offered instead",
        _ => "method not implemented; the configured methods are offered instead",
    }
}
