//! `phone-agent check` and `show` as an administrator runs them.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::path::PathBuf;
use std::process::{Command, Output};

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/cfg")
        .join(name)
}

fn agent(args: &[&str], files: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_phone-agent"));
    cmd.args(args);
    for f in files {
        cmd.arg(example(f));
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn clean_file_exits_zero_and_prints_nothing() {
    let o = agent(&["check"], &["full.xml"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(stdout(&o), "");
    let o = agent(&["check", "--deny-warnings"], &["full.xml"]);
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn errors_print_like_a_compiler_and_exit_two() {
    let o = agent(&["check"], &["bad-values.xml"]);
    assert_eq!(o.status.code(), Some(2));
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert!(first.ends_with(
        "examples/cfg/bad-values.xml:4:29: error[value]: SIP_Transport_1_: `SCTP` is not one of the values this parameter takes"
    ), "{first}");
    let next: Vec<&str> = out.lines().skip(1).take(4).collect();
    assert_eq!(
        next,
        [
            "  |",
            "4 |   <SIP_Transport_1_ ua=\"na\">SCTP</SIP_Transport_1_>",
            "  |                             ^",
            "  = hint: expected one of UDP, TCP, TLS, AUTO",
        ]
    );
}

#[test]
fn warnings_exit_one_only_when_denied() {
    assert_eq!(agent(&["check"], &["lines.xml"]).status.code(), Some(0));
    assert_eq!(
        agent(&["check", "--deny-warnings"], &["lines.xml"]).status.code(),
        Some(1)
    );
    // The worst file decides.
    assert_eq!(
        agent(
            &["check", "--deny-warnings"],
            &["lines.xml", "broken-close-tag.xml"]
        )
        .status
        .code(),
        Some(2)
    );
}

#[test]
fn json_for_machines() {
    let o = agent(&["check", "--json"], &["broken-ua-attribute.xml", "full.xml"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let files = doc["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    let d = &files[0]["diagnostics"][0];
    assert_eq!(
        (d["kind"].as_str(), d["line"].as_u64(), d["column"].as_u64()),
        (Some("xml"), Some(5), Some(26))
    );
    assert_eq!(d["severity"], "error");
    assert_eq!(files[1]["diagnostics"].as_array().unwrap().len(), 0);
}

#[test]
fn show_fills_defaults_and_redacts_secrets() {
    let o = agent(&["show"], &["full.xml"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    assert!(
        !out.contains("c0rrect-h0rse-battery")
            && !out.contains("s3cret-vpn")
            && !out.contains("line1-Passw0rd")
    );
    let pw = out.lines().find(|l| l.starts_with("Proxy_Password ")).unwrap();
    assert!(pw.contains("<redacted>") && pw.contains("(line "), "{pw}");
    let line5 = out.lines().find(|l| l.starts_with("SIP_Transport_5_ ")).unwrap();
    assert!(line5.contains("UDP") && line5.ends_with("(default)"), "{line5}");

    let o = agent(&["show", "--json"], &["bad-values.xml"]);
    assert_eq!(o.status.code(), Some(2));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fw = &doc["settings"]["Firewall"];
    assert_eq!(
        (fw["value"].as_str(), fw["source"].as_str(), fw["ua"].as_str()),
        (Some("Enabled"), Some("rejected"), Some("na"))
    );
    assert_eq!(doc["unknown"][2]["name"], "Station_Name");
}

#[test]
fn unreadable_file_is_an_error_not_a_panic() {
    let o = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .args(["check", "/nonexistent/cfg.xml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/cfg.xml"));
}

/// 30,000 nested elements used to abort the agent with a stack overflow (signal 6); a profile
/// comes from a provisioning server, so that was a crash from the network. Now exit 2 with the
/// position, and the one 180 KB source line shown as a window around the column.
#[test]
fn deeply_nested_profile_is_refused_not_a_crash() {
    let dir = std::env::temp_dir().join(format!("phone-agent-deep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("deep.xml");
    let n = 30_000;
    std::fs::write(
        &file,
        format!(
            "<flat-profile>{}{}</flat-profile>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .arg("check")
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains(":1:204: error[xml]: elements are nested more than 64 levels deep"),
        "{out}"
    );
    assert!(
        out.lines().all(|l| l.len() < 200),
        "source line not clipped: {} bytes",
        out.len()
    );
}

/// An invalid value reads as its default; a resync must not run from that (an invalid
/// Profile_Rule would quietly fetch `/$PSN.xml`, an invalid Restricted_Access_Domains would
/// lift the restriction). `provision` refuses the file whole, naming the error, before any I/O.
#[test]
fn provision_refuses_a_cfg_with_errors_instead_of_using_defaults() {
    let dir = std::env::temp_dir().join(format!("phone-agent-prov-err-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cfg.xml");
    std::fs::write(
        &file,
        "<flat-profile><Profile_Rule>gopher://[bad</Profile_Rule></flat-profile>",
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .args(["provision", "--once", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_ne!(o.status.code(), Some(0), "{o:?}");
    assert!(err.contains("refused") && err.contains("Profile_Rule"), "{err}");
}
