//! eap-supplicant EAP-FAST: the phase 2 TLV parser (Result, Intermediate-Result, Crypto-Binding,
//! EAP-Payload, PAC, Request-Action, Error, unknown mandatory/optional) and the PAC TLV reader
//! fed arbitrary bytes. Nothing may panic; a PAC that parses has a 32-octet key.
#![no_main]

use eap_supplicant::fast::{Pac, check_phase2_tlvs};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = check_phase2_tlvs(data);
    if let Ok(pac) = Pac::from_tlv(data) {
        assert_eq!(pac.key.len(), 32);
        assert!(!pac.a_id.is_empty());
    }
});
