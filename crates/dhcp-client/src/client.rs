//! The client state machine (RFC 2131 §4.4, figure 5).

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use dhcproto::v4::{self, DhcpOption, Flags, MessageType, OptionCode};
use dhcproto::{Encodable, Encoder};

use crate::lease::{Lease, LeaseError};
use crate::message::{DecodeError, Received};

/// The server port (RFC 2131 §4.1).
pub const SERVER_PORT: u16 = 67;
/// The client port.
pub const CLIENT_PORT: u16 = 68;

/// The options a phone asks for (option 55): the basics of RFC 2132 and every provisioning
/// option of SPEC §2, and WPAD's 252.
pub const PARAMETER_REQUEST_LIST: &[u8] = &[
    1, 3, 6, 15, 2, 42, 43, 51, 58, 59, 60, 66, 125, 150, 159, 160, 252,
];

/// Error from a [`Random`] source.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the random source failed: {0}")]
pub struct RandomError(pub String);

/// A source of unpredictable bytes: transaction IDs and retransmission jitter. The host passes
/// its CSPRNG, tests a seeded one. Any `FnMut(&mut [u8]) -> Result<(), RandomError>` is one.
pub trait Random {
    /// Fills `dest`, or fails: the client then sends nothing.
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
    /// The interface's Ethernet address (`chaddr`, and the client identifier `01 ‖ mac`).
    pub mac: [u8; 6],
    /// Option 60, e.g. `Cisco Systems, Inc. IP Phone CP-7832-3PCC`; `None`: not sent.
    pub vendor_class: Option<Vec<u8>>,
    /// Option 12; `None`: not sent.
    pub hostname: Option<String>,
    /// Option 55; [`PARAMETER_REQUEST_LIST`] by default.
    pub parameter_request_list: Vec<u8>,
    /// REQUESTs sent in REQUESTING or REBOOTING before starting over with DISCOVER.
    pub max_requests: u32,
}

impl Config {
    /// Defaults for an interface: the phone's parameter request list, no vendor class.
    pub fn new(mac: [u8; 6]) -> Config {
        Config {
            mac,
            vendor_class: None,
            hostname: None,
            parameter_request_list: PARAMETER_REQUEST_LIST.to_vec(),
            max_requests: 4,
        }
    }
}

/// A datagram to send from port 68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// `255.255.255.255:67`, or the server's address when renewing or releasing.
    pub to: SocketAddrV4,
    /// The DHCP message.
    pub payload: Vec<u8>,
}

impl Transmit {
    /// Whether this goes to the limited broadcast address (the host needs `SO_BROADCAST`).
    pub fn is_broadcast(&self) -> bool {
        self.to.ip().is_broadcast()
    }
}

/// What the host reports or acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new lease: configure the interface with it.
    Bound(Lease),
    /// The lease was extended (RENEWING or REBINDING got an ACK); the address is unchanged
    /// unless the server changed it, then treat it like [`Event::Bound`].
    Renewed(Lease),
    /// The server refused our REQUEST: stop using the address (if any); the client restarts.
    Nak {
        /// The server that sent it (option 54), when given.
        server: Option<Ipv4Addr>,
        /// Option 56, when given.
        message: Option<String>,
    },
    /// The lease ran out without a renewal: remove the address; the client restarts.
    Expired,
    /// A datagram was not for us or was malformed, and was dropped.
    Discarded(Discarded),
    /// The random source failed; the client stopped and sends nothing more.
    RandomFailed(RandomError),
}

/// Why a received datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Discarded {
    /// Not DHCP or malformed.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// Not a BOOTREPLY, another transaction or another client's.
    #[error("not a reply to our transaction")]
    NotOurs,
    /// A message type that this state does not expect.
    #[error("DHCP message type {0:?} is not expected now")]
    Unexpected(Option<u8>),
    /// An OFFER without a server identifier or with an unusable address.
    #[error("OFFER without a server identifier (option 54) or with address {0}")]
    BadOffer(Ipv4Addr),
    /// An ACK that is not a usable lease.
    #[error(transparent)]
    BadAck(#[from] LeaseError),
}

/// What [`Client::poll_output`] hands out, in the order to act on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send this datagram.
    Transmit(Transmit),
    /// Report or act on this.
    Event(Event),
    /// The timer, reported when it changes: `Some(at)`: call [`Client::handle_timeout`] at
    /// `at`; `None`: nothing is timed any more (released, stopped, or an infinite lease).
    Timeout(Option<Instant>),
}

/// The RFC 2131 client states (figure 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Not started, or stopped after a random-source failure or a release.
    Init,
    /// DISCOVER sent, waiting for an OFFER.
    Selecting,
    /// REQUEST for an offer sent, waiting for ACK/NAK.
    Requesting,
    /// INIT-REBOOT: REQUEST for a remembered address sent.
    Rebooting,
    /// Holding a lease.
    Bound,
    /// T1 passed: unicast REQUESTs to the server.
    Renewing,
    /// T2 passed: broadcast REQUESTs to any server.
    Rebinding,
}

#[derive(Debug, Clone)]
struct Offer {
    address: Ipv4Addr,
    server: Ipv4Addr,
}

/// A DHCPv4 client for one interface.
#[derive(Debug)]
pub struct Client<R: Random> {
    config: Config,
    random: R,
    state: State,
    xid: u32,
    /// When the current exchange started (`secs`, and the lease start for REQUEST/RENEW).
    exchange_start: Instant,
    /// When the last request of this exchange was sent (the lease runs from then).
    sent_at: Instant,
    attempts: u32,
    offer: Option<Offer>,
    requested: Option<Ipv4Addr>,
    lease: Option<Lease>,
    deadline: Option<Instant>,
    reported_deadline: Option<Instant>,
    out: VecDeque<Output>,
}

/// First retransmission delay in SELECTING/REQUESTING (RFC 2131 §4.1).
const FIRST_RETRANSMIT: Duration = Duration::from_secs(4);
/// Largest retransmission delay.
const MAX_RETRANSMIT: Duration = Duration::from_secs(64);
/// Smallest wait between REQUESTs when renewing or rebinding (RFC 2131 §4.4.5).
const MIN_RENEW_WAIT: Duration = Duration::from_secs(60);

impl<R: Random> Client<R> {
    /// A client in INIT; nothing is sent until [`Client::start`] or [`Client::start_reboot`].
    pub fn new(config: Config, random: R, now: Instant) -> Client<R> {
        Client {
            config,
            random,
            state: State::Init,
            xid: 0,
            exchange_start: now,
            sent_at: now,
            attempts: 0,
            offer: None,
            requested: None,
            lease: None,
            deadline: None,
            reported_deadline: None,
            out: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The lease held, if any (BOUND, RENEWING, REBINDING).
    pub fn lease(&self) -> Option<&Lease> {
        self.lease.as_ref()
    }

    /// INIT → SELECTING: broadcasts a DISCOVER.
    pub fn start(&mut self, now: Instant) {
        self.lease = None;
        self.offer = None;
        self.requested = None;
        if self.new_exchange(now) {
            self.state = State::Selecting;
            self.send(now);
        }
    }

    /// INIT-REBOOT → REBOOTING: broadcasts a REQUEST for an address remembered from an
    /// earlier lease; a NAK (or no answer) falls back to DISCOVER.
    pub fn start_reboot(&mut self, now: Instant, address: Ipv4Addr) {
        self.lease = None;
        self.offer = None;
        self.requested = Some(address);
        if self.new_exchange(now) {
            self.state = State::Rebooting;
            self.send(now);
        }
    }

    /// Gives the lease back (a unicast RELEASE) and stops; the host then removes the address.
    pub fn release(&mut self, now: Instant) {
        let _ = now;
        if let Some(lease) = self.lease.take() {
            let mut m = self.base(MessageType::Release, lease.address);
            m.opts_mut().insert(DhcpOption::ServerIdentifier(lease.server));
            self.push_transmit(SocketAddrV4::new(lease.server, SERVER_PORT), &m);
        }
        self.state = State::Init;
        self.deadline = None;
        self.update_timeout();
    }

    /// A datagram received on port 68.
    pub fn handle_datagram(&mut self, now: Instant, bytes: &[u8]) {
        let msg = match Received::parse(bytes) {
            Ok(m) => m,
            Err(e) => return self.discard(Discarded::Decode(e)),
        };
        if msg.op != 2 || msg.xid != self.xid || msg.chaddr != self.config.mac {
            return self.discard(Discarded::NotOurs);
        }
        let kind = msg.message_type();
        match (self.state, kind) {
            (State::Selecting, Some(2)) => self.handle_offer(now, &msg),
            (State::Requesting | State::Rebooting | State::Renewing | State::Rebinding, Some(5)) => {
                self.handle_ack(now, &msg)
            }
            (State::Requesting | State::Rebooting | State::Renewing | State::Rebinding, Some(6)) => {
                let server = msg.addr_option(54);
                if self.state == State::Requesting
                    && server.is_some()
                    && server != self.offer.as_ref().map(|o| o.server)
                {
                    // A NAK from a server we did not choose (RFC 2131 §4.3.2 is for servers;
                    // the client only listens to its own).
                    return self.discard(Discarded::Unexpected(kind));
                }
                let message = msg
                    .options
                    .get(&56)
                    .map(|m| String::from_utf8_lossy(m).into_owned());
                self.lease = None;
                self.out.push_back(Output::Event(Event::Nak { server, message }));
                self.start(now);
            }
            _ => self.discard(Discarded::Unexpected(kind)),
        }
    }

    /// Time passes: retransmissions, T1, T2 and expiry. Early calls do nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.deadline else {
            return;
        };
        if now < deadline {
            return;
        }
        if let Some(expiry) = self.lease.as_ref().and_then(Lease::expires_at)
            && now >= expiry
        {
            self.lease = None;
            self.out.push_back(Output::Event(Event::Expired));
            self.start(now);
            return;
        }
        match self.state {
            State::Init => {}
            State::Selecting => self.send(now),
            State::Requesting | State::Rebooting => {
                if self.attempts >= self.config.max_requests {
                    self.start(now);
                } else {
                    self.send(now);
                }
            }
            State::Bound => {
                if self.new_exchange(now) {
                    self.state = State::Renewing;
                    self.send(now);
                }
            }
            State::Renewing => {
                let t2 = self.lease.as_ref().and_then(|l| l.times.rebind_at());
                if t2.is_some_and(|t2| now >= t2) {
                    self.state = State::Rebinding;
                }
                self.send(now);
            }
            State::Rebinding => self.send(now),
        }
    }

    /// The next thing to do; call until `None` after every input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    fn discard(&mut self, why: Discarded) {
        tracing::debug!(%why, "DHCP datagram dropped");
        self.out.push_back(Output::Event(Event::Discarded(why)));
    }

    /// A fresh transaction ID; false (and stopped) when the random source fails.
    fn new_exchange(&mut self, now: Instant) -> bool {
        let mut b = [0u8; 4];
        if let Err(e) = self.random.fill(&mut b) {
            self.fail(e);
            return false;
        }
        self.xid = u32::from_be_bytes(b);
        self.exchange_start = now;
        self.attempts = 0;
        true
    }

    fn fail(&mut self, e: RandomError) {
        self.state = State::Init;
        self.deadline = None;
        self.out.push_back(Output::Event(Event::RandomFailed(e)));
        self.update_timeout();
    }

    fn handle_offer(&mut self, now: Instant, msg: &Received) {
        let a = msg.yiaddr;
        let Some(server) = msg.addr_option(54) else {
            return self.discard(Discarded::BadOffer(a));
        };
        if a.is_unspecified() || a.is_broadcast() || a.is_multicast() {
            return self.discard(Discarded::BadOffer(a));
        }
        // The first acceptable OFFER is taken (RFC 2131 §4.4.1 lets the client choose).
        self.offer = Some(Offer { address: a, server });
        self.state = State::Requesting;
        self.attempts = 0;
        self.send(now);
    }

    fn handle_ack(&mut self, now: Instant, msg: &Received) {
        let lease = match Lease::from_ack(msg, self.sent_at) {
            Ok(l) => l,
            Err(e) => return self.discard(Discarded::BadAck(e)),
        };
        let renewed = matches!(self.state, State::Renewing | State::Rebinding);
        let _ = now;
        self.state = State::Bound;
        self.deadline = lease.times.renew_at();
        self.lease = Some(lease.clone());
        self.out.push_back(Output::Event(if renewed {
            Event::Renewed(lease)
        } else {
            Event::Bound(lease)
        }));
        self.update_timeout();
    }

    /// A message with the fields every client message shares.
    fn base(&self, kind: MessageType, ciaddr: Ipv4Addr) -> v4::Message {
        let mut m = v4::Message::new_with_id(
            self.xid,
            ciaddr,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            &self.config.mac,
        );
        m.set_opcode(v4::Opcode::BootRequest);
        let opts = m.opts_mut();
        opts.insert(DhcpOption::MessageType(kind));
        let mut client_id = vec![1u8];
        client_id.extend_from_slice(&self.config.mac);
        opts.insert(DhcpOption::ClientIdentifier(client_id));
        m
    }

    /// Sends (or resends) the message of the current state and sets the next deadline.
    fn send(&mut self, now: Instant) {
        let secs =
            u16::try_from(now.saturating_duration_since(self.exchange_start).as_secs()).unwrap_or(u16::MAX);
        let ciaddr = match self.state {
            State::Renewing | State::Rebinding => {
                self.lease.as_ref().map_or(Ipv4Addr::UNSPECIFIED, |l| l.address)
            }
            _ => Ipv4Addr::UNSPECIFIED,
        };
        let kind = if self.state == State::Selecting {
            MessageType::Discover
        } else {
            MessageType::Request
        };
        let mut m = self.base(kind, ciaddr);
        m.set_secs(secs);
        // Before an address is configured, replies can only reach us broadcast.
        if ciaddr.is_unspecified() {
            m.set_flags(Flags::default().set_broadcast());
        }
        let opts = m.opts_mut();
        opts.insert(DhcpOption::MaxMessageSize(1500));
        opts.insert(DhcpOption::ParameterRequestList(
            self.config
                .parameter_request_list
                .iter()
                .map(|&c| OptionCode::from(c))
                .collect(),
        ));
        if let Some(v) = &self.config.vendor_class {
            opts.insert(DhcpOption::ClassIdentifier(v.clone()));
        }
        if let Some(h) = &self.config.hostname {
            opts.insert(DhcpOption::Hostname(h.clone()));
        }
        match self.state {
            State::Requesting => {
                if let Some(o) = &self.offer {
                    opts.insert(DhcpOption::RequestedIpAddress(o.address));
                    opts.insert(DhcpOption::ServerIdentifier(o.server));
                }
            }
            State::Rebooting => {
                if let Some(a) = self.requested {
                    opts.insert(DhcpOption::RequestedIpAddress(a));
                }
            }
            State::Selecting => {
                if let Some(a) = self.requested {
                    opts.insert(DhcpOption::RequestedIpAddress(a));
                }
            }
            _ => {}
        }
        let to = match (self.state, &self.lease) {
            (State::Renewing, Some(l)) => SocketAddrV4::new(l.server, SERVER_PORT),
            _ => SocketAddrV4::new(Ipv4Addr::BROADCAST, SERVER_PORT),
        };
        if !self.push_transmit(to, &m) {
            return;
        }
        self.sent_at = now;
        self.attempts = self.attempts.saturating_add(1);
        let wait = match self.state {
            State::Renewing | State::Rebinding => {
                // Half the time left to T2 (renewing) or to expiry (rebinding), at least 60 s,
                // never past the next boundary.
                let lease = self.lease.as_ref();
                let boundary = match self.state {
                    State::Renewing => lease.and_then(|l| l.times.rebind_at()),
                    _ => lease.and_then(Lease::expires_at),
                };
                match boundary {
                    Some(b) => {
                        let left = b.saturating_duration_since(now);
                        (left / 2)
                            .max(MIN_RENEW_WAIT)
                            .min(left.max(Duration::from_millis(1)))
                    }
                    None => MIN_RENEW_WAIT,
                }
            }
            _ => {
                let exp = self.attempts.saturating_sub(1).min(4);
                let base = (FIRST_RETRANSMIT * (1u32 << exp)).min(MAX_RETRANSMIT);
                // ±1 s of jitter (RFC 2131 §4.1), from the injected random source.
                let mut j = [0u8; 2];
                if let Err(e) = self.random.fill(&mut j) {
                    return self.fail(e);
                }
                let ms = u64::from(u16::from_be_bytes(j) % 2001);
                (base + Duration::from_millis(ms)).saturating_sub(Duration::from_secs(1))
            }
        };
        self.deadline = Some(now + wait);
        self.update_timeout();
    }

    fn push_transmit(&mut self, to: SocketAddrV4, m: &v4::Message) -> bool {
        let mut payload = Vec::with_capacity(300);
        let mut e = Encoder::new(&mut payload);
        match m.encode(&mut e) {
            Ok(()) => {
                self.out.push_back(Output::Transmit(Transmit { to, payload }));
                true
            }
            Err(err) => {
                // Our own messages are small and well-formed; an encoder failure is a bug we
                // report rather than hide.
                tracing::error!(%err, "encoding a DHCP message failed");
                false
            }
        }
    }

    fn update_timeout(&mut self) {
        if self.deadline != self.reported_deadline {
            self.reported_deadline = self.deadline;
            self.out.push_back(Output::Timeout(self.deadline));
        }
    }
}
