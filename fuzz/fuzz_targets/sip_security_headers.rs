//! Any text as a Security-Client / -Server / -Verify value: a list or an error with an offset
//! inside the value, never a panic. What parses prints back to a value that parses to the same
//! list (the mirror a Security-Verify depends on).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_message::security::{format_security_mechanisms, parse_security_mechanisms};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_security_mechanisms(text) {
        Ok(list) => {
            let printed = format_security_mechanisms(&list);
            let again = parse_security_mechanisms(&printed).expect("printed list parses");
            assert_eq!(again.len(), list.len());
            assert!(again.iter().zip(&list).all(|(a, b)| a.matches(b)));
        }
        Err(e) => assert!(e.offset <= text.len()),
    }
});
