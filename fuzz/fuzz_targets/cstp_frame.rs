//! CSTP: arbitrary tunnel bytes, split at arbitrary points, either decode into frames that
//! re-encode to the same bytes (reserved header byte aside), or stop at a typed error; and a connected client fed them
//! (with timeouts in between) never panics.
#![no_main]

use std::time::{Duration, Instant};

use cstp_client::frame::{FrameDecoder, encode};
use cstp_client::{Client, Config, Output, SecretString};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (cut, bytes) = data.split_first().map_or((0, data), |(c, rest)| (usize::from(*c), rest));
    let split = cut.min(bytes.len());
    let mut d = FrameDecoder::new(2048);
    let mut decoded = Vec::new();
    let mut failed = false;
    for part in [&bytes[..split], &bytes[split..]] {
        d.push(part);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => decoded.extend(encode(f.kind, &f.payload).expect("decoded payloads fit")),
                Ok(None) => break,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            break;
        }
    }
    if !failed {
        // Re-encoding gives the input back, except the reserved eighth header byte: ignored
        // on input, written as 0.
        let mut expected = bytes[..decoded.len()].to_vec();
        let mut at = 0;
        while at + 8 <= expected.len() {
            expected[at + 7] = 0;
            at += 8 + usize::from(u16::from_be_bytes([expected[at + 4], expected[at + 5]]));
        }
        assert_eq!(decoded, expected);
        assert_eq!(decoded.len() + d.buffered(), bytes.len());
    }

    // A client brought up against a canned ocserv answer, then fed the bytes.
    let t0 = Instant::now();
    let mut c = Client::new(Config::new("vpn.example.test", "alice", SecretString::new("x")), t0);
    c.handle_tls_connected(t0);
    let body = r#"<config-auth type="complete"><auth id="success"/></config-auth>"#;
    let ok = format!("HTTP/1.1 200 OK\r\nSet-Cookie: webvpn=C\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    c.handle_tls_data(t0, ok.as_bytes());
    c.handle_tls_data(t0, b"HTTP/1.1 200 CONNECTED\r\nX-CSTP-Address: 10.0.0.2\r\nX-CSTP-Netmask: 255.0.0.0\r\nX-CSTP-MTU: 1400\r\nX-CSTP-DPD: 10\r\n\r\n");
    let mut now = t0;
    for chunk in bytes.chunks(97) {
        c.handle_tls_data(now, chunk);
        now += Duration::from_secs(3);
        c.handle_timeout(now);
        while let Some(o) = c.poll_output() {
            if let Output::Tun(p) = o {
                assert!(p.len() <= 2048 * 8);
            }
        }
    }
});
