//! `phone-agent dhcp`: drives [`dhcp_client::Client`] on a UDP socket bound to port 68 on one
//! interface (`SO_BINDTODEVICE`, `SO_BROADCAST`), shows the lease and which option of
//! `DHCP_Option_To_Use` names the provisioning server.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use dhcp_client::{Client, Config, Event, Lease, Output, ProvisioningSource, RandomError, SourceChoice};
use serde_json::{Value as Json, json};

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
    let give_up = now + Duration::from_secs(args.timeout);
    let mut hold_until: Option<Instant> = None;
    let mut deadline: Option<Instant> = None;
    let mut buf = [0u8; 4096];
    let mut lease_shown = false;
    loop {
        while let Some(out) = client.poll_output() {
            match out {
                Output::Transmit(t) => {
                    socket
                        .send_to(&t.payload, SocketAddr::V4(t.to))
                        .with_context(|| format!("sending to {} on {}", t.to, args.iface))?;
                }
                Output::Timeout(at) => deadline = at,
                Output::Event(Event::Bound(lease)) => {
                    print_lease(&lease, &lease.provisioning_source(&order), &order, json, "bound")?;
                    lease_shown = true;
                    match args.hold {
                        Some(secs) => hold_until = Some(Instant::now() + Duration::from_secs(secs)),
                        None => return Ok(ExitCode::SUCCESS),
                    }
                }
                Output::Event(Event::Renewed(lease)) => {
                    print_lease(
                        &lease,
                        &lease.provisioning_source(&order),
                        &order,
                        json,
                        "renewed",
                    )?;
                }
                Output::Event(Event::Nak { server, message }) => {
                    eprintln!(
                        "phone-agent dhcp: NAK from {}: {}",
                        server.map_or("?".into(), |s| s.to_string()),
                        message.unwrap_or_default()
                    );
                }
                Output::Event(Event::Expired) => eprintln!("phone-agent dhcp: the lease expired"),
                Output::Event(Event::Discarded(why)) => tracing::debug!(%why, "DHCP datagram dropped"),
                Output::Event(Event::RandomFailed(e)) => bail!("{e}"),
            }
        }
        let now = Instant::now();
        if let Some(h) = hold_until {
            if now >= h {
                client.release(now);
                while let Some(out) = client.poll_output() {
                    if let Output::Transmit(t) = out {
                        socket.send_to(&t.payload, SocketAddr::V4(t.to))?;
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
        } else if now >= give_up && !lease_shown {
            eprintln!(
                "phone-agent dhcp: no lease on {} within {} s",
                args.iface, args.timeout
            );
            return Ok(ExitCode::from(1));
        }
        let wake = [deadline, hold_until, (!lease_shown).then_some(give_up)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(now + Duration::from_secs(1));
        let wait = wake.saturating_duration_since(now).max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait))?;
        match socket.recv_from(&mut buf) {
            Ok((n, _from)) => client.handle_datagram(Instant::now(), buf.get(..n).unwrap_or_default()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                client.handle_timeout(Instant::now());
            }
            Err(e) => return Err(e).context("receiving on port 68"),
        }
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
