//! `phone-agent provision` against real peers on loopback: nginx over HTTPS with
//! `ssl_verify_client on` (Debian `nginx-light`), dnsmasq as the DNS server (A records, two for
//! the failover name), tftpd-hpa for `tftp://` rules, and rsyslog (Debian `rsyslog`, imudp)
//! as the syslog receiver, asserted from the file it writes. The HTTPS matrix: client certificate (right / none / another CA's) × server
//! certificate (`CN=host`, `CN=host/mailto:…`, a wrong name, a name whose A record is another
//! address) × DNS × Restricted_Access_Domains (rule host and redirect target). The HTTP proxy
//! for fetches through squid (CONNECT, absolute-form, basic_ncsa_auth and digest_file_auth
//! 407s, a PAC), and HTTP Digest 401s from lighttpd (Debian `lighttpd`, mod_auth htdigest,
//! MD5 and SHA-256).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "proxy_common/mod.rs"]
mod proxy_common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use proxy_common::{Squid, Tftpd, find_program, free_port, origin, temp_dir, udp_bound};

const PROFILE: &str = "<flat-profile>\n<Resync_Periodic>3600</Resync_Periodic>\n</flat-profile>\n";

struct Pki {
    dir: PathBuf,
}

fn ca(name: &str) -> (rcgen::Certificate, rcgen::KeyPair) {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name.push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().unwrap();
    (p.self_signed(&key).unwrap(), key)
}

/// A certificate with only a subject (no SAN), as the guide's provisioning servers have.
fn leaf(dn: &[(rcgen::DnType, &str)], issuer: &(rcgen::Certificate, rcgen::KeyPair)) -> (String, String) {
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    for (t, v) in dn {
        p.distinguished_name.push(t.clone(), *v);
    }
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.signed_by(&key, &issuer.0, &issuer.1).unwrap();
    (cert.pem(), key.serialize_pem())
}

impl Pki {
    fn new() -> Pki {
        let dir = temp_dir("prov-pki");
        let server_ca = ca("Provisioning Server CA");
        let client_ca = ca("Phone Client CA");
        let other_ca = ca("Someone Else's CA");
        std::fs::write(dir.join("server-ca.pem"), server_ca.0.pem()).unwrap();
        std::fs::write(dir.join("client-ca.pem"), client_ca.0.pem()).unwrap();
        let write = |name: &str, (cert, key): (String, String)| {
            std::fs::write(dir.join(format!("{name}.pem")), cert).unwrap();
            std::fs::write(dir.join(format!("{name}.key")), key).unwrap();
        };
        use rcgen::DnType::CommonName as CN;
        write("host", leaf(&[(CN, "prov.example.com")], &server_ca));
        write(
            "mailto",
            leaf(&[(CN, "prov.example.com/mailto:admin@example.com")], &server_ca),
        );
        write("wrong", leaf(&[(CN, "other.example.com")], &server_ca));
        write("elsewhere", leaf(&[(CN, "elsewhere.example.com")], &server_ca));
        write("multi", leaf(&[(CN, "multi.example.com")], &server_ca));
        let phone = [
            (rcgen::DnType::OrganizationalUnitName, "CP-7832-3PCC"),
            (rcgen::DnType::LocalityName, "FCH1234ABCD"),
            (rcgen::DnType::StateOrProvinceName, "000e08abcdef"),
        ];
        write("client", leaf(&phone, &client_ca));
        write("stranger", leaf(&phone, &other_ca));
        Pki { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// A peer killed by PID on drop (nginx runs with `master_process off`: one process).
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if ready() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{what} not ready within 10 s");
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// nginx with one server block per certificate, all requiring a client certificate.
fn nginx(pki: &Pki, ports: &[(&str, u16)], www: &Path) -> Peer {
    let dir = temp_dir("prov-nginx");
    let mut servers = String::new();
    for (cert, port) in ports {
        servers.push_str(&format!(
            "server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {c}.pem; ssl_certificate_key {c}.key;
              ssl_client_certificate {ca}; ssl_verify_client on; root {www};
              location = /to-evil {{ return 302 https://evil.test:{port}/p.xml; }}
              location = /to-inside {{ return 302 https://prov.example.com:{port}/p.xml; }}
              location = /auth/p.xml {{ auth_basic \"phone\"; auth_basic_user_file {www}/htpasswd; alias {www}/p.xml; }}
              location /reports/ {{ dav_methods PUT; create_full_put_path on; }} }}\n",
            c = pki.path(cert),
            ca = pki.path("client-ca.pem"),
            www = www.display(),
        ));
    }
    let conf = format!(
        "master_process off; worker_processes 1; pid {d}/nginx.pid; error_log {d}/error.log; user root;
         events {{ worker_connections 64; }}
         http {{ access_log {d}/access.log; client_body_temp_path {d}; proxy_temp_path {d};
                fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d}; {servers} }}\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(find_program("nginx", "nginx-light"))
        .args(["-e", &dir.join("error.log").display().to_string()])
        .args([
            "-p",
            &dir.display().to_string(),
            "-c",
            &dir.join("nginx.conf").display().to_string(),
        ])
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let peer = Peer(child);
    for (_, port) in ports {
        wait_for("nginx", || listening(*port));
    }
    peer
}

/// lighttpd (Debian `lighttpd`) on plain HTTP with mod_auth's Digest (`auth.backend
/// "htdigest"`): `/md5/` asks for algorithm MD5, `/sha256/` for SHA-256, both `qop="auth"`,
/// realm `phone`, one user `user` / `password` (the htdigest lines written here: MD5 and
/// SHA-256 of `user:realm:password`).
fn lighttpd(www: &Path, port: u16, user: &str, password: &str) -> (Peer, PathBuf) {
    let dir = temp_dir("prov-lighttpd");
    let hash = |cmd: &str| {
        let out = Command::new("sh")
            .args(["-c", &format!("printf '%s' \"$0\" | {cmd}")])
            .arg(format!("{user}:phone:{password}"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    std::fs::write(
        dir.join("htdigest-md5"),
        format!("{user}:phone:{}\n", hash("md5sum")),
    )
    .unwrap();
    std::fs::write(
        dir.join("htdigest-sha256"),
        format!("{user}:phone:{}\n", hash("sha256sum")),
    )
    .unwrap();
    let conf = format!(
        "server.document-root = \"{www}\"\nserver.bind = \"127.0.0.1\"\nserver.port = {port}\n\
         server.errorlog = \"{d}/error.log\"\naccesslog.filename = \"{d}/access.log\"\n\
         server.modules = ( \"mod_auth\", \"mod_authn_file\", \"mod_accesslog\" )\n\
         auth.backend = \"htdigest\"\nauth.backend.htdigest.userfile = \"{d}/htdigest-md5\"\n\
         $HTTP[\"url\"] =~ \"^/sha256/\" {{ auth.backend.htdigest.userfile = \"{d}/htdigest-sha256\" }}\n\
         auth.require = ( \"/md5/\" => ( \"method\" => \"digest\", \"realm\" => \"phone\", \"require\" => \"valid-user\", \"algorithm\" => \"MD5\" ),\n\
                          \"/sha256/\" => ( \"method\" => \"digest\", \"realm\" => \"phone\", \"require\" => \"valid-user\", \"algorithm\" => \"SHA-256\" ) )\n",
        www = www.display(),
        d = dir.display()
    );
    std::fs::write(dir.join("lighttpd.conf"), conf).unwrap();
    let child = Command::new(find_program("lighttpd", "lighttpd"))
        .args(["-D", "-f"])
        .arg(dir.join("lighttpd.conf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let peer = Peer(child);
    wait_for("lighttpd", || listening(port));
    (peer, dir.join("access.log"))
}

/// dnsmasq as the DNS server on 127.0.0.1 (no DHCP).
fn dnsmasq_dns(port: u16) -> Peer {
    let dir = temp_dir("prov-dns");
    let log = dir.join("log");
    let child = Command::new(find_program("dnsmasq", "dnsmasq-base"))
        .args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
        ])
        .args(["--listen-address=127.0.0.1", "--bind-interfaces", "--log-queries"])
        .arg(format!("--port={port}"))
        .arg(format!("--pid-file={}", dir.join("pid").display()))
        .arg(format!("--log-facility={}", log.display()))
        .args([
            "--host-record=prov.example.com,127.0.0.1",
            "--host-record=elsewhere.example.com,127.0.0.99",
            // The failover name: the first address is dead (nothing listens on 127.0.0.2).
            "--host-record=multi.example.com,127.0.0.2",
            "--host-record=multi.example.com,127.0.0.1",
            "--host-record=dead.example.com,127.0.0.3",
            "--host-record=dead.example.com,127.0.0.4",
            "--host-record=evil.test,127.0.0.1",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let peer = Peer(child);
    wait_for("dnsmasq DNS", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.contains("started"))
    });
    peer
}

/// rsyslogd in the foreground, UDP on 127.0.0.1:`port`, every message to `file` in RFC 5424
/// form (rsyslog's `RSYSLOG_SyslogProtocol23Format`).
fn rsyslog(port: u16, file: &Path) -> Peer {
    let dir = temp_dir("prov-rsyslog");
    let conf = dir.join("rsyslog.conf");
    std::fs::write(
        &conf,
        format!(
            "global(workDirectory=\"{d}\")\nmodule(load=\"imudp\")\n\
             input(type=\"imudp\" address=\"127.0.0.1\" port=\"{port}\")\n\
             *.* action(type=\"omfile\" file=\"{f}\" template=\"RSYSLOG_SyslogProtocol23Format\")\n",
            d = dir.display(),
            f = file.display()
        ),
    )
    .unwrap();
    let child = Command::new(find_program("rsyslogd", "rsyslog"))
        .args([
            "-n",
            "-f",
            conf.to_str().unwrap(),
            "-i",
            dir.join("pid").to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let peer = Peer(child);
    wait_for("rsyslogd", || udp_bound(port));
    peer
}

struct Run {
    out: Output,
    syslog: Vec<String>,
}

impl Run {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }
    fn code(&self) -> i32 {
        self.out.status.code().unwrap_or(-1)
    }

    /// Asserts the exit code and that stdout holds `needle`; adds the matrix row `label exit
    /// N | line`, the line being the first of stdout that `shown` picks.
    fn check(
        self,
        matrix: &mut Vec<String>,
        label: &str,
        want: i32,
        needle: &str,
        shown: impl Fn(&&str) -> bool,
    ) -> Run {
        let text = self.stdout();
        matrix.push(format!(
            "{label:<58} exit {} | {}",
            self.code(),
            text.lines().find(shown).unwrap_or("").trim()
        ));
        assert_eq!(
            self.code(),
            want,
            "{label}: {text}\n{}",
            String::from_utf8_lossy(&self.out.stderr)
        );
        assert!(text.contains(needle), "{label}: expected `{needle}` in:\n{text}");
        self
    }
}

struct Bench {
    pki: Pki,
    dns: u16,
    dir: PathBuf,
    syslog_port: u16,
    syslog_file: PathBuf,
}

/// Which CAs the agent trusts for the HTTPS servers.
enum Trust<'a> {
    /// `--ca server-ca.pem`.
    CaFlag,
    /// No `--ca`: the system bundle, here `SSL_CERT_FILE=<this PKI file>`.
    SystemBundle(&'a str),
}

impl Bench {
    fn provision(&self, rule: &str, domains: &str, client: Option<&str>) -> Run {
        self.provision_trusting(rule, domains, client, Trust::CaFlag)
    }

    fn provision_trusting(&self, rule: &str, domains: &str, client: Option<&str>, trust: Trust<'_>) -> Run {
        self.provision_with(rule, domains, client, trust, "", &[])
    }

    /// With more cfg.xml elements (`extra_cfg`) and more command-line arguments.
    fn provision_with(
        &self,
        rule: &str,
        domains: &str,
        client: Option<&str>,
        trust: Trust<'_>,
        extra_cfg: &str,
        extra_args: &[&str],
    ) -> Run {
        let syslog_port = self.syslog_port;
        let before = std::fs::read_to_string(&self.syslog_file)
            .unwrap_or_default()
            .len();
        let cfg = self.dir.join("cfg.xml");
        let rule = rule.replace('&', "&amp;");
        std::fs::write(
            &cfg,
            format!(
                "<flat-profile>\n<Profile_Rule>{rule}</Profile_Rule>\n\
                 <Restricted_Access_Domains>{domains}</Restricted_Access_Domains>\n\
                 <Syslog_Server>127.0.0.1:{syslog_port}</Syslog_Server>\n{extra_cfg}</flat-profile>\n"
            ),
        )
        .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_phone-agent"));
        let sub = extra_args
            .first()
            .copied()
            .filter(|a| matches!(*a, "upgrade" | "report"));
        let extra_args = if sub.is_some() {
            &extra_args[1..]
        } else {
            extra_args
        };
        cmd.arg(sub.unwrap_or("provision"))
            .args(["--once", "--config", cfg.to_str().unwrap()])
            .args(["--dns", &format!("127.0.0.1:{}", self.dns)])
            .args(["--mac", "00:0e:08:ab:cd:ef", "--serial", "FCH1234ABCD"])
            .args(["--save", self.dir.join("saved.xml").to_str().unwrap()])
            .args(extra_args);
        match trust {
            Trust::CaFlag => {
                cmd.args(["--ca", &self.pki.path("server-ca.pem")]);
            }
            Trust::SystemBundle(file) => {
                cmd.env("SSL_CERT_FILE", self.pki.path(file));
            }
        }
        if let Some(c) = client {
            cmd.args(["--client-cert", &self.pki.path(&format!("{c}.pem"))])
                .args(["--client-key", &self.pki.path(&format!("{c}.key"))]);
        }
        let out = cmd.stdin(Stdio::null()).output().unwrap();
        // Every run ends with a success or failure line; wait (bounded) until rsyslog wrote it.
        let mut syslog = Vec::new();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end {
            let all = std::fs::read_to_string(&self.syslog_file).unwrap_or_default();
            let new = all.get(before..).unwrap_or_default();
            if [
                "Resync failed",
                "Successful resync",
                "Upgrade failed",
                "Successful upgrade",
            ]
            .iter()
            .any(|m| new.contains(m))
            {
                syslog = new.lines().map(str::to_owned).collect();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Run { out, syslog }
    }
}

#[test]
fn https_matrix_failover_tftp_and_syslog() {
    let pki = Pki::new();
    let www = temp_dir("prov-www");
    std::fs::write(www.join("p.xml"), PROFILE).unwrap();
    std::fs::write(www.join("000e08abcdef.xml"), PROFILE).unwrap();
    // nginx reads `{PLAIN}` passwords in its user file.
    std::fs::write(www.join("htpasswd"), "phone:{PLAIN}s3cret\n").unwrap();
    let ports: Vec<(&str, u16)> = ["host", "mailto", "wrong", "elsewhere", "multi"]
        .iter()
        .map(|c| (*c, free_port()))
        .collect();
    let _nginx = nginx(&pki, &ports, &www);
    let dns = free_port();
    let _dns = dnsmasq_dns(dns);
    let tftpd = Tftpd::start(&[("p.xml", PROFILE.as_bytes())]);
    let dir = temp_dir("prov-run");
    let syslog_port = free_port();
    let syslog_file = dir.join("syslog.log");
    let _rsyslog = rsyslog(syslog_port, &syslog_file);
    let bench = Bench {
        pki,
        dns,
        dir,
        syslog_port,
        syslog_file,
    };
    let port = |c: &str| ports.iter().find(|(n, _)| *n == c).unwrap().1;
    let mut matrix = Vec::new();
    let mut case =
        |label: &str, rule: String, domains: &str, client: Option<&str>, want: i32, needle: &str| {
            bench
                .provision(&rule, domains, client)
                .check(&mut matrix, label, want, needle, |_| true)
        };
    let host = port("host");
    // Client certificate × server certificate forms.
    let r = case(
        "right client cert, CN=host",
        format!("https://prov.example.com:{host}/$MA.xml"),
        "",
        Some("client"),
        0,
        "fetched",
    );
    assert_eq!(
        std::fs::read_to_string(bench.dir.join("saved.xml")).unwrap(),
        PROFILE
    );
    assert!(
        r.syslog
            .iter()
            .any(|l| l.contains("Requesting resync https://127.0.0.1:") && l.contains("/000e08abcdef.xml")),
        "{:?}",
        r.syslog
    );
    assert!(
        r.syslog.iter().any(|l| l.contains("Successful resync")),
        "{:?}",
        r.syslog
    );
    case(
        "no client cert, CN=host",
        format!("https://prov.example.com:{host}/p.xml"),
        "",
        None,
        1,
        "HTTP 400",
    );
    case(
        "another CA's client cert, CN=host",
        format!("https://prov.example.com:{host}/p.xml"),
        "",
        Some("stranger"),
        1,
        "HTTP 400",
    );
    case(
        "right client cert, CN=host/mailto:...",
        format!("https://prov.example.com:{}/p.xml", port("mailto")),
        "",
        Some("client"),
        0,
        "fetched",
    );
    case(
        "right client cert, CN=other.example.com (wrong name)",
        format!("https://prov.example.com:{}/p.xml", port("wrong")),
        "",
        Some("client"),
        1,
        "certificate",
    );
    // IP URLs: the certificate's name must resolve to the address (DNS-vs-IP check).
    case(
        "IP URL, CN=prov.example.com -> 127.0.0.1",
        format!("https://127.0.0.1:{host}/p.xml"),
        "",
        Some("client"),
        0,
        "fetched",
    );
    case(
        "IP URL, CN=elsewhere.example.com -> 127.0.0.99",
        format!("https://127.0.0.1:{}/p.xml", port("elsewhere")),
        "",
        Some("client"),
        1,
        "DNS-vs-IP",
    );
    // Restricted_Access_Domains: the rule's host, and a redirect's target.
    case(
        "restricted: host inside example.com",
        format!("https://prov.example.com:{host}/p.xml"),
        "example.com",
        Some("client"),
        0,
        "fetched",
    );
    case(
        "restricted: host outside (voiceip.com)",
        format!("https://prov.example.com:{host}/p.xml"),
        "voiceip.com",
        Some("client"),
        1,
        "Restricted_Access_Domains: `prov.example.com` (from Profile_Rule)",
    );
    case(
        "restricted: redirect inside",
        format!("https://prov.example.com:{host}/to-inside"),
        "example.com",
        Some("client"),
        0,
        "fetched",
    );
    case(
        "restricted: redirect to evil.test refused",
        format!("https://prov.example.com:{host}/to-evil"),
        "example.com",
        Some("client"),
        1,
        "Restricted_Access_Domains: `evil.test` (from Profile_Rule, redirect from",
    );
    // A-record failover: multi.example.com is 127.0.0.2 (dead) then 127.0.0.1.
    let multi = port("multi");
    let r = case(
        "failover: first A record dead",
        format!("https://multi.example.com:{multi}/p.xml"),
        "",
        Some("client"),
        0,
        "fetched",
    );
    assert!(
        r.stdout().contains(&format!("127.0.0.2:{multi}: unreachable")),
        "{}",
        r.stdout()
    );
    // Both addresses dead: an error, and the failure line in syslog.
    let r = case(
        "failover: both A records dead",
        format!("https://dead.example.com:{host}/p.xml"),
        "",
        Some("client"),
        1,
        "no address of dead.example.com answers",
    );
    assert!(
        r.syslog.iter().any(|l| l.starts_with("<11>1 ")
            && l.contains("Resync failed: no address of dead.example.com answers")),
        "{:?}",
        r.syslog
    );
    // TFTP through tftp-proto.
    case(
        "tftp:// rule (tftpd-hpa)",
        format!("tftp://127.0.0.1:{}/p.xml", tftpd.port),
        "",
        None,
        0,
        "fetched",
    );
    // `[--key SECRET]`: the profile as `openssl enc -aes-256-cbc -k SECRET` wrote it.
    let enc = Command::new("openssl")
        .args(["enc", "-aes-256-cbc", "-k", "MyOwnSecret", "-md", "md5", "-in"])
        .arg(www.join("p.xml"))
        .arg("-out")
        .arg(www.join("p.cfg"))
        .output()
        .unwrap();
    assert!(enc.status.success(), "{}", String::from_utf8_lossy(&enc.stderr));
    case(
        "[--key] encrypted profile, right secret",
        format!("[--key MyOwnSecret] https://prov.example.com:{host}/p.cfg"),
        "",
        Some("client"),
        0,
        "fetched",
    );
    assert_eq!(
        std::fs::read_to_string(bench.dir.join("saved.xml")).unwrap(),
        PROFILE
    );
    case(
        "[--key] encrypted profile, wrong secret",
        format!("[--key wrong] https://prov.example.com:{host}/p.cfg"),
        "",
        Some("client"),
        1,
        "--key: the profile does not decrypt",
    );
    // HTTP Basic: a 401 is retried with [--uid --pwd]; wrong or missing credentials fail.
    case(
        "401 retried with [--uid --pwd] (Basic)",
        format!("[--uid phone --pwd s3cret] https://prov.example.com:{host}/auth/p.xml"),
        "",
        Some("client"),
        0,
        "fetched",
    );
    case(
        "401, wrong password",
        format!("[--uid phone --pwd nope] https://prov.example.com:{host}/auth/p.xml"),
        "",
        Some("client"),
        1,
        "refused user `phone` (2 tries)",
    );
    case(
        "401, no credentials in the rule",
        format!("https://prov.example.com:{host}/auth/p.xml"),
        "",
        Some("client"),
        1,
        "the rule has no [--uid",
    );
    // `( … )!` assignments go into the profile the resync produces; the profile's own
    // values win (it is fetched after the assignment), GPP_* only feed later rules' macros.
    let r = case(
        "assignments applied into the saved profile",
        format!(
            "( Proxy_Port = \"8080\"; Resync_Periodic = \"7200\"; GPP_A = \"p\"; )! https://prov.example.com:{host}/p.xml"
        ),
        "",
        Some("client"),
        0,
        "assigns Proxy_Port = \"8080\"",
    );
    let saved = std::fs::read_to_string(bench.dir.join("saved.xml")).unwrap();
    assert!(
        saved.contains("<Proxy_Port>8080</Proxy_Port>")
            && saved.contains("<Resync_Periodic>3600</Resync_Periodic>")
            && !saved.contains("7200")
            && !saved.contains("GPP_A"),
        "{saved}\n{}",
        r.stdout()
    );
    // Resync_Fails_On_FNF: a 404 fails the resync by default; with No it counts as done.
    case(
        "404, Resync_Fails_On_FNF default (Yes)",
        format!("https://prov.example.com:{host}/missing.xml"),
        "",
        Some("client"),
        1,
        "HTTP 404: file not found",
    );
    let r = bench.provision_with(
        &format!("https://prov.example.com:{host}/missing.xml"),
        "",
        Some("client"),
        Trust::CaFlag,
        "<Resync_Fails_On_FNF>No</Resync_Fails_On_FNF>\n",
        &[],
    );
    matrix.push(format!(
        "{:<58} exit {} | {}",
        "404, Resync_Fails_On_FNF No",
        r.code(),
        r.stdout().lines().next().unwrap_or("")
    ));
    assert_eq!(r.code(), 0, "{}", r.stdout());
    assert!(r.stdout().contains("Profile_Rule: not-found:"), "{}", r.stdout());
    // Upgrade_Rule: the image fetched with the same machinery, reported, never installed.
    let image: Vec<u8> = (0..1_048_576u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(www.join("fw.loads"), &image).unwrap();
    let sha = {
        let out = Command::new("sha256sum")
            .arg(www.join("fw.loads"))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned()
    };
    let upgrade = |rule: &str, domains: &str| {
        bench.provision_with(
            "",
            domains,
            Some("client"),
            Trust::CaFlag,
            &format!("<Upgrade_Rule>{rule}</Upgrade_Rule>\n"),
            &["upgrade"],
        )
    };
    let r = upgrade(
        &format!("https://prov.example.com:{host}/fw.loads"),
        "example.com",
    );
    matrix.push(format!(
        "{:<58} exit {} | {}",
        "upgrade: Upgrade_Rule image",
        r.code(),
        r.stdout().lines().next().unwrap_or("")
    ));
    assert_eq!(r.code(), 0, "{}", r.stdout());
    assert!(
        r.stdout()
            .contains(&format!("firmware image 1048576 bytes, SHA-256 {sha}"))
            && r.stdout().contains("not installed"),
        "{}",
        r.stdout()
    );
    assert_eq!(std::fs::read(bench.dir.join("saved.xml")).unwrap(), image);
    assert!(
        r.syslog
            .iter()
            .any(|l| l.contains(" upgrade - ") && l.contains("Requesting upgrade https://127.0.0.1:"))
            && r.syslog
                .iter()
                .any(|l| l.contains("Successful upgrade https://127.0.0.1:")),
        "{:?}",
        r.syslog
    );
    let r = upgrade(&format!("https://evil.test:{host}/fw.loads"), "example.com");
    matrix.push(format!(
        "{:<58} exit {} | {}",
        "upgrade: host outside Restricted_Access_Domains",
        r.code(),
        r.stdout().lines().next().unwrap_or("")
    ));
    assert_eq!(r.code(), 1, "{}", r.stdout());
    assert!(
        r.stdout()
            .contains("Restricted_Access_Domains: `evil.test` (from Upgrade_Rule)"),
        "{}",
        r.stdout()
    );
    assert!(
        r.syslog
            .iter()
            .any(|l| l.starts_with("<11>1 ") && l.contains("Upgrade failed: Restricted_Access_Domains")),
        "{:?}",
        r.syslog
    );
    // Report_Rule: the configuration report PUT to nginx (WebDAV PUT stores it).
    let r = bench.provision_with(
        "",
        "example.com",
        Some("client"),
        Trust::CaFlag,
        &format!(
            "<Report_Rule>https://prov.example.com:{host}/reports/$MA.xml</Report_Rule>\n\
             <Proxy_Password>never-reported</Proxy_Password>\n"
        ),
        &["report"],
    );
    matrix.push(format!(
        "{:<58} exit {} | {}",
        "report: Report_Rule PUT",
        r.code(),
        r.stdout().lines().next().unwrap_or("")
    ));
    assert_eq!(r.code(), 0, "{}", r.stdout());
    let stored = std::fs::read_to_string(www.join("reports/000e08abcdef.xml")).unwrap();
    assert!(
        stored.contains(&format!(
            "<Report_Rule>https://prov.example.com:{host}/reports/$MA.xml</Report_Rule>"
        )) && stored.contains("<Proxy_Password>&lt;redacted&gt;</Proxy_Password>")
            && !stored.contains("never-reported"),
        "{stored}"
    );
    assert!(phone_config::parse(stored.as_bytes()).is_ok());
    // Without --ca: the system's CA bundle (SSL_CERT_FILE, as OpenSSL reads it).
    let rule = format!("https://prov.example.com:{host}/p.xml");
    let r = bench.provision_trusting(&rule, "", Some("client"), Trust::SystemBundle("server-ca.pem"));
    matrix.push(format!(
        "{:<58} exit {} | {}",
        "no --ca, system bundle has the server CA",
        r.code(),
        r.stdout().lines().next().unwrap_or("")
    ));
    assert_eq!(r.code(), 0, "{}", r.stdout());
    let r = bench.provision_trusting(&rule, "", Some("client"), Trust::SystemBundle("client-ca.pem"));
    matrix.push(format!(
        "{:<58} exit {} | {}",
        "no --ca, system bundle lacks the server CA",
        r.code(),
        r.stdout().lines().next().unwrap_or("")
    ));
    assert_eq!(r.code(), 1, "{}", r.stdout());
    assert!(r.stdout().contains("certificate"), "{}", r.stdout());
    eprintln!("provisioning matrix:\n  {}", matrix.join("\n  "));
    for l in std::fs::read_to_string(&bench.syslog_file)
        .unwrap_or_default()
        .lines()
    {
        eprintln!("rsyslog: {l}");
    }
}

/// The HTTP proxy for provisioning fetches (the seed's proxy settings: `Proxy_Mode`,
/// `Proxy_Host`, `Proxy_Port`, `Proxy_Server_Requires_Authentication`, `Proxy_Username`,
/// `Proxy_Password`, `PAC_URL`) through a real squid: https as a CONNECT tunnel to the address
/// the phone resolved (TLS identity, client certificate and DNS-vs-IP unchanged), http as an
/// absolute-form GET, squid with basic_ncsa_auth (407, then Basic), a wrong proxy password,
/// Restricted_Access_Domains on the origin host, and Auto mode with a PAC whose first proxy is
/// dead.
#[test]
fn provisioning_through_squid() {
    let pki = Pki::new();
    let www = temp_dir("prov-www");
    std::fs::write(www.join("p.xml"), PROFILE).unwrap();
    std::fs::write(www.join("htpasswd"), "phone:{PLAIN}s3cret\n").unwrap();
    let ports: Vec<(&str, u16)> = ["host", "elsewhere"].iter().map(|c| (*c, free_port())).collect();
    let _nginx = nginx(&pki, &ports, &www);
    let host = ports[0].1;
    let elsewhere = ports[1].1;
    let dns = free_port();
    let _dns = dnsmasq_dns(dns);
    let dir = temp_dir("prov-proxy");
    let syslog_port = free_port();
    let syslog_file = dir.join("syslog.log");
    let _rsyslog = rsyslog(syslog_port, &syslog_file);
    // A plain-HTTP origin (proxy_common's: it serves its text at /proxy.pac).
    let http_origin = origin(PROFILE.to_owned());
    let open = Squid::start(None, &[host, elsewhere]);
    let authed = Squid::start(Some(("phone", "s3cret")), &[host]);
    let bench = Bench {
        pki,
        dns,
        dir,
        syslog_port,
        syslog_file,
    };
    let manual = |port: u16, auth: Option<(&str, &str)>| {
        let mut cfg = format!(
            "<Proxy_Mode>Manual</Proxy_Mode>\n<Proxy_Host>127.0.0.1</Proxy_Host>\n<Proxy_Port>{port}</Proxy_Port>\n"
        );
        if let Some((u, p)) = auth {
            cfg.push_str(&format!(
                "<Proxy_Server_Requires_Authentication>Yes</Proxy_Server_Requires_Authentication>\n\
                 <Proxy_Username>{u}</Proxy_Username>\n<Proxy_Password>{p}</Proxy_Password>\n"
            ));
        }
        cfg
    };
    let mut matrix = Vec::new();
    let mut case = |label: &str, rule: String, domains: &str, cfg: &str, want: i32, needle: &str| {
        bench
            .provision_with(
                &rule,
                domains,
                Some("client"),
                Trust::CaFlag,
                cfg,
                &["--proxy-loopback"],
            )
            .check(&mut matrix, label, want, needle, |_| true)
    };
    let https_rule = format!("https://prov.example.com:{host}/p.xml");
    // Manual proxy, https: CONNECT to the resolved address, TLS checked against the origin.
    let r = case(
        "manual, https via CONNECT",
        https_rule.clone(),
        "",
        &manual(open.port, None),
        0,
        &format!(
            "127.0.0.1:{host} via HTTP proxy 127.0.0.1:{}: answered",
            open.port
        ),
    );
    assert!(
        r.syslog.iter().any(|l| l.contains("Successful resync")),
        "{:?}",
        r.syslog
    );
    let needle = format!("CONNECT 127.0.0.1:{host}");
    let log = open.access_log_with(&needle);
    assert!(log.contains(&needle), "{log}");
    // The certificate is still the origin's: a DNS-vs-IP mismatch is refused through the proxy too.
    case(
        "manual, https, DNS-vs-IP mismatch",
        format!("https://127.0.0.1:{elsewhere}/p.xml"),
        "",
        &manual(open.port, None),
        1,
        "DNS-vs-IP",
    );
    // Manual proxy, http: an absolute-form GET.
    case(
        "manual, http absolute-form",
        format!("http://127.0.0.1:{http_origin}/proxy.pac"),
        "",
        &manual(open.port, None),
        0,
        "fetched",
    );
    let needle = format!("GET http://127.0.0.1:{http_origin}/proxy.pac");
    let log = open.access_log_with(&needle);
    assert!(log.contains(&needle), "{log}");
    // Restricted_Access_Domains applies to the origin host, before the proxy is asked.
    let before = open.access_log();
    case(
        "manual, origin outside Restricted_Access_Domains",
        https_rule.clone(),
        "voiceip.com",
        &manual(open.port, None),
        1,
        "Restricted_Access_Domains: `prov.example.com`",
    );
    assert_eq!(open.access_log(), before, "the refused host reached squid");
    // squid with basic_ncsa_auth: 407, then Proxy-Authorization: Basic.
    let r = case(
        "auth proxy, https, right password",
        https_rule.clone(),
        "",
        &manual(authed.port, Some(("phone", "s3cret"))),
        0,
        "fetched",
    );
    assert!(
        r.stdout().contains(&format!(
            "HTTP proxy 127.0.0.1:{}: 407, retrying as `phone` (Basic)",
            authed.port
        )),
        "{}",
        r.stdout()
    );
    let needle = format!("CONNECT 127.0.0.1:{host} phone ");
    let log = authed.access_log_with(&needle);
    assert!(log.contains(&needle) && log.contains("TCP_DENIED/407"), "{log}");
    case(
        "auth proxy, http, right password",
        format!("http://127.0.0.1:{http_origin}/proxy.pac"),
        "",
        &manual(authed.port, Some(("phone", "s3cret"))),
        0,
        "407, retrying as `phone` (Basic)",
    );
    let r = case(
        "auth proxy, wrong password",
        https_rule.clone(),
        "",
        &manual(authed.port, Some(("phone", "wrong"))),
        1,
        &format!(
            "HTTP proxy 127.0.0.1:{} refused Proxy_Username `phone` with the configured Proxy_Password",
            authed.port
        ),
    );
    assert!(
        !r.stdout().contains("wrong"),
        "the password leaked: {}",
        r.stdout()
    );
    assert!(
        r.syslog
            .iter()
            .any(|l| l.contains("Resync failed: HTTP proxy 127.0.0.1:")),
        "{:?}",
        r.syslog
    );
    case(
        "auth proxy, no credentials configured",
        https_rule.clone(),
        "",
        &manual(authed.port, None),
        1,
        "requires authentication (407",
    );
    // Auto mode, PAC_URL: the first proxy is dead, the second is squid.
    let dead = free_port();
    let pac_origin = origin(format!(
        "function FindProxyForURL(url, host) {{ return \"PROXY 127.0.0.1:{dead}; PROXY 127.0.0.1:{}\"; }}",
        open.port
    ));
    let r = case(
        "auto (PAC_URL), first proxy dead",
        https_rule.clone(),
        "",
        &format!(
            "<Proxy_Mode>Auto</Proxy_Mode>\n<Use_Auto_Discovery__WPAD_>No</Use_Auto_Discovery__WPAD_>\n\
             <PAC_URL>http://127.0.0.1:{pac_origin}/proxy.pac</PAC_URL>\n"
        ),
        0,
        "fetched",
    );
    assert!(
        r.stdout()
            .contains(&format!("PROXY 127.0.0.1:{dead}: unreachable")),
        "{}",
        r.stdout()
    );
    // Auto mode with WPAD: the PAC URL from the lease's DHCP option 252.
    let lease = bench.dir.join("lease.json");
    std::fs::write(
        &lease,
        format!("{{\"wpad\": \"http://127.0.0.1:{pac_origin}/proxy.pac\"}}\n"),
    )
    .unwrap();
    let r = bench.provision_with(
        &https_rule,
        "",
        Some("client"),
        Trust::CaFlag,
        "<Proxy_Mode>Auto</Proxy_Mode>\n<Use_Auto_Discovery__WPAD_>Yes</Use_Auto_Discovery__WPAD_>\n",
        &["--proxy-loopback", "--dhcp-lease", lease.to_str().unwrap()],
    );
    matrix.push(format!(
        "{:<46} exit {} | {}",
        "auto (WPAD, DHCP option 252 in the lease)",
        r.code(),
        r.stdout().lines().next().unwrap_or("").trim()
    ));
    assert_eq!(r.code(), 0, "{}", r.stdout());
    assert!(
        r.stdout()
            .contains(&format!("via HTTP proxy 127.0.0.1:{}", open.port)),
        "{}",
        r.stdout()
    );
    eprintln!("provisioning through squid:\n  {}", matrix.join("\n  "));
    for l in open.access_log().lines().chain(authed.access_log().lines()) {
        eprintln!("squid: {l}");
    }
}

/// HTTP Digest (RFC 7616) for a 401 from lighttpd (MD5 and SHA-256, `qop=auth`) with the
/// rule's `[--uid --pwd]`, a wrong password refused after two tries, and for a 407 from squid
/// (digest_file_auth) with Proxy_Username / Proxy_Password.
#[test]
fn digest_for_401_from_lighttpd_and_407_from_squid() {
    let www = temp_dir("prov-www-digest");
    for d in ["md5", "sha256"] {
        std::fs::create_dir_all(www.join(d)).unwrap();
        std::fs::write(www.join(d).join("p.xml"), PROFILE).unwrap();
    }
    let port = free_port();
    let (_lighttpd, access_log) = lighttpd(&www, port, "phone", "s3cret");
    let dir = temp_dir("prov-digest");
    let syslog_port = free_port();
    let syslog_file = dir.join("syslog.log");
    let _rsyslog = rsyslog(syslog_port, &syslog_file);
    let squid = Squid::start_digest("phone", "pr0xy", &[]);
    let bench = Bench {
        pki: Pki::new(),
        dns: free_port(),
        dir,
        syslog_port,
        syslog_file,
    };
    let mut matrix = Vec::new();
    let mut case = |label: &str, rule: String, cfg: &str, want: i32, needle: &str| {
        bench
            .provision_with(&rule, "", None, Trust::CaFlag, cfg, &["--proxy-loopback"])
            .check(&mut matrix, label, want, needle, |l| {
                l.contains("401") || l.contains("407")
            })
    };
    case(
        "401 Digest MD5",
        format!("[--uid phone --pwd s3cret] http://127.0.0.1:{port}/md5/p.xml"),
        "",
        0,
        "401, retrying as `phone` (Digest MD5)",
    );
    case(
        "401 Digest SHA-256",
        format!("[--uid phone --pwd s3cret] http://127.0.0.1:{port}/sha256/p.xml"),
        "",
        0,
        "401, retrying as `phone` (Digest SHA-256)",
    );
    case(
        "401 Digest, wrong password",
        format!("[--uid phone --pwd nope] http://127.0.0.1:{port}/sha256/p.xml"),
        "",
        1,
        "refused user `phone` (2 tries)",
    );
    let log = std::fs::read_to_string(&access_log).unwrap_or_default();
    assert!(
        log.contains("\"GET /md5/p.xml HTTP/1.0\" 200") && log.contains("\"GET /sha256/p.xml HTTP/1.0\" 200"),
        "{log}"
    );
    let proxy = |password: &str| {
        format!(
            "<Proxy_Mode>Manual</Proxy_Mode>\n<Proxy_Host>127.0.0.1</Proxy_Host>\n<Proxy_Port>{}</Proxy_Port>\n\
             <Proxy_Server_Requires_Authentication>Yes</Proxy_Server_Requires_Authentication>\n\
             <Proxy_Username>phone</Proxy_Username>\n<Proxy_Password>{password}</Proxy_Password>\n",
            squid.port
        )
    };
    case(
        "407 Digest (squid), both challenges",
        format!("[--uid phone --pwd s3cret] http://127.0.0.1:{port}/md5/p.xml"),
        &proxy("pr0xy"),
        0,
        "407, retrying as `phone` (Digest MD5)",
    );
    let needle = format!("GET http://127.0.0.1:{port}/md5/p.xml phone ");
    let squid_log = squid.access_log_with(&needle);
    assert!(squid_log.contains(&needle), "{squid_log}");
    case(
        "407 Digest, wrong proxy password",
        format!("http://127.0.0.1:{port}/md5/p.xml"),
        &proxy("wrong"),
        1,
        &format!(
            "HTTP proxy 127.0.0.1:{} refused Proxy_Username `phone`",
            squid.port
        ),
    );
    eprintln!("digest:\n  {}", matrix.join("\n  "));
    for l in log.lines().chain(squid.access_log().lines()) {
        eprintln!("peer: {l}");
    }
}
