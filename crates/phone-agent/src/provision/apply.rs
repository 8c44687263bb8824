//! Applying a DHCP lease to an interface (what `phone-agent dhcp` does without `--no-apply`),
//! over a route-netlink socket with [`dhcp_client::netlink`]'s requests: the address, the default route (DHCPv4 option 3), and the DNS servers
//! written as a resolv.conf where the host says (`--resolv-conf FILE`, e.g. under the state
//! directory; the agent never overwrites /etc/resolv.conf on its own).
//!
//! DHCPv6 gives addresses without a prefix length and no routes (RFC 8415: those come from
//! router advertisements), so a DHCPv6 address goes on as /128 and no route is added.

use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use dhcp_client::Lease;
use dhcp_client::netlink::{Reply, Request};
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

/// How long to wait for the kernel's answer. Route-netlink requests are handled while the
/// request is sent, so the answer is already queued when `send` returns; the bound only guards
/// against a kernel that never answers.
const NETLINK_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `request` on a new `NETLINK_ROUTE` socket and reads the kernel's answer. Blocking,
/// but not for long: see [`NETLINK_TIMEOUT`].
fn netlink(request: Request, what: &str) -> Result<Reply> {
    use nix::libc::{AF_NETLINK, NETLINK_ROUTE};
    use socket2::{Domain, Protocol, Socket, Type};
    use std::io::Read;

    let socket = Socket::new(
        Domain::from(AF_NETLINK),
        Type::RAW,
        Some(Protocol::from(NETLINK_ROUTE)),
    )
    .context("opening a netlink socket")?;
    socket.set_read_timeout(Some(NETLINK_TIMEOUT))?;
    const SEQ: u32 = 1;
    let bytes = request.encode(SEQ);
    let sent = socket
        .send(&bytes)
        .with_context(|| format!("{what}: sending the netlink request"))?;
    if sent != bytes.len() {
        return Err(anyhow!(
            "{what}: sent {sent} of the request's {} bytes",
            bytes.len()
        ));
    }
    let mut buf = [0u8; 8192];
    loop {
        let n = (&socket)
            .read(&mut buf)
            .with_context(|| format!("{what}: reading the kernel's answer"))?;
        let datagram = buf.get(..n).unwrap_or_default();
        match dhcp_client::netlink::parse_reply(datagram, SEQ) {
            Ok(Some(reply)) => return Ok(reply),
            Ok(None) => continue,
            Err(e) => return Err(anyhow!("{what}: {e}")),
        }
    }
}

/// `netlink`, with a refusal as an error in words.
fn netlink_ack(request: Request, what: &str) -> Result<()> {
    match netlink(request, what)? {
        Reply::Ack => Ok(()),
        Reply::Refused { errno } => Err(refused(what, errno)),
    }
}

fn refused(what: &str, errno: i32) -> anyhow::Error {
    let hint = if errno == nix::libc::EPERM {
        " (needs CAP_NET_ADMIN)"
    } else {
        ""
    };
    let why = std::io::Error::from_raw_os_error(errno);
    anyhow!("{what}: the kernel refused: {why}{hint}")
}

/// Sets the DHCPv4 lease's address (with the mask's prefix, /32 without one) and a default
/// route through its first router, replacing what was there; writes `resolv_conf` when given.
pub async fn apply_v4(iface: &str, lease: &Lease, resolv_conf: Option<&Path>) -> Result<Applied> {
    let index = if_index(iface)?;
    let prefix = lease.prefix_len().unwrap_or(32);
    let address = lease.address;
    let gateway = lease.routers.first().copied();
    netlink_ack(
        Request::AddAddress {
            index,
            address: IpAddr::V4(address),
            prefix_len: prefix,
        },
        &format!("adding {address}/{prefix} to {iface}"),
    )?;
    if let Some(gateway) = gateway {
        netlink_ack(
            Request::AddDefaultRoute { index, gateway },
            &format!("adding the default route via {gateway} on {iface}"),
        )?;
    }
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
    for a in &addresses {
        netlink_ack(
            Request::AddAddress {
                index,
                address: IpAddr::V6(*a),
                prefix_len: 128,
            },
            &format!("adding {a}/128 to {iface}"),
        )?;
    }
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

/// Removes `address/prefix` from the interface; an address that is no longer there (removed
/// by hand, or the interface was reset) is nothing to do.
async fn remove(iface: &str, address: IpAddr, prefix: u8) -> Result<()> {
    let index = if_index(iface)?;
    let what = format!("removing {address}/{prefix} from {iface}");
    match netlink(
        Request::DeleteAddress {
            index,
            address,
            prefix_len: prefix,
        },
        &what,
    )? {
        Reply::Ack => Ok(()),
        r if r.is_not_there() => Ok(()),
        Reply::Refused { errno } => Err(refused(&what, errno)),
    }
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
