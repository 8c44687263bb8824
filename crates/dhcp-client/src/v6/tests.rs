//! The DHCPv6 client driven through virtual time.

use super::*;
use dhcproto::v6::{IAAddr, IANA, Message, Status, StatusCode};
use dhcproto::{Decodable, Decoder};

const MAC: [u8; 6] = [0, 0x0e, 8, 0xab, 0xcd, 0xef];

fn seeded() -> impl FnMut(&mut [u8]) -> Result<(), RandomError> {
    let mut n = 0u8;
    move |b: &mut [u8]| {
        for x in b.iter_mut() {
            n = n.wrapping_mul(31).wrapping_add(17);
            *x = n;
        }
        Ok(())
    }
}

struct Server {
    id: Vec<u8>,
    preference: Option<u8>,
    t1: u32,
    t2: u32,
    valid: u32,
    status: Option<u16>,
}

impl Server {
    fn new(id: u8) -> Server {
        Server {
            id: vec![0, 3, 0, 1, id, id, id, id, id, id],
            preference: None,
            t1: 100,
            t2: 160,
            valid: 400,
            status: None,
        }
    }

    fn answer(&self, to: &Message, kind: MessageType) -> Vec<u8> {
        let mut m = Message::new_with_id(kind, to.xid());
        let client_id = to
            .opts()
            .iter()
            .find_map(|o| match o {
                DhcpOption::ClientId(id) => Some(id.clone()),
                _ => None,
            })
            .unwrap();
        let o = m.opts_mut();
        o.insert(DhcpOption::ClientId(client_id));
        o.insert(DhcpOption::ServerId(self.id.clone()));
        if let Some(p) = self.preference {
            o.insert(DhcpOption::Preference(p));
        }
        let mut ia = DhcpOptions::new();
        match self.status {
            Some(code) => ia.insert(DhcpOption::StatusCode(StatusCode {
                status: Status::from(code),
                msg: "none left".into(),
            })),
            None => ia.insert(DhcpOption::IAAddr(IAAddr {
                addr: Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, self.id[4].into()),
                preferred_life: self.valid / 2,
                valid_life: self.valid,
                opts: DhcpOptions::new(),
            })),
        }
        o.insert(DhcpOption::IANA(IANA {
            id: 0x08ab_cdef,
            t1: self.t1,
            t2: self.t2,
            opts: ia,
        }));
        let mut b = Vec::new();
        m.encode(&mut Encoder::new(&mut b)).unwrap();
        b
    }
}

/// Drains the outputs: the messages sent and the last timeout.
fn drain<R: Random>(c: &mut Client6<R>) -> (Vec<Message>, Vec<Event6>, Option<Option<Instant>>) {
    let (mut sent, mut events, mut timeout) = (Vec::new(), Vec::new(), None);
    while let Some(o) = c.poll_output() {
        match o {
            Output6::Transmit(t) => {
                assert_eq!(t.to.ip(), &ALL_SERVERS);
                assert_eq!(t.to.port(), 547);
                sent.push(Message::decode(&mut Decoder::new(&t.payload)).unwrap());
            }
            Output6::Event(e) => events.push(e),
            Output6::Timeout(t) => timeout = Some(t),
        }
    }
    (sent, events, timeout)
}

fn has(m: &Message, code: u16) -> bool {
    m.opts().iter().any(|o| u16::from(OptionCode::from(o)) == code)
}

#[test]
fn solicit_advertise_request_reply_renew_rebind_expire() {
    let t0 = Instant::now();
    let mut c = Client6::new(Config6::new(MAC), seeded(), t0);
    c.start(t0);
    let (sent, _, timeout) = drain(&mut c);
    let solicit = &sent[0];
    assert_eq!(solicit.msg_type(), MessageType::Solicit);
    assert!(has(solicit, 1) && has(solicit, 3) && has(solicit, 6) && has(solicit, 8));
    assert!(!has(solicit, 2));
    // First SOLICIT RT: 1 s + RAND·1 s with RAND > 0.
    let rt = timeout.unwrap().unwrap() - t0;
    assert!(
        rt > Duration::from_secs(1) && rt <= Duration::from_millis(1100),
        "{rt:?}"
    );

    // Preference 5, then 9 inside the first RT: the 9 wins when the RT ends.
    let mut low = Server::new(1);
    low.preference = Some(5);
    let mut high = Server::new(2);
    high.preference = Some(9);
    c.handle_datagram(t0, &low.answer(solicit, MessageType::Advertise));
    c.handle_datagram(t0, &high.answer(solicit, MessageType::Advertise));
    assert!(drain(&mut c).0.is_empty());
    let t = t0 + rt;
    c.handle_timeout(t);
    let (sent, _, _) = drain(&mut c);
    let request = &sent[0];
    assert_eq!(request.msg_type(), MessageType::Request);
    assert!(
        request
            .opts()
            .iter()
            .any(|o| *o == DhcpOption::ServerId(high.id.clone()))
    );

    c.handle_datagram(t, &high.answer(request, MessageType::Reply));
    let (_, events, timeout) = drain(&mut c);
    let Event6::Bound(lease) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(lease.address(), Some("fd00::2".parse().unwrap()));
    assert_eq!(c.state(), State6::Bound);
    assert_eq!(timeout, Some(Some(t + Duration::from_secs(100))));

    // T1: RENEW to the same server, RT 10 s ± 10 %.
    let t1 = t + Duration::from_secs(100);
    c.handle_timeout(t1);
    let (sent, _, timeout) = drain(&mut c);
    assert_eq!(sent[0].msg_type(), MessageType::Renew);
    assert!(
        sent[0]
            .opts()
            .iter()
            .any(|o| *o == DhcpOption::ServerId(high.id.clone()))
    );
    let rt = timeout.unwrap().unwrap() - t1;
    assert!(
        rt >= Duration::from_secs(9) && rt <= Duration::from_secs(11),
        "{rt:?}"
    );
    // No answer until T2: RENEW goes on (doubling), then REBIND without a server ID.
    let mut now = t1;
    let mut deadline = timeout.flatten();
    let t2 = t + Duration::from_secs(160);
    let mut renews = 1;
    loop {
        let (sent, _, timeout) = drain(&mut c);
        if let Some(t) = timeout {
            deadline = t;
        }
        renews += sent.iter().filter(|m| m.msg_type() == MessageType::Renew).count();
        if let Some(m) = sent.iter().find(|m| m.msg_type() == MessageType::Rebind) {
            assert!(!has(m, 2));
            assert_eq!(now, t2, "REBIND exactly at T2");
            break;
        }
        now = deadline.unwrap();
        assert!(now <= t2);
        c.handle_timeout(now);
    }
    assert!(renews >= 3, "RENEW retransmitted: {renews}");
    assert_eq!(c.state(), State6::Rebinding);
    // A REPLY to the REBIND extends the lease.
    let rebind_xid = c.xid;
    let mut rebind = Message::new_with_id(MessageType::Rebind, {
        let x = rebind_xid.to_be_bytes();
        [x[1], x[2], x[3]]
    });
    rebind
        .opts_mut()
        .insert(DhcpOption::ClientId(c.config.duid.clone()));
    c.handle_datagram(now, &high.answer(&rebind, MessageType::Reply));
    let (_, events, timeout) = drain(&mut c);
    assert!(matches!(events[0], Event6::Renewed(_)), "{events:?}");
    let mut deadline = timeout.flatten();

    // Silence until the valid lifetime ends: Expired, then SOLICIT again.
    let expiry = c.lease().unwrap().expires_at().unwrap();
    for _ in 0..100 {
        let (_, events, timeout) = drain(&mut c);
        if events.contains(&Event6::Expired) {
            break;
        }
        if let Some(t) = timeout {
            deadline = t;
        }
        now = deadline.unwrap();
        assert!(now <= expiry);
        c.handle_timeout(now);
    }
    assert_eq!(now, expiry);
    assert_eq!(c.state(), State6::Soliciting);
}

#[test]
fn preference_255_is_taken_at_once_and_a_refusal_restarts() {
    let t0 = Instant::now();
    let mut c = Client6::new(Config6::new(MAC), seeded(), t0);
    c.start(t0);
    let solicit = drain(&mut c).0.remove(0);
    let mut none = Server::new(3);
    none.status = Some(2); // NoAddrsAvail
    c.handle_datagram(t0, &none.answer(&solicit, MessageType::Advertise));
    let (sent, events, _) = drain(&mut c);
    assert!(sent.is_empty());
    assert!(matches!(
        events[0],
        Event6::Discarded(Discarded6::Refused(LeaseError6::Status { code: 2, .. }))
    ));
    let mut best = Server::new(4);
    best.preference = Some(255);
    c.handle_datagram(t0, &best.answer(&solicit, MessageType::Advertise));
    let request = drain(&mut c).0.remove(0);
    assert_eq!(request.msg_type(), MessageType::Request);
    // The server then has nothing left: back to SOLICIT.
    best.status = Some(2);
    c.handle_datagram(t0, &best.answer(&request, MessageType::Reply));
    let (sent, _, _) = drain(&mut c);
    assert_eq!(sent[0].msg_type(), MessageType::Solicit);
}

#[test]
fn others_replies_and_garbage_are_discarded() {
    let t0 = Instant::now();
    let mut c = Client6::new(Config6::new(MAC), seeded(), t0);
    c.start(t0);
    let solicit = drain(&mut c).0.remove(0);
    let mut other = Config6::new([2; 6]);
    other.iaid = 0x08ab_cdef;
    let mut a = Server::new(5).answer(&solicit, MessageType::Advertise);
    // Another client's DUID in the same transaction.
    let at = a.windows(6).position(|w| w == MAC).unwrap();
    a[at..at + 6].copy_from_slice(&[2; 6]);
    c.handle_datagram(t0, &a);
    c.handle_datagram(t0, &[2, 0]);
    let (_, events, _) = drain(&mut c);
    assert_eq!(events[0], Event6::Discarded(Discarded6::NotOurs));
    assert!(matches!(events[1], Event6::Discarded(Discarded6::Decode(_))));
}

#[test]
fn solicit_backs_off_to_one_hour_and_a_failing_random_stops() {
    let t0 = Instant::now();
    let mut c = Client6::new(Config6::new(MAC), seeded(), t0);
    c.start(t0);
    let mut now = t0;
    let mut last = Duration::ZERO;
    for _ in 0..20 {
        let (_, _, timeout) = drain(&mut c);
        let next = timeout.flatten().unwrap();
        last = next - now;
        now = next;
        c.handle_timeout(now);
    }
    assert!(
        last >= Duration::from_secs(3240) && last <= Duration::from_secs(3960),
        "{last:?}"
    );

    let mut c = Client6::new(
        Config6::new(MAC),
        |_: &mut [u8]| Err(RandomError("no entropy".into())),
        t0,
    );
    c.start(t0);
    let (sent, events, _) = drain(&mut c);
    assert!(sent.is_empty());
    assert_eq!(events, [Event6::RandomFailed(RandomError("no entropy".into()))]);
}

#[test]
fn release_names_the_server_and_the_address() {
    let t0 = Instant::now();
    let mut c = Client6::new(Config6::new(MAC), seeded(), t0);
    c.start(t0);
    let solicit = drain(&mut c).0.remove(0);
    let mut s = Server::new(6);
    s.preference = Some(255);
    c.handle_datagram(t0, &s.answer(&solicit, MessageType::Advertise));
    let request = drain(&mut c).0.remove(0);
    c.handle_datagram(t0, &s.answer(&request, MessageType::Reply));
    drain(&mut c);
    c.release(t0);
    let (sent, _, timeout) = drain(&mut c);
    assert_eq!(sent[0].msg_type(), MessageType::Release);
    assert!(
        sent[0]
            .opts()
            .iter()
            .any(|o| *o == DhcpOption::ServerId(s.id.clone()))
    );
    assert_eq!(timeout, Some(None));
    assert_eq!(c.state(), State6::Init);
}

/// SOLICIT/ADVERTISE (preference 255)/REQUEST/REPLY from `s`: the client bound at `t0`.
fn bound(s: &Server, t0: Instant) -> Client6<impl Random + use<>> {
    let mut c = Client6::new(Config6::new(MAC), seeded(), t0);
    c.start(t0);
    let solicit = drain(&mut c).0.remove(0);
    let mut advertising = Server::new(s.id[4]);
    advertising.preference = Some(255);
    c.handle_datagram(t0, &advertising.answer(&solicit, MessageType::Advertise));
    let request = drain(&mut c).0.remove(0);
    c.handle_datagram(t0, &s.answer(&request, MessageType::Reply));
    let (_, events, _) = drain(&mut c);
    assert!(matches!(events[0], Event6::Bound(_)), "{events:?}");
    c
}

fn ia_addresses(m: &Message) -> Vec<Ipv6Addr> {
    m.opts()
        .iter()
        .filter_map(|o| match o {
            DhcpOption::IANA(ia) => Some(ia.opts.iter().filter_map(|o| match o {
                DhcpOption::IAAddr(a) => Some(a.addr),
                _ => None,
            })),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn no_binding_to_a_renew_requests_the_lease_back() {
    // RFC 8415 §18.2.10.1: a server that lost our binding (restarted without its lease
    // database) answers the RENEW with NoBinding in the IA; the client REQUESTs the IA back from
    // it instead of renewing on until T2, and keeps the address meanwhile.
    let t0 = Instant::now();
    let mut s = Server::new(7);
    let mut c = bound(&s, t0);
    let address: Ipv6Addr = "fd00::7".parse().unwrap();
    let t1 = t0 + Duration::from_secs(100);
    c.handle_timeout(t1);
    let renew = drain(&mut c).0.remove(0);
    assert_eq!(renew.msg_type(), MessageType::Renew);
    assert_eq!(ia_addresses(&renew), [address]);
    s.status = Some(3); // NoBinding
    c.handle_datagram(t1, &s.answer(&renew, MessageType::Reply));
    let (sent, events, _) = drain(&mut c);
    assert!(
        matches!(
            events[0],
            Event6::Discarded(Discarded6::Refused(LeaseError6::Status { code: 3, .. }))
        ),
        "{events:?}"
    );
    let request = &sent[0];
    assert_eq!(request.msg_type(), MessageType::Request);
    assert_ne!(request.xid(), renew.xid(), "a new exchange");
    assert!(
        request
            .opts()
            .iter()
            .any(|o| *o == DhcpOption::ServerId(s.id.clone()))
    );
    assert!(request.opts().iter().any(|o| *o == DhcpOption::ElapsedTime(0)));
    assert_eq!(ia_addresses(request), [address]);
    assert_eq!(c.state(), State6::Requesting);
    assert_eq!(c.lease().unwrap().address(), Some(address), "address kept");
    // The server gives it back: Renewed, bound again with fresh times.
    s.status = None;
    let t = t1 + Duration::from_millis(5);
    c.handle_datagram(t, &s.answer(request, MessageType::Reply));
    let (_, events, timeout) = drain(&mut c);
    let Event6::Renewed(lease) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(lease.address(), Some(address));
    assert_eq!(c.state(), State6::Bound);
    assert_eq!(timeout, Some(Some(t1 + Duration::from_secs(100))));

    // NoBinding to a REBIND: the REQUEST goes to the server that answered.
    let mut c = bound(&Server::new(7), t0);
    let t2 = t0 + Duration::from_secs(160);
    let (mut now, mut deadline, mut rebind) = (t0, Some(t1), None);
    while rebind.is_none() {
        now = deadline.unwrap();
        c.handle_timeout(now);
        let (sent, _, timeout) = drain(&mut c);
        if let Some(t) = timeout {
            deadline = t;
        }
        rebind = sent.into_iter().find(|m| m.msg_type() == MessageType::Rebind);
    }
    assert_eq!(now, t2);
    let rebind = rebind.unwrap();
    let mut other = Server::new(8);
    other.status = Some(3);
    c.handle_datagram(t2, &other.answer(&rebind, MessageType::Reply));
    let request = drain(&mut c).0.remove(0);
    assert_eq!(request.msg_type(), MessageType::Request);
    assert!(
        request
            .opts()
            .iter()
            .any(|o| *o == DhcpOption::ServerId(other.id.clone()))
    );
    assert_eq!(ia_addresses(&request), [address]);

    // That server refuses the REQUEST too: the lease is gone (Expired), SOLICIT again.
    other.status = Some(2);
    c.handle_datagram(t2, &other.answer(&request, MessageType::Reply));
    let (sent, events, _) = drain(&mut c);
    assert!(events.contains(&Event6::Expired), "{events:?}");
    assert!(c.lease().is_none());
    assert_eq!(sent[0].msg_type(), MessageType::Solicit);
}

#[test]
fn a_reacquiring_request_unanswered_ends_at_the_lease_expiry() {
    let t0 = Instant::now();
    let mut s = Server::new(9);
    s.valid = 200; // T1 100, T2 160: the REQUEST's ten tries (~3 min) would outlast it
    let mut c = bound(&s, t0);
    let t1 = t0 + Duration::from_secs(100);
    c.handle_timeout(t1);
    let renew = drain(&mut c).0.remove(0);
    s.status = Some(3);
    c.handle_datagram(t1, &s.answer(&renew, MessageType::Reply));
    let (_, _, timeout) = drain(&mut c);
    let mut now = timeout.flatten().unwrap();
    // No answer to the REQUEST: retransmitted, never past the valid lifetime, at whose end the
    // lease is reported gone.
    let expiry = t0 + Duration::from_secs(200);
    let mut requests = 1;
    for _ in 0..100 {
        c.handle_timeout(now);
        let (sent, events, timeout) = drain(&mut c);
        requests += sent
            .iter()
            .filter(|m| m.msg_type() == MessageType::Request)
            .count();
        if events.contains(&Event6::Expired) {
            assert_eq!(now, expiry);
            assert_eq!(sent.last().unwrap().msg_type(), MessageType::Solicit);
            break;
        }
        if let Some(t) = timeout.flatten() {
            now = t;
        }
        assert!(now <= expiry, "{now:?} past {expiry:?}");
    }
    assert!(c.lease().is_none());
    assert!(requests >= 3, "REQUEST retransmitted: {requests}");
}
