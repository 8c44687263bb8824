//! The PC port in the daemon (SPEC §12): the [`PassThrough`](crate::dot1x::passthrough::PassThrough)
//! core on the [`Driver`](crate::driver::Driver) between `--pc-port` and the network port. Its
//! events feed the status; the PC addresses it learns go to the 802.1X subsystem, which ignores
//! their frames.

use anyhow::{Result, anyhow};

use crate::dot1x::passthrough::{self, PassEvent};
use crate::dot1x::port::PcAddresses;
use crate::status::StatusHandle;

/// What the PC port needs from the agent's options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcPortPlan {
    /// The PC port.
    pub pc_port: String,
    /// The network port.
    pub network: Option<String>,
}

/// Forwards between the PC port and the network port until `stop`.
pub async fn run(
    plan: PcPortPlan,
    status: StatusHandle,
    pcs: PcAddresses,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let network = plan
        .network
        .as_deref()
        .ok_or_else(|| anyhow!("--pc-port needs the network port: give --iface"))?;
    let link = passthrough::open(&plan.pc_port, network).await?;
    status.update(|s| {
        s.pc_port.state = crate::status::PcPortState::Forwarding;
        s.pc_port.last_error = None;
    });
    let pc_port = plan.pc_port.clone();
    passthrough::forward(link, pcs, stop, |event| {
        if let PassEvent::ProxyLogoff(mac) = event {
            tracing::info!("PC port {pc_port} down: proxy EAPOL-Logoff sent for {mac}");
        }
        status.update(|s| {
            let p = &mut s.pc_port;
            match event {
                PassEvent::PcLearned(mac) => p.pcs.push(mac.to_string()),
                PassEvent::ToNetwork => p.frames_to_network += 1,
                PassEvent::ToPc => p.frames_to_pc += 1,
                PassEvent::PcLink(up) => p.link_up = Some(*up),
                PassEvent::ProxyLogoff(mac) => {
                    p.proxy_logoffs += 1;
                    p.last_proxy_logoff = Some(mac.to_string());
                }
                PassEvent::SendFailed(why) => p.last_error = Some(why.clone()),
            }
        });
    })
    .await?;
    status.update(|s| s.pc_port.state = crate::status::PcPortState::Disabled);
    Ok(())
}
