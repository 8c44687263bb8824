//! DHCPv4 replies into the client: the strict option walker, the lease reader and the
//! provisioning-option choice. The xid, chaddr and cookie are patched in so that inputs reach
//! the option handling of SELECTING and REQUESTING.
#![no_main]

use std::time::Instant;

use dhcp_client::message::Received;
use dhcp_client::{Client, Config, DEFAULT_OPTION_ORDER, Event, Output};
use libfuzzer_sys::fuzz_target;

const MAC: [u8; 6] = [0, 0x0e, 8, 0xab, 0xcd, 0xef];

fuzz_target!(|data: &[u8]| {
    let _ = Received::parse(data);
    let now = Instant::now();
    let fixed = |b: &mut [u8]| {
        b.fill(0x42);
        Ok(())
    };
    let mut client = Client::new(Config::new(MAC), fixed, now);
    client.start(now);
    while client.poll_output().is_some() {}
    let mut m = data.to_vec();
    if m.len() >= 240 {
        m[0] = 2;
        m[2] = 6;
        m[4..8].copy_from_slice(&[0x42; 4]);
        m[28..34].copy_from_slice(&MAC);
        m[236..240].copy_from_slice(&[99, 130, 83, 99]);
    }
    // The same bytes as OFFER, then as ACK (option 53 decides what they are).
    for _ in 0..2 {
        client.handle_datagram(now, &m);
        while let Some(out) = client.poll_output() {
            if let Output::Event(Event::Bound(lease) | Event::Renewed(lease)) = out {
                let _ = lease.provisioning_source(DEFAULT_OPTION_ORDER);
                let _ = lease.wpad_url();
                let _ = lease.prefix_len();
            }
        }
        if m.len() > 242 {
            // Flip an OFFER (2) into an ACK (5) when 53 is the first option.
            if m[240] == 53 && m[241] == 1 {
                m[242] = 5;
            }
        }
    }
    client.handle_timeout(now + std::time::Duration::from_secs(100_000));
    while client.poll_output().is_some() {}
});
