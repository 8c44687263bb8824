//! Interop with a real peer: SIPp (Debian package `sip-tester`) as the registrar and as the
//! proxy sending INVITEs, on loopback with free ports. The SIPp scenarios in `tests/sipp/`
//! check the phone's headers and digest; a wrong phone fails them (shown by the negative
//! tests). The matrix: transport (UDP, TCP) x mediasec mode (client-initiated,
//! server-initiated, off because MediaSec_Over_TLS_Only), plus Auth_INVITE.
//!
//! SIPp missing is a failure, not a skip: CI installs it (`.ci/run`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const AGENT: &str = env!("CARGO_BIN_EXE_phone-agent");

fn sipp() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("sipp"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("SIPp (`sipp`) is not installed: install the Debian package `sip-tester` (.ci/run does)")
    })
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// A fresh directory for one test's files (SIPp writes its logs into its working directory).
fn workdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("phone-agent-sip-{}-{name}", std::process::id()));
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

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Transport {
    Udp,
    Tcp,
}

impl Transport {
    fn sipp_flag(self) -> &'static str {
        match self {
            Transport::Udp => "u1",
            Transport::Tcp => "t1",
        }
    }
    fn cfg(self) -> &'static str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
        }
    }
}

struct Line<'a> {
    transport: Transport,
    mediasec_request: bool,
    over_tls_only: bool,
    auth_invite: bool,
    password: &'a str,
}

fn write_cfg(dir: &Path, proxy_port: u16, sip_port: u16, line: &Line<'_>) -> PathBuf {
    let yn = |b: bool| if b { "Yes" } else { "No" };
    let xml = format!(
        r#"<flat-profile>
  <User_ID_1_ ua="na">alice</User_ID_1_>
  <Password_1_ ua="na">{}</Password_1_>
  <Proxy_1_ ua="na">127.0.0.1:{proxy_port}</Proxy_1_>
  <SIP_Port_1_ ua="na">{sip_port}</SIP_Port_1_>
  <SIP_Transport_1_ ua="na">{}</SIP_Transport_1_>
  <MediaSec_Request_1_ ua="na">{}</MediaSec_Request_1_>
  <MediaSec_Over_TLS_Only_1_ ua="na">{}</MediaSec_Over_TLS_Only_1_>
  <Auth_INVITE_1_ ua="na">{}</Auth_INVITE_1_>
</flat-profile>
"#,
        line.password,
        line.transport.cfg(),
        yn(line.mediasec_request),
        yn(line.over_tls_only),
        yn(line.auth_invite),
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
            transport.sipp_flag(),
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
            Transport::Tcp => TcpStream::connect(("127.0.0.1", port)).is_ok(),
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

/// Runs `phone-agent sip register --once` against a SIPp registrar; returns (agent output,
/// agent success, SIPp exit code, SIPp logs).
fn register_once(name: &str, scenario_file: &str, line: &Line<'_>) -> (String, bool, Option<i32>, String) {
    let dir = workdir(name);
    let proxy_port = free_port();
    let sip_port = free_port();
    let cfg = write_cfg(&dir, proxy_port, sip_port, line);
    let mut sipp = start_sipp(&dir, &scenario(scenario_file), proxy_port, line.transport, &[]);
    let agent = Command::new(AGENT)
        .args(["sip", "register", "--line", "1", "--once", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let status = wait(&mut sipp, Duration::from_secs(40));
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&agent.stdout),
        String::from_utf8_lossy(&agent.stderr)
    );
    (out, agent.status.success(), status.code(), sipp_logs(&dir))
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

/// Auth_INVITE = Yes: SIPp as the proxy sends an INVITE to the registered phone. Without
/// credentials it gets a 401; with alice's credentials a 200; with wrong ones a 403.
fn auth_invite(name: &str, password: &str, expect: u16) {
    let dir = workdir(name);
    let proxy_port = free_port();
    let sip_port = free_port();
    let uac_port = free_port();
    let l = Line {
        auth_invite: true,
        ..line(Transport::Udp, false, false)
    };
    let cfg = write_cfg(&dir, proxy_port, sip_port, &l);
    let mut registrar = start_sipp(
        &dir,
        &scenario("registrar_server_initiated.xml"),
        proxy_port,
        Transport::Udp,
        &[],
    );
    let mut agent = Reaped(
        Command::new(AGENT)
            .args(["sip", "register", "--line", "1", "--duration", "20", "--config"])
            .arg(&cfg)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = mpsc::channel();
    let stdout = agent.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while !seen.iter().any(|l: &String| l.contains("registered (")) {
        assert!(Instant::now() < deadline, "not registered: {seen:#?}");
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(l);
        }
    }
    assert_eq!(
        wait(&mut registrar, Duration::from_secs(10)).code(),
        Some(0),
        "{}",
        sipp_logs(&dir)
    );

    let ack_branch = if expect < 300 { "[branch]" } else { "[branch-2]" };
    let text = std::fs::read_to_string(scenario("uac_auth_invite.xml"))
        .unwrap()
        .replace("PASSWORD", password)
        .replace("EXPECT", &expect.to_string())
        .replace("BRANCH_FOR_ACK", ack_branch);
    let uac_file = dir.join("uac.xml");
    std::fs::write(&uac_file, text).unwrap();
    let target = format!("127.0.0.1:{sip_port}");
    let mut uac = start_sipp(&dir, &uac_file, uac_port, Transport::Udp, &[&target]);
    let code = wait(&mut uac, Duration::from_secs(30)).code();
    let outcome = if expect == 200 {
        "accepted (credentials verified)"
    } else {
        "refused (wrong credentials)"
    };
    // The agent may report after SIPp has its answer: wait (bounded) for the line.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.iter().any(|l: &String| l.contains(outcome)) && Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.push(l);
        }
    }
    assert_eq!(
        code,
        Some(0),
        "SIPp UAC failed:\n{}\nphone-agent:\n{seen:#?}",
        sipp_logs(&dir)
    );
    assert!(seen.iter().any(|l| l.contains("challenged (401)")), "{seen:#?}");
    assert!(seen.iter().any(|l| l.contains(outcome)), "{seen:#?}");
}

#[test]
fn udp_auth_invite_challenges_then_accepts() {
    auth_invite("auth-invite-ok", "secret", 200);
}

#[test]
fn udp_auth_invite_refuses_wrong_credentials() {
    auth_invite("auth-invite-bad", "guess", 403);
}
