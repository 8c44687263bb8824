//! eap-supplicant EAP-FAST TLS 1.2 client: the record layer and handshake parser fed arbitrary
//! server bytes in arbitrary splits, anonymous and certificate configurations. Nothing may
//! panic; after an error the client stays failed.
//!
//! Input layout: the first byte picks the configuration; then chunks of `[len, bytes...]`.
#![no_main]

use std::sync::Arc;
use std::time::Instant;

use eap_supplicant::DefaultTimeProvider;
use eap_supplicant::fast::tls12::{Client, ClientConfig, RandomSource};
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

fuzz_target!(|data: &[u8]| {
    let Some((&select, mut rest)) = data.split_first() else {
        return;
    };
    let config = if select & 1 == 0 {
        ClientConfig::anonymous()
    } else {
        match ClientConfig::authenticated(CA.as_bytes(), None, Arc::new(DefaultTimeProvider)) {
            Ok(c) => c.with_anonymous(),
            Err(e) => panic!("fuzz CA: {e}"),
        }
    };
    let mut client = Client::new(config, RandomSource::Seeded([select; 32]));
    let now = Instant::now();
    if client.start(now).is_err() {
        return;
    }
    let mut failed = false;
    while let [len, tail @ ..] = rest {
        let chunk = tail.get(..usize::from(*len)).unwrap_or(tail);
        rest = tail.get(usize::from(*len)..).unwrap_or(&[]);
        let result = client.handle_tls(now, chunk);
        if failed {
            assert!(result.is_err(), "a failed client accepted more input");
        }
        failed |= result.is_err();
        while client.poll_output().is_some() {}
    }
});
