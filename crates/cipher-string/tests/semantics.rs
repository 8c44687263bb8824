//! The behaviours the phone relies on, in the words of SPEC §9 and the research notes. The
//! lists themselves are checked against OpenSSL 1.1.1d in `golden.rs`; these tests pin the
//! API: diagnostics, error offsets, the rustls projection and the per-application defaults.

#![allow(clippy::panic)] // a failed test panics with its message
use cipher_string::{
    Application, CURL_DEFAULT_WIRE, CipherList, DiagnosticKind, DropReason, Error, FallbackReason, Suite,
    Tls13Suites, UnknownHint, effective_openssl, effective_rustls,
};

fn names(list: &CipherList) -> Vec<&'static str> {
    list.suites().iter().map(|s| s.openssl_name()).collect()
}

fn parse(s: &str) -> CipherList {
    CipherList::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

#[test]
fn default_is_57_suites_and_starts_with_ecdhe_gcm() {
    let d = parse("DEFAULT");
    assert_eq!(d.suites().len(), 57);
    assert_eq!(
        names(&d)[..3],
        [
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "DHE-RSA-AES256-GCM-SHA384"
        ]
    );
    assert!(d.diagnostics().is_empty());
    assert!(d.suites().iter().all(|s| s.in_default_list()));
}

#[test]
fn the_phones_curl_wire_list_is_a_subsequence_of_default() {
    let d = parse("DEFAULT");
    let mut it = d.suites().iter();
    for wire in CURL_DEFAULT_WIRE.iter().filter(|n| !n.ends_with("_SCSV")) {
        let iana = format!("TLS_{wire}");
        assert!(
            it.any(|s| s.iana_name() == iana),
            "{iana} missing or out of order in DEFAULT"
        );
    }
}

#[test]
fn rsa_without_anull_and_enull_is_18_suites() {
    let l = parse("RSA:!aNULL:!eNULL");
    assert_eq!(l.suites().len(), 18);
    assert!(l.suites().iter().all(|s| s.kx() == "RSA"));
}

#[test]
fn delete_then_add_puts_the_suites_first_among_the_new_ones() {
    // AES:-RSA:RSA: the RSA suites come back before the other RSA (ARIA, CAMELLIA...) suites.
    let l = parse("AES:-RSA:RSA");
    let n = names(&l);
    let first_rsa = n
        .iter()
        .position(|s| *s == "AES256-GCM-SHA384")
        .unwrap_or(usize::MAX);
    let aria = n
        .iter()
        .position(|s| *s == "ARIA256-GCM-SHA384")
        .unwrap_or(usize::MAX);
    let last_aes = n.iter().position(|s| *s == "AES128-SHA").unwrap_or(usize::MAX);
    assert!(first_rsa < last_aes && last_aes < aria, "{n:?}");
}

#[test]
fn kill_is_final_and_ord_adds_nothing() {
    assert_eq!(
        parse("AES:!RSA:RSA").suites().len(),
        parse("AES:!RSA").suites().len()
    );
    assert!(matches!(
        CipherList::parse("+RSA"),
        Err(Error::NoCipherMatch { .. })
    ));
}

#[test]
fn errors_carry_the_byte_offset() {
    assert_eq!(
        CipherList::parse("RSA:*"),
        Err(Error::UnexpectedChar {
            offset: 4,
            found: Some('*')
        })
    );
    assert_eq!(
        CipherList::parse("RSA:!"),
        Err(Error::UnexpectedChar {
            offset: 5,
            found: None
        })
    );
    assert_eq!(
        CipherList::parse("RSA+:AES"),
        Err(Error::UnexpectedChar {
            offset: 4,
            found: Some(':')
        })
    );
    assert_eq!(
        CipherList::parse("ALL:@SECLEVEL=6"),
        Err(Error::BadCommand {
            offset: 4,
            command: "SECLEVEL=6".into()
        })
    );
    assert_eq!(
        CipherList::parse("DEFAULT:@FOO").map_err(|e| e.offset()),
        Err(Some(8)),
        "offsets count from the start of the whole string"
    );
    // OpenSSL skips the rest of an item after an unknown word, so this is no error:
    assert!(CipherList::parse("FOO*:RSA").is_ok());
    assert!(CipherList::parse("ALL:\u{0}").is_err());
}

#[test]
fn unknown_words_are_reported_with_the_likely_cause() {
    let l = parse(
        "HIGH:rsa:DEFAULT:SUITEB128:TLS_AES_128_GCM_SHA256:TLS_RSA_WITH_AES_128_CBC_SHA:DES-CBC3-SHA:FOO!RSA",
    );
    let hints: Vec<_> = l
        .diagnostics()
        .iter()
        .filter_map(|d| match &d.kind {
            DiagnosticKind::UnknownWord { hint, .. } => Some(hint.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        hints,
        [
            UnknownHint::Case { expected: "RSA" },
            UnknownHint::DefaultNotAtStart,
            UnknownHint::SuiteBNotAtStart,
            UnknownHint::Tls13Suite,
            UnknownHint::IanaName {
                openssl_name: "AES128-SHA"
            },
            UnknownHint::NotInBuild,
            UnknownHint::None,
        ]
    );
    let skipped = l.diagnostics().last().map(|d| (d.span.clone(), d.kind.clone()));
    assert_eq!(
        skipped,
        Some((95..99, DiagnosticKind::SkippedText { text: "!RSA".into() }))
    );
}

#[test]
fn known_words_that_select_nothing_are_reported() {
    let l = parse("HIGH:3DES:kRSA+aECDSA:RSA+ECDHE");
    let kinds: Vec<_> = l.diagnostics().iter().map(|d| d.kind.clone()).collect();
    assert_eq!(
        kinds,
        [
            DiagnosticKind::MatchesNothing { text: "3DES".into() },
            DiagnosticKind::MatchesNothing {
                text: "kRSA+aECDSA".into()
            },
            DiagnosticKind::EmptyCombination {
                text: "RSA+ECDHE".into()
            },
        ]
    );
    assert_eq!(
        l.diagnostics()[0].to_string(),
        "bytes 5..9: `3DES` names no suite in this build"
    );
}

#[test]
fn seclevel_is_kept_not_applied_and_suite_b_replaces_the_string() {
    let l = parse("ALL:@SECLEVEL=5");
    assert_eq!(l.security_level(), Some(5));
    assert_eq!(l.suites().len(), parse("ALL").suites().len());
    let b = parse("SUITEB128:RSA");
    assert_eq!(b.suite_b(), Some("SUITEB128"));
    assert_eq!(
        names(&b),
        ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384"]
    );
}

#[test]
fn display_round_trips() {
    for s in [
        "DEFAULT",
        "HIGH:MEDIUM:AES:@STRENGTH",
        "AES:-RSA:RSA",
        "ECDHE+AESGCM:-SHA1",
    ] {
        let l = parse(s);
        assert_eq!(parse(&l.to_string()).suites(), l.suites(), "{s}");
    }
}

#[test]
fn suites_are_found_by_either_name() {
    let s = Suite::from_iana_name("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(
        s.map(|s| (s.id(), s.openssl_name())),
        Some((0xC02F, "ECDHE-RSA-AES128-GCM-SHA256"))
    );
    assert_eq!(
        Suite::from_openssl_name("DES-CBC3-SHA").map(|s| s.in_default_build()),
        Some(false)
    );
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
