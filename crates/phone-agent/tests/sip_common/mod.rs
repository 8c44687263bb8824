//! What the SIP interop tests and the daemon's tests share: scratch directories, free loopback
//! ports, bounded polls, and Kamailio (tests/kamailio/registrar.cfg: one credential
//! alice/secret, mediasec client- or server-initiated, UDP+TCP and optionally TLS) started on
//! free ports and stopped by its process group.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)] // each test file uses a part

use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sip_message::Transport;

/// A peer's binary in the system directories; panics naming the Debian package otherwise.
pub fn binary(name: &str, package: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed: install the Debian package `{package}` (.ci/run does)")
        })
}

/// A fresh directory `phone-agent-<kind>-<pid>-<name>` for one test's files.
pub fn workdir(kind: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phone-agent-{kind}-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port free for both UDP and TCP on 127.0.0.1.
pub fn free_port() -> u16 {
    loop {
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `f` every 50 ms until it gives `Some`, at most `limit`.
pub fn poll<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Kamailio's mediasec mode in the script.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mediasec {
    /// The phone offers; the 401 carries Security-Server; Security-Verify checked.
    Client,
    /// A REGISTER offering nothing gets 421 + Require: mediasec.
    Server,
}

/// How to start Kamailio.
pub struct KamailioConfig {
    /// UDP and TCP port (a free one when `None`).
    pub port: Option<u16>,
    /// A TLS listener on a free port, with a certificate for 127.0.0.1 from `dir/ca.pem`
    /// (written by [`issue`]).
    pub tls: bool,
    /// Client- or server-initiated mediasec.
    pub mediasec: Mediasec,
}

/// A running Kamailio, stopped (SIGTERM to its process group, then SIGKILL) when dropped.
pub struct Kamailio {
    child: Child,
    pub dir: PathBuf,
    pub port: u16,
    pub tls_port: Option<u16>,
}

/// A CA (`ca.pem`) and a server certificate for 127.0.0.1 it signs (`cert.pem`, `key.pem`).
pub fn issue(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
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
    /// Kamailio in `dir` (its config, log `kamailio.log` appended to, ctl socket), waited for
    /// (bounded) until it accepts on every port and its ctl socket exists.
    pub fn start(dir: &Path, config: &KamailioConfig) -> Kamailio {
        let port = config.port.unwrap_or_else(free_port);
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kamailio/registrar.cfg"),
        )
        .unwrap();
        let (template, tls_port) = if config.tls {
            issue(dir);
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
            let tls_port = free_port();
            (
                template
                    .replace("@TLS_PORT@", &tls_port.to_string())
                    .replace("@TLS_CFG@", &tls_cfg.display().to_string()),
                Some(tls_port),
            )
        } else {
            // No TLS listener: the tls module is not loaded.
            (
                template
                    .replace("listen=tls:127.0.0.1:@TLS_PORT@\n", "")
                    .replace("enable_tls=yes", "enable_tls=no")
                    .replace("loadmodule \"tls.so\"\n", "")
                    .replace("modparam(\"tls\", \"config\", \"@TLS_CFG@\")\n", ""),
                None,
            )
        };
        let cfg = template
            .replace("@PORT@", &port.to_string())
            .replace("@DOMAIN@", "127.0.0.1")
            .replace("@USER@", "alice")
            .replace("@PASSWORD@", "secret")
            .replace("@CTL@", &dir.join("ctl").display().to_string())
            .replace(
                "@MEDIASEC@",
                match config.mediasec {
                    Mediasec::Client => "client",
                    Mediasec::Server => "server",
                },
            );
        let path = dir.join("kamailio.cfg");
        std::fs::write(&path, cfg).unwrap();
        let _ = std::fs::remove_file(dir.join("ctl"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("kamailio.log"))
            .unwrap();
        let child = {
            use std::os::unix::process::CommandExt;
            Command::new(binary("kamailio", "kamailio"))
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
        let up = poll(Duration::from_secs(15), || {
            if let Ok(Some(status)) = k.child.try_wait() {
                panic!("kamailio exited ({status}):\n{}", k.log());
            }
            let listening = TcpStream::connect(("127.0.0.1", port)).is_ok()
                && tls_port.is_none_or(|p| TcpStream::connect(("127.0.0.1", p)).is_ok());
            (listening && dir.join("ctl").exists()).then_some(())
        });
        assert!(up.is_some(), "kamailio did not start:\n{}", k.log());
        k
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("kamailio.log")).unwrap_or_default()
    }

    /// The port for transport `t`.
    pub fn proxy_port(&self, t: Transport) -> u16 {
        match (t, self.tls_port) {
            (Transport::Tls, Some(p)) => p,
            _ => self.port,
        }
    }

    /// The REGISTERs Kamailio logged from `port`, with their Expires header.
    pub fn registers_from(&self, port: u16) -> Vec<String> {
        let from = format!("from 127.0.0.1:{port} expires=[");
        self.log()
            .lines()
            .filter(|l| l.contains("REGISTER over") && l.contains(&from))
            .map(|l| {
                l.split_once("expires=[")
                    .and_then(|(_, r)| r.split_once(']'))
                    .map_or(String::new(), |(e, _)| e.to_owned())
            })
            .collect()
    }

    /// The bindings Kamailio holds, as `kamcmd ul.dump` prints them.
    pub fn bindings(&self) -> String {
        let o = Command::new(binary("kamcmd", "kamailio"))
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

    /// SIGKILL to its process group (a registrar that vanishes).
    pub fn kill(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Kamailio {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }
}
