//! ldap-bind: any bytes either frame and parse as a bind/extended response or are refused with
//! an error; the nesting check over any message ends with an answer, without recursion; a DIGEST-MD5 challenge either parses or is refused; the StartTLS and DIGEST-MD5
//! machines fed arbitrary bytes (in arbitrary pieces) never panic, and a bind ends by its
//! deadline.
#![no_main]

use std::time::{Duration, Instant};

use ldap_bind::{DigestMd5Bind, DigestMd5Config, Event, Output, StartTls, ber, digest_md5};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(n)) = ber::frame_len(data) {
        let _ = ber::parse_response(data.get(..n).unwrap_or_default());
    }
    let _ = ber::parse_response(data);
    // The check the agent runs on every server message before ldap3 reads it.
    if let Ok(Some(n)) = ber::message_len(data, 1 << 20) {
        let _ = ber::check_depth(data.get(..n).unwrap_or_default(), ber::MAX_DEPTH);
    }
    let _ = ber::check_depth(data, ber::MAX_DEPTH);
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
    let finished = |o: &Output| matches!(o, Output::Event(Event::Finished(_)));
    let (mut bind_done, mut start_tls_done) = (false, false);
    // Pieces separated by 0xfe, so the framing sees partial messages.
    for piece in data.split(|&b| b == 0xfe) {
        bind.handle_input(now, piece);
        start_tls.handle_input(now, piece);
        while let Some(o) = bind.poll_output() {
            bind_done |= finished(&o);
        }
        while let Some(o) = start_tls.poll_output() {
            start_tls_done |= finished(&o);
        }
    }
    bind.handle_timeout(now + Duration::from_secs(5));
    start_tls.handle_timeout(now + Duration::from_secs(5));
    bind_done |= std::iter::from_fn(|| bind.poll_output()).any(|o| finished(&o));
    start_tls_done |= std::iter::from_fn(|| start_tls.poll_output()).any(|o| finished(&o));
    assert!(bind_done, "a bind ends by its deadline");
    assert!(start_tls_done, "StartTLS ends by its deadline");
});
