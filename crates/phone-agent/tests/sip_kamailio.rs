//! Interop with a second, independent registrar: Kamailio (Debian packages `kamailio`,
//! `kamailio-tls-modules`), started by each test on free loopback ports with the config in
//! `tests/kamailio/registrar.cfg`: digest against an in-memory credential, usrloc in memory,
//! UDP/TCP/TLS, and the mediasec negotiation written in Kamailio's script. Bindings are read
//! back from Kamailio itself (`kamcmd ul.dump` over its control socket), not from what the
//! phone says.
//!
//! The matrix (transport x case): digest registration with client-initiated mediasec and the
//! two-binding lifetime case (another device of the same user bound for 3546 s, ours asked
//! 60 s) followed by un-REGISTER of our binding only; refresh observed; server-initiated
//! mediasec (Kamailio answers 421 + Require: mediasec); a wrong password (exit 1).
//!
//! Kamailio missing is a failure, not a skip: CI installs it (`.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const AGENT: &str = env!("CARGO_BIN_EXE_phone-agent");

mod sip_common;

use sip_common::{Kamailio, KamailioConfig, Mediasec, free_port};
use sip_message::Transport;

fn workdir(name: &str) -> PathBuf {
    sip_common::workdir("kamailio", name)
}

/// Kamailio with a TLS listener (its CA in `dir/ca.pem`) in `mediasec` mode.
fn kamailio(dir: &Path, mediasec: Mediasec) -> Kamailio {
    Kamailio::start(
        dir,
        &KamailioConfig {
            port: None,
            tls: true,
            mediasec,
        },
    )
}

/// cfg.xml for line 1 (alice) at Kamailio over `transport`.
fn write_cfg(
    dir: &Path,
    name: &str,
    k: &Kamailio,
    t: Transport,
    sip_port: u16,
    password: &str,
    request: bool,
) -> PathBuf {
    let yn = |b: bool| if b { "Yes" } else { "No" };
    let xml = format!(
        r#"<flat-profile>
  <User_ID_1_ ua="na">alice</User_ID_1_>
  <Password_1_ ua="na">{password}</Password_1_>
  <Proxy_1_ ua="na">127.0.0.1:{}</Proxy_1_>
  <SIP_Port_1_ ua="na">{sip_port}</SIP_Port_1_>
  <SIP_Transport_1_ ua="na">{}</SIP_Transport_1_>
  <MediaSec_Request_1_ ua="na">{}</MediaSec_Request_1_>
</flat-profile>
"#,
        k.proxy_port(t),
        t.as_str(),
        yn(request),
    );
    let path = dir.join(name);
    std::fs::write(&path, xml).unwrap();
    path
}

fn agent(cfg: &Path, dir: &Path, args: &[&str]) -> Output {
    Command::new(AGENT)
        .args(["sip", "register", "--line", "1", "--config"])
        .arg(cfg)
        .arg("--ca-file")
        .arg(dir.join("ca.pem"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Our address as the agent reported it (`connected to ... from 127.0.0.1:PORT`): the Contact's
/// host and port (SIP_Port_n_ over UDP, the connection's port over TCP and TLS).
fn local_of(out: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.split_once("connected to ")
                .and_then(|(_, r)| r.split_once(" from "))
        })
        .map(|(_, local)| local.trim().to_owned())
        .unwrap_or_else(|| panic!("no `connected to` line:\n{out}"))
}

/// Another device of alice is bound for 3546 s; we ask 60 s. The 200 OK lists both: the
/// phone must take its own binding's lifetime (issue #11). Then un-REGISTER: Kamailio keeps
/// the other binding only.
fn two_bindings_then_unregister(name: &str, t: Transport) {
    let dir = workdir(name);
    let k = kamailio(&dir, Mediasec::Client);
    let other = write_cfg(&dir, "other.xml", &k, t, free_port(), "secret", true);
    let o = agent(&other, &dir, &["--once", "--expires", "3546"]);
    assert!(o.status.success(), "other device:\n{}\n{}", text(&o), k.log());
    assert!(text(&o).contains("registered (expires 3546 s"), "{}", text(&o));
    let other_contact = local_of(&text(&o));

    let ours = write_cfg(&dir, "ours.xml", &k, t, free_port(), "secret", true);
    let o = agent(&ours, &dir, &["--once", "--expires", "60", "--unregister"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", k.log());
    assert!(
        out.contains("registered (expires 60 s, media security: SdesSrtp)"),
        "{out}"
    );
    assert!(out.contains("unregistered (our binding removed)"), "{out}");
    let log = k.log();
    assert!(log.contains("mediasec verified: [msrp-tls;mediasec"), "{log}");
    let proto = t.as_str().to_ascii_lowercase();
    assert!(
        log.contains(&format!("REGISTER over {proto}")),
        "{proto} not seen by Kamailio:\n{log}"
    );

    let bindings = k.bindings();
    let our_contact = local_of(&out);
    assert!(
        bindings.contains(&other_contact),
        "the other device's binding went:\n{bindings}"
    );
    assert!(
        !bindings.contains(&our_contact),
        "our binding is still there:\n{bindings}"
    );
}

#[test]
fn udp_two_bindings_own_lifetime_and_unregister() {
    two_bindings_then_unregister("udp-two", Transport::Udp);
}

#[test]
fn tcp_two_bindings_own_lifetime_and_unregister() {
    two_bindings_then_unregister("tcp-two", Transport::Tcp);
}

#[test]
fn tls_two_bindings_own_lifetime_and_unregister() {
    two_bindings_then_unregister("tls-two", Transport::Tls);
}

/// Asked 4 s: the phone refreshes before its binding lapses (at 2 s, then every 2 s);
/// Kamailio sees the REGISTERs and still holds the binding at the end.
fn refresh(name: &str, t: Transport) {
    let dir = workdir(name);
    let k = kamailio(&dir, Mediasec::Client);
    let cfg = write_cfg(&dir, "cfg.xml", &k, t, free_port(), "secret", true);
    let o = agent(&cfg, &dir, &["--duration", "7", "--expires", "4"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(0), "{out}\n{}", k.log());
    let registered = out.matches("registered (expires 4 s").count();
    assert!(registered >= 3, "{registered} registrations:\n{out}");
    let ours = local_of(&out);
    let log = k.log();
    let seen = log
        .lines()
        .filter(|l| l.contains("REGISTER over") && l.contains(&ours) && l.contains("expires=[4]"))
        .count();
    // At least one REGISTER per registration (a refresh reuses the nonce while Kamailio
    // accepts it, or is challenged again).
    assert!(seen >= registered, "Kamailio saw {seen} for {registered}:\n{log}");
    assert!(k.bindings().contains(&ours));
}

#[test]
fn udp_refresh_observed() {
    refresh("udp-refresh", Transport::Udp);
}

#[test]
fn tcp_refresh_observed() {
    refresh("tcp-refresh", Transport::Tcp);
}

#[test]
fn tls_refresh_observed() {
    refresh("tls-refresh", Transport::Tls);
}

/// MediaSec_Request = No against a Kamailio that starts the negotiation itself: 421 +
/// Require: mediasec + Security-Server; the phone answers with Security-Verify (issue #11).
fn server_initiated(name: &str, t: Transport) {
    let dir = workdir(name);
    let k = kamailio(&dir, Mediasec::Server);
    let cfg = write_cfg(&dir, "cfg.xml", &k, t, free_port(), "secret", false);
    let o = agent(&cfg, &dir, &["--once", "--expires", "60"]);
    let out = text(&o);
    let log = k.log();
    assert_eq!(o.status.code(), Some(0), "{out}\n{log}");
    assert!(out.contains("media security: SdesSrtp"), "{out}");
    assert!(log.contains("mediasec verified"), "{log}");
}

#[test]
fn udp_server_initiated_421() {
    server_initiated("udp-421", Transport::Udp);
}

#[test]
fn tls_server_initiated_421() {
    server_initiated("tls-421", Transport::Tls);
}

/// A wrong password: refused by the peer, exit 1, no binding.
#[test]
fn tcp_wrong_password_exits_1() {
    let dir = workdir("tcp-wrong");
    let k = kamailio(&dir, Mediasec::Client);
    let cfg = write_cfg(&dir, "cfg.xml", &k, Transport::Tcp, free_port(), "wrong", true);
    let o = agent(&cfg, &dir, &["--once"]);
    let out = text(&o);
    assert_eq!(o.status.code(), Some(1), "{out}");
    assert!(out.contains("credentials refused"), "{out}");
    assert!(!k.bindings().contains("127.0.0.1:"), "{}", k.bindings());
}

/// The exit-code classes of `phone-agent sip register` (module `sip` documents them): a TLS
/// handshake the phone refuses (the certificate names 127.0.0.1, the proxy is `localhost`)
/// is the peer's failure, 1; a missing CA file or cfg.xml is a local error, 2.
#[test]
fn exit_codes_by_class() {
    let dir = workdir("exit-codes");
    let k = kamailio(&dir, Mediasec::Client);
    let cfg = write_cfg(&dir, "cfg.xml", &k, Transport::Tls, free_port(), "secret", true);
    let by_name = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("127.0.0.1:", "localhost:");
    let named = dir.join("named.xml");
    std::fs::write(&named, by_name).unwrap();
    let o = agent(&named, &dir, &["--once"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("TLS handshake with localhost"), "{}", text(&o));

    let o = Command::new(AGENT)
        .args(["sip", "register", "--once", "--config"])
        .arg(&cfg)
        .arg("--ca-file")
        .arg(dir.join("missing-ca.pem"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = agent(&dir.join("missing.xml"), &dir, &["--once"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = Command::new(AGENT)
        .args(["sip", "parse"])
        .arg(dir.join("missing.sip"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}
