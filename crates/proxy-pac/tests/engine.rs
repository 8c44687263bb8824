//! The engine's contract: entry points, the URL the script sees, DNS by re-run, the phone's
//! own address, and errors at load. Cases follow Chromium's proxy_resolver_v8 test PACs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::IpAddr;
use std::time::Instant;

use proxy_pac::{EntryPoint, Error, Evaluation, Limits, PacEngine, Request};
use support::{engine, find, local};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn load(script: &str) -> Result<PacEngine, Error> {
    let t0 = Instant::now();
    PacEngine::new(script, Limits::default(), Box::new(move || t0.elapsed()))
}

#[test]
fn passthrough_sees_sanitised_url_and_bare_host() {
    let mut e = engine(
        "function FindProxyForURL(url, host) { return 'PROXY x:1; DIRECT'.replace('x', host) + ' ' + url; }",
    );
    // The result has an invalid trailing entry; only the first element matters here.
    let out = find(&mut e, "http://user:pw@Example.COM:8080/a/b?c=d#frag").unwrap();
    assert_eq!(
        out.result,
        "PROXY example.com:1; DIRECT http://example.com:8080/a/b?c=d"
    );
    let out = find(&mut e, "https://user:pw@example.com/secret/path?token=1").unwrap();
    assert_eq!(out.result, "PROXY example.com:1; DIRECT https://example.com/");
    let out = find(&mut e, "wss://example.com:444/chat?x").unwrap();
    assert!(out.result.ends_with(" wss://example.com:444/"), "{}", out.result);
    let mut e = engine("function FindProxyForURL(url, host) { return 'DIRECT ' + host; }");
    assert_eq!(
        find(&mut e, "http://[2001:db8::1]:81/").unwrap().result,
        "DIRECT 2001:db8::1"
    );
    assert_eq!(
        find(&mut e, "http://b\u{fc}cher.example/").unwrap().result,
        "DIRECT xn--bcher-kva.example"
    );
}

#[test]
fn invalid_urls_are_typed_errors() {
    let t = local(0, 0, 0, 0);
    assert!(matches!(
        Request::new("not a url", t),
        Err(Error::InvalidUrl { .. })
    ));
    assert!(matches!(
        Request::new("mailto:a@b", t),
        Err(Error::InvalidUrl { .. })
    ));
}

#[test]
fn entry_points() {
    assert_eq!(load("var x = 1;").err(), Some(Error::NoEntryPoint));
    assert_eq!(
        load("var FindProxyForURL = 'DIRECT';").err(),
        Some(Error::NoEntryPoint)
    );
    assert!(matches!(
        load("function FindProxyForURL(u, h) { return 'DIRECT'; "),
        Err(Error::Script(m)) if m.starts_with("SyntaxError")
    ));
    assert!(matches!(load("throw 'at load';"), Err(Error::Script(m)) if m == "at load"));
    // Chromium's ends_with_comment.js and ends_with_statement_no_semicolon.js.
    assert!(load("function FindProxyForURL(u, h) { return 'DIRECT'; } // done").is_ok());
    assert!(load("function FindProxyForURL(u, h) { return 'DIRECT' }\nvar x = 1").is_ok());
    let both = load(
        "function FindProxyForURL(u, h) { return 'PROXY classic:1'; }
         function FindProxyForURLEx(u, h) { return 'PROXY ex:1; DIRECT'; }",
    )
    .unwrap();
    assert_eq!(both.entry_point(), EntryPoint::FindProxyForUrlEx);
    let mut both = both;
    assert_eq!(find(&mut both, "http://a/").unwrap().result, "PROXY ex:1; DIRECT");
    // Modern JavaScript is fine (QuickJS-ng: ES2023).
    let mut modern = engine(
        "const FindProxyForURL = (url, host) => { let p = [`PROXY ${host}:8080`]; return [...p, 'DIRECT'].join('; '); };",
    );
    assert_eq!(
        find(&mut modern, "http://m/").unwrap().result,
        "PROXY m:8080; DIRECT"
    );
}

#[test]
fn empty_result_is_direct_with_a_diagnostic() {
    let mut e = engine("function FindProxyForURL(u, h) { return ''; }");
    let out = find(&mut e, "http://a/").unwrap();
    assert_eq!(out.list.to_pac_string(), "DIRECT");
    assert_eq!(out.list.diagnostics().len(), 1);
}

#[test]
fn dns_is_asked_for_then_answered_by_re_run() {
    let mut e = engine(
        "function FindProxyForURL(url, host) {
           if (isInNet(host, '10.0.0.0', '255.0.0.0')) return 'DIRECT';
           if (isResolvable('proxy-a.corp')) return 'PROXY proxy-a.corp:3128';
           return 'PROXY fallback:3128';
         }",
    );
    let mut req = Request::new("http://intranet.corp/x", local(0, 9, 0, 0)).unwrap();
    assert_eq!(
        e.find_proxy(&mut req).unwrap(),
        Evaluation::NeedDns(vec!["intranet.corp".into(), "proxy-a.corp".into()])
    );
    req.answer("intranet.corp", Some(vec![ip("192.0.2.10")]));
    req.answer("proxy-a.corp", Some(vec![ip("192.0.2.11")]));
    let Evaluation::Done(out) = e.find_proxy(&mut req).unwrap() else {
        panic!("expected a result")
    };
    assert_eq!(out.result, "PROXY proxy-a.corp:3128");
    // An address in 10/8 goes direct; unresolvable names are failures.
    let mut req = Request::new("http://db.corp/", local(0, 9, 0, 0)).unwrap();
    let out = e
        .find_proxy_with(&mut req, &mut |n: &str| {
            (n == "db.corp").then(|| vec![ip("10.2.3.4")])
        })
        .unwrap();
    assert_eq!(out.result, "DIRECT");
}

#[test]
fn dns_helpers_by_family() {
    let mut e = engine(
        "function FindProxyForURL(url, host) {
           return [dnsResolve(host), dnsResolveEx(host), isResolvable(host), isResolvableEx(host)].join('|');
         }",
    );
    let answers = |n: &str| match n {
        "dual.example" => Some(vec![ip("2001:db8::5"), ip("192.0.2.5")]),
        "v6.example" => Some(vec![ip("2001:db8::6")]),
        _ => None,
    };
    let mut run = |url: &str| {
        let mut req = Request::new(url, local(0, 0, 0, 0)).unwrap();
        e.find_proxy_with(&mut req, &mut { answers }).unwrap().result
    };
    assert_eq!(
        run("http://dual.example/"),
        "192.0.2.5|2001:db8::5;192.0.2.5|true|true"
    );
    assert_eq!(run("http://v6.example/"), "|2001:db8::6|false|true");
    assert_eq!(run("http://none.example/"), "||false|false");
    assert_eq!(run("http://192.0.2.9/"), "192.0.2.9|192.0.2.9|true|true");
}

#[test]
fn my_ip_address_comes_from_the_request() {
    let mut e = engine(
        "function FindProxyForURL(url, host) {
           if (isInNet(myIpAddress(), '10.10.0.0', '255.255.0.0')) return 'PROXY branch:3128';
           return 'DIRECT ' + myIpAddressEx();
         }",
    );
    let mut req = Request::new("http://a/", local(0, 0, 0, 0))
        .unwrap()
        .with_my_addresses(vec![ip("fe80::1"), ip("10.10.3.4")]);
    assert_eq!(
        e.find_proxy_with(&mut req, &mut |_: &str| None).unwrap().result,
        "PROXY branch:3128"
    );
    let mut req = Request::new("http://a/", local(0, 0, 0, 0)).unwrap();
    assert_eq!(
        e.find_proxy_with(&mut req, &mut |_: &str| None).unwrap().result,
        "DIRECT "
    );
}

#[test]
fn script_state_and_helpers_can_be_overridden_by_the_script_only() {
    // Chromium's side_effects.js: globals persist between calls of one engine.
    let mut e = engine("var n = 0; function FindProxyForURL(u, h) { n++; return 'PROXY p:' + n; }");
    assert_eq!(find(&mut e, "http://a/").unwrap().result, "PROXY p:1");
    assert_eq!(find(&mut e, "http://a/").unwrap().result, "PROXY p:2");
    // A script that redefines a helper gets its own version.
    let mut e = engine(
        "function dnsDomainIs() { return true; } function FindProxyForURL(u, h) { return dnsDomainIs(h, 'x') ? 'DIRECT' : 'PROXY p:1'; }",
    );
    assert_eq!(find(&mut e, "http://a/").unwrap().result, "DIRECT");
    // Another engine is unaffected.
    let mut e =
        engine("function FindProxyForURL(u, h) { return dnsDomainIs(h, 'x') ? 'DIRECT' : 'PROXY p:1'; }");
    assert_eq!(find(&mut e, "http://a/").unwrap().result, "PROXY p:1");
}

#[test]
fn memory_per_engine_is_small() {
    let e = engine(include_str!("../benches/corporate.pac"));
    let bytes = e.heap_bytes();
    eprintln!("QuickJS heap of one engine with the corporate PAC: {bytes} bytes");
    assert!(bytes > 0);
}
