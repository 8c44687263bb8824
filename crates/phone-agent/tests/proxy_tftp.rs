//! PAC download over TFTP from a real tftpd-hpa (`in.tftpd -L`, Debian `tftpd-hpa`; `.ci/run`
//! installs it): a multi-block file, a missing file (the server's error 1 as the agent's
//! error), a file over the 1 MiB PAC cap (the agent ends the transfer), and a file that is
//! not a PAC. The PAC-through-squid case with the proxy killed is in `proxy_squid.rs`.
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
