//! `cargo xtask bench agent`: the daemon's start-up and idle cost. `phone-agent run` (release)
//! with 16 SIP lines (UDP, each its own SIP port) against one Kamailio registrar on loopback
//! (crates/phone-agent/tests/kamailio/registrar.cfg, no TLS listener).
//!
//! Measured, from the agent's own /api/status and /proc/PID:
//! - start-to-all-registered: from spawn until the status shows the 16 lines Registered;
//! - idle RSS after `BENCH_AGENT_IDLE` seconds (default 60), and the CPU used meanwhile (the
//!   daemon sleeps on timers; it never polls);
//! - RSS after `BENCH_AGENT_RELOADS` reloads (default 1,000) through `POST /api/reload`, each
//!   changing `Proxy_Mode` (so each is accepted and applies a change), and the growth.
//!
//! - start-to-all-registered with 802.1X first (`BENCH_AGENT_DOT1X_RUNS` runs, default 5,
//!   median and range): the agent in a network namespace, hostapd (`driver=wired`, EAP-TLS)
//!   and Kamailio in another behind a veth (the lab's set-up, xtask/src/lab.rs); the agent's
//!   bring-up waits for 802.1X's outcome before addressing and the lines, as a phone does, so
//!   the figure is spawn → Authenticated → 16 lines Registered.
//!
//! Needs the Debian package kamailio (and, for the 802.1X case, root and hostapd). The firewall
//! is pointed at a missing nft (its failure is in the status; the host's nftables are not
//! touched).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

const LINES: usize = 16;

fn free_port() -> Result<u16> {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0")?;
        let port = udp.local_addr()?.port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
}

/// Kills a child's process group (Kamailio forks) or the child, on drop.
struct Killed {
    child: Child,
    group: bool,
}

impl Drop for Killed {
    fn drop(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
        } else {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn cpu_of(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Ok(Duration::from_millis((tick(11) + tick(12)) * 10))
}

fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")
}

fn request(http: &str, method: &str, path: &str) -> Result<(u16, String)> {
    let mut s = TcpStream::connect(http)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {http}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    s.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").context("not HTTP")?;
    let code = head.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    Ok((code, body.to_owned()))
}

fn registered(http: &str) -> usize {
    let Ok((200, body)) = request(http, "GET", "/api/status") else {
        return 0;
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(&body) else {
        return 0;
    };
    doc.get("lines")
        .and_then(serde_json::Value::as_array)
        .map_or(0, |ls| {
            ls.iter()
                .filter(|l| l.get("state").and_then(serde_json::Value::as_str) == Some("Registered"))
                .count()
        })
}

fn write_cfg(path: &Path, registrar: u16, ports: &[u16], proxy_mode: &str) -> Result<()> {
    let mut xml = String::from("<flat-profile>\n");
    for (i, port) in ports.iter().enumerate() {
        let n = i + 1;
        xml += &format!(
            "<User_ID_{n}_>alice</User_ID_{n}_><Password_{n}_>secret</Password_{n}_>\
             <Proxy_{n}_>127.0.0.1:{registrar}</Proxy_{n}_><SIP_Port_{n}_>{port}</SIP_Port_{n}_>\
             <MediaSec_Request_{n}_>Yes</MediaSec_Request_{n}_>\n"
        );
    }
    xml += &format!("<Proxy_Mode>{proxy_mode}</Proxy_Mode><Proxy_Host>proxy.example.com</Proxy_Host>\n");
    xml += "</flat-profile>\n";
    std::fs::write(path, xml)?;
    Ok(())
}

fn write_dot1x_cfg(path: &Path) -> Result<()> {
    let mut xml =
        String::from("<flat-profile>\n<Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication>\n");
    for n in 1..=LINES {
        xml += &format!(
            "<User_ID_{n}_>alice</User_ID_{n}_><Password_{n}_>secret</Password_{n}_>\
             <Proxy_{n}_>10.252.0.1:5060</Proxy_{n}_><SIP_Port_{n}_>{}</SIP_Port_{n}_>\
             <MediaSec_Request_{n}_>Yes</MediaSec_Request_{n}_>\n",
            5060 + n
        );
    }
    xml += "<Profile_Rule></Profile_Rule></flat-profile>\n";
    std::fs::write(path, xml)?;
    Ok(())
}

/// `GET /api/status` from inside namespace `ns` (a thread that entered it).
fn status_in_ns(ns: &str, http: &'static str) -> Option<serde_json::Value> {
    use std::os::fd::AsFd;
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).ok()?;
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).ok()?;
        let (code, body) = request(http, "GET", "/api/status").ok()?;
        (code == 200).then(|| serde_json::from_str(&body).ok())?
    })
    .join()
    .ok()?
}

/// One start of the agent with 802.1X and 16 lines: (spawn → Authenticated, spawn → all
/// Registered).
fn dot1x_run(root: &Path, agent: &Path, dir: &Path) -> Result<(Duration, Duration)> {
    use crate::lab::{
        VethLink, at, certificates, eap_tls_options, spawn_hostapd, spawn_in, spawn_kamailio, stop,
    };
    const PH: &str = "agentbenchph";
    const NW: &str = "agentbenchnw";
    const LINK: VethLink<'static> = VethLink {
        phone: (PH, "abench-p", "10.252.0.2/24"),
        network: (NW, "abench-n", "10.252.0.1/24"),
    };
    struct Namespaces;
    impl Drop for Namespaces {
        fn drop(&mut self) {
            LINK.delete();
        }
    }
    let _namespaces = Namespaces;
    LINK.create()?;
    certificates(dir)?;
    let d = |f: &str| dir.join(f).display().to_string();
    let k = spawn_kamailio(root, NW, dir, "10.252.0.1:5060")?;
    let h = spawn_hostapd(NW, dir, "abench-n", &[])?;
    // Both ready before the clock starts: Kamailio's ctl socket, hostapd's interface enabled.
    let deadline = Instant::now() + Duration::from_secs(15);
    while !(dir.join("kamailio.ctl").exists()
        && std::fs::read_to_string(dir.join("hostapd.log")).is_ok_and(|l| l.contains("ENABLED")))
    {
        if Instant::now() > deadline {
            stop(k as i32, "kamailio", true, nix::sys::signal::Signal::SIGKILL);
            stop(h as i32, "hostapd", false, nix::sys::signal::Signal::SIGKILL);
            bail!("kamailio or hostapd did not start (see {})", dir.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    write_dot1x_cfg(&dir.join("cfg.xml"))?;
    let spawned = Instant::now();
    let mut args = vec![
        agent.display().to_string(),
        "run".into(),
        "--config".into(),
        d("cfg.xml"),
    ];
    args.extend(eap_tls_options(dir, "abench-p", "phone@bench.example"));
    for a in [
        "--http",
        "127.0.0.1:8480",
        "--nft",
        "/nonexistent/nft",
        "--state-dir",
        &d("state"),
    ] {
        args.push(a.to_owned());
    }
    let a = spawn_in(
        PH,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &dir.join("agent.log"),
    )?;
    let mut authenticated = None;
    let outcome = loop {
        let s = status_in_ns(PH, "127.0.0.1:8480");
        let elapsed = spawned.elapsed();
        if let Some(s) = &s {
            if authenticated.is_none() && at(s, "/dot1x/transaction_state") == "Authenticated" {
                authenticated = Some(elapsed);
            }
            let registered = at(s, "/lines").as_array().map_or(0, |ls| {
                ls.iter().filter(|l| at(l, "/state") == "Registered").count()
            });
            if let (Some(auth), LINES) = (authenticated, registered) {
                break Ok((auth, elapsed));
            }
        }
        if elapsed > Duration::from_secs(60) {
            break Err(anyhow::anyhow!(
                "802.1X + {LINES} lines not up within 60 s (see {})",
                dir.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    stop(a as i32, "phone-agent", false, nix::sys::signal::Signal::SIGTERM);
    stop(h as i32, "hostapd", false, nix::sys::signal::Signal::SIGTERM);
    stop(k as i32, "kamailio", true, nix::sys::signal::Signal::SIGKILL);
    outcome
}

pub fn bench(root: &Path) -> Result<()> {
    let env = |name: &str, default: u64| -> Result<u64> {
        match std::env::var(name) {
            Ok(s) => s.parse().with_context(|| format!("{name} must be a number")),
            Err(_) => Ok(default),
        }
    };
    let idle = env("BENCH_AGENT_IDLE", 60)?;
    let reloads = env("BENCH_AGENT_RELOADS", 1000)?;
    let status = Command::new("cargo")
        .args(["build", "--release", "-p", "phone-agent"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("building phone-agent (release) failed");
    }
    let agent = root.join("target/release/phone-agent");
    let dir = std::env::temp_dir().join(format!("xtask-bench-agent-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;

    // 802.1X first, then 16 lines.
    let runs = env("BENCH_AGENT_DOT1X_RUNS", 5)?;
    if runs > 0 {
        let mut auth = Vec::new();
        let mut all = Vec::new();
        for i in 0..runs {
            let run_dir = dir.join(format!("dot1x-{i}"));
            std::fs::create_dir_all(&run_dir)?;
            let (a, r) = dot1x_run(root, &agent, &run_dir)?;
            auth.push(a);
            all.push(r);
        }
        let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
        let median = |v: &mut Vec<Duration>| {
            v.sort();
            v.get(v.len() / 2).copied().unwrap_or_default()
        };
        let (auth_med, all_med) = (median(&mut auth), median(&mut all));
        println!(
            "802.1X (EAP-TLS, hostapd wired) + {LINES} lines, {runs} runs: start to Authenticated {:.0} ms (median; {:.0}..{:.0}), start to all {LINES} Registered {:.0} ms (median; {:.0}..{:.0})",
            ms(&auth_med),
            auth.first().map_or(0.0, ms),
            auth.last().map_or(0.0, ms),
            ms(&all_med),
            all.first().map_or(0.0, ms),
            all.last().map_or(0.0, ms),
        );
    }

    // The registrar.
    let registrar = free_port()?;
    let kcfg = crate::lab::kamailio_cfg(root, &format!("127.0.0.1:{registrar}"), &dir.join("ctl"))?;
    std::fs::write(dir.join("kamailio.cfg"), kcfg)?;
    let klog = std::fs::File::create(dir.join("kamailio.log"))?;
    let kamailio = {
        use std::os::unix::process::CommandExt;
        Killed {
            child: Command::new("kamailio")
                .arg("-f")
                .arg(dir.join("kamailio.cfg"))
                .args(["-DD", "-E", "-m", "64", "-M", "8", "-Y"])
                .arg(&dir)
                .arg("-P")
                .arg(dir.join("kamailio.pid"))
                .arg("-w")
                .arg(&dir)
                .stdin(Stdio::null())
                .stdout(klog.try_clone()?)
                .stderr(klog)
                .process_group(0)
                .spawn()
                .context("starting kamailio (Debian package kamailio)")?,
            group: true,
        }
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    while TcpStream::connect(("127.0.0.1", registrar)).is_err() {
        if Instant::now() > deadline {
            bail!("kamailio did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }

    // The agent with 16 lines.
    let ports: Vec<u16> = (0..LINES).map(|_| free_port()).collect::<Result<_>>()?;
    let cfg = dir.join("cfg.xml");
    write_cfg(&cfg, registrar, &ports, "Off")?;
    let http = format!("127.0.0.1:{}", free_port()?);
    let alog = std::fs::File::create(dir.join("agent.log"))?;
    let spawned = Instant::now();
    let agent = Killed {
        child: Command::new(&agent)
            .arg("run")
            .arg("--config")
            .arg(&cfg)
            .args(["--http", &http, "--nft", "/nonexistent/nft", "--state-dir"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(alog.try_clone()?)
            .stderr(alog)
            .spawn()?,
        group: false,
    };
    let pid = agent.child.id();
    let deadline = spawned + Duration::from_secs(60);
    while registered(&http) < LINES {
        if Instant::now() > deadline {
            bail!(
                "not all {LINES} lines registered within 60 s (see {})",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let up = spawned.elapsed();
    let rss_start = rss_kib(pid)?;
    println!(
        "start to {LINES} lines registered: {:.0} ms (RSS then {rss_start} KiB)",
        up.as_secs_f64() * 1000.0
    );

    let cpu0 = cpu_of(pid)?;
    std::thread::sleep(Duration::from_secs(idle));
    let cpu_idle = cpu_of(pid)? - cpu0;
    let rss_idle = rss_kib(pid)?;
    println!(
        "idle {idle} s: RSS {rss_idle} KiB, CPU {:.0} ms ({:.3} % of one core)",
        cpu_idle.as_secs_f64() * 1000.0,
        cpu_idle.as_secs_f64() * 100.0 / idle.max(1) as f64
    );

    let started = Instant::now();
    for i in 0..reloads {
        write_cfg(&cfg, registrar, &ports, if i % 2 == 0 { "Manual" } else { "Off" })?;
        let (code, body) = request(&http, "POST", "/api/reload")?;
        if code != 200 {
            bail!("reload {i}: {code} {body}");
        }
    }
    let took = started.elapsed();
    // Settle: the last reload's effects and allocator caches.
    std::thread::sleep(Duration::from_secs(2));
    let rss_reloads = rss_kib(pid)?;
    println!(
        "{reloads} reloads in {:.1} s ({:.2} ms each): RSS {rss_reloads} KiB ({:+} KiB against idle); lines still registered: {}",
        took.as_secs_f64(),
        took.as_secs_f64() * 1000.0 / reloads.max(1) as f64,
        rss_reloads as i64 - rss_idle as i64,
        registered(&http)
    );
    drop(agent);
    drop(kamailio);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
