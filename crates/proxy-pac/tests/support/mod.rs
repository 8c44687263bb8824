//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::time::Instant;

use proxy_pac::{Limits, PacEngine, PacOutcome, PacTime, Request};

/// 2009-03-03T00:00:00Z in milliseconds.
pub const MAR_03_2009_UTC: i64 = 1_236_038_400_000;
/// The local offset the tests use: UTC+1, so local and GMT answers differ.
pub const OFFSET: i32 = 3600;

/// Local wall-clock time `h:m:s` on 2009-03-03 (UTC+1) plus `days`.
pub fn local(days: i64, h: i64, m: i64, s: i64) -> PacTime {
    let ms = MAR_03_2009_UTC + days * 86_400_000 + ((h * 60 + m) * 60 + s) * 1000 - i64::from(OFFSET) * 1000;
    PacTime::from_unix_millis(ms, OFFSET)
}

pub fn engine(script: &str) -> PacEngine {
    let t0 = Instant::now();
    PacEngine::new(script, Limits::default(), Box::new(move || t0.elapsed())).unwrap()
}

/// An engine whose `FindProxyForURL` evaluates the JavaScript in the URL's query.
pub fn expression_engine() -> PacEngine {
    engine(
        r#"function FindProxyForURL(url, host) {
             var expr = decodeURIComponent(url.substring(url.indexOf('?') + 1));
             try { var v = (0, eval)(expr); return typeof v === 'string' ? JSON.stringify(v) : String(v); }
             catch (e) { return 'THROW ' + e; }
           }"#,
    )
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Evaluates `expr` at `time` with no DNS answers (look-ups fail).
pub fn eval(engine: &mut PacEngine, expr: &str, time: PacTime) -> String {
    let url = format!("http://expr.test/?{}", percent_encode(expr));
    let mut req = Request::new(&url, time).unwrap();
    engine
        .find_proxy_with(&mut req, &mut |_: &str| None)
        .unwrap()
        .result
}

pub fn find(engine: &mut PacEngine, url: &str) -> Result<PacOutcome, proxy_pac::Error> {
    let mut req = Request::new(url, local(0, 12, 0, 0))?;
    engine.find_proxy_with(&mut req, &mut |_: &str| None)
}
