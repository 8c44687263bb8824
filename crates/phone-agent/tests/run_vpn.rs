//! `phone-agent run` with `Connect_on_Bootup` = Yes against a real ocserv (the VPN lab of
//! tests/vpn_common: client, server and behind namespaces): the daemon brings the tunnel up,
//! its status shows state, IP, mask and byte counters that agree with `occtl show users`;
//! SIGHUP with the VPN password changed restarts the VPN only (refused, the error in the
//! status), the right password brings it back; SIGTERM logs out (ocserv has no user left) and
//! the agent exits 0. The agent runs inside the client namespace; its status is read with
//! `phone-agent status --json` there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests: a panic is the failure report

mod run_common;
mod vpn_common;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use run_common::Daemon;
use vpn_common::{Lab, SERVER};

const HTTP: &str = "127.0.0.1:8480";

fn cfg(lab: &Lab, password: &str) -> PathBuf {
    let p = lab.path("run-vpn.xml");
    std::fs::write(
        &p,
        format!(
            "<flat-profile>\n  <VPN_Server>{SERVER}</VPN_Server>\n  <VPN_User_Name>alice</VPN_User_Name>\n  \
             <VPN_Password>{password}</VPN_Password>\n  <VPN_Tunnel_Group>sales</VPN_Tunnel_Group>\n  \
             <Connect_on_Bootup>Yes</Connect_on_Bootup>\n  <Profile_Rule></Profile_Rule>\n</flat-profile>\n"
        ),
    )
    .unwrap();
    p
}

/// `phone-agent -vv run` in the client namespace, trusting the lab's CA for the VPN server.
fn start(lab: &Lab, cfg: &Path) -> Daemon {
    let mut args: Vec<OsString> = ["-vv", "run", "--config"].map(OsString::from).to_vec();
    args.push(cfg.into());
    args.extend(["--nft", "/nonexistent/nft", "--backoff-max", "1", "--ca-file"].map(OsString::from));
    args.push(lab.pki.ca.clone().into());
    args.extend([
        "--vpn-device".into(),
        format!("{}t", lab.tag).into(),
        "--state-dir".into(),
    ]);
    args.push(lab.path("state").into());
    Daemon::start(Some(&lab.client_ns), HTTP, &lab.path("agent.log"), args)
}

#[test]
fn the_daemon_keeps_the_vpn_up_reloads_it_and_logs_out_on_sigterm() {
    let lab = Lab::new();
    let oc = lab.ocserv(443, &lab.pki.server, 60);
    let echo = lab.echo_server();
    let path = cfg(&lab, "secret1");
    let started = Instant::now();
    let mut agent = start(&lab, &path);
    let s = agent.wait_for(Duration::from_secs(20), "the VPN connected", |s| {
        s["vpn"]["state"] == "Connected"
    });
    println!("VPN up after {:?}: {}", started.elapsed(), s["vpn"]);
    assert_eq!(s["vpn"]["ip"], "10.79.0.50", "{s:#}");
    assert_eq!(s["vpn"]["mask"], "255.255.255.0");
    assert_eq!(s["vpn"]["server"], SERVER);
    assert_eq!(s["vpn"]["connections"], 1);

    // Traffic through the tunnel; the status's counters agree with ocserv's own.
    lab.echo_through_tunnel(256 << 10).unwrap();
    assert_eq!(echo.join().unwrap(), 256 << 10);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = agent.status().unwrap_or_default();
        let ours = (
            s["vpn"]["bytes_sent"].as_u64().unwrap_or(0),
            s["vpn"]["bytes_received"].as_u64().unwrap_or(0),
        );
        let theirs = oc.user_bytes();
        if theirs == Some(ours) && ours.0 > 256 << 10 {
            println!("status (sent, received) = occtl (RX, TX) = {ours:?}");
            break;
        }
        assert!(Instant::now() < deadline, "status {ours:?} vs occtl {theirs:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // SIGHUP with a wrong VPN password: only the VPN restarts, and is refused.
    cfg(&lab, "wrong");
    agent.signal("HUP");
    let s = agent.wait_for(Duration::from_secs(20), "the VPN refused", |s| {
        s["vpn"]["state"] == "Failed" && !s["vpn"]["last_error"].is_null()
    });
    println!("wrong password: {}", s["vpn"]["last_error"]);
    assert_eq!(s["config"]["last_reload"]["changed"], serde_json::json!(["VPN"]));
    // The right one again: back up.
    cfg(&lab, "secret1");
    agent.signal("HUP");
    let s = agent.wait_for(Duration::from_secs(20), "the VPN back up", |s| {
        s["vpn"]["state"] == "Connected"
    });
    assert_eq!(s["vpn"]["ip"], "10.79.0.50");
    assert!(oc.user_bytes().is_some(), "ocserv shows the user");

    // SIGTERM: the VPN logs out (ocserv has no user any more), exit 0.
    let stopping = Instant::now();
    let code = agent.terminate();
    println!("SIGTERM: exit {code:?} after {:?}", stopping.elapsed());
    assert_eq!(code, Some(0), "{}", agent.log());
    assert!(
        agent.log().contains("disconnected"),
        "the agent logged out:\n{}",
        agent.log()
    );
    let gone = (0..50).any(|_| {
        std::thread::sleep(Duration::from_millis(100));
        oc.user_bytes().is_none()
    });
    assert!(gone, "ocserv still lists the user:\n{}", oc.log());
}
