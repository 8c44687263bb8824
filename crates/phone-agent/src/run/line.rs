//! One SIP line in the daemon: `sip_ua::Line` pumped by the [`Driver`] over async sockets
//! (UDP bound to `SIP_Port_n_`, TCP, TLS through tokio-rustls), its events written into the
//! status. On stop, a registered line un-REGISTERs (`Expires: 0`) within a bounded time.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use phone_config::SipTransport;
use phone_secret::SecretString;
use sip_message::Message;
use sip_ua::{Config, Event, Line, SystemRng, Target, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use crate::driver::{Driver, Ended, Link, SipInput, SipTransmit};
use crate::status::{RegistrationState, StatusHandle};

/// What a line needs from cfg.xml (and the agent's options); equal plans mean an unchanged
/// line on reload.
#[derive(Clone, PartialEq, Eq)]
pub struct LinePlan {
    /// The line number.
    pub n: usize,
    user: String,
    password: SecretString,
    /// The registrar, `Proxy_n_`.
    pub proxy: String,
    next_hop: String,
    next_hop_port: Option<u16>,
    sip_port: u16,
    transport: SipTransport,
    auth_invite: bool,
    tls_name_validate: bool,
    mediasec_request: bool,
    mediasec_over_tls_only: bool,
    cipher_list: String,
    expires: u32,
    /// `Restricted_Access_Domains` (SPEC §1): checked against `Proxy_n_`/`Outbound_Proxy_n_`
    /// before anything is sent, and against every name RFC 3263 leads to.
    restricted: phone_provisioning::RestrictedDomains,
    /// The setting the next hop comes from (`Outbound_Proxy_n_` or `Proxy_n_`).
    next_hop_setting: String,
    /// The configured hosts' refusal, when the list refuses them.
    refused: Option<String>,
}

impl std::fmt::Debug for LinePlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {} {}@{}", self.n, self.user, self.proxy)
    }
}

impl LinePlan {
    /// Line `n`'s plan, or `None` when the line is disabled or has no `Proxy_n_`.
    pub fn from_settings(settings: &phone_config::Settings, n: usize, expires: u32) -> Option<LinePlan> {
        let line = settings.line(n)?;
        if !line.line_enable.get().0 {
            return None;
        }
        let proxy = line.proxy.get().as_ref()?;
        let next_hop = line.outbound_proxy.get().as_ref().unwrap_or(proxy);
        let host = next_hop.host.to_string();
        let next_hop_setting = if line.outbound_proxy.get().is_some() {
            format!("Outbound_Proxy_{n}_")
        } else {
            format!("Proxy_{n}_")
        };
        Some(LinePlan {
            n,
            user: line.user_id.get().clone(),
            password: line.password.get().clone(),
            proxy: proxy.to_string(),
            next_hop: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            next_hop_port: next_hop.port.map(|p| p.get()),
            sip_port: line.sip_port.get().get(),
            transport: *line.sip_transport.get(),
            auth_invite: line.auth_invite.get().0,
            tls_name_validate: line.tls_name_validate.get().0,
            mediasec_request: line.mediasec_request.get().0,
            mediasec_over_tls_only: line.mediasec_over_tls_only.get().0,
            cipher_list: settings.tls.tls_cipher_list.get().clone(),
            expires,
            restricted: crate::provision::restricted::domains(settings),
            next_hop_setting,
            refused: crate::provision::restricted::check_line(settings, n)
                .err()
                .map(|e| e.to_string()),
        })
    }

    /// The user the line registers as.
    pub fn user(&self) -> &str {
        &self.user
    }
}

/// The agent-wide options a line uses.
#[derive(Clone, Debug)]
pub struct LineOptions {
    /// The CA for SIP over TLS.
    pub ca_file: Option<std::path::PathBuf>,
    /// The DNS server for RFC 3263 (default: the system's).
    pub dns: Option<SocketAddr>,
    /// How long the un-REGISTER may take on stop.
    pub goodbye: Duration,
}

/// Runs the line until `stop` fires (then un-REGISTERs) or it fails (`Err`: the supervisor
/// retries with backoff).
pub async fn run(
    plan: LinePlan,
    options: LineOptions,
    status: StatusHandle,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let n = plan.n;
    status.line(n, |l| {
        l.state = RegistrationState::Registering;
        l.transport = None;
        l.target = None;
    });
    // Restricted_Access_Domains before any connection: a refused host is the line's error
    // (the supervisor shows it and retries), never a silent skip.
    if let Some(why) = &plan.refused {
        bail!("registration refused: {why}");
    }
    let fixed = plan.transport.fixed();
    // RFC 3263 through the blocking resolver, off the async threads; every name it leads to
    // (SRV targets) is checked against the list too.
    let (host, port, dns) = (plan.next_hop.clone(), plan.next_hop_port, options.dns);
    let (domains, source) = (plan.restricted.clone(), plan.next_hop_setting.clone());
    let located = tokio::task::spawn_blocking(move || {
        let mut resolver = crate::sip::locate::AgentResolver::new(dns).restricted(domains, &source);
        sip_ua::locate(&mut resolver, &host, port, fixed)
    })
    .await
    .context("the DNS task")?
    .map_err(|e| anyhow!("locating {} (RFC 3263): {e}", plan.next_hop))?;
    let tls = if located.targets.iter().any(|t| t.transport == Transport::Tls) {
        let ca = options
            .ca_file
            .as_deref()
            .ok_or_else(|| anyhow!("SIP over TLS needs --ca-file (the CA that signed the proxy)"))?;
        let setting = format!("TLS_Name_Validate_{n}_");
        let check = if plan.tls_name_validate {
            crate::tls::NameCheck::Enabled
        } else {
            crate::tls::NameCheck::Disabled { setting: &setting }
        };
        let tls = crate::tls::client_config(ca, &plan.cipher_list, check)?;
        for w in &tls.warnings {
            tracing::warn!(line = n, "{w}");
        }
        Some((tls.config, plan.next_hop.clone()))
    } else {
        None
    };
    let cfg = Config {
        user: plan.user.clone(),
        password: plan.password.clone(),
        domain: plan.proxy.clone(),
        expires: plan.expires,
        auth_invite: plan.auth_invite,
        mediasec: sip_mediasec::Policy {
            request: plan.mediasec_request,
            over_tls_only: plan.mediasec_over_tls_only,
            ..sip_mediasec::Policy::client_initiated()
        },
        user_agent: concat!("phone-agent/", env!("CARGO_PKG_VERSION")).to_owned(),
    };
    let mut line =
        Line::new(cfg, located.targets, Box::new(SystemRng::new())).context("starting the line")?;
    line.start(Instant::now());
    let link = SipLink::new(plan.sip_port, tls, None);
    let mut driver = Driver::new(line, link);
    let mut registered = false;
    let ended = driver
        .run(stop, |_, event| on_event(&status, n, &mut registered, event))
        .await?;
    if let Ended::Done(failure) = ended {
        bail!(failure);
    }
    if !registered {
        return Ok(());
    }
    // Stopping: remove our binding, bounded.
    tracing::info!(line = n, "un-REGISTER (Expires: 0)");
    driver.core.unregister(Instant::now())?;
    let goodbye = driver
        .run(tokio::time::sleep(options.goodbye), |_, event| match event {
            Event::Unregistered => ControlFlow::Break(Ok(())),
            Event::RegistrationFailed(f) => ControlFlow::Break(Err(f.to_string())),
            _ => ControlFlow::Continue(()),
        })
        .await?;
    match goodbye {
        Ended::Done(Ok(())) => {
            status.line(n, |l| {
                l.state = RegistrationState::Unregistered;
                l.expires = None;
            });
        }
        Ended::Done(Err(why)) => {
            tracing::warn!(line = n, "un-REGISTER failed: {why}");
            status.line(n, |l| l.last_error = Some(format!("un-REGISTER failed: {why}")));
        }
        Ended::Stopped => {
            tracing::warn!(
                line = n,
                "no answer to the un-REGISTER within {:?}",
                options.goodbye
            );
            status.line(n, |l| l.last_error = Some("no answer to the un-REGISTER".into()));
        }
    }
    Ok(())
}

/// Writes a line's event into the status; a failed registration ends the run (`Break`).
fn on_event(status: &StatusHandle, n: usize, registered: &mut bool, event: Event) -> ControlFlow<String> {
    match event {
        Event::Registered {
            expires,
            media,
            target,
        } => {
            *registered = true;
            tracing::info!(line = n, %target, expires, "registered");
            status.line(n, |l| {
                l.state = RegistrationState::Registered;
                l.transport = Some(target.transport.as_str().to_owned());
                l.target = Some(target.to_string());
                l.mediasec = media.map(|m| format!("{m:?}"));
                l.expires = Some(expires);
                l.registrations += 1;
                l.last_error = None;
            });
        }
        Event::RegistrationFailed(f) => {
            let why = f.to_string();
            tracing::warn!(line = n, "registration failed: {why}");
            return ControlFlow::Break(why);
        }
        Event::Failover { from, to, reason } => {
            tracing::warn!(line = n, %from, %to, "failover: {reason}");
            status.line(n, |l| l.last_error = Some(format!("{from}: {reason}")));
        }
        Event::Unregistered => {
            status.line(n, |l| l.state = RegistrationState::Unregistered);
        }
        Event::Mediasec(e) => tracing::debug!(line = n, "mediasec: {e:?}"),
        Event::IncomingInvite { call_id, outcome } => {
            tracing::info!(line = n, %call_id, "incoming INVITE: {outcome}");
        }
    }
    ControlFlow::Continue(())
}

/// The flow to the registrar.
enum Flow {
    None,
    Udp {
        socket: UdpSocket,
        peer: SocketAddr,
    },
    Tcp {
        stream: TcpStream,
        peer: SocketAddr,
        buf: Vec<u8>,
    },
    Tls {
        stream: Box<tokio_rustls::client::TlsStream<TcpStream>>,
        peer: SocketAddr,
        buf: Vec<u8>,
    },
}

/// A line's sockets: the [`Link`] of a `sip_ua::Line` (the daemon's lines and `sip register`).
pub(crate) struct SipLink {
    sip_port: u16,
    tls: Option<(Arc<rustls::ClientConfig>, String)>,
    flow: Flow,
    /// `sip register` prints each connection as `line N: connected to T from L`.
    print_as: Option<usize>,
    /// Binding SIP_Port_n_ failed: a local problem, not the peer's (`sip register` exit 2).
    local_error: Option<String>,
}

impl SipLink {
    /// A link binding UDP to `sip_port`, with the TLS client config and server name for TLS
    /// targets; `print_as`: print connections as line N does.
    pub(crate) fn new(
        sip_port: u16,
        tls: Option<(Arc<rustls::ClientConfig>, String)>,
        print_as: Option<usize>,
    ) -> SipLink {
        SipLink {
            sip_port,
            tls,
            flow: Flow::None,
            print_as,
            local_error: None,
        }
    }

    /// Why binding the local SIP port failed, if it did.
    pub(crate) fn local_error(&self) -> Option<&str> {
        self.local_error.as_deref()
    }

    async fn open(&mut self, target: Target) -> Result<Flow> {
        let peer = target.addr;
        const CONNECT: Duration = Duration::from_secs(5);
        Ok(match target.transport {
            Transport::Udp => {
                let probe = std::net::UdpSocket::bind((if peer.is_ipv4() { "0.0.0.0" } else { "::" }, 0))?;
                probe
                    .connect(peer)
                    .with_context(|| format!("no route to {peer}"))?;
                let local_ip = probe.local_addr()?.ip();
                let socket = match UdpSocket::bind((local_ip, self.sip_port)).await {
                    Ok(s) => s,
                    Err(e) => {
                        let why = format!("binding SIP_Port {local_ip}:{}: {e}", self.sip_port);
                        self.local_error = Some(why.clone());
                        bail!(why);
                    }
                };
                Flow::Udp { socket, peer }
            }
            Transport::Tcp => {
                let stream = tokio::time::timeout(CONNECT, TcpStream::connect(peer))
                    .await
                    .map_err(|_| anyhow!("connecting to {peer} over TCP: timed out"))?
                    .with_context(|| format!("connecting to {peer} over TCP"))?;
                stream.set_nodelay(true)?;
                Flow::Tcp {
                    stream,
                    peer,
                    buf: Vec::new(),
                }
            }
            Transport::Tls => {
                let (config, host) = self.tls.as_ref().ok_or_else(|| anyhow!("no TLS configuration"))?;
                let name = rustls_pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| anyhow!("{host} as a TLS server name: {e}"))?;
                let tcp = tokio::time::timeout(CONNECT, TcpStream::connect(peer))
                    .await
                    .map_err(|_| anyhow!("connecting to {peer} over TCP for TLS: timed out"))?
                    .with_context(|| format!("connecting to {peer} over TCP for TLS"))?;
                tcp.set_nodelay(true)?;
                let connector = tokio_rustls::TlsConnector::from(config.clone());
                let stream = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
                    .await
                    .map_err(|_| anyhow!("TLS handshake with {host} ({peer}): timed out"))?
                    .map_err(crate::tls::handshake_error)
                    .with_context(|| format!("TLS handshake with {host} ({peer})"))?;
                Flow::Tls {
                    stream: Box::new(stream),
                    peer,
                    buf: Vec::new(),
                }
            }
        })
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match &self.flow {
            Flow::None => Err(std::io::Error::other("no flow")),
            Flow::Udp { socket, .. } => socket.local_addr(),
            Flow::Tcp { stream, .. } => stream.local_addr(),
            Flow::Tls { stream, .. } => stream.get_ref().0.local_addr(),
        }
    }

    async fn send(&mut self, t: &sip_ua::Transmit) -> Result<()> {
        match &mut self.flow {
            Flow::None => bail!("no connection"),
            Flow::Udp { socket, peer } => {
                socket.send_to(&t.bytes, t.to.unwrap_or(*peer)).await?;
            }
            Flow::Tcp { stream, .. } => stream.write_all(&t.bytes).await?,
            Flow::Tls { stream, .. } => {
                stream.write_all(&t.bytes).await?;
                stream.flush().await?;
            }
        }
        Ok(())
    }

    async fn receive(&mut self) -> Result<(SocketAddr, Vec<u8>)> {
        match &mut self.flow {
            Flow::None => std::future::pending().await,
            Flow::Udp { socket, .. } => {
                let mut buf = vec![0u8; 65535];
                let (n, from) = socket.recv_from(&mut buf).await?;
                buf.truncate(n);
                Ok((from, buf))
            }
            Flow::Tcp { stream, peer, buf } => read_framed(stream, buf, *peer).await,
            Flow::Tls { stream, peer, buf } => read_framed(stream.as_mut(), buf, *peer).await,
        }
    }
}

/// One whole message from a stream (RFC 3261 §18.3 framing). Cancel-safe: bytes read stay in
/// `buf`.
async fn read_framed(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut Vec<u8>,
    peer: SocketAddr,
) -> Result<(SocketAddr, Vec<u8>)> {
    loop {
        match Message::parse_stream(buf) {
            Ok(Some(m)) => {
                let len = m.len();
                return Ok((peer, buf.drain(..len).collect()));
            }
            Ok(None) => {}
            Err(e) => bail!("the peer sent an unframeable message ({e})"),
        }
        let mut chunk = [0u8; 16 * 1024];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            bail!("the peer closed the connection");
        }
        buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

impl Link<Line> for SipLink {
    async fn transmit(&mut self, t: SipTransmit) -> Option<SipInput> {
        match t {
            SipTransmit::Connect(target) => {
                self.flow = Flow::None;
                match self.open(target).await {
                    Ok(flow) => {
                        self.flow = flow;
                        match self.local_addr() {
                            Ok(local) => {
                                if let Some(n) = self.print_as {
                                    println!("line {n}: connected to {target} from {local}");
                                }
                                Some(SipInput::Connected(local))
                            }
                            Err(e) => Some(SipInput::TransportError(e.to_string())),
                        }
                    }
                    Err(e) => {
                        if let Some(n) = self.print_as {
                            println!("line {n}: {target}: {e:#}");
                        }
                        Some(SipInput::TransportError(format!("{target}: {e:#}")))
                    }
                }
            }
            SipTransmit::Send(t) => match self.send(&t).await {
                Ok(()) => None,
                Err(e) => {
                    self.flow = Flow::None;
                    if let Some(n) = self.print_as {
                        println!("line {n}: sending: {e:#}");
                    }
                    Some(SipInput::TransportError(format!("sending: {e:#}")))
                }
            },
        }
    }

    async fn recv(&mut self) -> SipInput {
        match self.receive().await {
            Ok((from, bytes)) => SipInput::Message(from, bytes),
            Err(e) => {
                self.flow = Flow::None;
                if let Some(n) = self.print_as {
                    println!("line {n}: {e:#}");
                }
                SipInput::TransportError(format!("{e:#}"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(xml: &str, n: usize) -> LinePlan {
        let settings = phone_config::parse(xml.as_bytes())
            .map(|p| p.settings)
            .unwrap_or_else(|e| panic!("{e}"));
        LinePlan::from_settings(&settings, n, 3600).unwrap_or_else(|| panic!("line {n} has no plan"))
    }

    #[tokio::test]
    async fn a_line_outside_restricted_access_domains_fails_before_any_connection() {
        let refused = plan(
            "<flat-profile><Restricted_Access_Domains>voiceip.com</Restricted_Access_Domains>\
             <Line_Enable_1_>Yes</Line_Enable_1_><Proxy_1_>sip.voiceip.com</Proxy_1_>\
             <Outbound_Proxy_1_>edge.evil.test</Outbound_Proxy_1_></flat-profile>",
            1,
        );
        let status = StatusHandle::new(crate::status::Status::default());
        let options = LineOptions {
            ca_file: None,
            // Nothing may be asked of DNS: an address that answers nothing would hang the test.
            dns: Some("192.0.2.1:53".parse().unwrap_or_else(|e| panic!("{e}"))),
            goodbye: Duration::from_millis(10),
        };
        let err = run(refused, options, status, std::future::pending())
            .await
            .err()
            .unwrap_or_else(|| panic!("a refused line ran"));
        let text = err.to_string();
        assert!(text.contains("Restricted_Access_Domains"), "{text}");
        assert!(
            text.contains("edge.evil.test") && text.contains("Outbound_Proxy_1_"),
            "{text}"
        );

        let allowed = plan(
            "<flat-profile><Restricted_Access_Domains>voiceip.com</Restricted_Access_Domains>\
             <Line_Enable_1_>Yes</Line_Enable_1_><Proxy_1_>sip.voiceip.com</Proxy_1_></flat-profile>",
            1,
        );
        assert_eq!(allowed.refused, None);
        assert_eq!(allowed.next_hop_setting, "Proxy_1_");
    }
}
