//! The VPN lab shared by the ocserv and openconnect tests: three network namespaces (client,
//! server, a host behind the server), certificates from rcgen, ocserv with a plain password
//! file and two groups, the agent and openconnect as clients, and TCP through the tunnel.
//!
//! ```text
//!  client ns             server ns (ocserv, forwards)          behind ns
//!  10.77.0.2 ---veth--- 10.77.0.1   10.78.0.1 ---veth--- 10.78.0.2 (TCP echo)
//!  tunnel 10.79.0.x <== CSTP over TLS ==> pool 10.79.0.0/24, route 10.78.0.0/24
//! ```
//! Names carry `vpn` + the pid + a counter, so parallel tests never collide; everything is
//! removed on drop and every process is killed by its own PID. `cargo xtask bench vpn` uses it too.
#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub const SERVER: &str = "10.77.0.1";
pub const BEHIND: Ipv4Addr = Ipv4Addr::new(10, 78, 0, 2);
pub const ECHO_PORT: u16 = 7000;

/// Fails with a clear message when a peer binary is missing (CI installs it).
pub fn require(binary: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(binary);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{binary} not found: install the Debian package `{package}` (.ci/run installs it); this interop test needs the real peer"
    );
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn ip(args: &[&str]) {
    run(Command::new("ip").args(args));
}

/// Certificates: a CA, the server's certificate for 10.77.0.1 (and vpn.example.test), one for
/// another name from the same CA, and a second CA.
pub struct Pki {
    pub ca: PathBuf,
    pub other_ca: PathBuf,
    pub server: (PathBuf, PathBuf),
    pub wrong_name: (PathBuf, PathBuf),
}

fn make_pki(dir: &Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};
    let ca = |cn: &str| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        let cert = p.self_signed(&key).unwrap();
        (cert, key)
    };
    let (ca1, ca1_key) = ca("Test VPN CA");
    let (ca2, _) = ca("Some Other CA");
    let leaf = |names: Vec<String>, ips: &[IpAddr], file: &str| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names).unwrap();
        for i in ips {
            p.subject_alt_names.push(SanType::IpAddress(*i));
        }
        p.distinguished_name.push(DnType::CommonName, "vpn server");
        let cert = p.signed_by(&key, &ca1, &ca1_key).unwrap();
        let c = dir.join(format!("{file}.pem"));
        let k = dir.join(format!("{file}.key"));
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        (c, k)
    };
    let server_ip: IpAddr = SERVER.parse().unwrap();
    let server = leaf(vec!["vpn.example.test".into()], &[server_ip], "server");
    let wrong_name = leaf(vec!["other.example.test".into()], &[], "wrong-name");
    let ca_path = dir.join("ca.pem");
    let other_path = dir.join("other-ca.pem");
    std::fs::write(&ca_path, ca1.pem()).unwrap();
    std::fs::write(&other_path, ca2.pem()).unwrap();
    Pki {
        ca: ca_path,
        other_ca: other_path,
        server,
        wrong_name,
    }
}

/// The namespaces, the veths, the certificates and the password file.
pub struct Lab {
    /// The phone-agent binary (the test build; `cargo xtask bench vpn` sets the release one).
    pub agent_bin: PathBuf,
    pub tag: String,
    pub dir: PathBuf,
    pub client_ns: String,
    pub server_ns: String,
    pub behind_ns: String,
    pub server_if: String,
    pub pki: Pki,
    pub passwd: PathBuf,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

impl Lab {
    pub fn new() -> Lab {
        require("ocserv", "ocserv");
        let tag = format!(
            "vpn{}{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let dir = std::env::temp_dir().join(format!("{tag}-lab"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let (c, s, b) = (format!("{tag}c"), format!("{tag}s"), format!("{tag}b"));
        for ns in [&c, &s, &b] {
            ip(&["netns", "add", ns]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        let lab = Lab {
            agent_bin: option_env!("CARGO_BIN_EXE_phone-agent")
                .map(PathBuf::from)
                .unwrap_or_default(),
            pki: make_pki(&dir),
            passwd: dir.join("passwd"),
            client_ns: c,
            server_ns: s,
            behind_ns: b,
            server_if: format!("{tag}a"),
            dir,
            tag,
        };
        let (sa, cb, se, bf) = (
            lab.server_if.clone(),
            format!("{}b", lab.tag),
            format!("{}e", lab.tag),
            format!("{}f", lab.tag),
        );
        ip(&["link", "add", &sa, "type", "veth", "peer", "name", &cb]);
        ip(&["link", "set", &sa, "netns", &lab.server_ns]);
        ip(&["link", "set", &cb, "netns", &lab.client_ns]);
        ip(&["link", "add", &se, "type", "veth", "peer", "name", &bf]);
        ip(&["link", "set", &se, "netns", &lab.server_ns]);
        ip(&["link", "set", &bf, "netns", &lab.behind_ns]);
        for (ns, dev, addr) in [
            (&lab.server_ns, &sa, "10.77.0.1/24"),
            (&lab.client_ns, &cb, "10.77.0.2/24"),
            (&lab.server_ns, &se, "10.78.0.1/24"),
            (&lab.behind_ns, &bf, "10.78.0.2/24"),
        ] {
            ip(&["-n", ns, "addr", "add", addr, "dev", dev]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        ip(&[
            "-n",
            &lab.behind_ns,
            "route",
            "add",
            "default",
            "via",
            "10.78.0.1",
        ]);
        run(Command::new("ip").args([
            "netns",
            "exec",
            &lab.server_ns,
            "sysctl",
            "-qw",
            "net.ipv4.ip_forward=1",
        ]));
        // Two users: alice in `sales`, bob in `eng`.
        std::fs::write(&lab.passwd, "").unwrap();
        for (user, group, password) in [("alice", "sales", "secret1"), ("bob", "eng", "pw-bob")] {
            let mut child = Command::new(require("ocpasswd", "ocserv"))
                .args(["-c", lab.passwd.to_str().unwrap(), "-g", group, user])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{password}\n{password}\n").as_bytes())
                .unwrap();
            assert!(child.wait().unwrap().success(), "ocpasswd");
        }
        lab
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// A cfg.xml with the phone's VPN settings.
    pub fn cfg(&self, name: &str, user: &str, password: &str, group: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(
            &p,
            format!(
                "<?xml version=\"1.0\"?>\n<flat-profile>\n  <VPN_Server ua=\"na\">{SERVER}</VPN_Server>\n  <VPN_User_Name ua=\"na\">{user}</VPN_User_Name>\n  <VPN_Password ua=\"na\">{password}</VPN_Password>\n  <VPN_Tunnel_Group ua=\"na\">{group}</VPN_Tunnel_Group>\n</flat-profile>\n"
            ),
        )
        .unwrap();
        p
    }

    /// Starts ocserv on `port` with `cert`, DPD `dpd` seconds.
    pub fn ocserv(&self, port: u16, cert: &(PathBuf, PathBuf), dpd: u32) -> Ocserv {
        let name = format!("oc{port}");
        let conf = self.path(&format!("{name}.conf"));
        let occtl = self.path(&format!("{name}.occtl"));
        std::fs::write(
            &conf,
            format!(
                "auth = \"plain[passwd={passwd}]\"\ntcp-port = {port}\nrun-as-user = root\nrun-as-group = root\n\
socket-file = {dir}/{name}.sock\nocctl-socket-file = {occtl}\npid-file = {dir}/{name}.pid\n\
server-cert = {cert}\nserver-key = {key}\nisolate-workers = false\nmax-clients = 16\nmax-same-clients = 0\n\
keepalive = 300\ndpd = {dpd}\nmobile-dpd = {dpd}\ntry-mtu-discovery = false\ntls-priorities = \"NORMAL:%SERVER_PRECEDENCE\"\n\
auth-timeout = 240\ncookie-timeout = 300\ndeny-roaming = false\nrekey-time = 172800\nrekey-method = ssl\nuse-occtl = true\n\
device = {tag}t\npredictable-ips = true\nipv4-network = 10.79.0.0\nipv4-netmask = 255.255.255.0\ndns = 10.78.0.53\n\
route = 10.78.0.0/255.255.255.0\nselect-group = sales\nselect-group = eng[Engineering]\nauto-select-group = false\n\
stats-report-time = 1\ncisco-client-compat = true\nmax-ban-score = 0\nrate-limit-ms = 0\n",
                passwd = self.passwd.display(),
                dir = self.dir.display(),
                occtl = occtl.display(),
                cert = cert.0.display(),
                key = cert.1.display(),
                tag = self.tag,
            ),
        )
        .unwrap();
        let log = self.path(&format!("{name}.log"));
        let child = Command::new("ip")
            .args(["netns", "exec", &self.server_ns])
            .arg(require("ocserv", "ocserv"))
            .args(["-f", "-d", "1", "-c", conf.to_str().unwrap()])
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::from(
                std::fs::File::options().append(true).open(&log).unwrap(),
            ))
            .spawn()
            .unwrap();
        let oc = Ocserv {
            child: Some(child),
            conf,
            log,
            occtl,
            ns: self.server_ns.clone(),
        };
        oc.wait_ready();
        oc
    }

    /// Runs `f` on a thread inside network namespace `ns`.
    pub fn in_ns<T: Send + 'static>(
        ns: &str,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> std::thread::JoinHandle<T> {
        let path = format!("/run/netns/{ns}");
        std::thread::spawn(move || {
            let file = std::fs::File::open(&path).unwrap();
            nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
            f()
        })
    }

    /// A TCP echo server on 10.78.0.2:7000 in the behind namespace, for one connection.
    pub fn echo_server(&self) -> std::thread::JoinHandle<u64> {
        let (tx, rx) = mpsc::channel();
        let h = Lab::in_ns(&self.behind_ns, move || {
            let l = std::net::TcpListener::bind((BEHIND, ECHO_PORT)).unwrap();
            tx.send(()).unwrap();
            let (mut s, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 64 * 1024];
            let mut total = 0u64;
            loop {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        total += n as u64;
                        if s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                }
            }
            total
        });
        rx.recv_timeout(Duration::from_secs(5)).unwrap();
        h
    }

    /// From the client namespace: sends `bytes` to the echo server through the tunnel and
    /// reads them back. `Err` when the connection fails.
    pub fn echo_through_tunnel(&self, bytes: usize) -> Result<Duration, String> {
        Lab::in_ns(&self.client_ns, move || {
            let start = Instant::now();
            let addr = SocketAddr::from((BEHIND, ECHO_PORT));
            let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
                .map_err(|e| format!("connect {addr}: {e}"))?;
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut r = s.try_clone().unwrap();
            let reader = std::thread::spawn(move || {
                let mut buf = vec![0u8; 64 * 1024];
                let mut got = 0usize;
                while got < bytes {
                    match r.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got += n,
                    }
                }
                got
            });
            let chunk = vec![0x5au8; 64 * 1024];
            let mut sent = 0;
            while sent < bytes {
                let n = chunk.len().min(bytes - sent);
                s.write_all(&chunk[..n]).map_err(|e| format!("send: {e}"))?;
                sent += n;
            }
            let got = reader.join().unwrap();
            let _ = s.shutdown(std::net::Shutdown::Both);
            if got == bytes {
                Ok(start.elapsed())
            } else {
                Err(format!("echo: {got} of {bytes} bytes came back"))
            }
        })
        .join()
        .unwrap()
    }

    /// `phone-agent vpn connect` in the client namespace, output read line by line.
    pub fn agent(&self, cfg: &Path, ca: &Path, port: u16, extra: &[&str]) -> Agent {
        let state = self.path("state.json");
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.client_ns])
            .arg(&self.agent_bin)
            .args(["vpn", "connect", "--config"])
            .arg(cfg)
            .arg("--ca")
            .arg(ca)
            .args([
                "--port",
                &port.to_string(),
                "--device",
                &format!("{}t", self.tag),
                "--timeout",
                "5",
                "--state",
            ])
            .arg(&state)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines = lines_of(child.stdout.take().unwrap());
        let err = lines_of(child.stderr.take().unwrap());
        Agent {
            child,
            lines,
            err,
            seen: Vec::new(),
            state,
        }
    }

    /// Blackholes (or restores) the server's side: its link to the client goes down.
    pub fn blackhole_server(&self, on: bool) {
        ip(&[
            "-n",
            &self.server_ns,
            "link",
            "set",
            &self.server_if,
            if on { "down" } else { "up" },
        ]);
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.client_ns, &self.server_ns, &self.behind_ns] {
            // Anything still running in our namespaces was started by this test.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    if let Ok(pid) = pid.parse::<i32>() {
                        let _ = nix::sys::signal::kill(
                            nix::unistd::Pid::from_raw(pid),
                            nix::sys::signal::Signal::SIGKILL,
                        );
                    }
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn lines_of(r: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A running ocserv, killed by its PID on drop.
pub struct Ocserv {
    child: Option<Child>,
    pub conf: PathBuf,
    pub log: PathBuf,
    pub occtl: PathBuf,
    ns: String,
}

impl Ocserv {
    fn wait_ready(&self) {
        let start = Instant::now();
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if log.contains("sec-mod initialized") {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "ocserv did not start:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops ocserv (SIGTERM to its pid, then its exit), and waits until its sec-mod and
    /// workers (which hold the listening socket) are gone too.
    pub fn stop(&mut self) {
        let Some(mut c) = self.child.take() else { return };
        let pid = c.id();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = c.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        // Its children: processes in our server namespace whose parent was ocserv (now init).
        let start = Instant::now();
        loop {
            let out = Command::new("ip")
                .args(["netns", "pids", &self.ns])
                .output()
                .unwrap();
            let left: Vec<i32> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .filter(|p| {
                    std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.starts_with("ocserv"))
                })
                .collect();
            if left.is_empty() {
                return;
            }
            if start.elapsed() > Duration::from_secs(3) {
                for p in left {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(p),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `occtl --json show users`: (RX, TX) of the first user, as ocserv counts them.
    pub fn user_bytes(&self) -> Option<(u64, u64)> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns])
            .arg(require("occtl", "ocserv"))
            .args(["-s", self.occtl.to_str().unwrap(), "--json", "show", "users"])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |name: &str| -> Option<u64> {
            let i = text.find(&format!("\"{name}\":"))?;
            let rest = &text[i + name.len() + 3..];
            let start = rest.find('"')? + 1;
            let end = start + rest[start..].find('"')?;
            rest[start..end].trim().parse().ok()
        };
        Some((field("RX")?, field("TX")?))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Ocserv {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A running `phone-agent vpn connect`.
pub struct Agent {
    pub child: Child,
    lines: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
    pub seen: Vec<String>,
    pub state: PathBuf,
}

impl Agent {
    /// Waits (bounded) for an output line starting with `prefix`; returns it.
    pub fn wait_for(&mut self, prefix: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(prefix) {
                        return line;
                    }
                }
                Err(_) => {
                    let err: Vec<String> = self.err.try_iter().collect();
                    panic!(
                        "no `{prefix}` line within {limit:?}; output:\n{}\nstderr:\n{}",
                        self.seen.join("\n"),
                        err.join("\n")
                    );
                }
            }
        }
    }

    /// Waits (bounded) for the exit; returns the code and all output lines.
    pub fn finish(mut self, limit: Duration) -> (i32, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "the agent did not exit within {limit:?}; output so far:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(50));
        self.seen.extend(self.lines.try_iter());
        self.seen.extend(self.err.try_iter());
        (status.code().unwrap_or(-1), self.seen.join("\n"))
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(&self.state).unwrap()).unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `phone-agent vpn status|disconnect --state FILE`.
pub fn agent_cmd(args: &[&str], state: &Path) -> Output {
    Command::new(option_env!("CARGO_BIN_EXE_phone-agent").unwrap_or("phone-agent"))
        .args(args)
        .arg("--state")
        .arg(state)
        .output()
        .unwrap()
}

/// The vpnc-script stand-in given to openconnect: applies the address, MTU and split routes
/// to the TUN device (nothing else: no resolv.conf), and stamps a marker file when up.
const OC_SCRIPT: &str = r#"#!/bin/sh
case "$reason" in
connect)
  ip link set dev "$TUNDEV" up mtu "$INTERNAL_IP4_MTU"
  ip addr add "$INTERNAL_IP4_ADDRESS/$INTERNAL_IP4_NETMASKLEN" dev "$TUNDEV"
  i=0
  while [ "$i" -lt "${CISCO_SPLIT_INC:-0}" ]; do
    eval a=\$CISCO_SPLIT_INC_${i}_ADDR
    eval l=\$CISCO_SPLIT_INC_${i}_MASKLEN
    ip route replace "$a/$l" dev "$TUNDEV"
    i=$((i + 1))
  done
  echo "$INTERNAL_IP4_ADDRESS" > "$OC_MARKER"
  ;;
esac
exit 0
"#;

/// A running openconnect (Debian `openconnect`), killed by its PID on drop.
pub struct OpenConnect {
    pub child: Child,
    marker: PathBuf,
    started: Instant,
    out: mpsc::Receiver<String>,
    err: mpsc::Receiver<String>,
}

impl Lab {
    /// openconnect in the client namespace, CSTP only (`--no-dtls`, like the agent), with the
    /// script above.
    pub fn openconnect(&self, user: &str, password: &str, group: &str, ca: &Path, port: u16) -> OpenConnect {
        self.openconnect_with(user, password, group, ca, port, 5)
    }

    /// [`Lab::openconnect`] with openconnect's `--reconnect-timeout`.
    pub fn openconnect_with(
        &self,
        user: &str,
        password: &str,
        group: &str,
        ca: &Path,
        port: u16,
        reconnect_timeout: u32,
    ) -> OpenConnect {
        let bin = require("openconnect", "openconnect");
        let script = self.path("oc-script.sh");
        std::fs::write(&script, OC_SCRIPT).unwrap();
        std::process::Command::new("chmod")
            .arg("+x")
            .arg(&script)
            .status()
            .unwrap();
        let marker = self.path("oc-up");
        let _ = std::fs::remove_file(&marker);
        let started = Instant::now();
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.client_ns])
            .arg(bin)
            .args([
                "--non-inter",
                "--passwd-on-stdin",
                "--no-dtls",
                "--disable-ipv6",
                "--reconnect-timeout",
            ])
            .arg(reconnect_timeout.to_string())
            .arg(format!("--user={user}"))
            .arg(format!("--authgroup={group}"))
            .arg(format!("--cafile={}", ca.display()))
            .arg(format!("--interface={}o", self.tag))
            .arg(format!("--script={}", script.display()))
            .arg(format!("https://{SERVER}:{port}/"))
            .env("OC_MARKER", &marker)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        let out = lines_of(child.stdout.take().unwrap());
        let err = lines_of(child.stderr.take().unwrap());
        OpenConnect {
            child,
            marker,
            started,
            out,
            err,
        }
    }
}

impl OpenConnect {
    /// Waits (bounded) for the exit; the exit status and all output lines.
    pub fn finish(&mut self, limit: Duration) -> (Option<i32>, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break Some(s);
            }
            if start.elapsed() > limit {
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(50));
        let mut lines: Vec<String> = self.out.try_iter().collect();
        lines.extend(self.err.try_iter());
        (status.and_then(|s| s.code()), lines.join("\n"))
    }

    /// Time from start to tunnel-up (the script ran), or the output when it exited instead.
    pub fn wait_up(&mut self, limit: Duration) -> Result<Duration, String> {
        loop {
            if self.marker.exists() {
                return Ok(self.started.elapsed());
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(50));
                let mut lines: Vec<String> = self.out.try_iter().collect();
                lines.extend(self.err.try_iter());
                return Err(format!("openconnect exited ({status}): {}", lines.join(" | ")));
            }
            if self.started.elapsed() > limit {
                return Err(format!("openconnect not up within {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// SIGTERM (openconnect logs out), then the exit.
    pub fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for OpenConnect {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Agent {
    /// Time from start to tunnel-up (the `connected` line), or the output when it exited.
    pub fn wait_up(&mut self, started: Instant, limit: Duration) -> Result<Duration, String> {
        let deadline = started + limit;
        loop {
            match self.lines.recv_timeout(Duration::from_millis(20)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with("vpn: connected:") {
                        return Ok(started.elapsed());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.seen.join(" | "));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("not up within {limit:?}: {}", self.seen.join(" | ")));
            }
        }
    }
}

/// A process started in one of the lab's namespaces, killed by its PID on drop.
pub struct NsPeer {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for NsPeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Lab {
    /// tinyproxy (Debian `tinyproxy`) on 127.0.0.1:8888 in the client namespace, CONNECT to
    /// 443 only, with Basic authentication `phone` / `proxy-pw`.
    pub fn tinyproxy(&self) -> NsPeer {
        let bin = require("tinyproxy", "tinyproxy");
        let dir = self.path("tinyproxy");
        std::fs::create_dir_all(&dir).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            // tinyproxy drops to nobody and writes its log here.
            std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        }
        let log = dir.join("tinyproxy.log");
        let conf = dir.join("tinyproxy.conf");
        std::fs::write(
            &conf,
            format!(
                "Port 8888\nListen 127.0.0.1\nTimeout 30\nLogLevel Info\nLogFile \"{log}\"\nPidFile \"{d}/tinyproxy.pid\"\n\
MaxClients 20\nAllow 127.0.0.1\nConnectPort 443\nBasicAuth phone proxy-pw\n",
                log = log.display(),
                d = dir.display()
            ),
        )
        .unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &self.client_ns])
            .arg(bin)
            .arg("-d")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Ready when it accepts on 127.0.0.1:8888 inside the client namespace.
        let ns = self.client_ns.clone();
        let ready = Lab::in_ns(&ns, || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if TcpStream::connect(("127.0.0.1", 8888)).is_ok() {
                    return true;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            false
        })
        .join()
        .unwrap();
        assert!(ready, "tinyproxy did not listen on 127.0.0.1:8888");
        NsPeer { child, log }
    }

    /// A cfg.xml with the VPN settings and a Manual HTTP proxy with Basic credentials.
    pub fn cfg_with_proxy(&self, name: &str, proxy_password: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(
            &p,
            format!(
                "<?xml version=\"1.0\"?>\n<flat-profile>\n  <VPN_Server ua=\"na\">{SERVER}</VPN_Server>\n  <VPN_User_Name ua=\"na\">alice</VPN_User_Name>\n  <VPN_Password ua=\"na\">secret1</VPN_Password>\n  <VPN_Tunnel_Group ua=\"na\">sales</VPN_Tunnel_Group>\n  <Proxy_Mode ua=\"na\">Manual</Proxy_Mode>\n  <Proxy_Host ua=\"na\">127.0.0.1</Proxy_Host>\n  <Proxy_Port ua=\"na\">8888</Proxy_Port>\n  <Proxy_Server_Requires_Authentication ua=\"na\">Yes</Proxy_Server_Requires_Authentication>\n  <Proxy_Username ua=\"na\">phone</Proxy_Username>\n  <Proxy_Password ua=\"na\">{proxy_password}</Proxy_Password>\n</flat-profile>\n"
            ),
        )
        .unwrap();
        p
    }
}
