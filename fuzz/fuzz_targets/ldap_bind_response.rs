//! ldap-bind: any bytes either frame and parse as a bind/extended response or are refused with
//! an error; a DIGEST-MD5 challenge either parses or is refused; the StartTLS and DIGEST-MD5
//! machines fed arbitrary bytes (in arbitrary pieces) never panic, and a bind ends by its
//! deadline.
#![no_main]

use std::time::{Duration, Instant};

use ldap_bind::{DigestMd5Bind, DigestMd5Config, StartTls, ber, digest_md5};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(n)) = ber::frame_len(data) {
        let _ = ber::parse_response(data.get(..n).unwrap_or_default());
    }
    let _ = ber::parse_response(data);
    if let Ok(c) = digest_md5::Challenge::parse(data) {
        let creds = digest_md5::Credentials {
            user: "alice",
            password: "pw",
            host: "ldap.example.org",
        };
        if let Ok(answer) = digest_md5::respond(&c, &creds, &[1; 16]) {
            let _ = digest_md5::check_rspauth(data, &answer.expected_rspauth);
        }
    }
    let now = Instant::now();
    let config = DigestMd5Config {
        user: "alice".into(),
        password: "pw".to_owned().into(),
        host: "ldap.example.org".into(),
        timeout: Duration::from_secs(5),
    };
    let mut bind = DigestMd5Bind::new(now, config, [2; 16], 1);
    let mut start_tls = StartTls::new(now, 1, Duration::from_secs(5));
    // Pieces separated by 0xfe, so the framing sees partial messages.
    for piece in data.split(|&b| b == 0xfe) {
        bind.handle_input(now, piece);
        start_tls.handle_input(now, piece);
        while bind.poll_transmit().is_some() {}
        while start_tls.poll_transmit().is_some() {}
    }
    bind.handle_timeout(now + Duration::from_secs(5));
    start_tls.handle_timeout(now + Duration::from_secs(5));
    assert!(bind.result().is_some());
    assert!(start_tls.result().is_some());
});
