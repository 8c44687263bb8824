//! Parse throughput on a REGISTER (with Authorization and mediasec headers) and an INVITE with
//! an SDES SDP body: framing only, framing + validation, and framing + the typed headers a UA
//! reads on every message.
#![allow(missing_docs)] // criterion's generated functions
#![allow(clippy::unwrap_used, clippy::expect_used)] // benches: a panic is the failure report

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sip_message::{HeaderName, Message};
use std::hint::black_box;

const REGISTER: &[u8] = include_bytes!("data/register.sip");
const INVITE_SDP: &[u8] = include_bytes!("data/invite_sdp.sip");

fn bench(c: &mut Criterion) {
    for (name, input) in [("REGISTER", REGISTER), ("INVITE with SDP", INVITE_SDP)] {
        Message::parse(input).unwrap().validate().unwrap();
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(1));
        g.bench_function("parse", |b| b.iter(|| Message::parse(black_box(input)).is_ok()));
        g.bench_function("parse + validate", |b| {
            b.iter(|| {
                Message::parse(black_box(input))
                    .and_then(|m| m.validate())
                    .is_ok()
            })
        });
        g.bench_function("parse + typed UA headers", |b| {
            b.iter(|| {
                let m = Message::parse(black_box(input)).unwrap();
                let via = m.via().unwrap();
                let cseq = m.cseq().unwrap();
                let sec = m.security_mechanisms(HeaderName::SecurityVerify).unwrap();
                (via.len(), cseq.number, sec.len(), m.call_id().unwrap().len())
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
