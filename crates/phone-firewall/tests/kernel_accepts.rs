//! Property: any settings the linter accepts render a ruleset the kernel accepts, and the kernel
//! lists it back exactly as `Ruleset::listing` says (which is what `phone-agent firewall check`
//! relies on). Checked against real nft in a scratch network namespace for a sample of cases.
//!
//! Needs root, `ip` and `nft` (Debian `nftables`; `.ci/run` installs it).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // tests: a panic is the failure report

use std::io::Write;
use std::process::{Command, Stdio};

use phone_firewall::{Inputs, Ruleset, Tr069Port};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

fn nft(ns: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns, "nft"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e} (install the Debian package nftables)"))?;
    let mut input = child.stdin.take().ok_or("stdin")?;
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    }
    drop(input);
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn port_entry() -> impl Strategy<Value = String> {
    prop_oneof![
        (1u16..=65535).prop_map(|p| p.to_string()),
        (1u16..=65535, 1u16..=65535).prop_map(|(a, b)| format!("{}:{}", a.min(b), a.max(b))),
    ]
}

/// A `Firewall_Config` the linter accepts: flags, at most five UDP and five TCP entries.
fn firewall_config() -> impl Strategy<Value = String> {
    (
        any::<[bool; 3]>(),
        prop::collection::vec(port_entry(), 0..=5),
        prop::collection::vec(port_entry(), 0..=5),
    )
        .prop_flat_map(|(flags, udp, tcp)| {
            let mut entries: Vec<String> = ["NO_ICMP_PING", "NO_ICMP_UNREACHABLE", "NO_CISCO_TFTP"]
                .iter()
                .zip(flags)
                .filter(|(_, on)| *on)
                .map(|(k, _)| (*k).to_owned())
                .collect();
            entries.extend(udp.into_iter().map(|p| format!("UDP:{p}")));
            entries.extend(tcp.into_iter().map(|p| format!("TCP:{p}")));
            Just(entries).prop_shuffle().prop_map(|e| e.join(","))
        })
}

/// The other settings the ruleset depends on.
fn cfg_xml() -> impl Strategy<Value = (String, u16)> {
    (
        firewall_config(),
        (1u16..=65535, 0u16..=2000),
        prop::collection::vec((any::<bool>(), 0usize..4, 1u16..=65535), 16),
        any::<[bool; 4]>(),
        1u16..=65535,
        8000u16..=9999,
    )
        .prop_map(|(fw, (rtp_min, rtp_len), lines, [upgrade, pfs, tr069, web], web_port, tr_port)| {
            let mut xml = format!(
                "<flat-profile><Firewall_Config>{fw}</Firewall_Config><RTP_Port_Min>{rtp_min}</RTP_Port_Min>\
                 <RTP_Port_Max>{}</RTP_Port_Max><Upgrade_Enable>{}</Upgrade_Enable>\
                 <Peer_Firmware_Sharing>{}</Peer_Firmware_Sharing><Enable_TR-069>{}</Enable_TR-069>\
                 <Enable_Web_Server>{}</Enable_Web_Server><Web_Server_Port>{web_port}</Web_Server_Port>",
                rtp_min.saturating_add(rtp_len),
                yes(upgrade),
                yes(pfs),
                yes(tr069),
                yes(web)
            );
            for (n, (on, transport, port)) in lines.into_iter().enumerate() {
                let n = n + 1;
                let t = ["UDP", "TCP", "TLS", "AUTO"][transport];
                xml.push_str(&format!(
                    "<Line_Enable_{n}_>{}</Line_Enable_{n}_><SIP_Transport_{n}_>{t}</SIP_Transport_{n}_>\
                     <SIP_Port_{n}_>{port}</SIP_Port_{n}_>",
                    yes(on)
                ));
            }
            xml.push_str("</flat-profile>");
            (xml, tr_port)
        })
}

fn yes(b: bool) -> &'static str {
    if b { "Yes" } else { "No" }
}

#[test]
fn every_accepted_config_renders_a_ruleset_the_kernel_accepts_and_lists_back_unchanged() {
    let ns = Netns(format!("fwprop{}", std::process::id()));
    let _ = Command::new("ip").args(["netns", "del", &ns.0]).output();
    let out = Command::new("ip")
        .args(["netns", "add", &ns.0])
        .output()
        .expect("ip netns add");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let applied = std::cell::Cell::new(0usize);
    runner
        .run(&cfg_xml(), |(xml, tr_port)| {
            let parsed =
                phone_config::parse(xml.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let errors: Vec<String> = parsed
                .diagnostics
                .iter()
                .filter(|d| d.severity == phone_config::Severity::Error)
                .map(|d| d.to_string())
                .collect();
            prop_assert!(
                errors.is_empty(),
                "the linter refused a generated config: {errors:?}\n{xml}"
            );
            let inputs = Inputs::from_settings(&parsed.settings, Tr069Port::new(tr_port))
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let ruleset = Ruleset::new(&inputs).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(ruleset.is_enabled());
            nft(&ns.0, &["-f", "-"], Some(&ruleset.script())).map_err(|e| {
                TestCaseError::fail(format!("the kernel refused:\n{e}\n{}", ruleset.script()))
            })?;
            let kernel =
                nft(&ns.0, &["list", "table", "inet", "phone_fw"], None).map_err(TestCaseError::fail)?;
            prop_assert_eq!(
                ruleset.compare(Some(&kernel)),
                vec![],
                "kernel listing:\n{}",
                kernel
            );
            applied.set(applied.get() + 1);
            Ok(())
        })
        .unwrap();
    println!(
        "{} generated configs applied and listed back unchanged",
        applied.get()
    );
}
