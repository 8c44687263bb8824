//! How long `parse` takes on a full cfg.xml, next to roxmltree alone on the same bytes
//! (the XML parse every approach pays); the ratio is our model-building and checking cost.
#![allow(missing_docs)] // criterion's generated functions
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn full_xml() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/cfg/full.xml");
    std::fs::read(path).unwrap_or_default()
}

/// A large real-world-sized file: every line configured, plus 600 parameters the model does
/// not know (as in a phone's full cfg.xml dump).
fn big_xml() -> Vec<u8> {
    let mut s = String::from("<flat-profile>\n");
    for n in 1..=16 {
        for (name, value) in [
            ("Line_Enable", "Yes"),
            ("User_ID", "4085550100"),
            ("Password", "secret"),
            ("Proxy", "sip.voiceip.com:5061"),
            ("SIP_Transport", "TLS"),
            ("TLS_Name_Validate", "Yes"),
            ("MediaSec_Request", "Yes"),
            ("MediaSec_Over_TLS_Only", "Yes"),
        ] {
            s.push_str(&format!("  <{name}_{n}_ ua=\"na\">{value}</{name}_{n}_>\n"));
        }
    }
    for i in 0..600 {
        s.push_str(&format!(
            "  <Vendor_Setting_{i} ua=\"rw\">value {i}</Vendor_Setting_{i}>\n"
        ));
    }
    s.push_str("  <Firewall_Config ua=\"na\">NO_ICMP_PING,TCP:12000,UDP:8000:8010</Firewall_Config>\n");
    s.push_str("</flat-profile>\n");
    s.into_bytes()
}

fn bench(c: &mut Criterion) {
    for (name, input) in [("full.xml", full_xml()), ("big (728 elements)", big_xml())] {
        let text = String::from_utf8(input.clone()).unwrap_or_default();
        let mut g = c.benchmark_group(name);
        g.throughput(criterion::Throughput::Bytes(input.len() as u64));
        g.bench_function("phone_config::parse", |b| {
            b.iter(|| phone_config::parse(black_box(&input)))
        });
        g.bench_function("roxmltree only", |b| {
            b.iter(|| roxmltree::Document::parse(black_box(&text)).is_ok())
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
