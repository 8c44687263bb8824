//! Provisioning in the daemon: resyncs (the code of `phone-agent provision --once`, off the
//! async threads) on phone-provisioning's `ResyncTimer`, driven with the monotonic clock and
//! the wall clock as inputs: at power-up (`Resync_On_Reset`, after a random
//! 0..`Resync_Random_Delay`×20 s; after the first lease with `run --dhcp`), `Resync_Periodic`
//! after a success (or the next `Resync_At__HHmm_`, UTC), `Resync_Error_Retry_Delay` after a
//! failure, and at once whenever DHCP binds a lease that names another source. The next one is
//! in the status (`provisioning.next_resync_unix`, `next_reason`). `Provision_Enable` No: none.
//! The fetched profile is written atomically to `STATE_DIR/profile.fetched.xml` and handed to
//! the daemon, which reloads from it through the same path as SIGHUP: a profile with errors is
//! refused whole (the running configuration kept, its diagnostics in the status, the file
//! renamed to `profile.refused.xml`); an accepted one becomes `STATE_DIR/profile.xml`, the
//! configuration the daemon runs (SIGHUP then re-reads it). The outcome goes
//! into the status and `STATE_DIR/resync.json`. A failed fetch is retried by the schedule
//! (`Resync_Error_Retry_Delay`), not by the supervisor; nothing to fetch (no rule names a
//! server, DHCP gave none) counts as done.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use phone_config::Settings;
use tokio::sync::{mpsc, oneshot, watch};

use phone_provisioning::{Daily, Delays, ResyncReason, ResyncSchedule, ResyncTimer, ScheduleOutput};

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

/// The schedule settings, from phone-config's typed values (no text parsed again).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Schedule {
    enable: bool,
    on_reset: bool,
    timer: ResyncSchedule,
}

impl Schedule {
    /// From the file the daemon runs (already accepted by the reload path, so valid).
    fn read(config: &std::path::Path) -> Result<Schedule> {
        let bytes = std::fs::read(config).with_context(|| format!("reading {}", config.display()))?;
        let parsed = phone_config::parse(&bytes)
            .map_err(|e| anyhow::anyhow!("{}: {}", config.display(), e.diagnostic()))?;
        Ok(Schedule::from_settings(&parsed.settings.provisioning))
    }

    fn from_settings(p: &phone_config::Provisioning) -> Schedule {
        let delays = |list: &phone_config::DelayList| {
            Delays::from_steps(list.steps().iter().map(|&(n, r)| (u64::from(n), u64::from(r))))
        };
        Schedule {
            enable: p.provision_enable.get().0,
            on_reset: p.resync_on_reset.get().0,
            timer: ResyncSchedule {
                periodic: delays(p.resync_periodic.get()),
                error_retry: delays(p.resync_error_retry_delay.get()),
                random_delay: Duration::from_secs(p.resync_random_delay.get().seconds()),
                daily: p.resync_at_hhmm.get().map(|t| Daily {
                    second_of_day: t.seconds_of_day(),
                    random: u64::from(p.resync_at_random_delay.get().0),
                }),
            },
        }
    }
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
    /// `STATE_DIR/profile.fetched.xml`; the daemon renames it (see `state`).
    pub path: PathBuf,
    /// The reload's outcome.
    pub reply: oneshot::Sender<status::Reload>,
}

/// Runs resyncs until `stop`, on the schedule (see the module doc). `config` is the file the
/// daemon runs (its rules are the ones evaluated).
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
    let mut config = config;
    let mut schedule = Schedule::read(&config)?;
    if !schedule.enable {
        status.update(|s| {
            s.provisioning.detail = Some("Provision_Enable is No: no resync".into());
            s.provisioning.next_resync_unix = None;
        });
        stop.as_mut().await;
        return Ok(());
    }
    let random = |b: &mut [u8]| {
        use ring::rand::SecureRandom as _;
        ring::rand::SystemRandom::new()
            .fill(b)
            .map_err(|_| "the system's random source failed".to_owned())
    };
    let mut timer = ResyncTimer::new(schedule.timer.clone(), random);
    let mut source = leases.borrow_and_update().as_ref().and_then(|l| l.source.clone());
    let mut started = false;
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut due: Option<ResyncReason> = None;
    loop {
        // Power-up: at once without DHCP, after the first lease with it.
        if !started && (!plan.wait_for_lease || leases.borrow().is_some()) {
            started = true;
            let now = std::time::Instant::now();
            // Restarted by a reload (its plan changed, e.g. by the profile a resync fetched):
            // not a power-up, the periodic resync counts from now. Likewise without
            // Resync_On_Reset.
            let restarted = status.snapshot().provisioning.resyncs > 0;
            if schedule.on_reset && !restarted {
                timer.start(now);
            } else {
                timer.handle_result_at(now, status::unix_now(), true);
            }
        }
        while let Some(out) = timer.poll_output() {
            match out {
                ScheduleOutput::Timeout(at) => {
                    deadline = at.map(tokio::time::Instant::from_std);
                    let unix = at.map(|at| {
                        status::unix_now() + at.saturating_duration_since(std::time::Instant::now()).as_secs()
                    });
                    status.update(|s| s.provisioning.next_resync_unix = unix);
                }
                ScheduleOutput::Resync(reason) => due = Some(reason),
                ScheduleOutput::RandomFailed(e) => anyhow::bail!("resync schedule: {e}"),
            }
        }
        if let Some(reason) = due.take() {
            status.update(|s| s.provisioning.last_reason = Some(format!("{reason:?}")));
            let lease = leases.borrow().clone();
            // The reload it asks for may stop this very subsystem (its plan changed): stop wins.
            let (ok, running) = tokio::select! {
                r = resync_once(&config, &options, lease.as_deref(), &status, &profiles, reason) => r?,
                () = &mut stop => return Ok(()),
            };
            // The fetched profile the daemon now runs is what the next resync reads (its
            // rules, proxy and schedule); the schedule's changes apply from this result on.
            if let Some(path) = running {
                config = path;
            }
            match Schedule::read(&config) {
                Ok(s) => {
                    timer.update(s.timer.clone());
                    schedule = s;
                }
                Err(e) => tracing::warn!("resync schedule unchanged: {e:#}"),
            }
            timer.handle_result_at(std::time::Instant::now(), status::unix_now(), ok);
            continue;
        }
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut stop => return Ok(()),
            () = sleep => timer.handle_timeout(std::time::Instant::now()),
            changed = leases.changed() => {
                if changed.is_err() {
                    // The DHCP subsystem is gone (stopped on reload): wait for stop.
                    stop.as_mut().await;
                    return Ok(());
                }
                let now_source = leases.borrow_and_update().as_ref().and_then(|l| l.source.clone());
                // A lease naming another source: resync at once (not before power-up's).
                if started && now_source != source {
                    timer.resync_now(ResyncReason::PowerUp);
                }
                source = now_source;
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
    reason: ResyncReason,
) -> Result<(bool, Option<PathBuf>)> {
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
        prvst: Some(reason.prvst()),
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
    let nothing_to_fetch = outcome
        .rules
        .iter()
        .all(|r| r.status == "skipped" || r.status == "not-found");
    let mut running = None;
    let (result, detail, failure) = match (&outcome.profile, outcome.ok) {
        (Some(body), true) => {
            let fetched = super::state::write(&options.state_dir, super::state::FETCHED_PROFILE, body)?;
            let (reply, answer) = oneshot::channel();
            profiles
                .send(FetchedProfile { path: fetched, reply })
                .await
                .map_err(|_| anyhow::anyhow!("the daemon is stopping"))?;
            let reload = answer.await.unwrap_or_default();
            let path = options.state_dir.join(if reload.accepted {
                super::state::PROFILE
            } else {
                super::state::REFUSED_PROFILE
            });
            status.update(|s| s.provisioning.profile = Some(path.display().to_string()));
            if reload.accepted {
                running = Some(path.clone());
            }
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
    if let Some(why) = failure {
        tracing::warn!("resync failed: {why}; retried after Resync_Error_Retry_Delay");
    }
    let ok = !matches!(result, ProvisioningResult::Failed | ProvisioningResult::Refused);
    Ok((ok, running))
}
