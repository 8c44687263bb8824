//! Measures one PAC file for `cargo xtask bench pac` (build with `--release`):
//! `pac_throughput PAC URLS SECONDS EVALUATORS RESULTS`.
//!
//! `URLS` holds one `url<TAB>host` a line. Prints `key value` lines: `calls_per_sec`
//! (FindProxyForURL calls over the URL list, repeated for at least `SECONDS` after one
//! warm-up pass), `heap_bytes` (QuickJS's own count for one evaluator after a pass),
//! `rss_bytes_per_evaluator` (resident-set growth over creating `EVALUATORS` more, each
//! having answered one URL, divided by their number). Writes each URL's result string to
//! `RESULTS`, one a line, to compare with the other engine's.

use std::error::Error;
use std::hint::black_box;
use std::time::{Duration, Instant};

use proxy_pac::{Limits, PacEngine, PacTime, Request};

fn engine(script: &str) -> Result<PacEngine, proxy_pac::Error> {
    let t0 = Instant::now();
    PacEngine::new(script, Limits::default(), Box::new(move || t0.elapsed()))
}

/// Resident set size of this process, from `/proc/self/statm` (pages of 4 KiB).
fn rss_bytes() -> Result<u64, Box<dyn Error>> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .ok_or("statm: no resident field")?
        .parse()?;
    Ok(pages * 4096)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [pac, urls, seconds, evaluators, results] = args.as_slice() else {
        return Err("usage: pac_throughput PAC URLS SECONDS EVALUATORS RESULTS".into());
    };
    let script = std::fs::read_to_string(pac)?;
    let urls = std::fs::read_to_string(urls)?;
    let urls: Vec<&str> = urls.lines().filter_map(|l| l.split('\t').next()).collect();
    let min_time = Duration::from_secs_f64(seconds.parse()?);
    let evaluators: usize = evaluators.parse()?;
    let time = PacTime::from_unix_millis(1_236_074_400_000, 0);
    let mut no_dns = |_: &str| None;

    let mut e = engine(&script)?;
    let mut answers = String::new();
    for url in &urls {
        let mut req = Request::new(url, time)?;
        answers.push_str(&e.find_proxy_with(&mut req, &mut no_dns)?.result);
        answers.push('\n');
    }
    std::fs::write(results, answers)?;

    let started = Instant::now();
    let mut calls = 0u64;
    while started.elapsed() < min_time {
        for url in &urls {
            let mut req = Request::new(url, time)?;
            black_box(e.find_proxy_with(&mut req, &mut no_dns)?);
        }
        calls += urls.len() as u64;
    }
    #[allow(clippy::cast_precision_loss)]
    let per_sec = calls as f64 / started.elapsed().as_secs_f64();
    println!("calls_per_sec {per_sec:.0}");
    println!("heap_bytes {}", e.heap_bytes());

    let before = rss_bytes()?;
    let mut many = Vec::with_capacity(evaluators);
    for _ in 0..evaluators {
        let mut e = engine(&script)?;
        let mut req = Request::new(urls.first().copied().unwrap_or("http://a.test/"), time)?;
        black_box(e.find_proxy_with(&mut req, &mut no_dns)?);
        many.push(e);
    }
    let after = rss_bytes()?;
    let n = u64::try_from(evaluators.max(1))?;
    println!("rss_bytes_per_evaluator {}", after.saturating_sub(before) / n);
    drop(many);
    Ok(())
}
