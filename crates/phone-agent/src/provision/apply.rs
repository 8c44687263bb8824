//! Applying a DHCP lease to an interface over rtnetlink (what `phone-agent dhcp` does without
//! `--no-apply`): the address, the default route (DHCPv4 option 3), and the DNS servers
//! written as a resolv.conf where the host says (`--resolv-conf FILE`, e.g. under the state
//! directory; the agent never overwrites /etc/resolv.conf on its own).
//!
//! DHCPv6 gives addresses without a prefix length and no routes (RFC 8415: those come from
//! router advertisements), so a DHCPv6 address goes on as /128 and no route is added.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use dhcp_client::Lease;
use dhcp_client::v6::Lease6;

/// What was configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `address/prefix` set on the interface.
    pub addresses: Vec<(IpAddr, u8)>,
    /// The default route's gateway, when one was set.
    pub gateway: Option<IpAddr>,
    /// The resolv.conf written, when asked for.
    pub resolv_conf: Option<String>,
}

/// The interface's index, from sysfs.
pub fn if_index(iface: &str) -> Result<u32> {
    let path = format!("/sys/class/net/{iface}/ifindex");
    let text = std::fs::read_to_string(&path).with_context(|| format!("no interface {iface} ({path})"))?;
    text.trim()
        .parse()
        .with_context(|| format!("{path}: `{}` is not an interface index", text.trim()))
}

/// Runs `f` with an rtnetlink handle (its connection a task on the current runtime).
async fn with_netlink<T>(f: impl AsyncFnOnce(&rtnetlink::Handle) -> Result<T>) -> Result<T> {
    let (conn, handle, _) = rtnetlink::new_connection().context("opening a netlink socket")?;
    let task = tokio::spawn(conn);
    let r = f(&handle).await;
    task.abort();
    r
}

/// The error in words. Written out here rather than through `rtnetlink::Error`'s `Display`,
/// which prints an unexpected message with `{:?}` and so links the `Debug` code of every
/// route-netlink message type into the binary (about 0.1 MB).
fn netlink_error(what: String) -> impl FnOnce(rtnetlink::Error) -> anyhow::Error {
    use rtnetlink::Error as E;
    move |e| match e {
        E::NetlinkError(m) => {
            let hint = if m.raw_code() == -1 {
                " (needs CAP_NET_ADMIN)"
            } else {
                ""
            };
            anyhow!("{what}: the kernel refused: {m}{hint}")
        }
        E::UnexpectedMessage(m) => anyhow!(
            "{what}: unexpected netlink message (type {})",
            m.header.message_type
        ),
        E::RequestFailed => anyhow!("{what}: the netlink request failed"),
        E::NamespaceError(why) => anyhow!("{what}: network namespace: {why}"),
        E::InvalidHardwareAddress(a) => anyhow!("{what}: invalid hardware address {a:02x?}"),
        E::InvalidIp(a) => anyhow!("{what}: invalid IP address {a:02x?}"),
        E::InvalidAddress(ip, mask) => anyhow!("{what}: invalid address {ip:02x?}/{mask:02x?}"),
        E::InvalidNla(why) => anyhow!("{what}: invalid attribute: {why}"),
    }
}

/// Sets the DHCPv4 lease's address (with the mask's prefix, /32 without one) and a default
/// route through its first router, replacing what was there; writes `resolv_conf` when given.
pub async fn apply_v4(iface: &str, lease: &Lease, resolv_conf: Option<&Path>) -> Result<Applied> {
    let index = if_index(iface)?;
    let prefix = lease.prefix_len().unwrap_or(32);
    let address = lease.address;
    let gateway = lease.routers.first().copied();
    with_netlink(async |h| {
        h.address()
            .add(index, IpAddr::V4(address), prefix)
            .replace()
            .execute()
            .await
            .map_err(netlink_error(format!("adding {address}/{prefix} to {iface}")))?;
        if let Some(gw) = gateway {
            let route = rtnetlink::RouteMessageBuilder::<Ipv4Addr>::new()
                .output_interface(index)
                .gateway(gw)
                .build();
            h.route()
                .add(route)
                .replace()
                .execute()
                .await
                .map_err(netlink_error(format!(
                    "adding the default route via {gw} on {iface}"
                )))?;
        }
        Ok(())
    })
    .await?;
    let dns: Vec<IpAddr> = lease.dns_servers.iter().copied().map(IpAddr::V4).collect();
    let search: Vec<String> = lease.domain_name.iter().cloned().collect();
    let resolv = resolv_conf
        .map(|p| write_resolv_conf(p, &dns, &search))
        .transpose()?;
    Ok(Applied {
        addresses: vec![(IpAddr::V4(address), prefix)],
        gateway: gateway.map(IpAddr::V4),
        resolv_conf: resolv,
    })
}

/// Removes the DHCPv4 lease's address (after a release or expiry); the kernel drops the
/// routes through it.
pub async fn remove_v4(iface: &str, lease: &Lease) -> Result<()> {
    remove(iface, IpAddr::V4(lease.address), lease.prefix_len().unwrap_or(32)).await
}

/// Sets the DHCPv6 lease's addresses (/128) and writes `resolv_conf` when given.
pub async fn apply_v6(iface: &str, lease: &Lease6, resolv_conf: Option<&Path>) -> Result<Applied> {
    let index = if_index(iface)?;
    let addresses: Vec<Ipv6Addr> = lease.addresses.iter().map(|a| a.address).collect();
    with_netlink(async |h| {
        for a in &addresses {
            h.address()
                .add(index, IpAddr::V6(*a), 128)
                .replace()
                .execute()
                .await
                .map_err(netlink_error(format!("adding {a}/128 to {iface}")))?;
        }
        Ok(())
    })
    .await?;
    let dns: Vec<IpAddr> = lease.dns_servers.iter().copied().map(IpAddr::V6).collect();
    let resolv = resolv_conf
        .map(|p| write_resolv_conf(p, &dns, &lease.domain_search))
        .transpose()?;
    Ok(Applied {
        addresses: addresses.into_iter().map(|a| (IpAddr::V6(a), 128)).collect(),
        gateway: None,
        resolv_conf: resolv,
    })
}

/// Removes the DHCPv6 lease's addresses.
pub async fn remove_v6(iface: &str, lease: &Lease6) -> Result<()> {
    for a in &lease.addresses {
        remove(iface, IpAddr::V6(a.address), 128).await?;
    }
    Ok(())
}

async fn remove(iface: &str, address: IpAddr, prefix: u8) -> Result<()> {
    use tokio_stream::StreamExt;
    let index = if_index(iface)?;
    with_netlink(async |h| {
        let found = h
            .address()
            .get()
            .set_link_index_filter(index)
            .set_address_filter(address)
            .set_prefix_length_filter(prefix)
            .execute();
        let mut found = std::pin::pin!(found);
        while let Some(msg) = found.next().await {
            let msg = msg.map_err(netlink_error(format!("listing the addresses of {iface}")))?;
            h.address()
                .del(msg)
                .execute()
                .await
                .map_err(netlink_error(format!("removing {address}/{prefix} from {iface}")))?;
        }
        Ok(())
    })
    .await
}

/// Writes a resolv.conf (atomically: a temporary file renamed over it).
pub fn write_resolv_conf(path: &Path, dns: &[IpAddr], search: &[String]) -> Result<String> {
    let mut text = String::from("# written by phone-agent from a DHCP lease\n");
    if !search.is_empty() {
        text.push_str(&format!("search {}\n", search.join(" ")));
    }
    for d in dns {
        text.push_str(&format!("nameserver {d}\n"));
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(path.display().to_string())
}
