//! `phone-agent dhcp` against a real dnsmasq on a veth pair between two network namespaces:
//! the option-order matrix (options offered → source chosen), WPAD's 252, and a renewal seen
//! in dnsmasq's log. Needs root (namespaces) and dnsmasq (Debian `dnsmasq-base`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod provision_common;

use provision_common::{Dnsmasq, NetnsPair, agent_in};
use serde_json::Value;

/// Runs `phone-agent dhcp --json` in the client namespace and returns the first lease.
fn lease(pair: &NetnsPair, extra: &[&str]) -> Value {
    let mut args = vec![
        "dhcp",
        "--iface",
        &pair.client_if,
        "--no-apply",
        "--json",
        "--timeout",
        "15",
    ];
    args.extend_from_slice(extra);
    let out = agent_in(&pair.client_ns, &args);
    assert!(
        out.status.success(),
        "phone-agent dhcp failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().next().unwrap_or("")).unwrap()
}

#[test]
fn option_order_matrix_against_dnsmasq() {
    let pair = NetnsPair::new("d");
    let dir = provision_common::temp_dir("dhcp");
    std::fs::write(
        dir.join("order.xml"),
        "<flat-profile><DHCP_Option_To_Use>150,160,66</DHCP_Option_To_Use></flat-profile>",
    )
    .unwrap();
    let order_cfg = dir.join("order.xml");
    let order_cfg = order_cfg.to_str().unwrap();
    // (options dnsmasq gives, extra agent arguments, option expected to win, its text)
    let rows: &[(&[&str], &[&str], u64, &str)] = &[
        (
            &[
                "66,tftp.example.com",
                "160,\"https://prov.example.com/p.xml\"",
                "159,\"10.77.0.9\"",
                "150,10.77.0.8",
            ],
            &[],
            66,
            "TFTP server tftp.example.com",
        ),
        (
            &[
                "160,\"https://prov.example.com/p.xml\"",
                "159,\"10.77.0.9\"",
                "150,10.77.0.8",
            ],
            &[],
            160,
            "provisioning URL https://prov.example.com/p.xml",
        ),
        (
            &["159,\"http://10.77.0.9;10.77.0.10/cfg\"", "150,10.77.0.8"],
            &[],
            159,
            "provisioning servers http://10.77.0.9;10.77.0.10/cfg",
        ),
        (
            &["150,10.77.0.8,10.77.0.7"],
            &[],
            150,
            "TFTP servers 10.77.0.8, 10.77.0.7",
        ),
        (
            &[
                "66,tftp.example.com",
                "160,\"https://prov.example.com/p.xml\"",
                "150,10.77.0.8",
            ],
            &["--config", order_cfg],
            150,
            "TFTP servers 10.77.0.8",
        ),
        // 160 present but not a URL: passed over (and said so), 150 wins.
        (
            &["160,\"not a url\"", "150,10.77.0.8"],
            &[],
            150,
            "TFTP servers 10.77.0.8",
        ),
    ];
    let mut report = Vec::new();
    for (options, extra, want, text) in rows {
        let dnsmasq = Dnsmasq::start(&pair, options, &["252,http://wpad.example.com/wpad.dat"]);
        let l = lease(&pair, extra);
        drop(dnsmasq);
        let p = &l["provisioning"];
        report.push(format!(
            "{options:?} {extra:?} -> option {} ({})",
            p["option"], p["text"]
        ));
        assert_eq!(p["option"].as_u64(), Some(*want), "{options:?}: {l}");
        assert_eq!(p["text"].as_str(), Some(*text), "{options:?}: {l}");
        assert_eq!(l["wpad"].as_str(), Some("http://wpad.example.com/wpad.dat"));
        assert!(l["address"].as_str().unwrap().starts_with(&pair.prefix));
    }
    // The row with a malformed 160 says why it was passed over.
    eprintln!("option-order matrix (dnsmasq):\n  {}", report.join("\n  "));
}

#[test]
fn renews_at_t1_seen_in_dnsmasq_log() {
    let pair = NetnsPair::new("r");
    let dnsmasq = Dnsmasq::start(&pair, &["option:T1,2", "option:T2,4", "66,tftp.example.com"], &[]);
    // Hold the lease 5 s: with T1 = 2 s the client renews (unicast, so the test, as the host,
    // configures the address the lease gives).
    let mut child = provision_common::agent_spawn_in(
        &pair.client_ns,
        &[
            "dhcp",
            "--iface",
            &pair.client_if,
            "--no-apply",
            "--json",
            "--hold",
            "5",
        ],
    );
    let mut stdout = provision_common::stdout_lines(&mut child);
    let first = provision_common::read_line(&mut stdout);
    let l: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(l["event"], "bound");
    assert!(l["t1"].as_u64().is_some_and(|t1| t1 < 5), "{l}");
    pair.add_address(l["address"].as_str().unwrap(), l["prefix_len"].as_u64().unwrap());
    let rest = provision_common::wait_output(child, stdout);
    assert!(rest.contains("\"event\":\"renewed\""), "no renewal: {rest}");
    // The RELEASE is the agent's last datagram: wait (bounded) until dnsmasq has logged it.
    provision_common::wait_for(
        "dnsmasq logging the RELEASE",
        std::time::Duration::from_secs(5),
        || dnsmasq.log().contains("DHCPRELEASE("),
    );
    let log = dnsmasq.log();
    let address = l["address"].as_str().unwrap();
    let acks = log
        .lines()
        .filter(|x| x.contains("DHCPACK(") && x.contains(address))
        .count();
    assert!(acks >= 2, "dnsmasq saw no renewal:\n{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|x| x.contains("DHCPREQUEST(") || x.contains("DHCPACK(") || x.contains("DHCPRELEASE("))
        .collect();
    eprintln!("dnsmasq log:\n  {}", lines.join("\n  "));
}
