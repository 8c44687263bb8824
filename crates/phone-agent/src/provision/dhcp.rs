//! `phone-agent dhcp`: [`dhcp_client::Client`] on the [`Driver`] over a UDP socket bound to
//! port 68 on one interface (`SO_BINDTODEVICE`, `SO_BROADCAST`), shows the lease and which option of
//! `DHCP_Option_To_Use` names the provisioning server.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use std::ops::ControlFlow;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use dhcp_client::{Client, Config, Event, Lease, ProvisioningSource, RandomError, SourceChoice};
use serde_json::{Value as Json, json};

use crate::driver::{Driver, Ended, Link, flush};

/// `phone-agent dhcp`.
#[derive(Args)]
pub struct DhcpArgs {
    /// The interface to get a lease on.
    #[arg(long, value_name = "IF")]
    pub iface: String,
    /// Do not configure the interface: print the lease for the host to apply.
    #[arg(long)]
    pub no_apply: bool,
    /// The cfg.xml whose `DHCP_Option_To_Use` orders the options (default order without it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Option 60 to send (vendor class identifier).
    #[arg(long, value_name = "TEXT")]
    pub vendor_class: Option<String>,
    /// Give up when no lease comes within this many seconds.
    #[arg(long, default_value_t = 30, value_name = "SECS")]
    pub timeout: u64,
    /// After the lease, keep it this many seconds (renewing at T1, rebinding at T2), printing
    /// each renewal, then release it.
    #[arg(long, value_name = "SECS")]
    pub hold: Option<u64>,
}

/// Runs `phone-agent dhcp`: exit 0 with a lease, 1 without one.
pub fn run(args: &DhcpArgs, json: bool) -> Result<ExitCode> {
    if !args.no_apply {
        bail!(
            "applying the lease to {} is not implemented yet (netlink); pass --no-apply and apply it from the printed lease",
            args.iface
        );
    }
    let order = match &args.config {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let parsed =
                phone_config::parse(&bytes).map_err(|e| anyhow!("{}: {}", path.display(), e.diagnostic()))?;
            parsed
                .settings
                .provisioning
                .dhcp_option_to_use
                .get()
                .codes()
                .to_vec()
        }
        None => dhcp_client::DEFAULT_OPTION_ORDER.to_vec(),
    };
    let mut config = Config::new(mac_of(&args.iface)?);
    config.vendor_class = args.vendor_class.as_ref().map(|v| v.as_bytes().to_vec());
    let socket = open_socket(&args.iface)?;
    let now = Instant::now();
    let mut client = Client::new(config, system_random, now);
    client.start(now);
    let show = |event: Event| -> Result<Option<Lease>> {
        match event {
            Event::Bound(lease) => {
                print_lease(&lease, &lease.provisioning_source(&order), &order, json, "bound")?;
                return Ok(Some(lease));
            }
            Event::Renewed(lease) => {
                print_lease(
                    &lease,
                    &lease.provisioning_source(&order),
                    &order,
                    json,
                    "renewed",
                )?;
            }
            Event::Nak { server, message } => eprintln!(
                "phone-agent dhcp: NAK from {}: {}",
                server.map_or("?".into(), |s| s.to_string()),
                message.unwrap_or_default()
            ),
            Event::Expired => eprintln!("phone-agent dhcp: the lease expired"),
            Event::Discarded(why) => tracing::debug!(%why, "DHCP datagram dropped"),
            Event::RandomFailed(e) => bail!("{e}"),
        }
        Ok(None)
    };
    let runtime = tokio::runtime::Handle::try_current().context("no tokio runtime")?;
    runtime.block_on(async {
        let mut driver = Driver::new(client, DhcpLink::new(socket, &args.iface)?);
        let bound = driver
            .run(
                tokio::time::sleep(Duration::from_secs(args.timeout)),
                |_, event| match show(event) {
                    Ok(Some(_)) => ControlFlow::Break(Ok(())),
                    Ok(None) => ControlFlow::Continue(()),
                    Err(e) => ControlFlow::Break(Err(e)),
                },
            )
            .await?;
        match bound {
            Ended::Done(result) => result?,
            Ended::Stopped => {
                eprintln!(
                    "phone-agent dhcp: no lease on {} within {} s",
                    args.iface, args.timeout
                );
                return Ok(ExitCode::from(1));
            }
        }
        let Some(secs) = args.hold else {
            return Ok(ExitCode::SUCCESS);
        };
        // Keep the lease (renewing at T1, rebinding at T2), then release it.
        let held = driver
            .run(
                tokio::time::sleep(Duration::from_secs(secs)),
                |_, event| match show(event) {
                    Ok(_) => ControlFlow::Continue(()),
                    Err(e) => ControlFlow::Break(e),
                },
            )
            .await?;
        if let Ended::Done(e) = held {
            return Err(e);
        }
        driver.core.release(Instant::now());
        driver
            .run(flush(), |_, _| ControlFlow::<()>::Continue(()))
            .await?;
        Ok(ExitCode::SUCCESS)
    })
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
        "lease_time": lease.lease_time.map(|d| d.as_secs()),
        "t1": lease.t1.map(|d| d.as_secs()),
        "t2": lease.t2.map(|d| d.as_secs()),
        "wpad": lease.wpad_url(),
        "option_order": order,
        "provisioning": choice.chosen.as_ref().map(|(code, s)| json!({ "option": code, "source": source_json(s), "text": s.to_string() })),
        "passed_over": choice.passed_over.iter().map(|p| json!({ "option": p.option, "reason": p.reason })).collect::<Vec<_>>(),
        "options": options,
    })
}

fn hex(v: &[u8]) -> String {
    v.iter().map(|b| format!("{b:02x}")).collect()
}

fn print_lease(lease: &Lease, choice: &SourceChoice, order: &[u8], as_json: bool, what: &str) -> Result<()> {
    if as_json {
        let mut doc = lease_json(lease, choice, order);
        if let Some(m) = doc.as_object_mut() {
            m.insert("event".into(), json!(what));
        }
        println!("{}", serde_json::to_string(&doc)?);
        return Ok(());
    }
    println!(
        "{what}: {}/{} from {} (lease {})",
        lease.address,
        lease.prefix_len().map_or("?".into(), |p| p.to_string()),
        lease.server,
        lease
            .lease_time
            .map_or("infinite".into(), |d| format!("{} s", d.as_secs()))
    );
    if !lease.routers.is_empty() {
        println!("  routers: {:?}", lease.routers);
    }
    if !lease.dns_servers.is_empty() {
        println!("  dns: {:?}", lease.dns_servers);
    }
    for p in &choice.passed_over {
        println!("  option {} passed over: {}", p.option, p.reason);
    }
    match &choice.chosen {
        Some((code, s)) => println!("  provisioning: option {code}: {s}"),
        None => println!("  provisioning: no option of {order:?} names a server"),
    }
    if let Some(w) = lease.wpad_url() {
        println!("  wpad (252): {w}");
    }
    Ok(())
}
