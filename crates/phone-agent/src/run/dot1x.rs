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
use eap_supplicant::{Config, EapTlsConfig, Event, SecretString, Supplicant};

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
    /// EAP-FAST instead of EAP-TLS (`Agent_802.1X_Method`), with its settings.
    pub fast: Option<FastPlan>,
}

/// The EAP-FAST settings (`Agent_802.1X_Password`, `Agent_EAP_FAST_*`).
#[derive(Debug, Clone)]
pub struct FastPlan {
    /// The inner password (the secret the phone and the server share, SPEC §12).
    pub password: SecretString,
    /// The inner method.
    pub phase2: phone_config::FastInnerMethod,
    /// wpa_supplicant's `fast_provisioning` 0..=3.
    pub provisioning: u8,
}

impl PartialEq for FastPlan {
    fn eq(&self, o: &FastPlan) -> bool {
        // A changed password restarts 802.1X like any other change.
        self.password.expose() == o.password.expose()
            && self.phase2 == o.phase2
            && self.provisioning == o.provisioning
    }
}

impl Eq for FastPlan {}

impl Dot1xPlan {
    /// From the settings; `identity` from the command line wins over `Agent_802.1X_Identity`.
    pub fn new(iface: Option<String>, identity: Option<String>, d: &phone_config::Dot1x) -> Dot1xPlan {
        let from_settings = Some(d.agent_802_1x_identity.get().clone()).filter(|i| !i.is_empty());
        let fast = (*d.agent_802_1x_method.get() == phone_config::Dot1xMethod::EapFast).then(|| FastPlan {
            password: d.agent_802_1x_password.get().clone(),
            phase2: *d.agent_eap_fast_inner_method.get(),
            provisioning: d.agent_eap_fast_provisioning.get().level(),
        });
        Dot1xPlan {
            iface,
            identity: identity.or(from_settings).unwrap_or_else(|| "phone".into()),
            fast,
        }
    }

    fn protocol(&self) -> &'static str {
        if self.fast.is_some() {
            "EAP-FAST"
        } else {
            "EAP-TLS"
        }
    }
}

/// The certificate files.
#[derive(Debug, Clone)]
pub struct Dot1xOptions {
    ca: Option<PathBuf>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    start_period: Duration,
    goodbye: Duration,
    /// EAP-FAST: STATE_DIR/eap-fast.pac (wpa_supplicant's text format, mode 0600).
    pac_file: PathBuf,
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
            pac_file: args.state_dir.join("eap-fast.pac"),
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
    let timers = eap_supplicant::PaeTimers {
        start_period: options.start_period,
        ..eap_supplicant::PaeTimers::default()
    };
    let config = match &plan.fast {
        Some(fast) => crate::dot1x::fast_daemon_config(
            &plan.identity,
            &fast.password,
            fast.phase2,
            fast.provisioning,
            options.ca.as_deref(),
            &options.pac_file,
        )?,
        None => {
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
            Config::new(plan.identity.clone(), tls)
        }
    }
    .with_timers(timers);
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
    let protocol = plan.protocol();
    let pac_file = options.pac_file.clone();
    let ended = driver
        .run(stop, |_, event| on_event(&status, protocol, &pac_file, event))
        .await?;
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

#[cfg_attr(not(feature = "eap-fast"), allow(unused_variables))]
fn on_event(
    status: &StatusHandle,
    protocol: &str,
    pac_file: &std::path::Path,
    event: Event,
) -> ControlFlow<String> {
    match event {
        Event::Authenticating => status.update(|s| {
            s.dot1x.transaction_state = TransactionState::Authenticating;
            s.dot1x.protocol = Some(protocol.into());
        }),
        #[cfg(feature = "eap-fast")]
        Event::PacProvisioned(pac) => {
            // Kept for the next conversation: after anonymous provisioning the server ends
            // with EAP-Failure (RFC 5422), the supervisor starts again and reads it.
            if let Err(e) = crate::dot1x::save_pac_file(pac_file, None, *pac) {
                return ControlFlow::Break(format!("EAP-FAST: the new PAC could not be kept: {e:#}"));
            }
            tracing::info!(file = %pac_file.display(), "EAP-FAST: PAC provisioned");
        }
        Event::Authenticated(a) => {
            tracing::info!(protocol = %a.protocol, tls = %a.tls_version, suite = %a.cipher_suite, "802.1X: authenticated");
            status.update(|s| {
                s.dot1x.transaction_state = TransactionState::Authenticated;
                s.dot1x.protocol = Some(a.protocol.to_string());
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
