//! A live second oracle, so that a stale golden file cannot hide a regression: the system's
//! OpenSSL 3.0 `openssl ciphers` (Debian's `openssl` package) over the golden corpus, for the
//! strings where 3.0 and 1.1.1d agree. 3.0 moved the IDEA and SEED suites to its legacy
//! provider, so strings naming MEDIUM, SEED or IDEA are skipped and IDEA/SEED suites are
//! removed from the crate's answer before comparing (research notes §A.7).
//!
//! Needs `openssl` (3.0.x) on PATH; set CIPHER_STRING_SKIP_OPENSSL3=1 to skip it explicitly.

#![allow(clippy::panic)] // a failed test panics with its message

use std::process::Command;

use cipher_string::CipherList;

const GOLDEN: &str = include_str!("data/openssl-1.1.1d.golden");

fn openssl3_version() -> Option<String> {
    let out = Command::new("openssl").arg("version").output().ok()?;
    let v = String::from_utf8(out.stdout).ok()?;
    v.starts_with("OpenSSL 3.0.").then_some(v)
}

fn openssl3(s: &str) -> Option<Vec<u16>> {
    let out = Command::new("openssl")
        .args(["ciphers", "-V", "-ciphersuites", "", "--", s])
        .env("OPENSSL_CONF", "/dev/null")
        .output()
        .unwrap_or_else(|e| panic!("running openssl: {e}"));
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Some(
        text.lines()
            .map(|l| {
                let first = l.split_whitespace().next().unwrap_or("");
                let hex: String = first.split(',').map(|b| b.trim_start_matches("0x")).collect();
                u16::from_str_radix(&hex, 16).unwrap_or_else(|e| panic!("bad line {l:?}: {e}"))
            })
            .collect(),
    )
}

#[test]
fn agrees_with_the_systems_openssl_3_0() {
    if std::env::var_os("CIPHER_STRING_SKIP_OPENSSL3").is_some() {
        eprintln!("CIPHER_STRING_SKIP_OPENSSL3 is set: live OpenSSL 3.0 comparison skipped");
        return;
    }
    let version = openssl3_version().unwrap_or_else(|| {
        panic!("no OpenSSL 3.0.x `openssl` on PATH (apt-get install openssl), or set CIPHER_STRING_SKIP_OPENSSL3=1")
    });
    let strings: Vec<&str> = GOLDEN
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t').map(|(s, _)| s))
        // plain strings only (no escapes), and none 3.0 treats differently
        .filter(|s| !s.contains('\\') && !s.contains(['\t', '\u{e9}']))
        .filter(|s| !["MEDIUM", "SEED", "IDEA"].iter().any(|w| s.contains(w)))
        .step_by(4)
        .collect();
    // Two threads: the time is in starting `openssl` processes.
    let half = strings.len().div_ceil(2).max(1);
    let differences: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = strings
            .chunks(half)
            .map(|chunk| scope.spawn(move || compare(chunk)))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|_| panic!("worker panicked")))
            .collect()
    });
    eprintln!(
        "live comparison with {}: {} strings",
        version.trim(),
        strings.len()
    );
    assert!(
        differences.is_empty(),
        "{} of {} strings differ from {}:\n{}",
        differences.len(),
        strings.len(),
        version.trim(),
        differences
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn compare(strings: &[&str]) -> Vec<String> {
    let mut differences = Vec::new();
    for s in strings {
        let ours: Option<Vec<u16>> = CipherList::parse(s).ok().map(|l| {
            l.suites()
                .iter()
                .filter(|x| !x.enc().starts_with("IDEA") && !x.enc().starts_with("SEED"))
                .map(|x| x.id())
                .collect()
        });
        let ours = ours.filter(|v| !v.is_empty());
        let theirs = openssl3(s);
        if ours != theirs {
            differences.push(format!("{s:?}\n    3.0:   {theirs:04X?}\n    crate: {ours:04X?}"));
        }
    }
    differences
}
