//! PAC download over TFTP from a real tftpd-hpa (`in.tftpd -L`, Debian `tftpd-hpa`; `.ci/run`
//! installs it): a multi-block file, a missing file (the server's error 1 as the agent's
//! error), a file over the 1 MiB PAC cap (the agent ends the transfer), and a file that is
//! not a PAC. The PAC-through-squid case with the proxy killed is in `proxy_squid.rs`.
//! `phone-agent fetch` of a tftp:// URL with a manual squid proxy: TFTP, direct.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod proxy_common;

use proxy_common::*;

#[test]
fn pac_file_over_tftp_and_its_failures() {
    let pac = format!(
        "function FindProxyForURL(url, host) {{ return 'PROXY tftp-proxy.example:3128; DIRECT'; }}\n// {}\n",
        "p".repeat(100_000)
    );
    let huge = vec![b'/'; (1 << 20) + 1];
    let tftpd = Tftpd::start(&[
        ("proxy.pac", pac.as_bytes()),
        ("huge.pac", &huge),
        ("notes.txt", b"hello"),
    ]);
    let dir = temp_dir("cfg");
    let url = |name: &str| format!("tftp://127.0.0.1:{}/{name}", tftpd.port);
    let proxy_for = |name: &str| {
        let config = cfg_named(
            &dir,
            &format!("{name}.xml"),
            &format!(
                "<Proxy_Mode>Auto</Proxy_Mode>\n<Use_Auto_Discovery__WPAD_>No</Use_Auto_Discovery__WPAD_>\n\
                 <PAC_URL>{}</PAC_URL>",
                url(name)
            ),
        );
        agent(&[
            "proxy-for",
            "--config",
            config.to_str().unwrap(),
            "http://www.example.com/",
        ])
    };
    let out = ok(&proxy_for("proxy.pac"));
    assert!(
        out.starts_with("PROXY tftp-proxy.example:3128; DIRECT\n")
            && out.contains(&format!("from PAC {}", url("proxy.pac")))
            && out.contains("1. PROXY tftp-proxy.example:3128"),
        "{out}"
    );
    let err = failed(&proxy_for("missing.pac"));
    assert!(
        err.contains("TFTP server answered error 1 (file not found)"),
        "{err}"
    );
    let err = failed(&proxy_for("huge.pac"));
    assert!(err.contains("larger than 1048576 bytes"), "{err}");
    let err = failed(&proxy_for("notes.txt"));
    assert!(err.contains("not a PAC script"), "{err}");
    // tftpd is still serving after the transfer the agent cut short.
    ok(&proxy_for("proxy.pac"));
}

/// An HTTP proxy carries http and https only: with a Manual proxy (a real squid) configured,
/// `fetch tftp://` reads the file over TFTP directly, while an http:// URL in the same run
/// still goes through squid. (It failed before with "URL scheme is not allowed": the tftp://
/// URL was handed to the HTTP proxy path.)
#[test]
fn fetch_of_a_tftp_url_goes_direct_past_a_manual_proxy() {
    let tftpd = Tftpd::start(&[("7832.xml", b"<flat-profile/>\n")]);
    let squid = Squid::start(None, &[]);
    let dir = temp_dir("fetch-tftp");
    let config = manual_cfg(&dir, squid.port, None);
    let url = format!("tftp://127.0.0.1:{}/7832.xml", tftpd.port);
    let out = fetch(&config, &url, &["--proxy-loopback"]);
    assert_eq!(ok(&out), "<flat-profile/>\n");
    let err = text(&out.stderr);
    assert!(err.contains("TFTP, 16 bytes via DIRECT"), "{err}");
    let origin = origin("hello".into());
    let http = format!("http://127.0.0.1:{origin}/x");
    let out = fetch(&config, &http, &["--proxy-loopback"]);
    ok(&out);
    let err = text(&out.stderr);
    assert!(
        err.contains(&format!("via PROXY 127.0.0.1:{}", squid.port)),
        "{err}"
    );
    let log = squid.access_log_with(&http);
    assert!(log.contains(&http) && !log.contains("tftp"), "{log}");
}
