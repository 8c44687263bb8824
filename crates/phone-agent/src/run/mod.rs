//! `phone-agent run`: the daemon. It brings the phone up from its cfg.xml in the phone's order
//! — PC port pass-through → 802.1X → addressing (a DHCP lease with `--dhcp`) → provisioning
//! → firewall → HTTP proxy selection → every enabled SIP line → VPN —
//! keeps each subsystem up under a supervisor (capped exponential backoff, the error in the
//! status, a panic caught as an error), reloads on SIGHUP or `POST /api/reload` (a file with
//! errors is refused whole; otherwise only what changed restarts), and on SIGTERM/SIGINT
//! stops in reverse order within a bounded time (lines un-REGISTER, 802.1X sends
//! EAPOL-Logoff), then exits 0. A profile fetched by provisioning is reloaded through the
//! same path as SIGHUP and, once accepted, is the file the daemon runs. What it learns is
//! written atomically under `--state-dir` ([`state`]).
//!
//! Adding a subsystem: a [`Subsystem`] variant (its place in the order), a [`Plan`] variant
//! (what it needs from the settings; equal plans mean "unchanged" on reload), a line in
//! [`plans`], and an arm in `Daemon::spawn`.

mod dhcp;
mod dot1x;
pub mod line;
mod pc_port;
mod provision;
pub mod state;
mod vpn;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use phone_config::{ProxyMode, Settings, Severity};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::status::{
    self, FirewallState, LineStatus, ProvisioningResult, RegistrationState, Status, StatusHandle,
    TransactionState, VpnState,
};

/// `phone-agent run` arguments.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// The phone's cfg.xml (re-read on SIGHUP and `POST /api/reload`).
    #[arg(long)]
    pub config: PathBuf,
    /// Where learned state lives (the DHCP lease, the fetched profile, the last resync, the
    /// EAP-FAST PAC file), each written atomically with mode 0600.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/phone-agent")]
    pub state_dir: PathBuf,
    /// The network port: 802.1X runs on it, its addresses are the phone's.
    #[arg(long, value_name = "IF")]
    pub iface: Option<String>,
    /// The PC port: the PC's EAPOL passes through to --iface (source MAC kept); when its link
    /// goes down, a proxy EAPOL-Logoff goes out for each PC seen on it.
    #[arg(long, value_name = "IF")]
    pub pc_port: Option<String>,
    /// Addressing from a DHCPv4 lease on --iface. The lease is handed off, not applied: it is
    /// written to STATE_DIR/dhcp-lease.json (as `phone-agent dhcp --no-apply --json` prints it)
    /// for the host to configure; provisioning uses its server.
    #[arg(long, requires = "iface")]
    pub dhcp: bool,
    /// With --dhcp: configure the leased address and default route on --iface (rtnetlink)
    /// instead of only handing the lease off; removed again on release or expiry.
    #[arg(long, requires = "dhcp")]
    pub dhcp_apply: bool,
    /// The VPN server's TCP port (Connect_on_Bootup; the CA is --ca-file).
    #[arg(long, value_name = "PORT", default_value_t = 443)]
    pub vpn_port: u16,
    /// The VPN's TUN device.
    #[arg(long, value_name = "NAME", default_value = "vpn0")]
    pub vpn_device: String,
    /// The local API and admin page (`off` for none). Anything but a loopback address needs
    /// --admin-password.
    #[arg(long, value_name = "ADDR", default_value = crate::http::DEFAULT_ADDR)]
    pub http: String,
    /// HTTP Basic password (any user name) for the API and the page; required to bind
    /// elsewhere than loopback.
    #[arg(long)]
    pub admin_password: Option<String>,
    /// PEM CA certificates trusted for SIP over TLS, the 802.1X authentication server, the VPN
    /// server and HTTPS provisioning servers.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// 802.1X: the phone's certificate (PEM or DER).
    #[arg(long, value_name = "FILE")]
    pub client_cert: Option<PathBuf>,
    /// 802.1X: the phone's private key (PEM or DER, unencrypted).
    #[arg(long, value_name = "FILE")]
    pub client_key: Option<PathBuf>,
    /// 802.1X: the EAP identity. Default: `Agent_802.1X_Identity`, else `phone`.
    #[arg(long)]
    pub identity: Option<String>,
    /// 802.1X: seconds between EAPOL-Starts while no authenticator answers (startPeriod).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub eapol_start_period: u64,
    /// The DNS server (IP:PORT) for RFC 3263 (default: the system's).
    #[arg(long, value_name = "IP:PORT")]
    pub dns: Option<SocketAddr>,
    /// The registration lifetime each line asks for, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub register_expires: u32,
    /// The nft binary for the firewall.
    #[arg(long, value_name = "PATH", default_value = "nft")]
    pub nft: PathBuf,
    /// The longest wait between two restarts of a failing subsystem, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub backoff_max: u64,
    /// How long SIGTERM's goodbyes (un-REGISTER, EAPOL-Logoff) may take, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5)]
    pub shutdown_timeout: u64,
}

/// The subsystems, in bring-up order (the variant order is the order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subsystem {
    /// The PC port's EAPOL pass-through (the phone's built-in switch: up first).
    PcPort,
    /// 802.1X on the network port.
    Dot1x,
    /// The interface's addresses, or a DHCP lease (`--dhcp`).
    Network,
    /// Resyncs from the Profile_Rule* servers; the fetched profile reloads the daemon.
    Provisioning,
    /// The nftables firewall.
    Firewall,
    /// HTTP proxy selection.
    Proxy,
    /// SIP line n.
    Line(usize),
    /// The SSL VPN (Connect_on_Bootup).
    Vpn,
}

impl std::fmt::Display for Subsystem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subsystem::PcPort => f.write_str("PC port"),
            Subsystem::Dot1x => f.write_str("802.1X"),
            Subsystem::Network => f.write_str("network"),
            Subsystem::Provisioning => f.write_str("provisioning"),
            Subsystem::Firewall => f.write_str("firewall"),
            Subsystem::Proxy => f.write_str("proxy"),
            Subsystem::Line(n) => write!(f, "line {n}"),
            Subsystem::Vpn => f.write_str("VPN"),
        }
    }
}

/// What a subsystem needs from the settings. Equal plans: nothing to do on reload.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The PC port and the network port.
    PcPort(pc_port::PcPortPlan),
    /// 802.1X: the interface and identity (certificates from the options).
    Dot1x(dot1x::Dot1xPlan),
    /// The interface whose addresses are shown.
    Network(Option<String>),
    /// Addressing from a DHCP lease (Subsystem::Network with `--dhcp`).
    Dhcp(dhcp::DhcpPlan),
    /// Provisioning's rules and reports.
    Provisioning(provision::ProvisionPlan),
    /// The nftables script the settings call for, or why there is none.
    Firewall(Result<String, String>),
    /// Proxy selection as the status shows it.
    Proxy(status::Proxy),
    /// A SIP line.
    Line(line::LinePlan),
    /// The VPN (Connect_on_Bootup = Yes).
    Vpn(vpn::VpnPlan),
}

/// Every subsystem the settings enable, in bring-up order.
pub fn plans(settings: &Settings, args: &RunArgs) -> BTreeMap<Subsystem, Plan> {
    let mut plans = BTreeMap::new();
    if let Some(pc) = &args.pc_port {
        plans.insert(
            Subsystem::PcPort,
            Plan::PcPort(pc_port::PcPortPlan {
                pc_port: pc.clone(),
                network: args.iface.clone(),
            }),
        );
    }
    if settings.dot1x.enable_802_1x_authentication.get().0 {
        plans.insert(
            Subsystem::Dot1x,
            Plan::Dot1x(dot1x::Dot1xPlan::new(
                args.iface.clone(),
                args.identity.clone(),
                &settings.dot1x,
            )),
        );
    }
    match (&args.iface, args.dhcp) {
        (Some(iface), true) => plans.insert(
            Subsystem::Network,
            Plan::Dhcp(dhcp::DhcpPlan {
                iface: iface.clone(),
                order: settings.provisioning.dhcp_option_to_use.get().codes().to_vec(),
                apply: args.dhcp_apply,
            }),
        ),
        _ => plans.insert(Subsystem::Network, Plan::Network(args.iface.clone())),
    };
    if let Some(p) = provision::ProvisionPlan::from_settings(settings, args.dhcp) {
        plans.insert(Subsystem::Provisioning, Plan::Provisioning(p));
    }
    let firewall = crate::firewall::ruleset_for(settings, &args.nft).map(|r| r.script());
    plans.insert(Subsystem::Firewall, Plan::Firewall(firewall));
    plans.insert(Subsystem::Proxy, Plan::Proxy(proxy_status(settings)));
    for n in 1..=settings.lines.len() {
        if let Some(p) = line::LinePlan::from_settings(settings, n, args.register_expires) {
            plans.insert(Subsystem::Line(n), Plan::Line(p));
        }
    }
    if let Some(p) = vpn::VpnPlan::from_settings(settings) {
        plans.insert(Subsystem::Vpn, Plan::Vpn(p));
    }
    plans
}

fn proxy_status(settings: &Settings) -> status::Proxy {
    let p = &settings.http_proxy;
    let mode = *p.proxy_mode.get();
    status::Proxy {
        mode: mode.into(),
        proxy: (mode == ProxyMode::Manual).then(|| {
            let host = p
                .proxy_host
                .get()
                .as_ref()
                .map_or_else(|| "?".to_owned(), ToString::to_string);
            format!("{host}:{}", p.proxy_port.get().get())
        }),
        pac_source: (mode == ProxyMode::Auto).then(|| {
            if p.use_auto_discovery_wpad.get().0 {
                "WPAD".to_owned()
            } else {
                p.pac_url
                    .get()
                    .as_ref()
                    .map_or_else(|| "PAC_URL (unset)".to_owned(), ToString::to_string)
            }
        }),
    }
}

use crate::http::ReloadRequest;

/// A running subsystem.
struct Running {
    plan: Plan,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// The daemon's state.
struct Daemon {
    args: RunArgs,
    /// The configuration file it runs: `--config`, or the profile provisioning fetched.
    active: PathBuf,
    status: StatusHandle,
    running: BTreeMap<Subsystem, Running>,
    /// PCs behind the PC port: learned by its pass-through, ignored by 802.1X.
    pcs: crate::dot1x::port::PcAddresses,
    /// The DHCP lease, for provisioning.
    leases: Arc<dhcp::LeaseWatch>,
    /// Where provisioning hands fetched profiles.
    profiles: mpsc::Sender<provision::FetchedProfile>,
}

/// Resolves when `stop` turns true (or its sender is gone).
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Runs `attempt` until it succeeds or `stop`; a failure (an error or a panic) goes into the
/// status through `report` and the attempt is retried after a capped exponential backoff.
fn supervise<F, Fut>(
    what: Subsystem,
    status: StatusHandle,
    stop: watch::Receiver<bool>,
    backoff_max: Duration,
    mut attempt: F,
) -> JoinHandle<()>
where
    F: FnMut(watch::Receiver<bool>) -> Fut + 'static,
    Fut: Future<Output = Result<()>> + 'static,
{
    tokio::task::spawn_local(async move {
        let mut backoff = Duration::from_secs(1).min(backoff_max);
        loop {
            let started = Instant::now();
            // Its own task: a panic in it is a JoinError here, not the daemon's end.
            let outcome = tokio::task::spawn_local(attempt(stop.clone())).await;
            let error = match outcome {
                Ok(Ok(())) => return,
                Ok(Err(e)) => format!("{e:#}"),
                Err(e) if e.is_panic() => format!("internal error (panic): {e}"),
                Err(e) => format!("{e}"),
            };
            if *stop.borrow() {
                return;
            }
            if started.elapsed() > backoff_max {
                backoff = Duration::from_secs(1).min(backoff_max);
            }
            tracing::warn!(subsystem = %what, "failed: {error}; retrying in {backoff:?}");
            report_error(&status, what, &error);
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stopped(stop.clone()) => return,
            }
            backoff = (backoff * 2).min(backoff_max);
        }
    })
}

/// Writes a subsystem's failure into its part of the status.
fn report_error(status: &StatusHandle, what: Subsystem, error: &str) {
    let error = error.to_owned();
    match what {
        Subsystem::PcPort => status.update(|s| {
            s.pc_port.state = status::PcPortState::Failed;
            s.pc_port.last_error = Some(error);
        }),
        Subsystem::Dot1x => status.update(|s| {
            s.dot1x.transaction_state = TransactionState::Failed;
            s.dot1x.last_error = Some(error);
        }),
        Subsystem::Network => status.update(|s| s.network.last_error = Some(error)),
        Subsystem::Provisioning => status.update(|s| {
            if s.provisioning.result != Some(ProvisioningResult::Failed) {
                s.provisioning.result = Some(ProvisioningResult::Failed);
                s.provisioning.detail = Some(error);
            }
        }),
        Subsystem::Firewall => status.update(|s| {
            s.firewall.state = FirewallState::Failed;
            s.firewall.last_error = Some(error);
        }),
        Subsystem::Proxy => {}
        Subsystem::Line(n) => status.line(n, |l| {
            l.state = RegistrationState::Failed;
            l.last_error = Some(error);
        }),
        Subsystem::Vpn => status.update(|s| {
            s.vpn.state = VpnState::Failed;
            s.vpn.last_error = Some(error);
        }),
    }
}

impl Daemon {
    /// The one spawn site: starts `what` from `plan` under a supervisor.
    fn spawn(&self, what: Subsystem, plan: Plan) -> Running {
        let (stop_tx, stop_rx) = watch::channel(false);
        let status = self.status.clone();
        let backoff = Duration::from_secs(self.args.backoff_max.max(1));
        let task = match plan.clone() {
            Plan::PcPort(p) => {
                let pcs = self.pcs.clone();
                status.update(|s| {
                    s.pc_port = status::PcPort {
                        state: status::PcPortState::Starting,
                        iface: Some(p.pc_port.clone()),
                        ..status::PcPort::default()
                    }
                });
                supervise(what, status.clone(), stop_rx, backoff, move |stop| {
                    pc_port::run(p.clone(), status.clone(), pcs.clone(), stopped(stop))
                })
            }
            Plan::Dot1x(p) => {
                let options = dot1x::Dot1xOptions::from_args(&self.args);
                status.update(|s| {
                    s.dot1x = status::Dot1x {
                        transaction_state: TransactionState::Authenticating,
                        ..status::Dot1x::default()
                    }
                });
                let pcs = self.pcs.clone();
                supervise(what, status.clone(), stop_rx, backoff, move |stop| {
                    dot1x::run(
                        p.clone(),
                        options.clone(),
                        status.clone(),
                        pcs.clone(),
                        stopped(stop),
                    )
                })
            }
            Plan::Network(iface) => supervise(what, status.clone(), stop_rx, backoff, move |_| {
                let (iface, status) = (iface.clone(), status.clone());
                async move {
                    let addresses = match &iface {
                        Some(name) => interface_addresses(name)?,
                        None => Vec::new(),
                    };
                    status.update(|s| {
                        s.network = status::Network {
                            iface,
                            addresses,
                            last_error: None,
                            dhcp: None,
                        }
                    });
                    Ok(())
                }
            }),
            Plan::Dhcp(p) => {
                let (state_dir, leases) = (self.args.state_dir.clone(), self.leases.clone());
                status.update(|s| {
                    s.network = status::Network {
                        iface: Some(p.iface.clone()),
                        ..status::Network::default()
                    }
                });
                supervise(what, status.clone(), stop_rx, backoff, move |stop| {
                    dhcp::run(
                        p.clone(),
                        state_dir.clone(),
                        status.clone(),
                        leases.clone(),
                        stopped(stop),
                    )
                })
            }
            Plan::Provisioning(p) => {
                let options = provision::ProvisionOptions {
                    state_dir: self.args.state_dir.clone(),
                    dns: self.args.dns,
                    ca_file: self.args.ca_file.clone(),
                    client_cert: self.args.client_cert.clone(),
                    client_key: self.args.client_key.clone(),
                    iface: self.args.iface.clone(),
                };
                let (config, leases, profiles) =
                    (self.active.clone(), self.leases.clone(), self.profiles.clone());
                supervise(what, status.clone(), stop_rx, backoff, move |stop| {
                    provision::run(
                        p.clone(),
                        config.clone(),
                        options.clone(),
                        status.clone(),
                        leases.subscribe(),
                        profiles.clone(),
                        stopped(stop),
                    )
                })
            }
            Plan::Firewall(script) => {
                let settings_error = script.err();
                let nft = self.args.nft.clone();
                let config = self.active.clone();
                status.update(|s| s.firewall.state = FirewallState::Pending);
                supervise(what, status.clone(), stop_rx, backoff, move |_| {
                    let (nft, config, status, settings_error) = (
                        nft.clone(),
                        config.clone(),
                        status.clone(),
                        settings_error.clone(),
                    );
                    async move {
                        if let Some(e) = settings_error {
                            return Err(anyhow!("{e}"));
                        }
                        let applied = tokio::task::spawn_blocking(move || {
                            let bytes = std::fs::read(&config).map_err(|e| e.to_string())?;
                            let parsed = phone_config::parse(&bytes).map_err(|e| e.to_string())?;
                            let ruleset = crate::firewall::ruleset_for(&parsed.settings, &nft)?;
                            crate::firewall::apply_ruleset(&ruleset, &nft)
                        })
                        .await
                        .context("the firewall task")?
                        .map_err(|e| anyhow!("{e}"))?;
                        status.update(|s| {
                            s.firewall = status::Firewall {
                                state: if applied.enabled {
                                    FirewallState::Applied
                                } else {
                                    FirewallState::Disabled
                                },
                                open_ports: applied.open_ports,
                                last_error: None,
                            }
                        });
                        Ok(())
                    }
                })
            }
            Plan::Proxy(p) => {
                status.update(|s| s.proxy = p);
                tokio::task::spawn_local(async {})
            }
            Plan::Line(p) => {
                let n = p.n;
                status.update(|s| {
                    let starts = s.lines.iter().find(|l| l.line == n).map_or(0, |l| l.starts);
                    s.lines.retain(|l| l.line != n);
                    s.lines.push(LineStatus {
                        line: n,
                        user: p.user().to_owned(),
                        registrar: p.proxy.clone(),
                        starts: starts + 1,
                        ..LineStatus::default()
                    });
                    s.lines.sort_by_key(|l| l.line);
                });
                let options = line::LineOptions {
                    ca_file: self.args.ca_file.clone(),
                    dns: self.args.dns,
                    goodbye: Duration::from_secs(self.args.shutdown_timeout.max(1)),
                };
                supervise(what, status.clone(), stop_rx, backoff, move |stop| {
                    line::run(p.clone(), options.clone(), status.clone(), stopped(stop))
                })
            }
            Plan::Vpn(p) => {
                status.update(|s| {
                    s.vpn = status::Vpn {
                        state: VpnState::Connecting,
                        server: p.server(),
                        ..status::Vpn::default()
                    }
                });
                let options = vpn::VpnOptions {
                    ca_file: self.args.ca_file.clone(),
                    port: self.args.vpn_port,
                    device: self.args.vpn_device.clone(),
                };
                supervise(what, status.clone(), stop_rx, backoff, move |stop| {
                    vpn::run(p.clone(), options.clone(), status.clone(), stopped(stop))
                })
            }
        };
        Running {
            plan,
            stop: stop_tx,
            task,
        }
    }

    /// Stops `what` (its goodbye included) within the shutdown bound.
    async fn stop(&mut self, what: Subsystem) {
        if let Some(r) = self.running.remove(&what) {
            let _ = r.stop.send(true);
            let bound = Duration::from_secs(self.args.shutdown_timeout.max(1)) + Duration::from_secs(1);
            if tokio::time::timeout(bound, r.task).await.is_err() {
                tracing::warn!(subsystem = %what, "did not stop within {bound:?}");
            }
        }
    }

    /// Starts every subsystem of `plans` in order, waiting (bounded) for the first outcome of
    /// 802.1X, of the DHCP lease and of the firewall.
    async fn start_all(&mut self, plans: BTreeMap<Subsystem, Plan>) {
        for (what, plan) in plans {
            let running = self.spawn(what, plan);
            self.running.insert(what, running);
            let mut rx = self.status.subscribe();
            if what == Subsystem::Dot1x {
                let _ = tokio::time::timeout(
                    Duration::from_secs(30),
                    rx.wait_for(|s| s.dot1x.transaction_state != TransactionState::Authenticating),
                )
                .await;
            } else if what == Subsystem::Firewall {
                // The later subsystems open connections. One opened before the table is in is
                // unknown to conntrack, and the firewall then drops its return traffic (a SIP
                // line's TCP REGISTER went unanswered until Timer F, 32 s).
                let _ = tokio::time::timeout(
                    Duration::from_secs(10),
                    rx.wait_for(|s| s.firewall.state != FirewallState::Pending),
                )
                .await;
            } else if what == Subsystem::Network && self.args.dhcp {
                // Provisioning and the rest come after the first lease (or its failure).
                let _ = tokio::time::timeout(
                    Duration::from_secs(30),
                    rx.wait_for(|s| s.network.dhcp.is_some() || s.network.last_error.is_some()),
                )
                .await;
            }
        }
    }

    /// SIGHUP / `POST /api/reload`: the same checks as `phone-agent check`; errors refuse the
    /// file whole; otherwise only the subsystems whose plan changed restart.
    async fn reload(&mut self) -> status::Reload {
        let path = self.active.clone();
        self.reload_from(path, None).await
    }

    /// A profile provisioning fetched (`STATE_DIR/profile.fetched.xml`): reloaded from.
    /// Accepted, it is renamed to `STATE_DIR/profile.xml`, the file the daemon then runs;
    /// refused, to `STATE_DIR/profile.refused.xml` (for a look), so a refused profile never
    /// replaces the last accepted one.
    async fn reload_from_fetched(&mut self, fetched: PathBuf) -> status::Reload {
        let dir = fetched.parent().map(Path::to_owned).unwrap_or_default();
        let outcome = self
            .reload_from(fetched.clone(), Some(dir.join(state::PROFILE)))
            .await;
        if !outcome.accepted {
            let refused = dir.join(state::REFUSED_PROFILE);
            if let Err(e) = std::fs::rename(&fetched, &refused) {
                tracing::warn!("keeping the refused profile as {}: {e}", refused.display());
            }
        }
        outcome
    }

    /// Reloads from `path` (the running file, or a fetched profile, which becomes the running
    /// file once accepted: renamed to `accepted_as` first when given).
    async fn reload_from(&mut self, path: PathBuf, accepted_as: Option<PathBuf>) -> status::Reload {
        let mut reload = status::Reload {
            at_unix: status::unix_now(),
            accepted: false,
            changed: Vec::new(),
        };
        let (diagnostics, parsed) = match crate::check::load(&path) {
            Ok((_, d, p)) => (d, p),
            Err(e) => {
                let d = status::Diagnostic {
                    severity: status::Severity::Error,
                    message: format!("{e:#}"),
                    ..status::Diagnostic::default()
                };
                self.status.update(|s| {
                    s.config.diagnostics = vec![d];
                    s.config.last_reload = Some(reload.clone());
                });
                return reload;
            }
        };
        let shown: Vec<status::Diagnostic> = diagnostics.iter().map(Into::into).collect();
        let parsed = parsed.filter(|_| !diagnostics.iter().any(|d| d.severity == Severity::Error));
        let Some(parsed) = parsed else {
            tracing::warn!(
                "reload refused: {} has errors; the running configuration is kept",
                path.display()
            );
            self.status.update(|s| {
                s.config.diagnostics = shown;
                s.config.last_reload = Some(reload.clone());
            });
            return reload;
        };
        let path = match accepted_as {
            Some(to) => match std::fs::rename(&path, &to) {
                Ok(()) => to,
                Err(e) => {
                    tracing::warn!("renaming {} to {}: {e}", path.display(), to.display());
                    path
                }
            },
            None => path,
        };
        if path != self.active {
            tracing::info!("now running {}", path.display());
            self.active = path.clone();
            let file = path.display().to_string();
            self.status.update(|s| {
                s.agent.config = file.clone();
                s.config.file = file;
            });
        }
        let mut next = plans(&parsed.settings, &self.args);
        let gone: Vec<Subsystem> = self
            .running
            .iter()
            .filter(|(what, r)| next.get(what) != Some(&r.plan))
            .map(|(what, _)| *what)
            .collect();
        // Stop in reverse order, start in order.
        for what in gone.iter().rev() {
            self.stop(*what).await;
            if !next.contains_key(what) {
                self.clear(*what);
            }
            reload.changed.push(what.to_string());
        }
        next.retain(|what, _| !self.running.contains_key(what));
        for what in next.keys() {
            if !gone.contains(what) {
                reload.changed.push(what.to_string());
            }
        }
        self.start_all(next).await;
        reload.accepted = true;
        tracing::info!(changed = ?reload.changed, "reload accepted");
        self.status.update(|s| {
            s.agent.generation += 1;
            s.config.diagnostics = shown;
            s.config.last_reload = Some(reload.clone());
        });
        reload
    }

    /// A subsystem no longer configured leaves the status.
    fn clear(&self, what: Subsystem) {
        self.status.update(|s| match what {
            Subsystem::PcPort => s.pc_port = status::PcPort::default(),
            Subsystem::Dot1x => s.dot1x = status::Dot1x::default(),
            Subsystem::Network => s.network = status::Network::default(),
            Subsystem::Provisioning => s.provisioning = status::Provisioning::default(),
            Subsystem::Firewall => s.firewall = status::Firewall::default(),
            Subsystem::Proxy => s.proxy = status::Proxy::default(),
            Subsystem::Line(n) => s.lines.retain(|l| l.line != n),
            Subsystem::Vpn => s.vpn = status::Vpn::default(),
        });
    }
}

fn interface_addresses(name: &str) -> Result<Vec<String>> {
    let iface = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == name)
        .ok_or_else(|| anyhow!("no network interface named {name}"))?;
    Ok(iface.ips.iter().map(ToString::to_string).collect())
}

/// Runs the daemon until SIGTERM/SIGINT; exit 0 after a graceful stop, 2 when it cannot start
/// (the cfg.xml unreadable or with errors, the HTTP address refused).
pub async fn run(args: RunArgs) -> Result<ExitCode> {
    let (_, diagnostics, parsed) = crate::check::load(&args.config)?;
    let errors: Vec<String> = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| {
            format!(
                "{}:{}: {}: {}",
                args.config.display(),
                d.line().unwrap_or(0),
                d.parameter.as_deref().unwrap_or(""),
                d.message
            )
        })
        .collect();
    let parsed = match parsed {
        Some(p) if errors.is_empty() => p,
        _ => {
            return Err(anyhow!(
                "{} has errors (see `phone-agent check`):\n{}",
                args.config.display(),
                errors.join("\n")
            ));
        }
    };
    let status = StatusHandle::new(Status {
        schema: status::SCHEMA_VERSION,
        agent: status::Agent {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            config: args.config.display().to_string(),
            started_unix: status::unix_now(),
            generation: 1,
            stopping: false,
        },
        dot1x: status::Dot1x::default(),
        config: status::ConfigStatus {
            file: args.config.display().to_string(),
            last_reload: None,
            diagnostics: diagnostics.iter().map(Into::into).collect(),
        },
        ..Status::default()
    });
    let (reload_tx, mut reload_rx) = mpsc::channel::<ReloadRequest>(4);
    let http = crate::http::serve(&args.http, args.admin_password.clone(), status.clone(), reload_tx).await?;
    if let Some(addr) = http {
        tracing::info!("status at http://{addr}/");
    }
    use tokio::signal::unix::{SignalKind, signal};
    let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
    let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("SIGINT handler")?;
    let (profiles_tx, mut profiles_rx) = mpsc::channel::<provision::FetchedProfile>(1);
    let mut daemon = Daemon {
        status: status.clone(),
        running: BTreeMap::new(),
        pcs: crate::dot1x::port::PcAddresses::default(),
        active: args.config.clone(),
        leases: Arc::new(watch::Sender::new(None)),
        profiles: profiles_tx,
        args,
    };
    let first = plans(&parsed.settings, &daemon.args);
    tokio::select! {
        () = daemon.start_all(first) => {}
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    loop {
        tokio::select! {
            _ = hup.recv() => {
                tracing::info!("SIGHUP: reloading {}", daemon.active.display());
                daemon.reload().await;
            }
            Some(fetched) = profiles_rx.recv() => {
                tracing::info!("provisioning fetched {}: reloading from it", fetched.path.display());
                let outcome = daemon.reload_from_fetched(fetched.path).await;
                let _ = fetched.reply.send(outcome);
            }
            Some(reply) = reload_rx.recv() => {
                let outcome = daemon.reload().await;
                let _ = reply.send(outcome);
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    tracing::info!("stopping");
    status.update(|s| s.agent.stopping = true);
    // Reverse order, all at once: each bounded by the shutdown timeout.
    let order: Vec<Subsystem> = daemon.running.keys().rev().copied().collect();
    for what in order.iter().filter(|w| **w != Subsystem::Dot1x) {
        if let Some(r) = daemon.running.get(what) {
            let _ = r.stop.send(true);
        }
    }
    // 802.1X last: its Logoff after the lines' goodbyes.
    for what in order {
        daemon.stop(what).await;
    }
    Ok(ExitCode::SUCCESS)
}
