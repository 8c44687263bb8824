//! What the provisioning interop tests share: a veth pair between two network namespaces
//! (named `prov<kind><pid>…`, deleted on drop), dnsmasq as the DHCP server, and running the
//! agent inside a namespace.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh directory for this test process.
pub fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("phone-agent-prov-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces joined by a veth pair; the server side has `<prefix>1/24`.
pub struct NetnsPair {
    /// The server namespace.
    pub server_ns: String,
    /// The client namespace.
    pub client_ns: String,
    /// The server's interface.
    pub server_if: String,
    /// The client's interface.
    pub client_if: String,
    /// `10.77.N.` for this pair.
    pub prefix: String,
}

impl NetnsPair {
    /// A pair for test `kind` (one letter), unique per process.
    pub fn new(kind: &str) -> NetnsPair {
        let pid = std::process::id();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let tag = format!("prov{kind}{}", pid % 100_000);
        let pair = NetnsPair {
            server_ns: format!("{tag}s{n}"),
            client_ns: format!("{tag}c{n}"),
            server_if: format!("{tag}s{n}"),
            client_if: format!("{tag}c{n}"),
            prefix: format!("10.77.{}.", (pid as usize * 7 + n) % 250 + 1),
        };
        let _ = Command::new("ip")
            .args(["netns", "del", &pair.server_ns])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &pair.client_ns])
            .output();
        ip(&["netns", "add", &pair.server_ns]);
        ip(&["netns", "add", &pair.client_ns]);
        ip(&[
            "link",
            "add",
            &pair.server_if,
            "type",
            "veth",
            "peer",
            "name",
            &pair.client_if,
        ]);
        ip(&["link", "set", &pair.server_if, "netns", &pair.server_ns]);
        ip(&["link", "set", &pair.client_if, "netns", &pair.client_ns]);
        let server_addr = format!("{}1/24", pair.prefix);
        ip(&[
            "-n",
            &pair.server_ns,
            "addr",
            "add",
            &server_addr,
            "dev",
            &pair.server_if,
        ]);
        for (ns, dev) in [
            (&pair.server_ns, &pair.server_if),
            (&pair.client_ns, &pair.client_if),
        ] {
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        pair
    }

    /// `fd00:77:N::` for this pair (DHCPv6).
    pub fn prefix6(&self) -> String {
        let n = self
            .prefix
            .trim_end_matches('.')
            .rsplit('.')
            .next()
            .unwrap_or("1");
        format!("fd00:77:{n}::")
    }

    /// Gives the server `<prefix6>1/64` and waits (bounded) until both link-local addresses
    /// have passed duplicate address detection, so DHCPv6 can be sent from them.
    pub fn enable_v6(&self) {
        let a = format!("{}1/64", self.prefix6());
        ip(&[
            "-n",
            &self.server_ns,
            "addr",
            "add",
            &a,
            "dev",
            &self.server_if,
            "nodad",
        ]);
        for (ns, dev) in [
            (&self.server_ns, &self.server_if),
            (&self.client_ns, &self.client_if),
        ] {
            wait_for(
                "IPv6 link-local address past DAD",
                Duration::from_secs(10),
                || {
                    let out = Command::new("ip")
                        .args(["-n", ns, "-6", "addr", "show", "dev", dev, "scope", "link"])
                        .output()
                        .unwrap();
                    let text = String::from_utf8_lossy(&out.stdout);
                    text.contains("fe80:") && !text.contains("tentative")
                },
            );
        }
    }

    /// `ip -n <client ns> ARGS…` output.
    pub fn client_ip(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["-n", &self.client_ns])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The server's address.
    pub fn server_addr(&self) -> String {
        format!("{}1", self.prefix)
    }

    /// Configures an address on the client side (what the host does with a `--no-apply` lease).
    pub fn add_address(&self, address: &str, prefix_len: u64) {
        let a = format!("{address}/{prefix_len}");
        ip(&["-n", &self.client_ns, "addr", "add", &a, "dev", &self.client_if]);
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.server_ns])
            .output();
        let _ = Command::new("ip")
            .args(["netns", "del", &self.client_ns])
            .output();
    }
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

/// Polls `ready` every 20 ms for at most `limit`.
pub fn wait_for(what: &str, limit: Duration, mut ready: impl FnMut() -> bool) {
    wait_for_some(what, limit, || ready().then_some(()));
}

/// Polls `found` every 20 ms for at most `limit`; its first `Some`.
pub fn wait_for_some<T>(what: &str, limit: Duration, mut found: impl FnMut() -> Option<T>) -> T {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(t) = found() {
            return t;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what}: not ready within {limit:?}");
}

/// dnsmasq serving DHCP (and TFTP, DNS when asked) in the server namespace; killed by PID on drop.
pub struct Dnsmasq {
    child: Child,
    dir: PathBuf,
}

impl Dnsmasq {
    /// DHCP only, with these `--dhcp-option`s (`first` then `more`).
    pub fn start(pair: &NetnsPair, first: &[&str], more: &[&str]) -> Dnsmasq {
        Dnsmasq::start_with(pair, first, more, &["--port=0"])
    }

    /// With extra dnsmasq arguments (`--port=53 --address=/name/ip`, `--enable-tftp`, …).
    pub fn start_with(pair: &NetnsPair, first: &[&str], more: &[&str], extra: &[&str]) -> Dnsmasq {
        let dnsmasq = find_program("dnsmasq", "dnsmasq-base");
        let dir = temp_dir("dnsmasq");
        let log = dir.join("log");
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &pair.server_ns])
            .arg(dnsmasq)
            .arg("--keep-in-foreground")
            .arg(format!("--conf-file={}", dir.join("dnsmasq.conf").display()))
            .arg(format!("--interface={}", pair.server_if))
            .arg("--bind-interfaces")
            .arg(format!("--dhcp-range={p}10,{p}50,2m", p = pair.prefix))
            .arg(format!("--dhcp-leasefile={}", dir.join("leases").display()))
            .arg(format!("--pid-file={}", dir.join("pid").display()))
            .arg("--log-dhcp")
            .arg(format!("--log-facility={}", log.display()))
            .arg("--dhcp-authoritative")
            // No ICMP probe of the address before the OFFER (3 s per lease otherwise).
            .arg("--no-ping");
        // The options go through a conf file: there dnsmasq reads `"…"` as a string (on the
        // command line the quotes would be sent), and an unquoted dotted quad as an address.
        let conf: String = first
            .iter()
            .chain(more)
            .map(|o| format!("dhcp-option={o}\n"))
            .collect();
        std::fs::write(dir.join("dnsmasq.conf"), conf).unwrap();
        cmd.args(extra);
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut d = Dnsmasq { child, dir };
        let log_path = log.clone();
        let mut exited = false;
        wait_for("dnsmasq", Duration::from_secs(10), || {
            if let Ok(Some(_)) = d.child.try_wait() {
                exited = true;
                return true;
            }
            std::fs::read_to_string(&log_path)
                .is_ok_and(|l| l.contains("sockets bound exclusively") || l.contains("DHCPv6, IP range"))
        });
        assert!(!exited, "dnsmasq exited: {}", d.log());
        d
    }

    /// dnsmasq's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// Its directory (leases, log, pid).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        // `ip netns exec` execs dnsmasq, so the child's PID is dnsmasq's.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The agent binary.
pub fn agent() -> &'static str {
    env!("CARGO_BIN_EXE_phone-agent")
}

/// Runs the agent in a namespace and waits for it.
pub fn agent_in(ns: &str, args: &[&str]) -> Output {
    Command::new("ip")
        .args(["netns", "exec", ns, agent()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Starts the agent in a namespace with stdout piped.
pub fn agent_spawn_in(ns: &str, args: &[&str]) -> Child {
    Command::new("ip")
        .args(["netns", "exec", ns, agent()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A spawned child killed by its PID on drop (a failed assertion must not leave it running).
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A child's stdout, line by line.
pub fn stdout_lines(child: &mut Child) -> BufReader<ChildStdout> {
    BufReader::new(child.stdout.take().unwrap())
}

/// The next line (blocking; the agent's own timeout bounds it).
pub fn read_line(r: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    line
}

/// Waits for the child and returns the rest of its stdout and its stderr.
pub fn wait_output(mut child: Child, mut stdout: BufReader<ChildStdout>) -> String {
    let mut s = String::new();
    let _ = stdout.read_to_string(&mut s);
    let mut e = String::new();
    if let Some(mut o) = child.stderr.take() {
        let _ = o.read_to_string(&mut e);
    }
    let _ = child.wait();
    format!("{s}{e}")
}
