//! TFTP: any datagram either parses and round-trips through the encoder, or is refused; and a
//! read transfer fed arbitrary datagrams and timeouts never panics and ends within its
//! retransmission bound.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tftp_proto::{Event, Limits, Output, Packet, ReadTransfer};

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
    let mut finished = None;
    // After each input: a deadline is never in the past, none follows the end, and the end
    // is reported once.
    let mut drain = |t: &mut ReadTransfer, now: Instant| {
        while let Some(out) = t.poll_output() {
            match out {
                Output::Timeout(at) => assert!(at > now && t.result().is_none()),
                Output::Event(Event::Finished(r)) => {
                    assert!(finished.is_none(), "Finished twice");
                    finished = Some(r);
                }
                Output::Transmit(_) => {}
            }
        }
    };
    drain(&mut t, now);
    for chunk in data.split(|&b| b == 0xff) {
        match chunk.split_first() {
            None => {
                now += Duration::from_secs(1);
                t.handle_timeout(now);
            }
            Some((&port, datagram)) => {
                let from = SocketAddr::from(([127, 0, 0, 1], 5000 + u16::from(port % 4)));
                t.handle_datagram(now, from, datagram);
            }
        }
        drain(&mut t, now);
    }
    for _ in 0..5 {
        now += Duration::from_secs(1);
        t.handle_timeout(now);
        drain(&mut t, now);
    }
    // Ended within the retransmission bound, and the event says what result() says.
    assert!(t.result().is_some());
    assert_eq!(t.into_result(), finished);
});
