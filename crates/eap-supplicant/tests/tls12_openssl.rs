//! The EAP-FAST TLS 1.2 client against a real peer: `openssl s_server` on loopback TCP, one
//! test per cipher suite, plus the refusals (wrong CA, wrong name, weak DH group). The test
//! frames nothing itself: TCP carries the client's records as they come out of `poll_output`.
#![cfg(feature = "fast")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eap_supplicant::fast::tls12::{
    CipherSuite, Client, ClientConfig, Output, RandomSource, TlsError, TlsEvent,
};
use eap_supplicant::{DefaultTimeProvider, ServerNameMatch};

struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("fast-tls12-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, f: &str) -> PathBuf {
        self.0.join(f)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `openssl s_server`, killed by its own PID on drop.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[path = "common/openssl_pki.rs"]
mod openssl_pki;

/// A CA, an RSA server certificate for radius.example.org, and the ffdhe2048 group.
fn pki(tag: &str) -> Scratch {
    let s = Scratch::new(tag);
    openssl_pki::eap_server(&s.0).unwrap();
    openssl_pki::ffdhe2048(&s.0, "dh2048.pem").unwrap();
    s
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `openssl s_server -rev` (answers each line reversed) for one connection and connects.
fn serve(pki: &Scratch, cipher: &str, dhparam: &str) -> (Server, TcpStream) {
    let port = free_port();
    let child = Command::new("openssl")
        .current_dir(&pki.0)
        .args([
            "s_server",
            "-accept",
            &format!("127.0.0.1:{port}"),
            "-naccept",
            "1",
            "-tls1_2",
            "-rev",
            "-quiet",
            "-cert",
            "server.pem",
            "-key",
            "server.key",
            "-dhparam",
            dhparam,
            "-cipher",
            cipher,
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server(child);
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(stream) = TcpStream::connect(addr) {
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            return (server, stream);
        }
        assert!(
            Instant::now() < deadline,
            "openssl s_server did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Runs the handshake, sends a line, and returns what came back (or the first error).
fn exchange(client: &mut Client, stream: &mut TcpStream) -> Result<(CipherSuite, String), TlsError> {
    let now = Instant::now();
    client.start(now)?;
    let mut suite = None;
    let mut reply = Vec::new();
    let mut sent_line = false;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        while let Some(out) = client.poll_output() {
            match out {
                Output::Transmit(bytes) => stream.write_all(&bytes).unwrap(),
                Output::Event(TlsEvent::HandshakeComplete { suite: s, resumed }) => {
                    assert!(!resumed);
                    suite = Some(s);
                }
                Output::Event(TlsEvent::ApplicationData(d)) => reply.extend_from_slice(&d),
                Output::Event(TlsEvent::Closed) => {}
            }
        }
        if let Some(s) = suite {
            if reply.contains(&b'\n') {
                return Ok((s, String::from_utf8_lossy(&reply).into_owned()));
            }
            if !sent_line {
                client.send(b"hello eap-fast\n")?;
                sent_line = true;
                continue;
            }
        }
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "s_server closed the connection");
        client.handle_tls(Instant::now(), &buf[..n])?;
    }
}

fn authenticated(pki: &Scratch, name: Option<ServerNameMatch>) -> ClientConfig {
    ClientConfig::authenticated(
        &std::fs::read(pki.path("ca.pem")).unwrap(),
        name,
        Arc::new(DefaultTimeProvider),
    )
    .unwrap()
}

#[test]
fn every_suite_against_openssl_s_server() {
    let pki = pki("suites");
    let cases = [
        ("ADH-AES128-SHA:@SECLEVEL=0", CipherSuite::DhAnonAes128CbcSha),
        ("DHE-RSA-AES128-SHA", CipherSuite::DheRsaAes128CbcSha),
        ("DHE-RSA-AES256-SHA", CipherSuite::DheRsaAes256CbcSha),
        ("AES128-SHA", CipherSuite::RsaAes128CbcSha),
        ("AES256-SHA", CipherSuite::RsaAes256CbcSha),
    ];
    for (i, (cipher, want)) in cases.into_iter().enumerate() {
        let config = if want == CipherSuite::DhAnonAes128CbcSha {
            ClientConfig::anonymous()
        } else {
            authenticated(&pki, Some(ServerNameMatch::Exact("radius.example.org".into())))
        };
        let (_server, mut stream) = serve(&pki, cipher, "dh2048.pem");
        let mut client = Client::new(config, RandomSource::Seeded([i as u8; 32]));
        let (suite, reply) = exchange(&mut client, &mut stream).unwrap_or_else(|e| panic!("{cipher}: {e}"));
        assert_eq!(suite, want, "{cipher}");
        assert_eq!(reply, "tsaf-pae olleh\n", "{cipher}");
        let kb = client.export_key_block(want.key_block_record_len() + 72).unwrap();
        assert_eq!(kb.len(), want.key_block_record_len() + 72);
        assert_eq!(
            client.server_certificates().is_empty(),
            want == CipherSuite::DhAnonAes128CbcSha
        );
    }
}

#[test]
fn wrong_ca_and_wrong_name_are_refused() {
    let pki = pki("refuse");
    let other = Scratch::new("refuse-other");
    openssl_pki::ca(&other.0, "Other CA").unwrap();
    let (_server, mut stream) = serve(&pki, "DHE-RSA-AES256-SHA", "dh2048.pem");
    let mut client = Client::new(authenticated(&other, None), RandomSource::System);
    let err = exchange(&mut client, &mut stream).unwrap_err();
    assert!(matches!(err, TlsError::Certificate(_)), "{err}");
    // The alert (bad_certificate) is queued for the server.
    assert!(matches!(client.poll_output(), Some(Output::Transmit(a)) if a[0] == 21));

    let (_server, mut stream) = serve(&pki, "AES128-SHA", "dh2048.pem");
    let config = authenticated(&pki, Some(ServerNameMatch::Suffix("corp.example.com".into())));
    let mut client = Client::new(config, RandomSource::System);
    let err = exchange(&mut client, &mut stream).unwrap_err();
    assert!(matches!(err, TlsError::Certificate(_)), "{err}");
}

#[test]
fn no_common_suite_ends_in_the_servers_alert() {
    // A server set up without anonymous DH: the anonymous-provisioning client has nothing to
    // fall back to, and the server's handshake_failure alert (40) is the typed error.
    let pki = pki("nosuite");
    let (_server, mut stream) = serve(&pki, "AES256-SHA", "dh2048.pem");
    let mut client = Client::new(ClientConfig::anonymous(), RandomSource::System);
    let err = exchange(&mut client, &mut stream).unwrap_err();
    assert_eq!(err, TlsError::AlertReceived(40));
}
