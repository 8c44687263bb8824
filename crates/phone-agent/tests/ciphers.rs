//! `phone-agent ciphers` next to the real `openssl ciphers -v` (Debian's OpenSSL 3.0 CLI, on
//! strings where 3.0 and 1.1.1d agree; 3.0 pads its columns wider, so words are compared).
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::process::{Command, Output};

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .arg("ciphers")
        .args(args)
        .output()
        .unwrap()
}

fn words(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .collect()
}

#[test]
fn verbose_listing_matches_openssl_ciphers_v() {
    for string in [
        "ECDHE+AESGCM:AES256-SHA:@STRENGTH",
        "kECDHE+aRSA:!SHA1",
        "ECDHE:-AESGCM:+CHACHA20",
    ] {
        let oracle = Command::new("openssl")
            .args(["ciphers", "-v", "-ciphersuites", "", string])
            .env("OPENSSL_CONF", "/dev/null")
            .output()
            .expect("the openssl CLI (Debian package openssl) must be installed: .ci/run installs it");
        assert!(oracle.status.success(), "{string}");
        let ours = agent(&["-v", string]);
        let ours = String::from_utf8(ours.stdout).unwrap();
        let listing: String = ours
            .lines()
            .take_while(|l| !l.starts_with("rustls "))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(
            words(&listing),
            words(&String::from_utf8(oracle.stdout).unwrap()),
            "{string}"
        );
    }
}

#[test]
fn the_guides_string_falls_back_loudly() {
    let o = agent(&["--json", "RSA:!aNULL:!eNULL"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["openssl"].as_array().unwrap().len(), 18);
    let fallback = doc["fallback"].as_str().unwrap();
    assert!(
        fallback.starts_with("TLS_Cipher_List: `RSA:!aNULL:!eNULL` selects 18 OpenSSL suites"),
        "{fallback}"
    );
    // The SIP default's rustls projection is what is used instead.
    assert_eq!(doc["rustls"].as_array().unwrap().len(), 6);
    assert_eq!(doc["tls13"][0], "TLS_AES_256_GCM_SHA384");
}

#[test]
fn refused_strings_say_where() {
    let o = agent(&["--json", "--app", "xmpp", "HIGH:@FOO"]);
    assert_eq!(o.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["error"]["offset"], 5);
    assert!(
        doc["fallback"]
            .as_str()
            .unwrap()
            .contains("HIGH:MEDIUM:AES:@STRENGTH")
    );
    let o = agent(&["ECDHE+CHACHA20"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stdout).contains("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"));
}
