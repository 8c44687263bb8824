//! eap-supplicant EAP-FAST at the peer: a `Peer` configured for EAP-FAST (with a PAC for one
//! A-ID, and without) fed an arbitrary sequence of EAP packets: the shared TLS-in-EAP framing
//! (flags, length, fragments, ACKs), the Start and its A-ID, the TLS 1.2 client behind it, the
//! PAC lifetime at a fixed host clock. Nothing may panic, and nothing may authenticate: the
//! fuzzer cannot finish a handshake the PAC-Key or a certificate would have to sign.
//!
//! Input layout: a selector byte (configuration, provisioning level), then records of
//! `[len_hi, len_lo, bytes...]`, each an EAP packet.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use eap_supplicant::fast::{FastConfig, Pac, Provisioning, tls12::RandomSource};
use eap_supplicant::{Config, Event, Peer, PeerOutput, SecretString, TimeProvider, UnixTime};
use libfuzzer_sys::fuzz_target;

#[derive(Debug)]
struct Fixed;

impl TimeProvider for Fixed {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(Duration::from_secs(1_800_000_000)))
    }
}

fn pac() -> Pac {
    // PAC-Key, PAC-Opaque, PAC-Info{A-ID "fuzz", A-ID-Info, PAC-Type 1, lifetime 1_900_000_000}.
    let mut info = Vec::new();
    for (ty, v) in [
        (4u16, b"fuzz".to_vec()),
        (7, b"fuzz server".to_vec()),
        (10, 1u16.to_be_bytes().to_vec()),
        (3, 1_900_000_000u32.to_be_bytes().to_vec()),
    ] {
        info.extend_from_slice(&ty.to_be_bytes());
        info.extend_from_slice(&u16::try_from(v.len()).unwrap_or(0).to_be_bytes());
        info.extend_from_slice(&v);
    }
    let mut tlv = Vec::new();
    for (ty, v) in [(1u16, vec![0x33; 32]), (2, b"opaque".to_vec()), (9, info)] {
        tlv.extend_from_slice(&ty.to_be_bytes());
        tlv.extend_from_slice(&u16::try_from(v.len()).unwrap_or(0).to_be_bytes());
        tlv.extend_from_slice(&v);
    }
    Pac::from_tlv(&tlv).unwrap_or_else(|e| panic!("fuzz PAC: {e}"))
}

fn configs() -> &'static [Config; 8] {
    static CONFIGS: OnceLock<[Config; 8]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        std::array::from_fn(|i| {
            let level = u8::try_from(i % 4).unwrap_or(0);
            let fast = FastConfig::new("fuzz", SecretString::new("pw"), Arc::new(Fixed))
                .provisioning(Provisioning::from_level(level).unwrap_or(Provisioning {
                    unauthenticated: false,
                    authenticated: false,
                }))
                .pacs(if i < 4 { vec![pac()] } else { Vec::new() })
                .fragment_size(64)
                .random(RandomSource::Seeded([5; 32]));
            Config::fast("fuzz", fast)
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&select, mut rest)) = data.split_first() else {
        return;
    };
    let mut peer = Peer::new(configs()[usize::from(select & 7)].clone());
    let now = Instant::now();
    peer.start(now);
    loop {
        let [hi, lo, tail @ ..] = rest else { break };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let packet = tail.get(..len).unwrap_or(tail);
        rest = tail.get(len..).unwrap_or(&[]);
        let _ = peer.handle_packet(now, packet);
        while let Some(out) = peer.poll_output() {
            if let PeerOutput::Event(Event::Authenticated(_)) = out {
                panic!("authenticated without the PAC-Key or a server");
            }
        }
    }
});
