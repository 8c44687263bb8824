//! `phone-agent fetch` through a real squid on loopback (Debian `squid`, `apache2-utils` for
//! htpasswd; `.ci/run` installs both): Manual mode with and without Basic authentication,
//! a wrong password, the loopback bypass, and Auto mode with a PAC whose first proxy is down,
//! then with squid killed mid-test (fallback to DIRECT). Each test starts its own squid on a
//! free port with a configuration in a temporary directory and kills it afterwards.
//!
//! FIXME: the agent's client (ureq) tunnels plain HTTP with CONNECT, so these squids allow
//! CONNECT to any port; the access-log check below records which request form reached squid.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn temp_dir(tag: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("phone-agent-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // squid started as root drops to its own user: let it write its logs here.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    dir
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn find_program(name: &str) -> PathBuf {
    for dir in [
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
        "/usr/local/sbin",
        "/usr/local/bin",
    ] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{name}` not found: install Debian packages squid and apache2-utils (.ci/run does)");
}

struct Squid {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Squid {
    fn start(auth: Option<(&str, &str)>) -> Squid {
        let squid = find_program("squid");
        let dir = temp_dir("squid");
        let port = free_port();
        let mut conf = format!(
            "http_port 127.0.0.1:{port}\n\
             visible_hostname paclab-squid\n\
             pid_filename {d}/squid.pid\n\
             cache_log {d}/cache.log\n\
             access_log stdio:{d}/access.log\n\
             cache deny all\n\
             cache_mem 8 MB\n\
             coredump_dir {d}\n\
             shutdown_lifetime 1 seconds\n\
             acl CONNECT method CONNECT\n",
            d = dir.display()
        );
        if let Some((user, password)) = auth {
            let passwd = dir.join("passwd");
            let status = Command::new(find_program("htpasswd"))
                .args(["-bc"])
                .arg(&passwd)
                .args([user, password])
                .stderr(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "htpasswd failed");
            conf.push_str(&format!(
                "auth_param basic program /usr/lib/squid/basic_ncsa_auth {}\n\
                 auth_param basic realm paclab\n\
                 acl authed proxy_auth REQUIRED\n\
                 http_access allow localhost authed\n",
                passwd.display()
            ));
        } else {
            conf.push_str("http_access allow localhost\n");
        }
        conf.push_str("http_access deny all\n");
        let conf_path = dir.join("squid.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new(squid)
            .arg("-N")
            .arg("-f")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(dir.join("cache.log")).unwrap_or_default();
                panic!("squid exited ({status}) before listening:\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "squid did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Squid { child, port, dir }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Squid {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A loopback HTTP origin: `/proxy.pac` serves `pac`; anything else answers with the `Via`
/// header it received, so a test can tell whether the request came through squid.
fn origin(pac: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let pac = pac.clone();
            std::thread::spawn(move || serve(stream, &pac));
        }
    });
    port
}

fn serve(mut stream: TcpStream, pac: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut via = String::from("none");
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("via") {
                via = v.trim().to_owned();
            }
        }
    }
    let (content_type, body) = if request_line.contains("/proxy.pac") {
        ("application/x-ns-proxy-autoconfig", pac.to_owned())
    } else {
        ("text/plain", format!("origin saw via: {via}\n"))
    };
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

fn cfg(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("cfg.xml");
    std::fs::write(&path, format!("<flat-profile>\n{body}\n</flat-profile>\n")).unwrap();
    path
}

fn manual_cfg(dir: &Path, port: u16, auth: Option<(&str, &str)>) -> PathBuf {
    let auth = match auth {
        Some((u, p)) => format!(
            "<Proxy_Server_Requires_Authentication>Yes</Proxy_Server_Requires_Authentication>\n\
             <Proxy_Username>{u}</Proxy_Username>\n<Proxy_Password>{p}</Proxy_Password>"
        ),
        None => String::new(),
    };
    cfg(
        dir,
        &format!(
            "<Proxy_Mode>Manual</Proxy_Mode>\n<Proxy_Host>127.0.0.1</Proxy_Host>\n<Proxy_Port>{port}</Proxy_Port>\n{auth}"
        ),
    )
}

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_phone-agent"))
        .args(args)
        .output()
        .unwrap()
}

fn fetch(config: &Path, url: &str, extra: &[&str]) -> Output {
    let mut args = vec!["fetch", "--config", config.to_str().unwrap()];
    args.extend_from_slice(extra);
    args.push(url);
    agent(&args)
}

/// squid writes an access-log entry when it sees the transaction end, which can be after the
/// client process has exited: wait (bounded) for the entry instead of reading once.
fn access_log_with(squid: &Squid, needle: &str) -> String {
    let started = Instant::now();
    loop {
        let log = std::fs::read_to_string(squid.dir.join("access.log")).unwrap_or_default();
        if log.contains(needle) || started.elapsed() > Duration::from_secs(10) {
            return log;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn manual_proxy_without_authentication() {
    let squid = Squid::start(None);
    let origin = origin(String::new());
    let dir = temp_dir("cfg");
    let config = manual_cfg(&dir, squid.port, None);
    let url = format!("http://127.0.0.1:{origin}/hello");
    let out = fetch(&config, &url, &["--proxy-loopback"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A tunnel adds no Via header: squid's access log tells (see the FIXME above).
    assert_eq!(text(&out.stdout), "origin saw via: none\n");
    let needle = format!("CONNECT 127.0.0.1:{origin}");
    let log = access_log_with(&squid, &needle);
    assert!(log.contains(&needle), "{log}");
    // Loopback bypasses the proxy unless told otherwise (Chromium's rule).
    let out = fetch(&config, &url, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "origin saw via: none\n");
    std::thread::sleep(Duration::from_millis(300));
    let again = std::fs::read_to_string(squid.dir.join("access.log")).unwrap_or_default();
    assert_eq!(again, log, "the loopback request went through squid");
}

#[test]
fn manual_proxy_with_basic_authentication() {
    let squid = Squid::start(Some(("phone", "s3cret")));
    let origin = origin(String::new());
    let dir = temp_dir("cfg");
    let url = format!("http://127.0.0.1:{origin}/auth");
    let good = manual_cfg(&dir, squid.port, Some(("phone", "s3cret")));
    let out = fetch(&good, &url, &["--proxy-loopback"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let needle = format!("CONNECT 127.0.0.1:{origin} phone ");
    let log = access_log_with(&squid, &needle);
    assert!(log.contains(&needle), "not through squid as phone: {log}");

    let wrong = manual_cfg(&dir, squid.port, Some(("phone", "wrong")));
    let out = fetch(&wrong, &url, &["--proxy-loopback"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(err.contains("407") && err.contains("Proxy_Password"), "{err}");

    let none = manual_cfg(&dir, squid.port, None);
    let out = fetch(&none, &url, &["--proxy-loopback"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("407"), "{}", text(&out.stderr));
}

#[test]
fn pac_list_falls_back_past_dead_proxies_and_to_direct_when_squid_dies() {
    let mut squid = Squid::start(None);
    let dead = free_port();
    let pac = format!(
        "function FindProxyForURL(url, host) {{ return 'PROXY 127.0.0.1:{dead}; PROXY 127.0.0.1:{}; DIRECT'; }}",
        squid.port
    );
    let origin = origin(pac);
    let dir = temp_dir("cfg");
    let config = cfg(
        &dir,
        &format!(
            "<Proxy_Mode>Auto</Proxy_Mode>\n<Use_Auto_Discovery__WPAD_>No</Use_Auto_Discovery__WPAD_>\n\
             <PAC_URL>http://127.0.0.1:{origin}/proxy.pac</PAC_URL>"
        ),
    );
    let url = format!("http://127.0.0.1:{origin}/data");
    let out = fetch(&config, &url, &["--proxy-loopback", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["via"], format!("PROXY 127.0.0.1:{}", squid.port));
    assert_eq!(doc["attempts"][0]["via"], format!("PROXY 127.0.0.1:{dead}"));

    // The proxy-for view of the same configuration.
    let out = agent(&[
        "proxy-for",
        "--config",
        config.to_str().unwrap(),
        "--proxy-loopback",
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains(&format!("2. PROXY 127.0.0.1:{}", squid.port)),
        "{}",
        text(&out.stdout)
    );

    // squid goes away: the list ends in DIRECT.
    squid.kill();
    let out = fetch(&config, &url, &["--proxy-loopback"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "origin saw via: none\n");
}
