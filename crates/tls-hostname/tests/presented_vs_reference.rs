//! The presented-vs-reference DNS-ID table of rustls-webpki (`PRESENTED_MATCHES_REFERENCE` in
//! `src/subject_name/dns_name.rs`, itself adapted from mozilla::pkix and Chromium's
//! `x509_certificate_unittest.cc`), re-derived as data for this crate's `Strict` rules.
//!
//! Differences from webpki are on purpose and marked `DIFF`:
//! * webpki requires a *reference* to be a valid name; ours accepts an absolute reference and
//!   drops the dot, and rejects an invalid reference at parse time (those rows are in
//!   `invalid_references`).
//! * webpki knows no Public Suffix List; `Strict` refuses wildcards over public suffixes, so
//!   `*.co.uk`, `*.com.br`, `*.appspot.com`, `*.s3.amazonaws.com` never match (x509-limbo's
//!   `webpki::san::public-suffix-*` cases expect exactly that).

// Helpers outside #[test] fns: a failed setup step should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use tls_hostname::{ReferenceName, presented_dns_matches};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    Match,
    NoMatch,
    /// The presented name is invalid and never matches anything.
    Invalid,
}
use Expect::*;

const TABLE: &[(&str, &str, Expect)] = &[
    ("", "a", Invalid),
    ("a", "a", Match),
    ("b", "a", NoMatch),
    ("*.b.a", "c.b.a", Match),
    ("*.b.a", "b.a", NoMatch),
    ("*.b.a", "b.a.", NoMatch),
    // Wildcard not in the left-most label
    ("d.c.b.a", "d.c.b.a", Match),
    ("d.*.b.a", "d.c.b.a", Invalid),
    ("d.c*.b.a", "d.c.b.a", Invalid),
    ("d.c*.b.a", "d.cc.b.a", Invalid),
    // Case
    ("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", Match),
    ("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", Match),
    ("aBc", "Abc", Match),
    ("a1", "a1", Match),
    // Absolute names: a presented name may not be absolute; a reference may.
    ("example", "example", Match),
    ("example.", "example.", Invalid),
    ("example", "example.", Match),
    ("example.", "example", Invalid),
    ("example.com", "example.com", Match),
    ("example.com.", "example.com.", Invalid),
    ("example.com", "example.com.", Match),
    ("example.com.", "example.com", Invalid),
    ("example.com..", "example.com.", Invalid),
    ("example.com..", "example.com", Invalid),
    ("example.com...", "example.com.", Invalid),
    // xn-- and partial wildcards
    ("x*.b.a", "xa.b.a", Invalid),
    ("x*.b.a", "xna.b.a", Invalid),
    ("x*.b.a", "xn-a.b.a", Invalid),
    ("x*.b.a", "xn--a.b.a", Invalid),
    ("xn*.b.a", "xn--a.b.a", Invalid),
    ("xn-*.b.a", "xn--a.b.a", Invalid),
    ("xn--*.b.a", "xn--a.b.a", Invalid),
    ("xn---*.b.a", "xn--a.b.a", Invalid),
    ("c*.b.a", "c.b.a", Invalid),
    // Chromium's cases
    ("foo.com", "foo.com", Match),
    ("f", "f", Match),
    ("i", "h", NoMatch),
    ("*.foo.com", "bar.foo.com", Match),
    ("*.test.fr", "www.test.fr", Match),
    ("*.test.FR", "wwW.tESt.fr", Match),
    (".uk", "f.uk", Invalid),
    ("?.bar.foo.com", "w.bar.foo.com", Invalid),
    ("(www|ftp).foo.com", "www.foo.com", Invalid),
    ("www.foo.com\0", "www.foo.com", Invalid),
    ("www.foo.com\0*.foo.com", "www.foo.com", Invalid),
    ("ww.house.example", "www.house.example", NoMatch),
    ("www.test.org", "test.org", NoMatch),
    ("*.test.org", "test.org", NoMatch),
    ("*.org", "test.org", Invalid),
    ("w*.bar.foo.com", "w.bar.foo.com", Invalid),
    ("ww*ww.bar.foo.com", "www.bar.foo.com", Invalid),
    ("ww*ww.bar.foo.com", "wwww.bar.foo.com", Invalid),
    ("w*w.bar.foo.com", "wwww.bar.foo.com", Invalid),
    ("w*w.bar.foo.c0m", "wwww.bar.foo.com", Invalid),
    ("wa*.bar.foo.com", "WALLY.bar.foo.com", Invalid),
    ("*Ly.bar.foo.com", "wally.bar.foo.com", Invalid),
    ("*.test.de", "www.test.co.jp", NoMatch),
    ("*.jp", "www.test.co.jp", Invalid),
    ("www.test.co.uk", "www.test.co.jp", NoMatch),
    ("www.*.co.jp", "www.test.co.jp", Invalid),
    ("www.bar.foo.com", "www.bar.foo.com", Match),
    ("*.foo.com", "www.bar.foo.com", NoMatch),
    ("*.*.foo.com", "www.bar.foo.com", Invalid),
    ("www.bath.org", "www.bath.org", Match),
    // IDN
    ("xn--poema-9qae5a.com.br", "xn--poema-9qae5a.com.br", Match),
    ("*.xn--poema-9qae5a.com.br", "www.xn--poema-9qae5a.com.br", Match),
    ("*.xn--poema-9qae5a.com.br", "xn--poema-9qae5a.com.br", NoMatch),
    ("xn--poema-*.com.br", "xn--poema-9qae5a.com.br", Invalid),
    ("xn--*-9qae5a.com.br", "xn--poema-9qae5a.com.br", Invalid),
    ("*--poema-9qae5a.com.br", "xn--poema-9qae5a.com.br", Invalid),
    // RFC 6125 §6.4.3 examples
    ("*.example.com", "foo.example.com", Match),
    ("*.example.com", "bar.foo.example.com", NoMatch),
    ("*.example.com", "example.com", NoMatch),
    ("baz*.example.net", "baz1.example.net", Invalid),
    ("*baz.example.net", "foobaz.example.net", Invalid),
    ("b*z.example.net", "buzz.example.net", Invalid),
    // Registry-controlled domains
    ("*.test.example", "www.test.example", Match),
    ("*.example.co.uk", "test.example.co.uk", Match),
    ("*.example", "test.example", Invalid),
    ("*.co.uk", "example.co.uk", Invalid), // DIFF: webpki Match (no PSL)
    ("*.com", "foo.com", Invalid),
    ("*.us", "foo.us", Invalid),
    ("*", "foo", Invalid),
    ("*.xn--poema-9qae5a.com.br", "www.xn--poema-9qae5a.com.br", Match),
    ("*.example.xn--mgbaam7a8h", "test.example.xn--mgbaam7a8h", Match),
    ("*.com.br", "xn--poema-9qae5a.com.br", Invalid), // DIFF: webpki Match (no PSL)
    ("*.xn--mgbaam7a8h", "example.xn--mgbaam7a8h", Invalid),
    ("*.appspot.com", "www.appspot.com", Invalid), // DIFF: webpki Match (PSL private section)
    ("*.s3.amazonaws.com", "foo.s3.amazonaws.com", Invalid), // DIFF: as above
    ("*.*.com", "foo.example.com", Invalid),
    ("*.bar.*.com", "foo.bar.example.com", Invalid),
    // Absolute vs relative
    ("foo.com.", "foo.com", Invalid),
    ("foo.com", "foo.com.", Match),
    ("foo.com.", "foo.com.", Invalid),
    ("f.", "f", Invalid),
    ("f", "f.", Match),
    ("f.", "f.", Invalid),
    ("*.bar.foo.com.", "www-3.bar.foo.com", Invalid),
    ("*.bar.foo.com", "www-3.bar.foo.com.", Match),
    ("*.bar.foo.com.", "www-3.bar.foo.com.", Invalid),
    ("*.com.", "example.com", Invalid),
    ("*.com", "example.com.", Invalid),
    ("*.com.", "example.com.", Invalid),
    ("*.", "foo.", Invalid),
    ("*.", "foo", Invalid),
    ("*.co.uk.", "foo.co.uk", Invalid),
    ("*.co.uk.", "foo.co.uk.", Invalid),
    // Ours: underscores are outside RFC 5280's preferred syntax (limbo rfc5280::san::underscore-dns)
    ("foo_bar.example.com", "foo_bar.example.com", Invalid),
    // Ours: raw UTF-8 is not an A-label
    ("bücher.example", "xn--bcher-kva.example", Invalid),
];

#[test]
fn presented_matches_reference() {
    let mut failures = Vec::new();
    for &(presented, reference, expect) in TABLE {
        let reference = ReferenceName::parse(reference)
            .unwrap_or_else(|e| panic!("reference {reference:?} must parse: {e}"));
        let Some(dns) = reference.as_dns() else {
            panic!("reference {reference} is not a DNS name");
        };
        let got = match presented_dns_matches(presented, dns) {
            Ok(true) => Match,
            Ok(false) => NoMatch,
            Err(_) => Invalid,
        };
        if got != expect {
            failures.push(format!(
                "{presented:?} vs {reference}: got {got:?}, want {expect:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn invalid_references() {
    for bad in [
        "",
        ".",
        "a..b",
        "-a.example",
        "a b.example",
        "[not-v6]",
        &"a".repeat(64),
    ] {
        assert!(ReferenceName::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn reference_normalisation() {
    let cases = [
        ("Example.COM.", "example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("XN--BCHER-KVA.example", "xn--bcher-kva.example"),
        ("192.0.2.1", "192.0.2.1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("[::1]", "::1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
    ];
    for (input, want) in cases {
        let r = ReferenceName::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(r.to_string(), want, "{input}");
    }
}
