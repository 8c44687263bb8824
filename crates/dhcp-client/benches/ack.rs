//! Reading a dnsmasq-sized ACK (every provisioning option present) and choosing the
//! provisioning source by the default `DHCP_Option_To_Use` order: the per-lease cost on the
//! phone. The seed corpus's `offer_all` is the message.
#![allow(missing_docs)] // criterion's generated functions
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // benches: a panic is the failure report

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dhcp_client::DEFAULT_OPTION_ORDER;
use dhcp_client::message::Received;

const OFFER: &[u8] = include_bytes!("../../../fuzz/seeds/dhcp_message/offer_all");

fn bench(c: &mut Criterion) {
    c.bench_function("Received::parse (389-byte OFFER, 11 options)", |b| {
        b.iter(|| Received::parse(black_box(OFFER)).unwrap())
    });
    c.bench_function("full DISCOVER..ACK exchange in the Client", |b| {
        let mut ack = OFFER.to_vec();
        ack[242] = 5; // option 53 is the first option: OFFER -> ACK
        b.iter(|| {
            let now = std::time::Instant::now();
            let fixed = |buf: &mut [u8]| {
                buf.fill(0x42);
                Ok(())
            };
            let mut client = dhcp_client::Client::new(
                dhcp_client::Config::new([0, 0x0e, 8, 0xab, 0xcd, 0xef]),
                fixed,
                now,
            );
            client.start(now);
            while client.poll_output().is_some() {}
            client.handle_datagram(now, black_box(OFFER));
            while client.poll_output().is_some() {}
            client.handle_datagram(now, black_box(&ack));
            let lease = client.lease().cloned().unwrap();
            black_box(lease.provisioning_source(DEFAULT_OPTION_ORDER))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
