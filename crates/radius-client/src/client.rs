//! The client state machine: one outstanding Access-Request at a time, retransmitted on
//! timeout, answered only by a reply whose authenticators check.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::SharedSecret;
use crate::error::{DropReason, RandomError, SendError};
use crate::mppe::{self, MS_MPPE_RECV_KEY, MS_MPPE_SEND_KEY};
use crate::packet::{
    Code, Packet, PacketBuilder, attr, verify_message_authenticator, verify_response_authenticator,
};

/// A source of unpredictable bytes (the Request Authenticator and the first Identifier).
/// The host passes its CSPRNG; tests pass a seeded or counting one. Any
/// `FnMut(&mut [u8]) -> Result<(), RandomError>` is one.
pub trait Random {
    /// Fills `dest`, or fails: the client then refuses to send.
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError>;
}

impl<F: FnMut(&mut [u8]) -> Result<(), RandomError>> Random for F {
    fn fill(&mut self, dest: &mut [u8]) -> Result<(), RandomError> {
        self(dest)
    }
}

/// Client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// How long to wait for a reply before sending the request again.
    pub timeout: Duration,
    /// Transmissions of one request before giving up (at least 1).
    pub max_tries: u32,
    /// NAS-Identifier sent in every request.
    pub nas_identifier: String,
    /// Framed-MTU sent in every request (the EAP method's fragment size follows it).
    pub framed_mtu: u32,
}

impl Default for Config {
    /// 3 s, 3 tries (as `eapol_test`), NAS-Identifier `radius-client`, Framed-MTU 1400.
    fn default() -> Self {
        Config {
            timeout: Duration::from_secs(3),
            max_tries: 3,
            nas_identifier: "radius-client".into(),
            framed_mtu: 1400,
        }
    }
}

/// The server's verdict on a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyCode {
    /// Access-Accept.
    Accept,
    /// Access-Reject.
    Reject,
    /// Access-Challenge: answer its EAP-Message with [`Client::send_eap`].
    Challenge,
}

/// The Master Session Key an Access-Accept carried: MS-MPPE-Recv-Key ‖ MS-MPPE-Send-Key
/// (RFC 3748 §1.2 / RFC 5216 §2.3 ordering). The workspace's one secret type: zeroized on
/// drop, `<redacted>` in `Debug`, compared in constant time.
pub type Msk = phone_secret::SecretBytes;

/// An authenticated reply.
#[derive(Debug)]
pub struct Reply {
    /// Accept, Reject or Challenge.
    pub code: ReplyCode,
    /// The EAP-Message attributes concatenated (may be empty, e.g. a bare Access-Reject).
    pub eap: Vec<u8>,
    /// The MSK, when the reply carried both MS-MPPE keys.
    pub msk: Option<Msk>,
}

/// What happened.
#[derive(Debug)]
pub enum Event {
    /// The reply to the pending request; the next [`Client::send_eap`] may follow.
    Reply(Reply),
    /// A datagram that is not the reply (forged, corrupted, stray, wrong secret): ignored;
    /// the request still waits.
    Dropped(DropReason),
    /// No valid reply after `tries` transmissions.
    GaveUp {
        /// Transmissions made.
        tries: u32,
    },
}

/// What the host does next.
#[derive(Debug)]
pub enum Output {
    /// Send this datagram to the server.
    Transmit(Vec<u8>),
    /// Report this.
    Event(Event),
    /// The timer to arm, replacing any earlier one: `Some(at)` = call
    /// [`Client::handle_timeout`] at `at`; `None` = disarm it (the reply came, or the client
    /// gave up: nothing is pending). Reported only when it changes, after the datagrams and
    /// events of the same step.
    Timeout(Option<Instant>),
}

struct Pending {
    id: u8,
    authenticator: [u8; 16],
    bytes: Vec<u8>,
    tries: u32,
    deadline: Instant,
}

/// A RADIUS client for one EAP conversation with one server.
///
/// Driving shape (the workspace convention): inputs [`send_eap`](Client::send_eap),
/// [`handle_datagram`](Client::handle_datagram) and [`handle_timeout`](Client::handle_timeout),
/// each taking `now` first; outputs from [`poll_output`](Client::poll_output) until `None`.
pub struct Client {
    config: Config,
    secret: SharedSecret,
    next_id: u8,
    state: Option<Vec<u8>>,
    pending: Option<Pending>,
    queue: VecDeque<Output>,
    reported_timeout: Option<Instant>,
    round_trips: usize,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("next_id", &self.next_id)
            .field("waiting", &self.pending.as_ref().map(|p| (p.id, p.tries)))
            .field("round_trips", &self.round_trips)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client; the first Identifier is random.
    pub fn new(config: Config, secret: SharedSecret, rng: &mut impl Random) -> Result<Client, RandomError> {
        let mut id = [0u8];
        rng.fill(&mut id)?;
        Ok(Client {
            config,
            secret,
            next_id: id[0],
            state: None,
            pending: None,
            queue: VecDeque::new(),
            reported_timeout: None,
            round_trips: 0,
        })
    }

    /// Sends one EAP packet (from the peer) in an Access-Request, echoing the State of the
    /// last Challenge. Refused while a request waits for its reply.
    pub fn send_eap(
        &mut self,
        now: Instant,
        user_name: &str,
        eap: &[u8],
        rng: &mut impl Random,
    ) -> Result<(), SendError> {
        if self.pending.is_some() {
            return Err(SendError::Busy);
        }
        let mut authenticator = [0u8; 16];
        rng.fill(&mut authenticator)?;
        let id = self.next_id;
        let mut b = PacketBuilder::new(Code::AccessRequest, id, authenticator);
        b.attribute(attr::USER_NAME, user_name.as_bytes())?
            .attribute(attr::NAS_IDENTIFIER, self.config.nas_identifier.as_bytes())?
            .attribute(attr::SERVICE_TYPE, &2u32.to_be_bytes())? // Framed
            .attribute(attr::NAS_PORT_TYPE, &15u32.to_be_bytes())? // Ethernet
            .attribute(attr::FRAMED_MTU, &self.config.framed_mtu.to_be_bytes())?;
        if let Some(state) = &self.state {
            b.attribute(attr::STATE, state)?;
        }
        b.eap_message(eap)?;
        let bytes = b.finish_request(&self.secret)?;
        self.next_id = id.wrapping_add(1);
        self.queue.push_back(Output::Transmit(bytes.clone()));
        self.pending = Some(Pending {
            id,
            authenticator,
            bytes,
            tries: 1,
            deadline: now + self.config.timeout,
        });
        Ok(())
    }

    /// A datagram from the server.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) {
        let _ = now; // replies are not timed; kept for the convention's shape
        match self.accept(datagram) {
            Ok(reply) => {
                self.pending = None;
                self.round_trips += 1;
                self.queue.push_back(Output::Event(Event::Reply(reply)));
            }
            Err(reason) => self.queue.push_back(Output::Event(Event::Dropped(reason))),
        }
    }

    fn accept(&mut self, datagram: &[u8]) -> Result<Reply, DropReason> {
        let pending = self.pending.as_ref().ok_or(DropReason::Unsolicited)?;
        let packet = Packet::parse(datagram)?;
        if packet.identifier() != pending.id {
            return Err(DropReason::Identifier {
                expected: pending.id,
                got: packet.identifier(),
            });
        }
        let code = match Code::from_u8(packet.code()) {
            Some(Code::AccessAccept) => ReplyCode::Accept,
            Some(Code::AccessReject) => ReplyCode::Reject,
            Some(Code::AccessChallenge) => ReplyCode::Challenge,
            _ => return Err(DropReason::Code(packet.code())),
        };
        verify_response_authenticator(&packet, &pending.authenticator, &self.secret)?;
        verify_message_authenticator(&packet, &pending.authenticator, &self.secret)?;
        let (mut send, mut recv) = (None, None);
        for a in packet.attributes().filter(|a| a.kind == attr::VENDOR_SPECIFIC) {
            match mppe::decrypt(a.value, &self.secret, &pending.authenticator) {
                Some((MS_MPPE_SEND_KEY, key)) => send = Some(key),
                Some((MS_MPPE_RECV_KEY, key)) => recv = Some(key),
                _ => {}
            }
        }
        let msk = match (recv, send) {
            (Some(mut r), Some(s)) => {
                r.extend_from_slice(&s);
                Some(Msk::new(std::mem::take(&mut *r)))
            }
            _ => None,
        };
        self.state = packet.attribute(attr::STATE).map(<[u8]>::to_vec);
        Ok(Reply {
            code,
            eap: packet.eap_message(),
            msk,
        })
    }

    /// Time passed: retransmit the pending request, or give up after
    /// [`Config::max_tries`] transmissions.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(p) = self.pending.as_mut() else {
            return;
        };
        if now < p.deadline {
            return;
        }
        if p.tries < self.config.max_tries.max(1) {
            p.tries += 1;
            p.deadline = now + self.config.timeout;
            self.queue.push_back(Output::Transmit(p.bytes.clone()));
        } else {
            let tries = p.tries;
            self.pending = None;
            self.queue.push_back(Output::Event(Event::GaveUp { tries }));
        }
    }

    /// The next thing to do: datagrams and events in order, then the deadline when it changed.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(out) = self.queue.pop_front() {
            return Some(out);
        }
        let want = self.pending.as_ref().map(|p| p.deadline);
        if want == self.reported_timeout {
            return None;
        }
        self.reported_timeout = want;
        Some(Output::Timeout(want))
    }

    /// Whether a request waits for its reply.
    pub fn is_waiting(&self) -> bool {
        self.pending.is_some()
    }

    /// Replies accepted so far (request/reply round trips).
    pub fn round_trips(&self) -> usize {
        self.round_trips
    }

    /// Forgets the pending request and the server's State, for a new conversation.
    pub fn reset(&mut self) {
        self.pending = None;
        self.state = None;
        self.queue.clear();
    }
}
