//! `phone-agent verify-name` against certificate files and against a real `openssl s_server`
//! (Debian package `openssl`) presenting certificates made here with rcgen.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("phone-agent-verify-name-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .arg("verify-name")
        .args(args)
        .output()
        .unwrap()
}

struct Issued {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

/// A CA and a leaf it signs with these SANs and subject CN.
fn issue(sans: &[&str], cn: &str) -> Issued {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "verify-name test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = sans
        .iter()
        .map(|s| SanType::DnsName((*s).try_into().unwrap()))
        .collect();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, cn);
    // The strict profile requires an authority key identifier (RFC 5280 4.2.1.1).
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    Issued {
        ca_pem: ca.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn s_server(dir: &Path, issued: &Issued) -> (Peer, u16) {
    std::fs::write(dir.join("cert.pem"), &issued.cert_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &issued.key_pem).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.join("cert.pem"))
        .arg("-key")
        .arg(dir.join("key.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the openssl CLI (Debian package openssl) must be installed: .ci/run installs it");
    let peer = Peer(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "openssl s_server did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (peer, port)
}

#[test]
fn certificate_file_per_profile() {
    let dir = scratch("file");
    let issued = issue(&[], "pv.telco.net/mailto:admin@telco.net");
    let cert = dir.join("prov.pem");
    std::fs::write(&cert, &issued.cert_pem).unwrap();
    let cert = cert.to_str().unwrap();
    for (profile, code) in [("strict", 1), ("phone", 1), ("provisioning", 0)] {
        let o = agent(&["--cert", cert, "--host", "pv.telco.net", "--profile", profile]);
        assert_eq!(
            o.status.code(),
            Some(code),
            "{profile}: {}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
    let o = agent(&[
        "--json",
        "--cert",
        cert,
        "--host",
        "pv.telco.net",
        "--profile",
        "provisioning",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["matched"]["type"], "CN host/extra");
    assert_eq!(doc["matched"]["host"], "pv.telco.net");
    let o = agent(&["--json", "--cert", cert, "--host", "pv.telco.net"]);
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["match"], false);
    assert_eq!(doc["presented"][0], "CN=pv.telco.net/mailto:admin@telco.net");
    // Errors: exit 2.
    assert_eq!(
        agent(&["--cert", "/nonexistent.pem", "--host", "a.example"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        agent(&["--cert", cert, "--host", "bad host!"]).status.code(),
        Some(2)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn real_handshake_with_openssl_s_server() {
    let dir = scratch("connect");
    let issued = issue(&["sip.voiceip.com"], "sip.voiceip.com");
    let (_peer, port) = s_server(&dir, &issued);
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &issued.ca_pem).unwrap();
    let ca = ca.to_str().unwrap();
    let target = format!("127.0.0.1:{port}");

    let o = agent(&[
        "--json",
        "--connect",
        &target,
        "--host",
        "sip.voiceip.com",
        "--ca",
        ca,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stdout));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["matched"],
        serde_json::json!({ "type": "dNSName", "name": "sip.voiceip.com" })
    );

    // The same server reached under another name: refused, with the names it had.
    let o = agent(&["--connect", &target, "--host", "other.voiceip.com", "--ca", ca]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("DNS:sip.voiceip.com"), "{out}");

    // A CA that did not issue the certificate: the chain is refused.
    let other = issue(&["x.example"], "x");
    let other_ca = dir.join("other-ca.pem");
    std::fs::write(&other_ca, &other.ca_pem).unwrap();
    let o = agent(&[
        "--connect",
        &target,
        "--host",
        "sip.voiceip.com",
        "--ca",
        other_ca.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(1));
    // Same CA name, another key: webpki finds the issuer by name and refuses its signature.
    assert!(
        String::from_utf8_lossy(&o.stdout)
            .contains("refused: certificate chain: InvalidSignatureForPublicKey"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );

    // Nothing listening: an error, exit 2.
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = agent(&[
        "--connect",
        &format!("127.0.0.1:{closed}"),
        "--host",
        "sip.voiceip.com",
        "--ca",
        ca,
    ]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(dir).unwrap();
}
