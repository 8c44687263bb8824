//! A sans-IO DHCPv6 client (RFC 8415): SOLICIT / ADVERTISE / REQUEST / REPLY for one IA_NA,
//! RENEW at T1, REBIND at T2 (a REQUEST when the server answers NoBinding), expiry at the
//! valid lifetime, RELEASE; and the provisioning
//! source in `DHCPv6_Option_To_Use` order (17, 160, 159 by default).
//!
//! The shape is the DHCPv4 [`Client`](crate::Client)'s: `handle_datagram(now, bytes)`,
//! `handle_timeout(now)`, `poll_output()` handing out datagrams for `[ff02::1:2]:547` (the host
//! sends them from port 546 on the interface), events and the next deadline. Transaction IDs and
//! the retransmission jitter (RAND of RFC 8415 §15) come from the injected [`Random`].
//!
//! ```
//! use std::time::{Duration, Instant};
//! use dhcp_client::v6::{Client6, Config6, Event6, Output6, DEFAULT_OPTION_ORDER6};
//! use dhcp_client::ProvisioningSource;
//! use dhcproto::v6::{DhcpOption, IAAddr, IANA, Message, MessageType, DhcpOptions};
//! use dhcproto::{Decodable, Decoder, Encodable, Encoder};
//!
//! let mac = [0x00, 0x0e, 0x08, 0xab, 0xcd, 0xef];
//! let seeded = |b: &mut [u8]| { b.fill(7); Ok(()) };
//! let now = Instant::now();
//! let mut client = Client6::new(Config6::new(mac), seeded, now);
//! client.start(now);
//! let Some(Output6::Transmit(solicit)) = client.poll_output() else { panic!() };
//! let solicit = Message::decode(&mut Decoder::new(&solicit.payload))?;
//! # while let Some(Output6::Timeout(_)) = client.poll_output() {}
//!
//! // A server's ADVERTISE (preference 255: taken at once), then its REPLY.
//! let answer = |kind, xid| -> Result<Vec<u8>, Box<dyn std::error::Error>> {
//!     let mut m = Message::new_with_id(kind, xid);
//!     let client_id = solicit.opts().iter().find_map(|o| match o {
//!         DhcpOption::ClientId(id) => Some(id.clone()), _ => None }).unwrap();
//!     let o = m.opts_mut();
//!     o.insert(DhcpOption::ClientId(client_id));
//!     o.insert(DhcpOption::ServerId(vec![0, 3, 0, 1, 2, 2, 2, 2, 2, 2]));
//!     o.insert(DhcpOption::Preference(255));
//!     let mut ia_opts = DhcpOptions::new();
//!     ia_opts.insert(DhcpOption::IAAddr(IAAddr { addr: "fd00::5".parse()?,
//!         preferred_life: 3600, valid_life: 7200, opts: DhcpOptions::new() }));
//!     o.insert(DhcpOption::IANA(IANA { id: 0x08abcdef, t1: 1800, t2: 2880, opts: ia_opts }));
//!     o.insert(DhcpOption::Unknown(dhcproto::v6::UnknownOption::new(
//!         160.into(), b"https://prov.example.com/$MA.xml".to_vec())));
//!     let mut bytes = Vec::new();
//!     m.encode(&mut Encoder::new(&mut bytes))?;
//!     Ok(bytes)
//! };
//! client.handle_datagram(now, &answer(MessageType::Advertise, solicit.xid())?);
//! let Some(Output6::Transmit(request)) = client.poll_output() else { panic!() };
//! let request = Message::decode(&mut Decoder::new(&request.payload))?;
//! assert_eq!(request.msg_type(), MessageType::Request);
//! # while let Some(Output6::Timeout(_)) = client.poll_output() {}
//! client.handle_datagram(now, &answer(MessageType::Reply, request.xid())?);
//! let Some(Output6::Event(Event6::Bound(lease))) = client.poll_output() else { panic!() };
//! assert_eq!(lease.address(), Some("fd00::5".parse()?));
//! assert_eq!(client.poll_output(), Some(Output6::Timeout(Some(now + Duration::from_secs(1800)))));
//! assert_eq!(lease.provisioning_source(DEFAULT_OPTION_ORDER6).chosen,
//!     Some((160, ProvisioningSource::Url("https://prov.example.com/$MA.xml".into()))));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Not supported: Rapid Commit, temporary addresses (IA_TA), prefix delegation (IA_PD),
//! INFORMATION-REQUEST (stateless), CONFIRM after a link change, RECONFIGURE, Authentication,
//! server unicast; the SOL_MAX_DELAY start-up delay is the host's (it calls `start` when it
//! wants); RELEASE is sent once, not retransmitted.

mod lease;
pub mod message;

use std::collections::VecDeque;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::time::{Duration, Instant};

use dhcproto::v6::{self as d6, DhcpOption, DhcpOptions, MessageType, OptionCode};
use dhcproto::{Encodable, Encoder};

pub use lease::{CISCO_ENTERPRISE, DEFAULT_OPTION_ORDER6, Lease6, LeaseError6};
use message::{DecodeError6, Received6, code, kind};

use crate::{Random, RandomError};

/// Status Code NoBinding (RFC 8415 §21.13).
const NO_BINDING: u16 = 3;

/// The server/relay port (RFC 8415 §7.2).
pub const SERVER_PORT6: u16 = 547;
/// The client port.
pub const CLIENT_PORT6: u16 = 546;
/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
pub const ALL_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// The options a phone asks for in ORO: DNS servers and search list (RFC 3646), NTP (56),
/// vendor options (17) and Cisco's 159/160 (SPEC §2).
pub const OPTION_REQUEST_LIST: &[u16] = &[23, 24, 17, 56, 159, 160];

/// Client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config6 {
    /// The client DUID (option 1); by default DUID-LL of the interface's MAC (RFC 8415 §11.4),
    /// stable across restarts as the RFC wants.
    pub duid: Vec<u8>,
    /// The IA_NA's IAID; by default the MAC's last four bytes.
    pub iaid: u32,
    /// Option 16 vendor class data, sent with Cisco's enterprise number; `None`: not sent.
    pub vendor_class: Option<Vec<u8>>,
    /// The ORO; [`OPTION_REQUEST_LIST`] by default.
    pub option_request_list: Vec<u16>,
}

impl Config6 {
    /// Defaults for an interface with this MAC.
    pub fn new(mac: [u8; 6]) -> Config6 {
        let mut duid = vec![0, 3, 0, 1];
        duid.extend_from_slice(&mac);
        Config6 {
            duid,
            iaid: u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]]),
            vendor_class: None,
            option_request_list: OPTION_REQUEST_LIST.to_vec(),
        }
    }
}

/// A datagram to send from port 546 on the interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit6 {
    /// `[ff02::1:2]:547`; the host sets the interface (scope) when sending.
    pub to: SocketAddrV6,
    /// The DHCPv6 message.
    pub payload: Vec<u8>,
}

/// What the host reports or acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event6 {
    /// A new lease: configure the addresses.
    Bound(Lease6),
    /// RENEW or REBIND got a REPLY: lifetimes extended (addresses may have changed).
    Renewed(Lease6),
    /// The lease is gone: its valid lifetime ran out without a REPLY, or the server no longer
    /// has our binding and did not give it back to a REQUEST. Remove the addresses; the client
    /// restarts (SOLICIT).
    Expired,
    /// A datagram was not for us or was malformed or refused, and was dropped.
    Discarded(Discarded6),
    /// The random source failed; the client stopped.
    RandomFailed(RandomError),
}

/// Why a received datagram was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Discarded6 {
    /// Malformed.
    #[error(transparent)]
    Decode(#[from] DecodeError6),
    /// Another transaction's, or another client's (Client Identifier).
    #[error("not a reply to our transaction")]
    NotOurs,
    /// A message type this state does not expect.
    #[error("DHCPv6 message type {0} is not expected now")]
    Unexpected(u8),
    /// An ADVERTISE or REPLY that is not a usable lease.
    #[error(transparent)]
    Refused(#[from] LeaseError6),
}

/// What [`Client6::poll_output`] hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output6 {
    /// Send this datagram.
    Transmit(Transmit6),
    /// Report or act on this.
    Event(Event6),
    /// The timer, when it changes (`None`: nothing timed).
    Timeout(Option<Instant>),
}

/// The client's states (RFC 8415 §18).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State6 {
    /// Not started, released, or stopped after a random-source failure.
    Init,
    /// SOLICIT sent, collecting ADVERTISEs.
    Soliciting,
    /// REQUEST sent to the chosen server.
    Requesting,
    /// Holding a lease.
    Bound,
    /// T1 passed: RENEW to our server.
    Renewing,
    /// T2 passed: REBIND to any server.
    Rebinding,
}

/// Retransmission parameters (RFC 8415 §7.6): IRT, MRT, MRC (0: unlimited).
struct Timing {
    irt: Duration,
    mrt: Duration,
    mrc: u32,
}

const SOLICIT: Timing = Timing {
    irt: Duration::from_secs(1),
    mrt: Duration::from_secs(3600),
    mrc: 0,
};
const REQUEST: Timing = Timing {
    irt: Duration::from_secs(1),
    mrt: Duration::from_secs(30),
    mrc: 10,
};
const RENEW: Timing = Timing {
    irt: Duration::from_secs(10),
    mrt: Duration::from_secs(600),
    mrc: 0,
};

/// The server an ADVERTISE offered.
#[derive(Debug, Clone)]
struct Advertised {
    preference: u8,
    server_id: Vec<u8>,
    addresses: Vec<Ipv6Addr>,
}

/// A DHCPv6 client for one interface and one IA_NA.
#[derive(Debug)]
pub struct Client6<R: Random> {
    config: Config6,
    random: R,
    state: State6,
    xid: u32,
    exchange_start: Instant,
    sent_at: Instant,
    attempts: u32,
    rt: Duration,
    /// SOLICIT: the first RT has passed (from then on the first ADVERTISE is taken).
    first_rt_over: bool,
    best: Option<Advertised>,
    lease: Option<Lease6>,
    deadline: Option<Instant>,
    reported_deadline: Option<Instant>,
    out: VecDeque<Output6>,
}

impl<R: Random> Client6<R> {
    /// A client in INIT.
    pub fn new(config: Config6, random: R, now: Instant) -> Client6<R> {
        Client6 {
            config,
            random,
            state: State6::Init,
            xid: 0,
            exchange_start: now,
            sent_at: now,
            attempts: 0,
            rt: Duration::ZERO,
            first_rt_over: false,
            best: None,
            lease: None,
            deadline: None,
            reported_deadline: None,
            out: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State6 {
        self.state
    }

    /// The lease held, if any.
    pub fn lease(&self) -> Option<&Lease6> {
        self.lease.as_ref()
    }

    /// INIT → SOLICIT. A lease still held is given up ([`Event6::Expired`]).
    pub fn start(&mut self, now: Instant) {
        if self.lease.take().is_some() {
            self.out.push_back(Output6::Event(Event6::Expired));
        }
        self.best = None;
        self.first_rt_over = false;
        if self.new_exchange(now) {
            self.state = State6::Soliciting;
            self.send(now);
        }
    }

    /// Gives the addresses back (one RELEASE) and stops.
    pub fn release(&mut self, now: Instant) {
        if let Some(lease) = self.lease.take()
            && self.new_exchange(now)
        {
            let addresses: Vec<Ipv6Addr> = lease.addresses.iter().map(|a| a.address).collect();
            let m = self.message(MessageType::Release, Some(&lease.server_id), &addresses, now);
            self.push_transmit(&m);
        }
        self.state = State6::Init;
        self.deadline = None;
        self.update_timeout();
    }

    /// A datagram received on port 546.
    pub fn handle_datagram(&mut self, now: Instant, bytes: &[u8]) {
        let msg = match Received6::parse(bytes) {
            Ok(m) => m,
            Err(e) => return self.discard(Discarded6::Decode(e)),
        };
        if msg.xid != self.xid
            || msg.option(code::CLIENT_ID).map(|o| o.value.as_slice()) != Some(self.config.duid.as_slice())
        {
            return self.discard(Discarded6::NotOurs);
        }
        match (self.state, msg.kind) {
            (State6::Soliciting, kind::ADVERTISE) => self.handle_advertise(now, &msg),
            (State6::Requesting | State6::Renewing | State6::Rebinding, kind::REPLY) => {
                self.handle_reply(now, &msg)
            }
            (_, k) => self.discard(Discarded6::Unexpected(k)),
        }
    }

    /// Time passes: retransmissions, T1, T2 and expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(deadline) = self.deadline else { return };
        if now < deadline {
            return;
        }
        if let Some(expiry) = self.lease.as_ref().and_then(Lease6::expires_at)
            && now >= expiry
        {
            // `start` reports the lease gone.
            self.start(now);
            return;
        }
        match self.state {
            State6::Init => {}
            State6::Soliciting => {
                self.first_rt_over = true;
                if let Some(best) = self.best.take() {
                    self.request(now, best);
                } else {
                    self.send(now);
                }
            }
            State6::Requesting => {
                if REQUEST.mrc != 0 && self.attempts >= REQUEST.mrc {
                    self.start(now);
                } else {
                    self.send(now);
                }
            }
            State6::Bound => {
                if self.new_exchange(now) {
                    self.state = State6::Renewing;
                    self.send(now);
                }
            }
            State6::Renewing => {
                if self.t2_at().is_some_and(|t2| now >= t2) {
                    if self.new_exchange(now) {
                        self.state = State6::Rebinding;
                        self.send(now);
                    }
                } else {
                    self.send(now);
                }
            }
            State6::Rebinding => self.send(now),
        }
    }

    /// The next thing to do; call until `None` after every input.
    pub fn poll_output(&mut self) -> Option<Output6> {
        self.out.pop_front()
    }

    fn t2_at(&self) -> Option<Instant> {
        self.lease.as_ref().and_then(|l| l.times.rebind_at())
    }

    fn discard(&mut self, why: Discarded6) {
        tracing::debug!(%why, "DHCPv6 datagram dropped");
        self.out.push_back(Output6::Event(Event6::Discarded(why)));
    }

    fn new_exchange(&mut self, now: Instant) -> bool {
        let mut b = [0u8; 3];
        if let Err(e) = self.random.fill(&mut b) {
            self.fail(e);
            return false;
        }
        self.xid = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        self.exchange_start = now;
        self.attempts = 0;
        self.rt = Duration::ZERO;
        true
    }

    fn fail(&mut self, e: RandomError) {
        self.state = State6::Init;
        self.deadline = None;
        self.out.push_back(Output6::Event(Event6::RandomFailed(e)));
        self.update_timeout();
    }

    fn handle_advertise(&mut self, now: Instant, msg: &Received6) {
        // An ADVERTISE is read like a REPLY: our IA with an address, a server ID, no error.
        let lease = match Lease6::from_reply(msg, self.config.iaid, now) {
            Ok(l) => l,
            Err(e) => return self.discard(Discarded6::Refused(e)),
        };
        let preference = match msg.preference() {
            Ok(p) => p,
            Err(e) => return self.discard(Discarded6::Decode(e)),
        };
        let offer = Advertised {
            preference,
            server_id: lease.server_id,
            addresses: lease.addresses.iter().map(|a| a.address).collect(),
        };
        // RFC 8415 §18.2.1: preference 255, or any ADVERTISE after the first RT, is taken at
        // once; before that the highest preference wins (the first among equals).
        if preference == 255 || self.first_rt_over {
            return self.request(now, offer);
        }
        if self.best.as_ref().is_none_or(|b| b.preference < preference) {
            self.best = Some(offer);
        }
    }

    fn request(&mut self, now: Instant, offer: Advertised) {
        if self.new_exchange(now) {
            self.best = Some(offer);
            self.state = State6::Requesting;
            self.send(now);
        }
    }

    fn handle_reply(&mut self, now: Instant, msg: &Received6) {
        let lease = match Lease6::from_reply(msg, self.config.iaid, self.sent_at) {
            Ok(l) => l,
            Err(e) => {
                let no_binding = matches!(e, LeaseError6::Status { code: NO_BINDING, .. });
                let refused = matches!(e, LeaseError6::Status { .. } | LeaseError6::NoAddress);
                self.discard(Discarded6::Refused(e));
                match self.state {
                    // RFC 8415 §18.2.10.1: NoBinding to a RENEW/REBIND (the server lost our
                    // IA, e.g. restarted without its lease database): REQUEST it back from
                    // that server, keeping the lease until it expires; no more RENEWs.
                    State6::Renewing | State6::Rebinding if no_binding => {
                        if let Some(server) = msg.option(code::SERVER_ID) {
                            self.reacquire(now, server.value.clone());
                        }
                    }
                    // A REQUEST refused: start over (another server may have addresses). A
                    // RENEW/REBIND refused otherwise keeps trying until T2 / expiry.
                    State6::Requesting if refused => self.start(now),
                    _ => {}
                }
                return;
            }
        };
        // A REPLY while a lease is held (RENEW, REBIND, or the REQUEST reacquiring it).
        let renewed = self.lease.is_some();
        self.state = State6::Bound;
        self.best = None;
        self.deadline = lease.times.renew_at();
        self.lease = Some(lease.clone());
        self.out.push_back(Output6::Event(if renewed {
            Event6::Renewed(lease)
        } else {
            Event6::Bound(lease)
        }));
        self.update_timeout();
    }

    /// REQUEST for the held lease's addresses from `server_id`.
    fn reacquire(&mut self, now: Instant, server_id: Vec<u8>) {
        let addresses = self
            .lease
            .as_ref()
            .map(|l| l.addresses.iter().map(|a| a.address).collect())
            .unwrap_or_default();
        self.request(
            now,
            Advertised {
                preference: 0,
                server_id,
                addresses,
            },
        );
    }

    fn message(
        &self,
        kind: MessageType,
        server_id: Option<&[u8]>,
        addresses: &[Ipv6Addr],
        now: Instant,
    ) -> d6::Message {
        let xid = self.xid.to_be_bytes();
        let mut m = d6::Message::new_with_id(kind, [xid[1], xid[2], xid[3]]);
        let opts = m.opts_mut();
        opts.insert(DhcpOption::ClientId(self.config.duid.clone()));
        if let Some(id) = server_id {
            opts.insert(DhcpOption::ServerId(id.to_vec()));
        }
        // Hundredths of a second since the exchange began (RFC 8415 §21.9).
        let elapsed = now.saturating_duration_since(self.exchange_start).as_millis() / 10;
        opts.insert(DhcpOption::ElapsedTime(
            u16::try_from(elapsed).unwrap_or(u16::MAX),
        ));
        if kind != MessageType::Release {
            opts.insert(DhcpOption::ORO(d6::ORO {
                opts: self
                    .config
                    .option_request_list
                    .iter()
                    .map(|&c| OptionCode::from(c))
                    .collect(),
            }));
            if let Some(v) = &self.config.vendor_class {
                opts.insert(DhcpOption::VendorClass(d6::VendorClass {
                    num: CISCO_ENTERPRISE,
                    data: vec![v.clone()],
                }));
            }
        }
        let mut ia_opts = DhcpOptions::new();
        for a in addresses {
            ia_opts.insert(DhcpOption::IAAddr(d6::IAAddr {
                addr: *a,
                preferred_life: 0,
                valid_life: 0,
                opts: DhcpOptions::new(),
            }));
        }
        opts.insert(DhcpOption::IANA(d6::IANA {
            id: self.config.iaid,
            t1: 0,
            t2: 0,
            opts: ia_opts,
        }));
        m
    }

    /// Sends (or resends) the current state's message and sets the next deadline.
    fn send(&mut self, now: Instant) {
        let (kind, server, addresses, timing) = match self.state {
            State6::Init | State6::Bound => return,
            State6::Soliciting => (MessageType::Solicit, None, Vec::new(), SOLICIT),
            State6::Requesting => {
                let Some(best) = &self.best else { return };
                (
                    MessageType::Request,
                    Some(best.server_id.clone()),
                    best.addresses.clone(),
                    REQUEST,
                )
            }
            State6::Renewing | State6::Rebinding => {
                let Some(l) = &self.lease else { return };
                let addresses = l.addresses.iter().map(|a| a.address).collect();
                if self.state == State6::Renewing {
                    (MessageType::Renew, Some(l.server_id.clone()), addresses, RENEW)
                } else {
                    (MessageType::Rebind, None, addresses, RENEW)
                }
            }
        };
        let m = self.message(kind, server.as_deref(), &addresses, now);
        if !self.push_transmit(&m) {
            return;
        }
        self.sent_at = now;
        self.attempts = self.attempts.saturating_add(1);
        // RFC 8415 §15: RT = IRT + RAND·IRT, then 2·RTprev + RAND·RTprev, capped at
        // MRT + RAND·MRT; RAND uniform in [-0.1, 0.1], > 0 for the first SOLICIT.
        let mut r = [0u8; 2];
        if let Err(e) = self.random.fill(&mut r) {
            return self.fail(e);
        }
        let r = i64::from(u16::from_be_bytes(r) % 201) - 100; // per mille, -100..=100
        let r = if self.state == State6::Soliciting && self.rt.is_zero() {
            r.abs().max(1)
        } else {
            r
        };
        let jitter = |d: Duration| -> Duration {
            let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
            Duration::from_millis(u64::try_from(ms + ms * r / 1000).unwrap_or(0))
        };
        let base = if self.rt.is_zero() {
            timing.irt
        } else {
            self.rt * 2
        };
        self.rt = if base > timing.mrt {
            jitter(timing.mrt)
        } else {
            jitter(base)
        };
        // MRD: RENEW until T2, REBIND (and a REQUEST reacquiring a lease) until it expires.
        let boundary = match self.state {
            State6::Renewing => self.t2_at(),
            State6::Rebinding | State6::Requesting => self.lease.as_ref().and_then(Lease6::expires_at),
            _ => None,
        };
        let next = now + self.rt;
        self.deadline = Some(boundary.map_or(next, |b| next.min(b.max(now))));
        self.update_timeout();
    }

    fn push_transmit(&mut self, m: &d6::Message) -> bool {
        let mut payload = Vec::with_capacity(128);
        match m.encode(&mut Encoder::new(&mut payload)) {
            Ok(()) => {
                self.out.push_back(Output6::Transmit(Transmit6 {
                    to: SocketAddrV6::new(ALL_SERVERS, SERVER_PORT6, 0, 0),
                    payload,
                }));
                true
            }
            Err(err) => {
                tracing::error!(%err, "encoding a DHCPv6 message failed");
                false
            }
        }
    }

    fn update_timeout(&mut self) {
        if self.deadline != self.reported_deadline {
            self.reported_deadline = self.deadline;
            self.out.push_back(Output6::Timeout(self.deadline));
        }
    }
}

#[cfg(test)]
mod tests;
