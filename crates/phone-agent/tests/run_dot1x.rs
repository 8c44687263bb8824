//! `phone-agent run` with 802.1X on a real wired port: hostapd (`driver=wired`, its integrated
//! EAP server) on one end of a veth pair, the daemon on the other, each end in a network
//! namespace this test creates and deletes (names start with `agent` and the test's pid).
//!
//! The daemon starts first: no authenticator answers, the status (read with `phone-agent
//! status --json` inside the namespace) and the admin page in headless Chromium show the port
//! not authenticated. hostapd comes up: both show `Authenticated` with `EAP-TLS`. SIGTERM:
//! hostapd logs the EAPOL-Logoff and the daemon exits 0.
//!
//! Needs root and the Debian packages hostapd, iproute2 and chromium (`.ci/run` installs them).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

mod dot1x_common;
mod page_common;
use dot1x_common::{Peer, Scratch, require};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use serde_json::Value;

const AGENT: &str = env!("CARGO_BIN_EXE_phone-agent");

fn ip(args: &[&str]) {
    let out = Command::new(require("ip", "iproute2"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces joined by a veth pair, deleted on drop.
struct Netns {
    auth: String,
    supp: String,
    auth_if: String,
    supp_if: String,
}

impl Netns {
    fn new() -> Netns {
        let tag = std::process::id() % 1_000_000;
        let n = Netns {
            auth: format!("agentA{tag}"),
            supp: format!("agentS{tag}"),
            auth_if: format!("agA{tag}"),
            supp_if: format!("agS{tag}"),
        };
        let _ = Command::new("ip").args(["netns", "del", &n.auth]).output();
        let _ = Command::new("ip").args(["netns", "del", &n.supp]).output();
        ip(&["netns", "add", &n.auth]);
        ip(&["netns", "add", &n.supp]);
        ip(&[
            "link", "add", &n.auth_if, "type", "veth", "peer", "name", &n.supp_if,
        ]);
        ip(&["link", "set", &n.auth_if, "netns", &n.auth]);
        ip(&["link", "set", &n.supp_if, "netns", &n.supp]);
        ip(&["-n", &n.auth, "link", "set", &n.auth_if, "up"]);
        ip(&["-n", &n.supp, "link", "set", &n.supp_if, "up"]);
        ip(&["-n", &n.supp, "link", "set", "lo", "up"]);
        n
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.auth]).output();
        let _ = Command::new("ip").args(["netns", "del", &self.supp]).output();
    }
}

fn ca() -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, "run dot1x test CA");
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

fn leaf(
    issuer: &(rcgen::Certificate, KeyPair),
    sans: Vec<String>,
    eku: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut p = CertificateParams::new(sans).unwrap();
    p.distinguished_name.push(DnType::CommonName, "run dot1x test");
    p.extended_key_usages = vec![eku];
    let key = KeyPair::generate().unwrap();
    (
        p.signed_by(&key, &issuer.0, &issuer.1).unwrap().pem(),
        key.serialize_pem(),
    )
}

fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `phone-agent status --json` inside the namespace.
fn status(ns: &str, http: &str) -> Option<Value> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, AGENT, "status", "--json", "--http", http])
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn dot1x_state_follows_the_authenticator_and_sigterm_logs_off() {
    let hostapd_bin = require("hostapd", "hostapd");
    let dir = Scratch::new("run-agent");
    let root = ca();
    let (sc, sk) = leaf(
        &root,
        vec!["radius.example.org".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (cc, ck) = leaf(&root, vec![], ExtendedKeyUsagePurpose::ClientAuth);
    let ca_pem = dir.write("ca.pem", root.0.pem());
    let server_cert = dir.write("server.pem", sc);
    let server_key = dir.write("server.key", sk);
    let client_cert = dir.write("client.pem", cc);
    let client_key = dir.write("client.key", ck);
    let cfg = dir.write(
        "cfg.xml",
        "<flat-profile><Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication></flat-profile>",
    );
    dir.write("eap_users", "* TLS\n");
    let net = Netns::new();
    let http = "127.0.0.1:8480";
    let log = std::fs::File::create(dir.path("agent.log")).unwrap();
    let s = |p: &Path| p.display().to_string();
    let mut daemon = Daemon(
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &net.supp,
                AGENT,
                "-v",
                "run",
                "--config",
                &s(&cfg),
            ])
            .args(["--iface", &net.supp_if, "--ca-file", &s(&ca_pem)])
            .args(["--client-cert", &s(&client_cert), "--client-key", &s(&client_key)])
            .args([
                "--identity",
                "phone@example.org",
                "--http",
                http,
                "--eapol-start-period",
                "1",
            ])
            .args([
                "--nft",
                "/nonexistent/nft",
                "--backoff-max",
                "1",
                "--state-dir",
                &s(&dir.0),
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let agent_log = || std::fs::read_to_string(dir.path("agent.log")).unwrap_or_default();
    let url = format!("http://{http}/");

    // No authenticator yet: EAPOL-Starts unanswered.
    let before = poll(Duration::from_secs(10), || {
        status(&net.supp, http).filter(|s| s["dot1x"]["transaction_state"] != "Disabled")
    })
    .unwrap_or_else(|| panic!("no status:\n{}", agent_log()));
    let state = before["dot1x"]["transaction_state"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(state == "Authenticating" || state == "Failed", "{before:#}");
    let dom = page_common::dump_dom(&url, Some(&net.supp), &dir.0);
    let shown = page_common::text_of(&dom, "dot1x-state").unwrap_or_default();
    println!("no authenticator: status {state}, page {shown}");
    assert!(shown == "Authenticating" || shown == "Failed", "{dom}");

    // The authenticator comes up.
    let conf = dir.write(
        "hostapd.conf",
        format!(
            "interface={}\ndriver=wired\nieee8021x=1\neapol_version=2\nuse_pae_group_addr=1\n\
             eap_server=1\neap_user_file={}\nca_cert={}\nserver_cert={}\nprivate_key={}\n",
            net.auth_if,
            dir.path("eap_users").display(),
            ca_pem.display(),
            server_cert.display(),
            server_key.display(),
        ),
    );
    let hostapd_log = dir.path("hostapd.log");
    let file = std::fs::File::create(&hostapd_log).unwrap();
    let hostapd = Peer {
        child: Command::new("ip")
            .args(["netns", "exec", &net.auth])
            .arg(hostapd_bin)
            .arg("-dd")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap(),
        log: hostapd_log,
    };
    let after = poll(Duration::from_secs(30), || {
        status(&net.supp, http).filter(|s| s["dot1x"]["transaction_state"] == "Authenticated")
    })
    .unwrap_or_else(|| panic!("not authenticated:\n{}\nhostapd:\n{}", agent_log(), hostapd.log()));
    assert_eq!(after["dot1x"]["protocol"], "EAP-TLS");
    let dom = page_common::dump_dom(&url, Some(&net.supp), &dir.0);
    println!(
        "hostapd up: status {}, page {:?} / {:?}",
        after["dot1x"],
        page_common::text_of(&dom, "dot1x-state"),
        page_common::text_of(&dom, "dot1x-protocol")
    );
    assert_eq!(
        page_common::text_of(&dom, "dot1x-state").as_deref(),
        Some("Authenticated"),
        "{dom}"
    );
    assert_eq!(
        page_common::text_of(&dom, "dot1x-protocol").as_deref(),
        Some("EAP-TLS"),
        "{dom}"
    );
    let png = std::env::temp_dir().join(format!("phone-agent-run-dot1x-{}.png", std::process::id()));
    page_common::screenshot(&url, Some(&net.supp), &dir.0, (390, 844), &png);
    println!("screenshot 390x844 (802.1X Authenticated): {}", png.display());

    // SIGTERM: EAPOL-Logoff, exit 0.
    let pid = daemon.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let code = poll(Duration::from_secs(10), || daemon.0.try_wait().unwrap());
    assert_eq!(code.and_then(|c| c.code()), Some(0), "{}", agent_log());
    let logoff = poll(Duration::from_secs(3), || {
        hostapd
            .log()
            .contains("received EAPOL-Logoff from STA")
            .then_some(())
    });
    assert!(
        logoff.is_some(),
        "hostapd saw no EAPOL-Logoff:\n{}",
        hostapd.log()
    );
    println!("SIGTERM: exit 0, hostapd: received EAPOL-Logoff from STA");
}
