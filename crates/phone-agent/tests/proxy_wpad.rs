//! WPAD in `phone-agent`: Auto mode with `Use_Auto_Discovery__WPAD_` and no `PAC_URL` finds
//! the PAC through an injected DHCP option 252 value (`--dhcp-wpad`), or through DNS
//! devolution of the phone's domain (`--domain`) against a real dnsmasq (Debian
//! `dnsmasq-base`; `.ci/run` installs it) given with `--dns`, which knows only
//! `wpad.example.test`: `wpad.eng.corp.example.test` and `wpad.corp.example.test` fail, the
//! third candidate answers. The PAC server for the DNS case listens on port 80 of a loopback
//! address of its own (127.77.x.y, from the test's PID), since a WPAD URL has no port.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod proxy_common;

use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::Command;

use proxy_common::*;

fn dnsmasq(answer: Ipv4Addr) -> (Daemon, u16) {
    let program = find_program("dnsmasq", "dnsmasq-base");
    let dir = temp_dir("dnsmasq");
    let port = free_port();
    let mut command = Command::new(program);
    command
        .arg("-k")
        .arg(format!("--port={port}"))
        .args(["--no-resolv", "--no-hosts", "--bind-interfaces"])
        .arg("--listen-address=127.0.0.1")
        .arg(format!("--address=/wpad.example.test/{answer}"))
        .arg(format!("--pid-file={}", dir.join("dnsmasq.pid").display()))
        .arg("--user=root")
        .arg(format!("--log-facility={}", dir.join("dnsmasq.log").display()));
    let log = dir.join("dnsmasq.log");
    let daemon = Daemon::spawn("dnsmasq", command, dir, &log, port);
    (daemon, port)
}

fn proxy_for(config: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["proxy-for", "--json", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push("http://www.example.com/");
    serde_json::from_str(&ok(&agent(&args))).unwrap()
}

#[test]
fn wpad_through_dhcp_option_252_then_dns_devolution() {
    let dir = temp_dir("cfg");
    let config = cfg(
        &dir,
        "<Proxy_Mode>Auto</Proxy_Mode>\n<Use_Auto_Discovery__WPAD_>Yes</Use_Auto_Discovery__WPAD_>",
    );
    let dhcp_pac = "function FindProxyForURL(u, h) { return 'PROXY dhcp-proxy.example:3128'; }";
    let dhcp_origin = origin(dhcp_pac.to_owned());
    let pid = std::process::id();
    let wpad_ip = Ipv4Addr::new(127, 77, (pid >> 8) as u8, (pid as u8).max(1));
    let listener = TcpListener::bind((wpad_ip, 80))
        .unwrap_or_else(|e| panic!("binding {wpad_ip}:80 for the WPAD server: {e}"));
    origin_on(
        listener,
        "function FindProxyForURL(u, h) { return 'PROXY dns-proxy.example:8080'; }".to_owned(),
    );
    let (_dnsmasq, dns_port) = dnsmasq(wpad_ip);
    let dns = format!("127.0.0.1:{dns_port}");
    let option_252 = format!("http://127.0.0.1:{dhcp_origin}/proxy.pac");

    // Option 252 alone.
    let doc = proxy_for(&config, &["--dhcp-wpad", &option_252]);
    assert_eq!(doc["source"], format!("PAC {option_252}"));
    assert_eq!(doc["proxies"][0], "PROXY dhcp-proxy.example:3128");

    // DNS alone: the third devolution step answers.
    let dns_args = ["--domain", "eng.corp.example.test", "--dns", &dns];
    let doc = proxy_for(&config, &dns_args);
    assert_eq!(doc["source"], "PAC http://wpad.example.test/wpad.dat");
    assert_eq!(doc["proxies"][0], "PROXY dns-proxy.example:8080");

    // Both: DHCP first.
    let mut both = vec!["--dhcp-wpad", option_252.as_str()];
    both.extend_from_slice(&dns_args);
    let doc = proxy_for(&config, &both);
    assert_eq!(doc["proxies"][0], "PROXY dhcp-proxy.example:3128");

    // An unusable option 252 value (trailing junk after a NUL is cut; a non-URL is not):
    // DNS is next.
    let mut bad = vec!["--dhcp-wpad", "not a url"];
    bad.extend_from_slice(&dns_args);
    let doc = proxy_for(&config, &bad);
    assert_eq!(doc["proxies"][0], "PROXY dns-proxy.example:8080");

    // A domain whose devolution never reaches wpad.example.test: a clear error listing each
    // candidate that failed.
    let out = agent(&[
        "proxy-for",
        "--config",
        config.to_str().unwrap(),
        "--domain",
        "eng.corp.example.org",
        "--dns",
        &dns,
        "http://www.example.com/",
    ]);
    let err = failed(&out);
    assert!(
        err.contains("no PAC file could be downloaded")
            && err.contains("wpad.corp.example.org")
            && !err.contains("wpad.org"),
        "{err}"
    );

    // Neither: nothing to discover with.
    let err = failed(&agent(&[
        "proxy-for",
        "--config",
        config.to_str().unwrap(),
        "http://www.example.com/",
    ]));
    assert!(err.contains("WPAD found no PAC URL"), "{err}");
}
