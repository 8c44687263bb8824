//! Properties that hold for every input.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use phone_config::{Origin, Settings, parse};
use proptest::prelude::*;

/// Fragments real files are made of, so that random inputs reach past the XML parser.
const FRAGMENTS: &[&str] = &[
    "<flat-profile>",
    "</flat-profile>",
    "<Firewall_Config ua=\"na\">",
    "</Firewall_Config>",
    "<Proxy_1_>",
    "</Proxy_1_>",
    "<Profile_Rule>",
    "</Profile_Rule>",
    "<Restricted_Access_Domains>",
    "</Restricted_Access_Domains>",
    "<DHCP_Option_To_Use>",
    "</DHCP_Option_To_Use>",
    "<LDAP_Server>",
    "</LDAP_Server>",
    "<PAC_URL>",
    "</PAC_URL>",
    "<SIP_Transport_3_ ua=\"rw\">",
    "</SIP_Transport_3_>",
    "UDP:",
    "TCP:1:",
    "NO_ICMP_PING,",
    "https://",
    "[--key $B] ",
    "ldaps://",
    "[::1]",
    ":65535",
    "voiceip.com, ",
    "66,160,",
    "예",
    "&amp;",
    "<![CDATA[x]]>",
    "<!-- c -->",
    "(",
    ")?",
    "$MA",
    " ",
    "\n",
];

fn xmlish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            1 => "\\PC{0,8}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Any bytes: Ok with diagnostics, or Err with one diagnostic; never a panic.
    #[test]
    fn any_bytes_parse_or_diagnose(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match parse(&bytes) {
            Ok(parsed) => { let _ = parsed.settings.entries(); }
            Err(e) => prop_assert!(!e.diagnostic().message.is_empty()),
        }
    }

    /// Inputs made of cfg.xml fragments: never a panic, every diagnostic of a parsed file
    /// has a location inside the file, and every rejected value kept its text.
    #[test]
    fn fragments_parse_or_diagnose(text in xmlish()) {
        let lines = u32::try_from(text.lines().count().max(1)).unwrap();
        match parse(text.as_bytes()) {
            Ok(parsed) => {
                for d in &parsed.diagnostics {
                    if let Some(l) = d.location {
                        prop_assert!(l.line >= 1 && l.line <= lines + 1, "{d:?}");
                    }
                }
                for e in parsed.settings.entries() {
                    if let Origin::Rejected { text: t, .. } = &e.origin {
                        prop_assert!(parsed.diagnostics.iter().any(|d| d.parameter.as_deref() == Some(e.name.as_str())), "{t}");
                    }
                }
            }
            Err(e) => prop_assert!(e.diagnostic().location.is_some()),
        }
    }
}

/// Every default is inside its own domain: writing the defaults out as a file and reading
/// it back gives no diagnostic other than notes, and the same values.
#[test]
fn defaults_round_trip() {
    let defaults = Settings::default().entries();
    let mut xml = String::from("<flat-profile>\n");
    for e in &defaults {
        let value = e.value.replace('&', "&amp;").replace('<', "&lt;");
        xml.push_str(&format!("<{0} ua=\"na\">{value}</{0}>\n", e.name));
    }
    xml.push_str("</flat-profile>\n");
    let parsed = parse(xml.as_bytes()).unwrap();
    let serious: Vec<_> = parsed
        .diagnostics
        .iter()
        .filter(|d| d.severity > phone_config::Severity::Note)
        .collect();
    assert!(serious.is_empty(), "{serious:#?}");
    let again = parsed.settings.entries();
    assert_eq!(again.len(), defaults.len());
    for (a, b) in again.iter().zip(&defaults) {
        assert_eq!((&a.name, &a.value), (&b.name, &b.value));
        assert!(matches!(a.origin, Origin::File(_)), "{}", a.name);
    }
    assert_eq!(defaults.len(), 79 + 16 * 11);
}

#[test]
fn secrets_never_reach_output() {
    let xml = br#"<flat-profile>
        <Proxy_Password>pr0xy-secret</Proxy_Password>
        <VPN_Password>vpn-secret</VPN_Password>
        <LDAP_Password>ldap-secret</LDAP_Password>
        <Password_4_>line-secret</Password_4_>
    </flat-profile>"#;
    let parsed = parse(xml).unwrap();
    let shown = format!("{:?} {:?}", parsed.settings.entries(), parsed.settings);
    for secret in ["pr0xy-secret", "vpn-secret", "ldap-secret", "line-secret"] {
        assert!(!shown.contains(secret), "{secret} leaked");
    }
    assert_eq!(
        parsed.settings.line(4).unwrap().password.get().expose(),
        "line-secret"
    );
    assert_eq!(parsed.settings.vpn.vpn_password.get().to_string(), "<redacted>");
}

#[test]
fn duplicates_and_entities() {
    let xml =
        b"<flat-profile>\n<Proxy_Host>a.example.com</Proxy_Host>\n<Proxy_Host>b.example.com</Proxy_Host>\n\
        <Log_Failure_Msg>fail &amp; $ERR</Log_Failure_Msg>\n</flat-profile>";
    let parsed = parse(xml).unwrap();
    assert_eq!(parsed.diagnostics.len(), 1);
    let d = &parsed.diagnostics[0];
    assert_eq!((d.kind, d.line()), (phone_config::Kind::Duplicate, Some(3)));
    assert_eq!(
        parsed
            .settings
            .http_proxy
            .proxy_host
            .get()
            .as_ref()
            .unwrap()
            .to_string(),
        "b.example.com"
    );
    assert_eq!(parsed.settings.provisioning.log_failure_msg.get(), "fail & $ERR");
}

#[test]
fn not_utf8_and_dtd_are_refused_with_a_position() {
    let err = parse(b"<flat-profile>\n<Proxy_Host>caf\xe9</Proxy_Host>").unwrap_err();
    assert_eq!(
        err.diagnostic().location.map(|l| (l.line, l.column)),
        Some((2, 16))
    );
    let err = parse(b"<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>").unwrap_err();
    assert!(err.diagnostic().hint.as_deref().unwrap().contains("DOCTYPE"));
    let err = parse(b"").unwrap_err();
    assert_eq!(err.diagnostic().kind, phone_config::Kind::Xml);
}

/// A provisioning server can send any profile: 30,000 nested elements used to overflow the
/// XML parser's stack and abort the agent (signal 6). Now a typed error at the first element
/// past the limit, and a document exactly at the limit still parses.
#[test]
fn deep_nesting_is_refused_before_the_parser_recurses() {
    for n in [phone_config::MAX_DEPTH, 30_000, 1_000_000] {
        let text = format!(
            "<flat-profile>\n{}{}</flat-profile>",
            "<a>".repeat(n),
            "</a>".repeat(n)
        );
        let err = parse(text.as_bytes()).unwrap_err();
        let d = err.diagnostic();
        assert_eq!(d.kind, phone_config::Kind::Xml);
        assert!(d.message.contains("nested more than 64 levels"), "{}", d.message);
        let col = 1 + 3 * (phone_config::MAX_DEPTH - 1);
        assert_eq!(d.location.map(|l| (l.line, l.column)), Some((2, col as u32)));
    }
    let ok = format!(
        "<flat-profile>{}1{}</flat-profile>",
        "<a>".repeat(phone_config::MAX_DEPTH - 1),
        "</a>".repeat(phone_config::MAX_DEPTH - 1)
    );
    assert!(parse(ok.as_bytes()).is_ok());
}
