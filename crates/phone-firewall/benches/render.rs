//! The maximal config (all 16 lines on UDP, peer firmware sharing, TR-069, the web server, five
//! UDP and five TCP `Firewall_Config` entries): how long building and rendering the ruleset
//! takes, and the packet-path cost — how many rules each kind of inbound packet is compared
//! against before its verdict (printed once; `ruleset.evaluate` walks the chain as the kernel
//! does). The apply time (phone-agent + nft + kernel) is measured by the `firewall` test of
//! phone-agent during its 100 re-applies and printed there.
#![allow(missing_docs)] // criterion's generated functions
#![allow(clippy::unwrap_used, clippy::expect_used)] // benches: a panic is the failure report

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use phone_firewall::{Conntrack, Family, Inputs, Packet, Payload, Ruleset, Tr069Port};

const MAXIMAL: &str = "<flat-profile>\
    <Enable_TR-069>Yes</Enable_TR-069><Web_Server_Port>8080</Web_Server_Port>\
    <Firewall_Config>UDP:9000,UDP:9100:9199,UDP:9300,UDP:9400:9499,UDP:9500,\
    TCP:12000,TCP:12100:12199,TCP:12300,TCP:12400:12499,TCP:12500</Firewall_Config>\
    </flat-profile>";

fn inputs() -> Inputs {
    let settings = phone_config::parse(MAXIMAL.as_bytes()).unwrap().settings;
    Inputs::from_settings(&settings, Tr069Port::new(8765)).unwrap()
}

fn packet_path_cost(ruleset: &Ruleset) {
    let mut established = Packet::new(Family::Ipv4, Payload::Udp(16400));
    established.conntrack = Conntrack::Established;
    let mut ns = Packet::new(Family::Ipv6, Payload::Icmpv6(135));
    ns.hop_limit = 255;
    let cases = [
        ("established/related (RTP, SIP, TCP replies)", established),
        ("IPv6 neighbour solicitation", ns),
        (
            "new UDP to SIP_Port_1_",
            Packet::new(Family::Ipv4, Payload::Udp(5060)),
        ),
        (
            "new UDP to the RTP range",
            Packet::new(Family::Ipv4, Payload::Udp(16400)),
        ),
        (
            "new TCP to the web server",
            Packet::new(Family::Ipv4, Payload::Tcp(8080)),
        ),
        (
            "new TCP to the last Firewall_Config entry",
            Packet::new(Family::Ipv6, Payload::Tcp(12500)),
        ),
        (
            "new UDP to a closed port (reject)",
            Packet::new(Family::Ipv4, Payload::Udp(9)),
        ),
        (
            "new TCP to a closed port (policy drop)",
            Packet::new(Family::Ipv4, Payload::Tcp(9)),
        ),
    ];
    println!(
        "maximal config: {} rules in the input chain",
        ruleset.rules().len()
    );
    for (what, packet) in cases {
        let e = ruleset.evaluate(&packet);
        println!(
            "  {what:<45} {:>2} rules evaluated -> {:?}",
            e.rules_evaluated, e.verdict
        );
    }
}

fn bench(c: &mut Criterion) {
    let inputs = inputs();
    let ruleset = Ruleset::new(&inputs).unwrap();
    packet_path_cost(&ruleset);
    c.bench_function("firewall/build+render maximal", |b| {
        b.iter(|| Ruleset::new(black_box(&inputs)).unwrap().script())
    });
    c.bench_function(
        "firewall/settings->inputs->render maximal (incl. cfg.xml parse)",
        |b| {
            b.iter(|| {
                let settings = phone_config::parse(black_box(MAXIMAL.as_bytes()))
                    .unwrap()
                    .settings;
                Ruleset::new(&Inputs::from_settings(&settings, Tr069Port::new(8765)).unwrap())
                    .unwrap()
                    .script()
            })
        },
    );
    let packet = Packet::new(Family::Ipv6, Payload::Tcp(12500));
    c.bench_function("firewall/model evaluate worst-case packet", |b| {
        b.iter(|| ruleset.evaluate(black_box(&packet)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
