//! `cargo xtask bench sip`: the criterion bench's REGISTER and INVITE-with-SDP parsed by
//! `sip-message` and by `rsip` 0.4 in the same process, same bytes, same loop; messages/s
//! for both and the ratio.
//!
//! Two levels per message: "parse" (the message framed into start line, headers and body:
//! what each crate does eagerly) and "parse + Via/CSeq/Call-ID" (plus the typed headers a UA
//! reads on every message; rsip types headers on demand through `.typed()`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use rsip::prelude::*;

const REGISTER: &[u8] = include_bytes!("../../../crates/sip-message/benches/data/register.sip");
const INVITE_SDP: &[u8] = include_bytes!("../../../crates/sip-message/benches/data/invite_sdp.sip");

/// Messages per second of `f`: best of 5 rounds of at least 300 ms each.
fn rate(mut f: impl FnMut() -> bool) -> f64 {
    let mut batch = 1_000u64;
    // Calibrate a batch that takes about 50 ms.
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            assert!(black_box(f()), "parse failed");
        }
        if t.elapsed() > Duration::from_millis(50) {
            break;
        }
        batch *= 2;
    }
    let mut best = 0.0f64;
    for _ in 0..5 {
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < Duration::from_millis(300) {
            for _ in 0..batch {
                assert!(black_box(f()), "parse failed");
            }
            n += batch;
        }
        best = best.max(n as f64 / t.elapsed().as_secs_f64());
    }
    best
}

fn ours_parse(input: &[u8]) -> bool {
    sip_message::Message::parse(black_box(input)).is_ok()
}

fn ours_typed(input: &[u8]) -> bool {
    let Ok(m) = sip_message::Message::parse(black_box(input)) else {
        return false;
    };
    let (Ok(via), Ok(cseq), Ok(call_id)) = (m.via(), m.cseq(), m.call_id()) else {
        return false;
    };
    black_box((via.len(), cseq.number, call_id.len()));
    true
}

fn rsip_parse(input: &[u8]) -> bool {
    rsip::SipMessage::try_from(black_box(input)).is_ok()
}

fn rsip_typed(input: &[u8]) -> bool {
    let Ok(rsip::SipMessage::Request(r)) = rsip::SipMessage::try_from(black_box(input)) else {
        return false;
    };
    let via = r.via_header().ok().and_then(|v| v.typed().ok());
    let cseq = r.cseq_header().ok().and_then(|c| c.typed().ok());
    let call_id = r.call_id_header().ok().map(|c| c.value().len());
    match (via, cseq, call_id) {
        (Some(via), Some(cseq), Some(call_id)) => {
            black_box((via.branch().is_some(), cseq.seq, call_id));
            true
        }
        _ => false,
    }
}

fn main() {
    println!(
        "{:<18} {:<26} {:>16} {:>16} {:>7}",
        "message", "work", "sip-message/s", "rsip 0.4/s", "ratio"
    );
    for (name, input) in [("REGISTER", REGISTER), ("INVITE with SDP", INVITE_SDP)] {
        let levels: [(&str, fn(&[u8]) -> bool, fn(&[u8]) -> bool); 2] = [
            ("parse", ours_parse, rsip_parse),
            ("parse + Via/CSeq/Call-ID", ours_typed, rsip_typed),
        ];
        for (level, ours, theirs) in levels {
            let a = rate(|| ours(input));
            let b = rate(|| theirs(input));
            println!(
                "{name:<18} {level:<26} {a:>16.0} {b:>16.0} {:>6.2}x",
                a / b
            );
        }
    }
}
