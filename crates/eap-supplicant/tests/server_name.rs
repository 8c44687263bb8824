//! The server-name policy for EAP (no host name to check): a SAN dNSName equal to, or under, the
//! configured domain; the subject CN only when the certificate has no dNSName.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Authenticator, Next, Pki, pki_with_server, server_config};
use eap_supplicant::{
    Config, EapTlsConfig, Event, FailureReason, Peer, PeerOutput, ServerNameMatch, TlsVersions,
};
use std::time::Instant;

fn outcome(pki: &Pki, name: ServerNameMatch) -> Event {
    let tls = EapTlsConfig::builder(
        pki.ca_pem.as_bytes(),
        std::sync::Arc::new(eap_supplicant::DefaultTimeProvider),
    )
    .client_certificate(pki.client_pem.as_bytes(), pki.client_key_pem.as_bytes())
    .tls_versions(TlsVersions::Tls13Only)
    .server_name(name)
    .build()
    .unwrap();
    let mut peer = Peer::new(Config::new("phone", tls));
    let mut auth = Authenticator::new(server_config(pki, true), 1398);
    let mut packet = auth.identity_request();
    let mut last = None;
    for _ in 0..20 {
        let _ = peer.handle_packet(Instant::now(), &packet);
        let mut response = None;
        while let Some(out) = peer.poll_output() {
            match out {
                PeerOutput::Response(r) => response = Some(r),
                PeerOutput::Event(e) => last = Some(e),
            }
        }
        match (response, &last) {
            (_, Some(Event::Authenticated(_) | Event::Failed { .. })) | (None, _) => break,
            (Some(r), _) => match auth.handle(&r) {
                Next::Request(r) | Next::Done(r) => packet = r,
            },
        }
    }
    last.unwrap()
}

fn refused() -> Event {
    Event::Failed {
        reason: FailureReason::Tls(rustls::Error::InvalidCertificate(
            rustls::CertificateError::NotValidForName,
        )),
    }
}

#[test]
fn san_dns_names_decide_when_present() {
    let pki = pki_with_server(vec!["radius.example.org".into()], Some("ignored.example.net"));
    let ok = |m| matches!(outcome(&pki, m), Event::Authenticated(_));
    assert!(ok(ServerNameMatch::Suffix("example.org".into())));
    assert!(ok(ServerNameMatch::Exact("RADIUS.example.org".into())));
    assert_eq!(
        outcome(&pki, ServerNameMatch::Suffix("example.net".into())),
        refused()
    );
    assert_eq!(
        outcome(&pki, ServerNameMatch::Suffix("ample.org".into())),
        refused()
    );
    assert_eq!(
        outcome(&pki, ServerNameMatch::Exact("example.org".into())),
        refused()
    );
}

#[test]
fn subject_cn_is_used_only_without_a_dns_name() {
    let pki = pki_with_server(vec![], Some("radius.example.org"));
    assert!(matches!(
        outcome(&pki, ServerNameMatch::Suffix("example.org".into())),
        Event::Authenticated(_)
    ));
    assert_eq!(
        outcome(&pki, ServerNameMatch::Suffix("example.com".into())),
        refused()
    );
}
