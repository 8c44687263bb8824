//! Differential: `phone-agent vpn connect` and openconnect (Debian `openconnect`, CSTP only)
//! against the same ocserv, case by case: same outcome (up or refused), time to tunnel-up side
//! by side, and traffic through each tunnel.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests: a panic is the failure report

mod vpn_common;

use std::time::{Duration, Instant};

use vpn_common::Lab;

#[test]
fn same_outcomes_as_openconnect_against_one_ocserv() {
    let lab = Lab::new();
    let _good = lab.ocserv(443, &lab.pki.server, 60);
    let _wrong = lab.ocserv(4443, &lab.pki.wrong_name, 60);
    let (ca, other) = (lab.pki.ca.clone(), lab.pki.other_ca.clone());
    // (case, user, password, group, CA, port, comes up)
    let cases = [
        (
            "good credentials, sales",
            "alice",
            "secret1",
            "sales",
            &ca,
            443,
            true,
        ),
        (
            "good credentials, Engineering",
            "bob",
            "pw-bob",
            "Engineering",
            &ca,
            443,
            true,
        ),
        ("wrong password", "alice", "nope", "sales", &ca, 443, false),
        (
            "group not offered",
            "alice",
            "secret1",
            "finance",
            &ca,
            443,
            false,
        ),
        ("user not in group", "alice", "secret1", "eng", &ca, 443, false),
        (
            "certificate for another name",
            "alice",
            "secret1",
            "sales",
            &ca,
            4443,
            false,
        ),
        (
            "certificate from another CA",
            "alice",
            "secret1",
            "sales",
            &other,
            443,
            false,
        ),
    ];
    let mut table = vec![format!(
        "{:<32} {:>14} {:>14}",
        "case", "phone-agent", "openconnect"
    )];
    for (case, user, password, group, ca, port, up) in cases {
        let cfg = lab.cfg("cfg.xml", user, password, group);
        let started = Instant::now();
        let mut agent = lab.agent(&cfg, ca, port, &[]);
        let ours = agent.wait_up(started, Duration::from_secs(20));
        if ours.is_ok() {
            let echo = lab.echo_server();
            lab.echo_through_tunnel(256 * 1024).unwrap();
            assert_eq!(echo.join().unwrap(), 256 * 1024);
        }
        drop(agent);
        let mut oc = lab.openconnect(user, password, group, ca, port);
        let theirs = oc.wait_up(Duration::from_secs(20));
        if theirs.is_ok() {
            let echo = lab.echo_server();
            lab.echo_through_tunnel(256 * 1024).unwrap();
            assert_eq!(echo.join().unwrap(), 256 * 1024);
        }
        oc.stop();
        drop(oc);
        let show = |r: &Result<Duration, String>| match r {
            Ok(d) => format!("up {:.1} ms", d.as_secs_f64() * 1000.0),
            Err(_) => "refused".to_owned(),
        };
        table.push(format!("{case:<32} {:>14} {:>14}", show(&ours), show(&theirs)));
        assert_eq!(ours.is_ok(), up, "{case}: phone-agent: {ours:?}");
        assert_eq!(theirs.is_ok(), up, "{case}: openconnect: {theirs:?}");
    }
    eprintln!("{}", table.join("\n"));
}

/// Where the two differ by design: when ocserv restarts, openconnect ends the session (on the
/// server's DISCONNECT, or when the new ocserv refuses the old cookie: it has no password to log
/// in again); the agent reconnects and logs in again (vpn_ocserv's
/// `reconnects_after_an_ocserv_restart`).
#[test]
fn after_an_ocserv_restart_openconnect_gives_up() {
    let lab = Lab::new();
    let mut oc_server = lab.ocserv(443, &lab.pki.server, 60);
    let mut oc = lab.openconnect_with("alice", "secret1", "sales", &lab.pki.ca, 443, 60);
    oc.wait_up(Duration::from_secs(20)).unwrap();
    oc_server.stop();
    let _again = lab.ocserv(443, &lab.pki.server, 60);
    // openconnect waits 10 s before its first retry.
    let (code, output) = oc.finish(Duration::from_secs(30));
    assert!(
        code.is_some_and(|c| c != 0),
        "openconnect still running or exit 0: {output}"
    );
    assert!(
        output.contains("Session terminated by server") || output.contains("Cookie was rejected by server"),
        "{output}"
    );
}
