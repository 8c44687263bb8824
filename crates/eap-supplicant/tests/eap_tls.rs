//! Full EAP-TLS conversations against an in-process rustls authenticator: TLS 1.2 and 1.3,
//! with and without fragmentation, over EAPOL through the supplicant PAE, and the keys compared
//! with the server side's exporter.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::Instant;

use common::{Authenticator, Next, peer_config, pki, server_config, server_config_with_tickets};
use eap_supplicant::eapol::{EapolFrame, PacketType};
use eap_supplicant::{
    Event, FailureReason, Output, PaeState, Peer, PeerOutput, Supplicant, TlsVersion, TlsVersions,
};

/// Runs a conversation with the peer alone; returns the peer's events and the authenticator.
fn converse(
    versions: TlsVersions,
    tls13_server: bool,
    peer_fragment: usize,
    server_fragment: usize,
    commitment: bool,
) -> (Vec<Event>, Authenticator, usize) {
    converse_with(versions, tls13_server, peer_fragment, server_fragment, |auth| {
        auth.send_commitment = commitment
    })
}

fn converse_with(
    versions: TlsVersions,
    tls13_server: bool,
    peer_fragment: usize,
    server_fragment: usize,
    setup: impl FnOnce(&mut Authenticator),
) -> (Vec<Event>, Authenticator, usize) {
    let pki = pki();
    converse_on(
        &pki,
        server_config(&pki, tls13_server),
        versions,
        peer_fragment,
        server_fragment,
        setup,
    )
}

fn converse_on(
    pki: &common::Pki,
    server: std::sync::Arc<rustls::ServerConfig>,
    versions: TlsVersions,
    peer_fragment: usize,
    server_fragment: usize,
    setup: impl FnOnce(&mut Authenticator),
) -> (Vec<Event>, Authenticator, usize) {
    let mut peer = Peer::new(peer_config(pki, versions, peer_fragment));
    let mut auth = Authenticator::new(server, server_fragment);
    setup(&mut auth);
    let mut events = Vec::new();
    let mut packet = auth.identity_request();
    let mut requests = 0;
    for _ in 0..100 {
        peer.handle_packet(Instant::now(), &packet).unwrap();
        requests += 1;
        let mut response = None;
        while let Some(out) = peer.poll_output() {
            match out {
                PeerOutput::Response(r) => response = Some(r),
                PeerOutput::Event(e) => events.push(e),
            }
        }
        let Some(response) = response else { break };
        match auth.handle(&response) {
            Next::Request(r) => packet = r,
            Next::Done(outcome) => {
                let _ = peer.handle_packet(Instant::now(), &outcome);
                while let Some(out) = peer.poll_output() {
                    if let PeerOutput::Event(e) = out {
                        events.push(e);
                    }
                }
                break;
            }
        }
    }
    (events, auth, requests)
}

fn authenticated(events: &[Event]) -> &eap_supplicant::Authenticated {
    match events.last() {
        Some(Event::Authenticated(a)) => a,
        other => panic!("expected Authenticated, got {other:?} (all: {events:?})"),
    }
}

#[test]
fn tls12_keys_equal_the_servers_rfc5216_export() {
    let (events, auth, _) = converse(TlsVersions::Tls12Only, false, 1398, 1398, true);
    assert_eq!(events.first(), Some(&Event::Authenticating));
    let a = authenticated(&events);
    assert_eq!(a.tls_version, TlsVersion::Tls12);
    assert_eq!(a.msk.expose(), auth.msk().as_slice());
    assert_eq!(a.msk.len(), 64);
    assert_eq!(a.emsk.len(), 64);
    assert_eq!(a.session_id.len(), 65);
    assert_eq!(a.session_id[0], 13);
    assert_eq!(format!("{:?}", a.msk), "<redacted>");
}

#[test]
fn tls13_keys_equal_the_servers_rfc9190_export() {
    let (events, auth, _) = converse(TlsVersions::Tls12And13, true, 1398, 1398, true);
    let a = authenticated(&events);
    assert_eq!(a.tls_version, TlsVersion::Tls13);
    assert_eq!(a.msk.expose(), auth.msk().as_slice());
    assert_eq!(a.session_id.len(), 65);
    assert_ne!(a.msk, a.emsk);
}

#[test]
fn small_fragments_both_ways_reassemble() {
    for (versions, tls13) in [(TlsVersions::Tls12Only, false), (TlsVersions::Tls13Only, true)] {
        let (events, auth, requests) = converse(versions, tls13, 64, 100, true);
        let a = authenticated(&events);
        assert_eq!(a.msk.expose(), auth.msk().as_slice());
        assert!(requests > 10, "{requests} requests with 64/100-byte fragments");
    }
}

#[test]
fn tls13_success_without_commitment_is_refused() {
    let (events, _, _) = converse(TlsVersions::Tls13Only, true, 1398, 1398, false);
    assert_eq!(
        events.last(),
        Some(&Event::Failed {
            reason: FailureReason::MissingCommitment
        })
    );
}

#[test]
fn supplicant_over_eapol_authenticates_and_reauthenticates() {
    let pki = pki();
    let mut sup = Supplicant::new(peer_config(&pki, TlsVersions::Tls12And13, 1398));
    let now = Instant::now();
    sup.link_up(now);
    let start = match sup.poll_output() {
        Some(Output::Transmit(f)) => f,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        EapolFrame::parse(&start).unwrap().packet_type(),
        PacketType::Start
    );

    for round in 0..2 {
        let mut auth = Authenticator::new(server_config(&pki, round == 1), 1398);
        let mut eap = auth.identity_request();
        let mut done = None;
        let (mut timer, mut armed) = (None, false);
        for _ in 0..50 {
            let frame = [&[2u8, 0][..], &(eap.len() as u16).to_be_bytes(), &eap].concat();
            sup.handle_frame(now, &frame).unwrap();
            let mut response = None;
            while let Some(out) = sup.poll_output() {
                match out {
                    Output::Transmit(f) => {
                        let f = EapolFrame::parse(&f).unwrap();
                        assert_eq!(f.version(), 3);
                        response = Some(f.body().to_vec());
                    }
                    Output::Event(e) => done = Some(e),
                    Output::Timeout(t) => {
                        armed |= t.is_some();
                        timer = t;
                    }
                }
            }
            if matches!(done, Some(Event::Authenticated(_)) | Some(Event::Failed { .. })) {
                break;
            }
            match auth.handle(&response.unwrap()) {
                Next::Request(r) | Next::Done(r) => eap = r,
            }
        }
        let a = match done {
            Some(Event::Authenticated(a)) => a,
            other => panic!("round {round}: {other:?}"),
        };
        assert_eq!(a.msk.expose(), auth.msk().as_slice());
        assert_eq!(sup.state(), PaeState::Authenticated);
        assert!(armed, "authPeriod ran while authenticating");
        assert_eq!(
            timer, None,
            "round {round}: authenticated, the timer is disarmed through poll_output"
        );
    }
}

#[test]
fn tls13_close_notify_counts_as_the_commitment() {
    let (events, auth, _) = converse_with(TlsVersions::Tls13Only, true, 1398, 1398, |a| {
        a.close_notify_commitment = true
    });
    let a = authenticated(&events);
    assert_eq!(a.msk.expose(), auth.msk().as_slice());
}

#[test]
fn tls13_new_session_tickets_before_success_are_accepted() {
    let pki = pki();
    let server = server_config_with_tickets(&pki, true, 2);
    let (events, auth, _) = converse_on(&pki, server, TlsVersions::Tls13Only, 1398, 1398, |_| {});
    let a = authenticated(&events);
    assert_eq!(a.msk.expose(), auth.msk().as_slice());
}

/// The RADIUS case: a peer that starts the conversation itself ([`Peer::start`]) gives the same
/// conversation as one fed the implied EAP-Request/Identity with identifier 0 (what the agent
/// used to fake): the same first outputs byte for byte, then the same requests answered with the
/// same response codes, identifiers and methods, the same events, and keys equal to the
/// server's export — for TLS 1.2 and 1.3, fragmented and not.
#[test]
fn started_peer_converses_like_an_implied_identity_request() {
    let pki = pki();
    type Summary = (Vec<PeerOutput>, Vec<(u8, u8, Option<u8>)>, Vec<String>);
    let run = |versions: TlsVersions, fragment: usize, start: bool| -> Summary {
        let now = Instant::now();
        let mut peer = Peer::new(peer_config(&pki, versions, fragment));
        let mut auth = Authenticator::new(server_config(&pki, versions == TlsVersions::Tls13Only), fragment);
        // The implied request had identifier 0; the authenticator numbers on from there.
        auth.id = 0;
        if start {
            peer.start(now);
        } else {
            let implied = eap_supplicant::eap::request(0, eap_supplicant::eap::MethodType::Identity, &[]);
            peer.handle_packet(now, &implied).unwrap();
        }
        let first: Vec<PeerOutput> = std::iter::from_fn(|| peer.poll_output()).collect();
        let mut responses = Vec::new();
        let mut events = Vec::new();
        let mut response = first.iter().find_map(|o| match o {
            PeerOutput::Response(r) => Some(r.clone()),
            PeerOutput::Event(_) => None,
        });
        for _ in 0..100 {
            let Some(r) = response.take() else { break };
            let p = eap_supplicant::eap::EapPacket::parse(&r).unwrap();
            responses.push((
                p.code().value(),
                p.identifier(),
                p.method_type().map(|m| m.value()),
            ));
            let packet = match auth.handle(&r) {
                Next::Request(q) | Next::Done(q) => q,
            };
            peer.handle_packet(now, &packet).unwrap();
            while let Some(out) = peer.poll_output() {
                match out {
                    PeerOutput::Response(r) => response = Some(r),
                    PeerOutput::Event(Event::Authenticated(a)) => {
                        assert_eq!(a.msk.expose(), auth.msk().as_slice());
                        events.push(format!("Authenticated {:?} {:?}", a.protocol, a.tls_version));
                    }
                    PeerOutput::Event(e) => events.push(format!("{e:?}")),
                }
            }
        }
        (first, responses, events)
    };
    for versions in [TlsVersions::Tls12Only, TlsVersions::Tls13Only] {
        for fragment in [1398, 300] {
            let implied = run(versions, fragment, false);
            let started = run(versions, fragment, true);
            assert_eq!(started, implied, "{versions:?}, fragments of {fragment}");
            assert!(matches!(
                started.0.as_slice(),
                [PeerOutput::Event(Event::Authenticating), PeerOutput::Response(r)]
                    if r == &eap_supplicant::eap::response(0, eap_supplicant::eap::MethodType::Identity, b"phone")
            ));
            assert!(started.1.len() > 3, "{:?}", started.1);
            assert!(
                started.2.last().is_some_and(|e| e.starts_with("Authenticated")),
                "{:?}",
                started.2
            );
        }
    }
}
