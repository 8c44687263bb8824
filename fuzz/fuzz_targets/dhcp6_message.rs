//! DHCPv6 replies into the client: the strict option walker (IA_NA → IAADDR → Status Code),
//! the lease reader and the option-17/160/159 choice. The transaction ID and our Client
//! Identifier are patched in so that inputs reach ADVERTISE and REPLY handling.
#![no_main]

use std::time::{Duration, Instant};

use dhcp_client::v6::message::Received6;
use dhcp_client::v6::{Client6, Config6, DEFAULT_OPTION_ORDER6, Event6, Output6};
use libfuzzer_sys::fuzz_target;

const MAC: [u8; 6] = [0, 0x0e, 8, 0xab, 0xcd, 0xef];

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Received6::parse(data) {
        let _ = m.ia_na(0x08ab_cdef);
        let _ = m.status();
        let _ = m.preference();
        let _ = m.addresses(23);
    }
    let now = Instant::now();
    let fixed = |b: &mut [u8]| {
        b.fill(0x42);
        Ok(())
    };
    let config = Config6::new(MAC);
    let duid = config.duid.clone();
    let mut client = Client6::new(config, fixed, now);
    client.start(now);
    while client.poll_output().is_some() {}
    // Header with our xid, then our Client Identifier, then the input as options.
    let mut m = vec![2, 0x42, 0x42, 0x42, 0, 1, 0, duid.len() as u8];
    m.extend_from_slice(&duid);
    m.extend_from_slice(data);
    // As ADVERTISE (preference or timeout takes it), then as REPLY.
    for kind in [2u8, 7] {
        m[0] = kind;
        client.handle_datagram(now, &m);
        client.handle_timeout(now + Duration::from_secs(2));
        while let Some(out) = client.poll_output() {
            if let Output6::Event(Event6::Bound(lease) | Event6::Renewed(lease)) = out {
                let _ = lease.provisioning_source(DEFAULT_OPTION_ORDER6);
                let _ = lease.provisioning_source(&[159, 160, 17]);
                let _ = lease.expires_at();
            }
        }
    }
    client.handle_timeout(now + Duration::from_secs(100_000));
    while client.poll_output().is_some() {}
});
