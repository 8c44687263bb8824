//! `phone-agent sip register`: the I/O around [`sip_ua::Line`]: sockets, the clock, TLS, DNS
//! (through [`super::locate::AgentResolver`]), and the report.
//!
//! Exit codes (see the module `sip`): 0 registered (and, with `--unregister`, unregistered);
//! 1 the peer refused or failed us: a final error response, no answer, every RFC 3263 target
//! unreachable or refusing, a TLS handshake that fails (the peer's certificate refused, no
//! common cipher suite); 2 a local problem: the cfg.xml or the CA file missing or bad, the
//! SIP port taken, the random source failing.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use sip_message::Message;

use sip_ua::{Config, Event, Line, Output, SystemRng, Target, Transport};

/// Arguments of `phone-agent sip register`.
#[derive(clap::Args)]
pub struct RegisterArgs {
    /// The cfg.xml with the line's settings.
    #[arg(long)]
    config: PathBuf,
    /// The line (extension) number, 1 to 16.
    #[arg(long, default_value_t = 1)]
    line: usize,
    /// Exit after the first registration: 0 registered, 1 refused or failed by the peer, 2 a
    /// local error.
    #[arg(long)]
    once: bool,
    /// Before exiting (after `--once` or `--duration`), remove our binding: REGISTER with
    /// `expires=0` on our Contact only, other devices' bindings stay.
    #[arg(long)]
    unregister: bool,
    /// Run for this many seconds (refreshing and answering INVITEs), then exit.
    #[arg(long)]
    duration: Option<u64>,
    /// Requested registration lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    expires: u32,
    /// PEM file of CA certificates to trust for SIP over TLS (default: none; required for TLS).
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// The DNS server (IP:PORT) for the proxy's NAPTR/SRV/A/AAAA records (default: the
    /// system's resolv.conf).
    #[arg(long, value_name = "IP:PORT")]
    dns: Option<SocketAddr>,
}

/// A connection to the proxy.
enum Conn {
    Udp {
        socket: UdpSocket,
        peer: SocketAddr,
    },
    Tcp {
        stream: TcpStream,
        buf: Vec<u8>,
    },
    Tls {
        stream: Box<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>,
        buf: Vec<u8>,
    },
}

impl Conn {
    fn send(&mut self, to: Option<SocketAddr>, bytes: &[u8]) -> Result<()> {
        match self {
            Conn::Udp { socket, peer } => {
                socket.send_to(bytes, to.unwrap_or(*peer))?;
            }
            Conn::Tcp { stream, .. } => stream.write_all(bytes)?,
            Conn::Tls { stream, .. } => {
                stream.write_all(bytes)?;
                stream.flush()?;
            }
        }
        Ok(())
    }

    /// Waits up to `timeout` for one message.
    fn recv(&mut self, timeout: Duration) -> Result<Option<(SocketAddr, Vec<u8>)>> {
        let timeout = timeout.max(Duration::from_millis(1));
        match self {
            Conn::Udp { socket, .. } => {
                socket.set_read_timeout(Some(timeout))?;
                let mut buf = vec![0u8; 65535];
                match socket.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        buf.truncate(n);
                        Ok(Some((from, buf)))
                    }
                    Err(e) if is_timeout(&e) => Ok(None),
                    Err(e) => Err(e.into()),
                }
            }
            Conn::Tcp { stream, buf } => {
                let peer = stream.peer_addr()?;
                stream.set_read_timeout(Some(timeout))?;
                read_framed(stream, buf, peer)
            }
            Conn::Tls { stream, buf } => {
                let peer = stream.sock.peer_addr()?;
                stream.sock.set_read_timeout(Some(timeout))?;
                read_framed(stream.as_mut(), buf, peer)
            }
        }
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}

/// Reads from a stream until one whole message is buffered (RFC 3261 §18.3 framing).
fn read_framed(
    stream: &mut impl Read,
    buf: &mut Vec<u8>,
    peer: SocketAddr,
) -> Result<Option<(SocketAddr, Vec<u8>)>> {
    loop {
        match Message::parse_stream(buf) {
            Ok(Some(m)) => {
                let len = m.len();
                let msg = buf.drain(..len).collect();
                return Ok(Some((peer, msg)));
            }
            Ok(None) => {}
            Err(e) => bail!("the peer sent an unframeable message ({e})"),
        }
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk) {
            Ok(0) => bail!("the peer closed the connection"),
            Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
            Err(e) if is_timeout(&e) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
    }
}

/// The line's rustls client configuration (the agent's shared TLS client path, [`crate::tls`]):
/// the name check off only when `TLS_Name_Validate_n_` is No (printed as a warning).
fn tls_config(
    ca_file: Option<&PathBuf>,
    cipher_list: &str,
    name_validate: bool,
    n: usize,
) -> Result<Arc<rustls::ClientConfig>> {
    let path =
        ca_file.ok_or_else(|| anyhow!("SIP over TLS needs --ca-file (the CA that signed the proxy)"))?;
    let setting = format!("TLS_Name_Validate_{n}_");
    let name_check = if name_validate {
        crate::tls::NameCheck::Enabled
    } else {
        crate::tls::NameCheck::Disabled { setting: &setting }
    };
    let tls = crate::tls::client_config(path, cipher_list, name_check)?;
    for warning in &tls.warnings {
        eprintln!("line {n}: WARNING: {warning}");
    }
    println!("line {n}: TLS 1.2 cipher suites: {}", tls.tls12_suites.join(", "));
    Ok(tls.config)
}

/// Opens the flow to `target`: UDP bound to SIP_Port_n_ on the address that reaches it, TCP,
/// or TLS (handshake included). An error here is the peer's or the path's (exit 1 in the end,
/// after any other target was tried); the outer error is a local one (exit 2): SIP_Port_n_
/// cannot be bound.
fn open(
    target: Target,
    sip_port: u16,
    tls: Option<&(Arc<rustls::ClientConfig>, String)>,
) -> Result<Result<Conn>> {
    let peer = target.addr;
    if target.transport == Transport::Udp {
        // The local address the proxy sees: ask the kernel by connecting a probe socket.
        let probe = UdpSocket::bind((if peer.is_ipv4() { "0.0.0.0" } else { "::" }, 0))?;
        if let Err(e) = probe.connect(peer) {
            return Ok(Err(anyhow::Error::from(e).context(format!("no route to {peer}"))));
        }
        let local_ip = probe.local_addr()?.ip();
        let socket = UdpSocket::bind((local_ip, sip_port))
            .with_context(|| format!("binding SIP_Port {local_ip}:{sip_port}"))?;
        return Ok(Ok(Conn::Udp { socket, peer }));
    }
    Ok(connect_stream(target, tls))
}

/// TCP, or TLS with its handshake, to `target`.
fn connect_stream(target: Target, tls: Option<&(Arc<rustls::ClientConfig>, String)>) -> Result<Conn> {
    let peer = target.addr;
    Ok(match target.transport {
        Transport::Udp => bail!("UDP has no stream"),
        Transport::Tcp => {
            let stream = TcpStream::connect_timeout(&peer, Duration::from_secs(5))
                .with_context(|| format!("connecting to {peer} over TCP"))?;
            stream.set_nodelay(true)?;
            Conn::Tcp {
                stream,
                buf: Vec::new(),
            }
        }
        Transport::Tls => {
            let (config, host) = tls.ok_or_else(|| anyhow!("no TLS configuration"))?;
            let name = rustls_pki_types::ServerName::try_from(host.clone())
                .map_err(|e| anyhow!("{host} as a TLS server name: {e}"))?;
            let tcp = TcpStream::connect_timeout(&peer, Duration::from_secs(5))
                .with_context(|| format!("connecting to {peer} over TCP for TLS"))?;
            tcp.set_nodelay(true)?;
            tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
            let mut session = rustls::ClientConnection::new(config.clone(), name)?;
            let mut tcp_ref = &tcp;
            while session.is_handshaking() {
                session
                    .complete_io(&mut tcp_ref)
                    .map_err(crate::tls::handshake_error)
                    .with_context(|| format!("TLS handshake with {host} ({peer})"))?;
            }
            Conn::Tls {
                stream: Box::new(rustls::StreamOwned::new(session, tcp)),
                buf: Vec::new(),
            }
        }
    })
}

impl Conn {
    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Conn::Udp { socket, .. } => socket.local_addr(),
            Conn::Tcp { stream, .. } => stream.local_addr(),
            Conn::Tls { stream, .. } => stream.sock.local_addr(),
        }
    }
}

/// Local problems (exit 2) are errors out of this function; the peer's are reported and
/// give exit 1.
pub fn run(args: &RegisterArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let parsed =
        phone_config::parse(&bytes).map_err(|e| anyhow!("{}: {}", args.config.display(), e.diagnostic()))?;
    let n = args.line;
    let line = parsed
        .settings
        .line(n)
        .ok_or_else(|| anyhow!("line {n} does not exist (1 to 16)"))?;
    let proxy = line
        .proxy
        .get()
        .as_ref()
        .ok_or_else(|| anyhow!("Proxy_{n}_ is not set"))?;
    let next_hop = line.outbound_proxy.get().as_ref().unwrap_or(proxy);
    let host = next_hop.host.to_string();
    let host_plain = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let fixed = line.sip_transport.get().fixed();
    let mut resolver = super::locate::AgentResolver::new(args.dns);
    let located = sip_ua::locate(&mut resolver, &host_plain, next_hop.port.map(|p| p.get()), fixed);
    let located = match located {
        Ok(l) => l,
        Err(e) => {
            // DNS that does not lead to the registrar: the network's answer, not ours.
            println!("line {n}: registration failed: locating {host} (RFC 3263): {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if fixed.is_none() {
        println!(
            "line {n}: AUTO: {} -> {:?}",
            located.path,
            located.targets.first().map(|t| t.transport)
        );
    }
    // Local TLS configuration first: a missing or bad CA file is a local error (exit 2).
    let tls = if located.targets.iter().any(|t| t.transport == Transport::Tls) {
        let config = tls_config(
            args.ca_file.as_ref(),
            parsed.settings.tls.tls_cipher_list.get(),
            line.tls_name_validate.get().0,
            n,
        )?;
        Some((config, host_plain.clone()))
    } else {
        None
    };
    let sip_port = line.sip_port.get().get();
    let cfg = Config {
        user: line.user_id.get().clone(),
        password: line.password.get().clone(),
        domain: proxy.to_string(),
        expires: args.expires,
        auth_invite: line.auth_invite.get().0,
        mediasec: sip_mediasec::Policy {
            request: line.mediasec_request.get().0,
            over_tls_only: line.mediasec_over_tls_only.get().0,
            ..sip_mediasec::Policy::client_initiated()
        },
        user_agent: concat!("phone-agent/", env!("CARGO_PKG_VERSION")).to_owned(),
    };
    let first = located.targets.first().copied();
    println!(
        "line {n}: registering {}@{} via {} (mediasec: {}, over TLS only: {}; Auth_INVITE: {})",
        cfg.user,
        cfg.domain,
        first.map_or_else(String::new, |t| t.to_string()),
        if cfg.mediasec.request {
            "client-initiated"
        } else {
            "server-initiated"
        },
        if cfg.mediasec.over_tls_only { "yes" } else { "no" },
        if cfg.auth_invite { "yes" } else { "no" },
    );
    let mut ua = Line::new(cfg, located.targets, Box::new(SystemRng::new())).context("starting the line")?;
    drive(&mut ua, args, sip_port, tls.as_ref())
}

/// The loop: the line's outputs carried out, received bytes and time fed back.
fn drive(
    ua: &mut Line,
    args: &RegisterArgs,
    sip_port: u16,
    tls: Option<&(Arc<rustls::ClientConfig>, String)>,
) -> Result<ExitCode> {
    let n = args.line;
    let started = Instant::now();
    let stop_at = args.duration.map(|d| started + Duration::from_secs(d));
    let mut conn: Option<Conn> = None;
    let mut registered_once = false;
    // Set once the un-REGISTER is sent: the exit code to give when it is answered.
    let mut leaving: Option<(ExitCode, Instant)> = None;
    // The line's timer, as its last `Output::Timeout` set it.
    let mut timer: Option<Instant> = None;
    ua.start(started);
    loop {
        while let Some(out) = ua.poll_output() {
            match out {
                Output::Connect(target) => {
                    conn = None;
                    match open(target, sip_port, tls)? {
                        Ok(c) => {
                            let local = c.local_addr()?;
                            println!("line {n}: connected to {target} from {local}");
                            conn = Some(c);
                            ua.handle_connected(Instant::now(), local)?;
                        }
                        Err(e) => {
                            println!("line {n}: {target}: {e:#}");
                            ua.handle_transport_error(Instant::now(), &format!("{e:#}"))?;
                        }
                    }
                }
                Output::Transmit(t) => {
                    let sent = match conn.as_mut() {
                        Some(c) => c.send(t.to, &t.bytes),
                        None => Err(anyhow!("no connection")),
                    };
                    if let Err(e) = sent {
                        conn = None;
                        println!("line {n}: sending: {e:#}");
                        ua.handle_transport_error(Instant::now(), &format!("sending: {e:#}"))?;
                    }
                }
                Output::Event(event) => {
                    report(n, &event);
                    match event {
                        Event::Registered { .. } => {
                            registered_once = true;
                            if args.once && leaving.is_none() {
                                if !args.unregister {
                                    return Ok(ExitCode::SUCCESS);
                                }
                                ua.unregister(Instant::now())?;
                                leaving = Some((ExitCode::SUCCESS, Instant::now() + Duration::from_secs(40)));
                            }
                        }
                        Event::Unregistered => {
                            if let Some((code, _)) = leaving {
                                return Ok(code);
                            }
                        }
                        Event::RegistrationFailed(_)
                            if leaving.is_some() || args.once || stop_at.is_none() =>
                        {
                            return Ok(ExitCode::from(1));
                        }
                        _ => {}
                    }
                }
                Output::Timeout(at) => timer = at,
            }
        }
        let now = Instant::now();
        if let Some((_, give_up)) = leaving {
            if now >= give_up {
                println!("line {n}: no answer to the un-REGISTER");
                return Ok(ExitCode::from(1));
            }
        } else if stop_at.is_some_and(|t| now >= t) {
            let code = if registered_once {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
            if !(args.unregister && registered_once) {
                return Ok(code);
            }
            ua.unregister(now)?;
            leaving = Some((code, now + Duration::from_secs(40)));
            continue;
        }
        let mut wake = timer.unwrap_or(now + Duration::from_secs(1));
        if let Some(t) = stop_at.filter(|_| leaving.is_none()) {
            wake = wake.min(t);
        }
        if let Some((_, t)) = leaving {
            wake = wake.min(t);
        }
        let Some(c) = conn.as_mut() else {
            std::thread::sleep(wake.saturating_duration_since(now).min(Duration::from_secs(1)));
            ua.handle_timeout(Instant::now())?;
            continue;
        };
        match c.recv(wake.saturating_duration_since(now)) {
            Ok(Some((from, bytes))) => ua.handle_message(Instant::now(), from, &bytes)?,
            Ok(None) => ua.handle_timeout(Instant::now())?,
            Err(e) => {
                conn = None;
                println!("line {n}: {e:#}");
                ua.handle_transport_error(Instant::now(), &format!("{e:#}"))?;
            }
        }
    }
}

fn report(n: usize, event: &Event) {
    match event {
        Event::Registered {
            expires,
            media,
            target,
        } => {
            let media = media
                .as_ref()
                .map_or_else(|| "none".to_owned(), |m| format!("{m:?}"));
            println!("line {n}: registered (expires {expires} s, media security: {media}) at {target}");
        }
        Event::Unregistered => println!("line {n}: unregistered (our binding removed)"),
        Event::RegistrationFailed(failure) => println!("line {n}: registration failed: {failure}"),
        Event::Failover { from, to, reason } => {
            println!("line {n}: failover from {from} to {to}: {reason}")
        }
        Event::Mediasec(e) => println!("line {n}: mediasec: {e:?}"),
        Event::IncomingInvite { call_id, outcome } => {
            println!("line {n}: incoming INVITE {call_id}: {outcome}")
        }
    }
}
