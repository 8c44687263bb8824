//! Any script into `proxy_pac::PacEngine` under tight limits: loading and one
//! `FindProxyForURL` call each return (a result or a typed error), never hang or crash. The
//! time limit runs on a clock that advances per interrupt poll, so a run is bounded in work,
//! not in wall time. DNS answers are made up from the name.
#![no_main]

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr};
use std::rc::Rc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use proxy_pac::{Limits, PacEngine, PacTime, Request};

fuzz_target!(|data: &[u8]| {
    let script = String::from_utf8_lossy(data);
    let limits = Limits {
        max_script_bytes: 64 << 10,
        max_heap_bytes: 8 << 20,
        max_stack_bytes: 128 << 10,
        max_load_time: Duration::from_millis(20),
        max_call_time: Duration::from_millis(20),
        ..Limits::default()
    };
    let ticks = Rc::new(Cell::new(0u64));
    let t = Rc::clone(&ticks);
    let clock = Box::new(move || {
        t.set(t.get() + 1);
        Duration::from_millis(t.get())
    });
    let Ok(mut engine) = PacEngine::new(&script, limits, clock) else {
        return;
    };
    let time = PacTime::from_unix_millis(1_236_074_400_000, 3600);
    for url in ["http://www.example.com/a?b", "https://[2001:db8::1]:8443/x"] {
        let Ok(mut request) = Request::new(url, time) else {
            continue;
        };
        let mut resolve = |name: &str| {
            let n = name.len() as u8;
            (n % 3 != 0).then(|| vec![IpAddr::V4(Ipv4Addr::new(10, n, 0, 1))])
        };
        if let Ok(out) = engine.find_proxy_with(&mut request, &mut resolve) {
            assert!(out.result.is_ascii());
            assert!(!out.list.entries().is_empty());
        }
    }
});
