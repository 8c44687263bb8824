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

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

const AGENT: &str = env!("CARGO_BIN_EXE_phone-agent");

fn binary(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed: install the Debian packages `kamailio` and `kamailio-tls-modules` (.ci/run does)")
        })
}

fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phone-agent-kamailio-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port free for both UDP and TCP on 127.0.0.1.
fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

use sip_message::Transport;

/// Kamailio's mediasec mode in the script.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mediasec {
    /// The phone offers; the 401 carries Security-Server; Security-Verify checked.
    Client,
    /// A REGISTER offering nothing gets 421 + Require: mediasec.
    Server,
}

/// A running Kamailio, stopped (SIGTERM to its process group, then SIGKILL) when dropped.
struct Kamailio {
    child: Child,
    dir: PathBuf,
    port: u16,
    tls_port: u16,
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

/// A CA (`ca.pem`) and a server certificate for 127.0.0.1 it signs.
fn issue(dir: &Path) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "kamailio interop test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = vec![SanType::IpAddress("127.0.0.1".parse().unwrap())];
    params.distinguished_name = rcgen::DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
}

impl Kamailio {
    fn start(dir: &Path, mediasec: Mediasec) -> Kamailio {
        issue(dir);
        let (port, tls_port) = (free_port(), free_port());
        let tls_cfg = dir.join("tls.cfg");
        std::fs::write(
            &tls_cfg,
            format!(
                "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n\
                 private_key = {}\ncertificate = {}\n",
                dir.join("key.pem").display(),
                dir.join("cert.pem").display()
            ),
        )
        .unwrap();
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/registrar.cfg"),
        )
        .unwrap();
        let cfg = template
            .replace("@PORT@", &port.to_string())
            .replace("@TLS_PORT@", &tls_port.to_string())
            .replace("@DOMAIN@", "127.0.0.1")
            .replace("@USER@", "alice")
            .replace("@PASSWORD@", "secret")
            .replace("@CTL@", &dir.join("ctl").display().to_string())
            .replace("@TLS_CFG@", &tls_cfg.display().to_string())
            .replace(
                "@MEDIASEC@",
                match mediasec {
                    Mediasec::Client => "client",
                    Mediasec::Server => "server",
                },
            );
        let path = dir.join("kamailio.cfg");
        std::fs::write(&path, cfg).unwrap();
        let log = std::fs::File::create(dir.join("kamailio.log")).unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(binary("kamailio"))
                .arg("-f")
                .arg(&path)
                .args(["-DD", "-E", "-m", "32", "-M", "8", "-Y"])
                .arg(dir)
                .arg("-P")
                .arg(dir.join("kamailio.pid"))
                .arg("-w")
                .arg(dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("starting kamailio")
        };
        let mut k = Kamailio {
            child,
            dir: dir.to_owned(),
            port,
            tls_port,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let up = TcpStream::connect(("127.0.0.1", tls_port)).is_ok()
                && TcpStream::connect(("127.0.0.1", port)).is_ok()
                && dir.join("ctl").exists();
            if up {
                break;
            }
            if let Ok(Some(status)) = k.child.try_wait() {
                panic!("kamailio exited ({status}):\n{}", k.log());
            }
            assert!(Instant::now() < deadline, "kamailio did not start:\n{}", k.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        k
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }

    fn proxy_port(&self, t: Transport) -> u16 {
        if t == Transport::Tls {
            self.tls_port
        } else {
            self.port
        }
    }

    /// The bindings Kamailio holds, as `kamcmd ul.dump` prints them.
    fn bindings(&self) -> String {
        let o = Command::new(binary("kamcmd"))
            .arg("-s")
            .arg(format!("unix:{}", self.dir.join("ctl").display()))
            .arg("ul.dump")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "kamcmd: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
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
    let k = Kamailio::start(&dir, Mediasec::Client);
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
    let k = Kamailio::start(&dir, Mediasec::Client);
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
    let k = Kamailio::start(&dir, Mediasec::Server);
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
    let k = Kamailio::start(&dir, Mediasec::Client);
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
    let k = Kamailio::start(&dir, Mediasec::Client);
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
