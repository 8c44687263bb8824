//! x509-limbo (C2SP/x509-limbo, Apache-2.0): every name-related case gives the expected
//! result under `Strict`, and the whole-suite score does not regress.
//!
//! `tests/data/limbo.json` is the suite regenerated from x509-limbo's Python generator
//! (HEAD 8a2e6f4, BetterTLS left out): 208 cases; see `tests/data/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
mod limbo_support;

use limbo_support::{Actual, Outcome, evaluate, is_name_related, load, score};
use tls_hostname::Profile;

/// Name-related cases where `Strict` knowingly differs from limbo, with the reason. Each is
/// asserted as today's behaviour (FIXME where it is a limitation rather than a choice).
const NAME_DEVIATIONS: &[(&str, &str)] = &[
    // Conflicts with webpki::nc::permitted-dns-match-noncritical; one of the two must fail.
    // Strict follows RFC 5280 there, so this one is as expected and the webpki one is not.
    (
        "webpki::nc::permitted-dns-match-noncritical",
        "choice: RFC 5280 4.2.1.10 requires nameConstraints to be critical",
    ),
    (
        "rfc5280::nc::permitted-self-issued",
        "FIXME: rustls-webpki does not build paths through self-issued intermediates",
    ),
    (
        "webpki::cn::not-in-san",
        "choice: a CN unrelated to every SAN is tolerated, since limbo's generic \
         certificates (CN=example.com beside other SANs) expect success",
    ),
];

/// The other cases where `Strict` differs from limbo, with the reason. Together with
/// [`NAME_DEVIATIONS`], exactly the cases `Strict` gets wrong.
const OTHER_DEVIATIONS: &[(&str, &str)] = &[
    (
        "pathlen::validation-ignores-pathlen-in-leaf",
        "FIXME: rustls-webpki refuses a CA certificate (here a pathlen:0 one) as the end \
         entity, CaUsedAsEndEntity; path building is webpki's",
    ),
    (
        "pathlen::self-issued-certs-pathlen",
        "FIXME: rustls-webpki does not build paths through self-issued intermediates",
    ),
    (
        "pathlen::max-chain-depth-1-self-issued",
        "FIXME: rustls-webpki does not build paths through self-issued intermediates",
    ),
    // Conflicts with webpki::ca-as-leaf, which Strict passes.
    (
        "rfc5280::ca-as-leaf",
        "choice: CA/B BR 7.1.2.7 forbids a CA certificate as the server's (and \
         rustls-webpki refuses it)",
    ),
    // Conflicts with rfc5280::eku::ee-without-eku, which Strict passes.
    (
        "webpki::eku::ee-without-eku",
        "choice: RFC 5280 allows a server certificate without EKU",
    ),
    (
        "rfc5280::aki::cross-signed-root-missing-aki",
        "choice: a trust anchor is configured, not validated, so it needs no AKI \
         (cve::cve-2024-0567 relies on it)",
    ),
];

fn outcomes(profile: Profile) -> Vec<Outcome> {
    let json = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/limbo.json"))
        .expect("tests/data/limbo.json");
    let limbo = load(&json).expect("limbo.json parses");
    assert_eq!(limbo.testcases.len(), 208);
    limbo.testcases.iter().map(|tc| evaluate(tc, profile)).collect()
}

#[test]
fn name_related_cases_as_expected_under_strict() {
    let all = outcomes(Profile::Strict);
    let mut wrong = Vec::new();
    let mut checked = 0;
    for o in all.iter().filter(|o| is_name_related(&o.id)) {
        checked += 1;
        let deviation = NAME_DEVIATIONS.iter().find(|(id, _)| *id == o.id);
        match (o.as_expected() || o.actual == Actual::Skipped, deviation) {
            (true, None) => {}
            (false, Some(_)) => {}
            (true, Some((id, _))) => wrong.push(format!("{id}: now as expected, drop the deviation")),
            (false, None) => wrong.push(format!("{}: {} ({})", o.id, o.actual.as_str(), o.context)),
        }
    }
    assert!(checked >= 70, "only {checked} name-related cases");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn whole_suite_score_under_strict() {
    let all = outcomes(Profile::Strict);
    let (pass, fail, skip) = score(&all);
    eprintln!("strict: {pass} pass / {fail} fail / {skip} skip");
    // rustls-webpki 0.103 scores 131 / 60 / 17 and OpenSSL 3.0 145 on these cases.
    assert!(pass >= 187, "{pass} pass / {fail} fail / {skip} skip");
    let known: Vec<&str> = NAME_DEVIATIONS
        .iter()
        .chain(OTHER_DEVIATIONS)
        .map(|(id, _)| *id)
        .collect();
    let mut wrong = Vec::new();
    for o in &all {
        let deviates = !o.as_expected() && o.actual != Actual::Skipped;
        match (deviates, known.contains(&o.id.as_str())) {
            (true, false) => wrong.push(format!("{}: {} ({})", o.id, o.actual.as_str(), o.context)),
            (false, true) => wrong.push(format!("{}: now as expected, drop the deviation", o.id)),
            _ => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(fail, known.len());
}

#[test]
fn phone_differs_from_strict_only_where_documented() {
    let strict = outcomes(Profile::Strict);
    let phone = outcomes(Profile::Phone);
    let differing: Vec<&str> = strict
        .iter()
        .zip(&phone)
        .filter(|(s, p)| s.actual != p.actual)
        .map(|(s, _)| s.id.as_str())
        .collect();
    // CN fallback: the certificate has no SAN, CN=example.com (limbo encodes "no CN
    // fallback"; the phone's rule is OpenSSL's, which passes it).
    assert!(differing.contains(&"webpki::san::no-san"));
    // Everything else that differs is the CN fallback (CN-only certificates), the underscore
    // rule, or a Strict-only certificate check (ChainCheck).
    for id in &differing {
        let s = strict.iter().find(|o| o.id == *id).unwrap();
        assert!(
            s.context.contains("CN not consulted")
                || *id == "rfc5280::san::underscore-dns"
                || s.context.starts_with("certificate chain: "),
            "{id}: {}",
            s.context
        );
    }
}

/// The handshake path (`verify_server_cert`, which reads a matching dNSName straight from the
/// DER) gives `verify_identity`'s answer and error on every case, under every profile.
#[test]
fn handshake_path_agrees_with_verify_identity() {
    let mut compared = 0;
    for profile in Profile::ALL {
        for o in outcomes(profile) {
            assert!(
                !o.context.starts_with(limbo_support::HANDSHAKE_DIFFERS),
                "{profile} {}: {}",
                o.id,
                o.context
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 3 * 208);
}
