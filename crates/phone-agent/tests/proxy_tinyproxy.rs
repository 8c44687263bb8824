//! `phone-agent fetch` through a real tinyproxy on loopback (Debian `tinyproxy`; `.ci/run`
//! installs it), with and without `BasicAuth`: Manual mode for `http://` (absolute-form, the
//! origin sees tinyproxy's Via) and `https://` (CONNECT, origin certificate checked), a wrong
//! password (tinyproxy 1.11 answers it with 401, not 407), and no credentials where the proxy
//! wants them (407). Each test starts its own tinyproxy
//! in the foreground (`-d`) on a free port with a configuration in a temporary directory and
//! kills it afterwards.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod proxy_common;

use std::process::Command;

use proxy_common::*;

struct Tinyproxy {
    _daemon: Daemon,
    port: u16,
}

impl Tinyproxy {
    /// tinyproxy on a free port; CONNECT only to 443 and `connect_port`.
    fn start(auth: Option<(&str, &str)>, connect_port: u16) -> Tinyproxy {
        let program = find_program("tinyproxy", "tinyproxy");
        let dir = temp_dir("tinyproxy");
        let port = free_port();
        let mut conf = format!(
            "Port {port}\n\
             Listen 127.0.0.1\n\
             Timeout 30\n\
             LogLevel Info\n\
             LogFile \"{d}/tinyproxy.log\"\n\
             PidFile \"{d}/tinyproxy.pid\"\n\
             MaxClients 20\n\
             Allow 127.0.0.1\n\
             ViaProxyName \"paclab-tinyproxy\"\n\
             ConnectPort 443\n\
             ConnectPort {connect_port}\n",
            d = dir.display()
        );
        if let Some((user, password)) = auth {
            conf.push_str(&format!("BasicAuth {user} {password}\n"));
        }
        let conf_path = dir.join("tinyproxy.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut command = Command::new(program);
        command.arg("-d").arg("-c").arg(&conf_path);
        let log = dir.join("tinyproxy.log");
        let daemon = Daemon::spawn("tinyproxy", command, dir, &log, port);
        Tinyproxy {
            _daemon: daemon,
            port,
        }
    }
}

#[test]
fn manual_without_authentication_http_and_https() {
    let dir = temp_dir("cfg");
    let pki = OriginPki::new(&dir);
    let https = pki.origin(String::new());
    let http = origin(String::new());
    let proxy = Tinyproxy::start(None, https);
    let config = manual_cfg(&dir, proxy.port, None);
    let body = ok(&fetch(
        &config,
        &format!("http://127.0.0.1:{http}/plain"),
        &["--proxy-loopback"],
    ));
    assert!(
        body.contains("origin saw target: /plain\n") && body.contains("paclab-tinyproxy"),
        "{body}"
    );
    let ca = pki.ca_pem.to_str().unwrap();
    let body = ok(&fetch(
        &config,
        &format!("https://127.0.0.1:{https}/tls"),
        &["--proxy-loopback", "--ca", ca],
    ));
    assert!(
        body.contains("origin saw target: /tls\norigin saw via: none\n"),
        "{body}"
    );
    let other = pki.other_ca_pem.to_str().unwrap();
    let err = failed(&fetch(
        &config,
        &format!("https://127.0.0.1:{https}/tls"),
        &["--proxy-loopback", "--ca", other],
    ));
    assert!(
        err.contains("the origin's TLS certificate failed verification"),
        "{err}"
    );
}

#[test]
fn manual_with_basic_authentication_http_and_https() {
    let dir = temp_dir("cfg");
    let pki = OriginPki::new(&dir);
    let https = pki.origin(String::new());
    let http = origin(String::new());
    let proxy = Tinyproxy::start(Some(("phone", "s3cret")), https);
    let ca = pki.ca_pem.to_str().unwrap();
    let urls = [
        format!("http://127.0.0.1:{http}/plain"),
        format!("https://127.0.0.1:{https}/tls"),
    ];
    let good = manual_cfg(&dir, proxy.port, Some(("phone", "s3cret")));
    let wrong = manual_cfg(&dir, proxy.port, Some(("phone", "wrong")));
    let none = manual_cfg(&dir, proxy.port, None);
    let args = ["--proxy-loopback", "--ca", ca];
    for url in &urls {
        let body = ok(&fetch(&good, url, &args));
        assert!(body.contains("origin saw target: /"), "{url}: {body}");
        // No credentials: 407, to the request and to the CONNECT.
        let err = failed(&fetch(&none, url, &args));
        assert!(
            err.contains("407") && err.contains("Proxy_Server_Requires_Authentication"),
            "{url}: {err}"
        );
    }
    // A wrong password: tinyproxy 1.11 answers 401 (with WWW-Authenticate), not 407. For a
    // plain request that 401 cannot be told from the origin's: the agent reports the status
    // and points at the password.
    let out = fetch(&wrong, &urls[0], &["--proxy-loopback", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(doc["status"], 401);
    let err = text(&out.stderr);
    assert!(
        err.contains("HTTP 401") && err.contains("Proxy_Password"),
        "{err}"
    );
    // To a CONNECT it is a refused tunnel.
    let err = failed(&fetch(&wrong, &urls[1], &args));
    assert!(
        err.contains("refused the CONNECT tunnel") && err.contains("Proxy_Password"),
        "{err}"
    );
}
