//! `phone-agent vpn` against a real ocserv (Debian `ocserv`) in network namespaces: login with
//! a plain password file and two groups, traffic to a host behind the server, byte counters
//! against `occtl show users`, refusals (password, group, certificate), reconnect after an
//! ocserv restart, and dead peer detection when the server's side is blackholed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests: a panic is the failure report

mod vpn_common;

use std::time::Duration;

use vpn_common::{Lab, agent_cmd};

const SECS: Duration = Duration::from_secs(1);

#[test]
fn connects_moves_traffic_counts_like_ocserv_and_disconnects() {
    let lab = Lab::new();
    let oc = lab.ocserv(443, &lab.pki.server, 60);
    let echo = lab.echo_server();
    let cfg = lab.cfg("cfg.xml", "alice", "secret1", "sales");
    let mut agent = lab.agent(&cfg, &lab.pki.ca, 443, &["--json"]);
    let up = agent.wait_for("\"event\":\"connected\"", 15 * SECS);
    let up: serde_json::Value = serde_json::from_str(&up).unwrap();
    assert_eq!(up["ip"], "10.79.0.50", "{up}");
    assert_eq!(up["netmask"], "255.255.255.0");
    assert_eq!(up["routes"], serde_json::json!(["10.78.0.0/24"]));
    assert_eq!(up["mtu"], 1472);

    // 1 MiB to a host behind the server and back, through the tunnel.
    lab.echo_through_tunnel(1 << 20).unwrap();
    assert_eq!(echo.join().unwrap(), 1 << 20);

    // The status counters (written every second) agree with ocserv's (reported every second).
    let mut last = None;
    for _ in 0..100 {
        let st = agent.state();
        let ours = (
            st["bytes_sent"].as_u64().unwrap(),
            st["bytes_received"].as_u64().unwrap(),
        );
        let theirs = oc.user_bytes();
        if theirs == Some(ours) && ours.0 > 1 << 20 {
            eprintln!("agent (sent, received) = occtl (RX, TX) = {ours:?}");
            last = None;
            break;
        }
        last = Some((ours, theirs));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(last, None, "(agent sent, received) vs occtl (RX, TX)");
    let st = agent.state();
    assert_eq!(
        (st["connected"].as_bool(), st["enabled"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(st["ip"], "10.79.0.50");
    assert_eq!(st["netmask"], "255.255.255.0");
    assert_eq!(st["server"], "10.77.0.1");
    assert!(st["since"].as_str().unwrap().ends_with('Z'));

    let status = agent_cmd(&["vpn", "status"], &agent.state);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(
        text.contains("Status:         connected") && text.contains("VPN IP address: 10.79.0.50"),
        "{text}"
    );

    let out = agent_cmd(&["vpn", "disconnect"], &agent.state);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let state = agent.state.clone();
    let (code, output) = agent.finish(10 * SECS);
    assert_eq!(code, 0, "{output}");
    assert!(output.contains("\"event\":\"disconnected\""), "{output}");
    let st: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    assert_eq!(
        (st["state"].as_str(), st["enabled"].as_bool()),
        (Some("disconnected"), Some(false))
    );
    // The logout (DISCONNECT 0xb0) reached ocserv: its user list empties.
    let mut gone = false;
    for _ in 0..50 {
        if oc.user_bytes().is_none() {
            gone = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(gone, "ocserv still lists the user after the logout");
}

#[test]
fn wrong_password_and_wrong_group_are_refused_and_the_switch_goes_off() {
    let lab = Lab::new();
    let oc = lab.ocserv(443, &lab.pki.server, 60);
    let cases = [
        // ocserv 1.1.6 answers a wrong password with the password form again ("Login
        // failed.") and, seen once under load, with 401 "Authentication failed": both refusals.
        ("alice", "nope", "sales", "authentication refused by the server: "),
        (
            "alice",
            "secret1",
            "finance",
            "tunnel group `finance` is not offered by the server (it offers: sales, eng (Engineering))",
        ),
        // alice is not in eng: ocserv answers 401 after the password, or ends the TLS
        // connection with the alert access_denied.
        (
            "alice",
            "secret1",
            "eng",
            "authentication refused by the server: ",
        ),
    ];
    for (user, password, group, reason) in cases {
        let cfg = lab.cfg("cfg.xml", user, password, group);
        let agent = lab.agent(&cfg, &lab.pki.ca, 443, &[]);
        let state = agent.state.clone();
        let (code, output) = agent.finish(20 * SECS);
        assert_eq!(code, 1, "{output}");
        assert!(
            output.contains(&format!("vpn: failed: enabled=false reason={reason}")),
            "{output}"
        );
        assert!(!output.contains("vpn: connected"), "{output}");
        let st: serde_json::Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
        assert_eq!(
            (st["enabled"].as_bool(), st["connected"].as_bool()),
            (Some(false), Some(false))
        );
        assert!(st["reason"].as_str().unwrap().starts_with(reason), "{st}");
    }
    // bob in eng gets in.
    let cfg = lab.cfg("cfg.xml", "bob", "pw-bob", "Engineering");
    let (code, output) = lab
        .agent(&cfg, &lab.pki.ca, 443, &["--duration", "0"])
        .finish(20 * SECS);
    assert_eq!(code, 0, "{output}\nocserv:\n{}", oc.log());
    assert!(output.contains("vpn: connected:"), "{output}");
}

#[test]
fn server_certificate_with_wrong_name_or_other_ca_is_refused() {
    let lab = Lab::new();
    let _good = lab.ocserv(443, &lab.pki.server, 60);
    let _wrong = lab.ocserv(4443, &lab.pki.wrong_name, 60);
    let cfg = lab.cfg("cfg.xml", "alice", "secret1", "sales");
    let (code, output) = lab.agent(&cfg, &lab.pki.ca, 4443, &[]).finish(20 * SECS);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("reason=TLS refused: server certificate refused:"),
        "{output}"
    );
    assert!(
        output.contains("10.77.0.1"),
        "the refusal names the host: {output}"
    );
    let (code, output) = lab.agent(&cfg, &lab.pki.other_ca, 443, &[]).finish(20 * SECS);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("reason=TLS refused: server certificate refused:"),
        "{output}"
    );
    assert!(!output.contains("vpn: authenticated"), "{output}");
}

#[test]
fn reconnects_after_an_ocserv_restart() {
    let lab = Lab::new();
    let mut oc = lab.ocserv(443, &lab.pki.server, 60);
    let cfg = lab.cfg("cfg.xml", "alice", "secret1", "sales");
    let mut agent = lab.agent(&cfg, &lab.pki.ca, 443, &["--duration", "60"]);
    agent.wait_for("vpn: connected:", 15 * SECS);
    oc.stop();
    let down = agent.wait_for("vpn: down:", 15 * SECS);
    assert!(
        // ocserv's worker sends DISCONNECT (code 0) as it stops, or the connection just ends.
        down.contains("TLS connection lost")
            || down.contains("shutting down")
            || down.contains("the server disconnected the session"),
        "{down}"
    );
    let _oc2 = lab.ocserv(443, &lab.pki.server, 60);
    // The old cookie is unknown to the new ocserv: 401, then a fresh login, then the tunnel.
    let again = agent.wait_for("vpn: reconnected:", 30 * SECS);
    assert!(again.contains("ip=10.79.0.50"), "{again}");
    let echo = lab.echo_server();
    lab.echo_through_tunnel(64 * 1024).unwrap();
    assert_eq!(echo.join().unwrap(), 64 * 1024);
    let st = agent.state();
    assert_eq!(
        (st["state"].as_str(), st["reconnects"].as_u64()),
        (Some("connected"), Some(1))
    );
}

#[test]
fn dead_peer_detected_when_the_server_is_blackholed() {
    let lab = Lab::new();
    let _oc = lab.ocserv(443, &lab.pki.server, 2);
    let cfg = lab.cfg("cfg.xml", "alice", "secret1", "sales");
    let mut agent = lab.agent(&cfg, &lab.pki.ca, 443, &["--duration", "60"]);
    let up = agent.wait_for("vpn: connected:", 15 * SECS);
    assert!(up.contains("dpd_s=2"), "{up}");
    let t = std::time::Instant::now();
    lab.blackhole_server(true);
    let down = agent.wait_for("vpn: down:", 15 * SECS);
    let detected = t.elapsed();
    assert!(down.contains("dead peer: nothing received for"), "{down}");
    eprintln!(
        "DPD 2 s: dead peer detected {} ms after the blackhole",
        detected.as_millis()
    );
    lab.blackhole_server(false);
    agent.wait_for("vpn: reconnected:", 30 * SECS);
    let echo = lab.echo_server();
    lab.echo_through_tunnel(64 * 1024).unwrap();
    assert_eq!(echo.join().unwrap(), 64 * 1024);
}

#[test]
fn through_the_manual_http_proxy_with_basic_auth() {
    let lab = Lab::new();
    let _oc = lab.ocserv(443, &lab.pki.server, 60);
    let proxy = lab.tinyproxy();
    let cfg = lab.cfg_with_proxy("cfg.xml", "proxy-pw");
    let mut agent = lab.agent(&cfg, &lab.pki.ca, 443, &["--duration", "30"]);
    let tls = agent.wait_for("vpn: tls:", 15 * SECS);
    assert!(tls.contains("proxy=127.0.0.1:8888"), "{tls}");
    agent.wait_for("vpn: connected:", 15 * SECS);
    let echo = lab.echo_server();
    lab.echo_through_tunnel(64 * 1024).unwrap();
    assert_eq!(echo.join().unwrap(), 64 * 1024);
    let log = std::fs::read_to_string(&proxy.log).unwrap_or_default();
    assert!(
        log.contains("10.77.0.1"),
        "tinyproxy did not see the CONNECT:\n{log}"
    );
    drop(agent);

    let cfg = lab.cfg_with_proxy("bad.xml", "wrong");
    let (code, output) = lab.agent(&cfg, &lab.pki.ca, 443, &[]).finish(20 * SECS);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains(
            "reason=TLS refused: HTTP proxy 127.0.0.1:8888 refused CONNECT 10.77.0.1:443: HTTP/1.0 401 Unauthorized"
        ),
        "{output}"
    );
}
