//! `cargo xtask lab up|down|status`: the way to see the main job. A lab in network namespaces
//! with the real peers the tests use, and `phone-agent run` on `examples/cfg/lab.xml`:
//!
//! ```text
//!  host                      phone ns (agentlabph)                 network ns (agentlabnw)
//!  alab-h 10.251.0.1 --veth-- alab-i 10.251.0.2   alab-p 10.250.0.2 --veth-- alab-n 10.250.0.1
//!  browser, lab status       phone-agent run (802.1X and DHCP on   hostapd (wired, EAP-TLS),
//!                            alab-p, firewall, admin page :8480,   dnsmasq (DHCP, option 66,
//!                            VPN device vpn0)                      TFTP), Kamailio :5060
//!                                                                  UDP+TCP, squid :3128,
//!                                                                  ocserv :443 (VPN)
//! ```
//!
//! `up` builds phone-agent, makes the certificates (rcgen), starts hostapd, Kamailio, dnsmasq
//! (its TFTP server serves lab.xml as `/$PSN.xml`), squid and ocserv (alice/secret, its
//! certificate from the lab CA), waits until they listen, then starts the agent (`--dhcp
//! --dhcp-apply`), records every PID in `target/lab/lab.json`, and waits (at most 60 s) until
//! the status shows 802.1X Authenticated, the lease applied with option 66, the resync Applied
//! or Unchanged, every line Registered, the firewall Applied, the manual proxy at squid and the
//! VPN Connected (through squid), and a GET from the phone's own HTTP client went through
//! squid; it prints the status and where the page is. `down` stops exactly the recorded
//! processes (the agent first, with SIGTERM: its lines un-REGISTER, 802.1X logs off, the VPN
//! logs out, the lease is released), checking that each PID is still the program started, and
//! deletes the namespaces. `status` prints the agent's status (`phone-agent status`). Needs
//! root and the Debian packages hostapd, kamailio, dnsmasq-base, squid, ocserv, nftables and
//! iproute2.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

const PHONE_NS: &str = "agentlabph";
const NETWORK_NS: &str = "agentlabnw";
const HTTP: &str = "10.251.0.2:8480";
const PASSWORD: &str = "lab";
/// squid, the lab's HTTP proxy (lab.xml's Proxy_Host:Proxy_Port).
const SQUID: &str = "10.250.0.1:3128";
/// The file the phone's default rule `/$PSN.xml` asks the TFTP server for.
const PROFILE: &str = "7832.xml";

fn lab_dir(root: &Path) -> PathBuf {
    root.join("target/lab")
}

pub(crate) fn ip(args: &[&str]) -> Result<()> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// `cargo ARGS` as from a shell: without the variables `cargo run` sets for xtask
/// (`CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...). Build scripts that watch one of them (ring's
/// watches `CARGO_MANIFEST_DIR`) would otherwise rebuild, and everything above them with it
/// (16 crates, minutes), on every switch between `cargo build` and `cargo xtask`.
pub(crate) fn plain_cargo(args: &[&str]) -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.args(args);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*name,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE" | "CARGO_RUSTC_CURRENT_DIR"
            )
        {
            c.env_remove(&*name);
        }
    }
    c
}

pub(crate) fn program(name: &str, package: &str) -> Result<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("`{name}` is not installed: apt-get install {package}"))
}

pub(crate) fn certificates(dir: &Path) -> Result<()> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name
        .push(DnType::CommonName, "phone-security lab CA");
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate()?;
    let ca = p.self_signed(&ca_key)?;
    std::fs::write(dir.join("ca.pem"), ca.pem())?;
    for (name, sans, eku) in [
        (
            "server",
            vec!["radius.lab.example".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
        ("phone", vec![], ExtendedKeyUsagePurpose::ClientAuth),
        (
            "vpn",
            vec!["10.250.0.1".to_owned()],
            ExtendedKeyUsagePurpose::ServerAuth,
        ),
    ] {
        let mut p = CertificateParams::new(sans)?;
        p.distinguished_name
            .push(DnType::CommonName, format!("lab {name}"));
        p.extended_key_usages = vec![eku];
        let key = KeyPair::generate()?;
        std::fs::write(
            dir.join(format!("{name}.pem")),
            p.signed_by(&key, &ca, &ca_key)?.pem(),
        )?;
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem())?;
    }
    Ok(())
}

/// The SIP tests' Kamailio registrar (tests/kamailio/registrar.cfg: alice/secret,
/// client-initiated mediasec), UDP and TCP on `listen` (`IP:PORT`), no TLS.
pub(crate) fn kamailio_cfg(root: &Path, listen: &str, ctl: &Path) -> Result<String> {
    let template = std::fs::read_to_string(root.join("crates/phone-agent/tests/kamailio/registrar.cfg"))?;
    let domain = listen.split(':').next().unwrap_or(listen);
    Ok(template
        .replace("listen=tls:127.0.0.1:@TLS_PORT@\n", "")
        .replace("enable_tls=yes", "enable_tls=no")
        .replace("loadmodule \"tls.so\"\n", "")
        .replace("modparam(\"tls\", \"config\", \"@TLS_CFG@\")\n", "")
        .replace("127.0.0.1:@PORT@", listen)
        .replace("@DOMAIN@", domain)
        .replace("@USER@", "alice")
        .replace("@PASSWORD@", "secret")
        .replace("@CTL@", &ctl.display().to_string())
        .replace("@MEDIASEC@", "client"))
}

/// hostapd as a wired authenticator on `iface` with its integrated EAP server (EAP-TLS), the
/// certificates of [`certificates`] in `dir` (its `eap_users` written here too).
pub(crate) fn hostapd_conf(dir: &Path, iface: &str) -> String {
    let d = |f: &str| dir.join(f).display().to_string();
    let _ = std::fs::write(dir.join("eap_users"), "* TLS\n");
    format!(
        "interface={iface}\ndriver=wired\nieee8021x=1\neapol_version=2\nuse_pae_group_addr=1\n\
         eap_server=1\neap_user_file={}\nca_cert={}\nserver_cert={}\nprivate_key={}\n",
        d("eap_users"),
        d("ca.pem"),
        d("server.pem"),
        d("server.key")
    )
}

/// Two network namespaces, loopback up in each, joined by a veth pair whose ends get their
/// addresses (`IP/len`) and are up.
pub(crate) struct VethLink<'a> {
    /// The phone's namespace, its end and address.
    pub phone: (&'a str, &'a str, &'a str),
    /// The network's namespace, its end and address.
    pub network: (&'a str, &'a str, &'a str),
}

impl VethLink<'_> {
    /// Makes the namespaces and the link (whatever is left of an earlier run's is deleted).
    pub(crate) fn create(&self) -> Result<()> {
        let (phone, network) = (self.phone, self.network);
        for ns in [phone.0, network.0] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
            ip(&["netns", "add", ns])?;
            ip(&["-n", ns, "link", "set", "lo", "up"])?;
        }
        ip(&["link", "add", phone.1, "type", "veth", "peer", "name", network.1])?;
        for (ns, dev, addr) in [phone, network] {
            ip(&["link", "set", dev, "netns", ns])?;
            ip(&["-n", ns, "addr", "add", addr, "dev", dev])?;
            ip(&["-n", ns, "link", "set", dev, "up"])?;
        }
        Ok(())
    }

    /// Deletes both namespaces (and the link with them).
    pub(crate) fn delete(&self) {
        for ns in [self.phone.0, self.network.0] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// The lab's phone and network namespaces and the link between them.
const PHONE_LINK: VethLink<'static> = VethLink {
    phone: (PHONE_NS, "alab-p", "10.250.0.2/24"),
    network: (NETWORK_NS, "alab-n", "10.250.0.1/24"),
};

/// Kamailio with [`kamailio_cfg`] on `listen` in namespace `ns`, its files in `dir`
/// (`kamailio.cfg`, `.log`, `.pid`, `.ctl`); its PID (its workers are in its process group).
pub(crate) fn spawn_kamailio(root: &Path, ns: &str, dir: &Path, listen: &str) -> Result<u32> {
    let kamailio = program("kamailio", "kamailio")?;
    let d = |f: &str| dir.join(f).display().to_string();
    std::fs::write(
        dir.join("kamailio.cfg"),
        kamailio_cfg(root, listen, &dir.join("kamailio.ctl"))?,
    )?;
    spawn_in(
        ns,
        &[
            &kamailio.display().to_string(),
            "-f",
            &d("kamailio.cfg"),
            "-DD",
            "-E",
            "-m",
            "64",
            "-M",
            "8",
            "-Y",
            &d(""),
            "-P",
            &d("kamailio.pid"),
            "-w",
            &d(""),
        ],
        &dir.join("kamailio.log"),
    )
}

/// hostapd with [`hostapd_conf`] (wired, EAP-TLS) on `iface` in namespace `ns`, its files in
/// `dir`, `options` before the configuration file (`-d`: debug log); its PID.
pub(crate) fn spawn_hostapd(ns: &str, dir: &Path, iface: &str, options: &[&str]) -> Result<u32> {
    let hostapd = program("hostapd", "hostapd")?.display().to_string();
    std::fs::write(dir.join("hostapd.conf"), hostapd_conf(dir, iface))?;
    let conf = dir.join("hostapd.conf").display().to_string();
    let args: Vec<&str> = [hostapd.as_str()]
        .into_iter()
        .chain(options.iter().copied())
        .chain([conf.as_str()])
        .collect();
    spawn_in(ns, &args, &dir.join("hostapd.log"))
}

/// `phone-agent run`'s options for 802.1X (EAP-TLS) on `iface` as `identity`, with the
/// certificates [`certificates`] wrote in `dir`.
pub(crate) fn eap_tls_options(dir: &Path, iface: &str, identity: &str) -> Vec<String> {
    let d = |f: &str| dir.join(f).display().to_string();
    vec![
        "--iface".into(),
        iface.into(),
        "--ca-file".into(),
        d("ca.pem"),
        "--client-cert".into(),
        d("phone.pem"),
        "--client-key".into(),
        d("phone.key"),
        "--identity".into(),
        identity.into(),
    ]
}

/// Starts `args` in namespace `ns`, its own process group, output to `log`; its PID (`ip
/// netns exec` execs the program, so it is the program's).
pub(crate) fn spawn_in(ns: &str, args: &[&str], log: &Path) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let out = std::fs::File::create(log)?;
    let child = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", args.first().copied().unwrap_or("?")))?;
    Ok(child.id())
}

/// `v` at a JSON pointer (`Null` when absent).
pub(crate) fn at<'a>(v: &'a Value, pointer: &str) -> &'a Value {
    v.pointer(pointer).unwrap_or(&Value::Null)
}

/// Records a started process in the lab file.
fn record(dir: &Path, lab: &mut Value, name: &str, entry: Value) -> Result<()> {
    if let Some(pids) = lab.get_mut("pids").and_then(Value::as_object_mut) {
        pids.insert(name.to_owned(), entry);
    }
    save(dir, lab)
}

fn save(dir: &Path, lab: &Value) -> Result<()> {
    let tmp = dir.join("lab.json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(lab)?)?;
    std::fs::rename(&tmp, dir.join("lab.json"))?;
    Ok(())
}

fn status_json(agent: &Path) -> Option<Value> {
    let out = Command::new(agent)
        .args(["status", "--json", "--http", HTTP, "--admin-password", PASSWORD])
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Everything green: 802.1X authenticated, every line registered, the firewall applied.
fn green(s: &Value) -> bool {
    let lines = at(s, "/lines").as_array().map_or(&[][..], Vec::as_slice);
    at(s, "/dot1x/transaction_state") == "Authenticated"
        && !lines.is_empty()
        && lines.iter().all(|l| at(l, "/state") == "Registered")
        && at(s, "/firewall/state") == "Applied"
        && !at(s, "/network/dhcp/address").is_null()
        && at(s, "/network/dhcp/applied") == true
        && at(s, "/network/dhcp/provisioning_option") == 66
        && matches!(
            at(s, "/provisioning/result").as_str(),
            Some("Applied" | "Unchanged")
        )
        && at(s, "/proxy/mode") == "Manual"
        && at(s, "/proxy/proxy") == SQUID
        && at(s, "/vpn/state") == "Connected"
}

/// The phone's own HTTP client through its manual proxy (`phone-agent fetch` on lab.xml, in
/// the phone's namespace): squid forwards a GET for the admin API back to the phone, whose
/// answer (401, no password given) comes back through squid. The answering entry.
fn through_squid(root: &Path, agent: &Path) -> Option<String> {
    let out = Command::new("ip")
        .args(["netns", "exec", PHONE_NS])
        .arg(agent)
        .args(["fetch", "--json", "--config"])
        .arg(root.join("examples/cfg/lab.xml"))
        .arg("http://10.250.0.2:8480/api/status")
        .output()
        .ok()?;
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    (at(&v, "/status") == 401).then(|| at(&v, "/via").as_str().unwrap_or("?").to_owned())
}

/// `cargo build -p phone-agent`; the binary.
fn build(root: &Path) -> Result<PathBuf> {
    let built = plain_cargo(&["build", "-p", "phone-agent"])
        .current_dir(root)
        .status()?;
    if !built.success() {
        bail!("building phone-agent failed");
    }
    Ok(root.join("target/debug/phone-agent"))
}

pub fn up(root: &Path) -> Result<()> {
    let agent = build(root)?;
    start(root, &agent)
}

/// The lab with `agent` (a debug build of phone-agent).
fn start(root: &Path, agent: &Path) -> Result<()> {
    let dir = lab_dir(root);
    if dir.join("lab.json").exists() {
        bail!(
            "the lab is already up ({}); `cargo xtask lab down` first",
            dir.join("lab.json").display()
        );
    }
    program("hostapd", "hostapd")?;
    program("kamailio", "kamailio")?;
    program("nft", "nftables")?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state"))?;
    let mut lab = json!({ "netns": [PHONE_NS, NETWORK_NS], "pids": {}, "http": HTTP });
    save(&dir, &lab)?;
    // From here on, `lab down` cleans up whatever was made.
    PHONE_LINK.create()?;
    ip(&["link", "add", "alab-h", "type", "veth", "peer", "name", "alab-i"])?;
    ip(&["link", "set", "alab-i", "netns", PHONE_NS])?;
    ip(&["-n", PHONE_NS, "addr", "add", "10.251.0.2/30", "dev", "alab-i"])?;
    ip(&["-n", PHONE_NS, "link", "set", "alab-i", "up"])?;
    ip(&["addr", "add", "10.251.0.1/30", "dev", "alab-h"])?;
    ip(&["link", "set", "alab-h", "up"])?;
    certificates(&dir)?;
    let d = |f: &str| dir.join(f).display().to_string();

    // Kamailio: the registrar of the SIP tests (alice/secret, client-initiated mediasec).
    let kamailio_pid = spawn_kamailio(root, NETWORK_NS, &dir, "10.250.0.1:5060")?;
    record(
        &dir,
        &mut lab,
        "kamailio",
        json!({ "pid": kamailio_pid, "comm": "kamailio", "group": true }),
    )?;

    // hostapd: the wired authenticator with its integrated EAP server (EAP-TLS).
    let hostapd_pid = spawn_hostapd(NETWORK_NS, &dir, "alab-n", &["-d"])?;
    record(
        &dir,
        &mut lab,
        "hostapd",
        json!({ "pid": hostapd_pid, "comm": "hostapd", "group": false }),
    )?;

    // dnsmasq: the DHCP server (option 66 names its own TFTP server) and that TFTP server,
    // serving the lab profile under the name the phone's default rule `/$PSN.xml` asks for.
    let dnsmasq = program("dnsmasq", "dnsmasq-base")?;
    let tftp = dir.join("tftp");
    std::fs::create_dir_all(&tftp)?;
    std::fs::copy(root.join("examples/cfg/lab.xml"), tftp.join(PROFILE))?;
    for (path, mode) in [(&dir, 0o755), (&tftp, 0o755), (&tftp.join(PROFILE), 0o644)] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    }
    // In a conf file dnsmasq reads `"…"` as a string (on the command line the quotes are sent).
    std::fs::write(dir.join("dnsmasq.conf"), "dhcp-option=66,\"10.250.0.1\"\n")?;
    let dnsmasq_pid = spawn_in(
        NETWORK_NS,
        &[
            &dnsmasq.display().to_string(),
            "--keep-in-foreground",
            &format!("--conf-file={}", d("dnsmasq.conf")),
            "--interface=alab-n",
            "--bind-interfaces",
            "--port=0",
            "--dhcp-range=10.250.0.100,10.250.0.150,10m",
            &format!("--dhcp-leasefile={}", d("dnsmasq.leases")),
            &format!("--pid-file={}", d("dnsmasq.pid")),
            "--log-dhcp",
            &format!("--log-facility={}", d("dnsmasq.log")),
            "--dhcp-authoritative",
            "--no-ping",
            "--enable-tftp",
            &format!("--tftp-root={}", tftp.display()),
        ],
        &dir.join("dnsmasq.out"),
    )?;
    record(
        &dir,
        &mut lab,
        "dnsmasq",
        json!({ "pid": dnsmasq_pid, "comm": "dnsmasq", "group": false }),
    )?;

    // squid: lab.xml's manual HTTP proxy, for the lab's network only. It drops privileges:
    // its directory is writable by its user.
    let squid = program("squid", "squid")?;
    let sq = dir.join("squid");
    std::fs::create_dir_all(&sq)?;
    std::fs::set_permissions(&sq, std::fs::Permissions::from_mode(0o777))?;
    std::fs::write(
        sq.join("squid.conf"),
        format!(
            "http_port {SQUID}\nvisible_hostname lab-squid\npid_filename {d}/squid.pid\n\
             cache_log {d}/cache.log\naccess_log stdio:{d}/access.log\ncache deny all\n\
             cache_mem 8 MB\ncoredump_dir {d}\nshutdown_lifetime 1 seconds\n\
             acl lab src 10.250.0.0/24\nhttp_access allow lab\nhttp_access deny all\n",
            d = sq.display()
        ),
    )?;
    let squid_pid = spawn_in(
        NETWORK_NS,
        &[
            &squid.display().to_string(),
            "-N",
            "-f",
            &sq.join("squid.conf").display().to_string(),
        ],
        &dir.join("squid.out"),
    )?;
    record(
        &dir,
        &mut lab,
        "squid",
        json!({ "pid": squid_pid, "comm": "squid", "group": false }),
    )?;

    // ocserv: lab.xml's VPN (Connect_on_Bootup), alice/secret, its certificate from the lab CA.
    let ocserv = program("ocserv", "ocserv")?;
    std::fs::write(dir.join("ocpasswd"), "")?;
    let mut ocpasswd = Command::new(program("ocpasswd", "ocserv")?)
        .args(["-c", &d("ocpasswd"), "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    if let Some(mut stdin) = ocpasswd.stdin.take() {
        use std::io::Write;
        stdin.write_all(b"secret\nsecret\n")?;
    }
    if !ocpasswd.wait()?.success() {
        bail!("ocpasswd failed");
    }
    std::fs::write(
        dir.join("ocserv.conf"),
        format!(
            "auth = \"plain[passwd={}]\"\ntcp-port = 443\nrun-as-user = root\nrun-as-group = root\n\
             socket-file = {}\nocctl-socket-file = {}\npid-file = {}\nserver-cert = {}\nserver-key = {}\n\
             isolate-workers = false\nmax-clients = 4\nmax-same-clients = 0\nkeepalive = 300\ndpd = 60\n\
             try-mtu-discovery = false\nauth-timeout = 240\ncookie-timeout = 300\ndeny-roaming = false\n\
             use-occtl = true\ndevice = alabvpn\npredictable-ips = true\nipv4-network = 10.252.0.0\n\
             ipv4-netmask = 255.255.255.0\nroute = 10.253.0.0/255.255.255.0\ncisco-client-compat = true\n\
             max-ban-score = 0\nrate-limit-ms = 0\n",
            d("ocpasswd"),
            d("ocserv.sock"),
            d("ocserv.occtl"),
            d("ocserv.pid"),
            d("vpn.pem"),
            d("vpn.key"),
        ),
    )?;
    let ocserv_pid = spawn_in(
        NETWORK_NS,
        &[
            &ocserv.display().to_string(),
            "-f",
            "-d",
            "1",
            "-c",
            &d("ocserv.conf"),
        ],
        &dir.join("ocserv.log"),
    )?;
    // Its sec-mod and workers stay in its process group: `down` signals the group.
    record(
        &dir,
        &mut lab,
        "ocserv",
        json!({ "pid": ocserv_pid, "comm": "ocserv-main", "group": true }),
    )?;

    // The agent's first attempts meet servers, not refusals (a VPN connect to a squid that did
    // not listen yet cost a retry).
    wait_listening(&[
        ("udp", "10.250.0.1:5060"),
        ("tcp", "10.250.0.1:5060"),
        ("udp", ":67"),
        ("udp", ":69"),
        ("tcp", SQUID),
        ("tcp", ":443"),
    ])?;

    // The agent on the example configuration.
    let started = Instant::now();
    let mut args = vec![
        agent.display().to_string(),
        "-v".into(),
        "run".into(),
        "--config".into(),
        root.join("examples/cfg/lab.xml").display().to_string(),
    ];
    args.extend(eap_tls_options(&dir, "alab-p", "phone@lab.example"));
    for a in [
        "--dhcp",
        "--dhcp-apply",
        "--eapol-start-period",
        "1",
        "--backoff-max",
        "5",
        "--http",
        "0.0.0.0:8480",
        "--admin-password",
        PASSWORD,
        "--state-dir",
        &d("state"),
    ] {
        args.push(a.to_owned());
    }
    let agent_pid = spawn_in(
        PHONE_NS,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
        &dir.join("agent.log"),
    )?;
    record(
        &dir,
        &mut lab,
        "agent",
        json!({ "pid": agent_pid, "comm": "phone-agent", "group": false }),
    )?;

    let deadline = started + Duration::from_secs(60);
    let mut last = None;
    while Instant::now() < deadline {
        last = status_json(agent);
        if last.as_ref().is_some_and(green) {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut all_green = last.as_ref().is_some_and(green);
    let mut via = None;
    while all_green && via.is_none() {
        via = through_squid(root, agent);
        if via.is_none() && Instant::now() >= deadline {
            all_green = false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    print_status(agent)?;
    if let Some(via) = via {
        println!("HTTP through the proxy: GET http://10.250.0.2:8480/api/status answered 401 via {via}");
    }
    if !all_green {
        bail!(
            "the lab is not all green after 60 s (logs in {}); it stays up for a look: `cargo xtask lab down` removes it",
            dir.display()
        );
    }
    println!(
        "\nlab up, all green in {:.1} s. The admin page: http://{HTTP}/ (any user, password `{PASSWORD}`)\n\
         `cargo xtask lab status` prints this again; `cargo xtask lab down` stops it. Logs: {}",
        started.elapsed().as_secs_f64(),
        dir.display()
    );
    Ok(())
}

/// Waits (at most 20 s) until the network namespace has a socket listening on each
/// `(protocol, local address suffix)`, as `ss` lists them.
fn wait_listening(wanted: &[(&str, &str)]) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let out = Command::new("ip")
            .args(["netns", "exec", NETWORK_NS, "ss", "-Hlntu"])
            .output()
            .context("running ss (iproute2)")?;
        let listing = String::from_utf8_lossy(&out.stdout);
        let missing: Vec<String> = wanted
            .iter()
            .filter(|(protocol, local)| {
                !listing.lines().any(|l| {
                    l.starts_with(protocol) && l.split_whitespace().nth(4).is_some_and(|a| a.ends_with(local))
                })
            })
            .map(|(protocol, local)| format!("{protocol} {local}"))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "nothing listens on {} in {NETWORK_NS} after 20 s (logs in target/lab)",
                missing.join(", ")
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn print_status(agent: &Path) -> Result<()> {
    let out = Command::new(agent)
        .args(["status", "--http", HTTP, "--admin-password", PASSWORD])
        .output()?;
    print!("{}", String::from_utf8_lossy(&out.stdout));
    if !out.status.success() {
        bail!(
            "phone-agent status: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

pub fn status(root: &Path) -> Result<()> {
    if !lab_dir(root).join("lab.json").exists() {
        bail!("the lab is not up (`cargo xtask lab up`)");
    }
    print_status(&root.join("target/debug/phone-agent"))
}

/// Is `pid` still the program `comm` that the lab started, and running? An exited process
/// that is xtask's own child (`lab check` starts and stops in one process) stays a zombie
/// until xtask exits: that one has stopped.
pub(crate) fn ours(pid: i32, comm: &str) -> bool {
    let running = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z'))
    });
    running && std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| comm.starts_with(c.trim()))
}

pub(crate) fn stop(pid: i32, comm: &str, group: bool, first: nix::sys::signal::Signal) {
    use nix::sys::signal::{Signal, kill, killpg};
    use nix::unistd::Pid;
    if !ours(pid, comm) {
        return;
    }
    let target = Pid::from_raw(pid);
    let send = |s: Signal| {
        let _ = if group { killpg(target, s) } else { kill(target, s) };
    };
    send(first);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ours(pid, comm) && Instant::now() < deadline {
        // Reaped by init once it exits (the lab's processes are not xtask's children now).
        std::thread::sleep(Duration::from_millis(20));
    }
    if ours(pid, comm) {
        send(Signal::SIGKILL);
    }
}

/// `up` (which fails unless everything turns green within its bound), then `down` either way;
/// the lab's result.
pub fn check(root: &Path) -> Result<()> {
    let agent = build(root)?;
    check_with(root, &agent)
}

/// [`check`] with a phone-agent already built: `cargo xtask ci` passes the one its tests just
/// built (`target/debug/phone-agent`), so the lab adds no build of its own.
pub fn check_with(root: &Path, agent: &Path) -> Result<()> {
    let started = Instant::now();
    let outcome = start(root, agent);
    if outcome.is_err() {
        for log in [
            "agent.log",
            "hostapd.log",
            "kamailio.log",
            "dnsmasq.log",
            "squid/cache.log",
            "ocserv.log",
        ] {
            let text = std::fs::read_to_string(lab_dir(root).join(log)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            eprintln!("--- {log} (last lines)");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
    }
    down(root)?;
    eprintln!(
        "xtask lab: up and down in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    outcome
}

pub fn down(root: &Path) -> Result<()> {
    use nix::sys::signal::Signal;
    let dir = lab_dir(root);
    let path = dir.join("lab.json");
    let lab: Value = match std::fs::read(&path) {
        Ok(b) => serde_json::from_slice(&b).context("target/lab/lab.json")?,
        Err(_) => {
            println!("the lab is not up");
            return Ok(());
        }
    };
    // The agent first and gracefully (un-REGISTER, EAPOL-Logoff), then the peers.
    for (name, signal) in [
        ("agent", Signal::SIGTERM),
        ("hostapd", Signal::SIGTERM),
        ("kamailio", Signal::SIGTERM),
        ("dnsmasq", Signal::SIGTERM),
        ("squid", Signal::SIGTERM),
        ("ocserv", Signal::SIGTERM),
    ] {
        let p = at(&lab, &format!("/pids/{name}"));
        if let (Some(pid), Some(comm)) = (at(p, "/pid").as_i64(), at(p, "/comm").as_str()) {
            stop(pid as i32, comm, at(p, "/group") == true, signal);
            println!("stopped {name} (pid {pid})");
        }
    }
    for ns in at(&lab, "/netns")
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let _ = Command::new("ip").args(["netns", "del", ns]).output();
    }
    // alab-h goes with its peer's namespace; delete it in case the peer never moved.
    let _ = Command::new("ip").args(["link", "del", "alab-h"]).output();
    std::fs::remove_file(&path)?;
    println!("lab down");
    Ok(())
}
