//! RFC 4475 (SIP torture test messages): one test per message, asserting what the RFC says a
//! parser must do with it. The messages are byte-exact copies of the RFC's Appendix A archive
//! (`tests/data/rfc4475/`, see its README).
//!
//! Outcomes: "valid" = parses and validates; "reject at the parser" = `Message::parse` fails
//! (framing or start line); "reject when validated" = parses, `Message::validate` fails; the
//! §3.3 application-layer cases parse and validate and expose what the application needs to
//! decide (unknown scheme, Require tags, ...).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sip_message::{Error, ErrorKind, HeaderName, Message, Method, StartLine};

fn load(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/rfc4475/{name}.dat", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Parses and validates, or fails the test with the error.
fn valid(bytes: &[u8]) -> Message<'_> {
    let m = Message::parse(bytes).unwrap_or_else(|e| panic!("parse: {e}"));
    m.validate().unwrap_or_else(|e| panic!("validate: {e}"));
    m
}

fn rejected_by_parser(bytes: &[u8]) -> Error {
    match Message::parse(bytes) {
        Ok(m) => panic!("parsed, expected a parser error: {m:?}"),
        Err(e) => e,
    }
}

fn rejected_by_validation(bytes: &[u8]) -> Error {
    let m =
        Message::parse(bytes).unwrap_or_else(|e| panic!("parse failed ({e}); expected a validation error"));
    match m.validate() {
        Ok(()) => panic!("validated, expected an error"),
        Err(e) => e,
    }
}

fn offset_of(bytes: &[u8], needle: &str) -> usize {
    bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .unwrap_or_else(|| panic!("`{needle}` not in message"))
}

// §3.1.1 Valid messages

#[test]
fn s3_1_1_1_wsinv_short_tortuous_invite() {
    let b = load("wsinv");
    let m = valid(&b);
    assert_eq!(m.method(), Some(&Method::Invite));
    assert_eq!(m.to().unwrap().tag(), Some("1918181833n"));
    let from = m.from().unwrap();
    assert_eq!(from.display_name_text().unwrap(), "J Rosenberg \\\"");
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(m.max_forwards().unwrap(), Some(68));
    assert_eq!(m.cseq().unwrap().number, 9);
    let via = m.via().unwrap();
    assert_eq!(via.len(), 3);
    assert_eq!((via[0].transport, via[0].host), ("UDP", "192.0.2.2"));
    assert_eq!(
        (via[1].transport, via[1].host, via[1].branch()),
        ("TCP", "spindle.example.com", Some("z9hG4bK9ikj8"))
    );
    assert_eq!(via[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(
        m.header("NewFangledHeader").unwrap().value(),
        "newfangled value continued newfangled value"
    );
    assert_eq!(
        m.header("UnknownHeaderWithUnusualValue").unwrap().value(),
        ";;,,;;,;"
    );
    assert_eq!(m.header("Subject").unwrap().value(), "");
    let contact = &m.contacts().unwrap()[0];
    assert_eq!(contact.display_name_text().unwrap(), "Quoted string \"\"");
    assert_eq!(contact.param("newparam"), Some("newvalue"));
    assert_eq!(contact.param("q"), Some("0.33"));
    assert_eq!(m.body().len(), 150);
}

#[test]
fn s3_1_1_2_intmeth_wide_range_of_valid_characters() {
    let b = load("intmeth");
    let m = valid(&b);
    let method = "!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(m.method(), Some(&Method::Other(method.into())));
    let uri = m.request_uri().unwrap().sip().unwrap().clone();
    assert_eq!(uri.user, Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"));
    assert_eq!(uri.password, Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"));
    assert_eq!(m.via().unwrap()[0].branch(), Some("z9hG4bK-.!%66*_+`'~"));
    assert_eq!(
        m.to().unwrap().display_name_text().unwrap(),
        "BEL:\x07 NUL:\0 DEL:\x7f"
    );
    assert_eq!(
        m.from().unwrap().display_name,
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(
        m.call_id().unwrap(),
        "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    assert_eq!(m.cseq().unwrap().method.as_str(), method);
    assert_eq!(
        m.header("extensionHeader-!.%*+_`'~").unwrap().value(),
        "\u{FEFF}大停電"
    );
}

#[test]
fn s3_1_1_3_esc01_valid_percent_escapes() {
    let b = load("esc01");
    let m = valid(&b);
    assert_eq!(
        m.request_uri().unwrap().sip().unwrap().user,
        Some("sips%3Auser%40example.com")
    );
    assert_eq!(m.to().unwrap().uri.sip().unwrap().user, Some("%75se%72"));
    let c = &m.contacts().unwrap()[0];
    assert_eq!(c.uri.sip().unwrap().param("n%61me"), Some("v%61lue%25%34%31"));
}

#[test]
fn s3_1_1_4_escnull_escaped_nulls_in_uris() {
    let b = load("escnull");
    let m = valid(&b);
    assert_eq!(m.to().unwrap().uri.sip().unwrap().user, Some("null-%00-null"));
    let contacts = m.contacts().unwrap();
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[1].uri.sip().unwrap().user, Some("%00%00"));
}

#[test]
fn s3_1_1_5_esc02_percent_that_is_not_an_escape() {
    let b = load("esc02");
    let m = valid(&b);
    // The method is the token RE%47IST%45R, not REGISTER: % is a token character here.
    assert_eq!(m.method(), Some(&Method::Other("RE%47IST%45R".into())));
    assert_eq!(m.to().unwrap().display_name_text().unwrap(), "%Z%45");
    // `C%6Fntact` is an unknown header, not a Contact.
    assert_eq!(m.contacts().unwrap().len(), 2);
    assert!(m.header("C%6Fntact").is_some());
}

#[test]
fn s3_1_1_6_lwsdisp_no_lws_between_display_name_and_laquot() {
    let b = load("lwsdisp");
    let m = valid(&b);
    assert_eq!(m.from().unwrap().display_name, Some("caller"));
}

#[test]
fn s3_1_1_7_longreq_long_values() {
    let b = load("longreq");
    let m = valid(&b);
    assert_eq!(m.via().unwrap().len(), 34);
    assert!(m.to().unwrap().display_name.unwrap().len() > 80);
    assert!(m.from().unwrap().tag().unwrap().len() > 100);
    assert_eq!(m.body().len(), m.content_length().unwrap());
}

#[test]
fn s3_1_1_8_dblreq_extra_octets_after_the_message() {
    let b = load("dblreq");
    let m = valid(&b);
    // The first message (REGISTER, Content-Length 0) is the datagram; the INVITE after it is
    // ignored.
    assert_eq!(m.method(), Some(&Method::Register));
    assert!(m.body().is_empty());
    assert!(m.len() < b.len());
}

#[test]
fn s3_1_1_9_semiuri_semicolon_in_uri_user_part() {
    let b = load("semiuri");
    let m = valid(&b);
    let uri = m.request_uri().unwrap().sip().unwrap().clone();
    assert_eq!(uri.user, Some("user;par=u%40example.net"));
    assert_eq!(uri.host, "example.com");
    assert!(uri.params.is_empty());
}

#[test]
fn s3_1_1_10_transports_varied_and_unknown() {
    let b = load("transports");
    let m = valid(&b);
    let t: Vec<_> = m.via().unwrap().iter().map(|v| v.transport).collect();
    assert_eq!(t, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
}

#[test]
fn s3_1_1_11_mpart01_multipart_mime() {
    let b = load("mpart01");
    let m = valid(&b);
    assert_eq!(m.body().len(), 553);
    assert!(
        m.header("Content-Type")
            .unwrap()
            .value()
            .starts_with("multipart/mixed;boundary=")
    );
}

#[test]
fn s3_1_1_12_unreason_unusual_reason_phrase() {
    let b = load("unreason");
    let m = valid(&b);
    assert_eq!(m.status(), Some(200));
    assert!(m.reason().unwrap().starts_with("= 2**3 * 5**2 но"));
}

#[test]
fn s3_1_1_13_noreason_empty_reason_phrase() {
    let b = load("noreason");
    let m = valid(&b);
    assert_eq!((m.status(), m.reason()), (Some(100), Some("")));
}

// §3.1.2 Invalid messages

#[test]
fn s3_1_2_1_badinv01_extraneous_header_separators() {
    let b = load("badinv01");
    let e = rejected_by_validation(&b);
    assert_eq!(
        e.kind,
        ErrorKind::Header {
            header: "Via",
            expected: "a parameter name"
        }
    );
    assert_eq!(e.offset, offset_of(&b, ";;,;,,") + 1);
}

#[test]
fn s3_1_2_2_clerr_content_length_larger_than_message() {
    let b = load("clerr");
    let e = rejected_by_parser(&b);
    assert!(
        matches!(e.kind, ErrorKind::BodyTruncated { declared: 9999, .. }),
        "{e}"
    );
}

#[test]
fn s3_1_2_3_ncl_negative_content_length() {
    let b = load("ncl");
    let e = rejected_by_parser(&b);
    assert!(matches!(e.kind, ErrorKind::ContentLength { .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "-999"));
}

#[test]
fn s3_1_2_4_scalar02_request_scalar_fields_overlarge() {
    let b = load("scalar02");
    let e = rejected_by_validation(&b);
    assert!(
        matches!(e.kind, ErrorKind::OutOfRange { header: "CSeq", .. }),
        "{e}"
    );
    assert_eq!(e.offset, offset_of(&b, "36893488147419103232"));
    // Max-Forwards and Expires are out of range too.
    let m = Message::parse(&b).unwrap();
    assert!(m.max_forwards().is_err());
    assert!(m.expires().is_err());
}

#[test]
fn s3_1_2_5_scalarlg_response_scalar_fields_overlarge() {
    let b = load("scalarlg");
    let e = rejected_by_validation(&b);
    assert!(
        matches!(e.kind, ErrorKind::OutOfRange { header: "CSeq", .. }),
        "{e}"
    );
}

#[test]
fn s3_1_2_6_quotbal_unterminated_quoted_string() {
    let b = load("quotbal");
    let e = rejected_by_validation(&b);
    assert!(matches!(e.kind, ErrorKind::Header { header: "To", .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "\"Mr. J. User"));
}

#[test]
fn s3_1_2_7_ltgtruri_angle_brackets_around_request_uri() {
    let b = load("ltgtruri");
    let e = rejected_by_parser(&b);
    assert!(matches!(e.kind, ErrorKind::StartLine { .. }), "{e}");
    assert_eq!(e.offset, 7);
}

#[test]
fn s3_1_2_8_lwsruri_embedded_lws_in_request_uri() {
    let b = load("lwsruri");
    let e = rejected_by_parser(&b);
    assert!(matches!(e.kind, ErrorKind::StartLine { .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "; lr") + 1);
}

#[test]
fn s3_1_2_9_lwsstart_multiple_sp_in_request_line() {
    let b = load("lwsstart");
    let e = rejected_by_parser(&b);
    assert!(matches!(e.kind, ErrorKind::StartLine { .. }), "{e}");
    assert_eq!(e.offset, 7);
}

#[test]
fn s3_1_2_10_trws_sp_at_end_of_request_line() {
    let b = load("trws");
    let e = rejected_by_parser(&b);
    assert!(matches!(e.kind, ErrorKind::StartLine { .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "SIP/2.0  "));
}

#[test]
fn s3_1_2_11_escruri_escaped_headers_in_request_uri() {
    let b = load("escruri");
    let e = rejected_by_validation(&b);
    assert_eq!(e.kind, ErrorKind::RequestUriHeaders);
    assert_eq!(e.offset, 7);
}

#[test]
fn s3_1_2_12_baddate_invalid_time_zone() {
    let b = load("baddate");
    let e = rejected_by_validation(&b);
    assert!(matches!(e.kind, ErrorKind::Header { header: "Date", .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "EST") - 1);
}

#[test]
fn s3_1_2_13_regbadct_name_addr_uri_not_in_angle_brackets() {
    let b = load("regbadct");
    let e = rejected_by_validation(&b);
    assert!(
        matches!(
            e.kind,
            ErrorKind::Header {
                header: "Contact",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.offset, offset_of(&b, "?Route="));
}

#[test]
fn s3_1_2_14_badaspec_spaces_within_addr_spec() {
    let b = load("badaspec");
    let e = rejected_by_validation(&b);
    assert!(matches!(e.kind, ErrorKind::Header { header: "To", .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "< sip:t.watson") + 1);
}

#[test]
fn s3_1_2_15_baddn_non_token_characters_in_display_name() {
    let b = load("baddn");
    // The archive's copy lacks the blank line that ends the headers, so it fails at framing...
    let e = rejected_by_parser(&b);
    assert_eq!(e.kind, ErrorKind::HeadNotTerminated);
    // ...and with the blank line added, at the display name, as the RFC describes.
    let mut fixed = b.clone();
    fixed.extend_from_slice(b"\r\n");
    let e = rejected_by_validation(&fixed);
    assert!(matches!(e.kind, ErrorKind::Header { header: "From", .. }), "{e}");
    assert_eq!(e.offset, offset_of(&fixed, ", Alexander"));
}

#[test]
fn s3_1_2_16_badvers_unknown_protocol_version() {
    let b = load("badvers");
    let e = rejected_by_validation(&b);
    assert_eq!(e.kind, ErrorKind::UnsupportedVersion);
}

#[test]
fn s3_1_2_17_mismatch01_cseq_method_mismatch() {
    let b = load("mismatch01");
    let e = rejected_by_validation(&b);
    assert_eq!(e.kind, ErrorKind::CSeqMethodMismatch);
    assert_eq!(e.offset, offset_of(&b, "8 INVITE"));
}

#[test]
fn s3_1_2_18_mismatch02_unknown_method_cseq_mismatch() {
    let b = load("mismatch02");
    let e = rejected_by_validation(&b);
    assert_eq!(e.kind, ErrorKind::CSeqMethodMismatch);
}

#[test]
fn s3_1_2_19_bigcode_overlarge_response_code() {
    let b = load("bigcode");
    let e = rejected_by_parser(&b);
    assert!(matches!(e.kind, ErrorKind::StartLine { .. }), "{e}");
    assert_eq!(e.offset, 8);
}

// §3.2 Transaction layer semantics

#[test]
fn s3_2_1_badbranch_missing_transaction_identifier() {
    let b = load("badbranch");
    let m = valid(&b);
    let via = &m.via().unwrap()[0];
    assert_eq!(via.branch(), Some("z9hG4bK"));
    // The cookie alone is no RFC 3261 transaction id: fall back to RFC 2543 matching.
    assert_eq!(via.rfc3261_branch(), None);
}

// §3.3 Application layer semantics: syntactically valid, the application decides.

#[test]
fn s3_3_1_insuf_missing_required_headers() {
    let b = load("insuf");
    let e = rejected_by_validation(&b);
    assert!(
        matches!(e.kind, ErrorKind::MissingHeader("To" | "From" | "Call-ID")),
        "{e}"
    );
}

#[test]
fn s3_3_2_unkscm_request_uri_unknown_scheme() {
    let b = load("unkscm");
    let m = valid(&b);
    let uri = m.request_uri().unwrap();
    assert_eq!(uri.scheme(), "nobodyKnowsThisScheme");
    assert!(uri.sip().is_none()); // a UA answers 416
}

#[test]
fn s3_3_3_novelsc_known_but_atypical_scheme() {
    let b = load("novelsc");
    let m = valid(&b);
    assert_eq!(m.request_uri().unwrap().scheme(), "soap.beep");
}

#[test]
fn s3_3_4_unksm2_unknown_schemes_in_headers() {
    let b = load("unksm2");
    let m = valid(&b);
    assert_eq!(m.to().unwrap().uri.scheme(), "isbn");
    assert_eq!(m.from().unwrap().uri.scheme(), "http");
    assert_eq!(m.contacts().unwrap()[0].uri.as_str(), "name:John_Smith");
}

#[test]
fn s3_3_5_bext01_proxy_require_and_require() {
    let b = load("bext01");
    let m = valid(&b);
    assert_eq!(
        m.tokens(HeaderName::Require).unwrap(),
        ["nothingSupportsThis", "nothingSupportsThisEither"]
    );
    assert_eq!(
        m.tokens(HeaderName::ProxyRequire).unwrap(),
        ["noProxiesSupportThis", "norDoAnyProxiesSupportThis"]
    );
}

#[test]
fn s3_3_6_invut_unknown_content_type() {
    let b = load("invut");
    let m = valid(&b);
    assert_eq!(
        m.header("Content-Type").unwrap().value(),
        "application/unknownformat"
    );
    assert_eq!(m.body().len(), 40);
}

#[test]
fn s3_3_7_regaut01_unknown_authorization_scheme() {
    let b = load("regaut01");
    let m = valid(&b);
    let c = sip_message::digest::Credentials::parse(&m.header("Authorization").unwrap().value()).unwrap();
    assert_eq!(c.scheme, "NoOneKnowsThisScheme");
}

#[test]
fn s3_3_8_multi01_multiple_values_in_single_value_fields() {
    let b = load("multi01");
    let e = rejected_by_validation(&b);
    assert!(
        matches!(
            e.kind,
            ErrorKind::DuplicateHeader("To" | "From" | "CSeq" | "Call-ID" | "Max-Forwards")
        ),
        "{e}"
    );
}

#[test]
fn s3_3_9_mcl01_multiple_content_length_values() {
    let b = load("mcl01");
    let e = rejected_by_parser(&b);
    assert!(matches!(e.kind, ErrorKind::ContentLength { .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "Content-Length: 5"));
}

#[test]
fn s3_3_10_bcast_response_with_broadcast_via() {
    let b = load("bcast");
    let m = valid(&b);
    assert_eq!(m.via().unwrap()[1].host, "255.255.255.255"); // the transport must not send there
}

#[test]
fn s3_3_11_zeromf_max_forwards_of_zero() {
    let b = load("zeromf");
    let m = valid(&b);
    assert_eq!(m.max_forwards().unwrap(), Some(0)); // a UA processes it; a proxy answers 483
}

#[test]
fn s3_3_12_cparam01_register_with_contact_header_parameter() {
    let b = load("cparam01");
    let m = valid(&b);
    let c = &m.contacts().unwrap()[0];
    assert_eq!(c.param("unknownparam"), Some(""));
    assert!(c.uri.sip().unwrap().params.is_empty());
}

#[test]
fn s3_3_13_cparam02_register_with_url_parameter() {
    let b = load("cparam02");
    let m = valid(&b);
    let c = &m.contacts().unwrap()[0];
    assert!(c.params.is_empty());
    assert_eq!(c.uri.sip().unwrap().param("unknownparam"), Some(""));
}

#[test]
fn s3_3_14_regescrt_register_with_url_escaped_header() {
    let b = load("regescrt");
    let m = valid(&b);
    let c = &m.contacts().unwrap()[0];
    assert_eq!(
        c.uri.sip().unwrap().headers,
        Some("Route=%3Csip:sip.example.com%3E")
    );
}

#[test]
fn s3_3_15_sdp01_unacceptable_accept() {
    let b = load("sdp01");
    let m = valid(&b);
    assert_eq!(m.header("Accept").unwrap().value(), "text/nobodyKnowsThis"); // a UA answers 406
}

// §3.4 Backward compatibility

#[test]
fn s3_4_1_inv2543_rfc2543_syntax() {
    let b = load("inv2543");
    let m = valid(&b);
    let via = &m.via().unwrap()[0];
    assert_eq!(via.branch(), None);
    assert_eq!(m.max_forwards().unwrap(), None);
    assert_eq!(m.content_length(), None); // a datagram: the body is the rest
    assert!(m.body().starts_with(b"v=0"));
}

/// `test.dat` is in the archive but no section refers to it: the request line lacks the
/// version, so the parser rejects it.
#[test]
fn unreferenced_test_dat() {
    let b = load("test");
    let e = rejected_by_parser(&b);
    assert!(matches!(e.kind, ErrorKind::StartLine { .. }), "{e}");
}

/// Every message is also fed through the stream parser: same outcome or "need more bytes".
#[test]
fn stream_framing_agrees() {
    let dir = format!("{}/tests/data/rfc4475", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "dat") {
            let b = std::fs::read(&path).unwrap();
            n += 1;
            if let Ok(Some(m)) = Message::parse_stream(&b) {
                assert!(matches!(
                    m.start_line(),
                    StartLine::Request { .. } | StartLine::Response { .. }
                ));
                assert!(m.len() <= b.len());
            }
        }
    }
    assert_eq!(n, 50);
}
