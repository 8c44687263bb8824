//! The client driven through whole conversations with time as input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::time::{Duration, Instant};

use proptest::prelude::*;
use radius_client::mppe::{MS_MPPE_RECV_KEY, MS_MPPE_SEND_KEY, encrypt};
use radius_client::{
    Client, Code, Config, DropReason, Event, Output, Packet, PacketBuilder, RandomError, ReplyCode,
    SendError, SharedSecret, VerifyError, attr,
};

fn secret() -> SharedSecret {
    SharedSecret::from(b"testing123".to_vec())
}

/// A counting source: reproducible, different every call.
fn counter() -> impl FnMut(&mut [u8]) -> Result<(), RandomError> {
    let mut n = 0u8;
    move |buf: &mut [u8]| {
        for b in buf.iter_mut() {
            n = n.wrapping_add(1);
            *b = n;
        }
        Ok(())
    }
}

fn drain(c: &mut Client) -> Vec<Output> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

fn transmitted(outs: &[Output]) -> Vec<Vec<u8>> {
    outs.iter()
        .filter_map(|o| match o {
            Output::Transmit(b) => Some(b.clone()),
            _ => None,
        })
        .collect()
}

fn reply_to(request: &[u8], code: Code, secret: &SharedSecret, extra: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let req = Packet::parse(request).unwrap();
    let mut b = PacketBuilder::new(code, req.identifier(), [0; 16]);
    for (t, v) in extra {
        b.attribute(*t, v).unwrap();
    }
    b.finish_reply(secret, &req.authenticator()).unwrap()
}

#[test]
fn retransmits_the_same_bytes_then_gives_up() {
    let mut rng = counter();
    let config = Config {
        timeout: Duration::from_secs(2),
        max_tries: 3,
        ..Config::default()
    };
    let mut c = Client::new(config, secret(), &mut rng).unwrap();
    let t0 = Instant::now();
    c.send_eap(t0, "phone", &[2, 0, 0, 5, 1], &mut rng).unwrap();
    let outs = drain(&mut c);
    let first = transmitted(&outs);
    assert_eq!(first.len(), 1);
    assert!(matches!(outs.last(), Some(Output::Timeout(Some(t))) if *t == t0 + Duration::from_secs(2)));
    // Early timer: nothing.
    c.handle_timeout(t0 + Duration::from_secs(1));
    assert!(drain(&mut c).is_empty());
    c.handle_timeout(t0 + Duration::from_secs(2));
    let outs = drain(&mut c);
    assert_eq!(transmitted(&outs), first, "a retransmission is the same datagram");
    assert!(matches!(outs.last(), Some(Output::Timeout(Some(t))) if *t == t0 + Duration::from_secs(4)));
    c.handle_timeout(t0 + Duration::from_secs(4));
    assert_eq!(transmitted(&drain(&mut c)), first);
    c.handle_timeout(t0 + Duration::from_secs(6));
    let outs = drain(&mut c);
    assert!(
        matches!(
            outs.as_slice(),
            [Output::Event(Event::GaveUp { tries: 3 }), Output::Timeout(None)]
        ),
        "gave up, then the timer is disarmed: {outs:?}"
    );
    assert!(!c.is_waiting());
    // A late reply to the abandoned request is unsolicited.
    c.handle_datagram(t0, &reply_to(&first[0], Code::AccessReject, &secret(), &[]));
    assert!(matches!(
        drain(&mut c).as_slice(),
        [Output::Event(Event::Dropped(DropReason::Unsolicited))]
    ));
}

#[test]
fn only_the_authenticated_reply_is_taken_and_state_is_echoed() {
    let mut rng = counter();
    let mut c = Client::new(Config::default(), secret(), &mut rng).unwrap();
    let now = Instant::now();
    c.send_eap(now, "phone", &[2, 0, 0, 5, 1], &mut rng).unwrap();
    let request = transmitted(&drain(&mut c)).remove(0);
    assert_eq!(
        c.send_eap(now, "phone", &[2, 0, 0, 5, 1], &mut rng),
        Err(SendError::Busy)
    );

    let challenge = vec![
        (attr::STATE, b"s1".to_vec()),
        (attr::EAP_MESSAGE, vec![1, 1, 0, 6, 13, 0x20]),
    ];
    let wrong_secret = reply_to(
        &request,
        Code::AccessChallenge,
        &SharedSecret::from(b"x".to_vec()),
        &challenge,
    );
    let mut wrong_id = reply_to(&request, Code::AccessChallenge, &secret(), &challenge);
    wrong_id[1] ^= 1;
    let good = reply_to(&request, Code::AccessChallenge, &secret(), &challenge);
    let mut bad_ma = good.clone();
    let n = bad_ma.len();
    bad_ma[n - 1] ^= 1; // the Message-Authenticator is the last attribute
    for (datagram, want) in [
        (
            &wrong_secret,
            DropReason::Verify(VerifyError::ResponseAuthenticator),
        ),
        (
            &wrong_id,
            DropReason::Identifier {
                expected: request[1],
                got: request[1] ^ 1,
            },
        ),
        (&bad_ma, DropReason::Verify(VerifyError::ResponseAuthenticator)),
        (
            &vec![11, 0, 0],
            DropReason::Decode(radius_client::DecodeError::TooShort { len: 3 }),
        ),
    ] {
        c.handle_datagram(now, datagram);
        match drain(&mut c).as_slice() {
            [Output::Event(Event::Dropped(r))] => assert_eq!(r, &want),
            other => panic!("{other:?}"),
        }
        assert!(c.is_waiting());
    }
    c.handle_datagram(now, &good);
    let outs = drain(&mut c);
    let [Output::Event(Event::Reply(r)), Output::Timeout(None)] = outs.as_slice() else {
        panic!("the reply, then the timer disarmed: {outs:?}")
    };
    assert_eq!(r.code, ReplyCode::Challenge);
    assert_eq!(r.eap, [1, 1, 0, 6, 13, 0x20]);
    assert_eq!(c.round_trips(), 1);

    c.send_eap(now, "phone", &[2, 1, 0, 6, 13, 0], &mut rng).unwrap();
    let next = transmitted(&drain(&mut c)).remove(0);
    let p = Packet::parse(&next).unwrap();
    assert_eq!(p.attribute(attr::STATE), Some(&b"s1"[..]));
    assert_eq!(p.identifier(), request[1].wrapping_add(1));
    assert_ne!(
        p.authenticator(),
        Packet::parse(&request).unwrap().authenticator()
    );
}

#[test]
fn accept_carries_the_msk_recv_then_send() {
    let mut rng = counter();
    let mut c = Client::new(Config::default(), secret(), &mut rng).unwrap();
    let now = Instant::now();
    c.send_eap(now, "phone", &[2, 0, 0, 5, 1], &mut rng).unwrap();
    let request = transmitted(&drain(&mut c)).remove(0);
    let auth = Packet::parse(&request).unwrap().authenticator();
    let recv: Vec<u8> = (0..32).collect();
    let send: Vec<u8> = (100..132).collect();
    let extra = vec![
        (
            attr::VENDOR_SPECIFIC,
            encrypt(MS_MPPE_SEND_KEY, &send, [0x80, 1], &secret(), &auth).unwrap(),
        ),
        (
            attr::VENDOR_SPECIFIC,
            encrypt(MS_MPPE_RECV_KEY, &recv, [0x80, 2], &secret(), &auth).unwrap(),
        ),
        (attr::EAP_MESSAGE, vec![3, 1, 0, 4]),
    ];
    c.handle_datagram(now, &reply_to(&request, Code::AccessAccept, &secret(), &extra));
    let outs = drain(&mut c);
    let [Output::Event(Event::Reply(r)), Output::Timeout(None)] = outs.as_slice() else {
        panic!("{outs:?}")
    };
    assert_eq!(r.code, ReplyCode::Accept);
    let msk = r.msk.as_ref().unwrap();
    assert_eq!(msk.expose(), [recv, send].concat());
    assert!(
        !format!("{r:?}").contains("100, 101"),
        "the MSK leaks through Debug"
    );
}

#[test]
fn a_failing_random_source_is_refused() {
    let mut ok = counter();
    let mut broken = |_: &mut [u8]| Err(RandomError);
    assert!(Client::new(Config::default(), secret(), &mut broken).is_err());
    let mut c = Client::new(Config::default(), secret(), &mut ok).unwrap();
    assert_eq!(
        c.send_eap(Instant::now(), "phone", &[2, 0, 0, 5, 1], &mut broken),
        Err(SendError::Random(RandomError))
    );
    assert!(c.poll_output().is_none(), "nothing is sent without randomness");
}

#[test]
fn secret_is_redacted() {
    let s = format!("{:?}", secret());
    assert!(!s.contains("testing123"), "{s}");
}

proptest! {
    /// Arbitrary datagrams never panic and are never taken as the reply.
    #[test]
    fn arbitrary_datagrams_are_dropped(datagrams in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..600), 1..8)) {
        let mut rng = counter();
        let mut c = Client::new(Config::default(), secret(), &mut rng).unwrap();
        let now = Instant::now();
        c.send_eap(now, "phone", &[2, 0, 0, 5, 1], &mut rng).unwrap();
        drain(&mut c);
        for d in &datagrams {
            c.handle_datagram(now, d);
            for o in drain(&mut c) {
                prop_assert!(matches!(o, Output::Event(Event::Dropped(_))));
            }
        }
        prop_assert!(c.is_waiting());
    }
}
