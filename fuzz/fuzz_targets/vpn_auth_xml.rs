//! The VPN auth dialogue: any server body is read as a `<config-auth>` document or refused
//! with a typed error; and a client fed it as the server's answer never panics.
#![no_main]

use std::time::Instant;

use cstp_client::auth::parse_auth_page;
use cstp_client::http::parse_response;
use cstp_client::{Client, Config, Limits, SecretString};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let _ = parse_auth_page(data, &limits);
    let _ = parse_response(data, &limits, false);
    let t0 = Instant::now();
    let mut config = Config::new("vpn.example.test", "alice", SecretString::new("x"));
    config.group = Some("sales".into());
    let mut c = Client::new(config, t0);
    c.handle_tls_connected(t0);
    for _ in 0..3 {
        let response = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", data.len());
        c.handle_tls_data(t0, response.as_bytes());
        c.handle_tls_data(t0, data);
        while c.poll_output().is_some() {}
    }
});
