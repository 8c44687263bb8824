//! `cargo xtask bench vpn`: tunnel throughput and CPU, `phone-agent vpn connect` (release)
//! against openconnect (`--no-dtls`: CSTP over TLS, like the agent), same ocserv, same run.
//!
//! Set-up: the interop tests' lab (crates/phone-agent/tests/vpn_common): client, server and
//! behind-the-server network namespaces, ocserv with a plain password file. For each client,
//! alternately, `BENCH_VPN_RUNS` times (default 3): start it, wait for tunnel-up (time from
//! spawn), then a bounded TCP echo of `BENCH_VPN_MIB` MiB (default 64) from the client namespace
//! to a host behind the server (so 2x that through the tunnel), and stop it.
//!
//! Measured: time to tunnel-up, echo throughput (payload MiB/s each way), and the client
//! process's CPU (user + system from /proc/PID/stat around the transfer) per GB through the
//! tunnel (both directions counted). Medians are printed with the agent/openconnect ratio.
//!
//! Needs root and the Debian packages ocserv, openconnect and iproute2.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]
#[path = "../../crates/phone-agent/tests/vpn_common/mod.rs"]
mod vpn_lab;

/// CPU time (user + system) of a process so far, from /proc/PID/stat (clock ticks of 10 ms).
fn cpu_of(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After `)`: state is field 3 of the man page; utime and stime are fields 14 and 15.
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    Ok(Duration::from_millis((tick(11) + tick(12)) * 10))
}

struct Sample {
    up: Duration,
    transfer: Duration,
    cpu: Duration,
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

pub fn bench(root: &Path) -> Result<()> {
    let env = |name: &str, default: usize| -> Result<usize> {
        match std::env::var(name) {
            Ok(s) => s.parse().with_context(|| format!("{name} must be a number")),
            Err(_) => Ok(default),
        }
    };
    let runs = env("BENCH_VPN_RUNS", 3)?;
    let mib = env("BENCH_VPN_MIB", 64)?;
    for (bin, package) in [
        ("ocserv", "ocserv"),
        ("openconnect", "openconnect"),
        ("ip", "iproute2"),
    ] {
        if !["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(bin).exists())
        {
            bail!("{bin} not found: install the Debian package `{package}`");
        }
    }
    let status = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root)
        .args(["build", "--release", "-j2", "-p", "phone-agent"])
        .status()
        .context("cargo build")?;
    if !status.success() {
        bail!("building phone-agent (release) failed");
    }
    let mut lab = vpn_lab::Lab::new();
    lab.agent_bin = root.join("target/release/phone-agent");
    let _oc = lab.ocserv(443, &lab.pki.server, 60);
    let cfg = lab.cfg("cfg.xml", "alice", "secret1", "sales");
    let bytes = mib << 20;
    let limit = Duration::from_secs(30);
    let mut agent_samples = Vec::new();
    let mut oc_samples = Vec::new();
    for run in 0..runs {
        // phone-agent
        let started = Instant::now();
        let mut agent = lab.agent(&cfg, &lab.pki.ca, 443, &[]);
        let up = agent
            .wait_up(started, limit)
            .map_err(|e| anyhow::anyhow!("phone-agent: {e}"))?;
        let echo = lab.echo_server();
        let pid = agent.child.id();
        let before = cpu_of(pid)?;
        let transfer = lab
            .echo_through_tunnel(bytes)
            .map_err(|e| anyhow::anyhow!("phone-agent tunnel: {e}"))?;
        let cpu = cpu_of(pid)?.saturating_sub(before);
        let _ = echo.join();
        drop(agent);
        agent_samples.push(Sample { up, transfer, cpu });
        // openconnect
        let mut oc = lab.openconnect("alice", "secret1", "sales", &lab.pki.ca, 443);
        let up = oc
            .wait_up(limit)
            .map_err(|e| anyhow::anyhow!("openconnect: {e}"))?;
        let echo = lab.echo_server();
        let pid = oc.child.id();
        let before = cpu_of(pid)?;
        let transfer = lab
            .echo_through_tunnel(bytes)
            .map_err(|e| anyhow::anyhow!("openconnect tunnel: {e}"))?;
        let cpu = cpu_of(pid)?.saturating_sub(before);
        let _ = echo.join();
        oc.stop();
        drop(oc);
        oc_samples.push(Sample { up, transfer, cpu });
        eprintln!(
            "run {}: phone-agent up {:?}, {:?} for {mib} MiB echo, cpu {:?}; openconnect up {:?}, {:?}, cpu {:?}",
            run + 1,
            agent_samples.last().map(|s| s.up).unwrap_or_default(),
            agent_samples.last().map(|s| s.transfer).unwrap_or_default(),
            agent_samples.last().map(|s| s.cpu).unwrap_or_default(),
            oc_samples.last().map(|s| s.up).unwrap_or_default(),
            oc_samples.last().map(|s| s.transfer).unwrap_or_default(),
            oc_samples.last().map(|s| s.cpu).unwrap_or_default(),
        );
    }
    let summary = |s: &[Sample]| {
        let up = median(s.iter().map(|x| x.up).collect());
        let transfer = median(s.iter().map(|x| x.transfer).collect());
        let cpu = median(s.iter().map(|x| x.cpu).collect());
        let mibps = mib as f64 / transfer.as_secs_f64().max(1e-9);
        // Both directions through the tunnel.
        let gb = (2 * bytes) as f64 / 1e9;
        let cpu_per_gb = cpu.as_secs_f64() / gb;
        (up, mibps, cpu_per_gb)
    };
    let (a_up, a_tp, a_cpu) = summary(&agent_samples);
    let (o_up, o_tp, o_cpu) = summary(&oc_samples);
    println!(
        "VPN bench: {runs} runs each, {mib} MiB TCP echo through the tunnel (medians), ocserv 1 worker, CSTP over TLS (no DTLS)"
    );
    println!(
        "{:<28} {:>14} {:>14} {:>10}",
        "", "phone-agent", "openconnect", "ratio"
    );
    println!(
        "{:<28} {:>14.1} {:>14.1} {:>10.2}",
        "time to tunnel-up (ms)",
        a_up.as_secs_f64() * 1000.0,
        o_up.as_secs_f64() * 1000.0,
        a_up.as_secs_f64() / o_up.as_secs_f64().max(1e-9)
    );
    println!(
        "{:<28} {:>14.1} {:>14.1} {:>10.2}",
        "throughput (MiB/s each way)",
        a_tp,
        o_tp,
        a_tp / o_tp.max(1e-9)
    );
    println!(
        "{:<28} {:>14.2} {:>14.2} {:>10.2}",
        "client CPU per GB (s)",
        a_cpu,
        o_cpu,
        a_cpu / o_cpu.max(1e-9)
    );
    Ok(())
}
