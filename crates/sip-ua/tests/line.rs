//! The line driven message by message in virtual time: the regressions of issue #11 (own
//! binding's lifetime, a failing random source, 421 + `Require: mediasec` in both modes), the
//! RFC 3261 timers and RFC 3263 failover.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sip_ua::{
    Config, Error, Event, Failure, Line, Output, Rng, RngError, SeededRng, T1, T2, Target, Transport,
};

const LOCAL: &str = "192.0.2.10:5062";

fn target(addr: &str, transport: Transport) -> Target {
    Target {
        transport,
        addr: addr.parse().unwrap(),
    }
}

fn config(expires: u32) -> Config {
    let mut c = Config::new("alice", "secret", "example.com");
    c.expires = expires;
    c
}

fn drain(line: &mut Line) -> Vec<Output> {
    std::iter::from_fn(|| line.poll_output()).collect()
}

fn sent(outputs: &[Output]) -> Vec<String> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Transmit(t) => Some(String::from_utf8(t.bytes.clone()).unwrap()),
            _ => None,
        })
        .collect()
}

/// The timer the last `Output::Timeout` among `outputs` set: `None` when none was reported,
/// `Some(None)` when the timer was disarmed.
fn timer(outputs: &[Output]) -> Option<Option<Instant>> {
    outputs.iter().rev().find_map(|o| match o {
        Output::Timeout(t) => Some(*t),
        _ => None,
    })
}

fn events(outputs: &[Output]) -> Vec<Event> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

/// A line connected to `targets[0]` that has sent its first REGISTER; returns that REGISTER.
fn started(cfg: Config, targets: Vec<Target>, now: Instant) -> (Line, String) {
    let mut line = Line::new(cfg, targets.clone(), Box::new(SeededRng::new(11))).unwrap();
    line.start(now);
    let connect: Vec<_> = drain(&mut line)
        .into_iter()
        .filter(|o| !matches!(o, Output::Event(Event::Mediasec(_))))
        .collect();
    assert_eq!(connect, [Output::Connect(targets[0])]);
    line.handle_connected(now, LOCAL.parse().unwrap()).unwrap();
    let out = drain(&mut line);
    let reg = sent(&out);
    assert_eq!(reg.len(), 1, "{out:?}");
    (line, reg[0].clone())
}

fn header<'a>(msg: &'a str, name: &str) -> Vec<&'a str> {
    msg.split("\r\n")
        .filter_map(|l| l.split_once(": "))
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

/// A response to `request` with `extra` header lines.
fn reply(request: &str, code: u16, extra: &[String]) -> Vec<u8> {
    let mut s = format!("SIP/2.0 {code} Whatever\r\n");
    for name in ["Via", "From", "Call-ID", "CSeq"] {
        for v in header(request, name) {
            s.push_str(&format!("{name}: {v}\r\n"));
        }
    }
    s.push_str(&format!("To: {};tag=reg1\r\n", header(request, "To")[0]));
    for e in extra {
        s.push_str(e);
        s.push_str("\r\n");
    }
    s.push_str("Content-Length: 0\r\n\r\n");
    s.into_bytes()
}

fn from() -> SocketAddr {
    "192.0.2.1:5060".parse().unwrap()
}

fn registered_expires(out: &[Output]) -> Option<u32> {
    events(out).iter().find_map(|e| match e {
        Event::Registered { expires, .. } => Some(*expires),
        _ => None,
    })
}

/// Issue #11, bug 1: another device of the same user is listed first with 3546 s; ours (the
/// Contact we sent, here written differently but equal as a URI) has 60 s.
#[test]
fn lifetime_is_our_own_bindings_not_the_first_with_our_user() {
    let now = Instant::now();
    let (mut line, reg) = started(config(60), vec![target("192.0.2.1:5060", Transport::Udp)], now);
    assert_eq!(
        header(&reg, "Contact"),
        ["<sip:alice@192.0.2.10:5062;transport=udp>"]
    );
    let ok = reply(
        &reg,
        200,
        &[
            "Contact: <sip:alice@192.0.2.77:5060;transport=udp>;expires=3546".into(),
            "Contact: <sip:alice@192.0.2.10:5062;transport=UDP;x-seen=1>;expires=60;q=0.5".into(),
            "Expires: 3600".into(),
        ],
    );
    line.handle_message(now, from(), &ok).unwrap();
    let out = drain(&mut line);
    assert_eq!(registered_expires(&out), Some(60), "{out:?}");
    // The refresh is due before our binding lapses: 60 - 30 s.
    assert!(
        out.contains(&Output::Timeout(Some(now + Duration::from_secs(30)))),
        "{out:?}"
    );
}

/// Same user, same host, another port or no transport parameter: not ours (§19.1.4).
#[test]
fn lifetime_ignores_contacts_that_only_look_like_ours() {
    let now = Instant::now();
    let (mut line, reg) = started(config(60), vec![target("192.0.2.1:5060", Transport::Udp)], now);
    let ok = reply(
        &reg,
        200,
        &[
            "Contact: <sip:alice@192.0.2.10:5063;transport=udp>;expires=3546".into(),
            "Contact: <sip:alice@192.0.2.10:5062>;expires=1800".into(),
            "Expires: 120".into(),
        ],
    );
    line.handle_message(now, from(), &ok).unwrap();
    // Not found: the Expires header.
    assert_eq!(registered_expires(&drain(&mut line)), Some(120));
}

#[test]
fn lifetime_falls_back_to_what_we_asked() {
    let now = Instant::now();
    let (mut line, reg) = started(config(90), vec![target("192.0.2.1:5060", Transport::Udp)], now);
    line.handle_message(now, from(), &reply(&reg, 200, &[])).unwrap();
    assert_eq!(registered_expires(&drain(&mut line)), Some(90));
}

/// A source that works `ok` times, then fails.
struct Failing {
    ok: usize,
}

impl Rng for Failing {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), RngError> {
        if self.ok == 0 {
            return Err(RngError("entropy source gone".into()));
        }
        self.ok -= 1;
        buf.fill(0x5a);
        Ok(())
    }
}

/// Issue #11, bug 2: a failing random source is an error and nothing is sent.
#[test]
fn failing_rng_is_refused_never_zeros() {
    let t = vec![target("192.0.2.1:5060", Transport::Udp)];
    let e = Line::new(config(60), t.clone(), Box::new(Failing { ok: 0 })).unwrap_err();
    assert!(matches!(e, Error::Rng(_)), "{e}");
    // Call-ID and tag made; the branch of the first REGISTER cannot be.
    let now = Instant::now();
    let mut line = Line::new(config(60), t, Box::new(Failing { ok: 2 })).unwrap();
    line.start(now);
    drain(&mut line);
    let e = line.handle_connected(now, LOCAL.parse().unwrap()).unwrap_err();
    assert!(e.to_string().contains("entropy source gone"), "{e}");
    let out = drain(&mut line);
    assert!(sent(&out).is_empty(), "{out:?}");
}

/// The same in the middle of a registration: the answer to a 401 needs a cnonce.
#[test]
fn failing_rng_on_the_challenge_sends_nothing() {
    let now = Instant::now();
    let t = vec![target("192.0.2.1:5060", Transport::Udp)];
    let mut line = Line::new(config(60), t.clone(), Box::new(Failing { ok: 3 })).unwrap();
    line.start(now);
    line.handle_connected(now, LOCAL.parse().unwrap()).unwrap();
    let reg = sent(&drain(&mut line)).remove(0);
    let challenge = reply(
        &reg,
        401,
        &["WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n1\", qop=\"auth\"".into()],
    );
    assert!(matches!(
        line.handle_message(now, from(), &challenge),
        Err(Error::Rng(_))
    ));
    assert!(sent(&drain(&mut line)).is_empty());
}

const CHALLENGE: &str = "WWW-Authenticate: Digest realm=\"example.com\", nonce=\"n1\", qop=\"auth\"";

/// Issue #11, bug 3, server-initiated mode (MediaSec_Request = No): 421 + Require: mediasec +
/// Security-Server is answered with Security-Verify, and the registration completes.
#[test]
fn server_initiated_421_requiring_mediasec_is_negotiated() {
    let now = Instant::now();
    let mut cfg = config(60);
    cfg.mediasec = sip_mediasec::Policy::server_initiated();
    let (mut line, reg) = started(cfg, vec![target("192.0.2.1:5060", Transport::Udp)], now);
    assert!(!reg.contains("mediasec"), "{reg}");
    let demand = reply(
        &reg,
        421,
        &[
            "Require: mediasec".into(),
            "Security-Server: sdes-srtp;mediasec".into(),
        ],
    );
    line.handle_message(now, from(), &demand).unwrap();
    let retry = sent(&drain(&mut line));
    assert_eq!(retry.len(), 1);
    assert_eq!(header(&retry[0], "Security-Verify"), ["sdes-srtp;mediasec"]);
    assert_eq!(header(&retry[0], "Require"), ["mediasec"]);
    assert!(header(&retry[0], "Security-Client").is_empty());
    line.handle_message(now, from(), &reply(&retry[0], 401, &[CHALLENGE.into()]))
        .unwrap();
    let authed = sent(&drain(&mut line));
    assert!(authed[0].contains("Authorization: Digest"), "{}", authed[0]);
    assert_eq!(header(&authed[0], "Security-Verify"), ["sdes-srtp;mediasec"]);
    line.handle_message(now, from(), &reply(&authed[0], 200, &[]))
        .unwrap();
    let out = drain(&mut line);
    assert!(
        events(&out).iter().any(|e| matches!(
            e,
            Event::Registered {
                media: Some(sip_mediasec::MediaSecurity::SdesSrtp),
                ..
            }
        )),
        "{out:?}"
    );
}

/// Client-initiated mode: the same 421 is answered the same way.
#[test]
fn client_initiated_421_requiring_mediasec_is_negotiated() {
    let now = Instant::now();
    let (mut line, reg) = started(config(60), vec![target("192.0.2.1:5061", Transport::Tls)], now);
    assert_eq!(header(&reg, "Security-Client"), ["sdes-srtp;mediasec"]);
    let demand = reply(
        &reg,
        421,
        &[
            "Require: mediasec".into(),
            "Security-Server: sdes-srtp;mediasec".into(),
        ],
    );
    line.handle_message(now, from(), &demand).unwrap();
    let retry = sent(&drain(&mut line));
    assert_eq!(header(&retry[0], "Security-Verify"), ["sdes-srtp;mediasec"]);
}

/// MediaSec_Over_TLS_Only = Yes on UDP: the demand is refused with the setting named.
#[test]
fn tls_only_line_refuses_421_requiring_mediasec_on_udp() {
    let now = Instant::now();
    let mut cfg = config(60);
    cfg.mediasec = sip_mediasec::Policy {
        over_tls_only: true,
        ..sip_mediasec::Policy::server_initiated()
    };
    let (mut line, reg) = started(cfg, vec![target("192.0.2.1:5060", Transport::Udp)], now);
    let demand = reply(
        &reg,
        421,
        &[
            "Require: mediasec".into(),
            "Security-Server: sdes-srtp;mediasec".into(),
        ],
    );
    line.handle_message(now, from(), &demand).unwrap();
    let out = drain(&mut line);
    assert!(sent(&out).is_empty(), "{out:?}");
    let ev = events(&out);
    assert!(
        ev.iter()
            .any(|e| matches!(e, Event::RegistrationFailed(Failure::Mediasec { .. }))),
        "{ev:?}"
    );
    assert!(
        ev.iter().any(|e| matches!(e, Event::Mediasec(sip_mediasec::Event::Failed { reason }) if reason.contains("MediaSec_Over_TLS_Only"))),
        "{ev:?}"
    );
}

/// Timer E doubles from T1 to T2 over UDP; Timer F gives the target up at 64*T1 and, with no
/// other target, fails the registration.
#[test]
fn udp_retransmits_then_timer_f() {
    let t0 = Instant::now();
    let mut line = Line::new(
        config(60),
        vec![target("192.0.2.1:5060", Transport::Udp)],
        Box::new(SeededRng::new(11)),
    )
    .unwrap();
    line.start(t0);
    drain(&mut line);
    line.handle_connected(t0, LOCAL.parse().unwrap()).unwrap();
    let out = drain(&mut line);
    let reg = sent(&out).remove(0);
    let mut armed = timer(&out).flatten();
    let mut at = t0;
    let mut gaps = Vec::new();
    loop {
        let next = armed.unwrap();
        gaps.push(next - at);
        at = next;
        line.handle_timeout(at).unwrap();
        let out = drain(&mut line);
        if let Some(t) = timer(&out) {
            armed = t;
        }
        if !events(&out).is_empty() {
            assert!(matches!(
                events(&out)[0],
                Event::RegistrationFailed(Failure::AllTargetsFailed { .. })
            ));
            break;
        }
        assert_eq!(sent(&out), std::slice::from_ref(&reg));
    }
    assert_eq!(&gaps[..4], [T1, 2 * T1, 4 * T1, T2]);
    assert_eq!(at - t0, 64 * T1);
}

/// RFC 3263 §4.3: a 503, Timer F and a transport error each move on to the next target.
#[test]
fn failover_on_503_timeout_and_transport_error() {
    let now = Instant::now();
    let targets = vec![
        target("192.0.2.1:5060", Transport::Tcp),
        target("192.0.2.2:5060", Transport::Tcp),
        target("192.0.2.3:5060", Transport::Udp),
        target("192.0.2.4:5060", Transport::Udp),
    ];
    let (mut line, reg) = started(config(60), targets.clone(), now);
    line.handle_message(now, from(), &reply(&reg, 503, &[])).unwrap();
    let out = drain(&mut line);
    assert!(
        matches!(&events(&out)[0], Event::Failover { to, reason, .. } if *to == targets[1] && reason.starts_with("503"))
    );
    assert!(out.contains(&Output::Connect(targets[1])));
    line.handle_transport_error(now, "connection refused").unwrap();
    let out = drain(&mut line);
    assert!(out.contains(&Output::Connect(targets[2])), "{out:?}");
    line.handle_connected(now, LOCAL.parse().unwrap()).unwrap();
    let reg3 = sent(&drain(&mut line));
    assert!(reg3[0].contains("Via: SIP/2.0/UDP"), "{}", reg3[0]);
    line.handle_timeout(now + 64 * T1).unwrap();
    let out = drain(&mut line);
    assert!(out.contains(&Output::Connect(targets[3])), "{out:?}");
    line.handle_connected(now, LOCAL.parse().unwrap()).unwrap();
    let reg4 = sent(&drain(&mut line)).remove(0);
    line.handle_message(now, from(), &reply(&reg4, 200, &[])).unwrap();
    let out = drain(&mut line);
    assert!(
        events(&out)
            .iter()
            .any(|e| matches!(e, Event::Registered { target, .. } if *target == targets[3]))
    );
}

/// Refresh, then un-REGISTER of our own Contact only.
#[test]
fn refresh_then_unregister_our_contact() {
    let now = Instant::now();
    let (mut line, reg) = started(config(60), vec![target("192.0.2.1:5060", Transport::Tcp)], now);
    line.handle_message(now, from(), &reply(&reg, 200, &[])).unwrap();
    let refresh_at = timer(&drain(&mut line)).flatten().unwrap();
    assert_eq!(refresh_at, now + Duration::from_secs(30));
    line.handle_timeout(refresh_at).unwrap();
    let refresh = sent(&drain(&mut line)).remove(0);
    assert!(refresh.contains("CSeq: 2 REGISTER"), "{refresh}");
    line.handle_message(refresh_at, from(), &reply(&refresh, 200, &[]))
        .unwrap();
    drain(&mut line);
    line.unregister(refresh_at).unwrap();
    let un = sent(&drain(&mut line)).remove(0);
    assert_eq!(
        header(&un, "Contact"),
        ["<sip:alice@192.0.2.10:5062;transport=tcp>;expires=0"]
    );
    assert_eq!(header(&un, "Expires"), ["0"]);
    line.handle_message(refresh_at, from(), &reply(&un, 200, &[]))
        .unwrap();
    let out = drain(&mut line);
    assert!(events(&out).contains(&Event::Unregistered));
    assert_eq!(
        timer(&out),
        Some(None),
        "nothing left to time: the timer is disarmed"
    );
}

/// A second 401 for the same nonce is a refusal, not a loop.
#[test]
fn wrong_password_is_refused_once() {
    let now = Instant::now();
    let (mut line, reg) = started(config(60), vec![target("192.0.2.1:5060", Transport::Tcp)], now);
    line.handle_message(now, from(), &reply(&reg, 401, &[CHALLENGE.into()]))
        .unwrap();
    let authed = sent(&drain(&mut line)).remove(0);
    line.handle_message(now, from(), &reply(&authed, 401, &[CHALLENGE.into()]))
        .unwrap();
    let out = drain(&mut line);
    assert!(sent(&out).is_empty());
    assert!(matches!(
        events(&out)[..],
        [Event::RegistrationFailed(Failure::Refused { code: 401, .. })]
    ));
}

/// The timeout is reported once, when it changes.
#[test]
fn timeout_reported_when_it_changes() {
    let now = Instant::now();
    let (mut line, _) = started(config(60), vec![target("192.0.2.1:5060", Transport::Tcp)], now);
    assert_eq!(line.poll_output(), None);
    line.handle_timeout(now).unwrap();
    assert_eq!(line.poll_output(), None);
}
