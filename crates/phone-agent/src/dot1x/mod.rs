//! `phone-agent dot1x`: run the 802.1X supplicant (crate `eap-supplicant`) for the phone whose
//! `cfg.xml` is given, on a wired port (raw EAPOL on AF_PACKET) or over RADIUS (the job admins
//! use `eapol_test` for).
//!
//! ```text
//! phone-agent dot1x (--iface IF | --radius HOST:PORT --secret S) --config cfg.xml \
//!     --ca ca.pem --client-cert phone.pem --client-key phone.key [--identity ID] \
//!     [--domain-suffix-match D] [--tls 1.2|1.3|any] [--fragment-size N] [--show-keys] [--json]
//!     [--logoff]
//! phone-agent dot1x (--iface IF | --radius HOST:PORT --secret S) --config cfg.xml --method fast \
//!     --identity NAME --password PW --pac-file FILE [--pac-format text|binary] \
//!     [--fast-provisioning 0|1|2|3] [--phase2 mschapv2|gtc] [--ca ca.pem]
//! phone-agent dot1x --iface IF --config cfg.xml --proxy-logoff PC-MAC
//! phone-agent dot1x --iface IF --pc-port IF2 --config cfg.xml --ca ... [--stay SECS]
//! ```
//! With `--pc-port`, the PC behind the phone authenticates through it (SPEC §12): its EAPOL
//! frames pass between IF2 and IF unchanged (source MAC preserved), and when IF2's link goes down
//! the phone sends a proxy EAPOL-Logoff with the PC's MAC on IF. The agent then keeps running
//! after its own authentication (until `--stay` elapses or it is killed).
//! Exit status: 0 on Access-Accept with a verified EAP-Success, 1 on reject or failure, 2 when
//! the run could not happen (unreadable files, 802.1X disabled in cfg.xml, no server).

#[cfg(feature = "eap-fast")]
mod fast;
#[cfg(not(feature = "eap-fast"))]
#[path = "no_fast.rs"]
mod fast;
pub(crate) use fast::daemon_config as fast_daemon_config;
#[cfg(feature = "eap-fast")]
pub(crate) use fast::save_pac_file;
pub(crate) mod passthrough;
pub(crate) mod port;
mod radius;
mod wired;

use std::net::{SocketAddr, ToSocketAddrs};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::{ArgGroup, Args, ValueEnum};
use eap_supplicant::eap::MethodType;
use eap_supplicant::{
    Authenticated, Config, EapTlsConfig, Event, Peer, PeerOutput, ServerNameMatch, TlsVersions,
};
use serde_json::json;

use crate::driver::Ended;
use radius_client::ReplyCode;

/// The TLS versions to offer.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum TlsChoice {
    /// TLS 1.2 only (RFC 5216).
    #[value(name = "1.2")]
    Tls12,
    /// TLS 1.3 only (RFC 9190).
    #[value(name = "1.3")]
    Tls13,
    /// Either; the server chooses.
    Any,
}

/// The outer EAP method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum MethodChoice {
    /// EAP-TLS (client certificate).
    Tls,
    /// EAP-FAST (RFC 4851): PAC, inner MSCHAPv2 or GTC with --identity/--password.
    Fast,
}

/// The EAP-FAST inner method.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Phase2Choice {
    /// EAP-MSCHAPv2.
    Mschapv2,
    /// EAP-GTC.
    Gtc,
}

/// How a PAC file is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PacFormat {
    /// wpa_supplicant's text format.
    Text,
    /// wpa_supplicant's binary format (`fast_pac_format=binary`).
    Binary,
}

/// `phone-agent dot1x` arguments.
#[derive(Args, Debug, Clone)]
#[command(group(ArgGroup::new("transport").required(true).args(["radius", "iface"])))]
pub struct Dot1xArgs {
    /// The phone's cfg.xml; `Enable_802.1X_Authentication` must be Yes.
    #[arg(long)]
    config: PathBuf,
    /// Authenticate on this wired interface: raw EAPOL (AF_PACKET, needs CAP_NET_RAW).
    #[arg(long, value_name = "IF")]
    iface: Option<String>,
    /// Authenticate against this RADIUS server (HOST:PORT), as a switch would relay it.
    #[arg(long, value_name = "HOST:PORT", requires = "secret")]
    radius: Option<String>,
    /// The RADIUS shared secret.
    #[arg(long)]
    secret: Option<String>,
    /// The CA certificate(s) the authentication server must chain to (PEM or DER). Required
    /// for EAP-TLS; for EAP-FAST it enables server-authenticated provisioning.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// The phone's certificate (PEM or DER; chain leaf first). EAP-TLS.
    #[arg(long)]
    client_cert: Option<PathBuf>,
    /// The phone's private key (PEM or DER: PKCS#8, RSA or EC; unencrypted). EAP-TLS.
    #[arg(long)]
    client_key: Option<PathBuf>,
    /// The EAP method: tls (client certificate) or fast (PAC + inner password method).
    /// Default: `Agent_802.1X_Method` in --config, else tls.
    #[arg(long, value_enum)]
    method: Option<MethodChoice>,
    /// EAP-FAST: the inner password (MSCHAPv2 or GTC). Default: `Agent_802.1X_Password`.
    #[arg(long)]
    password: Option<String>,
    /// EAP-FAST: the PAC file (wpa_supplicant text or binary format, detected on read);
    /// provisioned PACs are written back to it (atomically, mode 0600).
    #[arg(long, value_name = "FILE")]
    pac_file: Option<PathBuf>,
    /// EAP-FAST: the format new PACs are written in (default: the existing file's, else text).
    #[arg(long, value_enum)]
    pac_format: Option<PacFormat>,
    /// EAP-FAST: PAC provisioning as wpa_supplicant's fast_provisioning: 0 none,
    /// 1 anonymous, 2 server-authenticated (needs --ca), 3 both. Default:
    /// `Agent_EAP_FAST_Provisioning`, else 1.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=3))]
    fast_provisioning: Option<u8>,
    /// EAP-FAST: the inner method. Default: `Agent_EAP_FAST_Inner_Method`, else mschapv2.
    #[arg(long, value_enum)]
    phase2: Option<Phase2Choice>,
    /// With --iface: send EAPOL-Logoff once authenticated (the switch unauthorizes the port).
    #[arg(long)]
    logoff: bool,
    /// With --iface: keep the port up this many seconds after authenticating, answering the
    /// switch's re-authentications.
    #[arg(long, value_name = "SECS", conflicts_with = "logoff")]
    stay: Option<u64>,
    /// With --iface: the phone's PC port. EAPOL frames pass through between it and --iface
    /// (both directions, source MAC preserved); when its link goes down, a proxy EAPOL-Logoff
    /// with each PC MAC seen on it goes out on --iface. Keeps the agent running after
    /// authenticating (see --stay).
    #[arg(long, value_name = "IF2", requires = "iface", conflicts_with = "logoff")]
    pc_port: Option<String>,
    /// With --iface: only send a proxy EAPOL-Logoff on behalf of the PC with this MAC address
    /// (the phone does this when the PC behind it disconnects).
    #[arg(long, value_name = "MAC", requires = "iface")]
    proxy_logoff: Option<String>,
    /// The EAP identity. Default: `Agent_802.1X_Identity`, else `phone`.
    #[arg(long)]
    identity: Option<String>,
    /// Require a server certificate SAN dNSName equal to, or under, this domain.
    #[arg(long)]
    domain_suffix_match: Option<String>,
    /// Require a server certificate SAN dNSName equal to this name.
    #[arg(long)]
    domain_match: Option<String>,
    /// TLS versions to offer.
    #[arg(long, value_enum, default_value = "any")]
    tls: TlsChoice,
    /// TLS bytes per EAP-TLS fragment.
    #[arg(long, default_value_t = eap_supplicant::DEFAULT_FRAGMENT_SIZE)]
    fragment_size: usize,
    /// RADIUS: seconds to wait for each reply (3 tries). Wired: seconds for each EAP
    /// conversation (EAP-FAST with anonymous provisioning runs two: give the authenticator time
    /// to forget the failed one, hostapd needs 5 s).
    #[arg(long, default_value_t = 3)]
    timeout: u64,
    /// Wired: seconds between EAPOL-Starts while no authenticator answers (startPeriod).
    #[arg(long, default_value_t = 30)]
    start_period: u64,
    /// Print the MSK and EMSK (hex). Off by default: they are keys.
    #[arg(long)]
    show_keys: bool,
    /// Print one JSON document.
    #[arg(long)]
    json: bool,
}

impl Dot1xArgs {
    /// What the command line leaves open, from the settings (SPEC §12 and the agent's own
    /// `Agent_802.1X_*` / `Agent_EAP_FAST_*` parameters): the command line wins.
    fn apply_settings(&mut self, d: &phone_config::Dot1x) {
        self.method.get_or_insert(match d.agent_802_1x_method.get() {
            phone_config::Dot1xMethod::EapFast => MethodChoice::Fast,
            phone_config::Dot1xMethod::EapTls => MethodChoice::Tls,
        });
        if self.identity.is_none() && !d.agent_802_1x_identity.get().is_empty() {
            self.identity = Some(d.agent_802_1x_identity.get().clone());
        }
        if self.password.is_none() && !d.agent_802_1x_password.get().expose().is_empty() {
            self.password = Some(d.agent_802_1x_password.get().expose().to_owned());
        }
        self.phase2
            .get_or_insert(match d.agent_eap_fast_inner_method.get() {
                phone_config::FastInnerMethod::MsChapV2 => Phase2Choice::Mschapv2,
                phone_config::FastInnerMethod::Gtc => Phase2Choice::Gtc,
            });
        self.fast_provisioning
            .get_or_insert(d.agent_eap_fast_provisioning.get().level());
    }

    fn method(&self) -> MethodChoice {
        self.method.unwrap_or(MethodChoice::Tls)
    }

    #[cfg_attr(not(feature = "eap-fast"), allow(dead_code))]
    fn phase2(&self) -> Phase2Choice {
        self.phase2.unwrap_or(Phase2Choice::Mschapv2)
    }

    fn fast_provisioning(&self) -> u8 {
        self.fast_provisioning.unwrap_or(1)
    }

    fn identity(&self) -> &str {
        self.identity.as_deref().unwrap_or("phone")
    }
}

/// The outcome of one authentication.
struct Outcome {
    authenticated: Option<Box<Authenticated>>,
    failure: Option<String>,
    radius: Option<ReplyCode>,
    round_trips: usize,
    mppe_match: Option<bool>,
    elapsed: Duration,
    /// Wired: EAPOL frames sent, received, and whether EAPOL-Logoff was sent.
    eapol: Option<(usize, usize, bool)>,
    /// Wired: successful authentications (re-authentications included).
    authentications: Option<usize>,
    /// Wired with --pc-port: what the pass-through did.
    pass_through: Option<passthrough::PassThroughReport>,
    /// EAP methods the server proposed and the phone declined, with why.
    declined: Vec<String>,
    /// EAP-FAST: PACs provisioned (and written to --pac-file).
    pacs_provisioned: usize,
    /// EAP-FAST: the server refused the PAC and there was no CA to accept its full handshake.
    pac_refused: bool,
    /// Authentications run: 2 when anonymous provisioning ended in its EAP-Failure and the
    /// phone authenticated again with the new PAC (RFC 5422 §3.2.2).
    attempts: usize,
}

/// Runs the subcommand.
pub fn run(args: &Dot1xArgs) -> Result<ExitCode> {
    let cfg = std::fs::read(&args.config).with_context(|| format!("reading {}", args.config.display()))?;
    let parsed = phone_config::parse(&cfg).map_err(|e| anyhow!("{}: {e}", args.config.display()))?;
    let mut resolved = args.clone();
    resolved.apply_settings(&parsed.settings.dot1x);
    let args = &resolved;
    if !parsed.settings.dot1x.enable_802_1x_authentication.get().0 {
        print_state(args, "Disabled", None);
        eprintln!(
            "phone-agent dot1x: Enable_802.1X_Authentication is No in {}: nothing to do",
            args.config.display()
        );
        return Ok(ExitCode::from(2));
    }
    if let (Some(iface), Some(pc)) = (&args.iface, &args.proxy_logoff) {
        let pc: eap_supplicant::eapol::MacAddress = pc.parse()?;
        wired::send_proxy_logoff(iface, pc)?;
        if args.json {
            println!("{}", json!({ "proxy_logoff": pc.to_string(), "iface": iface }));
        } else {
            println!("Proxy EAPOL-Logoff sent on {iface} for {pc}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let config = supplicant_config(args, false)?;
    let outcome = match (&args.iface, &args.radius, &args.secret) {
        (Some(iface), _, _) => {
            let then = match (args.logoff, args.stay, &args.pc_port) {
                (true, _, _) => wired::Then::Logoff,
                (false, Some(secs), _) => wired::Then::Stay(Some(Duration::from_secs(secs))),
                (false, None, Some(_)) => wired::Then::Stay(None),
                (false, None, None) => wired::Then::Return,
            };
            let options = wired::WiredOptions {
                limit: Duration::from_secs(args.timeout.max(1)),
                then,
                pc_port: args.pc_port.as_deref(),
            };
            let w = wired::authenticate(
                iface,
                config,
                &options,
                |pac| fast::save_pac(args, pac),
                |failed| {
                    // The authenticator may hold the station for a while after the EAP-Failure
                    // (hostapd: 5 s): EAPOL-Start every second until it answers, within --timeout.
                    let timers = eap_supplicant::PaeTimers {
                        start_period: Duration::from_secs(1),
                        max_start: u32::MAX,
                        ..eap_supplicant::PaeTimers::default()
                    };
                    again(args, failed.pacs_provisioned > 0, failed.pac_refused)
                        .map(|without_pacs| {
                            supplicant_config(args, without_pacs).map(|c| c.with_timers(timers))
                        })
                        .transpose()
                },
            )?;
            Outcome {
                authenticated: w.authenticated,
                failure: w.failure,
                radius: None,
                round_trips: w.frames_received,
                mppe_match: None,
                elapsed: w.elapsed,
                eapol: Some((w.frames_sent, w.frames_received, w.logged_off)),
                authentications: Some(w.authentications),
                pass_through: w.pass_through,
                declined: w.declined,
                pacs_provisioned: w.pacs_provisioned,
                pac_refused: false,
                attempts: w.attempts,
            }
        }
        (None, Some(radius), Some(secret)) => {
            let server = resolve(radius)?;
            let mut total = authenticate(args, secret, config, server)?;
            // EAP-FAST: anonymous provisioning ends in EAP-Failure by design, so go again with
            // the new PAC; a refused PAC (no CA to accept the full handshake) is dropped and a
            // new one provisioned when the policy allows.
            while total.authenticated.is_none() && total.attempts < 3 {
                let Some(without_pacs) = again(args, total.pacs_provisioned > 0, total.pac_refused) else {
                    break;
                };
                let mut next = authenticate(args, secret, supplicant_config(args, without_pacs)?, server)?;
                next.attempts = total.attempts + 1;
                next.pacs_provisioned += total.pacs_provisioned;
                next.round_trips += total.round_trips;
                next.elapsed += total.elapsed;
                if next.pacs_provisioned == total.pacs_provisioned && next.pac_refused {
                    total = next;
                    break;
                }
                total = next;
            }
            total
        }
        _ => bail!("give --iface, or --radius with --secret"),
    };
    report(args, &outcome)?;
    Ok(if outcome.authenticated.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// After a failed EAP-FAST conversation: authenticate again, and whether without the PACs on
/// file (`Some(true)`: the server refused the PAC and the policy allows anonymous provisioning
/// of a new one; `Some(false)`: a PAC was just provisioned, RFC 5422 §3.2.2's EAP-Failure after
/// anonymous provisioning), or not (`None`).
fn again(args: &Dot1xArgs, provisioned: bool, pac_refused: bool) -> Option<bool> {
    match (pac_refused, provisioned) {
        (true, _) if args.fast_provisioning() & 1 != 0 => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

fn supplicant_config(args: &Dot1xArgs, without_pacs: bool) -> Result<Config> {
    let timers = eap_supplicant::PaeTimers {
        start_period: Duration::from_secs(args.start_period.max(1)),
        ..eap_supplicant::PaeTimers::default()
    };
    if args.method() == MethodChoice::Fast {
        return Ok(fast::config(args, without_pacs)?.with_timers(timers));
    }
    let read = |p: &Option<PathBuf>, what: &str| match p {
        Some(p) => std::fs::read(p).with_context(|| format!("reading {}", p.display())),
        None => bail!("--{what} is required"),
    };
    let mut builder = EapTlsConfig::builder(
        &read(&args.ca, "ca")?,
        std::sync::Arc::new(eap_supplicant::DefaultTimeProvider),
    )
    .client_certificate(
        &read(&args.client_cert, "client-cert")?,
        &read(&args.client_key, "client-key")?,
    )
    .fragment_size(args.fragment_size)
    .tls_versions(match args.tls {
        TlsChoice::Tls12 => TlsVersions::Tls12Only,
        TlsChoice::Tls13 => TlsVersions::Tls13Only,
        TlsChoice::Any => TlsVersions::Tls12And13,
    });
    if let Some(d) = &args.domain_suffix_match {
        builder = builder.server_name(ServerNameMatch::Suffix(d.clone()));
    }
    if let Some(d) = &args.domain_match {
        builder = builder.server_name(ServerNameMatch::Exact(d.clone()));
    }
    let tls = builder.build().context("EAP-TLS configuration")?;
    Ok(Config::new(args.identity().to_owned(), tls).with_timers(timers))
}

fn resolve(server: &str) -> Result<SocketAddr> {
    server
        .to_socket_addrs()
        .with_context(|| format!("resolving {server}"))?
        .next()
        .ok_or_else(|| anyhow!("{server} resolves to no address"))
}

/// One EAP conversation relayed over RADIUS. The authenticator's EAP-Request/Identity is
/// implied (as with `eapol_test`): the peer starts the conversation itself ([`Peer::start`])
/// and the first Access-Request carries its Identity response. The RADIUS client runs on the
/// [`Driver`](crate::driver::Driver); each reply's EAP packet goes to the peer from the event
/// handler, and the peer's answer goes out as the next Access-Request.
fn authenticate(args: &Dot1xArgs, secret: &str, config: Config, server: SocketAddr) -> Result<Outcome> {
    let runtime = tokio::runtime::Handle::try_current().context("no tokio runtime")?;
    runtime.block_on(authenticate_over_radius(args, secret, config, server))
}

async fn authenticate_over_radius(
    args: &Dot1xArgs,
    secret: &str,
    config: Config,
    server: SocketAddr,
) -> Result<Outcome> {
    let started = Instant::now();
    let identity = config.identity().to_owned();
    let mut peer = Peer::new(config);
    let timeout = Duration::from_secs(args.timeout.max(1));
    let mut driver = radius::connect(server, secret.as_bytes(), timeout, 3).await?;
    peer.start(started);
    let mut outcome = Outcome {
        authenticated: None,
        failure: None,
        radius: None,
        round_trips: 0,
        mppe_match: None,
        elapsed: Duration::ZERO,
        eapol: None,
        authentications: None,
        pass_through: None,
        declined: Vec::new(),
        pacs_provisioned: 0,
        pac_refused: false,
        attempts: 1,
    };
    let mut mppe = None;
    // The peer's outputs: its events into the outcome, its response (if the conversation
    // goes on) to the client as the next Access-Request.
    let answer =
        |client: &mut radius_client::Client, peer: &mut Peer, outcome: &mut Outcome| -> Result<bool> {
            let mut response = None;
            while let Some(out) = peer.poll_output() {
                match out {
                    PeerOutput::Response(r) => response = Some(r),
                    PeerOutput::Event(Event::Authenticated(a)) => outcome.authenticated = Some(a),
                    PeerOutput::Event(Event::Failed { reason }) => {
                        outcome.pac_refused |= fast::pac_refused(&reason);
                        outcome.failure = Some(reason.to_string());
                    }
                    PeerOutput::Event(Event::MethodDeclined { requested, reason }) => {
                        outcome.declined.push(declined(requested, reason));
                    }
                    #[cfg(feature = "eap-fast")]
                    PeerOutput::Event(Event::PacProvisioned(pac)) => {
                        fast::save_pac(args, *pac)?;
                        outcome.pacs_provisioned += 1;
                    }
                    PeerOutput::Event(_) => {}
                }
            }
            let concluded = outcome.authenticated.is_some() || outcome.radius.is_some();
            match response.filter(|_| !concluded) {
                Some(eap) => {
                    client
                        .send_eap(Instant::now(), &identity, &eap, &mut radius::system_random())
                        .context("building the Access-Request")?;
                    Ok(true)
                }
                None => Ok(false),
            }
        };
    if answer(&mut driver.core, &mut peer, &mut outcome)? {
        let ended = driver
            .run(std::future::pending(), |client, event| {
                let mut reply = match event {
                    radius_client::Event::Reply(reply) => reply,
                    radius_client::Event::Dropped(why) => {
                        tracing::warn!("RADIUS: dropped a datagram: {why}");
                        return ControlFlow::Continue(());
                    }
                    radius_client::Event::GaveUp { tries } => {
                        return ControlFlow::Break(Err(anyhow!(
                            "no answer from the RADIUS server after {tries} tries of {timeout:?}"
                        )));
                    }
                };
                outcome.radius = (reply.code != ReplyCode::Challenge).then_some(reply.code);
                if reply.msk.is_some() {
                    mppe = reply.msk.take();
                }
                if reply.eap.is_empty() {
                    if reply.code == ReplyCode::Challenge {
                        return ControlFlow::Break(Err(anyhow!("Access-Challenge without EAP-Message")));
                    }
                    return ControlFlow::Break(Ok(()));
                }
                if let Err(e) = peer.handle_packet(Instant::now(), &reply.eap) {
                    tracing::warn!("EAP packet from the server discarded: {e}");
                    if reply.code == ReplyCode::Challenge {
                        outcome.failure = Some(format!("server's EAP packet discarded: {e}"));
                        return ControlFlow::Break(Ok(()));
                    }
                }
                match answer(client, &mut peer, &mut outcome) {
                    Ok(true) => ControlFlow::Continue(()),
                    Ok(false) => ControlFlow::Break(Ok(())),
                    Err(e) => ControlFlow::Break(Err(e)),
                }
            })
            .await?;
        if let Ended::Done(result) = ended {
            result?;
        }
    }
    // Drain the events of the final Success/Failure.
    while let Some(out) = peer.poll_output() {
        match out {
            PeerOutput::Event(Event::Authenticated(a)) => outcome.authenticated = Some(a),
            PeerOutput::Event(Event::Failed { reason }) => {
                outcome.failure = Some(reason.to_string());
            }
            _ => {}
        }
    }
    match outcome.radius {
        Some(ReplyCode::Accept) if outcome.authenticated.is_none() => {
            outcome
                .failure
                .get_or_insert_with(|| "Access-Accept without a verifiable EAP-Success: refused".into());
        }
        Some(ReplyCode::Accept) => {}
        _ => {
            if outcome.authenticated.take().is_some() {
                outcome.failure = Some("EAP-Success but no Access-Accept".into());
            }
            outcome.failure.get_or_insert_with(|| "Access-Reject".into());
        }
    }
    if let (Some(auth), Some(keys)) = (&outcome.authenticated, &mppe) {
        outcome.mppe_match = Some(auth.msk.expose().get(..keys.expose().len()) == Some(keys.expose()));
    }
    outcome.round_trips = driver.core.round_trips();
    outcome.elapsed = started.elapsed();
    Ok(outcome)
}

/// How a declined method is shown: `EAP-FAST (type 43): why`.
pub(crate) fn declined(method: MethodType, reason: &str) -> String {
    let name = match method {
        MethodType::Fast => "EAP-FAST".to_owned(),
        other => format!("{other:?}"),
    };
    format!("{name} (type {}): {reason}", method.value())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn print_state(args: &Dot1xArgs, state: &str, protocol: Option<&str>) {
    if args.json {
        println!("{}", json!({ "transaction_state": state, "protocol": protocol }));
    } else {
        println!("Transaction state: {state}");
        if let Some(p) = protocol {
            println!("Protocol: {p}");
        }
    }
}

fn report(args: &Dot1xArgs, o: &Outcome) -> Result<()> {
    let state = if o.authenticated.is_some() {
        "Authenticated"
    } else {
        "Failed"
    };
    let radius = o.radius.map(|c| match c {
        ReplyCode::Accept => "Access-Accept",
        ReplyCode::Reject => "Access-Reject",
        ReplyCode::Challenge => "Access-Challenge",
    });
    let a = o.authenticated.as_deref();
    let protocol = match args.method() {
        MethodChoice::Tls => "EAP-TLS",
        MethodChoice::Fast => "EAP-FAST",
    };
    if args.json {
        let mut doc = json!({
            "transaction_state": state,
            "protocol": protocol,
            "radius": radius,
            "round_trips": o.round_trips,
            "elapsed_ms": o.elapsed.as_secs_f64() * 1000.0,
            "tls_version": a.map(|a| a.tls_version.to_string()),
            "cipher_suite": a.map(|a| a.cipher_suite.clone()),
            "session_id": a.map(|a| hex(&a.session_id)),
            "mppe_keys_match": o.mppe_match,
            "failure": o.failure,
            "declined_methods": o.declined,
        });
        if let (MethodChoice::Fast, Some(map)) = (args.method(), doc.as_object_mut()) {
            map.insert("pacs_provisioned".into(), o.pacs_provisioned.into());
            map.insert("attempts".into(), o.attempts.into());
        }
        if let (Some(p), Some(map)) = (&o.pass_through, doc.as_object_mut()) {
            map.insert(
                "pc_port".into(),
                json!({
                    "frames_to_network": p.to_network,
                    "frames_to_pc": p.to_pc,
                    "proxy_logoffs": p.proxy_logoffs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                    "errors": p.errors,
                }),
            );
        }
        if let (Some((sent, received, logoff)), Some(map)) = (o.eapol, doc.as_object_mut()) {
            map.insert("eapol_frames_sent".into(), sent.into());
            map.insert("eapol_frames_received".into(), received.into());
            map.insert("logoff_sent".into(), logoff.into());
            map.insert("authentications".into(), o.authentications.unwrap_or(0).into());
            map.remove("round_trips");
        }
        if args.show_keys
            && let (Some(a), Some(map)) = (a, doc.as_object_mut())
        {
            map.insert("msk".into(), hex(a.msk.expose()).into());
            map.insert("emsk".into(), hex(a.emsk.expose()).into());
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(());
    }
    println!("Transaction state: {state}");
    println!("Protocol: {protocol}");
    if o.pacs_provisioned > 0 {
        println!("PAC: {} provisioned", o.pacs_provisioned);
    }
    if let Some(a) = a {
        println!("TLS: {} {}", a.tls_version, a.cipher_suite);
        println!("Session-Id: {}", hex(&a.session_id));
    }
    if let Some(r) = radius {
        println!("RADIUS: {r} after {} round trips", o.round_trips);
    }
    if let Some((sent, received, logoff)) = o.eapol {
        println!("EAPOL: {sent} frames sent, {received} received");
        if logoff {
            println!("EAPOL-Logoff sent");
        }
    }
    match o.mppe_match {
        Some(true) => println!("MSK: equals the server's MS-MPPE keys"),
        Some(false) => println!("MSK: DIFFERS from the server's MS-MPPE keys"),
        None => {}
    }
    if let (true, Some(a)) = (args.show_keys, a) {
        println!("MSK: {}", hex(a.msk.expose()));
        println!("EMSK: {}", hex(a.emsk.expose()));
    }
    for d in &o.declined {
        println!("Declined: {d}");
    }
    if let Some(p) = &o.pass_through {
        println!(
            "PC port: {} EAPOL frames to the network, {} to the PC",
            p.to_network, p.to_pc
        );
        for mac in &p.proxy_logoffs {
            println!("PC port: proxy EAPOL-Logoff sent for {mac}");
        }
        for e in &p.errors {
            println!("PC port: {e}");
        }
    }
    if let Some(f) = &o.failure {
        println!("Reason: {f}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        args: Dot1xArgs,
    }

    /// EAP-FAST from the command line and from the daemon's settings: configured with the
    /// feature, an error naming it without.
    #[test]
    fn eap_fast_follows_the_eap_fast_feature() {
        let cli = Cli::try_parse_from([
            "dot1x",
            "--config",
            "cfg.xml",
            "--radius",
            "127.0.0.1:1812",
            "--secret",
            "s",
            "--method",
            "fast",
            "--identity",
            "phone",
            "--password",
            "pw",
        ])
        .map_err(|e| e.to_string());
        let Ok(cli) = cli else {
            panic!("{cli:?}");
        };
        let dir = std::env::temp_dir().join(format!("foot-eap-fast-{}", std::process::id()));
        let pac_file = dir.join("eap-fast.pac");
        let results = [
            supplicant_config(&cli.args, false).map(|_| ()),
            fast::daemon_config(
                "phone",
                &eap_supplicant::SecretString::new(String::from("pw")),
                phone_config::FastInnerMethod::MsChapV2,
                1,
                None,
                &pac_file,
            )
            .map(|_| ()),
        ];
        for r in results {
            let r = r.map_err(|e| format!("{e:#}"));
            #[cfg(feature = "eap-fast")]
            assert_eq!(r, Ok(()));
            #[cfg(not(feature = "eap-fast"))]
            assert!(
                r.as_ref().is_err_and(|e| e.contains("cargo feature `eap-fast`")),
                "{r:?}"
            );
        }
    }
}
