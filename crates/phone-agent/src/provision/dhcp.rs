//! `phone-agent dhcp`: [`dhcp_client::Client`] on the [`Driver`] over a UDP socket bound to
//! port 68 on one interface (`SO_BINDTODEVICE`, `SO_BROADCAST`), or with `--ipv6`
//! [`dhcp_client::v6::Client6`] over port 546; shows the lease and which option of
//! `DHCP_Option_To_Use` / `DHCPv6_Option_To_Use` names the provisioning server, and applies
//! the lease to the interface over rtnetlink ([`super::apply`]) unless `--no-apply`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use std::ops::ControlFlow;

use anyhow::{Context, Result, anyhow};
use clap::Args;
use dhcp_client::v6::{Client6, Config6, Event6, Lease6};
use dhcp_client::{Client, Config, Event, Lease, ProvisioningSource, RandomError, SourceChoice};
use serde_json::{Value as Json, json};

use super::apply;
use crate::driver::{Core, Driver, Ended, Link, Output, flush};

/// `phone-agent dhcp`.
#[derive(Args)]
pub struct DhcpArgs {
    /// The interface to get a lease on.
    #[arg(long, value_name = "IF")]
    pub iface: String,
    /// DHCPv6 (SOLICIT/ADVERTISE/REQUEST/REPLY, `DHCPv6_Option_To_Use`) instead of DHCPv4.
    #[arg(long)]
    pub ipv6: bool,
    /// Do not configure the interface: print the lease for the host to apply.
    #[arg(long)]
    pub no_apply: bool,
    /// Where to write the lease's DNS servers as a resolv.conf (e.g. under the state
    /// directory); without it no resolv.conf is written.
    #[arg(long, value_name = "FILE", conflicts_with = "no_apply")]
    pub resolv_conf: Option<PathBuf>,
    /// The cfg.xml whose `DHCP_Option_To_Use` / `DHCPv6_Option_To_Use` orders the options
    /// (default order without it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Option 60 (DHCPv6: option 16) to send (vendor class identifier).
    #[arg(long, value_name = "TEXT")]
    pub vendor_class: Option<String>,
    /// Give up when no lease comes within this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// After the lease, keep it this many seconds (renewing at T1, rebinding at T2), printing
    /// each renewal, then release it (and remove the address when it was applied).
    #[arg(long, value_name = "SECS")]
    pub hold: Option<u64>,
}

/// How to get a lease: what `phone-agent dhcp` and `phone-agent provision --iface` share.
#[derive(Debug, Clone)]
pub struct LeaseRequest {
    /// The interface.
    pub iface: String,
    /// DHCPv6 instead of DHCPv4.
    pub ipv6: bool,
    /// Configure the interface (rtnetlink) with the lease.
    pub apply: bool,
    /// Write the DNS servers here when applying.
    pub resolv_conf: Option<PathBuf>,
    /// `DHCP_Option_To_Use` (DHCPv4).
    pub order_v4: Vec<u8>,
    /// `DHCPv6_Option_To_Use`.
    pub order_v6: Vec<u16>,
    /// Vendor class to send.
    pub vendor_class: Option<Vec<u8>>,
    /// Give up after this long without a lease.
    pub timeout: Duration,
    /// Keep the lease this long after binding (renewals reported), then release it; `None`:
    /// return at the first lease.
    pub hold: Option<Duration>,
}

impl LeaseRequest {
    /// The option orders from a cfg.xml's settings (the phone's defaults without one).
    pub fn orders(settings: Option<&phone_config::Settings>) -> (Vec<u8>, Vec<u16>) {
        match settings {
            Some(s) => (
                s.provisioning.dhcp_option_to_use.get().codes().to_vec(),
                s.provisioning.dhcpv6_option_to_use.get().codes().to_vec(),
            ),
            None => (
                dhcp_client::DEFAULT_OPTION_ORDER.to_vec(),
                dhcp_client::v6::DEFAULT_OPTION_ORDER6.to_vec(),
            ),
        }
    }
}

/// Runs `phone-agent dhcp`: exit 0 with a lease, 1 without one.
pub fn run(args: &DhcpArgs, json: bool) -> Result<ExitCode> {
    let settings = match &args.config {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            Some(
                phone_config::parse(&bytes)
                    .map_err(|e| anyhow!("{}: {}", path.display(), e.diagnostic()))?
                    .settings,
            )
        }
        None => None,
    };
    let (order_v4, order_v6) = LeaseRequest::orders(settings.as_ref());
    let request = LeaseRequest {
        iface: args.iface.clone(),
        ipv6: args.ipv6,
        apply: !args.no_apply,
        resolv_conf: args.resolv_conf.clone(),
        order_v4,
        order_v6,
        vendor_class: args.vendor_class.as_ref().map(|v| v.as_bytes().to_vec()),
        timeout: Duration::from_secs(args.timeout),
        hold: args.hold.map(Duration::from_secs),
    };
    let got = acquire(&request, |event, doc| print_lease(event, doc, json))?;
    Ok(if got.is_some() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "phone-agent dhcp: no lease on {} within {} s",
            args.iface, args.timeout
        );
        ExitCode::from(1)
    })
}

/// Gets a lease on `req.iface` (applying it unless told not to), calls `report` with
/// `"bound"` / `"renewed"` and the lease as JSON ([`lease_json`] / [`lease6_json`], plus
/// `"applied"` when configured), and returns the first lease's JSON; `None` when no lease came
/// within the timeout.
pub fn acquire(
    req: &LeaseRequest,
    mut report: impl FnMut(&str, &Json) -> Result<()>,
) -> Result<Option<Json>> {
    // Blocks the calling thread on the agent's runtime (the one-shot subcommands' way).
    let runtime = tokio::runtime::Handle::try_current().context("no tokio runtime")?;
    runtime.block_on(async {
        if req.ipv6 {
            acquire_v6(req, &mut report).await
        } else {
            acquire_v4(req, &mut report).await
        }
    })
}

fn applied_json(a: &apply::Applied) -> Json {
    json!({
        "addresses": a.addresses.iter().map(|(ip, p)| format!("{ip}/{p}")).collect::<Vec<_>>(),
        "gateway": a.gateway,
        "resolv_conf": a.resolv_conf,
    })
}

/// What one `acquire` keeps between events: the first lease shown and the lease applied.
struct Held<'a, L> {
    req: &'a LeaseRequest,
    report: &'a mut dyn FnMut(&str, &Json) -> Result<()>,
    first: Option<Json>,
    applied: Option<L>,
}

/// A DHCPv4 or DHCPv6 lease as the shared lease loop handles it.
trait HeldLease: Sized {
    /// The document `phone-agent dhcp --json` prints.
    fn doc(&self, req: &LeaseRequest) -> Json;
    /// Configures the interface with it.
    async fn apply(&self, req: &LeaseRequest) -> Result<apply::Applied>;
    /// Takes it off the interface again.
    async fn remove(&self, iface: &str) -> Result<()>;
}

impl HeldLease for Lease {
    fn doc(&self, req: &LeaseRequest) -> Json {
        lease_json(self, &self.provisioning_source(&req.order_v4), &req.order_v4)
    }
    async fn apply(&self, req: &LeaseRequest) -> Result<apply::Applied> {
        apply::apply_v4(&req.iface, self, req.resolv_conf.as_deref()).await
    }
    async fn remove(&self, iface: &str) -> Result<()> {
        apply::remove_v4(iface, self).await
    }
}

impl HeldLease for Lease6 {
    fn doc(&self, req: &LeaseRequest) -> Json {
        lease6_json(self, &self.provisioning_source(&req.order_v6), &req.order_v6)
    }
    async fn apply(&self, req: &LeaseRequest) -> Result<apply::Applied> {
        apply::apply_v6(&req.iface, self, req.resolv_conf.as_deref()).await
    }
    async fn remove(&self, iface: &str) -> Result<()> {
        apply::remove_v6(iface, self).await
    }
}

impl<L: HeldLease> Held<'_, L> {
    /// Shows (and applies) a lease; `Ok(true)` for the first one.
    async fn lease(&mut self, lease: L) -> Result<bool> {
        let mut doc = lease.doc(self.req);
        if self.req.apply {
            let a = lease.apply(self.req).await?;
            if let Some(m) = doc.as_object_mut() {
                m.insert("applied".into(), applied_json(&a));
            }
            self.applied = Some(lease);
        }
        self.show(doc)
    }

    /// The lease is gone (NAK, expiry, release): its address comes off the interface.
    async fn gone(&mut self) -> Result<()> {
        match self.applied.take() {
            Some(l) => l.remove(&self.req.iface).await,
            None => Ok(()),
        }
    }
}

impl<L> Held<'_, L> {
    fn show(&mut self, doc: Json) -> Result<bool> {
        let fresh = self.first.is_none();
        (self.report)(if fresh { "bound" } else { "renewed" }, &doc)?;
        if fresh {
            self.first = Some(doc);
        }
        Ok(fresh)
    }
}

/// What the event handler hands the async side (the handler itself cannot await).
enum Step<L> {
    Lease(L),
    Gone,
    Failed(anyhow::Error),
}

async fn acquire_v4(
    req: &LeaseRequest,
    report: &mut dyn FnMut(&str, &Json) -> Result<()>,
) -> Result<Option<Json>> {
    let mut config = Config::new(mac_of(&req.iface)?);
    config.vendor_class = req.vendor_class.clone();
    let now = Instant::now();
    let mut client = Client::new(config, system_random, now);
    client.start(now);
    let driver = Driver::new(client, DhcpLink::new(open_socket(&req.iface)?, &req.iface)?);
    let step = |event: Event| -> ControlFlow<Step<Lease>> {
        match event {
            Event::Bound(l) | Event::Renewed(l) => ControlFlow::Break(Step::Lease(l)),
            Event::Nak { server, message } => {
                tracing::warn!(
                    "DHCP NAK from {}: {}",
                    server.map_or("?".into(), |s| s.to_string()),
                    message.unwrap_or_default()
                );
                ControlFlow::Break(Step::Gone)
            }
            Event::Expired => {
                tracing::warn!("the DHCP lease expired");
                ControlFlow::Break(Step::Gone)
            }
            Event::Discarded(why) => {
                tracing::debug!(%why, "DHCP datagram dropped");
                ControlFlow::Continue(())
            }
            Event::RandomFailed(e) => ControlFlow::Break(Step::Failed(anyhow!("{e}"))),
        }
    };
    hold(driver, req, report, step).await
}

async fn acquire_v6(
    req: &LeaseRequest,
    report: &mut dyn FnMut(&str, &Json) -> Result<()>,
) -> Result<Option<Json>> {
    let mut config = Config6::new(mac_of(&req.iface)?);
    config.vendor_class = req.vendor_class.clone();
    let index = apply::if_index(&req.iface)?;
    let now = Instant::now();
    let mut client = Client6::new(config, system_random, now);
    client.start(now);
    let link = Dhcp6Link::new(open_socket6(&req.iface, index)?, &req.iface, index)?;
    let driver = Driver::new(client, link);
    let step = |event: Event6| -> ControlFlow<Step<Lease6>> {
        match event {
            Event6::Bound(l) | Event6::Renewed(l) => ControlFlow::Break(Step::Lease(l)),
            Event6::Expired => {
                tracing::warn!(
                    "the DHCPv6 lease is gone (expired, or lost by the server and not given back)"
                );
                ControlFlow::Break(Step::Gone)
            }
            Event6::Discarded(why) => {
                tracing::debug!(%why, "DHCPv6 datagram dropped");
                ControlFlow::Continue(())
            }
            Event6::RandomFailed(e) => ControlFlow::Break(Step::Failed(anyhow!("{e}"))),
        }
    };
    hold(driver, req, report, step).await
}

/// A client that can give its lease back (DHCPRELEASE, RELEASE).
trait Releases {
    fn release(&mut self, now: Instant);
}

impl<R: dhcp_client::Random> Releases for Client<R> {
    fn release(&mut self, now: Instant) {
        Client::release(self, now);
    }
}

impl<R: dhcp_client::Random> Releases for Client6<R> {
    fn release(&mut self, now: Instant) {
        Client6::release(self, now);
    }
}

/// The lease loop of `acquire`, v4 and v6 alike: the first lease within `req.timeout` (shown,
/// applied); with `req.hold`, renewals until then, and the release at the end.
async fn hold<C, K, L>(
    mut driver: Driver<C, K>,
    req: &LeaseRequest,
    report: &mut dyn FnMut(&str, &Json) -> Result<()>,
    mut step: impl FnMut(C::Event) -> ControlFlow<Step<L>>,
) -> Result<Option<Json>>
where
    C: Core + Releases,
    K: Link<C>,
    L: HeldLease,
{
    let mut held = Held::<L> {
        req,
        report,
        first: None,
        applied: None,
    };
    let give_up = tokio::time::Instant::now() + req.timeout;
    let mut hold_until: Option<tokio::time::Instant> = None;
    loop {
        let until = hold_until.unwrap_or(give_up);
        match driver
            .run(tokio::time::sleep_until(until), |_, e| step(e))
            .await?
        {
            Ended::Stopped => break,
            Ended::Done(Step::Lease(l)) => {
                if held.lease(l).await? {
                    match req.hold {
                        Some(h) => hold_until = Some(tokio::time::Instant::now() + h),
                        None => return Ok(held.first),
                    }
                }
            }
            Ended::Done(Step::Gone) => held.gone().await?,
            Ended::Done(Step::Failed(e)) => return Err(e),
        }
    }
    if held.first.is_some() {
        driver.core.release(Instant::now());
        driver
            .run(flush(), |_, _| ControlFlow::<()>::Continue(()))
            .await?;
        held.gone().await?;
    }
    Ok(held.first)
}

/// Where a link's send errors go.
type SendErrors = Box<dyn FnMut(&str)>;

/// The client's socket (port 68 on one interface, [`open_socket`]) as the [`Driver`]'s link.
pub(crate) struct DhcpLink {
    socket: tokio::net::UdpSocket,
    iface: String,
    /// Where send errors go; `None`: they end the drive.
    send_errors: Option<SendErrors>,
}

impl DhcpLink {
    /// From the socket [`open_socket`] made (call inside the runtime).
    pub(crate) fn new(socket: UdpSocket, iface: &str) -> Result<DhcpLink> {
        socket.set_nonblocking(true)?;
        Ok(DhcpLink {
            socket: tokio::net::UdpSocket::from_std(socket).context("the DHCP socket")?,
            iface: iface.to_owned(),
            send_errors: None,
        })
    }

    /// Send errors go to `report` and the client goes on (the daemon: a unicast renewal from
    /// an interface not configured yet fails; the client rebinds by broadcast at T2).
    pub(crate) fn send_errors_reported(mut self, report: impl FnMut(&str) + 'static) -> DhcpLink {
        self.send_errors = Some(Box::new(report));
        self
    }
}

impl<R: dhcp_client::Random> Link<Client<R>> for DhcpLink {
    async fn transmit(&mut self, t: dhcp_client::Transmit) -> Option<std::io::Result<Vec<u8>>> {
        let e = self
            .socket
            .send_to(&t.payload, SocketAddr::V4(t.to))
            .await
            .err()?;
        let why = format!("sending to {} on {}: {e}", t.to, self.iface);
        match &mut self.send_errors {
            Some(report) => {
                report(&why);
                None
            }
            None => Some(Err(std::io::Error::new(e.kind(), why))),
        }
    }

    async fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; 4096];
        let (n, _) = self.socket.recv_from(&mut buf).await?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// Port 546 on one interface ([`open_socket6`]) as the [`Driver`]'s link for
/// [`Client6`]; sends go to `ff02::1:2` on that interface. A send error is logged and the
/// client retransmits (the link-local address may still be tentative).
pub(crate) struct Dhcp6Link {
    socket: tokio::net::UdpSocket,
    iface: String,
    index: u32,
}

impl Dhcp6Link {
    /// From the socket [`open_socket6`] made (call inside the runtime).
    pub(crate) fn new(socket: UdpSocket, iface: &str, index: u32) -> Result<Dhcp6Link> {
        socket.set_nonblocking(true)?;
        Ok(Dhcp6Link {
            socket: tokio::net::UdpSocket::from_std(socket).context("the DHCPv6 socket")?,
            iface: iface.to_owned(),
            index,
        })
    }
}

impl<R: dhcp_client::Random> Core for Client6<R> {
    /// A datagram on port 546, or why the socket failed (which ends the drive).
    type Input = std::io::Result<Vec<u8>>;
    type Transmit = dhcp_client::v6::Transmit6;
    type Event = Event6;

    fn handle_input(&mut self, now: Instant, input: Self::Input) -> Result<()> {
        let datagram = input.context("the DHCPv6 socket")?;
        self.handle_datagram(now, &datagram);
        Ok(())
    }

    fn handle_timeout(&mut self, now: Instant) -> Result<()> {
        Client6::<R>::handle_timeout(self, now);
        Ok(())
    }

    fn poll_output(&mut self) -> Option<Output<dhcp_client::v6::Transmit6, Event6>> {
        use dhcp_client::v6::Output6;
        Some(match Client6::<R>::poll_output(self)? {
            Output6::Transmit(t) => Output::Transmit(t),
            Output6::Event(e) => Output::Event(e),
            Output6::Timeout(at) => Output::Timeout(at),
        })
    }
}

impl<R: dhcp_client::Random> Link<Client6<R>> for Dhcp6Link {
    async fn transmit(&mut self, t: dhcp_client::v6::Transmit6) -> Option<std::io::Result<Vec<u8>>> {
        let to = SocketAddrV6::new(*t.to.ip(), t.to.port(), 0, self.index);
        if let Err(e) = self.socket.send_to(&t.payload, SocketAddr::V6(to)).await {
            tracing::warn!("sending to {to} on {}: {e}", self.iface);
        }
        None
    }

    async fn recv(&mut self) -> std::io::Result<Vec<u8>> {
        let mut buf = vec![0u8; dhcp_client::v6::message::MAX_MESSAGE];
        let (n, _) = self.socket.recv_from(&mut buf).await?;
        buf.truncate(n);
        Ok(buf)
    }
}

/// The system CSPRNG (ring's), as the client's random source.
pub fn system_random(dest: &mut [u8]) -> Result<(), RandomError> {
    use ring::rand::SecureRandom;
    ring::rand::SystemRandom::new()
        .fill(dest)
        .map_err(|_| RandomError("the system random source failed".into()))
}

/// The interface's Ethernet address, from sysfs.
pub fn mac_of(iface: &str) -> Result<[u8; 6]> {
    let path = format!("/sys/class/net/{iface}/address");
    let text = std::fs::read_to_string(&path).with_context(|| format!("no interface {iface} ({path})"))?;
    let bytes: Vec<u8> = text
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16))
        .collect::<Result<_, _>>()
        .with_context(|| format!("{path}: `{}` is not a MAC address", text.trim()))?;
    bytes
        .try_into()
        .map_err(|_| anyhow!("{path}: `{}` is not a 6-byte Ethernet address", text.trim()))
}

/// UDP port 68 on `iface` only (`SO_BINDTODEVICE`), broadcast allowed.
pub fn open_socket(iface: &str) -> Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_broadcast(true)?;
    s.bind_device(Some(iface.as_bytes()))
        .with_context(|| format!("binding to interface {iface} (needs root)"))?;
    s.bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, dhcp_client::CLIENT_PORT).into())
        .context("binding UDP port 68 (needs root; is another DHCP client running?)")?;
    Ok(s.into())
}

fn open_socket6(iface: &str, index: u32) -> Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_only_v6(true)?;
    s.set_reuse_address(true)?;
    s.bind_device(Some(iface.as_bytes()))
        .with_context(|| format!("binding to interface {iface} (needs root)"))?;
    s.set_multicast_if_v6(index)?;
    s.bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, dhcp_client::v6::CLIENT_PORT6, 0, 0).into())
        .context("binding UDP port 546 (needs root; is another DHCPv6 client running?)")?;
    Ok(s.into())
}

fn source_json(s: &ProvisioningSource) -> Json {
    match s {
        ProvisioningSource::TftpServerName(n) => json!({ "kind": "tftp-server-name", "server": n }),
        ProvisioningSource::TftpServers(a) => json!({ "kind": "tftp-servers", "servers": a }),
        ProvisioningSource::Url(u) => json!({ "kind": "url", "url": u }),
        ProvisioningSource::Servers { scheme, hosts, path } => {
            json!({ "kind": "servers", "scheme": scheme, "servers": hosts, "path": path })
        }
        ProvisioningSource::AcsUrl(u) => json!({ "kind": "acs-url", "url": u }),
        ProvisioningSource::VendorClassUrl(u) => json!({ "kind": "vendor-class-url", "url": u }),
    }
}

/// The lease as JSON (also what `provision --dhcp-lease FILE` reads back).
pub fn lease_json(lease: &Lease, choice: &SourceChoice, order: &[u8]) -> Json {
    let options: serde_json::Map<String, Json> = lease
        .options
        .iter()
        .map(|(code, v)| (code.to_string(), Json::String(hex(v))))
        .collect();
    json!({
        "address": lease.address,
        "prefix_len": lease.prefix_len(),
        "server": lease.server,
        "routers": lease.routers,
        "dns_servers": lease.dns_servers,
        "domain_name": lease.domain_name,
        "lease_time": lease.times.lifetime.map(|d| d.as_secs()),
        "t1": lease.times.t1.map(|d| d.as_secs()),
        "t2": lease.times.t2.map(|d| d.as_secs()),
        "wpad": lease.wpad_url(),
        "option_order": order,
        "provisioning": choice.chosen.as_ref().map(|(code, s)| json!({ "option": code, "source": source_json(s), "text": s.to_string() })),
        "passed_over": choice.passed_over.iter().map(|p| json!({ "option": p.option, "reason": p.reason })).collect::<Vec<_>>(),
        "options": options,
    })
}

/// A DHCPv6 lease as JSON (the same `provisioning` / `passed_over` shape as DHCPv4's).
pub fn lease6_json(lease: &Lease6, choice: &SourceChoice, order: &[u16]) -> Json {
    json!({
        "family": "ipv6",
        "address": lease.address(),
        "addresses": lease.addresses.iter().map(|a| json!({ "address": a.address, "preferred": a.preferred, "valid": a.valid })).collect::<Vec<_>>(),
        "server_id": hex(&lease.server_id),
        "dns_servers": lease.dns_servers,
        "domain_search": lease.domain_search,
        "t1": lease.times.t1.map(|d| d.as_secs()),
        "t2": lease.times.t2.map(|d| d.as_secs()),
        "valid": lease.times.lifetime.map(|d| d.as_secs()),
        "option_order": order,
        "provisioning": choice.chosen.as_ref().map(|(code, s)| json!({ "option": code, "source": source_json(s), "text": s.to_string() })),
        "passed_over": choice.passed_over.iter().map(|p| json!({ "option": p.option, "reason": p.reason })).collect::<Vec<_>>(),
        "options": lease.options.iter().map(|(c, v)| json!([c, hex(v)])).collect::<Vec<_>>(),
    })
}

fn hex(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

fn print_lease(event: &str, doc: &Json, as_json: bool) -> Result<()> {
    if as_json {
        let mut doc = doc.clone();
        if let Some(m) = doc.as_object_mut() {
            m.insert("event".into(), json!(event));
        }
        println!("{}", serde_json::to_string(&doc)?);
        return Ok(());
    }
    let s = |v: &Json| match v {
        Json::String(s) => s.clone(),
        Json::Null => "?".into(),
        other => other.to_string(),
    };
    match doc.get("prefix_len") {
        Some(p) => println!(
            "{event}: {}/{} from {} (lease {})",
            s(&doc["address"]),
            s(p),
            s(&doc["server"]),
            doc["lease_time"]
                .as_u64()
                .map_or("infinite".into(), |d| format!("{d} s"))
        ),
        None => println!(
            "{event}: {} (DHCPv6, valid {})",
            s(&doc["address"]),
            doc["valid"]
                .as_u64()
                .map_or("infinite".into(), |d| format!("{d} s"))
        ),
    }
    for key in ["routers", "dns_servers"] {
        if let Some(list) = doc.get(key).and_then(Json::as_array).filter(|l| !l.is_empty()) {
            let items: Vec<String> = list.iter().map(s).collect();
            println!("  {key}: {}", items.join(", "));
        }
    }
    for p in doc["passed_over"].as_array().into_iter().flatten() {
        println!("  option {} passed over: {}", p["option"], s(&p["reason"]));
    }
    match doc.get("provisioning").filter(|p| !p.is_null()) {
        Some(p) => println!("  provisioning: option {}: {}", p["option"], s(&p["text"])),
        None => println!(
            "  provisioning: no option of {} names a server",
            doc["option_order"]
        ),
    }
    if let Some(w) = doc.get("wpad").and_then(Json::as_str) {
        println!("  wpad (252): {w}");
    }
    if let Some(a) = doc.get("applied") {
        println!("  applied: {a}");
    }
    Ok(())
}
