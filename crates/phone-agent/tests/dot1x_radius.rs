//! `phone-agent dot1x --radius` against real authentication servers started by the test:
//! hostapd's integrated EAP server as a RADIUS server, and FreeRADIUS 3.2 (Debian), each with
//! certificates generated for this run. The matrix: TLS 1.2 and 1.3 accepted with the MSK equal
//! to the server's (MS-MPPE keys, and hostapd's own key dump), a client certificate from another
//! CA rejected by the server, a server from another CA and a server-name mismatch rejected by
//! the phone, and eapol_test against the same server as a differential reference.
//!
//! The servers are Debian packages that `.ci/run` installs; a missing one fails the test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod dot1x_common;
use dot1x_common::{Peer as Server, Scratch, require};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use serde_json::Value;

const SECRET: &str = "testing123";
const IDENTITY: &str = "phone@example.org";

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something listens on UDP `port` (from /proc/net/udp).
fn wait_for_udp(port: u16, server: &mut Server) {
    let needle = format!(":{port:04X} ");
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
        if table.lines().skip(1).any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|local| format!("{local} ").ends_with(&needle))
        }) {
            return;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("server exited with {status} before listening:\n{}", server.log());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("server not listening on UDP {port} after 20 s:\n{}", server.log());
}

fn start(mut command: Command, log: PathBuf, port: u16) -> Server {
    let file = std::fs::File::create(&log).unwrap();
    let child = command
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let mut server = Server { child, log };
    wait_for_udp(port, &mut server);
    server
}

/// CA, server and client certificates for one run (ECDSA P-256), plus a second, untrusted CA
/// with its own client certificate.
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    other_ca: PathBuf,
    other_client_cert: PathBuf,
    other_client_key: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

fn leaf(
    issuer: &(rcgen::Certificate, KeyPair),
    cn: &str,
    sans: Vec<String>,
    eku: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut p = CertificateParams::new(sans).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = vec![eku];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &issuer.0, &issuer.1).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn pki(dir: &Scratch) -> Pki {
    let root = ca("dot1x test CA");
    let other = ca("some other CA");
    let (sc, sk) = leaf(
        &root,
        "radius.example.org",
        vec!["radius.example.org".into()],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (cc, ck) = leaf(&root, IDENTITY, vec![], ExtendedKeyUsagePurpose::ClientAuth);
    let (oc, ok) = leaf(&other, IDENTITY, vec![], ExtendedKeyUsagePurpose::ClientAuth);
    Pki {
        ca: dir.write("ca.pem", root.0.pem()),
        server_cert: dir.write("server.pem", sc),
        server_key: dir.write("server.key", sk),
        client_cert: dir.write("client.pem", cc),
        client_key: dir.write("client.key", ck),
        other_ca: dir.write("other-ca.pem", other.0.pem()),
        other_client_cert: dir.write("other-client.pem", oc),
        other_client_key: dir.write("other-client.key", ok),
    }
}

fn cfg_xml(dir: &Scratch) -> PathBuf {
    dir.write(
        "cfg.xml",
        "<flat-profile>\n  <Enable_802.1X_Authentication ua=\"rw\">Yes</Enable_802.1X_Authentication>\n</flat-profile>\n",
    )
}

/// One `phone-agent dot1x --json --show-keys` run.
struct AgentRun {
    code: i32,
    json: Value,
    stderr: String,
}

fn agent(dir: &Scratch, port: u16, extra: &[&str], ca: &Path, cert: &Path, key: &Path) -> AgentRun {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .arg("dot1x")
        .arg("--config")
        .arg(cfg_xml(dir))
        .args(["--radius", &format!("127.0.0.1:{port}"), "--secret", SECRET])
        .args(["--identity", IDENTITY])
        .arg("--ca")
        .arg(ca)
        .arg("--client-cert")
        .arg(cert)
        .arg("--client-key")
        .arg(key)
        .args(["--json", "--show-keys"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    AgentRun {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "agent output is not JSON ({e}): {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        }),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// eapol_test against the same server: (success, RADIUS round trips, MPPE check line).
fn eapol_test(dir: &Scratch, pki: &Pki, port: u16, tls13: bool) -> (bool, usize, String) {
    let bin = require("eapol_test", "eapoltest");
    let conf = dir.write(
        if tls13 { "eapol13.conf" } else { "eapol12.conf" },
        format!(
            "network={{\n key_mgmt=IEEE8021X\n eap=TLS\n identity=\"{IDENTITY}\"\n ca_cert=\"{}\"\n client_cert=\"{}\"\n private_key=\"{}\"\n eapol_flags=0\n phase1=\"tls_disable_tlsv1_3={}\"\n}}\n",
            pki.ca.display(),
            pki.client_cert.display(),
            pki.client_key.display(),
            u8::from(!tls13),
        ),
    );
    let out = Command::new(bin)
        .arg("-c")
        .arg(conf)
        .args([
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-s",
            SECRET,
            "-t",
            "10",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let trips = stdout
        .lines()
        .filter(|l| l.contains("Received RADIUS packet matched with a pending request"))
        .count();
    let mppe = stdout
        .lines()
        .find(|l| l.starts_with("MPPE keys OK"))
        .unwrap_or("")
        .to_owned();
    if !out.status.success() {
        let tail: Vec<&str> = stdout
            .lines()
            .rev()
            .filter(|l| l.contains("SSL") || l.contains("TLS"))
            .take(30)
            .collect();
        eprintln!("eapol_test output (last lines, reversed):\n{}", tail.join("\n"));
    }
    (out.status.success(), trips, mppe)
}

fn field<'a>(run: &'a AgentRun, name: &str) -> &'a Value {
    run.json.get(name).unwrap_or(&Value::Null)
}

/// The MSK hostapd logged (`-K`) for its last EAP-TLS authentication.
fn hostapd_msk(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find(|l| l.contains("EAP-TLS: Derived key - hexdump(len=64):"))
        .map(|l| {
            l.split("hexdump(len=64):")
                .nth(1)
                .unwrap_or("")
                .split_whitespace()
                .collect::<String>()
        })
}

fn assert_accepted(run: &AgentRun, tls: &str) {
    assert_eq!(
        run.code, 0,
        "expected Access-Accept: {}\n{}",
        run.json, run.stderr
    );
    assert_eq!(field(run, "transaction_state"), "Authenticated");
    assert_eq!(field(run, "protocol"), "EAP-TLS");
    assert_eq!(field(run, "radius"), "Access-Accept");
    assert_eq!(field(run, "tls_version"), tls);
    assert_eq!(field(run, "mppe_keys_match"), true, "{}", run.json);
    assert_eq!(field(run, "msk").as_str().map(str::len), Some(128));
    assert_eq!(field(run, "session_id").as_str().map(str::len), Some(130));
    assert!(field(run, "session_id").as_str().unwrap().starts_with("0d"));
}

fn assert_refused(run: &AgentRun, what: &str) {
    assert_eq!(
        run.code, 1,
        "{what}: expected exit 1: {}\n{}",
        run.json, run.stderr
    );
    assert_eq!(field(run, "transaction_state"), "Failed", "{what}");
    assert!(field(run, "msk").is_null(), "{what}: no keys on failure");
}

/// The rows every server goes through; returns the table lines to print.
fn matrix(name: &str, dir: &Scratch, pki: &Pki, port: u16, server_log: &dyn Fn() -> String) -> Vec<String> {
    let mut rows = Vec::new();
    for (tls, version) in [("1.2", "TLSv1.2"), ("1.3", "TLSv1.3")] {
        let run = agent(
            dir,
            port,
            &["--tls", tls, "--domain-suffix-match", "example.org"],
            &pki.ca,
            &pki.client_cert,
            &pki.client_key,
        );
        assert_accepted(&run, version);
        let msk = field(&run, "msk").as_str().unwrap().to_owned();
        let logged = hostapd_msk(&server_log());
        if name == "hostapd" {
            assert_eq!(
                logged.as_deref(),
                Some(msk.as_str()),
                "MSK differs from hostapd's EAP-TLS: Derived key"
            );
        }
        let (ok, trips, mppe) = eapol_test(dir, pki, port, tls == "1.3");
        assert!(ok, "eapol_test failed against {name} with TLS {tls}");
        assert!(mppe.starts_with("MPPE keys OK: 1"), "eapol_test: {mppe}");
        // Same server, same fragment size (1398): the same number of RADIUS round trips.
        assert_eq!(
            field(&run, "round_trips").as_u64(),
            Some(trips as u64),
            "round trips vs eapol_test"
        );
        rows.push(format!(
            "{name:<10} TLS {tls}  accept        -> Authenticated, {} {}, MSK == MS-MPPE keys{}, round trips agent {} / eapol_test {trips} ({mppe})",
            field(&run, "tls_version").as_str().unwrap(),
            field(&run, "cipher_suite").as_str().unwrap(),
            if logged.is_some() { ", == server's Derived key" } else { "" },
            field(&run, "round_trips"),
        ));

        // Fragmentation both ways: 300-byte fragments.
        let run = agent(
            dir,
            port,
            &["--tls", tls, "--fragment-size", "300"],
            &pki.ca,
            &pki.client_cert,
            &pki.client_key,
        );
        assert_accepted(&run, version);
        rows.push(format!(
            "{name:<10} TLS {tls}  frag 300      -> Authenticated, round trips {}",
            field(&run, "round_trips")
        ));

        let run = agent(
            dir,
            port,
            &["--tls", tls],
            &pki.ca,
            &pki.other_client_cert,
            &pki.other_client_key,
        );
        assert_refused(&run, "client certificate from another CA");
        assert_eq!(field(&run, "radius"), "Access-Reject");
        rows.push(format!(
            "{name:<10} TLS {tls}  wrong client  -> rejected by server ({})",
            field(&run, "failure").as_str().unwrap_or("")
        ));

        let run = agent(
            dir,
            port,
            &["--tls", tls],
            &pki.other_ca,
            &pki.client_cert,
            &pki.client_key,
        );
        assert_refused(&run, "server from an untrusted CA");
        let why = field(&run, "failure").as_str().unwrap_or("").to_owned();
        assert!(
            why.contains("certificate") || why.contains("Certificate"),
            "{why}"
        );
        rows.push(format!(
            "{name:<10} TLS {tls}  wrong CA      -> refused by phone ({why})"
        ));

        let run = agent(
            dir,
            port,
            &["--tls", tls, "--domain-suffix-match", "example.com"],
            &pki.ca,
            &pki.client_cert,
            &pki.client_key,
        );
        assert_refused(&run, "server name mismatch");
        rows.push(format!(
            "{name:<10} TLS {tls}  name mismatch -> refused by phone ({})",
            field(&run, "failure").as_str().unwrap_or("")
        ));
    }
    rows
}

#[test]
fn hostapd_radius_server() {
    let hostapd = require("hostapd", "hostapd");
    let dir = Scratch::new("hostapd");
    let pki = pki(&dir);
    let port = free_udp_port();
    dir.write("clients", format!("127.0.0.1/32 {SECRET}\n"));
    dir.write("eap_users", "* TLS\n");
    let conf = dir.write(
        "hostapd.conf",
        format!(
            "driver=none\ninterface=dot1xas{port}\nradius_server_clients={}\nradius_server_auth_port={port}\n\
             eap_server=1\neap_user_file={}\nca_cert={}\nserver_cert={}\nprivate_key={}\ntls_flags=[ENABLE-TLSv1.3]\n",
            dir.path("clients").display(),
            dir.path("eap_users").display(),
            pki.ca.display(),
            pki.server_cert.display(),
            pki.server_key.display(),
        ),
    );
    let mut cmd = Command::new(hostapd);
    cmd.arg("-ddK").arg(&conf);
    let server = start(cmd, dir.path("hostapd.log"), port);
    let rows = matrix("hostapd", &dir, &pki, port, &|| server.log());
    println!("{}", rows.join("\n"));
}

#[test]
fn freeradius_server() {
    let freeradius = require("freeradius", "freeradius");
    let dir = Scratch::new("freeradius");
    let pki = pki(&dir);
    let port = free_udp_port();
    let raddb = dir.path("raddb");
    let status = Command::new("cp")
        .arg("-a")
        .arg("/etc/freeradius/3.0")
        .arg(&raddb)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "copying /etc/freeradius/3.0 (from the freeradius package)"
    );
    // radiusd.conf: run as the current user, logs and run files in the scratch directory.
    let conf_path = raddb.join("radiusd.conf");
    let conf = std::fs::read_to_string(&conf_path).unwrap();
    let conf: String = conf
        .lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("user =") || t.starts_with("group =") {
                format!("#{l}")
            } else if t.starts_with("logdir =") {
                format!("logdir = {}", dir.0.display())
            } else if t.starts_with("run_dir =") {
                format!("run_dir = {}", dir.0.display())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&conf_path, conf).unwrap();
    std::fs::write(
        raddb.join("clients.conf"),
        format!("client localhost {{\n ipaddr = 127.0.0.1\n secret = {SECRET}\n}}\n"),
    )
    .unwrap();
    for entry in std::fs::read_dir(raddb.join("sites-enabled")).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    std::fs::write(
        raddb.join("sites-enabled/dot1x"),
        format!(
            "server dot1x {{\n listen {{\n  type = auth\n  ipaddr = 127.0.0.1\n  port = {port}\n }}\n \
             authorize {{\n  eap {{\n   ok = return\n  }}\n }}\n authenticate {{\n  eap\n }}\n post-auth {{\n }}\n}}\n"
        ),
    )
    .unwrap();
    let _ = std::fs::remove_file(raddb.join("mods-enabled/eap"));
    // default_eap_type md5 (Debian's default) makes the phone send a Nak for EAP-TLS.
    std::fs::write(
        raddb.join("mods-enabled/eap"),
        format!(
            "eap {{\n default_eap_type = md5\n timer_expire = 60\n ignore_unknown_eap_types = no\n max_sessions = 64\n \
             md5 {{\n }}\n tls-config tls-common {{\n  private_key_file = {}\n  certificate_file = {}\n  ca_file = {}\n  \
             cipher_list = \"DEFAULT\"\n  tls_min_version = \"1.2\"\n  tls_max_version = \"1.3\"\n  \
             cache {{\n   enable = no\n  }}\n  ocsp {{\n   enable = no\n  }}\n }}\n tls {{\n  tls = tls-common\n }}\n}}\n",
            pki.server_key.display(),
            pki.server_cert.display(),
            pki.ca.display(),
        ),
    )
    .unwrap();
    let mut cmd = Command::new(freeradius);
    cmd.arg("-X").arg("-d").arg(&raddb);
    let server = start(cmd, dir.path("freeradius.log"), port);
    let rows = matrix("FreeRADIUS", &dir, &pki, port, &|| server.log());
    println!("{}", rows.join("\n"));
}
