//! What RFC 3261's grammar forbids is refused, and what it allows is accepted: the cases found
//! against a real registrar and the PROTOS suite (issue #11). Each case changes one header of
//! an otherwise valid REGISTER.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use sip_message::{ErrorKind, Message};

const VIA: &str = "Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds";

/// A valid REGISTER with `via` as its Via line and `extra` lines appended.
fn register(via: &str, extra: &str) -> Vec<u8> {
    format!(
        "REGISTER sip:example.com SIP/2.0\r\n{via}\r\nMax-Forwards: 70\r\n\
         To: <sip:alice@example.com>\r\nFrom: <sip:alice@example.com>;tag=1928301774\r\n\
         Call-ID: a84b4c76e66710\r\nCSeq: 1 REGISTER\r\n\
         Contact: <sip:alice@192.0.2.10:5060>\r\n{extra}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn validated(bytes: &[u8]) -> Result<(), sip_message::Error> {
    Message::parse(bytes)?.validate()
}

fn offset_of(bytes: &[u8], needle: &str) -> usize {
    bytes
        .windows(needle.len())
        .position(|w| w == needle.as_bytes())
        .expect("needle in message")
}

#[test]
fn the_template_is_valid() {
    validated(&register(VIA, "")).unwrap();
}

#[test]
fn via_host_octet_above_255_is_refused() {
    let b = register("Via: SIP/2.0/UDP 10.10.10.256:5060;branch=z9hG4bK1", "");
    let e = validated(&b).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Header { header: "Via", .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "10.10.10.256"));
}

#[test]
fn via_host_negative_octet_is_refused() {
    let b = register("Via: SIP/2.0/UDP 10.10.10.-1;branch=z9hG4bK1", "");
    let e = validated(&b).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Header { header: "Via", .. }), "{e}");
    assert_eq!(e.offset, offset_of(&b, "10.10.10.-1"));
}

#[test]
fn via_hosts_that_the_grammar_allows() {
    for host in [
        "10.10.10.255",
        "0.0.0.0",
        "registrar.example.com",
        "registrar.example.com.",
        "a-b.example",
        "x1.example",
        "[2001:db8::9:255]",
        "[::ffff:192.0.2.1]",
    ] {
        let via = format!("Via: SIP/2.0/UDP {host};branch=z9hG4bK1");
        validated(&register(&via, "")).unwrap_or_else(|e| panic!("{host}: {e}"));
    }
    for host in [
        "10.10.10",
        "10.10.10.10.10",
        "010.10.10.10",
        "1.2.3.4.",
        "-a.example",
        "a-.example",
        "a..example",
        "[2001:db8::g]",
        "[1.2.3.4]",
    ] {
        let via = format!("Via: SIP/2.0/UDP {host};branch=z9hG4bK1");
        assert!(validated(&register(&via, "")).is_err(), "{host} accepted");
    }
}

#[test]
fn via_received_holds_a_bare_ipv6_address() {
    let b = register(
        "Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bK1;received=2001:db8::9:255",
        "",
    );
    let m = Message::parse(&b).unwrap();
    m.validate().unwrap();
    let via = m.via().unwrap();
    assert_eq!(via[0].param("received"), Some("2001:db8::9:255"));
    assert_eq!(via[0].branch(), Some("z9hG4bK1"));
}

#[test]
fn via_received_other_forms() {
    // RFC 5118 §4.5: the bracketed form is seen in the wild; IPv4; a parameter after it.
    for received in ["[2001:db8::9:255]", "192.0.2.1", "2001:db8::9:255;rport=5060"] {
        let via = format!("Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1;received={received}");
        validated(&register(&via, "")).unwrap_or_else(|e| panic!("{received}: {e}"));
    }
    for received in ["example.com", "192.0.2.256", "2001:db8::9::1", "", "1.2.3.4x"] {
        let via = format!("Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1;received={received}");
        assert!(
            validated(&register(&via, "")).is_err(),
            "received={received} accepted"
        );
    }
}

#[test]
fn expires_minus_one_is_refused() {
    let b = register(VIA, "Expires: -1\r\n");
    let e = validated(&b).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::OutOfRange {
                header: "Expires",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.offset, offset_of(&b, "-1\r\n"));
}

#[test]
fn expires_above_u32_is_refused_and_u32_max_accepted() {
    let e = validated(&register(VIA, "Expires: 4294967296\r\n")).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::OutOfRange {
                header: "Expires",
                ..
            }
        ),
        "{e}"
    );
    let b = register(VIA, "Expires: 4294967295\r\n");
    let m = Message::parse(&b).unwrap();
    m.validate().unwrap();
    assert_eq!(m.expires().unwrap(), Some(u32::MAX));
}

#[test]
fn contact_expires_parameter_is_range_checked() {
    let b = register(VIA, "Contact: <sip:alice@192.0.2.11>;expires=-1\r\n");
    let e = validated(&b).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::OutOfRange {
                header: "Contact",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.offset, offset_of(&b, "-1\r\n"));
    let e = validated(&register(
        VIA,
        "Contact: <sip:a@192.0.2.11>;expires=4294967296\r\n",
    ))
    .unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::OutOfRange {
                header: "Contact",
                ..
            }
        ),
        "{e}"
    );
    let b = register(
        VIA,
        "Contact: <sip:a@192.0.2.11>;expires=60, <sip:a@192.0.2.12>\r\n",
    );
    let m = Message::parse(&b).unwrap();
    m.validate().unwrap();
    assert_eq!(m.contact_expires().unwrap(), [None, Some(60), None]);
}

#[test]
fn nul_and_control_bytes_in_header_values_are_refused() {
    for byte in [0x00u8, 0x01, 0x08, 0x0b, 0x0c, 0x1b, 0x7f, b'\r'] {
        let mut b = register(VIA, "Subject: hello XworldX\r\n");
        let at = offset_of(&b, "XworldX");
        b[at] = byte;
        let e = Message::parse(&b).unwrap_err();
        assert_eq!(e.kind, ErrorKind::ControlCharacter { byte }, "byte {byte:#04x}");
        assert_eq!(e.offset, at, "byte {byte:#04x}");
        assert!(e.is_framing());
    }
    // HTAB is white space, and a fold is no control character.
    validated(&register(VIA, "Subject: hello\tworld\r\n and more\r\n")).unwrap();
}

#[test]
fn empty_content_type_is_refused() {
    let b = register(VIA, "Content-Type:\r\n");
    let e = validated(&b).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::Header {
                header: "Content-Type",
                ..
            }
        ),
        "{e}"
    );
    let e = validated(&register(VIA, "Content-Type:   \r\n")).unwrap_err();
    assert!(
        matches!(
            e.kind,
            ErrorKind::Header {
                header: "Content-Type",
                ..
            }
        ),
        "{e}"
    );
    for bad in [
        "application",
        "application/",
        "/sdp",
        "application/sdp;charset",
        "text/plain;=x",
    ] {
        let line = format!("Content-Type: {bad}\r\n");
        assert!(validated(&register(VIA, &line)).is_err(), "{bad} accepted");
    }
}

#[test]
fn content_types_that_the_grammar_allows() {
    let b = register(
        VIA,
        "c: multipart/mixed ; boundary=\"unique-boundary-1\" ;charset=utf-8\r\n",
    );
    let m = Message::parse(&b).unwrap();
    m.validate().unwrap();
    let ct = m.content_type().unwrap().unwrap();
    assert!(ct.is("Multipart", "MIXED"));
    assert_eq!(ct.param("boundary"), Some("\"unique-boundary-1\""));
    assert_eq!(ct.param("charset"), Some("utf-8"));
}

/// The line ends found while looking for the end of the head are reused for the first 32
/// lines only; a head with more lines, LF-only line ends, folds and short names after that
/// point splits the same way (names, values, offsets).
#[test]
fn long_heads_split_like_short_ones() {
    let mut extra = String::new();
    for k in 0..40 {
        extra.push_str(&format!("X-Filler-{k}: v{k}\r\n"));
    }
    extra.push_str("i: folded\r\n  call-id\n");
    extra.push_str("v:SIP/2.0/TCP h.example.com;branch=z9hG4bKlate\r\n");
    let b = register(VIA, &extra);
    let m = Message::parse(&b).unwrap();
    let text = std::str::from_utf8(&b).unwrap();
    assert_eq!(m.headers().len(), 7 + 40 + 3);
    for (k, h) in m.headers().iter().skip(7).take(40).enumerate() {
        assert_eq!(h.name(), format!("X-Filler-{k}"));
        assert_eq!(h.value(), format!("v{k}"));
        assert_eq!(text.get(h.offset()..).unwrap().find(':'), Some(h.name().len()));
        assert_eq!(
            text.get(h.value_offset()..).unwrap().split('\r').next(),
            Some(h.value().as_ref())
        );
    }
    let vias = m.via().unwrap();
    assert_eq!(vias.len(), 2);
    assert_eq!(vias[1].host, "h.example.com");
    assert_eq!(vias[1].branch(), Some("z9hG4bKlate"));
    let call_ids: Vec<_> = m
        .headers_of(sip_message::HeaderName::CallId)
        .map(|h| h.value().into_owned())
        .collect();
    assert_eq!(call_ids.len(), 2);
    assert!(call_ids[1].starts_with("folded") && call_ids[1].ends_with("call-id"));
    assert_eq!(m.header("content-length").unwrap().value(), "0");
}
