//! A registering `sip_ua::Line` fed arbitrary responses (and requests): each input is a
//! sequence of records; a record either advances time or delivers a message, raw or built as
//! a response to the last request the line sent (its Via branch, Call-ID and CSeq, a status
//! code and header lines from the input), so that challenges, 421/494, 503 failover, 2xx with
//! Contacts and Security-Server lists are reached. Never a panic, outputs always drain.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use sip_ua::{Config, Line, Output, SeededRng, Target, Transport};

fn targets() -> Vec<Target> {
    let t = |a: &str, transport| Target {
        transport,
        addr: a.parse().unwrap_or_else(|_| SocketAddr::from(([192, 0, 2, 1], 5060))),
    };
    vec![
        t("192.0.2.1:5060", Transport::Udp),
        t("192.0.2.2:5061", Transport::Tls),
        t("192.0.2.3:5060", Transport::Tcp),
    ]
}

fuzz_target!(|data: &[u8]| {
    let mut cfg = Config::new("alice", "secret", "example.com");
    cfg.expires = 60;
    cfg.auth_invite = data.first().is_some_and(|b| b & 1 == 1);
    if data.first().is_some_and(|b| b & 2 == 2) {
        cfg.mediasec = sip_mediasec::Policy::server_initiated();
    }
    let Ok(mut line) = Line::new(cfg, targets(), Box::new(SeededRng::new(1))) else {
        return;
    };
    let local: SocketAddr = SocketAddr::from(([192, 0, 2, 10], 5062));
    let from: SocketAddr = SocketAddr::from(([192, 0, 2, 1], 5060));
    let mut now = Instant::now();
    line.start(now);
    let mut last_request = String::new();
    let mut rest = data.get(1..).unwrap_or_default();
    loop {
        // Drain, answering Connect at once; keep the last request sent.
        for _ in 0..64 {
            match line.poll_output() {
                Some(Output::Connect(_)) => {
                    let _ = line.handle_connected(now, local);
                }
                Some(Output::Transmit(t)) if t.to.is_none() => {
                    last_request = String::from_utf8_lossy(&t.bytes).into_owned();
                }
                Some(_) => {}
                None => break,
            }
        }
        let Some((&kind, tail)) = rest.split_first() else { break };
        let len = usize::from(tail.first().copied().unwrap_or(0));
        let body = tail.get(1..1 + len).unwrap_or(tail.get(1..).unwrap_or_default());
        rest = tail.get(1 + len..).unwrap_or_default();
        match kind % 4 {
            0 => {
                now += Duration::from_millis(len as u64 * 250);
                let _ = line.handle_timeout(now);
            }
            1 => {
                let _ = line.handle_message(now, from, body);
            }
            2 => {
                let _ = line.handle_transport_error(now, "fuzz");
            }
            _ => {
                // A response to the last request: status from two bytes, headers from the rest.
                let code = 100 + u16::from_le_bytes([
                    body.first().copied().unwrap_or(0),
                    body.get(1).copied().unwrap_or(0),
                ]) % 600;
                let mut msg = format!("SIP/2.0 {code} Fuzz\r\n");
                for l in last_request.split("\r\n").skip(1) {
                    let copy = ["Via:", "From:", "To:", "Call-ID:", "CSeq:"];
                    if copy.iter().any(|c| l.starts_with(c)) {
                        msg.push_str(l);
                        msg.push_str("\r\n");
                    }
                }
                msg.push_str(&String::from_utf8_lossy(body.get(2..).unwrap_or_default()));
                msg.push_str("\r\nContent-Length: 0\r\n\r\n");
                let _ = line.handle_message(now, from, msg.as_bytes());
            }
        }
    }
});
