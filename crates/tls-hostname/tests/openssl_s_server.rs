//! Real peer: `openssl s_server` presents certificates made here (rcgen, and the OpenSSL CLI
//! for a v1 certificate); a rustls client with `ServerIdentityVerifier` connects to it on
//! loopback. The matrix is profile × certificate × host name → accept / reject.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, ServerName};
use tls_hostname::{Profile, ServerIdentityVerifier};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("tls-hostname-s_server-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::File::create(&p)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    p
}

/// Starts `openssl s_server` with this certificate and key; returns it and its port.
fn s_server(cert: &Path, key: &Path) -> (Server, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(cert)
        .arg("-key")
        .arg(key)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl s_server (Debian package openssl) must be installed");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "s_server did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

/// Handshakes with the server at `port` as `host`; Ok if the verifier accepted.
fn connect(port: u16, host: &str, root: &CertificateDer<'static>, profile: Profile) -> Result<(), String> {
    let verifier = ServerIdentityVerifier::new([root.clone()], profile).unwrap();
    let config =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned()).unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut sock).map_err(|e| e.to_string())?;
    }
    Ok(())
}

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    der: CertificateDer<'static>,
    pem: String,
    key_pem: String,
}

fn ca() -> Ca {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "interop test CA");
    let key = KeyPair::generate().unwrap();
    let cert = params.clone().self_signed(&key).unwrap();
    Ca {
        der: cert.der().clone(),
        pem: cert.pem(),
        key_pem: key.serialize_pem(),
        params,
        key,
    }
}

/// A leaf signed by `ca`: (cert PEM, key PEM).
fn leaf(ca: &Ca, sans: Vec<SanType>, cn: Option<&str>) -> (String, String) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = sans;
    params.distinguished_name = rcgen::DistinguishedName::new();
    match cn {
        Some("") => {} // empty subject
        Some(cn) => params.distinguished_name.push(DnType::CommonName, cn),
        None => params
            .distinguished_name
            .push(DnType::OrganizationName, "Example VoIP"),
    }
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let issuer = ca.params.clone().self_signed(&ca.key).unwrap();
    let cert = params.signed_by(&key, &issuer, &ca.key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn dns(s: &str) -> SanType {
    SanType::DnsName(s.try_into().unwrap())
}

/// A v1 leaf made by the OpenSSL CLI (`x509 -req` without extensions).
fn v1_leaf(dir: &Path, ca: &Ca, cn: &str) -> (String, String) {
    let ca_cert = write(dir, "ca.pem", &ca.pem);
    let ca_key = write(dir, "ca.key", &ca.key_pem);
    let key = dir.join("v1.key");
    let csr = dir.join("v1.csr");
    let cert = dir.join("v1.pem");
    let ok = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
        ])
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&csr)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl req");
    let ok = Command::new("openssl")
        .args(["x509", "-req", "-days", "30", "-set_serial", "7"])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(&ca_cert)
        .arg("-CAkey")
        .arg(&ca_key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success();
    assert!(ok, "openssl x509 -req");
    (
        std::fs::read_to_string(cert).unwrap(),
        std::fs::read_to_string(key).unwrap(),
    )
}

/// (label, (certificate PEM, key PEM), host, accepted under [strict, phone, provisioning]).
type Case<'a> = (&'a str, (String, String), &'a str, [bool; 3]);

#[test]
fn s_server_matrix() {
    let dir = tempdir();
    let ca = ca();
    let ip: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    // (label, (cert, key), host, [strict, phone, provisioning])
    let cases: Vec<Case> = vec![
        (
            "SAN only",
            leaf(&ca, vec![dns("sip.example.com")], None),
            "sip.example.com",
            [true, true, true],
        ),
        (
            "SAN only, other host",
            leaf(&ca, vec![dns("sip.example.com")], None),
            "ldap.example.com",
            [false, false, false],
        ),
        (
            "CN only",
            leaf(&ca, vec![], Some("sprov.callme.com")),
            "sprov.callme.com",
            [false, true, true],
        ),
        (
            "CN host/mailto",
            leaf(&ca, vec![], Some("pv.telco.net/mailto:admin@telco.net")),
            "pv.telco.net",
            [false, false, true],
        ),
        (
            "wildcard",
            leaf(&ca, vec![dns("*.example.com")], None),
            "xsi.example.com",
            [true, true, true],
        ),
        (
            "wildcard, two labels",
            leaf(&ca, vec![dns("*.example.com")], None),
            "a.b.example.com",
            [false, false, false],
        ),
        (
            "IP SAN",
            leaf(&ca, vec![SanType::IpAddress(ip)], None),
            "127.0.0.1",
            [true, true, true],
        ),
        (
            "v1, CN",
            v1_leaf(&dir, &ca, "sprov.callme.com"),
            "sprov.callme.com",
            [false, false, false],
        ),
    ];
    let mut report = Vec::new();
    let mut wrong = Vec::new();
    for (i, (label, (cert, key), host, expect)) in cases.iter().enumerate() {
        let cert_path = write(&dir, &format!("leaf{i}.pem"), cert);
        let key_path = write(&dir, &format!("leaf{i}.key"), key);
        let (_server, port) = s_server(&cert_path, &key_path);
        for (p, want) in Profile::ALL.iter().zip(expect) {
            let got = connect(port, host, &ca.der, *p);
            report.push(format!(
                "{label:24} {host:20} {p:13} {}",
                if got.is_ok() { "accept" } else { "reject" }
            ));
            if got.is_ok() != *want {
                wrong.push(format!("{label} / {host} / {p}: {got:?}"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!("{}", report.join("\n"));
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
