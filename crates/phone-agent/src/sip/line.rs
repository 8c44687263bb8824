//! `phone-agent sip register`: the I/O around [`ua::Line`](super::ua::Line): sockets, the clock,
//! TLS, and the report.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use phone_config::Transport as CfgTransport;
use sip_message::Message;
use zeroize::Zeroizing;

use super::ua::{Line, LineConfig, LineEvent, Output, Transport};

/// Arguments of `phone-agent sip register`.
#[derive(clap::Args)]
pub struct RegisterArgs {
    /// The cfg.xml with the line's settings.
    #[arg(long)]
    config: PathBuf,
    /// The line (extension) number, 1 to 16.
    #[arg(long, default_value_t = 1)]
    line: usize,
    /// Exit after the first registration: 0 registered, 1 failed.
    #[arg(long)]
    once: bool,
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
            Err(e) => bail!("the peer sent an unframeable message ({e}); closing"),
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

/// Connects to the first of `peers` that answers.
fn connect_any(peers: &[SocketAddr], what: &str) -> Result<TcpStream> {
    let mut last = None;
    for peer in peers {
        match TcpStream::connect_timeout(peer, Duration::from_secs(5)) {
            Ok(s) => return Ok(s),
            Err(e) => {
                last = Some(anyhow::Error::from(e).context(format!("connecting to {peer} over {what}")))
            }
        }
    }
    Err(last.unwrap_or_else(|| anyhow!("no address to connect to over {what}")))
}

pub fn run(args: &RegisterArgs) -> Result<ExitCode> {
    let bytes = std::fs::read(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let parsed =
        phone_config::parse(&bytes).map_err(|e| anyhow!("{}: {}", args.config.display(), e.diagnostic()))?;
    let line = parsed
        .settings
        .line(args.line)
        .ok_or_else(|| anyhow!("line {} does not exist (1 to 16)", args.line))?;
    let proxy = line
        .proxy
        .get()
        .as_ref()
        .ok_or_else(|| anyhow!("Proxy_{}_ is not set", args.line))?;
    let next_hop = line.outbound_proxy.get().as_ref().unwrap_or(proxy);
    let host = next_hop.host.to_string();
    let host_plain = host.trim_start_matches('[').trim_end_matches(']').to_owned();
    let explicit_port = next_hop.port.map(|p| p.get());
    let fixed = match line.sip_transport.get() {
        CfgTransport::Udp => Some(Transport::Udp),
        CfgTransport::Tcp => Some(Transport::Tcp),
        CfgTransport::Tls => Some(Transport::Tls),
        CfgTransport::Auto => None,
    };
    let (transport, peers) = match fixed {
        Some(transport) => {
            let default_port = if transport == Transport::Tls { 5061 } else { 5060 };
            let port = explicit_port.unwrap_or(default_port);
            let peers: Vec<SocketAddr> = match args.dns {
                Some(dns) if host_plain.parse::<std::net::IpAddr>().is_err() => {
                    super::locate::resolve(&host_plain, port, dns)?
                }
                _ => (host_plain.as_str(), port)
                    .to_socket_addrs()
                    .with_context(|| format!("resolving {host}"))?
                    .collect(),
            };
            (transport, peers)
        }
        None => {
            let target = super::locate::locate(&host_plain, explicit_port, args.dns)
                .with_context(|| format!("SIP_Transport_{}_ AUTO: locating {host} (RFC 3263)", args.line))?;
            println!(
                "line {}: AUTO: {} -> {:?}",
                args.line, target.path, target.transport
            );
            (target.transport, target.addrs)
        }
    };
    let peer = *peers.first().ok_or_else(|| anyhow!("{host} has no address"))?;
    let sip_port = line.sip_port.get().get();

    let mut conn = match transport {
        Transport::Udp => {
            // The local address the proxy sees: ask the kernel by connecting a probe socket.
            let probe = UdpSocket::bind((if peer.is_ipv4() { "0.0.0.0" } else { "::" }, 0))?;
            probe.connect(peer)?;
            let local_ip = probe.local_addr()?.ip();
            let socket = UdpSocket::bind((local_ip, sip_port))
                .with_context(|| format!("binding SIP_Port_{}_ {local_ip}:{sip_port}", args.line))?;
            Conn::Udp { socket, peer }
        }
        Transport::Tcp => {
            let stream = connect_any(&peers, "TCP")?;
            stream.set_nodelay(true)?;
            Conn::Tcp {
                stream,
                buf: Vec::new(),
            }
        }
        Transport::Tls => {
            let config = tls_config(
                args.ca_file.as_ref(),
                parsed.settings.tls.tls_cipher_list.get(),
                line.tls_name_validate.get().0,
                args.line,
            )?;
            let name = rustls_pki_types::ServerName::try_from(host_plain.clone())
                .map_err(|e| anyhow!("{host} as a TLS server name: {e}"))?;
            let tcp = connect_any(&peers, "TCP for TLS")?;
            let peer = tcp.peer_addr()?;
            tcp.set_nodelay(true)?;
            tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
            let mut session = rustls::ClientConnection::new(config, name)?;
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
    };
    let local = match &conn {
        Conn::Udp { socket, .. } => socket.local_addr()?,
        Conn::Tcp { stream, .. } => stream.local_addr()?,
        Conn::Tls { stream, .. } => stream.sock.local_addr()?,
    };
    let cfg = LineConfig {
        user: line.user_id.get().clone(),
        password: Zeroizing::new(line.password.get().expose().to_owned()),
        domain: proxy.to_string(),
        transport,
        local,
        expires: args.expires,
        auth_invite: line.auth_invite.get().0,
        mediasec: sip_mediasec::Policy {
            request: line.mediasec_request.get().0,
            over_tls_only: line.mediasec_over_tls_only.get().0,
            ..sip_mediasec::Policy::client_initiated()
        },
    };
    let n = args.line;
    println!(
        "line {n}: registering {}@{} via {peer} over {transport:?} from {local} (mediasec: {}, over TLS only: {}; Auth_INVITE: {})",
        cfg.user,
        cfg.domain,
        if cfg.mediasec.request {
            "client-initiated"
        } else {
            "server-initiated"
        },
        if cfg.mediasec.over_tls_only { "yes" } else { "no" },
        if cfg.auth_invite { "yes" } else { "no" },
    );
    let mut ua = Line::new(cfg);
    let started = Instant::now();
    let stop_at = args.duration.map(|d| started + Duration::from_secs(d));
    ua.register(started);
    let mut registered_once = false;
    loop {
        while let Some(out) = ua.poll_output() {
            match out {
                Output::Transmit { to, bytes } => conn.send(to, &bytes)?,
                Output::Event(event) => {
                    report(n, &event);
                    match event {
                        LineEvent::Registered { .. } => {
                            registered_once = true;
                            if args.once {
                                return Ok(ExitCode::SUCCESS);
                            }
                        }
                        LineEvent::RegistrationFailed { .. } if args.once || stop_at.is_none() => {
                            return Ok(ExitCode::from(1));
                        }
                        _ => {}
                    }
                }
            }
        }
        let now = Instant::now();
        if stop_at.is_some_and(|t| now >= t) {
            return Ok(if registered_once {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            });
        }
        let mut wake = ua.poll_timeout().unwrap_or(now + Duration::from_secs(1));
        if let Some(t) = stop_at {
            wake = wake.min(t);
        }
        match conn.recv(wake.saturating_duration_since(now))? {
            Some((from, bytes)) => ua.handle_message(Instant::now(), from, &bytes),
            None => ua.handle_timeout(Instant::now()),
        }
    }
}

fn report(n: usize, event: &LineEvent) {
    match event {
        LineEvent::Registered { expires, media } => {
            let media = media
                .as_ref()
                .map_or_else(|| "none".to_owned(), |m| format!("{m:?}"));
            println!("line {n}: registered (expires {expires} s, media security: {media})");
        }
        LineEvent::RegistrationFailed { reason } => println!("line {n}: registration failed: {reason}"),
        LineEvent::Mediasec(e) => println!("line {n}: mediasec: {e:?}"),
        LineEvent::IncomingInvite { call_id, outcome } => {
            println!("line {n}: incoming INVITE {call_id}: {outcome}")
        }
    }
}
