//! Restricted_Access_Domains at connect time for SIP lines (`phone-agent sip register`): the
//! registrar and outbound proxy before anything is sent, and every name RFC 3263 leads to
//! (an SRV target outside the list, served by a real dnsmasq on loopback). A refused host is
//! an error naming the setting.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "proxy_common/mod.rs"]
mod proxy_common;

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use proxy_common::{find_program, free_port, temp_dir};

struct Dns(Child);

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn register(cfg: &str, dns: Option<u16>) -> Output {
    let dir = temp_dir("restricted");
    let path = dir.join("cfg.xml");
    std::fs::write(&path, cfg).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phone-agent"));
    cmd.args(["sip", "register", "--once", "--config", path.to_str().unwrap()]);
    if let Some(port) = dns {
        cmd.args(["--dns", &format!("127.0.0.1:{port}")]);
    }
    cmd.stdin(Stdio::null()).output().unwrap()
}

fn profile(lines: &str) -> String {
    format!(
        "<flat-profile><Restricted_Access_Domains>voiceip.com</Restricted_Access_Domains>\
         <User_ID_1_>1001</User_ID_1_><Password_1_>secret</Password_1_>{lines}</flat-profile>"
    )
}

#[test]
fn sip_hosts_outside_restricted_access_domains_are_refused_naming_the_setting() {
    let mut report = Vec::new();
    // The registrar itself.
    let out = register(&profile("<Proxy_1_>sip.evil.test</Proxy_1_>"), None);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("Restricted_Access_Domains") && text.contains("(from Proxy_1_)"),
        "{text}"
    );
    report.push(text.trim().to_owned());
    // The outbound proxy, here an address (an IP is never inside a domain list).
    let out = register(
        &profile("<Proxy_1_>sip.voiceip.com</Proxy_1_><Outbound_Proxy_1_>192.0.2.7</Outbound_Proxy_1_>"),
        None,
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("`192.0.2.7` (from Outbound_Proxy_1_)"), "{text}");
    report.push(text.trim().to_owned());

    // RFC 3263 (AUTO: NAPTR, SRV): voiceip.com's SRV record points outside the list.
    let port = free_port();
    let dir = temp_dir("restricted-dns");
    let log = dir.join("log");
    let dns = Dns(Command::new(find_program("dnsmasq", "dnsmasq-base"))
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
        ])
        .args(["--listen-address=127.0.0.1", "--bind-interfaces"])
        .arg(format!("--port={port}"))
        .arg(format!("--pid-file={}", dir.join("pid").display()))
        .arg(format!("--log-facility={}", log.display()))
        .args([
            "--srv-host=_sip._udp.voiceip.com,sip.evil.test,5060",
            "--host-record=sip.evil.test,127.0.0.1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let end = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("started")) {
        assert!(Instant::now() < end, "dnsmasq did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = register(
        &profile("<Proxy_1_>voiceip.com</Proxy_1_><SIP_Transport_1_>AUTO</SIP_Transport_1_>"),
        Some(port),
    );
    drop(dns);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("`sip.evil.test` (from Proxy_1_, SRV target of _sip._udp.voiceip.com"),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    report.push(text.trim().to_owned());
    eprintln!("refusals:\n  {}", report.join("\n  "));
}
