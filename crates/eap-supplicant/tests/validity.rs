//! Certificate validity is judged at the time the host's clock gives, not the system clock: the
//! same server certificate (valid 2020-01-01 to 2021-01-01) is accepted, expired or not yet valid
//! depending only on the `TimeProvider` handed to the configuration.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Authenticator, Next, Pki, pki_with_server_valid, server_config};
use eap_supplicant::{
    Config, EapTlsConfig, Event, FailureReason, Peer, PeerOutput, TimeProvider, TlsVersions, UnixTime,
};

/// A clock stopped at one instant, as a host without a set clock or a test would give.
#[derive(Debug)]
struct FixedClock(UnixTime);

impl TimeProvider for FixedClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(self.0)
    }
}

/// Seconds since the epoch of 00:00 UTC on that day of 2019, 2020 or 2021.
fn at(year: u64, day_of_year: u64) -> Arc<dyn TimeProvider> {
    let year_start = match year {
        2019 => 1_546_300_800,
        2020 => 1_577_836_800,
        2021 => 1_609_459_200,
        _ => unreachable!("only 2019-2021 are used"),
    };
    let secs = year_start + (day_of_year - 1) * 86_400;
    Arc::new(FixedClock(UnixTime::since_unix_epoch(Duration::from_secs(secs))))
}

fn outcome(pki: &Pki, clock: Arc<dyn TimeProvider>, tls13: bool) -> Event {
    let versions = if tls13 {
        TlsVersions::Tls13Only
    } else {
        TlsVersions::Tls12Only
    };
    let tls = EapTlsConfig::builder(pki.ca_pem.as_bytes(), clock)
        .client_certificate(pki.client_pem.as_bytes(), pki.client_key_pem.as_bytes())
        .tls_versions(versions)
        .build()
        .unwrap();
    let mut peer = Peer::new(Config::new("phone", tls));
    let mut auth = Authenticator::new(server_config(pki, tls13), 1398);
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

fn certificate_error(e: &Event) -> Option<&rustls::CertificateError> {
    match e {
        Event::Failed {
            reason: FailureReason::Tls(rustls::Error::InvalidCertificate(c)),
        } => Some(c),
        _ => None,
    }
}

fn pki_2020() -> Pki {
    pki_with_server_valid(
        vec!["radius.example.org".into()],
        None,
        Some(((2020, 1, 1), (2021, 1, 1))),
    )
}

#[test]
fn a_certificate_is_valid_only_inside_its_period_at_the_hosts_time() {
    let pki = pki_2020();
    for tls13 in [false, true] {
        let inside = outcome(&pki, at(2020, 183), tls13);
        assert!(
            matches!(inside, Event::Authenticated(_)),
            "TLS 1.3 {tls13}: {inside:?}"
        );

        let after = outcome(&pki, at(2021, 32), tls13);
        assert!(
            matches!(
                certificate_error(&after),
                Some(rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. })
            ),
            "TLS 1.3 {tls13}: expired at the host's time: {after:?}"
        );

        let before = outcome(&pki, at(2019, 200), tls13);
        assert!(
            matches!(
                certificate_error(&before),
                Some(
                    rustls::CertificateError::NotValidYet
                        | rustls::CertificateError::NotValidYetContext { .. }
                )
            ),
            "TLS 1.3 {tls13}: not yet valid at the host's time: {before:?}"
        );
    }
}

#[test]
fn the_system_clock_is_used_only_when_the_host_hands_it_in() {
    // Today (after 2021) the certificate is expired: the host that passes the system clock gets
    // the system clock's verdict.
    let pki = pki_2020();
    let e = outcome(&pki, Arc::new(eap_supplicant::DefaultTimeProvider), true);
    assert!(certificate_error(&e).is_some(), "{e:?}");
}

/// A clock that cannot tell the time: the handshake fails rather than skipping the check.
#[derive(Debug)]
struct BrokenClock;

impl TimeProvider for BrokenClock {
    fn current_time(&self) -> Option<UnixTime> {
        None
    }
}

#[test]
fn a_clock_that_cannot_tell_the_time_fails_the_handshake() {
    let pki = pki_2020();
    let e = outcome(&pki, Arc::new(BrokenClock), true);
    assert!(matches!(e, Event::Failed { .. }), "{e:?}");
}
