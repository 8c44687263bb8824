//! `phone-agent run --dhcp` with provisioning, against a real dnsmasq (DHCP and its TFTP
//! server) in a network namespace pair (tests/provision_common): the daemon gets a lease (the
//! hand-off file in `--state-dir`, option 66 named as the provisioning source in the status),
//! resyncs `Profile_Rule` (`/$PSN.xml` by TFTP from that server) and reloads from the fetched
//! profile through the SIGHUP path: the profile's Proxy_Mode is what the daemon runs next.
//! What it learned is in the state directory, written whole (no temporary left, profile mode
//! 0600), and a password in the profile never reaches the log. A profile with an error is
//! refused whole: the running configuration is kept and the diagnostics are in the status.
//! SIGTERM releases the lease (dnsmasq logs the DHCPRELEASE). The admin page, in headless
//! Chromium, shows the DHCP option and the resync's result.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod page_common;
mod provision_common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use provision_common::{Dnsmasq, NetnsPair, agent, temp_dir};
use serde_json::Value;

const HTTP: &str = "127.0.0.1:8480";
const SECRET: &str = "s3cr3t-from-the-profile";

struct Daemon {
    child: Child,
    ns: String,
    log: PathBuf,
}

impl Daemon {
    fn start(pair: &NetnsPair, cfg: &Path, state: &Path, log: PathBuf) -> Daemon {
        Daemon::start_with(pair, cfg, state, log, &[])
    }

    fn start_with(pair: &NetnsPair, cfg: &Path, state: &Path, log: PathBuf, extra: &[&str]) -> Daemon {
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &pair.client_ns, agent()])
            .args(["-vvv", "run", "--config"])
            .arg(cfg)
            .args(["--iface", &pair.client_if, "--dhcp", "--http", HTTP])
            .args(["--nft", "/nonexistent/nft", "--backoff-max", "1", "--state-dir"])
            .arg(state)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon {
            child,
            ns: pair.client_ns.clone(),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn status(&self) -> Option<Value> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, agent()])
            .args(["status", "--json", "--http", HTTP])
            .output()
            .ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    fn wait_for(&self, limit: Duration, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(s) = self.status().filter(|s| pred(s)) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; status:\n{:#}\nagent log:\n{}",
                self.status().unwrap_or_default(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM, then the exit code (bounded).
    fn terminate(&mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(c) = self.child.try_wait().unwrap() {
                return c.code();
            }
            assert!(Instant::now() < deadline, "no exit:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn dhcp_lease_resync_and_reload_from_the_fetched_profile() {
    let pair = NetnsPair::new("r");
    let tftp_root = temp_dir("tftp");
    std::fs::set_permissions(&tftp_root, std::fs::Permissions::from_mode(0o755)).unwrap();
    // The phone's default rule `/$PSN.xml` asks for 7832.xml.
    std::fs::write(
        tftp_root.join("7832.xml"),
        format!(
            "<flat-profile>\n  <Proxy_Mode>Manual</Proxy_Mode>\n  <Proxy_Host>proxy.example.com</Proxy_Host>\n  \
             <Proxy_Port>3128</Proxy_Port>\n  <Password_1_>{SECRET}</Password_1_>\n</flat-profile>\n"
        ),
    )
    .unwrap();
    let server = pair.server_addr();
    let dnsmasq = Dnsmasq::start_with(
        &pair,
        &[&format!("66,\"{server}\"")],
        &[],
        &[
            "--port=0",
            "--enable-tftp",
            &format!("--tftp-root={}", tftp_root.display()),
        ],
    );
    let dir = temp_dir("run");
    let cfg = dir.join("cfg.xml");
    std::fs::write(&cfg, "<flat-profile></flat-profile>\n").unwrap();
    let state = dir.join("state");

    let started = Instant::now();
    let mut agent = Daemon::start(&pair, &cfg, &state, dir.join("agent.log"));
    // The hand-off: the host configures the leased address (the daemon does not apply it);
    // provisioning's retries reach the server once it is there.
    let s = agent.wait_for(Duration::from_secs(30), "a lease", |s| {
        !s["network"]["dhcp"].is_null()
    });
    let leased = &s["network"]["dhcp"];
    pair.add_address(
        leased["address"].as_str().unwrap(),
        leased["prefix_len"].as_u64().unwrap(),
    );
    let s = agent.wait_for(Duration::from_secs(30), "the profile applied", |s| {
        s["provisioning"]["result"] == "Applied"
    });
    println!(
        "lease + resync + reload in {:?}\nnetwork: {}\nprovisioning: {}",
        started.elapsed(),
        s["network"],
        s["provisioning"]
    );
    let lease = &s["network"]["dhcp"];
    assert!(
        lease["address"].as_str().unwrap().starts_with(&pair.prefix),
        "{lease}"
    );
    assert_eq!(lease["server"], server.as_str());
    assert_eq!(lease["provisioning_option"], 66);
    assert_eq!(lease["applied"], false);
    assert_eq!(
        s["provisioning"]["source"],
        format!("DHCP option 66: TFTP server {server}").as_str()
    );
    assert_eq!(
        s["provisioning"]["rules"][0]["url"],
        format!("tftp://{server}/7832.xml").as_str()
    );
    // The daemon now runs the fetched profile.
    assert_eq!(s["proxy"]["mode"], "Manual", "{s:#}");
    assert_eq!(s["proxy"]["proxy"], "proxy.example.com:3128");
    assert_eq!(s["agent"]["generation"], 2);
    let profile = state.join("profile.xml");
    assert_eq!(s["config"]["file"], profile.display().to_string().as_str());
    assert_eq!(s["config"]["last_reload"]["accepted"], true);

    // The admin page (headless Chromium in the client namespace) shows the lease's option and
    // the resync's result.
    let dom = page_common::dump_dom(&format!("http://{HTTP}/"), Some(&pair.client_ns), &dir);
    assert_eq!(
        page_common::text_of(&dom, "prov-result").as_deref(),
        Some("Applied"),
        "{dom}"
    );
    assert_eq!(
        page_common::text_of(&dom, "network-dhcp-option").as_deref(),
        Some(format!("66: TFTP server {server}").as_str()),
        "{dom}"
    );

    let png = dir.join("status-provisioned.png");
    page_common::screenshot(
        &format!("http://{HTTP}/"),
        Some(&pair.client_ns),
        &dir,
        (1280, 1000),
        &png,
    );
    println!("screenshot: {}", png.display());

    // The state directory: whole files, the profile private, no temporary left.
    let handed: Value =
        serde_json::from_slice(&std::fs::read(state.join("dhcp-lease.json")).unwrap()).unwrap();
    assert_eq!(handed["address"], lease["address"]);
    assert_eq!(handed["provisioning"]["option"], 66);
    let resync: Value = serde_json::from_slice(&std::fs::read(state.join("resync.json")).unwrap()).unwrap();
    assert_eq!(resync["result"], "Applied");
    let mode = std::fs::metadata(&profile).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let mut names: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["dhcp-lease.json", "profile.xml", "resync.json"]);
    assert!(std::fs::read_to_string(&profile).unwrap().contains(SECRET));
    assert!(!agent.log().contains(SECRET), "a secret reached the log");

    // SIGTERM: the lease is released.
    assert_eq!(agent.terminate(), Some(0), "{}", agent.log());
    let released = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        dnsmasq.log().contains("DHCPRELEASE")
    });
    assert!(released, "no DHCPRELEASE:\n{}", dnsmasq.log());

    // A profile with an error: refused whole, cfg.xml kept running, the diagnostics shown.
    std::fs::write(
        tftp_root.join("7832.xml"),
        "<flat-profile>\n  <Proxy_Mode>Manual</Proxy_Mode>\n  <SIP_Transport_1_>SCTP</SIP_Transport_1_>\n</flat-profile>\n",
    )
    .unwrap();
    // The host keeps the address it configured; dnsmasq hands out the same one again.
    let agent = Daemon::start(&pair, &cfg, &state, dir.join("agent2.log"));
    let s = agent.wait_for(Duration::from_secs(30), "the profile refused", |s| {
        s["provisioning"]["result"] == "Refused"
    });
    println!("bad profile: {}\nconfig: {}", s["provisioning"], s["config"]);
    assert_eq!(s["proxy"]["mode"], "Off");
    assert_eq!(s["agent"]["generation"], 1);
    assert_eq!(s["config"]["file"], cfg.display().to_string().as_str());
    assert_eq!(s["config"]["last_reload"]["accepted"], false);
    let diagnostics = s["config"]["diagnostics"].to_string();
    assert!(
        diagnostics.contains("SIP_Transport_1_") && diagnostics.contains("\"severity\":\"error\""),
        "{diagnostics}"
    );
}

/// `--dhcp-apply`: the daemon configures the lease itself (rtnetlink), provisioning then
/// reaches the server with no help from the host; SIGTERM releases and removes the address.
#[test]
fn dhcp_apply_configures_the_lease_and_removes_it_on_sigterm() {
    let pair = NetnsPair::new("a");
    let tftp_root = temp_dir("tftp-apply");
    std::fs::set_permissions(&tftp_root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        tftp_root.join("7832.xml"),
        "<flat-profile><Proxy_Mode>Manual</Proxy_Mode><Proxy_Host>proxy.example.com</Proxy_Host></flat-profile>\n",
    )
    .unwrap();
    let server = pair.server_addr();
    let dnsmasq = Dnsmasq::start_with(
        &pair,
        &[&format!("66,\"{server}\"")],
        &[],
        &[
            "--port=0",
            "--enable-tftp",
            &format!("--tftp-root={}", tftp_root.display()),
        ],
    );
    let dir = temp_dir("run-apply");
    let cfg = dir.join("cfg.xml");
    std::fs::write(&cfg, "<flat-profile></flat-profile>\n").unwrap();
    let started = Instant::now();
    let mut agent = Daemon::start_with(
        &pair,
        &cfg,
        &dir.join("state"),
        dir.join("agent.log"),
        &["--dhcp-apply"],
    );
    let s = agent.wait_for(Duration::from_secs(30), "the profile applied", |s| {
        s["provisioning"]["result"] == "Applied"
    });
    println!(
        "--dhcp-apply: lease, apply, resync, reload in {:?}",
        started.elapsed()
    );
    let lease = &s["network"]["dhcp"];
    assert_eq!(lease["applied"], true, "{lease}");
    assert_eq!(s["proxy"]["mode"], "Manual");
    let address = lease["address"].as_str().unwrap().to_owned();
    let addrs = || {
        let out = Command::new("ip")
            .args([
                "-n",
                &pair.client_ns,
                "-4",
                "addr",
                "show",
                "dev",
                &pair.client_if,
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(addrs().contains(&format!("{address}/24")), "{}", addrs());
    assert_eq!(agent.terminate(), Some(0), "{}", agent.log());
    assert!(!addrs().contains(&address), "the address stayed: {}", addrs());
    let released = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        dnsmasq.log().contains("DHCPRELEASE")
    });
    assert!(released, "no DHCPRELEASE:\n{}", dnsmasq.log());
}
