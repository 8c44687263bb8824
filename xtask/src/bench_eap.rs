//! `cargo xtask bench eap`: EAP-TLS on a wired port, `phone-agent dot1x --iface` against
//! `wpa_supplicant -D wired`, same hostapd, same certificates, same run.
//!
//! Set-up: two network namespaces joined by a veth pair; hostapd (`driver=wired`, integrated EAP
//! server, no debug logging) on one end; the supplicant under test on the other. Certificates
//! (RSA-2048, one CA, one server, one client) are generated once with `openssl`. For TLS 1.2 and
//! TLS 1.3, the two supplicants run alternately, `BENCH_EAP_RUNS` times each (default 25).
//!
//! Measured per run:
//! * wall: from spawning the supplicant to its EAP-Success (the agent exits on success;
//!   wpa_supplicant's `CTRL-EVENT-EAP-SUCCESS` line is read from its stdout, then it is killed);
//! * CPU: user + system time of the supplicant process, from `getrusage(RUSAGE_CHILDREN)` before
//!   and after reaping it (the children are reaped one at a time; hostapd is reaped last);
//! * on the wire: from the supplicant's first EAPOL-Start to hostapd's EAP-Success, and the number
//!   of EAP-Requests between them (round trips), seen by one observer for both supplicants: a
//!   raw AF_PACKET socket (ETH_P_ALL, Python's standard library) on hostapd's end of the veth.
//!
//! Needs root (network namespaces) and the Debian packages hostapd, wpasupplicant, iproute2,
//! openssl and python3. The namespaces and the scratch directory are deleted at the end.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use nix::sys::resource::{UsageWho, getrusage};

const DEFAULT_RUNS: usize = 25;
/// Bound on one authentication, either supplicant.
const RUN_LIMIT: Duration = Duration::from_secs(15);

pub(crate) fn require(binary: &str, package: &str) -> Result<PathBuf> {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(binary);
        if p.exists() {
            return Ok(p);
        }
    }
    bail!("{binary} not found: install the Debian package `{package}`")
}

pub(crate) fn check(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The scratch directory; removed on drop.
pub(crate) struct Scratch(pub(crate) PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Scratch {
    pub(crate) fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
    pub(crate) fn write(&self, file: &str, contents: &str) -> Result<PathBuf> {
        let p = self.path(file);
        std::fs::write(&p, contents).with_context(|| format!("writing {}", p.display()))?;
        Ok(p)
    }
}

/// Two namespaces and the veth pair between them; deleted on drop.
struct Topology {
    auth_ns: String,
    supp_ns: String,
    auth_if: String,
    supp_if: String,
}

impl Topology {
    fn new(ip: &Path) -> Result<Topology> {
        let tag = std::process::id() % 100_000;
        let t = Topology {
            auth_ns: format!("bencheapa{tag}"),
            supp_ns: format!("bencheaps{tag}"),
            auth_if: format!("beapa{tag}"),
            supp_if: format!("beaps{tag}"),
        };
        // Constructed before the first command so that drop cleans up a partial set-up.
        check(Command::new(ip).args(["netns", "add", &t.auth_ns]))?;
        check(Command::new(ip).args(["netns", "add", &t.supp_ns]))?;
        check(Command::new(ip).args([
            "link", "add", &t.auth_if, "type", "veth", "peer", "name", &t.supp_if,
        ]))?;
        check(Command::new(ip).args(["link", "set", &t.auth_if, "netns", &t.auth_ns]))?;
        check(Command::new(ip).args(["link", "set", &t.supp_if, "netns", &t.supp_ns]))?;
        check(Command::new(ip).args(["-n", &t.auth_ns, "link", "set", &t.auth_if, "up"]))?;
        check(Command::new(ip).args(["-n", &t.supp_ns, "link", "set", &t.supp_if, "up"]))?;
        Ok(t)
    }
}

impl Drop for Topology {
    fn drop(&mut self) {
        for ns in [&self.auth_ns, &self.supp_ns] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// A long-running peer, killed by its PID on drop.
pub(crate) struct Peer(pub(crate) Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// user + system time of the reaped children so far.
pub(crate) fn children_cpu() -> Result<Duration> {
    let u = getrusage(UsageWho::RUSAGE_CHILDREN).context("getrusage")?;
    let tv = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
    };
    Ok(tv(u.user_time()) + tv(u.system_time()))
}

/// One measured authentication.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
    /// First EAPOL-Start → EAP-Success, at the authenticator's port.
    wire: Option<Duration>,
    /// EAP-Requests between them.
    requests: Option<u64>,
}

/// The wire observer: prints `MONOTONIC_SECONDS SRC DST EAPOL_TYPE EAP_CODE` per EAPOL frame,
/// both directions (outgoing frames reach only ETH_P_ALL sockets).
const OBSERVER: &str = r#"
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
print("ready", flush=True)
while True:
    f = s.recv(4096)
    t = time.monotonic()
    if len(f) < 18 or f[12:14] != b"\x88\x8e":
        continue
    code = f[18] if f[15] == 0 and len(f) > 18 else -1
    print("%.6f %s %s %d %d" % (t, f[6:12].hex(":"), f[0:6].hex(":"), f[15], code), flush=True)
"#;

/// One EAPOL frame the observer saw.
struct WireFrame {
    at: f64,
    eapol_type: u8,
    eap_code: i32,
}

fn parse_wire(line: &str) -> Option<WireFrame> {
    let mut f = line.split_whitespace();
    let at = f.next()?.parse().ok()?;
    let _src = f.next()?;
    let _dst = f.next()?;
    Some(WireFrame {
        at,
        eapol_type: f.next()?.parse().ok()?,
        eap_code: f.next()?.parse().ok()?,
    })
}

/// Lines from a child's stdout, by a reader thread.
fn lines_of(stdout: std::process::ChildStdout) -> mpsc::Receiver<(Instant, String)> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    rx
}

/// Start → Success time and the EAP-Requests in between, from the frames of one run; polls for
/// up to 2 s for the Success to show up.
fn wire_of(wire: &mpsc::Receiver<(Instant, String)>) -> (Option<Duration>, Option<u64>) {
    let deadline = Instant::now() + Duration::from_secs(2);
    let (mut start, mut requests) = (None::<f64>, 0u64);
    while let Ok((_, line)) = wire.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        let Some(f) = parse_wire(&line) else { continue };
        match (f.eapol_type, f.eap_code) {
            (1, _) if start.is_none() => start = Some(f.at),
            (0, 1) if start.is_some() => requests += 1,
            (0, 3) => {
                if let Some(s) = start {
                    return (Some(Duration::from_secs_f64((f.at - s).max(0.0))), Some(requests));
                }
            }
            _ => {}
        }
    }
    (None, None)
}

#[path = "../../crates/eap-supplicant/tests/common/openssl_pki.rs"]
mod openssl_pki;

/// The CA, hostapd's server certificate and the phone's client certificate (RSA-2048), and the
/// ffdhe2048 group for EAP-FAST.
fn pki(scratch: &Scratch) -> Result<()> {
    let dir = &scratch.0;
    openssl_pki::eap_server(dir).map_err(|e| anyhow!(e))?;
    openssl_pki::leaf(
        dir,
        "client",
        "phone@example.org",
        "extendedKeyUsage=clientAuth\n",
    )
    .map_err(|e| anyhow!(e))?;
    openssl_pki::ffdhe2048(dir, "dh.pem").map_err(|e| anyhow!(e))
}

/// Polls `path` until a line contains `needle`, for at most `limit`.
pub(crate) fn wait_for_line(path: &Path, needle: &str, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if std::fs::read_to_string(path).is_ok_and(|s| s.contains(needle)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

pub(crate) fn json_field<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let start = doc.find(&format!("\"{name}\":"))? + name.len() + 3;
    let rest = doc.get(start..)?.trim_start();
    let end = rest.find([',', '\n', '}'])?;
    Some(rest.get(..end)?.trim().trim_matches('"'))
}

struct Bench<'a> {
    wire: mpsc::Receiver<(Instant, String)>,
    ip: &'a Path,
    topo: &'a Topology,
    scratch: &'a Scratch,
    agent: &'a Path,
    wpa: &'a Path,
}

impl Bench<'_> {
    /// Forgets the frames of earlier runs.
    fn drain(&self) {
        while self.wire.try_recv().is_ok() {}
    }

    fn agent_run(&self, tls: &str) -> Result<Sample> {
        let s = |f: &str| self.scratch.path(f).display().to_string();
        self.drain();
        let cpu0 = children_cpu()?;
        let started = Instant::now();
        let out = Command::new(self.ip)
            .args(["netns", "exec", &self.topo.supp_ns])
            .arg(self.agent)
            .args([
                "dot1x",
                "--json",
                "--timeout",
                "10",
                "--start-period",
                "1",
                "--iface",
            ])
            .arg(&self.topo.supp_if)
            .args(["--config", &s("cfg.xml"), "--ca", &s("ca.pem")])
            .args([
                "--client-cert",
                &s("client.pem"),
                "--client-key",
                &s("client.key"),
            ])
            .args(["--identity", "phone@example.org", "--tls", tls])
            .stdin(Stdio::null())
            .output()
            .context("running phone-agent")?;
        let wall = started.elapsed();
        let cpu = children_cpu()?.saturating_sub(cpu0);
        let doc = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || json_field(&doc, "transaction_state") != Some("Authenticated") {
            bail!(
                "phone-agent did not authenticate (TLS {tls}): {doc}\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let want = if tls == "1.3" { "TLSv1.3" } else { "TLSv1.2" };
        if json_field(&doc, "tls_version") != Some(want) {
            bail!("phone-agent negotiated something else than {want}: {doc}");
        }
        let (wire, requests) = wire_of(&self.wire);
        Ok(Sample {
            wall,
            cpu,
            wire,
            requests,
        })
    }

    fn wpa_run(&self, conf: &Path) -> Result<Sample> {
        self.drain();
        let cpu0 = children_cpu()?;
        let started = Instant::now();
        let mut child = Peer(
            Command::new(self.ip)
                .args(["netns", "exec", &self.topo.supp_ns])
                .arg(self.wpa)
                .args(["-D", "wired", "-t", "-i", &self.topo.supp_if, "-c"])
                .arg(conf)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .context("starting wpa_supplicant")?,
        );
        let stdout = child.0.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let rx = lines_of(stdout);
        let deadline = started + RUN_LIMIT;
        let mut lines = Vec::new();
        let outcome = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok((at, line)) => {
                    if line.contains("CTRL-EVENT-EAP-SUCCESS") {
                        break Ok(at);
                    }
                    if line.contains("CTRL-EVENT-EAP-FAILURE") {
                        break Err(anyhow!("wpa_supplicant: EAP failure"));
                    }
                    lines.push(line);
                }
                Err(_) => break Err(anyhow!("wpa_supplicant: no EAP-Success within {RUN_LIMIT:?}")),
            }
        };
        let _ = child.0.kill();
        let _ = child.0.wait();
        let cpu = children_cpu()?.saturating_sub(cpu0);
        drop(child);
        let at = outcome.with_context(|| lines.join("\n"))?;
        let (wire, requests) = wire_of(&self.wire);
        Ok(Sample {
            wall: at.duration_since(started),
            cpu,
            wire,
            requests,
        })
    }
}

pub(crate) fn median(mut v: Vec<Duration>) -> Option<Duration> {
    v.sort();
    v.get(v.len() / 2).copied()
}

pub(crate) fn ms(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".into(), |d| format!("{:.2} ms", d.as_secs_f64() * 1000.0))
}

pub(crate) fn ratio(a: Option<Duration>, b: Option<Duration>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => format!("{:.2}", a.as_secs_f64() / b.as_secs_f64()),
        _ => "-".into(),
    }
}

/// Runs the benchmark and prints the table.
pub fn bench(root: &Path) -> Result<()> {
    let runs = match std::env::var("BENCH_EAP_RUNS") {
        Ok(s) => s.parse().context("BENCH_EAP_RUNS must be a number")?,
        Err(_) => DEFAULT_RUNS,
    };
    let ip = require("ip", "iproute2")?;
    let hostapd = require("hostapd", "hostapd")?;
    let wpa = require("wpa_supplicant", "wpasupplicant")?;
    require("openssl", "openssl")?;
    require("python3", "python3")?;
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["build", "--release", "-j2", "-p", "phone-agent"])
        .status()
        .context("cargo build")?;
    if !status.success() {
        bail!("building phone-agent (release) failed");
    }
    let agent = root.join("target/release/phone-agent");
    // BENCH_EAP_ONLY=tls or =fast runs one half.
    let only = std::env::var("BENCH_EAP_ONLY").unwrap_or_default();

    let dir = std::env::temp_dir().join(format!("bench-eap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let scratch = Scratch(dir);
    pki(&scratch)?;
    scratch.write(
        "cfg.xml",
        "<flat-profile><Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication></flat-profile>",
    )?;
    scratch.write("eap_users", "* TLS\n")?;
    let s = |f: &str| scratch.path(f).display().to_string();
    let topo = Topology::new(&ip)?;
    let conf = scratch.write(
        "hostapd.conf",
        &format!(
            "interface={}\ndriver=wired\nieee8021x=1\neapol_version=2\nuse_pae_group_addr=1\n\
             eap_reauth_period=0\neap_server=1\neap_user_file={}\nca_cert={}\nserver_cert={}\n\
             private_key={}\ntls_flags=[ENABLE-TLSv1.3]\n",
            topo.auth_if,
            s("eap_users"),
            s("ca.pem"),
            s("server.pem"),
            s("server.key"),
        ),
    )?;
    let log = scratch.path("hostapd.log");
    let log_file = std::fs::File::create(&log)?;
    let _hostapd = Peer(
        Command::new(&ip)
            .args(["netns", "exec", &topo.auth_ns])
            .arg(&hostapd)
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .context("starting hostapd")?,
    );
    if !wait_for_line(&log, "ENABLED", Duration::from_secs(5)) {
        bail!(
            "hostapd did not start:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    scratch.write("observer.py", OBSERVER)?;
    let mut observer = Peer(
        Command::new(&ip)
            .args(["netns", "exec", &topo.auth_ns, "/usr/bin/python3", "-u"])
            .arg(scratch.path("observer.py"))
            .arg(&topo.auth_if)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the observer (/usr/bin/python3, Debian package python3)")?,
    );
    let wire = lines_of(observer.0.stdout.take().ok_or_else(|| anyhow!("no stdout"))?);
    match wire.recv_timeout(Duration::from_secs(10)) {
        Ok((_, l)) if l == "ready" => {}
        other => bail!("the wire observer did not start: {other:?}"),
    }
    let bench = Bench {
        wire,
        ip: &ip,
        topo: &topo,
        scratch: &scratch,
        agent: &agent,
        wpa: &wpa,
    };
    let versions: &[&str] = if only == "fast" { &[] } else { &["1.2", "1.3"] };
    let mut rows = Vec::new();
    for &tls in versions {
        let disable13 = if tls == "1.3" { 0 } else { 1 };
        let wpa_conf = scratch.write(
            &format!("wpa-{tls}.conf"),
            &format!(
                "ap_scan=0\nnetwork={{\n key_mgmt=IEEE8021X\n eap=TLS\n identity=\"phone@example.org\"\n \
                 ca_cert=\"{}\"\n client_cert=\"{}\"\n private_key=\"{}\"\n \
                 phase1=\"tls_disable_tlsv1_3={disable13}\"\n eapol_flags=0\n}}\n",
                s("ca.pem"),
                s("client.pem"),
                s("client.key"),
            ),
        )?;
        // One unmeasured run each to warm the page cache.
        bench.agent_run(tls)?;
        bench.wpa_run(&wpa_conf)?;
        let (mut agent_s, mut wpa_s) = (Vec::new(), Vec::new());
        for i in 0..runs {
            // Alternate who goes first.
            if i % 2 == 0 {
                agent_s.push(bench.agent_run(tls)?);
                wpa_s.push(bench.wpa_run(&wpa_conf)?);
            } else {
                wpa_s.push(bench.wpa_run(&wpa_conf)?);
                agent_s.push(bench.agent_run(tls)?);
            }
            eprint!("\rTLS {tls}: {}/{runs}", i + 1);
        }
        eprintln!();
        rows.push((tls, agent_s, wpa_s));
    }

    println!(
        "EAP-TLS on a veth pair, hostapd driver=wired (integrated EAP server), RSA-2048 certificates,\n\
         {runs} runs per supplicant and TLS version, alternating; medians.\n"
    );
    let header = [
        "TLS",
        "supplicant",
        "wall",
        "CPU u+s",
        "Start->Success",
        "EAP reqs",
    ];
    let row = |c: [&str; 6]| {
        println!(
            "{:<5} {:<16} {:>11} {:>11} {:>15} {:>9}",
            c[0], c[1], c[2], c[3], c[4], c[5]
        );
    };
    row(header);
    for (tls, a, w) in &rows {
        let med = |v: &[Sample], f: fn(&Sample) -> Option<Duration>| median(v.iter().filter_map(f).collect());
        let reqs = |v: &[Sample]| {
            let mut r: Vec<u64> = v.iter().filter_map(|x| x.requests).collect();
            r.sort_unstable();
            r.get(r.len() / 2).map_or("-".into(), u64::to_string)
        };
        let wall = |x: &Sample| Some(x.wall);
        let cpu = |x: &Sample| Some(x.cpu);
        let wire = |x: &Sample| x.wire;
        for (name, v) in [("phone-agent", a), ("wpa_supplicant", w)] {
            row([
                tls,
                name,
                &ms(med(v, wall)),
                &ms(med(v, cpu)),
                &ms(med(v, wire)),
                &reqs(v),
            ]);
        }
        row([
            tls,
            "ratio agent/wpa",
            &ratio(med(a, wall), med(w, wall)),
            &ratio(med(a, cpu), med(w, cpu)),
            &ratio(med(a, wire), med(w, wire)),
            "",
        ]);
    }
    println!(
        "\nwall: spawn -> EAP-Success seen by the bench (process start included; wpa_supplicant's\n\
         CTRL-EVENT-EAP-SUCCESS line). CPU: user+sys of the supplicant process (getrusage\n\
         RUSAGE_CHILDREN around its reaping; wpa_supplicant is killed right after its Success).\n\
         Start->Success: first EAPOL-Start to EAP-Success on hostapd's port (one AF_PACKET observer\n\
         for both). EAP reqs: EAP-Requests in between (round trips)."
    );
    drop(observer);
    if only != "tls" {
        crate::bench_eap_fast::bench(&scratch, &agent, runs)?;
    }
    Ok(())
}
