//! One phone line's user agent, sans-IO: registration (digest auth, mediasec, refresh) and the
//! server side of incoming INVITEs (challenged when `Auth_INVITE_n_` is Yes). Time is an input;
//! the driver in `line.rs` moves bytes and keeps the clock.
//!
//! Transactions follow RFC 3261 §17 for the requests involved: the REGISTER client transaction
//! retransmits over UDP on Timer E (T1 doubling up to T2) and gives up on Timer F (64*T1); final
//! responses to INVITE are retransmitted over UDP until the ACK (Timer G / the 2xx rule of
//! §13.3.1.4), at most 64*T1.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip_mediasec::{Agreement, Event as MediaEvent, MediaSecurity, Verdict};
use sip_message::build::{Request, Response};
use sip_message::digest::{Algorithm, Challenge, Credentials, DigestRequest};
use sip_message::{HeaderName, Message, Method};
use zeroize::Zeroizing;

pub const T1: Duration = Duration::from_millis(500);
pub const T2: Duration = Duration::from_secs(4);

/// The line's transport as the UA sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
}

impl Transport {
    fn via_name(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
        }
    }

    fn reliable(self) -> bool {
        self != Transport::Udp
    }

    pub fn mediasec(self) -> sip_mediasec::Transport {
        match self {
            Transport::Udp => sip_mediasec::Transport::Udp,
            Transport::Tcp => sip_mediasec::Transport::Tcp,
            Transport::Tls => sip_mediasec::Transport::Tls,
        }
    }
}

/// What the line needs to know.
pub struct LineConfig {
    pub user: String,
    pub password: Zeroizing<String>,
    /// The registrar's domain (`Proxy_n_` host\[:port\]): Request-URI `sip:DOMAIN`, AOR `sip:USER@DOMAIN`.
    pub domain: String,
    pub transport: Transport,
    /// Our address as the peer reaches it (Via sent-by, Contact).
    pub local: SocketAddr,
    pub expires: u32,
    pub auth_invite: bool,
    pub mediasec: sip_mediasec::Policy,
}

/// What the UA reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    Registered {
        expires: u32,
        media: Option<MediaSecurity>,
    },
    RegistrationFailed {
        reason: String,
    },
    Mediasec(MediaEvent),
    /// An incoming INVITE was challenged (401), accepted (200) or refused (403).
    IncomingInvite {
        call_id: String,
        outcome: &'static str,
    },
}

pub enum Output {
    /// Bytes to send; `to` is `None` for the registrar flow, else the source of the request
    /// being answered.
    Transmit {
        to: Option<SocketAddr>,
        bytes: Vec<u8>,
    },
    Event(LineEvent),
}

struct ClientTx {
    branch: String,
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

pub struct Line {
    cfg: LineConfig,
    agreement: Agreement,
    call_id: String,
    from_tag: String,
    cseq: u32,
    pending: Option<ClientTx>,
    challenge: Option<(Challenge, HeaderName)>,
    nc: u32,
    failed_auth_for_nonce: Option<String>,
    refresh_at: Option<Instant>,
    registered: bool,
    /// Nonces we issued for incoming INVITEs (bounded).
    issued: VecDeque<Challenge>,
    invites: Vec<ServerInvite>,
    out: VecDeque<Output>,
    rng: ring::rand::SystemRandom,
}

fn random_hex(rng: &ring::rand::SystemRandom, bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    let _ = ring::rand::SecureRandom::fill(rng, &mut buf);
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl Line {
    pub fn new(cfg: LineConfig) -> Line {
        let rng = ring::rand::SystemRandom::new();
        let agreement = Agreement::new(cfg.mediasec.clone(), cfg.transport.mediasec());
        Line {
            call_id: format!("{}@{}", random_hex(&rng, 12), cfg.local.ip()),
            from_tag: random_hex(&rng, 6),
            cfg,
            agreement,
            cseq: 0,
            pending: None,
            challenge: None,
            nc: 0,
            failed_auth_for_nonce: None,
            refresh_at: None,
            registered: false,
            issued: VecDeque::new(),
            invites: Vec::new(),
            out: VecDeque::new(),
            rng,
        }
    }

    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// The earliest time `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
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
        while let Some(e) = self.agreement.poll_event() {
            self.out.push_back(Output::Event(LineEvent::Mediasec(e)));
        }
    }

    /// Sends a (new) REGISTER, with credentials when a challenge is known.
    pub fn register(&mut self, now: Instant) {
        self.drain_mediasec_events();
        self.cseq += 1;
        let branch = format!("z9hG4bK{}", random_hex(&self.rng, 8));
        let uri = format!("sip:{}", self.cfg.domain);
        let aor = format!("<sip:{}@{}>", self.cfg.user, self.cfg.domain);
        let transport = self.cfg.transport.via_name();
        let mut req = Request::new(Method::Register, uri.clone())
            .header(
                "Via",
                format!("SIP/2.0/{transport} {};branch={branch};rport", self.cfg.local),
            )
            .header("Max-Forwards", "70")
            .header("From", format!("{aor};tag={}", self.from_tag))
            .header("To", aor)
            .header("Call-ID", self.call_id.clone())
            .header("CSeq", format!("{} REGISTER", self.cseq))
            .header(
                "Contact",
                format!(
                    "<sip:{}@{};transport={}>",
                    self.cfg.user,
                    self.cfg.local,
                    transport.to_ascii_lowercase()
                ),
            )
            .header("Expires", self.cfg.expires.to_string())
            .header("User-Agent", concat!("phone-agent/", env!("CARGO_PKG_VERSION")));
        if let Some((challenge, kind)) = &self.challenge {
            self.nc += 1;
            let request = DigestRequest {
                username: &self.cfg.user,
                password: &self.cfg.password,
                method: "REGISTER",
                uri: &uri,
            };
            match challenge.respond(&request, &random_hex(&self.rng, 8), self.nc) {
                Ok(creds) => {
                    let name = if *kind == HeaderName::ProxyAuthenticate {
                        "Proxy-Authorization"
                    } else {
                        "Authorization"
                    };
                    req.headers.push(name, creds.to_string());
                }
                Err(e) => {
                    self.fail(format!("cannot answer the challenge: {e}"));
                    return;
                }
            }
        }
        self.agreement.prepare_request(&mut req);
        let bytes = req.to_bytes();
        self.pending = Some(ClientTx {
            branch,
            bytes: bytes.clone(),
            interval: T1,
            next_retransmit: (!self.cfg.transport.reliable()).then_some(now + T1),
            deadline: now + 64 * T1,
        });
        self.refresh_at = None;
        self.out.push_back(Output::Transmit { to: None, bytes });
    }

    fn fail(&mut self, reason: String) {
        self.pending = None;
        self.registered = false;
        self.out
            .push_back(Output::Event(LineEvent::RegistrationFailed { reason }));
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(tx) = &mut self.pending {
            if now >= tx.deadline {
                self.fail("no response from the registrar (Timer F)".into());
            } else if tx.next_retransmit.is_some_and(|t| now >= t) {
                tx.interval = (tx.interval * 2).min(T2);
                tx.next_retransmit = Some(now + tx.interval);
                self.out.push_back(Output::Transmit {
                    to: None,
                    bytes: tx.bytes.clone(),
                });
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
                self.out.push_back(Output::Transmit {
                    to: Some(inv.to),
                    bytes: inv.bytes.clone(),
                });
            }
            k += 1;
        }
        if self.refresh_at.is_some_and(|t| now >= t) {
            self.register(now);
        }
    }

    /// A message from the network; `from` is its source address.
    pub fn handle_message(&mut self, now: Instant, from: SocketAddr, bytes: &[u8]) {
        let msg = match Message::parse(bytes) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(%from, "dropping unparsable message: {e}");
                return;
            }
        };
        if let Err(e) = msg.validate() {
            tracing::warn!(%from, "dropping invalid message: {e}");
            return;
        }
        if msg.is_request() {
            self.handle_request(now, from, &msg);
        } else {
            self.handle_response(now, &msg);
        }
    }

    fn handle_response(&mut self, now: Instant, msg: &Message<'_>) {
        let branch = msg
            .via()
            .ok()
            .and_then(|v| v.first().and_then(|v| v.branch()).map(str::to_owned));
        let Some(tx) = &self.pending else { return };
        if branch.as_deref() != Some(tx.branch.as_str()) {
            return; // a stray or late response
        }
        let Some(code) = msg.status() else { return };
        if code < 200 {
            if let Some(tx) = &mut self.pending {
                tx.next_retransmit = tx.next_retransmit.map(|_| now + T2);
            }
            return;
        }
        self.pending = None;
        let verdict = match self.agreement.handle_response(msg) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("malformed Security-Server ignored: {e}");
                Verdict::Continue
            }
        };
        self.drain_mediasec_events();
        match code {
            200..=299 => {
                let granted = msg
                    .contacts()
                    .ok()
                    .and_then(|c| {
                        c.iter()
                            .find(|c| {
                                c.uri
                                    .sip()
                                    .is_some_and(|s| s.user == Some(self.cfg.user.as_str()))
                            })
                            .and_then(|c| c.param("expires"))
                            .and_then(|e| e.parse::<u32>().ok())
                    })
                    .or_else(|| msg.expires().ok().flatten())
                    .unwrap_or(self.cfg.expires);
                self.registered = true;
                self.failed_auth_for_nonce = None;
                // Refresh before expiry: halfway, at most 30 s before.
                let lead = (granted / 2).clamp(1, 30);
                self.refresh_at =
                    Some(now + Duration::from_secs(u64::from(granted.saturating_sub(lead).max(1))));
                self.out.push_back(Output::Event(LineEvent::Registered {
                    expires: granted,
                    media: self.agreement.media(),
                }));
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
                            self.fail(format!("{code}: credentials refused (User_ID / Password)"));
                            return;
                        }
                        self.failed_auth_for_nonce = Some(c.nonce.clone());
                        self.nc = 0;
                        self.challenge = Some((c, kind));
                        self.register(now);
                    }
                    Some(Err(e)) => self.fail(format!("{code} with a malformed challenge: {e}")),
                    None => self.fail(format!("{code} without a challenge")),
                }
            }
            494 => match verdict {
                Verdict::Retry => self.register(now),
                _ => self.fail("494 Security Agreement Required: no agreement".into()),
            },
            _ => self.fail(format!("{code} {}", msg.reason().unwrap_or_default())),
        }
    }

    fn respond(&mut self, to: SocketAddr, resp: Response) {
        self.out.push_back(Output::Transmit {
            to: Some(to),
            bytes: resp.to_bytes(),
        });
    }

    fn handle_request(&mut self, now: Instant, from: SocketAddr, msg: &Message<'_>) {
        let Some(method) = msg.method().cloned() else {
            return;
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
                    self.out.push_back(Output::Transmit {
                        to: Some(from),
                        bytes,
                    });
                    return;
                }
                let to_tag = random_hex(&self.rng, 6);
                let (resp, outcome) = self.answer_invite(msg, &to_tag);
                self.out.push_back(Output::Event(LineEvent::IncomingInvite {
                    call_id: call_id.clone(),
                    outcome,
                }));
                let bytes = resp.to_bytes();
                self.invites.push(ServerInvite {
                    call_id,
                    branch,
                    to: from,
                    bytes: bytes.clone(),
                    interval: T1,
                    next_retransmit: (!self.cfg.transport.reliable()).then_some(now + T1),
                    deadline: now + 64 * T1,
                });
                self.out.push_back(Output::Transmit {
                    to: Some(from),
                    bytes,
                });
            }
            Method::Bye | Method::Options => {
                self.respond(from, Response::to(msg, 200, "OK", Some("phone")));
            }
            _ => {
                self.respond(from, Response::to(msg, 501, "Not Implemented", Some("phone")));
            }
        }
    }

    /// RFC 3261 §22 from the UAS side: challenge, then verify (SPEC §3, `Auth_INVITE_n_`).
    fn answer_invite(&mut self, msg: &Message<'_>, to_tag: &str) -> (Response, &'static str) {
        let contact = format!("<sip:{}@{}>", self.cfg.user, self.cfg.local);
        let ok = |msg: &Message<'_>| {
            let sdp = format!(
                "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n",
                ip = self.cfg.local.ip()
            );
            let mut r = Response::to(msg, 200, "OK", Some(to_tag))
                .header("Contact", contact.clone())
                .header("Content-Type", "application/sdp");
            r.body = sdp.into_bytes();
            r
        };
        if !self.cfg.auth_invite {
            return (ok(msg), "accepted (Auth_INVITE is No)");
        }
        let Some(h) = msg.headers_of(HeaderName::Authorization).next() else {
            let challenge = Challenge::digest(&self.cfg.domain, &random_hex(&self.rng, 16), Algorithm::Md5);
            let value = challenge.to_string();
            self.issued.push_back(challenge);
            while self.issued.len() > 32 {
                self.issued.pop_front();
            }
            return (
                Response::to(msg, 401, "Unauthorized", Some(to_tag)).header("WWW-Authenticate", value),
                "challenged (401)",
            );
        };
        let verified = Credentials::parse(&h.value()).ok().and_then(|creds| {
            let challenge = self.issued.iter().find(|c| c.nonce == creds.nonce)?;
            if creds.username != self.cfg.user {
                return None;
            }
            creds.verify(challenge, "INVITE", &self.cfg.password).ok()
        });
        match verified {
            Some(()) => (ok(msg), "accepted (credentials verified)"),
            None => (
                Response::to(msg, 403, "Forbidden", Some(to_tag)),
                "refused (wrong credentials)",
            ),
        }
    }
}
