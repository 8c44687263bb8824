//! One phone line's user agent: registration (digest, mediasec, refresh, failover, un-REGISTER)
//! and the server side of incoming INVITEs (challenged when `Auth_INVITE_n_` is Yes).
//!
//! Transactions follow RFC 3261 §17 for the requests involved: the REGISTER client
//! transaction retransmits over UDP on Timer E (T1 doubling up to T2; T2 once a provisional
//! response came) and gives up on Timer F (64*T1); final responses to INVITE are
//! retransmitted over UDP until the ACK (Timer G / the 2xx rule of §13.3.1.4), at most 64*T1.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use phone_secret::SecretString;
use sip_mediasec::{Agreement, Event as MediaEvent, MediaSecurity, Verdict};
use sip_message::build::{Request, Response};
use sip_message::digest::{Algorithm, Challenge, Credentials, DigestRequest};
use sip_message::{HeaderName, Message, Method, Uri};

use crate::rng::{Rng, RngError, hex};
use crate::{Target, Transport};

/// RFC 3261 T1: the round-trip estimate.
pub const T1: Duration = Duration::from_millis(500);
/// RFC 3261 T2: the longest retransmit interval of non-INVITE requests and INVITE responses.
pub const T2: Duration = Duration::from_secs(4);

/// What the line needs to know (the line's settings of cfg.xml).
pub struct Config {
    /// `User_ID_n_`.
    pub user: String,
    /// `Password_n_`.
    pub password: SecretString,
    /// The registrar's domain (`Proxy_n_` host\[:port\]): Request-URI `sip:DOMAIN`, AOR
    /// `sip:USER@DOMAIN`.
    pub domain: String,
    /// The lifetime asked for, in seconds (`Register_Expires_n_`).
    pub expires: u32,
    /// `Auth_INVITE_n_`: challenge incoming INVITEs.
    pub auth_invite: bool,
    /// `MediaSec_Request_n_` and `MediaSec_Over_TLS_Only_n_`.
    pub mediasec: sip_mediasec::Policy,
    /// The User-Agent header.
    pub user_agent: String,
}

impl Config {
    /// A line with defaults: 3600 s, no Auth INVITE, client-initiated mediasec.
    pub fn new(user: &str, password: &str, domain: &str) -> Config {
        Config {
            user: user.to_owned(),
            password: SecretString::new(password),
            domain: domain.to_owned(),
            expires: 3600,
            auth_invite: false,
            mediasec: sip_mediasec::Policy::client_initiated(),
            user_agent: concat!("sip-ua/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("domain", &self.domain)
            .field("expires", &self.expires)
            .field("auth_invite", &self.auth_invite)
            .field("mediasec", &self.mediasec)
            .finish()
    }
}

/// Errors of the line itself (not of the peer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// No target to register with.
    #[error("no target to register with")]
    NoTarget,
    /// The random source failed: nothing was sent (a branch, tag or cnonce of zeros would be
    /// predictable).
    #[error("refusing to send: {0}")]
    Rng(#[from] RngError),
}

/// Why a registration failed: the peer refused or never answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// A final response that ends the attempt (403, 404, a second 401 for the same nonce...).
    Refused {
        /// The status code.
        code: u16,
        /// What it means here.
        reason: String,
    },
    /// Every target failed (transport error, Timer F, 503); the last reason.
    AllTargetsFailed {
        /// The last target's failure.
        last: String,
    },
    /// The security agreement could not be reached (421/494 without a usable list, or one
    /// the policy forbids).
    Mediasec {
        /// Why.
        reason: String,
    },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused { code, reason } => write!(f, "{code}: {reason}"),
            Failure::AllTargetsFailed { last } => write!(f, "every target failed; the last: {last}"),
            Failure::Mediasec { reason } => write!(f, "mediasec: {reason}"),
        }
    }
}

/// What happened to an incoming INVITE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteOutcome {
    /// Answered 200 without a challenge (`Auth_INVITE` is No).
    AcceptedUnchallenged,
    /// Answered 401 with a fresh nonce.
    Challenged,
    /// The credentials verified: 200.
    AcceptedWithCredentials,
    /// Wrong or unknown credentials: 403.
    Refused,
}

impl std::fmt::Display for InviteOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            InviteOutcome::AcceptedUnchallenged => "accepted (Auth_INVITE is No)",
            InviteOutcome::Challenged => "challenged (401)",
            InviteOutcome::AcceptedWithCredentials => "accepted (credentials verified)",
            InviteOutcome::Refused => "refused (wrong credentials)",
        })
    }
}

/// What the line reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A 2xx to our REGISTER: bound for `expires` seconds (our own binding's lifetime).
    Registered {
        /// Seconds granted to our Contact.
        expires: u32,
        /// The media protection agreed, if any.
        media: Option<MediaSecurity>,
        /// The target that answered.
        target: Target,
    },
    /// A 2xx to our un-REGISTER (`Expires: 0`).
    Unregistered,
    /// The registration failed; the line stays idle until [`Line::start`].
    RegistrationFailed(Failure),
    /// The target failed; the line moves on to the next one (RFC 3263 §4.3).
    Failover {
        /// The target given up.
        from: Target,
        /// The next one.
        to: Target,
        /// Why.
        reason: String,
    },
    /// The security agreement reported something.
    Mediasec(MediaEvent),
    /// An incoming INVITE was answered.
    IncomingInvite {
        /// Its Call-ID.
        call_id: String,
        /// How.
        outcome: InviteOutcome,
    },
}

/// Bytes to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// `None`: over the flow to the current target; `Some`: to the source of the request
    /// being answered.
    pub to: Option<SocketAddr>,
    /// The message.
    pub bytes: Vec<u8>,
}

/// What the host must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Open a flow to this target (UDP: use it; TCP: connect; TLS: connect and handshake),
    /// then call [`Line::handle_connected`] or [`Line::handle_transport_error`].
    Connect(Target),
    /// Send these bytes.
    Transmit(Transmit),
    /// Something happened.
    Event(Event),
    /// The timer to arm, replacing any earlier one: `Some(at)` = call [`Line::handle_timeout`]
    /// at `at`; `None` = disarm it, nothing is timed (not registered and nothing pending).
    /// Reported only when it changes, after the transmits and events of the same step.
    Timeout(Option<Instant>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Register,
    Unregister,
}

struct ClientTx {
    branch: String,
    purpose: Purpose,
    bytes: Vec<u8>,
    interval: Duration,
    next_retransmit: Option<Instant>,
    deadline: Instant,
}

/// A final response to an INVITE waiting for its ACK.
struct ServerInvite {
    call_id: String,
    branch: String,
    to: SocketAddr,
    bytes: Vec<u8>,
    interval: Duration,
    next_retransmit: Option<Instant>,
    deadline: Instant,
}

/// The user agent of one line. See the crate documentation for the driving loop.
pub struct Line {
    cfg: Config,
    targets: Vec<Target>,
    current: usize,
    /// Our address on the current flow, once connected.
    local: Option<SocketAddr>,
    agreement: Agreement,
    call_id: String,
    from_tag: String,
    cseq: u32,
    pending: Option<ClientTx>,
    challenge: Option<(Challenge, HeaderName)>,
    nc: u32,
    failed_auth_for_nonce: Option<String>,
    refresh_at: Option<Instant>,
    /// What the next REGISTER on connect is for.
    want: Purpose,
    /// Nonces we issued for incoming INVITEs (bounded).
    issued: VecDeque<Challenge>,
    invites: Vec<ServerInvite>,
    out: VecDeque<Output>,
    reported_timeout: Option<Instant>,
    rng: Box<dyn Rng>,
}

impl std::fmt::Debug for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Line")
            .field("cfg", &self.cfg)
            .field("targets", &self.targets)
            .field("current", &self.current)
            .field("local", &self.local)
            .field("cseq", &self.cseq)
            .finish_non_exhaustive()
    }
}

/// How many challenges for incoming INVITEs are remembered.
const ISSUED_NONCES: usize = 32;

impl Line {
    /// A line that will register with `targets` in order (from [`crate::locate`]). Fails when
    /// there is no target, or when `rng` cannot make the Call-ID and From tag.
    pub fn new(cfg: Config, targets: Vec<Target>, mut rng: Box<dyn Rng>) -> Result<Line, Error> {
        let first = *targets.first().ok_or(Error::NoTarget)?;
        let call_id = hex(rng.as_mut(), 12)?;
        let from_tag = hex(rng.as_mut(), 6)?;
        let agreement = Agreement::new(cfg.mediasec.clone(), first.transport);
        Ok(Line {
            call_id,
            from_tag,
            cfg,
            targets,
            current: 0,
            local: None,
            agreement,
            cseq: 0,
            pending: None,
            challenge: None,
            nc: 0,
            failed_auth_for_nonce: None,
            refresh_at: None,
            want: Purpose::Register,
            issued: VecDeque::new(),
            invites: Vec::new(),
            out: VecDeque::new(),
            reported_timeout: None,
            rng,
        })
    }

    /// The target in use.
    pub fn target(&self) -> Option<&Target> {
        self.targets.get(self.current)
    }

    /// Our address on the current flow, once connected.
    pub fn local(&self) -> Option<SocketAddr> {
        self.local
    }

    /// Starts (or restarts) registering: asks for a flow to the first target.
    pub fn start(&mut self, _now: Instant) {
        self.current = 0;
        self.local = None;
        self.want = Purpose::Register;
        self.connect_current();
    }

    fn connect_current(&mut self) {
        if let Some(t) = self.targets.get(self.current).copied() {
            self.agreement = Agreement::new(self.cfg.mediasec.clone(), t.transport);
            self.challenge = None;
            self.failed_auth_for_nonce = None;
            self.out.push_back(Output::Connect(t));
        }
    }

    /// The flow asked for with [`Output::Connect`] is up; `local` is our address on it (Via
    /// sent-by, Contact). Sends the REGISTER.
    pub fn handle_connected(&mut self, now: Instant, local: SocketAddr) -> Result<(), Error> {
        self.local = Some(local);
        self.send_register(now, self.want)
    }

    /// The flow to the current target failed (connection refused or closed, TLS handshake
    /// refused...): RFC 3263 §4.3, the next target, or [`Failure::AllTargetsFailed`].
    pub fn handle_transport_error(&mut self, _now: Instant, reason: &str) -> Result<(), Error> {
        self.target_failed(reason.to_owned());
        Ok(())
    }

    /// Sends an un-REGISTER of our binding (`Contact: <ours>;expires=0`, `Expires: 0`);
    /// [`Event::Unregistered`] follows the 2xx.
    pub fn unregister(&mut self, now: Instant) -> Result<(), Error> {
        self.refresh_at = None;
        self.send_register(now, Purpose::Unregister)
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.drain_mediasec_events();
        if let Some(o) = self.out.pop_front() {
            return Some(o);
        }
        let next = self.deadline();
        if next != self.reported_timeout {
            self.reported_timeout = next;
            return Some(Output::Timeout(next));
        }
        None
    }

    /// The earliest time [`Line::handle_timeout`] has work.
    fn deadline(&self) -> Option<Instant> {
        let tx = self
            .pending
            .iter()
            .flat_map(|t| [t.next_retransmit, Some(t.deadline)])
            .flatten();
        let inv = self
            .invites
            .iter()
            .flat_map(|i| [i.next_retransmit, Some(i.deadline)])
            .flatten();
        tx.chain(inv).chain(self.refresh_at).min()
    }

    fn drain_mediasec_events(&mut self) {
        while let Some(sip_mediasec::Output::Event(e)) = self.agreement.poll_output() {
            self.out.push_back(Output::Event(Event::Mediasec(e)));
        }
    }

    fn contact_uri(&self, local: SocketAddr) -> String {
        let transport = self
            .targets
            .get(self.current)
            .map_or(Transport::Udp, |t| t.transport);
        format!(
            "sip:{}@{};transport={}",
            self.cfg.user,
            local,
            transport.as_str().to_ascii_lowercase()
        )
    }

    /// Sends a (new) REGISTER, with credentials when a challenge is known.
    fn send_register(&mut self, now: Instant, purpose: Purpose) -> Result<(), Error> {
        self.want = purpose;
        let Some(local) = self.local else {
            // Not connected yet: the REGISTER goes out on `handle_connected`.
            return Ok(());
        };
        let transport = self
            .targets
            .get(self.current)
            .map_or(Transport::Udp, |t| t.transport);
        // Every random value first: if the source fails, nothing is sent.
        let branch = format!("z9hG4bK{}", hex(self.rng.as_mut(), 8)?);
        let cnonce = match &self.challenge {
            Some(_) => Some(hex(self.rng.as_mut(), 8)?),
            None => None,
        };
        self.drain_mediasec_events();
        self.cseq += 1;
        let uri = format!("sip:{}", self.cfg.domain);
        let aor = format!("<sip:{}@{}>", self.cfg.user, self.cfg.domain);
        let expires = match purpose {
            Purpose::Register => self.cfg.expires,
            Purpose::Unregister => 0,
        };
        let contact = match purpose {
            Purpose::Register => format!("<{}>", self.contact_uri(local)),
            Purpose::Unregister => format!("<{}>;expires=0", self.contact_uri(local)),
        };
        let via = transport.as_str();
        let mut req = Request::new(Method::Register, uri.clone())
            .header("Via", format!("SIP/2.0/{via} {local};branch={branch};rport"))
            .header("Max-Forwards", "70")
            .header("From", format!("{aor};tag={}", self.from_tag))
            .header("To", aor)
            .header("Call-ID", format!("{}@{}", self.call_id, local.ip()))
            .header("CSeq", format!("{} REGISTER", self.cseq))
            .header("Contact", contact)
            .header("Expires", expires.to_string())
            .header("User-Agent", self.cfg.user_agent.clone());
        if let (Some((challenge, kind)), Some(cnonce)) = (&self.challenge, cnonce) {
            self.nc += 1;
            let request = DigestRequest {
                username: &self.cfg.user,
                password: self.cfg.password.expose(),
                method: "REGISTER",
                uri: &uri,
            };
            match challenge.respond(&request, &cnonce, self.nc) {
                Ok(creds) => {
                    let name = if *kind == HeaderName::ProxyAuthenticate {
                        "Proxy-Authorization"
                    } else {
                        "Authorization"
                    };
                    req.headers.push(name, creds.to_string());
                }
                Err(e) => {
                    self.fail(Failure::Refused {
                        code: 401,
                        reason: format!("cannot answer the challenge: {e}"),
                    });
                    return Ok(());
                }
            }
        }
        self.agreement.prepare_request(now, &mut req);
        let bytes = req.to_bytes();
        self.pending = Some(ClientTx {
            branch,
            purpose,
            bytes: bytes.clone(),
            interval: T1,
            next_retransmit: (transport == Transport::Udp).then_some(now + T1),
            deadline: now + 64 * T1,
        });
        self.refresh_at = None;
        self.out.push_back(Output::Transmit(Transmit { to: None, bytes }));
        Ok(())
    }

    fn fail(&mut self, failure: Failure) {
        self.pending = None;
        self.refresh_at = None;
        self.out
            .push_back(Output::Event(Event::RegistrationFailed(failure)));
    }

    /// The current target failed: move on, or give up.
    fn target_failed(&mut self, reason: String) {
        self.pending = None;
        self.refresh_at = None;
        let from = self.targets.get(self.current).copied();
        self.current += 1;
        self.local = None;
        match (from, self.targets.get(self.current).copied()) {
            (Some(from), Some(to)) => {
                tracing::warn!(%from, %to, "failover: {reason}");
                self.out
                    .push_back(Output::Event(Event::Failover { from, to, reason }));
                self.connect_current();
            }
            _ => self.fail(Failure::AllTargetsFailed { last: reason }),
        }
    }

    /// Time passed: retransmissions, Timer F, refreshes, the end of INVITE response
    /// retransmission.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        if let Some(tx) = &mut self.pending {
            if now >= tx.deadline {
                let target = self.targets.get(self.current).copied();
                let what = target.map_or_else(String::new, |t| format!(" at {t}"));
                self.target_failed(format!("no response from the registrar{what} (Timer F, 64*T1)"));
            } else if tx.next_retransmit.is_some_and(|t| now >= t) {
                tx.interval = (tx.interval * 2).min(T2);
                tx.next_retransmit = Some(now + tx.interval);
                self.out.push_back(Output::Transmit(Transmit {
                    to: None,
                    bytes: tx.bytes.clone(),
                }));
            }
        }
        let mut k = 0;
        while let Some(inv) = self.invites.get_mut(k) {
            if now >= inv.deadline {
                self.invites.remove(k);
                continue;
            }
            if inv.next_retransmit.is_some_and(|t| now >= t) {
                inv.interval = (inv.interval * 2).min(T2);
                inv.next_retransmit = Some(now + inv.interval);
                self.out.push_back(Output::Transmit(Transmit {
                    to: Some(inv.to),
                    bytes: inv.bytes.clone(),
                }));
            }
            k += 1;
        }
        if self.refresh_at.is_some_and(|t| now >= t) {
            self.send_register(now, Purpose::Register)?;
        }
        Ok(())
    }

    /// A message from the network; `from` is its source address. Unparsable or invalid
    /// messages are dropped (logged).
    pub fn handle_message(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) -> Result<(), Error> {
        let msg = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%from, "dropping unparsable message: {e}");
                return Ok(());
            }
        };
        if let Err(e) = msg.validate() {
            tracing::warn!(%from, "dropping invalid message: {e}");
            return Ok(());
        }
        if msg.is_request() {
            self.handle_request(now, from, &msg)
        } else {
            self.handle_response(now, &msg)
        }
    }

    /// Our binding's lifetime in a 2xx to REGISTER (RFC 3261 §10.2.4): the `expires` of the
    /// Contact that is ours (compared as URIs, §19.1.4, not by user part: other devices of
    /// the same user are listed too), else the Expires header, else what we asked for.
    fn granted_lifetime(&self, msg: &Message<'_>) -> u32 {
        let ours = self.local.map(|l| self.contact_uri(l));
        let ours = ours.as_deref().and_then(|u| Uri::parse(u).ok());
        let from_contact = ours.as_ref().and_then(|ours| {
            let ours = ours.sip()?;
            let contacts = msg.contacts().ok()?;
            let mine = contacts
                .iter()
                .find(|c| c.uri.sip().is_some_and(|s| s.equivalent(ours)))?;
            mine.param("expires")?.trim().parse::<u32>().ok()
        });
        from_contact
            .or_else(|| msg.expires().ok().flatten())
            .unwrap_or(self.cfg.expires)
    }

    fn handle_response(&mut self, now: Instant, msg: &Message<'_>) -> Result<(), Error> {
        let branch = msg
            .via()
            .ok()
            .and_then(|v| v.first().and_then(|v| v.branch()).map(str::to_owned));
        let Some(tx) = &mut self.pending else {
            return Ok(());
        };
        if branch.as_deref() != Some(tx.branch.as_str()) {
            return Ok(()); // a stray or late response
        }
        let Some(code) = msg.status() else {
            return Ok(());
        };
        if code < 200 {
            // Timer E continues at T2 after a provisional response (§17.1.2.2).
            tx.next_retransmit = tx.next_retransmit.map(|_| now + T2);
            return Ok(());
        }
        let purpose = tx.purpose;
        self.pending = None;
        let verdict = match self.agreement.handle_response(now, msg) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("malformed Security-Server ignored: {e}");
                Verdict::Continue
            }
        };
        self.drain_mediasec_events();
        match code {
            200..=299 if purpose == Purpose::Unregister => {
                self.out.push_back(Output::Event(Event::Unregistered));
            }
            200..=299 => {
                let granted = self.granted_lifetime(msg);
                self.failed_auth_for_nonce = None;
                if granted == 0 {
                    self.fail(Failure::Refused {
                        code,
                        reason: "the registrar bound our Contact for 0 seconds".into(),
                    });
                    return Ok(());
                }
                // Refresh before expiry: halfway, at most 30 s before.
                let lead = (granted / 2).clamp(1, 30);
                self.refresh_at =
                    Some(now + Duration::from_secs(u64::from(granted.saturating_sub(lead).max(1))));
                let target = self.targets.get(self.current).copied();
                if let Some(target) = target {
                    self.out.push_back(Output::Event(Event::Registered {
                        expires: granted,
                        media: self.agreement.media(),
                        target,
                    }));
                }
            }
            401 | 407 => {
                let kind = if code == 401 {
                    HeaderName::WwwAuthenticate
                } else {
                    HeaderName::ProxyAuthenticate
                };
                let challenge = msg.headers_of(kind).next().map(|h| Challenge::parse(&h.value()));
                match challenge {
                    Some(Ok(c)) => {
                        if self.failed_auth_for_nonce.as_deref() == Some(c.nonce.as_str()) && !c.stale {
                            self.fail(Failure::Refused {
                                code,
                                reason: "credentials refused (User_ID / Password)".into(),
                            });
                            return Ok(());
                        }
                        self.failed_auth_for_nonce = Some(c.nonce.clone());
                        self.nc = 0;
                        self.challenge = Some((c, kind));
                        self.send_register(now, purpose)?;
                    }
                    Some(Err(e)) => self.fail(Failure::Refused {
                        code,
                        reason: format!("malformed challenge: {e}"),
                    }),
                    None => self.fail(Failure::Refused {
                        code,
                        reason: "no challenge".into(),
                    }),
                }
            }
            421 | 494 => match verdict {
                Verdict::Retry => self.send_register(now, purpose)?,
                _ => {
                    let tags = msg.tokens(HeaderName::Require).unwrap_or_default().join(", ");
                    let reason = if code == 494 {
                        "494 Security Agreement Required: no agreement".to_owned()
                    } else if tags.is_empty() {
                        "421 Extension Required without Require".to_owned()
                    } else {
                        format!("421 Extension Required: {tags}")
                    };
                    self.fail(Failure::Mediasec { reason });
                }
            },
            503 => {
                // RFC 3263 §4.3: a 503 moves on to the next target.
                let reason = format!("503 {}", msg.reason().unwrap_or_default());
                self.target_failed(reason);
            }
            _ => self.fail(Failure::Refused {
                code,
                reason: msg.reason().unwrap_or_default().to_owned(),
            }),
        }
        Ok(())
    }

    fn respond(&mut self, to: SocketAddr, resp: Response) {
        self.out.push_back(Output::Transmit(Transmit {
            to: Some(to),
            bytes: resp.to_bytes(),
        }));
    }

    fn handle_request(&mut self, now: Instant, from: SocketAddr, msg: &Message<'_>) -> Result<(), Error> {
        let Some(method) = msg.method().cloned() else {
            return Ok(());
        };
        let call_id = msg.call_id().unwrap_or_default().to_owned();
        let branch = msg
            .via()
            .ok()
            .and_then(|v| v.first().and_then(|v| v.branch()).map(str::to_owned))
            .unwrap_or_default();
        match method {
            Method::Ack => {
                self.invites.retain(|i| i.call_id != call_id);
            }
            Method::Invite => {
                // A retransmission: answer again with the stored response.
                if let Some(inv) = self
                    .invites
                    .iter()
                    .find(|i| i.branch == branch && i.call_id == call_id)
                {
                    let bytes = inv.bytes.clone();
                    self.out.push_back(Output::Transmit(Transmit {
                        to: Some(from),
                        bytes,
                    }));
                    return Ok(());
                }
                let to_tag = hex(self.rng.as_mut(), 6)?;
                let (resp, outcome) = self.answer_invite(msg, &to_tag)?;
                self.out.push_back(Output::Event(Event::IncomingInvite {
                    call_id: call_id.clone(),
                    outcome,
                }));
                let bytes = resp.to_bytes();
                let reliable = self
                    .targets
                    .get(self.current)
                    .is_some_and(|t| t.transport != Transport::Udp);
                self.invites.push(ServerInvite {
                    call_id,
                    branch,
                    to: from,
                    bytes: bytes.clone(),
                    interval: T1,
                    next_retransmit: (!reliable).then_some(now + T1),
                    deadline: now + 64 * T1,
                });
                self.out.push_back(Output::Transmit(Transmit {
                    to: Some(from),
                    bytes,
                }));
            }
            Method::Bye | Method::Options => {
                let tag = hex(self.rng.as_mut(), 6)?;
                self.respond(from, Response::to(msg, 200, "OK", Some(&tag)));
            }
            _ => {
                let tag = hex(self.rng.as_mut(), 6)?;
                self.respond(from, Response::to(msg, 501, "Not Implemented", Some(&tag)));
            }
        }
        Ok(())
    }

    /// RFC 3261 §22 from the UAS side: challenge, then verify (`Auth_INVITE_n_`).
    fn answer_invite(&mut self, msg: &Message<'_>, to_tag: &str) -> Result<(Response, InviteOutcome), Error> {
        let local = self.local.unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
        let contact = format!("<sip:{}@{}>", self.cfg.user, local);
        let ok = |msg: &Message<'_>| {
            let sdp = format!(
                "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n",
                ip = local.ip()
            );
            let mut r = Response::to(msg, 200, "OK", Some(to_tag))
                .header("Contact", contact.clone())
                .header("Content-Type", "application/sdp");
            r.body = sdp.into_bytes();
            r
        };
        if !self.cfg.auth_invite {
            return Ok((ok(msg), InviteOutcome::AcceptedUnchallenged));
        }
        let Some(h) = msg.headers_of(HeaderName::Authorization).next() else {
            let nonce = hex(self.rng.as_mut(), 16)?;
            let challenge = Challenge::digest(&self.cfg.domain, &nonce, Algorithm::Md5);
            let value = challenge.to_string();
            self.issued.push_back(challenge);
            while self.issued.len() > ISSUED_NONCES {
                self.issued.pop_front();
            }
            return Ok((
                Response::to(msg, 401, "Unauthorized", Some(to_tag)).header("WWW-Authenticate", value),
                InviteOutcome::Challenged,
            ));
        };
        let verified = Credentials::parse(&h.value()).ok().and_then(|creds| {
            let challenge = self.issued.iter().find(|c| c.nonce == creds.nonce)?;
            if creds.username != self.cfg.user {
                return None;
            }
            creds.verify(challenge, "INVITE", self.cfg.password.expose()).ok()
        });
        Ok(match verified {
            Some(()) => (ok(msg), InviteOutcome::AcceptedWithCredentials),
            None => (
                Response::to(msg, 403, "Forbidden", Some(to_tag)),
                InviteOutcome::Refused,
            ),
        })
    }
}
