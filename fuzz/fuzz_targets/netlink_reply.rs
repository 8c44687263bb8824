//! The kernel's route-netlink answers as phone-agent reads them when it applies a lease:
//! `dhcp_client::netlink::parse_reply` on any datagram, for the sequence number the agent
//! uses and for the one the datagram's first message carries.
#![no_main]

use dhcp_client::netlink::{Reply, parse_reply};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let first_seq = data
        .get(8..12)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(1);
    for seq in [1, first_seq] {
        if let Ok(Some(reply)) = parse_reply(data, seq) {
            if let Reply::Refused { errno } = reply {
                assert!(errno > 0, "a refusal carries a positive errno");
            }
            let _ = reply.is_not_there();
        }
    }
});
