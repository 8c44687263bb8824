//! FindProxyForURL throughput on a hand-written corporate PAC and on generated 100- and
//! 500-rule PACs (the shapes of the research's measurements: a quarter each of dnsDomainIs,
//! shExpMatch on the host, shExpMatch on the URL, and host equality), plus engine start-up.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use proxy_pac::{Limits, PacEngine, PacTime, Request};

fn generated_pac(rules: usize) -> String {
    let mut s = String::from("function FindProxyForURL(url, host) {\n");
    for i in 0..rules {
        let cond = match i % 4 {
            0 => format!("dnsDomainIs(host, '.d{i}.example.com')"),
            1 => format!("shExpMatch(host, '*.h{i}.example.org')"),
            2 => format!("shExpMatch(url, 'http://*.u{i}.example.net/*')"),
            _ => format!("host == 'e{i}.example.com' || dnsDomainIs(host, '.e{i}.example.com')"),
        };
        s.push_str(&format!(
            "  if ({cond}) return 'PROXY p{}.example.com:3128; DIRECT';\n",
            i % 7
        ));
    }
    s.push_str("  return 'DIRECT';\n}\n");
    s
}

fn urls(rules: usize) -> Vec<String> {
    let mut v = Vec::new();
    for i in 0..99 {
        let r = (i * 37) % rules;
        v.push(match i % 3 {
            // A hit somewhere in the rules.
            0 => match r % 4 {
                0 => format!("http://www.d{r}.example.com/x"),
                1 => format!("http://a.h{r}.example.org/"),
                2 => format!("http://b.u{r}.example.net/path?q=1"),
                _ => format!("http://e{r}.example.com/"),
            },
            // Falls through every rule.
            1 => format!("http://miss{i}.nowhere.test/index.html"),
            // Plain host or IP literal.
            _ => {
                if i % 2 == 0 {
                    "http://intranet/".to_owned()
                } else {
                    format!("http://192.0.2.{i}/")
                }
            }
        });
    }
    v
}

fn engine(script: &str) -> PacEngine {
    let t0 = Instant::now();
    PacEngine::new(script, Limits::default(), Box::new(move || t0.elapsed())).unwrap()
}

fn bench_pac(c: &mut Criterion, name: &str, script: &str, urls: &[String]) {
    let mut e = engine(script);
    let time = PacTime::from_unix_millis(1_236_074_400_000, 3600);
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(urls.len() as u64));
    group.bench_function("FindProxyForURL", |b| {
        b.iter(|| {
            for url in urls {
                let mut req = Request::new(url, time).unwrap();
                let out = e.find_proxy_with(&mut req, &mut |_: &str| None).unwrap();
                black_box(out);
            }
        });
    });
    group.finish();
    eprintln!("{name}: QuickJS heap per engine: {} bytes", e.heap_bytes());
}

fn benches(c: &mut Criterion) {
    let corporate = include_str!("corporate.pac");
    let corporate_urls: Vec<String> = [
        "http://printer/",
        "http://wiki.corp.example.com/start",
        "http://10.1.2.3/",
        "https://meet.webex.com/join/123",
        "http://fw.vendor.example/firmware/sip88xx.loads",
        "https://www.example.com/",
        "http://news.example.org/today",
        "http://cdn.tracker.example/pixel.gif",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    bench_pac(c, "corporate", corporate, &corporate_urls);
    for rules in [100, 500] {
        bench_pac(
            c,
            &format!("generated_{rules}_rules"),
            &generated_pac(rules),
            &urls(rules),
        );
    }
    c.bench_function("engine_start_corporate", |b| {
        b.iter(|| black_box(engine(corporate)))
    });
}

criterion_group!(pac, benches);
criterion_main!(pac);
