//! Addressing from a DHCPv4 lease in the daemon (`run --dhcp`): [`dhcp_client::Client`]
//! driven on an async UDP socket bound to port 68 on the network port. The lease goes into the
//! status (with the `DHCP_Option_To_Use` option that chose the provisioning source) and,
//! atomically, into `STATE_DIR/dhcp-lease.json` in the form `phone-agent dhcp --json` prints:
//! the hand-off to the host that configures the interface (`--no-apply`; applying through
//! netlink is not the daemon's yet). Provisioning is told of each new lease. On stop the
//! lease is released.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, anyhow, bail};
use dhcp_client::{Client, Config, Event, Lease, Output};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use crate::provision::dhcp::{lease_json, mac_of, open_socket, system_random};
use crate::status::{self, StatusHandle};

/// What DHCP needs: the interface and the option order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpPlan {
    /// The network port.
    pub iface: String,
    /// `DHCP_Option_To_Use`.
    pub order: Vec<u8>,
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
        lease_seconds: lease.lease_time.map(|d| d.as_secs()),
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
    let mut stop = std::pin::pin!(stop);
    let config = Config::new(mac_of(&plan.iface)?);
    let std_socket = open_socket(&plan.iface)?;
    std_socket.set_nonblocking(true)?;
    let socket = UdpSocket::from_std(std_socket).context("registering the DHCP socket")?;
    let now = Instant::now();
    let mut client = Client::new(config, system_random, now);
    client.start(now);
    let mut deadline: Option<Instant> = None;
    let mut renewals = 0u64;
    let mut buf = [0u8; 4096];
    loop {
        while let Some(out) = client.poll_output() {
            match out {
                Output::Transmit(t) => {
                    // Not fatal: a unicast renewal from an interface the host has not
                    // configured yet cannot leave; the client rebinds by broadcast at T2.
                    if let Err(e) = socket.send_to(&t.payload, SocketAddr::V4(t.to)).await {
                        let why = format!("sending to {} on {}: {e}", t.to, plan.iface);
                        tracing::warn!("DHCP: {why}");
                        status.update(|s| s.network.last_error = Some(why));
                    }
                }
                Output::Timeout(at) => deadline = at,
                Output::Event(Event::Bound(lease) | Event::Renewed(lease)) => {
                    let fresh = status
                        .snapshot()
                        .network
                        .dhcp
                        .is_none_or(|d| d.address != lease.address.to_string());
                    if !fresh {
                        renewals += 1;
                    }
                    let choice = lease.provisioning_source(&plan.order);
                    let mut doc = lease_json(&lease, &choice, &plan.order);
                    if let Some(m) = doc.as_object_mut() {
                        m.insert("event".into(), (if fresh { "bound" } else { "renewed" }).into());
                    }
                    let path = super::state::write(
                        &state_dir,
                        super::state::DHCP_LEASE,
                        doc.to_string().as_bytes(),
                    )?;
                    let shown = lease_status(&lease, &plan.order, &path, renewals);
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
                    status.update(|s| {
                        s.network.dhcp = Some(shown);
                        s.network.last_error = None;
                    });
                    leases.send_if_modified(|l| {
                        let changed = l.as_deref() != Some(&info);
                        if changed {
                            *l = Some(Arc::new(info));
                        }
                        changed
                    });
                }
                Output::Event(Event::Nak { server, message }) => {
                    let why = format!(
                        "DHCP NAK from {}: {}",
                        server.map_or("?".into(), |s| s.to_string()),
                        message.unwrap_or_default()
                    );
                    tracing::warn!("{why}");
                    status.update(|s| {
                        s.network.dhcp = None;
                        s.network.last_error = Some(why);
                    });
                }
                Output::Event(Event::Expired) => {
                    tracing::warn!(iface = %plan.iface, "the DHCP lease expired");
                    status.update(|s| {
                        s.network.dhcp = None;
                        s.network.last_error = Some("the DHCP lease expired without a renewal".into());
                    });
                }
                Output::Event(Event::Discarded(why)) => tracing::debug!(%why, "DHCP datagram dropped"),
                Output::Event(Event::RandomFailed(e)) => bail!("{e}"),
            }
        }
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut stop => {
                client.release(Instant::now());
                while let Some(out) = client.poll_output() {
                    if let Output::Transmit(t) = out {
                        let _ = socket.send_to(&t.payload, SocketAddr::V4(t.to)).await;
                    }
                }
                status.update(|s| s.network.dhcp = None);
                return Ok(());
            }
            r = socket.recv_from(&mut buf) => {
                let (n, _) = r.map_err(|e| anyhow!("receiving on port 68: {e}"))?;
                client.handle_datagram(Instant::now(), buf.get(..n).unwrap_or_default());
            }
            () = sleep => client.handle_timeout(Instant::now()),
        }
    }
}
