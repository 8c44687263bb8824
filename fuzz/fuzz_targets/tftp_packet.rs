//! TFTP: any datagram either parses and round-trips through the encoder, or is refused; and a
//! read transfer fed arbitrary datagrams and timeouts never panics and ends within its
//! retransmission bound.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tftp_proto::{Limits, Packet, ReadTransfer};

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = Packet::parse(data) {
        if let Ok(wire) = packet.try_encode() {
            assert_eq!(Packet::parse(&wire), Ok(packet));
        }
    }
    // Datagrams separated by 0xff 0xff; a first byte of each picks the source port.
    let server = SocketAddr::from(([127, 0, 0, 1], 69));
    let t0 = Instant::now();
    let limits = Limits {
        max_bytes: 4096,
        retransmit_after: Duration::from_secs(1),
        max_retransmits: 3,
    };
    let mut t = ReadTransfer::new(server, "proxy.pac", limits, t0);
    let mut now = t0;
    for chunk in data.split(|&b| b == 0xff) {
        let Some((&port, datagram)) = chunk.split_first() else {
            now += Duration::from_secs(1);
            t.handle_timeout(now);
            continue;
        };
        let from = SocketAddr::from(([127, 0, 0, 1], 5000 + u16::from(port % 4)));
        t.handle_datagram(from, datagram, now);
        while t.poll_transmit().is_some() {}
    }
    for _ in 0..5 {
        now += Duration::from_secs(1);
        t.handle_timeout(now);
    }
    assert!(t.result().is_some());
});
