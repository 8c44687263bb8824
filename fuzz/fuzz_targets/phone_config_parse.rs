//! Any bytes into `phone_config::parse`: Ok or a diagnostic, never a panic; and whatever
//! parses can be shown (every value's Display) without a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match phone_config::parse(data) {
        Ok(parsed) => {
            for d in &parsed.diagnostics {
                let _ = d.to_string();
            }
            let _ = parsed.settings.entries();
        }
        Err(e) => {
            let d = e.diagnostic();
            assert!(d.location.is_some() || d.kind == phone_config::Kind::Input);
        }
    }
});
