//! RFC 2131 §4.4 driven with virtual time: SELECTING → REQUESTING → BOUND → RENEWING →
//! REBINDING → expiry, NAK, retransmission back-off, and a failing random source.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::{Duration, Instant};

use dhcp_client::{Client, Config, Discarded, Event, Output, RandomError, State, Transmit};
use dhcproto::v4::{DhcpOption, Message, MessageType, Opcode, OptionCode};
use dhcproto::{Decodable, Decoder, Encodable, Encoder};

const MAC: [u8; 6] = [0x00, 0x0e, 0x08, 0xab, 0xcd, 0xef];
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 5);

fn counting() -> impl FnMut(&mut [u8]) -> Result<(), RandomError> {
    let mut n = 0u8;
    move |b: &mut [u8]| {
        for x in b.iter_mut() {
            n = n.wrapping_add(1);
            *x = n;
        }
        Ok(())
    }
}

fn drain<R: dhcp_client::Random>(c: &mut Client<R>) -> Vec<Output> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

fn transmits(outs: &[Output]) -> Vec<(Transmit, Message)> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Transmit(t) => Some((t.clone(), Message::decode(&mut Decoder::new(&t.payload)).unwrap())),
            _ => None,
        })
        .collect()
}

fn timeout(outs: &[Output]) -> Option<Instant> {
    outs.iter().rev().find_map(|o| match o {
        Output::Timeout(t) => *t,
        _ => None,
    })
}

fn reply(xid: u32, kind: MessageType, lease_secs: u32) -> Vec<u8> {
    let mut m = Message::new_with_id(
        xid,
        Ipv4Addr::UNSPECIFIED,
        ADDR,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        &MAC,
    );
    m.set_opcode(Opcode::BootReply);
    let o = m.opts_mut();
    o.insert(DhcpOption::MessageType(kind));
    o.insert(DhcpOption::ServerIdentifier(SERVER));
    o.insert(DhcpOption::AddressLeaseTime(lease_secs));
    o.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
    o.insert(DhcpOption::Router(vec![SERVER]));
    let mut bytes = Vec::new();
    m.encode(&mut Encoder::new(&mut bytes)).unwrap();
    bytes
}

fn message_type(m: &Message) -> Option<MessageType> {
    match m.opts().get(OptionCode::MessageType) {
        Some(DhcpOption::MessageType(t)) => Some(*t),
        _ => None,
    }
}

/// Runs DISCOVER/OFFER/REQUEST/ACK and returns the client BOUND, the time and the xid.
fn bound(lease_secs: u32) -> (Client<impl dhcp_client::Random>, Instant) {
    let t0 = Instant::now();
    let mut c = Client::new(Config::new(MAC), counting(), t0);
    c.start(t0);
    let out = drain(&mut c);
    let (d, discover) = transmits(&out).remove(0);
    assert_eq!(d.to, SocketAddrV4::new(Ipv4Addr::BROADCAST, 67));
    assert_eq!(message_type(&discover), Some(MessageType::Discover));
    assert!(discover.flags().broadcast());
    let Some(DhcpOption::ParameterRequestList(prl)) = discover.opts().get(OptionCode::ParameterRequestList)
    else {
        panic!("no option 55")
    };
    for code in [66u8, 150, 159, 160, 43, 125, 252] {
        assert!(prl.contains(&OptionCode::from(code)), "option 55 lacks {code}");
    }
    c.handle_datagram(t0, &reply(discover.xid(), MessageType::Offer, lease_secs));
    let out = drain(&mut c);
    let (_, request) = transmits(&out).remove(0);
    assert_eq!(message_type(&request), Some(MessageType::Request));
    assert_eq!(
        request.opts().get(OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER))
    );
    assert_eq!(
        request.opts().get(OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    c.handle_datagram(t0, &reply(request.xid(), MessageType::Ack, lease_secs));
    let out = drain(&mut c);
    assert!(
        matches!(&out[0], Output::Event(Event::Bound(l)) if l.address == ADDR && l.prefix_len() == Some(24))
    );
    assert_eq!(
        timeout(&out),
        Some(t0 + Duration::from_secs(u64::from(lease_secs) / 2))
    );
    assert_eq!(c.state(), State::Bound);
    (c, t0)
}

#[test]
fn renews_at_t1_by_unicast_and_stays_bound() {
    let (mut c, t0) = bound(1000);
    // Early timeouts do nothing.
    c.handle_timeout(t0 + Duration::from_secs(499));
    assert!(drain(&mut c).is_empty());
    let t1 = t0 + Duration::from_secs(500);
    c.handle_timeout(t1);
    let out = drain(&mut c);
    let (t, renew) = transmits(&out).remove(0);
    assert_eq!(c.state(), State::Renewing);
    assert_eq!(t.to, SocketAddrV4::new(SERVER, 67));
    assert_eq!(renew.ciaddr(), ADDR);
    assert!(renew.opts().get(OptionCode::ServerIdentifier).is_none());
    assert!(renew.opts().get(OptionCode::RequestedIpAddress).is_none());
    // Next REQUEST after half the time to T2 (875-500)/2 = 187.5 s.
    assert_eq!(timeout(&out), Some(t1 + Duration::from_millis(187_500)));
    c.handle_datagram(t1, &reply(renew.xid(), MessageType::Ack, 1000));
    let out = drain(&mut c);
    assert!(matches!(&out[0], Output::Event(Event::Renewed(_))));
    assert_eq!(timeout(&out), Some(t1 + Duration::from_secs(500)));
}

#[test]
fn silent_server_means_rebinding_then_expiry_then_discover() {
    let (mut c, t0) = bound(1000);
    let mut now = t0 + Duration::from_secs(500);
    let mut seen = Vec::new();
    c.handle_timeout(now);
    for _ in 0..20 {
        let out = drain_keep(&mut c, &mut seen);
        if out.iter().any(|o| matches!(o, Output::Event(Event::Expired))) {
            break;
        }
        let Some(next) = timeout(&out) else { break };
        now = next;
        c.handle_timeout(now);
    }
    assert_eq!(now, t0 + Duration::from_secs(1000), "expiry at the lease time");
    let sent = transmits(&seen);
    let renew = sent.iter().filter(|(t, _)| !t.is_broadcast()).count();
    let rebind = sent
        .iter()
        .filter(|(t, m)| t.is_broadcast() && !m.ciaddr().is_unspecified())
        .count();
    assert!(renew >= 2 && rebind >= 1, "renew {renew} rebind {rebind}");
    // After expiry the client starts over.
    let (_, last) = sent.last().unwrap();
    assert_eq!(message_type(last), Some(MessageType::Discover));
    assert_eq!(c.state(), State::Selecting);
    assert!(c.lease().is_none());
}

fn drain_keep<R: dhcp_client::Random>(c: &mut Client<R>, all: &mut Vec<Output>) -> Vec<Output> {
    let out = drain(c);
    all.extend(out.iter().cloned());
    out
}

#[test]
fn discover_backs_off_4_8_16_with_jitter() {
    let t0 = Instant::now();
    let mut c = Client::new(Config::new(MAC), counting(), t0);
    c.start(t0);
    let mut now = t0;
    let mut gaps = Vec::new();
    for _ in 0..6 {
        let next = timeout(&drain(&mut c)).unwrap();
        gaps.push((next - now).as_secs_f64());
        now = next;
        c.handle_timeout(now);
    }
    for (gap, base) in gaps.iter().zip([4.0, 8.0, 16.0, 32.0, 64.0, 64.0]) {
        assert!((gap - base).abs() <= 1.0, "{gaps:?}");
    }
}

#[test]
fn nak_restarts_with_discover() {
    let t0 = Instant::now();
    let mut c = Client::new(Config::new(MAC), counting(), t0);
    c.start_reboot(t0, ADDR);
    let out = drain(&mut c);
    let (_, req) = transmits(&out).remove(0);
    assert_eq!(message_type(&req), Some(MessageType::Request));
    assert_eq!(c.state(), State::Rebooting);
    c.handle_datagram(t0, &reply(req.xid(), MessageType::Nak, 0));
    let out = drain(&mut c);
    assert!(matches!(
        out[0],
        Output::Event(Event::Nak {
            server: Some(SERVER),
            ..
        })
    ));
    let (_, d) = transmits(&out).remove(0);
    assert_eq!(message_type(&d), Some(MessageType::Discover));
    assert_ne!(d.xid(), req.xid(), "a new transaction");
}

#[test]
fn replies_to_other_transactions_and_garbage_are_discarded() {
    let t0 = Instant::now();
    let mut c = Client::new(Config::new(MAC), counting(), t0);
    c.start(t0);
    drain(&mut c);
    c.handle_datagram(t0, &reply(0xdead_beef, MessageType::Offer, 60));
    assert_eq!(
        drain(&mut c),
        [Output::Event(Event::Discarded(Discarded::NotOurs))]
    );
    c.handle_datagram(t0, b"\x02\x01");
    assert!(matches!(
        &drain(&mut c)[..],
        [Output::Event(Event::Discarded(Discarded::Decode(_)))]
    ));
    assert_eq!(c.state(), State::Selecting);
}

#[test]
fn failing_random_source_sends_nothing() {
    let t0 = Instant::now();
    let failing = |_: &mut [u8]| Err(RandomError("no entropy".into()));
    let mut c = Client::new(Config::new(MAC), failing, t0);
    c.start(t0);
    assert_eq!(
        drain(&mut c),
        [Output::Event(Event::RandomFailed(RandomError(
            "no entropy".into()
        )))]
    );
    assert_eq!(c.state(), State::Init);
}

#[test]
fn release_unicasts_to_the_server_and_stops() {
    let (mut c, t0) = bound(600);
    c.release(t0);
    let out = drain(&mut c);
    let (t, m) = transmits(&out).remove(0);
    assert_eq!(t.to, SocketAddrV4::new(SERVER, 67));
    assert_eq!(message_type(&m), Some(MessageType::Release));
    assert_eq!(c.state(), State::Init);
    assert!(c.lease().is_none());
    // The renewal timer is disarmed, and said so.
    assert_eq!(out.last(), Some(&Output::Timeout(None)));
}
