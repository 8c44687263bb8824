//! RADIUS: any datagram parses or is refused with a typed error, its attribute walk stays
//! inside the packet, and a client waiting for a reply never takes arbitrary bytes for the
//! server's answer (without the shared secret no reply can be forged) and never panics.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use radius_client::{Client, Config, Event, Output, Packet, RandomError, SharedSecret};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::parse(data) {
        let walked: usize = p.attributes().map(|a| a.value.len() + 2).sum();
        assert_eq!(walked + 20, p.as_bytes().len());
        let _ = p.eap_message();
    }
    let mut rng = |b: &mut [u8]| -> Result<(), RandomError> {
        b.fill(0x5a);
        Ok(())
    };
    let config = Config { max_tries: 2, ..Config::default() };
    let Ok(mut c) = Client::new(config, SharedSecret::from(b"fuzz".to_vec()), &mut rng) else {
        return;
    };
    let t0 = Instant::now();
    if c.send_eap(t0, "phone", &[2, 0, 0, 5, 1], &mut rng).is_err() {
        return;
    }
    let mut now = t0;
    // Datagrams separated by 0xfe 0xfe; an empty one is a timer tick.
    for d in data.split(|&b| b == 0xfe) {
        if d.is_empty() {
            now += Duration::from_secs(3);
            c.handle_timeout(now);
        } else {
            c.handle_datagram(now, d);
        }
        while let Some(out) = c.poll_output() {
            assert!(!matches!(out, Output::Event(Event::Reply(_))), "forged reply accepted");
        }
    }
});
