//! `cargo xtask bench firewall` (root): the maximal firewall config (16 SIP lines, peer firmware
//! sharing, TR-069, the web server, five UDP and five TCP `Firewall_Config` entries).
//!
//! 1. Apply time: `phone-agent firewall apply` (read cfg.xml, render, read the kernel's table,
//!    `nft -f -`) against `nft -f` of the same script alone (the floor any nft-based tool pays),
//!    alternating, in a scratch network namespace; medians and the ratio.
//! 2. Packet-path cost in the kernel: the same ruleset with a `counter` in every rule, one packet
//!    of each class sent from a second namespace over a veth; the rule whose counter moved is the
//!    one that decided, so its position is the number of rules the packet was compared against.
//!    Printed next to `Ruleset::evaluate`'s count (the model the tests check verdicts against).

use std::fs::File;
use std::io::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use phone_firewall::{Conntrack, Family, Inputs, Packet, Payload, Ruleset, Tr069Port};

/// Applies of each kind.
const RUNS: usize = 40;

const MAXIMAL: &str = "<flat-profile>\
    <Enable_TR-069>Yes</Enable_TR-069><Web_Server_Port>8080</Web_Server_Port>\
    <Firewall_Config>UDP:9000,UDP:9100:9199,UDP:9300,UDP:9400:9499,UDP:9500,\
    TCP:12000,TCP:12100:12199,TCP:12300,TCP:12400:12499,TCP:12500</Firewall_Config>\
    </flat-profile>";

struct Netns(Vec<String>, PathBuf);

impl Drop for Netns {
    fn drop(&mut self) {
        for ns in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

fn sh(args: &[&str]) -> Result<String> {
    let (program, rest) = args.split_first().context("empty command")?;
    let out = Command::new(program)
        .args(rest)
        .output()
        .with_context(|| format!("{args:?}"))?;
    if !out.status.success() {
        bail!("{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn nft_f(ns: &str, script: &str) -> Result<()> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft", "-f", "-"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("nft (Debian package nftables)")?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(script.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("nft -f: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || -> Result<T> {
        let fd = File::open(&path).with_context(|| path.clone())?;
        nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).context("setns")?;
        Ok(f())
    })
    .join()
    .map_err(|_| anyhow::anyhow!("namespace thread panicked"))?
}

/// Packets counted by each rule of our table, in chain order.
fn counters(ns: &str) -> Result<Vec<u64>> {
    let listing = sh(&[
        "ip", "netns", "exec", ns, "nft", "list", "table", "inet", "phone_fw",
    ])?;
    Ok(listing
        .lines()
        .filter_map(|l| l.split_once("counter packets ").map(|(_, rest)| rest))
        .map(|rest| rest.split(' ').next().and_then(|n| n.parse().ok()).unwrap_or(0))
        .collect())
}

/// Runs the benchmark; see the module docs.
pub fn bench(root: &Path) -> Result<()> {
    let agent = match std::env::var_os("PHONE_AGENT") {
        Some(p) => PathBuf::from(p),
        None => {
            let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
                .args(["build", "--release", "-j2", "-p", "phone-agent"])
                .current_dir(root)
                .status()?;
            if !status.success() {
                bail!("building phone-agent (release) failed");
            }
            root.join("target/release/phone-agent")
        }
    };
    let pid = std::process::id();
    let (phone, peer) = (format!("fwb{pid}p"), format!("fwb{pid}r"));
    let dir = std::env::temp_dir().join(format!("fw-bench-{pid}"));
    std::fs::create_dir_all(&dir)?;
    let _guard = Netns(vec![phone.clone(), peer.clone()], dir.clone());
    for ns in [&phone, &peer] {
        sh(&["ip", "netns", "add", ns])?;
        sh(&[
            "ip",
            "netns",
            "exec",
            ns,
            "sysctl",
            "-q",
            "-w",
            "net.ipv6.conf.default.accept_dad=0",
        ])?;
    }
    sh(&[
        "ip", "link", "add", &phone, "netns", &phone, "type", "veth", "peer", "name", &peer, "netns", &peer,
    ])?;
    for (ns, v4, v6) in [
        (&phone, "10.78.0.1/24", "fd78::1/64"),
        (&peer, "10.78.0.2/24", "fd78::2/64"),
    ] {
        sh(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        sh(&["ip", "-n", ns, "addr", "add", v4, "dev", ns])?;
        sh(&["ip", "-n", ns, "addr", "add", v6, "dev", ns, "nodad"])?;
        sh(&["ip", "-n", ns, "link", "set", ns, "up"])?;
    }
    let cfg = dir.join("maximal.xml");
    std::fs::write(&cfg, MAXIMAL)?;
    let settings = phone_config::parse(MAXIMAL.as_bytes())
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .settings;
    let ruleset = Ruleset::new(&Inputs::from_settings(&settings, Tr069Port::new(8765))?)?;
    let script = ruleset.script();
    let cfg_s = cfg.display().to_string();

    // 1. Apply time.
    let agent_s = agent.display().to_string();
    let apply_args = [
        "ip",
        "netns",
        "exec",
        &phone,
        &agent_s,
        "firewall",
        "apply",
        "--config",
        &cfg_s,
        "--tr069-port",
        "8765",
    ];
    sh(&apply_args)?;
    let (mut ours, mut floor) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let t = Instant::now();
        sh(&apply_args)?;
        ours.push(t.elapsed());
        let t = Instant::now();
        nft_f(&phone, &script)?;
        floor.push(t.elapsed());
    }
    let check = Command::new("ip")
        .args([
            "netns",
            "exec",
            &phone,
            &agent_s,
            "firewall",
            "check",
            "--config",
            &cfg_s,
            "--tr069-port",
            "8765",
        ])
        .status()?;
    if !check.success() {
        bail!("the applied ruleset does not check clean");
    }
    let (o, f) = (median(ours), median(floor));
    println!(
        "maximal config: {} rules in the input chain",
        ruleset.rules().len()
    );
    println!(
        "apply (median of {RUNS}): phone-agent firewall apply {o:.1?}, nft -f of the same script {f:.1?}; ratio {:.2}",
        o.as_secs_f64() / f.as_secs_f64().max(1e-9)
    );

    // 2. Packet path in the kernel: counters show which rule decided.
    let counted = script
        .replace(" accept comment \"", " counter accept comment \"")
        .replace(" drop comment \"", " counter drop comment \"")
        .replace(" reject comment \"", " counter reject comment \"");
    nft_f(&phone, &counted)?;
    let phone4 = Ipv4Addr::new(10, 78, 0, 1);
    let phone6 = Ipv6Addr::new(0xfd78, 0, 0, 0, 0, 0, 0, 1);
    type Send_ = Box<dyn FnOnce() -> Result<()>>;
    let udp = |addr: SocketAddr| -> Send_ {
        let peer = peer.clone();
        Box::new(move || {
            in_ns(&peer, move || {
                let local: SocketAddr = if addr.is_ipv4() {
                    (Ipv4Addr::UNSPECIFIED, 0).into()
                } else {
                    (Ipv6Addr::UNSPECIFIED, 0).into()
                };
                if let Ok(s) = UdpSocket::bind(local) {
                    let _ = s.send_to(b"bench", addr);
                }
            })
        })
    };
    let tcp = |addr: SocketAddr| -> Send_ {
        let peer = peer.clone();
        Box::new(move || {
            in_ns(&peer, move || {
                let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
            })
        })
    };
    // The phone sends first; the peer's answer is return traffic.
    let reply: Send_ = {
        let (phone, peer) = (phone.clone(), peer.clone());
        Box::new(move || {
            let peer_addr: SocketAddr = (Ipv4Addr::new(10, 78, 0, 2), 7000).into();
            let p = in_ns(&peer, move || UdpSocket::bind(peer_addr))??;
            let s = in_ns(&phone, || UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)))??;
            s.send_to(b"register", peer_addr)?;
            p.set_read_timeout(Some(Duration::from_secs(2)))?;
            let mut buf = [0u8; 16];
            let (_, from) = p.recv_from(&mut buf)?;
            p.send_to(b"200 OK", from)?;
            Ok(())
        })
    };
    let mut established = Packet::new(Family::Ipv4, Payload::Udp(40000));
    established.conntrack = Conntrack::Established;
    let cases: Vec<(&str, Packet, Send_)> = vec![
        ("reply to the phone's own UDP flow", established, reply),
        (
            "new UDP to SIP_Port_1_ (IPv4)",
            Packet::new(Family::Ipv4, Payload::Udp(5060)),
            udp((phone4, 5060).into()),
        ),
        (
            "new UDP to the RTP range (IPv4)",
            Packet::new(Family::Ipv4, Payload::Udp(16400)),
            udp((phone4, 16400).into()),
        ),
        (
            "new TCP to the web server (IPv4)",
            Packet::new(Family::Ipv4, Payload::Tcp(8080)),
            tcp((phone4, 8080).into()),
        ),
        (
            "new TCP to the last TCP: entry (IPv4)",
            Packet::new(Family::Ipv4, Payload::Tcp(12500)),
            tcp((phone4, 12500).into()),
        ),
        (
            "new UDP to a closed port (IPv4)",
            Packet::new(Family::Ipv4, Payload::Udp(9)),
            udp((phone4, 9).into()),
        ),
        (
            "new TCP to a closed port (IPv6)",
            Packet::new(Family::Ipv6, Payload::Tcp(9)),
            tcp((phone6, 9).into()),
        ),
    ];
    println!(
        "\n{:<40} {:>18} {:>22}  verdict",
        "packet", "model: rules eval.", "kernel: deciding rule"
    );
    let mut mismatches = 0;
    for (what, packet, send) in cases {
        let before = counters(&phone)?;
        send()?;
        // Bounded wait for the counters to move (the TCP SYN may be retransmitted; first wins).
        let deadline = Instant::now() + Duration::from_secs(2);
        let moved = loop {
            let after = counters(&phone)?;
            let moved: Vec<usize> = after
                .iter()
                .zip(&before)
                .enumerate()
                .filter(|(_, (a, b))| a > b)
                .map(|(i, _)| i)
                // The NDP rule counts neighbour solicitations that IPv6 packets trigger.
                .filter(|&i| {
                    !matches!(
                        ruleset.rules().get(i).map(|r| r.matcher()),
                        Some(phone_firewall::Match::NeighbourDiscovery)
                    )
                })
                .collect();
            if !moved.is_empty() || Instant::now() > deadline {
                break moved;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let e = ruleset.evaluate(&packet);
        let kernel = match moved.first() {
            Some(i) => format!("#{} of {}", i + 1, ruleset.rules().len()),
            None => format!("policy (after {})", ruleset.rules().len()),
        };
        let agrees =
            moved.first().map(|i| i + 1) == e.rule.map(|i| i + 1) || (moved.is_empty() && e.rule.is_none());
        if !agrees {
            mismatches += 1;
        }
        println!(
            "{what:<40} {:>18} {kernel:>22}  {:?}{}",
            e.rules_evaluated,
            e.verdict,
            if agrees { "" } else { "  MISMATCH" }
        );
    }
    if mismatches > 0 {
        bail!("{mismatches} packet classes decided by another rule than the model says");
    }
    Ok(())
}
