//! Provisioning in the daemon: a resync (the code of `phone-agent provision --once`, off the
//! async threads) at bring-up and again whenever DHCP binds a lease that names another source.
//! The fetched profile is written atomically to `STATE_DIR/profile.xml` and handed to the
//! daemon, which reloads from it through the same path as SIGHUP: a profile with errors is
//! refused whole (the running configuration kept, its diagnostics in the status); an accepted
//! one becomes the configuration the daemon runs (SIGHUP then re-reads it). The outcome goes
//! into the status and `STATE_DIR/resync.json`. A failed fetch is an error the supervisor
//! retries with backoff; nothing to fetch (no rule names a server, DHCP gave none) is not.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use phone_config::Settings;
use tokio::sync::{mpsc, oneshot, watch};

use super::dhcp::LeaseInfo;
use crate::provision::resync::{ProvisionArgs, SyslogFormatArg};
use crate::status::{self, ProvisioningResult, RuleOutcome, StatusHandle};

/// What provisioning needs from cfg.xml; equal plans mean an unchanged subsystem on reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionPlan {
    rules: Vec<Option<String>>,
    restricted: String,
    syslog: Option<String>,
    messages: [String; 3],
    cipher_list: String,
    /// Wait for a DHCP lease before the first resync (`run --dhcp`).
    pub wait_for_lease: bool,
}

impl ProvisionPlan {
    /// The plan when any `Profile_Rule*` is set.
    pub fn from_settings(settings: &Settings, dhcp: bool) -> Option<ProvisionPlan> {
        let p = &settings.provisioning;
        let rules: Vec<Option<String>> = [
            p.profile_rule.get(),
            p.profile_rule_b.get(),
            p.profile_rule_c.get(),
            p.profile_rule_d.get(),
        ]
        .iter()
        .map(|r| r.as_ref().map(|r| r.as_str().to_owned()))
        .collect();
        if rules.iter().all(Option::is_none) {
            return None;
        }
        Some(ProvisionPlan {
            rules,
            restricted: format!(
                "{:?}",
                settings
                    .restricted_access
                    .restricted_access_domains
                    .get()
                    .domains()
            ),
            syslog: p.syslog_server.get().as_ref().map(ToString::to_string),
            messages: [
                p.log_request_msg.get().clone(),
                p.log_success_msg.get().clone(),
                p.log_failure_msg.get().clone(),
            ],
            cipher_list: settings.tls.tls_cipher_list.get().clone(),
            wait_for_lease: dhcp,
        })
    }
}

/// The agent-wide options provisioning uses.
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    /// Where the profile, the outcome (and the lease) are written.
    pub state_dir: PathBuf,
    /// The DNS server for A records.
    pub dns: Option<SocketAddr>,
    /// CA certificates for HTTPS servers.
    pub ca_file: Option<PathBuf>,
    /// The client certificate and key for HTTPS.
    pub client_cert: Option<PathBuf>,
    /// Its key.
    pub client_key: Option<PathBuf>,
    /// The interface whose MAC is `$MA`.
    pub iface: Option<String>,
}

/// A fetched profile for the daemon to reload from; the answer is the reload's outcome.
pub struct FetchedProfile {
    /// `STATE_DIR/profile.xml`.
    pub path: PathBuf,
    /// The reload's outcome.
    pub reply: oneshot::Sender<status::Reload>,
}

/// Runs resyncs until `stop`: one now (after the first lease when DHCP runs), one per new
/// lease source. `config` is the file the daemon runs (its rules are the ones evaluated).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    plan: ProvisionPlan,
    config: PathBuf,
    options: ProvisionOptions,
    status: StatusHandle,
    mut leases: watch::Receiver<Option<Arc<LeaseInfo>>>,
    profiles: mpsc::Sender<FetchedProfile>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let mut stop = std::pin::pin!(stop);
    loop {
        let lease = leases.borrow_and_update().clone();
        if lease.is_some() || !plan.wait_for_lease {
            // The reload it asks for may stop this very subsystem (its plan changed): stop wins.
            tokio::select! {
                r = resync_once(&config, &options, lease.as_deref(), &status, &profiles) => r?,
                () = &mut stop => return Ok(()),
            }
        }
        tokio::select! {
            () = &mut stop => return Ok(()),
            changed = leases.changed() => {
                if changed.is_err() {
                    // The DHCP subsystem is gone (stopped on reload): wait for stop.
                    stop.as_mut().await;
                    return Ok(());
                }
            }
        }
    }
}

async fn resync_once(
    config: &std::path::Path,
    options: &ProvisionOptions,
    lease: Option<&LeaseInfo>,
    status: &StatusHandle,
    profiles: &mpsc::Sender<FetchedProfile>,
) -> Result<()> {
    let mac = match &options.iface {
        Some(i) => crate::provision::dhcp::mac_of(i)
            .ok()
            .map(|m| m.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")),
        None => None,
    };
    let args = ProvisionArgs {
        config: config.to_owned(),
        once: true,
        dhcp_lease: lease.map(|l| l.path.clone()),
        dns: options.dns,
        ca: options.ca_file.clone(),
        client_cert: options
            .client_cert
            .clone()
            .filter(|_| options.client_key.is_some()),
        client_key: options
            .client_key
            .clone()
            .filter(|_| options.client_cert.is_some()),
        save: None,
        mac,
        product: "CP-7832-3PCC".into(),
        series: "7832".into(),
        serial: String::new(),
        syslog_format: SyslogFormatArg::Rfc5424,
        proxy_loopback: false,
    };
    let source = lease.and_then(|l| l.source.clone());
    status.update(|s| s.provisioning.source = source.clone());
    let outcome = tokio::task::spawn_blocking(move || crate::provision::resync::resync(&args))
        .await
        .context("the resync task")??;
    let rules: Vec<RuleOutcome> = outcome
        .rules
        .iter()
        .map(|r| RuleOutcome {
            rule: r.rule.to_owned(),
            url: r.url.clone(),
            status: r.status.to_owned(),
            detail: r.detail.clone(),
        })
        .collect();
    let nothing_to_fetch = outcome.rules.iter().all(|r| r.status == "skipped");
    let (result, detail, failure) = match (&outcome.profile, outcome.ok) {
        (Some(body), true) => {
            let path = super::state::write(&options.state_dir, super::state::PROFILE, body)?;
            let (reply, answer) = oneshot::channel();
            profiles
                .send(FetchedProfile {
                    path: path.clone(),
                    reply,
                })
                .await
                .map_err(|_| anyhow::anyhow!("the daemon is stopping"))?;
            let reload = answer.await.unwrap_or_default();
            status.update(|s| s.provisioning.profile = Some(path.display().to_string()));
            if !reload.accepted {
                (
                    ProvisioningResult::Refused,
                    format!(
                        "{} has errors: refused whole, the running configuration kept",
                        path.display()
                    ),
                    None,
                )
            } else if reload.changed.is_empty() {
                (
                    ProvisioningResult::Unchanged,
                    "the profile is the running configuration".into(),
                    None,
                )
            } else {
                (
                    ProvisioningResult::Applied,
                    format!("applied; restarted: {}", reload.changed.join(", ")),
                    None,
                )
            }
        }
        _ if nothing_to_fetch => (
            ProvisioningResult::Skipped,
            outcome
                .rules
                .first()
                .map_or_else(|| "no rule".to_owned(), |r| r.detail.clone()),
            None,
        ),
        _ => {
            let why = outcome
                .rules
                .iter()
                .find(|r| r.status == "failed" || r.status == "rejected")
                .map_or_else(
                    || "no profile fetched".to_owned(),
                    |r| format!("{}: {}", r.rule, r.detail),
                );
            (ProvisioningResult::Failed, why.clone(), Some(why))
        }
    };
    let now = status::unix_now();
    let record = serde_json::json!({
        "at_unix": now,
        "result": result,
        "detail": detail,
        "source": source,
        "rules": rules,
    });
    super::state::write(
        &options.state_dir,
        super::state::RESYNC,
        record.to_string().as_bytes(),
    )?;
    tracing::info!("resync: {result:?}: {detail}");
    status.update(|s| {
        s.provisioning.last_resync_unix = Some(now);
        s.provisioning.result = Some(result);
        s.provisioning.detail = Some(detail);
        s.provisioning.rules = rules;
        s.provisioning.resyncs += 1;
    });
    match failure {
        Some(why) => Err(anyhow::anyhow!("resync failed: {why}")),
        None => Ok(()),
    }
}
