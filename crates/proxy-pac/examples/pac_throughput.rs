//! Measures one PAC file for `cargo xtask bench pac` (build with `--release`):
//! `pac_throughput PAC URLS SECONDS EVALUATORS RESULTS`.
//!
//! `URLS` holds one `url<TAB>host` a line. Prints `key value` lines: `calls_per_cpu_sec`
//! and `calls_per_sec` (FindProxyForURL calls over the URL list, repeated for at least
//! `SECONDS` of this thread's CPU time after one warm-up pass, per CPU second and per
//! wall-clock second: on a loaded machine only the first is stable), `heap_bytes` (QuickJS's own count for one evaluator after a pass),
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

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (nanoseconds).
fn cpu_time() -> Result<Duration, Box<dyn Error>> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    let ns: u64 = stat
        .split_whitespace()
        .next()
        .ok_or("schedstat: empty")?
        .parse()?;
    Ok(Duration::from_nanos(ns))
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
    let cpu_started = cpu_time()?;
    let mut calls = 0u64;
    while cpu_time()? - cpu_started < min_time {
        for url in &urls {
            let mut req = Request::new(url, time)?;
            black_box(e.find_proxy_with(&mut req, &mut no_dns)?);
        }
        calls += urls.len() as u64;
    }
    let cpu = (cpu_time()? - cpu_started).as_secs_f64();
    let wall = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss)]
    let calls = calls as f64;
    println!("calls_per_cpu_sec {:.0}", calls / cpu);
    println!("calls_per_sec {:.0}", calls / wall);
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
