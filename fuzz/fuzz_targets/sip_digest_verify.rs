//! Any text as an Authorization value, verified against a fixed challenge: Ok only for the
//! right response, never a panic. Any text as a WWW-Authenticate value: a challenge or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sip_message::digest::{Algorithm, Challenge, Credentials, DigestRequest};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let challenge = Challenge::digest("example.com", "fuzznonce", Algorithm::Md5);
    if let Ok(creds) = Credentials::parse(text) {
        if creds.verify(&challenge, "INVITE", "secret").is_ok() {
            // Only the real password's digest verifies.
            let req = DigestRequest { username: &creds.username, password: "secret", method: "INVITE", uri: &creds.uri };
            let cnonce = creds.cnonce.clone().unwrap_or_default();
            let nc = creds.nc.as_deref().and_then(|n| u32::from_str_radix(n, 16).ok()).unwrap_or(1);
            let expected = challenge.respond(&req, &cnonce, nc).expect("digest challenge");
            assert_eq!(expected.response, creds.response.to_ascii_lowercase());
        }
    }
    if let Ok(c) = Challenge::parse(text) {
        let req = DigestRequest { username: "u", password: "p", method: "REGISTER", uri: "sip:x" };
        let _ = c.respond(&req, "c", 1);
        let _ = c.to_string();
    }
});
