//! What the 802.1X interop tests (`dot1x_wired`, `dot1x_radius`, `dot1x_fast`, `run_dot1x`)
//! share: finding a peer binary, a scratch directory, a peer process killed by its own PID on
//! drop, and for the wired tests the network namespaces, the test PKI, hostapd `driver=wired`
//! and its station table.
// Each test crate uses its own part of this module.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

/// Fails with a clear message when a peer binary is missing (CI installs it).
pub fn require(binary: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(binary);
        if p.exists() {
            return p;
        }
    }
    panic!(
        "{binary} not found: install the Debian package `{package}` (.ci/run installs it); \
         this interop test needs the real peer"
    );
}

/// A scratch directory, unique to this process and `tag`, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("dot1x-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
    pub fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(file);
        std::fs::write(&p, contents).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A peer process (hostapd, FreeRADIUS) writing to `log`, killed by its own PID on drop.
pub struct Peer {
    pub child: Child,
    pub log: PathBuf,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Peer {
    /// The log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Peer {
    /// Waits up to `secs` for a log line containing every needle; returns how many lines do.
    pub fn wait_for_in(&self, secs: u64, needles: &[&str]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let n = self
                .log()
                .lines()
                .filter(|l| needles.iter().all(|n| l.contains(n)))
                .count();
            if n > 0 || Instant::now() > deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// [`Peer::wait_for_in`] 3 s.
    pub fn wait_for(&self, needles: &[&str]) -> usize {
        self.wait_for_in(3, needles)
    }
}

/// A process killed by its PID on drop (`ip netns exec` execs the command in place).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// `ip ARGS`, which must succeed.
pub fn ip(args: &[&str]) {
    let out = Command::new(require("ip", "iproute2"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace (created afresh), deleted on drop with its links.
pub struct Netns(pub String);

impl Netns {
    pub fn new(name: String) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// Two namespaces joined by a veth pair, both ends up: the authenticator's (`auth_*`) and the
/// supplicant's (`supp_*`). Names must be unique to the test (a tag and the pid).
pub struct VethPair {
    pub auth_ns: Netns,
    pub supp_ns: Netns,
    pub auth_if: String,
    pub supp_if: String,
}

impl VethPair {
    pub fn new(auth_ns: String, supp_ns: String, auth_if: String, supp_if: String) -> VethPair {
        let pair = VethPair {
            auth_ns: Netns::new(auth_ns),
            supp_ns: Netns::new(supp_ns),
            auth_if,
            supp_if,
        };
        cable(&pair.auth_ns, &pair.auth_if, &pair.supp_ns, &pair.supp_if);
        ip(&["-n", &pair.supp_ns.0, "link", "set", "lo", "up"]);
        pair
    }
}

/// A veth pair from `a_if` in `a` to `b_if` in `b`, both ends up.
pub fn cable(a: &Netns, a_if: &str, b: &Netns, b_if: &str) {
    ip(&["link", "add", a_if, "type", "veth", "peer", "name", b_if]);
    ip(&["link", "set", a_if, "netns", &a.0]);
    ip(&["link", "set", b_if, "netns", &b.0]);
    ip(&["-n", &a.0, "link", "set", a_if, "up"]);
    ip(&["-n", &b.0, "link", "set", b_if, "up"]);
}

/// A self-signed test CA.
pub fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, name);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let key = KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

/// A certificate and key (PEM) signed by `issuer`.
pub fn leaf(
    issuer: &(rcgen::Certificate, KeyPair),
    sans: Vec<String>,
    eku: ExtendedKeyUsagePurpose,
) -> (String, String) {
    let mut p = CertificateParams::new(sans).unwrap();
    p.distinguished_name.push(DnType::CommonName, "dot1x test");
    p.extended_key_usages = vec![eku];
    let key = KeyPair::generate().unwrap();
    (
        p.signed_by(&key, &issuer.0, &issuer.1).unwrap().pem(),
        key.serialize_pem(),
    )
}

/// The test PKI's files in a scratch directory: a CA, hostapd's server certificate
/// (`radius.example.org`) and a client certificate for the phone (and the PC).
pub struct Pki {
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Pki {
    pub fn new(dir: &Scratch, root: &(rcgen::Certificate, KeyPair)) -> Pki {
        let (sc, sk) = leaf(
            root,
            vec!["radius.example.org".into()],
            ExtendedKeyUsagePurpose::ServerAuth,
        );
        let (cc, ck) = leaf(root, vec![], ExtendedKeyUsagePurpose::ClientAuth);
        Pki {
            ca: dir.write("ca.pem", root.0.pem()),
            server_cert: dir.write("server.pem", sc),
            server_key: dir.write("server.key", sk),
            client_cert: dir.write("client.pem", cc),
            client_key: dir.write("client.key", ck),
        }
    }

    /// hostapd.conf lines for its integrated EAP server with this PKI.
    pub fn hostapd_eap_server(&self, eap_users: &Path) -> String {
        format!(
            "eap_server=1\neap_user_file={}\nca_cert={}\nserver_cert={}\nprivate_key={}\n",
            eap_users.display(),
            self.ca.display(),
            self.server_cert.display(),
            self.server_key.display(),
        )
    }
}

/// hostapd `driver=wired` on `iface` in namespace `ns`, its integrated EAP server set up by
/// `extra` (later lines win), its debug log (`-ddK`) in the scratch directory. Does not wait.
pub fn hostapd_wired(dir: &Scratch, ns: &str, iface: &str, extra: &str) -> Peer {
    let bin = require("hostapd", "hostapd");
    let conf = dir.write(
        "hostapd.conf",
        format!(
            "interface={iface}\ndriver=wired\nieee8021x=1\neapol_version=2\nuse_pae_group_addr=1\n{extra}"
        ),
    );
    let log = dir.path("hostapd.log");
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(bin)
        .arg("-ddK")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    Peer { child, log }
}

/// `hostapd_cli sta MAC` over the control socket in `ctrl`: the station's lines, empty when
/// unknown.
pub fn hostapd_sta(ctrl: &Path, iface: &str, mac: &str) -> String {
    let out = Command::new(require("hostapd_cli", "hostapd"))
        .arg("-p")
        .arg(ctrl)
        .args(["-i", iface, "sta", mac])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if text.lines().next().is_some_and(|l| l.trim() == mac) {
        text
    } else {
        String::new()
    }
}

/// Polls `hostapd_cli sta MAC` for up to `secs` until the station's authorization is `want`;
/// returns the last state and answer.
pub fn wait_sta(ctrl: &Path, iface: &str, mac: &str, secs: u64, want: bool) -> (bool, String) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let sta = hostapd_sta(ctrl, iface, mac);
        let authorized = sta
            .lines()
            .any(|l| l.starts_with("flags=") && l.contains("[AUTHORIZED]"));
        if authorized == want || Instant::now() > deadline {
            return (authorized, sta);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The PC behind the phone: `wpa_supplicant -D wired` with EAP-TLS on `nic` in `ns`, its log
/// in the scratch directory.
pub fn pc_supplicant(dir: &Scratch, ns: &str, nic: &str, pki: &Pki) -> (Killed, PathBuf) {
    let wpa = require("wpa_supplicant", "wpasupplicant");
    let conf = dir.write(
        "pc.conf",
        format!(
            "ap_scan=0\nnetwork={{\n key_mgmt=IEEE8021X\n eap=TLS\n identity=\"pc@example.org\"\n \
             ca_cert=\"{}\"\n client_cert=\"{}\"\n private_key=\"{}\"\n eapol_flags=0\n}}\n",
            pki.ca.display(),
            pki.client_cert.display(),
            pki.client_key.display()
        ),
    );
    let log = dir.path("wpa.log");
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(wpa)
        .args(["-D", "wired", "-t", "-i", nic, "-c"])
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Killed(child), log)
}

/// The MAC address of `iface` in `ns`.
pub fn mac_in(ns: &str, iface: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "cat"])
        .arg(format!("/sys/class/net/{iface}/address"))
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
