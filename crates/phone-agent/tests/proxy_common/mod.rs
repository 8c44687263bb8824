//! What the proxy interop tests share: temporary directories, free ports, finding a peer's
//! binary, loopback HTTP and HTTPS origins (a rustls server thread with rcgen certificates),
//! cfg.xml files, and running the agent.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory named after the test process, writable by the daemons' own users
/// (squid and tinyproxy started as root drop privileges).
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("phone-agent-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    dir
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The path of a peer's binary; panics naming the Debian package when it is missing.
pub fn find_program(name: &str, package: &str) -> PathBuf {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{name}` not found: install the Debian package {package} (.ci/run does)");
}

/// A peer process, killed by PID when dropped, with its directory removed.
pub struct Daemon {
    pub child: Child,
    pub dir: PathBuf,
}

impl Daemon {
    /// Starts `command` (output discarded) and waits until it listens on TCP `port`; `log` is
    /// shown if it exits first.
    pub fn spawn(what: &str, mut command: Command, dir: PathBuf, log: &Path, port: u16) -> Daemon {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut daemon = Daemon { child, dir };
        daemon.wait_until(what, log, || listening(port));
        daemon
    }

    /// Waits (bounded) until `ready` holds, failing with `log` if the process exits first.
    pub fn wait_until(&mut self, what: &str, log: &Path, mut ready: impl FnMut() -> bool) {
        let started = Instant::now();
        while !ready() {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                panic!("{what} exited ({status}) before it was ready:\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{what} was not ready within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether something accepts TCP connections on the loopback port.
pub fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// A loopback HTTP origin: `/proxy.pac` serves `pac`; anything else answers with the `Via`
/// header and the request target it received, so a test can tell whether and how the request
/// came through a proxy.
pub fn origin(pac: String) -> u16 {
    origin_on(TcpListener::bind("127.0.0.1:0").unwrap(), pac)
}

/// [`origin`] on a listener of the caller's (`/wpad.dat` serves the PAC too); returns its port.
pub fn origin_on(listener: TcpListener, pac: String) -> u16 {
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let pac = pac.clone();
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                let mut writer = stream.try_clone().unwrap();
                serve(BufReader::new(stream), &mut writer, &pac);
            });
        }
    });
    port
}

/// Certificates for an HTTPS origin on 127.0.0.1: the CA that signed it and one that did not.
pub struct OriginPki {
    pub ca_pem: PathBuf,
    pub other_ca_pem: PathBuf,
    config: Arc<rustls::ServerConfig>,
}

fn ca(name: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

impl OriginPki {
    /// A CA, a server certificate for `127.0.0.1` and `localhost` signed by it, and an
    /// unrelated CA; the CA files are written to `dir`.
    pub fn new(dir: &Path) -> OriginPki {
        let (ca_cert, ca_key) = ca("proxy test origin CA");
        let (other, _) = ca("some other CA");
        let mut p =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
        p.distinguished_name.push(rcgen::DnType::CommonName, "127.0.0.1");
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = p.signed_by(&key, &ca_cert, &ca_key).unwrap();
        let ca_pem = dir.join("origin-ca.pem");
        let other_ca_pem = dir.join("other-ca.pem");
        std::fs::write(&ca_pem, ca_cert.pem()).unwrap();
        std::fs::write(&other_ca_pem, other.pem()).unwrap();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
            )
            .unwrap();
        OriginPki {
            ca_pem,
            other_ca_pem,
            config: Arc::new(config),
        }
    }

    /// An HTTPS origin on a free loopback port answering like [`origin`].
    pub fn origin(&self, pac: String) -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = self.config.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let pac = pac.clone();
                let config = config.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let Ok(conn) = rustls::ServerConnection::new(config) else {
                        return;
                    };
                    let mut tls = rustls::StreamOwned::new(conn, stream);
                    // Handshake first: a client that refuses the certificate ends here.
                    while tls.conn.is_handshaking() {
                        if tls.conn.complete_io(&mut tls.sock).is_err() {
                            return;
                        }
                    }
                    let mut request = Vec::new();
                    let mut byte = [0u8; 1];
                    while !request.ends_with(b"\r\n\r\n") && request.len() < 16 * 1024 {
                        match tls.read(&mut byte) {
                            Ok(1) => request.push(byte[0]),
                            _ => return,
                        }
                    }
                    let mut out = Vec::new();
                    serve(BufReader::new(request.as_slice()), &mut out, &pac);
                    let _ = tls.write_all(&out);
                    tls.conn.send_close_notify();
                    let _ = tls.conn.complete_io(&mut tls.sock);
                });
            }
        });
        port
    }
}

fn serve(mut reader: impl BufRead, out: &mut impl Write, pac: &str) {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut via = String::from("none");
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("via")
        {
            via = v.trim().to_owned();
        }
    }
    let target = request_line.split(' ').nth(1).unwrap_or("").to_owned();
    let (content_type, body) = if target.ends_with("/proxy.pac") || target.ends_with("/wpad.dat") {
        ("application/x-ns-proxy-autoconfig", pac.to_owned())
    } else {
        (
            "text/plain",
            format!("origin saw target: {target}\norigin saw via: {via}\n"),
        )
    };
    let _ = write!(
        out,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// A cfg.xml with these elements in `dir`, named `name`.
pub fn cfg_named(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("<flat-profile>\n{body}\n</flat-profile>\n")).unwrap();
    path
}

/// `cfg.xml` in `dir` with these elements.
pub fn cfg(dir: &Path, body: &str) -> PathBuf {
    cfg_named(dir, "cfg.xml", body)
}

/// A Manual-mode cfg.xml for a proxy on 127.0.0.1:`port`, with Basic credentials if given.
pub fn manual_cfg(dir: &Path, port: u16, auth: Option<(&str, &str)>) -> PathBuf {
    let (name, auth) = match auth {
        Some((u, p)) => (
            format!("manual-{u}-{p}.xml"),
            format!(
                "<Proxy_Server_Requires_Authentication>Yes</Proxy_Server_Requires_Authentication>\n\
                 <Proxy_Username>{u}</Proxy_Username>\n<Proxy_Password>{p}</Proxy_Password>"
            ),
        ),
        None => ("manual.xml".to_owned(), String::new()),
    };
    cfg_named(
        dir,
        &name,
        &format!(
            "<Proxy_Mode>Manual</Proxy_Mode>\n<Proxy_Host>127.0.0.1</Proxy_Host>\n<Proxy_Port>{port}</Proxy_Port>\n{auth}"
        ),
    )
}

/// An Auto-mode cfg.xml with this PAC_URL.
pub fn auto_cfg(dir: &Path, pac_url: &str) -> PathBuf {
    cfg(
        dir,
        &format!(
            "<Proxy_Mode>Auto</Proxy_Mode>\n<Use_Auto_Discovery__WPAD_>No</Use_Auto_Discovery__WPAD_>\n\
             <PAC_URL>{pac_url}</PAC_URL>"
        ),
    )
}

/// Runs the agent.
pub fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .args(args)
        .output()
        .unwrap()
}

/// `phone-agent fetch --config CONFIG EXTRA... URL`.
pub fn fetch(config: &Path, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["fetch", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(url);
    agent(&args)
}

/// stdout or stderr as text.
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Asserts the agent succeeded and returns its stdout.
pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "phone-agent failed: {}", text(&out.stderr));
    text(&out.stdout)
}

/// Asserts the agent failed and returns its stderr.
pub fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "phone-agent succeeded: {}",
        text(&out.stdout)
    );
    text(&out.stderr)
}

/// Whether something is bound to UDP `port` on 127.0.0.1 (from `/proc/net/udp`).
pub fn udp_bound(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let local = format!("0100007F:{port:04X}");
    table
        .lines()
        .skip(1)
        .any(|l| l.split_whitespace().nth(1) == Some(local.as_str()))
}

/// tftpd-hpa's `in.tftpd` in the foreground on a free UDP port of 127.0.0.1, serving `dir`.
pub struct Tftpd {
    _daemon: Daemon,
    pub port: u16,
    pub dir: PathBuf,
}

impl Tftpd {
    /// Serves the files `(name, contents)` from a fresh directory.
    pub fn start(files: &[(&str, &[u8])]) -> Tftpd {
        let program = find_program("in.tftpd", "tftpd-hpa");
        let dir = temp_dir("tftpd");
        for (name, contents) in files {
            std::fs::write(dir.join(name), contents).unwrap();
        }
        let port = std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(program)
            .arg("-L")
            .arg("-a")
            .arg(format!("127.0.0.1:{port}"))
            .arg("-s")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut daemon = Daemon {
            child,
            dir: dir.clone(),
        };
        daemon.wait_until("in.tftpd", Path::new("/dev/null"), || udp_bound(port));
        Tftpd {
            _daemon: daemon,
            port,
            dir,
        }
    }
}

/// A squid on loopback (Debian `squid`, `apache2-utils` for htpasswd), killed on drop.
pub struct Squid {
    pub daemon: Daemon,
    pub port: u16,
}

impl Squid {
    /// squid on a free port; CONNECT only to 443 and `ssl_ports`.
    pub fn start(auth: Option<(&str, &str)>, ssl_ports: &[u16]) -> Squid {
        Squid::start_with(auth, false, ssl_ports)
    }

    /// With HTTP Digest proxy authentication (squid's digest_file_auth, MD5) instead of Basic.
    pub fn start_digest(user: &str, password: &str, ssl_ports: &[u16]) -> Squid {
        Squid::start_with(Some((user, password)), true, ssl_ports)
    }

    fn start_with(auth: Option<(&str, &str)>, digest: bool, ssl_ports: &[u16]) -> Squid {
        let squid = find_program("squid", "squid");
        let dir = temp_dir("squid");
        let port = free_port();
        let ports: Vec<String> = ssl_ports.iter().map(u16::to_string).collect();
        let mut conf = format!(
            "http_port 127.0.0.1:{port}\n\
             visible_hostname paclab-squid\n\
             pid_filename {d}/squid.pid\n\
             cache_log {d}/cache.log\n\
             access_log stdio:{d}/access.log\n\
             cache deny all\n\
             cache_mem 8 MB\n\
             coredump_dir {d}\n\
             shutdown_lifetime 1 seconds\n\
             acl SSL_ports port 443 {ports}\n\
             acl CONNECT method CONNECT\n\
             http_access deny CONNECT !SSL_ports\n",
            d = dir.display(),
            ports = ports.join(" ")
        );
        if let Some((user, password)) = auth {
            let (scheme, helper, passwd) = if digest {
                // digest_file_auth reads `user:password` lines (plain text).
                let passwd = dir.join("digest-passwd");
                std::fs::write(&passwd, format!("{user}:{password}\n")).unwrap();
                ("digest", "digest_file_auth", passwd)
            } else {
                let passwd = dir.join("passwd");
                let status = Command::new(find_program("htpasswd", "apache2-utils"))
                    .args(["-bc"])
                    .arg(&passwd)
                    .args([user, password])
                    .stderr(Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success(), "htpasswd failed");
                ("basic", "basic_ncsa_auth", passwd)
            };
            conf.push_str(&format!(
                "auth_param {scheme} program /usr/lib/squid/{helper} {}\n\
                 auth_param {scheme} realm paclab\n\
                 acl authed proxy_auth REQUIRED\n\
                 http_access allow localhost authed\n",
                passwd.display()
            ));
        } else {
            conf.push_str("http_access allow localhost\n");
        }
        conf.push_str("http_access deny all\n");
        let conf_path = dir.join("squid.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut command = Command::new(squid);
        command.arg("-N").arg("-f").arg(&conf_path);
        let log = dir.join("cache.log");
        let daemon = Daemon::spawn("squid", command, dir, &log, port);
        Squid { daemon, port }
    }

    /// squid writes an access-log entry when it sees the transaction end, which can be after
    /// the client process has exited: wait (bounded) for the entry instead of reading once.
    pub fn access_log_with(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let log = self.access_log();
            if log.contains(needle) || started.elapsed() > Duration::from_secs(10) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.daemon.dir.join("access.log")).unwrap_or_default()
    }
}
