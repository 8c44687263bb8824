//! Addressing from a DHCPv4 lease in the daemon (`run --dhcp`): [`dhcp_client::Client`]
//! on the [`Driver`] over port 68 on the network port (`DhcpLink`, as `phone-agent dhcp`). The lease goes into the
//! status (with the `DHCP_Option_To_Use` option that chose the provisioning source) and,
//! atomically, into `STATE_DIR/dhcp-lease.json` in the form `phone-agent dhcp --json` prints:
//! the hand-off to the host that configures the interface, or, with `--dhcp-apply`, the
//! address and default route set over rtnetlink (`provision::apply`, as `phone-agent dhcp`
//! without `--no-apply`) and removed again on release or expiry. Provisioning is told of each
//! new lease (once applied, when the daemon applies it). On stop the lease is released.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Result, anyhow};
use dhcp_client::{Client, Config, Event, Lease};
use tokio::sync::watch;

use crate::driver::{Driver, Ended, flush};
use crate::provision::dhcp::{DhcpLink, lease_json, mac_of, open_socket, system_random};
use crate::status::{self, StatusHandle};

/// What DHCP needs: the interface and the option order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpPlan {
    /// The network port.
    pub iface: String,
    /// `DHCP_Option_To_Use`.
    pub order: Vec<u8>,
    /// Configure the lease on the interface (`--dhcp-apply`), not only hand it off.
    pub apply: bool,
}

/// What provisioning learns from a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseInfo {
    /// `STATE_DIR/dhcp-lease.json`.
    pub path: PathBuf,
    /// The option that chose the provisioning source and the source (`option 66: TFTP server
    /// 10.0.0.1`), if one did.
    pub source: Option<String>,
}

/// The lease most recently bound, shared with provisioning.
pub type LeaseWatch = watch::Sender<Option<Arc<LeaseInfo>>>;

fn lease_status(lease: &Lease, order: &[u8], hand_off: &std::path::Path, renewals: u64) -> status::DhcpLease {
    let choice = lease.provisioning_source(order);
    status::DhcpLease {
        address: lease.address.to_string(),
        prefix_len: lease.prefix_len(),
        server: lease.server.to_string(),
        routers: lease.routers.iter().map(ToString::to_string).collect(),
        dns_servers: lease.dns_servers.iter().map(ToString::to_string).collect(),
        lease_seconds: lease.times.lifetime.map(|d| d.as_secs()),
        bound_unix: status::unix_now(),
        renewals,
        provisioning_option: choice.chosen.as_ref().map(|(code, _)| *code),
        provisioning_source: choice.chosen.as_ref().map(|(_, s)| s.to_string()),
        passed_over: choice
            .passed_over
            .iter()
            .map(|p| format!("{}: {}", p.option, p.reason))
            .collect(),
        wpad: lease.wpad_url(),
        applied: false,
        hand_off: Some(hand_off.display().to_string()),
    }
}

/// Runs DHCP on the plan's interface until `stop` (then RELEASE) or a fatal error.
pub async fn run(
    plan: DhcpPlan,
    state_dir: PathBuf,
    status: StatusHandle,
    leases: Arc<LeaseWatch>,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let config = Config::new(mac_of(&plan.iface)?);
    let iface = plan.iface.clone();
    let reporter = status.clone();
    // Not fatal: a unicast renewal from an interface the host has not configured yet cannot
    // leave; the client rebinds by broadcast at T2.
    let link = DhcpLink::new(open_socket(&plan.iface)?, &plan.iface)?.send_errors_reported(move |why| {
        tracing::warn!(%iface, "DHCP: {why}");
        reporter.update(|s| s.network.last_error = Some(why.to_owned()));
    });
    let now = Instant::now();
    let mut client = Client::new(config, system_random, now);
    client.start(now);
    let mut driver = Driver::new(client, link);
    let mut renewals = 0u64;
    let mut last: Option<Lease> = None;
    let ended = driver
        .run(stop, |_, event| {
            match event {
                Event::Bound(lease) | Event::Renewed(lease) => {
                    let before = status.snapshot().network.dhcp;
                    let fresh = before
                        .as_ref()
                        .is_none_or(|d| d.address != lease.address.to_string());
                    if !fresh {
                        renewals += 1;
                    }
                    let choice = lease.provisioning_source(&plan.order);
                    let mut doc = lease_json(&lease, &choice, &plan.order);
                    if let Some(m) = doc.as_object_mut() {
                        m.insert("event".into(), (if fresh { "bound" } else { "renewed" }).into());
                    }
                    let path = match super::state::write(
                        &state_dir,
                        super::state::DHCP_LEASE,
                        doc.to_string().as_bytes(),
                    ) {
                        Ok(path) => path,
                        Err(e) => return ControlFlow::Break(e),
                    };
                    let mut shown = lease_status(&lease, &plan.order, &path, renewals);
                    shown.applied = !fresh && before.is_some_and(|d| d.applied);
                    tracing::info!(
                        iface = %plan.iface,
                        "DHCP {}: {}/{} from {} (provisioning: {})",
                        if fresh { "bound" } else { "renewed" },
                        shown.address,
                        shown.prefix_len.unwrap_or(32),
                        shown.server,
                        shown.provisioning_source.as_deref().unwrap_or("none")
                    );
                    let info = LeaseInfo {
                        path,
                        source: shown
                            .provisioning_option
                            .zip(shown.provisioning_source.as_ref())
                            .map(|(o, s)| format!("DHCP option {o}: {s}")),
                    };
                    let apply_now = plan.apply && !shown.applied;
                    status.update(|s| {
                        s.network.set_dhcp(Some(shown));
                        s.network.last_error = None;
                    });
                    last = Some(lease.clone());
                    let tell = {
                        let leases = leases.clone();
                        move || {
                            leases.send_if_modified(|l| {
                                let changed = l.as_deref() != Some(&info);
                                if changed {
                                    *l = Some(Arc::new(info));
                                }
                                changed
                            });
                        }
                    };
                    if apply_now {
                        // Provisioning hears of the lease once the address is there.
                        let (iface, status) = (plan.iface.clone(), status.clone());
                        tokio::task::spawn_local(async move {
                            match crate::provision::apply::apply_v4(&iface, &lease, None).await {
                                Ok(_) => {
                                    tracing::info!(%iface, "DHCP lease applied: {}", lease.address);
                                    status.update(|s| {
                                        if let Some(d) = s.network.dhcp.as_mut() {
                                            d.applied = true;
                                        }
                                    });
                                    tell();
                                }
                                Err(e) => status.update(|s| {
                                    s.network.last_error = Some(format!("applying the DHCP lease: {e:#}"));
                                }),
                            }
                        });
                    } else {
                        tell();
                    }
                }
                Event::Nak { server, message } => {
                    let why = format!(
                        "DHCP NAK from {}: {}",
                        server.map_or("?".into(), |s| s.to_string()),
                        message.unwrap_or_default()
                    );
                    tracing::warn!("{why}");
                    status.update(|s| {
                        s.network.set_dhcp(None);
                        s.network.last_error = Some(why);
                    });
                }
                Event::Expired => {
                    tracing::warn!(iface = %plan.iface, "the DHCP lease expired");
                    if let Some(old) = last.take().filter(|_| plan.apply) {
                        let iface = plan.iface.clone();
                        tokio::task::spawn_local(async move {
                            if let Err(e) = crate::provision::apply::remove_v4(&iface, &old).await {
                                tracing::warn!(%iface, "removing the expired lease: {e:#}");
                            }
                        });
                    }
                    status.update(|s| {
                        s.network.set_dhcp(None);
                        s.network.last_error = Some("the DHCP lease expired without a renewal".into());
                    });
                }
                Event::Discarded(why) => tracing::debug!(%why, "DHCP datagram dropped"),
                Event::RandomFailed(e) => return ControlFlow::Break(anyhow!("{e}")),
            }
            ControlFlow::Continue(())
        })
        .await?;
    if let Ended::Done(e) = ended {
        return Err(e);
    }
    driver.core.release(Instant::now());
    driver
        .run(flush(), |_, _| ControlFlow::<()>::Continue(()))
        .await?;
    if let Some(old) = last.filter(|_| plan.apply) {
        crate::provision::apply::remove_v4(&plan.iface, &old).await?;
    }
    status.update(|s| s.network.set_dhcp(None));
    Ok(())
}
