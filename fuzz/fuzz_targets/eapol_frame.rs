//! eap-supplicant: arbitrary bytes into the Ethernet, EAPOL and EAP parsers. Nothing may panic;
//! whatever parses must encode back to bytes that parse to the same frame.
#![no_main]

use eap_supplicant::eap::EapPacket;
use eap_supplicant::eapol::{EapolFrame, EapolVersion, parse_ethernet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let payload = match parse_ethernet(data) {
        Ok(e) => e.payload,
        Err(_) => data,
    };
    if let Ok(frame) = EapolFrame::parse(payload) {
        if let Some(version) = EapolVersion::new(frame.version()) {
            let bytes = EapolFrame::new(version, frame.packet_type(), frame.body()).to_bytes();
            assert_eq!(EapolFrame::parse(&bytes).ok(), Some(frame));
        }
        if let Ok(p) = EapPacket::parse(frame.body()) {
            let _ = (p.code(), p.identifier(), p.method_type(), p.type_data());
        }
    }
    let _ = EapPacket::parse(data);
});
