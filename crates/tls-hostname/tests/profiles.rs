//! Profile decisions on real certificates: rcgen-made ones, and openssl-made files in
//! `tests/data/` for what rcgen cannot express (several CNs, v1).

// Helpers outside #[test] fns: a failed setup step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rcgen::{CertificateParams, DnType, KeyPair, SanType};
use tls_hostname::{
    CertificateNames, CertificateVersion, PresentedName, Profile, ReferenceName, SanExtension,
};

/// A self-signed certificate with these SANs (IP if it parses as one, else DNS) and CN.
fn names(sans: &[&str], cn: Option<&str>) -> CertificateNames {
    let mut params = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name = rcgen::DistinguishedName::new();
    if let Some(cn) = cn {
        params.distinguished_name.push(DnType::CommonName, cn);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    CertificateNames::from_der(cert.der()).unwrap()
}

fn check(profile: Profile, names: &CertificateNames, host: &str) -> Option<PresentedName> {
    let reference = ReferenceName::parse(host).unwrap();
    profile
        .check(names, &reference)
        .ok()
        .map(|m| m.presented().clone())
}

fn accepts(profile: Profile, names: &CertificateNames, host: &str) -> bool {
    check(profile, names, host).is_some()
}

use Profile::{Phone, Provisioning, Strict};

#[test]
fn seed_cn_examples_match_only_under_provisioning_when_slashed() {
    // SPEC §6: the phone accepts all three.
    let plain = names(&[], Some("sprov.callme.com"));
    let mailto = names(&[], Some("pv.telco.net/mailto:admin@telco.net"));
    let bare_mail = names(&[], Some("prof.voice.com/info@voice.com"));

    assert!(!accepts(Strict, &plain, "sprov.callme.com"));
    assert!(accepts(Phone, &plain, "sprov.callme.com"));
    assert!(accepts(Provisioning, &plain, "sprov.callme.com"));

    for (n, host) in [(&mailto, "pv.telco.net"), (&bare_mail, "prof.voice.com")] {
        assert!(!accepts(Strict, n, host));
        assert!(!accepts(Phone, n, host));
        let m = check(Provisioning, n, host).unwrap();
        assert!(
            matches!(&m, PresentedName::ProvisioningCommonName { host: h, .. } if h == host),
            "{m:?}"
        );
        // Only the part before '/' is the host.
        assert!(!accepts(Provisioning, n, "telco.net"));
        assert!(!accepts(Provisioning, n, "voice.com"));
    }
}

#[test]
fn san_wins_over_cn_under_phone() {
    let n = names(&["www.example.com"], Some("legacy.example.com"));
    assert!(accepts(Phone, &n, "www.example.com"));
    assert!(!accepts(Phone, &n, "legacy.example.com"));
    assert!(!accepts(Provisioning, &n, "legacy.example.com"));
}

#[test]
fn openssl_rule_cn_consulted_when_no_san_of_the_reference_type() {
    // Only an IP SAN: OpenSSL consults the CN for a DNS reference (curl would not).
    let n = names(&["192.0.2.1"], Some("host.example.com"));
    assert_eq!(
        check(Phone, &n, "host.example.com"),
        Some(PresentedName::CommonName("host.example.com".into()))
    );
    assert!(!accepts(Strict, &n, "host.example.com"));
    assert!(accepts(Strict, &n, "192.0.2.1"));
}

#[test]
fn every_cn_is_tried_under_phone() {
    let der = include_bytes!("data/multi-cn-ip-san.der");
    let n = CertificateNames::from_der(der).unwrap();
    assert_eq!(n.common_names(), ["first.example.com", "second.example.com"]);
    assert_eq!(n.rfc822_names(), ["admin@example.com"]);
    assert!(accepts(Phone, &n, "first.example.com"));
    assert!(accepts(Phone, &n, "second.example.com"));
    assert!(!accepts(Strict, &n, "second.example.com"));
    // The e-mail SAN never identifies a server.
    assert!(!accepts(Phone, &n, "example.com"));
}

#[test]
fn ip_references() {
    let n = names(&["2001:db8::1", "192.0.2.1"], None);
    for host in [
        "2001:DB8::1",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "[2001:db8::1]",
        "192.0.2.1",
    ] {
        for p in Profile::ALL {
            assert!(accepts(p, &n, host), "{p} {host}");
        }
    }
    assert!(!accepts(Strict, &n, "192.0.2.2"));
    // A dNSName holding an address is not an iPAddress.
    let n = names(&["example.com"], None);
    let dns_ip = {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names = vec![SanType::DnsName("192.0.2.9".try_into().unwrap())];
        let key = KeyPair::generate().unwrap();
        CertificateNames::from_der(params.self_signed(&key).unwrap().der()).unwrap()
    };
    assert!(!accepts(Phone, &dns_ip, "192.0.2.9"));
    assert!(!accepts(Strict, &n, "192.0.2.9"));
    // CN fallback for an IP: value comparison, only without IP SANs.
    let cn_ip = names(&["example.com"], Some("192.0.2.9"));
    assert!(!accepts(Strict, &cn_ip, "192.0.2.9"));
    assert!(accepts(Phone, &cn_ip, "192.0.2.9"));
    let cn_ip_zero = names(&[], Some("192.000.002.009"));
    assert!(!accepts(Phone, &cn_ip_zero, "192.0.2.9"));
}

#[test]
fn wildcards_in_cn_follow_the_san_rules() {
    let n = names(&[], Some("*.example.com"));
    assert!(accepts(Phone, &n, "a.example.com"));
    assert!(!accepts(Phone, &n, "a.b.example.com"));
    let n = names(&[], Some("*.co.uk"));
    assert!(!accepts(Phone, &n, "example.co.uk"));
    let n = names(&[], Some("*.telco.net/admin"));
    assert!(accepts(Provisioning, &n, "pv.telco.net"));
}

#[test]
fn underscore_only_outside_strict() {
    let n = names(&["foo_bar.example.com"], None);
    assert!(!accepts(Strict, &n, "foo_bar.example.com"));
    assert!(accepts(Phone, &n, "foo_bar.example.com"));
}

#[test]
fn unicode_reference_matches_a_label_san() {
    let n = names(&["xn--bcher-kva.example"], None);
    assert!(accepts(Strict, &n, "bücher.example"));
    assert!(accepts(Strict, &n, "BÜCHER.example."));
}

#[test]
fn mismatch_error_lists_what_the_certificate_had() {
    let n = names(&["a.example.com", "192.0.2.1"], Some("legacy.example.com"));
    let r = ReferenceName::parse("b.example.com").unwrap();
    let e = Strict.check(&n, &r).unwrap_err();
    assert_eq!(
        e.presented(),
        ["DNS:a.example.com", "IP:192.0.2.1", "CN=legacy.example.com"]
    );
    let text = e.to_string();
    assert!(
        text.contains("not valid for b.example.com under the strict profile"),
        "{text}"
    );
    assert!(text.contains("DNS:a.example.com"), "{text}");
    assert!(text.contains("CN not consulted"), "{text}");
}

#[test]
fn reads_v1_certificates() {
    let der = include_bytes!("data/v1-cn-sprov.der");
    let n = CertificateNames::from_der(der).unwrap();
    assert_eq!(n.version(), CertificateVersion::V1);
    assert_eq!(n.san_extension(), SanExtension::Absent);
    assert_eq!(n.common_names(), ["sprov.callme.com"]);
    assert!(accepts(Phone, &n, "sprov.callme.com"));
    assert!(!accepts(Strict, &n, "sprov.callme.com"));
}

#[test]
fn garbage_is_a_typed_error() {
    for bytes in [&b""[..], b"\x30", b"\x30\x03\x02\x01\x00", b"not a certificate"] {
        assert!(CertificateNames::from_der(bytes).is_err());
    }
}
