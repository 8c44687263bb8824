//! Hostile PAC scripts: each ends within its bound with a typed error, and the engine (or
//! at least the process) stays alive. Elapsed times are printed for the record, never
//! asserted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use proxy_pac::{Error, Evaluation, Limits, Note, PacEngine, Request};
use support::{engine, find, local};

/// A script that is well-behaved for `http://ok/` and runs `body` for any other URL.
fn with_trap(body: &str) -> String {
    format!("function FindProxyForURL(url, host) {{ if (host == 'ok') return 'DIRECT'; {body} }}")
}

fn report(name: &str, started: Instant, outcome: &Result<proxy_pac::PacOutcome, Error>) {
    let shown = match outcome {
        Ok(o) => format!("Ok({})", o.result),
        Err(e) => format!("Err({e})"),
    };
    eprintln!("hostile {name}: {shown} after {:?}", started.elapsed());
}

#[test]
fn endless_loop_hits_the_call_time_limit_and_the_engine_survives() {
    let mut e = engine(&with_trap("while (true) {}"));
    let t = Instant::now();
    let out = find(&mut e, "http://trap/");
    report("while(true){}", t, &out);
    assert_eq!(out, Err(Error::TimeLimit(Limits::default().max_call_time)));
    assert_eq!(find(&mut e, "http://ok/").unwrap().result, "DIRECT");
}

#[test]
fn endless_loop_that_catches_everything_still_ends() {
    let mut e = engine(&with_trap("for (;;) { try { while (true) {} } catch (e) {} }"));
    let out = find(&mut e, "http://trap/");
    assert_eq!(out, Err(Error::TimeLimit(Limits::default().max_call_time)));
}

#[test]
fn endless_loop_at_load_hits_the_load_limit() {
    let t0 = Instant::now();
    let t = Instant::now();
    let out = PacEngine::new(
        "while (true) {} function FindProxyForURL() { return 'DIRECT'; }",
        Limits::default(),
        Box::new(move || t0.elapsed()),
    );
    eprintln!(
        "hostile load loop: {:?} after {:?}",
        out.as_ref().err(),
        t.elapsed()
    );
    assert_eq!(out.err(), Some(Error::TimeLimit(Limits::default().max_load_time)));
}

#[test]
fn time_limit_uses_the_injected_clock() {
    // A clock that advances 1 ms per reading: the limit is reached after a fixed number of
    // interrupt polls, whatever the machine's speed.
    let mut ticks = 0u64;
    let clock = Box::new(move || {
        ticks += 1;
        Duration::from_millis(ticks)
    });
    let limits = Limits {
        max_call_time: Duration::from_millis(50),
        ..Limits::default()
    };
    let mut e = PacEngine::new(&with_trap("while (true) {}"), limits, clock).unwrap();
    assert_eq!(
        find(&mut e, "http://trap/"),
        Err(Error::TimeLimit(Duration::from_millis(50)))
    );
}

#[test]
fn memory_bomb_hits_the_heap_limit_and_the_engine_survives() {
    let mut e = engine(&with_trap(
        "var a = []; while (true) { a.push(new Array(100000).fill('xxxxxxxxxxxxxxxx')); }",
    ));
    let t = Instant::now();
    let out = find(&mut e, "http://trap/");
    report("memory bomb", t, &out);
    assert_eq!(out, Err(Error::HeapLimit(Limits::default().max_heap_bytes)));
    assert_eq!(find(&mut e, "http://ok/").unwrap().result, "DIRECT");
}

#[test]
fn string_doubling_ends_in_a_typed_error() {
    // QuickJS builds ropes: doubling hits its string length cap before the heap limit.
    let mut e = engine(&with_trap("var s = 'x'; while (true) { s = s + s; } return s;"));
    let out = find(&mut e, "http://trap/");
    assert_eq!(
        out,
        Err(Error::Script("InternalError: string too long (line 1)".into()))
    );
    assert_eq!(find(&mut e, "http://ok/").unwrap().result, "DIRECT");
}

#[test]
fn deep_recursion_hits_the_stack_limit_and_the_engine_survives() {
    let mut e = engine(&with_trap("function r(n) { return r(n + 1) + 1; } return r(0);"));
    let t = Instant::now();
    let out = find(&mut e, "http://trap/");
    report("deep recursion", t, &out);
    assert_eq!(out, Err(Error::StackLimit(Limits::default().max_stack_bytes)));
    assert_eq!(find(&mut e, "http://ok/").unwrap().result, "DIRECT");
}

#[test]
fn fifty_megabyte_pac_is_refused_before_parsing() {
    let mut script = String::from("function FindProxyForURL(u, h) { return 'DIRECT'; }\n");
    script.push_str(&"//".repeat(25 << 20));
    let t = Instant::now();
    let t0 = Instant::now();
    let out = PacEngine::new(&script, Limits::default(), Box::new(move || t0.elapsed()));
    eprintln!(
        "hostile 50 MB PAC: {:?} after {:?}",
        out.as_ref().err(),
        t.elapsed()
    );
    assert_eq!(
        out.err(),
        Some(Error::ScriptTooLarge {
            size: script.len(),
            limit: 1 << 20
        })
    );
}

#[test]
fn ten_thousand_look_ups_stay_within_the_dns_budget() {
    let mut e = engine(&with_trap(
        "var n = 0; for (var i = 0; i < 10000; i++) { if (dnsResolve('h' + i + '.example')) n++; }
         return 'PROXY p:' + n;",
    ));
    let mut req = Request::new("http://trap/", local(0, 12, 0, 0)).unwrap();
    let mut asked = 0;
    let mut rounds = 0;
    let t = Instant::now();
    let outcome = loop {
        rounds += 1;
        match e.find_proxy(&mut req).unwrap() {
            Evaluation::Done(o) => break o,
            Evaluation::NeedDns(names) => {
                asked += names.len();
                for n in names {
                    req.answer(&n, Some(vec!["192.0.2.1".parse().unwrap()]));
                }
            }
        }
    };
    eprintln!(
        "hostile 10,000 dnsResolve: {} after {:?}, {asked} names asked in {rounds} runs",
        outcome.result,
        t.elapsed()
    );
    assert_eq!(asked, 20);
    assert_eq!(rounds, 2);
    assert_eq!(outcome.result, "PROXY p:20");
    let exhausted = outcome
        .notes
        .iter()
        .filter(|n| matches!(n, Note::DnsBudgetExhausted { .. }))
        .count();
    // 9,980 look-ups beyond the budget; the outcome keeps the first 64 of them.
    assert_eq!(exhausted, 64);
}

#[test]
fn quadratic_shexpmatch_is_interrupted() {
    // O(text × pattern) backtracking for a glob matcher: the Rust fast path hands it to the
    // RegExp, which the time limit interrupts (natives are never interrupted).
    let mut e = engine(&with_trap(
        "var s = 'a'.repeat(200000), p = '*' + 'a'.repeat(100000) + 'b';
         return shExpMatch(s, p) ? 'DIRECT' : 'PROXY x:1';",
    ));
    let t = Instant::now();
    let out = find(&mut e, "http://trap/");
    report("quadratic shExpMatch", t, &out);
    assert_eq!(out, Err(Error::TimeLimit(Limits::default().max_call_time)));
    assert_eq!(find(&mut e, "http://ok/").unwrap().result, "DIRECT");
}

#[test]
fn names_longer_than_dns_allows_are_never_asked_for() {
    // Megabyte names would reach the host's resolver (and its memory) otherwise.
    let mut e = engine(&with_trap(
        "var n = 'x'.repeat(1000000);
         for (var i = 0; i < 10; i++) if (dnsResolve(n + i) !== null || isResolvable(n + i)) return 'PROXY bad:1';
         if (dnsResolve('a.'.repeat(127)) !== null) return 'PROXY bad:2';
         return 'DIRECT';",
    ));
    let mut req = Request::new("http://trap/", local(0, 12, 0, 0)).unwrap();
    match e.find_proxy(&mut req).unwrap() {
        Evaluation::Done(o) => {
            assert_eq!(o.result, "DIRECT");
            assert!(o.notes.is_empty(), "{:?}", o.notes);
        }
        Evaluation::NeedDns(names) => panic!(
            "asked for {} names of up to {} bytes",
            names.len(),
            names.iter().map(String::len).max().unwrap_or(0)
        ),
    }
}

#[test]
fn a_look_up_loop_keeps_a_bounded_number_of_notes() {
    let mut e = engine(&with_trap(
        "for (var i = 0; i < 5000; i++) dnsResolve('h' + (i % 100) + '.example');
         return 'DIRECT';",
    ));
    let out = find(&mut e, "http://trap/").unwrap();
    assert_eq!(out.result, "DIRECT");
    assert_eq!(out.notes.len(), 64);
}

#[test]
fn a_script_inventing_new_names_every_run_is_cut_off() {
    // Not deterministic: each run asks for a name it has never asked for.
    let mut e = engine(&with_trap(
        "var k = (globalThis.k = (globalThis.k || 0) + 1); return dnsResolve('n' + k + '.example') ? 'PROXY a:1' : 'DIRECT';",
    ));
    let mut req = Request::new("http://trap/", local(0, 12, 0, 0)).unwrap();
    let mut rounds = 0;
    let outcome = loop {
        rounds += 1;
        assert!(rounds <= 100, "no end");
        match e.find_proxy(&mut req).unwrap() {
            Evaluation::Done(o) => break o,
            Evaluation::NeedDns(names) => {
                for n in names {
                    req.answer(&n, None);
                }
            }
        }
    };
    assert_eq!(rounds, Limits::default().max_dns_lookups + 1);
    assert_eq!(outcome.result, "DIRECT");
    assert!(matches!(outcome.notes.last(), Some(Note::DnsUnanswered { .. })));
}

#[test]
fn catastrophic_regexp_is_interrupted() {
    let mut e = engine(&with_trap(
        "return /^(a+)+$/.test('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab') ? 'DIRECT' : 'PROXY x:1';",
    ));
    let t = Instant::now();
    let out = find(&mut e, "http://trap/");
    report("catastrophic RegExp", t, &out);
    assert_eq!(out, Err(Error::TimeLimit(Limits::default().max_call_time)));
}

#[test]
fn alert_flood_is_bounded() {
    let mut e = engine(&with_trap(
        "for (var i = 0; i < 1000; i++) alert('0123456789'); return 'DIRECT';",
    ));
    let out = find(&mut e, "http://trap/").unwrap();
    let kept: usize = out
        .notes
        .iter()
        .map(|n| match n {
            Note::Alert(t) => t.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(kept, 2048);
    assert_eq!(out.notes.last(), Some(&Note::AlertsTruncated));
}

#[test]
fn bad_return_values_are_typed_errors() {
    for (body, expected) in [
        ("return null;", Error::NotAString("null")),
        ("return undefined;", Error::NotAString("undefined")),
        ("return 42;", Error::NotAString("number")),
        ("return {};", Error::NotAString("object")),
        ("return function () {};", Error::NotAString("function")),
        ("return 'PROXY \u{e9}t\u{e9}:80';", Error::NonAscii),
    ] {
        let mut e = engine(&with_trap(body));
        assert_eq!(find(&mut e, "http://trap/"), Err(expected), "{body}");
    }
    let mut e = engine(&with_trap("throw new Error('boom');"));
    assert_eq!(
        find(&mut e, "http://trap/"),
        Err(Error::Script("Error: boom (line 1)".into()))
    );
}
