//! Interop with a real peer: SIPp (Debian package `sip-tester`) as the registrar and as the
//! proxy sending INVITEs, on loopback with free ports. The SIPp scenarios in `tests/sipp/`
//! check the phone's headers and digest; a wrong phone fails them (shown by the negative
//! tests). The matrix: transport (UDP, TCP, TLS) x mediasec mode (client-initiated,
//! server-initiated, off because MediaSec_Over_TLS_Only, on because TLS), plus Auth_INVITE.
//!
//! TLS: Debian's SIPp has no TLS, so stunnel (Debian `stunnel4`) terminates TLS in front of
//! SIPp's TCP registrar, with a CA and server certificate made here with rcgen. The phone's
//! side is rustls with `TLS_Cipher_List` (cipher-string) and tls-hostname's verifier
//! (`TLS_Name_Validate_1_`).
//!
//! SIPp or stunnel missing is a failure, not a skip: CI installs them (`.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, SanType};

const AGENT: &str = env!("CARGO_BIN_EXE_phone-agent");

mod sip_common;

use sip_common::free_port;

/// A fresh directory for one test's files (SIPp writes its logs into its working directory).
fn workdir(name: &str) -> PathBuf {
    sip_common::workdir("sip", name)
}

fn on_path(binary: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(binary))
            .find(|p| p.is_file())
    })
}

fn sipp() -> PathBuf {
    on_path("sipp").unwrap_or_else(|| {
        panic!("SIPp (`sipp`) is not installed: install the Debian package `sip-tester` (.ci/run does)")
    })
}

fn stunnel() -> PathBuf {
    on_path("stunnel4")
        .or_else(|| on_path("stunnel"))
        .unwrap_or_else(|| {
            panic!("stunnel is not installed: install the Debian package `stunnel4` (.ci/run does)")
        })
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// The phone's transport (TLS: from the phone to stunnel, TCP from stunnel to SIPp).
use sip_message::Transport;

/// SIPp's `-t` for the registrar behind `t`.
fn sipp_flag(t: Transport) -> &'static str {
    match t {
        Transport::Udp => "u1",
        Transport::Tcp | Transport::Tls => "t1",
    }
}

struct Line<'a> {
    transport: Transport,
    mediasec_request: bool,
    over_tls_only: bool,
    auth_invite: bool,
    password: &'a str,
    name_validate: bool,
    cipher_list: &'a str,
}

/// The TLS side of a registrar: the names in stunnel's certificate and extra stunnel service
/// options.
struct TlsPeer<'a> {
    sans: &'a [&'a str],
    stunnel_options: &'a str,
    /// Give the phone another CA than the one that signed stunnel's certificate.
    other_ca: bool,
}

const TLS_PEER: TlsPeer<'static> = TlsPeer {
    sans: &["registrar.test", "127.0.0.1"],
    stunnel_options: "",
    other_ca: false,
};

/// Writes a CA (`ca.pem`) and a server certificate it signs (`cert.pem`, `key.pem`) with these
/// subjectAltNames (IP addresses or DNS names) into `dir`.
fn issue(dir: &Path, sans: &[&str]) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!("sip interop test CA {}", dir.display()),
    );
    let ca_key = KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.subject_alt_names = sans
        .iter()
        .map(|s| match s.parse() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName((*s).try_into().unwrap()),
        })
        .collect();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, sans.first().copied().unwrap_or("registrar"));
    params.use_authority_key_identifier_extension = true;
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("cert.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("key.pem"), key.serialize_pem()).unwrap();
}

/// stunnel in server mode on `accept`, forwarding to SIPp's TCP port `connect`; its log goes
/// to `stunnel.log` in `dir`.
fn start_stunnel(dir: &Path, accept: u16, connect: u16, peer: &TlsPeer<'_>) -> Reaped {
    issue(dir, peer.sans);
    let conf = format!(
        "foreground = yes\npid =\ndebug = info\n[sip-tls]\naccept = 127.0.0.1:{accept}\n\
         connect = 127.0.0.1:{connect}\ncert = {cert}\nkey = {key}\n{extra}\n",
        cert = dir.join("cert.pem").display(),
        key = dir.join("key.pem").display(),
        extra = peer.stunnel_options,
    );
    let path = dir.join("stunnel.conf");
    std::fs::write(&path, conf).unwrap();
    let log = File::create(dir.join("stunnel.log")).unwrap();
    let child = Command::new(stunnel())
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("starting stunnel");
    let mut reaped = Reaped(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", accept)).is_err() {
        if let Some(status) = reaped.0.try_wait().unwrap() {
            panic!(
                "stunnel exited ({status}):\n{}",
                std::fs::read_to_string(dir.join("stunnel.log")).unwrap_or_default()
            );
        }
        assert!(Instant::now() < deadline, "stunnel did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    reaped
}

fn write_cfg(dir: &Path, proxy_port: u16, sip_port: u16, line: &Line<'_>) -> PathBuf {
    write_cfg_for(
        dir,
        &format!("127.0.0.1:{proxy_port}"),
        line.transport.as_str(),
        sip_port,
        line,
    )
}

/// cfg.xml with `Proxy_1_` = `proxy` and `SIP_Transport_1_` = `transport`.
fn write_cfg_for(dir: &Path, proxy: &str, transport: &str, sip_port: u16, line: &Line<'_>) -> PathBuf {
    let yn = |b: bool| if b { "Yes" } else { "No" };
    let xml = format!(
        r#"<flat-profile>
  <User_ID_1_ ua="na">alice</User_ID_1_>
  <Password_1_ ua="na">{}</Password_1_>
  <Proxy_1_ ua="na">{proxy}</Proxy_1_>
  <SIP_Port_1_ ua="na">{sip_port}</SIP_Port_1_>
  <SIP_Transport_1_ ua="na">{}</SIP_Transport_1_>
  <MediaSec_Request_1_ ua="na">{}</MediaSec_Request_1_>
  <MediaSec_Over_TLS_Only_1_ ua="na">{}</MediaSec_Over_TLS_Only_1_>
  <Auth_INVITE_1_ ua="na">{}</Auth_INVITE_1_>
  <TLS_Name_Validate_1_ ua="na">{}</TLS_Name_Validate_1_>
  <TLS_Cipher_List ua="na">{}</TLS_Cipher_List>
</flat-profile>
"#,
        line.password,
        transport,
        yn(line.mediasec_request),
        yn(line.over_tls_only),
        yn(line.auth_invite),
        yn(line.name_validate),
        line.cipher_list,
    );
    let path = dir.join("cfg.xml");
    std::fs::write(&path, xml).unwrap();
    path
}

/// Kills the child when dropped (a failed assertion must not leave SIPp running).
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_sipp(dir: &Path, scenario: &Path, port: u16, transport: Transport, extra: &[&str]) -> Reaped {
    let child = Command::new(sipp())
        .current_dir(dir)
        .arg("-sf")
        .arg(scenario)
        .args([
            "-i",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-t",
            sipp_flag(transport),
        ])
        .args([
            "-m",
            "1",
            "-nostdin",
            "-timeout",
            "30s",
            "-timeout_error",
            "-trace_err",
            "-trace_msg",
        ])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting sipp");
    let reaped = Reaped(child);
    // Wait until SIPp listens.
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let listening = match transport {
            Transport::Tcp | Transport::Tls => TcpStream::connect(("127.0.0.1", port)).is_ok(),
            Transport::Udp => UdpSocket::bind(("127.0.0.1", port)).is_err(),
        };
        if listening {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reaped
}

fn wait(child: &mut Reaped, limit: Duration) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "process did not finish within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIPp's own account of what went wrong: its error log and message trace.
fn sipp_logs(dir: &Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with("_errors.log") || name.ends_with("_messages.log") {
            out.push_str(&format!(
                "--- {name}\n{}\n",
                std::fs::read_to_string(entry.path()).unwrap_or_default()
            ));
        }
    }
    out
}

/// A SIPp registrar (behind stunnel for TLS) and `phone-agent sip register --once` run
/// against it.
struct Registration {
    dir: PathBuf,
    sipp: Reaped,
    _stunnel: Option<Reaped>,
    out: String,
    agent_ok: bool,
}

impl Registration {
    fn run(name: &str, scenario_file: &str, line: &Line<'_>, tls: &TlsPeer<'_>) -> Registration {
        let dir = workdir(name);
        let sipp_port = free_port();
        let sip_port = free_port();
        let sipp = start_sipp(&dir, &scenario(scenario_file), sipp_port, line.transport, &[]);
        let (proxy_port, stunnel) = if line.transport == Transport::Tls {
            let port = free_port();
            (port, Some(start_stunnel(&dir, port, sipp_port, tls)))
        } else {
            (sipp_port, None)
        };
        let cfg = write_cfg(&dir, proxy_port, sip_port, line);
        let mut agent = Command::new(AGENT);
        agent
            .args(["sip", "register", "--line", "1", "--once", "--config"])
            .arg(&cfg);
        if line.transport == Transport::Tls {
            let ca_dir = if tls.other_ca {
                let other = dir.join("other-ca");
                std::fs::create_dir_all(&other).unwrap();
                issue(&other, tls.sans);
                other
            } else {
                dir.clone()
            };
            agent.arg("--ca-file").arg(ca_dir.join("ca.pem"));
        }
        let agent = agent.output().unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&agent.stdout),
            String::from_utf8_lossy(&agent.stderr)
        );
        Registration {
            dir,
            sipp,
            _stunnel: stunnel,
            out,
            agent_ok: agent.status.success(),
        }
    }

    /// SIPp's exit code, once it is done with the call.
    fn sipp_code(&mut self) -> Option<i32> {
        wait(&mut self.sipp, Duration::from_secs(40)).code()
    }

    /// What SIPp received and stunnel logged so far.
    fn logs(&self) -> String {
        format!(
            "{}--- stunnel.log\n{}",
            sipp_logs(&self.dir),
            std::fs::read_to_string(self.dir.join("stunnel.log")).unwrap_or_default()
        )
    }
}

/// Runs `phone-agent sip register --once` against a SIPp registrar; returns (agent output,
/// agent success, SIPp exit code, SIPp logs).
fn register_once(name: &str, scenario_file: &str, line: &Line<'_>) -> (String, bool, Option<i32>, String) {
    let mut r = Registration::run(name, scenario_file, line, &TLS_PEER);
    let code = r.sipp_code();
    (r.out.clone(), r.agent_ok, code, r.logs())
}

fn assert_green(name: &str, scenario_file: &str, line: &Line<'_>) -> String {
    let (out, agent_ok, sipp_code, logs) = register_once(name, scenario_file, line);
    assert!(agent_ok, "phone-agent failed:\n{out}\nSIPp logs:\n{logs}");
    assert_eq!(
        sipp_code,
        Some(0),
        "SIPp registrar failed:\n{logs}\nphone-agent:\n{out}"
    );
    out
}

fn line(transport: Transport, mediasec_request: bool, over_tls_only: bool) -> Line<'static> {
    Line {
        transport,
        mediasec_request,
        over_tls_only,
        auth_invite: false,
        password: "secret",
        name_validate: true,
        cipher_list: "",
    }
}

#[test]
fn udp_client_initiated() {
    let out = assert_green(
        "udp-client",
        "registrar_client_initiated.xml",
        &line(Transport::Udp, true, false),
    );
    assert!(
        out.contains("registered (expires 60 s, media security: SdesSrtp)"),
        "{out}"
    );
}

#[test]
fn tcp_client_initiated() {
    let out = assert_green(
        "tcp-client",
        "registrar_client_initiated.xml",
        &line(Transport::Tcp, true, false),
    );
    assert!(out.contains("media security: SdesSrtp"), "{out}");
}

#[test]
fn udp_server_initiated() {
    let out = assert_green(
        "udp-server",
        "registrar_server_initiated.xml",
        &line(Transport::Udp, false, false),
    );
    assert!(out.contains("media security: SdesSrtp"), "{out}");
}

#[test]
fn tcp_server_initiated() {
    assert_green(
        "tcp-server",
        "registrar_server_initiated.xml",
        &line(Transport::Tcp, false, false),
    );
}

/// MediaSec_Over_TLS_Only = Yes on a UDP line: no mediasec header at all, and the agent says
/// why.
#[test]
fn udp_tls_only_means_off() {
    let out = assert_green(
        "udp-off",
        "registrar_mediasec_off.xml",
        &line(Transport::Udp, true, true),
    );
    assert!(out.contains("MediaSec_Over_TLS_Only"), "{out}");
    assert!(out.contains("media security: none"), "{out}");
}

#[test]
fn tcp_tls_only_means_off() {
    assert_green(
        "tcp-off",
        "registrar_mediasec_off.xml",
        &line(Transport::Tcp, true, true),
    );
}

/// The scenarios catch a wrong phone: a server-initiated phone sends no Security-Client, which
/// the client-initiated registrar rejects...
#[test]
fn registrar_scenario_rejects_missing_security_client() {
    let (_, _, code, _) = register_once(
        "neg-sc",
        "registrar_client_initiated.xml",
        &line(Transport::Udp, false, false),
    );
    assert_ne!(code, Some(0));
}

/// ...a client-initiated phone offers Security-Client where the server-initiated registrar
/// forbids it, and a phone with mediasec off sends no Security-Verify where one is required...
#[test]
fn registrar_scenarios_reject_wrong_mode() {
    let (_, _, code, _) = register_once(
        "neg-mode1",
        "registrar_server_initiated.xml",
        &line(Transport::Udp, true, false),
    );
    assert_ne!(code, Some(0));
    let (_, _, code, _) = register_once(
        "neg-mode2",
        "registrar_client_initiated.xml",
        &line(Transport::Udp, true, true),
    );
    assert_ne!(code, Some(0));
}

/// ...and a wrong password stops the registrar (and the phone reports the failure).
#[test]
fn registrar_scenario_rejects_wrong_digest() {
    let l = Line {
        password: "not-the-secret",
        ..line(Transport::Udp, true, false)
    };
    let (out, agent_ok, code, _) = register_once("neg-digest", "registrar_client_initiated.xml", &l);
    assert_ne!(code, Some(0));
    assert!(!agent_ok, "{out}");
}

/// The proxy's INVITE scenario (`uac_auth_invite.xml`) for alice/`password`, expecting
/// `expect` to the authenticated retry.
fn invite_scenario(password: &str, expect: u16) -> String {
    let ack_branch = if expect < 300 { "[branch]" } else { "[branch-2]" };
    std::fs::read_to_string(scenario("uac_auth_invite.xml"))
        .unwrap()
        .replace("PASSWORD", password)
        .replace("EXPECT", &expect.to_string())
        .replace("BRANCH_FOR_ACK", ack_branch)
}

/// The agent's stdout, line by line, as it comes.
struct AgentLines {
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl AgentLines {
    fn new(agent: &mut Reaped) -> AgentLines {
        let (tx, rx) = mpsc::channel();
        let stdout = agent.0.stdout.take().unwrap();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        AgentLines { rx, seen: Vec::new() }
    }

    /// Waits (bounded) for a line containing `text`; true when it came.
    fn wait_for(&mut self, text: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while !self.seen.iter().any(|l| l.contains(text)) {
            if Instant::now() >= deadline {
                return false;
            }
            if let Ok(l) = self.rx.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(l);
            }
        }
        true
    }
}

/// Auth_INVITE = Yes: SIPp as the proxy sends an INVITE to the registered phone. Without
/// credentials it gets a 401; with alice's credentials a 200; with wrong ones a 403.
///
/// Over UDP the INVITE comes from a second SIPp to SIP_Port_1_. Over TCP and TLS it comes,
/// as from a real proxy, down the connection the phone registered on: one SIPp scenario is
/// the registrar and then the proxy (for TLS behind stunnel).
fn auth_invite(name: &str, transport: Transport, password: &str, expect: u16) {
    let dir = workdir(name);
    let sipp_port = free_port();
    let sip_port = free_port();
    let l = Line {
        auth_invite: true,
        ..line(transport, false, false)
    };
    let registrar_file = if transport == Transport::Udp {
        scenario("registrar_server_initiated.xml")
    } else {
        let registrar = std::fs::read_to_string(scenario("registrar_server_initiated.xml")).unwrap();
        let invite = invite_scenario(password, expect)
            .replace("[remote_ip]:[remote_port]", &format!("127.0.0.1:{sip_port}"));
        let text = format!(
            "{}{}</scenario>\n",
            &registrar[..registrar.rfind("</scenario>").unwrap()],
            &invite[invite.find("<send").unwrap()..invite.rfind("</scenario>").unwrap()]
        );
        let path = dir.join("registrar_then_invite.xml");
        std::fs::write(&path, text).unwrap();
        path
    };
    let mut registrar = start_sipp(&dir, &registrar_file, sipp_port, transport, &[]);
    let (_stunnel, proxy_port) = if transport == Transport::Tls {
        let port = free_port();
        (Some(start_stunnel(&dir, port, sipp_port, &TLS_PEER)), port)
    } else {
        (None, sipp_port)
    };
    let cfg = write_cfg(&dir, proxy_port, sip_port, &l);
    let mut agent = Command::new(AGENT);
    agent
        .args(["sip", "register", "--line", "1", "--duration", "20", "--config"])
        .arg(&cfg)
        .stdout(Stdio::piped());
    if transport == Transport::Tls {
        agent.arg("--ca-file").arg(dir.join("ca.pem"));
    }
    let mut agent = Reaped(agent.spawn().unwrap());
    let mut lines = AgentLines::new(&mut agent);
    assert!(
        lines.wait_for("registered (", Duration::from_secs(15)),
        "not registered: {:#?}",
        lines.seen
    );
    let code = if transport == Transport::Udp {
        assert_eq!(
            wait(&mut registrar, Duration::from_secs(10)).code(),
            Some(0),
            "{}",
            sipp_logs(&dir)
        );
        let uac_file = dir.join("uac.xml");
        std::fs::write(&uac_file, invite_scenario(password, expect)).unwrap();
        let target = format!("127.0.0.1:{sip_port}");
        let mut uac = start_sipp(&dir, &uac_file, free_port(), Transport::Udp, &[&target]);
        wait(&mut uac, Duration::from_secs(30)).code()
    } else {
        wait(&mut registrar, Duration::from_secs(30)).code()
    };
    let outcome = if expect == 200 {
        "accepted (credentials verified)"
    } else {
        "refused (wrong credentials)"
    };
    // The agent may report after SIPp has its answer: wait (bounded) for the line.
    lines.wait_for(outcome, Duration::from_secs(10));
    let seen = &lines.seen;
    assert_eq!(
        code,
        Some(0),
        "SIPp (proxy) failed:\n{}\nphone-agent:\n{seen:#?}",
        sipp_logs(&dir)
    );
    assert!(seen.iter().any(|l| l.contains("challenged (401)")), "{seen:#?}");
    assert!(seen.iter().any(|l| l.contains(outcome)), "{seen:#?}");
}

#[test]
fn udp_auth_invite_challenges_then_accepts() {
    auth_invite("auth-invite-ok", Transport::Udp, "secret", 200);
}

#[test]
fn udp_auth_invite_refuses_wrong_credentials() {
    auth_invite("auth-invite-bad", Transport::Udp, "guess", 403);
}

#[test]
fn tcp_auth_invite_challenges_then_accepts() {
    auth_invite("tcp-auth-invite-ok", Transport::Tcp, "secret", 200);
}

#[test]
fn tcp_auth_invite_refuses_wrong_credentials() {
    auth_invite("tcp-auth-invite-bad", Transport::Tcp, "guess", 403);
}

#[test]
fn tls_auth_invite_challenges_then_accepts() {
    auth_invite("tls-auth-invite-ok", Transport::Tls, "secret", 200);
}

/// SIP over TLS: rustls to stunnel, TCP to SIPp. The Via the registrar saw says TLS.
fn assert_tls_green(name: &str, scenario_file: &str, line: &Line<'_>, tls: &TlsPeer<'_>) -> String {
    let mut r = Registration::run(name, scenario_file, line, tls);
    let code = r.sipp_code();
    let logs = r.logs();
    assert!(r.agent_ok, "phone-agent failed:\n{}\nlogs:\n{logs}", r.out);
    assert_eq!(
        code,
        Some(0),
        "SIPp registrar failed:\n{logs}\nphone-agent:\n{}",
        r.out
    );
    assert!(
        logs.contains("Via: SIP/2.0/TLS 127.0.0.1:"),
        "the registrar did not see a TLS Via:\n{logs}"
    );
    assert!(
        logs.contains("TLS accepted"),
        "stunnel saw no TLS session:\n{logs}"
    );
    r.out.clone()
}

#[test]
fn tls_client_initiated() {
    let out = assert_tls_green(
        "tls-client",
        "registrar_client_initiated.xml",
        &line(Transport::Tls, true, false),
        &TLS_PEER,
    );
    assert!(out.contains("media security: SdesSrtp"), "{out}");
}

#[test]
fn tls_server_initiated() {
    let out = assert_tls_green(
        "tls-server",
        "registrar_server_initiated.xml",
        &line(Transport::Tls, false, false),
        &TLS_PEER,
    );
    assert!(out.contains("media security: SdesSrtp"), "{out}");
}

/// MediaSec_Over_TLS_Only = Yes on a TLS line: mediasec stays on (the client-initiated
/// registrar requires every header); the same setting on UDP/TCP turns it off (above).
#[test]
fn tls_only_with_tls_means_on() {
    let out = assert_tls_green(
        "tls-only-on",
        "registrar_client_initiated.xml",
        &line(Transport::Tls, true, true),
        &TLS_PEER,
    );
    assert!(out.contains("media security: SdesSrtp"), "{out}");
}

/// A TLS registration the phone must refuse: no REGISTER reaches SIPp.
fn assert_tls_refused(name: &str, line: &Line<'_>, tls: &TlsPeer<'_>) -> String {
    let r = Registration::run(name, "registrar_client_initiated.xml", line, tls);
    let logs = r.logs();
    assert!(!r.agent_ok, "phone-agent registered:\n{}\nlogs:\n{logs}", r.out);
    assert!(!logs.contains("REGISTER sip:"), "a REGISTER got through:\n{logs}");
    r.out.clone()
}

/// Proxy_1_ is 127.0.0.1, the certificate names other hosts: with TLS_Name_Validate_1_ = Yes
/// the handshake is refused and the error lists the names the certificate had.
#[test]
fn tls_wrong_name_refused_with_the_names() {
    let peer = TlsPeer {
        sans: &["registrar.test", "sip.other.test"],
        stunnel_options: "",
        other_ca: false,
    };
    let out = assert_tls_refused("tls-wrong-name", &line(Transport::Tls, true, false), &peer);
    assert!(out.contains("127.0.0.1"), "{out}");
    assert!(out.contains("registrar.test"), "{out}");
    assert!(out.contains("sip.other.test"), "{out}");
}

/// The same certificate with TLS_Name_Validate_1_ = No: registers, with a warning naming the
/// setting. The chain is still checked (see `tls_untrusted_ca_refused_without_name_check`).
#[test]
fn tls_wrong_name_accepted_without_name_check() {
    let peer = TlsPeer {
        sans: &["registrar.test", "sip.other.test"],
        stunnel_options: "",
        other_ca: false,
    };
    let l = Line {
        name_validate: false,
        ..line(Transport::Tls, true, false)
    };
    let out = assert_tls_green("tls-no-name-check", "registrar_client_initiated.xml", &l, &peer);
    assert!(out.contains("WARNING: TLS_Name_Validate_1_ is No"), "{out}");
}

/// Name check off is not trust-everything: a certificate from another CA is still refused.
#[test]
fn tls_untrusted_ca_refused_without_name_check() {
    let peer = TlsPeer {
        other_ca: true,
        ..TLS_PEER
    };
    let l = Line {
        name_validate: false,
        ..line(Transport::Tls, true, false)
    };
    let out = assert_tls_refused("tls-other-ca", &l, &peer);
    assert!(
        out.contains("UnknownIssuer") || out.contains("unknown issuer"),
        "{out}"
    );
}

/// TLS_Cipher_List is applied: stunnel offers only TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256;
/// a list of that suite registers, a list of ChaCha20 suites only cannot.
#[test]
fn tls_cipher_list_is_applied() {
    let peer = TlsPeer {
        sans: &["127.0.0.1"],
        stunnel_options: "sslVersionMax = TLSv1.2\nciphers = ECDHE-ECDSA-AES128-GCM-SHA256",
        other_ca: false,
    };
    let ok = Line {
        cipher_list: "ECDHE-ECDSA-AES128-GCM-SHA256",
        ..line(Transport::Tls, true, false)
    };
    let out = assert_tls_green("tls-cipher-ok", "registrar_client_initiated.xml", &ok, &peer);
    assert!(
        out.contains("TLS 1.2 cipher suites: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"),
        "{out}"
    );
    let chacha = Line {
        cipher_list: "ECDHE+CHACHA20",
        ..line(Transport::Tls, true, false)
    };
    let out = assert_tls_refused("tls-cipher-none", &chacha, &peer);
    assert!(out.contains("TLS handshake"), "{out}");
    assert!(!out.contains("registered"), "{out}");
}

/// A TLS_Cipher_List that leaves rustls nothing (static RSA only) is not silently ignored:
/// the agent says so, naming the setting and the default it uses instead, and registers with
/// that default.
#[test]
fn tls_cipher_list_without_rustls_suite_is_loud() {
    let l = Line {
        cipher_list: "RSA:!aNULL:!eNULL",
        ..line(Transport::Tls, true, false)
    };
    let out = assert_tls_green(
        "tls-cipher-fallback",
        "registrar_client_initiated.xml",
        &l,
        &TLS_PEER,
    );
    assert!(out.contains("WARNING: TLS_Cipher_List"), "{out}");
    assert!(
        out.contains("`RSA:!aNULL:!eNULL` selects") && out.contains("none that this TLS stack can negotiate"),
        "{out}"
    );
}

fn dnsmasq() -> PathBuf {
    on_path("dnsmasq")
        .or_else(|| Some(PathBuf::from("/usr/sbin/dnsmasq")).filter(|p| p.is_file()))
        .unwrap_or_else(|| {
            panic!("dnsmasq is not installed: install the Debian package `dnsmasq-base` (.ci/run does)")
        })
}

/// dnsmasq on a free 127.0.0.1 port answering only `records` (dnsmasq options such as
/// `--naptr-record=...`); its query log goes to `dnsmasq.log` in `dir`.
fn start_dnsmasq(dir: &Path, records: &[String]) -> (Reaped, u16) {
    let port = free_port();
    let child = Command::new(dnsmasq())
        .args([
            "-k",
            "-C",
            "/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--pid-file=",
            "--log-queries",
        ])
        .arg(format!("--log-facility={}", dir.join("dnsmasq.log").display()))
        .arg(format!("--port={port}"))
        .args(records)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting dnsmasq");
    let mut reaped = Reaped(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while UdpSocket::bind(("127.0.0.1", port)).is_ok() {
        if let Some(status) = reaped.0.try_wait().unwrap() {
            panic!("dnsmasq exited ({status})");
        }
        assert!(Instant::now() < deadline, "dnsmasq did not start listening");
        std::thread::sleep(Duration::from_millis(50));
    }
    (reaped, port)
}

/// SIP_Transport_1_ = AUTO with Proxy_1_ = registrar.test: the records `dns(port)` name (the
/// port of the registrar SIPp or, for TLS, of stunnel) choose the transport; SIPp listens only
/// on that transport. Returns the agent's output and the registrar's logs.
fn auto_register(
    name: &str,
    sipp_transport: Transport,
    line: &Line<'_>,
    dns: impl Fn(u16) -> Vec<String>,
) -> (String, String) {
    let dir = workdir(name);
    let sipp_port = free_port();
    let sip_port = free_port();
    let mut sipp = start_sipp(
        &dir,
        &scenario("registrar_client_initiated.xml"),
        sipp_port,
        sipp_transport,
        &[],
    );
    let tls = TlsPeer {
        sans: &["registrar.test"],
        ..TLS_PEER
    };
    let (stunnel, proxy_port) = if sipp_transport == Transport::Tls {
        let port = free_port();
        (Some(start_stunnel(&dir, port, sipp_port, &tls)), port)
    } else {
        (None, sipp_port)
    };
    let (_dns, dns_port) = start_dnsmasq(&dir, &dns(proxy_port));
    let cfg = write_cfg_for(&dir, "registrar.test", "AUTO", sip_port, line);
    let mut agent = Command::new(AGENT);
    agent
        .args(["sip", "register", "--line", "1", "--once", "--config"])
        .arg(&cfg)
        .arg("--dns")
        .arg(format!("127.0.0.1:{dns_port}"));
    if stunnel.is_some() {
        agent.arg("--ca-file").arg(dir.join("ca.pem"));
    }
    let o = agent.output().unwrap();
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let code = wait(&mut sipp, Duration::from_secs(40)).code();
    let logs = format!(
        "{}--- dnsmasq.log\n{}",
        sipp_logs(&dir),
        std::fs::read_to_string(dir.join("dnsmasq.log")).unwrap_or_default()
    );
    assert!(o.status.success(), "phone-agent failed:\n{out}\nlogs:\n{logs}");
    assert_eq!(
        code,
        Some(0),
        "SIPp registrar failed:\n{logs}\nphone-agent:\n{out}"
    );
    drop(stunnel);
    (out, logs)
}

/// NAPTR orders TCP (10) before UDP (20); the UDP SRV leads to a port where nothing listens,
/// so a phone choosing UDP fails.
#[test]
fn auto_naptr_chooses_tcp() {
    let dead_udp = free_port();
    let (out, logs) = auto_register(
        "auto-naptr-tcp",
        Transport::Tcp,
        &line(Transport::Tcp, true, false),
        |port| {
            vec![
                "--naptr-record=registrar.test,20,10,S,SIP+D2U,,_sip._udp.registrar.test".into(),
                "--naptr-record=registrar.test,10,10,S,SIP+D2T,,_sip._tcp.registrar.test".into(),
                format!("--srv-host=_sip._udp.registrar.test,sipp.registrar.test,{dead_udp},0,0"),
                format!("--srv-host=_sip._tcp.registrar.test,sipp.registrar.test,{port},0,0"),
                "--host-record=sipp.registrar.test,127.0.0.1".into(),
            ]
        },
    );
    assert!(
        out.contains("AUTO: NAPTR SIP+D2T (order 10, preference 10) -> SRV _sip._tcp.registrar.test"),
        "{out}"
    );
    assert!(logs.contains("Via: SIP/2.0/TCP 127.0.0.1:"), "{logs}");
    assert!(logs.contains("query[NAPTR] registrar.test"), "{logs}");
}

/// NAPTR SIPS+D2T: TLS to stunnel, whose certificate names only registrar.test (the domain of
/// Proxy_1_, RFC 5922), not the SRV target or its address. MediaSec_Over_TLS_Only = Yes:
/// mediasec on.
#[test]
fn auto_naptr_chooses_tls_and_checks_the_domain() {
    let (out, logs) = auto_register(
        "auto-naptr-tls",
        Transport::Tls,
        &line(Transport::Tls, true, true),
        |port| {
            vec![
                "--naptr-record=registrar.test,10,10,S,SIPS+D2T,,_sips._tcp.registrar.test".into(),
                format!("--srv-host=_sips._tcp.registrar.test,edge1.registrar.test,{port},0,0"),
                "--host-record=edge1.registrar.test,127.0.0.1".into(),
            ]
        },
    );
    assert!(out.contains("AUTO: NAPTR SIPS+D2T"), "{out}");
    assert!(out.contains("media security: SdesSrtp"), "{out}");
    assert!(logs.contains("Via: SIP/2.0/TLS 127.0.0.1:"), "{logs}");
}

/// No NAPTR: SRV per transport (TLS, TCP, UDP in this client's preference); only _sip._udp
/// exists.
#[test]
fn auto_srv_without_naptr_chooses_udp() {
    let (out, logs) = auto_register(
        "auto-srv-udp",
        Transport::Udp,
        &line(Transport::Udp, true, false),
        |port| {
            vec![
                format!("--srv-host=_sip._udp.registrar.test,sipp.registrar.test,{port},0,0"),
                "--host-record=sipp.registrar.test,127.0.0.1".into(),
            ]
        },
    );
    assert!(
        out.contains("AUTO: no NAPTR; SRV _sip._udp.registrar.test -> sipp.registrar.test:"),
        "{out}"
    );
    assert!(logs.contains("Via: SIP/2.0/UDP 127.0.0.1:"), "{logs}");
    assert!(logs.contains("query[SRV] _sips._tcp.registrar.test"), "{logs}");
}
