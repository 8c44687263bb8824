//! eap-supplicant: the supplicant (PAE + EAP peer + EAP-TLS) fed an arbitrary sequence of EAPOL
//! frames and timer ticks. Nothing may panic, and no sequence may authenticate: the fuzzer has
//! no server key, so `Authenticated` would mean a canned or early Success was accepted.
//!
//! Input layout: records of `[tick, len_hi, len_lo, bytes...]`; `tick` advances the clock by
//! that many seconds before the frame is delivered. The first byte picks the fragment size.
#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use eap_supplicant::{Config, EapTlsConfig, Event, Output, Supplicant};
use libfuzzer_sys::fuzz_target;

const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBejCCASGgAwIBAgIUeR4QzC38Bq8L/Ig3K5Al4sOvV7gwCgYIKoZIzj0EAwIw
EjEQMA4GA1UEAwwHZnV6eiBDQTAgFw0yNjExMjcwMTMxMDBaGA8yMTI2MTEwMzAx
MzEwMFowEjEQMA4GA1UEAwwHZnV6eiBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABAI4TrKOLJVkTJYcCOW+oZZ4hl9mNhhpM0Nj5RwmC6VZ5b6L2+uTi66hSnbu
yOfayHCObu4gA9ivvvJpQihUH6WjUzBRMB0GA1UdDgQWBBQ9KwK4lTP/1e5yajx5
fN66RgwksjAfBgNVHSMEGDAWgBQ9KwK4lTP/1e5yajx5fN66RgwksjAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIG7OJjtg1J/efbC3orRJbIp1C1zY
Nfmz8re4d+a6EJ6XAiBrvvJZoalPQ4TuXH7jBy+OZSPvqOGAOwmZ77MG+8xxiw==
-----END CERTIFICATE-----
";

fn configs() -> &'static [Config; 2] {
    static CONFIGS: OnceLock<[Config; 2]> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let make = |fragment| {
            let tls = EapTlsConfig::builder(CA.as_bytes(), std::sync::Arc::new(eap_supplicant::DefaultTimeProvider))
                .fragment_size(fragment)
                .max_message_len(16_384)
                .build()
                .unwrap_or_else(|e| panic!("fuzz CA: {e}"));
            Config::new("fuzz", tls)
        };
        [make(1398), make(64)]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&select, mut rest)) = data.split_first() else {
        return;
    };
    let config = configs()[usize::from(select & 1)].clone();
    let mut supplicant = Supplicant::new(config);
    let mut now = Instant::now();
    supplicant.link_up(now);
    loop {
        let [tick, hi, lo, tail @ ..] = rest else { break };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let frame = tail.get(..len).unwrap_or(tail);
        rest = tail.get(len..).unwrap_or(&[]);
        now += Duration::from_secs(u64::from(*tick));
        supplicant.handle_timeout(now);
        let _ = supplicant.handle_frame(now, frame);
        while let Some(out) = supplicant.poll_output() {
            if let Output::Event(Event::Authenticated(_)) = out {
                panic!("authenticated without a server");
            }
        }
    }
});
