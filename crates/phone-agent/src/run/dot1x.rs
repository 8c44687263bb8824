//! 802.1X in the daemon: `eap_supplicant::Supplicant` pumped by the [`Driver`] over the
//! network port's [`EapolLink`] (the same link as `dot1x --iface`: pnet's AF_PACKET socket, its
//! receiver on a thread of [`blocking_receiver`](crate::driver::blocking_receiver)'s). Frames
//! from PCs behind the PC port are not the phone's ([`PcAddresses`], filled by the
//! pass-through). Events go into the status; on stop, EAPOL-Logoff.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use eap_supplicant::{Config, EapTlsConfig, Event, Supplicant};

use crate::dot1x::port::{AsyncPort, EapolLink, PcAddresses};
use crate::driver::{Driver, Ended};
use crate::status::{StatusHandle, TransactionState};

/// What 802.1X needs from the settings and the agent's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dot1xPlan {
    /// The network port.
    pub iface: Option<String>,
    /// The EAP identity.
    pub identity: String,
}

/// The certificate files.
#[derive(Debug, Clone)]
pub struct Dot1xOptions {
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    start_period: Duration,
    goodbye: Duration,
}

impl Dot1xOptions {
    /// From `phone-agent run`'s arguments.
    pub fn from_args(args: &super::RunArgs) -> Dot1xOptions {
        Dot1xOptions {
            ca: args.ca_file.clone(),
            cert: args.client_cert.clone(),
            key: args.client_key.clone(),
            start_period: Duration::from_secs(args.eapol_start_period.max(1)),
            goodbye: Duration::from_millis(200),
        }
    }
}

fn read(path: Option<&PathBuf>, what: &str) -> Result<Vec<u8>> {
    let path = path.ok_or_else(|| anyhow!("802.1X is enabled: give --{what}"))?;
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

/// Authenticates on the port and keeps it authorized (answering re-authentications) until
/// `stop`; then EAPOL-Logoff. A failed conversation is an `Err` (the supervisor retries).
pub async fn run(
    plan: Dot1xPlan,
    options: Dot1xOptions,
    status: StatusHandle,
    pcs: PcAddresses,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let iface = plan
        .iface
        .clone()
        .ok_or_else(|| anyhow!("Enable_802.1X_Authentication is Yes: give the network port with --iface"))?;
    let tls = EapTlsConfig::builder(
        &read(options.ca.as_ref(), "ca-file")?,
        Arc::new(eap_supplicant::DefaultTimeProvider),
    )
    .client_certificate(
        &read(options.cert.as_ref(), "client-cert")?,
        &read(options.key.as_ref(), "client-key")?,
    )
    .build()
    .context("EAP-TLS configuration")?;
    let timers = eap_supplicant::PaeTimers {
        start_period: options.start_period,
        ..eap_supplicant::PaeTimers::default()
    };
    let config = Config::new(plan.identity.clone(), tls).with_timers(timers);
    let port = tokio::task::spawn_blocking({
        let iface = iface.clone();
        move || AsyncPort::open(&iface)
    })
    .await
    .context("the AF_PACKET task")??;
    let link = EapolLink::new(port, pcs);
    let mut supplicant = Supplicant::new(config);
    supplicant.link_up(Instant::now());
    status.update(|s| {
        s.dot1x.transaction_state = TransactionState::Authenticating;
        s.dot1x.last_error = None;
    });
    let mut driver = Driver::new(supplicant, link);
    let ended = driver.run(stop, |_, event| on_event(&status, event)).await?;
    if let Ended::Done(why) = ended {
        return Err(anyhow!(why));
    }
    tracing::info!(%iface, "EAPOL-Logoff");
    driver.core.logoff();
    // Drain the Logoff out (the driver sends what the core queued, then the bound ends it).
    let _ = driver
        .run(tokio::time::sleep(options.goodbye), |_, _| {
            ControlFlow::<()>::Continue(())
        })
        .await;
    status.update(|s| s.dot1x.transaction_state = TransactionState::Disabled);
    Ok(())
}

fn on_event(status: &StatusHandle, event: Event) -> ControlFlow<String> {
    match event {
        Event::Authenticating => status.update(|s| {
            s.dot1x.transaction_state = TransactionState::Authenticating;
            s.dot1x.protocol = Some("EAP-TLS".into());
        }),
        Event::Authenticated(a) => {
            tracing::info!(tls = %a.tls_version, suite = %a.cipher_suite, "802.1X: authenticated");
            status.update(|s| {
                s.dot1x.transaction_state = TransactionState::Authenticated;
                s.dot1x.protocol = Some("EAP-TLS".into());
                s.dot1x.authentications += 1;
                s.dot1x.last_error = None;
            });
        }
        Event::Failed { reason } => return ControlFlow::Break(reason.to_string()),
        Event::NoAuthenticator => {
            return ControlFlow::Break("no authenticator answered EAPOL-Start".into());
        }
        Event::MethodDeclined { requested, reason } => {
            let d = crate::dot1x::declined(requested, reason);
            status.update(|s| {
                if !s.dot1x.declined_methods.contains(&d) {
                    s.dot1x.declined_methods.push(d);
                }
            });
        }
        Event::Disabled => status.update(|s| s.dot1x.transaction_state = TransactionState::Disabled),
        other => tracing::debug!("802.1X: {other:?}"),
    }
    ControlFlow::Continue(())
}
