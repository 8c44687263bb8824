//! `phone-agent fetch` through a real squid on loopback (Debian `squid`, `apache2-utils` for
//! htpasswd; `.ci/run` installs both): Manual mode with and without Basic authentication, a
//! wrong password, the loopback bypass as a setting, `http://` as an absolute-form request
//! (squid's `Via` reaches the origin), `https://` through a CONNECT tunnel with the origin's
//! certificate checked (right and wrong CA), and Auto mode with a PAC over HTTP and HTTPS whose
//! first proxy is down, then with squid killed mid-test (fallback to DIRECT). Each test starts
//! its own squid on a free port with a configuration in a temporary directory, with squid's
//! default rule that CONNECT goes to SSL ports only, and kills it afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod proxy_common;

use std::path::Path;
use std::time::Duration;

use proxy_common::*;

fn fetch_json(config: &Path, url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = ok(&fetch(config, url, &args));
    serde_json::from_str(&out).unwrap()
}

#[test]
fn manual_proxy_without_authentication() {
    let squid = Squid::start(None, &[]);
    let origin = origin(String::new());
    let dir = temp_dir("cfg");
    let config = manual_cfg(&dir, squid.port, None);
    let url = format!("http://127.0.0.1:{origin}/hello");
    let body = ok(&fetch(&config, &url, &["--proxy-loopback"]));
    // An absolute-form request: squid forwards it and adds its Via header.
    assert!(
        body.contains("origin saw target: /hello\n") && body.contains("origin saw via: 1.1 paclab-squid"),
        "{body}"
    );
    let needle = format!("GET http://127.0.0.1:{origin}/hello");
    let log = squid.access_log_with(&needle);
    assert!(log.contains(&needle), "{log}");
    assert!(!log.contains("CONNECT"), "{log}");
    // Loopback bypasses the proxy unless the setting says otherwise (Chromium's rule).
    let body = ok(&fetch(&config, &url, &[]));
    assert!(body.contains("origin saw via: none\n"), "{body}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(squid.access_log(), log, "the loopback request went through squid");
}

#[test]
fn manual_proxy_with_basic_authentication() {
    let squid = Squid::start(Some(("phone", "s3cret")), &[]);
    let origin = origin(String::new());
    let dir = temp_dir("cfg");
    let url = format!("http://127.0.0.1:{origin}/auth");
    let good = manual_cfg(&dir, squid.port, Some(("phone", "s3cret")));
    let body = ok(&fetch(&good, &url, &["--proxy-loopback"]));
    assert!(body.contains("origin saw via: 1.1 paclab-squid"), "{body}");
    let needle = format!("GET http://127.0.0.1:{origin}/auth phone ");
    let log = squid.access_log_with(&needle);
    assert!(log.contains(&needle), "not through squid as phone: {log}");

    let wrong = manual_cfg(&dir, squid.port, Some(("phone", "wrong")));
    let err = failed(&fetch(&wrong, &url, &["--proxy-loopback"]));
    assert!(
        err.contains("407") && err.contains("Proxy_Password") && !err.contains("wrong"),
        "{err}"
    );

    let none = manual_cfg(&dir, squid.port, None);
    let err = failed(&fetch(&none, &url, &["--proxy-loopback"]));
    assert!(
        err.contains("407") && err.contains("Proxy_Server_Requires_Authentication"),
        "{err}"
    );
}

#[test]
fn https_through_a_connect_tunnel_checks_the_origins_certificate() {
    let dir = temp_dir("cfg");
    let pki = OriginPki::new(&dir);
    let origin = pki.origin(String::new());
    let squid = Squid::start(Some(("phone", "s3cret")), &[origin]);
    let url = format!("https://127.0.0.1:{origin}/secure");
    let ca = pki.ca_pem.to_str().unwrap();
    let good = manual_cfg(&dir, squid.port, Some(("phone", "s3cret")));
    let doc = fetch_json(&good, &url, &["--proxy-loopback", "--ca", ca]);
    assert_eq!(doc["status"], 200);
    assert_eq!(doc["via"], format!("PROXY 127.0.0.1:{}", squid.port));
    let needle = format!("CONNECT 127.0.0.1:{origin} phone ");
    let log = squid.access_log_with(&needle);
    assert!(log.contains(&needle), "{log}");
    // Inside the tunnel the origin sees the request itself, without squid's Via.
    let body = ok(&fetch(&good, &url, &["--proxy-loopback", "--ca", ca]));
    assert!(
        body.contains("origin saw target: /secure\norigin saw via: none\n"),
        "{body}"
    );

    // The tunnel is up, but the origin's certificate is not from the trusted CA.
    let other = pki.other_ca_pem.to_str().unwrap();
    let err = failed(&fetch(&good, &url, &["--proxy-loopback", "--ca", other]));
    assert!(
        err.contains("the origin's TLS certificate failed verification") && err.contains("UnknownIssuer"),
        "{err}"
    );
    // Nor is it from a built-in root.
    let err = failed(&fetch(&good, &url, &["--proxy-loopback"]));
    assert!(
        err.contains("the origin's TLS certificate failed verification"),
        "{err}"
    );

    // The CONNECT itself needs the credentials.
    let wrong = manual_cfg(&dir, squid.port, Some(("phone", "wrong")));
    let err = failed(&fetch(&wrong, &url, &["--proxy-loopback", "--ca", ca]));
    assert!(err.contains("407") && err.contains("Proxy_Password"), "{err}");
    let none = manual_cfg(&dir, squid.port, None);
    let err = failed(&fetch(&none, &url, &["--proxy-loopback", "--ca", ca]));
    assert!(err.contains("407"), "{err}");
}

#[test]
fn connect_to_a_port_squid_refuses_is_not_retried_elsewhere() {
    let dir = temp_dir("cfg");
    let pki = OriginPki::new(&dir);
    let origin = pki.origin(String::new());
    // CONNECT to the origin's port is not allowed by this squid.
    let squid = Squid::start(None, &[]);
    let pac = format!(
        "function FindProxyForURL(url, host) {{ return 'PROXY 127.0.0.1:{}; DIRECT'; }}",
        squid.port
    );
    let pac_origin = proxy_common::origin(pac);
    let config = auto_cfg(&dir, &format!("http://127.0.0.1:{pac_origin}/proxy.pac"));
    let url = format!("https://127.0.0.1:{origin}/x");
    let ca = pki.ca_pem.to_str().unwrap();
    let err = failed(&fetch(&config, &url, &["--proxy-loopback", "--ca", ca]));
    assert!(err.contains("refused the CONNECT tunnel"), "{err}");
}

fn pac_fallback(squid: &mut Squid, config: &Path, origin: u16, dead: u16, extra: &[&str]) {
    let url = format!("http://127.0.0.1:{origin}/data");
    let mut args = vec!["--proxy-loopback"];
    args.extend_from_slice(extra);
    let doc = fetch_json(config, &url, &args);
    assert_eq!(doc["via"], format!("PROXY 127.0.0.1:{}", squid.port));
    assert_eq!(doc["attempts"][0]["via"], format!("PROXY 127.0.0.1:{dead}"));
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 1);

    // The proxy-for view of the same configuration.
    let mut args = vec!["proxy-for", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--proxy-loopback", &url]);
    let out = ok(&agent(&args));
    assert!(
        out.contains(&format!("2. PROXY 127.0.0.1:{}", squid.port)),
        "{out}"
    );

    // squid goes away: the list ends in DIRECT.
    squid.daemon.kill();
    let mut args = vec!["--proxy-loopback"];
    args.extend_from_slice(extra);
    let doc = fetch_json(config, &url, &args);
    assert_eq!(doc["via"], "DIRECT");
    assert_eq!(doc["attempts"].as_array().unwrap().len(), 2);
    let body = ok(&fetch(config, &url, &args));
    assert!(body.contains("origin saw via: none\n"), "{body}");
}

fn fallback_pac(dead: u16, squid: u16) -> String {
    format!(
        "function FindProxyForURL(url, host) {{ return 'PROXY 127.0.0.1:{dead}; PROXY 127.0.0.1:{squid}; DIRECT'; }}"
    )
}

#[test]
fn pac_list_falls_back_past_dead_proxies_and_to_direct_when_squid_dies() {
    let mut squid = Squid::start(None, &[]);
    let dead = free_port();
    let origin = origin(fallback_pac(dead, squid.port));
    let dir = temp_dir("cfg");
    let config = auto_cfg(&dir, &format!("http://127.0.0.1:{origin}/proxy.pac"));
    pac_fallback(&mut squid, &config, origin, dead, &[]);
}

#[test]
fn pac_over_https() {
    let mut squid = Squid::start(None, &[]);
    let dead = free_port();
    let dir = temp_dir("cfg");
    let pki = OriginPki::new(&dir);
    let pac_origin = pki.origin(fallback_pac(dead, squid.port));
    let origin = origin(String::new());
    let config = auto_cfg(&dir, &format!("https://127.0.0.1:{pac_origin}/proxy.pac"));
    // The PAC server's certificate is checked too.
    let other = pki.other_ca_pem.to_str().unwrap();
    let err = failed(&fetch(
        &config,
        &format!("http://127.0.0.1:{origin}/data"),
        &["--proxy-loopback", "--ca", other],
    ));
    assert!(
        err.contains("PAC file") && err.contains("certificate failed verification"),
        "{err}"
    );
    pac_fallback(
        &mut squid,
        &config,
        origin,
        dead,
        &["--ca", pki.ca_pem.to_str().unwrap()],
    );
}

#[test]
fn pac_over_tftp() {
    let mut squid = Squid::start(None, &[]);
    let dead = free_port();
    // More than one 512-byte block, so the transfer takes several DATA/ACK rounds.
    let pac = format!("{}\n// {}\n", fallback_pac(dead, squid.port), "x".repeat(3000));
    let tftpd = Tftpd::start(&[("proxy.pac", pac.as_bytes())]);
    let origin = origin(String::new());
    let dir = temp_dir("cfg");
    let config = auto_cfg(&dir, &format!("tftp://127.0.0.1:{}/proxy.pac", tftpd.port));
    pac_fallback(&mut squid, &config, origin, dead, &[]);
}
