//! Peer-level tests against a scripted EAP-FAST server: a [`Peer`] driven with EAP packets
//! crafted here, with a real TLS 1.2 abbreviated handshake (PAC-Key -> master secret, ServerHello,
//! ChangeCipherSpec, Finished, protected records) and phase 2 TLVs, so every malformed case in
//! the style of hostap's `test_eap_proto.py` FAST cases reaches the peer through the same path
//! a RADIUS server's packets take: wrong Crypto-Binding, handshake messages out of order, bad
//! TLVs, truncated fragments; and the PAC lifetime judged at the host's clock (an expired PAC
//! is not used, one close to its end is refreshed).

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use phone_secret::{SecretBytes, SecretString};
use ring::digest;
use rustls::pki_types::UnixTime;
use rustls::time_provider::TimeProvider;
use zeroize::Zeroizing;

use super::pac::attr;
use super::tls12::codec::handshake;
use super::tls12::record::{CipherState, ContentType, RecordLayer};
use super::tls12::{CipherSuite, RandomSource, Rng, prf};
use super::tlv::{self, ty};
use super::{FastConfig, FastError, Pac, Phase2, Provisioning, TlvError, keys};
use crate::eap::{self, MethodType};
use crate::event::{Event, FailureReason};
use crate::fragment::FragmentError;
use crate::tls::Step;
use crate::{Config, Discarded, Handled, Peer, PeerOutput};

const A_ID: &[u8] = b"scripted-a-id-0123";
const PAC_KEY: [u8; 32] = [0x11; 32];
const OPAQUE: &[u8] = b"opaque blob the server reads back";
/// The PAC's end of life: 2030-01-01.
const LIFETIME: u64 = 1_893_456_000;
const SUITE: CipherSuite = CipherSuite::RsaAes128CbcSha;

/// The host's wall clock, set by the test; `None` is a clock that is not set yet.
#[derive(Debug)]
struct TestClock(Mutex<Option<u64>>);

impl TimeProvider for TestClock {
    fn current_time(&self) -> Option<UnixTime> {
        (*self.0.lock().unwrap()).map(|s| UnixTime::since_unix_epoch(Duration::from_secs(s)))
    }
}

fn pac(lifetime: u64) -> Pac {
    let mut info = Vec::new();
    tlv_put(&mut info, attr::A_ID, A_ID);
    tlv_put(&mut info, attr::A_ID_INFO, b"scripted server");
    tlv_put(&mut info, attr::PAC_TYPE, &1u16.to_be_bytes());
    tlv_put(
        &mut info,
        attr::CRED_LIFETIME,
        &u32::try_from(lifetime).unwrap().to_be_bytes(),
    );
    Pac::from_tlv(&pac_tlv_value(&PAC_KEY, OPAQUE, &info)).unwrap()
}

fn pac_tlv_value(key: &[u8], opaque: &[u8], info: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    tlv_put(&mut v, attr::PAC_KEY, key);
    tlv_put(&mut v, attr::PAC_OPAQUE, opaque);
    tlv_put(&mut v, attr::PAC_INFO, info);
    v
}

fn tlv_put(out: &mut Vec<u8>, ty: u16, value: &[u8]) {
    out.extend_from_slice(&ty.to_be_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
    out.extend_from_slice(value);
}

/// A peer with one PAC, inner GTC, the clock at `now` (seconds since 1970).
fn peer(now: Option<u64>, provisioning: u8, pacs: Vec<Pac>) -> Peer {
    let clock = Arc::new(TestClock(Mutex::new(now)));
    let fast = FastConfig::new("user", SecretString::new("secret"), clock)
        .phase2(Phase2::Gtc)
        .provisioning(Provisioning::from_level(provisioning).unwrap())
        .pacs(pacs)
        .random(RandomSource::Seeded([7; 32]));
    Peer::new(Config::fast("anonymous", fast))
}

/// The scripted server: EAP identifiers, the TLS state of the abbreviated handshake, the
/// phase 2 key chain.
struct Server {
    t: Instant,
    id: u8,
    records: RecordLayer,
    rng: Rng,
    transcript: digest::Context,
    client_random: [u8; 32],
    server_random: [u8; 32],
    master_secret: Zeroizing<Vec<u8>>,
    s_imck: Zeroizing<Vec<u8>>,
    client_read: Option<CipherState>,
}

impl Server {
    fn new() -> Server {
        Server {
            t: Instant::now(),
            id: 0,
            records: RecordLayer::new(),
            rng: Rng::new(&RandomSource::Seeded([9; 32])),
            transcript: digest::Context::new(&digest::SHA256),
            client_random: [0; 32],
            server_random: [0x5e; 32],
            master_secret: Zeroizing::new(Vec::new()),
            s_imck: Zeroizing::new(Vec::new()),
            client_read: None,
        }
    }

    /// Sends one EAP-FAST request with this type-data; returns what the peer did.
    fn request(
        &mut self,
        peer: &mut Peer,
        type_data: &[u8],
    ) -> (Result<Handled, Discarded>, Vec<PeerOutput>) {
        self.id = self.id.wrapping_add(1);
        let packet = eap::request(self.id, MethodType::Fast, type_data);
        let r = peer.handle_packet(self.t, &packet);
        (r, drain(peer))
    }

    /// EAP-FAST Start (version 1) with the A-ID TLV; returns the ClientHello record(s).
    fn start(&mut self, peer: &mut Peer) -> Vec<u8> {
        peer.start(self.t);
        drain(peer);
        let mut data = vec![0x21];
        tlv_put(&mut data, 4, A_ID);
        let (r, out) = self.request(peer, &data);
        assert_eq!(r, Ok(Handled::Answered));
        tls_of(&out)
    }

    /// ServerHello echoing the session ID (the PAC is accepted), CCS, Finished.
    fn resume(&mut self, client_hello: &[u8]) -> Vec<u8> {
        // Record header (5), handshake header (4), version (2), random (32), session ID.
        let msg = &client_hello[5..];
        self.transcript.update(msg);
        self.client_random.copy_from_slice(&msg[6..38]);
        let sid_len = usize::from(msg[38]);
        let session_id = msg[39..39 + sid_len].to_vec();
        let mut body = vec![3, 3];
        body.extend_from_slice(&self.server_random);
        body.push(u8::try_from(session_id.len()).unwrap());
        body.extend_from_slice(&session_id);
        body.extend_from_slice(&SUITE.value().to_be_bytes());
        body.push(0);
        body.extend_from_slice(&[0, 5, 0xff, 0x01, 0, 1, 0]); // renegotiation_info, empty
        let hello = handshake(2, &body);
        self.transcript.update(&hello);
        self.master_secret = keys::pac_master_secret(&PAC_KEY, &self.server_random, &self.client_random);
        let k = SUITE.key_len();
        let kb = prf::prf(
            &self.master_secret,
            b"key expansion",
            &[self.server_random, self.client_random].concat(),
            SUITE.key_block_record_len() + 40,
        );
        self.s_imck = Zeroizing::new(kb[SUITE.key_block_record_len()..].to_vec());
        let server_write = CipherState::new(&kb[20..40], &kb[40 + k..40 + 2 * k]).unwrap();
        self.client_read = Some(CipherState::new(&kb[0..20], &kb[40..40 + k]).unwrap());
        let mut out = Vec::new();
        self.seal(ContentType::Handshake, &hello, &mut out);
        self.seal(ContentType::ChangeCipherSpec, &[1], &mut out);
        self.records.set_write(server_write);
        let hash = self.transcript.clone().finish();
        let finished = handshake(
            20,
            &prf::prf(&self.master_secret, b"server finished", hash.as_ref(), 12),
        );
        self.transcript.update(&finished);
        self.seal(ContentType::Handshake, &finished, &mut out);
        out
    }

    fn seal(&mut self, ty: ContentType, data: &[u8], out: &mut Vec<u8>) {
        self.records.seal(&mut self.rng, ty, data, out).unwrap();
    }

    /// Application data (phase 2 TLVs) in one EAP-FAST request.
    fn tlvs(&mut self, peer: &mut Peer, tlvs: &[u8]) -> (Result<Handled, Discarded>, Vec<PeerOutput>) {
        let mut data = vec![1];
        self.seal(ContentType::ApplicationData, tlvs, &mut data);
        self.request(peer, &data)
    }

    /// Reads the peer's records: the CCS switches to the client's keys; returns the decrypted
    /// application data and alerts.
    fn read(&mut self, tls: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
        self.records.push(tls).unwrap();
        let (mut app, mut alerts) = (Vec::new(), Vec::new());
        while let Some(rec) = self.records.next_record().unwrap() {
            match rec.ty {
                ContentType::ChangeCipherSpec => self.records.set_read(self.client_read.take().unwrap()),
                ContentType::ApplicationData => app.extend_from_slice(&rec.data),
                ContentType::Alert => alerts.push(rec.data.to_vec()),
                ContentType::Handshake => {}
            }
        }
        (app, alerts)
    }

    /// The abbreviated handshake and the inner GTC up to the Crypto-Binding request.
    fn run_to_phase2(&mut self, peer: &mut Peer) {
        let hello = self.start(peer);
        let flight = self.resume(&hello);
        let mut data = vec![1];
        data.extend_from_slice(&flight);
        let (r, out) = self.request(peer, &data);
        assert_eq!(r, Ok(Handled::Answered), "{out:?}");
        let (app, alerts) = self.read(&tls_of(&out));
        assert!(app.is_empty() && alerts.is_empty(), "client Finished expected");
        // Inner EAP: GTC straight away (identity is the outer one here).
        let mut t = Vec::new();
        tlv::put(
            &mut t,
            ty::EAP_PAYLOAD,
            true,
            &eap::request(30, MethodType::Other(6), b"Password"),
        );
        let (r, out) = self.tlvs(peer, &t);
        assert_eq!(r, Ok(Handled::Answered));
        let (app, _) = self.read(&tls_of(&out));
        let parsed = tlv::parse(&app).unwrap();
        let inner = parsed.eap_payload.unwrap();
        assert_eq!(&inner[5..], b"RESPONSE=user\0secret");
    }

    /// A Crypto-Binding request TLV for inner GTC (ISK all zeros), MAC'd with the right CMK
    /// unless `tamper`; returns it with S-IMCK[1].
    fn crypto_binding(&self, version: u8, tamper: bool) -> (Vec<u8>, Zeroizing<Vec<u8>>) {
        let (s_imck, cmk) = keys::imck_step(&self.s_imck, &[0; 32]);
        let mut raw = [0u8; tlv::CRYPTO_BINDING_LEN];
        raw[..4].copy_from_slice(&[0x80, 12, 0, 56]);
        raw[5] = version;
        raw[6] = 1;
        raw[7] = 0;
        raw[8..40].copy_from_slice(&[0x42; 32]);
        raw[39] = 0x40;
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &cmk);
        let mac = ring::hmac::sign(&key, &raw);
        raw[40..].copy_from_slice(mac.as_ref());
        if tamper {
            raw[59] ^= 1;
        }
        (raw.to_vec(), s_imck)
    }

    fn success(&mut self, peer: &mut Peer) -> (Result<Handled, Discarded>, Vec<PeerOutput>) {
        let packet = [3, self.id, 0, 4];
        let r = peer.handle_packet(self.t, &packet);
        (r, drain(peer))
    }
}

fn drain(peer: &mut Peer) -> Vec<PeerOutput> {
    std::iter::from_fn(|| peer.poll_output()).collect()
}

/// The TLS bytes of the last EAP-FAST response (flags octet without L stripped).
fn tls_of(out: &[PeerOutput]) -> Vec<u8> {
    let r = out
        .iter()
        .rev()
        .find_map(|o| match o {
            PeerOutput::Response(r) => Some(r.clone()),
            PeerOutput::Event(_) => None,
        })
        .expect("a response");
    assert_eq!(r[4], 43, "an EAP-FAST response");
    assert_eq!(r[5] & 0x80, 0, "unfragmented");
    r[6..].to_vec()
}

fn failure(out: &[PeerOutput]) -> FailureReason {
    out.iter()
        .find_map(|o| match o {
            PeerOutput::Event(Event::Failed { reason }) => Some(reason.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no failure in {out:?}"))
}

fn fast_failure(out: &[PeerOutput]) -> FastError {
    match failure(out) {
        FailureReason::Fast(e) => e,
        other => panic!("not an EAP-FAST failure: {other}"),
    }
}

fn authenticated(out: &[PeerOutput]) -> bool {
    out.iter()
        .any(|o| matches!(o, PeerOutput::Event(Event::Authenticated(_))))
}

/// The Result TLV the peer sent in the tunnel when it failed closed.
fn sent_result_failure(server: &mut Server, out: &[PeerOutput]) {
    let (app, _) = server.read(&tls_of(out));
    assert_eq!(
        tlv::parse(&app).unwrap().result,
        Some(tlv::FAILURE),
        "Result TLV Failure"
    );
}

#[test]
fn the_scripted_server_authenticates_a_peer_with_its_pac() {
    let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    s.run_to_phase2(&mut p);
    let (cb, s_imck) = s.crypto_binding(1, false);
    let mut t = Vec::new();
    tlv::result(&mut t, tlv::SUCCESS, true);
    t.extend_from_slice(&cb);
    tlv::result(&mut t, tlv::SUCCESS, false);
    let (r, out) = s.tlvs(&mut p, &t);
    assert_eq!(r, Ok(Handled::Answered));
    let (app, _) = s.read(&tls_of(&out));
    let reply = tlv::parse(&app).unwrap();
    assert_eq!(reply.result, Some(tlv::SUCCESS));
    assert!(reply.crypto_binding.is_some());
    // A month before its end: no PAC request.
    assert_eq!(reply.pac, None);
    let (r, out) = s.success(&mut p);
    assert_eq!(r, Ok(Handled::Concluded));
    let keys = out
        .iter()
        .find_map(|o| match o {
            PeerOutput::Event(Event::Authenticated(a)) => Some(a.clone()),
            _ => None,
        })
        .expect("authenticated");
    assert_eq!(keys.msk.expose(), keys::msk(&s_imck).as_slice());
    assert_eq!(keys.session_id[0], 43);
    assert_eq!(&keys.session_id[1..33], &s.client_random);
}

#[test]
fn a_wrong_compound_mac_fails_closed_and_success_is_refused() {
    let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    s.run_to_phase2(&mut p);
    let (cb, _) = s.crypto_binding(1, true);
    let mut t = Vec::new();
    tlv::result(&mut t, tlv::SUCCESS, true);
    t.extend_from_slice(&cb);
    tlv::result(&mut t, tlv::SUCCESS, false);
    let (_, out) = s.tlvs(&mut p, &t);
    assert_eq!(fast_failure(&out), FastError::CompoundMac);
    sent_result_failure(&mut s, &out);
    let (r, out) = s.success(&mut p);
    assert_eq!(r, Err(Discarded::Finished(eap::Code::Success)));
    assert!(!authenticated(&out));
}

#[test]
fn a_crypto_binding_of_another_version_fails_closed() {
    let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    s.run_to_phase2(&mut p);
    let (cb, _) = s.crypto_binding(2, false);
    let mut t = Vec::new();
    tlv::result(&mut t, tlv::SUCCESS, true);
    t.extend_from_slice(&cb);
    let (_, out) = s.tlvs(&mut p, &t);
    assert!(matches!(
        fast_failure(&out),
        FastError::CryptoBindingVersion { version: 2, .. }
    ));
    sent_result_failure(&mut s, &out);
}

#[test]
fn a_result_tlv_before_the_crypto_binding_never_authorizes() {
    let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    s.run_to_phase2(&mut p);
    // Success straight after the inner method, no Crypto-Binding: the peer acknowledges, but
    // EAP-Success is refused (no keys bound to the tunnel).
    let mut t = Vec::new();
    tlv::result(&mut t, tlv::SUCCESS, false);
    let (r, _) = s.tlvs(&mut p, &t);
    assert_eq!(r, Ok(Handled::Answered));
    let (r, out) = s.success(&mut p);
    assert_eq!(r, Ok(Handled::Concluded));
    assert_eq!(failure(&out), FailureReason::UnexpectedSuccess);
    assert!(!authenticated(&out));
}

#[test]
fn an_unknown_mandatory_tlv_gets_a_nak_and_success_is_refused() {
    let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    s.run_to_phase2(&mut p);
    let mut t = Vec::new();
    tlv::put(&mut t, 0x3ff0, true, &[1, 2, 3]);
    let (r, out) = s.tlvs(&mut p, &t);
    assert_eq!(r, Ok(Handled::Answered));
    let (app, _) = s.read(&tls_of(&out));
    // NAK TLV (type 4, mandatory) naming type 0x3ff0.
    assert_eq!(&app[..4], &[0x80, 4, 0, 6]);
    assert_eq!(&app[8..10], &[0x3f, 0xf0]);
    let (_, out) = s.success(&mut p);
    assert_eq!(failure(&out), FailureReason::UnexpectedSuccess);
}

#[test]
fn tlv_lengths_past_the_message_and_duplicates_fail_closed() {
    for (name, tlvs, want) in [
        (
            "length past the end",
            vec![0x80, 3, 0x10, 0, 0, 1],
            TlvError::Overflow {
                ty: 3,
                len: 0x1000,
                left: 2,
            },
        ),
        ("too short for a header", vec![0x80, 3, 0], TlvError::TooShort(3)),
        (
            "two Result TLVs",
            [[0x80, 3, 0, 2, 0, 1], [0x80, 3, 0, 2, 0, 1]].concat(),
            TlvError::Duplicate(3),
        ),
    ] {
        let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
        let mut s = Server::new();
        s.run_to_phase2(&mut p);
        let (_, out) = s.tlvs(&mut p, &tlvs);
        assert_eq!(fast_failure(&out), FastError::Tlv(want), "{name}");
        sent_result_failure(&mut s, &out);
    }
}

/// What a scripted server sends after the ClientHello.
type Script = Box<dyn Fn(&mut Server, &[u8]) -> Vec<u8>>;

#[test]
fn handshake_messages_out_of_order_fail_closed_with_an_alert() {
    // A Finished where the ServerHello belongs; a ServerHelloDone where the CCS belongs after
    // the PAC was accepted; application data before the handshake has finished.
    let finished = [22, 3, 3, 0, 16, 20, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let cases: [(&str, Script, FastError); 3] = [
        (
            "Finished first",
            Box::new(move |_, _| finished.to_vec()),
            FastError::Tls(super::tls12::TlsError::UnexpectedMessage {
                expected: "ServerHello",
                got: 20,
            }),
        ),
        (
            "ServerHelloDone after resumption",
            Box::new(|s, hello| {
                let flight = s.resume(hello);
                // Keep the ServerHello record, replace the rest.
                let sh_len = 5 + usize::from(u16::from_be_bytes([flight[3], flight[4]]));
                [&flight[..sh_len], &[22, 3, 3, 0, 4, 14, 0, 0, 0][..]].concat()
            }),
            FastError::Tls(super::tls12::TlsError::UnexpectedMessage {
                expected: "ChangeCipherSpec",
                got: 14,
            }),
        ),
        (
            "application data in the handshake",
            Box::new(|_, _| vec![23, 3, 3, 0, 2, 1, 2]),
            FastError::Tls(super::tls12::TlsError::UnexpectedContentType(23)),
        ),
    ];
    for (name, script, want) in cases {
        let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
        let mut s = Server::new();
        let hello = s.start(&mut p);
        let mut data = vec![1];
        data.extend_from_slice(&script(&mut s, &hello));
        let (r, out) = s.request(&mut p, &data);
        assert_eq!(r, Ok(Handled::Answered), "{name}");
        assert_eq!(fast_failure(&out), want, "{name}");
        // The last response is a fatal alert record (plaintext: no keys on the client's side).
        let alert = tls_of(&out);
        assert_eq!(&alert[..5], &[21, 3, 3, 0, 2], "{name}");
        assert_eq!(alert[5], 2, "{name}: fatal");
        let (_, out) = s.success(&mut p);
        assert!(!authenticated(&out), "{name}");
    }
}

#[test]
fn truncated_and_oversized_fragments_fail_closed() {
    // A message declared 100 octets long that ends after 5; one declared beyond the bound.
    for (data, want) in [
        (
            vec![0x81, 0, 0, 0, 100, 22, 3, 3, 0, 1],
            FragmentError::Underflow {
                declared: 100,
                received: 5,
            },
        ),
        (
            vec![0xc1, 0, 0x10, 0, 1, 22],
            FragmentError::MessageTooLong {
                declared: 0x100001,
                limit: crate::DEFAULT_MAX_MESSAGE_LEN,
            },
        ),
        (vec![0x41, 22, 3], FragmentError::MissingLength),
    ] {
        let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
        let mut s = Server::new();
        s.start(&mut p);
        let (r, out) = s.request(&mut p, &data);
        assert_eq!(r, Ok(Handled::Answered));
        assert_eq!(failure(&out), FailureReason::Fragmentation(want));
    }
    // Data where the ACK of the peer's own fragment belongs is dropped, the state kept.
    let fast = FastConfig::new(
        "user",
        SecretString::new("secret"),
        Arc::new(TestClock(Mutex::new(Some(LIFETIME - 86_400 * 30)))),
    )
    .pacs(vec![pac(LIFETIME)])
    .fragment_size(64)
    .random(RandomSource::Seeded([7; 32]));
    let mut p = Peer::new(Config::fast("anonymous", fast));
    let mut s = Server::new();
    p.start(s.t);
    drain(&mut p);
    let mut data = vec![0x21];
    tlv_put(&mut data, 4, A_ID);
    let (_, out) = s.request(&mut p, &data);
    let PeerOutput::Response(first) = out.last().unwrap() else {
        panic!()
    };
    assert_eq!(first[5] & 0xc0, 0xc0, "first of several fragments: L and M");
    let (r, _) = s.request(&mut p, &[0x01, 22]);
    assert_eq!(r, Err(Discarded::Fragment(FragmentError::ExpectedAck(1))));
    let (r, _) = s.request(&mut p, &[0x01]);
    assert_eq!(r, Ok(Handled::Answered));
}

#[test]
fn an_expired_pac_is_not_used() {
    // The host's clock is past the PAC's lifetime and provisioning is off: no PAC, no start.
    let mut p = peer(Some(LIFETIME + 1), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    p.start(s.t);
    drain(&mut p);
    let mut data = vec![0x21];
    tlv_put(&mut data, 4, A_ID);
    let (_, out) = s.request(&mut p, &data);
    assert!(matches!(fast_failure(&out), FastError::NoPac(_)));

    // With anonymous provisioning allowed, the ClientHello offers only DH_anon and carries no
    // PAC-Opaque: a new PAC is provisioned instead.
    let mut p = peer(Some(LIFETIME + 1), 1, vec![pac(LIFETIME)]);
    let hello = Server::new().start(&mut p);
    assert!(!contains(&hello, OPAQUE), "the expired PAC-Opaque was sent");
    assert!(
        contains(&hello, &[0, 2, 0, 0x34]),
        "only TLS_DH_anon_WITH_AES_128_CBC_SHA offered"
    );

    // The same PAC a second before its end is used; so is any PAC when the clock is not set
    // (the server judges the lifetime then).
    for now in [Some(LIFETIME - 1), None] {
        let mut p = peer(now, 1, vec![pac(LIFETIME)]);
        let hello = Server::new().start(&mut p);
        assert!(
            contains(&hello, OPAQUE),
            "{now:?}: PAC-Opaque in the SessionTicket extension"
        );
    }
}

#[test]
fn a_pac_close_to_its_end_is_refreshed_in_the_tunnel() {
    // An hour before the end (inside the default one-day margin): after the Crypto-Binding the
    // peer asks for a new Tunnel PAC; the server sends one; the host gets it.
    let mut p = peer(Some(LIFETIME - 3600), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    s.run_to_phase2(&mut p);
    let (cb, _) = s.crypto_binding(1, false);
    let mut t = Vec::new();
    tlv::result(&mut t, tlv::SUCCESS, true);
    t.extend_from_slice(&cb);
    let (_, out) = s.tlvs(&mut p, &t);
    let (app, _) = s.read(&tls_of(&out));
    let reply = tlv::parse(&app).unwrap();
    assert_eq!(reply.request_action, Some(1), "Request-Action: Process-TLV");
    assert_eq!(
        reply.pac,
        Some(&[0, 10, 0, 2, 0, 1][..]),
        "PAC TLV asking for PAC-Type 1"
    );

    let new_lifetime = LIFETIME + 90 * 86_400;
    let mut info = Vec::new();
    tlv_put(&mut info, attr::A_ID, A_ID);
    tlv_put(&mut info, attr::A_ID_INFO, b"scripted server");
    tlv_put(&mut info, attr::PAC_TYPE, &1u16.to_be_bytes());
    tlv_put(
        &mut info,
        attr::CRED_LIFETIME,
        &u32::try_from(new_lifetime).unwrap().to_be_bytes(),
    );
    let mut t = Vec::new();
    tlv::put(
        &mut t,
        ty::PAC,
        true,
        &pac_tlv_value(&[0x22; 32], b"new opaque", &info),
    );
    tlv::result(&mut t, tlv::SUCCESS, false);
    let (_, out) = s.tlvs(&mut p, &t);
    let new = out
        .iter()
        .find_map(|o| match o {
            PeerOutput::Event(Event::PacProvisioned(pac)) => Some(pac.clone()),
            _ => None,
        })
        .expect("the refreshed PAC reaches the host");
    assert_eq!(new.lifetime, Some(u32::try_from(new_lifetime).unwrap()));
    assert_eq!(new.key, SecretBytes::new(vec![0x22; 32]));
    let (app, _) = s.read(&tls_of(&out));
    assert!(tlv::parse(&app).unwrap().pac.is_some(), "PAC-Acknowledgement");
    let (_, out) = s.success(&mut p);
    assert!(authenticated(&out));

    // Two days before the end (outside the margin): no request.
    let mut p = peer(Some(LIFETIME - 2 * 86_400), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    s.run_to_phase2(&mut p);
    let (cb, _) = s.crypto_binding(1, false);
    let mut t = Vec::new();
    tlv::result(&mut t, tlv::SUCCESS, true);
    t.extend_from_slice(&cb);
    let (_, out) = s.tlvs(&mut p, &t);
    let (app, _) = s.read(&tls_of(&out));
    assert_eq!(tlv::parse(&app).unwrap().pac, None);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The method never panics on a request it cannot use, whatever the state (hostap's proto
/// tests send such at every step).
#[test]
fn garbage_at_every_step_is_typed() {
    let mut p = peer(Some(LIFETIME - 30 * 86_400), 0, vec![pac(LIFETIME)]);
    let mut s = Server::new();
    s.run_to_phase2(&mut p);
    // A whole protected record that is not the server's: bad_record_mac, an alert back.
    let mut junk = vec![0x01, 23, 3, 3, 0, 48];
    junk.extend_from_slice(&[0xa5; 48]);
    let (r, out) = s.request(&mut p, &junk);
    assert_eq!(r, Ok(Handled::Answered));
    assert_eq!(
        fast_failure(&out),
        FastError::Tls(super::tls12::TlsError::BadRecordMac)
    );
    // After the failure a request starts a new conversation: data before Start is dropped.
    let (r, _) = s.request(&mut p, &[0x01, 23, 3, 3, 0, 1, 0]);
    assert_eq!(r, Err(Discarded::Fragment(FragmentError::DataBeforeStart)));
    let step = super::method::EapFast::new(&FastConfig::new(
        "u",
        SecretString::new("p"),
        Arc::new(TestClock(Mutex::new(None))),
    ))
    .process(s.t, &[]);
    assert!(matches!(step, Step::Discard(FragmentError::MissingFlags)));
}
