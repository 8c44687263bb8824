//! Proxy auto-config for an embedded HTTP client: which proxy (if any) to use for a URL.
//!
//! A bounded PAC engine on QuickJS with Chromium's helper semantics, the PAC result parser,
//! WPAD discovery rules (DHCP option 252, DNS devolution bounded by the Public Suffix List),
//! PAC download rules, Off/Manual/Auto selection, and the bad-proxy list. Sans-IO: no
//! sockets, no clock reads, no threads. DNS, time and the phone's own address are inputs.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use proxy_pac::{Evaluation, Limits, PacEngine, PacTime, ProxyEntry, Request};
//!
//! let pac = r#"
//!     function FindProxyForURL(url, host) {
//!         if (isPlainHostName(host) || dnsDomainIs(host, ".corp.example.com"))
//!             return "DIRECT";
//!         if (isInNet(host, "10.0.0.0", "255.0.0.0"))   // resolves host: may need DNS
//!             return "DIRECT";
//!         return "PROXY proxy.example.com:3128; DIRECT";
//!     }"#;
//! let t0 = Instant::now();
//! let mut engine = PacEngine::new(pac, Limits::default(), Box::new(move || t0.elapsed()))?;
//!
//! // 2009-03-03T10:00:00Z, local time UTC+1.
//! let now = PacTime::from_unix_millis(1_236_074_400_000, 3600);
//! let mut request = Request::new("https://intranet.example.net/secret?q=1", now)?;
//! assert_eq!(request.url(), "https://intranet.example.net/"); // a PAC never sees https paths
//!
//! // The engine never blocks on DNS: it says what it needs, the host resolves, it re-runs.
//! let outcome = loop {
//!     match engine.find_proxy(&mut request)? {
//!         Evaluation::Done(outcome) => break outcome,
//!         Evaluation::NeedDns(names) => {
//!             assert_eq!(names, ["intranet.example.net"]);
//!             request.answer("intranet.example.net", Some(vec!["10.1.2.3".parse()?]));
//!         }
//!     }
//! };
//! assert_eq!(outcome.result, "DIRECT");
//! assert_eq!(outcome.list.entries(), [ProxyEntry::Direct]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Decisions where browsers disagree
//!
//! Chromium is the reference; each decision below has a test.
//!
//! - `isPlainHostName("foo:112")` is **true** (Chromium: no dot and not an IPv6 literal;
//!   Firefox's regex says false). `"[::1]"` is true, `"::1"` false; a non-string argument
//!   is a `TypeError`.
//! - `dateRange` month-only end bounds keep the Netscape month-end overflow (`"JAN", "APR"`
//!   is still true on 1 May; `"SEP", "FEB"` on 3 March): bug-compatible with Chromium and
//!   Firefox, so a PAC means the same here as in the browsers it was written for.
//!   `dateRange(day, month)` is true for any date, as in Chromium (crbug.com/827292).
//! - `weekdayRange`, `dateRange` and the 4/6-argument `timeRange` wrap around when the
//!   start is after the end (Chromium/Firefox; pacparser does not); `timeRange(h1, h2)`
//!   does not wrap (no implementation does).
//! - `FindProxyForURLEx` is called instead of `FindProxyForURL` when the script defines it
//!   (Internet Explorer, pacparser); the Microsoft IPv6 helpers exist for both.
//! - `dnsResolve`/`isResolvable`/`isInNet` are IPv4-only, the `Ex` functions see both
//!   families (Chromium). `myIpAddress()` is the first routable IPv4 address the host
//!   gives, never found by DNS.
//! - Result strings: `SOCKS` means SOCKS4 (Chromium, Firefox); Firefox's `HTTP` keyword is
//!   accepted like `PROXY`; an empty or wholly invalid result is DIRECT **with a
//!   diagnostic**; every dropped entry has one.
//! - `https:` URLs reach the script as `https://host/` (Chromium since M52).
//! - `localhost`, loopback and link-local destinations bypass every proxy by default
//!   (Chromium M71+); [`ProxyConfig::with_bypass_loopback`] turns that off.
//!
//! # Limits
//!
//! [`Limits`]: script size (1 MiB), heap (16 MiB), native stack (256 KiB), wall time to
//! load (2 s) and per call (250 ms), 20 unique DNS names per evaluation, 2 KiB of
//! `alert()` text. Each ends in a typed [`Error`] and leaves the engine usable.
//!
//! # Not supported
//!
//! - Zone-less date strings parsed by the script itself (`new Date("Mar 3 2009")`) are read
//!   in the process's time zone: QuickJS parses them. The helpers and `new Date()` use the
//!   injected [`PacTime`]; its UTC offset is the one in force at `now` for the whole call.
//! - The IPv4 helpers accept dotted-quad literals only (no `0x7f.1` forms).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
#[cfg(feature = "js")]
mod engine;
#[cfg(feature = "js")]
mod glob;
pub mod ip;
pub mod result;
mod time;
pub mod wpad;

pub use config::{BadProxies, ConfigError, Credentials, ProxyConfig, ProxyMode, Route, SecretString};
#[cfg(feature = "js")]
pub use engine::{
    EntryPoint, Error, Evaluation, Limits, Monotonic, Note, PacEngine, PacOutcome, Request, Resolver,
};
pub use result::{ProxyEntry, ProxyList, ProxyScheme, ProxyServer, ResultDiagnostic, ResultError};
pub use time::PacTime;
