//! The EAP-FAST rows of `cargo xtask bench eap`: `phone-agent dot1x --radius --method fast` against
//! `eapol_test` (wpa_supplicant 2.10), both talking RADIUS to one hostapd (`driver=none`,
//! integrated EAP-FAST server, `eap_fast_prov=3`, RSA-2048 server certificate, ffdhe2048) on
//! 127.0.0.1, alternating, same run.
//!
//! Rows:
//! * **PAC**: authentication with a PAC each side provisioned before (abbreviated handshake,
//!   inner MSCHAPv2), `fast_provisioning=0`;
//! * **anonymous provisioning**: an empty PAC file, `fast_provisioning=1`: DH_anon, a PAC, the
//!   EAP-Failure RFC 5422 §3.2.2 prescribes, then the authentication with the new PAC. The agent
//!   does both in one process; eapol_test ends at the EAP-Failure, so its row is two processes
//!   (provisioning, then the PAC authentication) summed;
//! * **server-authenticated provisioning**: an empty PAC file, `fast_provisioning=2` with the CA:
//!   a full DHE_RSA handshake, certificate checked, PAC and success in one conversation.
//!
//! Measured per run: wall (spawn to exit, process start included) and CPU (user + system of the
//! reaped process, `getrusage(RUSAGE_CHILDREN)`). eapol_test's stdout (its debug log, which it
//! cannot turn off) goes to /dev/null in the measured runs; round trips (RADIUS
//! Access-Request/reply pairs) come from the agent's JSON and from one unmeasured eapol_test run
//! with its log read.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::bench_eap::{Peer, Scratch, children_cpu, median, ms, ratio, require, wait_for_line};

const SECRET: &str = "bench-secret";
const USER: &str = "fastuser";
const PASSWORD: &str = "fastpass";

/// One measured run: wall, CPU.
#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

impl std::ops::Add for Sample {
    type Output = Sample;
    fn add(self, o: Sample) -> Sample {
        Sample {
            wall: self.wall + o.wall,
            cpu: self.cpu + o.cpu,
        }
    }
}

/// Runs `cmd` to its end; wall and CPU of that child alone.
fn measured(cmd: &mut Command) -> Result<(Sample, std::process::Output)> {
    let cpu0 = children_cpu()?;
    let t = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let wall = t.elapsed();
    let cpu = children_cpu()?.saturating_sub(cpu0);
    Ok((Sample { wall, cpu }, out))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pac,
    Anonymous,
    Authenticated,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Pac => "with a PAC",
            Mode::Anonymous => "anonymous prov.",
            Mode::Authenticated => "server-auth prov.",
        }
    }
}

struct Fast<'a> {
    scratch: &'a Scratch,
    agent: &'a Path,
    eapol_test: PathBuf,
    port: u16,
}

impl Fast<'_> {
    fn agent_cmd(&self, pac: &Path, provisioning: u8) -> Command {
        let s = |f: &str| self.scratch.path(f).display().to_string();
        let mut c = Command::new(self.agent);
        c.args(["dot1x", "--json", "--method", "fast", "--radius"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["--secret", SECRET, "--config", &s("cfg.xml")])
            .args(["--identity", USER, "--password", PASSWORD])
            .arg("--pac-file")
            .arg(pac)
            .args(["--fast-provisioning", &provisioning.to_string()])
            .stdin(Stdio::null());
        if provisioning & 2 != 0 {
            c.args(["--ca", &s("ca.pem"), "--domain-suffix-match", "example.org"]);
        }
        c
    }

    /// One agent run; checks the outcome; returns the sample and the RADIUS round trips.
    fn agent_run(&self, mode: Mode) -> Result<(Sample, u64)> {
        let pac = self.scratch.path("agent.pac");
        let provisioning = match mode {
            Mode::Pac => 0,
            Mode::Anonymous => 1,
            Mode::Authenticated => 2,
        };
        let pac = if mode == Mode::Pac {
            pac
        } else {
            let fresh = self.scratch.path("agent-fresh.pac");
            let _ = std::fs::remove_file(&fresh);
            fresh
        };
        let (sample, out) = measured(&mut self.agent_cmd(&pac, provisioning))?;
        let doc = String::from_utf8_lossy(&out.stdout);
        if !out.status.success()
            || crate::bench_eap::json_field(&doc, "transaction_state") != Some("Authenticated")
        {
            bail!(
                "phone-agent EAP-FAST {} did not authenticate: {doc}\n{}",
                mode.name(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let trips = crate::bench_eap::json_field(&doc, "round_trips")
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        Ok((sample, trips))
    }

    fn eapol_conf(&self, pac: &Path, provisioning: u8) -> Result<PathBuf> {
        let ca = if provisioning & 2 != 0 {
            format!(
                " ca_cert=\"{}\"\n domain_suffix_match=\"example.org\"\n",
                self.scratch.path("ca.pem").display()
            )
        } else {
            String::new()
        };
        self.scratch.write(
            &format!("eapol-{provisioning}.conf"),
            &format!(
                "network={{\n key_mgmt=IEEE8021X\n eap=FAST\n identity=\"{USER}\"\n password=\"{PASSWORD}\"\n \
                 phase1=\"fast_provisioning={provisioning}\"\n phase2=\"auth=MSCHAPV2\"\n pac_file=\"{}\"\n{ca} eapol_flags=0\n}}\n",
                pac.display()
            ),
        )
    }

    fn eapol_cmd(&self, conf: &Path, log: bool) -> Command {
        let mut c = Command::new(&self.eapol_test);
        c.arg("-c")
            .arg(conf)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-s",
                SECRET,
                "-t",
                "10",
            ])
            .stdin(Stdio::null())
            .stderr(Stdio::null());
        if !log {
            c.stdout(Stdio::null());
        }
        c
    }

    /// One eapol_test conversation; `Ok(success)`.
    fn eapol_once(&self, pac: &Path, provisioning: u8, log: bool) -> Result<(Sample, bool, u64)> {
        let conf = self.eapol_conf(pac, provisioning)?;
        let (sample, out) = measured(&mut self.eapol_cmd(&conf, log))?;
        let trips = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("Received RADIUS packet matched with a pending request"))
            .count();
        Ok((sample, out.status.success(), u64::try_from(trips).unwrap_or(0)))
    }

    /// One eapol_test run of `mode` (two processes for anonymous provisioning).
    fn eapol_run(&self, mode: Mode, log: bool) -> Result<(Sample, u64)> {
        match mode {
            Mode::Pac => {
                let (s, ok, t) = self.eapol_once(&self.scratch.path("eapol.pac"), 0, log)?;
                if !ok {
                    bail!("eapol_test with its PAC failed");
                }
                Ok((s, t))
            }
            Mode::Anonymous => {
                let pac = self.scratch.path("eapol-fresh.pac");
                let _ = std::fs::remove_file(&pac);
                let (a, ok, t1) = self.eapol_once(&pac, 1, log)?;
                if ok || !pac.exists() {
                    bail!("eapol_test anonymous provisioning: expected a PAC and EAP-Failure (success {ok})");
                }
                let (b, ok, t2) = self.eapol_once(&pac, 1, log)?;
                if !ok {
                    bail!("eapol_test with the PAC it was just provisioned failed");
                }
                Ok((a + b, t1 + t2))
            }
            Mode::Authenticated => {
                let pac = self.scratch.path("eapol-fresh.pac");
                let _ = std::fs::remove_file(&pac);
                let (s, ok, t) = self.eapol_once(&pac, 2, log)?;
                if !ok || !pac.exists() {
                    bail!("eapol_test server-authenticated provisioning failed");
                }
                Ok((s, t))
            }
        }
    }
}

/// hostapd as the RADIUS server with EAP-FAST; killed on drop.
fn hostapd(scratch: &Scratch, port: u16) -> Result<Peer> {
    let s = |f: &str| scratch.path(f).display().to_string();
    scratch.write("fast.clients", &format!("127.0.0.1/32 {SECRET}\n"))?;
    scratch.write(
        "fast.users",
        &format!("\"{USER}\" FAST\n\"{USER}\" MSCHAPV2,GTC \"{PASSWORD}\" [2]\n"),
    )?;
    let conf = scratch.write(
        "hostapd-fast.conf",
        &format!(
            "driver=none\ninterface=fastbench{port}\nradius_server_clients={}\nradius_server_auth_port={port}\n\
             eap_server=1\neap_user_file={}\nca_cert={}\nserver_cert={}\nprivate_key={}\ndh_file={}\n\
             pac_opaque_encr_key=000102030405060708090a0b0c0d0e0f\neap_fast_a_id=101112131415161718191a1b1c1d1e1f\n\
             eap_fast_a_id_info=bench server\neap_fast_prov=3\npac_key_lifetime=604800\npac_key_refresh_time=86400\n",
            s("fast.clients"),
            s("fast.users"),
            s("ca.pem"),
            s("server.pem"),
            s("server.key"),
            s("dh.pem"),
        ),
    )?;
    let log = scratch.path("hostapd-fast.log");
    let file = std::fs::File::create(&log)?;
    let peer = Peer(
        Command::new(require("hostapd", "hostapd")?)
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .context("starting hostapd (RADIUS)")?,
    );
    // hostapd driver=none says nothing when ready: poll the UDP table for the port.
    let needle = format!(":{port:04X} ");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
        if table.lines().skip(1).any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| format!("{a} ").ends_with(&needle))
        }) {
            return Ok(peer);
        }
        if Instant::now() > deadline || wait_for_line(&log, "Failed", Duration::ZERO) {
            bail!(
                "hostapd (RADIUS) did not start:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The EAP-FAST rows, on the certificates and DH group already in `scratch` (ca.pem,
/// server.pem, server.key, dh.pem).
pub(crate) fn bench(scratch: &Scratch, agent: &Path, runs: usize) -> Result<()> {
    let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let _hostapd = hostapd(scratch, port)?;
    let fast = Fast {
        scratch,
        agent,
        eapol_test: require("eapol_test", "eapoltest")?,
        port,
    };
    // Each side provisions its own PAC for the PAC row (and warms the page cache).
    let (_, ok, _) = fast.eapol_once(&scratch.path("eapol.pac"), 1, false)?;
    if ok || !scratch.path("eapol.pac").exists() {
        bail!("eapol_test did not provision a PAC");
    }
    let out = fast
        .agent_cmd(&scratch.path("agent.pac"), 1)
        .output()
        .context("phone-agent")?;
    if !out.status.success() {
        bail!(
            "phone-agent did not provision a PAC: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let mut rows = Vec::new();
    for mode in [Mode::Pac, Mode::Anonymous, Mode::Authenticated] {
        let (_, agent_trips) = fast.agent_run(mode)?;
        let (_, eapol_trips) = fast.eapol_run(mode, true)?;
        let (mut a, mut e) = (Vec::new(), Vec::new());
        for i in 0..runs {
            if i % 2 == 0 {
                a.push(fast.agent_run(mode)?.0);
                e.push(fast.eapol_run(mode, false)?.0);
            } else {
                e.push(fast.eapol_run(mode, false)?.0);
                a.push(fast.agent_run(mode)?.0);
            }
            eprint!("\rEAP-FAST {}: {}/{runs}", mode.name(), i + 1);
        }
        eprintln!();
        rows.push((mode, a, e, agent_trips, eapol_trips));
    }
    println!(
        "\nEAP-FAST over RADIUS, hostapd driver=none (integrated EAP-FAST server, eap_fast_prov=3), inner\n\
         MSCHAPv2, {runs} runs per supplicant and row, alternating; medians.\n"
    );
    let row = |c: [&str; 6]| {
        println!(
            "{:<18} {:<16} {:>11} {:>11} {:>9} {:>9}",
            c[0], c[1], c[2], c[3], c[4], c[5]
        );
    };
    row([
        "EAP-FAST",
        "supplicant",
        "wall",
        "CPU u+s",
        "RADIUS rt",
        "processes",
    ]);
    for (mode, a, e, at, et) in &rows {
        let med = |v: &[Sample], f: fn(&Sample) -> Duration| median(v.iter().map(f).collect());
        let wall = |x: &Sample| x.wall;
        let cpu = |x: &Sample| x.cpu;
        let procs = if *mode == Mode::Anonymous { "2" } else { "1" };
        row([
            mode.name(),
            "phone-agent",
            &ms(med(a, wall)),
            &ms(med(a, cpu)),
            &at.to_string(),
            "1",
        ]);
        row([
            mode.name(),
            "eapol_test",
            &ms(med(e, wall)),
            &ms(med(e, cpu)),
            &et.to_string(),
            procs,
        ]);
        row([
            mode.name(),
            "ratio agent/eapol",
            &ratio(med(a, wall), med(e, wall)),
            &ratio(med(a, cpu), med(e, cpu)),
            "",
            "",
        ]);
    }
    println!(
        "\nwall: spawn -> exit (process start included). CPU: user+sys of the supplicant process(es)\n\
         (getrusage RUSAGE_CHILDREN around the reaping). RADIUS rt: Access-Request/reply pairs.\n\
         anonymous prov.: the agent provisions, takes the EAP-Failure and authenticates with the new\n\
         PAC in one process; eapol_test stops at the EAP-Failure, so its row sums two runs."
    );
    Ok(())
}
