//! `phone-agent proxy-for`: the pactester-like view of a PAC file and of a cfg.xml.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;

fn agent(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("phone-agent-proxy-for-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn pac_file_with_my_ip_and_time() {
    let pac = write(
        "a.pac",
        "function FindProxyForURL(url, host) {
           if (isInNet(myIpAddress(), '10.20.0.0', '255.255.0.0') && weekdayRange('TUE'))
             return 'PROXY emea:3128; bogus; DIRECT';
           return 'DIRECT';
         }",
    );
    let (ok, out, err) = agent(&[
        "proxy-for",
        "--pac",
        &pac,
        "--my-ip",
        "10.20.1.2",
        "--now",
        "2009-03-03T10:00:00+01:00",
        "http://www.example.com/",
    ]);
    assert!(ok, "{err}");
    assert!(out.starts_with("PROXY emea:3128; bogus; DIRECT\n"), "{out}");
    assert!(out.contains("1. PROXY emea:3128"), "{out}");
    assert!(out.contains("2. DIRECT"), "{out}");
    assert!(
        out.contains("dropped: bytes 17..22: unknown proxy type `bogus`"),
        "{out}"
    );
    let (ok, out, _) = agent(&[
        "proxy-for",
        "--pac",
        &pac,
        "--json",
        "--now",
        "2009-03-04T10:00:00Z",
        "http://a/",
    ]);
    assert!(ok);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["proxies"], serde_json::json!(["DIRECT"]));
}

#[test]
fn hostile_pac_is_a_clear_error() {
    let pac = write("loop.pac", "function FindProxyForURL(u, h) { while (true) {} }");
    let (ok, _, err) = agent(&["proxy-for", "--pac", &pac, "http://a/"]);
    assert!(!ok);
    assert!(err.contains("PAC script ran longer than 250ms"), "{err}");
}

#[test]
fn cfg_modes() {
    let off = write(
        "off.xml",
        "<flat-profile><Proxy_Mode>Off</Proxy_Mode></flat-profile>",
    );
    let (ok, out, err) = agent(&["proxy-for", "--config", &off, "http://a/"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("Proxy_Mode Off") && out.contains("1. DIRECT"),
        "{out}"
    );
    let manual = write(
        "manual.xml",
        "<flat-profile><Proxy_Mode>Manual</Proxy_Mode><Proxy_Host>proxy.example.com</Proxy_Host></flat-profile>",
    );
    let (ok, out, err) = agent(&["proxy-for", "--config", &manual, "http://a/"]);
    assert!(ok, "{err}");
    assert!(out.contains("1. PROXY proxy.example.com:3128"), "{out}");
    let (ok, out, _) = agent(&["proxy-for", "--config", &manual, "http://localhost/"]);
    assert!(ok);
    assert!(out.contains("1. DIRECT"), "{out}");
    let missing = write(
        "missing.xml",
        "<flat-profile><Proxy_Mode>Manual</Proxy_Mode></flat-profile>",
    );
    let (ok, _, err) = agent(&["proxy-for", "--config", &missing, "http://a/"]);
    assert!(!ok);
    assert!(err.contains("Proxy_Host is required in Manual mode"), "{err}");
}
