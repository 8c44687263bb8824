//! EAP-TLS conversation cost, measured in-process against a rustls authenticator (the figure
//! includes the server's work), and the EAPOL/EAP parse of one frame.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::Instant;

use common::{Authenticator, Next, peer_config, pki, server_config};
use criterion::{Criterion, criterion_group, criterion_main};
use eap_supplicant::eap::EapPacket;
use eap_supplicant::eapol::EapolFrame;
use eap_supplicant::{Event, Peer, PeerOutput, TlsVersions};

fn conversation(c: &mut Criterion) {
    let pki = pki();
    for (name, versions, tls13) in [
        ("eap_tls12_conversation", TlsVersions::Tls12Only, false),
        ("eap_tls13_conversation", TlsVersions::Tls13Only, true),
    ] {
        let config = peer_config(&pki, versions, 1398);
        let server = server_config(&pki, tls13);
        c.bench_function(name, |b| {
            b.iter(|| {
                let mut peer = Peer::new(config.clone());
                let mut auth = Authenticator::new(server.clone(), 1398);
                let mut packet = auth.identity_request();
                loop {
                    peer.handle_packet(Instant::now(), &packet).unwrap();
                    let mut response = None;
                    let mut done = false;
                    while let Some(out) = peer.poll_output() {
                        match out {
                            PeerOutput::Response(r) => response = Some(r),
                            PeerOutput::Event(Event::Authenticated(_)) => done = true,
                            PeerOutput::Event(_) => {}
                        }
                    }
                    if done {
                        break;
                    }
                    match auth.handle(&response.unwrap()) {
                        Next::Request(r) | Next::Done(r) => packet = r,
                    }
                }
                black_box(peer.requests())
            })
        });
    }
}

fn parse(c: &mut Criterion) {
    let frame = [3u8, 0, 0, 6, 1, 2, 0, 6, 13, 0x20];
    c.bench_function("eapol_eap_parse", |b| {
        b.iter(|| {
            let f = EapolFrame::parse(black_box(&frame)).unwrap();
            black_box(EapPacket::parse(f.body()).unwrap().method_type())
        })
    });
}

criterion_group!(benches, conversation, parse);
criterion_main!(benches);
