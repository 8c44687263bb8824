//! The client state machine: auth dialogue, tunnel CONNECT, CSTP data phase, DPD/keepalive,
//! reconnect with the cookie, clean disconnect.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use thiserror::Error;
use zeroize::Zeroizing;

use crate::auth::{self, AuthForm, AuthPage, AuthXmlError};
use crate::frame::{self, FrameDecoder, FrameError, PacketType};
use crate::http::{self, HttpError, Response};
use crate::tunnel::{TunnelConfig, TunnelError};
use crate::{Config, Stats};

/// Why the session failed or went down.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A malformed HTTP response.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A malformed auth document.
    #[error(transparent)]
    AuthXml(#[from] AuthXmlError),
    /// Malformed CSTP bytes.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// An unusable tunnel answer.
    #[error(transparent)]
    Tunnel(#[from] TunnelError),
    /// The server refused the credentials (a 401, or the same form asked again).
    #[error("authentication refused by the server: {message}")]
    AuthRefused {
        /// The server's words (HTTP reason or the form's message).
        message: String,
    },
    /// `VPN_Tunnel_Group` is not among the groups the server offers.
    #[error("tunnel group `{group}` is not offered by the server (it offers: {})", offered.join(", "))]
    GroupNotOffered {
        /// The configured group.
        group: String,
        /// The `value (label)` of each offered group.
        offered: Vec<String>,
    },
    /// The server's form asks for something the phone has no setting for.
    #[error(
        "the server's login form asks for `{name}` ({kind} input labelled `{label}`), which this client cannot answer"
    )]
    UnsupportedInput {
        /// The input's name.
        name: String,
        /// Its type.
        kind: String,
        /// Its label.
        label: String,
    },
    /// The form posts somewhere else than this server.
    #[error("the server's login form posts to `{action}`, not a path on this server")]
    FormAction {
        /// The action attribute.
        action: String,
    },
    /// More form rounds than the bound.
    #[error("authentication did not complete within {max} forms")]
    TooManyRounds {
        /// The bound.
        max: usize,
    },
    /// An HTTP status that is not part of the dialogue.
    #[error("the server answered {status} {reason} during {during}")]
    UnexpectedStatus {
        /// The status code.
        status: u16,
        /// The reason phrase (or `X-Reason`).
        reason: String,
        /// `authentication` or `CONNECT`.
        during: &'static str,
    },
    /// Authentication completed without a `webvpn` cookie or session token.
    #[error("authentication completed but the server sent no webvpn cookie or session-token")]
    NoCookie,
    /// The server refused the cookie on the first CONNECT.
    #[error("the server refused the session cookie: {reason}")]
    CookieRefused {
        /// The reason phrase.
        reason: String,
    },
    /// TLS refused (handshake failure, server certificate refused): never retried.
    #[error("TLS refused: {0}")]
    TlsRefused(String),
    /// The TLS connection failed or was lost.
    #[error("TLS connection lost: {0}")]
    TlsLost(String),
    /// No answer in time.
    #[error("no answer from the server within {waited:?} ({during})")]
    ResponseTimeout {
        /// The time waited.
        waited: Duration,
        /// What was awaited.
        during: &'static str,
    },
    /// Dead peer detection: nothing received for twice the DPD interval.
    #[error("dead peer: nothing received for {silent:?} (DPD {dpd:?})")]
    PeerDead {
        /// Time since the last received byte.
        silent: Duration,
        /// The DPD interval.
        dpd: Duration,
    },
    /// The server sent DISCONNECT. ocserv does so when it shuts down or restarts (code 0),
    /// so it is retried like a lost connection; a session the server really ended fails the
    /// retry with a refused cookie and a fresh login.
    #[error("the server disconnected the session (code 0x{code:02x}: {reason})")]
    ServerDisconnect {
        /// The first payload byte.
        code: u8,
        /// The text after it.
        reason: String,
    },
    /// The server sent TERMINATE (shutting down).
    #[error("the server is shutting down (TERMINATE)")]
    ServerTerminate,
    /// A COMPRESSED packet although compression was never offered.
    #[error("the server sent a compressed packet, but compression was not negotiated")]
    UnexpectedCompressed,
    /// The rekey time came (`X-CSTP-Rekey-Time`): a new tunnel with the cookie.
    #[error("rekey time reached: opening a new tunnel")]
    Rekey,
    /// Reconnecting failed for longer than the policy allows.
    #[error("gave up reconnecting after {after:?}; last error: {last}")]
    ReconnectGaveUp {
        /// Time since the tunnel went down.
        after: Duration,
        /// The last error.
        last: Box<Error>,
    },
}

impl Error {
    /// Errors that end the session even after it was up once (no reconnect).
    fn is_final(&self) -> bool {
        matches!(
            self,
            Error::AuthRefused { .. }
                | Error::GroupNotOffered { .. }
                | Error::UnsupportedInput { .. }
                | Error::FormAction { .. }
                | Error::TlsRefused(_)
                | Error::UnexpectedCompressed
                | Error::NoCookie
        )
    }
}

/// How the agent's TLS connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsClosed {
    /// The handshake or the certificate was refused: the session ends, no retry.
    Refused(String),
    /// TCP/TLS could not be opened or was lost: retried once the tunnel was up.
    Lost(String),
}

/// What the host does with the TLS connection to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsAction {
    /// Open a connection (TCP, TLS with the server's certificate validated), then call
    /// [`Client::handle_tls_connected`] or [`Client::handle_tls_closed`].
    Open,
    /// Write these bytes as one TLS write (one CSTP frame per TLS record).
    Write(Vec<u8>),
    /// Close the connection (no further data is expected from it).
    Close,
}

/// A state change the host shows or acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The auth dialogue completed (the cookie is held inside the client).
    Authenticated,
    /// The tunnel is up for the first time: apply the address, routes and MTU.
    Connected(TunnelConfig),
    /// The tunnel is up again after a reconnect (the address may have changed).
    Reconnected(TunnelConfig),
    /// The tunnel is down; the client retries at `retry_at`.
    Down {
        /// Why.
        reason: Error,
        /// When the next attempt starts.
        retry_at: Instant,
    },
    /// The session ended: `None` after [`Client::disconnect`], else the failure.
    Closed(Option<Error>),
}

/// What the host does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Act on the TLS connection.
    Tls(TlsAction),
    /// Write this IP packet to the TUN device.
    Tun(Vec<u8>),
    /// Show or act on a state change.
    Event(Event),
    /// The timer to arm, replacing any earlier one: `Some(at)` = call
    /// [`Client::handle_timeout`] at `at`; `None` = disarm it (closed, or waiting on the host
    /// with nothing to time). Reported only when it changes, after the other outputs of the step.
    Timeout(Option<Instant>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Auth,
    Tunnel,
}

#[derive(Debug)]
enum Phase {
    Opening(Purpose),
    Auth,
    Connecting,
    Connected,
    Waiting(Instant),
    Closed,
}

#[derive(Debug, Default)]
struct Timers {
    last_rx: Option<Instant>,
    last_tx: Option<Instant>,
    dpd_sent: Option<Instant>,
    rekey_at: Option<Instant>,
}

/// An AnyConnect-compatible client session: see the [crate documentation](crate).
#[derive(Debug)]
pub struct Client {
    config: Config,
    phase: Phase,
    tls_busy: bool,
    deadline: Option<Instant>,
    rx: Vec<u8>,
    decoder: FrameDecoder,
    out: VecDeque<Output>,
    reported: Option<Instant>,
    rounds: usize,
    sent_username: bool,
    sent_password: bool,
    group_in_init: bool,
    context_cookie: Option<Zeroizing<String>>,
    cookie: Option<Zeroizing<String>>,
    tunnel: Option<TunnelConfig>,
    ever_up: bool,
    down_since: Option<Instant>,
    attempt: u32,
    timers: Timers,
    stats: Stats,
}

impl Client {
    /// A session that starts by asking the host to open a TLS connection.
    pub fn new(config: Config, now: Instant) -> Client {
        let max = config.limits.max_frame_payload;
        let mut c = Client {
            config,
            phase: Phase::Closed,
            tls_busy: false,
            deadline: None,
            rx: Vec::new(),
            decoder: FrameDecoder::new(max),
            out: VecDeque::new(),
            reported: None,
            rounds: 0,
            sent_username: false,
            sent_password: false,
            group_in_init: false,
            context_cookie: None,
            cookie: None,
            tunnel: None,
            ever_up: false,
            down_since: None,
            attempt: 0,
            timers: Timers::default(),
            stats: Stats::default(),
        };
        c.open(now, Purpose::Auth);
        c
    }

    /// The tunnel's configuration while it is up.
    pub fn tunnel(&self) -> Option<&TunnelConfig> {
        match self.phase {
            Phase::Connected => self.tunnel.as_ref(),
            _ => None,
        }
    }

    /// Whether the tunnel is up.
    pub fn is_connected(&self) -> bool {
        matches!(self.phase, Phase::Connected)
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// Byte and packet counters (data packets only, as the phone's status page shows them).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The next thing to do; `None` when there is nothing until the next input.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(o) = self.out.pop_front() {
            return Some(o);
        }
        let next = self.next_timeout();
        if next != self.reported {
            self.reported = next;
            return Some(Output::Timeout(next));
        }
        None
    }

    /// The TLS connection asked for with [`TlsAction::Open`] is up.
    pub fn handle_tls_connected(&mut self, now: Instant) {
        let Phase::Opening(purpose) = self.phase else {
            return;
        };
        self.rx.clear();
        match purpose {
            Purpose::Auth => self.send_init(now),
            Purpose::Tunnel => self.send_connect(now),
        }
    }

    /// The TLS connection could not be opened, or ended.
    pub fn handle_tls_closed(&mut self, now: Instant, why: TlsClosed) {
        if matches!(self.phase, Phase::Closed | Phase::Waiting(_)) || !self.tls_busy {
            return;
        }
        self.tls_busy = false;
        match why {
            TlsClosed::Refused(r) => self.close(Some(Error::TlsRefused(r))),
            TlsClosed::Lost(r) => {
                let err = match self.phase {
                    // ocserv drops a login it refuses (e.g. a group the user is not in).
                    Phase::Auth if self.sent_username => Error::AuthRefused {
                        message: format!("the server ended the connection during the login ({r})"),
                    },
                    // ocserv drops a CONNECT whose cookie it does not know (after a restart):
                    // the next attempt logs in afresh.
                    Phase::Connecting if self.ever_up => {
                        self.cookie = None;
                        Error::TlsLost(format!(
                            "{r}, on CONNECT with the session cookie; logging in again"
                        ))
                    }
                    _ => Error::TlsLost(r),
                };
                self.fail(now, err)
            }
        }
    }

    /// Plaintext bytes read from the TLS connection.
    pub fn handle_tls_data(&mut self, now: Instant, bytes: &[u8]) {
        match self.phase {
            Phase::Auth | Phase::Connecting => {
                self.rx.extend_from_slice(bytes);
                self.read_response(now);
            }
            Phase::Connected => {
                self.decoder.push(bytes);
                self.read_frames(now);
            }
            _ => {}
        }
    }

    /// An IP packet read from the TUN device: `false` (and counted as dropped) when the tunnel
    /// is not up or the packet is too long for a frame.
    pub fn handle_tun_packet(&mut self, now: Instant, packet: &[u8]) -> bool {
        if !matches!(self.phase, Phase::Connected) {
            self.stats.dropped += 1;
            return false;
        }
        match frame::encode(PacketType::Data, packet) {
            Ok(f) => {
                self.stats.bytes_sent += packet.len() as u64;
                self.stats.packets_sent += 1;
                self.send_frame(now, f);
                true
            }
            Err(_) => {
                self.stats.dropped += 1;
                false
            }
        }
    }

    /// Time passed: response deadlines, DPD, keepalive, rekey, reconnect backoff.
    pub fn handle_timeout(&mut self, now: Instant) {
        match self.phase {
            Phase::Opening(_) | Phase::Auth | Phase::Connecting
                if self.deadline.is_some_and(|d| now >= d) =>
            {
                let during = match self.phase {
                    Phase::Opening(_) => "TLS connection",
                    Phase::Auth => "authentication",
                    _ => "CONNECT",
                };
                self.fail(
                    now,
                    Error::ResponseTimeout {
                        waited: self.config.response_timeout,
                        during,
                    },
                );
            }
            Phase::Waiting(until) if now >= until => {
                let purpose = if self.cookie.is_some() {
                    Purpose::Tunnel
                } else {
                    Purpose::Auth
                };
                self.open(now, purpose);
            }
            Phase::Connected => self.connected_timers(now),
            _ => {}
        }
    }

    /// Ends the session: a DISCONNECT with the logout code 0xb0 (the server then forgets the
    /// cookie), then the connection is closed.
    pub fn disconnect(&mut self, now: Instant) {
        if matches!(self.phase, Phase::Connected) {
            let mut payload = vec![0xb0];
            payload.extend_from_slice(b"Client logout");
            if let Ok(f) = frame::encode(PacketType::Disconnect, &payload) {
                self.send_frame(now, f);
            }
        }
        if !matches!(self.phase, Phase::Closed) {
            self.close(None);
        }
    }

    fn open(&mut self, now: Instant, purpose: Purpose) {
        self.phase = Phase::Opening(purpose);
        self.tls_busy = true;
        self.deadline = Some(now + self.config.response_timeout);
        self.out.push_back(Output::Tls(TlsAction::Open));
    }

    fn write(&mut self, bytes: Vec<u8>) {
        self.out.push_back(Output::Tls(TlsAction::Write(bytes)));
    }

    fn send_frame(&mut self, now: Instant, f: Vec<u8>) {
        self.timers.last_tx = Some(now);
        self.write(f);
    }

    fn common_fields(&self) -> Vec<(&str, String)> {
        let mut v = vec![
            ("User-Agent", self.config.user_agent.clone()),
            ("Accept", "*/*".to_owned()),
            ("Accept-Encoding", "identity".to_owned()),
            ("X-Transcend-Version", "1".to_owned()),
            ("X-Aggregate-Auth", "1".to_owned()),
        ];
        if let Some(c) = &self.context_cookie {
            v.push(("Cookie", format!("webvpncontext={}", c.as_str())));
        }
        v
    }

    fn host_header(&self) -> String {
        let host = if self.config.host.contains(':') {
            format!("[{}]", self.config.host)
        } else {
            self.config.host.clone()
        };
        if self.config.port == 443 {
            host
        } else {
            format!("{host}:{}", self.config.port)
        }
    }

    fn post(&mut self, now: Instant, path: &str, body: &[u8]) {
        let fields = self.common_fields();
        let mut refs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        refs.push(("Content-Type", "application/xml; charset=utf-8"));
        let req = http::request("POST", path, &self.host_header(), &refs, body);
        self.write(req);
        self.phase = Phase::Auth;
        self.deadline = Some(now + self.config.response_timeout);
    }

    fn send_init(&mut self, now: Instant) {
        self.rounds = 0;
        self.sent_username = false;
        self.sent_password = false;
        self.group_in_init = false;
        self.context_cookie = None;
        let url = format!("https://{}/", self.host_header());
        // The group is chosen from the server's list, not guessed: see `answer`.
        let body = auth::init_body(&url, None);
        tracing::debug!("auth: init for {url}");
        self.post(now, "/", body.as_bytes());
    }

    fn send_connect(&mut self, now: Instant) {
        let Some(cookie) = self.cookie.as_ref() else {
            self.send_init(now);
            return;
        };
        let mut fields = vec![
            ("User-Agent", self.config.user_agent.clone()),
            ("Cookie", format!("webvpn={}", cookie.as_str())),
            ("X-CSTP-Version", "1".to_owned()),
            ("X-CSTP-Hostname", self.config.device_name.clone()),
            ("X-CSTP-Base-MTU", self.config.base_mtu.to_string()),
            ("X-CSTP-Address-Type", "IPv4".to_owned()),
        ];
        if let Some(a) = self.tunnel.as_ref().and_then(|t| t.address) {
            fields.push(("X-CSTP-Address", a.to_string()));
        }
        let refs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let req = Zeroizing::new(http::request(
            "CONNECT",
            "/CSCOSSLC/tunnel",
            &self.host_header(),
            &refs,
            b"",
        ));
        self.write(req.to_vec());
        for (_, v) in &mut fields {
            zeroize::Zeroize::zeroize(v);
        }
        self.phase = Phase::Connecting;
        self.deadline = Some(now + self.config.response_timeout);
    }

    fn read_response(&mut self, now: Instant) {
        let connecting = matches!(self.phase, Phase::Connecting);
        // A 200 to CONNECT has no body: the tunnel starts right after the header section.
        let parsed = http::parse_response(&self.rx, &self.config.limits, false).and_then(|r| match r {
            Some((resp, _)) if connecting && resp.status == 200 => {
                http::parse_response(&self.rx, &self.config.limits, true)
            }
            other => Ok(other),
        });
        match parsed {
            Ok(None) => {}
            Err(e) => self.fail(now, e.into()),
            Ok(Some((resp, used))) => {
                let rest = self.rx.split_off(used.min(self.rx.len()));
                self.rx.clear();
                self.deadline = None;
                if connecting {
                    self.on_connect_response(now, &resp, &rest);
                } else {
                    self.rx = rest;
                    self.on_auth_response(now, &resp);
                }
            }
        }
    }

    fn on_auth_response(&mut self, now: Instant, resp: &Response) {
        if let Some(c) = resp.set_cookie("webvpncontext") {
            self.context_cookie = (!c.is_empty()).then(|| Zeroizing::new(c.to_owned()));
        }
        match resp.status {
            200 => {}
            401 => {
                let message = resp.header("X-Reason").unwrap_or(&resp.reason).to_owned();
                self.fail(now, Error::AuthRefused { message });
                return;
            }
            status => {
                let reason = resp.header("X-Reason").unwrap_or(&resp.reason).to_owned();
                self.fail(
                    now,
                    Error::UnexpectedStatus {
                        status,
                        reason,
                        during: "authentication",
                    },
                );
                return;
            }
        }
        match auth::parse_auth_page(&resp.body, &self.config.limits) {
            Err(e) => self.fail(now, e.into()),
            Ok(AuthPage::Request(form)) => {
                if let Err(e) = self.answer(now, &form) {
                    self.fail(now, e);
                }
            }
            Ok(AuthPage::Complete { session_token }) => {
                let cookie = resp
                    .set_cookie("webvpn")
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .or(session_token);
                let Some(cookie) = cookie else {
                    self.fail(now, Error::NoCookie);
                    return;
                };
                self.cookie = Some(Zeroizing::new(cookie));
                self.out.push_back(Output::Event(Event::Authenticated));
                if resp.closes() {
                    self.tls_busy = false;
                    self.out.push_back(Output::Tls(TlsAction::Close));
                    self.open(now, Purpose::Tunnel);
                } else {
                    self.send_connect(now);
                }
            }
        }
    }

    fn answer(&mut self, now: Instant, form: &AuthForm) -> Result<(), Error> {
        self.rounds += 1;
        if self.rounds > self.config.limits.max_auth_rounds {
            return Err(Error::TooManyRounds {
                max: self.config.limits.max_auth_rounds,
            });
        }
        let refused = || Error::AuthRefused {
            message: form
                .error
                .clone()
                .or_else(|| form.message.clone())
                .unwrap_or_else(|| "the server asked for the credentials again".to_owned())
                .replace('\n', " "),
        };
        let mut answers: Vec<(&str, &str)> = Vec::new();
        let (mut username, mut password) = (false, false);
        for input in &form.inputs {
            match input.kind.as_str() {
                "password" if !password => {
                    if self.sent_password {
                        return Err(refused());
                    }
                    password = true;
                    answers.push((&input.name, self.config.password.expose()));
                }
                "text" if !username && (input.name == "username" || !self.sent_username) => {
                    if self.sent_username && !self.sent_password {
                        return Err(refused());
                    }
                    username = true;
                    answers.push((&input.name, &self.config.username));
                }
                "hidden" => answers.push((&input.name, input.value.as_deref().unwrap_or_default())),
                "submit" | "reset" | "button" => {}
                _ => {
                    return Err(Error::UnsupportedInput {
                        name: input.name.clone(),
                        kind: input.kind.clone(),
                        label: input.label.clone(),
                    });
                }
            }
        }
        let mut group = None;
        if let Some(wanted) = self.config.group.as_deref() {
            if let Some(select) = form.selects.iter().find(|s| s.name == "group_list") {
                let chosen = select.options.iter().find(|(v, l)| v == wanted || l == wanted);
                match chosen {
                    Some((v, _)) => group = Some(v.clone()),
                    None => {
                        return Err(Error::GroupNotOffered {
                            group: wanted.to_owned(),
                            offered: select
                                .options
                                .iter()
                                .map(|(v, l)| if v == l { v.clone() } else { format!("{v} ({l})") })
                                .collect(),
                        });
                    }
                }
            }
        }
        let path = match form.action.as_str() {
            "" => "/".to_owned(),
            a if a.starts_with('/') => a.to_owned(),
            a => {
                let prefix = format!("https://{}", self.host_header());
                match a.strip_prefix(&prefix) {
                    Some("") => "/".to_owned(),
                    Some(p) if p.starts_with('/') => p.to_owned(),
                    _ => return Err(Error::FormAction { action: a.to_owned() }),
                }
            }
        };
        if let Some(g) = group.as_deref().filter(|_| !self.group_in_init) {
            // As openconnect does: the group the server offers is selected with a new init
            // naming it, so the server shows that group's form.
            self.group_in_init = true;
            let url = format!("https://{}{path}", self.host_header());
            let body = auth::init_body(&url, Some(g));
            tracing::debug!("auth: init again with group `{g}`");
            self.post(now, &path, body.as_bytes());
            return Ok(());
        }
        if answers.is_empty() {
            return Err(refused());
        }
        let body = auth::reply_body(&answers, group.as_deref(), form.opaque.as_deref());
        self.sent_username |= username;
        self.sent_password |= password;
        tracing::debug!(
            "auth: form `{}` ({}) answered: {}",
            form.id,
            form.message.as_deref().unwrap_or_default(),
            answers.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
        );
        self.post(now, &path, body.as_bytes());
        Ok(())
    }

    fn on_connect_response(&mut self, now: Instant, resp: &Response, rest: &[u8]) {
        match resp.status {
            200 => {}
            401 if self.ever_up => {
                // The cookie expired or the server restarted: authenticate again from scratch.
                tracing::info!("CONNECT: cookie refused ({}); authenticating again", resp.reason);
                self.cookie = None;
                self.tls_busy = false;
                self.out.push_back(Output::Tls(TlsAction::Close));
                self.open(now, Purpose::Auth);
                return;
            }
            401 => {
                self.fail(
                    now,
                    Error::CookieRefused {
                        reason: resp.reason.clone(),
                    },
                );
                return;
            }
            status => {
                let reason = resp.header("X-Reason").unwrap_or(&resp.reason).to_owned();
                self.fail(
                    now,
                    Error::UnexpectedStatus {
                        status,
                        reason,
                        during: "CONNECT",
                    },
                );
                return;
            }
        }
        let tunnel = match TunnelConfig::from_response(resp) {
            Ok(t) => t,
            Err(e) => {
                self.fail(now, e.into());
                return;
            }
        };
        self.phase = Phase::Connected;
        self.deadline = None;
        self.decoder = FrameDecoder::new(self.config.limits.max_frame_payload);
        self.timers = Timers {
            last_rx: Some(now),
            last_tx: Some(now),
            dpd_sent: None,
            rekey_at: tunnel.rekey.map(|(t, _)| now + t),
        };
        self.down_since = None;
        self.attempt = 0;
        let event = if self.ever_up {
            self.stats.reconnects += 1;
            Event::Reconnected(tunnel.clone())
        } else {
            Event::Connected(tunnel.clone())
        };
        self.ever_up = true;
        self.tunnel = Some(tunnel);
        self.out.push_back(Output::Event(event));
        if !rest.is_empty() {
            self.decoder.push(rest);
            self.read_frames(now);
        }
    }

    fn read_frames(&mut self, now: Instant) {
        self.timers.last_rx = Some(now);
        loop {
            let f = match self.decoder.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => {
                    self.fail(now, e.into());
                    return;
                }
            };
            match f.kind {
                PacketType::Data => {
                    self.stats.bytes_received += f.payload.len() as u64;
                    self.stats.packets_received += 1;
                    self.out.push_back(Output::Tun(f.payload));
                }
                PacketType::DpdRequest => {
                    if let Ok(r) = frame::encode(PacketType::DpdResponse, &f.payload) {
                        self.send_frame(now, r);
                    }
                }
                PacketType::DpdResponse | PacketType::Keepalive => {}
                PacketType::Disconnect => {
                    let code = f.payload.first().copied().unwrap_or(0);
                    let reason = String::from_utf8_lossy(f.payload.get(1..).unwrap_or_default())
                        .trim_end_matches('\0')
                        .chars()
                        .take(200)
                        .collect();
                    self.fail(now, Error::ServerDisconnect { code, reason });
                    return;
                }
                PacketType::Terminate => {
                    self.fail(now, Error::ServerTerminate);
                    return;
                }
                PacketType::Compressed => {
                    self.fail(now, Error::UnexpectedCompressed);
                    return;
                }
            }
        }
    }

    fn connected_timers(&mut self, now: Instant) {
        let t = &self.timers;
        let last_rx = t.last_rx.unwrap_or(now);
        let silent = now.saturating_duration_since(last_rx);
        if t.rekey_at.is_some_and(|r| now >= r) {
            self.fail(now, Error::Rekey);
            return;
        }
        if let Some(dpd) = self.tunnel.as_ref().and_then(|c| c.dpd) {
            if silent >= dpd * 2 {
                self.fail(now, Error::PeerDead { silent, dpd });
                return;
            }
            let due = match t.dpd_sent {
                Some(s) if s >= last_rx => now >= s + dpd / 2,
                _ => silent >= dpd,
            };
            if due {
                if let Ok(f) = frame::encode(PacketType::DpdRequest, b"") {
                    self.timers.dpd_sent = Some(now);
                    self.send_frame(now, f);
                }
            }
        }
        if let Some(k) = self.tunnel.as_ref().and_then(|c| c.keepalive) {
            if self.timers.last_tx.is_none_or(|t| now >= t + k) {
                if let Ok(f) = frame::encode(PacketType::Keepalive, b"") {
                    self.send_frame(now, f);
                }
            }
        }
    }

    fn next_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::Opening(_) | Phase::Auth | Phase::Connecting => self.deadline,
            Phase::Waiting(until) => Some(until),
            Phase::Closed => None,
            Phase::Connected => {
                let t = &self.timers;
                let mut next = t.rekey_at;
                let mut consider = |at: Instant| next = Some(next.map_or(at, |n| n.min(at)));
                let tunnel = self.tunnel.as_ref();
                if let (Some(dpd), Some(last_rx)) = (tunnel.and_then(|c| c.dpd), t.last_rx) {
                    consider(last_rx + dpd * 2);
                    match t.dpd_sent {
                        Some(s) if s >= last_rx => consider(s + dpd / 2),
                        _ => consider(last_rx + dpd),
                    }
                }
                if let (Some(k), Some(last_tx)) = (tunnel.and_then(|c| c.keepalive), t.last_tx) {
                    consider(last_tx + k);
                }
                next
            }
        }
    }

    /// A failure: before the tunnel was ever up, or when final, the session ends; else the
    /// client goes down and retries with backoff.
    fn fail(&mut self, now: Instant, err: Error) {
        if !self.ever_up || err.is_final() {
            self.close(Some(err));
            return;
        }
        if self.tls_busy {
            self.tls_busy = false;
            self.out.push_back(Output::Tls(TlsAction::Close));
        }
        self.deadline = None;
        let since = *self.down_since.get_or_insert(now);
        let down_for = now.saturating_duration_since(since);
        let policy = &self.config.reconnect;
        if down_for >= policy.give_up_after {
            self.close(Some(Error::ReconnectGaveUp {
                after: down_for,
                last: Box::new(err),
            }));
            return;
        }
        let delay = if err == Error::Rekey {
            Duration::ZERO
        } else {
            let factor = 1u32.checked_shl(self.attempt.min(16)).unwrap_or(u32::MAX);
            policy.first_delay.saturating_mul(factor).min(policy.max_delay)
        };
        self.attempt = self.attempt.saturating_add(1);
        let retry_at = now + delay;
        tracing::info!("tunnel down ({err}); retrying in {delay:?}");
        self.phase = Phase::Waiting(retry_at);
        self.out.push_back(Output::Event(Event::Down {
            reason: err,
            retry_at,
        }));
    }

    fn close(&mut self, reason: Option<Error>) {
        if self.tls_busy {
            self.tls_busy = false;
            self.out.push_back(Output::Tls(TlsAction::Close));
        }
        self.phase = Phase::Closed;
        self.deadline = None;
        self.cookie = None;
        self.context_cookie = None;
        self.out.push_back(Output::Event(Event::Closed(reason)));
    }
}
