//! `dot1x --iface`: the phone's [`Supplicant`] pumped by the [`Driver`] over raw EAPOL on an
//! AF_PACKET socket ([`EapolLink`]: frames to the PAE group address), its timers on the real
//! clock; with a PC port, the [`passthrough`](super::passthrough) forwarding beside it on the
//! same runtime thread.

use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use super::fast::Pac;
use anyhow::{Context, Result};
use eap_supplicant::eapol::{EapolVersion, MacAddress, proxy_logoff};
use eap_supplicant::{Authenticated, Config, Event, Supplicant};

use super::passthrough::{self, PassEvent, PassThroughReport};
use super::port::{AsyncPort, EapolLink, PcAddresses, open, send};
use crate::driver::{Driver, Ended, after, flush};

/// What happened on the port.
pub struct WiredOutcome {
    /// The keys, when the port was authorized.
    pub authenticated: Option<Box<Authenticated>>,
    /// Why not, otherwise.
    pub failure: Option<String>,
    /// EAPOL frames sent.
    pub frames_sent: usize,
    /// EAPOL frames received.
    pub frames_received: usize,
    /// From the first link-up (EAPOL-Start) to the outcome.
    pub elapsed: Duration,
    /// Whether an EAPOL-Logoff was sent after authenticating.
    pub logged_off: bool,
    /// Successful authentications (more than one when the port stayed up and the authenticator
    /// re-authenticated).
    pub authentications: usize,
    /// With a PC port: what the pass-through did.
    pub pass_through: Option<PassThroughReport>,
    /// EAP methods the authenticator proposed and the phone declined (shown as `declined_methods`).
    pub declined: Vec<String>,
    /// EAP-FAST PACs the server provisioned (each handed to the caller to keep).
    pub pacs_provisioned: usize,
    /// Conversations run: 2 when anonymous provisioning ended in its EAP-Failure and the phone
    /// authenticated again with the new PAC.
    pub attempts: usize,
}

/// What the phone does once authorized.
#[derive(Debug, Clone, Copy)]
pub enum Then {
    /// Return at once.
    Return,
    /// Send EAPOL-Logoff (the switch unauthorizes the port), then return.
    Logoff,
    /// Keep the port up this long (`None`: until killed), answering re-authentications.
    Stay(Option<Duration>),
}

/// How one wired run goes.
pub struct WiredOptions<'a> {
    /// The longest a conversation may take to an outcome.
    pub limit: Duration,
    /// What to do once authorized.
    pub then: Then,
    /// The PC port, whose EAPOL passes through for as long as this runs.
    pub pc_port: Option<&'a str>,
}

/// An attempt that failed, as the caller's retry policy sees it.
pub struct FailedAttempt {
    /// PACs provisioned during it.
    pub pacs_provisioned: usize,
    /// The server refused the PAC the phone offered.
    pub pac_refused: bool,
}

/// Sends the proxy EAPOL-Logoff for the PC with address `pc` (SPEC §12).
pub fn send_proxy_logoff(iface: &str, pc: MacAddress) -> Result<()> {
    let mut port = open(iface)?;
    send(&mut port, &proxy_logoff(pc, EapolVersion::V2))
}

/// Authenticates on `iface`, then does what `options.then` says. Each PAC the server provisions
/// goes to `save_pac`; after a failed conversation `retry` may hand a configuration to go
/// again with on the same port (EAP-FAST: anonymous provisioning ends in EAP-Failure by design,
/// RFC 5422 §3.2.2; at most 3 conversations). With a PC port, the PC's EAPOL passes through
/// meanwhile; the phone's own supplicant ignores the PC's frames.
pub fn authenticate(
    iface: &str,
    config: Config,
    options: &WiredOptions<'_>,
    save_pac: impl FnMut(Pac) -> Result<()>,
    retry: impl FnMut(&FailedAttempt) -> Result<Option<Config>>,
) -> Result<WiredOutcome> {
    let runtime = tokio::runtime::Handle::try_current().context("no tokio runtime")?;
    runtime.block_on(async {
        let port = AsyncPort::open(iface)?;
        let pcs = PcAddresses::default();
        let Some(pc_port) = options.pc_port else {
            return phone(port, pcs, config, options, save_pac, retry).await;
        };
        let link = passthrough::open(pc_port, iface).await?;
        let mut report = PassThroughReport::default();
        let (done, stop) = tokio::sync::oneshot::channel::<()>();
        let forwarding = passthrough::forward(
            link,
            pcs.clone(),
            async {
                let _ = stop.await;
            },
            |event| {
                if let PassEvent::ProxyLogoff(mac) = event {
                    eprintln!("phone-agent dot1x: PC port {pc_port} down: proxy EAPOL-Logoff sent for {mac}");
                }
                report.record(event);
            },
        );
        let authenticating = async {
            let outcome = phone(port, pcs.clone(), config, options, save_pac, retry).await;
            let _ = done.send(());
            outcome
        };
        let (outcome, forwarded) = tokio::join!(authenticating, forwarding);
        if let Err(e) = forwarded {
            report.errors.push(format!("{e:#}"));
        }
        let mut outcome = outcome?;
        outcome.pass_through = Some(report);
        Ok(outcome)
    })
}

/// The phone's own supplicant on the port.
async fn phone(
    port: AsyncPort,
    pcs: PcAddresses,
    config: Config,
    options: &WiredOptions<'_>,
    mut save_pac: impl FnMut(Pac) -> Result<()>,
    mut retry: impl FnMut(&FailedAttempt) -> Result<Option<Config>>,
) -> Result<WiredOutcome> {
    let started = Instant::now();
    let mut outcome = WiredOutcome {
        authenticated: None,
        failure: None,
        frames_sent: 0,
        frames_received: 0,
        elapsed: Duration::ZERO,
        logged_off: false,
        authentications: 0,
        pass_through: None,
        declined: Vec::new(),
        pacs_provisioned: 0,
        attempts: 0,
    };
    let mut driver = Driver::new(Supplicant::new(config), EapolLink::new(port, pcs));
    loop {
        outcome.attempts += 1;
        driver.core.link_up(Instant::now());
        #[cfg_attr(not(feature = "eap-fast"), allow(unused_mut))]
        let mut pacs = Vec::new();
        let mut pac_refused = false;
        let ended = driver
            .run(tokio::time::sleep(options.limit), |_, event| match event {
                Event::Authenticated(a) => ControlFlow::Break(Ok(a)),
                Event::Failed { reason } => {
                    pac_refused |= super::fast::pac_refused(&reason);
                    ControlFlow::Break(Err(reason.to_string()))
                }
                Event::NoAuthenticator => {
                    ControlFlow::Break(Err("no authenticator answered EAPOL-Start".into()))
                }
                Event::MethodDeclined { requested, reason } => {
                    outcome.declined.push(super::declined(requested, reason));
                    ControlFlow::Continue(())
                }
                #[cfg(feature = "eap-fast")]
                Event::PacProvisioned(pac) => {
                    pacs.push(*pac);
                    ControlFlow::Continue(())
                }
                other => {
                    tracing::debug!("802.1X: {other:?}");
                    ControlFlow::Continue(())
                }
            })
            .await?;
        outcome.elapsed = started.elapsed();
        let provisioned = pacs.len();
        for pac in pacs {
            save_pac(pac)?;
        }
        outcome.pacs_provisioned += provisioned;
        match ended {
            Ended::Done(Ok(a)) => {
                outcome.authentications += 1;
                outcome.authenticated = Some(a);
                break;
            }
            Ended::Done(Err(why)) => {
                let failed = FailedAttempt {
                    pacs_provisioned: provisioned,
                    pac_refused,
                };
                if outcome.attempts < 3
                    && let Some(next) = retry(&failed)?
                {
                    tracing::info!(
                        attempt = outcome.attempts + 1,
                        "802.1X: {why}; authenticating again"
                    );
                    driver.replace_core(Supplicant::new(next));
                    continue;
                }
                outcome.failure = Some(why);
                break;
            }
            Ended::Stopped => {
                outcome.failure = Some(format!("no outcome within {:?}", options.limit));
                break;
            }
        }
    }
    if outcome.authenticated.is_some() {
        match options.then {
            Then::Return => {}
            Then::Logoff => {
                driver.core.logoff();
                driver
                    .run(flush(), |_, _| ControlFlow::<()>::Continue(()))
                    .await?;
                outcome.logged_off = true;
            }
            Then::Stay(limit) => {
                let stayed = driver
                    .run(after(limit), |_, event| match event {
                        Event::Authenticated(a) => {
                            outcome.authentications += 1;
                            outcome.authenticated = Some(a);
                            ControlFlow::Continue(())
                        }
                        Event::Failed { reason } => ControlFlow::Break(reason.to_string()),
                        Event::MethodDeclined { requested, reason } => {
                            outcome.declined.push(super::declined(requested, reason));
                            ControlFlow::Continue(())
                        }
                        other => {
                            tracing::debug!("802.1X: {other:?}");
                            ControlFlow::Continue(())
                        }
                    })
                    .await?;
                if let Ended::Done(why) = stayed {
                    outcome.authenticated = None;
                    outcome.failure = Some(why);
                }
            }
        }
    }
    outcome.frames_sent = driver.link.sent;
    outcome.frames_received = driver.link.received;
    Ok(outcome)
}
