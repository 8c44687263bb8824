//! The malformed-input classes of hostap's `test_eap_proto.py` (EAP layer and EAP-TLS framing),
//! table-driven: each fails closed (a discard or a `Failed` event, never `Authenticated`), none
//! panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{peer_config, pki};
use eap_supplicant::eap::{self, Code, MethodType};
use eap_supplicant::tls::FragmentError;
use eap_supplicant::{Discarded, Event, FailureReason, Peer, PeerOutput, TlsVersions};
use std::time::Instant;

/// How a case must end.
#[derive(Debug)]
enum Expect {
    /// The last packet is discarded with this error; no Failed/Authenticated event.
    Discard(Discarded),
    /// A Failed event with this reason.
    Fail(FailureReason),
}

fn identity(id: u8) -> Vec<u8> {
    eap::request(id, MethodType::Identity, &[])
}
fn tls(id: u8, data: &[u8]) -> Vec<u8> {
    eap::request(id, MethodType::Tls, data)
}

fn run(name: &str, packets: &[Vec<u8>], expect: Expect) {
    let pki = pki();
    let mut peer = Peer::new(peer_config(&pki, TlsVersions::Tls12And13, 1398));
    let mut last = Ok(eap_supplicant::Handled::Answered);
    let mut events = Vec::new();
    let mut before_last = 0;
    for p in packets {
        before_last = events.len();
        last = peer.handle_packet(Instant::now(), p);
        while let Some(out) = peer.poll_output() {
            if let PeerOutput::Event(e) = out {
                events.push(e);
            }
        }
    }
    assert!(
        !events.iter().any(|e| matches!(e, Event::Authenticated(_))),
        "{name}: authenticated!"
    );
    match expect {
        Expect::Discard(d) => {
            assert_eq!(last, Err(d), "{name}");
            assert!(
                !events[before_last..]
                    .iter()
                    .any(|e| matches!(e, Event::Failed { .. })),
                "{name}: {events:?}"
            );
        }
        Expect::Fail(reason) => {
            assert!(last.is_ok(), "{name}: {last:?}");
            assert_eq!(events.last(), Some(&Event::Failed { reason }), "{name}");
        }
    }
}

fn start() -> Vec<Vec<u8>> {
    vec![identity(1), tls(2, &[0x20])]
}

fn with(mut v: Vec<Vec<u8>>, p: Vec<u8>) -> Vec<Vec<u8>> {
    v.push(p);
    v
}

#[test]
fn eap_layer_cases() {
    use Expect::*;
    let cases: Vec<(&str, Vec<Vec<u8>>, Expect)> = vec![
        (
            "Success before any request",
            vec![eap::outcome(Code::Success, 0)],
            Discard(Discarded::NoConversation(Code::Success)),
        ),
        (
            "Failure before any request",
            vec![eap::outcome(Code::Failure, 0)],
            Discard(Discarded::NoConversation(Code::Failure)),
        ),
        (
            "canned Success after Identity",
            vec![identity(1), eap::outcome(Code::Success, 1)],
            Fail(FailureReason::UnexpectedSuccess),
        ),
        (
            "Success id off by 2",
            vec![identity(1), eap::outcome(Code::Success, 3)],
            Discard(Discarded::WrongIdentifier {
                code: Code::Success,
                expected: 1,
                got: 3,
            }),
        ),
        (
            "Success id off by -1",
            vec![identity(5), eap::outcome(Code::Success, 4)],
            Discard(Discarded::WrongIdentifier {
                code: Code::Success,
                expected: 5,
                got: 4,
            }),
        ),
        (
            "Failure id off by 3",
            vec![identity(1), eap::outcome(Code::Failure, 4)],
            Discard(Discarded::WrongIdentifier {
                code: Code::Failure,
                expected: 1,
                got: 4,
            }),
        ),
        (
            "Success before the method finished",
            with(start(), eap::outcome(Code::Success, 2)),
            Fail(FailureReason::UnexpectedSuccess),
        ),
        (
            "Success id+1 before the method finished",
            with(start(), eap::outcome(Code::Success, 3)),
            Fail(FailureReason::UnexpectedSuccess),
        ),
        (
            "Failure during the method",
            with(start(), eap::outcome(Code::Failure, 2)),
            Fail(FailureReason::EapFailure),
        ),
        (
            "canned Failure before method",
            vec![identity(1), eap::outcome(Code::Failure, 1)],
            Fail(FailureReason::EapFailure),
        ),
        (
            "second Success after Failure",
            vec![
                identity(1),
                eap::outcome(Code::Failure, 1),
                eap::outcome(Code::Success, 1),
            ],
            Discard(Discarded::Finished(Code::Success)),
        ),
        (
            "EAP Response sent to the peer",
            vec![eap::response(1, MethodType::Identity, b"x")],
            Discard(Discarded::Response),
        ),
        (
            "Nak as a Request",
            vec![eap::request(1, MethodType::Nak, &[13])],
            Discard(Discarded::NakRequest),
        ),
        (
            "other method in the middle of EAP-TLS",
            with(start(), eap::request(3, MethodType::Md5Challenge, &[16; 17])),
            Discard(Discarded::MethodMismatch(MethodType::Md5Challenge)),
        ),
        (
            "truncated header",
            vec![vec![1, 1, 0]],
            Discard(Discarded::Malformed(eap::EapError::TooShort { len: 3 })),
        ),
        (
            "Length above the bytes received",
            vec![vec![1, 1, 0, 40, 1]],
            Discard(Discarded::Malformed(eap::EapError::BadLength {
                declared: 40,
                available: 5,
            })),
        ),
        (
            "Length below the header",
            vec![vec![1, 1, 0, 2, 1]],
            Discard(Discarded::Malformed(eap::EapError::BadLength {
                declared: 2,
                available: 5,
            })),
        ),
        (
            "Request without Type",
            vec![vec![1, 1, 0, 4]],
            Discard(Discarded::Malformed(eap::EapError::MissingType {
                code: Code::Request,
            })),
        ),
        (
            "unknown Code 5 (ERP)",
            vec![vec![5, 1, 0, 4]],
            Discard(Discarded::Malformed(eap::EapError::UnknownCode(5))),
        ),
    ];
    for (name, packets, expect) in cases {
        run(name, &packets, expect);
    }
}

#[test]
fn eap_tls_framing_cases() {
    use Expect::*;
    let big = 70_000u32.to_be_bytes();
    let cases: Vec<(&str, Vec<Vec<u8>>, Expect)> = vec![
        (
            "no Flags octet",
            vec![identity(1), tls(2, &[])],
            Discard(Discarded::Fragment(FragmentError::MissingFlags)),
        ),
        (
            "too much payload in TLS/Start: L=0 with data",
            vec![identity(1), tls(2, &[0xA0, 0, 0, 0, 0, 0x16])],
            Discard(Discarded::Fragment(FragmentError::InvalidStart)),
        ),
        (
            "TLS/Start with data",
            vec![identity(1), tls(2, &[0x20, 0x16, 3, 3])],
            Discard(Discarded::Fragment(FragmentError::InvalidStart)),
        ),
        (
            "fragmented TLS/Start",
            vec![identity(1), tls(2, &[0x60])],
            Discard(Discarded::Fragment(FragmentError::InvalidStart)),
        ),
        (
            "fragmented TLS/Start, truncated Message Length",
            vec![identity(1), tls(2, &[0xE0, 0, 0])],
            Discard(Discarded::Fragment(FragmentError::TruncatedLength(2))),
        ),
        (
            "Start during the handshake",
            with(start(), tls(3, &[0x20])),
            Discard(Discarded::Fragment(FragmentError::UnexpectedStart)),
        ),
        (
            "TLS data before Start",
            vec![identity(1), tls(2, &[0, 0x16, 3, 3, 0, 1, 0])],
            Discard(Discarded::Fragment(FragmentError::DataBeforeStart)),
        ),
        (
            "data while the peer's own fragments await an ACK",
            {
                // A 64-byte fragment size makes the ClientHello span several fragments.
                let v = start();
                with(v, tls(3, &[0, 1, 2, 3]))
            },
            Discard(Discarded::Fragment(FragmentError::ExpectedAck(3))),
        ),
        (
            "oversized reassembly: L above the limit",
            with(start(), tls(3, &[0xC0, big[0], big[1], big[2], big[3], 0x16])),
            Fail(FailureReason::Fragmentation(FragmentError::MessageTooLong {
                declared: 70_000,
                limit: 65_536,
            })),
        ),
        (
            "first fragment with M but no L",
            with(start(), tls(3, &[0x40, 0x16, 3, 3])),
            Fail(FailureReason::Fragmentation(FragmentError::MissingLength)),
        ),
        (
            "more data than the TLS Message Length",
            with(start(), tls(3, &[0xC0, 0, 0, 0, 3, 1, 2, 3, 4])),
            Fail(FailureReason::Fragmentation(FragmentError::Overflow {
                declared: 3,
                received: 4,
            })),
        ),
        (
            "more data than the length, over two fragments",
            vec![
                identity(1),
                tls(2, &[0x20]),
                tls(3, &[0xC0, 0, 0, 0, 4, 1, 2, 3]),
                tls(4, &[0, 4, 5]),
            ],
            Fail(FailureReason::Fragmentation(FragmentError::Overflow {
                declared: 4,
                received: 5,
            })),
        ),
        (
            "last fragment short of the length",
            vec![
                identity(1),
                tls(2, &[0x20]),
                tls(3, &[0xC0, 0, 0, 0, 9, 1, 2, 3]),
                tls(4, &[0, 4]),
            ],
            Fail(FailureReason::Fragmentation(FragmentError::Underflow {
                declared: 9,
                received: 4,
            })),
        ),
        (
            "L with a truncated length field mid-handshake",
            with(start(), tls(3, &[0x80, 0])),
            Discard(Discarded::Fragment(FragmentError::TruncatedLength(1))),
        ),
        (
            "garbage instead of a TLS record",
            with(start(), tls(3, &[0, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0])),
            Fail(FailureReason::Tls(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType,
            ))),
        ),
    ];
    for (name, packets, expect) in cases {
        if name.starts_with("data while") {
            run_small_fragments(name, &packets, expect);
        } else {
            run(name, &packets, expect);
        }
    }
}

fn run_small_fragments(name: &str, packets: &[Vec<u8>], expect: Expect) {
    let pki = pki();
    let mut peer = Peer::new(peer_config(&pki, TlsVersions::Tls12And13, 64));
    let mut last = Ok(eap_supplicant::Handled::Answered);
    for p in packets {
        last = peer.handle_packet(Instant::now(), p);
    }
    match expect {
        Expect::Discard(d) => assert_eq!(last, Err(d), "{name}"),
        Expect::Fail(_) => unreachable!(),
    }
}

#[test]
fn retransmitted_request_gets_the_same_response_without_advancing_tls() {
    let pki = pki();
    let mut peer = Peer::new(peer_config(&pki, TlsVersions::Tls12And13, 1398));
    peer.handle_packet(Instant::now(), &identity(1)).unwrap();
    peer.handle_packet(Instant::now(), &tls(2, &[0x20])).unwrap();
    let mut first = None;
    while let Some(o) = peer.poll_output() {
        if let PeerOutput::Response(r) = o {
            first = Some(r);
        }
    }
    assert_eq!(
        peer.handle_packet(Instant::now(), &tls(2, &[0x20])),
        Ok(eap_supplicant::Handled::Retransmitted)
    );
    assert_eq!(peer.poll_output(), Some(PeerOutput::Response(first.unwrap())));
    assert_eq!(peer.requests(), 2);
}

#[test]
fn nak_offers_eap_tls_for_other_methods() {
    let pki = pki();
    let mut peer = Peer::new(peer_config(&pki, TlsVersions::Tls12And13, 1398));
    peer.handle_packet(Instant::now(), &identity(1)).unwrap();
    let _ = peer.poll_output();
    let _ = peer.poll_output();
    peer.handle_packet(
        Instant::now(),
        &eap::request(2, MethodType::Md5Challenge, &[16; 17]),
    )
    .unwrap();
    assert!(matches!(
        peer.poll_output(),
        Some(PeerOutput::Event(Event::MethodDeclined {
            requested: MethodType::Md5Challenge,
            ..
        }))
    ));
    assert_eq!(
        peer.poll_output(),
        Some(PeerOutput::Response(vec![2, 2, 0, 6, 3, 13]))
    );
    // An expanded-type request gets an Expanded Nak listing EAP-TLS (RFC 3748 §5.3.2).
    peer.handle_packet(
        Instant::now(),
        &eap::request(3, MethodType::Expanded, &[0, 0, 0x9f, 0, 0, 0, 1]),
    )
    .unwrap();
    let Some(PeerOutput::Response(r)) = peer.poll_output() else {
        panic!()
    };
    assert_eq!(&r[4..], &[254, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 13]);
    // Notification is answered with an empty Notification response.
    peer.handle_packet(
        Instant::now(),
        &eap::request(4, MethodType::Notification, b"hello"),
    )
    .unwrap();
    assert_eq!(
        peer.poll_output(),
        Some(PeerOutput::Response(vec![2, 4, 0, 5, 2]))
    );
}

#[test]
fn eap_fast_unconfigured_is_declined_with_a_nak_offering_eap_tls() {
    let pki = pki();
    let mut peer = Peer::new(peer_config(&pki, TlsVersions::Tls12And13, 1398));
    peer.handle_packet(Instant::now(), &identity(1)).unwrap();
    let _ = peer.poll_output();
    let _ = peer.poll_output();
    // EAP-FAST Start: flags S, version 1, then the A-ID TLV (type 4, length 16).
    let mut start = vec![0x21, 0, 4, 0, 16];
    start.extend_from_slice(&[0x11; 16]);
    peer.handle_packet(Instant::now(), &eap::request(2, MethodType::Fast, &start))
        .unwrap();
    let Some(PeerOutput::Event(Event::MethodDeclined { requested, reason })) = peer.poll_output() else {
        panic!("no MethodDeclined event")
    };
    assert_eq!(requested, MethodType::Fast);
    assert!(
        reason.contains("EAP-FAST is not configured") || reason.contains("EAP-FAST is not built in"),
        "{reason}"
    );
    // Legacy Nak (type 3) listing EAP-TLS (13) only.
    assert_eq!(
        peer.poll_output(),
        Some(PeerOutput::Response(vec![2, 2, 0, 6, 3, 13]))
    );
    assert_eq!(peer.poll_output(), None);
    // The server insists on EAP-FAST and fails the conversation: the peer fails closed.
    peer.handle_packet(Instant::now(), &[4, 2, 0, 4]).unwrap();
    assert_eq!(
        peer.poll_output(),
        Some(PeerOutput::Event(Event::Failed {
            reason: FailureReason::EapFailure
        }))
    );
}

#[test]
fn arbitrary_bytes_never_panic() {
    let pki = pki();
    let mut peer = Peer::new(peer_config(&pki, TlsVersions::Tls12And13, 64));
    // A cheap deterministic generator: every prefix and many mutations of a TLS Start.
    let mut x: u32 = 0x1234_5678;
    for len in 0..300usize {
        let mut p = Vec::with_capacity(len);
        for _ in 0..len {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            p.push(x as u8);
        }
        if p.len() >= 4 {
            p[0] = 1 + (p[0] % 4);
            let l = (p.len() as u16).to_be_bytes();
            p[2] = l[0];
            p[3] = l[1];
        }
        let _ = peer.handle_packet(Instant::now(), &p);
        while peer.poll_output().is_some() {}
    }
}
