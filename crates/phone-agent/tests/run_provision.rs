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
mod run_common;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use provision_common::{Dnsmasq, NetnsPair, temp_dir};
use run_common::Daemon;
use serde_json::Value;

const HTTP: &str = "127.0.0.1:8480";
const SECRET: &str = "s3cr3t-from-the-profile";
/// The power-up resync at once, a failed one retried after 1 s (the first fails until the
/// host has configured the leased address).
const FAST_SCHEDULE: &str = "<flat-profile>\n<Resync_Random_Delay>0</Resync_Random_Delay>\n\
     <Resync_Error_Retry_Delay>1</Resync_Error_Retry_Delay>\n</flat-profile>\n";

/// `phone-agent -vvv run --dhcp` in the client namespace; `extra` adds to (or, with `--nft`,
/// sets) its options.
fn start(pair: &NetnsPair, cfg: &Path, state: &Path, log: PathBuf, extra: &[&str]) -> Daemon {
    let mut args: Vec<OsString> = ["-vvv", "run", "--config"].map(OsString::from).to_vec();
    args.push(cfg.into());
    args.extend(
        [
            "--iface",
            &pair.client_if,
            "--dhcp",
            "--backoff-max",
            "1",
            "--state-dir",
        ]
        .map(OsString::from),
    );
    args.push(state.into());
    args.extend(extra.iter().map(OsString::from));
    Daemon::start(Some(&pair.client_ns), HTTP, &log, args)
}

/// dnsmasq in the server namespace: DHCP with option 66 naming its own TFTP server, which
/// serves `tftp_root`.
fn dhcp_and_tftp(pair: &NetnsPair, tftp_root: &Path) -> Dnsmasq {
    Dnsmasq::start_with(
        pair,
        &[&format!("66,\"{}\"", pair.server_addr())],
        &[],
        &[
            "--port=0",
            "--enable-tftp",
            &format!("--tftp-root={}", tftp_root.display()),
        ],
    )
}

/// Without a firewall (`--nft` names no program, so it is never applied).
const NO_FIREWALL: [&str; 2] = ["--nft", "/nonexistent/nft"];

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
    let dnsmasq = dhcp_and_tftp(&pair, &tftp_root);
    let dir = temp_dir("run");
    let cfg = dir.join("cfg.xml");
    std::fs::write(&cfg, FAST_SCHEDULE).unwrap();
    let state = dir.join("state");

    let started = Instant::now();
    let mut agent = start(&pair, &cfg, &state, dir.join("agent.log"), &NO_FIREWALL);
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
    // The network's addresses are the leased one (the status schema's example).
    let leased = format!("{}/{}", lease["address"].as_str().unwrap(), lease["prefix_len"]);
    assert_eq!(s["network"]["addresses"], serde_json::json!([leased]), "{s:#}");
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
        page_common::text_of(&dom, "network-addresses").as_deref(),
        Some(leased.as_str()),
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
    let agent = start(&pair, &cfg, &state, dir.join("agent2.log"), &NO_FIREWALL);
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
    // The refused profile is kept aside; profile.xml is still the last accepted one.
    let refused = state.join("profile.refused.xml");
    assert_eq!(
        s["provisioning"]["profile"],
        refused.display().to_string().as_str()
    );
    assert!(std::fs::read_to_string(&refused).unwrap().contains("SCTP"));
    let kept = std::fs::read_to_string(&profile).unwrap();
    assert!(kept.contains(SECRET) && !kept.contains("SCTP"), "{kept}");
    assert!(!state.join("profile.fetched.xml").exists());
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
    let dnsmasq = dhcp_and_tftp(&pair, &tftp_root);
    let dir = temp_dir("run-apply");
    let cfg = dir.join("cfg.xml");
    std::fs::write(&cfg, FAST_SCHEDULE).unwrap();
    let started = Instant::now();
    let mut agent = start(
        &pair,
        &cfg,
        &dir.join("state"),
        dir.join("agent.log"),
        &["--dhcp-apply", "--nft", "/nonexistent/nft"],
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

/// The resync schedule (phone-provisioning's `ResyncTimer` driven by the daemon) against
/// dnsmasq's TFTP server: with `Resync_Periodic` 2 the daemon fetches again (dnsmasq logs a
/// second send), a profile changed on the server is reloaded, a missing file fails the resync
/// and it is retried after `Resync_Error_Retry_Delay` (3 s), succeeding once the file is back.
/// The next resync is in the status. The served profile carries the same schedule, since the
/// fetched profile becomes the configuration the daemon runs.
#[test]
fn resync_schedule_periodic_reload_and_error_retry() {
    let pair = NetnsPair::new("t");
    let tftp_root = temp_dir("tftp-sched");
    std::fs::set_permissions(&tftp_root, std::fs::Permissions::from_mode(0o755)).unwrap();
    let schedule = "<Resync_Random_Delay>0</Resync_Random_Delay>\n<Resync_Periodic>2</Resync_Periodic>\n\
                    <Resync_Error_Retry_Delay>3</Resync_Error_Retry_Delay>\n";
    let profile = |extra: &str| format!("<flat-profile>\n{schedule}{extra}</flat-profile>\n");
    let file = tftp_root.join("7832.xml");
    std::fs::write(&file, profile("")).unwrap();
    let dnsmasq = dhcp_and_tftp(&pair, &tftp_root);
    let dir = temp_dir("run-sched");
    let cfg = dir.join("cfg.xml");
    std::fs::write(&cfg, profile("")).unwrap();
    let started = Instant::now();
    let agent = start(
        &pair,
        &cfg,
        &dir.join("state"),
        dir.join("agent.log"),
        &["--dhcp-apply", "--nft", "/nonexistent/nft"],
    );
    let sends = |log: &str| {
        log.lines()
            .filter(|l| l.contains("sent ") && l.contains("7832.xml"))
            .count()
    };
    // Power-up, then periodic: two fetches, each in dnsmasq's log.
    let s = agent.wait_for(Duration::from_secs(30), "a periodic resync", |s| {
        s["provisioning"]["resyncs"].as_u64() >= Some(2) && s["provisioning"]["last_reason"] == "Periodic"
    });
    let first_two = started.elapsed();
    assert!(sends(&dnsmasq.log()) >= 2, "{}", dnsmasq.log());
    let p = &s["provisioning"];
    let (last, next) = (p["last_resync_unix"].as_u64(), p["next_resync_unix"].as_u64());
    assert!(
        matches!((last, next), (Some(l), Some(n)) if n >= l && n <= l + 3),
        "next resync not ~2 s after the last: {p}"
    );
    // A changed profile on the server: the next periodic resync reloads the daemon.
    std::fs::write(
        &file,
        profile("<Proxy_Mode>Manual</Proxy_Mode>\n<Proxy_Host>proxy.example.com</Proxy_Host>\n"),
    )
    .unwrap();
    let changed_at = Instant::now();
    let s = agent.wait_for(Duration::from_secs(20), "the changed profile applied", |s| {
        s["proxy"]["mode"] == "Manual"
    });
    let reload_after = changed_at.elapsed();
    assert_eq!(s["proxy"]["proxy"], "proxy.example.com:3128");
    // The file gone: the resync fails (TFTP file not found) and is retried after 3 s.
    std::fs::remove_file(&file).unwrap();
    let s = agent.wait_for(Duration::from_secs(20), "a failed resync", |s| {
        s["provisioning"]["result"] == "Failed"
    });
    let p = &s["provisioning"];
    assert!(
        p["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("file not found"),
        "{p}"
    );
    let (last, next) = (p["last_resync_unix"].as_u64(), p["next_resync_unix"].as_u64());
    assert!(
        matches!((last, next), (Some(l), Some(n)) if n >= l + 2 && n <= l + 4),
        "the retry is not Resync_Error_Retry_Delay (3 s) after the failure: {p}"
    );
    let failed_at = Instant::now();
    std::fs::write(
        &file,
        profile("<Proxy_Mode>Manual</Proxy_Mode>\n<Proxy_Host>proxy.example.com</Proxy_Host>\n"),
    )
    .unwrap();
    let s = agent.wait_for(Duration::from_secs(20), "the retry", |s| {
        s["provisioning"]["last_reason"] == "Retry" && s["provisioning"]["result"] != "Failed"
    });
    let retried_after = failed_at.elapsed();
    let log = dnsmasq.log();
    assert!(log.contains("7832.xml not found"), "{log}");
    println!(
        "two resyncs (power-up + periodic) {first_two:?} after start; reload {reload_after:?} after the change; \
         retry {retried_after:?} after the failure was seen; {} sends\nprovisioning: {}",
        sends(&log),
        s["provisioning"]
    );
    for l in log.lines().filter(|l| l.contains("tftp")) {
        println!("dnsmasq: {l}");
    }
}

/// The phone's own firewall (real nftables in the client namespace, applied before the resync
/// starts) lets the resync's TFTP transfer in: dnsmasq sends the DATA from a new port (RFC 1350
/// §4), which conntrack does not take for return traffic of the request to port 69; the
/// transfer works because the agent's client port is one of the TFTP client ports 53240-53245
/// the firewall opens. (From an ephemeral port the firewall answered port unreachable and
/// `cargo xtask lab check` failed whenever the firewall came up before the first resync.)
#[test]
fn tftp_resync_gets_through_the_phones_own_firewall() {
    resync_behind_the_firewall("f", "");
}

/// The same with `Firewall_Config` NO_CISCO_TFTP, which closes the TFTP client ports: the read
/// from port 69 still works (SPEC §8), through conntrack's TFTP helper in the firewall's table,
/// which makes the server's DATA from its new port `related`.
#[test]
fn tftp_from_port_69_gets_through_with_no_cisco_tftp() {
    resync_behind_the_firewall("n", "NO_CISCO_TFTP");
}

/// A resync over TFTP from dnsmasq with the firewall (Enabled, `firewall_config`) applied
/// before the daemon starts.
fn resync_behind_the_firewall(kind: &str, firewall_config: &str) {
    let pair = NetnsPair::new(kind);
    let settings = format!(
        "<Firewall>Enabled</Firewall><Firewall_Config>{firewall_config}</Firewall_Config>\
         <Resync_Random_Delay>0</Resync_Random_Delay><Resync_Error_Retry_Delay>1</Resync_Error_Retry_Delay>"
    );
    let tftp_root = temp_dir(&format!("tftp-fw{kind}"));
    std::fs::set_permissions(&tftp_root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        tftp_root.join("7832.xml"),
        format!(
            "<flat-profile>{settings}<Proxy_Mode>Manual</Proxy_Mode><Proxy_Host>proxy.example.com</Proxy_Host>\
             </flat-profile>\n"
        ),
    )
    .unwrap();
    let dnsmasq = dhcp_and_tftp(&pair, &tftp_root);
    let dir = temp_dir(&format!("run-fw{kind}"));
    let cfg = dir.join("cfg.xml");
    std::fs::write(&cfg, format!("<flat-profile>{settings}</flat-profile>\n")).unwrap();
    // The firewall first, so that no transfer can finish before it is there.
    let applied = provision_common::agent_in(
        &pair.client_ns,
        &["firewall", "apply", "--config", &cfg.display().to_string()],
    );
    assert!(applied.status.success(), "{applied:?}");
    let started = Instant::now();
    let mut agent = start(
        &pair,
        &cfg,
        &dir.join("state"),
        dir.join("agent.log"),
        &["--dhcp-apply"],
    );
    let s = agent.wait_for(Duration::from_secs(30), "the profile applied", |s| {
        s["provisioning"]["result"] == "Applied" && s["firewall"]["state"] == "Applied"
    });
    println!(
        "behind the firewall: lease, resync, reload in {:?}",
        started.elapsed()
    );
    assert_eq!(s["proxy"]["mode"], "Manual", "{s:#}");
    assert!(
        dnsmasq
            .log()
            .contains(&format!("sent {}", tftp_root.join("7832.xml").display())),
        "{}",
        dnsmasq.log()
    );
    let ruleset = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.client_ns,
            "nft",
            "list",
            "table",
            "inet",
            "phone_fw",
        ])
        .output()
        .unwrap();
    let ruleset = String::from_utf8_lossy(&ruleset.stdout);
    assert_eq!(
        ruleset.contains("udp dport 53240-53245 accept"),
        firewall_config.is_empty(),
        "{ruleset}"
    );
    assert!(
        ruleset.contains("udp dport 69 ct helper set \"tftp\""),
        "{ruleset}"
    );
    assert!(ruleset.contains("meta l4proto udp reject"), "{ruleset}");
    assert_eq!(agent.terminate(), Some(0), "{}", agent.log());
}
