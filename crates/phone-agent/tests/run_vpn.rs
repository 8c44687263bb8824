//! `phone-agent run` with `Connect_on_Bootup` = Yes against a real ocserv (the VPN lab of
//! tests/vpn_common: client, server and behind namespaces): the daemon brings the tunnel up,
//! its status shows state, IP, mask and byte counters that agree with `occtl show users`;
//! SIGHUP with the VPN password changed restarts the VPN only (refused, the error in the
//! status), the right password brings it back; SIGTERM logs out (ocserv has no user left) and
//! the agent exits 0. The agent runs inside the client namespace; its status is read with
//! `phone-agent status --json` there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests: a panic is the failure report

mod vpn_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
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

struct Daemon {
    child: Child,
    ns: String,
    log: PathBuf,
}

impl Daemon {
    fn start(lab: &Lab, cfg: &Path) -> Daemon {
        let log = lab.path("agent.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &lab.client_ns])
            .arg(&lab.agent_bin)
            .args(["-vv", "run", "--config"])
            .arg(cfg)
            .args(["--http", HTTP, "--nft", "/nonexistent/nft", "--backoff-max", "1"])
            .arg("--ca-file")
            .arg(&lab.pki.ca)
            .args(["--vpn-device", &format!("{}t", lab.tag), "--state-dir"])
            .arg(lab.path("state"))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        Daemon {
            child,
            ns: lab.client_ns.clone(),
            log,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn status(&self) -> Option<Value> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(env!("CARGO_BIN_EXE_phone-agent"))
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

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_daemon_keeps_the_vpn_up_reloads_it_and_logs_out_on_sigterm() {
    let lab = Lab::new();
    let oc = lab.ocserv(443, &lab.pki.server, 60);
    let echo = lab.echo_server();
    let path = cfg(&lab, "secret1");
    let started = Instant::now();
    let mut agent = Daemon::start(&lab, &path);
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
    agent.signal("TERM");
    let code = loop {
        if let Some(c) = agent.child.try_wait().unwrap() {
            break c.code();
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(10),
            "no exit:\n{}",
            agent.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
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
