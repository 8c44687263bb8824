//! The behaviours the phone relies on, in the words of SPEC §9 and the research notes. The
//! lists themselves are checked against OpenSSL 1.1.1d in `golden.rs`; these tests pin the
//! API: diagnostics, error offsets, the rustls projection and the per-application defaults.

#![allow(clippy::panic)] // a failed test panics with its message
use cipher_string::{CURL_DEFAULT_WIRE, CipherList, DiagnosticKind, Error, Suite, UnknownHint};

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
