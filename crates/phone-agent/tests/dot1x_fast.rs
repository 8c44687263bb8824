//! `phone-agent dot1x --method fast --radius` against hostapd 2.10's integrated EAP-FAST
//! server (RADIUS, `eap_fast_prov=3`, certificates and DH group generated for this run):
//! anonymous provisioning (PAC, EAP-Failure, then the PAC authenticates), PAC reuse with
//! MSCHAPv2 and GTC, server-authenticated provisioning, text and binary PAC files, a wrong
//! password refused, a tampered PAC-Opaque refused and re-provisioned, and the MSK equal to
//! the server's MS-MPPE keys and to hostapd's own key dump. eapol_test (wpa_supplicant 2.10)
//! runs against the same server: same outcomes, and each side uses the PAC file the other wrote.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod dot1x_common;
use dot1x_common::{Peer as Server, Scratch, require};
use serde_json::Value;

const SECRET: &str = "testing123";
const USER: &str = "testuser";
const PASSWORD: &str = "testpass";

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[path = "../../eap-supplicant/tests/common/openssl_pki.rs"]
mod openssl_pki;

/// hostapd as a RADIUS server with EAP-FAST, an RSA server certificate (DHE_RSA needs one)
/// and an ffdhe2048 DH group.
fn hostapd(dir: &Scratch) -> (Server, u16) {
    let d = &dir.0;
    openssl_pki::eap_server(d).unwrap();
    openssl_pki::ffdhe2048(d, "dh.pem").unwrap();
    let port = free_udp_port();
    dir.write("clients", format!("127.0.0.1/32 {SECRET}\n"));
    dir.write(
        "users",
        format!("\"{USER}\" FAST\n\"{USER}\" MSCHAPV2,GTC \"{PASSWORD}\" [2]\n"),
    );
    let conf = dir.write(
        "hostapd.conf",
        format!(
            "driver=none\ninterface=fastas{port}\nradius_server_clients={d}/clients\nradius_server_auth_port={port}\n\
             eap_server=1\neap_user_file={d}/users\nca_cert={d}/ca.pem\nserver_cert={d}/server.pem\n\
             private_key={d}/server.key\ndh_file={d}/dh.pem\npac_opaque_encr_key=000102030405060708090a0b0c0d0e0f\n\
             eap_fast_a_id=101112131415161718191a1b1c1d1e1f\neap_fast_a_id_info=test server\neap_fast_prov=3\n\
             pac_key_lifetime=604800\npac_key_refresh_time=86400\n",
            d = d.display()
        ),
    );
    let log = dir.path("hostapd.log");
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(require("hostapd", "hostapd"))
        .arg("-ddK")
        .arg(conf)
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let mut server = Server { child, log };
    let needle = format!(":{port:04X} ");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
        if table.lines().skip(1).any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| format!("{a} ").ends_with(&needle))
        }) {
            break;
        }
        if let Ok(Some(status)) = server.child.try_wait() {
            panic!("hostapd exited with {status}:\n{}", server.log());
        }
        assert!(
            Instant::now() < deadline,
            "hostapd not listening:\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    (server, port)
}

struct Run {
    code: i32,
    json: Value,
    stderr: String,
}

impl Run {
    fn get(&self, k: &str) -> &Value {
        self.json.get(k).unwrap_or(&Value::Null)
    }
}

fn agent(dir: &Scratch, port: u16, pac: &Path, extra: &[&str]) -> Run {
    let cfg = dir.write(
        "cfg.xml",
        "<flat-profile>\n  <Enable_802.1X_Authentication ua=\"rw\">Yes</Enable_802.1X_Authentication>\n</flat-profile>\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .arg("dot1x")
        .arg("--config")
        .arg(cfg)
        .args([
            "--radius",
            &format!("127.0.0.1:{port}"),
            "--secret",
            SECRET,
            "--method",
            "fast",
        ])
        .args(["--identity", USER, "--json", "--show-keys"])
        .arg("--pac-file")
        .arg(pac)
        .args(if extra.contains(&"--password") {
            &[][..]
        } else {
            &["--password", PASSWORD][..]
        })
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    Run {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {stdout}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        }),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The MSK hostapd logged for its last EAP-FAST authentication.
fn hostapd_msk(server: &Server) -> Option<String> {
    server
        .log()
        .lines()
        .rev()
        .find(|l| l.contains("EAP-FAST: Derived key (MSK) - hexdump(len=64):"))
        .map(|l| {
            l.split("hexdump(len=64):")
                .nth(1)
                .unwrap_or("")
                .split_whitespace()
                .collect()
        })
}

fn accepted(run: &Run, server: &Server, what: &str) {
    assert_eq!(
        run.code,
        0,
        "{what}: {}\n{}\n{}",
        run.json,
        run.stderr,
        tail(server)
    );
    assert_eq!(run.get("protocol"), "EAP-FAST", "{what}");
    assert_eq!(run.get("transaction_state"), "Authenticated", "{what}");
    assert_eq!(run.get("mppe_keys_match"), true, "{what}: {}", run.json);
    let msk = run.get("msk").as_str().unwrap().to_owned();
    assert_eq!(
        hostapd_msk(server).as_deref(),
        Some(msk.as_str()),
        "{what}: MSK vs hostapd's"
    );
    assert!(
        run.get("session_id").as_str().unwrap().starts_with("2b"),
        "{what}"
    );
}

fn tail(server: &Server) -> String {
    let log = server.log();
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("EAP-FAST") || l.contains("TLS"))
        .collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// eapol_test with a PAC file: (success, RADIUS round trips).
fn eapol_test(dir: &Scratch, port: u16, pac: &Path, phase1: &str, phase2: &str) -> (bool, usize) {
    let conf = dir.write(
        "eapol.conf",
        format!(
            "network={{\n key_mgmt=IEEE8021X\n eap=FAST\n identity=\"{USER}\"\n password=\"{PASSWORD}\"\n \
             phase1=\"{phase1}\"\n phase2=\"auth={phase2}\"\n pac_file=\"{}\"\n ca_cert=\"{}\"\n eapol_flags=0\n}}\n",
            pac.display(),
            dir.path("ca.pem").display()
        ),
    );
    let out = Command::new(require("eapol_test", "eapoltest"))
        .arg("-c")
        .arg(conf)
        .args([
            "-a",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-s",
            SECRET,
            "-t",
            "10",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let trips = stdout
        .lines()
        .filter(|l| l.contains("Received RADIUS packet matched with a pending request"))
        .count();
    (out.status.success(), trips)
}

/// The PAC-Info line of a one-PAC text file, decoded.
fn pac_info(text: &str) -> Vec<u8> {
    let hex = text
        .lines()
        .find_map(|l| l.strip_prefix("PAC-Info="))
        .expect("PAC-Info in the PAC file");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// The offset of the PAC-Lifetime value (attribute type 3, 4 octets) in PAC-Info.
fn lifetime_at(info: &[u8]) -> usize {
    let mut i = 0;
    while i + 4 <= info.len() {
        let ty = u16::from_be_bytes([info[i], info[i + 1]]);
        let len = usize::from(u16::from_be_bytes([info[i + 2], info[i + 3]]));
        if ty == 3 && len == 4 {
            return i + 4;
        }
        i += 4 + len;
    }
    panic!("no PAC-Lifetime in PAC-Info");
}

fn lifetime(text: &str) -> u64 {
    let info = pac_info(text);
    let at = lifetime_at(&info);
    u64::from(u32::from_be_bytes(info[at..at + 4].try_into().unwrap()))
}

/// The text PAC file with its PAC-Lifetime set to `secs` (seconds since 1970).
fn with_lifetime(text: &str, secs: u64) -> String {
    let mut info = pac_info(text);
    let at = lifetime_at(&info);
    info[at..at + 4].copy_from_slice(&u32::try_from(secs).unwrap().to_be_bytes());
    let hex: String = info.iter().map(|b| format!("{b:02x}")).collect();
    text.lines()
        .map(|l| {
            if l.starts_with("PAC-Info=") {
                format!("PAC-Info={hex}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

#[test]
fn eap_fast_against_hostapd() {
    let dir = Scratch::new("fast");
    let (server, port) = hostapd(&dir);
    let mut rows = Vec::new();

    // 1. Anonymous provisioning: a PAC, EAP-Failure, then the PAC authenticates (2 attempts).
    let pac = dir.path("agent.pac");
    let t = Instant::now();
    let run = agent(&dir, port, &pac, &["--fast-provisioning", "1"]);
    accepted(&run, &server, "anonymous provisioning then PAC");
    assert_eq!(run.get("pacs_provisioned"), 1);
    assert_eq!(run.get("attempts"), 2);
    let text = std::fs::read_to_string(&pac).unwrap();
    assert!(text.starts_with("wpa_supplicant EAP-FAST PAC file - version 1\n"));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&pac).unwrap().permissions().mode() & 0o777,
        0o600
    );
    rows.push(format!("anonymous prov + MSCHAPv2, text PAC  -> PAC, EAP-Failure, PAC auth Authenticated ({} round trips, {:?})", run.get("round_trips"), t.elapsed()));

    // 2. PAC reuse: MSCHAPv2 and GTC, no provisioning allowed.
    for phase2 in ["mschapv2", "gtc"] {
        let t = Instant::now();
        let run = agent(
            &dir,
            port,
            &pac,
            &["--fast-provisioning", "0", "--phase2", phase2],
        );
        accepted(&run, &server, phase2);
        assert_eq!(run.get("attempts"), 1);
        assert_eq!(run.get("pacs_provisioned"), 0);
        rows.push(format!(
            "PAC + {phase2:<8}                   -> Authenticated, {} ({} round trips, {:?})",
            run.get("cipher_suite"),
            run.get("round_trips"),
            t.elapsed()
        ));
    }

    // 3. Wrong password: refused.
    let cfg_pw = agent(
        &dir,
        port,
        &pac,
        &["--fast-provisioning", "0", "--password", "wrong"],
    );
    assert_eq!(cfg_pw.code, 1, "{}", cfg_pw.json);
    assert_eq!(cfg_pw.get("transaction_state"), "Failed");
    assert!(cfg_pw.get("msk").is_null());
    rows.push(format!(
        "PAC + wrong password              -> Failed ({})",
        cfg_pw.get("failure")
    ));

    // 4. Server-authenticated provisioning into a binary PAC file: PAC and success in one run.
    let bin = dir.path("agent-bin.pac");
    let ca = dir.path("ca.pem");
    let run = agent(
        &dir,
        port,
        &bin,
        &[
            "--fast-provisioning",
            "2",
            "--pac-format",
            "binary",
            "--ca",
            ca.to_str().unwrap(),
            "--domain-suffix-match",
            "example.org",
        ],
    );
    accepted(&run, &server, "authenticated provisioning");
    assert_eq!(run.get("pacs_provisioned"), 1);
    assert_eq!(std::fs::read(&bin).unwrap()[..4], [0x6a, 0xe4, 0x92, 0x0c]);
    let run = agent(&dir, port, &bin, &["--fast-provisioning", "0", "--phase2", "gtc"]);
    accepted(&run, &server, "binary PAC + GTC");
    rows.push("authenticated prov, binary PAC    -> Authenticated; binary PAC + GTC -> Authenticated".into());

    // 5. A tampered PAC-Opaque: refused without provisioning, re-provisioned when allowed.
    let tampered = dir.path("tampered.pac");
    let t = text
        .replace("PAC-Opaque=", "PAC-Opaque=00")
        .replacen("PAC-Opaque=00", "PAC-Opaque=", 0);
    let flipped: String = t
        .lines()
        .map(|l| match l.strip_prefix("PAC-Opaque=") {
            Some(h) => format!(
                "PAC-Opaque={}{}",
                if h.starts_with('0') { "1" } else { "0" },
                &h[1..]
            ),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&tampered, flipped + "\n").unwrap();
    let run = agent(&dir, port, &tampered, &["--fast-provisioning", "0"]);
    assert_eq!(run.code, 1, "tampered PAC accepted: {}", run.json);
    let run = agent(&dir, port, &tampered, &["--fast-provisioning", "1"]);
    accepted(&run, &server, "tampered PAC re-provisioned");
    assert_eq!(run.get("pacs_provisioned"), 1);
    rows.push(
        "tampered PAC-Opaque               -> Failed; with provisioning: re-provisioned, Authenticated"
            .into(),
    );

    // 6. eapol_test on the same server and the PAC files exchanged both ways.
    let (ok, trips) = eapol_test(&dir, port, &pac, "fast_provisioning=0", "MSCHAPV2");
    assert!(ok, "eapol_test with the PAC file the agent wrote");
    rows.push(format!(
        "eapol_test + agent's text PAC     -> SUCCESS ({trips} round trips)"
    ));
    let (ok, _) = eapol_test(
        &dir,
        port,
        &bin,
        "fast_provisioning=0 fast_pac_format=binary",
        "GTC",
    );
    assert!(ok, "eapol_test with the binary PAC file the agent wrote");
    let theirs = dir.path("eapol.pac");
    let (ok, _) = eapol_test(&dir, port, &theirs, "fast_provisioning=1", "MSCHAPV2");
    assert!(
        !ok,
        "anonymous provisioning ends in EAP-Failure for eapol_test too"
    );
    let run = agent(&dir, port, &theirs, &["--fast-provisioning", "0"]);
    accepted(&run, &server, "agent with eapol_test's PAC");
    rows.push("agent + eapol_test's text PAC     -> Authenticated".into());

    // 7. PAC lifetime, judged at the phone's clock (the PAC-Info's PAC-Lifetime; hostapd checks
    //    its own copy inside the PAC-Opaque): an hour from its end, the agent asks for a new
    //    PAC in the tunnel and hostapd sends one; past its end, the PAC is not used and a new
    //    one is provisioned anonymously.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let near = dir.path("near.pac");
    std::fs::write(&near, with_lifetime(&text, now + 3600)).unwrap();
    let run = agent(&dir, port, &near, &["--fast-provisioning", "0"]);
    accepted(&run, &server, "PAC an hour from its end");
    assert_eq!(run.get("attempts"), 1);
    assert_eq!(run.get("pacs_provisioned"), 1, "refreshed: {}", run.json);
    let refreshed = lifetime(&std::fs::read_to_string(&near).unwrap());
    assert!(
        refreshed > now + 6 * 86_400,
        "the new PAC lives a week: {refreshed}"
    );
    rows.push(format!(
        "PAC 1 h from its end              -> refreshed in the tunnel, Authenticated ({} round trips)",
        run.get("round_trips")
    ));
    let expired = dir.path("expired.pac");
    std::fs::write(&expired, with_lifetime(&text, now - 60)).unwrap();
    let run = agent(&dir, port, &expired, &["--fast-provisioning", "0"]);
    assert_eq!(run.code, 1, "an expired PAC was used: {}", run.json);
    let run = agent(&dir, port, &expired, &["--fast-provisioning", "1"]);
    accepted(&run, &server, "expired PAC replaced");
    assert_eq!(run.get("attempts"), 2);
    assert_eq!(run.get("pacs_provisioned"), 1);
    assert!(lifetime(&std::fs::read_to_string(&expired).unwrap()) > now + 6 * 86_400);
    rows.push(
        "PAC past its end                  -> not used (Failed without provisioning); provisioned anew, Authenticated"
            .into(),
    );

    // 8. The settings instead of the command line: Agent_802.1X_Method EAP-FAST with its
    //    password, inner method and provisioning from cfg.xml; a command-line option still wins.
    let cfg = dir.write(
        "cfg-fast.xml",
        format!(
            "<flat-profile><Enable_802.1X_Authentication>Yes</Enable_802.1X_Authentication>\
             <Agent_802.1X_Method>EAP-FAST</Agent_802.1X_Method><Agent_802.1X_Identity>{USER}</Agent_802.1X_Identity>\
             <Agent_802.1X_Password>{PASSWORD}</Agent_802.1X_Password><Agent_EAP_FAST_Inner_Method>GTC</Agent_EAP_FAST_Inner_Method>\
             <Agent_EAP_FAST_Provisioning>0</Agent_EAP_FAST_Provisioning></flat-profile>"
        ),
    );
    let from_settings = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
            .arg("dot1x")
            .arg("--config")
            .arg(&cfg)
            .args([
                "--radius",
                &format!("127.0.0.1:{port}"),
                "--secret",
                SECRET,
                "--json",
            ])
            .arg("--pac-file")
            .arg(&pac)
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null),
        )
    };
    let gtc_lines = || server.log().lines().filter(|l| l.contains("EAP-GTC")).count();
    let before = gtc_lines();
    let (code, json) = from_settings(&[]);
    assert_eq!(code, Some(0), "settings only: {json}");
    assert_eq!(json["protocol"], "EAP-FAST");
    assert!(gtc_lines() > before, "inner GTC from the settings");
    let (code, json) = from_settings(&["--password", "wrong"]);
    assert_eq!(code, Some(1), "the command line's password wins: {json}");
    rows.push("cfg.xml Agent_802.1X_* only        -> Authenticated (GTC); --password overrides it".into());

    // Auth time with a PAC, each peer 5 times as a whole process (start included), medians.
    // Printed for the notes, not asserted (timing belongs in benchmarks).
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let ours = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                assert_eq!(agent(&dir, port, &pac, &["--fast-provisioning", "0"]).code, 0);
                t.elapsed()
            })
            .collect(),
    );
    let theirs = median(
        (0..5)
            .map(|_| {
                let t = Instant::now();
                assert!(eapol_test(&dir, port, &pac, "fast_provisioning=0", "MSCHAPV2").0);
                t.elapsed()
            })
            .collect(),
    );
    rows.push(format!(
        "auth with a PAC (median of 5, process wall time): agent {ours:?}, eapol_test {theirs:?}, ratio {:.2}",
        ours.as_secs_f64() / theirs.as_secs_f64()
    ));
    println!("{}", rows.join("\n"));
}
