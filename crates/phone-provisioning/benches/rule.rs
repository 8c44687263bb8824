//! A three-alternative profile rule with conditions, an option and macros: parse + evaluate,
//! and one RFC 5424 syslog line — the work of one rule of a resync.
#![allow(missing_docs)] // criterion's generated functions
#![allow(clippy::unwrap_used, clippy::expect_used)] // benches: a panic is the failure report

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use phone_provisioning::{Macros, ProfileRule, Severity, SyslogFormat, SyslogMessage};

const RULE: &str = r#"("$CCERT" eq "Not Installed")? http://a.example.com/gen.xml | ($SWVER ge sip7832.11-3-1MPP0001-100)? [--key $B] https://prov.example.com:8443/$MA.xml | /fallback.xml"#;

fn bench(c: &mut Criterion) {
    let mut macros = Macros::for_device(
        [0, 0x0e, 8, 0xab, 0xcd, 0xef],
        "CP-7832-3PCC",
        "7832",
        "FCH1",
        true,
    );
    macros.set("SWVER", "sip7832.11-3-2MPP0001-609");
    macros.set("B", "secret");
    c.bench_function("ProfileRule::parse + evaluate (3 alternatives)", |b| {
        b.iter(|| {
            ProfileRule::parse(black_box(RULE))
                .unwrap()
                .evaluate(&macros)
                .unwrap()
        })
    });
    macros.set_request("https", "prov.example.com", "10.0.0.1", 443, "/000e08abcdef.xml");
    c.bench_function("Log_Request_Msg expanded + RFC 5424 line", |b| {
        b.iter(|| {
            let text = macros
                .expand(black_box(
                    "$PN $MAC -- Requesting resync $SCHEME://$SERVIP:$PORT$PATH",
                ))
                .unwrap();
            SyslogMessage {
                facility: 1,
                severity: Severity::Notice,
                unix_secs: 1_795_806_605,
                micros: 0,
                hostname: "10.0.0.5",
                app_name: "phone-agent",
                msg_id: "resync",
                text: &text,
            }
            .format(SyslogFormat::Rfc5424)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
