//! `phone-agent sip register`: the I/O around [`sip_ua::Line`]: the daemon's async sockets
//! ([`SipLink`]) pumped by the generic [`Driver`], TLS, DNS (through
//! [`super::locate::AgentResolver`]), and the report.
//!
//! Exit codes (see the module `sip`): 0 registered (and, with `--unregister`, unregistered);
//! 1 the peer refused or failed us: a final error response, no answer, every RFC 3263 target
//! unreachable or refusing, a TLS handshake that fails (the peer's certificate refused, no
//! common cipher suite); 2 a local problem: the cfg.xml or the CA file missing or bad, the
//! SIP port taken, the random source failing.

use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use sip_ua::{Config, Event, Line, SystemRng, Transport};

use crate::driver::{Driver, Ended};
use crate::run::line::SipLink;

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
    // Restricted_Access_Domains (SPEC §1) before any connection: the registrar, the outbound
    // proxy, and every name RFC 3263 leads to.
    let domains = crate::provision::restricted::domains(&parsed.settings);
    if let Err(why) = crate::provision::restricted::check_line(&parsed.settings, n) {
        println!("line {n}: registration refused: {why}");
        return Ok(ExitCode::from(1));
    }
    let source = if line.outbound_proxy.get().is_some() {
        format!("Outbound_Proxy_{n}_")
    } else {
        format!("Proxy_{n}_")
    };
    let mut resolver = super::locate::AgentResolver::new(args.dns).restricted(domains, &source);
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
    let ua = Line::new(cfg, located.targets, Box::new(SystemRng::new())).context("starting the line")?;
    drive(ua, args, sip_port, tls)
}

/// What ended the first phase of a `sip register` run.
enum Phase {
    /// Registered with `--once`.
    Registered,
    /// The registration failed (with `--once`, or without `--duration`).
    Failed,
}

/// Drives the line with the generic [`Driver`] over the daemon's [`SipLink`] (async sockets on
/// the process's runtime), then, when asked, removes our binding.
fn drive(
    ua: Line,
    args: &RegisterArgs,
    sip_port: u16,
    tls: Option<(Arc<rustls::ClientConfig>, String)>,
) -> Result<ExitCode> {
    let n = args.line;
    let runtime = tokio::runtime::Handle::try_current().context("no tokio runtime")?;
    runtime.block_on(async {
        let mut ua = ua;
        ua.start(Instant::now());
        let mut driver = Driver::new(ua, SipLink::new(sip_port, tls, Some(n)));
        let stop_at = args
            .duration
            .map(|d| tokio::time::Instant::now() + Duration::from_secs(d));
        let stop = async {
            match stop_at {
                Some(t) => tokio::time::sleep_until(t).await,
                None => std::future::pending().await,
            }
        };
        let mut registered_once = false;
        let ended = driver
            .run(stop, |_, event| {
                report(n, &event);
                match event {
                    Event::Registered { .. } => {
                        registered_once = true;
                        if args.once {
                            return ControlFlow::Break(Phase::Registered);
                        }
                    }
                    Event::RegistrationFailed(_) if args.once || stop_at.is_none() => {
                        return ControlFlow::Break(Phase::Failed);
                    }
                    _ => {}
                }
                ControlFlow::Continue(())
            })
            .await?;
        let code = match ended {
            Ended::Done(Phase::Registered) if !args.unregister => return Ok(ExitCode::SUCCESS),
            Ended::Done(Phase::Registered) => ExitCode::SUCCESS,
            Ended::Done(Phase::Failed) => {
                // SIP_Port_n_ taken is ours to fix, not the peer's.
                if let Some(why) = driver.link.local_error() {
                    bail!("{why}");
                }
                return Ok(ExitCode::from(1));
            }
            Ended::Stopped => {
                let code = if registered_once {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                };
                if !(args.unregister && registered_once) {
                    return Ok(code);
                }
                code
            }
        };
        driver.core.unregister(Instant::now())?;
        let goodbye = driver
            .run(tokio::time::sleep(Duration::from_secs(40)), |_, event| {
                report(n, &event);
                match event {
                    Event::Unregistered => ControlFlow::Break(true),
                    Event::RegistrationFailed(_) => ControlFlow::Break(false),
                    _ => ControlFlow::Continue(()),
                }
            })
            .await?;
        Ok(match goodbye {
            Ended::Done(true) => code,
            Ended::Done(false) => ExitCode::from(1),
            Ended::Stopped => {
                println!("line {n}: no answer to the un-REGISTER");
                ExitCode::from(1)
            }
        })
    })
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
