//! The supplicant PAE state machine (IEEE 802.1X-2004 §8.2.11) driven with synthetic time:
//! EAPOL-Start at link-up and every startPeriod up to maxStart, heldPeriod after a failure,
//! authPeriod while authenticating, Logoff, frames that a wired supplicant ignores.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use common::{peer_config, pki};
use eap_supplicant::eap::{self, Code, MethodType};
use eap_supplicant::eapol::{EapolFrame, EapolVersion, PacketType};
use eap_supplicant::{
    Event, FailureReason, FrameHandled, Output, PaeState, PaeTimers, Supplicant, TlsVersions,
};

fn supplicant() -> Supplicant {
    let pki = pki();
    Supplicant::new(peer_config(&pki, TlsVersions::Tls12And13, 1398))
}

fn drain(s: &mut Supplicant) -> Vec<Output> {
    std::iter::from_fn(|| s.poll_output()).collect()
}

fn eapol(eap: &[u8]) -> Vec<u8> {
    EapolFrame::new(EapolVersion::V2, PacketType::EapPacket, eap).to_bytes()
}

fn starts(out: &[Output]) -> usize {
    out.iter()
        .filter(|o| matches!(o, Output::Transmit(f) if f[1] == 1))
        .count()
}

#[test]
fn start_is_sent_at_link_up_then_every_start_period_until_max_start() {
    let mut s = supplicant();
    let t0 = Instant::now();
    s.link_up(t0);
    let out = drain(&mut s);
    assert_eq!(starts(&out), 1);
    assert_eq!(
        out.last(),
        Some(&Output::Timeout(Some(t0 + Duration::from_secs(30))))
    );
    assert_eq!(s.state(), PaeState::Connecting);

    // Early timeouts do nothing.
    s.handle_timeout(t0 + Duration::from_secs(29));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(t0 + Duration::from_secs(30));
    assert_eq!(starts(&drain(&mut s)), 1);
    s.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(starts(&drain(&mut s)), 1);
    s.handle_timeout(t0 + Duration::from_secs(90));
    let out = drain(&mut s);
    assert_eq!(starts(&out), 0);
    assert!(out.contains(&Output::Event(Event::NoAuthenticator)));
    assert_eq!(s.state(), PaeState::NoAuthenticator);
    assert_eq!(out.last(), Some(&Output::Timeout(None)), "the timer is disarmed");
    assert!(drain(&mut s).is_empty(), "and reported once");
}

#[test]
fn failure_holds_for_held_period_then_starts_again() {
    let mut s = supplicant();
    let t0 = Instant::now();
    s.link_up(t0);
    drain(&mut s);
    s.handle_frame(t0, &eapol(&eap::request(1, MethodType::Identity, &[])))
        .unwrap();
    let out = drain(&mut s);
    assert!(out.contains(&Output::Event(Event::Authenticating)));
    assert_eq!(s.state(), PaeState::Authenticating);
    s.handle_frame(t0, &eapol(&eap::outcome(Code::Failure, 1)))
        .unwrap();
    let out = drain(&mut s);
    assert!(out.contains(&Output::Event(Event::Failed {
        reason: FailureReason::EapFailure
    })));
    assert_eq!(s.state(), PaeState::Held);
    assert_eq!(
        out.last(),
        Some(&Output::Timeout(Some(t0 + Duration::from_secs(60))))
    );
    s.handle_timeout(t0 + Duration::from_secs(59));
    assert_eq!(s.state(), PaeState::Held);
    s.handle_timeout(t0 + Duration::from_secs(60));
    assert_eq!(starts(&drain(&mut s)), 1);
    assert_eq!(s.state(), PaeState::Connecting);
}

#[test]
fn silent_authenticator_times_out_after_auth_period() {
    let pki = pki();
    let timers = PaeTimers {
        auth_period: Duration::from_secs(5),
        ..PaeTimers::default()
    };
    let mut s = Supplicant::new(peer_config(&pki, TlsVersions::Tls12And13, 1398).with_timers(timers));
    let t0 = Instant::now();
    s.link_up(t0);
    s.handle_frame(t0, &eapol(&eap::request(1, MethodType::Identity, &[])))
        .unwrap();
    drain(&mut s);
    s.handle_timeout(t0 + Duration::from_secs(5));
    let out = drain(&mut s);
    assert!(out.contains(&Output::Event(Event::Failed {
        reason: FailureReason::Timeout
    })));
    assert_eq!(starts(&out), 1);
    assert_eq!(s.state(), PaeState::Connecting);
}

#[test]
fn logoff_sends_eapol_logoff_and_reports_disabled() {
    let mut s = supplicant();
    let t0 = Instant::now();
    s.link_up(t0);
    drain(&mut s);
    s.logoff();
    let out = drain(&mut s);
    assert_eq!(out[0], Output::Transmit(vec![3, 2, 0, 0]));
    assert!(out.contains(&Output::Event(Event::Disabled)));
    assert_eq!(s.state(), PaeState::Logoff);
    // EAP after logoff is not answered.
    assert_eq!(
        s.handle_frame(t0, &eapol(&eap::request(1, MethodType::Identity, &[]))),
        Ok(FrameHandled::NotListening)
    );
}

#[test]
fn key_start_logoff_and_unknown_frames_are_ignored() {
    let mut s = supplicant();
    let t0 = Instant::now();
    s.link_up(t0);
    drain(&mut s);
    for (t, kind) in [
        (3, PacketType::Key),
        (1, PacketType::Start),
        (2, PacketType::Logoff),
        (9, PacketType::Other(9)),
    ] {
        assert_eq!(
            s.handle_frame(t0, &[2, t, 0, 1, 0]),
            Ok(FrameHandled::Ignored(kind))
        );
    }
    assert!(s.handle_frame(t0, &[2, 0, 0, 9, 1]).is_err());
    assert!(s.handle_frame(t0, &[0, 0, 0, 0]).is_err());
    assert_eq!(s.state(), PaeState::Connecting);
}

#[test]
fn link_down_forgets_the_conversation() {
    let mut s = supplicant();
    let t0 = Instant::now();
    s.link_up(t0);
    s.handle_frame(t0, &eapol(&eap::request(1, MethodType::Identity, &[])))
        .unwrap();
    assert!(matches!(drain(&mut s).last(), Some(Output::Timeout(Some(_)))));
    s.link_down();
    assert_eq!(s.state(), PaeState::Disconnected);
    assert_eq!(drain(&mut s), vec![Output::Timeout(None)]);
    assert_eq!(
        s.handle_frame(t0, &eapol(&eap::outcome(Code::Success, 1))),
        Ok(FrameHandled::NotListening)
    );
}
