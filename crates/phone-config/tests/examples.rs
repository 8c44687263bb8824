//! The example files in `examples/cfg/` give exactly the diagnostics `examples/README.md`
//! promises, each at its line and column.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use phone_config::{Diagnostic, Kind, Severity, parse};

fn example(name: &str) -> Vec<u8> {
    let path = format!("{}/../../examples/cfg/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every diagnostic as (severity, kind, parameter, line, column).
fn summary(diags: &[Diagnostic]) -> Vec<(Severity, Kind, String, u32, u32)> {
    diags
        .iter()
        .map(|d| {
            (
                d.severity,
                d.kind,
                d.parameter.clone().unwrap_or_default(),
                d.line().unwrap_or(0),
                d.column().unwrap_or(0),
            )
        })
        .collect()
}

fn row(s: Severity, k: Kind, p: &str, line: u32, col: u32) -> (Severity, Kind, String, u32, u32) {
    (s, k, p.to_owned(), line, col)
}

use Kind::*;
use Severity::{Error as E, Note as N, Warning as W};

#[test]
fn full_example_is_clean_and_sets_every_parameter() {
    let parsed = parse(&example("full.xml")).unwrap();
    assert_eq!(parsed.diagnostics, vec![]);
    assert!(parsed.settings.unknown.is_empty());
    // Every system parameter and every per-line parameter of line 1 comes from the file.
    let from_default: Vec<String> = parsed
        .settings
        .entries()
        .into_iter()
        .filter(|e| {
            e.name.ends_with("_1_") || !e.name.ends_with('_') || e.name == "Use_Auto_Discovery__WPAD_"
        })
        .filter(|e| e.origin == phone_config::Origin::Default)
        .map(|e| e.name)
        .collect();
    assert_eq!(from_default, Vec::<String>::new());
}

#[test]
fn guide_snippet_close_tag_mismatch() {
    let err = parse(&example("broken-close-tag.xml")).unwrap_err();
    let d = err.diagnostic();
    assert_eq!((d.kind, d.line(), d.column()), (Xml, Some(4), Some(21)));
    assert_eq!(
        d.message,
        "malformed XML: expected 'Auth_INVITE_1' tag, not 'Auth_INVITE_1_'"
    );
    assert!(
        d.hint.as_deref().unwrap().contains("write <Auth_INVITE_1_>"),
        "{d:?}"
    );
}

#[test]
fn guide_snippet_missing_space_before_ua() {
    let err = parse(&example("broken-ua-attribute.xml")).unwrap_err();
    let d = err.diagnostic();
    assert_eq!((d.kind, d.line(), d.column()), (Xml, Some(5), Some(26)));
    assert_eq!(
        d.hint.as_deref(),
        Some("a space is missing before the `ua` attribute: write <Name_1_ ua=\"na\">")
    );
}

#[test]
fn values_out_of_their_domain() {
    let parsed = parse(&example("bad-values.xml")).unwrap();
    assert_eq!(
        summary(&parsed.diagnostics),
        vec![
            row(E, Value, "SIP_Transport_1_", 4, 29),
            row(E, Value, "Proxy_Port", 5, 23),
            row(E, Value, "Firewall", 6, 21),
            row(W, Ldap, "LDAP_Server", 7, 24),
            row(E, Value, "LDAP_StartTLS_Enable", 8, 33),
            row(E, LineNumber, "Proxy_17_", 9, 3),
            row(E, Attribute, "Line_Enable_1_", 10, 3),
            row(W, UnknownParameter, "Firewal_Config", 11, 3),
            row(N, UnknownParameter, "Station_Name", 12, 3),
        ]
    );
    let hints: Vec<&str> = parsed
        .diagnostics
        .iter()
        .filter_map(|d| d.hint.as_deref())
        .collect();
    assert_eq!(hints[0], "expected one of UDP, TCP, TLS, AUTO");
    assert_eq!(hints[1], "expected a number from 1 to 65535");
    assert_eq!(hints[2], "expected Enabled or Disabled (case-insensitive)");
    assert!(
        hints[4].starts_with("expected Yes or No; the phone reads only the English words, so write `Yes`")
    );
    assert_eq!(hints[7], "did you mean `Firewall_Config`?");

    // Rejected values leave the phone's defaults in place, and say so.
    let s = &parsed.settings;
    assert_eq!(
        *s.line(1).unwrap().sip_transport.get(),
        phone_config::SipTransport::Udp
    );
    assert_eq!(s.http_proxy.proxy_port.get().get(), 3128);
    assert!(s.firewall.firewall.get().0);
    assert!(matches!(
        s.firewall.firewall.origin(),
        phone_config::Origin::Rejected { text, .. } if text == "On"
    ));
    // Unknown parameters and the out-of-range line are kept, not dropped.
    let unknown: Vec<&str> = s.unknown.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(unknown, ["Proxy_17_", "Firewal_Config", "Station_Name"]);
    assert_eq!(s.unknown[2].value, "Lobby phone");
}

#[test]
fn servers_outside_restricted_access_domains() {
    let parsed = parse(&example("restricted-domains.xml")).unwrap();
    assert_eq!(
        summary(&parsed.diagnostics),
        vec![
            row(E, RestrictedDomain, "Profile_Rule_B", 6, 35),
            row(E, RestrictedDomain, "Upgrade_Rule", 7, 32),
            row(W, RestrictedDomain, "Report_Rule", 8, 43),
            row(E, Rule, "Custom_CA_Rule", 9, 27),
            row(E, RestrictedDomain, "Outbound_Proxy_1_", 11, 30),
        ]
    );
    let msgs: Vec<&str> = parsed.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs[0],
        "`prov.evilvoiceip.com` is not inside Restricted_Access_Domains (voiceip.com, voiceipl.com)"
    );
    assert!(msgs[2].contains("`$SERVIP` is a macro"));
    assert_eq!(msgs[3], "the scheme `ftp` is not supported here");
}

#[test]
fn firewall_and_dhcp_grammar() {
    let parsed = parse(&example("firewall-dhcp.xml")).unwrap();
    assert_eq!(
        summary(&parsed.diagnostics),
        vec![
            row(E, Firewall, "Firewall_Config", 4, 45),
            row(E, Firewall, "Firewall_Config", 4, 59),
            row(E, Firewall, "Firewall_Config", 4, 61),
            row(W, DhcpOptions, "DHCP_Option_To_Use", 5, 38),
            row(E, DhcpOptions, "DHCP_Option_To_Use", 5, 41),
            row(E, DhcpOptions, "DHCP_Option_To_Use", 5, 45),
            row(E, DhcpOptions, "DHCPv6_Option_To_Use", 6, 40),
        ]
    );
    // The rejected firewall config leaves the default (no extra ports) in effect.
    assert_eq!(
        parsed.settings.firewall.firewall_config.get(),
        &phone_config::FirewallConfig::default()
    );
}

#[test]
fn ldap_and_http_proxy_consistency() {
    let parsed = parse(&example("ldap-proxy.xml")).unwrap();
    assert_eq!(
        summary(&parsed.diagnostics),
        vec![
            row(W, Ldap, "LDAP_StartTLS_Enable", 5, 33),
            row(E, HttpProxy, "PAC_URL", 7, 38),
            row(W, HttpProxy, "Proxy_Server_Requires_Authentication", 8, 49),
        ]
    );
}

#[test]
fn per_line_security_switched_off() {
    let parsed = parse(&example("lines.xml")).unwrap();
    assert_eq!(
        summary(&parsed.diagnostics),
        vec![
            row(W, TlsNameValidation, "TLS_Name_Validate_1_", 5, 33),
            row(W, MediaSec, "MediaSec_Over_TLS_Only_2_", 8, 38),
        ]
    );
}

#[test]
fn cipher_list_the_guide_uses_leaves_rustls_nothing() {
    let parsed = parse(&example("cipher-list.xml")).unwrap();
    assert_eq!(
        summary(&parsed.diagnostics),
        vec![row(W, CipherList, "TLS_Cipher_List", 5, 28)]
    );
    let d = &parsed.diagnostics[0];
    assert!(
        d.message.starts_with(
            "`RSA:!aNULL:!eNULL` selects 18 OpenSSL suites but none a rustls client can negotiate"
        ),
        "{d:?}"
    );
}

#[test]
fn cipher_list_words_openssl_ignores() {
    let parsed = parse(&example("cipher-list-ignored.xml")).unwrap();
    assert_eq!(
        summary(&parsed.diagnostics),
        vec![
            row(W, CipherList, "TLS_Cipher_List", 4, 41),
            row(W, CipherList, "TLS_Cipher_List", 4, 50),
            row(N, CipherList, "TLS_Cipher_List", 4, 58),
        ]
    );
    assert_eq!(
        parsed.diagnostics[0].message,
        "`3DES` names no suite in this build"
    );
    // A string OpenSSL refuses is an error at its byte.
    let parsed =
        parse(b"<flat-profile>\n<TLS_Cipher_List>HIGH:!</TLS_Cipher_List>\n</flat-profile>").unwrap();
    assert_eq!(
        summary(&parsed.diagnostics),
        vec![row(E, CipherList, "TLS_Cipher_List", 2, 24)]
    );
}

/// The resync schedule's settings: delay lists, 20-second units, `HHmm`, each refused with a
/// diagnostic that says what is expected.
#[test]
fn resync_schedule_settings_and_their_diagnostics() {
    let ok = parse(
        b"<flat-profile><Resync_Periodic>3600+600</Resync_Periodic>\
          <Resync_Error_Retry_Delay>30, 60,120</Resync_Error_Retry_Delay>\
          <Resync_Random_Delay>0</Resync_Random_Delay><Resync_At__HHmm_>2359</Resync_At__HHmm_>\
          <Resync_Fails_On_FNF>No</Resync_Fails_On_FNF></flat-profile>",
    )
    .unwrap();
    assert_eq!(ok.diagnostics, vec![]);
    let p = &ok.settings.provisioning;
    assert_eq!(p.resync_periodic.get().steps(), [(3600, 600)]);
    assert_eq!(
        p.resync_error_retry_delay.get().steps(),
        [(30, 0), (60, 0), (120, 0)]
    );
    assert_eq!(p.resync_random_delay.get().seconds(), 0);
    assert_eq!(p.resync_at_hhmm.get().map(|t| t.seconds_of_day()), Some(86340));
    assert!(!p.resync_fails_on_fnf.get().0);
    let defaults = parse(b"<flat-profile/>").unwrap();
    let d = &defaults.settings.provisioning;
    assert_eq!(d.resync_periodic.get().to_string(), "3600");
    assert_eq!(d.resync_random_delay.get().seconds(), 40);
    assert_eq!(
        d.resync_error_retry_delay.get().to_string(),
        "60,120,240,480,960,1920,3840,7680,15360,30720,61440,86400"
    );
    let bad = parse(
        b"<flat-profile>\n<Resync_Periodic>1h</Resync_Periodic>\n\
          <Resync_Error_Retry_Delay>60,,120</Resync_Error_Retry_Delay>\n\
          <Resync_At__HHmm_>2460</Resync_At__HHmm_>\n<Resync_Random_Delay>-1</Resync_Random_Delay>\n\
          <Resync_At_Random_Delay>99999999999</Resync_At_Random_Delay>\n</flat-profile>",
    )
    .unwrap();
    let found: Vec<(Option<&str>, &str)> = bad
        .diagnostics
        .iter()
        .map(|d| (d.parameter.as_deref(), d.message.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (Some("Resync_Periodic"), "`1h` is not a delay"),
            (Some("Resync_Error_Retry_Delay"), "`` is not a delay"),
            (Some("Resync_At__HHmm_"), "`2460` is not a time of day"),
            (Some("Resync_Random_Delay"), "`-1` is not a Resync_Random_Delay"),
            (
                Some("Resync_At_Random_Delay"),
                "`99999999999` is not a number of seconds"
            ),
        ]
    );
    assert!(bad.diagnostics.iter().all(|d| d.severity == E && d.kind == Value));
    // A rejected value reads as its default.
    assert_eq!(
        bad.settings.provisioning.resync_periodic.get().to_string(),
        "3600"
    );
}
