//! The rustls projection and the "blank or invalid -> the application's default, loudly" rule
//! (SPEC §9), with the ring provider.
#![cfg(feature = "rustls")]
#![allow(clippy::panic)] // a failed test panics with its message

use cipher_string::{
    Application, CipherList, DropReason, Error, FallbackReason, Tls13Suites, effective_openssl,
    effective_rustls,
};

fn names(list: &CipherList) -> Vec<&'static str> {
    list.suites().iter().map(|s| s.openssl_name()).collect()
}

fn parse(s: &str) -> CipherList {
    CipherList::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

// ---- rustls projection ---------------------------------------------------------------------

fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

#[test]
fn default_projects_to_the_six_ecdhe_aead_suites() {
    let p = parse("DEFAULT").rustls_suites(&provider());
    assert_eq!(
        p.iana_names(),
        [
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ]
    );
    assert_eq!(p.dropped().len(), 51);
    assert_eq!(
        parse(cipher_string::XMPP_DEFAULT)
            .rustls_suites(&provider())
            .iana_names(),
        p.iana_names()
    );
}

#[test]
fn ecdhe_aesgcm_projects_to_four() {
    let p = parse("ECDHE+AESGCM:-SHA1:@SECLEVEL=2").rustls_suites(&provider());
    assert_eq!(p.suites().len(), 4);
    assert!(p.dropped().is_empty());
}

#[test]
fn static_rsa_projects_to_nothing_and_says_why() {
    let p = parse("RSA:!aNULL:!eNULL").rustls_suites(&provider());
    assert!(p.is_empty());
    assert_eq!(p.dropped().len(), 18);
    assert!(
        p.dropped()
            .iter()
            .all(|d| d.reason == DropReason::KeyExchange("RSA"))
    );
    assert_eq!(
        p.dropped()[0].to_string(),
        "AES256-GCM-SHA384: key exchange RSA is not offered by rustls (ECDHE only)"
    );
    let cbc = parse("ECDHE-RSA-AES128-SHA").rustls_suites(&provider());
    assert_eq!(cbc.dropped()[0].reason, DropReason::Cipher("AES(128)"));
}

#[test]
fn tls13_projection_drops_ccm() {
    let t = Tls13Suites::parse("TLS_AES_128_CCM_SHA256:TLS_AES_128_GCM_SHA256").unwrap_or_default();
    let p = t.rustls_suites(&provider());
    assert_eq!(p.iana_names(), ["TLS13_AES_128_GCM_SHA256"]);
    assert_eq!(p.dropped()[0].reason, DropReason::Cipher("AESCCM(128)"));
}

// ---- blank or invalid -> the application's default, loudly ---------------------------------

#[test]
fn static_rsa_falls_back_to_the_sip_default_with_a_diagnostic() {
    let e = effective_rustls(
        "TLS_Cipher_List",
        "RSA:!aNULL:!eNULL",
        Application::Curl,
        &provider(),
    );
    let f = e.fallback.unwrap_or_else(|| panic!("no fallback reported"));
    assert_eq!(f.reason, FallbackReason::NothingNegotiable { openssl_suites: 18 });
    assert_eq!(
        f.to_string(),
        "TLS_Cipher_List: `RSA:!aNULL:!eNULL` selects 18 OpenSSL suites but none that this TLS stack \
         can negotiate; the SIP/TR-069/curl uses its default `DEFAULT` instead"
    );
    assert_eq!(e.list.suites().len(), 57);
    assert_eq!(e.rustls.suites().len(), 6);
}

#[test]
fn blank_and_invalid_fall_back_and_valid_does_not() {
    let blank = effective_openssl("TLS_Cipher_List", "  ", Application::Xmpp);
    assert_eq!(blank.fallback.map(|f| f.reason), Some(FallbackReason::Blank));
    assert_eq!(blank.list, parse("HIGH:MEDIUM:AES:@STRENGTH"));

    let bad = effective_openssl("TLS_Cipher_List", "HIGH:@BAD", Application::WebServer);
    let f = bad.fallback.unwrap_or_else(|| panic!("no fallback"));
    assert!(
        matches!(
            f.reason,
            FallbackReason::Invalid(Error::BadCommand { offset: 5, .. })
        ),
        "{f:?}"
    );
    assert!(
        f.to_string()
            .starts_with("TLS_Cipher_List: `HIGH:@BAD` is invalid: byte 5: unknown command")
    );
    assert_eq!(
        names(&bad.list),
        [
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "AES256-SHA",
            "AES128-SHA"
        ]
    );

    let ok = effective_rustls("TLS_Cipher_List", "ECDHE+AESGCM", Application::Curl, &provider());
    assert!(ok.fallback.is_none());
    assert_eq!(ok.rustls.suites().len(), 4);
}

#[test]
fn every_default_evaluates() {
    for app in [Application::WebServer, Application::Xmpp, Application::Curl] {
        assert!(CipherList::parse(app.default_cipher_string()).is_ok(), "{app}");
        assert!(!app.default_list().rustls_suites(&provider()).is_empty(), "{app}");
    }
}
