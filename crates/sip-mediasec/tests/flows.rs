//! The flows of the research notes (Telekom's REGISTER/401/REGISTER/200/INVITE, server-initiated,
//! TLS-only) and the three Asterisk regressions, driven message by message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use sip_mediasec::{Agreement, Event, MediaSecurity, Output, Policy, Transport, Verdict};
use sip_message::build::Request;
use sip_message::{HeaderName, Message, Method};

/// A response with the given status, CSeq method and extra header lines.
fn response(code: u16, method: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut s = format!(
        "SIP/2.0 {code} Whatever\r\nVia: SIP/2.0/TLS 192.0.2.10;branch=z9hG4bK1\r\n\
         From: <sip:a@example.com>;tag=1\r\nTo: <sip:a@example.com>;tag=2\r\nCall-ID: c1\r\nCSeq: 1 {method}\r\n"
    );
    for (n, v) in extra {
        s.push_str(&format!("{n}: {v}\r\n"));
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    s.into_bytes()
}

fn handle(a: &mut Agreement, code: u16, method: &str, extra: &[(&str, &str)]) -> Verdict {
    let bytes = response(code, method, extra);
    let m = Message::parse(&bytes).unwrap();
    a.handle_response(Instant::now(), &m).unwrap()
}

fn send(a: &mut Agreement, method: Method) -> Request {
    let mut r = Request::new(method, "sip:example.com");
    a.prepare_request(Instant::now(), &mut r);
    // Whatever we send must parse back with the same lists.
    let bytes = r.to_bytes();
    let parsed = Message::parse(&bytes).unwrap();
    parsed.security_mechanisms(HeaderName::SecurityVerify).unwrap();
    r
}

fn all<'r>(r: &'r Request, name: &'r str) -> Vec<&'r str> {
    r.headers.get_all(name).collect()
}

const TELEKOM_401: &[(&str, &str)] = &[
    (
        "WWW-Authenticate",
        "Digest realm=\"tel.t-online.de\", nonce=\"abc\", qop=\"auth\"",
    ),
    ("Security-Server", "msrp-tls;mediasec"),
    ("Security-Server", "sdes-srtp;mediasec"),
    ("Security-Server", "dtls-srtp;mediasec"),
];
const TELEKOM_LIST: [&str; 3] = ["msrp-tls;mediasec", "sdes-srtp;mediasec", "dtls-srtp;mediasec"];

/// Research A.3 / A.4, steps 1-5.
#[test]
fn telekom_client_initiated_flow() {
    let mut a = Agreement::new(Policy::client_initiated(), Transport::Tls);
    // (1) REGISTER offers the phone's mechanisms.
    let r1 = send(&mut a, Method::Register);
    assert_eq!(all(&r1, "Security-Client"), ["sdes-srtp;mediasec"]);
    assert_eq!(all(&r1, "Require"), ["mediasec"]);
    assert_eq!(all(&r1, "Proxy-Require"), ["mediasec"]);
    assert!(all(&r1, "Security-Verify").is_empty());
    // (2) 401 with three Security-Server lines.
    assert_eq!(handle(&mut a, 401, "REGISTER", TELEKOM_401), Verdict::Continue);
    assert!(matches!(
        a.poll_output().map(|Output::Event(e)| e),
        Some(Event::ServerList { replaced: false, .. })
    ));
    // (3) REGISTER + credentials: Security-Client again, Security-Verify mirrors in order.
    let r2 = send(&mut a, Method::Register);
    assert_eq!(all(&r2, "Security-Client"), ["sdes-srtp;mediasec"]);
    assert_eq!(all(&r2, "Security-Verify"), TELEKOM_LIST);
    assert_eq!(all(&r2, "Require"), ["mediasec"]);
    assert_eq!(all(&r2, "Proxy-Require"), ["mediasec"]);
    // (4) 200 OK.
    assert_eq!(handle(&mut a, 200, "REGISTER", &[]), Verdict::Continue);
    assert_eq!(
        a.poll_output().map(|Output::Event(e)| e),
        Some(Event::Agreed {
            media: Some(MediaSecurity::SdesSrtp)
        })
    );
    // (5) INVITE: Security-Verify and the option tags, no Security-Client.
    let inv = send(&mut a, Method::Invite);
    assert_eq!(all(&inv, "Security-Verify"), TELEKOM_LIST);
    assert!(all(&inv, "Security-Client").is_empty());
    assert_eq!(all(&inv, "Require"), ["mediasec"]);
    assert_eq!(all(&inv, "Proxy-Require"), ["mediasec"]);
    // ... and every other request except ACK, CANCEL, PRACK (RFC 3329 table 1).
    for m in [
        Method::Bye,
        Method::Options,
        Method::Update,
        Method::Message,
        Method::Subscribe,
        Method::Info,
    ] {
        assert_eq!(all(&send(&mut a, m), "Security-Verify"), TELEKOM_LIST);
    }
    for m in [Method::Ack, Method::Cancel, Method::Prack] {
        let r = send(&mut a, m);
        assert!(all(&r, "Security-Verify").is_empty() && all(&r, "Require").is_empty());
    }
}

/// MediaSec_Request = No: nothing offered, but the server's list is honoured.
#[test]
fn server_initiated_flow() {
    let mut a = Agreement::new(Policy::server_initiated(), Transport::Udp);
    let r1 = send(&mut a, Method::Register);
    assert!(r1.headers.iter().next().is_none(), "nothing added: {r1:?}");
    handle(&mut a, 401, "REGISTER", TELEKOM_401);
    let r2 = send(&mut a, Method::Register);
    assert!(all(&r2, "Security-Client").is_empty());
    assert_eq!(all(&r2, "Security-Verify"), TELEKOM_LIST);
    assert_eq!(all(&r2, "Require"), ["mediasec"]);
    handle(&mut a, 200, "REGISTER", &[]);
    assert_eq!(a.media(), Some(MediaSecurity::SdesSrtp));
}

/// Server-initiated with the list only in the 200 OK (TS 24.229 §5.1.1.2.1 d).
#[test]
fn server_list_in_200_ok_is_stored() {
    let mut a = Agreement::new(Policy::server_initiated(), Transport::Tcp);
    handle(
        &mut a,
        200,
        "REGISTER",
        &[("Security-Server", "sdes-srtp;mediasec")],
    );
    assert_eq!(
        all(&send(&mut a, Method::Invite), "Security-Verify"),
        ["sdes-srtp;mediasec"]
    );
}

/// Without any Security-Server the server-initiated phone never adds anything.
#[test]
fn server_initiated_without_server_list_stays_silent() {
    let mut a = Agreement::new(Policy::server_initiated(), Transport::Tcp);
    handle(
        &mut a,
        401,
        "REGISTER",
        &[("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n\"")],
    );
    handle(&mut a, 200, "REGISTER", &[]);
    let inv = send(&mut a, Method::Invite);
    assert!(inv.headers.iter().next().is_none());
    assert_eq!(a.poll_output().map(|Output::Event(e)| e), None);
}

/// MediaSec_Over_TLS_Only = Yes on a UDP line: off, loudly; on a TLS line: on.
#[test]
fn tls_only_gates_on_the_transport() {
    let policy = Policy {
        over_tls_only: true,
        ..Policy::client_initiated()
    };
    for transport in [Transport::Udp, Transport::Tcp] {
        let mut a = Agreement::new(policy.clone(), transport);
        assert!(!a.is_enabled());
        assert!(matches!(
            a.poll_output().map(|Output::Event(e)| e),
            Some(Event::Disabled { .. })
        ));
        let r = send(&mut a, Method::Register);
        assert!(r.headers.iter().next().is_none());
        handle(&mut a, 401, "REGISTER", TELEKOM_401);
        assert!(send(&mut a, Method::Register).headers.iter().next().is_none());
        assert_eq!(a.media(), None);
    }
    let mut a = Agreement::new(policy, Transport::Tls);
    assert!(a.is_enabled());
    assert_eq!(
        all(&send(&mut a, Method::Register), "Security-Client"),
        ["sdes-srtp;mediasec"]
    );
}

/// Asterisk #1731: every 401 on re-registration appended the list again, so the next
/// REGISTER carried duplicated Security-Verify lines and Telekom answered 403.
#[test]
fn asterisk_1731_list_is_replaced_never_appended() {
    let mut a = Agreement::new(Policy::client_initiated(), Transport::Tls);
    for _ in 0..5 {
        send(&mut a, Method::Register);
        handle(&mut a, 401, "REGISTER", TELEKOM_401);
        let r = send(&mut a, Method::Register);
        assert_eq!(all(&r, "Security-Verify"), TELEKOM_LIST);
        handle(&mut a, 200, "REGISTER", &[]);
    }
    // A different list replaces the old one entirely.
    handle(
        &mut a,
        401,
        "REGISTER",
        &[("Security-Server", "sdes-srtp;mediasec")],
    );
    assert_eq!(
        all(&send(&mut a, Method::Register), "Security-Verify"),
        ["sdes-srtp;mediasec"]
    );
    // A request object reused for a retry keeps exactly one copy.
    let mut r = Request::new(Method::Register, "sip:example.com");
    a.prepare_request(Instant::now(), &mut r);
    a.prepare_request(Instant::now(), &mut r);
    assert_eq!(all(&r, "Security-Verify"), ["sdes-srtp;mediasec"]);
    assert_eq!(all(&r, "Require"), ["mediasec"]);
}

/// Asterisk #48: Security-Client must still be present after a 401, and absent after a 494.
#[test]
fn asterisk_48_security_client_after_401_not_after_494() {
    let mut a = Agreement::new(Policy::client_initiated(), Transport::Tls);
    send(&mut a, Method::Register);
    handle(&mut a, 401, "REGISTER", TELEKOM_401);
    assert_eq!(
        all(&send(&mut a, Method::Register), "Security-Client"),
        ["sdes-srtp;mediasec"]
    );
    assert_eq!(
        handle(
            &mut a,
            494,
            "REGISTER",
            &[("Security-Server", "sdes-srtp;mediasec;q=0.5")]
        ),
        Verdict::Retry
    );
    let r = send(&mut a, Method::Register);
    assert!(all(&r, "Security-Client").is_empty());
    assert_eq!(all(&r, "Security-Verify"), ["sdes-srtp;mediasec;q=0.5"]);
    assert_eq!(all(&r, "Require"), ["mediasec"]);
}

/// Asterisk #789: INVITE lacked Security-Verify and Require/Proxy-Require. Also: an existing
/// Require line gets `mediasec` appended (Asterisk only added one when none existed).
#[test]
fn asterisk_789_invite_carries_verify_and_option_tags() {
    let mut a = Agreement::new(Policy::client_initiated(), Transport::Tls);
    send(&mut a, Method::Register);
    handle(&mut a, 401, "REGISTER", TELEKOM_401);
    send(&mut a, Method::Register);
    handle(&mut a, 200, "REGISTER", &[]);
    let mut inv = Request::new(Method::Invite, "sip:bob@example.com")
        .header("Require", "100rel")
        .header("Supported", "timer");
    a.prepare_request(Instant::now(), &mut inv);
    assert_eq!(all(&inv, "Require"), ["100rel, mediasec"]);
    assert_eq!(all(&inv, "Proxy-Require"), ["mediasec"]);
    assert_eq!(all(&inv, "Security-Verify"), TELEKOM_LIST);
}

/// q values, unknown mechanisms and unknown parameters are mirrored exactly (Asterisk drops
/// q and mechanisms outside its enum), and the highest-q supported mediasec one is chosen.
#[test]
fn mirror_is_exact_with_q_and_unknown_mechanisms() {
    let mut a = Agreement::new(Policy::client_initiated(), Transport::Tls);
    let server = "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064;q=0.1, \
                  dtls-srtp;mediasec;q=0.9, sdes-srtp;mediasec;q=0.5, future-mech;mediasec;x=\"quoted value\"";
    handle(&mut a, 401, "REGISTER", &[("Security-Server", server)]);
    let r = send(&mut a, Method::Register);
    assert_eq!(
        all(&r, "Security-Verify"),
        [
            "ipsec-3gpp;alg=hmac-sha-1-96;spi-c=1111;spi-s=2222;port-c=5062;port-s=5064;q=0.1",
            "dtls-srtp;mediasec;q=0.9",
            "sdes-srtp;mediasec;q=0.5",
            "future-mech;mediasec;x=\"quoted value\"",
        ]
    );
    // The phone supports only SDES: dtls-srtp has the higher q but is not ours.
    assert_eq!(a.media(), Some(MediaSecurity::SdesSrtp));
}

/// 494 handling is bounded, and a 494 without a list is not retried.
#[test]
fn rfc3329_494_retries_are_bounded() {
    let mut a = Agreement::new(Policy::client_initiated(), Transport::Tls);
    let list = [("Security-Server", "sdes-srtp;mediasec")];
    assert_eq!(handle(&mut a, 494, "REGISTER", &list), Verdict::Retry);
    assert_eq!(handle(&mut a, 494, "REGISTER", &list), Verdict::Retry);
    assert_eq!(handle(&mut a, 494, "REGISTER", &list), Verdict::GiveUp);
    assert!(
        std::iter::from_fn(|| a.poll_output().map(|Output::Event(e)| e))
            .any(|e| matches!(e, Event::Failed { .. }))
    );
    // A success resets the count.
    handle(&mut a, 200, "REGISTER", &[]);
    assert_eq!(handle(&mut a, 494, "REGISTER", &list), Verdict::Retry);

    let mut b = Agreement::new(Policy::client_initiated(), Transport::Tls);
    assert_eq!(handle(&mut b, 494, "REGISTER", &[]), Verdict::GiveUp);
}

/// A malformed Security-Server is an error with an offset, and the stored list survives.
#[test]
fn malformed_server_list_keeps_the_old_one() {
    let mut a = Agreement::new(Policy::client_initiated(), Transport::Tls);
    handle(&mut a, 401, "REGISTER", TELEKOM_401);
    let bytes = response(401, "REGISTER", &[("Security-Server", "sdes-srtp;;mediasec")]);
    let m = Message::parse(&bytes).unwrap();
    let e = a.handle_response(Instant::now(), &m).unwrap_err();
    assert_eq!(&bytes[e.offset..e.offset + 9], b";mediasec");
    assert_eq!(
        all(&send(&mut a, Method::Register), "Security-Verify"),
        TELEKOM_LIST
    );
}

/// Issue #11: server-initiated mode (MediaSec_Request = No): the first REGISTER offers
/// nothing; the server starts the agreement with 421 + `Require: mediasec` + its list
/// (RFC 3329 §2.3.2); the phone retries mirroring the list, without Security-Client.
#[test]
fn server_initiated_421_is_answered_with_verify() {
    let mut a = Agreement::new(Policy::server_initiated(), Transport::Udp);
    let r1 = send(&mut a, Method::Register);
    assert!(r1.headers.iter().next().is_none(), "{r1:?}");
    let v = handle(
        &mut a,
        421,
        "REGISTER",
        &[
            ("Require", "mediasec"),
            (
                "Security-Server",
                "sdes-srtp;mediasec;q=0.5, dtls-srtp;mediasec;q=0.1",
            ),
        ],
    );
    assert_eq!(v, Verdict::Retry);
    let r2 = send(&mut a, Method::Register);
    assert_eq!(
        all(&r2, "Security-Verify"),
        ["sdes-srtp;mediasec;q=0.5", "dtls-srtp;mediasec;q=0.1"]
    );
    assert!(all(&r2, "Security-Client").is_empty());
    assert_eq!(all(&r2, "Require"), ["mediasec"]);
    assert_eq!(all(&r2, "Proxy-Require"), ["mediasec"]);
    assert_eq!(handle(&mut a, 200, "REGISTER", &[]), Verdict::Continue);
    assert_eq!(a.media(), Some(MediaSecurity::SdesSrtp));
}

/// The same 421 in client-initiated mode is answered the same way (bounded like a 494).
#[test]
fn client_initiated_421_is_answered_and_bounded() {
    let mut a = Agreement::new(Policy::client_initiated(), Transport::Tls);
    send(&mut a, Method::Register);
    let demand = [("Require", "mediasec"), ("Security-Server", "sdes-srtp;mediasec")];
    assert_eq!(handle(&mut a, 421, "REGISTER", &demand), Verdict::Retry);
    let r2 = send(&mut a, Method::Register);
    assert_eq!(all(&r2, "Security-Verify"), ["sdes-srtp;mediasec"]);
    assert!(all(&r2, "Security-Client").is_empty());
    assert_eq!(handle(&mut a, 421, "REGISTER", &demand), Verdict::Retry);
    assert_eq!(handle(&mut a, 421, "REGISTER", &demand), Verdict::GiveUp);
}

/// A 421 for another extension, or requiring mediasec without a list, is no negotiation.
#[test]
fn other_421s_are_not_negotiations() {
    let mut a = Agreement::new(Policy::server_initiated(), Transport::Tls);
    send(&mut a, Method::Register);
    assert_eq!(
        handle(&mut a, 421, "REGISTER", &[("Require", "100rel")]),
        Verdict::Continue
    );
    assert_eq!(
        handle(&mut a, 421, "REGISTER", &[("Require", "mediasec")]),
        Verdict::GiveUp
    );
    assert!(
        std::iter::from_fn(|| a.poll_output().map(|Output::Event(e)| e))
            .any(|e| matches!(e, Event::Failed { .. }))
    );
}

/// MediaSec_Over_TLS_Only = Yes on UDP: a 421 or 494 demanding mediasec is refused, with the
/// setting named; nothing is mirrored.
#[test]
fn tls_only_refuses_a_server_demand_on_udp() {
    let policy = Policy {
        over_tls_only: true,
        ..Policy::server_initiated()
    };
    for code in [421, 494] {
        let mut a = Agreement::new(policy.clone(), Transport::Udp);
        send(&mut a, Method::Register);
        let v = handle(
            &mut a,
            code,
            "REGISTER",
            &[("Require", "mediasec"), ("Security-Server", "sdes-srtp;mediasec")],
        );
        assert_eq!(v, Verdict::GiveUp, "{code}");
        let events: Vec<_> = std::iter::from_fn(|| a.poll_output().map(|Output::Event(e)| e)).collect();
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Failed { reason } if reason.contains("MediaSec_Over_TLS_Only"))),
            "{events:?}"
        );
        let r = send(&mut a, Method::Register);
        assert!(all(&r, "Security-Verify").is_empty());
    }
}
