//! `phone-agent run` against a real registrar: Kamailio (tests/kamailio/registrar.cfg, one
//! credential alice/secret, client-initiated mediasec), started on free loopback ports and
//! killed by its process group. What the registrar saw is read from its own log (`REGISTER
//! over udp from 127.0.0.1:PORT expires=[...]`: each line registers from its SIP_Port_n_),
//! what the agent reports from its `/api/status`.
//!
//! - SIGHUP with line 2's password changed: line 2 un-REGISTERs and registers again, line 1
//!   sends nothing; a file with an error (`POST /api/reload`) is refused whole, the old
//!   configuration kept, the diagnostic in the status; SIGTERM: both lines un-REGISTER
//!   (`expires=[0]`), exit 0.
//! - A killed registrar: the TCP line shows the error, and registers again when the registrar
//!   is back on the same port.
//!
//! - The admin page in headless Chromium: line 1's state as the page shows it, Registered, then
//!   Failed once the registrar is gone; `/api/events` delivers the change as it happens;
//!   screenshots at 390x844 (a phone) and 1280x800 (a desktop) are written to the test's
//!   temporary directory (printed, not kept in the tree).
//!
//! Every wait is a bounded poll. The firewall is pointed at a missing `nft` so the tests never
//! touch the host's nftables: its failure shows in the status while the lines run on.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

mod page_common;
mod run_common;
mod sip_common;

use run_common::{AGENT, Daemon};
use sip_common::{Kamailio, KamailioConfig, Mediasec, free_port, poll};

fn workdir(name: &str) -> PathBuf {
    sip_common::workdir("run", name)
}

/// Kamailio on `port` (UDP and TCP), client-initiated mediasec, its log appended to.
fn kamailio(dir: &Path, port: u16) -> Kamailio {
    Kamailio::start(
        dir,
        &KamailioConfig {
            port: Some(port),
            tls: false,
            mediasec: Mediasec::Client,
        },
    )
}

/// `phone-agent -vv run` on loopback (a free port for the API), up when it returns.
fn start(dir: &Path, cfg: &Path, expires: u32) -> Daemon {
    let http = format!("127.0.0.1:{}", free_port());
    let mut args: Vec<OsString> = ["-vv", "run", "--config"].map(OsString::from).to_vec();
    args.push(cfg.into());
    args.extend(
        [
            "--nft",
            "/nonexistent/nft",
            "--backoff-max",
            "1",
            "--register-expires",
            &expires.to_string(),
            "--state-dir",
        ]
        .map(OsString::from),
    );
    args.push(dir.into());
    let agent = Daemon::start(None, &http, &dir.join("agent.log"), args);
    agent.wait_for(Duration::from_secs(10), "the agent's API", |_| true);
    agent
}

/// One HTTP/1.1 request to the agent's API; (status code, body).
fn request(http: &str, method: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(http).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {http}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    s.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let code = head.split(' ').nth(1)?.parse().ok()?;
    Some((code, body.to_owned()))
}

fn line(status: &Value, n: u64) -> &Value {
    status["lines"]
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["line"] == n))
        .unwrap_or(&Value::Null)
}

/// Two lines of alice at the registrar, each from its own SIP port.
fn write_cfg(path: &Path, registrar: u16, lines: &[(u16, &str, &str)], extra: &str) {
    let mut xml = String::from("<flat-profile>\n");
    for (i, (sip_port, transport, password)) in lines.iter().enumerate() {
        let n = i + 1;
        xml += &format!(
            "  <User_ID_{n}_ ua=\"na\">alice</User_ID_{n}_>\n  <Password_{n}_ ua=\"na\">{password}</Password_{n}_>\n  \
             <Proxy_{n}_ ua=\"na\">127.0.0.1:{registrar}</Proxy_{n}_>\n  <SIP_Port_{n}_ ua=\"na\">{sip_port}</SIP_Port_{n}_>\n  \
             <SIP_Transport_{n}_ ua=\"na\">{transport}</SIP_Transport_{n}_>\n  <MediaSec_Request_{n}_ ua=\"na\">Yes</MediaSec_Request_{n}_>\n"
        );
    }
    xml += extra;
    xml += "</flat-profile>\n";
    std::fs::write(path, xml).unwrap();
}

#[test]
fn reload_changes_one_line_refuses_errors_and_sigterm_unregisters() {
    let dir = workdir("reload");
    let registrar = free_port();
    let k = kamailio(&dir, registrar);
    let (p1, p2) = (free_port(), free_port());
    let cfg = dir.join("cfg.xml");
    write_cfg(
        &cfg,
        registrar,
        &[(p1, "UDP", "secret"), (p2, "UDP", "secret")],
        "",
    );
    // 3600 s: no refresh during the test, so every REGISTER seen is one the test caused.
    let mut agent = start(&dir, &cfg, 3600);

    let both = |s: &Value| line(s, 1)["state"] == "Registered" && line(s, 2)["state"] == "Registered";
    let s = agent.wait_for(Duration::from_secs(15), "both lines registered", both);
    println!("started: line 1 {} / line 2 {}", line(&s, 1), line(&s, 2));
    assert_eq!(s["schema"], 1);
    assert_eq!(line(&s, 1)["transport"], "UDP");
    assert_eq!(s["firewall"]["state"], "Failed", "{s:#}");
    assert_eq!(s["dot1x"]["transaction_state"], "Disabled");
    let line1_before = k.registers_from(p1).len();
    let line2_before = k.registers_from(p2).len();
    assert!(line1_before >= 2 && line2_before >= 2, "{}", k.log());

    // SIGHUP with line 2's password changed: only line 2 goes to the registrar again (its
    // un-REGISTER, then the new REGISTER, refused: a wrong password).
    write_cfg(
        &cfg,
        registrar,
        &[(p1, "UDP", "secret"), (p2, "UDP", "wrong")],
        "",
    );
    agent.signal("HUP");
    let s = agent.wait_for(
        Duration::from_secs(15),
        "line 2 refused with the new password",
        |s| line(s, 2)["starts"] == 2 && line(s, 2)["state"] == "Failed",
    );
    println!("after SIGHUP: line 2 {}", line(&s, 2));
    assert_eq!(s["config"]["last_reload"]["accepted"], true);
    assert_eq!(
        s["config"]["last_reload"]["changed"],
        serde_json::json!(["line 2"])
    );
    assert_eq!(line(&s, 1)["starts"], 1);
    assert_eq!(line(&s, 1)["state"], "Registered");
    let line2_after: Vec<String> = k.registers_from(p2).split_off(line2_before);
    assert!(
        line2_after.first().map(String::as_str) == Some("0") && line2_after.len() >= 2,
        "line 2 should un-REGISTER then register again: {line2_after:?}\n{}",
        k.log()
    );
    assert_eq!(
        k.registers_from(p1).len(),
        line1_before,
        "line 1 must not re-register"
    );

    // The right password again: line 2 recovers, line 1 still untouched.
    write_cfg(
        &cfg,
        registrar,
        &[(p1, "UDP", "secret"), (p2, "UDP", "secret")],
        "",
    );
    agent.signal("HUP");
    agent.wait_for(Duration::from_secs(15), "line 2 registered again", |s| {
        line(s, 2)["starts"] == 3 && line(s, 2)["state"] == "Registered"
    });
    assert_eq!(
        k.registers_from(p1).len(),
        line1_before,
        "line 1 must not re-register"
    );

    // A file with an error: refused whole (422), the running configuration kept.
    let generation = agent.status().unwrap()["agent"]["generation"].clone();
    write_cfg(
        &cfg,
        registrar,
        &[(p1, "SCTP", "secret"), (p2, "UDP", "other")],
        "",
    );
    let (code, body) = request(agent.http(), "POST", "/api/reload").unwrap();
    println!("bad file: POST /api/reload -> {code} {body}");
    assert_eq!(code, 422, "{body}");
    let s = agent.status().unwrap();
    assert_eq!(s["config"]["last_reload"]["accepted"], false);
    assert_eq!(s["agent"]["generation"], generation);
    let diagnostics = s["config"]["diagnostics"].to_string();
    assert!(
        diagnostics.contains("SIP_Transport_1_") && diagnostics.contains("SCTP"),
        "{diagnostics}"
    );
    assert!(both(&s), "{s:#}");
    assert_eq!(line(&s, 2)["starts"], 3);

    // SIGTERM: both lines remove their binding, then exit 0.
    let (n1, n2) = (k.registers_from(p1).len(), k.registers_from(p2).len());
    let stopped_at = Instant::now();
    let code = agent.terminate();
    println!("SIGTERM: exit {code:?} after {:?}", stopped_at.elapsed());
    assert_eq!(code, Some(0), "{}", agent.log());
    assert_eq!(
        k.registers_from(p1).get(n1).map(String::as_str),
        Some("0"),
        "{}",
        k.log()
    );
    assert_eq!(
        k.registers_from(p2).get(n2).map(String::as_str),
        Some("0"),
        "{}",
        k.log()
    );
}

#[test]
fn killed_registrar_shows_the_error_and_the_line_recovers() {
    let dir = workdir("fault");
    let registrar = free_port();
    let mut k = kamailio(&dir, registrar);
    let cfg = dir.join("cfg.xml");
    write_cfg(&cfg, registrar, &[(free_port(), "TCP", "secret")], "");
    let agent = start(&dir, &cfg, 60);
    agent.wait_for(Duration::from_secs(15), "line 1 registered", |s| {
        line(s, 1)["state"] == "Registered"
    });
    let url = format!("http://{}/", agent.http());
    let dom = page_common::dump_dom(&url, None, &dir);
    assert_eq!(
        page_common::text_of(&dom, "line-1-state").as_deref(),
        Some("Registered"),
        "{dom}"
    );
    assert_eq!(
        page_common::text_of(&dom, "dot1x-state").as_deref(),
        Some("Disabled"),
        "{dom}"
    );
    for (name, size) in [("phone", (390, 844)), ("desktop", (1280, 800))] {
        let png = dir.join(format!("status-{name}.png"));
        page_common::screenshot(&url, None, &dir, size, &png);
        println!("screenshot {}x{}: {}", size.0, size.1, png.display());
    }

    // The event stream is open before the fault: the change arrives on it.
    let events = {
        let mut stream = TcpStream::connect(agent.http()).unwrap();
        write!(stream, "GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut seen = String::new();
            let mut buf = [0u8; 4096];
            while Instant::now() < deadline {
                if let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.push_str(&String::from_utf8_lossy(buf.get(..n).unwrap_or_default()));
                    if seen.contains("\"state\":\"Failed\"") {
                        return true;
                    }
                }
            }
            false
        })
    };

    k.kill();
    let s = agent.wait_for(Duration::from_secs(15), "line 1 failed", |s| {
        line(s, 1)["state"] == "Failed" && !line(s, 1)["last_error"].is_null()
    });
    println!("registrar killed: line 1 {}", line(&s, 1));
    assert!(events.join().unwrap(), "/api/events did not deliver the failure");
    let dom = page_common::dump_dom(&url, None, &dir);
    assert_eq!(
        page_common::text_of(&dom, "line-1-state").as_deref(),
        Some("Failed"),
        "{dom}"
    );

    let _k = kamailio(&dir, registrar);
    let s = agent.wait_for(Duration::from_secs(20), "line 1 registered again", |s| {
        line(s, 1)["state"] == "Registered"
    });
    println!("registrar back: line 1 {}", line(&s, 1));
    assert!(line(&s, 1)["last_error"].is_null());
}

/// Any address but loopback needs the admin password; requests then need it (HTTP Basic), and
/// wrong passwords in a row pause every request (429). `/` serves the admin page with the
/// `web` feature and nothing without it.
#[test]
fn admin_password_guards_a_non_loopback_api() {
    let dir = workdir("auth");
    let cfg = dir.join("cfg.xml");
    std::fs::write(&cfg, "<flat-profile></flat-profile>\n").unwrap();
    let port = free_port();
    let refused = Command::new(AGENT)
        .args(["run", "--config"])
        .arg(&cfg)
        .args(["--http", &format!("0.0.0.0:{port}"), "--nft", "/nonexistent/nft"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(err.contains("--admin-password"), "{err}");

    // Killed on drop, even when an assertion fails.
    let _agent = Daemon::start(
        None,
        &format!("0.0.0.0:{port}"),
        &dir.join("agent.log"),
        [OsString::from("run"), "--config".into(), cfg.clone().into()]
            .into_iter()
            .chain(
                [
                    "--admin-password",
                    "s3cret",
                    "--nft",
                    "/nonexistent/nft",
                    "--state-dir",
                ]
                .map(OsString::from),
            )
            .chain([dir.clone().into()]),
    );
    let get = |auth: Option<&str>| -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let header = auth
            .map(|a| format!("Authorization: Basic {a}\r\n"))
            .unwrap_or_default();
        write!(
            s,
            "GET /api/status HTTP/1.1\r\nHost: x\r\n{header}Connection: close\r\n\r\n"
        )
        .ok()?;
        let mut r = String::new();
        s.read_to_string(&mut r).ok()?;
        r.split(' ').nth(1)?.parse().ok()
    };
    // base64("admin:s3cret"), base64("admin:wrong")
    let (good, wrong) = ("YWRtaW46czNjcmV0", "YWRtaW46d3Jvbmc=");
    let first = poll(Duration::from_secs(10), || get(None));
    assert_eq!(first, Some(401));
    assert_eq!(get(Some(good)), Some(200));
    // The admin page: with the `web` feature (default), the page with the status inlined;
    // without it, only the API.
    let page = {
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {good}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut r = String::new();
        s.read_to_string(&mut r).unwrap();
        r
    };
    if cfg!(feature = "web") {
        assert!(page.starts_with("HTTP/1.1 200"), "{page}");
        assert!(page.contains("text/html"), "{page}");
        assert!(
            page.contains("<script id=\"initial\" type=\"application/json\">{"),
            "{page}"
        );
    } else {
        assert!(page.starts_with("HTTP/1.1 404"), "{page}");
    }
    let codes: Vec<Option<u16>> = (0..6).map(|_| get(Some(wrong))).collect();
    println!("wrong passwords: {codes:?}");
    assert_eq!(codes.get(..5), Some(&[Some(401); 5][..]));
    // Paused now: even the right password waits.
    assert_eq!(get(Some(good)), Some(429));
}
