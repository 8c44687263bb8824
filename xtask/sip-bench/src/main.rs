//! `cargo xtask bench sip`: the criterion bench's REGISTER and INVITE-with-SDP parsed by
//! `sip-message` and by `rsip` 0.4 in the same process, same bytes, same loop; messages/s
//! for both and the ratio.
//!
//! Rates are messages per second of this thread's CPU time (`/proc/thread-self/schedstat`),
//! i.e. per core: on a machine shared with other work, wall-clock rates measure the load, not
//! the parser. Where that file is missing, wall time is used (and said).
//!
//! Two levels per message: "parse" (the message framed into start line, headers and body:
//! what each crate does eagerly) and "parse + Via/CSeq/Call-ID" (plus the typed headers a UA
//! reads on every message; rsip types headers on demand through `.typed()`). Each figure is
//! the best of 9 rounds of 200 ms, the two crates' rounds interleaved.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rsip::prelude::*;

const REGISTER: &[u8] = include_bytes!("../../../crates/sip-message/benches/data/register.sip");
const INVITE_SDP: &[u8] = include_bytes!("../../../crates/sip-message/benches/data/invite_sdp.sip");

/// A batch of calls to `f` that takes about 20 ms.
fn calibrate(f: Parse, input: &[u8]) -> u64 {
    let mut batch = 100u64;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            assert!(black_box(f(input)), "parse failed");
        }
        if t.elapsed() > Duration::from_millis(20) {
            return batch;
        }
        batch *= 2;
    }
}

/// This thread's CPU time so far, from `/proc/thread-self/schedstat` (its first field, in ns).
fn cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Messages per second of `f` over one round of about 200 ms of wall time, per second of
/// CPU time when the kernel says how much this thread had.
fn round(f: Parse, input: &[u8], batch: u64) -> f64 {
    let t = Instant::now();
    let cpu = cpu_time();
    let mut n = 0u64;
    while t.elapsed() < Duration::from_millis(200) {
        for _ in 0..batch {
            assert!(black_box(f(input)), "parse failed");
        }
        n += batch;
    }
    let spent = match (cpu, cpu_time()) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => t.elapsed(),
    };
    n as f64 / spent.as_secs_f64()
}

/// Best rate of each over 9 interleaved rounds (ours, theirs, ours, ...), so that load from
/// other processes hits both alike.
fn rates(ours: Parse, theirs: Parse, input: &[u8]) -> (f64, f64) {
    let (ba, bb) = (calibrate(ours, input), calibrate(theirs, input));
    let (mut a, mut b) = (0.0f64, 0.0f64);
    for _ in 0..9 {
        a = a.max(round(ours, input, ba));
        b = b.max(round(theirs, input, bb));
    }
    (a, b)
}

/// One way of parsing a message; `true` when it worked.
type Parse = fn(&[u8]) -> bool;

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

/// `sip-bench --count N MESSAGE LEVEL PARSER` (`register|invite`, `parse|typed`,
/// `ours|rsip`): exactly N parses and nothing else, for `perf stat -e instructions:u`, whose
/// count per message does not depend on what else the machine runs.
fn count_mode(args: &[String]) -> Option<()> {
    let [_, flag, n, message, level, parser] = args else {
        return None;
    };
    if flag != "--count" {
        return None;
    }
    let n: u64 = n.parse().ok()?;
    let input = if message == "register" { REGISTER } else { INVITE_SDP };
    let f: Parse = match (level.as_str(), parser.as_str()) {
        ("parse", "ours") => ours_parse,
        ("parse", _) => rsip_parse,
        (_, "ours") => ours_typed,
        _ => rsip_typed,
    };
    for _ in 0..n {
        assert!(black_box(f(input)), "parse failed");
    }
    Some(())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if count_mode(&args).is_some() {
        return;
    }
    println!(
        "rates per second of {} time",
        if cpu_time().is_some() { "CPU (per core)" } else { "wall" }
    );
    println!(
        "{:<18} {:<26} {:>16} {:>16} {:>7}",
        "message", "work", "sip-message/s", "rsip 0.4/s", "ratio"
    );
    for (name, input) in [("REGISTER", REGISTER), ("INVITE with SDP", INVITE_SDP)] {
        let levels: [(&str, Parse, Parse); 2] = [
            ("parse", ours_parse, rsip_parse),
            ("parse + Via/CSeq/Call-ID", ours_typed, rsip_typed),
        ];
        for (level, ours, theirs) in levels {
            let (a, b) = rates(ours, theirs, input);
            println!("{name:<18} {level:<26} {a:>16.0} {b:>16.0} {:>6.2}x", a / b);
        }
    }
}
